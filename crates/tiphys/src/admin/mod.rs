//! `tiphys admin …`: offline commands that need no server, mirroring `argocd admin`.

mod crds;
mod diff;
mod settings;
mod sync_plan;
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
    /// Compare desired manifests with live objects offline, as the controller does.
    Diff(diff::DiffArgs),
    /// Print the ordered plan (phases, waves, hooks, prune) a sync would execute.
    SyncPlan(sync_plan::SyncPlanArgs),
    /// Try argocd-cm settings offline (Lua health checks and resource actions).
    Settings(settings::SettingsArgs),
}

/// Runs an admin sub-command.
pub fn run(args: AdminArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AdminCommand::Crds(a) => crds::run(a),
        AdminCommand::Validate(a) => validate::run(a),
        AdminCommand::Diff(a) => diff::run(a),
        AdminCommand::SyncPlan(a) => sync_plan::run(a),
        AdminCommand::Settings(a) => settings::run(a),
    }
}
