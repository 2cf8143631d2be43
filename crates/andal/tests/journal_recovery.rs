//! Issue 10 §4: the client surfaces what opening its journal found. A damaged last
//! record (kept in a side file) or an emptied journal file is a `warn` event (target
//! `andal::offline`) and readable through `Client::journal_recovery`; `inspect_journal`
//! says the same to read-only tools. No network: building a client sends nothing.

use std::sync::{Arc, Mutex};

use andal::{Client, JournalKey, TailRecovery};

const KEY: [u8; 32] = [0x24; 32];

/// Collects (target, level, message and fields) of every event.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<(String, tracing::Level, String)>>>);

struct Fields(String);
impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl tracing::Subscriber for Collect {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut f = Fields(String::new());
        event.record(&mut f);
        let m = event.metadata();
        self.0
            .lock()
            .unwrap()
            .push((m.target().to_owned(), *m.level(), f.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn build(path: &std::path::Path) -> (Client, Vec<(String, tracing::Level, String)>) {
    let c = Collect::default();
    let client = tracing::subscriber::with_default(c.clone(), || {
        Client::builder("https://registry.example")
            .partner_id("bank-a")
            .api_key("secret")
            .journal(path, JournalKey::from_bytes(KEY))
            .build()
            .unwrap()
    });
    let events = c.0.lock().unwrap().clone();
    (client, events)
}

fn offline_warnings(events: &[(String, tracing::Level, String)]) -> Vec<String> {
    events
        .iter()
        .filter(|(t, l, _)| t == "andal::offline" && *l == tracing::Level::WARN)
        .map(|(_, _, m)| m.clone())
        .collect()
}

/// A journal with `n` records written through the journal crate.
fn journal_with(path: &std::path::Path, n: usize) {
    let (j, _) = andal_journal::Journal::open(
        path,
        &andal_journal::JournalKey::from_bytes(KEY),
        andal_journal::JournalOptions::default(),
    )
    .unwrap();
    for i in 0..n {
        // A resolution record (refers to no decision): a valid entry that holds no person.
        let rec = format!(
            r#"{{"kind":"resolution","v":1,"decision_seq":{},"at":0,"outcome":{{"outcome":"confirmed"}}}}"#,
            100 + i
        );
        j.append(rec.as_bytes()).unwrap();
    }
}

#[test]
fn damaged_last_record_is_surfaced_by_the_client_and_inspect_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offline.journal");
    journal_with(&path, 2);
    // Flip a ciphertext bit of the last (complete) frame: bit rot in an acknowledged record.
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    // Read-only view first: reported, nothing moved.
    let view = andal::inspect_journal(&path, &JournalKey::from_bytes(KEY)).unwrap();
    assert!(view.recovery.may_have_lost_acknowledged());
    assert!(view.damaged_side_files.is_empty());
    assert!(
        view.warnings()[0].contains("may have been an acknowledged record"),
        "{:?}",
        view.warnings()
    );

    let (client, events) = build(&path);
    let rep = client.journal_recovery().expect("client has a journal");
    assert!(rep.may_have_lost_acknowledged());
    let side = match &rep.tail {
        TailRecovery::Damaged {
            side_file: Some(p), ..
        } => p.clone(),
        t => panic!("{t:?}"),
    };
    assert!(side.exists());
    let warns = offline_warnings(&events);
    assert_eq!(warns.len(), 1, "{events:?}");
    assert!(warns[0].contains("may have been an acknowledged offline decision"));
    assert!(
        warns[0].contains("damaged-"),
        "side file path in the event: {}",
        warns[0]
    );
    drop(client);

    // Afterwards the journal is clean, but read-only tools still warn about the side file.
    let view = andal::inspect_journal(&path, &JournalKey::from_bytes(KEY)).unwrap();
    assert_eq!(view.recovery.tail, TailRecovery::Clean);
    assert_eq!(view.damaged_side_files, vec![side.clone()]);
    assert!(view.warnings()[0].contains(&side.display().to_string()));
}

#[test]
fn emptied_journal_is_surfaced_and_clean_journal_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offline.journal");
    std::fs::write(&path, b"").unwrap();
    let view = andal::inspect_journal(&path, &JournalKey::from_bytes(KEY)).unwrap();
    assert!(view.recovery.was_empty && view.warnings()[0].contains("was empty"));

    let (client, events) = build(&path);
    let rep = client.journal_recovery().unwrap();
    assert!(rep.was_empty && !rep.created);
    let warns = offline_warnings(&events);
    assert_eq!(warns.len(), 1, "{events:?}");
    assert!(warns[0].contains("was empty"));
    drop(client);

    // Reopened: nothing to say.
    let (client, events) = build(&path);
    let rep = client.journal_recovery().unwrap();
    assert!(!rep.may_have_lost_acknowledged() && rep.warnings().is_empty());
    assert!(offline_warnings(&events).is_empty(), "{events:?}");
    // New journal: created, quiet.
    let (client2, events) = build(&dir.path().join("new.journal"));
    assert!(client2.journal_recovery().unwrap().created);
    assert!(offline_warnings(&events).is_empty(), "{events:?}");
    drop(client);
}

#[test]
fn no_journal_no_report() {
    let client = Client::builder("https://registry.example")
        .partner_id("bank-a")
        .api_key("secret")
        .build()
        .unwrap();
    assert!(client.journal_recovery().is_none());
}
