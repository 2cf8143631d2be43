//! Time sources: a real [`SystemClock`] and a deterministic [`ManualClock`] for tests.
//!
//! Every piece of this crate that needs the time takes an [`Arc<dyn Clock>`](SharedClock),
//! so tests drive hours of outage in microseconds without a single real sleep.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// A source of monotonic time, wall time and sleeping.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Monotonic "now", used for every interval (deadline, breaker waits, windows).
    fn now(&self) -> Instant;
    /// Wall-clock time, used only to interpret HTTP dates (`Retry-After`).
    fn wall(&self) -> SystemTime;
    /// Blocks the current thread for `d` (a [`ManualClock`] only advances).
    fn sleep(&self, d: Duration);
}

/// A clock shared between pieces.
pub type SharedClock = Arc<dyn Clock>;

/// The real clock: [`Instant::now`], [`SystemTime::now`] and [`std::thread::sleep`].
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl SystemClock {
    /// A shared handle to the real clock.
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, d: Duration) {
        if !d.is_zero() {
            std::thread::sleep(d);
        }
    }
}

/// The future an [`AsyncSleep`] returns.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The async side of a [`Clock`]: waits until an instant of that clock without blocking a
/// thread. Every async wait of the check engine (backoff) goes through it, so the same
/// [`ManualClock`] drives blocking and async tests: its implementation advances the clock
/// to the instant at once, exactly as its [`Clock::sleep`] does for the blocking driver.
/// Runtime-agnostic (`andal` ships a tokio implementation behind its `tokio` feature).
pub trait AsyncSleep: Send + Sync + fmt::Debug {
    /// Resolves once the paired clock's [`Clock::now`] has reached `deadline` (at once
    /// when it already has).
    fn sleep_until(&self, deadline: Instant) -> Sleep;
}

/// A timer shared between pieces.
pub type SharedTimer = Arc<dyn AsyncSleep>;

/// The wall time a [`ManualClock::new`] starts at: 2023-11-14T22:13:20Z (Unix 1 700 000 000).
pub const MANUAL_CLOCK_DEFAULT_WALL: Duration = Duration::from_secs(1_700_000_000);

/// A deterministic, thread-safe clock for tests.
///
/// It starts at a fixed base and only moves when told to: [`advance`](Self::advance) or
/// [`Clock::sleep`], which advances immediately (never sleeps for real) and adds to
/// [`total_slept`](Self::total_slept). Wall time moves together with monotonic time.
#[derive(Debug)]
pub struct ManualClock {
    base: Instant,
    base_wall: SystemTime,
    offset_nanos: AtomicU64,
    slept_nanos: AtomicU64,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

fn to_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl ManualClock {
    /// A clock whose wall time starts at [`MANUAL_CLOCK_DEFAULT_WALL`] after the Unix epoch.
    pub fn new() -> Self {
        Self::starting_at(SystemTime::UNIX_EPOCH + MANUAL_CLOCK_DEFAULT_WALL)
    }

    /// A clock whose wall time starts at `wall`.
    pub fn starting_at(wall: SystemTime) -> Self {
        Self {
            base: Instant::now(),
            base_wall: wall,
            offset_nanos: AtomicU64::new(0),
            slept_nanos: AtomicU64::new(0),
        }
    }

    /// Convenience: a new clock already wrapped in an [`Arc`].
    pub fn shared() -> Arc<Self> {
        Arc::new(Self::new())
    }

    /// Moves time forward by `d` (saturating after ~584 years).
    pub fn advance(&self, d: Duration) {
        let n = to_nanos(d);
        let _ = self
            .offset_nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                Some(v.saturating_add(n))
            });
    }

    /// Time elapsed since the clock was created.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.offset_nanos.load(Ordering::Acquire))
    }

    /// Total time passed to [`Clock::sleep`].
    pub fn total_slept(&self) -> Duration {
        Duration::from_nanos(self.slept_nanos.load(Ordering::Acquire))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + self.elapsed()
    }
    fn wall(&self) -> SystemTime {
        self.base_wall + self.elapsed()
    }
    fn sleep(&self, d: Duration) {
        let n = to_nanos(d);
        let _ = self
            .slept_nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                Some(v.saturating_add(n))
            });
        self.advance(d);
    }
}

impl AsyncSleep for ManualClock {
    /// Advances the clock to `deadline` (counted in [`total_slept`](Self::total_slept)) and
    /// resolves at once: async tests run hours of backoff without a real wait.
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        let wait = deadline.saturating_duration_since(self.now());
        if !wait.is_zero() {
            self.sleep(wait);
        }
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new();
        let t0 = c.now();
        let w0 = c.wall();
        assert_eq!(c.now(), t0);
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.now() - t0, Duration::from_millis(1500));
        assert_eq!(
            c.wall().duration_since(w0).unwrap(),
            Duration::from_millis(1500)
        );
        c.sleep(Duration::from_secs(2));
        assert_eq!(c.now() - t0, Duration::from_millis(3500));
        assert_eq!(c.total_slept(), Duration::from_secs(2));
    }

    #[test]
    fn manual_clock_starting_at_and_threads() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(42);
        let c = Arc::new(ManualClock::starting_at(start));
        assert_eq!(c.wall(), start);
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let c = Arc::clone(&c);
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        c.sleep(Duration::from_millis(1));
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(c.elapsed(), Duration::from_secs(4));
        assert_eq!(c.total_slept(), Duration::from_secs(4));
    }
}
