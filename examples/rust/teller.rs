//! A bank teller opens an account: the citizen's NIK is checked online; then the registry
//! goes down and the same check is answered from the citizen's wallet token, journaled,
//! and reconciled once the registry is back.
//!
//! Runs against the embedded sandbox: `cargo run -p andal --example teller`.

use std::time::Duration;

use andal::{CheckOptions, Client, Error, JournalKey, Language, OfficeZone, Provenance, Query};
use andal_sandbox::{DEMO_BANK_KEY, DEMO_BANK_PARTNER, Fault, SandboxConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = andal_sandbox::start(SandboxConfig::default().seed(2026))?;
    let work = tempfile::tempdir()?;

    // In production: the registry's URL, the bank's credentials, the root key pinned in the
    // bank's configuration, and a journal key from its KMS (or Keystore/Keychain on mobile).
    let client = Client::builder(sandbox.url())
        .partner_id(DEMO_BANK_PARTNER)
        .api_key(DEMO_BANK_KEY)
        .allow_insecure_http(true) // the sandbox only
        .deadline(Duration::from_secs(3))
        .trust_roots(vec![sandbox.issuer().ok_or("no issuer")?.root_key()])
        .trust_cache_dir(work.path().join("trust"))
        .journal(work.path().join("offline.journal"), JournalKey::generate()?)
        .build()?;
    client.refresh_trust()?;

    // The citizen at the counter (synthetic), with the token their ID wallet holds.
    let citizen = &sandbox.sample(1)[0];
    let wallet_token = sandbox
        .mint_token(&citizen.nik, DEMO_BANK_PARTNER)
        .ok_or("no token")?;
    let query = Query::parse(&citizen.nik, &citizen.full_name, &citizen.birth_date)?;
    let opts = CheckOptions::default().token(wallet_token);

    let online = client.verify_with(&query, &opts)?;
    println!(
        "online:  {} {} (fields: name {}, birth date {})",
        online.nik_masked,
        online.verdict,
        online.fields.full_name.as_str(),
        online.fields.birth_date.as_str()
    );

    sandbox.set_fault(Fault::Down);
    match client.verify_with(&query, &opts) {
        Ok(d) => {
            if let Provenance::Offline(o) = &d.provenance {
                println!(
                    "offline: {} {} from token {} (key {}), registry: {}, journal #{}",
                    d.nik_masked, d.verdict, o.token_id, o.key_id, o.online_failure, o.journal_seq
                );
            }
            // What the teller reads to the citizen and prints on the receipt.
            if let Some(n) = d.notice() {
                println!(
                    "  notice: {} {}",
                    n.code(),
                    n.message(Language::Indonesian, OfficeZone::Wib)
                );
            }
        }
        Err(Error::Unavailable(u)) => println!("unavailable: {u}"),
        Err(e) => return Err(e.into()),
    }
    // Without a token the teller gets an honest answer, fast, with the reason.
    if let Err(e) = client.verify(&query) {
        println!("no token: {e}");
        if let Some(n) = e.notice() {
            // Since when: the open incident of the outage record.
            let n = n.since(client.outage_recorder().current_incident_start());
            println!(
                "  notice: {} {}",
                n.code(),
                n.message(Language::Indonesian, OfficeZone::Wib)
            );
            println!(
                "  (English) {}",
                n.message(Language::English, OfficeZone::Wib)
            );
        }
    }

    sandbox.clear_fault();
    client.breaker().reset(); // an operator's "registry is back" (or wait out the open time)
    let report = client.reconcile()?;
    println!(
        "reconciled: {} confirmed, {} contradicted, {} pending",
        report.confirmed, report.contradicted, report.still_pending
    );
    for item in &report.items {
        let n = item.outcome.notice();
        println!(
            "  {} {}: {}",
            item.nik_masked,
            n.code(),
            n.message(Language::Indonesian, OfficeZone::Wib)
        );
    }
    print!("{}", client.outage_report().summary_text());
    Ok(())
}
