//! # andal-ledger
//!
//! A central ledger of a fleet's offline decisions on PostgreSQL (see `docs/ledger.md`):
//!
//! * [`ship`]: a shipper reads a node's journal without opening it for writing and ships
//!   every offline decision, node-side resolution and closed incident exactly once
//!   (idempotent upserts keyed by node id, journal file id and sequence number), batched,
//!   resumable from what the database holds; as a background thread ([`ship::spawn`]) or
//!   the `andal ship` command.
//! * [`key`]: the fields needed to re-check a decision are sealed (ChaCha20-Poly1305) under
//!   a [`LedgerKey`] the database never holds; in clear only the masked NIK, token id,
//!   verdict, node, times and causes.
//! * [`reconcile`]: central reconcilers claim pending decisions with
//!   `FOR UPDATE SKIP LOCKED` and re-check them through the normal [`andal::Client`], one
//!   idempotency key per decision.
//! * [`fleet`]: node incidents merged into fleet incidents, in the outage-record format.
//! * [`schema`]: versioned migrations (`andal ledger migrate`); a database newer than the
//!   tool is refused.
//! * [`connect`]: the connection ([`LedgerDb`]): the URL's `sslmode` honoured as libpq
//!   does (`verify-full` with the bank's CA file), over rustls.
//!
//! ```no_run
//! use andal_ledger::{LedgerKey, schema, ship};
//! let url = "postgres://andal@127.0.0.1:5432/andal";
//! let mut db = schema::connect_unchecked(url)?;
//! schema::migrate(&mut db)?;
//! let journal_key = andal::JournalKey::from_bytes([1; 32]);
//! let ledger_key = LedgerKey::from_bytes([2; 32]);
//! let cfg = ship::ShipperConfig::new("branch-017", "registry.example", "offline.journal");
//! let mut shipper = ship::Shipper::connect(url, cfg, journal_key, ledger_key)?;
//! let stats = shipper.ship_journal()?;
//! println!("{} new decisions", stats.decisions);
//! # Ok::<(), andal_ledger::LedgerError>(())
//! ```
#![warn(missing_docs)]

pub mod audit;
pub mod connect;
mod error;
pub mod fleet;
pub mod key;
pub mod reconcile;
pub mod schema;
pub mod ship;

pub use connect::{LedgerDb, SslPolicy};
pub use error::LedgerError;
pub use key::LedgerKey;

/// Environment variable naming the PostgreSQL URL the integration tests use.
pub const TEST_URL_ENV: &str = "ANDAL_LEDGER_TEST_URL";

pub(crate) fn contradiction_label(c: andal::Contradiction) -> &'static str {
    match c {
        andal::Contradiction::Mismatch => "mismatch",
        andal::Contradiction::Revoked => "revoked",
        andal::Contradiction::NotFound => "not_found",
        andal::Contradiction::Inactive => "inactive",
        _ => "other",
    }
}
