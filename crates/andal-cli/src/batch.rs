//! `andal batch`: verify a CSV of people (`nik,full_name,birth_date[,birth_place][,token]`)
//! with a progress bar, writing one result row per input row, in input order. Per-row
//! errors are written, not raised; the output holds no raw NIK, name or birth date.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use andal::{CheckOptions, Client, Decision, Error, Provenance, Query};
use clap::Args;
use serde::Deserialize;

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Input CSV with a header: nik,full_name,birth_date[,birth_place][,token].
    #[arg(long)]
    input: PathBuf,
    /// Output CSV (one row per input row, same order).
    #[arg(long)]
    output: PathBuf,
    /// Checks in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Idempotency keys are PREFIX-<row>, so re-running the same batch is not charged twice.
    #[arg(long)]
    key_prefix: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Row {
    nik: String,
    full_name: String,
    birth_date: String,
    #[serde(default)]
    birth_place: Option<String>,
    #[serde(default)]
    token: Option<String>,
}

const HEADER: [&str; 9] = [
    "row",
    "nik_masked",
    "verdict",
    "nik",
    "full_name",
    "birth_date",
    "birth_place",
    "source",
    "error",
];

fn result_row(i: usize, nik: &str, r: &Result<Decision, Error>) -> Vec<String> {
    match r {
        Ok(d) => vec![
            i.to_string(),
            d.nik_masked.clone(),
            d.verdict.as_str().into(),
            d.fields.nik.as_str().into(),
            d.fields.full_name.as_str().into(),
            d.fields.birth_date.as_str().into(),
            d.fields.birth_place.as_str().into(),
            match d.provenance {
                Provenance::Offline(_) => "offline".into(),
                _ => "online".into(),
            },
            String::new(),
        ],
        // Errors never contain personal data; the NIK is masked without validation.
        Err(e) => {
            let mut row = vec![i.to_string(), andal::nik::mask_str(nik)];
            row.extend(std::iter::repeat_n(String::new(), 6));
            row.push(format!("{}: {e}", e.code()));
            row
        }
    }
}

pub fn run(client: &Client, args: &BatchArgs) -> Result<ExitCode, String> {
    let mut reader = csv::Reader::from_path(&args.input)
        .map_err(|e| format!("{}: {e}", args.input.display()))?;
    let rows: Vec<Result<Row, String>> = reader
        .deserialize()
        .enumerate()
        // csv errors name the line and field, never a value.
        .map(|(i, r)| r.map_err(|e| format!("row {}: {}", i + 1, csv_error_kind(&e))))
        .collect();
    let bar = indicatif::ProgressBar::new(rows.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} checks  {per_sec}  eta {eta}  {msg}",
        )
        .map_err(|e| e.to_string())?,
    );
    let results: Vec<Mutex<Option<Vec<String>>>> = rows.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..args.concurrency.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(row) = rows.get(i) else { break };
                    let out = match row {
                        Ok(r) => {
                            let res = check(client, r, i + 1, args.key_prefix.as_deref());
                            if res.is_err() {
                                failed.fetch_add(1, Ordering::Relaxed);
                            }
                            result_row(i + 1, &r.nik, &res)
                        }
                        Err(msg) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            let mut v = vec![(i + 1).to_string()];
                            v.extend(std::iter::repeat_n(String::new(), 7));
                            v.push(format!("invalid_input: {msg}"));
                            v
                        }
                    };
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(out);
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_with_message(format!("{} error(s)", failed.load(Ordering::Relaxed)));
    let mut writer = csv::Writer::from_path(&args.output)
        .map_err(|e| format!("{}: {e}", args.output.display()))?;
    writer.write_record(HEADER).map_err(|e| e.to_string())?;
    for r in results {
        if let Some(row) = r.into_inner().unwrap_or_else(|p| p.into_inner()) {
            writer.write_record(&row).map_err(|e| e.to_string())?;
        }
    }
    writer.flush().map_err(|e| e.to_string())?;
    eprintln!(
        "andal batch: {} rows, {} error(s); results in {}",
        rows.len(),
        failed.load(Ordering::Relaxed),
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn check(client: &Client, r: &Row, n: usize, prefix: Option<&str>) -> Result<Decision, Error> {
    let mut q = Query::parse(&r.nik, &r.full_name, &r.birth_date)?;
    if let Some(p) = r.birth_place.as_deref().filter(|p| !p.trim().is_empty()) {
        q = q.with_birth_place(p)?;
    }
    let mut opts = CheckOptions::default();
    if let Some(t) = r.token.as_deref().filter(|t| !t.trim().is_empty()) {
        opts = opts.token(t.trim());
    }
    if let Some(p) = prefix {
        opts = opts.idempotency_key(format!("{p}-{n}"));
    }
    client.verify_with(&q, &opts)
}

fn csv_error_kind(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(f) => format!("column {} is missing or not valid", f + 1),
            None => "a required column is missing".into(),
        },
        csv::ErrorKind::UnequalLengths { .. } => "wrong number of columns".into(),
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        _ => "unreadable row".into(),
    }
}
