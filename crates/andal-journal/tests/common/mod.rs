#![allow(dead_code)]
//! Helpers shared by the integration tests.

use andal_journal::format::{CRC_LEN, FRAME_HEAD_LEN, HEADER_LEN, crc32};

/// Byte ranges of every complete frame in a journal image.
pub fn frame_ranges(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut off = HEADER_LEN;
    while off + FRAME_HEAD_LEN <= bytes.len() {
        let ct = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
        let end = off + FRAME_HEAD_LEN + ct + CRC_LEN;
        if end > bytes.len() {
            break;
        }
        out.push(off..end);
        off = end;
    }
    out
}

/// Recomputes the CRC of the frame occupying `r`.
pub fn fix_crc(bytes: &mut [u8], r: std::ops::Range<usize>) {
    let crc = crc32(&bytes[r.start..r.end - CRC_LEN]);
    bytes[r.end - CRC_LEN..r.end].copy_from_slice(&crc.to_le_bytes());
}

/// Deterministic test payload of varying length.
pub fn payload(i: u64) -> Vec<u8> {
    let len = (i * 37 % 300) as usize;
    let mut v = format!("record-{i}:").into_bytes();
    v.extend((0..len).map(|j| (i as usize * 31 + j) as u8));
    v
}
