//! # andal-bench
//!
//! The side-by-side **outage benchmark** (issue 7): the same scripted sandbox outage
//! (healthy → hard down → hang → 503s → recovery) played against each contender in turn,
//! each on a fresh sandbox so the sandbox's accounting is per contender:
//!
//! 1. Andal's Rust client, in process;
//! 2. a naive ureq client (fixed retries, no breaker, no budget);
//! 3. Python `requests` + urllib3 `Retry` + `pybreaker` (a peer script);
//! 4. Andal's Python binding (a peer script).
//!
//! See `docs/benchmarks-outage.md` for the method and the figures.
//!
//! [`degraded`] is the **degraded-registry** benchmark (issue 10 §1): random `503`s at
//! 10-100 % and answers slowed to near the attempt timeout, each scenario met by every
//! contender side by side (`docs/benchmarks.md`, "Degraded registry").
#![warn(missing_docs)]

pub mod degraded;
pub mod report;
pub mod run;
pub mod script;

use report::{ContenderReport, Report};
pub use run::{Contender, ContenderKind, RunConfig};
pub use script::{Phase, PhaseRole, Script};

/// Run every contender in order and build the report. `progress` gets one line per step.
pub fn run_benchmark(
    cfg: &RunConfig,
    contenders: &[Contender],
    mut progress: impl FnMut(&str),
) -> Result<Report, String> {
    let mut out: Vec<ContenderReport> = Vec::new();
    for c in contenders {
        progress(&format!(
            "running {} ({:.1} s script)",
            c.name,
            cfg.script.total().as_secs_f64()
        ));
        let raw = run::run_contender(cfg, c)?;
        let andal = matches!(c.kind, ContenderKind::AndalRust) || c.name.starts_with("andal");
        out.push(report::analyse(cfg, raw, andal));
    }
    Ok(Report {
        date: now_rfc3339(),
        machine: machine(),
        script: cfg.script.clone(),
        load: format!(
            "{} worker threads, one check due every {} ms over all workers (each worker every {} ms, \
             skipping slots it is still busy for), {} sample people cycled, registry of {} (seed {}), \
             deadline / timeout {} s",
            cfg.workers,
            cfg.interval.as_millis(),
            cfg.interval.as_millis() * cfg.workers as u128,
            cfg.sample,
            cfg.people,
            cfg.seed,
            cfg.deadline.as_secs_f64()
        ),
        contenders: out,
    })
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// CPU count and model, OS.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "{cpus} vCPU ({model}), {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}
