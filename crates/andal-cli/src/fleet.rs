//! `andal drill --fleet N --ledger postgres://...`: the fleet drill. One embedded sandbox,
//! N node processes (`andal drill-node`) through a scripted outage, one `andal ship --follow`
//! process per node killed with SIGKILL at seeded random moments and restarted, PostgreSQL
//! restarted once mid-run (`--pg-restart-cmd`), then two `andal reconcile` processes at once.
//! It checks, and prints: every acknowledged offline decision in the ledger exactly once,
//! each reconciled exactly once, at most one charge per decision's reconciliation, one
//! fleet incident with N nodes, no personal data in a full `pg_dump`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use andal::resilience::BreakerConfig;
use andal::{CheckOptions, Client, JournalKey, Provenance, Query};
use andal_ledger::{LedgerKey, schema};
use andal_sandbox::{Fault, SandboxConfig};
use clap::Args;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Options of the fleet drill (with `andal drill --fleet N`).
#[derive(Debug, Args, Clone)]
pub struct FleetArgs {
    /// Run the fleet drill with this many node processes (needs --ledger).
    #[arg(long)]
    pub fleet: Option<usize>,
    /// PostgreSQL URL of the ledger for the fleet drill (sslmode as for `andal ship`).
    #[arg(long, requires = "fleet")]
    pub ledger: Option<String>,
    /// PEM file of the CA the ledger database's certificate chains to (sslmode=verify-ca
    /// and verify-full need it); used by the drill, its shippers, reconcilers and pg_dump.
    #[arg(
        long = "ledger-ca",
        env = "ANDAL_LEDGER_CA",
        value_name = "FILE",
        requires = "ledger"
    )]
    pub ledger_ca: Option<PathBuf>,
    /// Shipper kills (SIGKILL) spread over the run.
    #[arg(long, default_value_t = 50)]
    pub kills: usize,
    /// Shell command that restarts PostgreSQL once mid-run (e.g. `pg_ctl -D ... restart`).
    #[arg(long)]
    pub pg_restart_cmd: Option<String>,
    /// pg_dump binary for the personal-data check.
    #[arg(long, default_value = "pg_dump")]
    pub pg_dump: String,
}

/// Hidden: one node of the fleet drill.
#[derive(Debug, Args)]
pub struct NodeArgs {
    #[arg(long)]
    url: String,
    #[arg(long)]
    dir: PathBuf,
    #[arg(long)]
    secs: f64,
    #[arg(long)]
    quick: bool,
}

#[derive(Serialize, Deserialize)]
struct Person {
    nik: String,
    name: String,
    birth_date: String,
    token: Option<String>,
}

fn phases(quick: bool) -> Vec<(&'static str, Option<Fault>, f64)> {
    let k = if quick { 0.25 } else { 1.0 };
    vec![
        ("healthy", None, 8.0 * k),
        ("hard down", Some(Fault::Down), 16.0 * k),
        ("hang", Some(Fault::Hang), 12.0 * k),
        ("recovered", None, 16.0 * k),
    ]
}

/// `andal drill-node`: checks its people until its time is up, writes its outage record
/// every 200 ms (atomically) and one line per acknowledged offline decision.
pub fn node(args: NodeArgs) -> ExitCode {
    match node_inner(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("andal drill-node: {e}");
            ExitCode::FAILURE
        }
    }
}

fn node_inner(args: &NodeArgs) -> Result<(), String> {
    let d = &args.dir;
    let root = std::fs::read_to_string(d.join("root.jwk")).map_err(|e| e.to_string())?;
    let root = andal::offline::RootKey::from_json(&root).map_err(|e| e.to_string())?;
    let people: Vec<Person> =
        serde_json::from_slice(&std::fs::read(d.join("people.json")).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let key = crate::read_key(&d.join("journal.key"))?;
    // The node's series (docs/metrics.md), registered when the client is built and written
    // next to its outage record (`metrics.prom`, Prometheus text) for the drill to sum.
    let recorder = andal::metrics::SnapshotRecorder::new();
    metrics::set_global_recorder(recorder.clone()).map_err(|e| e.to_string())?;
    let client = Client::builder(&args.url)
        .partner_id(andal_sandbox::DEMO_BANK_PARTNER)
        .api_key(andal_sandbox::DEMO_BANK_KEY)
        .allow_insecure_http(true)
        .deadline(Duration::from_secs(2))
        .attempt_timeout(Duration::from_millis(800))
        .breaker_config(
            BreakerConfig::builder()
                .count_window(20)
                .minimum_number_of_calls(6)
                .slow_call_duration_threshold(Duration::from_millis(600))
                .wait_duration_in_open(Duration::from_millis(if args.quick { 400 } else { 1500 }))
                .fixed_open_wait()
                .permitted_calls_in_half_open(2)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .trust_roots(vec![root])
        .trust_cache_dir(d.join("trust"))
        .journal(d.join("offline.journal"), key)
        .build()
        .map_err(|e| e.to_string())?;
    client.refresh_trust().map_err(|e| format!("trust: {e}"))?;
    let mut acks = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(d.join("acks.txt"))
        .map_err(|e| e.to_string())?;
    let write_report = |client: &Client| {
        let tmp = d.join("outage-report.json.tmp");
        if std::fs::write(&tmp, client.outage_report().to_json()).is_ok() {
            let _ = std::fs::rename(&tmp, d.join("outage-report.json"));
        }
        let tmp = d.join("metrics.prom.tmp");
        if std::fs::write(&tmp, recorder.render_prometheus()).is_ok() {
            let _ = std::fs::rename(&tmp, d.join("metrics.prom"));
        }
    };
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut i = 0usize;
    // Past its time, a node goes on until its incident has closed (bounded).
    while started.elapsed().as_secs_f64() < args.secs
        || (client.outage_report().current.open_incident.is_some()
            && started.elapsed().as_secs_f64() < args.secs + 20.0)
    {
        let p = &people[i % people.len()];
        i += 1;
        if let Ok(q) = Query::parse(&p.nik, &p.name, &p.birth_date) {
            let mut opts = CheckOptions::default();
            if let Some(t) = &p.token {
                opts = opts.token(t.clone());
            }
            if let Ok(dec) = client.verify_with(&q, &opts)
                && let Provenance::Offline(o) = &dec.provenance
            {
                // Acknowledged: the decision is on disk in the journal before it returned.
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0);
                let _ = writeln!(acks, "{} {now_ms}", o.journal_seq);
            }
        }
        if last_report.elapsed() > Duration::from_millis(200) {
            write_report(&client);
            last_report = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(40));
    }
    write_report(&client);
    Ok(())
}

/// What the fleet drill found.
#[derive(Debug, Serialize)]
struct FleetSummary {
    nodes: usize,
    seed: u64,
    acknowledged_offline_decisions: usize,
    in_ledger: i64,
    missing_from_ledger: usize,
    shipper_kills: usize,
    postgres_restarted: bool,
    reconciled: i64,
    decisions_rechecked_more_than_once: i64,
    still_pending: i64,
    reconciliation_charges: u64,
    fleet_incidents: usize,
    nodes_in_fleet_incident: usize,
    personal_data_in_dump: usize,
    ship_lag_ms_p50: u64,
    ship_lag_ms_p99: u64,
    /// Nodes whose metrics (`andal_checks_total`) were read, and the sums by provenance.
    nodes_with_metrics: usize,
    node_metrics_checks: BTreeMap<String, u64>,
    reconcile_seconds: f64,
    reconciled_per_second: f64,
    ok: bool,
}

pub fn run(quick: bool, seed: u64, json: bool, out: &Path, f: &FleetArgs) -> ExitCode {
    let Some(url) = f.ledger.clone() else {
        eprintln!("andal drill --fleet needs a ledger (--ledger postgres://...).");
        eprintln!("{}", crate::ledger::START_POSTGRES_HELP);
        return crate::exit::Outcome::Config.code();
    };
    match fleet(quick, seed, json, out, f, &url) {
        Ok(s) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
            }
            if s.ok {
                ExitCode::SUCCESS
            } else {
                eprintln!("andal drill --fleet: a check failed (see the summary)");
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("andal drill --fleet: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Kids(Vec<Child>);
impl Drop for Kids {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn fleet(
    quick: bool,
    seed: u64,
    json: bool,
    out: &Path,
    f: &FleetArgs,
    url: &str,
) -> Result<FleetSummary, String> {
    let n = f.fleet.unwrap_or(8).max(1);
    let ca = f.ledger_ca.as_deref();
    let db_of = || crate::ledger::ledger_db(url, ca);
    // The child commands get the same CA.
    let ca_args: Vec<std::ffi::OsString> = match ca {
        Some(p) => vec!["--ledger-ca".into(), p.into()],
        None => Vec::new(),
    };
    let say = |s: String| {
        if !json {
            println!("{s}");
        }
    };
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // Only the drill's own sub-folder is cleared.
    let out = &out.join("fleet");
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    // A fresh ledger schema for the drill's database.
    {
        let mut db = schema::connect_unchecked(db_of()).map_err(|e| e.to_string())?;
        schema::migrate(&mut db).map_err(|e| e.to_string())?;
        db.batch_execute(
            "TRUNCATE ledger_rechecks, ledger_decisions, ledger_ship_cursor, ledger_incidents,
                      ledger_series, ledger_nodes",
        )
        .map_err(|e| e.to_string())?;
    }
    let lkey = LedgerKey::generate().map_err(|e| e.to_string())?;
    let lkey_path = out.join("ledger.key");
    crate::ledger::write_secret(&lkey_path, &lkey.to_hex()).map_err(|e| e.to_string())?;

    let sandbox = andal_sandbox::start(SandboxConfig::default().seed(seed))
        .map_err(|e| format!("sandbox: {e}"))?;
    let issuer = sandbox.issuer().ok_or("sandbox has no issuer")?.clone();
    let sample = sandbox.sample(n * 24);
    let mut all_people = Vec::new();
    let mut nodes = Vec::new();
    for i in 0..n {
        let dir = out.join(format!("node-{i}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("root.jwk"), issuer.root_key_json()).map_err(|e| e.to_string())?;
        let jk = JournalKey::generate().map_err(|e| e.to_string())?;
        let hex: String = jk
            .expose_secret()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        crate::ledger::write_secret(&dir.join("journal.key"), &hex).map_err(|e| e.to_string())?;
        let people: Vec<Person> = sample[i * 24..(i + 1) * 24]
            .iter()
            .enumerate()
            .map(|(j, p)| Person {
                nik: p.nik.clone(),
                name: p.full_name.clone(),
                birth_date: p.birth_date.clone(),
                token: (j % 3 != 0)
                    .then(|| sandbox.mint_token(&p.nik, andal_sandbox::DEMO_BANK_PARTNER))
                    .flatten(),
            })
            .collect();
        std::fs::write(
            dir.join("people.json"),
            serde_json::to_vec(&people).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        all_people.extend(people);
        nodes.push(dir);
    }
    let plan = phases(quick);
    let total: f64 = plan.iter().map(|p| p.2).sum();
    say(format!(
        "andal drill --fleet {n}: sandbox {}, ledger schema v{}, script {}",
        sandbox.url(),
        schema::SCHEMA_VERSION,
        plan.iter()
            .map(|p| format!("{} {:.0}s", p.0, p.2))
            .collect::<Vec<_>>()
            .join(" -> ")
    ));

    let mut node_procs = Kids(Vec::new());
    for dir in &nodes {
        let c = Command::new(&exe)
            .args(["drill-node", "--url", &sandbox.url(), "--secs"])
            .arg(format!("{total}"))
            .arg("--dir")
            .arg(dir)
            .args(if quick { &["--quick"][..] } else { &[][..] })
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        node_procs.0.push(c);
    }
    let ship_cmd = |i: usize| -> Result<Child, String> {
        let dir = &nodes[i];
        Command::new(&exe)
            .args(["ship", "--follow", "--interval-ms", "100", "--batch", "50"])
            .args(["--ledger", url, "--node-id", &format!("node-{i}")])
            .args(&ca_args)
            .args(["--upstream-host", "sandbox"])
            .arg("--journal")
            .arg(dir.join("offline.journal"))
            .arg("--key-file")
            .arg(dir.join("journal.key"))
            .arg("--ledger-key-file")
            .arg(&lkey_path)
            .arg("--outage-record")
            .arg(dir.join("outage-report.json"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())
    };
    let mut shippers = Kids((0..n).map(ship_cmd).collect::<Result<_, _>>()?);

    // The outage script, with seeded shipper kills and one PostgreSQL restart.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let kill_every = Duration::from_secs_f64(total / f.kills.max(1) as f64);
    let mut kills = 0usize;
    let mut next_kill = Instant::now() + kill_every;
    let mut restarted = false;
    let started = Instant::now();
    for (name, fault, secs) in &plan {
        match fault {
            Some(x) => sandbox.set_fault(x.clone()),
            None => sandbox.clear_fault(),
        }
        say(format!(
            "[{:>5.1}s] {name}",
            started.elapsed().as_secs_f64()
        ));
        let until = Instant::now() + Duration::from_secs_f64(*secs);
        while Instant::now() < until {
            if Instant::now() >= next_kill && kills < f.kills {
                let i = rng.random_range(0..n);
                let _ = shippers.0[i].kill(); // SIGKILL on Unix
                let _ = shippers.0[i].wait();
                shippers.0[i] = ship_cmd(i)?;
                kills += 1;
                next_kill += kill_every;
            }
            if !restarted
                && *name == "hang"
                && let Some(cmd) = &f.pg_restart_cmd
            {
                say(format!(
                    "[{:>5.1}s] restarting PostgreSQL",
                    started.elapsed().as_secs_f64()
                ));
                let st = Command::new("sh")
                    .args(["-c", cmd])
                    .stdout(Stdio::null())
                    .status()
                    .map_err(|e| e.to_string())?;
                if !st.success() {
                    return Err(format!("--pg-restart-cmd failed: {st}"));
                }
                restarted = true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    sandbox.clear_fault();
    // The rest of the kills, while the nodes finish.
    for c in &mut node_procs.0 {
        while c.try_wait().map_err(|e| e.to_string())?.is_none() {
            if kills < f.kills && Instant::now() >= next_kill {
                let i = rng.random_range(0..n);
                let _ = shippers.0[i].kill();
                let _ = shippers.0[i].wait();
                shippers.0[i] = ship_cmd(i)?;
                kills += 1;
                next_kill += Duration::from_millis(50);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    while kills < f.kills {
        let i = rng.random_range(0..n);
        std::thread::sleep(Duration::from_millis(rng.random_range(10..60)));
        let _ = shippers.0[i].kill();
        let _ = shippers.0[i].wait();
        shippers.0[i] = ship_cmd(i)?;
        kills += 1;
    }
    say(format!(
        "[{:>5.1}s] nodes done; {kills} shipper kills; PostgreSQL restarted: {restarted}",
        started.elapsed().as_secs_f64()
    ));

    // What the nodes acknowledged, what their journals hold, and what their metrics say.
    let mut acked: Vec<(usize, i64, i64)> = Vec::new(); // node, seq, ack ms
    let mut journal_items = 0usize;
    let mut node_checks: BTreeMap<String, u64> = BTreeMap::new(); // provenance -> checks
    let mut nodes_with_metrics = 0usize;
    for (i, dir) in nodes.iter().enumerate() {
        if let Ok(text) = std::fs::read_to_string(dir.join("metrics.prom")) {
            nodes_with_metrics += 1;
            for (provenance, n) in checks_by_provenance(&text) {
                *node_checks.entry(provenance).or_default() += n;
            }
        }
        let text = std::fs::read_to_string(dir.join("acks.txt")).unwrap_or_default();
        for line in text.lines() {
            let mut it = line.split_whitespace();
            if let (Some(s), Some(t)) = (it.next(), it.next()) {
                acked.push((i, s.parse().unwrap_or(0), t.parse().unwrap_or(0)));
            }
        }
        let key = crate::read_key(&dir.join("journal.key"))?;
        journal_items += andal::read_journal(dir.join("offline.journal"), &key)
            .map(|v| v.len())
            .unwrap_or(0);
    }

    // Let the shippers drain, then stop them.
    let mut db = connect_retry(db_of())?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let in_ledger: i64 = db
            .query_one("SELECT count(*) FROM ledger_decisions", &[])
            .map_err(|e| e.to_string())?
            .get(0);
        let nodes_with_incidents: i64 = db
            .query_one("SELECT count(DISTINCT node_id) FROM ledger_incidents", &[])
            .map_err(|e| e.to_string())?
            .get(0);
        if (in_ledger as usize >= journal_items && nodes_with_incidents as usize >= n)
            || Instant::now() > deadline
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(shippers);

    let mut in_ledger = 0i64;
    let mut missing = 0usize;
    let mut lags = Vec::new();
    for (i, seq, ack_ms) in &acked {
        let rows = db
            .query(
                "SELECT (extract(epoch FROM shipped_at) * 1000)::bigint FROM ledger_decisions
                 WHERE node_id = $1 AND seq = $2",
                &[&format!("node-{i}"), seq],
            )
            .map_err(|e| e.to_string())?;
        match rows.len() {
            1 => {
                in_ledger += 1;
                lags.push((rows[0].get::<_, i64>(0) - ack_ms).max(0) as u64);
            }
            0 => missing += 1,
            _ => return Err("a decision is in the ledger twice".into()),
        }
    }
    lags.sort_unstable();
    let pct = |p: f64| -> u64 {
        if lags.is_empty() {
            0
        } else {
            lags[((lags.len() as f64 * p).ceil() as usize).clamp(1, lags.len()) - 1]
        }
    };

    // Two reconcilers at once.
    let charged_before = sandbox
        .accounting()
        .partner(andal_sandbox::DEMO_BANK_PARTNER)
        .accesses_charged;
    let rec_started = Instant::now();
    let recs = (0..2)
        .map(|r| {
            Command::new(&exe)
                .args([
                    "reconcile",
                    "--ledger",
                    url,
                    "--until-done",
                    "--max-secs",
                    "120",
                ])
                .args(&ca_args)
                .arg("--ledger-key-file")
                .arg(&lkey_path)
                .args(["--id", &format!("reconciler-{r}"), "--url", &sandbox.url()])
                .args(["--partner-id", andal_sandbox::DEMO_BANK_PARTNER])
                .args(["--api-key", andal_sandbox::DEMO_BANK_KEY, "--allow-http"])
                .arg("--trust-root")
                .arg(nodes[0].join("root.jwk"))
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    for mut c in recs {
        let st = c.wait().map_err(|e| e.to_string())?;
        if !st.success() {
            return Err(format!("a reconciler failed: {st}"));
        }
    }
    let reconcile_seconds = rec_started.elapsed().as_secs_f64();
    let charges = sandbox
        .accounting()
        .partner(andal_sandbox::DEMO_BANK_PARTNER)
        .accesses_charged
        - charged_before;
    let q = |db: &mut postgres::Client, sql: &str| -> Result<i64, String> {
        db.query_one(sql, &[])
            .map(|r| r.get(0))
            .map_err(|e| e.to_string())
    };
    let total_decisions = q(&mut db, "SELECT count(*) FROM ledger_decisions")?;
    let reconciled = q(
        &mut db,
        "SELECT count(*) FROM ledger_decisions WHERE state <> 'pending'",
    )?;
    let pending = q(
        &mut db,
        "SELECT count(*) FROM ledger_decisions WHERE state = 'pending'",
    )?;
    let twice = q(
        &mut db,
        "SELECT count(*) FROM (SELECT 1 FROM ledger_rechecks WHERE outcome <> 'still_pending'
           GROUP BY node_id, file_id, seq HAVING count(*) <> 1) x",
    )?;
    let final_rechecks = q(
        &mut db,
        "SELECT count(*) FROM ledger_rechecks WHERE outcome <> 'still_pending'",
    )?;

    let (fleet_json, report) =
        andal_ledger::fleet::fleet_report(&mut db).map_err(|e| e.to_string())?;
    std::fs::write(out.join("fleet-outage-report.json"), &fleet_json).map_err(|e| e.to_string())?;
    let svg = andal_report::render_timeline_svg(&report).map_err(|e| e.to_string())?;
    std::fs::write(out.join("fleet-outage-timeline.svg"), svg).map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&fleet_json).map_err(|e| e.to_string())?;
    let nodes_in_first = v["incidents"][0]["nodes_affected"]
        .as_array()
        .map_or(0, |a| a.len());

    // The whole database, as a backup would hold it.
    let mut dump = Command::new(&f.pg_dump);
    if let Some(ca) = ca {
        // libpq's name for the CA file (the URL's sslmode applies as for the drill).
        dump.env("PGSSLROOTCERT", ca);
    }
    let dump = dump
        .arg("--dbname")
        .arg(url)
        .output()
        .map_err(|e| format!("{}: {e}", f.pg_dump))?;
    if !dump.status.success() {
        return Err(format!(
            "pg_dump: {}",
            String::from_utf8_lossy(&dump.stderr)
        ));
    }
    let dump = andal_ledger::audit::DumpIndex::new(&String::from_utf8_lossy(&dump.stdout));
    let leaks = all_people
        .iter()
        .filter(|p| andal_ledger::audit::mentions_person(&dump, &p.nik, &p.name, &p.birth_date))
        .count();

    let summary = FleetSummary {
        nodes: n,
        seed,
        acknowledged_offline_decisions: acked.len(),
        in_ledger,
        missing_from_ledger: missing,
        shipper_kills: kills,
        postgres_restarted: restarted,
        reconciled,
        decisions_rechecked_more_than_once: twice,
        still_pending: pending,
        reconciliation_charges: charges,
        fleet_incidents: report.incidents.len(),
        nodes_in_fleet_incident: nodes_in_first,
        personal_data_in_dump: leaks,
        ship_lag_ms_p50: pct(0.5),
        ship_lag_ms_p99: pct(0.99),
        nodes_with_metrics,
        node_metrics_checks: node_checks.clone(),
        reconcile_seconds,
        reconciled_per_second: reconciled as f64 / reconcile_seconds.max(1e-9),
        ok: !acked.is_empty()
            && missing == 0
            && in_ledger as usize == acked.len()
            && total_decisions as usize == journal_items
            && pending == 0
            && twice == 0
            && final_rechecks == total_decisions
            && charges <= total_decisions as u64
            && report.incidents.len() == 1
            && nodes_in_first == n
            && leaks == 0
            && (restarted || f.pg_restart_cmd.is_none())
            // Every acknowledged offline decision is an offline check in its node's metrics.
            && nodes_with_metrics == n
            && node_checks.get("offline").copied().unwrap_or(0) == acked.len() as u64,
    };
    if !json {
        let mut lines = BTreeMap::new();
        lines.insert(
            "1 acknowledged offline decisions",
            format!(
                "{} ({} in the ledger exactly once, {} missing)",
                acked.len(),
                in_ledger,
                missing
            ),
        );
        lines.insert("2 reconciled", format!("{reconciled} of {total_decisions}, {twice} re-checked more than once, {pending} pending; {:.1}/s with 2 reconcilers", summary.reconciled_per_second));
        lines.insert(
            "3 charges for reconciliation",
            format!("{charges} (at most {total_decisions})"),
        );
        lines.insert(
            "4 fleet incidents",
            format!(
                "{} ({} of {n} nodes in the first)",
                report.incidents.len(),
                nodes_in_first
            ),
        );
        lines.insert(
            "5 personal data in pg_dump",
            format!("{leaks} of {} people", all_people.len()),
        );
        lines.insert(
            "6 ship lag",
            format!(
                "p50 {} ms, p99 {} ms",
                summary.ship_lag_ms_p50, summary.ship_lag_ms_p99
            ),
        );
        lines.insert(
            "7 node metrics",
            format!(
                "andal_checks_total summed over {nodes_with_metrics} of {n} nodes: {}",
                node_checks
                    .iter()
                    .map(|(p, c)| format!("{p} {c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        for (k, v) in lines {
            println!("{}: {v}", &k[2..]);
        }
        print!("{}", report.summary_text());
        println!(
            "fleet outage record: {}",
            out.join("fleet-outage-report.json").display()
        );
        println!(
            "{}",
            if summary.ok {
                "fleet drill: OK"
            } else {
                "fleet drill: FAILED"
            }
        );
    }
    Ok(summary)
}

fn connect_retry(db: andal_ledger::LedgerDb) -> Result<postgres::Client, String> {
    let mut last = String::new();
    for _ in 0..50 {
        match schema::connect(db.clone()) {
            Ok(db) => return Ok(db),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(last)
}

/// `andal_checks_total` of a node's Prometheus text, summed by `provenance`.
fn checks_by_provenance(text: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("andal_checks_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once("} ") else {
            continue;
        };
        let provenance = labels
            .split(',')
            .find_map(|l| l.strip_prefix("provenance=\""))
            .map(|v| v.trim_end_matches('"').to_owned());
        if let (Some(p), Ok(v)) = (provenance, value.trim().parse::<f64>()) {
            *out.entry(p).or_default() += v as u64;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn node_checks_are_summed_by_provenance() {
        let text = "# TYPE andal_checks_total counter\n\
            andal_checks_total{host=\"127.0.0.1:1\",outcome=\"match\",provenance=\"offline\"} 3\n\
            andal_checks_total{host=\"127.0.0.1:1\",outcome=\"mismatch\",provenance=\"offline\"} 2\n\
            andal_checks_total{host=\"127.0.0.1:1\",outcome=\"match\",provenance=\"online\"} 7\n\
            andal_check_attempts_total{host=\"127.0.0.1:1\"} 40\n";
        let sums = super::checks_by_provenance(text);
        assert_eq!(sums.get("offline"), Some(&5));
        assert_eq!(sums.get("online"), Some(&7));
        assert_eq!(sums.len(), 2);
    }
}
