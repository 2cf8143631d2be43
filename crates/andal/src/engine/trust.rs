//! Trust documents (signed keyset, signed revocation list): fetched while online,
//! verified against the pinned roots, cached on disk; refreshed in the background after a
//! successful online check once the refresh interval has passed.
//!
//! The fetch-and-install sequence is the [`TrustRefresh`] machine; the drivers only send
//! its requests, write what it hands them to disk (a raised high-water mark to the journal,
//! then the document to the cache: the async driver on its writer thread, never on the
//! runtime)
//! and, for the background refresh, pick a thread or a task to run it on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use andal_resilience::{FailureKind, SharedClock};
use parking_lot::Mutex;

use crate::api;
use crate::error::{ConfigError, Error, Unavailable, UnavailableCause};
use crate::offline::{Installed, Trust};
use crate::transport::{HttpRequest, HttpResponse, Method, TransportError};

/// Default interval between background refreshes of the trust documents.
pub const DEFAULT_TRUST_REFRESH: Duration = Duration::from_secs(15 * 60);

/// The trust state plus what it takes to refresh it. Kept apart from the rest of the
/// client so that a background refresh holds neither the journal nor the breaker.
pub(crate) struct TrustSync {
    pub(crate) trust: Trust,
    pub(crate) base_url: String,
    pub(crate) auth_header: String,
    pub(crate) partner_id: String,
    pub(crate) clock: SharedClock,
    pub(crate) attempt_timeout: Duration,
    pub(crate) max_response_bytes: u64,
    pub(crate) interval: Option<Duration>,
    pub(crate) last: Mutex<Option<Instant>>,
    pub(crate) running: AtomicBool,
}

impl std::ops::Deref for TrustSync {
    type Target = Trust;
    fn deref(&self) -> &Trust {
        &self.trust
    }
}

/// The documents of one refresh, in order (`true`: the keyset).
const DOCUMENTS: [(&str, bool); 2] = [(api::KEYS_PATH, true), (api::REVOCATIONS_PATH, false)];

impl TrustSync {
    /// A refresh of both documents (refused without pinned roots).
    pub(crate) fn refresh(self: &Arc<Self>) -> Result<TrustRefresh, Error> {
        if !self.trust.has_roots() {
            return Err(ConfigError::Missing("trust_roots").into());
        }
        Ok(TrustRefresh {
            sync: Arc::clone(self),
            next: 0,
            started: None,
            failed: None,
            to_write: Installed::default(),
            writing: false,
        })
    }

    /// After a successful online check: whether a background refresh is due (the interval
    /// has passed and none is running). `true` marks one as running: the driver must then
    /// run [`refresh`](Self::refresh) and report it with
    /// [`background_refresh_done`](Self::background_refresh_done).
    pub(crate) fn background_refresh_due(&self) -> bool {
        let Some(interval) = self.interval else {
            return false;
        };
        if !self.trust.has_roots() {
            return false;
        }
        let now = self.clock.now();
        if self
            .last
            .lock()
            .is_some_and(|t| now.saturating_duration_since(t) < interval)
        {
            return false;
        }
        !self.running.swap(true, Ordering::AcqRel)
    }

    /// The background refresh marked by `background_refresh_due` ended (or could not be
    /// started); drivers report it through a [`BackgroundRefresh`].
    fn background_refresh_done(&self, result: Result<(), Error>) {
        if let Err(e) = result {
            // Try again after the next interval, not on every check.
            *self.last.lock() = Some(self.clock.now());
            tracing::warn!(target: "andal::offline", error = %e, "trust refresh failed");
        }
        self.running.store(false, Ordering::Release);
    }

    fn document_request(&self, path: &str) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url: format!("{}{path}", self.base_url),
            headers: vec![
                ("Authorization".into(), self.auth_header.clone()),
                ("Accept".into(), "application/json".into()),
                (api::PARTNER_ID_HEADER.into(), self.partner_id.clone()),
            ],
            body: Vec::new(),
        }
    }

    fn document_from(
        &self,
        response: Result<HttpResponse, TransportError>,
        started: Instant,
    ) -> Result<String, Error> {
        let unavailable = |kind: FailureKind| Unavailable {
            cause: UnavailableCause::Upstream(kind),
            attempts: 1,
            last_failure: Some(kind),
            elapsed: self.clock.now().saturating_duration_since(started),
            fallback: None,
        };
        let resp = response.map_err(|f| unavailable(f.kind))?;
        if resp.status == 429 || resp.status >= 500 {
            // The registry is down or shedding load: unavailable, as a check would say (a
            // caller that waits out an outage must not read it as a broken registry).
            let kind = FailureKind::from_status(resp.status).unwrap_or(FailureKind::Protocol);
            return Err(unavailable(kind).into());
        }
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

/// A background refresh marked as running by [`TrustSync::background_refresh_due`], moved
/// into the driver's job (a thread or a task). It reports the end of the refresh however
/// the job ends: finished ([`done`](Self::done)), or dropped (never run because no thread
/// or task could start, the runtime shut down, or unwound by a panic): then it counts as
/// not run, due again after the next successful check, so a lost job never stops later
/// refreshes. Both drivers use it, so both end a refresh the same way.
pub(crate) struct BackgroundRefresh(Option<Arc<TrustSync>>);

impl BackgroundRefresh {
    pub(crate) fn new(sync: Arc<TrustSync>) -> Self {
        BackgroundRefresh(Some(sync))
    }

    /// The refresh ran to its end with this result.
    pub(crate) fn done(mut self, result: Result<(), Error>) {
        if let Some(sync) = self.0.take() {
            sync.background_refresh_done(result);
        }
    }
}

impl Drop for BackgroundRefresh {
    fn drop(&mut self) {
        if let Some(sync) = self.0.take() {
            sync.background_refresh_done(Ok(()));
        }
    }
}

/// What a driver must do next for a [`TrustRefresh`].
#[derive(Debug)]
pub(crate) enum RefreshAction {
    /// Send this request through the transport, within `timeout`, accepting at most
    /// `max_body` bytes; then call `handle_response`.
    Send {
        request: Arc<HttpRequest>,
        timeout: Duration,
        max_body: u64,
    },
    /// Write what the last installed document left to write ([`Installed`]): the raised
    /// high-water mark to the journal, then the document to the cache, in that order and
    /// both, even if the caller stops waiting (the async driver's writer thread owns them:
    /// a mark journaled without its document cached would make the restarted client refuse
    /// its own cache as a rollback); then call `handle_persisted` with how the journal
    /// append went.
    Persist(Installed),
    /// Finished.
    Done(Result<(), Error>),
}

/// One refresh: fetch the keyset, verify and install it, write what it raised (mark to the
/// journal, then the document to the cache), then the same for the revocation list.
pub(crate) struct TrustRefresh {
    sync: Arc<TrustSync>,
    next: usize,
    started: Option<Instant>,
    failed: Option<Error>,
    /// What the last installed document still has to have written, in order.
    to_write: Installed,
    /// A write handed to the driver is outstanding.
    writing: bool,
}

impl TrustRefresh {
    /// The next thing to do.
    pub(crate) fn poll(&mut self) -> RefreshAction {
        assert!(
            self.started.is_none() && !self.writing,
            "TrustRefresh::poll called while a request or a write is outstanding"
        );
        // The writes of an installed document come before the next document.
        let writes = std::mem::take(&mut self.to_write);
        if writes.mark_record.is_some() || writes.cache.is_some() {
            self.writing = true;
            return RefreshAction::Persist(writes);
        }
        if let Some(e) = self.failed.take() {
            self.next = DOCUMENTS.len();
            return RefreshAction::Done(Err(e));
        }
        match DOCUMENTS.get(self.next) {
            Some((path, _)) => {
                self.started = Some(self.sync.clock.now());
                RefreshAction::Send {
                    request: Arc::new(self.sync.document_request(path)),
                    timeout: self.sync.attempt_timeout,
                    max_body: self.sync.max_response_bytes,
                }
            }
            None => {
                *self.sync.last.lock() = Some(self.sync.clock.now());
                RefreshAction::Done(Ok(()))
            }
        }
    }

    /// What the transport did with the last request.
    pub(crate) fn handle_response(&mut self, response: Result<HttpResponse, TransportError>) {
        let started = self
            .started
            .take()
            .expect("TrustRefresh::handle_response without an outstanding Send");
        let (_, keys) = DOCUMENTS[self.next];
        let installed = self.sync.document_from(response, started).and_then(|doc| {
            let now = andal_token::unix_secs(self.sync.clock.wall());
            self.sync
                .trust
                .install(&doc, keys, now)
                .map_err(Error::from)
        });
        match installed {
            Ok(writes) => {
                self.to_write = writes;
                self.next += 1;
            }
            Err(e) => self.failed = Some(e),
        }
    }

    /// How the last `Persist`'s journal append went (a failure is a warning: the document
    /// is installed in memory either way; the cache write reports its own failure).
    pub(crate) fn handle_persisted(&mut self, journaled: Result<(), String>) {
        self.end_write();
        crate::offline::journaled_mark(journaled);
    }

    fn end_write(&mut self) {
        assert!(
            std::mem::take(&mut self.writing),
            "TrustRefresh: a write reported without an outstanding one"
        );
    }
}
