//! `andal-outage-bench`: run the side-by-side outage benchmark and print the table;
//! `--degraded`: the degraded-registry benchmark instead.

use std::path::PathBuf;
use std::time::Duration;

use andal_bench::degraded::{self, DegradedConfig};
use andal_bench::{Contender, RunConfig, Script, run_benchmark};
use clap::Parser;

/// Side-by-side outage benchmark (issue 7): Andal vs naive and Python peers on the same
/// scripted sandbox outage. With --degraded: the degraded-registry scenarios (random 503s,
/// answers slowed to near the attempt timeout), every contender per scenario. Markdown to
/// stdout, JSON to --json.
#[derive(Debug, Parser)]
#[command(name = "andal-outage-bench")]
struct Args {
    /// Run the degraded-registry scenarios (docs/benchmarks.md, "Degraded registry")
    /// instead of the outage script.
    #[arg(long)]
    degraded: bool,
    /// Degraded scenarios to run, comma-separated: err10, err30, err50, err70, err100,
    /// lat0.9, lat1.1 (default: all).
    #[arg(long, value_delimiter = ',', requires = "degraded")]
    scenarios: Vec<String>,
    /// Length of each 503 cell in seconds (degraded mode; default 10).
    #[arg(long, requires = "degraded")]
    error_cell_secs: Option<f64>,
    /// Length of each latency cell in seconds (degraded mode; default 15).
    #[arg(long, requires = "degraded")]
    latency_cell_secs: Option<f64>,
    /// Scale the script by 0.25 (a smoke test; the breaker's open wait is not scaled).
    #[arg(long)]
    quick: bool,
    /// Scale the script by this factor instead.
    #[arg(long, conflicts_with = "quick")]
    scale: Option<f64>,
    /// Contenders to run, comma-separated: andal-rust, naive-rust, requests-pybreaker,
    /// andal-python.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "andal-rust,naive-rust,requests-pybreaker,andal-python"
    )]
    contenders: Vec<String>,
    /// Python interpreter for the peers (default: $ANDAL_CACHE/venv/bin/python, ANDAL_CACHE
    /// defaulting to ~/.cache/andal).
    #[arg(long, env = "ANDAL_BENCH_PYTHON")]
    python: Option<PathBuf>,
    /// Write the full report (figures, raw checks, switches) as JSON here (default
    /// target/andal-outage-bench.json, or target/andal-degraded-bench.json).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Worker threads per contender (default 4; degraded: 8).
    #[arg(long)]
    workers: Option<usize>,
    /// One check due every this many ms over all workers (default 50; degraded: 25).
    #[arg(long)]
    interval_ms: Option<u64>,
    /// Sandbox registry seed.
    #[arg(long, default_value_t = andal_sandbox::DEFAULT_SEED)]
    seed: u64,
}

fn default_python() -> PathBuf {
    let cache = std::env::var_os("ANDAL_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into()))
                .join(".cache/andal")
        });
    cache.join("venv/bin/python")
}

fn main() {
    let args = Args::parse();
    let factor = if args.quick {
        0.25
    } else {
        args.scale.unwrap_or(1.0)
    };
    let cfg = RunConfig {
        script: Script::standard().scaled(factor),
        seed: args.seed,
        workers: args.workers.unwrap_or(4).max(1),
        interval: Duration::from_millis(args.interval_ms.unwrap_or(50).max(1)),
        ..RunConfig::default()
    };
    let python = args.python.clone().unwrap_or_else(default_python);
    let peers = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers");
    let mut contenders = Vec::new();
    for name in &args.contenders {
        contenders.push(match name.trim() {
            "andal-rust" => Contender::andal_rust(),
            "naive-rust" => Contender::naive_rust(),
            "requests-pybreaker" => Contender::requests_pybreaker(python.clone(), &peers),
            "andal-python" => Contender::andal_python(python.clone(), &peers),
            other => {
                eprintln!("unknown contender {other:?}");
                std::process::exit(2);
            }
        });
    }
    if args.degraded {
        run_degraded(&args, factor, &contenders);
        return;
    }
    eprintln!("script: {}", cfg.script.describe());
    let report = match run_benchmark(&cfg, &contenders, |m| eprintln!("andal-outage-bench: {m}")) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("andal-outage-bench: {e}");
            std::process::exit(1);
        }
    };
    print!("{}", report.to_markdown());
    let json = args
        .json
        .clone()
        .unwrap_or_else(|| PathBuf::from("target/andal-outage-bench.json"));
    write_json(&json, &report);
}

/// `--degraded`: every scenario × contender, side by side.
fn run_degraded(args: &Args, factor: f64, contenders: &[Contender]) {
    let defaults = DegradedConfig::default();
    let secs =
        |s: Option<f64>, d: u64| Duration::from_secs_f64(s.unwrap_or(d as f64).max(0.1) * factor);
    let all = degraded::standard_scenarios(
        secs(args.error_cell_secs, 10),
        secs(args.latency_cell_secs, 15),
    );
    let scenarios = if args.scenarios.is_empty() {
        all
    } else {
        let mut v = Vec::new();
        for key in &args.scenarios {
            match all.iter().find(|s| s.key() == key.trim()) {
                Some(s) => v.push(s.clone()),
                None => {
                    eprintln!("unknown scenario {key:?} (err10 ... err100, lat0.9, lat1.1)");
                    std::process::exit(2);
                }
            }
        }
        v
    };
    let cfg = DegradedConfig {
        scenarios,
        base: RunConfig {
            seed: args.seed,
            workers: args.workers.unwrap_or(defaults.base.workers).max(1),
            interval: args.interval_ms.map_or(defaults.base.interval, |ms| {
                Duration::from_millis(ms.max(1))
            }),
            ..defaults.base
        },
    };
    let report = match degraded::run_degraded(&cfg, contenders, |m| {
        eprintln!("andal-outage-bench --degraded: {m}")
    }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("andal-outage-bench: {e}");
            std::process::exit(1);
        }
    };
    print!("{}", report.to_markdown());
    let json = args
        .json
        .clone()
        .unwrap_or_else(|| PathBuf::from("target/andal-degraded-bench.json"));
    write_json(&json, &report);
}

fn write_json(path: &std::path::Path, report: &impl serde::Serialize) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match serde_json::to_vec_pretty(report) {
        Ok(j) => {
            if let Err(e) = std::fs::write(path, j) {
                eprintln!("cannot write {}: {e}", path.display());
                std::process::exit(1);
            }
            eprintln!("JSON report: {}", path.display());
        }
        Err(e) => {
            eprintln!("cannot encode the report: {e}");
            std::process::exit(1);
        }
    }
}
