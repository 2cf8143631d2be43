//! `andal ledger migrate|keygen`, `andal ship`, `andal reconcile` and `andal report --ledger`:
//! the fleet commands on the central PostgreSQL ledger (crates/andal-ledger).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use andal_ledger::ship::{self, LoopOptions, OutageSource, ShipperConfig};
use andal_ledger::{LedgerKey, reconcile::Reconciler, schema};
use clap::{Args, Subcommand};

use crate::exit::Outcome;

/// How to start a PostgreSQL for the ledger, said whenever a ledger URL is missing.
pub const START_POSTGRES_HELP: &str = "\
The fleet commands need a PostgreSQL (15 or later) ledger, e.g. on Debian:
  apt-get install postgresql
  runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D /tmp/andal-pg -A trust
  runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D /tmp/andal-pg \\
      -o '-p 5433 -c listen_addresses=127.0.0.1 -k /tmp' -l /tmp/andal-pg.log start
then pass --ledger postgres://postgres@127.0.0.1:5433/postgres (or set ANDAL_LEDGER_URL)
and run `andal ledger migrate --ledger ...` once.";

#[derive(Debug, Args)]
pub struct LedgerUrl {
    /// PostgreSQL URL of the ledger (postgres://user@host:port/db?sslmode=verify-full);
    /// sslmode disable, prefer (default), require, verify-ca or verify-full.
    #[arg(
        id = "ledger_url",
        long = "ledger",
        env = "ANDAL_LEDGER_URL",
        hide_env_values = true
    )]
    pub url: String,
    /// PEM file of the CA the ledger database's certificate chains to (needed by
    /// sslmode=verify-ca and verify-full; with require/prefer it makes them check the chain).
    #[arg(long = "ledger-ca", env = "ANDAL_LEDGER_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

impl LedgerUrl {
    /// The database to connect to, with its CA.
    pub fn db(&self) -> andal_ledger::LedgerDb {
        ledger_db(&self.url, self.ca.as_deref())
    }
}

/// A ledger URL with an optional CA file.
pub fn ledger_db(url: &str, ca: Option<&std::path::Path>) -> andal_ledger::LedgerDb {
    let db = andal_ledger::LedgerDb::new(url);
    match ca {
        Some(path) => db.ca_file(path),
        None => db,
    }
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Apply the ledger's schema migrations (refuses a database newer than this tool).
    Migrate(LedgerUrl),
    /// Write a new random ledger key (64 hex characters) to a file, owner-only.
    Keygen {
        /// Where to write the key.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ShipArgs {
    #[command(flatten)]
    pub ledger: LedgerUrl,
    /// This node's stable id (part of every key in the ledger).
    #[arg(long)]
    pub node_id: String,
    /// The node's journal (read only; the node may be running).
    #[arg(long)]
    pub journal: PathBuf,
    /// The journal key file (32 raw bytes or 64 hex characters).
    #[arg(long)]
    pub key_file: PathBuf,
    /// The ledger key file: seals the fields needed to re-check a decision.
    #[arg(long)]
    pub ledger_key_file: PathBuf,
    /// The registry host the node checks against (fleet incidents merge per host).
    #[arg(long, default_value = "registry")]
    pub upstream_host: String,
    #[command(flatten)]
    pub metrics: crate::metrics::MetricsArgs,
    /// The node's outage record (JSON export it rewrites): its series seconds, and its closed
    /// incidents (the journal carries those too, from nodes that journal incidents as they close).
    #[arg(long)]
    pub outage_record: Option<PathBuf>,
    /// Records per transaction.
    #[arg(long, default_value_t = ship::DEFAULT_BATCH)]
    pub batch: usize,
    /// Keep shipping until killed (otherwise one pass).
    #[arg(long)]
    pub follow: bool,
    /// Pause between passes with --follow, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub interval_ms: u64,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub ledger: LedgerUrl,
    /// The ledger key file (opens the sealed fields).
    #[arg(long)]
    pub ledger_key_file: PathBuf,
    /// This reconciler's name in the audit log.
    #[arg(long, default_value = "reconciler")]
    pub id: String,
    /// Pinned root key (JWK JSON file) to learn revocations before re-checking.
    #[arg(long)]
    pub trust_root: Option<PathBuf>,
    /// Decisions claimed per transaction.
    #[arg(long, default_value_t = andal_ledger::reconcile::DEFAULT_CLAIM)]
    pub claim: i64,
    /// Keep going (pausing while the registry is unavailable) until nothing is pending.
    #[arg(long)]
    pub until_done: bool,
    /// Give up --until-done after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub max_secs: u64,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run_ledger(cmd: LedgerCommand) -> ExitCode {
    match cmd {
        LedgerCommand::Migrate(u) => {
            let r = schema::connect_unchecked(u.db()).and_then(|mut db| schema::migrate(&mut db));
            match r {
                Ok(rep) if rep.applied.is_empty() => {
                    println!("ledger schema is at version {} (nothing to do)", rep.to);
                    ExitCode::SUCCESS
                }
                Ok(rep) => {
                    println!(
                        "ledger schema {} -> {}: applied {}",
                        rep.from,
                        rep.to,
                        rep.applied.join(", ")
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail("ledger migrate", &e),
            }
        }
        LedgerCommand::Keygen { out } => {
            let key = match LedgerKey::generate() {
                Ok(k) => k,
                Err(e) => return fail("ledger keygen", &e),
            };
            match write_secret(&out, &key.to_hex()) {
                Ok(()) => {
                    println!("ledger key {} written to {}", key.id(), out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("andal ledger keygen: {}: {e}", out.display());
                    Outcome::Config.code()
                }
            }
        }
    }
}

/// Write a key file readable by its owner only.
pub fn write_secret(path: &std::path::Path, hex: &str) -> std::io::Result<()> {
    std::fs::write(path, format!("{hex}\n"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

pub fn ledger_key(path: &std::path::Path) -> Result<LedgerKey, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    LedgerKey::from_file_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn ship(args: ShipArgs) -> ExitCode {
    let jkey = match crate::read_key(&args.key_file) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("andal ship: {}: {e}", args.key_file.display());
            return Outcome::Config.code();
        }
    };
    let lkey = match ledger_key(&args.ledger_key_file) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("andal ship: {e}");
            return Outcome::Config.code();
        }
    };
    let cfg = ShipperConfig::new(&args.node_id, &args.upstream_host, &args.journal)
        .batch_size(args.batch);
    if args.follow {
        let source = match &args.outage_record {
            Some(p) => OutageSource::File(p.clone()),
            None => OutageSource::None,
        };
        // Runs until the process is killed: every pass is idempotent, so a kill at any
        // point loses nothing (the next shipper resumes from the database's cursor). The
        // loop publishes the shipper's series (ship lag, backlog) itself.
        ship::run_loop(
            args.ledger.db(),
            cfg,
            jkey,
            lkey,
            &source,
            LoopOptions::default().interval(Duration::from_millis(args.interval_ms)),
            &AtomicBool::new(false),
            &ship::ShipProgress::default(),
        );
        return ExitCode::SUCCESS;
    }
    let mut shipper = match ship::Shipper::connect(args.ledger.db(), cfg, jkey, lkey) {
        Ok(s) => s,
        Err(e) => return fail("ship", &e),
    };
    let mut stats = match shipper.ship_journal() {
        Ok(s) => s,
        Err(e) => return fail("ship", &e),
    };
    if let Some(p) = &args.outage_record {
        let report = std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| andal::outage::OutageReport::from_json(&t).map_err(|e| e.to_string()));
        match report {
            Ok(r) => match shipper.ship_outage_report(&r) {
                Ok(n) => stats.incidents += n,
                Err(e) => return fail("ship", &e),
            },
            Err(e) => {
                eprintln!("andal ship: {}: {e}", p.display());
                return Outcome::Config.code();
            }
        }
    }
    ship::ShipMetrics::new(&args.node_id).record_pass(&shipper, Ok(&stats));
    println!(
        "shipped {} new offline decision(s), {} resolution(s), {} incident(s) in {} batch(es); journal shipped through #{}",
        stats.decisions, stats.resolutions, stats.incidents, stats.batches, stats.shipped_through
    );
    ExitCode::SUCCESS
}

pub fn reconcile(args: ReconcileArgs, client: andal::Client) -> ExitCode {
    let key = match ledger_key(&args.ledger_key_file) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("andal reconcile: {e}");
            return Outcome::Config.code();
        }
    };
    if args.trust_root.is_some()
        && let Err(e) = client.refresh_trust()
    {
        eprintln!("andal reconcile: trust refresh failed (revocations unknown): {e}");
    }
    let started = std::time::Instant::now();
    let mut total = andal_ledger::reconcile::ReconcileStats::default();
    let mut rec: Option<Reconciler> = None;
    let mut errors = 0u32;
    loop {
        if rec.is_none() {
            match Reconciler::connect(args.ledger.db(), client.clone(), key.clone(), &args.id) {
                Ok(r) => rec = Some(r.claim_size(args.claim)),
                Err(e) if args.until_done && errors < 30 && is_transient(&e) => {
                    errors += 1;
                    std::thread::sleep(Duration::from_millis(500));
                    continue;
                }
                Err(e) => return fail("reconcile", &e),
            }
        }
        let r = rec.as_mut().expect("connected above");
        match r.run_pass() {
            Ok(s) => {
                total.claimed += s.claimed;
                total.confirmed += s.confirmed;
                total.contradicted += s.contradicted;
                total.still_pending += s.still_pending;
                total.stopped_by = s.stopped_by.clone();
                let pending = r.pending().unwrap_or(0);
                if !args.until_done
                    || pending == 0
                    || started.elapsed() > Duration::from_secs(args.max_secs)
                {
                    break;
                }
                // Others hold the rest, or the registry is unavailable: wait, then retry.
                std::thread::sleep(Duration::from_millis(300));
            }
            // The database went away (restart): reconnect; claimed rows were released.
            Err(e) if args.until_done && errors < 30 && is_transient(&e) => {
                errors += 1;
                rec = None;
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => return fail("reconcile", &e),
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "id": args.id,
                "claimed": total.claimed,
                "confirmed": total.confirmed,
                "contradicted": total.contradicted,
                "still_pending": total.still_pending,
                "stopped_by": total.stopped_by,
                "seconds": started.elapsed().as_secs_f64(),
            })
        );
    } else {
        println!(
            "reconciler {}: {} confirmed, {} contradicted, {} still pending{}",
            args.id,
            total.confirmed,
            total.contradicted,
            total.still_pending,
            total
                .stopped_by
                .as_deref()
                .map(|c| format!(" (stopped: registry {c})"))
                .unwrap_or_default()
        );
    }
    ExitCode::SUCCESS
}

fn is_transient(e: &andal_ledger::LedgerError) -> bool {
    matches!(e, andal_ledger::LedgerError::Db(_))
}

/// `andal report --ledger`: the fleet outage record (written to `json_out` when given).
pub fn fleet_report(
    url: &str,
    ca: Option<&std::path::Path>,
    json_out: Option<&std::path::Path>,
) -> Result<andal::outage::OutageReport, ExitCode> {
    let (json, report) = schema::connect(ledger_db(url, ca))
        .and_then(|mut db| andal_ledger::fleet::fleet_report(&mut db))
        .map_err(|e| fail("report", &e))?;
    if let Some(p) = json_out {
        std::fs::write(p, &json).map_err(|e| {
            eprintln!("andal report: {}: {e}", p.display());
            Outcome::Config.code()
        })?;
        println!("fleet outage record (JSON): {}", p.display());
    }
    Ok(report)
}

fn fail(what: &str, e: &andal_ledger::LedgerError) -> ExitCode {
    eprintln!("andal {what}: {e}");
    Outcome::Config.code()
}
