//! Running one contender against a fresh sandbox while a timeline thread plays the script.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use andal::resilience::{EventListener, ResilienceEvent};
use andal::{Client, Error, Provenance, UnavailableCause, Verdict};
use andal_sandbox::{PartnerAccounting, SamplePerson, Sandbox, SandboxConfig};
use parking_lot_free::Mutex;
use serde::{Deserialize, Serialize};

use crate::script::Script;

/// `std::sync::Mutex` without poisoning noise.
mod parking_lot_free {
    pub struct Mutex<T>(std::sync::Mutex<T>);
    impl<T> Mutex<T> {
        pub fn new(v: T) -> Self {
            Mutex(std::sync::Mutex::new(v))
        }
        pub fn lock(&self) -> std::sync::MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(|e| e.into_inner())
        }
    }
}

/// Partner every contender calls as (the sandbox's demo bank).
pub const PARTNER: &str = andal_sandbox::DEMO_BANK_PARTNER;
/// Its API key.
pub const API_KEY: &str = andal_sandbox::DEMO_BANK_KEY;

/// One check as a contender saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRecord {
    /// Start, ms after the script's t = 0.
    pub t_start_ms: f64,
    /// Time to decision, ms.
    pub duration_ms: f64,
    /// `ok`, `mismatch` or `error:<class>`.
    pub outcome: String,
    /// Requests the client sent upstream for this check (client-side count), when known.
    #[serde(default)]
    pub attempts: Option<u32>,
    /// For a check refused by the contender's own breaker: the time until the breaker lets
    /// a probe through, in ms, when the client says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_in_ms: Option<f64>,
}

impl CheckRecord {
    /// An online answer (match or not).
    pub fn is_success(&self) -> bool {
        self.outcome == "ok" || self.outcome == "mismatch"
    }
}

/// Who is measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContenderKind {
    /// `andal::Client`, in process.
    AndalRust,
    /// ureq 3, three fixed retries 500 ms apart, fresh idempotency key per attempt.
    NaiveRust,
    /// A Python peer script run with the venv's interpreter.
    Python {
        /// Interpreter.
        python: PathBuf,
        /// Peer script.
        script: PathBuf,
    },
}

/// A contender with its report name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contender {
    /// Short name (table row).
    pub name: String,
    /// One-line description of its policies.
    pub description: String,
    /// How to run it.
    pub kind: ContenderKind,
}

impl Contender {
    /// Andal's Rust client: default policies, deadline 5 s.
    pub fn andal_rust() -> Self {
        Contender {
            name: "andal (Rust)".into(),
            description: "andal::Client, default policies (3 attempts, full-jitter backoff, \
                          10% retry budget, breaker 50%/20 calls, open wait 15 s ×2), deadline 5 s"
                .into(),
            kind: ContenderKind::AndalRust,
        }
    }
    /// The naive ureq client.
    pub fn naive_rust() -> Self {
        Contender {
            name: "naive ureq (Rust)".into(),
            description: "ureq 3, 1 + 3 fixed retries 500 ms apart on 5xx/429/transport errors, \
                          timeout 5 s per request, fresh idempotency key per attempt, no breaker, no budget"
                .into(),
            kind: ContenderKind::NaiveRust,
        }
    }
    /// `peers/requests_pybreaker.py`.
    pub fn requests_pybreaker(python: PathBuf, peers_dir: &std::path::Path) -> Self {
        Contender {
            name: "requests + Retry + pybreaker".into(),
            description: "requests, urllib3 Retry(total=3, backoff_factor=0.5, \
                          status_forcelist=[502,503,504], allowed_methods=None), \
                          pybreaker.CircuitBreaker() (fail_max=5, reset_timeout=60), timeout 5 s"
                .into(),
            kind: ContenderKind::Python {
                python,
                script: peers_dir.join("requests_pybreaker.py"),
            },
        }
    }
    /// `peers/andal_python.py`.
    pub fn andal_python(python: PathBuf, peers_dir: &std::path::Path) -> Self {
        Contender {
            name: "andal (Python)".into(),
            description: "andal.Client from the Python binding, default policies, deadline 5 s"
                .into(),
            kind: ContenderKind::Python {
                python,
                script: peers_dir.join("andal_python.py"),
            },
        }
    }
}

/// Load and sandbox settings shared by every contender.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The outage script.
    pub script: Script,
    /// Registry seed (fixed: every contender meets the same people).
    pub seed: u64,
    /// Registry size.
    pub people: usize,
    /// Sample people the checks cycle through.
    pub sample: usize,
    /// Worker threads per contender.
    pub workers: usize,
    /// One check is due every `interval` over all workers (each worker: every
    /// `interval × workers`; a worker still busy skips the slots it missed).
    pub interval: Duration,
    /// Deadline given to the Andal clients (and the timeout of the others).
    pub deadline: Duration,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            script: Script::standard(),
            seed: andal_sandbox::DEFAULT_SEED,
            people: 20_000,
            sample: 500,
            workers: 4,
            interval: Duration::from_millis(50),
            deadline: Duration::from_secs(5),
        }
    }
}

/// When the timeline switched a phase in, and the partner's counters just before.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Switch {
    /// Phase index (`phases.len()` for the end of the script).
    pub phase: usize,
    /// When the switch was in force, ms after t = 0.
    pub at_ms: f64,
    /// The partner's counters just before the switch.
    pub before: PartnerAccounting,
}

/// A breaker transition seen by the in-process Andal client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transition {
    /// ms after t = 0.
    pub at_ms: f64,
    /// `closed`, `open`, `half_open`, ...
    pub from: String,
    /// New state.
    pub to: String,
}

/// Everything measured for one contender.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RawRun {
    /// Contender name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Every check.
    pub checks: Vec<CheckRecord>,
    /// Phase switches with counters.
    pub switches: Vec<Switch>,
    /// Counters after the contender finished.
    pub final_accounting: PartnerAccounting,
    /// Breaker transitions (in-process Andal only).
    pub transitions: Vec<Transition>,
    /// Every `/v1/*` request the sandbox received over the run, all callers (check
    /// requests plus health probes and trust documents), counted after the contender
    /// finished.
    #[serde(default)]
    pub final_v1_requests: u64,
}

/// Run one contender against a fresh sandbox.
pub fn run_contender(cfg: &RunConfig, contender: &Contender) -> Result<RawRun, String> {
    let sandbox = andal_sandbox::start(SandboxConfig::default().seed(cfg.seed).people(cfg.people))
        .map_err(|e| format!("sandbox: {e}"))?;
    let people = sandbox.sample(cfg.sample);
    // A fault in force from t = 0 is set before the first check can start.
    if let Some(f) = cfg.script.phases.first().and_then(|p| p.fault.clone()) {
        sandbox.set_fault(f);
    }
    let (checks, switches, transitions) = match &contender.kind {
        ContenderKind::AndalRust => {
            let t0 = Instant::now();
            let listener = Arc::new(TransitionLog {
                t0,
                log: Mutex::new(Vec::new()),
            });
            let client = Client::builder(sandbox.url())
                .partner_id(PARTNER)
                .api_key(API_KEY)
                .allow_insecure_http(true)
                .deadline(cfg.deadline)
                .listener(listener.clone())
                .build()
                .map_err(|e| format!("andal client: {e}"))?;
            let check = |p: &SamplePerson| andal_check(&client, p);
            let (checks, switches) = run_paced(cfg, &sandbox, &people, t0, &check);
            let transitions = std::mem::take(&mut *listener.log.lock());
            (checks, switches, transitions)
        }
        ContenderKind::NaiveRust => {
            let naive = NaiveClient::new(&sandbox.url(), cfg.deadline);
            let check = |p: &SamplePerson| naive.check(p);
            let (checks, switches) = run_paced(cfg, &sandbox, &people, Instant::now(), &check);
            (checks, switches, Vec::new())
        }
        ContenderKind::Python { python, script } => {
            let (checks, switches) = run_python(cfg, &sandbox, &people, python, script)?;
            (checks, switches, Vec::new())
        }
    };
    let accounting = sandbox.accounting();
    let final_accounting = accounting.partner(PARTNER);
    let final_v1_requests = accounting.v1_requests;
    sandbox.stop();
    Ok(RawRun {
        name: contender.name.clone(),
        description: contender.description.clone(),
        checks,
        switches,
        final_accounting,
        transitions,
        final_v1_requests,
    })
}

fn ms_since(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64() * 1000.0
}

/// Play the script on `sandbox` from `t0`; returns the switches (with a final one at the
/// end of the script).
fn play_timeline(sandbox: &Sandbox, script: &Script, t0: Instant) -> Vec<Switch> {
    let mut out = Vec::new();
    let offsets = script.offsets_ms();
    for (i, phase) in script.phases.iter().enumerate() {
        sleep_until(t0 + Duration::from_millis(offsets[i]));
        let before = sandbox.accounting().partner(PARTNER);
        match &phase.fault {
            // Already in force from before t = 0 (set by `run_contender`).
            _ if i == 0 && sandbox.fault() == phase.fault => {}
            Some(f) => sandbox.set_fault(f.clone()),
            None => sandbox.clear_fault(),
        }
        out.push(Switch {
            phase: i,
            at_ms: ms_since(t0),
            before,
        });
    }
    sleep_until(t0 + script.total());
    out.push(Switch {
        phase: script.phases.len(),
        at_ms: ms_since(t0),
        before: sandbox.accounting().partner(PARTNER),
    });
    out
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

/// Drive `check` from `cfg.workers` threads at the configured pace while the timeline
/// plays. Worker `w` has slots at `w × interval + k × interval × workers`; a check that
/// overruns its slots makes the worker skip them (it starts at the next free slot).
fn run_paced<F>(
    cfg: &RunConfig,
    sandbox: &Sandbox,
    people: &[SamplePerson],
    t0: Instant,
    check: &F,
) -> (Vec<CheckRecord>, Vec<Switch>)
where
    F: Fn(&SamplePerson) -> Outcome + Sync,
{
    let end = t0 + cfg.script.total();
    let next_person = AtomicUsize::new(0);
    let records = Mutex::new(Vec::new());
    let period = cfg.interval * cfg.workers as u32;
    let switches = std::thread::scope(|s| {
        let timeline = s.spawn(|| play_timeline(sandbox, &cfg.script, t0));
        for w in 0..cfg.workers {
            let (next_person, records) = (&next_person, &records);
            s.spawn(move || {
                let mut slot = t0 + cfg.interval * w as u32;
                while slot < end {
                    sleep_until(slot);
                    let i = next_person.fetch_add(1, Ordering::Relaxed) % people.len();
                    let started = Instant::now();
                    let (outcome, attempts, retry_in_ms) = check(&people[i]);
                    let took = started.elapsed();
                    records.lock().push(CheckRecord {
                        t_start_ms: started.duration_since(t0).as_secs_f64() * 1000.0,
                        duration_ms: took.as_secs_f64() * 1000.0,
                        outcome,
                        attempts,
                        retry_in_ms,
                    });
                    let now = Instant::now();
                    while slot <= now {
                        slot += period;
                    }
                }
            });
        }
        timeline.join().expect("timeline thread")
    });
    let mut records = records.lock().split_off(0);
    records.sort_by(|a, b| a.t_start_ms.total_cmp(&b.t_start_ms));
    (records, switches)
}

/// What a check function returns: outcome class, attempts sent, breaker's time to a probe.
pub type Outcome = (String, Option<u32>, Option<f64>);

fn andal_check(client: &Client, p: &SamplePerson) -> Outcome {
    let query = p.query();
    match client.verify(&query) {
        Ok(d) => {
            let attempts = match d.provenance {
                Provenance::Online { attempts, .. } => Some(attempts),
                _ => None,
            };
            let outcome = if d.verdict == Verdict::Match {
                "ok"
            } else {
                "mismatch"
            };
            (outcome.into(), attempts, None)
        }
        Err(Error::Unavailable(u)) => {
            let retry_in = match u.cause {
                UnavailableCause::BreakerOpen { retry_in } => {
                    retry_in.map(|d| d.as_secs_f64() * 1000.0)
                }
                _ => None,
            };
            (
                format!("error:{}", u.cause.label()),
                Some(u.attempts),
                retry_in,
            )
        }
        Err(e) => (format!("error:{}", e.code()), None, None),
    }
}

struct TransitionLog {
    t0: Instant,
    log: Mutex<Vec<Transition>>,
}

impl EventListener for TransitionLog {
    fn on_event(&self, event: &ResilienceEvent) {
        if let ResilienceEvent::StateTransition { from, to, .. } = event {
            self.log.lock().push(Transition {
                at_ms: ms_since(self.t0),
                from: format!("{from:?}"),
                to: format!("{to:?}"),
            });
        }
    }
}

/// What a naive integrator writes: a fixed number of retries at a fixed interval, a new
/// idempotency key per attempt, no breaker, no budget, no total deadline.
pub struct NaiveClient {
    agent: ureq::Agent,
    url: String,
}

/// Retries after the first attempt.
pub const NAIVE_RETRIES: u32 = 3;
/// Pause between attempts.
pub const NAIVE_PAUSE: Duration = Duration::from_millis(500);

impl NaiveClient {
    /// A client for `base_url` with a per-request timeout.
    pub fn new(base_url: &str, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .new_agent();
        NaiveClient {
            agent,
            url: format!(
                "{}{}",
                base_url.trim_end_matches('/'),
                andal::api::CHECKS_PATH
            ),
        }
    }

    /// One check: outcome class and attempts sent.
    pub fn check(&self, p: &SamplePerson) -> Outcome {
        let body = serde_json::to_vec(&p.check_request()).expect("encodable request");
        let mut last = String::new();
        for attempt in 1..=NAIVE_RETRIES + 1 {
            if attempt > 1 {
                std::thread::sleep(NAIVE_PAUSE);
            }
            let key = andal::client::new_idempotency_key();
            let result = self
                .agent
                .post(&self.url)
                .header("Authorization", &format!("Bearer {API_KEY}"))
                .header("Content-Type", "application/json")
                .header(andal::api::IDEMPOTENCY_KEY_HEADER, &key)
                .send(&body[..]);
            match result {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    let text = resp.body_mut().read_to_string().unwrap_or_default();
                    if status == 200 {
                        let verdict = serde_json::from_str::<andal::api::CheckResponse>(&text)
                            .map(|r| r.verdict);
                        return match verdict {
                            Ok(Verdict::Match) => ("ok".into(), Some(attempt), None),
                            Ok(_) => ("mismatch".into(), Some(attempt), None),
                            Err(_) => ("error:malformed".into(), Some(attempt), None),
                        };
                    }
                    last = format!("error:http_{status}");
                    if !(status == 429 || status >= 500) {
                        return (last, Some(attempt), None);
                    }
                }
                Err(e) => last = format!("error:{}", classify_ureq(&e)),
            }
        }
        (last, Some(NAIVE_RETRIES + 1), None)
    }
}

fn classify_ureq(e: &ureq::Error) -> &'static str {
    match e {
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "refused",
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "timeout",
            std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::UnexpectedEof => "reset",
            _ => "io",
        },
        ureq::Error::Timeout(_) => "timeout",
        ureq::Error::ConnectionFailed => "refused",
        _ => "other",
    }
}

/// Run a Python peer: it prints `{"ready":true}`, waits for a line on stdin, then runs
/// and prints one JSON line per check and `{"done":true}` at the end.
fn run_python(
    cfg: &RunConfig,
    sandbox: &Sandbox,
    people: &[SamplePerson],
    python: &std::path::Path,
    script: &std::path::Path,
) -> Result<(Vec<CheckRecord>, Vec<Switch>), String> {
    let dir = std::env::temp_dir().join(format!("andal-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("temp dir: {e}"))?;
    let people_file = dir.join("people.json");
    std::fs::write(
        &people_file,
        serde_json::to_vec(people).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("people file: {e}"))?;
    let mut child = Command::new(python)
        .arg(script)
        .arg("--url")
        .arg(sandbox.url())
        .arg("--api-key")
        .arg(API_KEY)
        .arg("--partner")
        .arg(PARTNER)
        .arg("--people")
        .arg(&people_file)
        .arg("--duration-ms")
        .arg(cfg.script.total().as_millis().to_string())
        .arg("--interval-ms")
        .arg(cfg.interval.as_millis().to_string())
        .arg("--workers")
        .arg(cfg.workers.to_string())
        .arg("--deadline-s")
        .arg(cfg.deadline.as_secs_f64().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let ready = lines
        .next()
        .transpose()
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    if !ready.contains("\"ready\"") {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "peer {} did not start (first line: {ready:?})",
            script.display()
        ));
    }
    let t0 = Instant::now();
    writeln!(stdin, "go").map_err(|e| format!("peer stdin: {e}"))?;
    stdin.flush().map_err(|e| format!("peer stdin: {e}"))?;
    let result = std::thread::scope(|s| {
        let timeline = s.spawn(|| play_timeline(sandbox, &cfg.script, t0));
        let mut checks = Vec::new();
        let mut done = false;
        let mut bad = None;
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if line.contains("\"done\"") {
                done = true;
                break;
            }
            match serde_json::from_str::<CheckRecord>(&line) {
                Ok(r) => checks.push(r),
                Err(e) => {
                    bad.get_or_insert(format!("bad peer line {line:?}: {e}"));
                }
            }
        }
        let switches = timeline.join().expect("timeline thread");
        (checks, switches, done, bad)
    });
    drop(stdin);
    let status = child.wait().map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&dir);
    let (mut checks, switches, done, bad) = result;
    if let Some(bad) = bad {
        return Err(bad);
    }
    if !done || !status.success() {
        return Err(format!("peer {} ended early ({status})", script.display()));
    }
    checks.sort_by(|a, b| a.t_start_ms.total_cmp(&b.t_start_ms));
    Ok((checks, switches))
}
