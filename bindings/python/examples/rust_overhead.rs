//! Rust side of `bench/overhead.py`: the same serial checks through `andal::Client`
//! directly (`Query::parse` + `Client::verify` per call, the work `Client.verify` does in
//! Python), so the Python binding's per-call overhead can be read as the difference.
//!
//! Usage: `rust_overhead URL PARTNER API_KEY ROUNDS < people.jsonl` (lines with `nik`,
//! `full_name`, `birth_date`); prints one JSON object with per-call microseconds: wall
//! time (mean, p50, p99) and the process's CPU time per call over the timed loop
//! (`CLOCK_PROCESS_CPUTIME_ID`, all threads, the clock Python's `time.process_time_ns()`
//! reads: the Python side measures the same way).

use std::io::BufRead;
use std::time::Instant;

/// CPU time of this process (every thread) so far, in nanoseconds.
fn process_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux and
    // macOS both define.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, partner, key, rounds] = &args[..] else {
        eprintln!("usage: rust_overhead URL PARTNER API_KEY ROUNDS < people.jsonl");
        std::process::exit(2);
    };
    let rounds: usize = rounds.parse().expect("ROUNDS must be a number");
    // Raw fields, parsed inside the timed call as `Client.verify` in Python does.
    let people: Vec<[String; 3]> = std::io::stdin()
        .lock()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(&l.expect("stdin")).expect("json");
            let s = |k: &str| v[k].as_str().expect("string field").to_owned();
            [s("nik"), s("full_name"), s("birth_date")]
        })
        .collect();
    let check = |client: &andal::Client, [nik, name, birth]: &[String; 3]| {
        let q = andal::Query::parse(nik, name, birth).expect("query");
        client.verify(&q).expect("check");
    };
    // The Python module installs this recorder on import; without it here the `metrics`
    // macros would be no-ops in Rust only, and their cost would count as binding overhead.
    if std::env::var_os("ANDAL_OVERHEAD_NO_METRICS").is_none() {
        andal::metrics::SnapshotRecorder::install_global();
    }
    let client = andal::Client::builder(url.as_str())
        .partner_id(partner.as_str())
        .api_key(key.as_str())
        .allow_insecure_http(true)
        .build()
        .expect("client");
    // Warm-up (connection pool).
    for p in people.iter().take(10) {
        check(&client, p);
    }
    let mut micros: Vec<f64> = Vec::with_capacity(rounds);
    let cpu_start = process_cpu_ns();
    for i in 0..rounds {
        let p = &people[i % people.len()];
        let t = Instant::now();
        check(&client, p);
        micros.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let cpu_us = (process_cpu_ns() - cpu_start) as f64 / 1e3 / rounds as f64;
    micros.sort_by(f64::total_cmp);
    let mean = micros.iter().sum::<f64>() / micros.len() as f64;
    let p50 = micros[micros.len() / 2];
    let p99 = micros[(micros.len() * 99 / 100).min(micros.len() - 1)];
    println!(
        "{{\"calls\":{rounds},\"mean_us\":{mean:.1},\"p50_us\":{p50:.1},\"p99_us\":{p99:.1},\"cpu_us\":{cpu_us:.1}}}"
    );
}
