//! Analytics over the indexed tables: provenance scores per asset version and anomaly reports
//! per actor and time window, plus the synthetic history used to evaluate them at scale.

pub mod synth;
