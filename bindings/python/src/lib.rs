//! Native part of the `andal` Python package (`andal._andal`).
//!
//! This crate only translates: Python values in, `andal` core calls, Python values and
//! exceptions out. Every rule (NIK validation, name normalisation, deadlines, retries,
//! verdicts) lives in the Rust core. The Pythonic surface (keyword arguments, dataclass
//! results, batch progress, asyncio) is in `python/andal/`.
//!
//! Network calls run with the GIL released (`Python::detach`), so other Python threads
//! keep running while a check waits on the registry.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use andal::resilience::{EventListener, ResilienceEvent};
use andal::{CheckOptions, ConfigError, Error, InputError, NikError, UnavailableCause};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyModule};

mod async_client;
mod convert;

/// The Python module that defines the exception classes (pure Python, so they can use
/// multiple inheritance such as `InvalidNik(InvalidInput, ValueError)` and carry typed
/// attributes).
const ERRORS_MODULE: &str = "andal._errors";

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ERRORS
        .get_or_try_init(py, || py.import(ERRORS_MODULE).map(Bound::unbind))
        .map(|m| m.bind(py))
}

/// Build an instance of `andal._errors.<class>(message, **attrs)` as a `PyErr`.
fn raise(py: Python<'_>, class: &str, message: String, attrs: &Bound<'_, PyDict>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let cls = errors_module(py)?.getattr(class)?;
        let exc = cls.call((message,), Some(attrs))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

fn nik_part(e: &NikError) -> (&'static str, Option<usize>) {
    match e {
        NikError::Length { found } => ("length", Some(*found)),
        NikError::NonDigit { position } => ("non_digit", Some(*position)),
        NikError::UnknownProvince => ("province", None),
        NikError::UnknownRegency => ("regency", None),
        NikError::BirthDay => ("birth_day", None),
        NikError::BirthMonth => ("birth_month", None),
        NikError::BirthDate => ("birth_date", None),
        NikError::Serial => ("serial", None),
        _ => ("unknown", None),
    }
}

fn config_setting(e: &ConfigError) -> (&'static str, &'static str) {
    match e {
        ConfigError::BaseUrl(_) => ("base_url", "invalid"),
        ConfigError::InsecureHttp => ("allow_insecure_http", "insecure_http"),
        ConfigError::Missing(name) => (name, "missing"),
        ConfigError::Invalid { name, .. } => (name, "invalid"),
        _ => ("unknown", "invalid"),
    }
}

fn unavailable_details(cause: &UnavailableCause) -> (String, Option<f64>) {
    match cause {
        UnavailableCause::BreakerOpen { retry_in } => {
            (cause.label(), retry_in.map(|d| d.as_secs_f64()))
        }
        other => (other.label(), None),
    }
}

/// Translate a core error into the matching `andal` exception. Messages come from the
/// core's `Display`, which never contains personal data.
fn to_pyerr(py: Python<'_>, e: Error) -> PyErr {
    let attrs = PyDict::new(py);
    let result = (|| -> PyResult<&'static str> {
        attrs.set_item("code", e.code())?;
        let class = match &e {
            Error::InvalidInput(InputError::Nik(ne)) => {
                let (part, position) = nik_part(ne);
                attrs.set_item("field", "nik")?;
                attrs.set_item("reason", part)?;
                attrs.set_item("part", part)?;
                attrs.set_item("position", position)?;
                "InvalidNik"
            }
            Error::InvalidInput(ie) => {
                let (field, reason) = match ie {
                    InputError::BirthDate => ("birth_date", "invalid_date"),
                    InputError::EmptyField { field } => (*field, "empty"),
                    InputError::TooLong { field, .. } => (*field, "too_long"),
                    InputError::ControlCharacter { field } => (*field, "control_character"),
                    _ => ("unknown", "invalid"),
                };
                attrs.set_item("field", field)?;
                attrs.set_item("reason", reason)?;
                "InvalidInput"
            }
            Error::Config(ce) => {
                let (setting, reason) = config_setting(ce);
                attrs.set_item("setting", setting)?;
                attrs.set_item("reason", reason)?;
                "ConfigError"
            }
            Error::Auth { status, code } => {
                attrs.set_item("status", *status)?;
                attrs.set_item("problem", code.as_str())?;
                "AuthError"
            }
            Error::Rejected(r) => {
                attrs.set_item("status", r.status)?;
                attrs.set_item("problem", r.code.as_str())?;
                "Rejected"
            }
            Error::Unavailable(u) => {
                let (cause, retry_in) = unavailable_details(&u.cause);
                attrs.set_item("cause", cause)?;
                attrs.set_item("attempts", u.attempts)?;
                attrs.set_item(
                    "last_failure",
                    u.last_failure.map(|k| k.label().to_string()),
                )?;
                attrs.set_item("elapsed", u.elapsed.as_secs_f64())?;
                attrs.set_item("retry_in", retry_in)?;
                attrs.set_item("offline_refusal", u.fallback.as_ref().map(|f| f.reason()))?;
                "Unavailable"
            }
            Error::Protocol(_) => "ProtocolError",
            Error::Token(t) => {
                attrs.set_item("reason", t.reason())?;
                "TokenError"
            }
            Error::Journal(_) => "JournalError",
            // `andal::Error` is #[non_exhaustive]: a variant added later still reaches
            // Python as the root class with its stable code.
            _ => "AndalError",
        };
        Ok(class)
    })();
    match result {
        Ok(class) => raise(py, class, e.to_string(), &attrs),
        Err(err) => err,
    }
}

fn config_error(py: Python<'_>, name: &'static str, reason: &str) -> PyErr {
    to_pyerr(
        py,
        ConfigError::Invalid {
            name,
            reason: reason.into(),
        }
        .into(),
    )
}

fn seconds(py: Python<'_>, name: &'static str, value: f64) -> PyResult<Duration> {
    if !value.is_finite() || value <= 0.0 {
        return Err(config_error(
            py,
            name,
            "must be a positive number of seconds",
        ));
    }
    Duration::try_from_secs_f64(value)
        .map_err(|_| config_error(py, name, "must be a positive number of seconds"))
}

/// A `YYYY-MM-DD` string, or any object with `isoformat()` (e.g. `datetime.date`).
fn date_string(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = value.extract::<String>() {
        return Ok(s);
    }
    let is_date = value
        .py()
        .import("datetime")?
        .getattr("date")
        .and_then(|cls| value.is_instance(&cls))?;
    if is_date {
        // datetime.datetime is a date too: keep only the date part.
        return value
            .call_method0("isoformat")?
            .extract::<String>()
            .map(|s| s.chars().take(10).collect());
    }
    Err(PyTypeError::new_err(
        "birth_date must be a datetime.date or a 'YYYY-MM-DD' string",
    ))
}

/// A structurally valid NIK. `repr()` and `str()` show only the masked form.
#[pyclass(frozen, eq, hash, module = "andal", name = "Nik")]
#[derive(PartialEq, Eq, Hash)]
struct PyNik(andal::Nik);

#[pymethods]
impl PyNik {
    #[new]
    fn new(py: Python<'_>, value: String) -> PyResult<Self> {
        Self::parse(py, value)
    }

    /// Parse and validate a NIK offline (raises `InvalidNik`).
    #[staticmethod]
    fn parse(py: Python<'_>, value: String) -> PyResult<Self> {
        andal::Nik::parse(&value)
            .map(PyNik)
            .map_err(|e| to_pyerr(py, e.into()))
    }

    /// Masked form, `3316**********01`.
    #[getter]
    fn masked(&self) -> String {
        self.0.masked()
    }
    /// Province code, digits 1-2.
    #[getter]
    fn province_code(&self) -> &str {
        self.0.province_code()
    }
    /// Province + regency code, digits 1-4.
    #[getter]
    fn regency_code(&self) -> &str {
        self.0.regency_code()
    }
    /// Province + regency + district code, digits 1-6.
    #[getter]
    fn district_code(&self) -> &str {
        self.0.district_code()
    }
    /// `"male"` or `"female"` (women's birth day is encoded + 40).
    #[getter]
    fn sex(&self) -> &'static str {
        match self.0.sex() {
            andal::Sex::Male => "male",
            andal::Sex::Female => "female",
        }
    }
    #[getter]
    fn birth_day(&self) -> u8 {
        self.0.birth_day()
    }
    #[getter]
    fn birth_month(&self) -> u8 {
        self.0.birth_month()
    }
    #[getter]
    fn birth_year_2(&self) -> u8 {
        self.0.birth_year_2()
    }
    #[getter]
    fn serial(&self) -> u16 {
        self.0.serial()
    }

    /// The raw 16 digits: pass them only to the registry, never to a log.
    fn expose_digits(&self) -> &str {
        self.0.expose_digits()
    }

    /// Region names: a dict with `province`, `regency`, `regency_status` and `district`
    /// (`{"status": "resolved", "name": ..., "code_status": ...}` or
    /// `{"status": "unresolved"}`), the core's serde form.
    fn region<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let json = serde_json::to_string(&self.0.region())
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        py.import("json")?.call_method1("loads", (json,))
    }

    /// Whether a full birth date agrees with the one embedded in the NIK.
    fn embeds_birth_date(&self, py: Python<'_>, date: &Bound<'_, PyAny>) -> PyResult<bool> {
        let s = date_string(date)?;
        let d = andal::query::parse_date(&s).map_err(|e| to_pyerr(py, e.into()))?;
        Ok(self.0.embeds_birth_date(d))
    }

    fn __repr__(&self) -> String {
        format!("Nik('{}')", self.0.masked())
    }
    fn __str__(&self) -> String {
        self.0.masked()
    }
}

/// Circuit-breaker settings; `None` keeps the core's default. Durations in seconds.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct BreakerSettings {
    count_window: Option<u32>,
    minimum_number_of_calls: Option<u32>,
    failure_rate_threshold: Option<f32>,
    slow_call_duration_threshold: Option<f64>,
    slow_call_rate_threshold: Option<f32>,
    wait_duration_in_open: Option<f64>,
    permitted_calls_in_half_open: Option<u32>,
}

impl BreakerSettings {
    fn build(
        self,
        py: Python<'_>,
        attempt_timeout: std::time::Duration,
    ) -> PyResult<andal::resilience::BreakerConfig> {
        // Unset settings keep the core's defaults for this attempt timeout.
        let mut b = andal::resilience::BreakerConfig::builder_for_attempt_timeout(attempt_timeout);
        if let Some(n) = self.count_window {
            b = b.count_window(n);
        }
        if let Some(n) = self.minimum_number_of_calls {
            b = b.minimum_number_of_calls(n);
        }
        if let Some(p) = self.failure_rate_threshold {
            b = b.failure_rate_threshold(p);
        }
        if let Some(d) = self.slow_call_duration_threshold {
            b = b.slow_call_duration_threshold(seconds(py, "breaker", d)?);
        }
        if let Some(p) = self.slow_call_rate_threshold {
            b = b.slow_call_rate_threshold(p);
        }
        if let Some(d) = self.wait_duration_in_open {
            b = b.wait_duration_in_open(seconds(py, "breaker", d)?);
        }
        if let Some(n) = self.permitted_calls_in_half_open {
            b = b.permitted_calls_in_half_open(n);
        }
        b.build()
            .map_err(|e| config_error(py, "breaker", &e.to_string()))
    }
}

/// The core's serde label of a unit enum (`closed`, `half_open`, `attempts_exhausted`).
macro_rules! serde_label {
    ($v:expr) => {
        serde_json::to_value($v)
            .ok()
            .and_then(|j| j.as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned())
    };
}

/// Forwards resilience events to a Python callable as dicts (no personal data: upstream
/// names, states, durations and failure labels only). Runs on the checking thread; the
/// GIL is taken just for the call. A callback that raises is reported through
/// `sys.unraisablehook` and never breaks the check.
struct PyListener {
    callback: Py<PyAny>,
}

impl PyListener {
    fn event_dict<'py>(py: Python<'py>, event: &ResilienceEvent) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        match event {
            ResilienceEvent::StateTransition { breaker, from, to } => {
                d.set_item("kind", "state_transition")?;
                d.set_item("breaker", &**breaker)?;
                d.set_item("from", serde_label!(from))?;
                d.set_item("to", serde_label!(to))?;
            }
            ResilienceEvent::CallRejected {
                breaker,
                state,
                retry_after,
            } => {
                d.set_item("kind", "call_rejected")?;
                d.set_item("breaker", &**breaker)?;
                d.set_item("state", serde_label!(state))?;
                d.set_item("retry_after", retry_after.map(|x| x.as_secs_f64()))?;
            }
            ResilienceEvent::RetryScheduled {
                attempt,
                delay,
                failure,
            } => {
                d.set_item("kind", "retry_scheduled")?;
                d.set_item("attempt", *attempt)?;
                d.set_item("delay", delay.as_secs_f64())?;
                d.set_item("failure", failure.label().as_ref())?;
            }
            ResilienceEvent::RetryStopped {
                attempts,
                reason,
                failure,
            } => {
                d.set_item("kind", "retry_stopped")?;
                d.set_item("attempts", *attempts)?;
                d.set_item("reason", serde_label!(reason))?;
                d.set_item("failure", failure.label().as_ref())?;
            }
            ResilienceEvent::RetryBudgetExhausted { balance } => {
                d.set_item("kind", "retry_budget_exhausted")?;
                d.set_item("balance", *balance)?;
            }
            ResilienceEvent::LoadShed { probability } => {
                d.set_item("kind", "load_shed")?;
                d.set_item("probability", *probability)?;
            }
            ResilienceEvent::RecoveryProbe { breaker, healthy } => {
                d.set_item("kind", "recovery_probe")?;
                d.set_item("breaker", &**breaker)?;
                d.set_item("healthy", *healthy)?;
            }
            _ => {
                d.set_item("kind", "other")?;
            }
        }
        Ok(d)
    }
}

impl EventListener for PyListener {
    fn on_event(&self, event: &ResilienceEvent) {
        Python::attach(|py| {
            let result =
                Self::event_dict(py, event).and_then(|d| self.callback.call1(py, (d,)).map(drop));
            if let Err(e) = result {
                e.write_unraisable(py, Some(self.callback.bind(py)));
            }
        });
    }
}

/// Retry settings; `None` keeps the core's default. Durations in seconds.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct RetrySettings {
    max_attempts: Option<u32>,
    base: Option<f64>,
    cap: Option<f64>,
}

impl RetrySettings {
    fn builder(self, py: Python<'_>) -> PyResult<andal::resilience::RetryPolicyBuilder> {
        let mut b = andal::resilience::RetryPolicy::builder();
        if let Some(n) = self.max_attempts {
            b = b.max_attempts(n);
        }
        if let Some(d) = self.base {
            b = b.base(seconds(py, "retry", d)?);
        }
        if let Some(d) = self.cap {
            b = b.cap(seconds(py, "retry", d)?);
        }
        // Validate here so that a bad setting is a ConfigError naming `retry`.
        b.clone()
            .build()
            .map_err(|e| config_error(py, "retry", &e.to_string()))?;
        Ok(b)
    }
}

/// Offline fallback policy; `None` keeps the core's default. Durations in seconds.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct FallbackSettings {
    allow_offline: Option<bool>,
    max_token_age: Option<f64>,
    max_revocation_staleness: Option<f64>,
    require_revocation_list: Option<bool>,
    leeway: Option<f64>,
    required_fields: Option<Vec<String>>,
    triggers: Option<Vec<String>>,
}

impl FallbackSettings {
    fn build(self, py: Python<'_>) -> PyResult<andal::FallbackPolicy> {
        let mut p = match self.allow_offline {
            Some(false) => andal::FallbackPolicy::disabled(),
            _ => andal::FallbackPolicy::default(),
        };
        if let Some(d) = self.max_token_age {
            p = p.max_token_age(seconds(py, "fallback", d)?);
        }
        if let Some(d) = self.max_revocation_staleness {
            p = p.max_revocation_staleness(seconds(py, "fallback", d)?);
        }
        if let Some(yes) = self.require_revocation_list {
            p = p.require_revocation_list(yes);
        }
        if let Some(d) = self.leeway {
            if !d.is_finite() || d < 0.0 {
                return Err(config_error(py, "fallback", "leeway must be >= 0 seconds"));
            }
            p = p.leeway(Duration::from_secs_f64(d));
        }
        if let Some(names) = self.required_fields {
            let fields = names
                .iter()
                .map(|n| match n.as_str() {
                    "nik" => Ok(andal::offline::Field::Nik),
                    "name" | "full_name" => Ok(andal::offline::Field::Name),
                    "birth_date" => Ok(andal::offline::Field::BirthDate),
                    _ => Err(config_error(
                        py,
                        "fallback",
                        "required_fields are 'nik', 'full_name' and 'birth_date'",
                    )),
                })
                .collect::<PyResult<Vec<_>>>()?;
            p = p.required_fields(fields);
        }
        if let Some(names) = self.triggers {
            let triggers = names
                .iter()
                .map(|n| {
                    serde_json::from_value::<andal::FallbackTrigger>(serde_json::Value::String(
                        n.clone(),
                    ))
                    .map_err(|_| {
                        config_error(
                            py,
                            "fallback",
                            "triggers are breaker_open, deadline_exceeded, \
                             retry_budget_exhausted, transport_failure, server_error, throttled, \
                             load_shed",
                        )
                    })
                })
                .collect::<PyResult<Vec<_>>>()?;
            p = p.triggers(triggers);
        }
        Ok(p)
    }
}

/// A fresh random 32-byte key for the offline journal (keep it in a secret store).
#[pyfunction]
fn generate_journal_key(py: Python<'_>) -> PyResult<Bound<'_, PyBytes>> {
    andal::JournalKey::generate()
        .map(|k| PyBytes::new(py, k.expose_secret()))
        .map_err(|e| to_pyerr(py, Error::Journal(Arc::new(e))))
}

fn check_options(
    py: Python<'_>,
    idempotency_key: Option<String>,
    deadline: Option<f64>,
    token: Option<String>,
) -> PyResult<CheckOptions> {
    let mut opts = CheckOptions::default();
    if let Some(k) = idempotency_key {
        opts = opts.idempotency_key(k);
    }
    if let Some(d) = deadline {
        opts = opts.deadline(seconds(py, "deadline", d)?);
    }
    if let Some(t) = token {
        opts = opts.token(t);
    }
    Ok(opts)
}

fn parse_query(
    nik: &str,
    full_name: &str,
    birth_date: &str,
    birth_place: Option<String>,
) -> Result<andal::Query, Error> {
    let mut query = andal::Query::parse(nik, full_name, birth_date)?;
    if let Some(place) = birth_place {
        query = query.with_birth_place(place)?;
    }
    Ok(query)
}

/// The constructor arguments shared by `NativeClient` and `NativeAsyncClient` (the same
/// options as `andal.Client`'s keyword arguments).
struct Settings {
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
    tls: TlsSettings,
}

/// TLS and proxy settings of the built-in transport (`ca_bundle=`, `client_cert=`,
/// `client_key=`, `platform_verifier=`, `proxy=`).
#[derive(Default)]
struct TlsSettings {
    ca_bundle: Option<PathBuf>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
    platform_verifier: bool,
    proxy: Option<String>,
}

impl TlsSettings {
    /// The TLS settings and proxy URL to build a transport with, or `None` when all are
    /// defaults (the core's default transport is used then). Files are read and PEM is
    /// checked here, for both clients.
    fn resolve(self, py: Python<'_>) -> PyResult<Option<(andal::tls::TlsConfig, Option<String>)>> {
        let read = |name: &'static str, path: &PathBuf| {
            std::fs::read(path).map_err(|e| {
                config_error(py, name, &format!("cannot read {}: {e}", path.display()))
            })
        };
        let mut tls = andal::tls::TlsConfig::builder().platform_verifier(self.platform_verifier);
        let mut custom = self.platform_verifier || self.proxy.is_some();
        if let Some(path) = &self.ca_bundle {
            tls = tls.root_certificates_pem(read("ca_bundle", path)?);
            custom = true;
        }
        match (&self.client_cert, &self.client_key) {
            (Some(cert), key) => {
                let cert_pem = read("client_cert", cert)?;
                // One file may hold both the chain and the key, as with requests' `cert=`.
                let key_pem = match key {
                    Some(k) => read("client_key", k)?,
                    None => cert_pem.clone(),
                };
                tls = tls.client_identity_pem(cert_pem, key_pem);
                custom = true;
            }
            (None, Some(_)) => return Err(config_error(py, "client_key", "needs client_cert")),
            (None, None) => {}
        }
        if !custom {
            return Ok(None);
        }
        let tls = tls.build().map_err(|e| tls_error(py, &e))?;
        Ok(Some((tls, self.proxy)))
    }

    /// The blocking client's built-in transport (ureq) for these settings.
    fn transport(self, py: Python<'_>) -> PyResult<Option<Arc<dyn andal::Transport>>> {
        let Some((tls, proxy)) = self.resolve(py)? else {
            return Ok(None);
        };
        let mut builder = andal::transport::UreqTransport::builder().tls(tls);
        if let Some(proxy) = proxy {
            builder = builder.proxy(proxy);
        }
        let transport = builder
            .build()
            .map_err(|e| config_error(py, "proxy", &e.to_string()))?;
        Ok(Some(Arc::new(transport)))
    }

    /// The async client's built-in transport (hyper) for these settings.
    fn async_transport(self, py: Python<'_>) -> PyResult<Option<Arc<dyn andal::AsyncTransport>>> {
        let Some((tls, proxy)) = self.resolve(py)? else {
            return Ok(None);
        };
        let mut builder = andal::transport::HyperTransport::builder().tls(tls);
        if let Some(proxy) = proxy {
            builder = builder.proxy(proxy);
        }
        let transport = builder.build().map_err(|e| match &e {
            andal::transport::HyperTransportError::Tls(t) => tls_error(py, t),
            _ => config_error(py, "proxy", &e.to_string()),
        })?;
        Ok(Some(Arc::new(transport)))
    }
}

/// A TLS setting refused by the core, as a `ConfigError` naming the keyword argument.
fn tls_error(py: Python<'_>, e: &andal::tls::TlsConfigError) -> PyErr {
    let name = match e {
        andal::tls::TlsConfigError::BadPem { input, .. } => match input {
            andal::tls::PemInput::RootCertificates => "ca_bundle",
            andal::tls::PemInput::ClientCertificate => "client_cert",
            _ => "client_key",
        },
        _ => "platform_verifier",
    };
    config_error(py, name, &e.to_string())
}

impl Settings {
    /// The core builder for the blocking client (every value validated into a
    /// `ConfigError`), with the built-in transport the TLS and proxy settings ask for.
    fn builder(self, py: Python<'_>) -> PyResult<andal::ClientBuilder> {
        let (builder, tls) = self.common(py)?;
        Ok(match tls.transport(py)? {
            Some(transport) => builder.transport(transport),
            None => builder,
        })
    }

    /// The same for the async client (hyper transport).
    fn async_builder(self, py: Python<'_>) -> PyResult<andal::ClientBuilder> {
        let (builder, tls) = self.common(py)?;
        Ok(match tls.async_transport(py)? {
            Some(transport) => builder.async_transport(transport),
            None => builder,
        })
    }

    /// Everything but the transport, and the TLS settings still to apply.
    fn common(self, py: Python<'_>) -> PyResult<(andal::ClientBuilder, TlsSettings)> {
        let Settings {
            base_url,
            partner_id,
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
            tls,
        } = self;
        let mut builder = andal::Client::builder(base_url)
            .partner_id(partner_id)
            .api_key(api_key)
            .allow_insecure_http(allow_insecure_http)
            .deadline(seconds(py, "deadline", deadline)?)
            .attempt_timeout(seconds(py, "attempt_timeout", attempt_timeout)?)
            .count_throttling_as_failure(count_throttling_as_failure);
        if let Some(n) = max_response_bytes {
            builder = builder.max_response_bytes(n);
        }
        if let Some(settings) = breaker {
            builder = builder.breaker_config(
                settings.build(py, seconds(py, "attempt_timeout", attempt_timeout)?)?,
            );
        }
        if let Some(settings) = retry {
            builder = builder.retry_policy(settings.builder(py)?);
        }
        if let Some(callback) = on_event {
            builder = builder.listener(Arc::new(PyListener { callback }));
        }
        if let Some(roots) = trust_roots {
            let roots = roots
                .iter()
                .map(|jwk| andal::RootKey::from_json(jwk))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| config_error(py, "trust_roots", e.reason()))?;
            builder = builder.trust_roots(roots);
        }
        if let Some(dir) = trust_cache_dir {
            builder = builder.trust_cache_dir(dir);
        }
        match (journal_path, journal_key) {
            (Some(path), Some(key)) => {
                let key = andal::JournalKey::from_slice(&key)
                    .map_err(|_| config_error(py, "journal_key", "must be 32 bytes"))?;
                builder = builder.journal(path, key);
            }
            (None, None) => {}
            _ => {
                return Err(config_error(
                    py,
                    "journal",
                    "journal and journal_key go together",
                ));
            }
        }
        if let Some(settings) = fallback {
            builder = builder.fallback_policy(settings.build(py)?);
        }
        Ok((builder, tls))
    }
}

/// The native client. Use `andal.Client`, which wraps it with keyword arguments,
/// dataclass results, batches and asyncio.
#[pyclass(frozen, module = "andal._andal")]
struct NativeClient {
    inner: Mutex<Option<andal::Client>>,
    base_url: String,
    partner_id: String,
}

impl NativeClient {
    fn client(&self) -> PyResult<andal::Client> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| PyRuntimeError::new_err("the andal Client is closed"))
    }
}

#[pymethods]
impl NativeClient {
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
        .builder(py)?;
        let client = builder.build().map_err(|e| to_pyerr(py, e))?;
        Ok(NativeClient {
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

    /// A snapshot of the breaker and retry-budget state, as JSON (the core's serde form).
    fn health(&self) -> PyResult<String> {
        let health = self.client()?.health();
        serde_json::to_string(&health).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// When the outage going on now began (Unix seconds), `None` when none is.
    fn outage_since(&self) -> PyResult<Option<f64>> {
        Ok(self
            .client()?
            .outage_recorder()
            .current_incident_start()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs_f64()))
    }

    /// The outage record: `(json, summary_text)` of one report (the JSON form is
    /// documented in `docs/outage-record.md`).
    fn outage_report(&self) -> PyResult<(String, String)> {
        let report = self.client()?.outage_report();
        Ok((report.to_json(), report.summary_text()))
    }

    /// Fetch the keyset and revocation list from the registry, verify them under the
    /// pinned roots, cache them; returns the trust status as JSON. GIL released.
    fn refresh_trust(&self, py: Python<'_>) -> PyResult<String> {
        let client = self.client()?;
        let status = py
            .detach(move || client.refresh_trust())
            .map_err(|e| to_pyerr(py, e))?;
        serde_json::to_string(&status).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// The trust state held now, as JSON.
    fn trust_status(&self) -> PyResult<String> {
        let status = self.client()?.trust_status();
        serde_json::to_string(&status).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// Re-check every journaled offline decision online; the report as JSON. GIL released.
    fn reconcile(&self, py: Python<'_>) -> PyResult<String> {
        let client = self.client()?;
        let report = py
            .detach(move || client.reconcile())
            .map_err(|e| to_pyerr(py, e))?;
        serde_json::to_string(&report).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// Open the breaker by hand (announced maintenance): checks fail fast as
    /// `Unavailable(cause="breaker_open")` until `reset_breaker()`.
    fn force_open_breaker(&self) -> PyResult<()> {
        self.client()?.breaker().force_open();
        Ok(())
    }

    /// Disable the breaker: every call is admitted, nothing is measured.
    fn disable_breaker(&self) -> PyResult<()> {
        self.client()?.breaker().disable();
        Ok(())
    }

    /// Back to a closed, empty breaker.
    fn reset_breaker(&self) -> PyResult<()> {
        self.client()?.breaker().reset();
        Ok(())
    }

    /// Drop the client; further calls raise `RuntimeError`.
    fn close(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// One check. Returns an `andal.Decision`, built directly from the core's value (no
    /// JSON in between). The GIL is released for validation and the network.
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
        let outcome = py.detach(move || -> Result<andal::Decision, Error> {
            let query = parse_query(&nik, &full_name, &birth_date, birth_place)?;
            client.verify_with(&query, &opts)
        });
        match outcome {
            Ok(decision) => convert::decision(py, &decision),
            Err(e) => Err(to_pyerr(py, e)),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "NativeClient(base_url={:?}, partner_id={:?})",
            self.base_url, self.partner_id
        )
    }
}

/// Normalise a name the way the registry compares them (`"Hj. Siti, S.Pd."` -> `"SITI"`).
#[pyfunction]
fn normalize_name(name: String) -> String {
    andal::normalize_name(&name)
}

/// Mask any NIK-like string without validating it.
#[pyfunction]
fn mask_nik(value: String) -> String {
    andal::nik::mask_str(&value)
}

/// A notice for the person at the counter: `(code, title, text)` in the language and
/// office zone given; `since` (Unix seconds) is when the outage began.
#[pyfunction]
#[pyo3(signature = (code, lang, zone, since=None))]
fn notice(
    code: &str,
    lang: &str,
    zone: &str,
    since: Option<f64>,
) -> PyResult<(String, String, String)> {
    let code: andal::NoticeCode = code
        .parse()
        .map_err(|_| PyValueError::new_err("unknown notice code"))?;
    let lang: andal::Language = lang
        .parse()
        .map_err(|e: andal::locale::UnknownLanguage| PyValueError::new_err(e.to_string()))?;
    let zone: andal::OfficeZone = zone
        .parse()
        .map_err(|e: andal::locale::UnknownZone| PyValueError::new_err(e.to_string()))?;
    let since = since
        .filter(|s| s.is_finite() && *s >= 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .map(|d| std::time::UNIX_EPOCH + d);
    let n = andal::Notice::new(code).since(since);
    Ok((
        code.as_str().to_owned(),
        n.title(lang).to_owned(),
        n.message(lang, zone),
    ))
}

/// The notice code for a person turned away, from an `Unavailable` error's `cause` and
/// `last_failure` labels.
#[pyfunction]
#[pyo3(signature = (cause, last_failure=None))]
fn unavailable_notice_code(cause: &str, last_failure: Option<&str>) -> &'static str {
    andal::Notice::for_unavailable(cause, last_failure)
        .code()
        .as_str()
}

/// One series: (name, labels, kind, value, count, buckets).
type PySample = (
    String,
    Vec<(String, String)>,
    &'static str,
    f64,
    u64,
    Vec<(f64, u64)>,
);

/// Every series of every client built in this process (see docs/metrics.md).
#[pyfunction]
fn metrics_snapshot() -> Vec<PySample> {
    andal::metrics::SnapshotRecorder::global()
        .map(|r| {
            r.snapshot()
                .into_iter()
                .map(|s| {
                    (
                        s.name,
                        s.labels,
                        s.kind.as_str(),
                        s.value,
                        s.count,
                        s.buckets,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The same in the Prometheus text format, for an application's own scrape endpoint.
#[pyfunction]
fn metrics_prometheus() -> String {
    andal::metrics::SnapshotRecorder::global()
        .map(|r| r.render_prometheus())
        .unwrap_or_default()
}

/// The `log` records that go on to pyo3-log: all of Andal's own (`andal::*`, loggers
/// `andal.*`), and only warnings and errors of the libraries under it (ureq, rustls,
/// tracing's span lifecycle records). Their debug records, a dozen per check, each cost a
/// cache walk in pyo3-log even when Python's logging drops them (about 10 µs per check).
struct LogBridge {
    inner: pyo3_log::Logger,
    /// `andal*` targets and the levels (bit `1 << level`) pyo3-log has refused. Its answer
    /// for a target is final once it has cached that target's Python logger and level
    /// (`Caching::LoggersAndLevels`, and no reset handle is kept), and it only refuses from
    /// that cache, so a refusal can be remembered. This turns the refusal of the
    /// `andal::check` span record, one per check when Python's logging drops it (the
    /// default), into a short scan instead of pyo3-log's cache walk (a string split and a
    /// hash lookup per `::` segment).
    refused: RwLock<Vec<(Box<str>, u8)>>,
}

impl LogBridge {
    /// More targets than Andal has: past this, refusals are not remembered.
    const MAX_REMEMBERED: usize = 64;

    fn new(inner: pyo3_log::Logger) -> Self {
        LogBridge {
            inner,
            refused: RwLock::new(Vec::new()),
        }
    }

    fn passes(metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn || metadata.target().starts_with("andal")
    }

    fn level_bit(metadata: &log::Metadata<'_>) -> u8 {
        1 << (metadata.level() as usize)
    }

    fn refused(&self, metadata: &log::Metadata<'_>) -> bool {
        let bit = Self::level_bit(metadata);
        let target = metadata.target();
        self.refused
            .read()
            .map(|r| r.iter().any(|(t, bits)| bits & bit != 0 && **t == *target))
            .unwrap_or(false)
    }

    fn remember_refused(&self, metadata: &log::Metadata<'_>) {
        let bit = Self::level_bit(metadata);
        let target = metadata.target();
        if let Ok(mut r) = self.refused.write() {
            if let Some((_, bits)) = r.iter_mut().find(|(t, _)| **t == *target) {
                *bits |= bit;
            } else if r.len() < Self::MAX_REMEMBERED {
                r.push((target.into(), bit));
            }
        }
    }
}

impl log::Log for LogBridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        if !Self::passes(metadata) || self.refused(metadata) {
            return false;
        }
        let enabled = self.inner.enabled(metadata);
        if !enabled {
            self.remember_refused(metadata);
        }
        enabled
    }

    fn log(&self, record: &log::Record<'_>) {
        if Self::passes(record.metadata()) && !self.refused(record.metadata()) {
            self.inner.log(record);
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

#[pymodule]
fn _andal(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // Metrics: an in-process recorder, installed before any client is built here.
    andal::metrics::SnapshotRecorder::install_global();
    // Log bridge: `tracing` events reach Python's `logging` (loggers `andal.*`); levels
    // are cached by pyo3-log, so a disabled logger costs no call into Python.
    let logger = pyo3_log::Logger::new(m.py(), pyo3_log::Caching::LoggersAndLevels)?;
    if log::set_boxed_logger(Box::new(LogBridge::new(logger))).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
    m.add_function(wrap_pyfunction!(metrics_snapshot, m)?)?;
    m.add_function(wrap_pyfunction!(metrics_prometheus, m)?)?;
    m.add_class::<PyNik>()?;
    m.add_class::<NativeClient>()?;
    m.add_class::<async_client::NativeAsyncClient>()?;
    async_client::init_runtime();
    m.add_function(wrap_pyfunction!(normalize_name, m)?)?;
    m.add_function(wrap_pyfunction!(mask_nik, m)?)?;
    m.add_function(wrap_pyfunction!(generate_journal_key, m)?)?;
    m.add_function(wrap_pyfunction!(notice, m)?)?;
    m.add_function(wrap_pyfunction!(unavailable_notice_code, m)?)?;
    Ok(())
}
