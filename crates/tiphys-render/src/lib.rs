//! Rendering: a source, a checked-out revision and the Application's context in, Kubernetes
//! manifests out.
//!
//! One entry point, [`render`], dispatches on the source type the way upstream detects it:
//! an explicit `helm`/`kustomize`/`directory`/`plugin` field, else a kustomization file →
//! Kustomize, else `Chart.yaml` → Helm, else a plain directory (YAML, JSON, Jsonnet). Directory
//! and Jsonnet rendering run in process; Kustomize builds and plugin commands go through the
//! [`ToolRunner`] trait, implemented in the L2 crate `tiphys-tools`; Helm goes through the
//! [`HelmRenderer`] trait implemented on top of `tiphys-helm`. [`RenderCache`] keys results by
//! repository, commit, path and a hash of the options and build environment.
//!
//! This crate is L1: no processes, no network, no clock, no environment variables. It reads the
//! checkout it is given and, for tools that need a writable tree, copies it into a scratch
//! directory the caller owns; it never writes to the checkout. Every path it follows is
//! confined to the repository root ([`RepoRoot`]).

mod buildenv;
mod cache;
mod confine;
mod directory;
mod error;
mod jsonnet;
mod kustomize;
mod plugin;
mod scratch;
mod spec;
mod tool;

use std::path::Path;

pub use buildenv::AppContext;
pub use cache::{RenderCache, RenderKey};
pub use confine::RepoRoot;
pub use directory::flatten_lists;
pub use error::RenderError;
pub use kustomize::is_kustomization_dir;
pub use plugin::{PluginCommand, PluginDefinition, PluginDiscover, PluginFind};
pub use spec::{
    ApplicationSource, ApplicationSourceDirectory, ApplicationSourceJsonnet, ApplicationSourceKustomize,
    ApplicationSourcePlugin, IntOrString, JsonnetVar, KustomizePatch, KustomizeReplica, NameValue,
    PluginParameter,
};
pub use tool::{ToolCommand, ToolFailure, ToolRunner};

/// Size and count bounds for one render; hostile repositories must not exhaust memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest single file read (manifest, Jsonnet source or import).
    pub max_file_bytes: u64,
    /// Largest total of manifest bytes read for one directory source.
    pub max_total_bytes: u64,
    /// Most manifests one render may produce.
    pub max_manifests: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_file_bytes: 10 << 20, max_total_bytes: 100 << 20, max_manifests: 20_000 }
    }
}

/// How a source is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceType {
    /// Plain YAML/JSON/Jsonnet files.
    Directory,
    /// A Helm chart.
    Helm,
    /// A kustomization.
    Kustomize,
    /// A config management plugin.
    Plugin,
}

/// Renders Helm charts; implemented outside this crate so Helm stays its own concern.
pub trait HelmRenderer: Send + Sync {
    /// Renders the chart in `chart_dir` with the source's `helm` options. Value files are
    /// resolved with [`resolve_value_file`] so `$ref/...` and escape checks behave the same
    /// for every renderer.
    fn render(
        &self,
        input: &RenderInput<'_>,
        chart_dir: &Path,
    ) -> Result<Vec<serde_json::Value>, RenderError>;
}

/// Everything one render needs besides the tools.
pub struct RenderInput<'a> {
    /// The checked-out revision.
    pub root: &'a RepoRoot,
    /// The source being rendered.
    pub source: &'a ApplicationSource,
    /// The Application and revision (build environment).
    pub app: &'a AppContext,
    /// Checkouts of the Application's other sources by `ref` name, for `$ref/...` value files.
    pub refs: &'a [(String, RepoRoot)],
    /// Configured config management plugins.
    pub plugins: &'a [PluginDefinition],
    /// Extra `kustomize build` arguments (`kustomize.buildOptions` in `argocd-cm`).
    pub kustomize_build_options: &'a [String],
    /// An empty directory owned by the caller where trees are copied before tools edit them.
    pub scratch: &'a Path,
    /// Size and count limits.
    pub limits: Limits,
    /// The Helm renderer, when one is wired in.
    pub helm: Option<&'a dyn HelmRenderer>,
}

fn app_dir(input: &RenderInput<'_>) -> Result<std::path::PathBuf, RenderError> {
    let path = input.source.path.as_deref().unwrap_or("");
    let dir = input.root.resolve(path)?;
    if !dir.is_dir() {
        return Err(RenderError::NotFound { path: path.to_string() });
    }
    Ok(dir)
}

/// Decides how a source is rendered, as upstream does: explicit options first (more than one
/// is an error), then what the directory contains.
pub fn source_type(
    source: &ApplicationSource,
    app_dir: &Path,
    plugins: &[PluginDefinition],
) -> Result<SourceType, RenderError> {
    let explicit: Vec<(SourceType, &str)> = [
        (source.helm.is_some() || source.chart.is_some(), SourceType::Helm, "helm"),
        (source.kustomize.is_some(), SourceType::Kustomize, "kustomize"),
        (source.directory.is_some(), SourceType::Directory, "directory"),
        (source.plugin.is_some(), SourceType::Plugin, "plugin"),
    ]
    .into_iter()
    .filter(|(set, _, _)| *set)
    .map(|(_, t, n)| (t, n))
    .collect();
    match explicit.as_slice() {
        [(t, _)] => return Ok(*t),
        [] => {}
        many => {
            let types = many.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ");
            return Err(RenderError::MultipleSourceTypes { types });
        }
    }
    if plugin::discover(plugins, app_dir)?.is_some() {
        return Ok(SourceType::Plugin);
    }
    if is_kustomization_dir(app_dir) {
        return Ok(SourceType::Kustomize);
    }
    if app_dir.join("Chart.yaml").is_file() {
        return Ok(SourceType::Helm);
    }
    Ok(SourceType::Directory)
}

/// Renders one source to its manifests (`kind: List` objects already expanded).
pub fn render(
    input: &RenderInput<'_>,
    tools: &dyn ToolRunner,
) -> Result<Vec<serde_json::Value>, RenderError> {
    let dir = app_dir(input)?;
    let objects = match source_type(input.source, &dir, input.plugins)? {
        SourceType::Directory => {
            let options = input.source.directory.clone().unwrap_or_default();
            directory::render(input.root, &dir, &options, input.app, &input.limits)?
        }
        SourceType::Kustomize => kustomize::render(input, &dir, tools)?,
        SourceType::Plugin => plugin::render(input, &dir, tools)?,
        SourceType::Helm => match input.helm {
            Some(helm) => helm.render(input, &dir)?,
            None => return Err(RenderError::HelmNotWired { path: input.root.relative(&dir) }),
        },
    };
    let objects = flatten_lists(objects);
    if objects.len() as u64 > input.limits.max_manifests {
        return Err(RenderError::Limit {
            what: "number of manifests".into(),
            limit: input.limits.max_manifests,
        });
    }
    Ok(objects)
}

/// Resolves a Helm value file of a source: `$name/path` reads from the source with
/// `ref: name`, anything else is relative to the chart directory; both must stay inside their
/// repository.
pub fn resolve_value_file(
    input: &RenderInput<'_>,
    chart_dir: &Path,
    value_file: &str,
) -> Result<std::path::PathBuf, RenderError> {
    if let Some(rest) = value_file.strip_prefix('$') {
        let (name, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (_, root) = input.refs.iter().find(|(n, _)| n == name).ok_or_else(|| {
            RenderError::UnknownRef { path: value_file.to_string(), reference: name.to_string() }
        })?;
        return root.resolve(path);
    }
    input.root.resolve_from(chart_dir, value_file)
}
