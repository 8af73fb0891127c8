//! `tiphys admin sync-plan`: print the ordered plan a sync would execute, offline.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use tiphys_sync::{Action, AppSyncOptions, PlanInput, SelectedResource, Strategy, SyncOperation, plan};

use super::diff::{AppContext, differ, read_stream};

/// Output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    /// One line per task, grouped by step.
    Text,
    /// The plan as JSON (what the executor walks).
    Json,
}

/// Arguments of `tiphys admin sync-plan`.
#[derive(Debug, Args)]
pub struct SyncPlanArgs {
    /// Desired manifests (YAML stream).
    #[arg(long)]
    desired: PathBuf,
    /// Live objects tracked by the application (YAML stream).
    #[arg(long)]
    live: PathBuf,
    /// Application manifest: destination namespace, syncOptions, ignoreDifferences.
    #[arg(long)]
    app: Option<PathBuf>,
    /// argocd-cm ConfigMap (ignoreDifferences and compare options for ApplyOutOfSyncOnly).
    #[arg(long)]
    argocd_cm_path: Option<PathBuf>,
    /// Prune extraneous resources.
    #[arg(long)]
    prune: bool,
    /// Plan a dry run.
    #[arg(long)]
    dry_run: bool,
    /// Delete and re-create resources that cannot be updated.
    #[arg(long)]
    force: bool,
    /// Sync only these resources, as `GROUP:KIND:NAME` or `GROUP:KIND:NAMESPACE/NAME` (repeatable).
    #[arg(long = "resource")]
    resources: Vec<String>,
    /// `apply` skips hooks.
    #[arg(long, default_value = "hook")]
    strategy: String,
    /// Revision being synced (names generateName hooks).
    #[arg(long, default_value = "")]
    revision: String,
    /// Extra sync options (`Name=value`, repeatable), added to the Application's.
    #[arg(long = "sync-option")]
    sync_options: Vec<String>,
    /// Whether the destination namespace already exists (for CreateNamespace=true).
    #[arg(long)]
    namespace_exists: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "text")]
    output: Output,
}

fn selected(spec: &str) -> anyhow::Result<SelectedResource> {
    let mut parts = spec.splitn(3, ':');
    let (Some(group), Some(kind), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        anyhow::bail!(
            "--resource {spec:?}: write GROUP:KIND:NAME (GROUP empty for core, e.g. :ConfigMap:app-config)"
        );
    };
    let (namespace, name) = rest.split_once('/').unwrap_or(("", rest));
    Ok(SelectedResource {
        group: group.into(),
        kind: kind.into(),
        name: name.into(),
        namespace: namespace.into(),
    })
}

/// Prints the plan.
pub fn run(args: SyncPlanArgs) -> anyhow::Result<ExitCode> {
    let app = AppContext::load(args.app.as_deref())?;
    let desired = read_stream(&args.desired)?;
    let live = read_stream(&args.live)?;
    let differ = differ(&app, args.argocd_cm_path.as_deref())?;
    let diffs = differ.diff_app(&desired, &live, &app.namespace, &tiphys_sync::hooks::is_hook)?;
    let strategy = match args.strategy.as_str() {
        "hook" => Strategy::Hook,
        "apply" => Strategy::Apply,
        other => anyhow::bail!("--strategy {other:?}: use hook or apply"),
    };
    let mut options = app.sync_options.clone();
    options.extend(args.sync_options.iter().cloned());
    let input = PlanInput {
        desired: &desired,
        live: &live,
        in_sync: diffs.resources.iter().filter(|r| !r.out_of_sync()).map(|r| r.key.clone()).collect(),
        options: AppSyncOptions(options),
        namespace: app.namespace.clone(),
        namespace_exists: args.namespace_exists,
        operation: SyncOperation {
            prune: args.prune,
            dry_run: args.dry_run,
            resources: args.resources.iter().map(|s| selected(s)).collect::<anyhow::Result<_>>()?,
            strategy,
            force: args.force,
            revision: args.revision.clone(),
            started_at_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        },
        ..Default::default()
    };
    let plan = plan(&input)?;
    let mut out = String::new();
    match args.output {
        Output::Json => out.push_str(&format!("{}\n", serde_json::to_string_pretty(&plan)?)),
        Output::Text => {
            if plan.dry_run {
                writeln!(out, "(dry run)")?;
            }
            writeln!(
                out,
                "{:<10} {:>5}  {:<28} {:<20} {:<36} ACTION",
                "PHASE", "WAVE", "KIND", "NAMESPACE", "NAME"
            )?;
            for t in &plan.tasks {
                let action = match &t.action {
                    Action::Apply { strategy, force, .. } => {
                        let hook = t
                            .hook
                            .as_ref()
                            .map(|h| format!(" hook {:?} delete-policy {:?}", h.hook_type, h.delete_policies))
                            .unwrap_or_default();
                        format!("{strategy:?}{}{hook}", if *force { " (force)" } else { "" })
                    }
                    Action::Prune { propagation_policy } => format!("Prune ({propagation_policy})"),
                    Action::PruneSkipped { reason } => format!("PruneSkipped: {reason}"),
                    other => format!("{other:?}"),
                };
                let kind = if t.key.group.is_empty() {
                    t.key.kind.clone()
                } else {
                    format!("{}.{}", t.key.kind, t.key.group)
                };
                writeln!(
                    out,
                    "{:<10} {:>5}  {kind:<28} {:<20} {:<36} {action}",
                    format!("{:?}", t.phase),
                    t.wave,
                    t.key.namespace,
                    t.key.name
                )?;
            }
        }
    }
    crate::output::print(&out)?;
    Ok(ExitCode::SUCCESS)
}
