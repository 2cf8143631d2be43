//! `AsyncClient`: the async driver over the check engine. No thread per call: a check is
//! a future that sends through an [`AsyncTransport`], waits on the client's timer, and
//! hands disk writes (journal appends, trust cache files) to a writer thread.

use std::fmt;
use std::sync::Arc;

use andal_resilience::{CircuitBreaker, SharedTimer};

use crate::decision::Decision;
use crate::engine::reconcile::{Reconcile, ReconcileAction};
use crate::engine::trust::{BackgroundRefresh, RefreshAction};
use crate::engine::{Action, Check, Core, Purpose};
use crate::error::{ConfigError, Error};
use crate::offline::TrustStatus;
use crate::outage::{OutageRecorder, OutageReport};
use crate::query::Query;
use crate::reconcile::ReconcileReport;
use crate::transport::AsyncTransport;

use super::disk_writer::DiskWriter;
use super::{AsyncParts, CheckOptions, ClientHealth, Spawner, health_of, trust_status_of};

struct Inner {
    core: Arc<Core>,
    transport: Arc<dyn AsyncTransport>,
    timer: SharedTimer,
    spawner: Option<Spawner>,
    /// The journal's and the trust cache's writer thread (with either configured).
    writer: Option<DiskWriter>,
    reconcile_lock: futures_util::lock::Mutex<()>,
}

/// The async identity-check client: same checks, errors, events and outage record as
/// [`Client`](crate::Client), without blocking a thread. Cheap to clone; `Send + Sync`;
/// its futures are `Send`. Share one per registry.
///
/// Built with [`ClientBuilder::build_async`](crate::ClientBuilder::build_async); with the
/// `tokio` feature it sends through [`HyperTransport`](crate::transport::HyperTransport)
/// and waits on tokio's timer, otherwise give it an
/// [`async_transport`](crate::ClientBuilder::async_transport) and a
/// [`timer`](crate::ClientBuilder::timer).
///
/// **Cancellation.** Dropping a check's future (a timed-out request handler, a client that
/// went away) abandons its request, releases its breaker permit (or half-open slot, or
/// recovery probe) and counts the check as `cancelled` in the outage record. An offline
/// decision already handed to the journal is written whole and stays counted as offline,
/// so reconciliation will see it; a journal record is never half-written.
///
/// In an axum handler:
///
/// ```no_run
/// # #[cfg(feature = "tokio")]
/// # mod demo {
/// use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
/// use andal::{AsyncClient, Query};
///
/// #[derive(serde::Deserialize)]
/// struct CheckBody { nik: String, name: String, birth_date: String }
///
/// async fn check(
///     State(client): State<AsyncClient>,
///     Json(body): Json<CheckBody>,
/// ) -> Result<String, (StatusCode, String)> {
///     let query = Query::parse(&body.nik, &body.name, &body.birth_date)
///         .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
///     match client.verify(&query).await {
///         Ok(decision) => Ok(decision.verdict.to_string()),
///         Err(e) => Err((StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
///     }
/// }
///
/// pub async fn serve() -> Result<(), Box<dyn std::error::Error>> {
///     let client = andal::Client::builder("https://registry.example")
///         .partner_id("bank-a")
///         .api_key("secret")
///         .build_async()?;
///     let app = Router::new().route("/check", post(check)).with_state(client);
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
///     axum::serve(listener, app).await?;
///     Ok(())
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct AsyncClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for AsyncClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncClient")
            .field("base_url", &self.inner.core.base_url)
            .field("partner_id", &self.inner.core.partner_id)
            .finish_non_exhaustive()
    }
}

impl AsyncClient {
    pub(super) fn new(core: Arc<Core>, parts: AsyncParts) -> Result<AsyncClient, Error> {
        let transport: Arc<dyn AsyncTransport> = match parts.transport {
            Some(t) => t,
            #[cfg(feature = "tokio")]
            None => Arc::new(crate::transport::HyperTransport::default()),
            #[cfg(not(feature = "tokio"))]
            None => return Err(ConfigError::Missing("async_transport").into()),
        };
        let timer: SharedTimer = match parts.timer {
            Some(t) => t,
            #[cfg(feature = "tokio")]
            None => Arc::new(crate::transport::TokioTimer),
            #[cfg(not(feature = "tokio"))]
            None => return Err(ConfigError::Missing("timer").into()),
        };
        #[cfg(feature = "tokio")]
        let spawner = parts.spawner.or_else(|| Some(tokio_spawner()));
        #[cfg(not(feature = "tokio"))]
        let spawner = parts.spawner;
        let writer = if core.journal.is_some() || core.trust.has_cache_dir() {
            Some(
                DiskWriter::start(core.journal.clone()).map_err(|e| ConfigError::Invalid {
                    name: "journal",
                    reason: format!("cannot start the disk writer thread: {e}"),
                })?,
            )
        } else {
            None
        };
        Ok(AsyncClient {
            inner: Arc::new(Inner {
                core,
                transport,
                timer,
                spawner,
                writer,
                reconcile_lock: futures_util::lock::Mutex::new(()),
            }),
        })
    }

    /// Check one query with default options.
    pub async fn verify(&self, query: &Query) -> Result<Decision, Error> {
        self.verify_with(query, &CheckOptions::default()).await
    }

    /// Check one query: the same order and rules as [`Client::verify_with`](crate::Client::verify_with).
    pub async fn verify_with(&self, query: &Query, opts: &CheckOptions) -> Result<Decision, Error> {
        let check = Check::new(Arc::clone(&self.inner.core), Purpose::Citizen, query, opts)?;
        self.run_check(check).await
    }

    /// The async driver of one check.
    async fn run_check(&self, mut check: Check) -> Result<Decision, Error> {
        let inner = &*self.inner;
        let result = loop {
            match check.poll() {
                Action::Send {
                    request,
                    timeout,
                    max_body,
                } => {
                    let r = inner.transport.send(&request, timeout, max_body).await;
                    check.handle_response(r);
                }
                Action::WaitUntil(until) => inner.timer.sleep_until(until).await,
                Action::Journal(payload) => {
                    let r = match &inner.writer {
                        Some(w) => w.append(payload).await,
                        None => unreachable!("the engine journals only with a journal"),
                    };
                    check.handle_journaled(r);
                }
                Action::Done(result) => break result,
            }
        };
        if check.trust_refresh_due() {
            self.refresh_trust_in_background();
        }
        result
    }

    fn refresh_trust_in_background(&self) {
        let core = &self.inner.core;
        let running = BackgroundRefresh::new(Arc::clone(&core.trust));
        let Some(spawn) = &self.inner.spawner else {
            drop(running); // not run: due again after the next successful check
            return;
        };
        let me = self.clone();
        spawn(Box::pin(async move {
            let running = running;
            let r = me.run_trust_refresh().await;
            running.done(r);
        }));
    }

    async fn run_trust_refresh(&self) -> Result<(), Error> {
        let mut refresh = self.inner.core.trust.refresh()?;
        loop {
            match refresh.poll() {
                RefreshAction::Send {
                    request,
                    timeout,
                    max_body,
                } => {
                    let r = self.inner.transport.send(&request, timeout, max_body).await;
                    refresh.handle_response(r);
                }
                RefreshAction::Persist(writes) => {
                    let journaled = match &self.inner.writer {
                        Some(w) => w.persist(writes).await,
                        None => unreachable!("the engine persists only with a journal or a cache"),
                    };
                    refresh.handle_persisted(journaled);
                }
                RefreshAction::Done(r) => return r,
            }
        }
    }

    /// Fetch, verify and cache the trust documents (see
    /// [`Client::refresh_trust`](crate::Client::refresh_trust)).
    pub async fn refresh_trust(&self) -> Result<TrustStatus, Error> {
        self.run_trust_refresh().await?;
        Ok(self.trust_status())
    }

    /// Re-check every pending offline decision online (see
    /// [`Client::reconcile`](crate::Client::reconcile)). Runs one at a time per client;
    /// journal reads and writes go through the writer thread.
    pub async fn reconcile(&self) -> Result<ReconcileReport, Error> {
        let inner = &*self.inner;
        let mut run = Reconcile::new(Arc::clone(&inner.core))?;
        let writer = inner
            .writer
            .as_ref()
            .expect("Reconcile::new checked the journal");
        let _one_at_a_time = inner.reconcile_lock.lock().await;
        loop {
            match run.poll() {
                ReconcileAction::ReadJournal => run.handle_records(writer.records().await),
                ReconcileAction::Check(check) => {
                    let r = Box::pin(self.run_check(*check)).await;
                    run.handle_check(r);
                }
                ReconcileAction::Journal(payload) => {
                    run.handle_journaled(writer.append(payload).await)
                }
                ReconcileAction::Done(r) => return r,
            }
        }
    }

    /// The trust state held (keys, revocation list age).
    pub fn trust_status(&self) -> TrustStatus {
        trust_status_of(&self.inner.core)
    }

    /// The outage record (see [`Client::outage_report`](crate::Client::outage_report)).
    pub fn outage_report(&self) -> OutageReport {
        self.inner.core.outage.report()
    }

    /// The recorder behind [`outage_report`](Self::outage_report).
    pub fn outage_recorder(&self) -> &Arc<OutageRecorder> {
        &self.inner.core.outage
    }

    /// What opening the offline-decision journal found (see
    /// [`Client::journal_recovery`](crate::Client::journal_recovery)).
    pub fn journal_recovery(&self) -> Option<&andal_journal::RecoveryReport> {
        self.inner.core.journal_recovery.as_ref()
    }

    /// A snapshot of this client's resilience state (breaker state and rates, budget).
    pub fn health(&self) -> ClientHealth {
        health_of(&self.inner.core)
    }

    /// The circuit breaker guarding this client's upstream host.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.inner.core.breaker
    }

    /// The partner id.
    pub fn partner_id(&self) -> &str {
        &self.inner.core.partner_id
    }

    /// Upstream host (`host:port`) this client talks to.
    pub fn host(&self) -> &str {
        &self.inner.core.host
    }
}

/// Spawns on the tokio runtime of the caller, if any (a check always runs inside one when
/// the default tokio transport is used).
#[cfg(feature = "tokio")]
fn tokio_spawner() -> Spawner {
    Arc::new(|f| {
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            drop(h.spawn(f));
        }
    })
}

#[cfg(test)]
mod tests {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn client_and_futures_are_send() {
        assert_send_sync::<super::AsyncClient>();
        assert_send_sync::<crate::engine::Check>();
        let c: Option<super::AsyncClient> = None;
        if let Some(c) = c {
            let q = crate::Query::parse("3316094507990001", "Siti Aminah", "1999-07-05").unwrap();
            let f = async move { c.verify(&q).await };
            assert_send(&f);
        }
        let c: Option<super::AsyncClient> = None;
        if let Some(c) = c {
            assert_send(&c.reconcile());
            assert_send(&c.refresh_trust());
            assert_send(&c.verify_with(
                &crate::Query::parse("3316094507990001", "Siti Aminah", "1999-07-05").unwrap(),
                &crate::CheckOptions::default(),
            ));
        }
    }
}
