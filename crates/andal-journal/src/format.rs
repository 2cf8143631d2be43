//! On-disk format: header, frames, key derivation, CRC32 and the recovery scan.
//!
//! See `docs/journal.md` for the byte layout.

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::{hkdf, hmac};

use crate::error::JournalError;
use crate::key::JournalKey;

/// Magic bytes at offset 0.
pub const MAGIC: [u8; 8] = *b"ANDALJNL";
/// Format version written by this build (it also reads [`FORMAT_VERSION_V1`]).
pub const FORMAT_VERSION: u16 = 2;
/// The first format version (48-byte header, per-file key check value, no
/// header MAC). Still read and appended to; never created any more.
pub const FORMAT_VERSION_V1: u16 = 1;
/// Cipher id 1: ChaCha20-Poly1305 (RFC 8439) with HKDF-SHA256 per-file keys.
pub const ALG_CHACHA20_POLY1305: u16 = 1;
/// Header length in bytes of the current version (2).
pub const HEADER_LEN: usize = 80;
/// Header length in bytes of version 1 files.
pub const HEADER_LEN_V1: usize = 48;
/// Length of the header MAC (HMAC-SHA256) in a version 2 header.
pub const HEADER_MAC_LEN: usize = 32;
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
/// HKDF salt of the version 2 key-only derivation (key check value, header MAC key).
const SALT_V2_KEY: &[u8] = b"andal-journal/v2/key";
const INFO_V2_KCV: &[u8] = b"andal-journal/v2/kcv";
const INFO_V2_MAC: &[u8] = b"andal-journal/v2/header-mac";

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
    pub(crate) version: u16,
    pub(crate) file_id: [u8; FILE_ID_LEN],
    /// Version 1: per-file KCV (depends on key and file id).
    /// Version 2: key-only KCV (depends on the key alone).
    pub(crate) kcv: [u8; KCV_LEN],
    /// Version 2: HMAC-SHA256 key for the header MAC.
    mac: Option<hmac::Key>,
    aead: LessSafeKey,
}

fn expand_into(prk: &hkdf::Prk, info: &[u8], out: &mut [u8]) {
    prk.expand(&[info], Len(out.len()))
        .expect("HKDF output length is valid")
        .fill(out)
        .expect("HKDF fill length is valid");
}

impl FileKeys {
    /// Keys for a new file of the current format version.
    pub(crate) fn derive(key: &JournalKey, file_id: [u8; FILE_ID_LEN]) -> Self {
        Self::derive_version(key, file_id, FORMAT_VERSION)
    }

    /// Per-file AEAD key: HKDF-SHA256(salt = file id, ikm = journal key),
    /// label `andal-journal/v1/aead` (both versions). Version 1: KCV from the
    /// same per-file PRK. Version 2: KCV and header MAC key from a key-only
    /// PRK (salt = `andal-journal/v2/key`), so a KCV match proves the key and
    /// a MAC failure then proves the header was altered.
    pub(crate) fn derive_version(
        key: &JournalKey,
        file_id: [u8; FILE_ID_LEN],
        version: u16,
    ) -> Self {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &file_id).extract(key.expose_secret());
        let okm = prk
            .expand(&[INFO_AEAD], &aead::CHACHA20_POLY1305)
            .expect("HKDF output length is valid");
        let aead = LessSafeKey::new(UnboundKey::from(okm));
        let mut kcv = [0u8; KCV_LEN];
        let mac = if version == FORMAT_VERSION_V1 {
            expand_into(&prk, INFO_KCV, &mut kcv);
            None
        } else {
            let kprk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT_V2_KEY).extract(key.expose_secret());
            expand_into(&kprk, INFO_V2_KCV, &mut kcv);
            let mut mk = [0u8; 32];
            expand_into(&kprk, INFO_V2_MAC, &mut mk);
            let k = hmac::Key::new(hmac::HMAC_SHA256, &mk);
            mk.fill(0);
            Some(k)
        };
        Self {
            version,
            file_id,
            kcv,
            mac,
            aead,
        }
    }

    /// Header length of this file's format version.
    pub(crate) fn header_len(&self) -> usize {
        if self.version == FORMAT_VERSION_V1 {
            HEADER_LEN_V1
        } else {
            HEADER_LEN
        }
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

/// Builds the header for `keys` (48 bytes for version 1, 80 for version 2).
pub(crate) fn encode_header(keys: &FileKeys) -> Vec<u8> {
    let mut h = vec![0u8; keys.header_len()];
    h[0..8].copy_from_slice(&MAGIC);
    h[8..10].copy_from_slice(&keys.version.to_le_bytes());
    h[10..12].copy_from_slice(&ALG_CHACHA20_POLY1305.to_le_bytes());
    h[12..28].copy_from_slice(&keys.file_id);
    h[28..44].copy_from_slice(&keys.kcv);
    if let Some(mac) = &keys.mac {
        let tag = hmac::sign(mac, &h[..44]);
        h[44..44 + HEADER_MAC_LEN].copy_from_slice(tag.as_ref());
    }
    let n = h.len();
    let crc = crc32(&h[..n - 4]);
    h[n - 4..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Parses and checks the header, deriving the file keys.
///
/// Version 2: after the CRC, version and cipher checks, a key check value
/// mismatch is [`JournalError::WrongKey`]; a matching KCV with a failing
/// header MAC is [`JournalError::Corrupt`] at offset 0 (the header was
/// altered, e.g. its file id, with the CRC fixed up). Version 1 headers have
/// no MAC: any KCV mismatch is reported as `WrongKey`.
pub(crate) fn decode_header(bytes: &[u8], key: &JournalKey) -> Result<FileKeys, JournalError> {
    if bytes.len() < MAGIC.len() || bytes[..8] != MAGIC {
        return Err(JournalError::NotAJournal);
    }
    let truncated = JournalError::Corrupt {
        offset: 0,
        reason: "truncated header",
    };
    if bytes.len() < 12 {
        return Err(truncated);
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    let header_len = match version {
        FORMAT_VERSION_V1 => HEADER_LEN_V1,
        FORMAT_VERSION => HEADER_LEN,
        found => {
            return Err(JournalError::UnsupportedVersion {
                found,
                supported: FORMAT_VERSION,
            });
        }
    };
    if bytes.len() < header_len {
        return Err(truncated);
    }
    let h = &bytes[..header_len];
    let n = header_len;
    if crc32(&h[..n - 4]) != u32::from_le_bytes(h[n - 4..n].try_into().unwrap()) {
        return Err(JournalError::Corrupt {
            offset: 0,
            reason: "header checksum mismatch",
        });
    }
    let alg = u16::from_le_bytes([h[10], h[11]]);
    if alg != ALG_CHACHA20_POLY1305 {
        return Err(JournalError::UnsupportedAlgorithm { found: alg });
    }
    let file_id: [u8; FILE_ID_LEN] = h[12..28].try_into().unwrap();
    let keys = FileKeys::derive_version(key, file_id, version);
    if !ct_eq(&keys.kcv, &h[28..44]) {
        return Err(JournalError::WrongKey);
    }
    if let Some(mac) = &keys.mac
        && hmac::verify(mac, &h[..44], &h[44..44 + HEADER_MAC_LEN]).is_err()
    {
        return Err(JournalError::Corrupt {
            offset: 0,
            reason: "header authentication failed (altered header)",
        });
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
    /// The first bad frame is complete (its length field is plausible and it
    /// fits in the file, or the remainder authenticates as the expected
    /// record with a damaged length field) but failed its check: it may have
    /// been acknowledged. `false` for an incomplete frame cut short.
    pub(crate) tail_complete: bool,
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
    on_record: impl FnMut(u64, &[u8]),
) -> Result<ScanOutcome, JournalError> {
    let hl = keys.header_len();
    scan_from(
        &bytes[hl..],
        hl as u64,
        keys,
        FIRST_SEQ,
        tolerate_tail,
        on_record,
    )
}

/// Like [`scan`], over the part of a journal image that starts at file offset `base`
/// (a frame boundary) with `expected` the sequence number of the frame there: what a
/// reader following a growing file ([`crate::JournalTail`]) decodes. Offsets in the
/// outcome and in errors are file offsets.
pub(crate) fn scan_from(
    bytes: &[u8],
    base: u64,
    keys: &FileKeys,
    first_expected: u64,
    tolerate_tail: bool,
    mut on_record: impl FnMut(u64, &[u8]),
) -> Result<ScanOutcome, JournalError> {
    let mut off = 0;
    let mut expected = first_expected;
    let mut scratch = Vec::new();
    while off < bytes.len() {
        match check_frame(bytes, off) {
            FrameCheck::Ok(total) => {
                let Some(seq) = keys.open_frame(&bytes[off..off + total], &mut scratch) else {
                    return Err(JournalError::Corrupt {
                        offset: base + off as u64,
                        reason: "frame failed authentication",
                    });
                };
                if seq != expected {
                    return Err(JournalError::Corrupt {
                        offset: base + off as u64,
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
                        offset: base + off as u64,
                        reason: "bad frame (length or checksum)",
                    });
                }
                if authentic_frame_after(bytes, off, expected, keys, &mut scratch) {
                    return Err(JournalError::Corrupt {
                        offset: base + off as u64,
                        reason: "bad frame followed by valid frames",
                    });
                }
                return Ok(ScanOutcome {
                    valid_len: base + off as u64,
                    torn_bytes: (bytes.len() - off) as u64,
                    tail_complete: frame_is_complete(bytes, off, expected, keys, &mut scratch),
                    records: expected - FIRST_SEQ,
                    next_seq: expected,
                });
            }
        }
    }
    Ok(ScanOutcome {
        valid_len: base + bytes.len() as u64,
        torn_bytes: 0,
        tail_complete: false,
        records: expected - FIRST_SEQ,
        next_seq: expected,
    })
}

/// Whether the bad frame at `off` (the last one: nothing authentic follows)
/// is complete rather than cut short. A crash during `write` leaves a frame
/// shorter than its own length field; a complete frame that fails its CRC,
/// or a remainder that authenticates as the expected record once its
/// (damaged) length field is ignored, was fully written and may have been
/// acknowledged.
fn frame_is_complete(
    bytes: &[u8],
    off: usize,
    expected: u64,
    keys: &FileKeys,
    scratch: &mut Vec<u8>,
) -> bool {
    let rem = bytes.len() - off;
    if rem < FRAME_HEAD_LEN {
        return false;
    }
    let ct_len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
    if (TAG_LEN..=MAX_PAYLOAD_LIMIT + TAG_LEN).contains(&ct_len)
        && FRAME_HEAD_LEN + ct_len + CRC_LEN <= rem
    {
        return true;
    }
    (FRAME_OVERHEAD..=FRAME_OVERHEAD + MAX_PAYLOAD_LIMIT).contains(&rem)
        && keys.open_frame(&bytes[off..], scratch) == Some(expected)
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
        assert_eq!(h.len(), HEADER_LEN);
        assert_eq!(&h[8..10], &FORMAT_VERSION.to_le_bytes());
        let back = decode_header(&h, &key).unwrap();
        assert_eq!(back.kcv, keys.kcv);
        // Version 2: the KCV depends on the key only; version 1: on the file id too.
        assert_eq!(FileKeys::derive(&key, [8; FILE_ID_LEN]).kcv, keys.kcv);
        let other = JournalKey::from_bytes([2; 32]);
        assert_ne!(FileKeys::derive(&other, [7; FILE_ID_LEN]).kcv, keys.kcv);
        let v1 = FileKeys::derive_version(&key, [7; FILE_ID_LEN], FORMAT_VERSION_V1);
        assert_ne!(
            FileKeys::derive_version(&key, [8; FILE_ID_LEN], FORMAT_VERSION_V1).kcv,
            v1.kcv
        );
        let h1 = encode_header(&v1);
        assert_eq!(h1.len(), HEADER_LEN_V1);
        assert_eq!(decode_header(&h1, &key).unwrap().version, FORMAT_VERSION_V1);
        // The AEAD key is the same per-file derivation in both versions.
        let mut f = Vec::new();
        keys.encode_frame(1, [0; NONCE_LEN], b"x", &mut f);
        assert_eq!(v1.open_frame(&f, &mut Vec::new()), Some(1));
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
