//! Normalizations applied to both sides before comparing, as upstream applies them: fields the
//! API server writes, `status` (per `resource.compareoptions`), Secret `stringData`, empty or
//! aggregated RBAC rules, and annotations Argo CD itself manages.

use base64::Engine as _;
use serde_json::{Map, Value};
use tiphys_resource::annotations::{LAST_APPLIED, TRACKING_ID};

use crate::compare::{CompareOptions, StatusFieldMode};

/// Metadata fields only the API server writes; never part of a desired state.
pub const SERVER_METADATA: &[&str] =
    &["uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink"];

/// API groups served by Kubernetes itself; anything else is a custom resource.
const BUILT_IN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "extensions",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "apiextensions.k8s.io",
    "admissionregistration.k8s.io",
    "apiregistration.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "node.k8s.io",
    "scheduling.k8s.io",
    "certificates.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "resource.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
];

/// Whether a group is a custom-resource group (drives `ignoreResourceStatusField: crd`).
pub fn is_custom_group(group: &str) -> bool {
    !BUILT_IN_GROUPS.contains(&group)
}

fn metadata_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    obj.get_mut("metadata").and_then(Value::as_object_mut)
}

/// Removes server-written metadata, the last-applied and tracking annotations, and an
/// annotation map left empty (or null) by that.
pub fn strip_server_metadata(obj: &mut Value) {
    let Some(meta) = metadata_mut(obj) else { return };
    for f in SERVER_METADATA {
        meta.shift_remove(*f);
    }
    if let Some(Value::Object(ann)) = meta.get_mut("annotations") {
        ann.shift_remove(LAST_APPLIED);
        ann.shift_remove(TRACKING_ID);
    }
    for key in ["annotations", "labels"] {
        if meta.get(key).is_some_and(|a| a.is_null() || a.as_object().is_some_and(Map::is_empty)) {
            meta.shift_remove(key);
        }
    }
}

/// Removes `metadata.namespace` from a desired or last-applied object: live objects always
/// carry one, manifests often do not, and upstream does not count that as a difference.
pub fn strip_namespace(obj: &mut Value) {
    if let Some(meta) = metadata_mut(obj) {
        meta.shift_remove("namespace");
    }
}

fn strips_status(group: &str, mode: StatusFieldMode) -> bool {
    match mode {
        StatusFieldMode::All => true,
        StatusFieldMode::Crd => is_custom_group(group),
        StatusFieldMode::None => false,
    }
}

/// Removes `status` when the compare options say it is not compared for this group.
pub fn strip_status(obj: &mut Value, group: &str, mode: StatusFieldMode) {
    if strips_status(group, mode)
        && let Some(m) = obj.as_object_mut()
    {
        m.shift_remove("status");
    }
}

/// Folds Secret `stringData` into base64 `data` and turns null values into `""`, as the API
/// server stores them.
pub fn normalize_secret(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else { return };
    let string_data = map.shift_remove("stringData");
    let data = map.entry("data").or_insert_with(|| Value::Object(Map::new()));
    let Some(data) = data.as_object_mut() else { return };
    for v in data.values_mut() {
        if v.is_null() {
            *v = Value::String(String::new());
        }
    }
    if let Some(Value::Object(sd)) = string_data {
        for (k, v) in sd {
            let text = match v {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            data.insert(k, Value::String(base64::engine::general_purpose::STANDARD.encode(text)));
        }
    }
    if data.is_empty() {
        map.shift_remove("data");
    }
}

/// Role/ClusterRole: empty `rules` equal absent ones; with `ignoreAggregatedRoles`, an
/// aggregated role's rules (filled in by the controller manager) are not compared.
pub fn normalize_role(obj: &mut Value, ignore_aggregated: bool) {
    let Some(map) = obj.as_object_mut() else { return };
    let aggregated = ignore_aggregated && map.get("aggregationRule").is_some_and(Value::is_object);
    let empty = map.get("rules").is_some_and(|r| r.is_null() || r.as_array().is_some_and(Vec::is_empty));
    if aggregated || empty {
        map.shift_remove("rules");
    }
}

/// Every normalization for one side of a comparison. `desired` also drops the namespace.
pub fn normalize(obj: &mut Value, group: &str, kind: &str, options: &CompareOptions, desired: bool) {
    strip_server_metadata(obj);
    if desired {
        strip_namespace(obj);
    }
    strip_status(obj, group, options.ignore_resource_status_field);
    match (group, kind) {
        ("", "Secret") => normalize_secret(obj),
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => {
            normalize_role(obj, options.ignore_aggregated_roles)
        }
        _ => {}
    }
}

/// A normalized copy of `obj` (see [`normalize`]) that never copies what normalization
/// drops (managedFields, status, server metadata): on a reconcile those are most of the bytes.
pub fn normalized(obj: &Value, group: &str, kind: &str, options: &CompareOptions, desired: bool) -> Value {
    let Some(map) = obj.as_object() else { return obj.clone() };
    let skip_status = strips_status(group, options.ignore_resource_status_field);
    let mut out = Map::with_capacity(map.len());
    for (k, v) in map {
        match (k.as_str(), v) {
            ("status", _) if skip_status => {}
            ("metadata", Value::Object(meta)) => {
                let kept = meta
                    .iter()
                    .filter(|(mk, _)| {
                        !(SERVER_METADATA.contains(&mk.as_str()) || (desired && mk.as_str() == "namespace"))
                    })
                    .map(|(mk, mv)| (mk.clone(), mv.clone()))
                    .collect();
                out.insert(k.clone(), Value::Object(kept));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    let mut v = Value::Object(out);
    normalize(&mut v, group, kind, options, desired);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_metadata_and_argo_annotations_go() {
        let mut o = json!({"metadata": {"name": "a", "uid": "u", "resourceVersion": "1", "generation": 2, "creationTimestamp": "t",
            "managedFields": [], "selfLink": "/x", "annotations": {LAST_APPLIED: "{}", TRACKING_ID: "app:/ConfigMap:ns/a"}, "labels": null}});
        strip_server_metadata(&mut o);
        assert_eq!(o, json!({"metadata": {"name": "a"}}));
    }

    #[test]
    fn status_modes() {
        let with_status = json!({"spec": {}, "status": {"a": 1}});
        for (group, mode, kept) in [
            ("apps", StatusFieldMode::All, false),
            ("apps", StatusFieldMode::Crd, true),
            ("example.com", StatusFieldMode::Crd, false),
            ("example.com", StatusFieldMode::None, true),
        ] {
            let mut o = with_status.clone();
            strip_status(&mut o, group, mode);
            assert_eq!(o.get("status").is_some(), kept, "{group} {mode:?}");
        }
    }

    #[test]
    fn secret_string_data_becomes_base64_data() {
        let mut s =
            json!({"kind": "Secret", "stringData": {"user": "admin"}, "data": {"empty": null, "pw": "cHc="}});
        normalize_secret(&mut s);
        assert_eq!(s, json!({"kind": "Secret", "data": {"empty": "", "pw": "cHc=", "user": "YWRtaW4="}}));
    }

    #[test]
    fn empty_and_aggregated_rules() {
        let mut r = json!({"rules": []});
        normalize_role(&mut r, false);
        assert_eq!(r, json!({}));
        let mut agg = json!({"aggregationRule": {"clusterRoleSelectors": []}, "rules": [{"verbs": ["get"]}]});
        normalize_role(&mut agg, false);
        assert!(agg.get("rules").is_some());
        normalize_role(&mut agg, true);
        assert!(agg.get("rules").is_none());
    }

    #[test]
    fn copying_normalization_equals_in_place_normalization() {
        let o = json!({"metadata": {"name": "a", "namespace": "n", "uid": "u", "managedFields": [{}], "annotations": {LAST_APPLIED: "{}", "k": "v"}},
            "spec": {"x": 1}, "status": {"s": 1}});
        for desired in [true, false] {
            let mut in_place = o.clone();
            normalize(&mut in_place, "apps", "Deployment", &CompareOptions::default(), desired);
            assert_eq!(normalized(&o, "apps", "Deployment", &CompareOptions::default(), desired), in_place);
        }
    }

    #[test]
    fn desired_side_drops_namespace_and_null_creation_timestamp() {
        let mut d = json!({"metadata": {"name": "a", "namespace": "ns", "creationTimestamp": null, "annotations": {}}});
        normalize(&mut d, "", "ConfigMap", &CompareOptions::default(), true);
        assert_eq!(d, json!({"metadata": {"name": "a"}}));
    }
}
