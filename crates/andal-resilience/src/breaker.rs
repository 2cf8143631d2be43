//! A circuit breaker with resilience4j semantics, tuned for a registry that fails for
//! minutes to hours.
//!
//! * **Closed**: calls go through; outcomes fill a sliding window (count-based: the last
//!   N calls; time-based: the last N seconds, bucketed per second). Once the window holds
//!   at least `minimum_number_of_calls`, the breaker opens when the failure rate or the
//!   slow-call rate reaches its threshold (inclusive).
//! * **Open**: calls are rejected at once (no socket, no fee, no load) for
//!   `wait_duration_in_open`, which grows after each failed half-open probe round.
//!   The first [`CircuitBreaker::try_acquire`] at or after the wait moves to half-open.
//!   While open, [`CircuitBreaker::try_start_recovery_probe`] hands out at most one
//!   lightweight recovery probe per `recovery_probe_interval` (jittered); a healthy probe
//!   ends the open wait early, so recovery after an hours-long outage is seen within about
//!   a second instead of at the end of a grown open wait.
//! * **HalfOpen**: exactly `permitted_calls_in_half_open` probes are admitted, even under
//!   a concurrent burst. Once `min(minimum_number_of_calls, permitted_calls_in_half_open)`
//!   have reported (resilience4j), the breaker closes (rates below the thresholds) or
//!   opens again. With `max_wait_in_half_open > 0` it re-opens if the probes have not
//!   reported by then.
//!
//! Differences from resilience4j, on purpose: state changes driven by time (open wait
//! over, half-open wait over) are evaluated lazily at the next call, health snapshot or
//! probe rather than by a timer thread; their effect is back-dated (a half-open wait that
//! expired at `t` starts the new open wait at `t`, not at the call that noticed it), so
//! the timeline is the same, only the `StateTransition` event comes later.
//! * **ForcedOpen** / **Disabled**: manual overrides, left only by [`CircuitBreaker::reset`]
//!   (or the other override).
//!
//! The state lives behind one `parking_lot` mutex; the happy path (closed, count window)
//! takes it twice, reads no clock and allocates nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::clock::SharedClock;
use crate::error::{ConfigError, invalid};
use crate::events::{EventListener, Listeners, ResilienceEvent, emit};
use crate::failure::FailureKind;

/// The state of a [`CircuitBreaker`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls flow; outcomes are measured.
    Closed,
    /// Calls are rejected until the open wait has elapsed.
    Open,
    /// A limited number of probe calls are admitted.
    HalfOpen,
    /// Manually opened: every call is rejected until [`CircuitBreaker::reset`].
    ForcedOpen,
    /// Manually disabled: every call is admitted, nothing is measured.
    Disabled,
}

/// The kind of sliding window of the closed state.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlidingWindow {
    /// The last N recorded calls.
    Count(u32),
    /// The calls of the last N seconds, in one-second buckets.
    Time(u32),
}

/// How a call ended, from the breaker's point of view. The caller classifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// The registry answered (whatever its verdict).
    Success,
    /// The registry failed (transport failure, 5xx, ...).
    Failure,
    /// Does not count (4xx caused by the request, a cancelled call, ...).
    Ignored,
}

impl CallOutcome {
    /// The default classification of a failed attempt:
    /// transport failures and 5xx are `Failure` (the registry is unreachable or sick);
    /// 4xx are `Ignored` (the request was wrong, the registry is fine); 429 / `Throttled`
    /// is `Failure` only with `count_throttling` (throttling means the registry is
    /// overloaded, but a partner that exceeds its own quota should not open the breaker
    /// for everyone); a spent total deadline is `Ignored` (it is the caller's budget,
    /// the slow-call rate already measures a slow registry); 408 counts as `Failure`.
    pub fn from_failure(failure: &FailureKind, count_throttling: bool) -> Self {
        match failure {
            FailureKind::Throttled | FailureKind::HttpStatus(429) => {
                if count_throttling {
                    Self::Failure
                } else {
                    Self::Ignored
                }
            }
            FailureKind::HttpStatus(408) => Self::Failure,
            FailureKind::HttpStatus(s) if *s >= 500 => Self::Failure,
            FailureKind::HttpStatus(_) => Self::Ignored,
            FailureKind::DeadlineExceeded => Self::Ignored,
            _ => Self::Failure,
        }
    }
}

/// Configuration of a [`CircuitBreaker`]; build it with [`BreakerConfig::builder`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakerConfig {
    /// Default `Count(50)`: the breaker is for hard failure, and the Andal client feeds it
    /// one outcome per *check* (failures a retry then answered do not count), so 50
    /// checks judge a registry, not a few unlucky calls. Partial failure is handled
    /// gradually by the [`AdaptiveThrottle`](crate::AdaptiveThrottle), not here.
    pub sliding_window: SlidingWindow,
    /// Default 20: never judge on fewer calls (one failure out of one is not 100% down;
    /// with 10, random noise on a 30 %-degraded registry opened it).
    pub minimum_number_of_calls: u32,
    /// Percent, default 80: open only when most checks go unanswered even after their
    /// retries, i.e. the registry is down for practical purposes.
    pub failure_rate_threshold: f32,
    /// Default 1.9 s: 95 % of the default 2 s attempt timeout ([`SLOW_CALL_SHARE`];
    /// [`BreakerConfig::for_attempt_timeout`] follows another timeout). It must be below
    /// the attempt timeout (which caps every measured call), or the slow-call rate can
    /// never trip; the client refuses a configuration where it is not. A call this slow
    /// nearly timed out; a registry answering in 1.8 s is slow but useful, and a lower
    /// threshold (1.5 s was tried) opened the breaker on it and refused 93 % of checks.
    pub slow_call_duration_threshold: Duration,
    /// Percent, default 100: only a registry where *every* recent check nearly timed
    /// out is treated as failing (one more notch of load and every check times out).
    /// Slow but answering is otherwise better than refused.
    pub slow_call_rate_threshold: f32,
    /// Default 15 s: registry outages last minutes to hours; probing every 15 s notices
    /// recovery quickly while costing one or two calls per probe.
    pub wait_duration_in_open: Duration,
    /// Default 2.0: each failed probe round doubles the open wait (15 s, 30 s, 1 min ...),
    /// so an hours-long outage is probed a few times an hour, not 240 times. 1.0 = fixed.
    pub open_wait_multiplier: f64,
    /// Default 5 min: the longest open wait, so recovery is still noticed within minutes.
    pub max_wait_duration_in_open: Duration,
    /// Default 2: two probes tell "back" from "one lucky call" while a stampede of callers
    /// waiting on the recovery still sees only two calls go out.
    pub permitted_calls_in_half_open: u32,
    /// Default 30 s (0 = wait for all probes): a probe that hangs must not keep the
    /// breaker half-open (rejecting everyone else) forever.
    pub max_wait_in_half_open: Duration,
    /// Default 1 s (`None`: off): while open, at most one recovery probe (a cheap
    /// `GET /v1/health`, never charged) per interval, jittered up to +25 %. A healthy
    /// answer ends the open wait early; the half-open probes still decide whether to
    /// close.
    #[serde(default = "default_recovery_probe_interval")]
    pub recovery_probe_interval: Option<Duration>,
}

fn default_recovery_probe_interval() -> Option<Duration> {
    Some(Duration::from_secs(1))
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            sliding_window: SlidingWindow::Count(50),
            minimum_number_of_calls: 20,
            failure_rate_threshold: 80.0,
            slow_call_duration_threshold: Duration::from_millis(1900),
            slow_call_rate_threshold: 100.0,
            wait_duration_in_open: Duration::from_secs(15),
            open_wait_multiplier: 2.0,
            max_wait_duration_in_open: Duration::from_secs(300),
            permitted_calls_in_half_open: 2,
            max_wait_in_half_open: Duration::from_secs(30),
            recovery_probe_interval: default_recovery_probe_interval(),
        }
    }
}

/// Share of the attempt timeout above which a call counts as slow by default.
pub const SLOW_CALL_SHARE: f64 = 0.95;

impl BreakerConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> BreakerConfigBuilder {
        BreakerConfigBuilder(Self::default())
    }

    /// The defaults for a client whose attempts are capped at `attempt_timeout`: the
    /// slow-call threshold is [`SLOW_CALL_SHARE`] of it (always below it).
    pub fn for_attempt_timeout(attempt_timeout: Duration) -> Self {
        Self {
            slow_call_duration_threshold: attempt_timeout.mul_f64(SLOW_CALL_SHARE),
            ..Self::default()
        }
    }

    /// A builder starting from [`for_attempt_timeout`](Self::for_attempt_timeout).
    pub fn builder_for_attempt_timeout(attempt_timeout: Duration) -> BreakerConfigBuilder {
        BreakerConfigBuilder(Self::for_attempt_timeout(attempt_timeout))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        match self.sliding_window {
            SlidingWindow::Count(0) | SlidingWindow::Time(0) => {
                return Err(invalid("sliding_window", "size must be positive"));
            }
            SlidingWindow::Count(n) | SlidingWindow::Time(n) if n > 100_000 => {
                return Err(invalid("sliding_window", "size must be at most 100000"));
            }
            _ => {}
        }
        if self.minimum_number_of_calls == 0 {
            return Err(invalid("minimum_number_of_calls", "must be positive"));
        }
        let pct = |v: f32| v > 0.0 && v <= 100.0;
        if !pct(self.failure_rate_threshold) {
            return Err(invalid("failure_rate_threshold", "must be within (0, 100]"));
        }
        if !pct(self.slow_call_rate_threshold) {
            return Err(invalid(
                "slow_call_rate_threshold",
                "must be within (0, 100]",
            ));
        }
        if self.open_wait_multiplier.is_nan() || self.open_wait_multiplier < 1.0 {
            return Err(invalid("open_wait_multiplier", "must be at least 1.0"));
        }
        if self.max_wait_duration_in_open < self.wait_duration_in_open {
            return Err(invalid(
                "max_wait_duration_in_open",
                "must be at least wait_duration_in_open",
            ));
        }
        if self.permitted_calls_in_half_open == 0 {
            return Err(invalid("permitted_calls_in_half_open", "must be positive"));
        }
        if self
            .recovery_probe_interval
            .is_some_and(|d| d < Duration::from_millis(100))
        {
            return Err(invalid(
                "recovery_probe_interval",
                "must be at least 100 ms (or None to disable probes)",
            ));
        }
        Ok(())
    }

    /// The open wait after `failed_probes` consecutive failed half-open rounds.
    pub fn open_wait(&self, failed_probes: u32) -> Duration {
        let grown = self.wait_duration_in_open.as_secs_f64()
            * self
                .open_wait_multiplier
                .powi(failed_probes.min(1024) as i32);
        let max = self.max_wait_duration_in_open;
        if !grown.is_finite() || grown >= max.as_secs_f64() {
            max
        } else {
            Duration::from_secs_f64(grown).clamp(self.wait_duration_in_open, max)
        }
    }
}

/// Builder of [`BreakerConfig`].
#[derive(Debug, Clone)]
pub struct BreakerConfigBuilder(BreakerConfig);

impl BreakerConfigBuilder {
    /// Count-based window of the last `n` calls.
    pub fn count_window(mut self, n: u32) -> Self {
        self.0.sliding_window = SlidingWindow::Count(n);
        self
    }
    /// Time-based window of the last `secs` seconds.
    pub fn time_window(mut self, secs: u32) -> Self {
        self.0.sliding_window = SlidingWindow::Time(secs);
        self
    }
    /// Minimum calls in the window before rates are evaluated.
    pub fn minimum_number_of_calls(mut self, n: u32) -> Self {
        self.0.minimum_number_of_calls = n;
        self
    }
    /// Failure rate (percent) at or above which the breaker opens.
    pub fn failure_rate_threshold(mut self, pct: f32) -> Self {
        self.0.failure_rate_threshold = pct;
        self
    }
    /// Duration above which a call is slow (strictly longer, as in resilience4j).
    pub fn slow_call_duration_threshold(mut self, d: Duration) -> Self {
        self.0.slow_call_duration_threshold = d;
        self
    }
    /// Slow-call rate (percent) at or above which the breaker opens.
    pub fn slow_call_rate_threshold(mut self, pct: f32) -> Self {
        self.0.slow_call_rate_threshold = pct;
        self
    }
    /// Base wait in the open state.
    pub fn wait_duration_in_open(mut self, d: Duration) -> Self {
        self.0.wait_duration_in_open = d;
        if self.0.max_wait_duration_in_open < d {
            self.0.max_wait_duration_in_open = d;
        }
        self
    }
    /// Growth of the open wait after each failed half-open round, capped at `max`.
    pub fn open_wait_growth(mut self, multiplier: f64, max: Duration) -> Self {
        self.0.open_wait_multiplier = multiplier;
        self.0.max_wait_duration_in_open = max;
        self
    }
    /// A fixed open wait (no growth).
    pub fn fixed_open_wait(mut self) -> Self {
        self.0.open_wait_multiplier = 1.0;
        self.0.max_wait_duration_in_open = self.0.wait_duration_in_open;
        self
    }
    /// Probes admitted in half-open.
    pub fn permitted_calls_in_half_open(mut self, n: u32) -> Self {
        self.0.permitted_calls_in_half_open = n;
        self
    }
    /// Longest stay in half-open (zero = until all probes reported).
    pub fn max_wait_in_half_open(mut self, d: Duration) -> Self {
        self.0.max_wait_in_half_open = d;
        self
    }
    /// Interval between recovery probes while open (`None` disables them).
    pub fn recovery_probe_interval(mut self, d: Option<Duration>) -> Self {
        self.0.recovery_probe_interval = d;
        self
    }
    /// Validates and builds.
    pub fn build(self) -> Result<BreakerConfig, ConfigError> {
        self.0.validate()?;
        Ok(self.0)
    }
}

/// A call refused by the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker {state:?}: call not permitted")]
pub struct Rejected {
    /// The state that refused the call (`Open`, `HalfOpen` with all probes out, or
    /// `ForcedOpen`).
    pub state: BreakerState,
    /// Time until the breaker admits a probe, when known (`Open` only).
    pub time_until_half_open: Option<Duration>,
}

/// A snapshot of a breaker, for the outage record and status endpoints.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakerHealth {
    /// Current state (an elapsed open wait shows as `Open` until the next acquire).
    pub state: BreakerState,
    /// Failure rate in percent; `None` below the minimum number of calls.
    pub failure_rate: Option<f32>,
    /// Slow-call rate in percent; `None` below the minimum number of calls.
    pub slow_call_rate: Option<f32>,
    /// Calls counted in the window (in half-open: probes reported).
    pub calls: u32,
    /// Failed calls among them.
    pub failed: u32,
    /// Slow calls among them.
    pub slow: u32,
    /// Calls rejected since creation or the last [`CircuitBreaker::reset`].
    pub not_permitted: u64,
    /// Time until a probe is admitted (`Open` only).
    pub time_until_half_open: Option<Duration>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Totals {
    calls: u32,
    failed: u32,
    slow: u32,
}

impl Totals {
    #[inline]
    fn add(&mut self, bits: u8) {
        self.calls += 1;
        self.failed += u32::from(bits & FAILED);
        self.slow += u32::from((bits & SLOW) >> 1);
    }
    #[inline]
    fn sub(&mut self, bits: u8) {
        self.calls -= 1;
        self.failed -= u32::from(bits & FAILED);
        self.slow -= u32::from((bits & SLOW) >> 1);
    }
    fn sub_totals(&mut self, o: Totals) {
        self.calls -= o.calls;
        self.failed -= o.failed;
        self.slow -= o.slow;
    }
}

const FAILED: u8 = 1;
const SLOW: u8 = 2;
const PRESENT: u8 = 4;

#[derive(Debug)]
enum Window {
    Count { ring: Box<[u8]>, next: usize },
    Time { buckets: Box<[Totals]>, head: u64 },
}

impl Window {
    fn new(kind: SlidingWindow) -> Self {
        match kind {
            SlidingWindow::Count(n) => Window::Count {
                ring: vec![0; n as usize].into_boxed_slice(),
                next: 0,
            },
            SlidingWindow::Time(n) => Window::Time {
                buckets: vec![Totals::default(); n as usize].into_boxed_slice(),
                head: 0,
            },
        }
    }

    fn clear(&mut self) {
        match self {
            Window::Count { ring, next } => {
                ring.fill(0);
                *next = 0;
            }
            Window::Time { buckets, .. } => buckets.fill(Totals::default()),
        }
    }

    /// Drops buckets older than the window (time-based only). `sec` = seconds since start.
    fn rotate(&mut self, totals: &mut Totals, sec: u64) {
        if let Window::Time { buckets, head } = self
            && sec > *head
        {
            let n = buckets.len() as u64;
            let to = sec.min(*head + n);
            for s in (*head + 1)..=to {
                let b = &mut buckets[(s % n) as usize];
                totals.sub_totals(*b);
                *b = Totals::default();
            }
            *head = sec;
        }
    }

    #[inline]
    fn push(&mut self, totals: &mut Totals, bits: u8) {
        match self {
            Window::Count { ring, next } => {
                let old = ring[*next];
                if old & PRESENT != 0 {
                    totals.sub(old);
                }
                ring[*next] = bits | PRESENT;
                *next += 1;
                if *next == ring.len() {
                    *next = 0;
                }
            }
            Window::Time { buckets, head } => {
                let n = buckets.len() as u64;
                buckets[(*head % n) as usize].add(bits);
            }
        }
        totals.add(bits);
    }
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    generation: u64,
    window: Window,
    totals: Totals,
    open_until: Instant,
    failed_probes: u32,
    half_open_since: Instant,
    half_admitted: u32,
    half: Totals,
    not_permitted: u64,
    /// Earliest time of the next recovery probe (while open).
    next_probe_at: Instant,
    probe_in_flight: bool,
    /// SplitMix64 state for the probe jitter (seeded from the name: deterministic).
    probe_rng: u64,
}

/// What to emit once the lock is released.
#[derive(Default)]
struct Pending {
    transition: Option<(BreakerState, BreakerState)>,
    rejected: Option<Rejected>,
}

/// A circuit breaker for one upstream. `Send + Sync`; share it as `Arc<CircuitBreaker>`.
pub struct CircuitBreaker {
    name: Arc<str>,
    config: BreakerConfig,
    clock: SharedClock,
    start: Instant,
    min_calls: u32,
    inner: Mutex<Inner>,
    listeners: Listeners,
}

impl std::fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("state", &self.state())
            .finish()
    }
}

/// Permission to make one call, from [`CircuitBreaker::try_acquire`].
///
/// Report the outcome with [`Permit::record`]. Dropping it without recording counts as
/// [`CallOutcome::Ignored`] (and frees its half-open slot for another probe).
#[must_use = "record the call's outcome with Permit::record"]
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    generation: u64,
    state: BreakerState,
    done: bool,
}

impl Permit<'_> {
    /// The state in which the call was admitted.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Reports how the call ended and how long it took (for the slow-call rate).
    #[inline]
    pub fn record(mut self, outcome: CallOutcome, duration: Duration) {
        self.done = true;
        self.breaker
            .on_result(self.generation, self.state, outcome, duration);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.on_result(
                self.generation,
                self.state,
                CallOutcome::Ignored,
                Duration::ZERO,
            );
        }
    }
}

/// A recovery probe handed out by [`CircuitBreaker::try_start_recovery_probe`].
///
/// Dropping it without [`finish`](Self::finish) counts as an unhealthy answer.
#[must_use = "report the probe's result with RecoveryProbe::finish"]
#[derive(Debug)]
pub struct RecoveryProbe<'a> {
    breaker: &'a CircuitBreaker,
    generation: u64,
    done: bool,
}

impl RecoveryProbe<'_> {
    /// Reports the probe: `healthy` ends the open wait early (the breaker goes
    /// half-open and its probes decide whether to close).
    pub fn finish(mut self, healthy: bool) {
        self.done = true;
        self.breaker.on_probe(self.generation, healthy);
    }
}

impl Drop for RecoveryProbe<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.on_probe(self.generation, false);
        }
    }
}

/// A [`Permit`] that owns a handle to its breaker ([`CircuitBreaker::try_acquire_owned`]),
/// for state machines that outlive a borrow (the async check engine). Same contract:
/// dropping it without [`record`](Self::record) counts as [`CallOutcome::Ignored`] and
/// frees its half-open slot, which is what a cancelled async check relies on.
#[must_use = "record the call's outcome with OwnedPermit::record"]
#[derive(Debug)]
pub struct OwnedPermit {
    breaker: Arc<CircuitBreaker>,
    generation: u64,
    state: BreakerState,
    done: bool,
}

impl OwnedPermit {
    /// The state in which the call was admitted.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Reports how the call ended and how long it took (for the slow-call rate).
    pub fn record(mut self, outcome: CallOutcome, duration: Duration) {
        self.done = true;
        self.breaker
            .on_result(self.generation, self.state, outcome, duration);
    }
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.on_result(
                self.generation,
                self.state,
                CallOutcome::Ignored,
                Duration::ZERO,
            );
        }
    }
}

/// A [`RecoveryProbe`] that owns a handle to its breaker
/// ([`CircuitBreaker::try_start_recovery_probe_owned`]). Dropping it without
/// [`finish`](Self::finish) counts as an unhealthy answer and frees the probe slot.
#[must_use = "report the probe's result with OwnedRecoveryProbe::finish"]
#[derive(Debug)]
pub struct OwnedRecoveryProbe {
    breaker: Arc<CircuitBreaker>,
    generation: u64,
    done: bool,
}

impl OwnedRecoveryProbe {
    /// Reports the probe (see [`RecoveryProbe::finish`]).
    pub fn finish(mut self, healthy: bool) {
        self.done = true;
        self.breaker.on_probe(self.generation, healthy);
    }
}

impl Drop for OwnedRecoveryProbe {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.on_probe(self.generation, false);
        }
    }
}

impl CircuitBreaker {
    /// A closed breaker named `name` (the upstream host; it appears in events).
    pub fn new(name: impl Into<Arc<str>>, config: BreakerConfig, clock: &SharedClock) -> Self {
        let now = clock.now();
        let name: Arc<str> = name.into();
        // FNV-1a of the name: probe jitter differs per host, yet every run is the same.
        let probe_rng = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let min_calls = match config.sliding_window {
            // resilience4j: a minimum above the window size is the window size.
            SlidingWindow::Count(n) => config.minimum_number_of_calls.min(n),
            SlidingWindow::Time(_) => config.minimum_number_of_calls,
        };
        Self {
            name,
            min_calls,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                generation: 0,
                window: Window::new(config.sliding_window),
                totals: Totals::default(),
                open_until: now,
                failed_probes: 0,
                half_open_since: now,
                half_admitted: 0,
                half: Totals::default(),
                not_permitted: 0,
                next_probe_at: now,
                probe_in_flight: false,
                probe_rng,
            }),
            config,
            start: now,
            clock: SharedClock::clone(clock),
            listeners: Vec::new(),
        }
    }

    /// Adds a listener (state transitions, rejections).
    pub fn with_listener(mut self, l: Arc<dyn EventListener>) -> Self {
        self.listeners.push(l);
        self
    }

    fn with_listeners(mut self, ls: &[Arc<dyn EventListener>]) -> Self {
        self.listeners.extend(ls.iter().cloned());
        self
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The configuration.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        self.inner.lock().state
    }

    /// Asks to make one call. `Err` means: do not call, answer without the registry.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        let g = self.inner.lock();
        match g.state {
            BreakerState::Closed | BreakerState::Disabled => {
                let (generation, state) = (g.generation, g.state);
                drop(g);
                Ok(Permit {
                    breaker: self,
                    generation,
                    state,
                    done: false,
                })
            }
            _ => self.acquire_slow(g),
        }
    }

    /// [`try_acquire`](Self::try_acquire) for a caller holding the breaker in an `Arc`:
    /// the permit owns a handle instead of borrowing.
    pub fn try_acquire_owned(self: &Arc<Self>) -> Result<OwnedPermit, Rejected> {
        let mut p = self.try_acquire()?;
        // The owned permit takes over the recording duty.
        p.done = true;
        Ok(OwnedPermit {
            breaker: Arc::clone(self),
            generation: p.generation,
            state: p.state,
            done: false,
        })
    }

    /// [`try_start_recovery_probe`](Self::try_start_recovery_probe) with an owned handle.
    pub fn try_start_recovery_probe_owned(self: &Arc<Self>) -> Option<OwnedRecoveryProbe> {
        let mut p = self.try_start_recovery_probe()?;
        p.done = true;
        Some(OwnedRecoveryProbe {
            breaker: Arc::clone(self),
            generation: p.generation,
            done: false,
        })
    }

    #[cold]
    fn acquire_slow(
        &self,
        mut g: parking_lot::MutexGuard<'_, Inner>,
    ) -> Result<Permit<'_>, Rejected> {
        let mut pending = Pending::default();
        let now = self.clock.now();
        let result = loop {
            match g.state {
                BreakerState::Open if now >= g.open_until => {
                    pending.transition = Some(self.transition(&mut g, BreakerState::HalfOpen, now));
                }
                BreakerState::HalfOpen if self.half_open_expired(&g, now) => {
                    g.failed_probes = g.failed_probes.saturating_add(1);
                    let at = g.half_open_since + self.config.max_wait_in_half_open;
                    pending.transition = Some(self.transition(&mut g, BreakerState::Open, at));
                }
                BreakerState::HalfOpen
                    if g.half_admitted < self.config.permitted_calls_in_half_open =>
                {
                    g.half_admitted += 1;
                    break Ok((g.generation, BreakerState::HalfOpen));
                }
                BreakerState::Closed | BreakerState::Disabled => {
                    break Ok((g.generation, g.state));
                }
                state => {
                    g.not_permitted += 1;
                    let r = Rejected {
                        state,
                        time_until_half_open: (state == BreakerState::Open)
                            .then(|| g.open_until.saturating_duration_since(now)),
                    };
                    pending.rejected = Some(r);
                    break Err(r);
                }
            }
        };
        drop(g);
        self.emit(pending);
        result.map(|(generation, state)| Permit {
            breaker: self,
            generation,
            state,
            done: false,
        })
    }

    fn half_open_expired(&self, g: &Inner, now: Instant) -> bool {
        !self.config.max_wait_in_half_open.is_zero()
            && now.saturating_duration_since(g.half_open_since) >= self.config.max_wait_in_half_open
    }

    fn emit(&self, p: Pending) {
        if let Some((from, to)) = p.transition {
            emit(
                &self.listeners,
                &ResilienceEvent::StateTransition {
                    breaker: self.name.clone(),
                    from,
                    to,
                },
            );
        }
        if let Some(r) = p.rejected {
            emit(
                &self.listeners,
                &ResilienceEvent::CallRejected {
                    breaker: self.name.clone(),
                    state: r.state,
                    retry_after: r.time_until_half_open,
                },
            );
        }
    }

    /// Moves to `to`; the caller adjusts `failed_probes` before opening.
    fn transition(
        &self,
        g: &mut Inner,
        to: BreakerState,
        now: Instant,
    ) -> (BreakerState, BreakerState) {
        let from = g.state;
        g.state = to;
        g.generation = g.generation.wrapping_add(1);
        match to {
            BreakerState::Closed => {
                g.window.clear();
                g.totals = Totals::default();
                g.failed_probes = 0;
                if let Window::Time { head, .. } = &mut g.window {
                    *head = self.sec(now);
                }
            }
            BreakerState::Open => {
                g.open_until = now + self.config.open_wait(g.failed_probes);
                if let Some(every) = self.config.recovery_probe_interval {
                    g.next_probe_at = now + Self::jittered(&mut g.probe_rng, every);
                }
            }
            BreakerState::HalfOpen => {
                g.half_open_since = now;
                g.half_admitted = 0;
                g.half = Totals::default();
            }
            BreakerState::ForcedOpen | BreakerState::Disabled => {}
        }
        (from, to)
    }

    /// `every` plus up to 25 % (SplitMix64 draw): probes of many clients spread out, and
    /// never come more often than once per `every`.
    fn jittered(state: &mut u64, every: Duration) -> Duration {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let u = (z >> 11) as f64 / (1u64 << 53) as f64;
        every.mul_f64(1.0 + 0.25 * u)
    }

    #[inline]
    fn sec(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.start).as_secs()
    }

    fn rate(part: u32, calls: u32) -> f32 {
        (f64::from(part) * 100.0 / f64::from(calls)) as f32
    }

    /// Whether `t` trips the thresholds (inclusive), compared without rounding.
    fn trips(&self, t: &Totals) -> bool {
        let calls = f64::from(t.calls);
        f64::from(t.failed) * 100.0 >= f64::from(self.config.failure_rate_threshold) * calls
            || f64::from(t.slow) * 100.0 >= f64::from(self.config.slow_call_rate_threshold) * calls
    }

    #[inline]
    fn on_result(
        &self,
        generation: u64,
        admitted_in: BreakerState,
        outcome: CallOutcome,
        duration: Duration,
    ) {
        if admitted_in == BreakerState::Disabled
            || (outcome == CallOutcome::Ignored && admitted_in != BreakerState::HalfOpen)
        {
            return;
        }
        let bits = u8::from(outcome == CallOutcome::Failure)
            | if duration > self.config.slow_call_duration_threshold {
                SLOW
            } else {
                0
            };
        let mut g = self.inner.lock();
        if g.generation != generation {
            return; // admitted in a previous state: stale, does not count
        }
        let mut pending = Pending::default();
        match admitted_in {
            BreakerState::Closed => {
                let Inner { window, totals, .. } = &mut *g;
                if let Window::Time { .. } = window {
                    let now = self.clock.now();
                    window.rotate(totals, self.sec(now));
                }
                window.push(totals, bits);
                if totals.calls >= self.min_calls && self.trips(totals) {
                    g.failed_probes = 0;
                    let now = self.clock.now();
                    pending.transition = Some(self.transition(&mut g, BreakerState::Open, now));
                }
            }
            BreakerState::HalfOpen => {
                let now = self.clock.now();
                if self.half_open_expired(&g, now) {
                    g.failed_probes = g.failed_probes.saturating_add(1);
                    let at = g.half_open_since + self.config.max_wait_in_half_open;
                    pending.transition = Some(self.transition(&mut g, BreakerState::Open, at));
                } else if outcome == CallOutcome::Ignored {
                    g.half_admitted -= 1;
                } else {
                    g.half.add(bits);
                    // resilience4j: the half-open window is `permitted` calls and its
                    // minimum is min(minimum_number_of_calls, permitted).
                    let decide_at = self
                        .config
                        .permitted_calls_in_half_open
                        .min(self.config.minimum_number_of_calls);
                    if g.half.calls >= decide_at {
                        let to = if self.trips(&g.half) {
                            g.failed_probes = g.failed_probes.saturating_add(1);
                            BreakerState::Open
                        } else {
                            BreakerState::Closed
                        };
                        pending.transition = Some(self.transition(&mut g, to, now));
                    }
                }
            }
            _ => {}
        }
        drop(g);
        self.emit(pending);
    }

    fn set_state(&self, to: BreakerState) {
        let mut g = self.inner.lock();
        if g.state == to && to != BreakerState::Closed {
            return;
        }
        let now = self.clock.now();
        let t = self.transition(&mut g, to, now);
        drop(g);
        if t.0 != t.1 {
            self.emit(Pending {
                transition: Some(t),
                rejected: None,
            });
        }
    }

    /// While open, hands out a recovery probe when one is due: at most one in flight and
    /// at most one per `recovery_probe_interval` (jittered). `None` when not open, when
    /// probes are off, when one is in flight or not yet due, or when the open wait is over
    /// anyway (the next call goes half-open). Send a cheap health request and report it
    /// with [`RecoveryProbe::finish`].
    pub fn try_start_recovery_probe(&self) -> Option<RecoveryProbe<'_>> {
        let every = self.config.recovery_probe_interval?;
        let now = self.clock.now();
        let mut g = self.inner.lock();
        if g.state != BreakerState::Open
            || g.probe_in_flight
            || now < g.next_probe_at
            || now >= g.open_until
        {
            return None;
        }
        g.probe_in_flight = true;
        g.next_probe_at = now + Self::jittered(&mut g.probe_rng, every);
        Some(RecoveryProbe {
            breaker: self,
            generation: g.generation,
            done: false,
        })
    }

    fn on_probe(&self, generation: u64, healthy: bool) {
        let mut g = self.inner.lock();
        g.probe_in_flight = false;
        let mut pending = Pending::default();
        if healthy && g.generation == generation && g.state == BreakerState::Open {
            let now = self.clock.now();
            pending.transition = Some(self.transition(&mut g, BreakerState::HalfOpen, now));
        }
        drop(g);
        emit(
            &self.listeners,
            &ResilienceEvent::RecoveryProbe {
                breaker: self.name.clone(),
                healthy,
            },
        );
        self.emit(pending);
    }

    /// Rejects every call until [`reset`](Self::reset) or [`disable`](Self::disable)
    /// (e.g. the registry announced maintenance).
    pub fn force_open(&self) {
        self.set_state(BreakerState::ForcedOpen);
    }

    /// Admits every call and measures nothing, until [`reset`](Self::reset) or
    /// [`force_open`](Self::force_open).
    pub fn disable(&self) {
        self.set_state(BreakerState::Disabled);
    }

    /// Back to a fresh closed state: empty window, base open wait, zero rejections.
    pub fn reset(&self) {
        {
            let mut g = self.inner.lock();
            g.not_permitted = 0;
        }
        self.set_state(BreakerState::Closed);
    }

    /// A snapshot of the state and the window.
    pub fn health(&self) -> BreakerHealth {
        let now = self.clock.now();
        let mut g = self.inner.lock();
        let (t, min) = if g.state == BreakerState::HalfOpen {
            (g.half, self.config.permitted_calls_in_half_open)
        } else {
            let sec = self.sec(now);
            let Inner { window, totals, .. } = &mut *g;
            window.rotate(totals, sec);
            (*totals, self.min_calls)
        };
        let judged = t.calls >= min && t.calls > 0;
        BreakerHealth {
            state: g.state,
            failure_rate: judged.then(|| Self::rate(t.failed, t.calls)),
            slow_call_rate: judged.then(|| Self::rate(t.slow, t.calls)),
            calls: t.calls,
            failed: t.failed,
            slow: t.slow,
            not_permitted: g.not_permitted,
            time_until_half_open: (g.state == BreakerState::Open)
                .then(|| g.open_until.saturating_duration_since(now)),
        }
    }
}

/// One [`CircuitBreaker`] per upstream host, all sharing one configuration, clock and
/// listeners.
pub struct BreakerRegistry {
    config: BreakerConfig,
    clock: SharedClock,
    listeners: Listeners,
    breakers: RwLock<HashMap<String, Arc<CircuitBreaker>>>,
}

impl std::fmt::Debug for BreakerRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreakerRegistry")
            .field("config", &self.config)
            .field("hosts", &self.breakers.read().keys().collect::<Vec<_>>())
            .finish()
    }
}

impl BreakerRegistry {
    /// An empty registry.
    pub fn new(config: BreakerConfig, clock: &SharedClock) -> Self {
        Self {
            config,
            clock: SharedClock::clone(clock),
            listeners: Vec::new(),
            breakers: RwLock::new(HashMap::new()),
        }
    }

    /// Adds a listener given to every breaker created afterwards.
    pub fn with_listener(mut self, l: Arc<dyn EventListener>) -> Self {
        self.listeners.push(l);
        self
    }

    /// The breaker of `host`, created on first use.
    pub fn get(&self, host: &str) -> Arc<CircuitBreaker> {
        if let Some(b) = self.breakers.read().get(host) {
            return Arc::clone(b);
        }
        let mut w = self.breakers.write();
        Arc::clone(w.entry(host.to_owned()).or_insert_with(|| {
            Arc::new(
                CircuitBreaker::new(host, self.config.clone(), &self.clock)
                    .with_listeners(&self.listeners),
            )
        }))
    }

    /// The health of every breaker, sorted by host.
    pub fn health(&self) -> Vec<(String, BreakerHealth)> {
        let breakers: Vec<_> = self
            .breakers
            .read()
            .iter()
            .map(|(h, b)| (h.clone(), Arc::clone(b)))
            .collect();
        let mut out: Vec<_> = breakers.into_iter().map(|(h, b)| (h, b.health())).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}
