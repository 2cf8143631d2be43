//! `andal`: verify one citizen, run the local sandbox, or run the outage drill.

mod batch;
mod drill;
mod exit;
mod fleet;
mod ledger;
mod metrics;

use std::process::ExitCode;
use std::time::Duration;

use andal::{Client, Decision, Error, Query};
use clap::{Args, Parser, Subcommand};

use crate::exit::Outcome;

/// Identity checks (NIK) that stay bounded, honest and useful during a registry outage.
#[derive(Debug, Parser)]
#[command(name = "andal", version, long_about = None)]
#[command(after_help = exit::EXIT_CODES_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check one person against the registry (or the embedded sandbox).
    Verify(VerifyArgs),
    /// Check a CSV of people for unattended jobs: results in input order, resumable.
    #[command(after_help = exit::BATCH_EXIT_CODES_HELP)]
    Batch {
        #[command(flatten)]
        batch: batch::BatchArgs,
        #[command(flatten)]
        target: Target,
        /// Total deadline per check in milliseconds.
        #[arg(long, default_value_t = 5000)]
        deadline_ms: u64,
        #[command(flatten)]
        metrics: metrics::MetricsArgs,
    },
    /// Run the local identity-check sandbox (synthetic registry, switchable faults).
    Sandbox {
        #[command(flatten)]
        args: andal_sandbox::SandboxArgs,
        #[command(flatten)]
        metrics: metrics::MetricsArgs,
    },
    /// The outage drill: start the embedded sandbox, run checks through an outage, report.
    /// With `--fleet N --ledger postgres://...`: the fleet drill (N node processes, shippers,
    /// central reconcilers).
    Drill(drill::DrillArgs),
    /// One node of the fleet drill (started by `andal drill --fleet`).
    #[command(hide = true)]
    DrillNode(fleet::NodeArgs),
    /// Print an outage report (JSON export) as a summary, and draw its SVG timeline.
    Report(ReportArgs),
    /// List the offline decisions in a journal with their reconciliation status (masked).
    Journal(JournalArgs),
    /// Manage the central ledger of a fleet (PostgreSQL): schema migrations, keys.
    #[command(subcommand, after_help = ledger::START_POSTGRES_HELP)]
    Ledger(ledger::LedgerCommand),
    /// Ship a node's offline decisions, resolutions and incidents to the ledger, exactly once.
    #[command(after_help = ledger::START_POSTGRES_HELP)]
    Ship(ledger::ShipArgs),
    /// Re-check the ledger's pending offline decisions centrally (several may run at once).
    #[command(after_help = ledger::START_POSTGRES_HELP)]
    Reconcile {
        #[command(flatten)]
        args: ledger::ReconcileArgs,
        #[command(flatten)]
        target: Target,
        /// Total deadline per re-check in milliseconds.
        #[arg(long, default_value_t = 5000)]
        deadline_ms: u64,
        #[command(flatten)]
        metrics: metrics::MetricsArgs,
    },
}

impl Command {
    /// The command's name and `--metrics` flags, for the commands that run a while.
    fn metrics(&self) -> Option<(&'static str, &metrics::MetricsArgs)> {
        match self {
            Command::Batch { metrics, .. } => Some(("batch", metrics)),
            Command::Sandbox { metrics, .. } => Some(("sandbox", metrics)),
            Command::Drill(d) => Some(("drill", &d.metrics)),
            Command::Ship(s) => Some(("ship", &s.metrics)),
            Command::Reconcile { metrics, .. } => Some(("reconcile", metrics)),
            _ => None,
        }
    }
}

#[derive(Debug, Args)]
struct JournalArgs {
    /// The journal file.
    #[arg(long)]
    journal: std::path::PathBuf,
    /// File holding the 32-byte journal key (raw, or 64 hex characters).
    #[arg(long)]
    key_file: std::path::PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["input", "ledger"])))]
struct ReportArgs {
    /// An outage report exported as JSON (`andal drill` writes one; so does
    /// `Client::outage_report().to_json()` in every binding).
    #[arg(long)]
    input: Option<std::path::PathBuf>,
    /// The fleet outage record from a central ledger (postgres://...) instead of a file.
    #[arg(long, conflicts_with = "input")]
    ledger: Option<String>,
    /// With --ledger: PEM file of the CA the database's certificate chains to (for
    /// sslmode=verify-ca / verify-full in the URL).
    #[arg(long, requires = "ledger", value_name = "FILE")]
    ledger_ca: Option<std::path::PathBuf>,
    /// With --ledger: write the fleet outage record (JSON) to this file.
    #[arg(long, requires = "ledger")]
    json_out: Option<std::path::PathBuf>,
    /// Write the timeline chart to this SVG file.
    #[arg(long)]
    svg: Option<std::path::PathBuf>,
    /// Write the outage page (one self-contained HTML file, for print or a screen).
    #[arg(long)]
    html: Option<std::path::PathBuf>,
    /// Write the status document (versioned JSON, see docs/status.md) to this file.
    #[arg(long)]
    status_json: Option<std::path::PathBuf>,
    /// Language of the page and the SVG: `id` (Bahasa Indonesia) or `en`.
    #[arg(long, default_value = "id", value_parser = parse_lang)]
    lang: andal::Language,
    /// The office's time zone: WIB (UTC+7), WITA (UTC+8) or WIT (UTC+9).
    #[arg(long, default_value = "WIB", value_parser = parse_zone)]
    tz: andal::OfficeZone,
    /// The registry host named in the status document.
    #[arg(long, default_value = "registry")]
    host: String,
}

fn parse_lang(s: &str) -> Result<andal::Language, String> {
    s.parse()
        .map_err(|e: andal::locale::UnknownLanguage| e.to_string())
}

fn parse_zone(s: &str) -> Result<andal::OfficeZone, String> {
    s.parse()
        .map_err(|e: andal::locale::UnknownZone| e.to_string())
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The 16-digit NIK.
    #[arg(long)]
    nik: String,
    /// Full name as the partner holds it.
    #[arg(long)]
    name: String,
    /// Birth date, YYYY-MM-DD.
    #[arg(long)]
    birth_date: String,
    /// Birth place (optional).
    #[arg(long)]
    birth_place: Option<String>,
    #[command(flatten)]
    target: Target,
    /// Print the decision as JSON.
    #[arg(long)]
    json: bool,
    /// Total deadline in milliseconds.
    #[arg(long, default_value_t = 5000)]
    deadline_ms: u64,
}

/// Where to send checks: a registry URL with credentials, or the embedded sandbox.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("where").required(true).args(["url", "sandbox"])))]
struct Target {
    /// Registry base URL (https://...).
    #[arg(long, requires_all = ["partner_id", "api_key"], conflicts_with = "sandbox")]
    url: Option<String>,
    /// Start the embedded sandbox and check against it.
    #[arg(long)]
    sandbox: bool,
    /// Partner id (with --url).
    #[arg(long, env = "ANDAL_PARTNER_ID")]
    partner_id: Option<String>,
    /// API key (with --url).
    #[arg(long, env = "ANDAL_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Allow plain http:// (local testing only).
    #[arg(long)]
    allow_http: bool,
}

fn main() -> ExitCode {
    // `andal ... | head` must end quietly like any Unix tool, not panic on a closed pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    // Installed before any client is built: clients register their series when built.
    let endpoint = match cli.command.metrics().map(|(name, m)| m.install(name)) {
        Some(Err(e)) => {
            eprintln!("andal: {e}");
            return Outcome::Config.code();
        }
        Some(Ok(e)) => e,
        None => None,
    };
    let code = run(cli.command);
    // With --metrics-linger, the endpoint stays up a while for a last scrape.
    drop(endpoint);
    code
}

fn run(command: Command) -> ExitCode {
    match command {
        Command::Verify(args) => verify(args),
        Command::Batch {
            batch,
            target,
            deadline_ms,
            ..
        } => {
            // The input is checked before anything is sent.
            let plan = match batch::prepare(&batch) {
                Ok(p) => p,
                Err(stop) => {
                    eprintln!("andal batch: {stop}");
                    return stop.outcome().code();
                }
            };
            let (client, _sandbox) = match connect(&target, deadline_ms) {
                Ok(c) => c,
                Err(_) => return exit::BatchOutcome::Config.code(),
            };
            match batch::run(&client, &plan) {
                Ok(summary) => {
                    eprintln!("{}", batch::summary_line(&summary, &plan));
                    summary.outcome().code()
                }
                Err(stop) => {
                    eprintln!("andal batch: {stop}");
                    stop.outcome().code()
                }
            }
        }
        Command::Sandbox { args, .. } => match andal_sandbox::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("andal sandbox: {e}");
                Outcome::Config.code()
            }
        },
        Command::Drill(args) => drill::run(args),
        Command::DrillNode(args) => fleet::node(args),
        Command::Report(args) => report(&args),
        Command::Journal(args) => journal(&args),
        Command::Ledger(cmd) => ledger::run_ledger(cmd),
        Command::Ship(args) => ledger::ship(args),
        Command::Reconcile {
            args,
            target,
            deadline_ms,
            ..
        } => {
            let roots = match &args.trust_root {
                Some(p) => match std::fs::read_to_string(p)
                    .map_err(|e| e.to_string())
                    .and_then(|t| andal::offline::RootKey::from_json(&t).map_err(|e| e.to_string()))
                {
                    Ok(k) => vec![k],
                    Err(e) => {
                        eprintln!("andal reconcile: {}: {e}", p.display());
                        return Outcome::Config.code();
                    }
                },
                None => Vec::new(),
            };
            let (client, _sandbox) = match connect_with(&target, deadline_ms, roots) {
                Ok(c) => c,
                Err(code) => return code,
            };
            ledger::reconcile(args, client)
        }
    }
}

fn journal(args: &JournalArgs) -> ExitCode {
    let key = match read_key(&args.key_file) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("andal journal: {}: {e}", args.key_file.display());
            return Outcome::Config.code();
        }
    };
    let view = match andal::inspect_journal(&args.journal, &key) {
        Ok(v) => v,
        Err(e) => return fail(&e),
    };
    // A record that may have been acknowledged and can no longer be read (a damaged last
    // record, kept in a side file), or an emptied journal: always said, never hidden. On
    // stderr with --json so stdout stays one JSON document.
    for w in view.warnings() {
        if args.json {
            eprintln!("andal journal: warning: {w}");
        } else {
            println!("warning: {w}");
        }
    }
    let items = view.items;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&items).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    let pending = items.iter().filter(|i| i.resolution.is_none()).count();
    println!(
        "{} offline decision(s), {} pending reconciliation",
        items.len(),
        pending
    );
    for i in &items {
        let status = match &i.resolution {
            None => "pending".to_owned(),
            Some(andal::ReconcileOutcome::Confirmed) => "confirmed".to_owned(),
            Some(andal::ReconcileOutcome::Contradicted { reason }) => {
                format!("contradicted ({reason:?})").to_lowercase()
            }
            Some(other) => format!("{other:?}"),
        };
        println!(
            "#{:<6} {}  {:<9} token {} (key {})  registry: {:<16} {status}",
            i.journal_seq,
            i.nik_masked,
            i.verdict.as_str(),
            i.token_id,
            i.key_id,
            i.online_failure
        );
    }
    ExitCode::SUCCESS
}

/// A journal key file: 32 raw bytes, or 64 hex characters (whitespace ignored).
pub(crate) fn read_key(path: &std::path::Path) -> Result<andal::JournalKey, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if bytes.len() == 32 {
        return andal::JournalKey::from_slice(&bytes).map_err(|e| e.to_string());
    }
    let text: String = String::from_utf8_lossy(&bytes)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if text.len() != 64 || !text.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("expected 32 raw bytes or 64 hex characters".into());
    }
    let raw: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    andal::JournalKey::from_slice(&raw).map_err(|e| e.to_string())
}

fn report(args: &ReportArgs) -> ExitCode {
    let report = match (&args.input, &args.ledger) {
        // The fleet outage record: same format, same outputs as one node's.
        (_, Some(url)) => {
            match ledger::fleet_report(url, args.ledger_ca.as_deref(), args.json_out.as_deref()) {
                Ok(r) => r,
                Err(code) => return code,
            }
        }
        (Some(input), None) => {
            let text = match std::fs::read_to_string(input) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("andal report: {}: {e}", input.display());
                    return Outcome::Config.code();
                }
            };
            match andal::outage::OutageReport::from_json(&text) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("andal report: {e}");
                    return Outcome::Config.code();
                }
            }
        }
        (None, None) => {
            eprintln!("andal report: give --input FILE or --ledger URL");
            return Outcome::Config.code();
        }
    };
    print!("{}", report.summary_text());
    match write_report_outputs(&report, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("andal report: {e}");
            Outcome::Config.code()
        }
    }
}

/// Writes whichever of the SVG, the page and the status document were asked for, from any
/// outage report (one node's, or a fleet's).
fn write_report_outputs(
    report: &andal::outage::OutageReport,
    args: &ReportArgs,
) -> Result<(), String> {
    let opts = andal_report::RenderOptions::new(args.lang, args.tz);
    let write = |path: &std::path::Path, what: &str, text: String| {
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("{what}: {}", path.display());
        Ok::<(), String>(())
    };
    if let Some(path) = &args.svg {
        let svg =
            andal_report::render_timeline_svg_with(report, &opts).map_err(|e| e.to_string())?;
        write(path, "timeline (SVG)", svg)?;
    }
    if let Some(path) = &args.html {
        let page = andal_report::render_page(report, &opts).map_err(|e| e.to_string())?;
        write(path, "outage page (HTML)", page)?;
    }
    if let Some(path) = &args.status_json {
        let doc =
            andal_report::status_document(report, &args.host, andal_report::status::DEFAULT_WINDOW)
                .map_err(|e| e.to_string())?;
        write(path, "status document (JSON)", doc.to_json())?;
    }
    Ok(())
}

fn verify(args: VerifyArgs) -> ExitCode {
    // Input is validated before anything starts: a malformed NIK never costs a request.
    let query =
        match Query::parse(&args.nik, &args.name, &args.birth_date).and_then(|q| {
            match &args.birth_place {
                Some(p) => q.with_birth_place(p.clone()),
                None => Ok(q),
            }
        }) {
            Ok(q) => q,
            Err(e) => return fail(&Error::from(e)),
        };
    let (client, _sandbox) = match connect(&args.target, args.deadline_ms) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match client.verify(&query) {
        Ok(d) => {
            print_decision(&d, args.json);
            Outcome::from_decision(&d).code()
        }
        Err(e) => fail(&e),
    }
}

/// A client for the target (starting the embedded sandbox if asked); the sandbox handle
/// must live as long as the client is used.
fn connect(
    target: &Target,
    deadline_ms: u64,
) -> Result<(Client, Option<andal_sandbox::Sandbox>), ExitCode> {
    connect_with(target, deadline_ms, Vec::new())
}

/// [`connect`] with pinned trust roots (for revocations during reconciliation).
fn connect_with(
    target: &Target,
    deadline_ms: u64,
    roots: Vec<andal::offline::RootKey>,
) -> Result<(Client, Option<andal_sandbox::Sandbox>), ExitCode> {
    let mut sandbox = None;
    let builder = if target.sandbox {
        let sb = andal_sandbox::start(andal_sandbox::SandboxConfig::default()).map_err(|e| {
            eprintln!("andal: cannot start the sandbox: {e}");
            Outcome::Config.code()
        })?;
        let b = Client::builder(sb.url())
            .partner_id(andal_sandbox::DEMO_BANK_PARTNER)
            .api_key(andal_sandbox::DEMO_BANK_KEY)
            .allow_insecure_http(true);
        sandbox = Some(sb);
        b
    } else {
        Client::builder(target.url.clone().unwrap_or_default())
            .partner_id(target.partner_id.clone().unwrap_or_default())
            .api_key(target.api_key.clone().unwrap_or_default())
            .allow_insecure_http(target.allow_http)
    };
    let mut builder = builder.deadline(Duration::from_millis(deadline_ms));
    if !roots.is_empty() {
        builder = builder.trust_roots(roots);
    }
    let client = builder.build().map_err(|e| fail(&e))?;
    Ok((client, sandbox))
}

fn print_decision(d: &Decision, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(d).unwrap_or_else(|_| "{}".into())
        );
        return;
    }
    println!("{}  {}", d.nik_masked, d.verdict.as_str().to_uppercase());
    println!(
        "  nik: {}  name: {}  birth date: {}  birth place: {}",
        d.fields.nik.as_str(),
        d.fields.full_name.as_str(),
        d.fields.birth_date.as_str(),
        d.fields.birth_place.as_str()
    );
    match &d.provenance {
        andal::Provenance::Online {
            request_id,
            attempts,
            ..
        } => println!(
            "  online, request {request_id}, {attempts} attempt(s), {} ms",
            d.elapsed_ms
        ),
        andal::Provenance::Offline(o) => println!(
            "  OFFLINE from token {} (key {}, {} s old), online failure: {}",
            o.token_id, o.key_id, o.token_age_secs, o.online_failure
        ),
        _ => {}
    }
}

/// Print a one-line error and map it to its exit code.
fn fail(e: &Error) -> ExitCode {
    eprintln!("andal: {e}");
    Outcome::from_error(e).code()
}

#[cfg(test)]
mod tests {
    /// clap checks argument ids, groups and conflicts only when a command is built: build
    /// them all here instead of at a user's first `andal reconcile`.
    #[test]
    fn every_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
