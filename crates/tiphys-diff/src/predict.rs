//! Predicts the live object after applying the desired one: the heart of a diff that does not
//! flag what the API server or other controllers own.
//!
//! The rules, per map field (upstream's three-way strategic merge, reduced to what decides
//! equality):
//! - a field the desired state sets is taken from it (`null` removes it), recursively;
//! - a field only the live object has is kept, unless it was *declared* before (in the
//!   last-applied configuration, or owned by the applying manager for a server-side diff):
//!   then the user removed it and the prediction drops it — unless the live value equals the
//!   default the API server would put back;
//! - equal values written differently (quantities, int-or-string ports, `1` vs `1.0`) take the
//!   live spelling; empty maps and lists the server would omit are treated as absent.
//!
//! Lists of maps are merged element by element, keyed by `name`, `mountPath`,
//! `devicePath`, `containerPort` or `port` (the strategic-merge keys of the built-in types),
//! by position when no key applies and lengths agree, and replaced otherwise.

use serde_json::{Map, Value};

use tiphys_patch::{ListType, is_builtin, merge_key};
use tiphys_resource::GroupVersionKind;

use crate::defaults::api_default;
use crate::managed_fields::{Step, key_matches, step};
use crate::quantity::Quantity;

/// What was declared before this apply, so removals can be told from server-populated fields.
#[derive(Debug, Clone, Copy)]
pub enum Declared<'a> {
    /// Nothing known: every live-only field is kept.
    Nothing,
    /// A previous configuration (the last-applied annotation, or the desired object itself for
    /// a two-way diff).
    Json(&'a Value),
    /// A FieldsV1 set (`managedFields[].fieldsV1` of the applying manager).
    Fields(&'a Value),
}

impl<'a> Declared<'a> {
    fn field(self, name: &str) -> Declared<'a> {
        match self {
            Declared::Json(Value::Object(m)) => m.get(name).map_or(Declared::Nothing, Declared::Json),
            Declared::Fields(Value::Object(m)) => {
                m.get(&format!("f:{name}")).map_or(Declared::Nothing, Declared::Fields)
            }
            _ => Declared::Nothing,
        }
    }

    fn has_field(self, name: &str) -> bool {
        match self {
            Declared::Json(Value::Object(m)) => m.contains_key(name),
            Declared::Fields(Value::Object(m)) => m.contains_key(&format!("f:{name}")),
            _ => false,
        }
    }

    /// The declaration of a list element: matched by `key` when given, else by index.
    fn element(self, element: &Value, key: Option<&str>, index: usize) -> Option<Declared<'a>> {
        match self {
            Declared::Nothing => None,
            Declared::Json(Value::Array(items)) => match key {
                Some(k) => items.iter().find(|i| i.get(k).is_some() && i.get(k) == element.get(k)),
                None => items.get(index),
            }
            .map(Declared::Json),
            Declared::Json(_) => None,
            Declared::Fields(set) => set.as_object()?.iter().find_map(|(k, node)| {
                let hit = match step(k)? {
                    Step::Key(fields) => key_matches(element, &fields),
                    Step::Value(v) => v == *element,
                    Step::Index(i) => i == index,
                    Step::Field(_) => false,
                };
                hit.then_some(Declared::Fields(node))
            }),
        }
    }
}

/// Identity of the object being predicted, for the API-default table.
pub(crate) struct Predictor<'a> {
    pub(crate) gvk: &'a GroupVersionKind,
}

/// Keys under which the API server stores resource quantities.
const QUANTITY_PARENTS: &[&str] = &[
    "limits",
    "requests",
    "hard",
    "used",
    "capacity",
    "allocatable",
    "default",
    "defaultRequest",
    "max",
    "min",
    "maxLimitRequestRatio",
];
/// IntOrString fields of the built-in types.
const INT_OR_STRING: &[&str] = &["targetPort", "port", "maxSurge", "maxUnavailable", "minAvailable"];

/// Whether two scalars mean the same thing at this path.
pub(crate) fn equivalent(path: &[&str], a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    let last = path.last().copied().unwrap_or_default();
    let parent = path.len().checked_sub(2).and_then(|i| path.get(i)).copied().unwrap_or_default();
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.as_f64() == y.as_f64() => return true,
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n))
            if INT_OR_STRING.contains(&last) && n.to_string() == *s =>
        {
            return true;
        }
        _ => {}
    }
    if (QUANTITY_PARENTS.contains(&parent) || last == "sizeLimit")
        && let (Some(x), Some(y)) = (Quantity::from_json(a), Quantity::from_json(b))
    {
        return x == y;
    }
    false
}

impl Predictor<'_> {
    /// The predicted live object.
    pub(crate) fn predict(&self, declared: Declared<'_>, desired: &Value, live: &Value) -> Value {
        let mut path = Vec::new();
        self.merge(declared, desired, Some(live), &mut path).unwrap_or(Value::Null)
    }

    fn default_matches(&self, path: &[&str], parent: &Map<String, Value>, live: &Value) -> bool {
        let joined = path.join("/");
        api_default(&self.gvk.group, &self.gvk.kind, &joined, parent)
            .is_some_and(|d| equivalent(path, &d, live))
    }

    fn merge<'a>(
        &self,
        declared: Declared<'_>,
        desired: &'a Value,
        live: Option<&'a Value>,
        path: &mut Vec<&'a str>,
    ) -> Option<Value> {
        match desired {
            Value::Null => None,
            Value::Object(d) => {
                let out = self.merge_map(declared, d, live.and_then(Value::as_object), path);
                (!out.is_empty() || live.is_some()).then_some(Value::Object(out))
            }
            Value::Array(d) => match live {
                Some(Value::Array(l)) => Some(Value::Array(self.merge_list(declared, d, l, path))),
                _ if d.is_empty() && live.is_none() => None,
                _ => Some(Value::Array(self.merge_list(declared, d, &[], path))),
            },
            scalar => match live {
                Some(l) if equivalent(path, scalar, l) => Some(l.clone()),
                _ => Some(scalar.clone()),
            },
        }
    }

    fn merge_map<'a>(
        &self,
        declared: Declared<'_>,
        desired: &'a Map<String, Value>,
        live: Option<&'a Map<String, Value>>,
        path: &mut Vec<&'a str>,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        if let Some(live) = live {
            for (k, lv) in live {
                path.push(k.as_str());
                match desired.get(k) {
                    Some(dv) => {
                        if let Some(v) = self.merge(declared.field(k), dv, Some(lv), path) {
                            out.insert(k.clone(), v);
                        }
                    }
                    None => {
                        let removed = declared.has_field(k);
                        if !removed || self.default_matches(path, live, lv) {
                            out.insert(k.clone(), lv.clone());
                        }
                    }
                }
                path.pop();
            }
        }
        for (k, dv) in desired {
            if live.is_some_and(|l| l.contains_key(k)) {
                continue;
            }
            path.push(k.as_str());
            match self.merge(declared.field(k), dv, None, path) {
                Some(v) => {
                    out.insert(k.clone(), v);
                }
                None if dv.is_object() && self.keeps_empty(path) => {
                    out.insert(k.clone(), dv.clone());
                }
                None => {}
            }
            path.pop();
        }
        out
    }

    /// Empty maps that mean something (a volume source) are kept even without a live value.
    fn keeps_empty(&self, path: &[&str]) -> bool {
        path.last().is_some_and(|k| *k == "emptyDir")
    }

    fn merge_list<'a>(
        &self,
        declared: Declared<'_>,
        desired: &'a [Value],
        live: &'a [Value],
        path: &mut Vec<&'a str>,
    ) -> Vec<Value> {
        let key = self.list_key(path, desired, live);
        path.push("[]");
        let mut out = Vec::with_capacity(desired.len());
        match key {
            Some(key) => {
                let mut used = vec![false; live.len()];
                for (i, d) in desired.iter().enumerate() {
                    let found = live
                        .iter()
                        .enumerate()
                        .find(|(j, l)| !used[*j] && l.get(key).is_some() && l.get(key) == d.get(key));
                    if let Some((j, _)) = found {
                        used[j] = true;
                    }
                    let l = found.map(|(_, l)| l);
                    let decl = declared.element(l.unwrap_or(d), Some(key), i).unwrap_or(Declared::Nothing);
                    out.push(self.merge(decl, d, l, path).unwrap_or_else(|| d.clone()));
                }
                for (j, l) in live.iter().enumerate() {
                    if !used[j] && declared.element(l, Some(key), j).is_none() {
                        out.push(l.clone());
                    }
                }
            }
            None => {
                let positional = desired.len() == live.len();
                for (i, d) in desired.iter().enumerate() {
                    let l = if positional { live.get(i) } else { None };
                    let decl = declared.element(d, None, i).unwrap_or(Declared::Nothing);
                    out.push(self.merge(decl, d, l, path).unwrap_or_else(|| d.clone()));
                }
            }
        }
        path.pop();
        out
    }
}

impl Predictor<'_> {
    /// The merge key of the list at `path`: the built-in type's strategic-merge key (from
    /// `tiphys-patch`'s schema) when the kind is known, else a key its elements share.
    fn list_key(&self, path: &[&str], desired: &[Value], live: &[Value]) -> Option<&'static str> {
        if is_builtin(self.gvk) {
            let fields: Vec<&str> = path.iter().copied().filter(|s| *s != "[]").collect();
            match merge_key(self.gvk, &fields) {
                Some(ListType::Map { merge_key, .. }) => return Some(merge_key),
                Some(ListType::Set | ListType::Atomic) => return None,
                None => {}
            }
        }
        shared_key(path, desired, live)
    }
}

/// A key every element has (unique among the desired ones), for lists of unknown types.
fn shared_key(path: &[&str], desired: &[Value], live: &[Value]) -> Option<&'static str> {
    let field = path.last().copied().unwrap_or_default();
    let all_have = |k: &str| {
        desired.iter().chain(live).all(|v| v.get(k).is_some_and(|x| !x.is_object() && !x.is_array()))
    };
    let unique = |k: &str| {
        let mut seen: Vec<&Value> = Vec::new();
        desired.iter().filter_map(|v| v.get(k)).all(|x| {
            let new = !seen.contains(&x);
            seen.push(x);
            new
        })
    };
    if desired.is_empty() || !desired.iter().chain(live).all(Value::is_object) {
        return None;
    }
    let candidates: &[&'static str] = match field {
        "volumeMounts" => &["mountPath"],
        "volumeDevices" => &["devicePath"],
        "ports" => &["containerPort", "port", "name"],
        _ => &["name"],
    };
    candidates.iter().copied().find(|k| all_have(k) && unique(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn predict(group: &str, kind: &str, declared: Declared<'_>, desired: Value, live: Value) -> Value {
        let gvk = GroupVersionKind { group: group.into(), version: "v1".into(), kind: kind.into() };
        Predictor { gvk: &gvk }.predict(declared, &desired, &live)
    }

    #[test]
    fn server_populated_fields_are_kept() {
        let desired = json!({"spec": {"replicas": 2}});
        let live = json!({"spec": {"replicas": 2, "revisionHistoryLimit": 10}, "status": {"x": 1}});
        assert_eq!(
            predict("apps", "Deployment", Declared::Json(&desired), desired.clone(), live.clone()),
            live
        );
    }

    #[test]
    fn fields_removed_since_last_apply_are_dropped() {
        let orig = json!({"spec": {"replicas": 2, "paused": true}});
        let desired = json!({"spec": {"replicas": 2}});
        let live = json!({"spec": {"replicas": 2, "paused": true}});
        assert_eq!(
            predict("apps", "Deployment", Declared::Json(&orig), desired, live),
            json!({"spec": {"replicas": 2}})
        );
    }

    #[test]
    fn removed_field_whose_live_value_is_the_api_default_is_kept() {
        let orig = json!({"spec": {"replicas": 1, "progressDeadlineSeconds": 600}});
        let desired = json!({"spec": {}});
        let live = json!({"spec": {"replicas": 1, "progressDeadlineSeconds": 600}});
        assert_eq!(predict("apps", "Deployment", Declared::Json(&orig), desired, live.clone()), live);
        let live3 = json!({"spec": {"replicas": 3}});
        let orig3 = json!({"spec": {"replicas": 3}});
        assert_eq!(
            predict("apps", "Deployment", Declared::Json(&orig3), json!({"spec": {}}), live3),
            json!({"spec": {}})
        );
    }

    #[test]
    fn quantities_and_int_or_string_take_the_live_spelling() {
        let desired = json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "1000m", "memory": "1024Mi"}}}],
            "ports": [{"port": 80, "targetPort": "8080"}]}});
        let live = json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}],
            "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}});
        assert_eq!(predict("", "Pod", Declared::Json(&desired), desired.clone(), live.clone()), live);
        let different = json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "2", "memory": "1Gi"}}}]}});
        let p = predict("", "Pod", Declared::Nothing, desired, different);
        assert_eq!(p["spec"]["containers"][0]["resources"]["limits"]["cpu"], json!("1000m"));
    }

    #[test]
    fn empty_collections_equal_absent_ones() {
        let desired = json!({"metadata": {"annotations": {}, "labels": {"a": "1"}}, "spec": {"env": [], "resources": {}}});
        let live = json!({"metadata": {"labels": {"a": "1"}}, "spec": {}});
        assert_eq!(predict("", "ConfigMap", Declared::Nothing, desired, live.clone()), live);
    }

    #[test]
    fn keyed_lists_merge_by_name_and_keep_injected_elements() {
        let desired = json!({"containers": [{"name": "app", "image": "v2"}]});
        let live = json!({"containers": [{"name": "istio-proxy", "image": "proxy"}, {"name": "app", "image": "v1", "imagePullPolicy": "IfNotPresent"}]});
        let p = predict("", "X", Declared::Json(&desired), desired.clone(), live);
        assert_eq!(
            p,
            json!({"containers": [{"name": "app", "image": "v2", "imagePullPolicy": "IfNotPresent"}, {"name": "istio-proxy", "image": "proxy"}]})
        );
    }

    #[test]
    fn keyed_list_element_removed_since_last_apply_is_dropped() {
        let orig = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]});
        let desired = json!({"env": [{"name": "A", "value": "1"}]});
        let live = orig.clone();
        assert_eq!(predict("", "X", Declared::Json(&orig), desired.clone(), live), desired);
    }

    #[test]
    fn managed_fields_declare_what_the_manager_owns() {
        let owned = json!({"f:spec": {"f:replicas": {}, "f:paused": {}}});
        let desired = json!({"spec": {"replicas": 2}});
        let live = json!({"spec": {"replicas": 2, "paused": true, "minReadySeconds": 5}});
        assert_eq!(
            predict("apps", "Deployment", Declared::Fields(&owned), desired, live),
            json!({"spec": {"replicas": 2, "minReadySeconds": 5}})
        );
    }

    #[test]
    fn null_in_desired_removes_a_field() {
        let desired = json!({"spec": {"paused": null}});
        let live = json!({"spec": {"paused": true}});
        assert_eq!(predict("apps", "Deployment", Declared::Nothing, desired, live), json!({"spec": {}}));
    }

    #[test]
    fn scalar_lists_are_replaced_and_numbers_compare_by_value() {
        let desired = json!({"args": ["a", "b"], "n": 1.0});
        let live = json!({"args": ["a"], "n": 1});
        assert_eq!(predict("", "X", Declared::Nothing, desired, live), json!({"args": ["a", "b"], "n": 1}));
    }
}
