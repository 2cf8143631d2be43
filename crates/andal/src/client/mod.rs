//! `Client`: composes validation, transport, the resilience pieces and the offline
//! fallback in the order of one check.

mod fallback;
mod reconcile;
mod trust;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use andal_resilience::{
    AdaptiveThrottle, BreakerConfig, BreakerHealth, BreakerRegistry, BreakerState, CallOutcome,
    CircuitBreaker, Deadline, EventListener, FailureKind as Kind, RetryBudget, RetryBudgetConfig,
    RetryDecision, RetryPolicy, RetryPolicyBuilder, SharedClock, StopReason, SystemClock,
    ThrottleConfig,
};

use crate::api::{self, CheckRequest, CheckResponse, Problem, ProblemCode};
use crate::decision::{Decision, Provenance};
use crate::error::{ConfigError, Error, Rejected, Unavailable, UnavailableCause};
use crate::offline::{FallbackPolicy, JournalKey, RootKey, Trust};
use crate::outage::{CheckOutcome, OutageConfig, OutageRecorder, OutageReport};
use crate::query::Query;
use crate::transport::{
    DEFAULT_MAX_RESPONSE_BYTES, FailureKind, HttpRequest, HttpResponse, Method, Transport,
    TransportError,
};

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
    /// Total deadline per check, across all attempts (default 5 s).
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }
    /// Cap on one attempt (default 2 s; always also capped by what remains of the deadline).
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

    /// Validate the settings and build the client.
    pub fn build(self) -> Result<Client, Error> {
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
        let transport: Arc<dyn Transport> = match self.transport {
            Some(t) => t,
            #[cfg(feature = "https")]
            None => Arc::new(crate::transport::UreqTransport::default()),
            #[cfg(not(feature = "https"))]
            None => return Err(ConfigError::Missing("transport").into()),
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
        let trust = Arc::new(trust::TrustSync {
            trust: Trust::new(
                self.trust_roots,
                self.trust_cache_dir,
                andal_token::unix_secs(clock.wall()),
                journal.clone(),
            ),
            transport: transport.clone(),
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
        Ok(Client {
            inner: Arc::new(Inner {
                trust,
                fallback: self.fallback,
                journal,
                journal_recovery,
                reconcile_lock: parking_lot::Mutex::new(()),
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
                transport,
            }),
        })
    }
}

struct Inner {
    trust: Arc<trust::TrustSync>,
    fallback: FallbackPolicy,
    journal: Option<Arc<andal_journal::Journal>>,
    /// What opening the journal found (see `Client::journal_recovery`).
    journal_recovery: Option<andal_journal::RecoveryReport>,
    reconcile_lock: parking_lot::Mutex<()>,
    clock: SharedClock,
    retry_policy: RetryPolicy,
    budget: RetryBudget,
    breaker: Arc<CircuitBreaker>,
    throttle: Option<AdaptiveThrottle>,
    health_url: String,
    outage: Arc<OutageRecorder>,
    count_throttling: bool,
    base_url: String,
    checks_url: String,
    host: String,
    partner_id: String,
    auth_header: String,
    deadline: Duration,
    attempt_timeout: Duration,
    max_response_bytes: u64,
    transport: Arc<dyn Transport>,
}

/// The identity-check client. Cheap to clone; `Send + Sync`; share one per registry.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("partner_id", &self.inner.partner_id)
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

/// What one attempt produced.
enum AttemptResult {
    Answer(CheckResponse),
    Fail {
        failure: TransportError,
        retry_after: Option<Duration>,
    },
    Final(Error),
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
            trust_refresh: Some(trust::DEFAULT_TRUST_REFRESH),
            fallback: FallbackPolicy::default(),
            journal: None,
        }
    }

    /// The outage record: incidents (when, how long, why), checks answered online, offline
    /// and refused during each, reconciliation outcomes. See `docs/outage-record.md`.
    pub fn outage_report(&self) -> OutageReport {
        self.inner.outage.report()
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
        self.inner.journal_recovery.as_ref()
    }

    /// The recorder behind [`Client::outage_report`].
    pub fn outage_recorder(&self) -> &Arc<OutageRecorder> {
        &self.inner.outage
    }

    /// A snapshot of this client's resilience state (breaker state and rates, budget).
    pub fn health(&self) -> ClientHealth {
        ClientHealth {
            host: self.inner.host.clone(),
            breaker: self.inner.breaker.health(),
            retry_budget_balance: self.inner.budget.balance(),
            throttle_rejection_probability: self
                .inner
                .throttle
                .as_ref()
                .map_or(0.0, AdaptiveThrottle::rejection_probability),
        }
    }

    /// The circuit breaker guarding this client's upstream host (manual states: force
    /// open, disable, reset).
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.inner.breaker
    }

    /// The partner id.
    pub fn partner_id(&self) -> &str {
        &self.inner.partner_id
    }

    /// Upstream host (`host:port`) this client talks to.
    pub fn host(&self) -> &str {
        &self.inner.host
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
    pub fn verify_with(&self, query: &Query, opts: &CheckOptions) -> Result<Decision, Error> {
        let mut result = self.online(query, opts);
        if let Err(Error::Unavailable(u)) = &mut result
            && self.offline_configured()
        {
            match self.offline_decide(query, opts, u) {
                // Recorded in the outage record by offline_decide.
                Ok(d) => return Ok(d),
                Err(refusal) => {
                    tracing::info!(target: "andal::offline", reason = refusal.reason(), "no offline answer");
                    u.fallback = Some(refusal);
                }
            }
        }
        self.record_outcome(&result);
        if result.is_ok() {
            self.inner.trust.refresh_in_background_if_due();
        }
        result
    }

    /// Count one check's outcome in the outage record.
    pub(super) fn record_outcome(&self, result: &Result<Decision, Error>) {
        let outcome = match result {
            Ok(_) => Some(CheckOutcome::Online),
            Err(Error::Unavailable(_)) => Some(CheckOutcome::Refused),
            Err(Error::Auth { .. } | Error::Rejected(_) | Error::Protocol(_)) => {
                Some(CheckOutcome::Rejected)
            }
            // Nothing was sent: not part of the registry's record.
            Err(_) => None,
        };
        if let Some(o) = outcome {
            self.inner.outage.record_check(o);
        }
    }

    /// Count one reconciliation re-check in the outage record (apart from citizen
    /// checks), when it reached the registry.
    pub(super) fn record_recheck(&self, result: &Result<Decision, Error>) {
        let sent = match result {
            Ok(_) => true,
            Err(Error::Unavailable(u)) => u.attempts > 0,
            Err(Error::Auth { .. } | Error::Rejected(_) | Error::Protocol(_)) => true,
            Err(_) => false,
        };
        if sent {
            self.inner.outage.record_recheck();
        }
    }

    /// The online path: deadline, breaker, throttle, attempts, retries.
    ///
    /// The breaker is fed one outcome per check while closed: a failed attempt that a
    /// retry follows is recorded as `Ignored`, so failures that a retry of the same check
    /// then answered do not weigh like a dead registry; the check's last attempt carries
    /// its outcome. In half-open every probe counts as it ends.
    pub(super) fn online(&self, query: &Query, opts: &CheckOptions) -> Result<Decision, Error> {
        let inner = &*self.inner;
        let deadline = Deadline::after(&inner.clock, opts.deadline.unwrap_or(inner.deadline));
        let key = match &opts.idempotency_key {
            Some(k) => validate_idempotency_key(k)?,
            None => new_idempotency_key(),
        };
        let request = self.check_request(query, key)?;
        let mut schedule = inner.retry_policy.schedule();
        let mut attempts = 0u32;
        let mut last_failure: Option<Kind> = None;
        let fail = |cause, attempts, last_failure| {
            Err(unavailable(cause, attempts, last_failure, &deadline))
        };
        inner.budget.record_request();
        loop {
            let permit = match inner.breaker.try_acquire() {
                Ok(p) => p,
                Err(rejected) => {
                    if rejected.state == BreakerState::Open && self.recovery_probe(&deadline) {
                        // The open wait ended early: this check may be a half-open probe.
                        continue;
                    }
                    let retry_in = rejected.time_until_half_open;
                    return fail(
                        UnavailableCause::BreakerOpen { retry_in },
                        attempts,
                        last_failure,
                    );
                }
            };
            if let Some(t) = &inner.throttle
                && attempts == 0
                && permit.state() == BreakerState::Closed
                && let Err(shed) = t.admit()
            {
                permit.record(CallOutcome::Ignored, Duration::ZERO);
                tracing::debug!(target: "andal::client", host = %inner.host, probability = shed.probability, "first attempt shed locally");
                return fail(UnavailableCause::LoadShed, attempts, last_failure);
            }
            let Some(timeout) = deadline.attempt_timeout(
                inner.attempt_timeout,
                andal_resilience::deadline::DEFAULT_MIN_USEFUL_ATTEMPT,
            ) else {
                permit.record(CallOutcome::Ignored, Duration::ZERO);
                return fail(UnavailableCause::DeadlineExceeded, attempts, last_failure);
            };
            attempts += 1;
            let started = inner.clock.now();
            let result = self.attempt(&request, timeout);
            let took = inner.clock.now().saturating_duration_since(started);
            let (failure, retry_after) = match result {
                AttemptResult::Answer(resp) => {
                    let admitted_in = permit.state();
                    permit.record(CallOutcome::Success, took);
                    if let Some(t) = &inner.throttle {
                        t.record(true);
                        if admitted_in == BreakerState::HalfOpen {
                            // Recovery is proven: shedding on pre-outage history would
                            // only delay the return to normal service.
                            t.reset();
                        }
                    }
                    return Ok(decision_from(query, resp, attempts, &deadline));
                }
                AttemptResult::Final(e) => {
                    // The registry answered; the request (or its credentials) was wrong.
                    permit.record(CallOutcome::Ignored, took);
                    if let Some(t) = &inner.throttle {
                        t.record(true);
                    }
                    return Err(e);
                }
                AttemptResult::Fail {
                    failure,
                    retry_after,
                } => (failure, retry_after),
            };
            inner.outage.record_attempt_failure(&failure.kind);
            if let Some(t) = &inner.throttle {
                t.record(false);
            }
            last_failure = Some(failure.kind);
            tracing::debug!(
                target: "andal::client",
                host = %inner.host,
                attempt = attempts,
                failure = %failure.kind.label(),
                "attempt failed"
            );
            let next = match schedule.next_retry(&failure.kind, retry_after, deadline.remaining()) {
                RetryDecision::Retry { after } => {
                    if inner.budget.try_withdraw() {
                        schedule.retry_sent(after, &failure.kind);
                        Ok(after)
                    } else {
                        schedule.budget_refused(&failure.kind);
                        Err(UnavailableCause::RetryBudgetExhausted(failure.kind))
                    }
                }
                RetryDecision::Stop(StopReason::DeadlineWouldPass) if deadline.is_expired() => {
                    Err(UnavailableCause::DeadlineExceeded)
                }
                RetryDecision::Stop(_) => Err(UnavailableCause::Upstream(failure.kind)),
            };
            let mut outcome = CallOutcome::from_failure(&failure.kind, inner.count_throttling);
            if next.is_ok() && permit.state() == BreakerState::Closed {
                // Per check, not per attempt: the retry's outcome decides.
                outcome = CallOutcome::Ignored;
            }
            permit.record(outcome, took);
            match next {
                Ok(after) => inner.clock.sleep(after),
                Err(cause) => return fail(cause, attempts, last_failure),
            }
        }
    }

    /// While the breaker is open, sends the recovery probe when one is due and the
    /// deadline leaves room for it. `true`: the registry answered healthy and the open
    /// wait ended early.
    fn recovery_probe(&self, deadline: &Deadline) -> bool {
        let inner = &*self.inner;
        let Some(timeout) = deadline.attempt_timeout(
            RECOVERY_PROBE_TIMEOUT,
            andal_resilience::deadline::DEFAULT_MIN_USEFUL_ATTEMPT,
        ) else {
            return false;
        };
        let Some(probe) = inner.breaker.try_start_recovery_probe() else {
            return false;
        };
        let request = HttpRequest {
            method: Method::Get,
            url: inner.health_url.clone(),
            headers: vec![("Accept".into(), "application/json".into())],
            body: Vec::new(),
        };
        let healthy = match inner.transport.send(&request, timeout, 4096) {
            Ok(resp) => {
                resp.status == 200
                    && serde_json::from_slice::<api::Health>(&resp.body)
                        .is_ok_and(|h| h.status == "ok")
            }
            Err(_) => false,
        };
        probe.finish(healthy);
        healthy
    }

    fn check_request(&self, query: &Query, key: String) -> Result<HttpRequest, Error> {
        let body = serde_json::to_vec(&CheckRequest::from_query(query))
            .map_err(|e| Error::Protocol(format!("cannot encode request: {e}")))?;
        Ok(HttpRequest {
            method: Method::Post,
            url: self.inner.checks_url.clone(),
            headers: vec![
                ("Authorization".into(), self.inner.auth_header.clone()),
                ("Content-Type".into(), "application/json".into()),
                ("Accept".into(), "application/json".into()),
                (api::IDEMPOTENCY_KEY_HEADER.into(), key),
                (api::PARTNER_ID_HEADER.into(), self.inner.partner_id.clone()),
            ],
            body,
        })
    }

    fn attempt(&self, request: &HttpRequest, timeout: Duration) -> AttemptResult {
        match self
            .inner
            .transport
            .send(request, timeout, self.inner.max_response_bytes)
        {
            Ok(resp) => interpret(resp, self.inner.clock.wall()),
            Err(failure) => AttemptResult::Fail {
                failure,
                retry_after: None,
            },
        }
    }
}

/// Turn an HTTP response into an answer, a retryable failure or a final error.
fn interpret(resp: HttpResponse, now_wall: std::time::SystemTime) -> AttemptResult {
    let status = resp.status;
    if status == 200 {
        if !is_json(&resp, "application/json") {
            return AttemptResult::Fail {
                failure: TransportError::new(FailureKind::Malformed, "200 without a JSON body"),
                retry_after: None,
            };
        }
        return match serde_json::from_slice::<CheckResponse>(&resp.body) {
            Ok(r) => AttemptResult::Answer(r),
            Err(e) => AttemptResult::Fail {
                failure: TransportError::new(
                    FailureKind::Malformed,
                    format!(
                        "undecodable check response at line {} column {}",
                        e.line(),
                        e.column()
                    ),
                ),
                retry_after: None,
            },
        };
    }
    let problem = if is_json(&resp, api::PROBLEM_CONTENT_TYPE) || is_json(&resp, "application/json")
    {
        serde_json::from_slice::<Problem>(&resp.body).ok()
    } else {
        None
    };
    let code = problem.as_ref().map_or(ProblemCode::Unknown, |p| p.code);
    let retry_after = resp
        .header("retry-after")
        .and_then(|v| andal_resilience::parse_retry_after(v, now_wall));
    match status {
        401 | 403 => AttemptResult::Final(Error::Auth { status, code }),
        408 | 429 | 500..=599 => AttemptResult::Fail {
            failure: TransportError::new(
                FailureKind::from_status(status).unwrap_or(FailureKind::HttpStatus(status)),
                format!("HTTP {status} {}", code.as_str()),
            ),
            retry_after,
        },
        400..=499 => AttemptResult::Final(Rejected { status, code }.into()),
        _ => AttemptResult::Fail {
            failure: TransportError::new(
                FailureKind::Protocol,
                format!("unexpected HTTP status {status}"),
            ),
            retry_after: None,
        },
    }
}

/// Fuzzing entry point (cargo feature `fuzzing`; not a stable API): runs the private
/// [`interpret`] on an arbitrary registry response, unchanged, and returns the outcome
/// (`"answer"`, `"retry"` or `"final"`) with its `Debug` text, so a fuzz target can check
/// invariants without seeing private types.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn fuzz_interpret(
    resp: HttpResponse,
    now_wall: std::time::SystemTime,
) -> (&'static str, String) {
    match interpret(resp, now_wall) {
        AttemptResult::Answer(r) => ("answer", format!("{r:?}")),
        AttemptResult::Fail {
            failure,
            retry_after,
        } => ("retry", format!("{failure:?} {failure} {retry_after:?}")),
        AttemptResult::Final(e) => ("final", format!("{e:?} {e}")),
    }
}

fn is_json(resp: &HttpResponse, expected: &str) -> bool {
    resp.header("content-type").is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case(expected))
    })
}

fn unavailable(
    cause: UnavailableCause,
    attempts: u32,
    last_failure: Option<Kind>,
    deadline: &Deadline,
) -> Error {
    Error::Unavailable(Unavailable {
        cause,
        attempts,
        last_failure,
        elapsed: deadline.elapsed(),
        fallback: None,
    })
}

fn decision_from(
    query: &Query,
    resp: CheckResponse,
    attempts: u32,
    deadline: &Deadline,
) -> Decision {
    Decision {
        verdict: resp.verdict,
        fields: resp.fields,
        provenance: Provenance::Online {
            request_id: resp.request_id,
            registry_time: resp.registry_time,
            attempts,
        },
        nik_masked: query.nik().masked(),
        attestation: resp.attestation,
        elapsed_ms: deadline.elapsed().as_millis() as u64,
    }
}

/// A fresh random idempotency key (128 bits, hex).
pub fn new_idempotency_key() -> String {
    let v: u128 = rand::random();
    format!("{v:032x}")
}

fn validate_idempotency_key(k: &str) -> Result<String, Error> {
    let ok = !k.is_empty()
        && k.len() <= api::MAX_IDEMPOTENCY_KEY_LEN
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok {
        Ok(k.to_owned())
    } else {
        Err(ConfigError::Invalid {
            name: "idempotency_key",
            reason: format!(
                "1-{} characters of A-Z a-z 0-9 - _ . :",
                api::MAX_IDEMPOTENCY_KEY_LEN
            ),
        }
        .into())
    }
}
