//! UniFFI bindings for Andal (Kotlin, Swift): a thin translation layer over the core crate
//! `andal`, in the style of matrix-rust-sdk's `bindings/matrix-sdk-ffi`.
//!
//! Everything here converts core types to FFI-friendly ones and back; no behaviour lives
//! here that the Rust API does not have. In particular:
//! - [`AndalClient`] wraps [`andal::AsyncClient`]; `verify_async` becomes a Kotlin
//!   `suspend fun` / Swift `async` function and `verify` blocks its caller. Both run the
//!   check as a task on one small shared tokio runtime ([`runtime`]): no thread per call.
//! - [`AndalError`] is the single error type of every fallible call, with structured fields.
//!   Nothing panics across the boundary: calls into the core run under `catch_unwind`, a
//!   panic becomes [`AndalError::Internal`].
//! - [`AsyncHttpTransport`] is a foreign async trait: Kotlin (`suspend`) and Swift
//!   (`async`) implement it over OkHttp, URLSession or java.net.http, and Rust adapts it
//!   into [`andal::AsyncTransport`]. [`HttpTransport`] is its blocking form for Java.
//! - Metrics: [`metrics_snapshot`] and [`metrics_prometheus`] read the core's snapshot
//!   recorder (the one Python reads); logs: the core's `tracing` events reach a
//!   [`LogSink`] set with [`set_log_sink`] (Kotlin `Slf4jLogSink`, Swift `OSLogSink`).
//! - No personal data is rendered by any `Debug`/`Display`/error text produced here.

#![warn(missing_docs)]

uniffi::setup_scaffolding!("andal");

mod client;
mod error;
mod logging;
mod metrics;
mod nik;
mod notice;
mod offline;
mod resilience;
mod runtime;
mod transport;
mod types;

#[cfg(test)]
mod tests;

pub use client::{AndalClient, CheckOptions, CheckQuery, ClientConfig};
pub use error::AndalError;
pub use logging::{LogLevel, LogRecord, LogSink, LogSinkError, clear_log_sink, set_log_sink};
pub use metrics::{
    HistogramBucket, MetricKind, MetricLabel, MetricSample, metrics_prometheus, metrics_snapshot,
};
pub use nik::{NikInfo, Sex, normalize_name, parse_nik};
pub use notice::{
    Notice, NoticeCode, NoticeLanguage, OfficeZone, decision_notice, notice_for_code,
    reconcile_notice, unavailable_notice,
};
pub use offline::{
    Contradiction, FallbackSettings, FallbackTrigger, OfflineSettings, ReconcileItem,
    ReconcileOutcome, ReconcileReport, TrustStatus,
};
pub use resilience::{
    BreakerSettings, BreakerState, ClientHealth, ListenerError, OutageTotals, ResilienceEvent,
    ResilienceListener, RetryStopReason,
};
pub use transport::{
    AsyncHttpTransport, HttpHeader, HttpMethod, HttpRequest, HttpResponse, HttpTransport,
    TransportError,
};
pub use types::{
    Decision, FailureKind, FieldMatch, FieldResults, Provenance, UnavailableReason, Verdict,
};

/// Version of the Andal bindings (the workspace version).
#[uniffi::export]
pub fn andal_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Run `f`, turning a panic into [`AndalError::Internal`] (never unwind into foreign code).
pub(crate) fn guard<T>(
    what: &str,
    f: impl FnOnce() -> Result<T, AndalError>,
) -> Result<T, AndalError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(AndalError::Internal {
                reason: format!("panic in {what}: {msg}"),
            })
        }
    }
}
