//! Property test over random sequences of calls, outcomes and time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use andal_resilience::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Acquire,
    Record { idx: usize, outcome: u8, slow: bool },
    Drop(usize),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Acquire),
        4 => (0usize..4, 0u8..3, any::<bool>()).prop_map(|(idx, outcome, slow)| Op::Record { idx, outcome, slow }),
        1 => (0usize..4).prop_map(Op::Drop),
        3 => (0u64..4000).prop_map(Op::Advance),
    ]
}

#[derive(Debug)]
struct Timed {
    clock: Arc<ManualClock>,
    log: Mutex<Vec<(Duration, BreakerState, BreakerState)>>,
}

impl EventListener for Timed {
    fn on_event(&self, e: &ResilienceEvent) {
        if let ResilienceEvent::StateTransition { from, to, .. } = e {
            self.log
                .lock()
                .unwrap()
                .push((self.clock.elapsed(), *from, *to));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_admits_early_or_beyond_half_open_permits(
        ops in prop::collection::vec(op(), 1..300),
        permits in 1u32..4,
        max_half_open_ms in prop_oneof![Just(0u64), 500u64..5000],
        time_window in any::<bool>(),
    ) {
        let manual = Arc::new(ManualClock::new());
        let clock: SharedClock = manual.clone();
        let mut cfg = BreakerConfig::builder()
            .minimum_number_of_calls(3)
            .failure_rate_threshold(50.0)
            .slow_call_duration_threshold(Duration::from_secs(1))
            .wait_duration_in_open(Duration::from_secs(1))
            .open_wait_growth(2.0, Duration::from_secs(8))
            .permitted_calls_in_half_open(permits)
            .max_wait_in_half_open(Duration::from_millis(max_half_open_ms));
        cfg = if time_window { cfg.time_window(3) } else { cfg.count_window(5) };
        let cfg = cfg.build().unwrap();
        let timed = Arc::new(Timed { clock: manual.clone(), log: Mutex::new(vec![]) });
        let b = CircuitBreaker::new("h", cfg.clone(), &clock).with_listener(timed.clone());

        // (permit, half-open episode it was admitted in, if any)
        let mut held: Vec<(Permit<'_>, Option<usize>)> = Vec::new();
        let episode = |t: &Timed| t.log.lock().unwrap().iter().filter(|x| x.2 == BreakerState::HalfOpen).count();
        let mut live_in_episode = 0u32; // admitted and not released, current episode
        let mut counted_in_episode = 0u32; // admitted and reported (non-ignored)
        let mut seen_episode = 0usize;

        for op in ops {
            let ep = episode(&timed);
            if ep != seen_episode { seen_episode = ep; live_in_episode = 0; counted_in_episode = 0; }
            match op {
                Op::Advance(ms) => manual.advance(Duration::from_millis(ms)),
                Op::Acquire => {
                    let before = b.health();
                    let res = b.try_acquire();
                    if before.state == BreakerState::Open && before.time_until_half_open.unwrap() > Duration::ZERO {
                        prop_assert!(res.is_err(), "admitted while open before the wait");
                    }
                    if let Ok(p) = res {
                        let ep = episode(&timed);
                        if ep != seen_episode { seen_episode = ep; live_in_episode = 0; counted_in_episode = 0; }
                        let in_half = (p.state() == BreakerState::HalfOpen).then_some(ep);
                        if in_half.is_some() {
                            live_in_episode += 1;
                            prop_assert!(live_in_episode + counted_in_episode <= permits,
                                "half-open admitted {} > permits {}", live_in_episode + counted_in_episode, permits);
                        }
                        if held.len() < 4 { held.push((p, in_half)); } else { p.record(CallOutcome::Success, Duration::ZERO); if in_half.is_some() { live_in_episode -= 1; counted_in_episode += 1; } }
                    }
                }
                Op::Record { idx, outcome, slow } => {
                    if idx < held.len() {
                        let (p, ep) = held.remove(idx);
                        let outcome = [CallOutcome::Success, CallOutcome::Failure, CallOutcome::Ignored][outcome as usize];
                        if ep == Some(seen_episode) {
                            live_in_episode -= 1;
                            if outcome != CallOutcome::Ignored { counted_in_episode += 1; }
                        }
                        p.record(outcome, if slow { Duration::from_secs(2) } else { Duration::from_millis(10) });
                    }
                }
                Op::Drop(idx) => {
                    if idx < held.len() {
                        let (_p, ep) = held.remove(idx);
                        if ep == Some(seen_episode) { live_in_episode -= 1; }
                    }
                }
            }
        }
        drop(held);

        // Every Open -> HalfOpen happened no earlier than the (grown) open wait.
        let log = timed.log.lock().unwrap().clone();
        let mut opened_at = None;
        let mut half_open_at = Duration::ZERO;
        let mut failed_rounds = 0u32;
        for (t, from, to) in log {
            match (from, to) {
                (_, BreakerState::Open) => {
                    // A half-open wait that expired re-opens as of its expiry (back-dated:
                    // the event is emitted when the next call notices it).
                    let mut at = t;
                    if from == BreakerState::HalfOpen {
                        failed_rounds += 1;
                        if max_half_open_ms > 0 {
                            at = t.min(half_open_at + Duration::from_millis(max_half_open_ms));
                        }
                    } else {
                        failed_rounds = 0
                    }
                    opened_at = Some((at, cfg.open_wait(failed_rounds)));
                }
                (BreakerState::Open, BreakerState::HalfOpen) => {
                    half_open_at = t;
                    let (at, wait) = opened_at.expect("opened before");
                    prop_assert!(t - at >= wait, "half-open after {:?} < wait {:?}", t - at, wait);
                }
                (_, BreakerState::Closed) => failed_rounds = 0,
                _ => {}
            }
        }
    }
}
