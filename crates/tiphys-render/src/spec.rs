//! The parts of an Application's source that rendering reads, spelled as upstream's JSON.
//!
//! These mirror upstream's `ApplicationSource*` types field for field so a source can be
//! deserialized straight from an Application's `spec.source`; unknown fields are ignored here
//! because the model crate, not the renderer, is responsible for preserving them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What `spec.source` (or one entry of `spec.sources`) says about where manifests come from
/// and how to render them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSource {
    /// Repository URL (git URL, or a Helm repository for `chart` sources).
    #[serde(default, rename = "repoURL")]
    pub repo_url: String,
    /// Directory inside the repository; empty or `.` means the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Branch, tag, commit SHA, `HEAD` or semver constraint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    /// Helm options; kept opaque here because Helm rendering lives in `tiphys-helm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<serde_json::Value>,
    /// Kustomize options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<ApplicationSourceKustomize>,
    /// Directory (plain manifests and Jsonnet) options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<ApplicationSourceDirectory>,
    /// Config management plugin options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<ApplicationSourcePlugin>,
    /// Helm chart name, for sources that point at a Helm repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<String>,
    /// Name other sources of a multi-source Application use as `$ref` to read files here.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub ref_: Option<String>,
}

/// Options for plain-manifest directories.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourceDirectory {
    /// Also read sub-directories.
    #[serde(default)]
    pub recurse: bool,
    /// Jsonnet options for `*.jsonnet` files.
    #[serde(default)]
    pub jsonnet: ApplicationSourceJsonnet,
    /// Glob of relative paths to skip; wins over `include`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exclude: String,
    /// Glob of relative paths to read; everything when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub include: String,
}

/// Jsonnet evaluation options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourceJsonnet {
    /// External variables (`std.extVar`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ext_vars: Vec<JsonnetVar>,
    /// Top-level arguments passed to a file that evaluates to a function.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tlas: Vec<JsonnetVar>,
    /// Library search directories, relative to the repository root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub libs: Vec<String>,
}

/// One Jsonnet variable: a string, or Jsonnet code when `code` is true.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JsonnetVar {
    /// Variable name.
    pub name: String,
    /// Value; build-environment variables in it are substituted.
    #[serde(default)]
    pub value: String,
    /// Whether `value` is Jsonnet code rather than a string.
    #[serde(default)]
    pub code: bool,
}

/// Kustomize options, applied as upstream's `kustomize edit` calls would.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourceKustomize {
    /// Prefix prepended to resource names.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name_prefix: String,
    /// Suffix appended to resource names.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name_suffix: String,
    /// Image overrides in `kustomize edit set image` syntax.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Labels added to every resource (and selectors, unless `labelWithoutSelector`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub common_labels: BTreeMap<String, String>,
    /// Annotations added to every resource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub common_annotations: BTreeMap<String, String>,
    /// Whether build-environment variables are substituted in annotation values.
    #[serde(default)]
    pub common_annotations_envsubst: bool,
    /// Overwrite labels the kustomization already sets instead of failing.
    #[serde(default)]
    pub force_common_labels: bool,
    /// Overwrite annotations the kustomization already sets instead of failing.
    #[serde(default)]
    pub force_common_annotations: bool,
    /// Add labels without touching selectors.
    #[serde(default)]
    pub label_without_selector: bool,
    /// With `labelWithoutSelector`, also label pod templates.
    #[serde(default)]
    pub label_include_templates: bool,
    /// Namespace for every namespaced resource.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Replica count overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<KustomizeReplica>,
    /// Patches appended to the kustomization's `patches`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<serde_json::Value>,
    /// Components added to the kustomization.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// Skip components whose directory does not exist instead of failing.
    #[serde(default)]
    pub ignore_missing_components: bool,
    /// Kustomize version name (upstream picks a binary by it); recorded, not used.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
}

/// A replica override: a resource name and a count (a number or a numeric string).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KustomizeReplica {
    /// Name of the Deployment/StatefulSet/... to scale.
    pub name: String,
    /// Replica count (upstream's IntOrString).
    pub count: serde_json::Value,
}

/// Which config management plugin renders the source, with its env and parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplicationSourcePlugin {
    /// Plugin name (`<name>` or `<name>-<version>`); discovered from files when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Extra environment, exported as `ARGOCD_ENV_<name>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvEntry>,
    /// Parameters, exported as `ARGOCD_APP_PARAMETERS` and `PARAM_<NAME>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<serde_json::Value>,
}

/// A name/value pair of the build environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvEntry {
    /// Variable name.
    pub name: String,
    /// Variable value.
    #[serde(default)]
    pub value: String,
}
