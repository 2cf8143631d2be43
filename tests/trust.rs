//! Trust documents against a scripted registry (issue 10 §3): documents are bound to
//! their issuer, and rollback is refused, also across a restart whose cache files were
//! replaced (the high-water mark lives in the encrypted journal).

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use andal::offline::TokenError;
use andal::offline::{TrustDocument, TrustRefusal};
use andal::resilience::{ManualClock, RetryPolicy};
use andal::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use andal::{CheckOptions, Client, Error, FallbackRefusal, JournalKey, Query};
use andal_token::FieldValues;
use andal_token::issue::{Authority, Issuer, MintRequest, SigningKey};
use parking_lot::Mutex;

const T: u64 = 1_767_225_600; // 2026-01-01
const DAY: u64 = 86_400;
const ISS: &str = "registry-a";
const PARTNER: &str = "bank-1";
const NIK: &str = "3174015708900001";
const NAME: &str = "Siti Aminah";
const BIRTH: &str = "1990-08-17";
const KEY: [u8; 32] = [3; 32];

/// Serves whatever the test put at a path; checks fail with 503 (registry down).
#[derive(Debug, Default)]
struct Scripted(Mutex<HashMap<&'static str, String>>);

impl Scripted {
    fn serve(&self, path: &'static str, jws: &str) {
        self.0.lock().insert(path, jws.to_owned());
    }
}

impl Transport for Scripted {
    fn send(&self, r: &HttpRequest, _: Duration, _: u64) -> Result<HttpResponse, TransportError> {
        let docs = self.0.lock();
        let body = docs
            .iter()
            .find(|(p, _)| r.url.ends_with(**p))
            .map(|(_, d)| serde_json::json!({ "jws": d }).to_string());
        Ok(match body {
            Some(b) => HttpResponse {
                status: 200,
                headers: vec![],
                body: b.into_bytes(),
            },
            None => HttpResponse {
                status: 503,
                headers: vec![],
                body: vec![],
            },
        })
    }
}

struct World {
    root: SigningKey,
    authority: Authority,
    issuer: Issuer,
    token_key: SigningKey,
}

fn world() -> World {
    let root = SigningKey::ed25519_from_seed("root", &[1; 32]).unwrap();
    let token_key = SigningKey::ed25519_from_seed("k1", &[2; 32]).unwrap();
    World {
        authority: Authority::new(
            ISS,
            SigningKey::ed25519_from_seed("root", &[1; 32]).unwrap(),
        ),
        issuer: Issuer::new(ISS, SigningKey::ed25519_from_seed("k1", &[2; 32]).unwrap()),
        root,
        token_key,
    }
}

impl World {
    fn keyset(&self, iat: u64) -> String {
        self.authority
            .sign_keyset(iat, &[self.token_key.public_jwk()])
            .unwrap()
    }
    fn revocations(&self, iat: u64, jti: &[&str]) -> String {
        let jti: Vec<String> = jti.iter().map(|s| s.to_string()).collect();
        self.authority
            .sign_revocation_list(iat, iat + DAY, &jti, &[])
            .unwrap()
    }
    fn token(&self, jti: &str) -> String {
        let name = andal::normalize_name(NAME);
        self.issuer
            .mint(&MintRequest {
                fields: FieldValues {
                    nik: NIK,
                    name: &name,
                    birth_date: BIRTH,
                },
                audience: vec![PARTNER.into()],
                iat: T - 600,
                nbf: None,
                exp: T + 7 * DAY,
                jti: Some(jti.into()),
            })
            .unwrap()
    }
}

fn client(w: &World, t: &Arc<Scripted>, dir: &Path) -> Client {
    try_client(w, t, dir).unwrap()
}

fn try_client(w: &World, t: &Arc<Scripted>, dir: &Path) -> Result<Client, Error> {
    Client::builder("https://registry.example")
        .clock(Arc::new(ManualClock::starting_at(
            UNIX_EPOCH + Duration::from_secs(T),
        )))
        .partner_id(PARTNER)
        .api_key("key")
        .transport(t.clone())
        .retry_policy(RetryPolicy::builder().seed(1))
        .trust_roots(vec![w.root.root_key()])
        .trust_cache_dir(dir.join("trust"))
        .journal(dir.join("offline.journal"), JournalKey::from_bytes(KEY))
        .trust_refresh_interval(None)
        .build()
}

/// The async counterpart of [`client`] (ManualClock as clock and timer).
fn async_client(w: &World, t: &Arc<Scripted>, dir: &Path) -> andal::AsyncClient {
    let clock = Arc::new(ManualClock::starting_at(
        UNIX_EPOCH + Duration::from_secs(T),
    ));
    Client::builder("https://registry.example")
        .clock(clock.clone())
        .timer(clock)
        .partner_id(PARTNER)
        .api_key("key")
        .async_transport(t.clone())
        .retry_policy(RetryPolicy::builder().seed(1))
        .trust_roots(vec![w.root.root_key()])
        .trust_cache_dir(dir.join("trust"))
        .journal(dir.join("offline.journal"), JournalKey::from_bytes(KEY))
        .trust_refresh_interval(None)
        .build_async()
        .unwrap()
}

fn query() -> Query {
    Query::parse(NIK, NAME, BIRTH).unwrap()
}

fn offline_refusal(c: &Client, token: &str) -> FallbackRefusal {
    match c.verify_with(&query(), &CheckOptions::default().token(token.to_owned())) {
        Err(Error::Unavailable(u)) => u.fallback.expect("a refusal"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn replaced_cache_files_cannot_roll_trust_back_across_a_restart() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let t = Arc::new(Scripted::default());
    let (ks1, rl1) = (w.keyset(T - 2 * DAY), w.revocations(T - 7200, &[]));
    let (ks2, rl2) = (w.keyset(T - DAY), w.revocations(T - 3600, &["jti-revoked"]));
    t.serve("/v1/keys", &ks2);
    t.serve("/v1/revocations", &rl2);
    let c = client(&w, &t, dir.path());
    let st = c.refresh_trust().unwrap();
    assert_eq!(st.keyset_issued_at, Some(T - DAY));
    assert_eq!(st.issuer.as_deref(), Some(ISS));
    drop(c);
    // While stopped: the cache files are replaced by older (validly signed) documents.
    std::fs::write(dir.path().join("trust/andal-keyset.jws"), &ks1).unwrap();
    std::fs::write(dir.path().join("trust/andal-revocations.jws"), &rl1).unwrap();
    let down = Arc::new(Scripted::default());
    let c = client(&w, &down, dir.path());
    let st = c.trust_status();
    assert_eq!(st.keys, 0, "the older keyset is not installed");
    assert_eq!(st.revocations_issued_at, None, "nor the older list");
    assert_eq!(
        st.keyset_refused,
        Some(TrustRefusal::Rollback {
            document: TrustDocument::Keyset,
            held_issued_at: T - DAY,
            offered_issued_at: T - 2 * DAY,
        })
    );
    assert_eq!(
        st.revocations_refused,
        Some(TrustRefusal::Rollback {
            document: TrustDocument::RevocationList,
            held_issued_at: T - 3600,
            offered_issued_at: T - 7200,
        })
    );
    // The token revoked in v2 is not accepted offline on v1's word.
    assert_eq!(
        offline_refusal(&c, &w.token("jti-revoked")),
        FallbackRefusal::NoTrustedKeys
    );
    // The journal readers skip the trust records.
    drop(c);
    let items = andal::read_journal(
        dir.path().join("offline.journal"),
        &JournalKey::from_bytes(KEY),
    )
    .unwrap();
    assert!(items.is_empty());
    // The genuine cache comes back: accepted again.
    std::fs::write(dir.path().join("trust/andal-keyset.jws"), &ks2).unwrap();
    std::fs::write(dir.path().join("trust/andal-revocations.jws"), &rl2).unwrap();
    let c = client(&w, &down, dir.path());
    let st = c.trust_status();
    assert_eq!((st.keys, st.keyset_issued_at), (1, Some(T - DAY)));
    assert_eq!((st.keyset_refused, st.revocations_refused), (None, None));
    assert!(c.reconcile().unwrap().items.is_empty());
}

#[test]
fn an_older_or_conflicting_document_online_is_refused_with_a_status() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let t = Arc::new(Scripted::default());
    t.serve("/v1/keys", &w.keyset(T - DAY));
    t.serve(
        "/v1/revocations",
        &w.revocations(T - 3600, &["jti-revoked"]),
    );
    let c = client(&w, &t, dir.path());
    c.refresh_trust().unwrap();
    // The same documents again (the steady state of background refreshes): no refusal.
    let st = c.refresh_trust().unwrap();
    assert_eq!((st.keyset_refused, st.revocations_refused), (None, None));
    // Older ones: refused, the newer trust stays, and the status says so.
    t.serve("/v1/keys", &w.keyset(T - 2 * DAY));
    t.serve("/v1/revocations", &w.revocations(T - 7200, &[]));
    let st = c.refresh_trust().unwrap();
    assert_eq!(st.keyset_issued_at, Some(T - DAY));
    assert_eq!(st.revocations_issued_at, Some(T - 3600));
    assert_eq!(
        st.keyset_refused.as_ref().map(TrustRefusal::reason),
        Some("rollback")
    );
    assert!(matches!(
        st.revocations_refused,
        Some(TrustRefusal::Rollback {
            document: TrustDocument::RevocationList,
            ..
        })
    ));
    // As old but different (a second list for the same instant): refused too.
    t.serve("/v1/revocations", &w.revocations(T - 3600, &[]));
    let st = c.refresh_trust().unwrap();
    assert!(matches!(
        st.revocations_refused,
        Some(TrustRefusal::Rollback { held_issued_at, offered_issued_at, .. })
            if held_issued_at == offered_issued_at
    ));
    assert_eq!(
        offline_refusal(&c, &w.token("jti-revoked")),
        FallbackRefusal::Token(TokenError::Revoked {
            by: andal_token::RevokedBy::TokenId
        })
    );
    // As old but revoking more (a second revocation within the same second): accepted.
    t.serve(
        "/v1/revocations",
        &w.revocations(T - 3600, &["jti-revoked", "jti-2"]),
    );
    let st = c.refresh_trust().unwrap();
    assert_eq!(st.revocations_refused, None);
    assert_eq!(offline_refusal(&c, &w.token("jti-2")).reason(), "revoked");
    // A newer one is installed and clears the refusal.
    t.serve("/v1/revocations", &w.revocations(T - 60, &["jti-revoked"]));
    let st = c.refresh_trust().unwrap();
    assert_eq!(st.revocations_issued_at, Some(T - 60));
    assert_eq!(st.revocations_refused, None);
}

#[test]
fn documents_of_another_issuer_under_the_same_root_are_refused() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let t = Arc::new(Scripted::default());
    t.serve("/v1/keys", &w.keyset(T - DAY));
    t.serve(
        "/v1/revocations",
        &w.revocations(T - 3600, &["jti-revoked"]),
    );
    let c = client(&w, &t, dir.path());
    c.refresh_trust().unwrap();
    let revoked = w.token("jti-revoked");
    let before = offline_refusal(&c, &revoked);
    assert_eq!(before.reason(), "revoked");
    // Same root, another issuer, newer list that revokes nothing.
    let other = Authority::new(
        "registry-b",
        SigningKey::ed25519_from_seed("root", &[1; 32]).unwrap(),
    );
    t.serve(
        "/v1/revocations",
        &other
            .sign_revocation_list(T - 60, T + DAY, &[], &[])
            .unwrap(),
    );
    assert!(matches!(
        c.refresh_trust(),
        Err(Error::Token(TokenError::WrongIssuer))
    ));
    let st = c.trust_status();
    assert_eq!(
        st.revocations_refused,
        Some(TrustRefusal::WrongIssuer {
            document: TrustDocument::RevocationList
        })
    );
    assert_eq!(st.revocations_issued_at, Some(T - 3600));
    assert_eq!(offline_refusal(&c, &revoked), before, "still revoked");
    // A keyset of the other issuer, too.
    t.serve(
        "/v1/revocations",
        &w.revocations(T - 3600, &["jti-revoked"]),
    );
    t.serve(
        "/v1/keys",
        &other
            .sign_keyset(
                T - 60,
                &[SigningKey::ed25519_from_seed("k9", &[9; 32])
                    .unwrap()
                    .public_jwk()],
            )
            .unwrap(),
    );
    assert!(matches!(
        c.refresh_trust(),
        Err(Error::Token(TokenError::WrongIssuer))
    ));
    assert_eq!(c.trust_status().keyset_issued_at, Some(T - DAY));
    // Tokens of the right issuer still answer offline (not revoked).
    let ok = c
        .verify_with(
            &query(),
            &CheckOptions::default().token(w.token("jti-fine")),
        )
        .unwrap();
    assert!(ok.is_offline());
}

impl andal::transport::AsyncTransport for Scripted {
    fn send<'a>(
        &'a self,
        r: &'a HttpRequest,
        t: Duration,
        m: u64,
    ) -> andal::transport::SendFuture<'a> {
        Box::pin(std::future::ready(Transport::send(self, r, t, m)))
    }
}

/// The async client's refresh hands the raised mark and the cache files to its disk
/// writer thread (never written on the runtime); they are on disk when `refresh_trust`
/// returns, and a restart refuses replaced older cache files, as with the blocking client.
#[test]
fn the_async_client_journals_the_mark_and_caches_the_documents() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let t = Arc::new(Scripted::default());
    let (ks1, ks2) = (w.keyset(T - 2 * DAY), w.keyset(T - DAY));
    t.serve("/v1/keys", &ks2);
    t.serve("/v1/revocations", &w.revocations(T - 3600, &[]));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = async_client(&w, &t, dir.path());
    let st = rt.block_on(c.refresh_trust()).unwrap();
    assert_eq!(st.keyset_issued_at, Some(T - DAY));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("trust/andal-keyset.jws")).unwrap(),
        ks2
    );
    drop(c);
    std::fs::write(dir.path().join("trust/andal-keyset.jws"), &ks1).unwrap();
    let c = client(&w, &Arc::new(Scripted::default()), dir.path());
    let st = c.trust_status();
    assert_eq!(
        st.keys, 0,
        "the older cached keyset is refused after the restart"
    );
    assert_eq!(
        st.keyset_refused.as_ref().map(TrustRefusal::reason),
        Some("rollback")
    );
}

/// Two refreshes running at once may append their marks out of order (the lower one
/// last); the mark read at start-up is the highest recorded, so the order cannot lower it.
#[test]
fn a_lower_mark_appended_last_does_not_lower_the_mark() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let t = Arc::new(Scripted::default());
    let (ks1, ks2) = (w.keyset(T - 2 * DAY), w.keyset(T - DAY));
    t.serve("/v1/keys", &ks1);
    t.serve("/v1/revocations", &w.revocations(T - 3600, &[]));
    let c = client(&w, &t, dir.path());
    c.refresh_trust().unwrap();
    drop(c); // the client holds the journal's lock
    // The lower mark's record, kept to be appended again after the higher one.
    let journal_path = dir.path().join("offline.journal");
    let key = JournalKey::from_bytes(KEY);
    let marks = |path: &Path| -> Vec<Vec<u8>> {
        let (j, _) =
            andal_journal::Journal::open(path, &key, andal_journal::JournalOptions::new()).unwrap();
        j.records()
            .unwrap()
            .into_iter()
            .map(|r| r.payload)
            .filter(|p| p.starts_with(br#"{"kind":"trust_mark""#))
            .collect()
    };
    let lower = marks(&journal_path).pop().expect("a mark record");
    t.serve("/v1/keys", &ks2);
    let c = client(&w, &t, dir.path());
    c.refresh_trust().unwrap();
    drop(c);
    {
        let (j, _) =
            andal_journal::Journal::open(&journal_path, &key, andal_journal::JournalOptions::new())
                .unwrap();
        j.append(&lower).unwrap();
    }
    assert_eq!(marks(&journal_path).last(), Some(&lower));
    // While stopped, the older keyset replaces the cached one: still refused.
    std::fs::write(dir.path().join("trust/andal-keyset.jws"), &ks1).unwrap();
    let c = client(&w, &Arc::new(Scripted::default()), dir.path());
    let st = c.trust_status();
    assert_eq!(st.keys, 0);
    assert_eq!(
        st.keyset_refused,
        Some(TrustRefusal::Rollback {
            document: TrustDocument::Keyset,
            held_issued_at: T - DAY,
            offered_issued_at: T - 2 * DAY,
        })
    );
}

/// A refresh whose future is dropped while its writes are with the writer thread still
/// gets both written: the mark and the document it raised are one job, so a restart never
/// finds the mark journaled and its document missing from the cache (which would refuse
/// the client's own cache as a rollback).
#[test]
fn a_dropped_async_refresh_still_writes_its_mark_and_its_document() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let t = Arc::new(Scripted::default());
    let ks = w.keyset(T - DAY);
    t.serve("/v1/keys", &ks);
    t.serve("/v1/revocations", &w.revocations(T - 3600, &[]));
    let c = async_client(&w, &t, dir.path());
    {
        // One poll: the keyset is fetched (the scripted transport answers at once) and
        // installed, and its writes are handed over; then the caller gives up.
        let mut refresh = Box::pin(c.refresh_trust());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let _ = refresh.as_mut().poll(&mut cx);
    }
    drop(c); // the writer thread finishes what it was given, then ends
    let cached = dir.path().join("trust/andal-keyset.jws");
    for _ in 0..500 {
        if std::fs::read_to_string(&cached).is_ok_and(|d| d == ks) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10)); // waits for the writer thread only
    }
    assert_eq!(std::fs::read_to_string(&cached).unwrap(), ks);
    // Restarted with the registry down: the cached keyset is the mark's, so it is held.
    let mut st = None;
    for _ in 0..500 {
        // The writer may still hold the journal's lock for a moment after the file.
        if let Ok(c) = try_client(&w, &Arc::new(Scripted::default()), dir.path()) {
            st = Some(c.trust_status());
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let st = st.expect("the journal is free once the writer thread has ended");
    assert_eq!((st.keys, st.keyset_issued_at), (1, Some(T - DAY)));
    assert_eq!(st.keyset_refused, None);
}
