//! The host-supplied journal key.

use std::fmt;
use std::sync::atomic::{Ordering, compiler_fence};

use ring::rand::{SecureRandom, SystemRandom};

use crate::error::JournalError;

/// Length of a [`JournalKey`] in bytes.
pub const KEY_LEN: usize = 32;

/// A 32-byte secret supplied by the host application (Android Keystore,
/// iOS Keychain, a KMS data key, ...).
///
/// The journal never uses it directly: per-file AEAD and key-check keys are
/// derived from it with HKDF-SHA256 (salt = the file's random id).
/// `Debug` is redacted and the bytes are overwritten with zeros on drop.
/// Copies made by the caller before constructing the key are the caller's
/// responsibility.
pub struct JournalKey([u8; KEY_LEN]);

impl JournalKey {
    /// Wraps 32 key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Copies a key from a slice, which must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, JournalError> {
        let arr: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| JournalError::InvalidKeyLength { len: bytes.len() })?;
        Ok(Self(arr))
    }

    /// Generates a fresh random key from the OS generator (for tests and for
    /// hosts that wrap the key themselves before storing it).
    pub fn generate() -> Result<Self, JournalError> {
        let mut k = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut k)
            .map_err(|_| JournalError::Rng)?;
        Ok(Self(k))
    }

    /// The raw key bytes (for handing back to a key store).
    pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl Clone for JournalKey {
    fn clone(&self) -> Self {
        Self(self.0)
    }
}

impl fmt::Debug for JournalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JournalKey(<redacted>)")
    }
}

impl Drop for JournalKey {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            // SAFETY: `b` is a valid, aligned, exclusive reference to a u8.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
        compiler_fence(Ordering::SeqCst);
    }
}
