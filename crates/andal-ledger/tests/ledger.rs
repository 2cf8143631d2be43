//! Ledger integration tests against a real PostgreSQL. They need `ANDAL_LEDGER_TEST_URL`
//! (scripts/test.d/ledger.sh starts a throwaway PostgreSQL 15 cluster and sets it); without
//! it each test says so and returns, because the workspace run has no database server.
//! Each test works in its own fresh database.

use std::sync::Arc;
use std::time::Duration;

use andal::resilience::{BreakerConfig, ManualClock, RetryPolicy};
use andal::{CheckOptions, Client, JournalKey, Query};
use andal_ledger::reconcile::Reconciler;
use andal_ledger::ship::{Shipper, ShipperConfig};
use andal_ledger::{LedgerError, LedgerKey, fleet, schema};
use andal_sandbox::{
    DEMO_BANK_KEY, DEMO_BANK_PARTNER, Fault, SamplePerson, Sandbox, SandboxConfig,
};

const JKEY: [u8; 32] = [7; 32];
const LKEY: [u8; 32] = [9; 32];

/// A fresh database for one test, or `None` (with the reason printed) when no server is set.
fn fresh_db(name: &str) -> Option<String> {
    let Ok(url) = std::env::var(andal_ledger::TEST_URL_ENV) else {
        eprintln!(
            "skipped: {} is not set (scripts/test.d/ledger.sh starts PostgreSQL and sets it)",
            andal_ledger::TEST_URL_ENV
        );
        return None;
    };
    let db = format!("andal_t_{name}_{}", std::process::id());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .unwrap();
    let (base, _) = url.rsplit_once('/').expect("URL ends in /dbname");
    Some(format!("{base}/{db}"))
}

fn migrated(name: &str) -> Option<String> {
    let url = fresh_db(name)?;
    let mut db = schema::connect_unchecked(&url).unwrap();
    schema::migrate(&mut db).unwrap();
    Some(url)
}

fn client(sb: &Sandbox, dir: &std::path::Path, clock: &Arc<ManualClock>, journal: bool) -> Client {
    let mut b = Client::builder(sb.url())
        .clock(clock.clone())
        .partner_id(DEMO_BANK_PARTNER)
        .api_key(DEMO_BANK_KEY)
        .allow_insecure_http(true)
        .deadline(Duration::from_millis(1500))
        .attempt_timeout(Duration::from_millis(500))
        .retry_policy(RetryPolicy::builder().seed(9))
        .breaker_config(
            BreakerConfig::builder()
                .minimum_number_of_calls(3)
                .slow_call_duration_threshold(Duration::from_millis(400))
                .wait_duration_in_open(Duration::from_millis(200))
                .fixed_open_wait()
                .build()
                .unwrap(),
        )
        .trust_roots(vec![sb.issuer().unwrap().root_key()])
        .trust_cache_dir(dir.join("trust"));
    if journal {
        b = b.journal(dir.join("offline.journal"), JournalKey::from_bytes(JKEY));
    }
    let c = b.build().unwrap();
    c.refresh_trust().unwrap();
    c
}

/// A node that made `n` offline decisions during a hard-down registry, then recovered.
struct Node {
    sb: Sandbox,
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    client: Client,
    people: Vec<SamplePerson>,
}

fn node_with_offline_decisions(n: usize) -> Node {
    let sb = andal_sandbox::start(SandboxConfig::default().seed(31).people(2_000)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::starting_at(std::time::SystemTime::now()));
    let client = client(&sb, dir.path(), &clock, true);
    let people = sb.sample(n);
    sb.set_fault(Fault::Down);
    for p in &people {
        let token = sb.mint_token(&p.nik, DEMO_BANK_PARTNER).unwrap();
        let q = Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap();
        let d = client
            .verify_with(&q, &CheckOptions::default().token(token))
            .unwrap();
        assert!(d.is_offline());
        clock.advance(Duration::from_millis(50));
    }
    sb.clear_fault();
    clock.advance(Duration::from_secs(2));
    // One online check closes the node's incident.
    let q = Query::parse(&people[0].nik, &people[0].full_name, &people[0].birth_date).unwrap();
    for _ in 0..3 {
        if client.verify(&q).is_ok() && client.outage_report().current.open_incident.is_none() {
            break;
        }
        clock.advance(Duration::from_secs(1));
    }
    Node {
        sb,
        dir,
        clock,
        client,
        people,
    }
}

fn shipper(url: &str, node: &Node, node_id: &str, batch: usize) -> Shipper {
    let cfg = ShipperConfig::new(node_id, "sandbox", node.dir.path().join("offline.journal"))
        .batch_size(batch);
    Shipper::connect(
        url,
        cfg,
        JournalKey::from_bytes(JKEY),
        LedgerKey::from_bytes(LKEY),
    )
    .unwrap()
}

fn count(url: &str, sql: &str) -> i64 {
    let mut db = postgres::Client::connect(url, postgres::NoTls).unwrap();
    db.query_one(sql, &[]).unwrap().get(0)
}

/// pg_dump of the whole database (schema and data) as text.
fn dump(url: &str) -> String {
    let bin = std::env::var("ANDAL_PG_DUMP").unwrap_or_else(|_| "pg_dump".into());
    let out = std::process::Command::new(bin)
        .arg("--dbname")
        .arg(url)
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn assert_no_personal_data(dump: &str, people: &[SamplePerson]) {
    let index = andal_ledger::audit::DumpIndex::new(dump);
    for p in people {
        assert!(
            !andal_ledger::audit::mentions_person(&index, &p.nik, &p.full_name, &p.birth_date),
            "personal data in the dump"
        );
        // The masked NIK is there (reporting needs it): proof the rows are in the dump.
        assert!(dump.contains(&andal::Nik::parse(&p.nik).unwrap().masked()));
    }
}

#[test]
fn migrate_is_versioned_and_refuses_a_newer_database() {
    let Some(url) = fresh_db("migrate") else {
        return;
    };
    let mut db = schema::connect_unchecked(&url).unwrap();
    assert!(matches!(
        schema::require_current(&mut db),
        Err(LedgerError::SchemaTooOld { db: 0, .. })
    ));
    let first = schema::migrate(&mut db).unwrap();
    assert_eq!((first.from, first.to), (0, schema::SCHEMA_VERSION));
    assert_eq!(first.applied.len(), schema::SCHEMA_VERSION as usize);
    let again = schema::migrate(&mut db).unwrap();
    assert!(again.applied.is_empty());
    schema::connect(&url).unwrap();
    // A later tool migrated this database: this one must refuse, not write.
    db.execute(
        "INSERT INTO ledger_schema (version, name) VALUES ($1, 'from_the_future')",
        &[&(schema::SCHEMA_VERSION + 1)],
    )
    .unwrap();
    let e = schema::migrate(&mut db).unwrap_err();
    assert!(matches!(e, LedgerError::SchemaTooNew { .. }), "{e}");
    assert!(e.to_string().contains("newer than this tool"), "{e}");
    assert!(matches!(
        schema::connect(&url),
        Err(LedgerError::SchemaTooNew { .. })
    ));
}

#[test]
fn shipping_is_exactly_once_resumable_and_holds_no_personal_data() {
    let Some(url) = migrated("ship") else { return };
    let node = node_with_offline_decisions(7);
    let journal = node.dir.path().join("offline.journal");
    let items = andal::read_journal(&journal, &JournalKey::from_bytes(JKEY)).unwrap();
    assert_eq!(items.len(), 7);

    let mut s = shipper(&url, &node, "node-a", 3);
    let first = s.ship_journal().unwrap();
    assert_eq!(first.decisions, 7);
    assert!(first.batches >= 3, "batched by 3: {first:?}");
    // Nothing new: nothing shipped.
    assert_eq!(s.ship_journal().unwrap().decisions, 0);
    // A crash that lost the cursor (or a commit whose acknowledgement was lost): re-shipping
    // everything stores nothing twice.
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    db.execute("DELETE FROM ledger_ship_cursor", &[]).unwrap();
    let mut s2 = shipper(&url, &node, "node-a", 2);
    assert_eq!(s2.ship_journal().unwrap().decisions, 0);
    assert_eq!(count(&url, "SELECT count(*) FROM ledger_decisions"), 7);
    // Every journaled decision is there once, with its masked NIK and token.
    for i in &items {
        let n: i64 = db
            .query_one(
                "SELECT count(*) FROM ledger_decisions WHERE node_id = 'node-a' AND seq = $1
                   AND nik_masked = $2 AND token_id = $3 AND verdict = 'match'",
                &[&(i.journal_seq as i64), &i.nik_masked, &i.token_id],
            )
            .unwrap()
            .get(0);
        assert_eq!(n, 1);
    }
    // More decisions later resume after the cursor.
    node.sb.set_fault(Fault::Down);
    node.clock.advance(Duration::from_secs(1));
    let p = &node.people[1];
    let token = node.sb.mint_token(&p.nik, DEMO_BANK_PARTNER).unwrap();
    let q = Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap();
    for _ in 0..4 {
        let _ = node
            .client
            .verify_with(&q, &CheckOptions::default().token(token.clone()));
    }
    node.sb.clear_fault();
    let more = andal::read_journal(&journal, &JournalKey::from_bytes(JKEY))
        .unwrap()
        .len() as u64;
    assert!(more > 7);
    assert_eq!(s2.ship_journal().unwrap().decisions, more - 7);
    assert_eq!(
        count(&url, "SELECT count(*) FROM ledger_decisions"),
        more as i64
    );

    // Incidents: the closed one is shipped once. It came with the journal (the node
    // journals an incident as it closes), so the outage-record path finds it there.
    assert_eq!(first.incidents, 1);
    let report = node.client.outage_report();
    let closed = report.incidents.iter().filter(|i| !i.ongoing).count() as i64;
    assert_eq!(closed, 1);
    assert_eq!(s2.ship_outage_report(&report).unwrap(), 0);
    assert_eq!(count(&url, "SELECT count(*) FROM ledger_incidents"), closed);

    assert_no_personal_data(&dump(&url), &node.people[..7]);
}

#[test]
fn node_resolutions_are_shipped_as_outcomes() {
    let Some(url) = migrated("resolve") else {
        return;
    };
    let node = node_with_offline_decisions(3);
    let mut s = shipper(&url, &node, "node-r", 100);
    assert_eq!(s.ship_journal().unwrap().decisions, 3);
    node.clock.advance(Duration::from_secs(5));
    let rep = node.client.reconcile().unwrap();
    assert_eq!(rep.confirmed, 3);
    let stats = s.ship_journal().unwrap();
    assert_eq!((stats.decisions, stats.resolutions), (0, 3));
    assert_eq!(
        count(
            &url,
            "SELECT count(*) FROM ledger_decisions WHERE state = 'confirmed' AND resolved_by = 'node'"
        ),
        3
    );
    // Re-shipping the resolutions changes nothing.
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    db.execute("DELETE FROM ledger_ship_cursor", &[]).unwrap();
    assert_eq!(s.ship_journal().unwrap().resolutions, 0);
}

#[test]
fn two_reconcilers_recheck_each_decision_once_and_charge_once() {
    let Some(url) = migrated("reconcile") else {
        return;
    };
    let node = node_with_offline_decisions(24);
    let mut s = shipper(&url, &node, "node-c", 10);
    assert_eq!(s.ship_journal().unwrap().decisions, 24);
    let charged_before = node
        .sb
        .accounting()
        .partner(DEMO_BANK_PARTNER)
        .accesses_charged;

    let handles: Vec<_> = (0..2)
        .map(|i| {
            let url = url.clone();
            let c = client(
                &node.sb,
                node.dir.path(),
                &Arc::new(ManualClock::starting_at(std::time::SystemTime::now())),
                false,
            );
            std::thread::spawn(move || {
                let mut r =
                    Reconciler::connect(&url, c, LedgerKey::from_bytes(LKEY), format!("r{i}"))
                        .unwrap()
                        .claim_size(3);
                r.run_pass().unwrap()
            })
        })
        .collect();
    let stats: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        stats.iter().map(|s| s.confirmed).sum::<u64>(),
        24,
        "{stats:?}"
    );
    assert_eq!(
        count(
            &url,
            "SELECT count(*) FROM ledger_decisions WHERE state = 'pending'"
        ),
        0
    );
    // Each decision re-checked exactly once, by one reconciler, with one key.
    assert_eq!(count(&url, "SELECT count(*) FROM ledger_rechecks"), 24);
    assert_eq!(
        count(
            &url,
            "SELECT count(DISTINCT idempotency_key) FROM ledger_rechecks"
        ),
        24
    );
    let charged = node
        .sb
        .accounting()
        .partner(DEMO_BANK_PARTNER)
        .accesses_charged
        - charged_before;
    assert!(charged <= 24, "{charged} charges for 24 decisions");

    // A second pass finds nothing to do.
    let c = client(
        &node.sb,
        node.dir.path(),
        &Arc::new(ManualClock::starting_at(std::time::SystemTime::now())),
        false,
    );
    let mut r = Reconciler::connect(&url, c, LedgerKey::from_bytes(LKEY), "r9").unwrap();
    assert_eq!(r.run_pass().unwrap().claimed, 0);

    // A reconciler holding the wrong ledger key refuses instead of guessing.
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    db.execute("UPDATE ledger_decisions SET state = 'pending' WHERE seq = (SELECT min(seq) FROM ledger_decisions)", &[]).unwrap();
    let c = client(
        &node.sb,
        node.dir.path(),
        &Arc::new(ManualClock::starting_at(std::time::SystemTime::now())),
        false,
    );
    let mut wrong = Reconciler::connect(&url, c, LedgerKey::from_bytes([1; 32]), "rx").unwrap();
    assert!(matches!(
        wrong.run_pass(),
        Err(LedgerError::WrongLedgerKey { .. })
    ));
}

#[test]
fn a_reconciler_stops_while_the_registry_is_down_and_leaves_decisions_pending() {
    let Some(url) = migrated("down") else { return };
    let node = node_with_offline_decisions(4);
    let mut s = shipper(&url, &node, "node-d", 10);
    s.ship_journal().unwrap();
    let c = client(
        &node.sb,
        node.dir.path(),
        &Arc::new(ManualClock::starting_at(std::time::SystemTime::now())),
        false,
    );
    node.sb.set_fault(Fault::Down);
    let mut r = Reconciler::connect(&url, c, LedgerKey::from_bytes(LKEY), "r").unwrap();
    let st = r.run_pass().unwrap();
    assert_eq!(st.still_pending, 1, "{st:?}");
    assert!(st.stopped_by.is_some());
    assert_eq!(
        count(
            &url,
            "SELECT count(*) FROM ledger_decisions WHERE state = 'pending'"
        ),
        4
    );
    node.sb.clear_fault();
}

#[test]
fn fleet_report_merges_node_incidents_and_reads_back() {
    let Some(url) = migrated("fleet") else { return };
    let a = node_with_offline_decisions(2);
    let mut sa = shipper(&url, &a, "node-1", 10);
    sa.ship_journal().unwrap();
    sa.ship_outage_report(&a.client.outage_report()).unwrap();
    // A second node with the same incident times (a copy of node-1's record).
    let mut sb = shipper(&url, &a, "node-2", 10);
    sb.ship_outage_report(&a.client.outage_report()).unwrap();
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let (json, report) = fleet::fleet_report(&mut db).unwrap();
    assert_eq!(report.incidents.len(), 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["incidents"][0]["nodes_affected"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(report.incidents[0].checks.offline, 4);
    assert_eq!(report.incidents[0].reconciliation.unreconciled, 4);
    andal_report::render_timeline_svg(&report).unwrap();
}

#[test]
fn the_background_shipper_thread_ships_a_running_clients_journal_and_incidents() {
    let Some(url) = migrated("thread") else {
        return;
    };
    let node = node_with_offline_decisions(5);
    let handle = andal_ledger::ship::spawn(
        url.clone(),
        ShipperConfig::new("node-t", "sandbox", node.dir.path().join("offline.journal")),
        JournalKey::from_bytes(JKEY),
        LedgerKey::from_bytes(LKEY),
        andal_ledger::ship::OutageSource::Client(node.client.clone()),
        andal_ledger::ship::LoopOptions::default().interval(Duration::from_millis(20)),
    );
    // Waits for another thread's progress (bounded), not for a timer of the code under test.
    // The rows are committed inside a pass (the incident with the journal's first batch),
    // before the pass is counted: wait for both.
    let passes = || {
        handle
            .progress()
            .passes
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while count(&url, "SELECT count(*) FROM ledger_incidents") < 1
        || count(&url, "SELECT count(*) FROM ledger_decisions") < 5
        || passes() < 1
    {
        assert!(
            std::time::Instant::now() < until,
            "shipper thread made no progress"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    handle.stop();
    assert_eq!(count(&url, "SELECT count(*) FROM ledger_incidents"), 1);
    assert_eq!(count(&url, "SELECT count(*) FROM ledger_decisions"), 5);
}

/// A node closes an incident, never exports its outage record, and crashes (its client
/// dropped): the incident was journaled as it closed, so shipping the journal alone puts
/// it in the ledger, in the same batches as the decisions. The outage-record path and a
/// restarted shipper then find it there (same key): stored exactly once.
#[test]
fn an_incident_closed_before_the_node_crashed_is_shipped_from_its_journal() {
    let Some(url) = migrated("incjournal") else {
        return;
    };
    let node = node_with_offline_decisions(3);
    let report = node.client.outage_report();
    assert_eq!(
        report.current.open_incident, None,
        "the node's incident closed"
    );
    let closed = &report.incidents[0];
    let Node { client, dir, .. } = node;
    drop(client);
    let ship = |batch| {
        let cfg = ShipperConfig::new("node-c", "sandbox", dir.path().join("offline.journal"))
            .batch_size(batch);
        Shipper::connect(
            &url,
            cfg,
            JournalKey::from_bytes(JKEY),
            LedgerKey::from_bytes(LKEY),
        )
        .unwrap()
    };
    let mut s = ship(2);
    let stats = s.ship_journal().unwrap();
    assert_eq!((stats.decisions, stats.incidents), (3, 1));
    let row = format!(
        "SELECT count(*) FROM ledger_incidents WHERE node_id = 'node-c' AND incident_id = {}
           AND recording_since = '{}'::timestamptz AND ended_at = '{}'::timestamptz
           AND offline = 3 AND duration_ms = {}",
        closed.id.0,
        report.recording_since,
        closed.ended_at.as_deref().unwrap(),
        closed.duration_ms
    );
    assert_eq!(count(&url, &row), 1);
    // Had the node exported its record, that path would now store nothing new.
    assert_eq!(s.ship_outage_report(&report).unwrap(), 0);
    // A shipper that lost the cursor (killed before its commit was known) ships the whole
    // journal again: the keys turn it into no-ops.
    count(
        &url,
        "WITH d AS (DELETE FROM ledger_ship_cursor RETURNING 1) SELECT count(*) FROM d",
    );
    let again = ship(500).ship_journal().unwrap();
    assert_eq!((again.decisions, again.incidents), (0, 0));
    assert_eq!(count(&url, "SELECT count(*) FROM ledger_incidents"), 1);
    // A shipper that only reads the journal (no outage record) still feeds the fleet record.
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let (_, fleet) = fleet::fleet_report(&mut db).unwrap();
    assert_eq!(fleet.incidents.len(), 1);
    assert_eq!(fleet.incidents[0].checks.offline, 3);
}

/// Offline decisions a full read of the journal at `path` finds (the old shipper's view).
fn decisions_in(path: &std::path::Path) -> u64 {
    andal::read_journal_records(path, &JournalKey::from_bytes(JKEY), 0)
        .unwrap()
        .records
        .iter()
        .filter(|r| matches!(r, andal::JournalRecord::OfflineDecision { .. }))
        .count() as u64
}

fn last_seq(path: &std::path::Path) -> u64 {
    andal::read_journal_records(path, &JournalKey::from_bytes(JKEY), 0)
        .unwrap()
        .last_seq
}

/// The node makes up to `n` more offline decisions (the registry down again).
fn more_offline_decisions(node: &Node, n: usize) {
    node.sb.set_fault(Fault::Down);
    node.clock.advance(Duration::from_secs(1));
    for p in &node.people[1..=n] {
        let token = node.sb.mint_token(&p.nik, DEMO_BANK_PARTNER).unwrap();
        let q = Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap();
        let _ = node
            .client
            .verify_with(&q, &CheckOptions::default().token(token));
    }
    node.sb.clear_fault();
}

/// What a shipper ships must be durable first: a record the node wrote but had not yet
/// fsynced could be lost in a power loss and its sequence number reused for another
/// decision, which `ON CONFLICT DO NOTHING` would then refuse. The journal sync step (a
/// hook standing in for `fdatasync`) runs before anything of the pass is in the ledger, a
/// failed sync ships nothing, and a pass costs one sync whatever its number of batches.
#[test]
fn only_what_the_journal_made_durable_is_shipped_one_fsync_per_pass() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let Some(url) = migrated("durable") else {
        return;
    };
    let node = node_with_offline_decisions(6);
    let mut s = shipper(&url, &node, "node-d", 4);
    let fail = Arc::new(AtomicBool::new(true));
    // Decisions in the ledger each time the sync step runs.
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (f, u, log) = (fail.clone(), url.clone(), seen.clone());
    s.set_journal_sync_hook(Arc::new(move |file: &std::fs::File| {
        log.lock()
            .unwrap()
            .push(count(&u, "SELECT count(*) FROM ledger_decisions"));
        if f.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("injected fsync failure"));
        }
        file.sync_data()
    }));
    let decisions = || count(&url, "SELECT count(*) FROM ledger_decisions");

    // The sync fails: nothing is shipped, no cursor is written.
    assert!(s.ship_journal().is_err());
    assert_eq!(decisions(), 0);
    assert_eq!(count(&url, "SELECT count(*) FROM ledger_ship_cursor"), 0);

    // The sync succeeds: the records read (two batches) are shipped after it.
    fail.store(false, Ordering::SeqCst);
    let st = s.ship_journal().unwrap();
    assert_eq!((st.decisions, st.batches), (6, 2));
    assert_eq!(*seen.lock().unwrap(), [0, 0]);
    assert_eq!(s.journal_syncs(), 1);

    // Nothing new: no sync. More decisions in two batches: one sync, before them.
    assert_eq!(s.ship_journal().unwrap().decisions, 0);
    assert_eq!(s.journal_syncs(), 1);
    more_offline_decisions(&node, 5);
    let total = decisions_in(&node.dir.path().join("offline.journal"));
    assert!(total > 10, "{total} decisions");
    let st = s.ship_journal().unwrap();
    assert_eq!((st.decisions, st.batches), (total - 6, 2));
    assert_eq!(*seen.lock().unwrap(), [0, 0, 6]);
    assert_eq!(s.journal_syncs(), 2);
    assert_eq!(decisions(), total as i64);
}

#[test]
fn a_pass_reads_only_the_records_appended_since_the_last_one() {
    let Some(url) = migrated("incremental") else {
        return;
    };
    let node = node_with_offline_decisions(6);
    let src = node.dir.path().join("offline.journal");
    // The shipper follows a copy the test grows, cuts and replaces.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.journal");
    let full = std::fs::read(&src).unwrap();
    let last = last_seq(&src);
    let connect = || {
        Shipper::connect(
            &url,
            ShipperConfig::new("node-i", "sandbox", &path).batch_size(4),
            JournalKey::from_bytes(JKEY),
            LedgerKey::from_bytes(LKEY),
        )
        .unwrap()
    };
    let held = |sql: &str| count(&url, sql) as u64;

    // The last frame cut short (a write in progress): the pass stops before it.
    std::fs::write(&path, &full[..full.len() - 10]).unwrap();
    let mut s = connect();
    let first = s.ship_journal().unwrap();
    assert_eq!(first.records_read, last - 1);
    assert_eq!(first.shipped_through, last - 1);
    assert_eq!(first.decisions, decisions_in(&path));
    // Nothing new: nothing read, nothing shipped.
    let idle = s.ship_journal().unwrap();
    assert_eq!((idle.records_read, idle.decisions), (0, 0), "{idle:?}");
    // The frame completed: only it is read.
    std::fs::write(&path, &full).unwrap();
    let next = s.ship_journal().unwrap();
    assert_eq!(next.records_read, 1);
    assert_eq!(next.shipped_through, last);
    assert_eq!(held("SELECT count(*) FROM ledger_decisions"), 6);

    // N records shipped, then more appended: a pass reads only the new ones.
    more_offline_decisions(&node, 3);
    std::fs::copy(&src, &path).unwrap();
    let grown = last_seq(&path);
    let added = decisions_in(&path) - 6;
    assert!(added >= 1 && grown > last);
    let next = s.ship_journal().unwrap();
    assert_eq!(next.records_read, grown - last, "{next:?}");
    assert_eq!(next.decisions, added);
    assert_eq!(next.shipped_through, grown);
    assert_eq!(s.records_read(), grown);

    // The journal replaced by another file (another file id): read from its start.
    let other = node_with_offline_decisions(2);
    std::fs::copy(other.dir.path().join("offline.journal"), &path).unwrap();
    let other_last = last_seq(&path);
    let rotated = s.ship_journal().unwrap();
    assert_eq!(rotated.records_read, other_last);
    assert_eq!(rotated.decisions, 2);
    assert_eq!(
        held("SELECT count(DISTINCT file_id) FROM ledger_decisions"),
        2
    );

    // A restarted shipper reads the journal once and resumes from the database's cursor.
    let mut s2 = connect();
    let restarted = s2.ship_journal().unwrap();
    assert_eq!(
        (restarted.records_read, restarted.decisions),
        (other_last, 0)
    );
    assert_eq!(s2.ship_journal().unwrap().records_read, 0);

    // The database restored from a backup that predates the last file: its cursor went
    // backwards, so the shipper reads the journal again and re-ships what is missing.
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let file_id: Vec<u8> = full[12..28].to_vec();
    db.execute(
        "DELETE FROM ledger_decisions WHERE file_id <> $1",
        &[&file_id],
    )
    .unwrap();
    db.execute(
        "DELETE FROM ledger_ship_cursor WHERE file_id <> $1",
        &[&file_id],
    )
    .unwrap();
    let repaired = s2.ship_journal().unwrap();
    assert_eq!((repaired.records_read, repaired.decisions), (other_last, 2));
    // Every decision of both files once.
    assert_eq!(
        held("SELECT count(*) FROM ledger_decisions WHERE node_id = 'node-i'"),
        6 + added + 2
    );
    assert_eq!(
        held("SELECT count(*) FROM (SELECT DISTINCT file_id, seq FROM ledger_decisions) d"),
        6 + added + 2
    );
}

#[test]
fn the_background_shipper_publishes_ship_lag_and_progress_metrics() {
    use andal_ledger::ship::{LoopOptions, OutageSource, metric_names};
    let Some(url) = migrated("metrics") else {
        return;
    };
    let node = node_with_offline_decisions(4);
    let journal = node.dir.path().join("offline.journal");
    let read = andal::read_journal_records(&journal, &JournalKey::from_bytes(JKEY), 0).unwrap();
    let first_decided = read
        .records
        .iter()
        .find_map(|r| match r {
            andal::JournalRecord::OfflineDecision { decision, .. } => Some(decision.decided_at()),
            _ => None,
        })
        .unwrap();
    let recorder = andal::metrics::SnapshotRecorder::new();
    let value = |name: &str| {
        recorder
            .snapshot()
            .into_iter()
            .find(|m| m.name == name && m.label("node") == Some("node-m"))
            .map(|m| m.value)
    };
    // Waits for another thread's progress (bounded), not for a timer of the code under test.
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(std::time::Instant::now() < until, "no {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let start = |url: String| {
        // Registered with the recorder current where the thread is spawned, as a client's.
        metrics::with_local_recorder(&recorder, || {
            andal_ledger::ship::spawn(
                url,
                ShipperConfig::new("node-m", "sandbox", &journal),
                JournalKey::from_bytes(JKEY),
                LedgerKey::from_bytes(LKEY),
                OutageSource::None,
                LoopOptions::default().interval(Duration::from_millis(20)),
            )
        })
    };

    // The ledger unreachable (nothing listens on port 1): the lag is the whole journal,
    // and the journal is read once however many passes fail.
    let t = start("postgres://postgres@127.0.0.1:1/none".into());
    wait_for("failed pass", &|| value(metric_names::ERRORS) >= Some(2.0));
    t.stop();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(value(metric_names::LAG_RECORDS), Some(read.last_seq as f64));
    let lag_s = value(metric_names::LAG_SECONDS).unwrap();
    let expected = now.saturating_sub(first_decided) as f64;
    assert!(
        (lag_s - expected).abs() <= 2.0,
        "lag {lag_s} s, expected {expected} s"
    );
    assert_eq!(
        value(metric_names::RECORDS_READ),
        Some(read.last_seq as f64)
    );
    assert_eq!(value(metric_names::PASSES), Some(0.0));
    assert_eq!(value(metric_names::DECISIONS), Some(0.0));

    // The ledger back: the first pass finds the whole journal behind and ships it, the
    // next finds nothing behind.
    let t = start(url.clone());
    wait_for("second pass", &|| value(metric_names::PASSES) >= Some(2.0));
    let progress = t.progress();
    assert_eq!(
        progress
            .lag_records
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    t.stop();
    assert_eq!(value(metric_names::LAG_RECORDS), Some(0.0));
    assert_eq!(value(metric_names::LAG_SECONDS), Some(0.0));
    assert_eq!(value(metric_names::DECISIONS), Some(4.0));
    assert_eq!(
        value(metric_names::SHIPPED_THROUGH),
        Some(read.last_seq as f64)
    );
    // A new shipper read the journal once more, then only what was new (nothing).
    assert_eq!(
        value(metric_names::RECORDS_READ),
        Some(2.0 * read.last_seq as f64)
    );
    assert_eq!(count(&url, "SELECT count(*) FROM ledger_decisions"), 4);
    // No personal data in any series: node id and numbers only.
    let page = recorder.render_prometheus();
    for p in &node.people {
        assert!(!page.contains(&p.nik) && !page.contains(&p.full_name));
    }
}

/// The ship lag when the node's clock runs ahead of the shipper's host: a decision stamped
/// in the shipper's future must not read as 0 s behind however long it waits. No database
/// is needed (nothing listens on port 1): a pass measures the lag before it fails.
#[test]
fn ship_lag_is_counted_from_first_sight_when_the_node_clock_runs_ahead() {
    use std::time::SystemTime;
    let node = node_with_offline_decisions(3);
    let journal = node.dir.path().join("offline.journal");
    let lag_with = |clock: &Arc<ManualClock>| {
        let cfg = ShipperConfig::new("node-s", "sandbox", &journal).clock(clock.clone());
        Shipper::new(
            "postgres://postgres@127.0.0.1:1/none",
            cfg,
            JournalKey::from_bytes(JKEY),
            LedgerKey::from_bytes(LKEY),
        )
        .unwrap()
    };

    // The shipper's host 10 minutes behind the node (the node's clock ahead).
    let clock = Arc::new(ManualClock::starting_at(
        SystemTime::now() - Duration::from_secs(600),
    ));
    let mut s = lag_with(&clock);
    assert!(s.ship_journal().is_err());
    assert_eq!(s.lag().records, last_seq(&journal));
    assert_eq!(s.lag().oldest_decision_secs, 0, "just read");
    let ahead = s.lag().node_clock_ahead_secs;
    assert!(
        (590..=610).contains(&ahead),
        "node clock ahead by {ahead} s"
    );
    clock.advance(Duration::from_secs(42));
    assert!(s.ship_journal().is_err());
    // By the decision time alone this read 0 (the decisions are 9+ minutes in the future).
    assert_eq!(s.lag().oldest_decision_secs, 42);
    assert_eq!(s.lag().node_clock_ahead_secs, ahead, "nothing new read");

    // The host's clock ahead of the node's: the decision time is the longer measure.
    let clock = Arc::new(ManualClock::starting_at(
        SystemTime::now() + Duration::from_secs(100),
    ));
    let mut s = lag_with(&clock);
    assert!(s.ship_journal().is_err());
    let lag = s.lag();
    assert!((95..=110).contains(&lag.oldest_decision_secs), "{lag:?}");
    assert_eq!(lag.node_clock_ahead_secs, 0);
    clock.advance(Duration::from_secs(5));
    assert!(s.ship_journal().is_err());
    assert_eq!(s.lag().oldest_decision_secs, lag.oldest_decision_secs + 5);
}

#[test]
fn tls_to_the_ledger_honours_sslmode_and_the_ca() {
    use andal_ledger::LedgerDb;
    let Some(url) = migrated("tls") else { return };
    // scripts/test.d/ledger.sh runs the server with ssl=on and a certificate for the name
    // `ledger.test` signed by a CA made for the run (and another CA that signed nothing).
    let (Ok(ca), Ok(other_ca)) = (
        std::env::var("ANDAL_LEDGER_TEST_CA"),
        std::env::var("ANDAL_LEDGER_TEST_OTHER_CA"),
    ) else {
        eprintln!("skipped: ANDAL_LEDGER_TEST_CA is not set (scripts/test.d/ledger.sh sets it)");
        return;
    };
    let with = |u: &str, mode: &str| {
        format!(
            "{u}{}sslmode={mode}",
            if u.contains('?') { '&' } else { '?' }
        )
    };
    // The certificate's name, reached on loopback (hostaddr: no resolver involved).
    let named = format!(
        "{}?hostaddr=127.0.0.1",
        url.replacen("@127.0.0.1:", "@ledger.test:", 1)
    );
    let encrypted = |db: &mut postgres::Client| -> bool {
        db.query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0)
    };

    // verify-full with the CA: the chain and the name are checked.
    let mut db = LedgerDb::new(with(&named, "verify-full"))
        .ca_file(&ca)
        .connect()
        .unwrap();
    assert!(encrypted(&mut db));
    // verify-full without a CA: a configuration error saying what is missing.
    let e = LedgerDb::new(with(&named, "verify-full"))
        .connect()
        .err()
        .unwrap();
    assert!(matches!(e, LedgerError::Config(_)), "{e:?}");
    assert!(e.to_string().contains("CA certificate"), "{e}");
    // verify-full with a CA that did not sign the server's certificate: refused.
    let e = LedgerDb::new(with(&named, "verify-full"))
        .ca_file(&other_ca)
        .connect()
        .err()
        .unwrap();
    assert!(matches!(e, LedgerError::Tls { .. }), "{e:?}");
    assert!(e.to_string().contains("certificate"), "{e}");
    // verify-full to a name the certificate does not hold: refused; verify-ca checks the
    // chain only and accepts it.
    let e = LedgerDb::new(with(&url, "verify-full"))
        .ca_file(&ca)
        .connect()
        .err()
        .unwrap();
    assert!(matches!(e, LedgerError::Tls { .. }), "{e:?}");
    assert!(e.to_string().contains("certificate"), "{e}");
    let mut db = LedgerDb::new(with(&url, "verify-ca"))
        .ca_file(&ca)
        .connect()
        .unwrap();
    assert!(encrypted(&mut db));
    // verify-ca still refuses a chain to another CA.
    assert!(matches!(
        LedgerDb::new(with(&url, "verify-ca"))
            .ca_file(&other_ca)
            .connect(),
        Err(LedgerError::Tls { .. })
    ));
    // require without a CA: encrypted, the certificate not checked (libpq's meaning).
    assert!(encrypted(
        &mut LedgerDb::new(with(&url, "require")).connect().unwrap()
    ));
    // The default (prefer) uses TLS when the server offers it; disable never does.
    assert!(encrypted(
        &mut LedgerDb::new(url.as_str()).connect().unwrap()
    ));
    assert!(!encrypted(
        &mut LedgerDb::new(with(&url, "disable")).connect().unwrap()
    ));

    // The shipper through verify-full (the library's builder option end to end).
    let node = node_with_offline_decisions(2);
    let mut s = Shipper::connect(
        LedgerDb::new(with(&named, "verify-full")).ca_file(&ca),
        ShipperConfig::new(
            "node-tls",
            "sandbox",
            node.dir.path().join("offline.journal"),
        ),
        JournalKey::from_bytes(JKEY),
        LedgerKey::from_bytes(LKEY),
    )
    .unwrap();
    assert_eq!(s.ship_journal().unwrap().decisions, 2);

    // A password in the URL never shows in an error or a Debug.
    let secret = "hunter2-ledger";
    let target = LedgerDb::new(format!(
        "postgres://postgres:{secret}@127.0.0.1:1/none?sslmode=require"
    ));
    let e = target.connect().err().unwrap();
    for shown in [e.to_string(), format!("{e:?}"), format!("{target:?}")] {
        assert!(!shown.contains(secret), "{shown}");
    }
}
