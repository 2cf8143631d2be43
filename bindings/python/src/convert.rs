//! Core values to the Python result types of `andal._types`, built directly (no JSON in
//! between): each dataclass instance is `object.__new__(cls)` with its `__dict__` filled
//! (the frozen dataclasses' `__init__` would make one Python-level `object.__setattr__`
//! call per field, 21 per decision), the enum members are looked up once and reused.
//! This is the per-call path of every check.

use andal::{Decision, FieldMatch, FieldResults, Provenance, Verdict};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule, PyString, PyTuple};

/// The classes and enum members a decision is built from, resolved once per process.
struct Types {
    decision: Py<PyAny>,
    field_results: Py<PyAny>,
    provenance: Py<PyAny>,
    /// `object.__new__`: an instance without running the dataclass `__init__`.
    object_new: Py<PyAny>,
    /// True when the three classes have exactly the fields set below and no
    /// `__post_init__`, so filling `__dict__` gives what `__init__` would; otherwise the
    /// classes are called with keyword arguments (slower, same result).
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

/// Whether `cls` is a dataclass with exactly `fields` (in order) and no `__post_init__`.
fn plain_dataclass(cls: &Bound<'_, PyAny>, fields: &[&str]) -> PyResult<bool> {
    if cls.hasattr("__post_init__")? {
        return Ok(false);
    }
    let declared = cls.getattr("__dataclass_fields__")?;
    let names: Vec<String> = declared
        .try_iter()?
        .map(|k| k?.extract())
        .collect::<PyResult<_>>()?;
    Ok(names == fields)
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
            object_new: py
                .import("builtins")?
                .getattr("object")?
                .getattr("__new__")?
                .unbind(),
            direct,
            decision: decision.unbind(),
            field_results: field_results.unbind(),
            provenance: provenance.unbind(),
            verdicts: members(&m.getattr("Verdict")?)?,
            field_matches: members(&m.getattr("FieldMatch")?)?,
        })
    })
}

/// An instance of the dataclass `cls` with these attributes. With `t.direct`, built as
/// `object.__new__(cls)` plus its `__dict__` (what the frozen dataclass's `__init__`
/// does through `object.__setattr__`, one Python-level call per field); otherwise by
/// calling `cls(**attrs)`.
fn instance<'py>(
    py: Python<'py>,
    t: &Types,
    cls: &Py<PyAny>,
    attrs: &[(&Bound<'py, PyString>, Bound<'py, PyAny>)],
) -> PyResult<Bound<'py, PyAny>> {
    let cls = cls.bind(py);
    if t.direct {
        let obj = t.object_new.bind(py).call1(PyTuple::new(py, [cls])?)?;
        let dict = obj
            .getattr(intern!(py, "__dict__"))?
            .cast_into::<PyDict>()?;
        for (k, v) in attrs {
            dict.set_item(k, v)?;
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
            return t.provenance.bind(py).call_method1("_from_json", (parsed,));
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
