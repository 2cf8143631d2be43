//! The ledger key and the seal of a decision's re-check fields (ChaCha20-Poly1305, ring).
//!
//! The database stores `nonce (12) ‖ ciphertext ‖ tag (16)` and a key id; the key itself is
//! held by the shippers and the reconcilers only (a file, a KMS), never by the database.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};

use crate::LedgerError;

const NONCE_LEN: usize = 12;

/// A 32-byte ledger key. `Debug` shows only the key id.
pub struct LedgerKey {
    aead: LessSafeKey,
    id: String,
    raw: [u8; 32],
}

impl std::fmt::Debug for LedgerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerKey").field("id", &self.id).finish()
    }
}

impl Clone for LedgerKey {
    fn clone(&self) -> Self {
        LedgerKey::from_bytes(self.raw)
    }
}

impl Drop for LedgerKey {
    fn drop(&mut self) {
        self.raw = [0; 32];
    }
}

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn expand(prk: &hkdf::Prk, label: &[u8], out: &mut [u8]) {
    let info = [label];
    prk.expand(&info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .expect("HKDF output length is within limits");
}

impl LedgerKey {
    /// The key from its 32 bytes. The AEAD key and the key id are derived with HKDF-SHA256
    /// under separate labels, so the id reveals nothing about the AEAD key.
    pub fn from_bytes(raw: [u8; 32]) -> Self {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"andal-ledger/v1").extract(&raw);
        let mut k = [0u8; 32];
        expand(&prk, b"andal-ledger/v1/aead", &mut k);
        let mut id = [0u8; 8];
        expand(&prk, b"andal-ledger/v1/key-id", &mut id);
        let aead = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, &k).expect("32-byte ChaCha20-Poly1305 key"),
        );
        k = [0; 32];
        let _ = k;
        LedgerKey {
            aead,
            id: hex(&id),
            raw,
        }
    }

    /// 32 raw bytes or 64 hex characters (whitespace ignored), as in a key file.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Self, LedgerError> {
        if bytes.len() == 32 {
            let mut raw = [0u8; 32];
            raw.copy_from_slice(bytes);
            return Ok(Self::from_bytes(raw));
        }
        let text: String = String::from_utf8_lossy(bytes)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if text.len() != 64 || !text.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(LedgerError::Key(
                "expected 32 raw bytes or 64 hex characters".into(),
            ));
        }
        let mut raw = [0u8; 32];
        for (i, b) in raw.iter_mut().enumerate() {
            *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                .map_err(|_| LedgerError::Key("not hex".into()))?;
        }
        Ok(Self::from_bytes(raw))
    }

    /// A fresh random key.
    pub fn generate() -> Result<Self, LedgerError> {
        let mut raw = [0u8; 32];
        SystemRandom::new()
            .fill(&mut raw)
            .map_err(|_| LedgerError::Rng)?;
        Ok(Self::from_bytes(raw))
    }

    /// The key as 64 hex characters (to write a key file).
    pub fn to_hex(&self) -> String {
        hex(&self.raw)
    }

    /// Public key id stored beside every seal (16 hex characters).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Seal `plain` bound to the decision's identity (node, journal file, sequence number):
    /// a sealed value copied onto another row fails to open.
    pub fn seal(
        &self,
        node_id: &str,
        file_id: &[u8],
        seq: i64,
        plain: &[u8],
    ) -> Result<Vec<u8>, LedgerError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| LedgerError::Rng)?;
        let mut buf = plain.to_vec();
        self.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(node_id, file_id, seq)),
                &mut buf,
            )
            .map_err(|_| LedgerError::Rng)?;
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Open a seal made by [`LedgerKey::seal`] for the same decision identity.
    pub fn open(
        &self,
        node_id: &str,
        file_id: &[u8],
        seq: i64,
        sealed: &[u8],
    ) -> Result<Vec<u8>, LedgerError> {
        let broken = || LedgerError::SealBroken {
            node_id: node_id.to_owned(),
            seq,
        };
        if sealed.len() < NONCE_LEN + 16 {
            return Err(broken());
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[..NONCE_LEN]);
        let mut buf = sealed[NONCE_LEN..].to_vec();
        let plain = self
            .aead
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(node_id, file_id, seq)),
                &mut buf,
            )
            .map_err(|_| broken())?;
        Ok(plain.to_vec())
    }
}

/// `"andal-ledger/v1" ‖ len(node_id) (u32 LE) ‖ node_id ‖ file_id ‖ seq (i64 LE)`.
fn aad(node_id: &str, file_id: &[u8], seq: i64) -> Vec<u8> {
    let mut a = Vec::with_capacity(64);
    a.extend_from_slice(b"andal-ledger/v1");
    a.extend_from_slice(&(node_id.len() as u32).to_le_bytes());
    a.extend_from_slice(node_id.as_bytes());
    a.extend_from_slice(file_id);
    a.extend_from_slice(&seq.to_le_bytes());
    a
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_opens_only_for_its_own_row_and_key() {
        let k = LedgerKey::from_bytes([7; 32]);
        let s = k.seal("node-1", &[1; 16], 5, b"secret fields").unwrap();
        assert_eq!(k.open("node-1", &[1; 16], 5, &s).unwrap(), b"secret fields");
        assert!(k.open("node-1", &[1; 16], 6, &s).is_err());
        assert!(k.open("node-2", &[1; 16], 5, &s).is_err());
        assert!(k.open("node-1", &[2; 16], 5, &s).is_err());
        let other = LedgerKey::from_bytes([8; 32]);
        assert!(other.open("node-1", &[1; 16], 5, &s).is_err());
        assert_ne!(k.id(), other.id());
        let mut tampered = s.clone();
        tampered[20] ^= 1;
        assert!(k.open("node-1", &[1; 16], 5, &tampered).is_err());
        assert!(k.open("node-1", &[1; 16], 5, &s[..10]).is_err());
        assert!(!format!("{k:?}").contains(&hex(&[7; 32])));
    }

    #[test]
    fn key_file_formats() {
        let k = LedgerKey::generate().unwrap();
        let again = LedgerKey::from_file_bytes(format!("{}\n", k.to_hex()).as_bytes()).unwrap();
        assert_eq!(k.id(), again.id());
        assert!(LedgerKey::from_file_bytes(b"short").is_err());
        assert!(LedgerKey::from_file_bytes(&[0u8; 32]).is_ok());
    }
}
