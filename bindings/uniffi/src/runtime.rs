//! The one async runtime of the bindings: a small tokio runtime that drives every check of
//! the process on [`andal::AsyncClient`].
//!
//! Kotlin `suspend` / Swift `async` calls spawn their check here and await it: a thousand
//! checks in flight are a thousand tasks on [`WORKER_THREADS`] threads, not a thousand
//! threads. Blocking calls (Java callers) spawn the same task and wait for it on the
//! calling thread. Only a legacy blocking [`HttpTransport`](crate::HttpTransport) uses
//! extra threads (tokio's blocking pool, capped at [`MAX_BLOCKING_THREADS`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use crate::error::AndalError;

/// Worker threads of the shared runtime. Checks wait on the network, not the CPU.
pub(crate) const WORKER_THREADS: usize = 2;
/// Cap on the threads a blocking foreign transport may occupy at once.
pub(crate) const MAX_BLOCKING_THREADS: usize = 64;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The shared runtime, started on first use.
pub(crate) fn runtime() -> Result<&'static Runtime, AndalError> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(WORKER_THREADS)
                .max_blocking_threads(MAX_BLOCKING_THREADS)
                .thread_name("andal-async")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| AndalError::Internal {
            reason: format!("cannot start the async runtime: {e}"),
        })
}

/// A spawned check. Dropping it (the Kotlin coroutine or Swift task was cancelled) aborts
/// the task, which drops the core's future: that is how a check is cancelled.
pub(crate) enum Spawned<T> {
    /// Running on the shared runtime.
    Task(JoinHandle<Result<T, AndalError>>),
    /// Never started (the runtime could not start): resolves with this error.
    Failed(Option<AndalError>),
}

impl<T> Drop for Spawned<T> {
    fn drop(&mut self) {
        if let Spawned::Task(handle) = self {
            handle.abort();
        }
    }
}

impl<T> Future for Spawned<T> {
    type Output = Result<T, AndalError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `Spawned` is Unpin (a JoinHandle and an Option are).
        match self.get_mut() {
            Spawned::Task(handle) => Pin::new(handle).poll(cx).map(|joined| match joined {
                Ok(result) => result,
                Err(e) if e.is_panic() => Err(AndalError::Internal {
                    reason: "panic in an async check".into(),
                }),
                Err(_) => Err(AndalError::Internal {
                    reason: "the async check was cancelled".into(),
                }),
            }),
            Spawned::Failed(e) => Poll::Ready(Err(e.take().unwrap_or(AndalError::Internal {
                reason: "polled after completion".into(),
            }))),
        }
    }
}

/// Run `fut` on the shared runtime; the returned future resolves with its result (a panic
/// becomes [`AndalError::Internal`], never an unwind into foreign code).
pub(crate) fn spawn<T: Send + 'static>(
    fut: impl Future<Output = Result<T, AndalError>> + Send + 'static,
) -> Spawned<T> {
    match runtime() {
        Ok(rt) => Spawned::Task(rt.spawn(fut)),
        Err(e) => Spawned::Failed(Some(e)),
    }
}

/// Run `fut` on the shared runtime and block the calling (foreign) thread until it ends.
pub(crate) fn block_on<T: Send + 'static>(
    fut: impl Future<Output = Result<T, AndalError>> + Send + 'static,
) -> Result<T, AndalError> {
    let rt = runtime()?;
    if tokio::runtime::Handle::try_current().is_ok() {
        // A blocking call from inside the runtime (e.g. from a listener callback) would
        // stall a worker (and tokio forbids it): refuse it plainly.
        return Err(AndalError::Internal {
            reason: "a blocking Andal call cannot run on the Andal runtime; use the async one"
                .into(),
        });
    }
    rt.block_on(spawn(fut))
}

/// The async waits of the engine (backoff) on tokio's timer, which runs on the shared
/// runtime (the checks use the system clock).
#[derive(Debug)]
struct TokioSleep;

impl andal::resilience::AsyncSleep for TokioSleep {
    fn sleep_until(&self, deadline: std::time::Instant) -> andal::resilience::Sleep {
        Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(
            deadline,
        )))
    }
}

/// The timer every client of the bindings uses.
pub(crate) fn timer() -> andal::resilience::SharedTimer {
    std::sync::Arc::new(TokioSleep)
}
