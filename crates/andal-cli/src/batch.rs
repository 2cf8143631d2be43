//! `andal batch`: verify a CSV of people (`nik,full_name,birth_date[,birth_place][,token]`)
//! for unattended jobs. One result row per input row, in input order, each written and
//! flushed as soon as it (and every row before it) is decided, so an interrupted batch can
//! `--resume` from what the output holds. Idempotency keys derive from a row id column or
//! from the input file's content and the row number, so a re-sent row is not charged twice.
//! Per-row errors are written, not raised; authentication failures and bad headers stop
//! the batch. The output holds no raw NIK, name or birth date, only the columns the user
//! asked to keep.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use andal::{CheckOptions, Client, Decision, Error, Provenance, Query};
use clap::Args;

use crate::exit::BatchOutcome;

/// Arguments of `andal batch`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Input CSV with a header: nik,full_name,birth_date[,birth_place][,token] (any order,
    /// other columns ignored). Delimiter `,` or `;` (detected), UTF-8 with or without BOM.
    #[arg(long)]
    input: PathBuf,
    /// Output CSV: one row per input row, same order, same delimiter as the input.
    #[arg(long)]
    output: PathBuf,
    /// Checks in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Column that identifies a row (e.g. participant_id). Idempotency keys derive from it,
    /// so a row re-sent later (--resume, or a re-run) is not charged again. Values must be
    /// unique and non-empty. Without it, keys derive from the input file's content and the
    /// row number.
    #[arg(long, value_name = "COLUMN")]
    id_column: Option<String>,
    /// Columns copied to the output (comma-separated), e.g. participant_id,branch.
    /// WARNING: kept columns are written as-is; do not keep a column holding personal data
    /// (NIK, name, birth date) unless the output may hold it.
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    keep: Vec<String>,
    /// Continue an interrupted batch: keep the rows the output already holds and check only
    /// the rest (same --input, --id-column, --keep and --key-prefix as the first run).
    #[arg(long)]
    resume: bool,
    /// Prefix of the idempotency keys (e.g. the run date when row ids repeat across batch
    /// files). Without --id-column, keys are PREFIX-<row>, as in earlier versions.
    #[arg(long)]
    key_prefix: Option<String>,
}

/// Why a batch stopped before (or while) checking rows.
#[derive(Debug)]
pub enum Stop {
    /// Files or options unusable.
    Config(String),
    /// The input's header or id column is unusable; nothing was sent.
    Input(String),
    /// The registry refused the credentials (401/403); the batch stopped at once.
    Auth(Error),
}

impl Stop {
    /// The exit code of this stop.
    pub fn outcome(&self) -> BatchOutcome {
        match self {
            Stop::Config(_) => BatchOutcome::Config,
            Stop::Input(_) => BatchOutcome::Input,
            Stop::Auth(_) => BatchOutcome::Auth,
        }
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Config(m) => write!(f, "stopped: {m}"),
            Stop::Input(m) => write!(f, "stopped before any request: {m}"),
            Stop::Auth(e) => write!(
                f,
                "stopped: {e} (rows after the last one written were not checked; fix the \
                 credentials and run again with --resume)"
            ),
        }
    }
}

/// Result columns after the row number and the kept columns.
const RESULT_COLUMNS: [&str; 8] = [
    "nik_masked",
    "verdict",
    "nik",
    "full_name",
    "birth_date",
    "birth_place",
    "source",
    "error",
];

/// Where the needed columns are in the input.
#[derive(Debug)]
struct Columns {
    nik: usize,
    full_name: usize,
    birth_date: usize,
    birth_place: Option<usize>,
    token: Option<usize>,
    keep: Vec<usize>,
}

/// A checked input, ready to run: rows, keys, and where the output continues.
#[derive(Debug)]
pub struct Plan {
    rows: Vec<csv::StringRecord>,
    cols: Columns,
    keys: Vec<String>,
    delimiter: u8,
    header: Vec<String>,
    /// Rows already in the output (resume).
    done: usize,
    concurrency: usize,
    output: PathBuf,
}

/// Read and check the input (header, id column, kept columns) and the output to resume,
/// before any request is sent.
pub fn prepare(args: &BatchArgs) -> Result<Plan, Stop> {
    let mut bytes = std::fs::read(&args.input)
        .map_err(|e| Stop::Config(format!("{}: {e}", args.input.display())))?;
    let file_id = fnv128(&bytes);
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    let delimiter = detect_delimiter(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let names: Vec<String> = reader
        .headers()
        .map_err(|e| Stop::Input(format!("header: {}", csv_error_kind(&e))))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let find = |name: &str| names.iter().position(|h| h.eq_ignore_ascii_case(name));
    let missing: Vec<&str> = ["nik", "full_name", "birth_date"]
        .into_iter()
        .filter(|c| find(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(Stop::Input(format!(
            "the input has no column {} (header: {}; delimiter '{}')",
            missing.join(", "),
            names.join(","),
            delimiter as char
        )));
    }
    let mut keep = Vec::new();
    for k in args.keep.iter().map(|k| k.trim()).filter(|k| !k.is_empty()) {
        keep.push(find(k).ok_or_else(|| Stop::Input(format!("--keep: no column {k}")))?);
    }
    let id = match &args.id_column {
        Some(c) => {
            Some(find(c.trim()).ok_or_else(|| Stop::Input(format!("--id-column: no column {c}")))?)
        }
        None => None,
    };
    let cols = Columns {
        nik: find("nik").unwrap_or_default(),
        full_name: find("full_name").unwrap_or_default(),
        birth_date: find("birth_date").unwrap_or_default(),
        birth_place: find("birth_place"),
        token: find("token"),
        keep,
    };
    let mut rows = Vec::new();
    for r in reader.records() {
        // A row that cannot be read at all is kept as an empty record: it becomes an
        // invalid_input result row, not a stop.
        rows.push(r.unwrap_or_default());
    }
    if let Some(p) = &args.key_prefix
        && (p.is_empty()
            || p.len() > 64
            || !p
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)))
    {
        return Err(Stop::Config(
            "--key-prefix must be 1-64 characters of A-Z a-z 0-9 - _ . :".into(),
        ));
    }
    let keys = match id {
        Some(ix) => {
            let mut seen: HashMap<&str, usize> = HashMap::new();
            let mut keys = Vec::with_capacity(rows.len());
            for (i, r) in rows.iter().enumerate() {
                let v = r.get(ix).map(str::trim).unwrap_or_default();
                if v.is_empty() {
                    return Err(Stop::Input(format!(
                        "row {}: the id column {} is empty",
                        i + 1,
                        names[ix]
                    )));
                }
                if let Some(first) = seen.insert(v, i + 1) {
                    return Err(Stop::Input(format!(
                        "rows {first} and {}: the id column {} holds the same value",
                        i + 1,
                        names[ix]
                    )));
                }
                // Hashed: an id may be personal data, a key travels in headers and logs.
                let mut h = b"andal-batch-row-id\0".to_vec();
                h.extend_from_slice(v.as_bytes());
                let prefix = args.key_prefix.as_deref().unwrap_or("id");
                keys.push(format!("{prefix}-{:032x}", fnv128(&h)));
            }
            keys
        }
        None => (1..=rows.len())
            .map(|n| match &args.key_prefix {
                Some(p) => format!("{p}-{n}"),
                None => format!("f{file_id:032x}-{n}"),
            })
            .collect(),
    };
    let mut header = vec!["row".to_owned()];
    header.extend(cols.keep.iter().map(|&i| names[i].clone()));
    header.extend(RESULT_COLUMNS.iter().map(|s| (*s).to_owned()));
    let done = if args.resume {
        resume_point(&args.output, delimiter, &header, rows.len())?
    } else {
        0
    };
    Ok(Plan {
        rows,
        cols,
        keys,
        delimiter,
        header,
        done,
        concurrency: args.concurrency.max(1),
        output: args.output.clone(),
    })
}

/// `;` when the header line has more semicolons than commas (Excel in an Indonesian or
/// other comma-decimal locale), else `,`.
fn detect_delimiter(bytes: &[u8]) -> u8 {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |c: u8| line.iter().filter(|&&b| b == c).count();
    if count(b';') > count(b',') {
        b';'
    } else {
        b','
    }
}

/// How many rows an existing output holds (a torn last line is cut off), after checking
/// that it belongs to this batch.
fn resume_point(
    path: &std::path::Path,
    delimiter: u8,
    header: &[String],
    input_rows: usize,
) -> Result<usize, Stop> {
    let cfg = |e: std::io::Error| Stop::Config(format!("{}: {e}", path.display()));
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(cfg(e)),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(cfg)?;
    // A row is complete once its newline is written: cut a torn tail.
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    if complete < bytes.len() {
        file.set_len(complete as u64).map_err(cfg)?;
        bytes.truncate(complete);
    }
    if bytes.is_empty() {
        return Ok(0);
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let found: Vec<String> = reader
        .headers()
        .map_err(|e| Stop::Config(format!("--resume: output header: {}", csv_error_kind(&e))))?
        .iter()
        .map(str::to_owned)
        .collect();
    if found != header {
        return Err(Stop::Config(format!(
            "--resume: {} has another header than this batch would write (same --keep and \
             input as the first run?)",
            path.display()
        )));
    }
    let mut n = 0;
    for r in reader.records() {
        let r = r.map_err(|e| Stop::Config(format!("--resume: output: {}", csv_error_kind(&e))))?;
        if r.get(0) != Some((n + 1).to_string().as_str()) {
            return Err(Stop::Config(format!(
                "--resume: output row {} is not row {} of the input",
                n + 1,
                n + 1
            )));
        }
        n += 1;
    }
    if n > input_rows {
        return Err(Stop::Config(format!(
            "--resume: the output holds {n} rows, the input only {input_rows}"
        )));
    }
    Ok(n)
}

/// What a finished batch did.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Rows in the input.
    pub rows: usize,
    /// Rows already in the output before this run (resume).
    pub resumed: usize,
    /// Rows with a verdict (over the whole output).
    pub decided: usize,
    /// Rows with an error instead of a verdict (over the whole output).
    pub undecided: usize,
}

impl Summary {
    /// 0 when every row was decided, else "some rows undecided".
    pub fn outcome(&self) -> BatchOutcome {
        if self.undecided == 0 {
            BatchOutcome::AllDecided
        } else {
            BatchOutcome::Undecided
        }
    }
}

/// One result row, from a worker to the writer.
enum Msg {
    Row {
        index: usize,
        fields: Vec<String>,
        decided: bool,
    },
    Auth(Error),
}

/// Check every row not yet in the output; write each result in input order as soon as it
/// and the rows before it are decided.
pub fn run(client: &Client, plan: &Plan) -> Result<Summary, Stop> {
    let out_err =
        |e: &dyn std::fmt::Display| Stop::Config(format!("{}: {e}", plan.output.display()));
    let file = if plan.done > 0 {
        OpenOptions::new()
            .append(true)
            .open(&plan.output)
            .map_err(|e| out_err(&e))?
    } else {
        File::create(&plan.output).map_err(|e| out_err(&e))?
    };
    let mut writer = csv::WriterBuilder::new()
        .delimiter(plan.delimiter)
        .from_writer(file);
    let mut counts = count_existing(plan)?;
    if plan.done == 0 {
        writer.write_record(&plan.header).map_err(|e| out_err(&e))?;
        writer.flush().map_err(|e| out_err(&e))?;
    }
    let todo = plan.rows.len() - plan.done;
    let bar = indicatif::ProgressBar::new(plan.rows.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} checks  {per_sec}  eta {eta}  {msg}",
        )
        .map_err(|e| Stop::Config(e.to_string()))?,
    );
    bar.set_position(plan.done as u64);
    let next = AtomicUsize::new(plan.done);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut auth_error: Option<Error> = None;
    let mut write_error: Option<Stop> = None;
    std::thread::scope(|s| {
        for _ in 0..plan.concurrency.min(todo.max(1)) {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            s.spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(record) = plan.rows.get(i) else {
                        break;
                    };
                    let res = check(client, plan, record, i);
                    if let Err(e @ Error::Auth { .. }) = res {
                        stop.store(true, Ordering::Release);
                        let _ = tx.send(Msg::Auth(e));
                        break;
                    }
                    let msg = Msg::Row {
                        index: i,
                        decided: res.is_ok(),
                        fields: result_row(plan, record, i, &res),
                    };
                    if tx.send(msg).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // The writer: a reorder buffer keeps the output in input order.
        let mut pending: BTreeMap<usize, (Vec<String>, bool)> = BTreeMap::new();
        let mut next_write = plan.done;
        for msg in rx {
            match msg {
                Msg::Auth(e) => {
                    auth_error.get_or_insert(e);
                }
                Msg::Row {
                    index,
                    fields,
                    decided,
                } => {
                    pending.insert(index, (fields, decided));
                }
            }
            while write_error.is_none()
                && let Some((fields, decided)) = pending.remove(&next_write)
            {
                let written = writer
                    .write_record(&fields)
                    .and_then(|()| writer.flush().map_err(csv::Error::from));
                if let Err(e) = written {
                    write_error = Some(out_err(&e));
                    stop.store(true, Ordering::Release);
                    break;
                }
                if decided {
                    counts.0 += 1;
                } else {
                    counts.1 += 1;
                }
                next_write += 1;
                bar.inc(1);
            }
        }
    });
    bar.finish_with_message(format!("{} undecided", counts.1));
    if let Some(e) = write_error {
        return Err(e);
    }
    if let Some(e) = auth_error {
        return Err(Stop::Auth(e));
    }
    Ok(Summary {
        rows: plan.rows.len(),
        resumed: plan.done,
        decided: counts.0,
        undecided: counts.1,
    })
}

/// Decided and undecided rows already in the output (resume).
fn count_existing(plan: &Plan) -> Result<(usize, usize), Stop> {
    if plan.done == 0 {
        return Ok((0, 0));
    }
    let verdict_col = 1 + plan.cols.keep.len() + 1;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(plan.delimiter)
        .flexible(true)
        .from_path(&plan.output)
        .map_err(|e| Stop::Config(format!("{}: {e}", plan.output.display())))?;
    let (mut decided, mut undecided) = (0, 0);
    for r in reader.records().take(plan.done) {
        match r
            .ok()
            .and_then(|r| r.get(verdict_col).map(|v| !v.is_empty()))
        {
            Some(true) => decided += 1,
            _ => undecided += 1,
        }
    }
    Ok((decided, undecided))
}

fn field(r: &csv::StringRecord, ix: Option<usize>) -> Option<&str> {
    ix.and_then(|i| r.get(i))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn check(client: &Client, plan: &Plan, r: &csv::StringRecord, i: usize) -> Result<Decision, Error> {
    let get = |ix: usize| r.get(ix).unwrap_or_default();
    let mut q = Query::parse(
        get(plan.cols.nik).trim(),
        get(plan.cols.full_name),
        get(plan.cols.birth_date).trim(),
    )?;
    if let Some(p) = field(r, plan.cols.birth_place) {
        q = q.with_birth_place(p)?;
    }
    let mut opts = CheckOptions::default().idempotency_key(plan.keys[i].clone());
    if let Some(t) = field(r, plan.cols.token) {
        opts = opts.token(t);
    }
    client.verify_with(&q, &opts)
}

fn result_row(
    plan: &Plan,
    r: &csv::StringRecord,
    i: usize,
    res: &Result<Decision, Error>,
) -> Vec<String> {
    let mut row = vec![(i + 1).to_string()];
    // Kept columns are written as-is: the user named them.
    row.extend(
        plan.cols
            .keep
            .iter()
            .map(|&k| r.get(k).unwrap_or_default().to_owned()),
    );
    match res {
        Ok(d) => row.extend([
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
        ]),
        // Errors never contain personal data; the NIK is masked without validation.
        Err(e) => {
            let nik = r.get(plan.cols.nik).unwrap_or_default().trim();
            row.push(if nik.is_empty() {
                String::new()
            } else {
                andal::nik::mask_str(nik)
            });
            row.extend(std::iter::repeat_n(String::new(), 6));
            row.push(format!("{}: {e}", e.code()));
        }
    }
    row
}

/// 128-bit FNV-1a: a stable identity for the input file and for row ids (not a security
/// boundary: it only has to keep one user's rows apart).
fn fnv128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    bytes
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u128::from(b)).wrapping_mul(PRIME))
}

fn csv_error_kind(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { .. } => "wrong number of columns".into(),
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        csv::ErrorKind::Io(e) => e.to_string(),
        _ => "unreadable".into(),
    }
}

/// The closing line of a finished batch.
pub fn summary_line(summary: &Summary, plan: &Plan) -> String {
    let mut s = format!(
        "andal batch: {} rows, {} decided, {} undecided",
        summary.rows, summary.decided, summary.undecided
    );
    if summary.resumed > 0 {
        s += &format!(" ({} already in the output)", summary.resumed);
    }
    s += &format!("; results in {}", plan.output.display());
    s
}
