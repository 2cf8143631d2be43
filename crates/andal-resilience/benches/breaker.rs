//! Breaker hot path: acquire + record(Success) on a closed breaker.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use andal_resilience::{BreakerConfig, CallOutcome, CircuitBreaker, SharedClock, SystemClock};
use criterion::{Criterion, criterion_group, criterion_main};

fn breaker(cfg: BreakerConfig) -> Arc<CircuitBreaker> {
    let clock: SharedClock = SystemClock::shared();
    Arc::new(CircuitBreaker::new("registry.example", cfg, &clock))
}

fn acquire_record(b: &CircuitBreaker) {
    let p = b.try_acquire().expect("closed");
    p.record(CallOutcome::Success, black_box(Duration::from_millis(30)));
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("breaker");

    let b = breaker(BreakerConfig::default());
    g.bench_function("acquire_record_uncontended_count_window", |bn| {
        bn.iter(|| acquire_record(black_box(&b)))
    });

    let bt = breaker(BreakerConfig::builder().time_window(60).build().unwrap());
    g.bench_function("acquire_record_uncontended_time_window", |bn| {
        bn.iter(|| acquire_record(black_box(&bt)))
    });

    // Two threads hammering the same breaker: this thread is measured while a second
    // one runs acquire+record in a tight loop.
    let b2 = breaker(BreakerConfig::default());
    let stop = Arc::new(AtomicBool::new(false));
    let other = {
        let (b2, stop) = (b2.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                acquire_record(&b2);
                n += 1;
            }
            n
        })
    };
    g.bench_function("acquire_record_2_threads_same_breaker", |bn| {
        bn.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                acquire_record(black_box(&b2));
            }
            t.elapsed()
        })
    });
    stop.store(true, Ordering::Relaxed);
    let _ = other.join();

    let bo = breaker(BreakerConfig::default());
    bo.force_open();
    g.bench_function("rejected_while_forced_open", |bn| {
        bn.iter(|| black_box(bo.try_acquire().is_err()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
