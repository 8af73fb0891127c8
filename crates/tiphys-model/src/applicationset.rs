//! `ApplicationSet`: templated Applications from generators (lists, clusters, Git, SCM
//! providers, pull requests, matrix/merge, plugins).
//!
//! Generated from a field table by a one-off script; edit the Rust directly from now on.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::application::{ApplicationSpec, ResourceStatus};
use crate::meta::{
    ConfigMapKeyRef, Extra, HealthStatus, IntOrString, LabelSelector, ObjectMeta, RawJson, SecretRef,
};

/// An `argoproj.io/v1alpha1` ApplicationSet: generators produce parameter sets, each rendered through the template into an Application.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSet {
    /// `argoproj.io/v1alpha1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `ApplicationSet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Object metadata.
    #[serde(default, skip_serializing_if = "crate::meta::is_default")]
    #[schemars(with = "crate::crd::EmbeddedMetadata")]
    pub metadata: ObjectMeta,
    /// Generators, template and policies.
    #[serde(default, skip_serializing_if = "crate::meta::is_default")]
    pub spec: ApplicationSetSpec,
    /// Observed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ApplicationSetStatus>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// What an ApplicationSet generates and how.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetSpec {
    /// Render the template with Go templates instead of `{{param}}` substitution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_template: Option<bool>,
    /// Parameter generators; their results are concatenated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generators: Option<Vec<ApplicationSetGenerator>>,
    /// Application template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// What the ApplicationSet controller may do to generated Applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<ApplicationSetSyncPolicy>,
    /// Rollout strategy for updating generated Applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<ApplicationSetStrategy>,
    /// Fields of generated Applications left as users changed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserved_fields: Option<ApplicationPreservedFields>,
    /// Go template options, e.g. `missingkey=error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_template_options: Option<Vec<String>>,
    /// Apply selectors of nested generators (always on since 2.x).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_nested_selectors: Option<bool>,
    /// Fields of generated Applications not to overwrite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_application_differences: Option<Vec<ApplicationSetResourceIgnoreDifferences>>,
    /// A templated strategic-merge patch applied to each generated Application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_patch: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// The Application template: metadata and spec, with parameters in strings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetTemplate {
    /// Metadata of generated Applications.
    #[serde(default, skip_serializing_if = "crate::meta::is_default")]
    pub metadata: ApplicationSetTemplateMeta,
    /// Spec of generated Applications.
    #[serde(default, skip_serializing_if = "crate::meta::is_default")]
    pub spec: ApplicationSpec,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Metadata of generated Applications.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetTemplateMeta {
    /// Name (usually templated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Finalizers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalizers: Option<Vec<String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// One generator; exactly one field is set (plus an optional selector).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetGenerator {
    /// Literal parameter sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListGenerator>,
    /// One parameter set per registered cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<ClusterGenerator>,
    /// Parameter sets from directories or files in a Git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitGenerator>,
    /// One parameter set per repository of an SCM organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scm_provider: Option<ScmProviderGenerator>,
    /// Parameter sets from a cluster-decision resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_decision_resource: Option<DuckTypeGenerator>,
    /// One parameter set per open pull request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PullRequestGenerator>,
    /// Cartesian product of two generators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<MatrixGenerator>,
    /// Generators merged by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeGenerator>,
    /// Parameter sets from a plugin service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginGenerator>,
    /// Keep only parameter sets whose values match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A generator inside a matrix or merge; deeper nesting is kept as raw JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetNestedGenerator {
    /// Literal parameter sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListGenerator>,
    /// Registered clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<ClusterGenerator>,
    /// Git directories or files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitGenerator>,
    /// SCM repositories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scm_provider: Option<ScmProviderGenerator>,
    /// Cluster-decision resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_decision_resource: Option<DuckTypeGenerator>,
    /// Pull requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PullRequestGenerator>,
    /// A nested matrix (one more level), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<RawJson>,
    /// A nested merge (one more level), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<RawJson>,
    /// Plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginGenerator>,
    /// Selector on generated values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Literal parameter sets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListGenerator {
    /// Parameter sets (maps, any values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements: Option<Vec<RawJson>>,
    /// Parameter sets as a YAML string (may be templated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements_yaml: Option<String>,
    /// Per-generator template override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// One parameter set per registered cluster matching the selector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterGenerator {
    /// Cluster Secret label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Per-generator template override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Extra values added to every parameter set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<BTreeMap<String, String>>,
    /// Produce one parameter set with all clusters as a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flat_list: Option<bool>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Parameter sets from a Git repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitGenerator {
    /// Repository URL.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "repoURL")]
    pub repo_url: Option<String>,
    /// Directory globs (one set per matching directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directories: Option<Vec<GitDirectoryGeneratorItem>>,
    /// File globs (one set per matching JSON/YAML file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<GitFileGeneratorItem>>,
    /// Revision to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Poll interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeue_after_seconds: Option<i64>,
    /// Per-generator template override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Prefix for the `path` parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_param_prefix: Option<String>,
    /// Extra values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<BTreeMap<String, String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A directory glob.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitDirectoryGeneratorItem {
    /// Glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Exclude matches instead of including them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A file glob.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitFileGeneratorItem {
    /// Glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Exclude matches instead of including them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Cartesian product of (exactly two) generators.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatrixGenerator {
    /// The generators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generators: Option<Vec<ApplicationSetNestedGenerator>>,
    /// Per-generator template override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Generators merged on shared keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MergeGenerator {
    /// The generators; the first is the base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generators: Option<Vec<ApplicationSetNestedGenerator>>,
    /// Keys that identify a parameter set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_keys: Option<Vec<String>>,
    /// Per-generator template override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Parameter sets from a cluster-decision resource (duck-typed status).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DuckTypeGenerator {
    /// ConfigMap describing the resource kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<String>,
    /// Resource name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Resource label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    /// Poll interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeue_after_seconds: Option<i64>,
    /// Per-generator template override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Extra values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<BTreeMap<String, String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Parameter sets from a plugin service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginGenerator {
    /// ConfigMap with the plugin's address and token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<PluginConfigMapRef>,
    /// Input passed to the plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<PluginInput>,
    /// Poll interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeue_after_seconds: Option<i64>,
    /// Per-generator template override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Extra values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<BTreeMap<String, String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Names the plugin's ConfigMap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginConfigMapRef {
    /// ConfigMap name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Input passed to a plugin generator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginInput {
    /// Parameters (any JSON values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<BTreeMap<String, RawJson>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// One parameter set per repository (and branch) of an SCM organisation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderGenerator {
    /// GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<ScmProviderGithub>,
    /// GitLab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitlab: Option<ScmProviderGitlab>,
    /// Bitbucket Cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitbucket: Option<ScmProviderBitbucket>,
    /// Bitbucket Server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitbucket_server: Option<ScmProviderBitbucketServer>,
    /// Gitea.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitea: Option<ScmProviderGitea>,
    /// Azure DevOps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_dev_ops: Option<ScmProviderAzureDevOps>,
    /// AWS CodeCommit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_code_commit: Option<ScmProviderAwsCodeCommit>,
    /// Repository filters (OR of filters, AND within one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<ScmProviderFilter>>,
    /// `ssh` or `https`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_protocol: Option<String>,
    /// Poll interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeue_after_seconds: Option<i64>,
    /// Per-generator template override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Extra values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<BTreeMap<String, String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// GitHub organisation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderGithub {
    /// Organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// API URL for GitHub Enterprise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<SecretRef>,
    /// GitHub App credentials Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_secret_name: Option<String>,
    /// One set per branch instead of the default branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_branches: Option<bool>,
    /// Skip archived repositories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_archived_repos: Option<bool>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// GitLab group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderGitlab {
    /// Group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Include subgroups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_subgroups: Option<bool>,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<SecretRef>,
    /// One set per branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_branches: Option<bool>,
    /// Skip TLS verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Include shared projects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_shared_projects: Option<bool>,
    /// Only projects with this topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// CA certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_ref: Option<ConfigMapKeyRef>,
    /// Include archived projects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_archived_repos: Option<bool>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Bitbucket Cloud workspace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderBitbucket {
    /// Workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// User.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// App password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_password_ref: Option<SecretRef>,
    /// One set per branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_branches: Option<bool>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Bitbucket Server project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderBitbucketServer {
    /// Project key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Basic auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuthBitbucketServer>,
    /// One set per branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_branches: Option<bool>,
    /// Bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<BearerTokenBitbucket>,
    /// Skip TLS verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// CA certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_ref: Option<ConfigMapKeyRef>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Gitea owner.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderGitea {
    /// Owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<SecretRef>,
    /// One set per branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_branches: Option<bool>,
    /// Skip TLS verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Skip archived repositories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_archived_repos: Option<bool>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Azure DevOps team project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderAzureDevOps {
    /// Organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Team project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_project: Option<String>,
    /// Access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ref: Option<SecretRef>,
    /// One set per branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_branches: Option<bool>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// AWS CodeCommit repositories.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderAwsCodeCommit {
    /// Tag filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_filters: Option<Vec<TagFilter>>,
    /// IAM role to assume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// One set per branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_branches: Option<bool>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// An AWS tag filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagFilter {
    /// Tag key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Tag value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A repository filter; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderFilter {
    /// Repository name regex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_match: Option<String>,
    /// Paths that must exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths_exist: Option<Vec<String>>,
    /// Paths that must not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths_do_not_exist: Option<Vec<String>>,
    /// Label regex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_match: Option<String>,
    /// Branch regex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_match: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Basic auth for Bitbucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuthBitbucketServer {
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_ref: Option<SecretRef>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Bearer token for Bitbucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BearerTokenBitbucket {
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<SecretRef>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// One parameter set per open pull request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestGenerator {
    /// GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<PullRequestGeneratorGithub>,
    /// GitLab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitlab: Option<PullRequestGeneratorGitlab>,
    /// Gitea.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitea: Option<PullRequestGeneratorGitea>,
    /// Bitbucket Server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitbucket_server: Option<PullRequestGeneratorBitbucketServer>,
    /// Bitbucket Cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitbucket: Option<PullRequestGeneratorBitbucket>,
    /// Azure DevOps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azuredevops: Option<PullRequestGeneratorAzureDevOps>,
    /// Filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<PullRequestGeneratorFilter>>,
    /// Poll interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeue_after_seconds: Option<i64>,
    /// Per-generator template override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Produce nothing instead of failing when the repository is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_on_repo_not_found_error: Option<bool>,
    /// Extra values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<BTreeMap<String, String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// GitHub repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestGeneratorGithub {
    /// Owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<SecretRef>,
    /// GitHub App credentials Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_secret_name: Option<String>,
    /// Required labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// GitLab project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestGeneratorGitlab {
    /// Project id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<SecretRef>,
    /// Required labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// Merge request state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request_state: Option<String>,
    /// Skip TLS verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// CA certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_ref: Option<ConfigMapKeyRef>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Gitea repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestGeneratorGitea {
    /// Owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<SecretRef>,
    /// Skip TLS verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Required labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Bitbucket Server repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestGeneratorBitbucketServer {
    /// Project key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Basic auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuthBitbucketServer>,
    /// Bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<BearerTokenBitbucket>,
    /// Skip TLS verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// CA certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_ref: Option<ConfigMapKeyRef>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Bitbucket Cloud repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestGeneratorBitbucket {
    /// Workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Basic auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuthBitbucketServer>,
    /// Bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<BearerTokenBitbucket>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Azure DevOps repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestGeneratorAzureDevOps {
    /// Organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<SecretRef>,
    /// Required labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A pull request filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestGeneratorFilter {
    /// Source branch regex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_match: Option<String>,
    /// Target branch regex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_branch_match: Option<String>,
    /// Title regex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_match: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// What the controller may do to generated Applications.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetSyncPolicy {
    /// Keep the Applications' resources when the ApplicationSet is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_resources_on_deletion: Option<bool>,
    /// `create-only`, `create-update`, `create-delete` or `sync`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["create-only", "create-update", "create-delete", "sync"]))]
    pub applications_sync: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// How changes roll out to generated Applications.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetStrategy {
    /// `AllAtOnce` or `RollingSync`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Steps of a rolling sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_sync: Option<ApplicationSetRolloutStrategy>,
    /// `AllAtOnce` or `Reverse`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_order: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Steps of a rolling sync.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetRolloutStrategy {
    /// Steps, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<ApplicationSetRolloutStep>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// One rolling-sync step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetRolloutStep {
    /// Which Applications the step covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<ApplicationMatchExpression>>,
    /// How many (or what percentage) may update at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_update: Option<IntOrString>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A label requirement on generated Applications.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationMatchExpression {
    /// Label key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `In` or `NotIn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Fields kept as users changed them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationPreservedFields {
    /// Annotation keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Vec<String>>,
    /// Label keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Differences in generated Applications to leave alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetResourceIgnoreDifferences {
    /// Application name (all when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// JSON pointers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_pointers: Option<Vec<String>>,
    /// jq path expressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jq_path_expressions: Option<Vec<String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Observed state of an ApplicationSet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetStatus {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ApplicationSetCondition>>,
    /// Rolling-sync progress per Application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_status: Option<Vec<ApplicationSetApplicationStatus>>,
    /// Generated Applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ResourceStatus>>,
    /// Number of generated Applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_count: Option<i64>,
    /// Aggregated health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A condition of an ApplicationSet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetCondition {
    /// Condition type, e.g. `ErrorOccurred`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: Option<String>,
    /// `True`, `False` or `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Rolling-sync progress of one Application.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetApplicationStatus {
    /// Application name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// When it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: Option<String>,
    /// Explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `Waiting`, `Pending`, `Progressing` or `Healthy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Step number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Revisions being rolled out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revisions: Option<Vec<String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}
