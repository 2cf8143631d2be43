//! Core values to the Python result types of `andal._types`, built directly (no JSON in
//! between): the dataclasses are called with keyword arguments and the enum members are
//! looked up once and reused. This is the per-call path of every check, so it avoids the
//! serde -> `json.loads` -> `_from_json` round trip that used to cost most of the
//! binding's overhead.

use andal::{Decision, FieldMatch, FieldResults, Provenance, Verdict};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};

/// The classes and enum members a decision is built from, resolved once per process.
struct Types {
    decision: Py<PyAny>,
    field_results: Py<PyAny>,
    provenance: Py<PyAny>,
    /// Verdict members by label (`"match"` -> `Verdict.MATCH`).
    verdicts: Py<PyDict>,
    /// FieldMatch members by label (`"SESUAI"` -> `FieldMatch.SESUAI`).
    field_matches: Py<PyDict>,
}

static TYPES: PyOnceLock<Types> = PyOnceLock::new();

fn members(py: Python<'_>, enum_class: &Bound<'_, PyAny>) -> PyResult<Py<PyDict>> {
    let by_value = PyDict::new(py);
    for member in enum_class.try_iter()? {
        let member = member?;
        by_value.set_item(member.getattr("value")?, member)?;
    }
    Ok(by_value.unbind())
}

fn types(py: Python<'_>) -> PyResult<&Types> {
    TYPES.get_or_try_init(py, || {
        let m: Bound<'_, PyModule> = py.import("andal._types")?;
        Ok(Types {
            decision: m.getattr("Decision")?.unbind(),
            field_results: m.getattr("FieldResults")?.unbind(),
            provenance: m.getattr("Provenance")?.unbind(),
            verdicts: members(py, &m.getattr("Verdict")?)?,
            field_matches: members(py, &m.getattr("FieldMatch")?)?,
        })
    })
}

fn protocol_error(py: Python<'_>, what: &str) -> PyErr {
    crate::to_pyerr(
        py,
        andal::Error::Protocol(format!("unknown {what} value from the core")),
    )
}

fn member<'py>(
    py: Python<'py>,
    table: &Py<PyDict>,
    label: &str,
    what: &str,
) -> PyResult<Bound<'py, PyAny>> {
    table
        .bind(py)
        .get_item(label)?
        .ok_or_else(|| protocol_error(py, what))
}

fn verdict<'py>(py: Python<'py>, t: &Types, v: Verdict) -> PyResult<Bound<'py, PyAny>> {
    member(py, &t.verdicts, v.as_str(), "Verdict")
}

fn field<'py>(py: Python<'py>, t: &Types, f: FieldMatch) -> PyResult<Bound<'py, PyAny>> {
    member(py, &t.field_matches, f.as_str(), "FieldMatch")
}

fn fields<'py>(py: Python<'py>, t: &Types, f: &FieldResults) -> PyResult<Bound<'py, PyAny>> {
    let kw = PyDict::new(py);
    kw.set_item("nik", field(py, t, f.nik)?)?;
    kw.set_item("full_name", field(py, t, f.full_name)?)?;
    kw.set_item("birth_date", field(py, t, f.birth_date)?)?;
    kw.set_item("birth_place", field(py, t, f.birth_place)?)?;
    t.field_results.bind(py).call((), Some(&kw))
}

fn provenance<'py>(py: Python<'py>, t: &Types, p: &Provenance) -> PyResult<Bound<'py, PyAny>> {
    let kw = PyDict::new(py);
    match p {
        Provenance::Online {
            request_id,
            registry_time,
            attempts,
        } => {
            kw.set_item("source", "online")?;
            kw.set_item("request_id", request_id)?;
            kw.set_item("registry_time", registry_time)?;
            kw.set_item("attempts", attempts)?;
        }
        Provenance::Offline(o) => {
            kw.set_item("source", "offline")?;
            kw.set_item("token_id", &o.token_id)?;
            kw.set_item("key_id", &o.key_id)?;
            kw.set_item("token_age_secs", o.token_age_secs)?;
            kw.set_item("revocation_staleness_secs", o.revocation_staleness_secs)?;
            kw.set_item("online_failure", &o.online_failure)?;
            kw.set_item("journal_seq", o.journal_seq)?;
            // Details without a dataclass field travel in `extra`, as `_from_json` does.
            let extra = PyDict::new(py);
            extra.set_item("online_attempts", o.online_attempts)?;
            kw.set_item("extra", extra)?;
        }
        // `Provenance` is #[non_exhaustive]: a kind added later goes through its serde
        // form, so its details still reach Python (in `extra`).
        other => {
            let json =
                serde_json::to_string(other).map_err(|_| protocol_error(py, "Provenance"))?;
            let parsed = py.import("json")?.call_method1("loads", (json,))?;
            return t.provenance.bind(py).call_method1("_from_json", (parsed,));
        }
    }
    t.provenance.bind(py).call((), Some(&kw))
}

/// An `andal.Decision` for a core decision.
pub(crate) fn decision<'py>(py: Python<'py>, d: &Decision) -> PyResult<Bound<'py, PyAny>> {
    let t = types(py)?;
    let kw = PyDict::new(py);
    kw.set_item("verdict", verdict(py, t, d.verdict)?)?;
    kw.set_item("fields", fields(py, t, &d.fields)?)?;
    kw.set_item("provenance", provenance(py, t, &d.provenance)?)?;
    kw.set_item("nik_masked", &d.nik_masked)?;
    kw.set_item("attestation", d.attestation.as_deref())?;
    kw.set_item("elapsed_ms", d.elapsed_ms)?;
    t.decision.bind(py).call((), Some(&kw))
}
