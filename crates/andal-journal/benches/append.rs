//! Durable append throughput: one thread (one fdatasync per record) and
//! 8 threads with group commit (one fdatasync per batch).
//!
//! The journal lives under the target directory (a real disk, not tmpfs).
//! Run: `cargo bench -p andal-journal --bench append`

use std::sync::Arc;
use std::time::{Duration, Instant};

use andal_journal::{Journal, JournalKey, JournalOptions};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const PAYLOAD: usize = 256;

fn bench_dir() -> tempfile::TempDir {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-tmp");
    std::fs::create_dir_all(&base).unwrap();
    tempfile::tempdir_in(base).unwrap()
}

fn open(dir: &tempfile::TempDir, name: &str, group: bool) -> Journal {
    let key = JournalKey::from_bytes([9; 32]);
    Journal::open(
        dir.path().join(name),
        &key,
        JournalOptions::default().group_commit(group),
    )
    .unwrap()
    .0
}

fn appends(c: &mut Criterion) {
    let dir = bench_dir();
    let payload = vec![0x5Au8; PAYLOAD];
    let mut g = c.benchmark_group("durable_append_256B");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(1));

    for group in [false, true] {
        let j = open(&dir, &format!("single-{group}"), group);
        let name = if group {
            "1_thread_group_commit"
        } else {
            "1_thread"
        };
        g.bench_function(name, |b| b.iter(|| j.append(&payload).unwrap()));
    }

    for (threads, group) in [(8usize, true), (8, false)] {
        let j = Arc::new(open(&dir, &format!("mt-{threads}-{group}"), group));
        let name = format!(
            "{threads}_threads_{}",
            if group {
                "group_commit"
            } else {
                "no_group_commit"
            }
        );
        // One iteration = one append per thread, counted as `threads` elements.
        g.throughput(Throughput::Elements(threads as u64));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        let j = &j;
                        let payload = &payload;
                        s.spawn(move || {
                            for _ in 0..iters {
                                j.append(payload).unwrap();
                            }
                        });
                    }
                });
                start.elapsed()
            })
        });
    }

    // A caller-side batch of 32 records, one fdatasync.
    let j = open(&dir, "batch", false);
    let batch: Vec<&[u8]> = (0..32).map(|_| &payload[..]).collect();
    g.throughput(Throughput::Elements(32));
    g.bench_function("append_batch_32", |b| {
        b.iter(|| j.append_batch(&batch).unwrap())
    });
    g.finish();
}

criterion_group!(benches, appends);
criterion_main!(benches);
