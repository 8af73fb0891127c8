//! `tiphys render`: the offline equivalent of `argocd app manifests` — fetch (or read) a
//! repository, resolve the revision, render one source with the given options and print the
//! manifests as a YAML stream.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Map, Value, json};
use tiphys_git::{CredentialStore, Credentials, GitCache, GitConfig};
use tiphys_render::{AppContext, ApplicationSource, Limits, PluginDefinition, RenderInput, RepoRoot};
use tiphys_tools::{ProcessRunner, RunOptions};

/// Arguments of `tiphys render`; option flags are spelled as `argocd app create/set` spells them.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Repository URL, or a local directory (rendered as it is on disk unless --revision is given).
    #[arg(long)]
    repo: String,
    /// Branch, tag, commit SHA, HEAD or semver constraint.
    #[arg(long)]
    revision: Option<String>,
    /// Path of the source inside the repository.
    #[arg(long, default_value = ".")]
    path: String,
    /// Application name (ARGOCD_APP_NAME).
    #[arg(long, default_value = "app")]
    app_name: String,
    /// Destination namespace (ARGOCD_APP_NAMESPACE).
    #[arg(long, default_value = "default")]
    dest_namespace: String,
    /// Output format.
    #[arg(short, long, default_value = "yaml", value_parser = ["yaml", "json"])]
    output: String,

    /// Directory: read sub-directories.
    #[arg(long)]
    directory_recurse: bool,
    /// Directory: glob of files to read.
    #[arg(long)]
    directory_include: Option<String>,
    /// Directory: glob of files to skip.
    #[arg(long)]
    directory_exclude: Option<String>,
    /// Jsonnet top-level argument as a string, `name=value` (repeatable).
    #[arg(long)]
    jsonnet_tla_str: Vec<String>,
    /// Jsonnet top-level argument as code, `name=code` (repeatable).
    #[arg(long)]
    jsonnet_tla_code: Vec<String>,
    /// Jsonnet external variable as a string, `name=value` (repeatable).
    #[arg(long)]
    jsonnet_ext_var_str: Vec<String>,
    /// Jsonnet external variable as code, `name=code` (repeatable).
    #[arg(long)]
    jsonnet_ext_var_code: Vec<String>,
    /// Jsonnet library directory relative to the repository root (repeatable).
    #[arg(long)]
    jsonnet_libs: Vec<String>,

    /// Kustomize: name prefix.
    #[arg(long)]
    nameprefix: Option<String>,
    /// Kustomize: name suffix.
    #[arg(long)]
    namesuffix: Option<String>,
    /// Kustomize: image override (repeatable).
    #[arg(long)]
    kustomize_image: Vec<String>,
    /// Kustomize: namespace.
    #[arg(long)]
    kustomize_namespace: Option<String>,
    /// Kustomize: common label `key=value` (repeatable).
    #[arg(long)]
    kustomize_common_label: Vec<String>,
    /// Kustomize: common annotation `key=value` (repeatable).
    #[arg(long)]
    kustomize_common_annotation: Vec<String>,
    /// Kustomize: overwrite labels the kustomization sets.
    #[arg(long)]
    kustomize_force_common_label: bool,
    /// Kustomize: overwrite annotations the kustomization sets.
    #[arg(long)]
    kustomize_force_common_annotation: bool,
    /// Kustomize: replica override `name=count` (repeatable).
    #[arg(long)]
    kustomize_replica: Vec<String>,

    /// Config management plugin name.
    #[arg(long)]
    config_management_plugin: Option<String>,
    /// Plugin environment `NAME=value` (repeatable).
    #[arg(long)]
    plugin_env: Vec<String>,
    /// A ConfigManagementPlugin manifest (plugin.yaml) defining an available plugin (repeatable).
    #[arg(long)]
    plugin_config: Vec<PathBuf>,

    /// Argo CD repository / repo-creds Secrets (YAML, repeatable) to take credentials from when
    /// no credential flag is given.
    #[arg(long)]
    repo_secrets: Vec<PathBuf>,
    /// HTTPS user name for the repository.
    #[arg(long)]
    username: Option<String>,
    /// HTTPS password or token (prefer the environment variable).
    #[arg(long, env = "TIPHYS_REPO_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// SSH private key file for the repository.
    #[arg(long)]
    ssh_private_key_path: Option<PathBuf>,
    /// Skip SSH host key verification.
    #[arg(long)]
    insecure_ignore_host_key: bool,
    /// Skip TLS verification.
    #[arg(long)]
    insecure_skip_server_verification: bool,
    /// Repository cache directory (default: ~/.cache/tiphys/git).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Timeout in seconds for each git and tool invocation.
    #[arg(long, default_value_t = 90)]
    timeout: u64,
}

fn pair(flag: &str, s: &str) -> anyhow::Result<(String, String)> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .with_context(|| format!("--{flag} {s:?}: expected name=value"))
}

fn pairs(flag: &str, items: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    items.iter().map(|s| pair(flag, s)).collect()
}

fn jsonnet_vars(
    flag_str: &str,
    strs: &[String],
    flag_code: &str,
    codes: &[String],
) -> anyhow::Result<Vec<Value>> {
    let mut vars: Vec<Value> = pairs(flag_str, strs)?
        .into_iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    vars.extend(
        pairs(flag_code, codes)?
            .into_iter()
            .map(|(name, value)| json!({"name": name, "value": value, "code": true})),
    );
    Ok(vars)
}

/// Inserts `value` under `key` unless it is empty (`null`, `false`, `""`, `[]`, `{}`), so only
/// options the user gave end up in the source, as `argocd app create` does.
fn put(map: &mut Map<String, Value>, key: &str, value: Value) {
    let empty = match &value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(true) | Value::Number(_) => false,
    };
    if !empty {
        map.insert(key.to_string(), value);
    }
}

/// The `spec.source` the flags describe, in upstream's JSON shape.
fn source(args: &RenderArgs) -> anyhow::Result<ApplicationSource> {
    let mut src = Map::new();
    put(&mut src, "repoURL", json!(args.repo));
    put(&mut src, "path", json!(args.path));
    put(&mut src, "targetRevision", json!(args.revision));

    let mut jsonnet = Map::new();
    put(
        &mut jsonnet,
        "tlas",
        json!(jsonnet_vars(
            "jsonnet-tla-str",
            &args.jsonnet_tla_str,
            "jsonnet-tla-code",
            &args.jsonnet_tla_code
        )?),
    );
    put(
        &mut jsonnet,
        "extVars",
        json!(jsonnet_vars(
            "jsonnet-ext-var-str",
            &args.jsonnet_ext_var_str,
            "jsonnet-ext-var-code",
            &args.jsonnet_ext_var_code
        )?),
    );
    put(&mut jsonnet, "libs", json!(args.jsonnet_libs));
    let mut directory = Map::new();
    put(&mut directory, "recurse", json!(args.directory_recurse));
    put(&mut directory, "include", json!(args.directory_include));
    put(&mut directory, "exclude", json!(args.directory_exclude));
    put(&mut directory, "jsonnet", Value::Object(jsonnet));
    put(&mut src, "directory", Value::Object(directory));

    let to_map = |flag: &str, items: &[String]| -> anyhow::Result<Value> {
        Ok(Value::Object(pairs(flag, items)?.into_iter().map(|(k, v)| (k, Value::String(v))).collect()))
    };
    let mut kustomize = Map::new();
    put(&mut kustomize, "namePrefix", json!(args.nameprefix));
    put(&mut kustomize, "nameSuffix", json!(args.namesuffix));
    put(&mut kustomize, "images", json!(args.kustomize_image));
    put(&mut kustomize, "namespace", json!(args.kustomize_namespace));
    put(&mut kustomize, "commonLabels", to_map("kustomize-common-label", &args.kustomize_common_label)?);
    put(
        &mut kustomize,
        "commonAnnotations",
        to_map("kustomize-common-annotation", &args.kustomize_common_annotation)?,
    );
    put(&mut kustomize, "forceCommonLabels", json!(args.kustomize_force_common_label));
    put(&mut kustomize, "forceCommonAnnotations", json!(args.kustomize_force_common_annotation));
    let replicas: Vec<Value> = pairs("kustomize-replica", &args.kustomize_replica)?
        .into_iter()
        .map(|(name, count)| json!({"name": name, "count": count}))
        .collect();
    put(&mut kustomize, "replicas", json!(replicas));
    put(&mut src, "kustomize", Value::Object(kustomize));

    let mut plugin = Map::new();
    put(&mut plugin, "name", json!(args.config_management_plugin));
    let env: Vec<Value> = pairs("plugin-env", &args.plugin_env)?
        .into_iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    put(&mut plugin, "env", json!(env));
    put(&mut src, "plugin", Value::Object(plugin));

    serde_json::from_value(Value::Object(src)).context("building the source from the flags")
}

fn plugins(paths: &[PathBuf]) -> anyhow::Result<Vec<PluginDefinition>> {
    let mut out = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        for doc in
            tiphys_resource::yaml::parse_stream(&text).with_context(|| format!("parsing {}", p.display()))?
        {
            out.push(PluginDefinition::from_manifest(&doc).with_context(|| format!("in {}", p.display()))?);
        }
    }
    Ok(out)
}

fn credentials(args: &RenderArgs, url: &str) -> anyhow::Result<Option<Credentials>> {
    let ssh_private_key = match &args.ssh_private_key_path {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading SSH key {}", p.display()))?,
        None => String::new(),
    };
    let creds = Credentials {
        username: args.username.clone().unwrap_or_default(),
        password: args.password.clone().unwrap_or_default(),
        ssh_private_key,
        insecure: args.insecure_skip_server_verification,
        insecure_ignore_host_key: args.insecure_ignore_host_key,
        ..Credentials::default()
    };
    if creds != Credentials::default() {
        return Ok(Some(creds));
    }
    let mut secrets = Vec::new();
    for p in &args.repo_secrets {
        let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        secrets.extend(
            tiphys_resource::yaml::parse_stream(&text).with_context(|| format!("parsing {}", p.display()))?,
        );
    }
    let store = CredentialStore::from_secrets(&secrets)?;
    Ok(store.lookup(url).map(|(_, creds)| creds))
}

fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("tiphys/git")
}

/// Runs `tiphys render`.
pub fn run(args: RenderArgs) -> anyhow::Result<std::process::ExitCode> {
    let timeout = Duration::from_secs(args.timeout);
    let src = source(&args)?;
    let plugin_defs = plugins(&args.plugin_config)?;
    let local = Path::new(&args.repo);
    let (checkout, revision) = if local.is_dir() && args.revision.is_none() {
        (local.to_path_buf(), String::new())
    } else {
        let url = if local.is_dir() {
            local.canonicalize()?.to_string_lossy().into_owned()
        } else {
            args.repo.clone()
        };
        let cache = GitCache::new(GitConfig {
            root: args.cache_dir.clone().unwrap_or_else(default_cache_dir),
            timeout,
            known_hosts: String::new(),
        })?;
        let creds = credentials(&args, &url)?;
        let sha = cache.resolve(&url, args.revision.as_deref().unwrap_or("HEAD"), creds.as_ref())?;
        (cache.checkout_with_submodules(&url, &sha, creds.as_ref())?, sha)
    };
    let root = RepoRoot::new(&checkout)?;
    let app = AppContext {
        name: args.app_name.clone(),
        namespace: args.dest_namespace.clone(),
        revision,
        repo_url: args.repo.clone(),
        path: args.path.clone(),
        target_revision: args.revision.clone().unwrap_or_default(),
        ..AppContext::default()
    };
    let scratch = tempfile::tempdir().context("creating a scratch directory")?;
    // Charts render in process; the clock and the seed for Sprig's random functions are the
    // edge's to choose (the library crates take them as parameters).
    let now = jiff::Zoned::now();
    let seed = now.timestamp().as_nanosecond() as u64;
    let helm = tiphys_helm::source::InProcessHelm::new(tiphys_gotemplate::sprig::functions(
        &tiphys_gotemplate::sprig::SprigEnv { now, seed },
    ));
    let input = RenderInput {
        root: &root,
        source: &src,
        app: &app,
        refs: &[],
        plugins: &plugin_defs,
        kustomize_build_options: &[],
        scratch: scratch.path(),
        limits: Limits::default(),
        helm: Some(&helm),
    };
    let tools = ProcessRunner::new(RunOptions { timeout, ..RunOptions::default() });
    let manifests = tiphys_render::render(&input, &tools)?;
    if manifests.is_empty() && args.output == "yaml" {
        bail!("{}: no manifests rendered; check --path", args.path);
    }
    let text = match args.output.as_str() {
        "json" => format!("{}\n", serde_json::to_string_pretty(&manifests)?),
        _ => tiphys_resource::yaml::to_yaml_stream(&manifests),
    };
    crate::output::print(&text)?;
    Ok(std::process::ExitCode::SUCCESS)
}
