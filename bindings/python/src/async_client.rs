//! `NativeAsyncClient`: the core's `andal::AsyncClient` behind native asyncio awaitables.
//!
//! Each call returns an `asyncio.Future` (pyo3-async-runtimes) whose Rust side runs on
//! one shared tokio runtime with a fixed number of worker threads: a thousand checks in
//! flight are a thousand futures, not a thousand threads. Cancelling the awaiting task
//! drops the Rust future, which is how the core cancels a check (breaker permit released,
//! counted as cancelled, no half-written journal record). The Pythonic surface
//! (`async with`, `verify_many`, `as_completed`) is `andal.AsyncClient` in Python.

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::{
    BreakerSettings, FallbackSettings, RetrySettings, Settings, TlsSettings, check_options,
    convert, date_string, parse_query, to_pyerr,
};

/// Worker threads of the shared runtime that drives every async check of the process.
/// Checks wait on the network, not the CPU: two workers carry thousands in flight.
const WORKER_THREADS: usize = 2;

/// Threads that hand results to the event loop. pyo3-async-runtimes takes the GIL for
/// that on tokio's blocking pool, never on a worker; capping the pool keeps a burst of
/// completions from growing it to hundreds of threads (they queue instead).
const RESULT_THREADS: usize = 4;

/// Configure the runtime pyo3-async-runtimes starts on first use (called at import).
pub(crate) fn init_runtime() {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(WORKER_THREADS)
        .max_blocking_threads(RESULT_THREADS)
        .thread_name("andal-async")
        .enable_all();
    pyo3_async_runtimes::tokio::init(builder);
}

/// A check's outcome, turned into an `andal.Decision` or an exception only once the GIL is
/// held (by pyo3-async-runtimes, off the runtime's workers): a worker never waits for the
/// GIL.
struct Outcome(Result<andal::Decision, andal::Error>);

impl<'py> IntoPyObject<'py> for Outcome {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.0 {
            Ok(decision) => convert::decision(py, &decision),
            Err(e) => Err(to_pyerr(py, e)),
        }
    }
}

/// The same for the JSON-carried results (trust status, reconcile report).
struct JsonOutcome(Result<String, andal::Error>);

impl<'py> IntoPyObject<'py> for JsonOutcome {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.0 {
            Ok(text) => Ok(text.into_pyobject(py)?.into_any()),
            Err(e) => Err(to_pyerr(py, e)),
        }
    }
}

/// JSON text of a serde value, for the results `andal._types` parses (health, trust
/// status, reconcile report): rare calls, where one format shared with the sync client
/// wins.
fn json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, andal::Error> {
    serde_json::to_string(value)
        .map_err(|e| andal::Error::Protocol(format!("cannot encode a result: {e}")))
}

/// The native async client. Use `andal.AsyncClient`.
#[pyclass(frozen, module = "andal._andal")]
pub(crate) struct NativeAsyncClient {
    inner: Mutex<Option<andal::AsyncClient>>,
    base_url: String,
    partner_id: String,
}

impl NativeAsyncClient {
    fn client(&self) -> PyResult<andal::AsyncClient> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| PyRuntimeError::new_err("the andal AsyncClient is closed"))
    }
}

#[pymethods]
impl NativeAsyncClient {
    #[new]
    #[pyo3(signature = (base_url, partner_id, api_key, *, deadline, attempt_timeout, allow_insecure_http, max_response_bytes=None, breaker=None, count_throttling_as_failure=false, retry=None, on_event=None, trust_roots=None, trust_cache_dir=None, journal_path=None, journal_key=None, fallback=None, ca_bundle=None, client_cert=None, client_key=None, platform_verifier=false, proxy=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        base_url: String,
        partner_id: String,
        api_key: String,
        deadline: f64,
        attempt_timeout: f64,
        allow_insecure_http: bool,
        max_response_bytes: Option<u64>,
        breaker: Option<BreakerSettings>,
        count_throttling_as_failure: bool,
        retry: Option<RetrySettings>,
        on_event: Option<Py<PyAny>>,
        trust_roots: Option<Vec<String>>,
        trust_cache_dir: Option<PathBuf>,
        journal_path: Option<PathBuf>,
        journal_key: Option<Vec<u8>>,
        fallback: Option<FallbackSettings>,
        ca_bundle: Option<PathBuf>,
        client_cert: Option<PathBuf>,
        client_key: Option<PathBuf>,
        platform_verifier: bool,
        proxy: Option<String>,
    ) -> PyResult<Self> {
        let builder = Settings {
            base_url: base_url.clone(),
            partner_id: partner_id.clone(),
            api_key,
            deadline,
            attempt_timeout,
            allow_insecure_http,
            max_response_bytes,
            breaker,
            count_throttling_as_failure,
            retry,
            on_event,
            trust_roots,
            trust_cache_dir,
            journal_path,
            journal_key,
            fallback,
            tls: TlsSettings {
                ca_bundle,
                client_cert,
                client_key,
                platform_verifier,
                proxy,
            },
        }
        .async_builder(py)?;
        // The default async transport (hyper) and the journal's writer thread start in the
        // shared runtime's context.
        let client = {
            let _guard = pyo3_async_runtimes::tokio::get_runtime().enter();
            builder.build_async()
        }
        .map_err(|e| to_pyerr(py, e))?;
        Ok(NativeAsyncClient {
            inner: Mutex::new(Some(client)),
            base_url,
            partner_id,
        })
    }

    #[getter]
    fn base_url(&self) -> &str {
        &self.base_url
    }
    #[getter]
    fn partner_id(&self) -> &str {
        &self.partner_id
    }
    #[getter]
    fn closed(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }

    /// Drop the client; further calls raise `RuntimeError`. Checks in flight finish.
    fn close(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// A snapshot of the breaker and retry-budget state, as JSON.
    fn health(&self) -> PyResult<String> {
        json(&self.client()?.health())
    }

    /// The outage record: `(json, summary_text)`.
    fn outage_report(&self) -> PyResult<(String, String)> {
        let report = self.client()?.outage_report();
        Ok((report.to_json(), report.summary_text()))
    }

    /// The trust state held now, as JSON.
    fn trust_status(&self) -> PyResult<String> {
        json(&self.client()?.trust_status())
    }

    fn force_open_breaker(&self) -> PyResult<()> {
        self.client()?.breaker().force_open();
        Ok(())
    }

    fn disable_breaker(&self) -> PyResult<()> {
        self.client()?.breaker().disable();
        Ok(())
    }

    fn reset_breaker(&self) -> PyResult<()> {
        self.client()?.breaker().reset();
        Ok(())
    }

    /// One check: an awaitable of an `andal.Decision`. The input is validated here, before
    /// anything is scheduled, so a malformed one raises at once and costs no request.
    #[pyo3(signature = (nik, full_name, birth_date, birth_place=None, idempotency_key=None, deadline=None, token=None))]
    #[allow(clippy::too_many_arguments)]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        nik: String,
        full_name: String,
        birth_date: &Bound<'py, PyAny>,
        birth_place: Option<String>,
        idempotency_key: Option<String>,
        deadline: Option<f64>,
        token: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client()?;
        let birth_date = date_string(birth_date)?;
        let opts = check_options(py, idempotency_key, deadline, token)?;
        let query =
            parse_query(&nik, &full_name, &birth_date, birth_place).map_err(|e| to_pyerr(py, e))?;
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            Ok(Outcome(client.verify_with(&query, &opts).await))
        })
    }

    /// Fetch, verify and cache the trust documents: an awaitable of the status as JSON.
    fn refresh_trust<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client()?;
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let status = client.refresh_trust().await;
            Ok(JsonOutcome(status.and_then(|s| to_json(&s))))
        })
    }

    /// Re-check every journaled offline decision online: an awaitable of the report as
    /// JSON.
    fn reconcile<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client()?;
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let report = client.reconcile().await;
            Ok(JsonOutcome(report.and_then(|r| to_json(&r))))
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "NativeAsyncClient(base_url={:?}, partner_id={:?})",
            self.base_url, self.partner_id
        )
    }
}
