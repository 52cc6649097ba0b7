//! `datapact`: one binary, one subcommand per job. The work lives in the library; the command
//! line in `datapact::cli`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    datapact::cli::init_logging("info");
    let cli = datapact::cli::Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(datapact::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
