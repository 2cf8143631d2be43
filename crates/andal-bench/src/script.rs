//! The scripted outage: a list of phases, each a sandbox fault (or none) for a while.

use std::time::Duration;

use andal_sandbox::Fault;
use serde::{Deserialize, Serialize};

/// What a phase stands for in the report's windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseRole {
    /// Before the outage.
    Healthy,
    /// Part of the outage window.
    Outage,
    /// The registry is back (the first one after the outage is "recovery").
    Recovery,
}

/// One phase of the script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// Short name for the report.
    pub name: String,
    /// Fault in force (`None`: normal service).
    pub fault: Option<Fault>,
    /// How long the phase lasts.
    pub duration_ms: u64,
    /// Which window the phase belongs to.
    pub role: PhaseRole,
}

/// The outage script every contender meets, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Script {
    /// The phases, back to back from t = 0.
    pub phases: Vec<Phase>,
}

impl Script {
    /// Issue 7's outage: healthy 5 s, hard down 20 s, hang 10 s, 503s 10 s, recovery 15 s.
    pub fn standard() -> Script {
        let p = |name: &str, fault: Option<Fault>, secs: u64, role| Phase {
            name: name.into(),
            fault,
            duration_ms: secs * 1000,
            role,
        };
        Script {
            phases: vec![
                p("healthy", None, 5, PhaseRole::Healthy),
                p("hard down", Some(Fault::Down), 20, PhaseRole::Outage),
                p("hang", Some(Fault::Hang), 10, PhaseRole::Outage),
                p(
                    "503s",
                    Some(Fault::Error {
                        status: 503,
                        rate: 1.0,
                    }),
                    10,
                    PhaseRole::Outage,
                ),
                p("recovery", None, 15, PhaseRole::Recovery),
            ],
        }
    }

    /// The same script with every phase scaled by `factor` (e.g. 0.25 for `--quick`).
    pub fn scaled(&self, factor: f64) -> Script {
        Script {
            phases: self
                .phases
                .iter()
                .map(|ph| Phase {
                    duration_ms: ((ph.duration_ms as f64) * factor).round().max(1.0) as u64,
                    ..ph.clone()
                })
                .collect(),
        }
    }

    /// Planned start offset of each phase, in ms.
    pub fn offsets_ms(&self) -> Vec<u64> {
        let mut t = 0;
        self.phases
            .iter()
            .map(|ph| {
                let at = t;
                t += ph.duration_ms;
                at
            })
            .collect()
    }

    /// Total length.
    pub fn total(&self) -> Duration {
        Duration::from_millis(self.phases.iter().map(|p| p.duration_ms).sum())
    }

    /// Index of the first outage phase and of the first recovery phase after it.
    pub fn outage_bounds(&self) -> Option<(usize, usize)> {
        let first = self
            .phases
            .iter()
            .position(|p| p.role == PhaseRole::Outage)?;
        let rec = self.phases[first..]
            .iter()
            .position(|p| p.role != PhaseRole::Outage)
            .map(|i| i + first)?;
        Some((first, rec))
    }

    /// A one-line description, e.g. `healthy 5 s → hard down 20 s → ...`.
    pub fn describe(&self) -> String {
        self.phases
            .iter()
            .map(|p| {
                let fault = match &p.fault {
                    None => "no fault".to_string(),
                    Some(f) => serde_json::to_string(f).unwrap_or_else(|_| f.label().into()),
                };
                format!(
                    "{} {} s ({fault})",
                    p.name,
                    fmt_secs(p.duration_ms as f64 / 1000.0)
                )
            })
            .collect::<Vec<_>>()
            .join(" → ")
    }
}

fn fmt_secs(s: f64) -> String {
    if (s - s.round()).abs() < 1e-9 {
        format!("{}", s.round() as i64)
    } else {
        format!("{s:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_script_shape() {
        let s = Script::standard();
        assert_eq!(s.total(), Duration::from_secs(60));
        assert_eq!(s.offsets_ms(), vec![0, 5_000, 25_000, 35_000, 45_000]);
        assert_eq!(s.outage_bounds(), Some((1, 4)));
        let q = s.scaled(0.25);
        assert_eq!(q.total(), Duration::from_secs(15));
        assert!(
            s.describe()
                .starts_with("healthy 5 s (no fault) → hard down 20 s")
        );
        let back: Script = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
