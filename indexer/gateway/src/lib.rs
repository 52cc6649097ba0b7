#![doc = include_str!("../README.md")]

pub mod check;
pub mod metrics;
pub mod refusal;
pub mod serve;
pub mod store;

pub use check::{Admitted, GatewayConfig};
pub use metrics::GatewayMetrics;
pub use refusal::{Refusal, RefusalBody};
pub use serve::{router, Gateway};
pub use store::Store;
