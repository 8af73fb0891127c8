//! `AppProject`: the guard rails a group of Applications lives within — which repos, which
//! destinations, which kinds, who may do what, and when syncing is allowed.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{Extra, ObjectMeta};

/// An `argoproj.io/v1alpha1` AppProject.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppProject {
    /// `argoproj.io/v1alpha1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `AppProject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Object metadata.
    #[serde(default, skip_serializing_if = "crate::meta::is_default")]
    #[schemars(with = "crate::crd::EmbeddedMetadata")]
    pub metadata: ObjectMeta,
    /// Project rules.
    #[serde(default, skip_serializing_if = "crate::meta::is_default")]
    pub spec: AppProjectSpec,
    /// Observed state (issued role tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AppProjectStatus>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// The rules of a project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppProjectSpec {
    /// Repository URLs (globs, `!` negation) Applications may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_repos: Option<Vec<String>>,
    /// Clusters and namespaces Applications may deploy to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destinations: Option<Vec<ApplicationDestinationRule>>,
    /// Free-text description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Project roles and their policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<ProjectRole>>,
    /// Cluster-scoped kinds that may be deployed (empty denies all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_resource_whitelist: Option<Vec<ClusterResourceRestrictionItem>>,
    /// Namespaced kinds that may not be deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_resource_blacklist: Option<Vec<GroupKindRule>>,
    /// Warn about or ignore resources no Application manages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orphaned_resources: Option<OrphanedResourcesMonitorSettings>,
    /// When syncs are allowed or denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_windows: Option<Vec<SyncWindow>>,
    /// Namespaced kinds that may be deployed (absent allows all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_resource_whitelist: Option<Vec<GroupKindRule>>,
    /// GPG keys commits must be signed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_keys: Option<Vec<SignatureKey>>,
    /// Cluster-scoped kinds that may not be deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_resource_blacklist: Option<Vec<ClusterResourceRestrictionItem>>,
    /// Namespaces Applications of this project may live in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_namespaces: Option<Vec<String>>,
    /// Only clusters scoped to this project may be destinations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permit_only_project_scoped_clusters: Option<bool>,
    /// Service accounts to impersonate per destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_service_accounts: Option<Vec<ApplicationDestinationServiceAccount>>,
    /// Source integrity (signature) policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_integrity: Option<SourceIntegrity>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// An allowed destination: server or cluster name (globs, `!` negation) and namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApplicationDestinationRule {
    /// API server URL pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Namespace pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Cluster name pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A namespaced group/kind in a white- or blacklist.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GroupKindRule {
    /// API group pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A cluster-scoped group/kind (optionally by name) in a white- or blacklist.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClusterResourceRestrictionItem {
    /// API group pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Resource name pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A project role: a name, policies and the groups it applies to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectRole {
    /// Role name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Casbin policy lines (`p, proj:<project>:<role>, applications, get, <project>/*, allow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<String>>,
    /// Issued tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_tokens: Option<Vec<JwtToken>>,
    /// SSO groups that get this role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// An issued project token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JwtToken {
    /// Issued-at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Expiry, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Orphaned resource monitoring.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrphanedResourcesMonitorSettings {
    /// Raise an `OrphanedResourceWarning` condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<bool>,
    /// Resources not to report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<OrphanedResourceKey>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A resource (pattern) excluded from orphan reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrphanedResourceKey {
    /// API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A time window in which syncs are allowed or denied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncWindow {
    /// `allow` or `deny`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Cron schedule of the window's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Length of the window, e.g. `1h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Application name patterns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applications: Option<Vec<String>>,
    /// Namespace patterns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// Cluster patterns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<String>>,
    /// Allow manual syncs during a deny window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_sync: Option<bool>,
    /// Time zone of the schedule (IANA name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Match only when all of applications/namespaces/clusters match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub and_operator: Option<bool>,
    /// Let a sync started in an allow window finish after it closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_overrun: Option<bool>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A GPG key id commits must be signed with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SignatureKey {
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "keyID")]
    pub key_id: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Service account to impersonate for a destination.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDestinationServiceAccount {
    /// API server URL pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Namespace pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Service account (`namespace:name` or `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_service_account: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Source integrity policies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SourceIntegrity {
    /// Git policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<SourceIntegrityGit>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Git source integrity policies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SourceIntegrityGit {
    /// Policies, matched by repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<SourceIntegrityGitPolicy>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A Git signature policy for some repositories.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SourceIntegrityGitPolicy {
    /// Repositories the policy applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repos: Option<Vec<SourceIntegrityGitPolicyRepo>>,
    /// GPG verification settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpg: Option<SourceIntegrityGitPolicyGpg>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A repository URL pattern.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SourceIntegrityGitPolicyRepo {
    /// URL pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// GPG verification settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SourceIntegrityGitPolicyGpg {
    /// Verification mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Accepted key ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Observed state of a project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppProjectStatus {
    /// Issued tokens per role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_tokens_by_role: Option<BTreeMap<String, JwtTokens>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Issued tokens of one role.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JwtTokens {
    /// Tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<JwtToken>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}
