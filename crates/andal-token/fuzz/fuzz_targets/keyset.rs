#![no_main]
use andal_token::{Jwk, Keyset};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let f = common::fx();
    let _ = Keyset::from_cached_bytes(data, &f.roots, common::NOW);
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(j) = Jwk::from_json(s) {
            let _ = andal_token::VerifyingKey::from_jwk(&j);
        }
    }
});
