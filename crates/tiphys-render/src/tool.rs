//! The boundary to external tools. Rendering decides *what* to run (which kustomization, which
//! plugin command with which environment); an L2 implementation (`tiphys-tools`) decides *how*
//! (which binary, process group, timeout, output cap). Keeping the trait here keeps this crate
//! free of `std::process`.

use std::path::PathBuf;

/// One command of a config management plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCommand {
    /// Program to run (looked up on `PATH` by the runner).
    pub program: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Working directory (the source directory inside a checkout or a scratch copy).
    pub dir: PathBuf,
    /// Environment added to the runner's base environment.
    pub env: Vec<(String, String)>,
}

/// Why a tool run failed; the message is shown to users as is, so implementations keep
/// secrets out of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ToolFailure(pub String);

/// Runs kustomize and plugin commands on behalf of the renderer.
pub trait ToolRunner: Send + Sync {
    /// Builds the kustomization in `dir` (`kustomize build DIR` or `kubectl kustomize DIR`)
    /// with the build environment `env` (kustomize exec plugins read it, as upstream provides)
    /// and returns its YAML stream.
    fn kustomize_build(
        &self,
        dir: &std::path::Path,
        extra_args: &[String],
        env: &[(String, String)],
    ) -> Result<String, ToolFailure>;

    /// Runs one plugin command and returns its standard output.
    fn run(&self, command: &ToolCommand) -> Result<Vec<u8>, ToolFailure>;
}
