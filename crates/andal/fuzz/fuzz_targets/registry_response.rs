//! Fuzzes the client's handling of registry responses (`interpret`, reached through the
//! `fuzzing` feature's `andal::client::fuzz_interpret`): status, content type,
//! `Retry-After` and body are all fuzzer-chosen. Invariants: never panics; only a 200 with
//! a JSON content type is an answer; 401/403 and other 4xx (but 408/429) are final
//! errors; 408/429/5xx are retryable failures.
//!
//! Input: bytes 0-1 status (mostly mapped into 100..=599), byte 2 content type, byte 3
//! length of a `Retry-After` value taken from the following bytes, then the body. The
//! wall clock is fixed so that runs are reproducible.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use andal::HttpResponse;
use andal::client::fuzz_interpret;
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "application/problem+json",
    "APPLICATION/JSON",
    "text/plain",
    "text/html; charset=iso-8859-1",
    "application/jsonx",
    "",
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let raw = u16::from_le_bytes([data[0], data[1]]);
    // Mostly plausible statuses, sometimes anything (including 0 and > 599).
    let status = if raw % 8 == 0 { raw } else { 100 + raw % 500 };
    let ct = data[2] as usize;
    let ra_len = (data[3] % 40) as usize;
    let rest = &data[4..];
    let ra_len = ra_len.min(rest.len());
    let (ra, body) = rest.split_at(ra_len);

    let mut headers = Vec::new();
    if ct < 4 * CONTENT_TYPES.len() {
        headers.push((
            if ct % 2 == 0 {
                "Content-Type"
            } else {
                "content-type"
            }
            .to_owned(),
            CONTENT_TYPES[ct % CONTENT_TYPES.len()].to_owned(),
        ));
    }
    if ra_len > 0 {
        headers.push((
            "Retry-After".to_owned(),
            String::from_utf8_lossy(ra).into_owned(),
        ));
    }
    let resp = HttpResponse {
        status,
        headers,
        body: body.to_vec(),
    };
    let now = UNIX_EPOCH + Duration::from_secs(1_760_000_000);
    let (kind, text) = fuzz_interpret(resp, now);
    match status {
        200 => assert!(kind == "answer" || kind == "retry", "{kind} {text}"),
        401 | 403 => assert_eq!(kind, "final", "{text}"),
        408 | 429 | 500..=599 => assert_eq!(kind, "retry", "{text}"),
        400..=499 => assert_eq!(kind, "final", "{text}"),
        _ => assert_eq!(kind, "retry", "{text}"),
    }
    if kind == "answer" {
        assert_eq!(status, 200);
    }
});
