//! `AndalClient` and the inputs of a check.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::AndalError;
use crate::guard;
use crate::nik::NikInfo;
use crate::offline::{FallbackSettings, OfflineSettings, ReconcileReport, TrustStatus};
use crate::resilience::{
    BreakerSettings, ClientHealth, ForeignListener, OutageTotals, ResilienceListener,
};
use crate::runtime;
use crate::transport::{
    AsyncHttpTransport, ForeignAsyncTransport, ForeignTransport, HttpTransport,
};
use crate::types::Decision;

/// Client settings. The API key is a separate constructor argument so that the generated
/// data class's `toString()` never prints it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ClientConfig {
    /// Registry base URL (`https://...`).
    pub base_url: String,
    /// Partner id the API key belongs to.
    pub partner_id: String,
    /// Allow plain `http://` (the local sandbox only; never for a real registry).
    #[uniffi(default = false)]
    pub allow_insecure_http: bool,
    /// Total deadline per check across all attempts, in ms (core default: 5000).
    #[uniffi(default = None)]
    pub deadline_ms: Option<u64>,
    /// Cap on one attempt, in ms (core default: 2000).
    #[uniffi(default = None)]
    pub attempt_timeout_ms: Option<u64>,
    /// Largest response body accepted, in bytes (core default: 256 KiB).
    #[uniffi(default = None)]
    pub max_response_bytes: Option<u64>,
    /// Total attempts per check including the first (core default: 3).
    #[uniffi(default = None)]
    pub max_attempts: Option<u32>,
    /// Circuit-breaker settings (null: the core's defaults).
    #[uniffi(default = None)]
    pub breaker: Option<BreakerSettings>,
    /// Whether HTTP 429 counts as a breaker failure (default false).
    #[uniffi(default = false)]
    pub count_throttling_as_failure: bool,
    /// Offline answers from signed attestation tokens (null: never answer offline).
    #[uniffi(default = None)]
    pub offline: Option<OfflineSettings>,
}

/// Per-call options.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct CheckOptions {
    /// Idempotency key instead of a fresh random one (e.g. the bank's transaction id, so a
    /// retry after a crash is not charged twice). 1-128 of `A-Z a-z 0-9 - _ . :`.
    #[uniffi(default = None)]
    pub idempotency_key: Option<String>,
    /// Deadline for this call instead of the client's, in ms.
    #[uniffi(default = None)]
    pub deadline_ms: Option<u64>,
    /// An issuer-signed attestation token (the citizen's wallet QR, or one kept from an
    /// earlier online check) that may answer offline when the registry cannot.
    #[uniffi(default = None)]
    pub token: Option<String>,
    /// Fallback policy for this call instead of the client's.
    #[uniffi(default = None)]
    pub fallback: Option<FallbackSettings>,
}

impl From<&CheckOptions> for andal::CheckOptions {
    fn from(o: &CheckOptions) -> Self {
        let mut out = andal::CheckOptions::default();
        if let Some(k) = &o.idempotency_key {
            out = out.idempotency_key(k.clone());
        }
        if let Some(ms) = o.deadline_ms {
            out = out.deadline(Duration::from_millis(ms));
        }
        if let Some(t) = &o.token {
            out = out.token(t.clone());
        }
        if let Some(f) = &o.fallback {
            out = out.fallback(f.into());
        }
        out
    }
}

/// A validated question: NIK, name, birth date (`YYYY-MM-DD`) and optionally birth place.
/// Validation is offline: a malformed input throws `InvalidInput` before any network call
/// or fee. An object rather than a record, so that nothing prints its personal data.
#[derive(uniffi::Object)]
pub struct CheckQuery {
    inner: andal::Query,
}

impl fmt::Debug for CheckQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // andal::Query's Debug masks everything personal.
        fmt::Debug::fmt(&self.inner, f)
    }
}

#[uniffi::export]
impl CheckQuery {
    /// Validate and build a query.
    #[uniffi::constructor(default(birth_place = None))]
    pub fn new(
        nik: String,
        full_name: String,
        birth_date: String,
        birth_place: Option<String>,
    ) -> Result<Arc<Self>, AndalError> {
        guard("CheckQuery::new", || {
            let mut q = andal::Query::parse(&nik, &full_name, &birth_date)?;
            if let Some(place) = birth_place {
                q = q.with_birth_place(place)?;
            }
            Ok(Arc::new(CheckQuery { inner: q }))
        })
    }

    /// The NIK, masked (`3316**********01`).
    pub fn nik_masked(&self) -> String {
        self.inner.nik().masked()
    }

    /// What the NIK says (region, sex, embedded birth date), without its digits.
    pub fn nik_info(&self) -> NikInfo {
        NikInfo::from(self.inner.nik())
    }

    /// The name as the registry compares it.
    pub fn normalized_name(&self) -> String {
        self.inner.normalized_name()
    }

    /// Whether the birth date agrees with the one embedded in the NIK (a difference is not
    /// an error: NIKs are not reissued after corrections).
    pub fn birth_date_matches_nik(&self) -> bool {
        self.inner.nik().embeds_birth_date(self.inner.birth_date())
    }

    /// Masked description, safe to log.
    pub fn describe(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// The identity-check client. Thread-safe; share one per registry.
///
/// Every check runs on the core's async engine ([`andal::AsyncClient`]) on the bindings'
/// shared runtime (two threads for the process): `verifyAsync` (Kotlin `suspend`, Swift
/// `async`) occupies no thread while it waits; `verify` blocks only its caller.
#[derive(uniffi::Object)]
pub struct AndalClient {
    pub(crate) inner: andal::AsyncClient,
}

impl fmt::Debug for AndalClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

#[uniffi::export]
impl AndalClient {
    /// Build a client. `asyncTransport`: an HTTP stack supplied by the app (OkHttp,
    /// URLSession, java.net.http) that waits without a thread; `transport`: the same as a
    /// blocking implementation (for Java; each request in flight holds a thread); neither:
    /// the built-in rustls transport. `listener`: receives breaker transitions, rejections,
    /// retries and budget exhaustion.
    #[uniffi::constructor(default(transport = None, listener = None, async_transport = None))]
    pub fn new(
        config: ClientConfig,
        api_key: String,
        transport: Option<Arc<dyn HttpTransport>>,
        listener: Option<Arc<dyn ResilienceListener>>,
        async_transport: Option<Arc<dyn AsyncHttpTransport>>,
    ) -> Result<Arc<Self>, AndalError> {
        guard("AndalClient::new", || {
            // The client registers its series when built: the recorder comes first.
            crate::metrics::ensure_recorder();
            let mut b = andal::Client::builder(config.base_url)
                .partner_id(config.partner_id)
                .api_key(api_key)
                .allow_insecure_http(config.allow_insecure_http);
            if let Some(ms) = config.deadline_ms {
                b = b.deadline(Duration::from_millis(ms));
            }
            if let Some(ms) = config.attempt_timeout_ms {
                b = b.attempt_timeout(Duration::from_millis(ms));
            }
            if let Some(n) = config.max_response_bytes {
                b = b.max_response_bytes(n);
            }
            if let Some(n) = config.max_attempts {
                b = b.retry_policy(andal::resilience::RetryPolicy::builder().max_attempts(n));
            }
            if let Some(bs) = &config.breaker {
                let attempt = config
                    .attempt_timeout_ms
                    .map_or(andal::DEFAULT_ATTEMPT_TIMEOUT, Duration::from_millis);
                b = b.breaker_config(bs.build(attempt)?);
            }
            b = b.count_throttling_as_failure(config.count_throttling_as_failure);
            if let Some(o) = &config.offline {
                b = o.apply(b)?;
            }
            if let Some(l) = listener {
                b = b.listener(Arc::new(ForeignListener(l)));
            }
            b = match (async_transport, transport) {
                (Some(_), Some(_)) => {
                    return Err(AndalError::Config {
                        reason: "pass transport or asyncTransport, not both".into(),
                    });
                }
                (Some(t), None) => b.async_transport(Arc::new(ForeignAsyncTransport(t))),
                (None, Some(t)) => b.async_transport(Arc::new(ForeignTransport(t))),
                (None, None) => b,
            };
            let rt = runtime::runtime()?;
            b = b.timer(runtime::timer());
            // The built-in transport and the journal's writer start in the runtime's context.
            let _entered = rt.enter();
            Ok(Arc::new(AndalClient {
                inner: b.build_async()?,
            }))
        })
    }

    /// A snapshot of the breaker and retry-budget state (for a health endpoint or a
    /// status banner: "registry down, checks answered offline").
    pub fn health(&self) -> ClientHealth {
        self.inner.health().into()
    }

    /// Open the breaker by hand: every check fails fast as Unavailable(BreakerOpen) until
    /// [`Self::reset_breaker`] (e.g. during announced registry maintenance).
    pub fn force_open_breaker(&self) {
        self.inner.breaker().force_open();
    }

    /// Disable the breaker: every call is admitted, nothing is measured.
    pub fn disable_breaker(&self) {
        self.inner.breaker().disable();
    }

    /// Back to closed, counts cleared.
    pub fn reset_breaker(&self) {
        self.inner.breaker().reset();
    }

    /// Fetch the signed keyset and revocation list from the registry, verify them against
    /// the pinned roots, and cache them. Call at start-up and periodically while online.
    pub fn refresh_trust(&self) -> Result<TrustStatus, AndalError> {
        runtime::block_on(refresh_trust(self.inner.clone()))
    }

    /// `refreshTrust` without blocking (Kotlin `suspend`, Swift `async`).
    pub async fn refresh_trust_async(&self) -> Result<TrustStatus, AndalError> {
        runtime::spawn(refresh_trust(self.inner.clone())).await
    }

    /// The trust state held (keys, revocation list age).
    pub fn trust_status(&self) -> TrustStatus {
        self.inner.trust_status().into()
    }

    /// Re-check every pending offline decision online and record each as confirmed,
    /// contradicted or still pending. Idempotent; stops early if the registry is down again.
    pub fn reconcile(&self) -> Result<ReconcileReport, AndalError> {
        runtime::block_on(reconcile(self.inner.clone()))
    }

    /// `reconcile` without blocking (Kotlin `suspend`, Swift `async`).
    pub async fn reconcile_async(&self) -> Result<ReconcileReport, AndalError> {
        runtime::spawn(reconcile(self.inner.clone())).await
    }

    /// The outage record as JSON (stable layout, `format_version` 1; see
    /// docs/outage-record.md): incidents, causes, checks served or refused, reconciliation.
    pub fn outage_report_json(&self) -> Result<String, AndalError> {
        guard("outage_report_json", || {
            Ok(self.inner.outage_report().to_json())
        })
    }

    /// The outage record as a short human-readable text, for an operator screen.
    pub fn outage_summary(&self) -> Result<String, AndalError> {
        guard("outage_summary", || {
            Ok(self.inner.outage_report().summary_text())
        })
    }

    /// Headline numbers of the outage record.
    pub fn outage_totals(&self) -> Result<OutageTotals, AndalError> {
        guard("outage_totals", || {
            Ok(OutageTotals::from(&self.inner.outage_report()))
        })
    }

    /// The partner id.
    pub fn partner_id(&self) -> String {
        self.inner.partner_id().to_owned()
    }

    /// Upstream `host:port`.
    pub fn host(&self) -> String {
        self.inner.host().to_owned()
    }

    /// Check one query, blocking the calling thread (at most the deadline). From a UI
    /// thread or a coroutine use `verifyAsync` instead.
    #[uniffi::method(default(options = None))]
    pub fn verify(
        &self,
        query: Arc<CheckQuery>,
        options: Option<CheckOptions>,
    ) -> Result<Decision, AndalError> {
        runtime::block_on(verify(self.inner.clone(), query, options))
    }

    /// Check one query without blocking: a Kotlin `suspend fun` / Swift `async` function.
    /// No thread waits for it; cancelling the caller cancels the check (its breaker permit
    /// is released and the outage record counts it as cancelled).
    #[uniffi::method(default(options = None))]
    pub async fn verify_async(
        &self,
        query: Arc<CheckQuery>,
        options: Option<CheckOptions>,
    ) -> Result<Decision, AndalError> {
        runtime::spawn(verify(self.inner.clone(), query, options)).await
    }
}

async fn verify(
    client: andal::AsyncClient,
    query: Arc<CheckQuery>,
    options: Option<CheckOptions>,
) -> Result<Decision, AndalError> {
    let opts = options
        .as_ref()
        .map(andal::CheckOptions::from)
        .unwrap_or_default();
    let decision = client.verify_with(&query.inner, &opts).await?;
    Decision::try_from(decision)
}

async fn refresh_trust(client: andal::AsyncClient) -> Result<TrustStatus, AndalError> {
    Ok(client.refresh_trust().await?.into())
}

async fn reconcile(client: andal::AsyncClient) -> Result<ReconcileReport, AndalError> {
    ReconcileReport::try_from(client.reconcile().await?)
}
