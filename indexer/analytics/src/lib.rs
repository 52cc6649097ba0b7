#![doc = include_str!("../README.md")]

pub mod analysis;
pub mod detect;
pub mod features;
pub mod feedback;
pub mod forecast;
pub mod iforest;
pub mod inputs;
pub mod load;
pub mod manifest;
pub mod metrics;
pub mod provenance;
pub mod report;
pub mod rules;
pub mod run;
pub mod runs;
pub mod store;
pub mod svg;
pub mod target;

pub use analysis::{Analysis, REPORT_THRESHOLD, SENTINEL_DEFAULT_SEVERITY};
pub use load::Data;
pub use run::{analyze, AnalyzeConfig};

/// The version of the scoring (the features, the detector's design, the rules), recorded with
/// every run and every alert it leads to; each fitted detector adds its own content hash
/// (`datapact-anomaly-15.<12 hex>`). 2: baselines read the past only (docs/anomalies.md,
/// "Streaming"); 3: the consumer features over a span of windows (a day's volume, the same
/// time of day, recent purpose refusals); 4: the day surprise is the evidence of a doubling
/// sustained over the last windows against each window's usual rate for its time of day, and
/// recent purpose refusals count the earlier ones only in a window that has one (weight 2.5);
/// 5: the laundering rule (a product attested over unattested sources of its own publisher or
/// of wallets without a record); 6: the day surprise leaves out a stretch's strongest window, is
/// 0 once the last two windows read as usual, and weighs 3 in the feature view; 7: the trickle
/// evidence (a forward filter over a trickle's states against the consumer's own rate of
/// mistaken purposes) in place of the count of recent windows with a refused purpose; 8: the
/// trickle evidence takes trickles of 4-12 refusals at gaps of 1-8 windows (7: 5-12, 1-4),
/// weight 4 (7: 6); 9: gaps of 1-12 windows, the consumer's own rate read from the windows
/// more than three days before (8: one day), weight 5; (10: the trickle evidence over three
/// paces, reverted at stop 36); 11: the laundering rule's record of a publisher is two of its
/// versions attested, by two attestors other than itself (5-9: one version attested); (12: a
/// trickle evidence that follows a trickle's own pace, reverted at stop 37); 13: the day
/// surprise is the odds of a sustained rise, from a filter over an honest state and rises of
/// 1.5-4 times the usual rate (4-12: a doubling's evidence averaged over stretches); 14: the
/// filter also holds rises in pulses (each window raised with chance 1 in 4, as usual between),
/// so a quiet window does not end them; 15: and pulses on a beat (one raised window every 2-12
/// windows, as usual between).
/// Runs of earlier models are not recomputed by this code and say so.
pub const MODEL_VERSION: &str = "datapact-anomaly-15";

/// This process's peak resident memory so far, in MiB (Linux: VmHWM), 0 where unknown.
pub fn peak_rss_mib() -> f64 {
    vm_hwm_mib("/proc/self/status")
}

/// Another process's peak resident memory so far, in MiB, 0 where unknown (e.g. benchmarks'
/// child processes).
pub fn peak_rss_mib_of(pid: u32) -> f64 {
    vm_hwm_mib(&format!("/proc/{pid}/status"))
}

fn vm_hwm_mib(status: &str) -> f64 {
    std::fs::read_to_string(status)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
