//! From rendered manifests to the desired state a sync applies: namespaces defaulted for
//! namespaced kinds only, cluster-scoped kinds stripped of a namespace, duplicates folded (the
//! last one wins, as upstream) with a `RepeatedResourceWarning`, and the tracking
//! label/annotation set.

use std::collections::HashMap;

use serde_json::Value;
use tiphys_resource::ResourceKey;

use crate::tracking::TrackingConfig;
use crate::{CompareError, LiveLookup};

/// Scopes of the kinds the desired set itself defines (CustomResourceDefinitions), for kinds
/// the cluster does not know yet.
pub(crate) struct Scopes<'a> {
    lookup: &'a dyn LiveLookup,
    crds: HashMap<(String, String), bool>,
}

impl<'a> Scopes<'a> {
    pub(crate) fn new(lookup: &'a dyn LiveLookup, desired: &[Value]) -> Self {
        let mut crds = HashMap::new();
        for obj in desired {
            if obj.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
                continue;
            }
            let spec = &obj["spec"];
            let (Some(group), Some(kind)) =
                (spec["group"].as_str(), spec.get("names").and_then(|n| n["kind"].as_str()))
            else {
                continue;
            };
            crds.insert((group.to_string(), kind.to_string()), spec["scope"].as_str() != Some("Cluster"));
        }
        Scopes { lookup, crds }
    }

    /// Whether the kind is namespaced: the cluster's discovery, else a CRD in the desired
    /// set, else the built-in list of cluster-scoped kinds; `None` when nobody knows.
    pub(crate) fn is_namespaced(&self, group: &str, kind: &str) -> Option<bool> {
        self.lookup
            .is_namespaced(group, kind)
            .or_else(|| self.crds.get(&(group.to_string(), kind.to_string())).copied())
            .or_else(|| tiphys_diff::compare::is_cluster_scoped(group, kind).then_some(false))
    }
}

/// The prepared desired state.
pub(crate) struct Prepared {
    /// Objects in render order (a duplicate keeps its first position, last content).
    pub(crate) objects: Vec<Value>,
    /// `RepeatedResourceWarning` messages.
    pub(crate) repeated: Vec<String>,
    /// Namespaced objects left without a namespace (the destination has none).
    pub(crate) missing_namespace: Vec<String>,
}

fn set_namespace(obj: &mut Value, namespace: Option<&str>) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    match namespace {
        Some(ns) => {
            meta.insert("namespace".into(), Value::String(ns.to_string()));
        }
        None => {
            meta.remove("namespace");
        }
    }
}

/// Prepares rendered objects; an object without apiVersion/kind/name fails the whole
/// comparison as upstream's manifest unmarshalling does.
pub(crate) fn prepare(
    rendered: Vec<Value>,
    destination_namespace: &str,
    scopes: &Scopes<'_>,
    tracking: &TrackingConfig,
) -> Result<Prepared, CompareError> {
    let mut objects: Vec<Value> = Vec::with_capacity(rendered.len());
    let mut keys: Vec<ResourceKey> = Vec::with_capacity(rendered.len());
    let mut index: HashMap<ResourceKey, (usize, usize)> = HashMap::with_capacity(rendered.len());
    let mut missing_namespace = Vec::new();
    for (i, mut obj) in rendered.into_iter().enumerate() {
        let mut key = ResourceKey::of(&obj)
            .map_err(|e| CompareError::InvalidManifest { object: describe(&obj), message: e.to_string() })?;
        if key.name.is_empty() {
            return Err(CompareError::InvalidManifest {
                object: describe(&obj),
                message: "metadata.name (or generateName) is required".into(),
            });
        }
        match scopes.is_namespaced(&key.group, &key.kind) {
            Some(true) if key.namespace.is_empty() => {
                if destination_namespace.is_empty() {
                    missing_namespace.push(format!(
                        "Namespace for {} {} is missing.",
                        key.name,
                        gvk_text(&obj)
                    ));
                } else {
                    key.namespace = destination_namespace.to_string();
                    set_namespace(&mut obj, Some(destination_namespace));
                }
            }
            Some(false) if !key.namespace.is_empty() => {
                key.namespace.clear();
                set_namespace(&mut obj, None);
            }
            _ => {}
        }
        let generated = obj.pointer("/metadata/name").and_then(Value::as_str).is_none_or(str::is_empty);
        tracking.tracking.set_tracking(&mut obj, &tracking.instance_name, destination_namespace).map_err(
            |e| CompareError::InvalidManifest {
                object: describe(&obj),
                message: format!("cannot set tracking: {e}"),
            },
        )?;
        // Objects named by generateName are distinct per position, as upstream keys them.
        let dedup_key = if generated {
            ResourceKey { name: format!("{}{i}", key.name), ..key.clone() }
        } else {
            key.clone()
        };
        match index.get_mut(&dedup_key) {
            Some((pos, count)) => {
                objects[*pos] = obj;
                *count += 1;
            }
            None => {
                index.insert(dedup_key, (objects.len(), 1));
                objects.push(obj);
                keys.push(key);
            }
        }
    }
    let mut repeated: Vec<(usize, String)> = index
        .into_iter()
        .filter(|(_, (_, count))| *count > 1)
        .map(|(_, (pos, count))| {
            (pos, format!("Resource {} appeared {count} times among application resources.", keys[pos]))
        })
        .collect();
    repeated.sort();
    Ok(Prepared { objects, repeated: repeated.into_iter().map(|(_, m)| m).collect(), missing_namespace })
}

/// A kind as Go's `schema.GroupVersionKind.String()` prints it (`/v1, Kind=ConfigMap`).
fn gvk_text(obj: &Value) -> String {
    tiphys_resource::GroupVersionKind::of(obj)
        .map(|g| format!("{}/{}, Kind={}", g.group, g.version, g.kind))
        .unwrap_or_default()
}

/// Upstream's managed namespace: with `CreateNamespace=true` and `managedNamespaceMetadata`,
/// a destination namespace this app already tracks counts as desired (with the metadata's
/// labels and annotations) even though Git does not define it, so it is compared instead of
/// pruned.
pub(crate) fn managed_namespace(
    app: &tiphys_model::Application,
    destination_namespace: &str,
    desired: &[Value],
    live: &[Value],
    tracking: &TrackingConfig,
) -> Option<Value> {
    let policy = app.spec.sync_policy.as_ref()?;
    let metadata = policy.managed_namespace_metadata.as_ref()?;
    let create = policy.sync_options.iter().flatten().any(|o| o.trim() == "CreateNamespace=true");
    let is_ns = |o: &Value| {
        o.get("kind").and_then(Value::as_str) == Some("Namespace")
            && o.get("apiVersion").and_then(Value::as_str) == Some("v1")
            && o.pointer("/metadata/name").and_then(Value::as_str) == Some(destination_namespace)
    };
    if !create || destination_namespace.is_empty() || desired.iter().any(is_ns) || !live.iter().any(is_ns) {
        return None;
    }
    let mut meta = serde_json::Map::new();
    meta.insert("name".into(), Value::String(destination_namespace.to_string()));
    let as_map = |m: &std::collections::BTreeMap<String, String>| {
        Value::Object(m.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
    };
    if let Some(labels) = metadata.labels.as_ref().filter(|l| !l.is_empty()) {
        meta.insert("labels".into(), as_map(labels));
    }
    if let Some(annotations) = metadata.annotations.as_ref().filter(|a| !a.is_empty()) {
        meta.insert("annotations".into(), as_map(annotations));
    }
    let mut ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta});
    tracking.tracking.set_tracking(&mut ns, &tracking.instance_name, destination_namespace).ok()?;
    Some(ns)
}

/// Upstream's `HasChangedManagedNamespaceMetadata`: the spec's managed namespace metadata is
/// not what the last sync applied, so the app is OutOfSync until the next sync.
pub(crate) fn managed_namespace_metadata_changed(app: &tiphys_model::Application) -> bool {
    let Some(wanted) = app.spec.sync_policy.as_ref().and_then(|p| p.managed_namespace_metadata.as_ref())
    else {
        return false;
    };
    let applied =
        app.status.as_ref().and_then(|s| s.operation_state.as_ref()).and_then(|o| o.sync_result.as_ref());
    applied.is_some_and(|r| r.managed_namespace_metadata.as_ref() != Some(wanted))
}

/// `apiVersion kind name` of a possibly malformed object, for messages.
pub(crate) fn describe(obj: &Value) -> String {
    let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("?").to_string();
    format!("{} {} {}", s("/apiVersion"), s("/kind"), s("/metadata/name"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use tiphys_resource::tracking::TrackingMethod;

    struct NoCluster;

    impl LiveLookup for NoCluster {
        fn is_namespaced(&self, _group: &str, kind: &str) -> Option<bool> {
            (kind == "ConfigMap").then_some(true)
        }

        fn live_object(&self, _key: &ResourceKey) -> Option<Value> {
            None
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-zA-Z:/._-]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("apiVersion".to_string()),
                        Just("kind".to_string()),
                        Just("metadata".to_string()),
                        Just("name".to_string()),
                        Just("namespace".to_string()),
                        Just("generateName".to_string()),
                        Just("annotations".to_string()),
                        Just("labels".to_string()),
                        "[a-z]{1,6}",
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever a renderer returns, preparing it never panics, and what it keeps is a
        /// tracked object with a name.
        #[test]
        fn prepare_never_panics(objects in prop::collection::vec(json_value(), 0..6), ns in "[a-z]{0,5}") {
            let lookup = NoCluster;
            let scopes = Scopes::new(&lookup, &objects);
            let tracking = TrackingConfig::new(TrackingMethod::AnnotationAndLabel, "app");
            if let Ok(p) = prepare(objects, &ns, &scopes, &tracking) {
                for o in &p.objects {
                    prop_assert!(ResourceKey::of(o).is_ok_and(|k| !k.name.is_empty()));
                }
            }
        }

        /// Summaries of arbitrary objects never panic.
        #[test]
        fn summarize_never_panics(objects in prop::collection::vec(json_value(), 0..6)) {
            let _ = crate::summary::summarize(objects.iter());
        }
    }

    #[test]
    fn duplicates_keep_the_last_content_and_first_position() {
        let lookup = NoCluster;
        let objs = vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"v": "1"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "x"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns"}, "data": {"v": "2"}}),
        ];
        let scopes = Scopes::new(&lookup, &objs);
        let p =
            prepare(objs, "ns", &scopes, &TrackingConfig::new(TrackingMethod::Annotation, "app")).unwrap();
        assert_eq!(p.objects.len(), 2);
        assert_eq!(p.objects[0]["data"]["v"], "2");
        assert_eq!(p.repeated, ["Resource /ConfigMap/ns/a appeared 2 times among application resources."]);
        // Unknown kind (Secret is not known to this lookup): namespace kept as rendered.
        assert_eq!(p.objects[1]["metadata"]["namespace"], "x");
        assert!(p.missing_namespace.is_empty());
    }

    #[test]
    fn namespaced_objects_without_any_namespace_are_reported() {
        let lookup = NoCluster;
        let objs = vec![json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}})];
        let scopes = Scopes::new(&lookup, &objs);
        let p = prepare(objs, "", &scopes, &TrackingConfig::new(TrackingMethod::Annotation, "app")).unwrap();
        assert_eq!(p.missing_namespace, ["Namespace for cfg /v1, Kind=ConfigMap is missing."]);
    }
}
