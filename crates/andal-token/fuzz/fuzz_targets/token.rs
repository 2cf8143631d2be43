#![no_main]
use andal_token::{FieldValues, VerifyOptions, verify_compact};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let f = common::fx();
    if let Ok(v) = f.store.verify(s, &VerifyOptions::new("bpjs", common::NOW)) {
        let _ = v.claims.match_fields(&FieldValues {
            nik: "1",
            name: "2",
            birth_date: "3",
        });
    }
    if let Some(k) = f.store.keys().first() {
        let _ = verify_compact(s, &k.to_jwk());
    }
});
