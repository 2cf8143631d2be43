//! The fleet drill as a test: `andal drill --fleet 8 --quick` against a real PostgreSQL,
//! 50 shipper SIGKILLs (seeded), one PostgreSQL restart, two reconcilers at once, all over
//! TLS with `sslmode=verify-full` and `--ledger-ca`. Needs `ANDAL_LEDGER_TEST_URL`,
//! `ANDAL_LEDGER_TEST_PG_RESTART` and `ANDAL_LEDGER_TEST_CA` (scripts/test.d/ledger.sh sets
//! them); without them it says so and returns, because the workspace run has no database.

use std::process::Command;

#[test]
fn fleet_drill_ships_exactly_once_reconciles_once_and_leaks_nothing() {
    let (Ok(base), Ok(restart), Ok(ca)) = (
        std::env::var("ANDAL_LEDGER_TEST_URL"),
        std::env::var("ANDAL_LEDGER_TEST_PG_RESTART"),
        std::env::var("ANDAL_LEDGER_TEST_CA"),
    ) else {
        eprintln!(
            "skipped: ANDAL_LEDGER_TEST_URL / ANDAL_LEDGER_TEST_PG_RESTART / ANDAL_LEDGER_TEST_CA \
             are not set (scripts/test.d/ledger.sh starts PostgreSQL and sets them)"
        );
        return;
    };
    // A database of its own.
    let db = format!("andal_fleet_{}", std::process::id());
    let mut admin = postgres::Client::connect(&base, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .unwrap();
    drop(admin);
    // The server's certificate is for `ledger.test` (signed by the run's CA), reached on
    // loopback: verify-full checks chain and name in the drill, every shipper and
    // reconciler it starts (--ledger-ca passed on) and pg_dump; without the CA they fail.
    let url = format!(
        "{}/{db}?hostaddr=127.0.0.1&sslmode=verify-full",
        base.rsplit_once('/')
            .unwrap()
            .0
            .replacen("@127.0.0.1:", "@ledger.test:", 1)
    );
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_andal"));
    cmd.args(["drill", "--fleet", "8", "--quick", "--json", "--seed", "11"]);
    if let Ok(bin) = std::env::var("ANDAL_PG_DUMP") {
        cmd.args(["--pg-dump", &bin]);
    }
    let run = cmd
        .args(["--ledger", &url, "--pg-restart-cmd", &restart])
        .args(["--ledger-ca", &ca])
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    let s: serde_json::Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("no JSON summary ({e}); stderr: {stderr}"));
    eprintln!("{s:#}");
    let n = |k: &str| s[k].as_f64().unwrap_or(-1.0);
    assert!(n("acknowledged_offline_decisions") > 0.0, "{s}");
    // Every acknowledged offline decision in the ledger exactly once.
    assert_eq!(n("in_ledger"), n("acknowledged_offline_decisions"));
    assert_eq!(n("missing_from_ledger"), 0.0);
    assert_eq!(n("shipper_kills"), 50.0);
    assert_eq!(s["postgres_restarted"], true);
    // Each reconciled exactly once, at most one charge per decision.
    assert_eq!(n("still_pending"), 0.0);
    assert_eq!(n("decisions_rechecked_more_than_once"), 0.0);
    assert!(n("reconciled") >= n("in_ledger"));
    assert!(n("reconciliation_charges") <= n("reconciled"));
    // One fleet incident with all 8 nodes; nothing personal in a full dump.
    assert_eq!(n("fleet_incidents"), 1.0);
    assert_eq!(n("nodes_in_fleet_incident"), 8.0);
    assert_eq!(n("personal_data_in_dump"), 0.0);
    // Every node published its series; their offline checks are the acknowledged decisions.
    assert_eq!(n("nodes_with_metrics"), 8.0);
    assert_eq!(
        s["node_metrics_checks"]["offline"].as_f64(),
        Some(n("acknowledged_offline_decisions"))
    );
    assert_eq!(s["ok"], true);
    assert!(run.status.success(), "{stderr}");
}

#[test]
fn fleet_drill_without_a_ledger_says_how_to_start_postgres() {
    let run = Command::new(env!("CARGO_BIN_EXE_andal"))
        .args(["drill", "--fleet", "8"])
        .output()
        .unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("--ledger"), "{err}");
    assert!(err.contains("initdb") && err.contains("pg_ctl"), "{err}");
}

#[test]
fn fleet_drill_takes_the_ledger_ca() {
    // The drill's own connection uses the CA file (read before anything is started): a
    // missing one is a clear error naming it. No database is needed.
    let run = Command::new(env!("CARGO_BIN_EXE_andal"))
        .args(["drill", "--fleet", "2", "--quick"])
        .args([
            "--ledger",
            "postgres://postgres@127.0.0.1:1/none?sslmode=verify-ca",
        ])
        .args(["--ledger-ca", "/nonexistent/ledger-ca.pem"])
        .env_remove("ANDAL_LEDGER_CA")
        .output()
        .unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("CA file /nonexistent/ledger-ca.pem"), "{err}");
    // Without --ledger it is refused by the argument parser.
    let run = Command::new(env!("CARGO_BIN_EXE_andal"))
        .args(["drill", "--ledger-ca", "/tmp/ca.pem"])
        .env_remove("ANDAL_LEDGER_CA")
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("--ledger"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}
