//! Metrics for Kotlin and Swift: the core's [`andal::metrics::SnapshotRecorder`] (the one
//! Python's `andal.metrics_snapshot()` reads), translated into records.
//!
//! The recorder is installed process-wide the first time the bindings build a client or
//! read metrics (clients register their series when built, so it must come first). If
//! something else installed a `metrics` recorder before, the snapshot is empty: read that
//! recorder instead. Series and labels: docs/metrics.md.

use andal::metrics::SnapshotRecorder;

/// Installs the snapshot recorder once (idempotent, cheap after the first call).
pub(crate) fn ensure_recorder() -> Option<&'static SnapshotRecorder> {
    SnapshotRecorder::install_global()
}

/// The kind of a [`MetricSample`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MetricKind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in buckets.
    Histogram,
}

/// One label of a series (`outcome` = `match`). Values come from closed sets or the
/// registry's `host:port`: never personal data.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MetricLabel {
    /// Label name.
    pub name: String,
    /// Label value.
    pub value: String,
}

/// One histogram bucket, cumulative like Prometheus's `_bucket{le=...}`.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HistogramBucket {
    /// Upper bound (`le`), in the series' unit; the last bucket's is +infinity.
    pub upper_bound: f64,
    /// Observations less than or equal to the bound.
    pub count: u64,
}

/// One series' value when the snapshot was taken.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MetricSample {
    /// Series name (`andal_checks_total`, ...).
    pub name: String,
    /// Labels, sorted by name.
    pub labels: Vec<MetricLabel>,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Counter total or gauge value; for a histogram, the sum of the observations.
    pub value: f64,
    /// Histogram only: number of observations (0 otherwise).
    pub count: u64,
    /// Histogram only: cumulative buckets, +infinity last (empty otherwise).
    pub buckets: Vec<HistogramBucket>,
}

impl From<andal::metrics::MetricSample> for MetricSample {
    fn from(s: andal::metrics::MetricSample) -> Self {
        MetricSample {
            kind: match s.kind {
                andal::metrics::MetricKind::Counter => MetricKind::Counter,
                andal::metrics::MetricKind::Gauge => MetricKind::Gauge,
                andal::metrics::MetricKind::Histogram => MetricKind::Histogram,
                // The core's enum is non-exhaustive: a kind added later reads as a plain
                // value until it is named here.
                _ => MetricKind::Gauge,
            },
            labels: s
                .labels
                .into_iter()
                .map(|(name, value)| MetricLabel { name, value })
                .collect(),
            buckets: s
                .buckets
                .into_iter()
                .map(|(upper_bound, count)| HistogramBucket { upper_bound, count })
                .collect(),
            name: s.name,
            value: s.value,
            count: s.count,
        }
    }
}

/// Every series of every client built in this process, sorted by name then labels
/// (docs/metrics.md lists them). Empty when another `metrics` recorder was installed first.
#[uniffi::export]
pub fn metrics_snapshot() -> Vec<MetricSample> {
    ensure_recorder()
        .map(|r| r.snapshot().into_iter().map(MetricSample::from).collect())
        .unwrap_or_default()
}

/// The same in the Prometheus text exposition format (0.0.4), for an application's own
/// scrape endpoint.
#[uniffi::export]
pub fn metrics_prometheus() -> String {
    ensure_recorder()
        .map(SnapshotRecorder::render_prometheus)
        .unwrap_or_default()
}
