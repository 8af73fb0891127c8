//! What every long-running role shares: log setup and waiting for a stop signal.

use anyhow::Context;

/// Logs to stderr; `RUST_LOG` picks levels (default: info for tiphys crates, warn elsewhere).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,tiphys=info,tiphys_controller=info"));
    // A second initialisation (tests running several roles) keeps the first subscriber.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM.
pub async fn stop_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("cannot watch Ctrl-C"),
        _ = term.recv() => Ok(()),
    }
}
