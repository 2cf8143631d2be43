//! Property tests over real sandbox NIKs: every one parses, and a single-digit mutation is
//! either still valid or rejected with the error of the part that was mutated.

use andal::{Nik, NikError};
use andal_sandbox::Registry;
use proptest::prelude::*;

fn registry() -> &'static Registry {
    static R: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    R.get_or_init(|| Registry::generate_uncached(17, 20_000))
}

#[test]
fn every_sandbox_nik_parses() {
    for p in registry().sample_where(20_000, true) {
        Nik::parse(&p.nik).unwrap();
    }
}

/// The errors a mutation at `pos` (0-based) may legitimately cause.
fn allowed(pos: usize, e: &NikError) -> bool {
    use NikError::*;
    match pos {
        // A province digit can make an unknown province, or a known province without this
        // regency.
        0 | 1 => matches!(e, UnknownProvince | UnknownRegency),
        2 | 3 => matches!(e, UnknownRegency),
        // District codes are never rejected (unresolved is reported, not an error).
        4 | 5 => false,
        6 | 7 => matches!(e, BirthDay | BirthDate),
        8 | 9 => matches!(e, BirthMonth | BirthDate),
        10 | 11 => matches!(e, BirthDate),
        _ => matches!(e, Serial),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
    #[test]
    fn single_digit_mutations_fail_in_their_own_part(idx in 0usize..20_000, pos in 0usize..16, digit in 0u8..10) {
        let people = registry().people();
        let original = people[idx % people.len()].nik_digits().to_owned();
        let mut bytes = original.into_bytes();
        bytes[pos] = b'0' + digit;
        let mutated = String::from_utf8(bytes).unwrap();
        match Nik::parse(&mutated) {
            Ok(_) => {}
            Err(e) => prop_assert!(allowed(pos, &e), "position {} gave {:?}", pos + 1, e),
        }
    }
}

#[test]
fn targeted_mutations_give_the_named_error() {
    let p = registry().people()[0].nik_digits().to_owned();
    let with = |range: std::ops::Range<usize>, s: &str| {
        let mut n = p.clone();
        n.replace_range(range, s);
        Nik::parse(&n).unwrap_err()
    };
    assert_eq!(with(0..2, "99"), NikError::UnknownProvince);
    assert_eq!(with(2..4, "99"), NikError::UnknownRegency);
    assert_eq!(with(6..8, "35"), NikError::BirthDay);
    assert_eq!(with(8..10, "13"), NikError::BirthMonth);
    assert_eq!(with(12..16, "0000"), NikError::Serial);
}
