//! Errors of this crate.

/// A configuration value is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The named setting has an invalid value; the message says why.
    #[error("invalid resilience setting `{setting}`: {reason}")]
    Invalid {
        /// The setting's name.
        setting: &'static str,
        /// Why it is invalid.
        reason: &'static str,
    },
}

pub(crate) fn invalid(setting: &'static str, reason: &'static str) -> ConfigError {
    ConfigError::Invalid { setting, reason }
}
