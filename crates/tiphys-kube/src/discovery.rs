//! API discovery: which group/version/resources a cluster serves, and the mapping between
//! `GroupKind` (what manifests and Argo CD's settings talk about) and the resource a request
//! has to address (plural, scope, version).

use std::collections::HashMap;

use tiphys_resource::{GroupKind, GroupVersionKind};

/// One served resource of one group/version, as discovery reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResourceInfo {
    /// API group; empty for the core group.
    pub group: String,
    /// Version, e.g. `v1`.
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// The URL segment, e.g. `deployments`.
    pub plural: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Verbs the server allows (`get`, `list`, `watch`, `patch`, ...).
    pub verbs: Vec<String>,
    /// Whether this is the version the server prefers for its group.
    pub preferred: bool,
}

impl ApiResourceInfo {
    /// Whether the server allows `verb` on this resource.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// The group and kind, without version.
    pub fn group_kind(&self) -> GroupKind {
        GroupKind::new(self.group.clone(), self.kind.clone())
    }

    /// The `apiVersion` string.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// The kube-rs description used to build requests.
    pub(crate) fn api_resource(&self) -> kube::discovery::ApiResource {
        kube::discovery::ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: self.api_version(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }
}

/// Everything one discovery pass found, indexed both ways. Immutable: a refresh builds a new
/// catalog, so readers keep a consistent snapshot (`Arc<ApiCatalog>`).
#[derive(Debug, Clone, Default)]
pub struct ApiCatalog {
    resources: Vec<ApiResourceInfo>,
    by_gvk: HashMap<GroupVersionKind, usize>,
    preferred: HashMap<GroupKind, usize>,
    api_versions: Vec<String>,
    server_version: String,
}

impl ApiCatalog {
    /// Builds the indexes. For each GroupKind the preferred-version entry wins; a kind that
    /// exists only in non-preferred versions maps to the first one listed.
    pub fn new(resources: Vec<ApiResourceInfo>) -> Self {
        let mut by_gvk = HashMap::with_capacity(resources.len());
        let mut preferred: HashMap<GroupKind, usize> = HashMap::new();
        for (i, r) in resources.iter().enumerate() {
            by_gvk.insert(
                GroupVersionKind { group: r.group.clone(), version: r.version.clone(), kind: r.kind.clone() },
                i,
            );
            match preferred.get(&r.group_kind()) {
                Some(&j) if resources[j].preferred || !r.preferred => {}
                _ => {
                    preferred.insert(r.group_kind(), i);
                }
            }
        }
        let mut api_versions: Vec<String> = resources
            .iter()
            .flat_map(|r| {
                let gv =
                    if r.group.is_empty() { r.version.clone() } else { format!("{}/{}", r.group, r.version) };
                [format!("{gv}/{}", r.kind), gv]
            })
            .collect();
        api_versions.sort();
        api_versions.dedup();
        ApiCatalog { resources, by_gvk, preferred, api_versions, server_version: String::new() }
    }

    /// The catalog with the server's version (`/version`'s `gitVersion`), kept as its
    /// `major.minor.patch` core: `v1.29.1-eks-b9c9ed7` is `1.29.1`. Helm charts compare
    /// `.Capabilities.KubeVersion` with semver ranges that a pre-release suffix would fail.
    pub fn with_server_version(mut self, git_version: &str) -> Self {
        let core = git_version.trim().trim_start_matches('v');
        let end = core.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(core.len());
        self.server_version = core[..end].trim_end_matches('.').to_string();
        self
    }

    /// The server's Kubernetes version (`1.33.0`), or empty when it could not be read: what
    /// renders get as `KUBE_VERSION` and Helm's `.Capabilities.KubeVersion`.
    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    /// Every served `group/version` and `group/version/Kind`, sorted: what renders get as
    /// `KUBE_API_VERSIONS` and Helm's `.Capabilities.APIVersions`. Computed once per
    /// discovery instead of once per comparison.
    pub fn api_versions(&self) -> &[String] {
        &self.api_versions
    }

    /// Every resource of every served group/version.
    pub fn resources(&self) -> &[ApiResourceInfo] {
        &self.resources
    }

    /// The resource serving `gvk` exactly.
    pub fn resolve_gvk(&self, gvk: &GroupVersionKind) -> Option<&ApiResourceInfo> {
        self.by_gvk.get(gvk).map(|&i| &self.resources[i])
    }

    /// The preferred-version resource of a group/kind.
    pub fn resolve(&self, gk: &GroupKind) -> Option<&ApiResourceInfo> {
        self.preferred.get(gk).map(|&i| &self.resources[i])
    }

    /// One entry per GroupKind (its preferred version) that can be listed and watched: what
    /// the live-state cache watches.
    pub fn watchable(&self) -> impl Iterator<Item = &ApiResourceInfo> {
        let mut picks: Vec<usize> = self.preferred.values().copied().collect();
        picks.sort_unstable();
        picks.into_iter().map(|i| &self.resources[i]).filter(|r| r.supports("list") && r.supports("watch"))
    }
}

/// Runs discovery through kube-rs: aggregated discovery (2 requests) when the server offers
/// it, the per-group walk otherwise.
pub(crate) async fn discover(client: &kube::Client, server: &str) -> crate::Result<ApiCatalog> {
    use kube::discovery::{Discovery, Scope};
    let found = match Discovery::new(client.clone()).run_aggregated().await {
        Ok(found) => found,
        Err(aggregated) => {
            tracing::debug!(error = %aggregated, "aggregated discovery failed; walking groups");
            Discovery::new(client.clone())
                .run()
                .await
                .map_err(|e| crate::Error::Discovery { server: server.to_string(), message: e.to_string() })?
        }
    };
    let mut resources = Vec::new();
    for group in found.groups() {
        let preferred = group.preferred_version_or_latest().to_string();
        for version in group.versions() {
            for (ar, caps) in group.versioned_resources(version) {
                resources.push(ApiResourceInfo {
                    preferred: ar.version == preferred,
                    group: ar.group,
                    version: ar.version,
                    kind: ar.kind,
                    plural: ar.plural,
                    namespaced: caps.scope == Scope::Namespaced,
                    verbs: caps.operations,
                });
            }
        }
    }
    // The version only feeds renders (Helm capabilities, KUBE_VERSION): without it they use
    // their defaults, as before.
    let version = match client.apiserver_version().await {
        Ok(info) => info.git_version,
        Err(e) => {
            tracing::debug!(error = %e, server, "cannot read the server version");
            String::new()
        }
    };
    Ok(ApiCatalog::new(resources).with_server_version(&version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_version_keeps_its_numeric_core() {
        let version = |v: &str| ApiCatalog::default().with_server_version(v).server_version().to_string();
        assert_eq!(version("v1.33.0"), "1.33.0");
        assert_eq!(version("v1.29.1-eks-b9c9ed7"), "1.29.1");
        assert_eq!(version("v1.30.2+k3s1"), "1.30.2");
        assert_eq!(version("v1.33.0-tiphys-sandbox"), "1.33.0");
        assert_eq!(version(""), "");
        assert_eq!(version("garbage"), "");
    }

    #[test]
    fn api_versions_list_group_versions_and_kinds_once() {
        let catalog = ApiCatalog::new(vec![
            info("", "v1", "ConfigMap", true, &["list"]),
            info("", "v1", "Secret", true, &["list"]),
            info("apps", "v1", "Deployment", true, &["list"]),
        ]);
        assert_eq!(
            catalog.api_versions(),
            ["apps/v1", "apps/v1/Deployment", "v1", "v1/ConfigMap", "v1/Secret"]
        );
    }

    fn info(group: &str, version: &str, kind: &str, preferred: bool, verbs: &[&str]) -> ApiResourceInfo {
        ApiResourceInfo {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: format!("{}s", kind.to_lowercase()),
            namespaced: true,
            verbs: verbs.iter().map(|v| v.to_string()).collect(),
            preferred,
        }
    }

    #[test]
    fn preferred_version_wins_whatever_the_order() {
        let all = ["get", "list", "watch"];
        let catalog = ApiCatalog::new(vec![
            info("autoscaling", "v2beta2", "HorizontalPodAutoscaler", false, &all),
            info("autoscaling", "v2", "HorizontalPodAutoscaler", true, &all),
            info("autoscaling", "v1", "HorizontalPodAutoscaler", false, &all),
        ]);
        let gk = GroupKind::new("autoscaling", "HorizontalPodAutoscaler");
        assert_eq!(catalog.resolve(&gk).map(|r| r.version.as_str()), Some("v2"));
        let v1 =
            GroupVersionKind { group: "autoscaling".into(), version: "v1".into(), kind: gk.kind.clone() };
        assert_eq!(catalog.resolve_gvk(&v1).map(|r| r.version.as_str()), Some("v1"));
        assert_eq!(catalog.watchable().count(), 1);
    }

    #[test]
    fn watchable_needs_list_and_watch() {
        let catalog = ApiCatalog::new(vec![
            info("", "v1", "Binding", true, &["create"]),
            info("", "v1", "ConfigMap", true, &["get", "list", "watch", "patch"]),
            info("authorization.k8s.io", "v1", "SelfSubjectAccessReview", true, &["create"]),
        ]);
        let kinds: Vec<&str> = catalog.watchable().map(|r| r.kind.as_str()).collect();
        assert_eq!(kinds, ["ConfigMap"]);
        assert!(catalog.resolve(&GroupKind::new("", "Binding")).is_some(), "still resolvable for writes");
        assert!(catalog.resolve(&GroupKind::new("", "Nope")).is_none());
    }
}
