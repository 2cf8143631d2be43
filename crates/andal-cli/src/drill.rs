//! `andal drill`: the main job. Starts the embedded sandbox, runs checks end to end through
//! a scripted outage, and prints what happened to every check.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use andal::{Client, Decision, Error, Query};
use andal_sandbox::{Fault, SandboxConfig};
use clap::Args;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// Registry seed (the synthetic population is deterministic per seed).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// A short run for tests and CI.
    #[arg(long)]
    quick: bool,
    /// Print a JSON summary instead of the human report.
    #[arg(long)]
    json: bool,
}

/// One scripted phase: a fault (or none) and the checks run under it.
struct Phase {
    name: &'static str,
    fault: Option<Fault>,
    checks: usize,
}

#[derive(Debug, Default, Serialize)]
struct PhaseReport {
    phase: &'static str,
    checks: usize,
    matched: usize,
    mismatch: usize,
    not_found: usize,
    inactive: usize,
    unavailable: usize,
    other_errors: usize,
    max_ms: u64,
    upstream_requests: u64,
}

#[derive(Debug, Serialize)]
struct DrillReport {
    seed: u64,
    phases: Vec<PhaseReport>,
    fees_charged: u64,
    deadline_ms: u64,
    every_check_within_deadline: bool,
}

pub fn run(args: DrillArgs) -> ExitCode {
    match drill(&args) {
        Ok(report) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else {
                print_summary(&report);
            }
            if report.every_check_within_deadline {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(msg) => {
            eprintln!("andal drill: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn drill(args: &DrillArgs) -> Result<DrillReport, String> {
    let deadline = Duration::from_millis(if args.quick { 1500 } else { 3000 });
    let config = SandboxConfig::default().seed(args.seed);
    let sandbox = andal_sandbox::start(config).map_err(|e| format!("sandbox: {e}"))?;
    if !args.json {
        println!("sandbox on {} (seed {})", sandbox.url(), args.seed);
    }
    let client = Client::builder(sandbox.url())
        .partner_id(andal_sandbox::DEMO_BANK_PARTNER)
        .api_key(andal_sandbox::DEMO_BANK_KEY)
        .allow_insecure_http(true)
        .deadline(deadline)
        .attempt_timeout(deadline / 3)
        .build()
        .map_err(|e| e.to_string())?;

    let scale = if args.quick { 1 } else { 4 };
    let phases = [
        Phase {
            name: "healthy",
            fault: None,
            checks: 12 * scale,
        },
        Phase {
            name: "hard down",
            fault: Some(Fault::Down),
            checks: 6 * scale,
        },
        Phase {
            name: "recovered",
            fault: None,
            checks: 6 * scale,
        },
    ];
    let people = sandbox.sample(64);
    let inactive = sandbox.sample_where(4, false);
    let mut reports = Vec::new();
    let mut within = true;
    let mut i = 0usize;
    for phase in &phases {
        match &phase.fault {
            Some(f) => sandbox.set_fault(f.clone()),
            None => sandbox.clear_fault(),
        }
        let before = sandbox.accounting().check_requests;
        let mut r = PhaseReport {
            phase: phase.name,
            ..Default::default()
        };
        for _ in 0..phase.checks {
            // Mix of outcomes: most match, some with a wrong name, some unknown, some inactive.
            let q = match i % 12 {
                5 => {
                    let p = &people[i % people.len()];
                    Query::parse(&p.nik, "Nama Yang Salah", &p.birth_date)
                }
                9 => Query::parse("3316094507990001", "Tidak Terdaftar", "1999-07-05"),
                11 => {
                    let p = &inactive[i % inactive.len()];
                    Query::parse(&p.nik, &p.full_name, &p.birth_date)
                }
                _ => {
                    let p = &people[i % people.len()];
                    Query::parse(&p.nik, &p.full_name, &p.birth_date)
                }
            }
            .map_err(|e| e.to_string())?;
            i += 1;
            let t = Instant::now();
            let result = client.verify(&q);
            let ms = t.elapsed().as_millis() as u64;
            r.max_ms = r.max_ms.max(ms);
            if t.elapsed() > deadline + Duration::from_millis(250) {
                within = false;
            }
            tally(&mut r, &result);
            if !args.json {
                print_line(phase.name, &result, ms);
            }
        }
        r.checks = phase.checks;
        r.upstream_requests = sandbox.accounting().check_requests - before;
        reports.push(r);
    }
    sandbox.clear_fault();
    let fees = sandbox.accounting().total_charged();
    Ok(DrillReport {
        seed: args.seed,
        phases: reports,
        fees_charged: fees,
        deadline_ms: deadline.as_millis() as u64,
        every_check_within_deadline: within,
    })
}

fn tally(r: &mut PhaseReport, result: &Result<Decision, Error>) {
    match result {
        Ok(d) => match d.verdict {
            andal::Verdict::Match => r.matched += 1,
            andal::Verdict::Mismatch => r.mismatch += 1,
            andal::Verdict::NotFound => r.not_found += 1,
            andal::Verdict::InactiveRecord => r.inactive += 1,
            _ => r.other_errors += 1,
        },
        Err(Error::Unavailable(_)) => r.unavailable += 1,
        Err(_) => r.other_errors += 1,
    }
}

fn print_line(phase: &str, result: &Result<Decision, Error>, ms: u64) {
    match result {
        Ok(d) => println!(
            "[{phase:>10}] {}  {:<15} {:>5} ms  name {} / birth date {}",
            d.nik_masked,
            d.verdict.as_str(),
            ms,
            d.fields.full_name.as_str(),
            d.fields.birth_date.as_str()
        ),
        Err(e) => println!("[{phase:>10}] {:<32} {:>5} ms  {e}", e.code(), ms),
    }
}

fn print_summary(r: &DrillReport) {
    println!();
    println!(
        "{:<10} {:>6} {:>6} {:>8} {:>9} {:>8} {:>11} {:>7} {:>9}",
        "phase",
        "checks",
        "match",
        "mismatch",
        "not found",
        "inactive",
        "unavailable",
        "max ms",
        "upstream"
    );
    for p in &r.phases {
        println!(
            "{:<10} {:>6} {:>6} {:>8} {:>9} {:>8} {:>11} {:>7} {:>9}",
            p.phase,
            p.checks,
            p.matched,
            p.mismatch,
            p.not_found,
            p.inactive,
            p.unavailable,
            p.max_ms,
            p.upstream_requests
        );
    }
    println!(
        "fees charged: {}; every check decided within its {} ms deadline: {}",
        r.fees_charged,
        r.deadline_ms,
        if r.every_check_within_deadline {
            "yes"
        } else {
            "NO"
        }
    );
}
