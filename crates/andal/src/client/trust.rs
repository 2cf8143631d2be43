//! Trust documents (signed keyset, signed revocation list): fetched while online,
//! verified against the pinned roots, cached on disk.

use crate::api;
use crate::error::{ConfigError, Error, Unavailable, UnavailableCause};
use crate::offline::TrustStatus;
use crate::transport::{HttpRequest, Method};

use super::Client;

impl Client {
    /// Fetch the signed keyset and revocation list from the registry, verify them against
    /// the pinned roots, and cache them. Call at start-up and periodically while online.
    pub fn refresh_trust(&self) -> Result<TrustStatus, Error> {
        let inner = &*self.inner;
        if !inner.trust.has_roots() {
            return Err(ConfigError::Missing("trust_roots").into());
        }
        for (path, keys) in [(api::KEYS_PATH, true), (api::REVOCATIONS_PATH, false)] {
            let doc = self.fetch_document(path)?;
            let now = andal_token::unix_secs(inner.clock.wall());
            inner.trust.install(&doc, keys, now, true)?;
        }
        Ok(self.trust_status())
    }

    /// The trust state held (keys, revocation list age).
    pub fn trust_status(&self) -> TrustStatus {
        self.inner
            .trust
            .status(andal_token::unix_secs(self.inner.clock.wall()))
    }

    pub(super) fn fetch_document(&self, path: &str) -> Result<String, Error> {
        let inner = &*self.inner;
        let request = HttpRequest {
            method: Method::Get,
            url: format!("{}{path}", inner.base_url),
            headers: vec![
                ("Authorization".into(), inner.auth_header.clone()),
                ("Accept".into(), "application/json".into()),
            ],
            body: Vec::new(),
        };
        let started = inner.clock.now();
        let resp = inner
            .transport
            .send(&request, inner.attempt_timeout, inner.max_response_bytes)
            .map_err(|f| Unavailable {
                cause: UnavailableCause::Upstream(f.kind),
                attempts: 1,
                elapsed: inner.clock.now().saturating_duration_since(started),
                fallback: None,
            })?;
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
