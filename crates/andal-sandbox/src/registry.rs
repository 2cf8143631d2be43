//! The synthetic population registry: people generated from a seed, with valid NIKs
//! over real region codes. No real person's data.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use andal::Sex;
use andal::region::RegionTables;
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::names::{self, Style};

/// Regency over-represented in the registry (Blora, the district of the 2025 outage).
pub const BLORA: &str = "33.16";
/// Share of people registered in Blora, in percent.
pub const BLORA_PERCENT: u32 = 10;
/// Share of inactive (deceased) records, in per mille.
pub const INACTIVE_PER_MILLE: u32 = 20;
/// Birth years drawn (inclusive).
pub const BIRTH_YEARS: std::ops::RangeInclusive<i32> = 1940..=2008;

/// One synthetic person. `Debug` hides the personal fields, like the core types do.
#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    nik: [u8; 16],
    /// Full name as registered.
    pub full_name: String,
    /// Birth date (consistent with the NIK).
    pub birth_date: time::Date,
    /// Birth place: a regency or city name without its "Kabupaten"/"Kota" prefix.
    pub birth_place: &'static str,
    /// Sex (also encoded in the NIK).
    pub sex: Sex,
    /// False for inactive (deceased) records.
    pub active: bool,
}

impl Person {
    /// The 16 NIK digits.
    pub fn nik_digits(&self) -> &str {
        std::str::from_utf8(&self.nik).unwrap_or("")
    }

    /// The NIK, parsed.
    pub fn nik(&self) -> andal::Nik {
        andal::Nik::parse(self.nik_digits()).expect("generated NIKs are valid")
    }

    /// Masked NIK for logs.
    pub fn nik_masked(&self) -> String {
        andal::nik::mask_str(self.nik_digits())
    }

    /// The public sample form of this record.
    pub fn to_sample(&self) -> SamplePerson {
        SamplePerson {
            nik: self.nik_digits().to_owned(),
            full_name: self.full_name.clone(),
            birth_date: andal::query::format_date(self.birth_date),
            birth_place: self.birth_place.to_owned(),
            sex: self.sex,
            active: self.active,
        }
    }
}

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Person")
            .field("nik", &self.nik_masked())
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// A synthetic record as handed to tests and demos (`GET /admin/sample`, `--sample`).
/// Synthetic data: unlike real records, it is shown in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamplePerson {
    /// 16-digit NIK.
    pub nik: String,
    /// Full name.
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// Birth place.
    pub birth_place: String,
    /// Sex.
    pub sex: Sex,
    /// False for inactive (deceased) records.
    pub active: bool,
}

impl SamplePerson {
    /// A request that matches this record exactly (birth place included).
    pub fn check_request(&self) -> andal::api::CheckRequest {
        andal::api::CheckRequest {
            nik: self.nik.clone(),
            full_name: self.full_name.clone(),
            birth_date: self.birth_date.clone(),
            birth_place: Some(self.birth_place.clone()),
        }
    }

    /// The same person as an [`andal::Query`] (without birth place).
    pub fn query(&self) -> andal::Query {
        andal::Query::parse(&self.nik, &self.full_name, &self.birth_date)
            .expect("sample people are valid queries")
    }
}

/// The generated registry: a `Vec` of people and an index by NIK.
pub struct Registry {
    seed: u64,
    people: Vec<Person>,
    index: HashMap<[u8; 16], u32>,
    generation_time: Duration,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("seed", &self.seed)
            .field("people", &self.people.len())
            .field("generation_time", &self.generation_time)
            .finish()
    }
}

fn strip_prefix(name: &'static str) -> &'static str {
    name.strip_prefix("Kabupaten ")
        .or_else(|| name.strip_prefix("Kota "))
        .unwrap_or(name)
}

fn pick<'a>(rng: &mut ChaCha8Rng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn make_name(rng: &mut ChaCha8Rng, style: Style, sex: Sex) -> String {
    let female = sex == Sex::Female;
    let roll: u32 = rng.random_range(0..100);
    match style {
        Style::Javanese => {
            let l = if female {
                names::JAVANESE_FEMALE
            } else {
                names::JAVANESE_MALE
            };
            if roll < 40 {
                pick(rng, l).to_owned()
            } else {
                let a = pick(rng, l);
                let mut b = pick(rng, l);
                if a == b {
                    b = if female { "Lestari" } else { "Santoso" };
                }
                format!("{a} {b}")
            }
        }
        Style::Sundanese => {
            let l = if female {
                names::SUNDANESE_FEMALE
            } else {
                names::SUNDANESE_MALE
            };
            if roll < 20 {
                pick(rng, l).to_owned()
            } else {
                let a = pick(rng, l);
                let mut b = pick(rng, l);
                if a == b {
                    b = if female { "Komariah" } else { "Saepudin" };
                }
                format!("{a} {b}")
            }
        }
        Style::Batak => {
            let l = if female {
                names::BATAK_FEMALE
            } else {
                names::BATAK_MALE
            };
            format!("{} {}", pick(rng, l), pick(rng, names::BATAK_MARGA))
        }
        Style::Minang => {
            let l = if female {
                names::MINANG_FEMALE
            } else {
                names::MINANG_MALE
            };
            if roll < 15 {
                pick(rng, l).to_owned()
            } else {
                format!("{} {}", pick(rng, l), pick(rng, names::COMMON_SURNAMES))
            }
        }
        Style::Bugis => {
            let l = if female {
                names::BUGIS_FEMALE
            } else {
                names::BUGIS_MALE
            };
            let a = pick(rng, l);
            let b = pick(
                rng,
                if female {
                    names::ARABIC_FEMALE
                } else {
                    names::ARABIC_MALE
                },
            );
            if a == "Andi" || roll < 30 {
                format!("Andi {b} {}", pick(rng, names::COMMON_SURNAMES))
            } else {
                format!("{a} {b}")
            }
        }
        Style::Arabic => {
            let l = if female {
                names::ARABIC_FEMALE
            } else {
                names::ARABIC_MALE
            };
            let a = pick(rng, l);
            let mut b = pick(rng, l);
            if a == b {
                b = if female { "Aminah" } else { "Yusuf" };
            }
            match roll {
                0..=9 => a.to_owned(),
                10..=54 => format!("{a} {}", pick(rng, names::COMMON_SURNAMES)),
                _ => format!("{a} {b} {}", pick(rng, names::COMMON_SURNAMES)),
            }
        }
    }
}

/// Write a two-digit decimal number.
fn put2(dst: &mut [u8], v: u8) {
    dst[0] = b'0' + v / 10;
    dst[1] = b'0' + v % 10;
}

fn days_in_month(year: i32, month: u8) -> u8 {
    time::util::days_in_month(time::Month::try_from(month).expect("month 1-12"), year)
}

impl Registry {
    /// Generate a registry of `people` persons from `seed`, or reuse an identical one
    /// still alive in this process (generation is deterministic, so they are equal).
    pub fn generate(seed: u64, people: usize) -> Arc<Registry> {
        type Cache = Mutex<HashMap<(u64, usize), Weak<Registry>>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        let mut map = cache.lock();
        if let Some(r) = map.get(&(seed, people)).and_then(Weak::upgrade) {
            return r;
        }
        map.retain(|_, w| w.strong_count() > 0);
        let r = Arc::new(Registry::generate_uncached(seed, people));
        map.insert((seed, people), Arc::downgrade(&r));
        r
    }

    /// Generate without the process-wide cache.
    pub fn generate_uncached(seed: u64, people: usize) -> Registry {
        let started = Instant::now();
        let tables = RegionTables::get();
        let regencies: Vec<(&'static str, Vec<&'static str>)> = tables
            .current_regencies()
            .into_iter()
            .map(|r| (r, tables.current_districts_of(r)))
            .filter(|(_, d)| !d.is_empty())
            .collect();
        let blora = regencies
            .iter()
            .position(|(r, _)| *r == BLORA)
            .expect("Blora is a current regency");
        let birth_places: Vec<&'static str> = regencies
            .iter()
            .map(|(r, _)| strip_prefix(tables.regency(r).map_or("", |e| e.name)))
            .collect();

        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut serials: HashMap<[u8; 12], u16> = HashMap::with_capacity(people);
        let mut out = Vec::with_capacity(people);
        let mut index = HashMap::with_capacity(people);
        while out.len() < people {
            let ri = if rng.random_range(0..100) < BLORA_PERCENT {
                blora
            } else {
                rng.random_range(0..regencies.len())
            };
            let (reg, districts) = &regencies[ri];
            let district = districts[rng.random_range(0..districts.len())];
            let sex = if rng.random_bool(0.5) {
                Sex::Male
            } else {
                Sex::Female
            };
            let year = rng.random_range(BIRTH_YEARS);
            let month: u8 = rng.random_range(1..=12);
            let day: u8 = rng.random_range(1..=days_in_month(year, month));
            let birth_date = time::Date::from_calendar_date(
                year,
                time::Month::try_from(month).expect("1-12"),
                day,
            )
            .expect("valid date");
            let nik_day = if sex == Sex::Female { day + 40 } else { day };
            // "33.16.09" -> "331609", then DDMMYY.
            let mut prefix = [0u8; 12];
            for (dst, src) in prefix
                .iter_mut()
                .zip(district.bytes().filter(u8::is_ascii_digit))
            {
                *dst = src;
            }
            put2(&mut prefix[6..8], nik_day);
            put2(&mut prefix[8..10], month);
            put2(&mut prefix[10..12], year.rem_euclid(100) as u8);
            let serial = serials.entry(prefix).or_insert(0);
            if *serial >= 9999 {
                continue; // prefix exhausted: draw another person
            }
            *serial += 1;
            let mut nik = [0u8; 16];
            nik[..12].copy_from_slice(&prefix);
            put2(&mut nik[12..14], (*serial / 100) as u8);
            put2(&mut nik[14..16], (*serial % 100) as u8);

            let province = &reg[..2];
            let style = names::style_for(province, rng.random_range(0..100));
            let full_name = make_name(&mut rng, style, sex);
            let birth_place = if rng.random_range(0..100) < 80 {
                birth_places[ri]
            } else {
                birth_places[rng.random_range(0..birth_places.len())]
            };
            let active = rng.random_range(0..1000) >= INACTIVE_PER_MILLE;
            index.insert(nik, out.len() as u32);
            out.push(Person {
                nik,
                full_name,
                birth_date,
                birth_place,
                sex,
                active,
            });
        }
        Registry {
            seed,
            people: out,
            index,
            generation_time: started.elapsed(),
        }
    }

    /// Seed it was generated from.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Number of people.
    pub fn len(&self) -> usize {
        self.people.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }
    /// Time the generation took.
    pub fn generation_time(&self) -> Duration {
        self.generation_time
    }
    /// All people, in generation order.
    pub fn people(&self) -> &[Person] {
        &self.people
    }
    /// Look up by NIK.
    pub fn get(&self, nik: &andal::Nik) -> Option<&Person> {
        self.get_digits(nik.expose_digits())
    }
    /// Look up by the 16 digits.
    pub fn get_digits(&self, digits: &str) -> Option<&Person> {
        let key: [u8; 16] = digits.as_bytes().try_into().ok()?;
        self.index.get(&key).map(|&i| &self.people[i as usize])
    }

    /// `n` deterministic picks (same seed, same picks) among records whose `active`
    /// flag equals `active`. Fewer when the registry holds fewer such records.
    pub fn sample_where(&self, n: usize, active: bool) -> Vec<SamplePerson> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x5A4D_504C_4553_0001);
        let total = self.people.iter().filter(|p| p.active == active).count();
        let n = n.min(total);
        let mut seen = std::collections::HashSet::with_capacity(n);
        let mut out = Vec::with_capacity(n);
        // Random probes, then a linear sweep to guarantee termination.
        let mut probes = 0usize;
        while out.len() < n && probes < n.saturating_mul(200) + 1000 {
            probes += 1;
            let i = rng.random_range(0..self.people.len());
            let p = &self.people[i];
            if p.active == active && seen.insert(i) {
                out.push(p.to_sample());
            }
        }
        for (i, p) in self.people.iter().enumerate() {
            if out.len() >= n {
                break;
            }
            if p.active == active && seen.insert(i) {
                out.push(p.to_sample());
            }
        }
        out
    }
}
