mod common;
use common::*;

#[test]
fn valid_token_passes_full_check() {
    let f = Fixture::new();
    let v = f.check_token(&f.valid_token(), NOW, AUD, &FIELDS).unwrap();
    assert_eq!(v.kid.as_deref(), Some(KID));
    assert_eq!(v.claims.jti, "vec-valid-0001");
}

#[test]
fn every_adversarial_document_is_rejected_with_its_error() {
    let f = Fixture::new();
    let cases = f.cases();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let mut names = std::collections::HashSet::new();
    let mut failures = Vec::new();
    for c in &cases {
        assert!(names.insert(c.name), "duplicate case name {}", c.name);
        match f.run(c) {
            Err(e) if e == c.expected => {}
            other => failures.push(format!(
                "{}: expected {:?}, got {:?}",
                c.name, c.expected, other
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{} adversarial cases rejected as expected", cases.len());
}
