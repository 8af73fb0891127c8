//! `tiphys admin settings resource-overrides …`: try argocd-cm health checks and resource
//! actions on an object file, offline, with the output of `argocd admin settings
//! resource-overrides`.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::Value;
use tiphys_health::{AssessOptions, HealthAssessor, Operation, ResourceOverrides, RunContext};
use tiphys_resource::GroupVersionKind;
use tiphys_settings::Settings;

/// Upstream's wall-clock limit for one script run.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(1);

/// Arguments of `tiphys admin settings`.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    #[command(subcommand)]
    command: SettingsCommand,
}

#[derive(Debug, Subcommand)]
enum SettingsCommand {
    /// Troubleshoot resource overrides (Lua health checks and actions from argocd-cm).
    #[command(subcommand)]
    ResourceOverrides(OverridesCommand),
}

#[derive(Debug, Subcommand)]
enum OverridesCommand {
    /// Assess a resource's health with the argocd-cm Lua check or the built-in one.
    Health(ObjectArgs),
    /// List the actions available for a resource.
    ListActions(ObjectArgs),
    /// Run a resource action and print the changed fields or created resources.
    #[command(alias = "action")]
    RunAction(RunActionArgs),
}

#[derive(Debug, Args)]
struct ObjectArgs {
    /// The resource, as YAML (one object).
    resource_yaml_path: PathBuf,
    /// The argocd-cm ConfigMap, as YAML.
    #[arg(long)]
    argocd_cm_path: PathBuf,
    /// Also assess argoproj.io Applications by their own health (upstream stopped in v1.8).
    #[arg(long)]
    assess_applications: bool,
}

#[derive(Debug, Args)]
struct RunActionArgs {
    #[command(flatten)]
    object: ObjectArgs,
    /// The action to run.
    action: String,
    /// Action parameters, `--param key=value` (available to the script as `actionParams`).
    #[arg(long = "param")]
    params: Vec<String>,
}

/// Runs `tiphys admin settings …`.
pub fn run(args: SettingsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        SettingsCommand::ResourceOverrides(OverridesCommand::Health(a)) => health(&a),
        SettingsCommand::ResourceOverrides(OverridesCommand::ListActions(a)) => list_actions(&a),
        SettingsCommand::ResourceOverrides(OverridesCommand::RunAction(a)) => run_action(&a),
    }
}

/// The object, its kind as upstream prints it (`group/Kind`), and an assessor for the ConfigMap.
fn load(args: &ObjectArgs) -> anyhow::Result<(Value, String, HealthAssessor)> {
    let obj = read_one(&args.resource_yaml_path)?;
    let gvk = GroupVersionKind::of(&obj).with_context(|| format!("{}", args.resource_yaml_path.display()))?;
    let settings = load_argocd_cm(&args.argocd_cm_path)?;
    let overrides = ResourceOverrides::from_settings(&settings);
    for warning in overrides.warnings() {
        eprintln!("warning: {}: {warning}", args.argocd_cm_path.display());
    }
    let options = AssessOptions { assess_applications: args.assess_applications, ..Default::default() };
    Ok((obj, format!("{}/{}", gvk.group, gvk.kind), HealthAssessor::new(overrides, options)))
}

/// Reads an argocd-cm file into settings; problems are printed as warnings (their defaults
/// apply), as the controller would log them.
pub(super) fn load_argocd_cm(path: &Path) -> anyhow::Result<Settings> {
    let cm = read_one(path)?;
    let (settings, problems) = Settings::from_configmap(Some(&cm));
    for problem in problems {
        eprintln!("warning: {}: {problem}", path.display());
    }
    Ok(settings)
}

fn read_one(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let docs = tiphys_resource::yaml::parse_stream(&text)
        .with_context(|| format!("{}: not valid YAML", path.display()))?;
    docs.into_iter().next().with_context(|| format!("{} holds no object", path.display()))
}

/// The wall clock and upstream's one-second limit, for this process only.
fn context() -> RunContext {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let started = Instant::now();
    RunContext {
        now_unix: i64::try_from(now).unwrap_or(i64::MAX),
        deadline: Some(Arc::new(move || started.elapsed() > SCRIPT_TIMEOUT)),
    }
}

fn health(args: &ObjectArgs) -> anyhow::Result<ExitCode> {
    let (obj, kind, assessor) = load(args)?;
    match assessor.resource_health(&obj, &context()) {
        None => println!("Health script is not configured for '{kind}'"),
        Some(h) => {
            println!("STATUS: {}", h.status);
            println!("MESSAGE: {}", h.message);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list_actions(args: &ObjectArgs) -> anyhow::Result<ExitCode> {
    let (obj, kind, assessor) = load(args)?;
    let Some(actions) = assessor.list_actions(&obj, &context())? else {
        println!("Actions are not configured for '{kind}'");
        return Ok(ExitCode::SUCCESS);
    };
    let width = actions.iter().map(|a| a.name.len()).chain(["NAME".len()]).max().unwrap_or(4) + 2;
    println!("{:width$}DISABLED", "NAME");
    for a in actions {
        println!("{:width$}{}", a.name, a.disabled);
    }
    Ok(ExitCode::SUCCESS)
}

fn run_action(args: &RunActionArgs) -> anyhow::Result<ExitCode> {
    let (obj, kind, assessor) = load(&args.object)?;
    let params = args
        .params
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => anyhow::bail!("invalid parameter format: {p:?}: write --param key=value"),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let Some(impacted) = assessor.run_action(&obj, &args.action, &params, &context())? else {
        println!("Actions are not configured for '{kind}'");
        return Ok(ExitCode::SUCCESS);
    };
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    for item in impacted {
        match item.operation {
            Operation::Patch if item.resource == obj => {
                println!("No fields had been changed by action: \n{}", args.action);
            }
            Operation::Patch => {
                println!("Following fields have been changed:\n");
                let before = tiphys_resource::yaml::to_yaml(&sorted(&obj));
                let after = tiphys_resource::yaml::to_yaml(&sorted(&item.resource));
                let diff = similar::TextDiff::from_lines(&before, &after);
                print!("{}", diff.unified_diff().context_radius(3).header(name, name));
            }
            Operation::Create => {
                println!("Following resource was created:");
                println!("{}", tiphys_resource::yaml::to_yaml(&sorted(&item.resource)));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Keys sorted at every level, as upstream's YAML printer writes objects.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}
