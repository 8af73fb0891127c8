//! tiphys-scenarios: runners that measure a whole component against real dependencies (the
//! sandbox API server in its own process, a real Git server, `kubectl`) and print one JSON
//! object of figures. They exist so performance claims in `docs/benchmarks.md` are
//! reproducible with one command instead of being read off timed tests.
//!
//! The controller scale scenario is [`controller_scale::run`], driven by the
//! `controller-scale` binary.

pub mod api;
pub mod controller_scale;
pub mod host;
pub mod measure;
pub mod workload;

/// Everything that can stop a scenario; each message names what failed and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tool the scenario drives is missing.
    #[error("{tool} not found: {hint}")]
    ToolMissing {
        /// The tool.
        tool: String,
        /// How to install it.
        hint: String,
    },
    /// A child process (sandbox host, kubectl) failed to start or misbehaved.
    #[error("{what}: {message}")]
    Process {
        /// Which process.
        what: String,
        /// What happened.
        message: String,
    },
    /// A request to the sandbox or the controller failed.
    #[error("{what}: {message}")]
    Request {
        /// The request.
        what: String,
        /// What happened.
        message: String,
    },
    /// The cluster client failed.
    #[error("cluster: {0}")]
    Cluster(#[from] tiphys_kube::Error),
    /// The system under test did not reach the expected state in time.
    #[error("timed out after {seconds}s waiting for {what}; last: {last}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The limit.
        seconds: u64,
        /// The last observed state.
        last: String,
    },
    /// A file of the scenario's working directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Builds an [`Error::Io`] for `path`.
pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.display().to_string(), source }
}
