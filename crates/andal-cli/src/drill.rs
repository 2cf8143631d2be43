//! `andal drill`: the main job. Starts the embedded sandbox, runs a steady load of checks
//! (synthetic people, some holding wallet tokens), plays a scripted outage (hard down, then
//! hang, then flapping, then recovery) with live progress, reconciles the offline
//! decisions, and prints the outage report with the path of its SVG timeline.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use andal::resilience::{BreakerConfig, BreakerState};
use andal::{CheckOptions, Client, Error, JournalKey, Query, ReconcileReport};
use andal_sandbox::{Fault, SamplePerson, SandboxConfig};
use clap::Args;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// Registry seed (the synthetic population is deterministic per seed).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// A short run (about 10 s) for tests and CI; the default takes about a minute.
    #[arg(long)]
    quick: bool,
    /// Print a JSON summary (no live progress).
    #[arg(long)]
    json: bool,
    /// Folder for the outage report (JSON), its SVG timeline and the offline journal.
    #[arg(long, default_value = "andal-drill")]
    out: PathBuf,
    #[command(flatten)]
    fleet: crate::fleet::FleetArgs,
    #[command(flatten)]
    pub metrics: crate::metrics::MetricsArgs,
}

/// One step of the scripted outage.
#[derive(Debug, Clone, Serialize)]
struct Phase {
    name: &'static str,
    fault: Option<Fault>,
    #[serde(rename = "seconds")]
    secs: f64,
}

fn script(quick: bool) -> Vec<Phase> {
    let k = if quick { 0.2 } else { 1.0 };
    let p = |name, fault, secs: f64| Phase {
        name,
        fault,
        secs: secs * k,
    };
    vec![
        p("healthy", None, 8.0),
        p("hard down", Some(Fault::Down), 15.0),
        p("hang", Some(Fault::Hang), 10.0),
        p(
            "flapping",
            Some(Fault::Flapping {
                down_ms: if quick { 400 } else { 1500 },
                up_ms: if quick { 400 } else { 1500 },
            }),
            12.0,
        ),
        p("recovered", None, 12.0),
    ]
}

/// Counters shared by the workers and the progress line.
#[derive(Default)]
struct Tally {
    online: AtomicU64,
    offline: AtomicU64,
    refused: AtomicU64,
    other: AtomicU64,
    late: AtomicU64,
    max_ms: AtomicU64,
}

#[derive(Debug, Serialize)]
struct PhaseSummary {
    phase: &'static str,
    checks: u64,
    online: u64,
    offline: u64,
    refused: u64,
    other_errors: u64,
    upstream_requests: u64,
}

#[derive(Debug, Serialize)]
struct DrillSummary {
    seed: u64,
    script: Vec<Phase>,
    deadline_ms: u64,
    phases: Vec<PhaseSummary>,
    max_check_ms: u64,
    every_check_within_deadline: bool,
    fees_charged: u64,
    reconciliation: ReconcileReport,
    revoked_during_outage: usize,
    outage_report_path: String,
    svg_path: String,
    page_path: String,
}

const DEADLINE: Duration = Duration::from_secs(2);
/// Scheduling slack allowed on top of the deadline when judging "within deadline".
const MARGIN: Duration = Duration::from_millis(250);
const WORKERS: usize = 4;

pub fn run(args: DrillArgs) -> ExitCode {
    if args.fleet.fleet.is_some() {
        return crate::fleet::run(args.quick, args.seed, args.json, &args.out, &args.fleet);
    }
    match drill(&args) {
        Ok(summary) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&summary).unwrap_or_default()
                );
            }
            if summary.every_check_within_deadline {
                ExitCode::SUCCESS
            } else {
                eprintln!("andal drill: some checks overran their deadline");
                ExitCode::FAILURE
            }
        }
        Err(msg) => {
            eprintln!("andal drill: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn drill(args: &DrillArgs) -> Result<DrillSummary, String> {
    let say = |s: String| {
        if !args.json {
            println!("{s}");
        }
    };
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let journal_path = args.out.join("offline.journal");
    // A fresh journal per drill: the key below exists only for this run.
    let _ = std::fs::remove_file(&journal_path);

    let sandbox = andal_sandbox::start(SandboxConfig::default().seed(args.seed))
        .map_err(|e| format!("sandbox: {e}"))?;
    let issuer = sandbox.issuer().ok_or("sandbox has no issuer")?.clone();
    let quick = args.quick;
    let client = Client::builder(sandbox.url())
        .partner_id(andal_sandbox::DEMO_BANK_PARTNER)
        .api_key(andal_sandbox::DEMO_BANK_KEY)
        .allow_insecure_http(true)
        .deadline(DEADLINE)
        .attempt_timeout(Duration::from_millis(800))
        // The drill compresses hours into a minute: a short open wait so recovery shows.
        .breaker_config(
            BreakerConfig::builder()
                .count_window(20)
                .minimum_number_of_calls(8)
                // Below the 800 ms attempt timeout (the breaker refuses a threshold above it).
                .slow_call_duration_threshold(Duration::from_millis(600))
                .wait_duration_in_open(Duration::from_millis(if quick { 500 } else { 2000 }))
                .open_wait_growth(2.0, Duration::from_secs(if quick { 2 } else { 8 }))
                .permitted_calls_in_half_open(2)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .trust_roots(vec![issuer.root_key()])
        .trust_cache_dir(args.out.join("trust"))
        .journal(&journal_path, journal_key(&args.out)?)
        .build()
        .map_err(|e| e.to_string())?;
    client.refresh_trust().map_err(|e| format!("trust: {e}"))?;

    // The crowd: synthetic people; about two in three hold a wallet token.
    let people: Vec<(SamplePerson, Option<String>)> = sandbox
        .sample(240)
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let token = (i % 3 != 0)
                .then(|| sandbox.mint_token(&p.nik, andal_sandbox::DEMO_BANK_PARTNER))
                .flatten();
            (p, token)
        })
        .collect();
    let people = Arc::new(people);

    let plan = script(quick);
    say(format!(
        "andal drill: sandbox {} (seed {}), {} workers, deadline {} ms",
        sandbox.url(),
        args.seed,
        WORKERS,
        DEADLINE.as_millis()
    ));
    say(format!(
        "script: {}",
        plan.iter()
            .map(|p| format!("{} {:.0}s", p.name, p.secs))
            .collect::<Vec<_>>()
            .join(" -> ")
    ));

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (client, people, tally, stop, next) = (
                client.clone(),
                people.clone(),
                tally.clone(),
                stop.clone(),
                next.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let (p, token) = &people[i % people.len()];
                    check_one(&client, p, token.as_deref(), &tally);
                    std::thread::sleep(Duration::from_millis(80));
                }
            })
        })
        .collect();

    let started = Instant::now();
    let mut phases = Vec::new();
    let mut revoked = 0usize;
    let mut last_after = snapshot(&tally);
    for phase in &plan {
        match &phase.fault {
            Some(f) => sandbox.set_fault(f.clone()),
            None => sandbox.clear_fault(),
        }
        let before = snapshot(&tally);
        let upstream_before = sandbox.accounting().check_requests;
        let until = Instant::now() + Duration::from_secs_f64(phase.secs);
        while Instant::now() < until {
            std::thread::sleep(
                Duration::from_millis(if quick { 250 } else { 1000 })
                    .min(until.saturating_duration_since(Instant::now())),
            );
            say(progress_line(started, phase.name, &client, &tally));
        }
        if phase.name == "hang" && revoked == 0 {
            // The issuer revokes one token mid-outage; the partner learns it only when the
            // registry is back, and reconciliation must contradict the offline answer.
            if let Some((p, _)) = people.iter().find(|(_, t)| t.is_some()) {
                issuer.revoke_person(&p.nik);
                revoked = 1;
            }
        }
        let after = snapshot(&tally);
        last_after = after;
        phases.push(PhaseSummary {
            phase: phase.name,
            checks: after.iter().sum::<u64>() - before.iter().sum::<u64>(),
            online: after[0] - before[0],
            offline: after[1] - before[1],
            refused: after[2] - before[2],
            other_errors: after[3] - before[3],
            upstream_requests: sandbox.accounting().check_requests - upstream_before,
        });
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    // Checks still in flight when the last phase ended finish during the join above: they
    // belong to that phase, so the phase totals equal the journal and the outage record.
    let end = snapshot(&tally);
    if let Some(last) = phases.last_mut() {
        let late: Vec<u64> = end.iter().zip(last_after).map(|(e, a)| e - a).collect();
        last.online += late[0];
        last.offline += late[1];
        last.refused += late[2];
        last.other_errors += late[3];
        last.checks += late.iter().sum::<u64>();
    }
    sandbox.clear_fault();

    // The registry is back: learn revocations, then re-check every offline decision.
    client
        .refresh_trust()
        .map_err(|e| format!("trust refresh after recovery: {e}"))?;
    let mut reconciliation = client.reconcile().map_err(|e| e.to_string())?;
    for _ in 0..10 {
        if reconciliation.still_pending == 0 {
            break;
        }
        // The breaker may still be waiting out its open time after the last flap.
        std::thread::sleep(Duration::from_millis(500));
        let more = client.reconcile().map_err(|e| e.to_string())?;
        reconciliation.confirmed += more.confirmed;
        reconciliation.contradicted += more.contradicted;
        reconciliation.still_pending = more.still_pending;
        reconciliation.items.extend(more.items);
    }

    let report = client.outage_report();
    let report_path = args.out.join("outage-report.json");
    std::fs::write(&report_path, report.to_json()).map_err(|e| e.to_string())?;
    let svg_path = args.out.join("outage-timeline.svg");
    let svg = andal_report::render_timeline_svg(&report).map_err(|e| e.to_string())?;
    std::fs::write(&svg_path, svg).map_err(|e| e.to_string())?;
    let page_path = args.out.join("outage-page.html");
    let page = andal_report::render_page(&report, &andal_report::RenderOptions::default())
        .map_err(|e| e.to_string())?;
    std::fs::write(&page_path, page).map_err(|e| e.to_string())?;

    let max_ms = tally.max_ms.load(Ordering::Relaxed);
    let late = tally.late.load(Ordering::Relaxed);
    if !args.json {
        println!();
        println!(
            "{:<10} {:>7} {:>7} {:>8} {:>8} {:>6} {:>9}",
            "phase", "checks", "online", "offline", "refused", "other", "upstream"
        );
        for p in &phases {
            println!(
                "{:<10} {:>7} {:>7} {:>8} {:>8} {:>6} {:>9}",
                p.phase,
                p.checks,
                p.online,
                p.offline,
                p.refused,
                p.other_errors,
                p.upstream_requests
            );
        }
        println!();
        println!(
            "reconciliation: {} confirmed, {} contradicted, {} still pending",
            reconciliation.confirmed, reconciliation.contradicted, reconciliation.still_pending
        );
        // One line per token: a revoked token may have answered several checks.
        let mut contradicted: std::collections::BTreeMap<(String, String, String), usize> =
            std::collections::BTreeMap::new();
        for item in &reconciliation.items {
            if let andal::ReconcileOutcome::Contradicted { reason } = &item.outcome {
                *contradicted
                    .entry((
                        item.nik_masked.clone(),
                        item.token_id.clone(),
                        format!("{reason:?}").to_lowercase(),
                    ))
                    .or_default() += 1;
            }
        }
        for ((nik, token, reason), n) in contradicted {
            println!("  contradicted: {nik} (token {token}): {reason}, {n} offline answer(s)");
        }
        println!();
        print!("{}", report.summary_text());
        println!();
        println!(
            "slowest check {max_ms} ms (deadline {} ms); {} over deadline",
            DEADLINE.as_millis(),
            late
        );
        println!("outage report: {}", report_path.display());
        println!("timeline (SVG): {}", svg_path.display());
        println!("outage page (HTML): {}", page_path.display());
        println!(
            "offline journal: andal journal --journal {} --key-file {}",
            journal_path.display(),
            args.out.join("journal.key").display()
        );
    }
    Ok(DrillSummary {
        seed: args.seed,
        script: plan,
        deadline_ms: DEADLINE.as_millis() as u64,
        phases,
        max_check_ms: max_ms,
        every_check_within_deadline: late == 0,
        fees_charged: sandbox.accounting().total_charged(),
        reconciliation,
        revoked_during_outage: revoked,
        outage_report_path: report_path.display().to_string(),
        svg_path: svg_path.display().to_string(),
        page_path: page_path.display().to_string(),
    })
}

/// A fresh journal key for this drill, saved beside the journal (owner-only) so that
/// `andal journal` can read it afterwards. A demo convenience with synthetic data: real
/// deployments take the key from a KMS, Android Keystore or the iOS Keychain.
fn journal_key(out: &std::path::Path) -> Result<JournalKey, String> {
    let key = JournalKey::generate().map_err(|e| e.to_string())?;
    let hex: String = key
        .expose_secret()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = out.join("journal.key");
    std::fs::write(&path, hex + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| e.to_string())?;
    }
    Ok(key)
}

fn check_one(client: &Client, p: &SamplePerson, token: Option<&str>, tally: &Tally) {
    let Ok(q) = Query::parse(&p.nik, &p.full_name, &p.birth_date) else {
        tally.other.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let mut opts = CheckOptions::default();
    if let Some(t) = token {
        opts = opts.token(t);
    }
    let t = Instant::now();
    let r = client.verify_with(&q, &opts);
    let took = t.elapsed();
    tally
        .max_ms
        .fetch_max(took.as_millis() as u64, Ordering::Relaxed);
    if took > DEADLINE + MARGIN {
        tally.late.fetch_add(1, Ordering::Relaxed);
    }
    let counter = match r {
        Ok(d) if d.is_offline() => &tally.offline,
        Ok(_) => &tally.online,
        Err(Error::Unavailable(_)) => &tally.refused,
        Err(_) => &tally.other,
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

fn snapshot(t: &Tally) -> [u64; 4] {
    [
        t.online.load(Ordering::Relaxed),
        t.offline.load(Ordering::Relaxed),
        t.refused.load(Ordering::Relaxed),
        t.other.load(Ordering::Relaxed),
    ]
}

fn progress_line(started: Instant, phase: &str, client: &Client, tally: &Tally) -> String {
    let [online, offline, refused, other] = snapshot(tally);
    let total = online + offline + refused + other;
    let share = if total == 0 {
        0.0
    } else {
        100.0 * offline as f64 / total as f64
    };
    let state = match client.health().breaker.state {
        BreakerState::Closed => "closed",
        BreakerState::Open => "OPEN",
        BreakerState::HalfOpen => "half-open",
        BreakerState::ForcedOpen => "forced open",
        BreakerState::Disabled => "disabled",
        _ => "?",
    };
    format!(
        "[{:>5.1}s] {phase:<10} breaker {state:<9} online {online:>5}  offline {offline:>5}  refused {refused:>5}  offline share {share:>5.1}%",
        started.elapsed().as_secs_f64()
    )
}
