//! Auditing a database dump for personal data in clear (the fleet drill and the tests use
//! it on a full `pg_dump`).

/// Whether `dump` holds this NIK, name or birth date in clear. The NIK and the birth date
/// are searched as substrings; the name as a sequence of whole words (case-insensitive), so
/// a short name such as "Tri" is not "found" inside a random token like `...uxtrib...`.
pub fn mentions_person(dump: &DumpIndex, nik: &str, full_name: &str, birth_date: &str) -> bool {
    let name: Vec<String> = words(full_name).collect();
    dump.raw.contains(nik)
        || dump.raw.contains(birth_date)
        || (!name.is_empty() && dump.words.contains(&format!(" {} ", name.join(" "))))
}

/// A dump prepared for [`mentions_person`].
#[derive(Debug)]
pub struct DumpIndex {
    raw: String,
    words: String,
}

impl DumpIndex {
    /// Index a dump's text.
    pub fn new(dump: &str) -> Self {
        let mut w = String::from(" ");
        for x in words(dump) {
            w.push_str(&x);
            w.push(' ');
        }
        DumpIndex {
            raw: dump.to_owned(),
            words: w,
        }
    }
}

fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|x| !x.is_empty())
        .map(str::to_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_for_names_substrings_for_numbers() {
        let d = DumpIndex::new("x\tSiti Aminah\t3316094507990001\t1999-07-05\n\\restrict kmxtriqz");
        let (no_nik, no_date) = ("9999999999999999", "2001-01-01");
        assert!(mentions_person(&d, no_nik, "siti aminah", no_date));
        assert!(mentions_person(&d, "3316094507990001", "Zz", no_date));
        assert!(mentions_person(&d, no_nik, "Zz", "1999-07-05"));
        assert!(!mentions_person(&d, no_nik, "Tri", no_date));
        assert!(!mentions_person(&d, no_nik, "Aminah Siti", no_date));
    }
}
