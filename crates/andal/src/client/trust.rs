//! Trust documents (signed keyset, signed revocation list): fetched while online,
//! verified against the pinned roots, cached on disk; refreshed in the background after a
//! successful online check once the refresh interval has passed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use andal_resilience::SharedClock;
use parking_lot::Mutex;

use crate::api;
use crate::error::{ConfigError, Error, Unavailable, UnavailableCause};
use crate::offline::{Trust, TrustStatus};
use crate::transport::{HttpRequest, Method, Transport};

use super::Client;

/// Default interval between background refreshes of the trust documents.
pub const DEFAULT_TRUST_REFRESH: Duration = Duration::from_secs(15 * 60);

/// The trust state plus what it takes to refresh it. Kept apart from the client so that a
/// background refresh holds neither the journal nor the breaker.
pub(super) struct TrustSync {
    pub(super) trust: Trust,
    pub(super) transport: Arc<dyn Transport>,
    pub(super) base_url: String,
    pub(super) auth_header: String,
    pub(super) partner_id: String,
    pub(super) clock: SharedClock,
    pub(super) attempt_timeout: Duration,
    pub(super) max_response_bytes: u64,
    pub(super) interval: Option<Duration>,
    pub(super) last: Mutex<Option<Instant>>,
    pub(super) running: AtomicBool,
}

impl std::ops::Deref for TrustSync {
    type Target = Trust;
    fn deref(&self) -> &Trust {
        &self.trust
    }
}

impl TrustSync {
    fn refresh(&self) -> Result<(), Error> {
        if !self.trust.has_roots() {
            return Err(ConfigError::Missing("trust_roots").into());
        }
        for (path, keys) in [(api::KEYS_PATH, true), (api::REVOCATIONS_PATH, false)] {
            let doc = self.fetch_document(path)?;
            let now = andal_token::unix_secs(self.clock.wall());
            self.trust.install(&doc, keys, now, true)?;
        }
        *self.last.lock() = Some(self.clock.now());
        Ok(())
    }

    /// After a successful online check: refresh on a background thread if the interval
    /// has passed and no refresh is running. Never blocks the caller.
    pub(super) fn refresh_in_background_if_due(self: &Arc<Self>) {
        let Some(interval) = self.interval else {
            return;
        };
        if !self.trust.has_roots() {
            return;
        }
        let now = self.clock.now();
        if self
            .last
            .lock()
            .is_some_and(|t| now.saturating_duration_since(t) < interval)
        {
            return;
        }
        if self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("andal-trust-refresh".into())
            .spawn(move || {
                if let Err(e) = me.refresh() {
                    // Try again after the next interval, not on every check.
                    *me.last.lock() = Some(me.clock.now());
                    tracing::warn!(target: "andal::offline", error = %e, "trust refresh failed");
                }
                me.running.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            self.running.store(false, Ordering::Release);
        }
    }

    fn fetch_document(&self, path: &str) -> Result<String, Error> {
        let request = HttpRequest {
            method: Method::Get,
            url: format!("{}{path}", self.base_url),
            headers: vec![
                ("Authorization".into(), self.auth_header.clone()),
                ("Accept".into(), "application/json".into()),
                (api::PARTNER_ID_HEADER.into(), self.partner_id.clone()),
            ],
            body: Vec::new(),
        };
        let started = self.clock.now();
        let resp = self
            .transport
            .send(&request, self.attempt_timeout, self.max_response_bytes)
            .map_err(|f| Unavailable {
                cause: UnavailableCause::Upstream(f.kind),
                attempts: 1,
                last_failure: Some(f.kind),
                elapsed: self.clock.now().saturating_duration_since(started),
                fallback: None,
            })?;
        if matches!(resp.status, 401 | 403) {
            // Wrong key or wrong partner: the same typed error as a check.
            let code = serde_json::from_slice::<api::Problem>(&resp.body)
                .map_or(api::ProblemCode::Unknown, |p| p.code);
            return Err(Error::Auth {
                status: resp.status,
                code,
            });
        }
        if resp.status != 200 {
            return Err(Error::Protocol(format!(
                "HTTP {} fetching a trust document",
                resp.status
            )));
        }
        serde_json::from_slice::<api::SignedDocument>(&resp.body)
            .map(|d| d.jws)
            .map_err(|_| Error::Protocol("trust document is not a signed document".into()))
    }
}

impl Client {
    /// Fetch the signed keyset and revocation list from the registry, verify them against
    /// the pinned roots, and cache them. Call at start-up; afterwards the client refreshes
    /// them in the background after a successful online check, every
    /// [`trust_refresh_interval`](super::ClientBuilder::trust_refresh_interval).
    pub fn refresh_trust(&self) -> Result<TrustStatus, Error> {
        self.inner.trust.refresh()?;
        Ok(self.trust_status())
    }

    /// The trust state held (keys, revocation list age).
    pub fn trust_status(&self) -> TrustStatus {
        self.inner
            .trust
            .status(andal_token::unix_secs(self.inner.clock.wall()))
    }
}
