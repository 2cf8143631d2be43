#![no_main]
use andal_token::RevocationList;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let f = common::fx();
    if let Ok(rl) = RevocationList::verify_signed(s, &f.roots, common::NOW) {
        let _ = rl.staleness(common::NOW);
    }
});
