//! One catalogue of words per language (`id.rs`, `en.rs`): the page and the SVG take every
//! word they show from here, so a translation is one file.

mod en;
mod id;

use andal::locale::Language;

fn entries(lang: Language) -> &'static [(&'static str, &'static str)] {
    match lang {
        Language::Indonesian => id::ENTRIES,
        Language::English => en::ENTRIES,
    }
}

/// The text for `key`. A missing key is a bug caught by the tests (every renderer path is
/// rendered in both languages); in release it shows the key rather than panicking.
pub(crate) fn text(lang: Language, key: &str) -> &'static str {
    match entries(lang).iter().find(|(k, _)| *k == key) {
        Some((_, v)) => v,
        None => {
            debug_assert!(false, "catalogue {} has no key {key}", lang.tag());
            "?"
        }
    }
}

/// `text` with `{name}` placeholders replaced.
pub(crate) fn fill(lang: Language, key: &str, args: &[(&str, &str)]) -> String {
    let mut s = text(lang, key).to_owned();
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn placeholders(s: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut rest = s;
        while let Some(i) = rest.find('{') {
            let Some(j) = rest[i..].find('}') else { break };
            out.insert(rest[i + 1..i + j].to_owned());
            rest = &rest[i + j + 1..];
        }
        out
    }

    #[test]
    fn both_catalogues_have_the_same_keys_and_placeholders() {
        let id: Vec<&str> = id::ENTRIES.iter().map(|e| e.0).collect();
        let en: Vec<&str> = en::ENTRIES.iter().map(|e| e.0).collect();
        let ids: BTreeSet<&str> = id.iter().copied().collect();
        let ens: BTreeSet<&str> = en.iter().copied().collect();
        assert_eq!(ids.len(), id.len(), "duplicate key in id.rs");
        assert_eq!(ens.len(), en.len(), "duplicate key in en.rs");
        assert_eq!(
            ids.symmetric_difference(&ens).collect::<Vec<_>>(),
            Vec::<&&str>::new(),
            "keys differ between id.rs and en.rs"
        );
        for (k, v) in id::ENTRIES {
            assert!(!v.is_empty(), "{k}");
            let e = text(Language::English, k);
            assert_eq!(placeholders(v), placeholders(e), "placeholders of {k}");
        }
    }

    #[test]
    fn no_engineer_words() {
        for lang in [Language::Indonesian, Language::English] {
            for (k, v) in entries(lang) {
                let low = v.to_lowercase();
                for w in [
                    "breaker",
                    "half-open",
                    "half open",
                    "circuit",
                    "http",
                    "timeout",
                ] {
                    assert!(!low.contains(w), "{}:{k} says {w}", lang.tag());
                }
            }
        }
    }
}
