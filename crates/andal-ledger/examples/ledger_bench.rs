//! Ledger benchmarks, side by side in one run (docs/benchmarks.md):
//! ingest (decisions/s) batched vs one by one, the cost of a shipping pass reading the whole
//! journal vs following it, and central reconciliation throughput with one and two
//! reconcilers. Needs a PostgreSQL: `ANDAL_LEDGER_TEST_URL=postgres://... cargo
//! run --release -p andal-ledger --example ledger_bench [-- N]`.

use std::time::{Duration, Instant};

use andal::resilience::BreakerConfig;
use andal::{CheckOptions, Client, JournalKey, Query};
use andal_ledger::reconcile::Reconciler;
use andal_ledger::ship::{Shipper, ShipperConfig};
use andal_ledger::{LedgerKey, schema};
use andal_sandbox::{DEMO_BANK_KEY, DEMO_BANK_PARTNER, Fault, SandboxConfig};

const JKEY: [u8; 32] = [3; 32];
const LKEY: [u8; 32] = [4; 32];

fn fresh(base: &str, name: &str) -> String {
    let mut admin = postgres::Client::connect(base, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    schema::migrate(&mut schema::connect_unchecked(&url).unwrap()).unwrap();
    url
}

fn main() {
    let base = std::env::var(andal_ledger::TEST_URL_ENV).expect("set ANDAL_LEDGER_TEST_URL");
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let sb = andal_sandbox::start(SandboxConfig::default().seed(5)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("bench.journal");
    let client = Client::builder(sb.url())
        .partner_id(DEMO_BANK_PARTNER)
        .api_key(DEMO_BANK_KEY)
        .allow_insecure_http(true)
        .breaker_config(
            BreakerConfig::builder()
                .minimum_number_of_calls(2)
                .build()
                .unwrap(),
        )
        .trust_roots(vec![sb.issuer().unwrap().root_key()])
        .trust_cache_dir(dir.path().join("trust"))
        .journal(&journal, JournalKey::from_bytes(JKEY))
        .build()
        .unwrap();
    client.refresh_trust().unwrap();
    // n offline decisions of n different people (the registry is down).
    let people = sb.sample(n);
    let tokens: Vec<_> = people
        .iter()
        .map(|p| sb.mint_token(&p.nik, DEMO_BANK_PARTNER).unwrap())
        .collect();
    sb.set_fault(Fault::Down);
    let t = Instant::now();
    let mut made = 0;
    for (p, tok) in people.iter().zip(&tokens) {
        let q = Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap();
        if client
            .verify_with(&q, &CheckOptions::default().token(tok.clone()))
            .is_ok_and(|d| d.is_offline())
        {
            made += 1;
        }
    }
    sb.clear_fault();
    eprintln!(
        "{made} offline decisions journaled in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    println!("| ledger ingest ({made} decisions, one node) | decisions/s | transactions |");
    println!("|---|---:|---:|");
    for (label, batch) in [("batched (500 per transaction)", 500), ("one by one", 1)] {
        let url = fresh(&base, &format!("andal_bench_ingest_{batch}"));
        let mut s = Shipper::connect(
            &url,
            ShipperConfig::new("bench-node", "sandbox", &journal).batch_size(batch),
            JournalKey::from_bytes(JKEY),
            LedgerKey::from_bytes(LKEY),
        )
        .unwrap();
        let t = Instant::now();
        let st = s.ship_journal().unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(st.decisions as usize, made);
        println!("| {label} | {:.0} | {} |", made as f64 / secs, st.batches);
    }

    // A pass with nothing new: reading the whole journal (every pass before the shipper
    // followed the journal; a shipper's first pass still does) vs following it.
    const PASSES: usize = 20;
    let url = fresh(&base, "andal_bench_follow");
    let connect = || {
        Shipper::connect(
            &url,
            ShipperConfig::new("bench-follow", "sandbox", &journal),
            JournalKey::from_bytes(JKEY),
            LedgerKey::from_bytes(LKEY),
        )
        .unwrap()
    };
    let mut following = connect();
    let first = following.ship_journal().unwrap();
    let mut whole: Vec<Shipper> = (0..PASSES).map(|_| connect()).collect();
    println!();
    println!(
        "| shipping pass with nothing new ({} journal records) | records read per pass | time per pass |",
        first.records_read
    );
    println!("|---|---:|---:|");
    let t = Instant::now();
    let read: u64 = whole
        .iter_mut()
        .map(|s| s.ship_journal().unwrap().records_read)
        .sum();
    println!(
        "| whole journal (before; still a shipper's first pass) | {} | {:.2} ms |",
        read / PASSES as u64,
        t.elapsed().as_secs_f64() * 1e3 / PASSES as f64
    );
    let t = Instant::now();
    let read: u64 = (0..PASSES)
        .map(|_| following.ship_journal().unwrap().records_read)
        .sum();
    println!(
        "| following the journal (now) | {} | {:.2} ms |",
        read / PASSES as u64,
        t.elapsed().as_secs_f64() * 1e3 / PASSES as f64
    );
    drop(whole);

    println!();
    println!(
        "| central reconciliation ({made} decisions, sandbox healthy) | decisions/s | wall time |"
    );
    println!("|---|---:|---:|");
    for reconcilers in [1usize, 2] {
        let url = fresh(&base, &format!("andal_bench_rec_{reconcilers}"));
        let mut s = Shipper::connect(
            &url,
            // Another node id: other idempotency keys, so no run replays another's answers.
            ShipperConfig::new(format!("bench-{reconcilers}"), "sandbox", &journal),
            JournalKey::from_bytes(JKEY),
            LedgerKey::from_bytes(LKEY),
        )
        .unwrap();
        s.ship_journal().unwrap();
        let t = Instant::now();
        let handles: Vec<_> = (0..reconcilers)
            .map(|i| {
                let url = url.clone();
                let c = Client::builder(sb.url())
                    .partner_id(DEMO_BANK_PARTNER)
                    .api_key(DEMO_BANK_KEY)
                    .allow_insecure_http(true)
                    .deadline(Duration::from_secs(5))
                    .build()
                    .unwrap();
                std::thread::spawn(move || {
                    let mut r =
                        Reconciler::connect(&url, c, LedgerKey::from_bytes(LKEY), format!("r{i}"))
                            .unwrap();
                    r.run_pass().unwrap().confirmed
                })
            })
            .collect();
        let done: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(done as usize, made);
        println!(
            "| {reconcilers} reconciler{} | {:.0} | {:.2} s |",
            if reconcilers == 1 { "" } else { "s" },
            done as f64 / secs,
            secs
        );
    }
}
