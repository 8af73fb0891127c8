//! `tiphys admin …`: offline commands that need no server, mirroring `argocd admin`.

mod crds;
mod validate;

use std::process::ExitCode;

use clap::{Args, Subcommand};

/// Arguments of `tiphys admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Print the CustomResourceDefinitions for Application, AppProject and ApplicationSet.
    Crds(crds::CrdsArgs),
    /// Check Application, AppProject and ApplicationSet manifests the way admission would.
    Validate(validate::ValidateArgs),
}

/// Runs an admin sub-command.
pub fn run(args: AdminArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AdminCommand::Crds(a) => crds::run(a),
        AdminCommand::Validate(a) => validate::run(a),
    }
}
