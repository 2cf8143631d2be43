//! Client-side adaptive throttling ("Handling Overload", Google SRE book, ch. 21).
//!
//! The breaker is binary: closed or open. A registry that fails 30 % of its calls is not
//! down; the people at the counter should still be served, and the registry should see a
//! load that shrinks smoothly as it gets sicker. The throttle keeps, over a trailing
//! window, the number of `requests` sent to the registry and the number it `accepts`
//! (answered), and rejects a new first attempt locally with probability
//!
//! ```text
//! p = max(0, (requests − K × accepts) / (requests + 1))
//! ```
//!
//! One change from the book: requests shed locally are *not* counted. The book counts
//! them because its backends fail from overload, so shedding raises their success rate
//! and `p` settles. A registry outage is mostly not caused by our load: with a fixed
//! success rate `a`, counting shed requests drives `p` to its cap as soon as `a < 1/K`
//! (refuse-all again, only later). Counting sent requests only gives `p = 1 − K·a`: with
//! `K = 2` nothing is shed while at least half the calls are answered, 40 % at 70 %
//! failure, 80 % at 90 %, the cap on a dead registry.
//!
//! Retries are not throttled here: the [`RetryBudget`](crate::RetryBudget) limits them
//! (gRPC A6 does the same split). The caller reports every attempt sent (first or retry)
//! when it ends, with [`AdaptiveThrottle::record`]: a request counts once its outcome is
//! known, so many checks in flight at the start of a batch do not read as unanswered.
//!
//! ```
//! use std::sync::Arc;
//! use andal_resilience::{AdaptiveThrottle, ManualClock, SharedClock, ThrottleConfig};
//!
//! let clock: SharedClock = Arc::new(ManualClock::new());
//! let throttle = AdaptiveThrottle::new(ThrottleConfig::default().seed(7), &clock).unwrap();
//! // 10 first attempts, all answered: nothing is shed.
//! for _ in 0..10 {
//!     throttle.admit().unwrap();
//!     throttle.record(true);
//! }
//! assert_eq!(throttle.rejection_probability(), 0.0);
//! ```

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::clock::SharedClock;
use crate::error::{ConfigError, invalid};
use crate::events::{EventListener, Listeners, ResilienceEvent, emit};
use std::sync::Arc;

/// Number of buckets the window is split into.
const SLOTS: usize = 30;

/// Configuration of an [`AdaptiveThrottle`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottleConfig {
    /// Default 2.0 (the SRE book's usual value): shed nothing while at least 1 / K of the
    /// calls are answered. Lower is more aggressive; must be at least 1.0.
    pub k: f64,
    /// Default 30 s: long enough to hold a few hundred calls at a busy branch, short
    /// enough that shedding ends within half a minute of the registry improving (and the
    /// history is cleared at once when a breaker probe proves recovery).
    pub window: Duration,
    /// Default 0.95: never shed every call, so acceptances can be observed and the
    /// probability can fall again without an outside probe.
    pub max_rejection_probability: f64,
    /// Default 20: shed nothing while the window holds fewer requests (like the
    /// breaker's minimum number of calls). The SRE formula is meant for busy clients: at
    /// one request and no answer it already sheds half of the next calls, which would
    /// turn a single DNS error at a quiet desk into refusals.
    pub minimum_requests: u32,
    /// Seed of the random draws (default: random per throttle; tests fix it).
    pub seed: Option<u64>,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            k: 2.0,
            window: Duration::from_secs(30),
            max_rejection_probability: 0.95,
            minimum_requests: 20,
            seed: None,
        }
    }
}

impl ThrottleConfig {
    /// Sets `k` (>= 1.0).
    pub fn k(mut self, k: f64) -> Self {
        self.k = k;
        self
    }
    /// Sets the trailing window (1 s ..= 1 h).
    pub fn window(mut self, w: Duration) -> Self {
        self.window = w;
        self
    }
    /// Sets the highest rejection probability (0.0 ..= 1.0; 0.0 disables shedding).
    pub fn max_rejection_probability(mut self, p: f64) -> Self {
        self.max_rejection_probability = p;
        self
    }
    /// Sets the minimum number of requests in the window before anything is shed.
    pub fn minimum_requests(mut self, n: u32) -> Self {
        self.minimum_requests = n;
        self
    }
    /// Fixes the random seed (deterministic tests).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    fn validate(&self) -> Result<(), ConfigError> {
        if self.k.is_nan() || self.k < 1.0 {
            return Err(invalid("throttle.k", "must be at least 1.0"));
        }
        if self.window < Duration::from_secs(1) || self.window > Duration::from_secs(3600) {
            return Err(invalid("throttle.window", "must be within 1 s ..= 1 h"));
        }
        if !(0.0..=1.0).contains(&self.max_rejection_probability) {
            return Err(invalid(
                "throttle.max_rejection_probability",
                "must be within 0.0 ..= 1.0",
            ));
        }
        Ok(())
    }
}

/// A first attempt shed locally by the [`AdaptiveThrottle`].
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error(
    "shed locally (rejection probability {probability:.2}): the registry is failing most calls"
)]
pub struct Shed {
    /// The rejection probability at the time.
    pub probability: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    requests: u64,
    accepts: u64,
}

#[derive(Debug)]
struct State {
    slots: [Slot; SLOTS],
    head: u64,
    requests: u64,
    accepts: u64,
    rng: ChaCha8Rng,
}

/// Client-side adaptive throttling for one upstream. `Send + Sync`.
pub struct AdaptiveThrottle {
    config: ThrottleConfig,
    clock: SharedClock,
    start: Instant,
    slot_nanos: u128,
    state: Mutex<State>,
    listeners: Listeners,
}

impl std::fmt::Debug for AdaptiveThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdaptiveThrottle")
            .field("config", &self.config)
            .field("rejection_probability", &self.rejection_probability())
            .finish()
    }
}

impl AdaptiveThrottle {
    /// A throttle with `config`, measured on `clock`.
    pub fn new(config: ThrottleConfig, clock: &SharedClock) -> Result<Self, ConfigError> {
        config.validate()?;
        let seed = config.seed.unwrap_or_else(rand::random);
        Ok(Self {
            slot_nanos: (config.window.as_nanos() / SLOTS as u128).max(1),
            config,
            start: clock.now(),
            clock: SharedClock::clone(clock),
            state: Mutex::new(State {
                slots: [Slot::default(); SLOTS],
                head: 0,
                requests: 0,
                accepts: 0,
                rng: ChaCha8Rng::seed_from_u64(seed),
            }),
            listeners: Vec::new(),
        })
    }

    /// Adds a listener (receives `LoadShed`).
    pub fn with_listener(mut self, l: Arc<dyn EventListener>) -> Self {
        self.listeners.push(l);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ThrottleConfig {
        &self.config
    }

    fn rotate(&self, st: &mut State) -> usize {
        let now = self.clock.now();
        let abs = (now.saturating_duration_since(self.start).as_nanos() / self.slot_nanos) as u64;
        if abs > st.head {
            let to = abs.min(st.head + SLOTS as u64);
            for i in (st.head + 1)..=to {
                let s = &mut st.slots[(i % SLOTS as u64) as usize];
                st.requests -= s.requests;
                st.accepts -= s.accepts;
                *s = Slot::default();
            }
            st.head = abs;
        }
        (st.head % SLOTS as u64) as usize
    }

    fn probability_of(&self, st: &State) -> f64 {
        if st.requests < u64::from(self.config.minimum_requests) {
            return 0.0;
        }
        let r = st.requests as f64;
        let p = (r - self.config.k * st.accepts as f64) / (r + 1.0);
        p.clamp(0.0, self.config.max_rejection_probability)
    }

    /// Asks to send a first attempt: sheds it with the current rejection probability.
    /// `Err` means: do not send, answer without the registry. An admitted attempt is
    /// counted when it ends ([`record`](Self::record)).
    pub fn admit(&self) -> Result<(), Shed> {
        let shed = {
            let mut st = self.state.lock();
            self.rotate(&mut st);
            let p = self.probability_of(&st);
            (p > 0.0 && st.rng.random::<f64>() < p).then_some(Shed { probability: p })
        };
        match shed {
            None => Ok(()),
            Some(s) => {
                emit(
                    &self.listeners,
                    &ResilienceEvent::LoadShed {
                        probability: s.probability,
                    },
                );
                Err(s)
            }
        }
    }

    /// Counts one request sent to the registry (a first attempt or a retry) once it has
    /// ended: `accepted` when the registry answered it (whatever the verdict).
    pub fn record(&self, accepted: bool) {
        let mut st = self.state.lock();
        let i = self.rotate(&mut st);
        st.slots[i].requests += 1;
        st.requests += 1;
        if accepted {
            st.slots[i].accepts += 1;
            st.accepts += 1;
        }
    }

    /// The current rejection probability.
    pub fn rejection_probability(&self) -> f64 {
        let mut st = self.state.lock();
        self.rotate(&mut st);
        self.probability_of(&st)
    }

    /// Forgets the history (recovery was proven, e.g. by the breaker closing).
    pub fn reset(&self) {
        let mut st = self.state.lock();
        self.rotate(&mut st);
        st.slots = [Slot::default(); SLOTS];
        st.requests = 0;
        st.accepts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn throttle() -> (Arc<ManualClock>, AdaptiveThrottle) {
        let manual = Arc::new(ManualClock::new());
        let clock: SharedClock = manual.clone();
        let t = AdaptiveThrottle::new(ThrottleConfig::default().seed(1), &clock).unwrap();
        (manual, t)
    }

    /// Feeds `n` first attempts, each answered with probability `answered` (by a fixed
    /// pattern), and returns how many were shed.
    fn feed(t: &AdaptiveThrottle, n: u32, answered_per_10: u32) -> u32 {
        let (mut shed, mut sent) = (0, 0);
        for _ in 0..n {
            if t.admit().is_err() {
                shed += 1;
                continue;
            }
            t.record(sent % 10 < answered_per_10);
            sent += 1;
        }
        shed
    }

    #[test]
    fn nothing_is_shed_while_most_calls_are_answered() {
        let (_, t) = throttle();
        // 30 % failure: accepts 0.7 R, R − 2 × 0.7 R < 0.
        assert_eq!(feed(&t, 500, 7), 0);
        assert_eq!(t.rejection_probability(), 0.0);
    }

    #[test]
    fn shedding_rises_smoothly_with_the_failure_rate() {
        // p settles near 1 − K·a (a: share of sent calls answered), not at the cap.
        for (answered, expect) in [(5, 0.0), (4, 0.2), (3, 0.4), (2, 0.6), (1, 0.8)] {
            let (_, t) = throttle();
            feed(&t, 2000, answered);
            let p = t.rejection_probability();
            assert!((p - expect).abs() < 0.08, "{answered}/10 answered: p {p}");
        }
        // A dead registry: almost everything shed, never all.
        let (_, t) = throttle();
        let shed = f64::from(feed(&t, 1000, 0)) / 1000.0;
        assert!(shed > 0.85 && shed <= 0.96, "{shed}");
    }

    #[test]
    fn nothing_is_shed_below_the_minimum_number_of_requests() {
        let (_, t) = throttle();
        // 19 unanswered requests at a quiet desk: no shedding yet.
        assert_eq!(feed(&t, 19, 0), 0);
        assert_eq!(t.rejection_probability(), 0.0);
        t.record(false);
        assert!(t.rejection_probability() > 0.9);
    }

    #[test]
    fn history_expires_with_the_window_and_on_reset() {
        let (clock, t) = throttle();
        feed(&t, 100, 0);
        assert!(t.rejection_probability() > 0.9);
        clock.advance(Duration::from_secs(31));
        assert_eq!(t.rejection_probability(), 0.0);
        feed(&t, 100, 0);
        t.reset();
        assert_eq!(t.rejection_probability(), 0.0);
    }

    #[test]
    fn a_shed_call_is_an_event() {
        let manual = Arc::new(ManualClock::new());
        let clock: SharedClock = manual.clone();
        let rec = Arc::new(crate::RecordingListener::new());
        let t = AdaptiveThrottle::new(ThrottleConfig::default().seed(3), &clock)
            .unwrap()
            .with_listener(rec.clone());
        let shed = feed(&t, 50, 0);
        assert!(shed > 0);
        let events = rec
            .events()
            .into_iter()
            .filter(|e| matches!(e, ResilienceEvent::LoadShed { .. }))
            .count();
        assert_eq!(events as u32, shed);
    }

    #[test]
    fn bad_settings_are_refused() {
        let clock: SharedClock = Arc::new(ManualClock::new());
        for c in [
            ThrottleConfig::default().k(0.5),
            ThrottleConfig::default().window(Duration::from_millis(10)),
            ThrottleConfig::default().max_rejection_probability(1.5),
        ] {
            assert!(AdaptiveThrottle::new(c, &clock).is_err());
        }
    }
}
