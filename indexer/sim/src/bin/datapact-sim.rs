//! `datapact-sim`: the simulator's commands (the work lives in `datapact_sim::cli`).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    datapact_sim::cli::init_logging("info");
    let cli = datapact_sim::cli::Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(datapact_sim::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
