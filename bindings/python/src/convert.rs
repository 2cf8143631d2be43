//! Core values to the Python result types of `andal._types`, built directly (no JSON in
//! between): each dataclass instance is made the way `object.__new__(cls)` makes it (the
//! class's `tp_new` slot, called directly) and its fields are set the way
//! `object.__setattr__` sets them (`PyObject_GenericSetAttr`), with no Python-level call:
//! the frozen dataclasses' `__init__` would make one Python-level `object.__setattr__` call
//! per field, 21 per decision. Setting attributes (rather than filling a materialised
//! `__dict__`) keeps CPython's compact per-instance storage (3.11+), so a decision is 4
//! garbage-collected objects instead of 7. Enum members are looked up once and reused.
//! This is the per-call path of every check.

use andal::{Decision, FieldMatch, FieldResults, Provenance, Verdict};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule, PyString, PyTuple, PyType};

/// A result class and its `tp_new` slot.
struct Class {
    cls: Py<PyType>,
    /// `cls`'s `tp_new`, which is `object.__new__`'s (checked in `types`) when `direct`.
    new: ffi::newfunc,
}

/// The classes and enum members a decision is built from, resolved once per process.
struct Types {
    decision: Class,
    field_results: Class,
    provenance: Class,
    /// True when the three classes have exactly the fields set below, no `__post_init__`
    /// and no `__new__` of their own, so `object.__new__` plus setting each field gives
    /// what `__init__` would; otherwise the classes are called with keyword arguments
    /// (slower, same result).
    direct: bool,
    /// Verdict members by label (`"match"` -> `Verdict.MATCH`).
    verdicts: Vec<(String, Py<PyAny>)>,
    /// FieldMatch members by label (`"SESUAI"` -> `FieldMatch.SESUAI`).
    field_matches: Vec<(String, Py<PyAny>)>,
}

static TYPES: PyOnceLock<Types> = PyOnceLock::new();

const DECISION_FIELDS: &[&str] = &[
    "verdict",
    "fields",
    "provenance",
    "nik_masked",
    "attestation",
    "elapsed_ms",
];
const FIELD_RESULTS_FIELDS: &[&str] = &["nik", "full_name", "birth_date", "birth_place"];
const PROVENANCE_FIELDS: &[&str] = &[
    "source",
    "request_id",
    "registry_time",
    "attempts",
    "token_id",
    "key_id",
    "token_age_secs",
    "revocation_staleness_secs",
    "online_failure",
    "journal_seq",
    "extra",
];

fn members(enum_class: &Bound<'_, PyAny>) -> PyResult<Vec<(String, Py<PyAny>)>> {
    let mut by_value = Vec::new();
    for member in enum_class.try_iter()? {
        let member = member?;
        by_value.push((member.getattr("value")?.extract()?, member.unbind()));
    }
    Ok(by_value)
}

/// Whether `cls` is a dataclass with exactly `fields` (in order), no `__post_init__` and
/// the `__new__` and `__setattr__`-free storage of `object` (a frozen dataclass's own
/// `__setattr__` only refuses; `object.__setattr__` is what its `__init__` uses).
fn plain_dataclass(cls: &Bound<'_, PyAny>, fields: &[&str]) -> PyResult<bool> {
    if cls.hasattr("__post_init__")? {
        return Ok(false);
    }
    let object = cls.py().import("builtins")?.getattr("object")?;
    if !cls.getattr("__new__")?.is(&object.getattr("__new__")?) {
        return Ok(false);
    }
    let declared = cls.getattr("__dataclass_fields__")?;
    let names: Vec<String> = declared
        .try_iter()?
        .map(|k| k?.extract())
        .collect::<PyResult<_>>()?;
    Ok(names == fields)
}

fn class(cls: Bound<'_, PyAny>) -> PyResult<Class> {
    let cls = cls.cast_into::<PyType>()?;
    // SAFETY: `cls` is a live type object; the dataclasses are heap types, for which
    // `PyType_GetSlot` is defined on every supported Python (3.10+).
    let slot = unsafe { ffi::PyType_GetSlot(cls.as_type_ptr(), ffi::Py_tp_new) };
    if slot.is_null() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "result class without tp_new",
        ));
    }
    // SAFETY: the `Py_tp_new` slot holds a `newfunc`.
    let new = unsafe { std::mem::transmute::<*mut std::ffi::c_void, ffi::newfunc>(slot) };
    Ok(Class {
        cls: cls.unbind(),
        new,
    })
}

fn types(py: Python<'_>) -> PyResult<&Types> {
    TYPES.get_or_try_init(py, || {
        let m: Bound<'_, PyModule> = py.import("andal._types")?;
        let decision = m.getattr("Decision")?;
        let field_results = m.getattr("FieldResults")?;
        let provenance = m.getattr("Provenance")?;
        let direct = plain_dataclass(&decision, DECISION_FIELDS)?
            && plain_dataclass(&field_results, FIELD_RESULTS_FIELDS)?
            && plain_dataclass(&provenance, PROVENANCE_FIELDS)?;
        Ok(Types {
            direct,
            decision: class(decision)?,
            field_results: class(field_results)?,
            provenance: class(provenance)?,
            verdicts: members(&m.getattr("Verdict")?)?,
            field_matches: members(&m.getattr("FieldMatch")?)?,
        })
    })
}

/// An instance of the dataclass `class` with these attributes. With `t.direct`, built as
/// `object.__new__(cls)` followed by `object.__setattr__(obj, name, value)` per field
/// (what the frozen dataclass's `__init__` does, one Python-level call per field there),
/// both through the C API; otherwise by calling `cls(**attrs)`.
fn instance<'py>(
    py: Python<'py>,
    t: &Types,
    class: &Class,
    attrs: &[(&Bound<'py, PyString>, Bound<'py, PyAny>)],
) -> PyResult<Bound<'py, PyAny>> {
    let cls = class.cls.bind(py);
    if t.direct {
        let args = PyTuple::empty(py);
        // SAFETY: `new` is `cls`'s own `tp_new` (object's, checked in `plain_dataclass`),
        // called as `object.__new__(cls)` calls it: the type, an empty tuple, no keywords.
        // It returns a new reference or NULL with an exception set.
        let obj = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                (class.new)(cls.as_type_ptr(), args.as_ptr(), std::ptr::null_mut()),
            )?
        };
        for (k, v) in attrs {
            // SAFETY: live objects; returns -1 with an exception set on failure.
            if unsafe { ffi::PyObject_GenericSetAttr(obj.as_ptr(), k.as_ptr(), v.as_ptr()) } < 0 {
                return Err(PyErr::fetch(py));
            }
        }
        Ok(obj)
    } else {
        let kw = PyDict::new(py);
        for (k, v) in attrs {
            kw.set_item(k, v)?;
        }
        cls.call((), Some(&kw))
    }
}

fn protocol_error(py: Python<'_>, what: &str) -> PyErr {
    crate::to_pyerr(
        py,
        andal::Error::Protocol(format!("unknown {what} value from the core")),
    )
}

fn member<'py>(
    py: Python<'py>,
    table: &[(String, Py<PyAny>)],
    label: &str,
    what: &str,
) -> PyResult<Bound<'py, PyAny>> {
    table
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, m)| m.bind(py).clone())
        .ok_or_else(|| protocol_error(py, what))
}

fn verdict<'py>(py: Python<'py>, t: &Types, v: Verdict) -> PyResult<Bound<'py, PyAny>> {
    member(py, &t.verdicts, v.as_str(), "Verdict")
}

fn field<'py>(py: Python<'py>, t: &Types, f: FieldMatch) -> PyResult<Bound<'py, PyAny>> {
    member(py, &t.field_matches, f.as_str(), "FieldMatch")
}

fn fields<'py>(py: Python<'py>, t: &Types, f: &FieldResults) -> PyResult<Bound<'py, PyAny>> {
    let attrs = [
        (intern!(py, "nik"), field(py, t, f.nik)?),
        (intern!(py, "full_name"), field(py, t, f.full_name)?),
        (intern!(py, "birth_date"), field(py, t, f.birth_date)?),
        (intern!(py, "birth_place"), field(py, t, f.birth_place)?),
    ];
    instance(py, t, &t.field_results, &attrs)
}

fn provenance<'py>(py: Python<'py>, t: &Types, p: &Provenance) -> PyResult<Bound<'py, PyAny>> {
    let none = || py.None().into_bound(py);
    let attrs = match p {
        Provenance::Online {
            request_id,
            registry_time,
            attempts,
        } => [
            (
                intern!(py, "source"),
                intern!(py, "online").clone().into_any(),
            ),
            (
                intern!(py, "request_id"),
                request_id.into_pyobject(py)?.into_any(),
            ),
            (
                intern!(py, "registry_time"),
                registry_time.into_pyobject(py)?.into_any(),
            ),
            (
                intern!(py, "attempts"),
                attempts.into_pyobject(py)?.into_any(),
            ),
            (intern!(py, "token_id"), none()),
            (intern!(py, "key_id"), none()),
            (intern!(py, "token_age_secs"), none()),
            (intern!(py, "revocation_staleness_secs"), none()),
            (intern!(py, "online_failure"), none()),
            (intern!(py, "journal_seq"), none()),
            (intern!(py, "extra"), PyDict::new(py).into_any()),
        ],
        Provenance::Offline(o) => {
            // Details without a dataclass field travel in `extra`, as `_from_json` does.
            let extra = PyDict::new(py);
            extra.set_item("online_attempts", o.online_attempts)?;
            [
                (
                    intern!(py, "source"),
                    intern!(py, "offline").clone().into_any(),
                ),
                (intern!(py, "request_id"), none()),
                (intern!(py, "registry_time"), none()),
                (intern!(py, "attempts"), none()),
                (
                    intern!(py, "token_id"),
                    o.token_id.as_str().into_pyobject(py)?.into_any(),
                ),
                (
                    intern!(py, "key_id"),
                    o.key_id.as_str().into_pyobject(py)?.into_any(),
                ),
                (
                    intern!(py, "token_age_secs"),
                    o.token_age_secs.into_pyobject(py)?.into_any(),
                ),
                (
                    intern!(py, "revocation_staleness_secs"),
                    o.revocation_staleness_secs.into_pyobject(py)?.into_any(),
                ),
                (
                    intern!(py, "online_failure"),
                    o.online_failure.as_str().into_pyobject(py)?.into_any(),
                ),
                (
                    intern!(py, "journal_seq"),
                    o.journal_seq.into_pyobject(py)?.into_any(),
                ),
                (intern!(py, "extra"), extra.into_any()),
            ]
        }
        // `Provenance` is #[non_exhaustive]: a kind added later goes through its serde
        // form, so its details still reach Python (in `extra`).
        other => {
            let json =
                serde_json::to_string(other).map_err(|_| protocol_error(py, "Provenance"))?;
            let parsed = py.import("json")?.call_method1("loads", (json,))?;
            return t
                .provenance
                .cls
                .bind(py)
                .call_method1("_from_json", (parsed,));
        }
    };
    instance(py, t, &t.provenance, &attrs)
}

/// An `andal.Decision` for a core decision.
pub(crate) fn decision<'py>(py: Python<'py>, d: &Decision) -> PyResult<Bound<'py, PyAny>> {
    let t = types(py)?;
    let attrs = [
        (intern!(py, "verdict"), verdict(py, t, d.verdict)?),
        (intern!(py, "fields"), fields(py, t, &d.fields)?),
        (intern!(py, "provenance"), provenance(py, t, &d.provenance)?),
        (
            intern!(py, "nik_masked"),
            d.nik_masked.as_str().into_pyobject(py)?.into_any(),
        ),
        (
            intern!(py, "attestation"),
            d.attestation.as_deref().into_pyobject(py)?.into_any(),
        ),
        (
            intern!(py, "elapsed_ms"),
            d.elapsed_ms.into_pyobject(py)?.into_any(),
        ),
    ];
    instance(py, t, &t.decision, &attrs)
}
