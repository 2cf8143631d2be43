//! Exit codes, documented in `--help` and README.md.

use std::process::ExitCode;

use andal::{Decision, Error, Verdict};

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0   verified (match)
  10  mismatch (a field does not match)
  11  not found
  12  inactive record
  20  unavailable (registry could not answer within the deadline)
  30  invalid input (nothing was sent)
  31  authentication, configuration or request rejected
  2   usage error";

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
