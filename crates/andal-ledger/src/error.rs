//! Errors of the ledger. None carries personal data: the database's own messages name
//! tables, columns and constraints, and sealed fields are never formatted.

/// What went wrong talking to the ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The database could not be reached or a statement failed.
    #[error("ledger database: {0}")]
    Db(#[from] postgres::Error),
    /// The TLS handshake with the database failed on its certificate (unknown CA, another
    /// host name, expired, ...): see [`crate::LedgerDb`].
    #[error(
        "ledger database TLS (sslmode={sslmode}): the server's certificate was refused: {reason}"
    )]
    Tls {
        /// The `sslmode` in force.
        sslmode: &'static str,
        /// What the TLS library said about the certificate.
        reason: String,
    },
    /// The database schema is newer than this tool: upgrade the tool, never downgrade the DB.
    #[error(
        "the ledger database has schema version {db}, newer than this tool's {tool}: \
         use an andal build that knows version {db}"
    )]
    SchemaTooNew {
        /// Version found in the database.
        db: i32,
        /// Highest version this build knows.
        tool: i32,
    },
    /// The database has not been migrated to this tool's schema yet.
    #[error(
        "the ledger database has schema version {db}, this tool needs {tool}: \
         run `andal ledger migrate --ledger <url>`"
    )]
    SchemaTooOld {
        /// Version found in the database (0: never migrated).
        db: i32,
        /// Version this build needs.
        tool: i32,
    },
    /// The ledger key is not the one the sealed fields were written under.
    #[error("sealed fields were written under ledger key id {found}, this key is {expected}")]
    WrongLedgerKey {
        /// Key id stored with the row.
        found: String,
        /// Key id of the key in use.
        expected: String,
    },
    /// A sealed field failed authentication (tampered or moved to another row).
    #[error("sealed fields of decision {node_id}/{seq} failed authentication")]
    SealBroken {
        /// Node of the decision.
        node_id: String,
        /// Journal sequence number.
        seq: i64,
    },
    /// A bad ledger key (length, encoding).
    #[error("ledger key: {0}")]
    Key(String),
    /// The node's journal could not be read.
    #[error("journal: {0}")]
    Journal(#[from] andal::Error),
    /// A configuration value is wrong.
    #[error("invalid ledger configuration: {0}")]
    Config(String),
    /// The random number generator failed.
    #[error("random number generator failed")]
    Rng,
}
