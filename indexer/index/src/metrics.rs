//! The ingester's Prometheus figures (prometheus-client), rendered in the OpenMetrics text
//! format; the binary serves them at `GET /metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The kind of a counted error.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// `rpc`, `status` or `db`
    pub source: String,
}

/// The ingester's figures.
#[derive(Clone)]
pub struct IngestMetrics {
    /// last committed height
    pub height: Gauge,
    /// the node's latest height, as last seen
    pub chain_head: Gauge,
    /// head minus committed height
    pub lag_blocks: Gauge,
    /// seconds between a block's time and its commit into Postgres (last batch)
    pub lag_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub blocks: Counter,
    pub events: Counter,
    pub rows: Counter,
    pub quarantined: Counter,
    pub errors: Family<ErrorLabels, Counter>,
    pub batch_seconds: Histogram,
}

impl Default for IngestMetrics {
    fn default() -> Self {
        Self {
            height: Gauge::default(),
            chain_head: Gauge::default(),
            lag_blocks: Gauge::default(),
            lag_seconds: Gauge::default(),
            blocks: Counter::default(),
            events: Counter::default(),
            rows: Counter::default(),
            quarantined: Counter::default(),
            errors: Family::default(),
            batch_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
        }
    }
}

impl IngestMetrics {
    /// Registers every figure under `datapact_ingest_*`.
    pub fn register(&self, r: &mut Registry) {
        let r = r.sub_registry_with_prefix("datapact_ingest");
        r.register(
            "height",
            "Last height committed to Postgres",
            self.height.clone(),
        );
        r.register(
            "chain_head",
            "Latest height the node reported",
            self.chain_head.clone(),
        );
        r.register(
            "lag_blocks",
            "Blocks the index is behind the node",
            self.lag_blocks.clone(),
        );
        r.register(
            "lag_seconds",
            "Seconds from the last committed block's time to its commit",
            self.lag_seconds.clone(),
        );
        r.register("blocks", "Blocks committed", self.blocks.clone());
        r.register(
            "events",
            "Events committed (rate() gives events/s)",
            self.events.clone(),
        );
        r.register("rows", "Rows written, all tables", self.rows.clone());
        r.register(
            "quarantined",
            "Events kept in quarantine because they did not decode",
            self.quarantined.clone(),
        );
        r.register(
            "errors",
            "Errors met and retried, by source",
            self.errors.clone(),
        );
        r.register(
            "batch_seconds",
            "Time to write one batch and its checkpoint",
            self.batch_seconds.clone(),
        );
    }

    pub fn error(&self, source: &str) {
        self.errors
            .get_or_create(&ErrorLabels {
                source: source.to_string(),
            })
            .inc();
    }
}

/// Renders a registry in the OpenMetrics text format.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, registry).is_err() {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ingest_figures_render_with_their_prefix() {
        let mut r = Registry::default();
        let m = IngestMetrics::default();
        m.register(&mut r);
        m.height.set(42);
        m.events.inc_by(7);
        m.error("rpc");
        let text = render(&r);
        assert!(text.contains("datapact_ingest_height 42"), "{text}");
        assert!(text.contains("datapact_ingest_events_total 7"), "{text}");
        assert!(
            text.contains("datapact_ingest_errors_total{source=\"rpc\"} 1"),
            "{text}"
        );
    }
}
