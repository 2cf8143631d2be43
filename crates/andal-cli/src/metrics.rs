//! `--metrics ADDR`: a Prometheus scrape endpoint for the commands that run a while.

use std::net::SocketAddr;
use std::time::Duration;

use andal::metrics::{CHECK_DURATION_BUCKETS, names};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

/// The flags every long-running command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct MetricsArgs {
    /// Serve Prometheus metrics (text format, any path) on this address while the command
    /// runs, e.g. 127.0.0.1:9464. Series: docs/metrics.md.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// Keep serving metrics this many seconds after the command finished, so a last scrape
    /// sees the final values (a job shorter than the scrape interval is otherwise missed).
    #[arg(long, value_name = "SECS", default_value_t = 0, requires = "metrics")]
    pub metrics_linger: u64,
}

/// The endpoint, while it serves.
pub struct Endpoint {
    linger: Duration,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        if !self.linger.is_zero() {
            std::thread::sleep(self.linger);
        }
    }
}

impl MetricsArgs {
    /// Installs the Prometheus recorder and its HTTP listener (before any client is built,
    /// so clients register their series with it). `Ok(None)` without `--metrics`.
    pub fn install(&self, command: &str) -> Result<Option<Endpoint>, String> {
        let Some(addr) = self.metrics else {
            return Ok(None);
        };
        PrometheusBuilder::new()
            .with_http_listener(addr)
            .set_buckets_for_metric(
                Matcher::Full(names::CHECK_DURATION.to_owned()),
                &CHECK_DURATION_BUCKETS,
            )
            .and_then(|b| b.install())
            .map_err(|e| format!("--metrics {addr}: {e}"))?;
        eprintln!("andal {command}: Prometheus metrics on http://{addr}/metrics");
        Ok(Some(Endpoint {
            linger: Duration::from_secs(self.metrics_linger),
        }))
    }
}
