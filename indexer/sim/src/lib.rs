#![doc = include_str!("../README.md")]

pub mod cli;
pub mod eval;
pub mod eval_forecast;
pub mod labels;
pub mod stats;
pub mod synth;
pub mod workload;

pub use labels::{Label, KINDS};
