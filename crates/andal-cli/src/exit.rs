//! Exit codes, documented in `--help` and README.md.

use std::process::ExitCode;

use andal::{Decision, Error, Verdict};

pub const EXIT_CODES_HELP: &str = "\
Exit codes of verify (batch: see `andal batch --help`):
  0   verified (match)
  10  mismatch (a field does not match)
  11  not found
  12  inactive record
  20  unavailable (registry could not answer within the deadline)
  30  invalid input (nothing was sent)
  31  authentication, configuration or request rejected
  2   usage error";

pub const BATCH_EXIT_CODES_HELP: &str = "\
Exit codes:
  0   every row decided (a verdict, online or offline: match, mismatch, not found, inactive)
  21  finished, but some rows undecided (see their error column: unavailable, invalid input...)
  31  stopped: configuration (input or output unreadable, --resume on another batch's output)
  32  stopped at once: authentication (HTTP 401/403: wrong API key or partner id); rows
      after the last one written were not checked: fix, then run again with --resume
  33  stopped before any request: input header (a required column, the --id-column or a
      --keep column missing; empty or duplicate row ids)
  2   usage error

Each result row is written and flushed as soon as it and every row before it is decided.
--resume continues from what the output holds; a row sent again (it was in flight when the
batch stopped) reuses its idempotency key and is not charged twice.
Kept columns (--keep) are copied to the output as-is: do not keep personal data unless the
output may hold it. The output has no NIK, name or birth date otherwise (NIK masked).";

/// What `andal batch` ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOutcome {
    AllDecided,
    Undecided,
    Config,
    Auth,
    Input,
}

impl BatchOutcome {
    pub fn code(self) -> ExitCode {
        ExitCode::from(match self {
            BatchOutcome::AllDecided => 0,
            BatchOutcome::Undecided => 21,
            BatchOutcome::Config => 31,
            BatchOutcome::Auth => 32,
            BatchOutcome::Input => 33,
        })
    }
}

/// What a run ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Match,
    Mismatch,
    NotFound,
    Inactive,
    Unavailable,
    InvalidInput,
    Config,
}

impl Outcome {
    pub fn code(self) -> ExitCode {
        ExitCode::from(match self {
            Outcome::Match => 0,
            Outcome::Mismatch => 10,
            Outcome::NotFound => 11,
            Outcome::Inactive => 12,
            Outcome::Unavailable => 20,
            Outcome::InvalidInput => 30,
            Outcome::Config => 31,
        })
    }

    pub fn from_decision(d: &Decision) -> Self {
        match d.verdict {
            Verdict::Match => Outcome::Match,
            Verdict::Mismatch => Outcome::Mismatch,
            Verdict::NotFound => Outcome::NotFound,
            Verdict::InactiveRecord => Outcome::Inactive,
            _ => Outcome::Mismatch,
        }
    }

    pub fn from_error(e: &Error) -> Self {
        match e {
            Error::InvalidInput(_) => Outcome::InvalidInput,
            Error::Unavailable(_) | Error::Protocol(_) => Outcome::Unavailable,
            _ => Outcome::Config,
        }
    }
}
