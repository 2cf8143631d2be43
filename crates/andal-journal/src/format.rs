//! On-disk format: header, frames, key derivation, CRC32 and the recovery scan.
//!
//! See `docs/journal.md` for the byte layout.

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;

use crate::error::JournalError;
use crate::key::JournalKey;

/// Magic bytes at offset 0.
pub const MAGIC: [u8; 8] = *b"ANDALJNL";
/// Format version written and read by this build.
pub const FORMAT_VERSION: u16 = 1;
/// Cipher id 1: ChaCha20-Poly1305 (RFC 8439) with HKDF-SHA256 per-file keys.
pub const ALG_CHACHA20_POLY1305: u16 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 48;
/// Length of the random file id.
pub const FILE_ID_LEN: usize = 16;
/// Length of the key check value.
pub const KCV_LEN: usize = 16;
/// Bytes before the ciphertext: length (4) + sequence (8) + nonce (12).
pub const FRAME_HEAD_LEN: usize = 4 + 8 + NONCE_LEN;
/// AEAD nonce length.
pub const NONCE_LEN: usize = 12;
/// AEAD tag length.
pub const TAG_LEN: usize = 16;
/// Trailing CRC32 length.
pub const CRC_LEN: usize = 4;
/// Per-frame overhead on top of the payload.
pub const FRAME_OVERHEAD: usize = FRAME_HEAD_LEN + TAG_LEN + CRC_LEN;
/// Hard format limit on a payload (16 MiB). The reader accepts any frame up
/// to this size regardless of the writer's configured limit, so lowering
/// `max_payload` never turns existing records into "corruption".
pub const MAX_PAYLOAD_LIMIT: usize = 16 * 1024 * 1024;
/// First sequence number in a journal. 0 is never a valid sequence number.
pub const FIRST_SEQ: u64 = 1;

const INFO_AEAD: &[u8] = b"andal-journal/v1/aead";
const INFO_KCV: &[u8] = b"andal-journal/v1/kcv";

// ---------------------------------------------------------------- CRC32 ----

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static CRC_TABLE: [u32; 256] = crc_table();

/// CRC-32 (IEEE 802.3, as in zlib/PNG).
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c = CRC_TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut d = 0u8;
    for (x, y) in a.iter().zip(b) {
        d |= x ^ y;
    }
    std::hint::black_box(d) == 0
}

// ----------------------------------------------------------------- keys ----

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// Keys derived for one journal file.
pub(crate) struct FileKeys {
    pub(crate) file_id: [u8; FILE_ID_LEN],
    pub(crate) kcv: [u8; KCV_LEN],
    aead: LessSafeKey,
}

impl FileKeys {
    /// HKDF-SHA256(salt = file id, ikm = journal key) -> AEAD key and KCV.
    pub(crate) fn derive(key: &JournalKey, file_id: [u8; FILE_ID_LEN]) -> Self {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &file_id).extract(key.expose_secret());
        let okm = prk
            .expand(&[INFO_AEAD], &aead::CHACHA20_POLY1305)
            .expect("HKDF output length is valid");
        let aead = LessSafeKey::new(UnboundKey::from(okm));
        let mut kcv = [0u8; KCV_LEN];
        prk.expand(&[INFO_KCV], Len(KCV_LEN))
            .expect("HKDF output length is valid")
            .fill(&mut kcv)
            .expect("HKDF fill length is valid");
        Self { file_id, kcv, aead }
    }

    fn aad(&self, seq: u64) -> [u8; FILE_ID_LEN + 8] {
        let mut aad = [0u8; FILE_ID_LEN + 8];
        aad[..FILE_ID_LEN].copy_from_slice(&self.file_id);
        aad[FILE_ID_LEN..].copy_from_slice(&seq.to_le_bytes());
        aad
    }

    /// Appends one complete frame for `payload` to `out`.
    pub(crate) fn encode_frame(
        &self,
        seq: u64,
        nonce: [u8; NONCE_LEN],
        payload: &[u8],
        out: &mut Vec<u8>,
    ) {
        debug_assert!(payload.len() <= MAX_PAYLOAD_LIMIT);
        let start = out.len();
        out.extend_from_slice(&((payload.len() + TAG_LEN) as u32).to_le_bytes());
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(payload);
        let tag = self
            .aead
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad(seq)),
                &mut out[start + FRAME_HEAD_LEN..],
            )
            .expect("payload within AEAD limits");
        out.extend_from_slice(tag.as_ref());
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_le_bytes());
    }

    /// Decrypts the frame at `bytes[off..off+len]` (already CRC-checked).
    fn open_frame(&self, frame: &[u8], scratch: &mut Vec<u8>) -> Option<u64> {
        let seq = u64::from_le_bytes(frame[4..12].try_into().unwrap());
        let nonce: [u8; NONCE_LEN] = frame[12..FRAME_HEAD_LEN].try_into().unwrap();
        scratch.clear();
        scratch.extend_from_slice(&frame[FRAME_HEAD_LEN..frame.len() - CRC_LEN]);
        let pt_len = self
            .aead
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad(seq)),
                scratch,
            )
            .ok()?
            .len();
        scratch.truncate(pt_len);
        Some(seq)
    }
}

// --------------------------------------------------------------- header ----

/// Builds the 48-byte header.
pub(crate) fn encode_header(keys: &FileKeys) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(&MAGIC);
    h[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[10..12].copy_from_slice(&ALG_CHACHA20_POLY1305.to_le_bytes());
    h[12..28].copy_from_slice(&keys.file_id);
    h[28..44].copy_from_slice(&keys.kcv);
    let crc = crc32(&h[..44]);
    h[44..48].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Parses and checks the header, deriving the file keys.
pub(crate) fn decode_header(bytes: &[u8], key: &JournalKey) -> Result<FileKeys, JournalError> {
    if bytes.len() < MAGIC.len() || bytes[..8] != MAGIC {
        return Err(JournalError::NotAJournal);
    }
    if bytes.len() < HEADER_LEN {
        return Err(JournalError::Corrupt {
            offset: 0,
            reason: "truncated header",
        });
    }
    let h = &bytes[..HEADER_LEN];
    if crc32(&h[..44]) != u32::from_le_bytes(h[44..48].try_into().unwrap()) {
        return Err(JournalError::Corrupt {
            offset: 0,
            reason: "header checksum mismatch",
        });
    }
    let version = u16::from_le_bytes([h[8], h[9]]);
    if version != FORMAT_VERSION {
        return Err(JournalError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let alg = u16::from_le_bytes([h[10], h[11]]);
    if alg != ALG_CHACHA20_POLY1305 {
        return Err(JournalError::UnsupportedAlgorithm { found: alg });
    }
    let file_id: [u8; FILE_ID_LEN] = h[12..28].try_into().unwrap();
    let keys = FileKeys::derive(key, file_id);
    if !ct_eq(&keys.kcv, &h[28..44]) {
        return Err(JournalError::WrongKey);
    }
    Ok(keys)
}

// ----------------------------------------------------------------- scan ----

enum FrameCheck {
    /// Structurally valid with a matching CRC; total frame length.
    Ok(usize),
    /// Too short, impossible length, or checksum mismatch.
    Bad,
}

fn check_frame(bytes: &[u8], off: usize) -> FrameCheck {
    let rem = bytes.len() - off;
    if rem < FRAME_HEAD_LEN {
        return FrameCheck::Bad;
    }
    let ct_len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
    if !(TAG_LEN..=MAX_PAYLOAD_LIMIT + TAG_LEN).contains(&ct_len) {
        return FrameCheck::Bad;
    }
    let total = FRAME_HEAD_LEN + ct_len + CRC_LEN;
    if rem < total {
        return FrameCheck::Bad;
    }
    let body = &bytes[off..off + total - CRC_LEN];
    let stored = u32::from_le_bytes(
        bytes[off + total - CRC_LEN..off + total]
            .try_into()
            .unwrap(),
    );
    if crc32(body) != stored {
        return FrameCheck::Bad;
    }
    FrameCheck::Ok(total)
}

/// Result of scanning a journal image.
#[derive(Debug)]
pub(crate) struct ScanOutcome {
    /// Length of the valid prefix (header + intact frames).
    pub(crate) valid_len: u64,
    /// Bytes after `valid_len` that form a torn tail.
    pub(crate) torn_bytes: u64,
    /// Number of intact records.
    pub(crate) records: u64,
    /// Sequence number the next append gets.
    pub(crate) next_seq: u64,
}

/// Scans a whole journal image, calling `on_record(seq, plaintext)` for every
/// intact record in order.
///
/// A bad frame is a *torn tail* (tolerated when `tolerate_tail`) only if no
/// authentic frame with a plausible later sequence number starts anywhere
/// after it; otherwise it is [`JournalError::Corrupt`]. A frame with a good
/// CRC that fails authentication, or whose sequence number is not the next
/// one, is always corrupt.
pub(crate) fn scan(
    bytes: &[u8],
    keys: &FileKeys,
    tolerate_tail: bool,
    mut on_record: impl FnMut(u64, &[u8]),
) -> Result<ScanOutcome, JournalError> {
    let mut off = HEADER_LEN;
    let mut expected = FIRST_SEQ;
    let mut scratch = Vec::new();
    while off < bytes.len() {
        match check_frame(bytes, off) {
            FrameCheck::Ok(total) => {
                let Some(seq) = keys.open_frame(&bytes[off..off + total], &mut scratch) else {
                    return Err(JournalError::Corrupt {
                        offset: off as u64,
                        reason: "frame failed authentication",
                    });
                };
                if seq != expected {
                    return Err(JournalError::Corrupt {
                        offset: off as u64,
                        reason: "frame sequence number out of order",
                    });
                }
                on_record(seq, &scratch);
                expected += 1;
                off += total;
            }
            FrameCheck::Bad => {
                if !tolerate_tail {
                    return Err(JournalError::Corrupt {
                        offset: off as u64,
                        reason: "bad frame (length or checksum)",
                    });
                }
                if authentic_frame_after(bytes, off, expected, keys, &mut scratch) {
                    return Err(JournalError::Corrupt {
                        offset: off as u64,
                        reason: "bad frame followed by valid frames",
                    });
                }
                return Ok(ScanOutcome {
                    valid_len: off as u64,
                    torn_bytes: (bytes.len() - off) as u64,
                    records: expected - FIRST_SEQ,
                    next_seq: expected,
                });
            }
        }
    }
    Ok(ScanOutcome {
        valid_len: bytes.len() as u64,
        torn_bytes: 0,
        records: expected - FIRST_SEQ,
        next_seq: expected,
    })
}

/// Looks for any authentic frame starting after `bad_off` whose sequence
/// number could follow `expected` (at least `expected`, at most the number of
/// minimal frames that fit in the remainder).
fn authentic_frame_after(
    bytes: &[u8],
    bad_off: usize,
    expected: u64,
    keys: &FileKeys,
    scratch: &mut Vec<u8>,
) -> bool {
    let min_frame = FRAME_OVERHEAD;
    let max_seq = expected + ((bytes.len() - bad_off) / min_frame) as u64 + 1;
    let mut y = bad_off + 1;
    while y + min_frame <= bytes.len() {
        let seq = u64::from_le_bytes(bytes[y + 4..y + 12].try_into().unwrap());
        if (expected..=max_seq).contains(&seq)
            && let FrameCheck::Ok(total) = check_frame(bytes, y)
            && keys.open_frame(&bytes[y..y + total], scratch) == Some(seq)
        {
            return true;
        }
        y += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn header_round_trip_and_layout() {
        let key = JournalKey::from_bytes([1; 32]);
        let keys = FileKeys::derive(&key, [7; FILE_ID_LEN]);
        let h = encode_header(&keys);
        assert_eq!(&h[..8], b"ANDALJNL");
        assert_eq!(&h[12..28], &[7; 16]);
        let back = decode_header(&h, &key).unwrap();
        assert_eq!(back.kcv, keys.kcv);
        // Different file id -> different KCV and keys.
        assert_ne!(FileKeys::derive(&key, [8; FILE_ID_LEN]).kcv, keys.kcv);
    }

    #[test]
    fn frame_layout() {
        let keys = FileKeys::derive(&JournalKey::from_bytes([1; 32]), [7; FILE_ID_LEN]);
        let mut out = Vec::new();
        keys.encode_frame(5, [3; NONCE_LEN], b"abc", &mut out);
        assert_eq!(out.len(), 3 + FRAME_OVERHEAD);
        assert_eq!(
            u32::from_le_bytes(out[0..4].try_into().unwrap()),
            3 + TAG_LEN as u32
        );
        assert_eq!(u64::from_le_bytes(out[4..12].try_into().unwrap()), 5);
        assert_eq!(&out[12..24], &[3; 12]);
        let mut scratch = Vec::new();
        assert_eq!(keys.open_frame(&out, &mut scratch), Some(5));
        assert_eq!(scratch, b"abc");
    }
}
