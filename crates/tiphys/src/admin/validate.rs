//! `tiphys admin validate`.

use std::{path::PathBuf, process::ExitCode};

use clap::Args;

/// Arguments of `tiphys admin validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Files to check; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Validates every file.
pub fn run(_args: ValidateArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
