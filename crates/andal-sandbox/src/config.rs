//! Sandbox configuration, partners, and the attestation hook.

use std::sync::Arc;
use std::time::Duration;

use crate::registry::Person;

/// Default seed ("Andal" in ASCII).
pub const DEFAULT_SEED: u64 = 0x41_6E_64_61_6C;
/// Default registry size.
pub const DEFAULT_PEOPLE: usize = 100_000;
/// Largest accepted request body; larger ones get 413 without being read.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// How long an idempotency key is remembered by default.
pub const DEFAULT_IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

/// Default partner: a bank.
pub const DEMO_BANK_PARTNER: &str = "demo-bank";
/// Its API key.
pub const DEMO_BANK_KEY: &str = "sandbox-demo-bank-key";
/// Default partner: a BPJS integrator.
pub const BPJS_PARTNER: &str = "bpjs-demo";
/// Its API key.
pub const BPJS_KEY: &str = "sandbox-bpjs-key";
/// Default suspended partner (every check is 403).
pub const SUSPENDED_PARTNER: &str = "suspended-demo";
/// Its API key.
pub const SUSPENDED_KEY: &str = "sandbox-suspended-key";

/// A partner allowed to call the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerConfig {
    /// Partner id (appears in accounting and is passed to the attester).
    pub partner_id: String,
    /// Bearer API key.
    pub api_key: String,
    /// A suspended partner's key is recognised but refused (403).
    pub suspended: bool,
}

impl PartnerConfig {
    /// An active partner.
    pub fn new(partner_id: impl Into<String>, api_key: impl Into<String>) -> Self {
        PartnerConfig {
            partner_id: partner_id.into(),
            api_key: api_key.into(),
            suspended: false,
        }
    }
    /// A suspended partner.
    pub fn suspended(partner_id: impl Into<String>, api_key: impl Into<String>) -> Self {
        PartnerConfig {
            suspended: true,
            ..PartnerConfig::new(partner_id, api_key)
        }
    }
}

/// Hook for a token issuer (the offline-token work plugs in here).
///
/// `attest` is called for every `match` answered for the first time to an idempotency
/// key; its result becomes `CheckResponse::attestation`. The two documents are served as
/// `SignedDocument { jws }` on `GET /v1/keys` and `GET /v1/revocations`.
pub trait Attester: Send + Sync {
    /// A signed attestation token (JWS compact) for this partner and record.
    fn attest(&self, partner: &str, person: &Person) -> Option<String>;
    /// The signed keyset (JWS compact), if any.
    fn keys_document(&self) -> Option<String>;
    /// The signed revocation list (JWS compact), if any.
    fn revocations_document(&self) -> Option<String>;
}

/// How to start a sandbox. `SandboxConfig::default()` gives 100,000 people from
/// [`DEFAULT_SEED`] on an ephemeral loopback port with the three demo partners.
#[derive(Clone)]
pub struct SandboxConfig {
    pub(crate) seed: u64,
    pub(crate) people: usize,
    pub(crate) port: u16,
    pub(crate) partners: Vec<PartnerConfig>,
    pub(crate) attester: Option<Arc<dyn Attester>>,
    pub(crate) issuer: bool,
    pub(crate) idempotency_ttl: Duration,
    pub(crate) require_partner_id: bool,
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("seed", &self.seed)
            .field("people", &self.people)
            .field("port", &self.port)
            .field(
                "partners",
                &self
                    .partners
                    .iter()
                    .map(|p| (&p.partner_id, p.suspended))
                    .collect::<Vec<_>>(),
            )
            .field("attester", &self.attester.is_some())
            .field("idempotency_ttl", &self.idempotency_ttl)
            .field("require_partner_id", &self.require_partner_id)
            .finish()
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            seed: DEFAULT_SEED,
            people: DEFAULT_PEOPLE,
            port: 0,
            partners: vec![
                PartnerConfig::new(DEMO_BANK_PARTNER, DEMO_BANK_KEY),
                PartnerConfig::new(BPJS_PARTNER, BPJS_KEY),
                PartnerConfig::suspended(SUSPENDED_PARTNER, SUSPENDED_KEY),
            ],
            attester: None,
            issuer: true,
            idempotency_ttl: DEFAULT_IDEMPOTENCY_TTL,
            require_partner_id: false,
        }
    }
}

impl SandboxConfig {
    /// Same as `default()`.
    pub fn new() -> Self {
        Self::default()
    }
    /// Registry seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Registry size (at least 1).
    pub fn people(mut self, people: usize) -> Self {
        self.people = people.max(1);
        self
    }
    /// Loopback port (0: ephemeral).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// Replace the partner list.
    pub fn partners(mut self, partners: Vec<PartnerConfig>) -> Self {
        self.partners = partners;
        self
    }
    /// Add (or replace, by id) one partner.
    pub fn partner(mut self, partner: PartnerConfig) -> Self {
        self.partners.retain(|p| p.partner_id != partner.partner_id);
        self.partners.push(partner);
        self
    }
    /// Plug in a token issuer.
    /// Run without the built-in token issuer (no attestations; `/v1/keys` and
    /// `/v1/revocations` answer 404). The issuer is on by default.
    pub fn without_issuer(mut self) -> Self {
        self.issuer = false;
        self
    }

    /// Use this attester instead of the built-in issuer.
    pub fn attester(mut self, attester: Arc<dyn Attester>) -> Self {
        self.attester = Some(attester);
        self
    }
    /// How long idempotency keys are remembered (default 24 h).
    pub fn idempotency_ttl(mut self, ttl: Duration) -> Self {
        self.idempotency_ttl = ttl;
        self
    }
    /// Refuse authenticated requests that carry no `X-Partner-Id` header (403
    /// `partner_mismatch`). Default false: a client older than the header is accepted (its
    /// key alone names the partner); a header naming another partner is always refused.
    pub fn require_partner_id(mut self, yes: bool) -> Self {
        self.require_partner_id = yes;
        self
    }
    /// The configured partners.
    pub fn partner_list(&self) -> &[PartnerConfig] {
        &self.partners
    }
}
