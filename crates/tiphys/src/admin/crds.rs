//! `tiphys admin crds`.

use std::process::ExitCode;

use clap::Args;

/// Arguments of `tiphys admin crds`.
#[derive(Debug, Args)]
pub struct CrdsArgs {}

/// Prints the CRDs as a YAML stream.
pub fn run(_args: CrdsArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
