//! Versioned migrations (SQL files in `migrations/`, compiled in) and the version check
//! every other operation makes first.

use postgres::Client as Db;

use crate::{LedgerDb, LedgerError};

/// The migrations this build knows, in order; version = position + 1.
const MIGRATIONS: &[(&str, &str)] =
    &[("0001_ledger", include_str!("../migrations/0001_ledger.sql"))];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// One advisory lock id for migrations, so two tools migrating at once take turns.
const MIGRATION_LOCK: i64 = 0x616e_6461_6c4c_6467; // "andalLdg"

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationReport {
    /// Version before.
    pub from: i32,
    /// Version after.
    pub to: i32,
    /// Names of the migrations applied now.
    pub applied: Vec<String>,
}

/// Apply every missing migration in one transaction. Refuses (and changes nothing) when the
/// database is newer than this build.
pub fn migrate(db: &mut Db) -> Result<MigrationReport, LedgerError> {
    let mut tx = db.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS ledger_schema (
             version    integer PRIMARY KEY,
             name       text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now())",
    )?;
    let from = current_version_in(&mut tx)?;
    if from > SCHEMA_VERSION {
        return Err(LedgerError::SchemaTooNew {
            db: from,
            tool: SCHEMA_VERSION,
        });
    }
    let mut applied = Vec::new();
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        tx.batch_execute(sql)?;
        let v = i as i32 + 1;
        tx.execute(
            "INSERT INTO ledger_schema (version, name) VALUES ($1, $2)",
            &[&v, name],
        )?;
        applied.push((*name).to_owned());
    }
    tx.commit()?;
    Ok(MigrationReport {
        from,
        to: SCHEMA_VERSION,
        applied,
    })
}

/// The database's schema version (0 when never migrated).
pub fn current_version(db: &mut Db) -> Result<i32, LedgerError> {
    let mut tx = db.transaction()?;
    let v = current_version_in(&mut tx)?;
    tx.commit()?;
    Ok(v)
}

fn current_version_in(tx: &mut postgres::Transaction<'_>) -> Result<i32, LedgerError> {
    let exists: bool = tx
        .query_one("SELECT to_regclass('ledger_schema') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let v: Option<i32> = tx
        .query_one("SELECT max(version) FROM ledger_schema", &[])?
        .get(0);
    Ok(v.unwrap_or(0))
}

/// Refuse to work on a database whose schema is not exactly this build's.
pub fn require_current(db: &mut Db) -> Result<(), LedgerError> {
    let v = current_version(db)?;
    match v.cmp(&SCHEMA_VERSION) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Greater => Err(LedgerError::SchemaTooNew {
            db: v,
            tool: SCHEMA_VERSION,
        }),
        std::cmp::Ordering::Less => Err(LedgerError::SchemaTooOld {
            db: v,
            tool: SCHEMA_VERSION,
        }),
    }
}

/// Connect (a URL, or a [`LedgerDb`] with its CA: TLS as its `sslmode` says) and check the
/// schema.
pub fn connect(db: impl Into<LedgerDb>) -> Result<Db, LedgerError> {
    let mut db = db.into().connect()?;
    require_current(&mut db)?;
    Ok(db)
}

/// Connect without the schema check (for `migrate`).
pub fn connect_unchecked(db: impl Into<LedgerDb>) -> Result<Db, LedgerError> {
    db.into().connect()
}
