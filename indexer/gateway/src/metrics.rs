//! The gateway's Prometheus figures, under `datapact_gateway_*`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// A [`crate::Refusal`] reason or a chain `DenyReason` name.
    pub reason: String,
}

#[derive(Clone)]
pub struct GatewayMetrics {
    pub deliveries: Counter,
    pub delivered_bytes: Counter,
    pub refusals: Family<ReasonLabels, Counter>,
    /// Seconds from the request to the decision (proof, chain lookups, ledger).
    pub check_seconds: Histogram,
}

impl Default for GatewayMetrics {
    fn default() -> Self {
        Self {
            deliveries: Counter::default(),
            delivered_bytes: Counter::default(),
            refusals: Family::default(),
            check_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
        }
    }
}

impl GatewayMetrics {
    pub fn register(&self, r: &mut Registry) {
        let r = r.sub_registry_with_prefix("datapact_gateway");
        r.register(
            "deliveries",
            "Deliveries started (proof, record, chain and ledger all passed)",
            self.deliveries.clone(),
        );
        r.register(
            "delivered_bytes",
            "Ciphertext bytes sent",
            self.delivered_bytes.clone(),
        );
        r.register(
            "refusals",
            "Requests refused, by reason",
            self.refusals.clone(),
        );
        r.register(
            "check_seconds",
            "Seconds from a request to its decision",
            self.check_seconds.clone(),
        );
    }
}
