//! # Andal
//!
//! Identity checks (NIK, the 16-digit e-KTP number) that are **bounded, honest and still
//! useful during an outage** of the population registry.
//!
//! One check: validate offline ([`Nik`], [`Query`]) → send through the [`Client`] with an
//! idempotency key, a per-attempt timeout and a total deadline → a [`Decision`] with a
//! verdict and field-by-field results, or a typed [`Error`] within the deadline.
//!
//! ```no_run
//! use andal::{Client, Query};
//! let client = Client::builder("https://registry.example")
//!     .partner_id("bank-a")
//!     .api_key("secret")
//!     .build()?;
//! let query = Query::parse("3316094507990001", "Siti Aminah", "1999-07-05")?;
//! let decision = client.verify(&query)?;
//! println!("{} {}", decision.nik_masked, decision.verdict);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! No raw NIK, name or birth date ever appears in `Debug`, `Display`, logs or errors.
#![warn(missing_docs)]
// docs.rs builds with `--cfg docsrs` on nightly: feature-gated items show their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api;
pub mod client;
pub mod decision;
mod engine;
pub mod error;
pub mod locale;
pub mod metrics;
pub mod nik;
pub mod notice;
pub mod offline;
pub mod outage;
pub mod query;
pub mod reconcile;
pub mod region;
pub mod tls;
pub mod transport;

/// What opening (or reading) the offline journal found: see [`Client::journal_recovery`] and
/// [`inspect_journal`].
pub use andal_journal::{RecoveryReport, TailRecovery};
/// The resilience pieces the client composes (clock, deadline, retry, budget, breaker, events).
pub use andal_resilience as resilience;
pub use client::{
    AsyncClient, CheckOptions, Client, ClientBuilder, ClientHealth, DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_DEADLINE, Spawner, ThreadSpawner,
};
pub use decision::{Decision, FieldMatch, FieldResults, OfflineProvenance, Provenance, Verdict};
pub use error::{ConfigError, Error, InputError, Rejected, Unavailable, UnavailableCause};
pub use locale::{Language, OfficeZone};
pub use nik::{District, Nik, NikError, Region, Sex};
pub use notice::{Notice, NoticeCode};
pub use offline::{
    FallbackPolicy, FallbackRefusal, FallbackTrigger, JournalKey, RootKey, TrustStatus,
};
pub use query::{Query, normalize_name};
pub use reconcile::{
    Contradiction, JournalFollower, JournalItem, JournalRecord, JournalRecords, JournalView,
    OfflineDecision, ReconcileItem, ReconcileOutcome, ReconcileReport, inspect_journal,
    read_journal, read_journal_records,
};
pub use transport::{
    AsyncTransport, FailureKind, HttpRequest, HttpResponse, Method, Transport, TransportError,
};

/// Re-export of the date type used in queries.
pub use time::Date;
