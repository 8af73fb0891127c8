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
        ApiCatalog { resources, by_gvk, preferred }
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
    Ok(ApiCatalog::new(resources))
}

#[cfg(test)]
mod tests {
    use super::*;

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
