#![doc = include_str!("../README.md")]

pub mod cli;
pub mod metrics;
pub mod participants;
pub mod runs;
pub mod sentinel;
pub mod serve;
