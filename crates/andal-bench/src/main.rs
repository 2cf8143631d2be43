//! `andal-outage-bench`: run the side-by-side outage benchmark and print the table.

use std::path::PathBuf;
use std::time::Duration;

use andal_bench::{Contender, RunConfig, Script, run_benchmark};
use clap::Parser;

/// Side-by-side outage benchmark (issue 7): Andal vs naive and Python peers on the same
/// scripted sandbox outage. Markdown to stdout, JSON to --json.
#[derive(Debug, Parser)]
#[command(name = "andal-outage-bench")]
struct Args {
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
    /// Write the full report (figures, raw checks, switches) as JSON here.
    #[arg(long, default_value = "target/andal-outage-bench.json")]
    json: PathBuf,
    /// Worker threads per contender.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// One check due every this many ms over all workers.
    #[arg(long, default_value_t = 50)]
    interval_ms: u64,
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
        workers: args.workers.max(1),
        interval: Duration::from_millis(args.interval_ms.max(1)),
        ..RunConfig::default()
    };
    let python = args.python.unwrap_or_else(default_python);
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
    eprintln!("script: {}", cfg.script.describe());
    let report = match run_benchmark(&cfg, &contenders, |m| eprintln!("andal-outage-bench: {m}")) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("andal-outage-bench: {e}");
            std::process::exit(1);
        }
    };
    print!("{}", report.to_markdown());
    if let Some(dir) = args.json.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match serde_json::to_vec_pretty(&report) {
        Ok(j) => {
            if let Err(e) = std::fs::write(&args.json, j) {
                eprintln!("cannot write {}: {e}", args.json.display());
                std::process::exit(1);
            }
            eprintln!("JSON report: {}", args.json.display());
        }
        Err(e) => {
            eprintln!("cannot encode the report: {e}");
            std::process::exit(1);
        }
    }
}
