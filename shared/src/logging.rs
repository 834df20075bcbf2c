//! Log set-up: `tracing` with JSON lines on stdout, level from `AWS_LAMBDA_LOG_LEVEL` (set by
//! Lambda's advanced logging controls) or `RUST_LOG`, info by default.

use tracing_subscriber::EnvFilter;

pub fn init_json() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_string())
        .to_ascii_lowercase();
    let filter = EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(true)
        .without_time()
        .try_init();
}

/// Human-readable logs on stderr, for the CLI.
pub fn init_cli(verbose: bool) {
    let filter = if verbose { "info" } else { "warn" };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::new(filter))
        .without_time()
        .try_init();
}
