use std::collections::HashSet;

use andal::{Nik, Sex};
use andal_sandbox::{BIRTH_YEARS, BLORA, Registry};

#[test]
fn hundred_thousand_valid_people_with_blora_and_inactive() {
    let r = Registry::generate_uncached(2025, 100_000);
    println!(
        "generated {} people in {:?} (debug build: slower than release)",
        r.len(),
        r.generation_time()
    );
    assert_eq!(r.len(), 100_000);
    let mut seen = HashSet::new();
    let (mut blora, mut inactive, mut single) = (0, 0, 0);
    let mut places = HashSet::new();
    for p in r.people() {
        let nik = Nik::parse(p.nik_digits()).expect("every generated NIK parses");
        assert!(seen.insert(p.nik_digits().to_owned()), "NIKs are unique");
        assert!(nik.embeds_birth_date(p.birth_date));
        assert_eq!(nik.sex(), p.sex);
        assert!(BIRTH_YEARS.contains(&p.birth_date.year()));
        assert!(!p.full_name.is_empty());
        assert_eq!(
            andal::normalize_name(&p.full_name),
            p.full_name.to_uppercase()
        );
        assert!(!p.birth_place.is_empty());
        places.insert(p.birth_place);
        if nik.regency_code() == BLORA.replace('.', "") {
            blora += 1;
        }
        if !p.active {
            inactive += 1;
        }
        if !p.full_name.contains(' ') {
            single += 1;
        }
        assert!(r.get(&nik).is_some());
        assert!(!format!("{p:?}").contains(p.nik_digits()));
    }
    assert!((9_000..13_000).contains(&blora), "Blora share: {blora}");
    assert!((1_500..2_500).contains(&inactive), "inactive: {inactive}");
    assert!(single > 1_000, "single-word names: {single}");
    assert!(places.len() > 400, "birth places: {}", places.len());
    let women = r.people().iter().filter(|p| p.sex == Sex::Female).count();
    assert!((45_000..55_000).contains(&women));
}

#[test]
fn deterministic_for_a_seed() {
    let a = Registry::generate_uncached(11, 5_000);
    let b = Registry::generate_uncached(11, 5_000);
    let c = Registry::generate_uncached(12, 5_000);
    assert!(a.people() == b.people());
    assert!(a.people() != c.people());
    assert_eq!(a.sample_where(20, true), b.sample_where(20, true));
}

#[test]
fn samples_are_real_records_filtered_by_activity() {
    let r = Registry::generate(3, 10_000);
    let active = r.sample_where(50, true);
    assert_eq!(active.len(), 50);
    let inactive = r.sample_where(10, false);
    assert_eq!(inactive.len(), 10);
    for s in active.iter().chain(&inactive) {
        let p = r.get_digits(&s.nik).expect("sample is in the registry");
        assert_eq!(p.to_sample(), *s);
        s.query(); // valid query
    }
    assert!(active.iter().all(|s| s.active));
    assert!(inactive.iter().all(|s| !s.active));
    let uniq: HashSet<_> = active.iter().map(|s| &s.nik).collect();
    assert_eq!(uniq.len(), 50);
    // More than exist: capped.
    let small = Registry::generate_uncached(3, 100);
    assert!(small.sample_where(1000, false).len() < 100);
}
