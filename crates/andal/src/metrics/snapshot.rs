//! An in-process recorder whose values can be read back: what the bindings' snapshot APIs
//! (Python `andal.metrics_snapshot()`, Kotlin/Swift `metricsSnapshot()`) and an
//! application without an exporter use. It can also render the Prometheus text format.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use ::metrics::atomics::AtomicU64;
use ::metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use parking_lot::Mutex;

use super::CHECK_DURATION_BUCKETS;

/// The kind of a [`MetricSample`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetricKind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in buckets.
    Histogram,
}

impl MetricKind {
    /// `counter`, `gauge` or `histogram`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// One series' value at the time of the snapshot.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MetricSample {
    /// Series name (e.g. `andal_checks_total`).
    pub name: String,
    /// Labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Counter total or gauge value; for a histogram, the sum of observations.
    pub value: f64,
    /// Histogram only: number of observations (0 otherwise).
    pub count: u64,
    /// Histogram only: cumulative `(upper bound, observations <= bound)`, `+Inf` last.
    pub buckets: Vec<(f64, u64)>,
}

impl MetricSample {
    /// The value of label `name`, if the series has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
struct FixedHistogram {
    state: Mutex<HistogramState>,
}

#[derive(Debug, Default)]
struct HistogramState {
    /// Per bucket (not cumulative); the last one is `+Inf`.
    counts: [u64; CHECK_DURATION_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

impl HistogramFn for FixedHistogram {
    fn record(&self, value: f64) {
        let i = CHECK_DURATION_BUCKETS
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(CHECK_DURATION_BUCKETS.len());
        let mut st = self.state.lock();
        st.counts[i] += 1;
        st.sum += value;
        st.count += 1;
    }
}

enum Handle {
    Counter(Arc<AtomicU64>),
    Gauge(Arc<AtomicU64>),
    Histogram(Arc<FixedHistogram>),
}

type SeriesKey = (String, Vec<(String, String)>);

#[derive(Default)]
struct Registry {
    // Sorted vectors rather than BTreeMaps: a few dozen entries, written when clients are
    // built, and less code in the size-gated FFI library.
    /// Sorted by key.
    series: Mutex<Vec<(SeriesKey, Handle)>>,
    /// Sorted by series name.
    help: Mutex<Vec<(String, String)>>,
}

/// A recorder that keeps every series in memory (atomics; histograms in the fixed buckets
/// of [`CHECK_DURATION_BUCKETS`]) for [`snapshot`](Self::snapshot) and
/// [`render_prometheus`](Self::render_prometheus). Cheap to clone (shared state).
#[derive(Clone, Default)]
pub struct SnapshotRecorder {
    registry: Arc<Registry>,
}

impl std::fmt::Debug for SnapshotRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotRecorder")
            .field("series", &self.registry.series.lock().len())
            .finish()
    }
}

static GLOBAL: OnceLock<Option<SnapshotRecorder>> = OnceLock::new();

impl SnapshotRecorder {
    /// An empty recorder (not installed anywhere).
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs a snapshot recorder as the process-wide `metrics` recorder, once; later
    /// calls return the same one. `None` when another recorder was installed first (then
    /// read that one instead). Clients built before this see no recorder.
    pub fn install_global() -> Option<&'static SnapshotRecorder> {
        GLOBAL
            .get_or_init(|| {
                let r = SnapshotRecorder::new();
                ::metrics::set_global_recorder(r.clone()).ok().map(|()| r)
            })
            .as_ref()
    }

    /// The recorder [`install_global`](Self::install_global) installed, if it did.
    pub fn global() -> Option<&'static SnapshotRecorder> {
        GLOBAL.get().and_then(Option::as_ref)
    }

    fn key_of(key: &Key) -> SeriesKey {
        let mut labels: Vec<(String, String)> = key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        labels.sort();
        (key.name().to_owned(), labels)
    }

    /// Every series registered so far with its current value, sorted by name then labels.
    pub fn snapshot(&self) -> Vec<MetricSample> {
        use std::sync::atomic::Ordering::Relaxed;
        let series = self.registry.series.lock();
        series
            .iter()
            .map(|((name, labels), h)| {
                let (kind, value, count, buckets) = match h {
                    Handle::Counter(c) => (MetricKind::Counter, c.load(Relaxed) as f64, 0, vec![]),
                    Handle::Gauge(g) => (
                        MetricKind::Gauge,
                        f64::from_bits(g.load(Relaxed)),
                        0,
                        vec![],
                    ),
                    Handle::Histogram(hist) => {
                        let st = hist.state.lock();
                        let mut cumulative = 0;
                        let buckets = CHECK_DURATION_BUCKETS
                            .iter()
                            .copied()
                            .chain(std::iter::once(f64::INFINITY))
                            .zip(st.counts)
                            .map(|(le, n)| {
                                cumulative += n;
                                (le, cumulative)
                            })
                            .collect();
                        (MetricKind::Histogram, st.sum, st.count, buckets)
                    }
                };
                MetricSample {
                    name: name.clone(),
                    labels: labels.clone(),
                    kind,
                    value,
                    count,
                    buckets,
                }
            })
            .collect()
    }

    /// The snapshot in the Prometheus text exposition format (version 0.0.4), for an
    /// application that serves its own scrape endpoint.
    pub fn render_prometheus(&self) -> String {
        let help = self.registry.help.lock().clone();
        let mut out = String::new();
        let mut last: Option<String> = None;
        for s in self.snapshot() {
            if last.as_deref() != Some(&s.name) {
                if let Ok(i) = help.binary_search_by(|(name, _)| name.as_str().cmp(&s.name)) {
                    let h = &help[i].1;
                    let _ = writeln!(out, "# HELP {} {}", s.name, escape_help(h));
                }
                let _ = writeln!(out, "# TYPE {} {}", s.name, s.kind.as_str());
                last = Some(s.name.clone());
            }
            match s.kind {
                MetricKind::Histogram => {
                    for (le, n) in &s.buckets {
                        let le = if le.is_infinite() {
                            "+Inf".to_owned()
                        } else {
                            le.to_string()
                        };
                        let _ = writeln!(
                            out,
                            "{}_bucket{} {n}",
                            s.name,
                            labels(&s.labels, Some(("le", &le)))
                        );
                    }
                    let l = labels(&s.labels, None);
                    let _ = writeln!(out, "{}_sum{l} {}", s.name, s.value);
                    let _ = writeln!(out, "{}_count{l} {}", s.name, s.count);
                }
                _ => {
                    let _ = writeln!(out, "{}{} {}", s.name, labels(&s.labels, None), s.value);
                }
            }
        }
        out
    }

    fn register(&self, key: &Key, make: impl FnOnce() -> Handle) -> Handle {
        let key = Self::key_of(key);
        let mut series = self.registry.series.lock();
        let i = match series.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => i,
            Err(i) => {
                series.insert(i, (key, make()));
                i
            }
        };
        let h = &series[i].1;
        match h {
            Handle::Counter(c) => Handle::Counter(Arc::clone(c)),
            Handle::Gauge(g) => Handle::Gauge(Arc::clone(g)),
            Handle::Histogram(x) => Handle::Histogram(Arc::clone(x)),
        }
    }

    fn describe(&self, key: KeyName, description: SharedString) {
        let mut help = self.registry.help.lock();
        match help.binary_search_by(|(name, _)| name.as_str().cmp(key.as_str())) {
            Ok(i) => help[i].1 = description.into_owned(),
            Err(i) => help.insert(i, (key.as_str().to_owned(), description.into_owned())),
        }
    }
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn labels(labels: &[(String, String)], extra: Option<(&str, &str)>) -> String {
    let all: Vec<String> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(extra)
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    if all.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", all.join(","))
    }
}

impl Recorder for SnapshotRecorder {
    fn describe_counter(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(key, description);
    }

    fn describe_gauge(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(key, description);
    }

    fn describe_histogram(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(key, description);
    }

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> Counter {
        match self.register(key, || Handle::Counter(Arc::new(AtomicU64::new(0)))) {
            Handle::Counter(c) => Counter::from_arc(c),
            // The same name registered as another kind: keep the first, drop this one.
            _ => Counter::noop(),
        }
    }

    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> Gauge {
        match self.register(key, || Handle::Gauge(Arc::new(AtomicU64::new(0)))) {
            Handle::Gauge(g) => Gauge::from_arc(g),
            _ => Gauge::noop(),
        }
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> Histogram {
        let make = || {
            Handle::Histogram(Arc::new(FixedHistogram {
                state: Mutex::new(HistogramState::default()),
            }))
        };
        match self.register(key, make) {
            Handle::Histogram(h) => Histogram::from_arc(h),
            _ => Histogram::noop(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_gauges_histograms_round_trip_and_render() {
        let r = SnapshotRecorder::new();
        ::metrics::with_local_recorder(&r, || {
            ::metrics::describe_counter!("x_total", "X things");
            ::metrics::counter!("x_total", "host" => "h:1", "cause" => "a\"b").increment(3);
            ::metrics::gauge!("g").set(2.5);
            let h = ::metrics::histogram!("d_seconds");
            h.record(0.003);
            h.record(0.2);
            h.record(99.0);
        });
        let snap = r.snapshot();
        assert_eq!(snap.len(), 3);
        let d = &snap[0];
        assert_eq!(
            (d.name.as_str(), d.kind, d.count),
            ("d_seconds", MetricKind::Histogram, 3)
        );
        assert!((d.value - 99.203).abs() < 1e-9);
        assert_eq!(d.buckets.first(), Some(&(0.005, 1)));
        assert_eq!(d.buckets[5], (0.25, 2));
        assert_eq!(d.buckets.last(), Some(&(f64::INFINITY, 3)));
        assert_eq!((snap[1].kind, snap[1].value), (MetricKind::Gauge, 2.5));
        assert_eq!(snap[2].label("host"), Some("h:1"));
        assert_eq!(snap[2].value, 3.0);
        let text = r.render_prometheus();
        assert!(text.contains("# HELP x_total X things\n# TYPE x_total counter\n"));
        assert!(text.contains("x_total{cause=\"a\\\"b\",host=\"h:1\"} 3\n"));
        assert!(text.contains("d_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("d_seconds_count 3\n"));
        assert!(text.contains("g 2.5\n"));
    }
}
