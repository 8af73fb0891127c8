//! The resource types the sandbox serves: the built-in table and types derived from CRDs.
//!
//! Discovery, routing, OpenAPI and storage all read this one table, so a kind that appears in
//! `kubectl api-resources` is exactly a kind the server stores.

use serde_json::{Value, json};

/// Where the scale subresource reads and writes replica counts in an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    /// JSON path of the desired replica count, e.g. `.spec.replicas`.
    pub spec_replicas: String,
    /// JSON path of the observed replica count, e.g. `.status.replicas`.
    pub status_replicas: String,
    /// JSON path of the serialized label selector, if the type publishes one.
    pub label_selector: Option<String>,
}

/// One servable resource (a group/version/plural) and everything discovery says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// API group; empty for the core group.
    pub group: String,
    /// Served version.
    pub version: String,
    /// Kind of the objects, e.g. `Deployment`.
    pub kind: String,
    /// Lower-case plural used in URLs, e.g. `deployments`.
    pub plural: String,
    /// Lower-case singular, e.g. `deployment`.
    pub singular: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Short names accepted by kubectl, e.g. `deploy`.
    pub short_names: Vec<String>,
    /// Categories such as `all`.
    pub categories: Vec<String>,
    /// Whether the type has a `status` subresource (the main resource then ignores status).
    pub status_subresource: bool,
    /// Scale subresource, when the type has one.
    pub scale: Option<ScalePaths>,
    /// Whether the type belongs to a CRD (objects are deleted with the CRD).
    pub custom: bool,
    /// Whether the version is the group's preferred (storage) version.
    pub preferred: bool,
    /// A CRD version's `additionalPrinterColumns` (what `kubectl get` shows for it).
    pub printer_columns: Vec<PrinterColumn>,
}

/// One `additionalPrinterColumns` entry of a CRD version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterColumn {
    /// Column header.
    pub name: String,
    /// OpenAPI type (`string`, `integer`, `date`, ...).
    pub type_: String,
    /// Simple JSON path of the value (`.status.sync.status`).
    pub json_path: String,
    /// 0 shows by default; higher only with `-o wide`.
    pub priority: i64,
}

impl ResourceType {
    /// `group/version`, or `version` for the core group: the `apiVersion` of objects.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// `plural` or `plural.group`: how the API server names the resource in messages.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() { self.plural.clone() } else { format!("{}.{}", self.plural, self.group) }
    }

    /// Whether objects of this type carry `metadata.generation` (workloads, CRDs and custom
    /// resources do; ConfigMaps, Namespaces, Services do not).
    pub fn tracks_generation(&self) -> bool {
        self.custom
            || matches!(
                self.group.as_str(),
                "apps" | "batch" | "autoscaling" | "policy" | "apiextensions.k8s.io"
            )
            || (self.group.is_empty() && self.kind == "Pod")
    }

    /// The verbs discovery advertises.
    pub fn verbs(&self) -> Vec<&'static str> {
        vec!["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    }
}

/// `(plural, kind, namespaced, short names, categories, status, scale)`.
type Row = (&'static str, &'static str, bool, &'static [&'static str], bool, bool, bool);

const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];

/// `(group, version, rows)` of the built-in types the issue lists. `bool`s: namespaced,
/// in category `all`, status subresource, scale subresource.
const BUILTINS: &[(&str, &str, &[Row])] = &[
    (
        "",
        "v1",
        &[
            ("namespaces", "Namespace", false, &["ns"], false, true, false),
            ("configmaps", "ConfigMap", true, &["cm"], false, false, false),
            ("secrets", "Secret", true, NONE, false, false, false),
            ("services", "Service", true, &["svc"], true, true, false),
            ("serviceaccounts", "ServiceAccount", true, &["sa"], false, false, false),
            ("pods", "Pod", true, &["po"], true, true, false),
            ("persistentvolumeclaims", "PersistentVolumeClaim", true, &["pvc"], false, true, false),
            ("persistentvolumes", "PersistentVolume", false, &["pv"], false, true, false),
            ("endpoints", "Endpoints", true, &["ep"], false, false, false),
            ("events", "Event", true, &["ev"], false, false, false),
            ("limitranges", "LimitRange", true, &["limits"], false, false, false),
            ("resourcequotas", "ResourceQuota", true, &["quota"], false, true, false),
            ("nodes", "Node", false, &["no"], false, true, false),
        ],
    ),
    (
        "apps",
        "v1",
        &[
            ("deployments", "Deployment", true, &["deploy"], true, true, true),
            ("replicasets", "ReplicaSet", true, &["rs"], true, true, true),
            ("statefulsets", "StatefulSet", true, &["sts"], true, true, true),
            ("daemonsets", "DaemonSet", true, &["ds"], true, true, false),
            ("controllerrevisions", "ControllerRevision", true, NONE, false, false, false),
        ],
    ),
    (
        "batch",
        "v1",
        &[
            ("jobs", "Job", true, NONE, true, true, false),
            ("cronjobs", "CronJob", true, &["cj"], true, true, false),
        ],
    ),
    (
        "networking.k8s.io",
        "v1",
        &[
            ("ingresses", "Ingress", true, &["ing"], false, true, false),
            ("networkpolicies", "NetworkPolicy", true, &["netpol"], false, false, false),
            ("ingressclasses", "IngressClass", false, NONE, false, false, false),
        ],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        &[
            ("roles", "Role", true, NONE, false, false, false),
            ("rolebindings", "RoleBinding", true, NONE, false, false, false),
            ("clusterroles", "ClusterRole", false, NONE, false, false, false),
            ("clusterrolebindings", "ClusterRoleBinding", false, NONE, false, false, false),
        ],
    ),
    ("policy", "v1", &[("poddisruptionbudgets", "PodDisruptionBudget", true, &["pdb"], false, true, false)]),
    (
        "autoscaling",
        "v2",
        &[("horizontalpodautoscalers", "HorizontalPodAutoscaler", true, &["hpa"], true, true, false)],
    ),
    ("coordination.k8s.io", "v1", &[("leases", "Lease", true, NONE, false, false, false)]),
    ("storage.k8s.io", "v1", &[("storageclasses", "StorageClass", false, &["sc"], false, false, false)]),
    (
        "apiextensions.k8s.io",
        "v1",
        &[(
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
            &["crd", "crds"],
            false,
            true,
            false,
        )],
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        &[
            (
                "validatingwebhookconfigurations",
                "ValidatingWebhookConfiguration",
                false,
                NONE,
                false,
                false,
                false,
            ),
            (
                "mutatingwebhookconfigurations",
                "MutatingWebhookConfiguration",
                false,
                NONE,
                false,
                false,
                false,
            ),
        ],
    ),
];

/// The built-in types, in discovery order.
pub fn builtin_types() -> Vec<ResourceType> {
    let mut out = Vec::new();
    for (group, version, rows) in BUILTINS {
        for &(plural, kind, namespaced, short, all, status, scale) in rows.iter() {
            out.push(ResourceType {
                group: group.to_string(),
                version: version.to_string(),
                kind: kind.to_string(),
                plural: plural.to_string(),
                singular: kind.to_ascii_lowercase(),
                namespaced,
                short_names: short.iter().map(|s| s.to_string()).collect(),
                categories: if all { ALL.iter().map(|s| s.to_string()).collect() } else { Vec::new() },
                status_subresource: status,
                scale: scale.then(|| ScalePaths {
                    spec_replicas: ".spec.replicas".into(),
                    status_replicas: ".status.replicas".into(),
                    label_selector: Some(".status.selector".into()),
                }),
                custom: false,
                preferred: true,
                printer_columns: Vec::new(),
            });
        }
    }
    out
}

/// The types a CRD object makes servable: one per served version. A malformed CRD yields
/// none (the create/update path validates CRDs before they are stored).
pub fn types_of_crd(crd: &Value) -> Vec<ResourceType> {
    let spec = &crd["spec"];
    let (Some(group), Some(plural), Some(kind)) =
        (spec["group"].as_str(), spec["names"]["plural"].as_str(), spec["names"]["kind"].as_str())
    else {
        return Vec::new();
    };
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    let singular =
        spec["names"]["singular"].as_str().map(String::from).unwrap_or_else(|| kind.to_ascii_lowercase());
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    let storage = versions.iter().find(|v| v["storage"] == json!(true)).and_then(|v| v["name"].as_str());
    versions
        .iter()
        .filter(|v| v["served"] != json!(false))
        .filter_map(|v| {
            let name = v["name"].as_str()?;
            let sub = &v["subresources"];
            let scale = sub.get("scale").map(|s| ScalePaths {
                spec_replicas: s["specReplicasPath"].as_str().unwrap_or(".spec.replicas").to_string(),
                status_replicas: s["statusReplicasPath"].as_str().unwrap_or(".status.replicas").to_string(),
                label_selector: s["labelSelectorPath"].as_str().map(String::from),
            });
            Some(ResourceType {
                group: group.to_string(),
                version: name.to_string(),
                kind: kind.to_string(),
                plural: plural.to_string(),
                singular: singular.clone(),
                namespaced,
                short_names: strings(&spec["names"]["shortNames"]),
                categories: strings(&spec["names"]["categories"]),
                status_subresource: sub.get("status").is_some(),
                scale,
                custom: true,
                preferred: storage.is_none_or(|s| s == name),
                printer_columns: v["additionalPrinterColumns"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| {
                        Some(PrinterColumn {
                            name: c["name"].as_str()?.to_string(),
                            type_: c["type"].as_str().unwrap_or("string").to_string(),
                            json_path: c["jsonPath"].as_str()?.to_string(),
                            priority: c["priority"].as_i64().unwrap_or(0),
                        })
                    })
                    .collect(),
            })
        })
        .collect()
}

/// Reads the value at a simple JSON path such as `.spec.replicas`.
pub fn get_path<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    path.trim_start_matches('.').split('.').filter(|s| !s.is_empty()).try_fold(object, |v, seg| v.get(seg))
}

/// Writes `value` at a simple JSON path, creating intermediate objects; does nothing when a
/// non-object is in the way.
pub fn set_path(object: &mut Value, path: &str, value: Value) {
    let segs: Vec<&str> = path.trim_start_matches('.').split('.').filter(|s| !s.is_empty()).collect();
    let Some((last, parents)) = segs.split_last() else { return };
    let mut cur = object;
    for seg in parents {
        let Some(map) = cur.as_object_mut() else { return };
        cur = map.entry(seg.to_string()).or_insert_with(|| json!({}));
    }
    if let Some(map) = cur.as_object_mut() {
        map.insert(last.to_string(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_cover_the_issue_list() {
        let types = builtin_types();
        for (g, p) in [
            ("", "namespaces"),
            ("apps", "deployments"),
            ("batch", "cronjobs"),
            ("networking.k8s.io", "ingressclasses"),
            ("rbac.authorization.k8s.io", "clusterrolebindings"),
            ("policy", "poddisruptionbudgets"),
            ("autoscaling", "horizontalpodautoscalers"),
            ("coordination.k8s.io", "leases"),
            ("storage.k8s.io", "storageclasses"),
            ("apiextensions.k8s.io", "customresourcedefinitions"),
            ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
        ] {
            assert!(types.iter().any(|t| t.group == g && t.plural == p), "{g}/{p} missing");
        }
        let deploy = types.iter().find(|t| t.plural == "deployments").map(|t| t.scale.is_some());
        assert_eq!(deploy, Some(true));
    }

    #[test]
    fn crd_versions_become_types() {
        let crd = json!({"spec": {"group": "example.com", "scope": "Cluster",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"], "categories": ["all"]},
            "versions": [
                {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}, "scale": {
                    "specReplicasPath": ".spec.size", "statusReplicasPath": ".status.size"}}},
                {"name": "v1beta1", "served": false, "storage": false}]}});
        let types = types_of_crd(&crd);
        assert_eq!(types.len(), 1);
        let t = &types[0];
        assert_eq!((t.singular.as_str(), t.namespaced, t.status_subresource), ("widget", false, true));
        assert_eq!(t.scale.as_ref().map(|s| s.spec_replicas.as_str()), Some(".spec.size"));
        assert_eq!(t.short_names, vec!["wd"]);
    }

    #[test]
    fn paths_read_and_write() {
        let mut v = json!({"spec": {}});
        set_path(&mut v, ".spec.replicas", json!(3));
        set_path(&mut v, ".status.replicas", json!(2));
        assert_eq!(v, json!({"spec": {"replicas": 3}, "status": {"replicas": 2}}));
        assert_eq!(get_path(&v, ".status.replicas"), Some(&json!(2)));
        assert_eq!(get_path(&v, ".status.nope"), None);
    }
}
