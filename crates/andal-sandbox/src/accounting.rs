//! Request counting: what reached the sandbox, what was charged, what was answered.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Counters of one partner (requests on `POST /v1/checks` carrying its key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerAccounting {
    /// Requests received, including those answered (or left hanging) by a fault.
    pub requests_received: u64,
    /// NIK accesses charged: first 200 answer to an idempotency key.
    pub accesses_charged: u64,
    /// 200 answers replayed from the idempotency store (not charged).
    pub idempotent_replays: u64,
    /// Responses sent, by HTTP status (a hung request has none).
    pub responses_by_status: BTreeMap<u16, u64>,
}

/// A snapshot of the sandbox's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounting {
    /// Per partner id.
    pub partners: BTreeMap<String, PartnerAccounting>,
    /// `/v1/checks` requests without a known API key.
    pub unauthenticated: PartnerAccounting,
    /// Every request on `/v1/checks` (all partners, faulted ones included).
    pub check_requests: u64,
    /// Every request on `/v1/*`.
    pub v1_requests: u64,
    /// `/v1/*` requests that met an injected fault.
    pub faulted_requests: u64,
    /// TCP connections accepted (refused connections while down cannot be counted).
    pub connections_accepted: u64,
}

impl Accounting {
    /// Counters of one partner (zero when it never called).
    pub fn partner(&self, id: &str) -> PartnerAccounting {
        self.partners.get(id).cloned().unwrap_or_default()
    }

    /// Charged accesses over all partners.
    pub fn total_charged(&self) -> u64 {
        self.partners.values().map(|p| p.accesses_charged).sum()
    }
}
