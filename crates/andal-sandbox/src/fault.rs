//! Switchable faults, applied to `/v1/*` requests (admin endpoints are never faulted,
//! except by `Down`/`Flapping`, which close the listening socket itself).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A fault the sandbox injects. JSON form: `{"kind":"slow","latency_ms":300}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Fault {
    /// Listening socket and every open connection closed: connections are refused.
    /// Clearing the fault re-binds the same port.
    Down,
    /// Requests are read but never answered, until the fault is cleared or the sandbox
    /// stops; then the connection is closed without an answer.
    Hang,
    /// Every answer is delayed by this many milliseconds.
    Slow {
        /// Added latency.
        latency_ms: u64,
    },
    /// A share of requests (seeded RNG) is answered with this 5xx status.
    Error {
        /// HTTP status, 500-599.
        status: u16,
        /// Share of requests that fail, 0.0-1.0.
        rate: f64,
    },
    /// 429 with `Retry-After`.
    Throttle {
        /// Seconds sent in `Retry-After`.
        retry_after_secs: u64,
    },
    /// The request is processed (and charged), then the response is cut after its headers
    /// and half its body, and the connection reset.
    ResetMidBody,
    /// 200 `application/json` whose body is not valid JSON.
    MalformedJson,
    /// 200 with a body of this many bytes, streamed.
    Oversized {
        /// Body size.
        bytes: u64,
    },
    /// Alternating `Down` for `down_ms`, then serving for `up_ms`, starting with a down
    /// phase at the moment the fault is set.
    Flapping {
        /// Down phase length.
        down_ms: u64,
        /// Serving phase length.
        up_ms: u64,
    },
}

impl Fault {
    /// Check the parameters; the admin endpoint rejects invalid faults with 400.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Fault::Error { status, rate } => {
                if !(500..=599).contains(&status) {
                    return Err("error.status must be 500-599".into());
                }
                if !(0.0..=1.0).contains(&rate) {
                    return Err("error.rate must be within 0.0-1.0".into());
                }
            }
            Fault::Flapping { down_ms, up_ms } if down_ms == 0 || up_ms == 0 => {
                return Err("flapping.down_ms and flapping.up_ms must be positive".into());
            }
            Fault::Slow { latency_ms } if latency_ms > 3_600_000 => {
                return Err("slow.latency_ms must be at most 3600000".into());
            }
            _ => {}
        }
        Ok(())
    }

    /// The same fault with out-of-range parameters clamped (used by `Sandbox::set_fault`).
    pub(crate) fn clamped(self) -> Fault {
        match self {
            Fault::Error { status, rate } => Fault::Error {
                status: if (500..=599).contains(&status) {
                    status
                } else {
                    500
                },
                rate: if rate.is_nan() {
                    1.0
                } else {
                    rate.clamp(0.0, 1.0)
                },
            },
            Fault::Flapping { down_ms, up_ms } => Fault::Flapping {
                down_ms: down_ms.max(1),
                up_ms: up_ms.max(1),
            },
            Fault::Slow { latency_ms } => Fault::Slow {
                latency_ms: latency_ms.min(3_600_000),
            },
            f => f,
        }
    }

    /// Stable label for logs.
    pub fn label(&self) -> &'static str {
        match self {
            Fault::Down => "down",
            Fault::Hang => "hang",
            Fault::Slow { .. } => "slow",
            Fault::Error { .. } => "error",
            Fault::Throttle { .. } => "throttle",
            Fault::ResetMidBody => "reset_mid_body",
            Fault::MalformedJson => "malformed_json",
            Fault::Oversized { .. } => "oversized",
            Fault::Flapping { .. } => "flapping",
        }
    }
}

/// The fault in force and when it was set.
#[derive(Debug, Clone)]
pub(crate) struct FaultState {
    pub fault: Option<Fault>,
    pub set_at: Instant,
    pub generation: u64,
}

/// Whether the listener should be closed now, and when that may next change.
pub(crate) fn down_now(state: &FaultState, now: Instant) -> (bool, Option<Instant>) {
    match state.fault {
        Some(Fault::Down) => (true, None),
        Some(Fault::Flapping { down_ms, up_ms }) => {
            let period = down_ms + up_ms;
            let elapsed = now.saturating_duration_since(state.set_at).as_millis() as u64;
            let pos = elapsed % period;
            let cycle_start = elapsed - pos;
            if pos < down_ms {
                (
                    true,
                    Some(state.set_at + Duration::from_millis(cycle_start + down_ms)),
                )
            } else {
                (
                    false,
                    Some(state.set_at + Duration::from_millis(cycle_start + period)),
                )
            }
        }
        _ => (false, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_forms() {
        let f: Fault = serde_json::from_str(r#"{"kind":"slow","latency_ms":5}"#).unwrap();
        assert_eq!(f, Fault::Slow { latency_ms: 5 });
        assert_eq!(
            serde_json::to_string(&Fault::Down).unwrap(),
            r#"{"kind":"down"}"#
        );
        let f: Fault = serde_json::from_str(r#"{"kind":"error","status":503,"rate":0.5}"#).unwrap();
        assert!(f.validate().is_ok());
        assert!(
            Fault::Error {
                status: 200,
                rate: 0.5
            }
            .validate()
            .is_err()
        );
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"nope"}"#).is_err());
    }

    #[test]
    fn flapping_schedule() {
        let t0 = Instant::now();
        let s = FaultState {
            fault: Some(Fault::Flapping {
                down_ms: 100,
                up_ms: 50,
            }),
            set_at: t0,
            generation: 1,
        };
        assert_eq!(
            down_now(&s, t0),
            (true, Some(t0 + Duration::from_millis(100)))
        );
        assert_eq!(
            down_now(&s, t0 + Duration::from_millis(120)),
            (false, Some(t0 + Duration::from_millis(150)))
        );
        assert_eq!(
            down_now(&s, t0 + Duration::from_millis(160)),
            (true, Some(t0 + Duration::from_millis(250)))
        );
    }
}
