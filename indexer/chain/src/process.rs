//! What every datapact process sets up before it does anything: logs and pipes.

use std::io::IsTerminal;

/// Logs to stderr through `tracing` (level from `RUST_LOG`, else `default`), with colour codes
/// only when stderr is a terminal: a log file gets plain text.
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Restores the default action of SIGPIPE, which Rust's runtime ignores: `datapact … | head`
/// then ends quietly, as Unix tools do, instead of panicking on a closed stdout.
pub fn restore_sigpipe() {
    // SAFETY: setting a signal's disposition to its default at start-up, before any thread is
    // spawned, has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
