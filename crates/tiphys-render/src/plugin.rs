//! Config management plugins: `init` then `generate` run in a scratch copy of the checkout,
//! with upstream's environment (`ARGOCD_APP_*`, `ARGOCD_ENV_*`, `ARGOCD_APP_PARAMETERS`,
//! `PARAM_*`), through the [`ToolRunner`] so timeouts and output caps apply.

use std::path::Path;

use globset::GlobBuilder;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{RenderError, RenderInput, ToolCommand, ToolRunner, scratch};

/// A command and its arguments, as in a `ConfigManagementPlugin` spec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginCommand {
    /// Program and leading arguments.
    #[serde(default)]
    pub command: Vec<String>,
    /// Further arguments.
    #[serde(default)]
    pub args: Vec<String>,
}

/// How a plugin claims sources it was not named for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginDiscover {
    /// Glob of a file (relative to the source directory, `*` within one path segment) whose
    /// presence selects the plugin.
    #[serde(default)]
    pub file_name: String,
    /// `find.glob`: a glob with `**` over every file below the source directory. (`find.command`
    /// is not supported: discovery never runs commands.)
    #[serde(default)]
    pub find: Option<PluginFind>,
}

/// The `discover.find` section of a plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginFind {
    /// Glob over paths relative to the source directory, `**` for any depth.
    #[serde(default)]
    pub glob: String,
}

/// A configured plugin: upstream's `ConfigManagementPlugin` (`metadata.name` + `spec`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginDefinition {
    /// Name; sources select `<name>` or, with a version, `<name>-<version>`.
    pub name: String,
    /// Optional version suffix.
    #[serde(default)]
    pub version: String,
    /// Runs before `generate` (e.g. dependency download).
    #[serde(default)]
    pub init: Option<PluginCommand>,
    /// Prints the manifests as YAML or JSON on standard output.
    pub generate: PluginCommand,
    /// File-based discovery.
    #[serde(default)]
    pub discover: Option<PluginDiscover>,
}

impl PluginDefinition {
    /// Reads a `ConfigManagementPlugin` manifest (the sidecar's `plugin.yaml`).
    pub fn from_manifest(manifest: &Value) -> Result<Self, RenderError> {
        let bad =
            |message: String| RenderError::InvalidOption { field: "ConfigManagementPlugin".into(), message };
        let name = manifest
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("metadata.name is missing".into()))?;
        let mut spec =
            manifest.get("spec").cloned().ok_or_else(|| bad(format!("{name}: spec is missing")))?;
        if let Value::Object(map) = &mut spec {
            map.insert("name".into(), Value::String(name.to_string()));
        }
        serde_json::from_value(spec).map_err(|e| bad(format!("{name}: {e}")))
    }

    /// The name sources use to select this plugin.
    pub fn full_name(&self) -> String {
        if self.version.is_empty() { self.name.clone() } else { format!("{}-{}", self.name, self.version) }
    }
}

/// The first plugin whose `discover.fileName` glob matches a file in `dir`.
pub(crate) fn discover<'a>(
    plugins: &'a [PluginDefinition],
    dir: &Path,
) -> Result<Option<&'a PluginDefinition>, RenderError> {
    let mut files: Option<Vec<String>> = None;
    for plugin in plugins {
        let Some(discover) = &plugin.discover else { continue };
        let patterns = [
            ("discover.fileName", discover.file_name.trim_start_matches("./")),
            ("discover.find.glob", discover.find.as_ref().map_or("", |f| f.glob.trim_start_matches("./"))),
        ];
        for (field, pattern) in patterns.into_iter().filter(|(_, p)| !p.is_empty()) {
            let glob = GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| RenderError::InvalidOption {
                    field: format!("plugin {}: {field}", plugin.full_name()),
                    message: e.to_string(),
                })?
                .compile_matcher();
            let files = match &mut files {
                Some(f) => f,
                None => files.insert(relative_files(dir)?),
            };
            if files.iter().any(|f| glob.is_match(f)) {
                return Ok(Some(plugin));
            }
        }
    }
    Ok(None)
}

/// Every file below `dir` as a `/`-separated relative path (symlinks are not followed, `.git`
/// is skipped), for discovery globs.
fn relative_files(dir: &Path) -> Result<Vec<String>, RenderError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).map_err(|e| RenderError::io(&current, e))?.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() && entry.file_name() != ".git" => stack.push(path),
                Ok(t) if !t.is_dir() => {
                    out.push(path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().into_owned());
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// Upstream's parameter variable names: upper case, anything but `[A-Za-z0-9_]` becomes `_`.
fn param_var(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_uppercase() } else { '_' })
        .collect()
}

/// The environment a plugin sees on top of the runner's base environment.
pub(crate) fn plugin_env(input: &RenderInput<'_>) -> Vec<(String, String)> {
    let mut env = input.app.build_env();
    let Some(options) = &input.source.plugin else { return env };
    for e in options.env.iter().flatten() {
        let Some(name) = e.name.as_deref() else { continue };
        env.push((format!("ARGOCD_ENV_{name}"), input.app.envsubst(e.value.as_deref().unwrap_or_default())));
    }
    let parameters = options.parameters.as_deref().unwrap_or_default();
    if !parameters.is_empty() {
        env.push(("ARGOCD_APP_PARAMETERS".into(), serde_json::to_string(parameters).unwrap_or_default()));
    }
    for p in parameters {
        let Some(name) = p.name.as_deref() else { continue };
        let var = format!("PARAM_{}", param_var(name));
        if let Some(s) = &p.string {
            env.push((var.clone(), s.clone()));
        }
        for (i, item) in p.array.iter().flatten().enumerate() {
            env.push((format!("{var}_{i}"), item.clone()));
        }
        for (k, v) in p.map.iter().flatten() {
            env.push((format!("{var}_{}", param_var(k)), v.clone()));
        }
    }
    env
}

fn command(cmd: &PluginCommand, dir: &Path, env: &[(String, String)]) -> Option<ToolCommand> {
    let (program, rest) = cmd.command.split_first()?;
    Some(ToolCommand {
        program: program.clone(),
        args: rest.iter().chain(cmd.args.iter()).cloned().collect(),
        dir: dir.to_path_buf(),
        env: env.to_vec(),
    })
}

pub(crate) fn render(
    input: &RenderInput<'_>,
    dir: &Path,
    tools: &dyn ToolRunner,
) -> Result<Vec<Value>, RenderError> {
    let wanted = input.source.plugin.as_ref().and_then(|p| p.name.clone()).unwrap_or_default();
    let plugin = if wanted.is_empty() {
        discover(input.plugins, dir)?
    } else {
        input.plugins.iter().find(|p| p.full_name() == wanted || p.name == wanted)
    }
    .ok_or_else(|| RenderError::PluginNotFound { name: wanted.clone() })?;
    let rel = input.root.relative(dir);
    let copy = scratch::copy_checkout(input.root, input.scratch)?;
    let work = if rel.is_empty() { copy } else { copy.join(&rel) };
    let env = plugin_env(input);
    let tool_error = |stage: &str, e: crate::ToolFailure| RenderError::Tool {
        tool: format!("plugin {} {stage}", plugin.full_name()),
        message: e.0,
    };
    if let Some(init) = plugin.init.as_ref().and_then(|c| command(c, &work, &env)) {
        tools.run(&init).map_err(|e| tool_error("init", e))?;
    }
    let generate = command(&plugin.generate, &work, &env).ok_or_else(|| RenderError::InvalidOption {
        field: format!("plugin {}: generate.command", plugin.full_name()),
        message: "is empty".into(),
    })?;
    let out = tools.run(&generate).map_err(|e| tool_error("generate", e))?;
    let text = String::from_utf8(out).map_err(|_| RenderError::Parse {
        file: format!("output of plugin {}", plugin.full_name()),
        message: "not UTF-8".into(),
    })?;
    let shown = format!("output of plugin {}", plugin.full_name());
    let docs = tiphys_resource::yaml::parse_stream(&text)
        .map_err(|e| RenderError::Parse { file: shown.clone(), message: e.to_string() })?;
    for (i, d) in docs.iter().enumerate() {
        if d.get("kind").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(RenderError::NotAnObject {
                file: shown,
                message: format!("document {i} has no kind"),
            });
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_by_file_name_and_find_glob() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub/deep")).unwrap();
        std::fs::write(dir.path().join("sub/deep/app.cue"), "").unwrap();
        std::fs::write(dir.path().join("main.jsonnet"), "").unwrap();
        let plugin = |name: &str, discover: serde_json::Value| PluginDefinition {
            name: name.into(),
            discover: Some(serde_json::from_value(discover).unwrap()),
            ..PluginDefinition::default()
        };
        let plugins = [
            plugin("top-only", serde_json::json!({"fileName": "./*.cue"})),
            plugin("one-level", serde_json::json!({"fileName": "sub/*.cue"})),
            plugin("any-depth", serde_json::json!({"find": {"glob": "**/*.cue"}})),
        ];
        assert_eq!(discover(&plugins, dir.path()).unwrap().map(|p| p.name.as_str()), Some("any-depth"));
        assert_eq!(discover(&plugins[..2], dir.path()).unwrap(), None);
        let jsonnet = [plugin("jsonnet", serde_json::json!({"fileName": "./main.jsonnet"}))];
        assert!(discover(&jsonnet, dir.path()).unwrap().is_some());
    }

    #[test]
    fn parameter_variable_names_follow_upstream() {
        assert_eq!(param_var("image.tag"), "IMAGE_TAG");
        assert_eq!(param_var("my-param_2"), "MY_PARAM_2");
    }

    #[test]
    fn reads_a_config_management_plugin_manifest() {
        let m = serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "ConfigManagementPlugin",
            "metadata": {"name": "cdk8s"},
            "spec": {"version": "v1.0", "init": {"command": ["sh", "-c"], "args": ["true"]},
                     "generate": {"command": ["cat", "out.yaml"]}, "discover": {"fileName": "*.cdk8s"}}
        });
        let p = PluginDefinition::from_manifest(&m).unwrap();
        assert_eq!(p.full_name(), "cdk8s-v1.0");
        assert_eq!(p.generate.command, vec!["cat", "out.yaml"]);
        assert!(PluginDefinition::from_manifest(&serde_json::json!({"spec": {}})).is_err());
    }
}
