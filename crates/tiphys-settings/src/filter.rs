//! `resource.exclusions` / `resource.inclusions`: which API group/kind/cluster combinations the
//! controller ignores entirely, with upstream's glob matching (`*` also crosses `.` and `/`).

use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use serde_json::Value;

use crate::argocd_cm::Reader;

/// (group, kind) patterns upstream never watches whatever argocd-cm says: high-churn objects
/// nobody manages with GitOps. One list for every crate that filters kinds.
pub const ALWAYS_EXCLUDED: [(&str, &str); 6] = [
    ("", "Event"),
    ("events.k8s.io", "*"),
    ("metrics.k8s.io", "*"),
    ("coordination.k8s.io", "Lease"),
    ("", "Endpoints"),
    ("discovery.k8s.io", "EndpointSlice"),
];

/// One entry of `resource.exclusions` / `resource.inclusions`; an empty list matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FilteredResource {
    /// API group globs (`""` is the core group).
    pub api_groups: Vec<String>,
    /// Kind globs.
    pub kinds: Vec<String>,
    /// Cluster server URL globs.
    pub clusters: Vec<String>,
}

/// A [`FilteredResource`] with its globs compiled.
#[derive(Debug, Clone)]
struct Compiled {
    source: FilteredResource,
    groups: Vec<GlobMatcher>,
    kinds: Vec<GlobMatcher>,
    clusters: Vec<GlobMatcher>,
}

impl Compiled {
    fn new(source: FilteredResource) -> Result<Self, String> {
        let compile = |patterns: &[String]| -> Result<Vec<GlobMatcher>, String> {
            patterns
                .iter()
                .map(|p| Glob::new(p).map(|g| g.compile_matcher()).map_err(|e| format!("pattern {p:?}: {e}")))
                .collect()
        };
        Ok(Self {
            groups: compile(&source.api_groups)?,
            kinds: compile(&source.kinds)?,
            clusters: compile(&source.clusters)?,
            source,
        })
    }

    fn matches(&self, group: &str, kind: &str, cluster: &str) -> bool {
        let any =
            |globs: &[GlobMatcher], text: &str| globs.is_empty() || globs.iter().any(|g| g.is_match(text));
        any(&self.groups, group) && any(&self.kinds, kind) && any(&self.clusters, cluster)
    }
}

/// The exclusion and inclusion lists of one argocd-cm snapshot.
#[derive(Debug, Clone)]
pub struct ResourceFilter {
    exclusions: Vec<Compiled>,
    inclusions: Vec<Compiled>,
}

impl PartialEq for ResourceFilter {
    /// Equal when the configured lists are (the compiled matchers follow from them).
    fn eq(&self, other: &Self) -> bool {
        self.exclusions() == other.exclusions() && self.inclusions() == other.inclusions()
    }
}

impl Default for ResourceFilter {
    /// Nothing configured: only the always-excluded kinds are excluded.
    fn default() -> Self {
        Self::new(Vec::new(), Vec::new())
    }
}

impl ResourceFilter {
    /// Builds a filter from configured lists; the always-excluded kinds are added in front of
    /// the exclusions. Entries with an invalid glob are dropped (the settings loader reports
    /// them).
    pub fn new(exclusions: Vec<FilteredResource>, inclusions: Vec<FilteredResource>) -> Self {
        let always = ALWAYS_EXCLUDED.iter().map(|(g, k)| FilteredResource {
            api_groups: vec![(*g).to_string()],
            kinds: vec![(*k).to_string()],
            clusters: Vec::new(),
        });
        let compile =
            |list: Vec<FilteredResource>| list.into_iter().filter_map(|r| Compiled::new(r).ok()).collect();
        Self { exclusions: compile(always.chain(exclusions).collect()), inclusions: compile(inclusions) }
    }

    /// The exclusions, the always-excluded kinds first.
    pub fn exclusions(&self) -> Vec<&FilteredResource> {
        self.exclusions.iter().map(|c| &c.source).collect()
    }

    /// The inclusions; empty means everything not excluded is included.
    pub fn inclusions(&self) -> Vec<&FilteredResource> {
        self.inclusions.iter().map(|c| &c.source).collect()
    }

    /// Upstream's rule: excluded when any exclusion matches, or when inclusions are configured
    /// and none matches. `cluster_server` is the destination cluster's server URL.
    pub fn is_excluded(&self, group: &str, kind: &str, cluster_server: &str) -> bool {
        if self.exclusions.iter().any(|e| e.matches(group, kind, cluster_server)) {
            return true;
        }
        !self.inclusions.is_empty() && !self.inclusions.iter().any(|i| i.matches(group, kind, cluster_server))
    }

    /// Reads one list key (a YAML list of entries); bad entries are reported and skipped.
    pub(crate) fn read_list(reader: &mut Reader<'_>, key: &str) -> Vec<FilteredResource> {
        let Some(doc) = reader.yaml(key) else { return Vec::new() };
        let Value::Array(items) = doc else {
            reader.problem(
                key,
                "expected a YAML list of entries with apiGroups / kinds / clusters; the key is ignored",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            let entry = match serde_json::from_value::<FilteredResource>(item) {
                Ok(entry) => entry,
                Err(e) => {
                    reader.problem(
                        key,
                        format!("entry {index}: expected apiGroups / kinds / clusters lists of strings ({e}); the entry is ignored"),
                    );
                    continue;
                }
            };
            match Compiled::new(entry.clone()) {
                Ok(_) => out.push(entry),
                Err(e) => {
                    reader.problem(key, format!("entry {index}: invalid glob {e}; the entry is ignored"))
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::Settings;

    const IN_CLUSTER: &str = "https://kubernetes.default.svc";

    #[test]
    fn exclusions_match_groups_kinds_and_clusters_by_glob() {
        let (s, problems) = Settings::from_configmap(Some(&json!({"data": {
            "resource.exclusions": "- apiGroups:\n  - \"*.crossplane.io\"\n  kinds:\n  - \"*\"\n  clusters:\n  - https://prod-*\n- apiGroups: [cilium.io]\n  kinds: [CiliumIdentity]\n  clusters: [\"*\"]\n- kinds: [TaskRun]\n",
        }})));
        assert!(problems.is_empty(), "{problems:?}");
        assert!(s.is_excluded("ec2.aws.crossplane.io", "VPC", "https://prod-eu.example.com"));
        assert!(!s.is_excluded("ec2.aws.crossplane.io", "VPC", "https://staging.example.com"));
        assert!(s.is_excluded("cilium.io", "CiliumIdentity", IN_CLUSTER));
        assert!(!s.is_excluded("cilium.io", "CiliumNetworkPolicy", IN_CLUSTER));
        assert!(s.is_excluded("tekton.dev", "TaskRun", IN_CLUSTER), "empty apiGroups matches every group");
        assert!(s.is_excluded("coordination.k8s.io", "Lease", IN_CLUSTER), "always excluded");
        assert!(!s.is_excluded("", "ConfigMap", IN_CLUSTER));
    }

    #[test]
    fn inclusions_exclude_everything_else() {
        let (s, problems) = Settings::from_configmap(Some(&json!({"data": {
            "resource.inclusions": "- apiGroups: [\"\", apps]\n  kinds: [\"*\"]\n  clusters: [\"*\"]\n",
            "resource.exclusions": "- apiGroups: [apps]\n  kinds: [ReplicaSet]\n",
        }})));
        assert!(problems.is_empty(), "{problems:?}");
        assert!(!s.is_excluded("apps", "Deployment", IN_CLUSTER));
        assert!(!s.is_excluded("", "Service", IN_CLUSTER));
        assert!(s.is_excluded("apps", "ReplicaSet", IN_CLUSTER), "exclusions win over inclusions");
        assert!(s.is_excluded("batch", "Job", IN_CLUSTER), "not included");
        assert!(s.is_excluded("", "Event", IN_CLUSTER));
    }

    #[test]
    fn bad_lists_and_entries_are_reported() {
        let (s, problems) = Settings::from_configmap(Some(&json!({"data": {
            "resource.exclusions": "- apiGroups: [\"[oops\"]\n- apiGroups: apps\n- kinds: [Secret]\n",
            "resource.inclusions": "apiGroups: [x]\n",
        }})));
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.key == "resource.inclusions"));
        assert_eq!(problems.iter().filter(|p| p.key == "resource.exclusions").count(), 2);
        assert!(s.is_excluded("", "Secret", IN_CLUSTER), "the good entry is kept");
        assert!(!s.is_excluded("apps", "Deployment", IN_CLUSTER), "the bad entries are not");
        assert!(s.resource_filter.inclusions().is_empty());
    }
}
