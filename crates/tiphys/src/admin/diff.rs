//! `tiphys admin diff`: compare manifests with live objects offline, the way the controller
//! does, and print what `argocd app diff` would.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::Value;
use tiphys_diff::{DiffSettings, DiffStatus, Differ, ResourceIgnoreDifferences};

/// When to colour the diff.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Colour {
    /// When standard output is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    /// Unified diffs and a status table.
    Text,
    /// Every resource's comparison as JSON.
    Json,
}

/// Arguments of `tiphys admin diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Desired manifests (YAML stream).
    #[arg(long)]
    desired: PathBuf,
    /// Live objects as read from the cluster (YAML stream, e.g. `kubectl get -o yaml` items).
    #[arg(long)]
    live: PathBuf,
    /// argocd-cm ConfigMap for system-level ignoreDifferences and compare options.
    #[arg(long)]
    argocd_cm_path: Option<PathBuf>,
    /// Application manifest for spec.ignoreDifferences, the destination namespace and options.
    #[arg(long)]
    app: Option<PathBuf>,
    /// Destination namespace for manifests without one (overrides the Application's).
    #[arg(long)]
    namespace: Option<String>,
    /// Colour the diff.
    #[arg(long, value_enum, default_value = "auto")]
    color: Colour,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "text")]
    output: Output,
}

/// What the commands read from an Application manifest.
#[derive(Debug, Default)]
pub(super) struct AppContext {
    pub ignore_differences: Vec<ResourceIgnoreDifferences>,
    pub namespace: String,
    pub sync_options: Vec<String>,
    pub server_side_diff: bool,
}

pub(super) fn read_stream(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    tiphys_resource::yaml::parse_stream(&text)
        .with_context(|| format!("{}: not a valid YAML stream", path.display()))
}

fn read_one(path: &Path) -> anyhow::Result<Value> {
    read_stream(path)?.into_iter().next().with_context(|| format!("{} is empty", path.display()))
}

impl AppContext {
    pub(super) fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else { return Ok(Self::default()) };
        let raw = read_one(path)?;
        let server_side_diff = tiphys_diff::compare::annotation_option(
            &raw,
            tiphys_resource::annotations::COMPARE_OPTIONS,
            "ServerSideDiff",
        ) == Some("true");
        let app: tiphys_model::Application = serde_json::from_value(raw).with_context(|| {
            format!(
                "{}: not an Application (check spec.ignoreDifferences and spec.syncPolicy)",
                path.display()
            )
        })?;
        let spec = app.spec;
        Ok(Self {
            ignore_differences: spec.ignore_differences.iter().flatten().map(Into::into).collect(),
            namespace: spec.destination.and_then(|d| d.namespace).unwrap_or_default(),
            sync_options: spec.sync_policy.and_then(|p| p.sync_options).unwrap_or_default(),
            server_side_diff,
        })
    }
}

pub(super) fn differ(app: &AppContext, argocd_cm: Option<&Path>) -> anyhow::Result<Differ> {
    let settings = match argocd_cm {
        Some(p) => DiffSettings::from_settings(&super::settings::load_argocd_cm(p)?),
        None => DiffSettings::default(),
    };
    Ok(Differ::new(app.ignore_differences.clone(), &settings)?.with_server_side_diff(app.server_side_diff))
}

/// Prints every difference; exit code 1 when something is out of sync (as `argocd app diff`).
pub fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let app = AppContext::load(args.app.as_deref())?;
    let namespace = args.namespace.clone().unwrap_or_else(|| app.namespace.clone());
    let differ = differ(&app, args.argocd_cm_path.as_deref())?;
    let desired = read_stream(&args.desired)?;
    let live = read_stream(&args.live)?;
    let result = differ.diff_app(&desired, &live, &namespace, &tiphys_sync::hooks::is_hook)?;
    let mut out = String::new();
    match args.output {
        Output::Json => out.push_str(&format!("{}\n", serde_json::to_string_pretty(&result)?)),
        Output::Text => {
            let colour = match args.color {
                Colour::Always => true,
                Colour::Never => false,
                Colour::Auto => std::io::stdout().is_terminal(),
            };
            // Hooks are created fresh by every sync; like `argocd app diff`, do not show them.
            let shown: Vec<_> = result.resources.iter().filter(|r| !r.hook).collect();
            for r in &shown {
                write!(out, "{}", r.unified_diff(colour))?;
            }
            writeln!(out, "{:<20} {:<28} {:<20} NAME", "STATUS", "KIND", "NAMESPACE")?;
            for r in shown {
                let status = match r.status {
                    DiffStatus::Synced => "Synced",
                    DiffStatus::OutOfSync => "OutOfSync",
                    DiffStatus::Missing => "Missing",
                    DiffStatus::Extraneous if r.ignore_extraneous => "Extraneous (ignored)",
                    DiffStatus::Extraneous => "RequiresPrune",
                };
                let kind = if r.key.group.is_empty() {
                    r.key.kind.clone()
                } else {
                    format!("{}.{}", r.key.kind, r.key.group)
                };
                writeln!(out, "{status:<20} {kind:<28} {:<20} {}", r.key.namespace, r.key.name)?;
            }
        }
    }
    crate::output::print(&out)?;
    Ok(if result.synced { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
