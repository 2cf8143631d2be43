//! Fuzzes the offline input parsers: `Nik::parse`, `query::parse_date`, `Query::parse`,
//! `Query::with_birth_place`, `normalize_name`. Invariants: never panics; a parsed NIK is
//! 16 ASCII digits, re-parses to itself and its parts are in range; `Debug`/`Display` of a
//! NIK or query never contain the raw digits; an error about an all-digit input never
//! echoes it; a parsed date formats back to a date that parses to itself.
//!
//! Input: up to four fields separated by 0xFF (NIK, name, birth date, birth place), each
//! decoded as lossy UTF-8.
#![no_main]

use andal::query::{format_date, parse_date};
use andal::{Nik, Query, normalize_name};
use libfuzzer_sys::fuzz_target;

fn check_nik(raw: &str) {
    match Nik::parse(raw) {
        Ok(nik) => {
            let d = nik.expose_digits();
            assert_eq!(d.len(), 16);
            assert!(d.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(d, raw.trim());
            assert_eq!(Nik::parse(d).unwrap(), nik);
            assert!(!format!("{nik}").contains(d));
            assert!(!format!("{nik:?}").contains(d));
            assert_eq!(nik.masked().chars().count(), 16);
            assert!((1..=31).contains(&nik.birth_day()));
            assert!((1..=12).contains(&nik.birth_month()));
            assert!(nik.serial() > 0);
            let _ = (nik.region(), nik.sex(), nik.district_code());
        }
        Err(e) => {
            let t = raw.trim();
            let text = format!("{e} {e:?}");
            if t.len() >= 6 && t.bytes().all(|b| b.is_ascii_digit()) {
                assert!(!text.contains(t), "error echoes the input: {text}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0xFF).map(String::from_utf8_lossy);
    let nik = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or_default();
    let date = parts.next().unwrap_or_default();
    let place = parts.next();

    check_nik(&nik);

    if let Ok(d) = parse_date(&date) {
        let s = format_date(d);
        assert_eq!(parse_date(&s).unwrap(), d, "{s}");
    }

    let _ = normalize_name(&name);

    if let Ok(q) = Query::parse(&nik, &name, &date) {
        let digits = q.nik().expose_digits().to_owned();
        let q = match place {
            Some(p) => match q.clone().with_birth_place(p.as_ref()) {
                Ok(q2) => q2,
                Err(_) => q,
            },
            None => q,
        };
        let dbg = format!("{q:?}");
        assert!(!dbg.contains(&digits), "{dbg}");
        assert_eq!(q.birth_date_iso(), format_date(q.birth_date()));
        assert!(!normalize_name(q.full_name()).is_empty());
    }
});
