//! Whether an AppProject permits an Application's sources, destination and resources.
//!
//! Semantics follow upstream Argo CD:
//! - source repositories are compared after URL normalisation; `*` does not cross `/`
//!   (`**` does); a `!pattern` that does not match denies at once;
//! - a destination must match some entry on server (or cluster name) *and* namespace, and
//!   no `!` entry may exclude it;
//! - namespaced kinds: an absent whitelist allows all, an empty one allows none; cluster-scoped
//!   kinds need a whitelist entry (absent or empty allows none); blacklists always deny.

use tiphys_model::project::{AppProjectSpec, ClusterResourceRestrictionItem, GroupKindRule};

use crate::glob::{matches, matches_with_negation};

/// Upstream's Git URL normalisation for comparisons (shared with the Git cache and the
/// webhook, see `tiphys_resource::repo_url`).
pub use tiphys_resource::repo_url::normalize as normalize_repo_url;

/// Whether `repo_url` is one of the project's `sourceRepos`.
pub fn is_source_permitted(spec: &AppProjectSpec, repo_url: &str) -> bool {
    let wanted = normalize_repo_url(repo_url);
    let mut any = false;
    for pattern in spec.source_repos.iter().flatten() {
        let normalized = match pattern.strip_prefix('!') {
            Some(inner) => format!("!{}", normalize_repo_url(inner)),
            None => normalize_repo_url(pattern),
        };
        if matches_with_negation(&normalized, &wanted, true, Some('/')) {
            any = true;
        } else if normalized.starts_with('!') {
            return false;
        }
    }
    any
}

/// An Application's destination as the project sees it: the server URL and/or the cluster
/// name (whichever the Application used, with the other resolved when known) and namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destination<'a> {
    /// API server URL, empty when unknown.
    pub server: &'a str,
    /// Cluster name, empty when unknown.
    pub name: &'a str,
    /// Target namespace (empty for cluster-scoped resources).
    pub namespace: &'a str,
}

/// Whether the project's `destinations` allow `dst`.
pub fn is_destination_permitted(spec: &AppProjectSpec, dst: &Destination<'_>) -> bool {
    let mut any = false;
    let mut denied = false;
    for item in spec.destinations.iter().flatten() {
        let server_pattern = item.server.as_deref().unwrap_or_default();
        let name_pattern = item.name.as_deref().unwrap_or_default();
        let namespace_pattern = item.namespace.as_deref().unwrap_or_default();
        let name_ok = !dst.name.is_empty() && matches_with_negation(name_pattern, dst.name, true, None);
        let server_ok =
            !dst.server.is_empty() && matches_with_negation(server_pattern, dst.server, true, None);
        let namespace_ok = matches_with_negation(namespace_pattern, dst.namespace, true, None);
        if (server_ok || name_ok) && namespace_ok {
            any = true;
        } else if (!name_ok && name_pattern.starts_with('!'))
            || (!server_ok && server_pattern.starts_with('!'))
            || (!namespace_ok && namespace_pattern.starts_with('!'))
        {
            denied = true;
        }
    }
    any && !denied
}

fn in_namespaced_list(list: &[GroupKindRule], group: &str, kind: &str) -> bool {
    list.iter().any(|r| {
        matches(r.kind.as_deref().unwrap_or_default(), kind, Some('/'))
            && matches(r.group.as_deref().unwrap_or_default(), group, Some('/'))
    })
}

fn in_cluster_list(list: &[ClusterResourceRestrictionItem], group: &str, kind: &str, name: &str) -> bool {
    list.iter().any(|r| {
        matches(r.kind.as_deref().unwrap_or_default(), kind, Some('/'))
            && matches(r.group.as_deref().unwrap_or_default(), group, Some('/'))
            && r.name.as_deref().is_none_or(|n| n.is_empty() || matches(n, name, Some('/')))
    })
}

/// Whether a resource of this group/kind (and, for cluster-scoped kinds, name) may be
/// deployed by the project's Applications.
pub fn is_group_kind_permitted(
    spec: &AppProjectSpec,
    group: &str,
    kind: &str,
    name: &str,
    namespaced: bool,
) -> bool {
    if namespaced {
        let white = match &spec.namespace_resource_whitelist {
            None => true,
            Some(list) => in_namespaced_list(list, group, kind),
        };
        let black =
            spec.namespace_resource_blacklist.as_deref().is_some_and(|l| in_namespaced_list(l, group, kind));
        return white && !black;
    }
    let white =
        spec.cluster_resource_whitelist.as_deref().is_some_and(|l| in_cluster_list(l, group, kind, name));
    let black =
        spec.cluster_resource_blacklist.as_deref().is_some_and(|l| in_cluster_list(l, group, kind, name));
    white && !black
}

/// Whether an Application living in `app_namespace` may use this project: the controller's
/// own namespace always may; others must match `sourceNamespaces` (globs).
pub fn is_app_namespace_permitted(
    spec: &AppProjectSpec,
    app_namespace: &str,
    controller_namespace: &str,
) -> bool {
    app_namespace.is_empty()
        || app_namespace == controller_namespace
        || spec.source_namespaces.iter().flatten().any(|p| matches(p, app_namespace, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> AppProjectSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn repo_urls_normalise() {
        assert_eq!(normalize_repo_url("https://GitHub.com/Org/Repo.git/"), "https://github.com/org/repo");
        assert_eq!(normalize_repo_url("git@github.com:org/repo.git"), "ssh://git@github.com/org/repo");
    }

    #[test]
    fn sources_with_globs() {
        let s = spec(json!({"sourceRepos": ["https://github.com/org/*"]}));
        assert!(is_source_permitted(&s, "https://github.com/org/app.git"));
        assert!(is_source_permitted(&s, "https://github.com/Org/App"));
        assert!(!is_source_permitted(&s, "https://github.com/org/group/app"), "* does not cross /");
        assert!(!is_source_permitted(&s, "https://gitlab.com/org/app"));
        assert!(is_source_permitted(
            &spec(json!({"sourceRepos": ["https://github.com/org/**"]})),
            "https://github.com/org/a/b"
        ));
        assert!(is_source_permitted(&spec(json!({"sourceRepos": ["*"]})), "anything"));
        assert!(!is_source_permitted(&spec(json!({})), "https://github.com/org/app"));
    }

    #[test]
    fn negated_sources_deny_what_they_name_and_permit_the_rest() {
        // As upstream: a `!` entry that does not match counts as a match, so deny-lists are
        // written as ["*", "!url"] and anything not named is permitted.
        let s = spec(json!({"sourceRepos": ["*", "!https://github.com/org/secret"]}));
        assert!(is_source_permitted(&s, "https://github.com/org/app"));
        assert!(!is_source_permitted(&s, "https://github.com/org/secret.git"));
        let only_negation = spec(json!({"sourceRepos": ["!https://github.com/org/secret"]}));
        assert!(is_source_permitted(&only_negation, "https://gitlab.com/other/repo"));
    }

    #[test]
    fn destinations_need_cluster_and_namespace() {
        let s = spec(json!({"destinations": [
            {"server": "https://kubernetes.default.svc", "namespace": "team-*"},
            {"name": "prod-*", "namespace": "apps"},
        ]}));
        let d = |server, name, namespace| Destination { server, name, namespace };
        assert!(is_destination_permitted(&s, &d("https://kubernetes.default.svc", "", "team-a")));
        assert!(!is_destination_permitted(&s, &d("https://kubernetes.default.svc", "", "kube-system")));
        assert!(is_destination_permitted(&s, &d("", "prod-eu", "apps")));
        assert!(!is_destination_permitted(&s, &d("https://other", "", "team-a")));
    }

    #[test]
    fn a_negated_destination_excludes() {
        let s = spec(json!({"destinations": [
            {"server": "*", "namespace": "*"},
            {"server": "*", "namespace": "!kube-system"},
        ]}));
        let d = |namespace| Destination { server: "https://x", name: "", namespace };
        assert!(is_destination_permitted(&s, &d("default")));
        assert!(!is_destination_permitted(&s, &d("kube-system")));
    }

    #[test]
    fn resource_lists() {
        let open = spec(json!({}));
        assert!(
            is_group_kind_permitted(&open, "apps", "Deployment", "web", true),
            "no whitelist allows namespaced kinds"
        );
        assert!(
            !is_group_kind_permitted(&open, "", "Namespace", "ns", false),
            "no whitelist denies cluster-scoped kinds"
        );
        let s = spec(json!({
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}, {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "team-*"}],
            "namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}],
            "namespaceResourceWhitelist": [{"group": "*", "kind": "*"}]
        }));
        assert!(is_group_kind_permitted(&s, "", "Namespace", "a", false));
        assert!(is_group_kind_permitted(&s, "rbac.authorization.k8s.io", "ClusterRole", "team-view", false));
        assert!(!is_group_kind_permitted(&s, "rbac.authorization.k8s.io", "ClusterRole", "admin", false));
        assert!(!is_group_kind_permitted(&s, "", "ResourceQuota", "q", true));
        assert!(is_group_kind_permitted(&s, "apps", "Deployment", "d", true));
        let none = spec(json!({"namespaceResourceWhitelist": []}));
        assert!(
            !is_group_kind_permitted(&none, "apps", "Deployment", "d", true),
            "an empty whitelist allows nothing"
        );
    }

    #[test]
    fn app_namespaces() {
        let s = spec(json!({"sourceNamespaces": ["team-*"]}));
        assert!(is_app_namespace_permitted(&s, "argocd", "argocd"));
        assert!(is_app_namespace_permitted(&s, "team-a", "argocd"));
        assert!(!is_app_namespace_permitted(&s, "other", "argocd"));
    }
}
