//! The clients: [`ClientBuilder`] builds the shared engine core once; [`Client`] is the
//! blocking driver over it and [`AsyncClient`] the async one (see `crate::engine`).

mod async_client;
mod disk_writer;

pub use crate::engine::new_idempotency_key;
use crate::engine::trust::{BackgroundRefresh, DEFAULT_TRUST_REFRESH, RefreshAction};
pub use async_client::AsyncClient;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use andal_resilience::{
    AdaptiveThrottle, BreakerConfig, BreakerHealth, BreakerRegistry, CircuitBreaker, EventListener,
    RetryBudget, RetryBudgetConfig, RetryPolicy, RetryPolicyBuilder, SharedClock, SharedTimer,
    SystemClock, ThrottleConfig,
};

use crate::api;
use crate::decision::Decision;
use crate::engine::reconcile::{Reconcile, ReconcileAction};
use crate::engine::{Action, Check, Core, Purpose};
use crate::error::{ConfigError, Error};
use crate::offline::{FallbackPolicy, JournalKey, RootKey, Trust, TrustStatus};
use crate::outage::{OutageConfig, OutageRecorder, OutageReport};
use crate::query::Query;
use crate::reconcile::ReconcileReport;
#[cfg(feature = "fuzzing")]
use crate::transport::HttpResponse;
use crate::transport::{AsyncTransport, DEFAULT_MAX_RESPONSE_BYTES, Transport};

/// Default total deadline for one check, across all attempts.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);
/// Default cap on one attempt.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Cap on one recovery probe (`GET /v1/health` while the breaker is open): a health
/// answer is cheap, and the caller whose check sends it is waiting.
pub const RECOVERY_PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// Per-call options.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CheckOptions {
    /// Idempotency key to use instead of a fresh random one (e.g. the bank's own
    /// transaction id, so that a retry after a crash is not charged twice).
    pub idempotency_key: Option<String>,
    /// Deadline for this call instead of the client's.
    pub deadline: Option<Duration>,
    /// An issuer-signed attestation token the citizen holds (wallet QR) or the partner kept
    /// from an earlier online check: it may answer offline when the registry cannot.
    pub token: Option<String>,
    /// Fallback policy for this call instead of the client's.
    pub fallback: Option<FallbackPolicy>,
}

impl CheckOptions {
    /// Use this idempotency key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
    /// Use this total deadline.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = Some(d);
        self
    }
    /// Offer this attestation token for an offline answer.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }
    /// Use this fallback policy for this call.
    pub fn fallback(mut self, policy: FallbackPolicy) -> Self {
        self.fallback = Some(policy);
        self
    }
}

/// Builder for [`Client`].
///
/// ```no_run
/// use std::time::Duration;
/// let client = andal::Client::builder("https://registry.example")
///     .partner_id("bank-a")
///     .api_key("secret")
///     .deadline(Duration::from_secs(5))
///     .build()?;
/// # Ok::<(), andal::Error>(())
/// ```
pub struct ClientBuilder {
    base_url: String,
    partner_id: Option<String>,
    api_key: Option<String>,
    allow_http: bool,
    deadline: Duration,
    attempt_timeout: Duration,
    max_response_bytes: u64,
    transport: Option<Arc<dyn Transport>>,
    clock: Option<SharedClock>,
    retry_policy: Option<RetryPolicyBuilder>,
    retry_budget: RetryBudgetConfig,
    breaker_config: Option<BreakerConfig>,
    breaker_registry: Option<Arc<BreakerRegistry>>,
    throttle: Option<ThrottleConfig>,
    listeners: Vec<Arc<dyn EventListener>>,
    count_throttling: bool,
    outage: Option<Arc<OutageRecorder>>,
    trust_roots: Vec<RootKey>,
    trust_cache_dir: Option<std::path::PathBuf>,
    trust_refresh: Option<Duration>,
    fallback: FallbackPolicy,
    journal: Option<(std::path::PathBuf, JournalKey)>,
    async_transport: Option<Arc<dyn AsyncTransport>>,
    timer: Option<SharedTimer>,
    spawner: Option<Spawner>,
    thread_spawner: Option<ThreadSpawner>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("partner_id", &self.partner_id)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Partner id the API key belongs to.
    pub fn partner_id(mut self, id: impl Into<String>) -> Self {
        self.partner_id = Some(id.into());
        self
    }
    /// API key sent as `Authorization: Bearer`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
    /// Allow plain `http://` (the local sandbox only; never for a real registry).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }
    /// Total deadline per check, across all attempts (default 5 s). The online path
    /// (attempts, backoffs, recovery probe) ends 1 % of it (at most 50 ms) early, so that
    /// the check is decided, offline fallback included, within the deadline even when the
    /// last attempt times out.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }
    /// Cap on one attempt (default 2 s; always also capped by what remains of the
    /// deadline's online part, see [`deadline`](Self::deadline)).
    pub fn attempt_timeout(mut self, d: Duration) -> Self {
        self.attempt_timeout = d;
        self
    }
    /// Largest response body accepted (default 256 KiB).
    pub fn max_response_bytes(mut self, n: u64) -> Self {
        self.max_response_bytes = n;
        self
    }
    /// Use this transport instead of the built-in ureq/rustls one (required when the
    /// `https` feature is off).
    pub fn transport(mut self, t: Arc<dyn Transport>) -> Self {
        self.transport = Some(t);
        self
    }

    /// Time source for deadlines, backoff sleeps, the breaker and the budget (default: the
    /// system clock; tests inject a `ManualClock`).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }
    /// Retry policy (default: 3 attempts, full-jitter backoff from 100 ms capped at 2 s).
    /// The client's listeners are added to it.
    pub fn retry_policy(mut self, p: RetryPolicyBuilder) -> Self {
        self.retry_policy = Some(p);
        self
    }
    /// Retry budget (default: retries up to 10 % of recent first attempts, floor 1/s over 10 s).
    pub fn retry_budget(mut self, c: RetryBudgetConfig) -> Self {
        self.retry_budget = c;
        self
    }
    /// Client-side adaptive throttling (default on, [`ThrottleConfig::default`]: K = 2
    /// over 30 s): when the registry fails more than half of the calls, first attempts
    /// are shed locally with a probability that rises smoothly with the failure rate, so
    /// partial failure sheds load gradually instead of flipping to refuse-all. `None`
    /// turns it off.
    pub fn adaptive_throttle(mut self, c: Option<ThrottleConfig>) -> Self {
        self.throttle = c;
        self
    }
    /// Circuit-breaker configuration for this client's upstream host (default
    /// [`BreakerConfig::for_attempt_timeout`]: the defaults, with the slow-call threshold
    /// at 95 % of the attempt timeout). Its slow-call threshold must be below the
    /// attempt timeout, which caps every measured call: `build` refuses it otherwise.
    /// Recovery probes (`GET /v1/health`, at most one per second per host while open)
    /// are set here too (`recovery_probe_interval`).
    pub fn breaker_config(mut self, c: BreakerConfig) -> Self {
        self.breaker_config = Some(c);
        self
    }
    /// Share breakers with other clients: the breaker for this host comes from the registry
    /// (one breaker per upstream host), and `breaker_config` is ignored. The registry's
    /// breakers report to the registry's listeners (`BreakerRegistry::with_listener`), not
    /// to this client's: register a shared outage recorder there to see their transitions.
    pub fn breaker_registry(mut self, r: Arc<BreakerRegistry>) -> Self {
        self.breaker_registry = Some(r);
        self
    }
    /// Receive breaker transitions, rejections, retries and budget exhaustion.
    pub fn listener(mut self, l: Arc<dyn EventListener>) -> Self {
        self.listeners.push(l);
        self
    }
    /// Whether HTTP 429 counts as a breaker failure (default false: one partner over its
    /// own quota should not open the breaker; it is still retried after Retry-After).
    pub fn count_throttling_as_failure(mut self, yes: bool) -> Self {
        self.count_throttling = yes;
        self
    }

    /// Record outages in this recorder (e.g. one shared by several clients) instead of the
    /// client's own. It must use the same clock as the client.
    pub fn outage_recorder(mut self, r: Arc<OutageRecorder>) -> Self {
        self.outage = Some(r);
        self
    }

    /// Pin the root key(s) that sign keysets and revocation lists. Without roots, no token
    /// is ever accepted.
    pub fn trust_roots(mut self, roots: Vec<RootKey>) -> Self {
        self.trust_roots = roots;
        self
    }
    /// Cache verified keysets and revocation lists in this folder (re-verified on load).
    pub fn trust_cache_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.trust_cache_dir = Some(dir.into());
        self
    }
    /// How often the trust documents are refreshed in the background after a successful
    /// online check (default 15 min; `None`: only on [`Client::refresh_trust`]).
    pub fn trust_refresh_interval(mut self, every: Option<Duration>) -> Self {
        self.trust_refresh = every;
        self
    }
    /// The client's fallback policy (default: offline answers allowed under the limits of
    /// [`FallbackPolicy::default`], once trust roots and a journal are configured).
    pub fn fallback_policy(mut self, p: FallbackPolicy) -> Self {
        self.fallback = p;
        self
    }
    /// Journal offline decisions in this file, encrypted under `key` (32 bytes from
    /// Android Keystore, iOS Keychain or a KMS). Required for offline answers.
    pub fn journal(mut self, path: impl Into<std::path::PathBuf>, key: JournalKey) -> Self {
        self.journal = Some((path.into(), key));
        self
    }

    /// [`AsyncClient`] only: send through this async transport (a bank's own HTTP client
    /// and pool) instead of the built-in hyper one (required when the `tokio` feature is
    /// off).
    pub fn async_transport(mut self, t: Arc<dyn AsyncTransport>) -> Self {
        self.async_transport = Some(t);
        self
    }

    /// [`AsyncClient`] only: the async waits (backoff) on the client's clock. Default with
    /// the `tokio` feature: tokio's timer on the system clock. With a
    /// [`ManualClock`](andal_resilience::ManualClock) set as [`clock`](Self::clock), pass
    /// the same `ManualClock` here: it advances instead of waiting.
    pub fn timer(mut self, t: SharedTimer) -> Self {
        self.timer = Some(t);
        self
    }

    /// [`AsyncClient`] only: where the background trust refresh runs. Default with the
    /// `tokio` feature: `tokio::spawn` on the runtime of the check that found it due.
    /// Without a spawner, trust documents refresh only on [`AsyncClient::refresh_trust`].
    pub fn spawner(mut self, s: Spawner) -> Self {
        self.spawner = Some(s);
        self
    }

    /// [`Client`] only: where the background trust refresh runs. Default: a new thread
    /// (`andal-trust-refresh`) per refresh, at most one at a time. Pass a pool's `execute`
    /// to keep threads under your own control (tests pass a queue and run it themselves).
    /// A job dropped unrun counts as not run: the refresh is due again after the next
    /// successful check.
    pub fn thread_spawner(mut self, s: ThreadSpawner) -> Self {
        self.thread_spawner = Some(s);
        self
    }

    /// Validate the settings and build the async client (same options, same errors, same
    /// events and outage record as [`build`](Self::build)). The offline journal, if any, gets a
    /// writer thread so that journal writes never block the async runtime.
    pub fn build_async(self) -> Result<AsyncClient, Error> {
        let (core, _, parts) = self.build_core(false)?;
        AsyncClient::new(core, parts)
    }

    /// Validate the settings and build the blocking client.
    pub fn build(self) -> Result<Client, Error> {
        let spawn = self
            .thread_spawner
            .clone()
            .unwrap_or_else(new_thread_spawner);
        let (core, transport, _) = self.build_core(true)?;
        let transport = transport.ok_or(ConfigError::Missing("transport"))?;
        Ok(Client {
            inner: Arc::new(Inner {
                core,
                transport,
                spawn,
                reconcile_lock: parking_lot::Mutex::new(()),
            }),
        })
    }

    /// Validate the settings and build the shared engine core (and the blocking
    /// transport, when `blocking`).
    fn build_core(self, blocking: bool) -> Result<BuiltCore, Error> {
        let base = self.base_url.trim().trim_end_matches('/').to_owned();
        let (scheme, rest) = base
            .split_once("://")
            .ok_or_else(|| ConfigError::BaseUrl("missing scheme".into()))?;
        match scheme {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(ConfigError::InsecureHttp.into()),
            _ => return Err(ConfigError::BaseUrl("scheme must be https".into()).into()),
        }
        if rest.is_empty() || rest.contains(char::is_whitespace) {
            return Err(ConfigError::BaseUrl("missing or invalid host".into()).into());
        }
        let host = rest.split('/').next().unwrap_or_default().to_owned();
        let partner_id = self
            .partner_id
            .filter(|s| !s.is_empty())
            .ok_or(ConfigError::Missing("partner_id"))?;
        let api_key = self
            .api_key
            .filter(|s| !s.is_empty())
            .ok_or(ConfigError::Missing("api_key"))?;
        if self.deadline.is_zero() {
            return Err(ConfigError::Invalid {
                name: "deadline",
                reason: "must be greater than zero".into(),
            }
            .into());
        }
        let clock = self.clock.unwrap_or_else(SystemClock::shared);
        let outage = self.outage.unwrap_or_else(|| {
            Arc::new(OutageRecorder::new(
                clock.clone(),
                OutageConfig::default().breaker(host.clone()),
            ))
        });
        let mut listeners = self.listeners;
        listeners.push(outage.clone());
        // Handles are registered with the recorder installed now (no-ops without one).
        let metrics = crate::metrics::ClientMetrics::new(&host);
        listeners.push(metrics.listener());
        let mut policy = self.retry_policy.unwrap_or_else(RetryPolicy::builder);
        for l in &listeners {
            policy = policy.listener(l.clone());
        }
        let retry_policy = policy.build().map_err(|e| ConfigError::Invalid {
            name: "retry_policy",
            reason: e.to_string(),
        })?;
        let mut budget =
            RetryBudget::new(self.retry_budget, &clock).map_err(|e| ConfigError::Invalid {
                name: "retry_budget",
                reason: e.to_string(),
            })?;
        for l in &listeners {
            budget = budget.with_listener(l.clone());
        }
        let explicit_breaker = self.breaker_config.is_some() || self.breaker_registry.is_some();
        let breaker_config = self
            .breaker_config
            .unwrap_or_else(|| BreakerConfig::for_attempt_timeout(self.attempt_timeout));
        let breaker = match self.breaker_registry {
            Some(r) => r.get(&host),
            None => {
                let mut b = CircuitBreaker::new(host.clone(), breaker_config, &clock);
                for l in &listeners {
                    b = b.with_listener(l.clone());
                }
                Arc::new(b)
            }
        };
        if explicit_breaker && breaker.config().slow_call_duration_threshold >= self.attempt_timeout
        {
            return Err(ConfigError::Invalid {
                name: "breaker_config",
                reason: format!(
                    "slow_call_duration_threshold ({:?}) must be below attempt_timeout ({:?}): \
                     every call is capped at the attempt timeout, so the slow-call rate could never trip",
                    breaker.config().slow_call_duration_threshold,
                    self.attempt_timeout
                ),
            }
            .into());
        }
        let throttle = match self.throttle {
            Some(c) => {
                let mut t = AdaptiveThrottle::new(c, &clock).map_err(|e| ConfigError::Invalid {
                    name: "adaptive_throttle",
                    reason: e.to_string(),
                })?;
                for l in &listeners {
                    t = t.with_listener(l.clone());
                }
                Some(t)
            }
            None => None,
        };
        let transport: Option<Arc<dyn Transport>> = match self.transport {
            Some(t) => Some(t),
            None if !blocking => None,
            #[cfg(feature = "https")]
            None => Some(Arc::new(crate::transport::UreqTransport::default())),
            #[cfg(not(feature = "https"))]
            None => return Err(ConfigError::Missing("transport").into()),
        };
        let async_parts = AsyncParts {
            transport: self.async_transport,
            timer: self.timer,
            spawner: self.spawner,
        };
        let mut journal_recovery = None;
        let journal = match self.journal {
            Some((path, key)) => {
                let (j, report) = andal_journal::Journal::open(
                    &path,
                    &key,
                    andal_journal::JournalOptions::new().group_commit(true),
                )
                .map_err(|e| Error::Journal(Arc::new(e)))?;
                // Recovery never drops what may have been acknowledged silently: say so here
                // and keep the report for `Client::journal_recovery`.
                if report.was_empty {
                    tracing::warn!(target: "andal::offline", path = %path.display(), "journal: the file existed but was empty (0 bytes) and was re-initialised; offline decisions it held are lost");
                }
                match &report.tail {
                    andal_journal::TailRecovery::Damaged {
                        offset,
                        bytes,
                        side_file,
                    } => {
                        tracing::warn!(target: "andal::offline", path = %path.display(), offset, bytes, side_file = ?side_file, "journal: the last record is complete but failed its check: it may have been an acknowledged offline decision; its bytes were kept in the side file");
                    }
                    andal_journal::TailRecovery::Incomplete { bytes, .. } => {
                        tracing::warn!(target: "andal::offline", bytes, "journal: incomplete tail (never acknowledged) truncated on open");
                    }
                    _ => {}
                }
                journal_recovery = Some(report);
                // Shared with the trust state, which keeps its high-water mark there.
                Some(Arc::new(j))
            }
            None => None,
        };
        let trust = Arc::new(crate::engine::trust::TrustSync {
            trust: Trust::new(
                self.trust_roots,
                self.trust_cache_dir,
                andal_token::unix_secs(clock.wall()),
                journal.clone(),
            ),
            base_url: base.clone(),
            auth_header: format!("Bearer {api_key}"),
            partner_id: partner_id.clone(),
            clock: clock.clone(),
            attempt_timeout: self.attempt_timeout,
            max_response_bytes: self.max_response_bytes,
            interval: self.trust_refresh,
            last: parking_lot::Mutex::new(None),
            running: std::sync::atomic::AtomicBool::new(false),
        });
        metrics.listener().set_breaker_state(breaker.state());
        if let Some(j) = &journal
            && let Ok(pending) = crate::reconcile::pending_decisions(j)
        {
            metrics.set_journal_backlog(pending);
        }
        let core = Arc::new(Core {
            metrics,
            trust,
            fallback: self.fallback,
            journal,
            journal_recovery,
            clock,
            retry_policy,
            budget,
            breaker,
            throttle,
            health_url: format!("{base}{}", api::HEALTH_PATH),
            outage,
            count_throttling: self.count_throttling,
            checks_url: format!("{base}{}", api::CHECKS_PATH),
            base_url: base,
            host,
            partner_id,
            auth_header: format!("Bearer {api_key}"),
            deadline: self.deadline,
            attempt_timeout: self.attempt_timeout,
            max_response_bytes: self.max_response_bytes,
            in_flight: Arc::default(),
        });
        Ok((core, transport, async_parts))
    }
}

/// The engine core, the blocking transport (when asked for) and the async parts.
type BuiltCore = (Arc<Core>, Option<Arc<dyn Transport>>, AsyncParts);

/// What only the async driver uses from the builder.
pub(crate) struct AsyncParts {
    pub(crate) transport: Option<Arc<dyn AsyncTransport>>,
    pub(crate) timer: Option<SharedTimer>,
    pub(crate) spawner: Option<Spawner>,
}

/// Runs a background future (the trust refresh of an [`AsyncClient`]) on the caller's
/// runtime, e.g. `Arc::new(|f| { tokio::spawn(f); })`.
pub type Spawner = Arc<dyn Fn(Pin<Box<dyn Future<Output = ()> + Send>>) + Send + Sync>;

/// Runs a background job (the trust refresh of a [`Client`]) on a thread, e.g. a pool's
/// `execute`. A job it drops unrun counts as not run.
pub type ThreadSpawner = Arc<dyn Fn(Box<dyn FnOnce() + Send>) + Send + Sync>;

/// The default [`ThreadSpawner`]: one named thread per job. If the thread cannot start,
/// the job is dropped unrun.
fn new_thread_spawner() -> ThreadSpawner {
    Arc::new(|job| {
        if let Err(e) = std::thread::Builder::new()
            .name("andal-trust-refresh".into())
            .spawn(job)
        {
            tracing::warn!(target: "andal::offline", error = %e, "cannot start the trust refresh thread");
        }
    })
}

struct Inner {
    core: Arc<Core>,
    transport: Arc<dyn Transport>,
    spawn: ThreadSpawner,
    reconcile_lock: parking_lot::Mutex<()>,
}

/// The identity-check client. Cheap to clone; `Send + Sync`; share one per registry.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.core.base_url)
            .field("partner_id", &self.inner.core.partner_id)
            .finish_non_exhaustive()
    }
}

/// A snapshot of a client's resilience state.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct ClientHealth {
    /// Upstream host.
    pub host: String,
    /// Breaker state, rates and counts.
    pub breaker: BreakerHealth,
    /// Retry tokens available.
    pub retry_budget_balance: f64,
    /// Probability that the adaptive throttle sheds a first attempt now (0 when off).
    pub throttle_rejection_probability: f64,
}

impl Client {
    /// Start building a client for a registry base URL.
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            partner_id: None,
            api_key: None,
            allow_http: false,
            deadline: DEFAULT_DEADLINE,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            transport: None,
            clock: None,
            retry_policy: None,
            retry_budget: RetryBudgetConfig::default(),
            breaker_config: None,
            breaker_registry: None,
            throttle: Some(ThrottleConfig::default()),
            listeners: Vec::new(),
            count_throttling: false,
            outage: None,
            trust_roots: Vec::new(),
            trust_cache_dir: None,
            trust_refresh: Some(DEFAULT_TRUST_REFRESH),
            async_transport: None,
            timer: None,
            spawner: None,
            thread_spawner: None,
            fallback: FallbackPolicy::default(),
            journal: None,
        }
    }

    /// The outage record: incidents (when, how long, why), checks answered online, offline
    /// and refused during each, reconciliation outcomes. See `docs/outage-record.md`.
    pub fn outage_report(&self) -> OutageReport {
        self.inner.core.outage.report()
    }

    /// What opening the offline-decision journal found (`None` when the client has no
    /// journal). Check [`RecoveryReport::may_have_lost_acknowledged`] and show
    /// [`RecoveryReport::warnings`] to an operator: a complete last record that failed its
    /// check (kept in a `<journal>.damaged-<unix-ms>` side file) or a journal file found
    /// empty may hide a lost offline decision. Also logged as a `warn` event (target
    /// `andal::offline`) when the client is built.
    ///
    /// [`RecoveryReport::may_have_lost_acknowledged`]: andal_journal::RecoveryReport::may_have_lost_acknowledged
    /// [`RecoveryReport::warnings`]: andal_journal::RecoveryReport::warnings
    pub fn journal_recovery(&self) -> Option<&andal_journal::RecoveryReport> {
        self.inner.core.journal_recovery.as_ref()
    }

    /// The recorder behind [`Client::outage_report`].
    pub fn outage_recorder(&self) -> &Arc<OutageRecorder> {
        &self.inner.core.outage
    }

    /// A snapshot of this client's resilience state (breaker state and rates, budget).
    pub fn health(&self) -> ClientHealth {
        health_of(&self.inner.core)
    }

    /// The circuit breaker guarding this client's upstream host (manual states: force
    /// open, disable, reset).
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.inner.core.breaker
    }

    /// The partner id.
    pub fn partner_id(&self) -> &str {
        &self.inner.core.partner_id
    }

    /// Upstream host (`host:port`) this client talks to.
    pub fn host(&self) -> &str {
        &self.inner.core.host
    }

    /// Check one query with default options.
    pub fn verify(&self, query: &Query) -> Result<Decision, Error> {
        self.verify_with(query, &CheckOptions::default())
    }

    /// Check one query.
    ///
    /// The order of one check: deadline starts → breaker admits (or the call fails fast) →
    /// attempt with a timeout capped by what remains → classify → record in the breaker →
    /// on a retryable failure, the schedule picks a full-jitter delay (or Retry-After), the
    /// budget must allow the retry, and the delay must fit in the deadline. Every attempt
    /// carries the same idempotency key, so the registry charges one access per check.
    ///
    /// This blocks the calling thread for up to the deadline: from async code use
    /// [`AsyncClient`] instead (or `spawn_blocking`).
    pub fn verify_with(&self, query: &Query, opts: &CheckOptions) -> Result<Decision, Error> {
        let check = Check::new(Arc::clone(&self.inner.core), Purpose::Citizen, query, opts)?;
        self.run_check(check)
    }

    /// The blocking driver of one check: performs what the engine asks until it decides.
    fn run_check(&self, mut check: Check) -> Result<Decision, Error> {
        let core = &*self.inner.core;
        let result = loop {
            match check.poll() {
                Action::Send {
                    request,
                    timeout,
                    max_body,
                } => {
                    let r = self.inner.transport.send(&request, timeout, max_body);
                    check.handle_response(r);
                }
                Action::WaitUntil(until) => {
                    core.clock
                        .sleep(until.saturating_duration_since(core.clock.now()));
                }
                Action::Journal(payload) => {
                    let r = match &core.journal {
                        Some(j) => j.append(&payload),
                        None => unreachable!("the engine journals only with a journal"),
                    };
                    check.handle_journaled(r);
                }
                Action::Done(result) => break result,
            }
        };
        if check.trust_refresh_due() {
            self.refresh_trust_in_background();
        }
        result
    }

    /// Runs a trust refresh the engine asked for on a background thread (never blocks
    /// the check that triggered it).
    fn refresh_trust_in_background(&self) {
        let me = self.clone();
        // Reports the end of the refresh however the job ends (run, dropped, panicked).
        let running = BackgroundRefresh::new(Arc::clone(&self.inner.core.trust));
        (self.inner.spawn)(Box::new(move || {
            let r = me.run_trust_refresh();
            running.done(r);
        }));
    }

    fn run_trust_refresh(&self) -> Result<(), Error> {
        let mut refresh = self.inner.core.trust.refresh()?;
        loop {
            match refresh.poll() {
                RefreshAction::Send {
                    request,
                    timeout,
                    max_body,
                } => {
                    refresh.handle_response(self.inner.transport.send(&request, timeout, max_body))
                }
                RefreshAction::Persist(writes) => {
                    refresh.handle_persisted(writes.write(self.inner.core.journal.as_deref()));
                }
                RefreshAction::Done(r) => return r,
            }
        }
    }

    /// Fetch the signed keyset and revocation list from the registry, verify them against
    /// the pinned roots, and cache them. Call at start-up; afterwards the client refreshes
    /// them in the background after a successful online check, every
    /// [`trust_refresh_interval`](ClientBuilder::trust_refresh_interval).
    pub fn refresh_trust(&self) -> Result<TrustStatus, Error> {
        self.run_trust_refresh()?;
        Ok(self.trust_status())
    }

    /// The trust state held (keys, revocation list age).
    pub fn trust_status(&self) -> TrustStatus {
        trust_status_of(&self.inner.core)
    }

    /// Re-check every pending offline decision online (through the breaker and the retry
    /// budget) and record each as confirmed, contradicted (with the reason) or still
    /// pending. Idempotent (resolved decisions are skipped) and safe alongside new checks.
    /// Stops early, leaving the rest pending, once the registry is unavailable again.
    pub fn reconcile(&self) -> Result<ReconcileReport, Error> {
        let core = &*self.inner.core;
        let mut run = Reconcile::new(Arc::clone(&self.inner.core))?;
        let journal = core.journal.as_ref().expect("Reconcile::new checked it");
        let _one_at_a_time = self.inner.reconcile_lock.lock();
        loop {
            match run.poll() {
                ReconcileAction::ReadJournal => run.handle_records(journal.records()),
                ReconcileAction::Check(check) => run.handle_check(self.run_check(*check)),
                ReconcileAction::Journal(payload) => run.handle_journaled(journal.append(&payload)),
                ReconcileAction::Done(r) => return r,
            }
        }
    }

    /// Re-check one offline decision shipped off its node (a central ledger's reconciler),
    /// as [`Client::reconcile`] does for its own journal: revocation first, then online
    /// through the breaker, retry budget and deadline, counted as a re-check in the outage
    /// record. The caller gives the idempotency key: one per decision, the same on every
    /// attempt, so a decision is charged at most once however often it is re-checked.
    /// Writes nothing: the caller records the outcome.
    pub fn recheck_offline_decision(
        &self,
        decision: &crate::reconcile::OfflineDecision,
        idempotency_key: &str,
    ) -> crate::ReconcileOutcome {
        let d = &decision.0;
        match crate::engine::reconcile::recheck_start(
            &self.inner.core,
            d,
            idempotency_key.to_owned(),
        ) {
            Ok(check) => crate::engine::reconcile::judge(d.verdict, self.run_check(check)),
            Err(outcome) => outcome,
        }
    }
}

fn health_of(core: &Core) -> ClientHealth {
    ClientHealth {
        host: core.host.clone(),
        breaker: core.breaker.health(),
        retry_budget_balance: core.budget.balance(),
        throttle_rejection_probability: core
            .throttle
            .as_ref()
            .map_or(0.0, AdaptiveThrottle::rejection_probability),
    }
}

fn trust_status_of(core: &Core) -> TrustStatus {
    core.trust.status(andal_token::unix_secs(core.clock.wall()))
}

/// Fuzzing entry point (cargo feature `fuzzing`; not a stable API): runs the engine's
/// private response interpretation on an arbitrary registry response, unchanged, and
/// returns the outcome (`"answer"`, `"retry"` or `"final"`) with its `Debug` text, so a
/// fuzz target can check invariants without seeing private types.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn fuzz_interpret(
    resp: HttpResponse,
    now_wall: std::time::SystemTime,
) -> (&'static str, String) {
    use crate::engine::AttemptResult;
    match crate::engine::interpret(resp, now_wall) {
        AttemptResult::Answer(r) => ("answer", format!("{r:?}")),
        AttemptResult::Fail {
            failure,
            retry_after,
        } => ("retry", format!("{failure:?} {failure} {retry_after:?}")),
        AttemptResult::Final(e) => ("final", format!("{e:?} {e}")),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use andal_resilience::ManualClock;

    use super::*;
    use crate::engine::{Action, Check, Purpose};

    /// The decision reserve is taken again before each attempt: a check that started
    /// alone gets the larger reserve once a thousand others have joined it.
    #[test]
    fn the_reserve_is_retaken_before_an_attempt() {
        let clock = Arc::new(ManualClock::new());
        let client = Client::builder("https://registry.example")
            .partner_id("bank-1")
            .api_key("key")
            .clock(clock)
            .deadline(Duration::from_secs(5))
            .attempt_timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let core = &client.inner.core;
        let q = Query::parse("3316094507990001", "Siti Aminah", "1999-07-05").unwrap();
        let opts = CheckOptions::default();
        let new_check = || Check::new(Arc::clone(core), Purpose::Citizen, &q, &opts).unwrap();
        let timeout_of = |check: &mut Check| match check.poll() {
            Action::Send { timeout, .. } => timeout,
            other => panic!("expected a request, got {other:?}"),
        };
        // Alone: the flat 50 ms.
        assert_eq!(timeout_of(&mut new_check()), Duration::from_millis(4950));
        let mut first = new_check();
        let others: Vec<Check> = (0..1000).map(|_| new_check()).collect();
        // 1,000 others in flight by its first attempt: 50 ms + 1,000 × 100 µs.
        assert_eq!(timeout_of(&mut first), Duration::from_millis(4850));
        drop(others);
    }
}
