//! `andal-load-bench`: many checks in flight at once, side by side in one run (issue 11):
//! the async client on one tokio runtime with 2 workers, bare hyper on the same load, the
//! blocking client on a 64-thread pool; then a `hang` fault with every check in flight,
//! and a hard outage with the breaker open. The sandbox runs in a child process (this
//! binary with `--serve-sandbox`), so thread counts and memory are the client's alone.
//! Each run's client is dropped after it, and the next run waits (at most 65 s) until the
//! previous runs' sockets are closed and out of `TIME_WAIT`: with ~15,000 pooled or
//! closing connections towards the one sandbox port, every `connect()` spends
//! milliseconds in the kernel's ephemeral-port search (`__inet_hash_connect` and
//! `__inet_check_established`, 66 % of the client's CPU in a profile of the `hang` run),
//! on the worker threads, and a run would measure the previous ones' leftovers.
//! `--no-drain` skips the wait. Markdown to stdout.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use andal::{Client, Query};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

/// Counts the bytes the process holds on the heap (the system allocator underneath:
/// glibc malloc, as a bank's binary would use), so the memory column can say how much of
/// the RSS growth is live allocations and how much is the allocator's retained or
/// fragmented pages.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = LIVE.fetch_add(new - l.size(), Ordering::Relaxed) + (new - l.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Start of a run: the live heap now, and the peak reset to it.
fn heap_mark() -> usize {
    let now = LIVE.load(Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    now
}

const IN_FLIGHT: usize = 5_000;
const TOTAL: usize = 20_000;
const DEADLINE: Duration = Duration::from_secs(5);

/// Why checks failed, for a line under the table (the first 90 characters of the error).
static ERRORS: std::sync::Mutex<Vec<(String, u64)>> = std::sync::Mutex::new(Vec::new());

/// An error message grouped by its words, not the timings in it (the first 90 characters
/// before " in ").
fn group_key(e: &str) -> String {
    e.split(" in ")
        .next()
        .unwrap_or(e)
        .chars()
        .take(90)
        .collect()
}

fn note_error(e: &str) {
    let key = group_key(e);
    let mut v = ERRORS.lock().unwrap();
    match v.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => *n += 1,
        None => v.push((key, 1)),
    }
}

/// Checks decided after the deadline: outcome (as `note_error` groups it), how many, the
/// latest.
static LATE: std::sync::Mutex<Vec<(String, u64, Duration)>> = std::sync::Mutex::new(Vec::new());

fn note_late(outcome: &str, latency: Duration) {
    let key = group_key(outcome);
    let mut v = LATE.lock().unwrap();
    match v.iter_mut().find(|(k, _, _)| *k == key) {
        Some((_, n, max)) => {
            *n += 1;
            *max = (*max).max(latency);
        }
        None => v.push((key, 1, latency)),
    }
}

/// Print and clear the failure reasons (and the late checks) of the run just printed.
fn print_errors(name: &str) {
    let mut late = std::mem::take(&mut *LATE.lock().unwrap());
    if !late.is_empty() {
        late.sort_by_key(|l| std::cmp::Reverse(l.1));
        let all: Vec<String> = late
            .iter()
            .map(|(k, n, max)| format!("{n} × {k} (latest {max:?})"))
            .collect();
        eprintln!("decided after the deadline, {name}: {}", all.join("; "));
    }
    let mut v = std::mem::take(&mut *ERRORS.lock().unwrap());
    if v.is_empty() {
        return;
    }
    v.sort_by_key(|e| std::cmp::Reverse(e.1));
    let top: Vec<String> = v
        .iter()
        .take(4)
        .map(|(k, n)| format!("{n} × {k}"))
        .collect();
    eprintln!("failures, {name}: {}", top.join("; "));
}

/// The sandbox child's pid, for its thread count (0 until started).
static SANDBOX_PID: AtomicU64 = AtomicU64::new(0);

fn main() {
    if std::env::args().any(|a| a == "--serve-sandbox") {
        serve_sandbox();
        return;
    }
    let in_flight = arg("--in-flight").unwrap_or(IN_FLIGHT);
    let total = arg("--total").unwrap_or(TOTAL);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--serve-sandbox")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the sandbox child");
    SANDBOX_PID.store(u64::from(child.id()), Ordering::Relaxed);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next().unwrap().unwrap();
    let person: Vec<String> = lines
        .next()
        .unwrap()
        .unwrap()
        .split('\t')
        .map(String::from)
        .collect();
    let mut control = child.stdin.take().unwrap();
    let mut fault = |f: &str| {
        writeln!(control, "{f}").unwrap();
        control.flush().unwrap();
        std::thread::sleep(Duration::from_millis(200));
    };
    let query = Query::parse(&person[0], &person[1], &person[2]).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let builder = || {
        Client::builder(url.clone())
            .partner_id(andal_sandbox::DEMO_BANK_PARTNER)
            .api_key(andal_sandbox::DEMO_BANK_KEY)
            .allow_insecure_http(true)
            .deadline(DEADLINE)
    };
    println!("# andal-load-bench: {in_flight} in flight, {total} checks per throughput run\n");
    {
        let probe = builder().build_async().unwrap();
        let check = probe.verify(&query);
        println!(
            "A check's future (`AsyncClient::verify`, before its first poll): {} bytes.\n",
            std::mem::size_of_val(&check)
        );
    }
    println!(
        "| run | checks | decided within deadline | throughput (checks/s) | p50 / p99 / max latency | peak OS threads | RSS growth per in-flight check | live heap growth per in-flight check | sandbox peak OS threads | peak new open fds (connections) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");

    // Healthy, async client.
    // One 5 s budget per request, as bare hyper gets: with thousands in flight on 2 shared
    // cores, queueing alone (in flight / throughput, Little's law) can exceed the default 2 s
    // attempt timeout, and the breaker would then turn the comparison into a failure count.
    // Healthy, bare hyper, same load.
    // The first run of the process grows the heap from nothing; later runs reuse what the
    // allocator kept, so their RSS growth reads lower: `--bare-first` swaps the two.
    let bare_first = std::env::args().any(|a| a == "--bare-first");
    let mut sockets_before = Vec::new();
    let mut async_tp = 0.0;
    let mut bare_tp = 0.0;
    // Each run's client (and its pool of connections) is dropped after the run, and the
    // next run waits for those sockets to be gone (see `settle`).
    for contender in if bare_first {
        ["bare", "async"]
    } else {
        ["async", "bare"]
    } {
        sockets_before.push(settle(&rt));
        if contender == "async" {
            let client = builder().attempt_timeout(DEADLINE).build_async().unwrap();
            let r = rt.block_on(async_run(&client, &query, in_flight, total));
            r.print("async client, 2 tokio workers, healthy");
            async_tp = r.throughput();
        } else {
            let bare = BareHyper::new(&url, &query);
            let r = rt.block_on(bare.run(in_flight, total));
            r.print("bare hyper 1 (same request, no checks logic), healthy");
            bare_tp = r.throughput();
        }
    }

    // Healthy, blocking client, 64 threads.
    sockets_before.push(settle(&rt));
    let blocking = builder().build().unwrap();
    let r = blocking_run(&blocking, &query, 64, total);
    r.print("blocking client, 64-thread pool, healthy");
    let blocking_tp = r.throughput();
    drop(blocking);

    // Hang: every check in flight at once, each must be decided within its deadline.
    sockets_before.push(settle(&rt));
    fault("hang");
    let hang_client = builder().build_async().unwrap();
    let r = rt.block_on(async_run(&hang_client, &query, in_flight, in_flight));
    r.print("async client, `hang` fault, all in flight at once");
    fault("clear");
    drop(hang_client);

    // Hard outage, breaker open.
    let open = builder().build_async().unwrap();
    open.breaker().force_open();
    let (own, submitted) = rt.block_on(open_breaker_run(&open, &query, in_flight));
    println!();
    println!(
        "TCP sockets of the machine (in use, `TIME_WAIT`) at the start of each run, in table order: {sockets_before:?}."
    );
    println!(
        "Throughput: async client {:.0}/s, bare hyper {:.0}/s (client overhead {:.1} %), blocking client on 64 threads {:.0}/s.",
        async_tp,
        bare_tp,
        100.0 * (bare_tp - async_tp) / bare_tp,
        blocking_tp
    );
    println!(
        "Hard outage, breaker open, {in_flight} checks spawned at once: time to decision inside the check p50 {:?}, p99 {:?}, max {:?}; from submission (queueing on 2 workers included) p99 {:?}, max {:?}.",
        pct(&own, 0.5),
        pct(&own, 0.99),
        own.last().unwrap(),
        pct(&submitted, 0.99),
        submitted.last().unwrap()
    );
    drop(control);
    let _ = child.kill();
    let _ = child.wait();
}

fn arg(name: &str) -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1)?.parse().ok())
}

/// The child: a sandbox on loopback; prints its URL and one person, then applies the
/// faults named on stdin (`hang`, `clear`) until stdin closes.
fn serve_sandbox() {
    let sb = andal_sandbox::start(
        andal_sandbox::SandboxConfig::default()
            .seed(5)
            .people(10_000),
    )
    .unwrap();
    let p = &sb.sample(1)[0];
    println!("{}", sb.url());
    println!("{}\t{}\t{}", p.nik, p.full_name, p.birth_date);
    std::io::stdout().flush().unwrap();
    for line in std::io::stdin().lock().lines() {
        match line.as_deref().unwrap_or("") {
            "hang" => sb.set_fault(andal_sandbox::Fault::Hang),
            "clear" => sb.clear_fault(),
            _ => {}
        }
    }
}

/// Samples the process's OS threads and resident memory every 5 ms (the sampler's own
/// thread is subtracted).
struct Sampler {
    stop: Arc<AtomicBool>,
    peak_threads: Arc<AtomicU64>,
    peak_rss: Arc<AtomicU64>,
    peak_sandbox_threads: Arc<AtomicU64>,
    peak_fds: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

fn proc_status(field: &str) -> u64 {
    status_field("/proc/self/status", field)
}

fn sandbox_threads() -> u64 {
    match SANDBOX_PID.load(Ordering::Relaxed) {
        0 => 0,
        pid => status_field(&format!("/proc/{pid}/status"), "Threads:"),
    }
}

/// The machine's TCP sockets in use and in `TIME_WAIT` (`/proc/net/sockstat`).
fn tcp_sockets() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
    let line: Vec<&str> = s
        .lines()
        .find(|l| l.starts_with("TCP:"))
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let field = |name: &str| {
        line.iter()
            .position(|w| *w == name)
            .and_then(|i| line.get(i + 1)?.parse().ok())
            .unwrap_or(0)
    };
    (field("inuse"), field("tw"))
}

/// Lets the previous run's connections close (their tasks run on `rt`), then waits until
/// fewer than 1,000 TCP sockets are in use and fewer than 1,000 in `TIME_WAIT` (at most
/// 65 s: Linux keeps `TIME_WAIT` 60 s); returns what was left. `--no-drain` skips the wait.
fn settle(rt: &tokio::runtime::Runtime) -> (u64, u64) {
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(200)).await });
    let started = Instant::now();
    loop {
        let (inuse, tw) = tcp_sockets();
        if (inuse < 1_000 && tw < 1_000)
            || started.elapsed() > Duration::from_secs(65)
            || std::env::args().any(|a| a == "--no-drain")
        {
            return (inuse, tw);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn status_field(path: &str, field: &str) -> u64 {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

impl Sampler {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_threads = Arc::new(AtomicU64::new(0));
        let peak_rss = Arc::new(AtomicU64::new(0));
        let peak_sandbox_threads = Arc::new(AtomicU64::new(0));
        let peak_fds = Arc::new(AtomicU64::new(0));
        let fds_before = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
        let (s, t, r, st, fd) = (
            stop.clone(),
            peak_threads.clone(),
            peak_rss.clone(),
            peak_sandbox_threads.clone(),
            peak_fds.clone(),
        );
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                t.fetch_max(proc_status("Threads:").saturating_sub(1), Ordering::Relaxed);
                r.fetch_max(proc_status("VmRSS:"), Ordering::Relaxed);
                st.fetch_max(sandbox_threads(), Ordering::Relaxed);
                // Open descriptors: almost all are the pools' connections.
                let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
                fd.fetch_max(fds.saturating_sub(fds_before), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Sampler {
            stop,
            peak_threads,
            peak_rss,
            peak_sandbox_threads,
            peak_fds,
            handle: Some(handle),
        }
    }
    /// Peak threads, peak RSS (KiB), the sandbox child's peak threads, peak open
    /// descriptors.
    fn finish(mut self) -> (u64, u64, u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.take().unwrap().join();
        (
            self.peak_threads.load(Ordering::Relaxed),
            self.peak_rss.load(Ordering::Relaxed),
            self.peak_sandbox_threads.load(Ordering::Relaxed),
            self.peak_fds.load(Ordering::Relaxed),
        )
    }
}

struct RunResult {
    latencies: Vec<Duration>,
    within: usize,
    ok: usize,
    wall: Duration,
    threads: u64,
    rss_growth_per_check_kib: f64,
    heap_growth_per_check_kib: f64,
    sandbox_threads: u64,
    fds: u64,
}

impl RunResult {
    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }
    fn print(&self, name: &str) {
        println!(
            "| {name} | {} ({} answered) | {} | {:.0} | {:?} / {:?} / {:?} | {} | {:.1} KiB | {:.1} KiB | {} | {} |",
            self.latencies.len(),
            self.ok,
            self.within,
            self.throughput(),
            pct(&self.latencies, 0.5),
            pct(&self.latencies, 0.99),
            self.latencies.last().unwrap(),
            self.threads,
            self.rss_growth_per_check_kib,
            self.heap_growth_per_check_kib,
            self.sandbox_threads,
            self.fds
        );
        print_errors(name);
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn finish(
    mut latencies: Vec<Duration>,
    ok: usize,
    wall: Duration,
    sampler: Sampler,
    rss_before_kib: u64,
    heap_before: usize,
    in_flight: usize,
) -> RunResult {
    let (threads, rss, sandbox_threads, fds) = sampler.finish();
    let heap_peak = PEAK.load(Ordering::Relaxed);
    latencies.sort();
    RunResult {
        within: latencies.iter().filter(|l| **l <= DEADLINE).count(),
        latencies,
        ok,
        wall,
        threads,
        rss_growth_per_check_kib: rss.saturating_sub(rss_before_kib) as f64 / in_flight as f64,
        heap_growth_per_check_kib: heap_peak.saturating_sub(heap_before) as f64
            / 1024.0
            / in_flight as f64,
        sandbox_threads,
        fds,
    }
}

/// `in_flight` tasks, each running its share of `total` checks one after another.
async fn async_run(
    client: &andal::AsyncClient,
    q: &Query,
    in_flight: usize,
    total: usize,
) -> RunResult {
    let rss_before = proc_status("VmRSS:");
    let heap_before = heap_mark();
    let sampler = Sampler::start();
    let started = Instant::now();
    let tasks: Vec<_> = (0..in_flight)
        .map(|i| {
            let (c, q) = (client.clone(), q.clone());
            let n = total / in_flight + usize::from(i < total % in_flight);
            tokio::spawn(async move {
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    let t = Instant::now();
                    let r = c.verify(&q).await;
                    let latency = t.elapsed();
                    if let Err(e) = &r {
                        note_error(&e.to_string());
                    }
                    if latency > DEADLINE {
                        match &r {
                            Ok(_) => note_late("answered", latency),
                            Err(e) => note_late(&e.to_string(), latency),
                        }
                    }
                    out.push((latency, r.is_ok()));
                }
                out
            })
        })
        .collect();
    let mut lat = Vec::with_capacity(total);
    let mut ok = 0;
    for t in tasks {
        for (l, good) in t.await.unwrap() {
            lat.push(l);
            ok += usize::from(good);
        }
    }
    finish(
        lat,
        ok,
        started.elapsed(),
        sampler,
        rss_before,
        heap_before,
        in_flight,
    )
}

fn blocking_run(client: &Client, q: &Query, threads: usize, total: usize) -> RunResult {
    let rss_before = proc_status("VmRSS:");
    let heap_before = heap_mark();
    let sampler = Sampler::start();
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (c, q) = (client.clone(), q.clone());
            let n = total / threads + usize::from(i < total % threads);
            std::thread::spawn(move || {
                (0..n)
                    .map(|_| {
                        let t = Instant::now();
                        let r = c.verify(&q);
                        if let Err(e) = &r {
                            note_error(&e.to_string());
                        }
                        (t.elapsed(), r.is_ok())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut lat = Vec::with_capacity(total);
    let mut ok = 0;
    for h in handles {
        for (l, good) in h.join().unwrap() {
            lat.push(l);
            ok += usize::from(good);
        }
    }
    finish(
        lat,
        ok,
        started.elapsed(),
        sampler,
        rss_before,
        heap_before,
        threads,
    )
}

async fn open_breaker_run(
    client: &andal::AsyncClient,
    q: &Query,
    in_flight: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let submitted_at = Instant::now();
    let tasks: Vec<_> = (0..in_flight)
        .map(|_| {
            let (c, q) = (client.clone(), q.clone());
            tokio::spawn(async move {
                let t = Instant::now();
                let r = c.verify(&q).await;
                assert!(r.is_err(), "the breaker is open");
                (t.elapsed(), submitted_at.elapsed())
            })
        })
        .collect();
    let (mut own, mut sub) = (Vec::new(), Vec::new());
    for t in tasks {
        let (a, b) = t.await.unwrap();
        own.push(a);
        sub.push(b);
    }
    own.sort();
    sub.sort();
    (own, sub)
}

/// The same request as the client's, on a bare hyper-util client (no deadline, breaker,
/// retries or parsing beyond collecting the body): the floor for the client overhead.
struct BareHyper {
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
    url: String,
    body: Bytes,
}

impl BareHyper {
    fn new(base: &str, q: &Query) -> Self {
        let body = serde_json::to_vec(&andal::api::CheckRequest::from_query(q)).unwrap();
        BareHyper {
            client: hyper_util::client::legacy::Client::builder(
                hyper_util::rt::TokioExecutor::new(),
            )
            .build_http(),
            url: format!("{base}{}", andal::api::CHECKS_PATH),
            body: Bytes::from(body),
        }
    }

    async fn run(&self, in_flight: usize, total: usize) -> RunResult {
        let rss_before = proc_status("VmRSS:");
        let heap_before = heap_mark();
        let sampler = Sampler::start();
        let started = Instant::now();
        let tasks: Vec<_> = (0..in_flight)
            .map(|i| {
                let (c, url, body) = (self.client.clone(), self.url.clone(), self.body.clone());
                let n = total / in_flight + usize::from(i < total % in_flight);
                tokio::spawn(async move {
                    let mut out = Vec::with_capacity(n);
                    for _ in 0..n {
                        let t = Instant::now();
                        let req = http::Request::post(&url)
                            .header(
                                "Authorization",
                                format!("Bearer {}", andal_sandbox::DEMO_BANK_KEY),
                            )
                            .header("Content-Type", "application/json")
                            .header("Accept", "application/json")
                            .header(
                                andal::api::IDEMPOTENCY_KEY_HEADER,
                                andal::client::new_idempotency_key(),
                            )
                            .header(
                                andal::api::PARTNER_ID_HEADER,
                                andal_sandbox::DEMO_BANK_PARTNER,
                            )
                            .body(Full::new(body.clone()))
                            .unwrap();
                        let good = match tokio::time::timeout(DEADLINE, c.request(req)).await {
                            Ok(Ok(resp)) => {
                                let status = resp.status();
                                resp.into_body().collect().await.is_ok() && status == 200
                            }
                            Ok(Err(e)) => {
                                let mut m = e.to_string();
                                let mut src = std::error::Error::source(&e);
                                while let Some(s) = src {
                                    m.push_str(&format!(": {s}"));
                                    src = s.source();
                                }
                                note_error(&m);
                                false
                            }
                            Err(_) => {
                                note_error("deadline");
                                false
                            }
                        };
                        out.push((t.elapsed(), good));
                    }
                    out
                })
            })
            .collect();
        let mut lat = Vec::with_capacity(total);
        let mut ok = 0;
        for t in tasks {
            for (l, good) in t.await.unwrap() {
                lat.push(l);
                ok += usize::from(good);
            }
        }
        finish(
            lat,
            ok,
            started.elapsed(),
            sampler,
            rss_before,
            heap_before,
            in_flight,
        )
    }
}
