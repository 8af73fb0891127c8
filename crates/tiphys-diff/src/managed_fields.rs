//! Just enough of `metadata.managedFields` (FieldsV1) to answer "which fields does this
//! manager own", walked next to the object: used by `managedFieldsManagers` and, when
//! `tiphys-patch`'s server-side apply refuses an object, by the server-side diff. The full
//! FieldSet algebra (union, conflicts, SSA merge) is `tiphys-patch`'s; this module only walks
//! one set over one object, which `FieldSet` does not offer.

use serde_json::{Map, Value};

/// The FieldsV1 sets of the managers `want` accepts, in managedFields order.
pub(crate) fn field_sets(live: &Value, want: impl Fn(&str) -> bool) -> Vec<&Value> {
    live.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e.get("manager").and_then(Value::as_str).is_some_and(&want))
                .filter(|e| e.get("fieldsType").and_then(Value::as_str).is_none_or(|t| t == "FieldsV1"))
                .filter_map(|e| e.get("fieldsV1"))
                .collect()
        })
        .unwrap_or_default()
}

/// The set the applying `manager` owns through server-side apply (its `Apply` entry, else
/// any entry of that manager).
pub(crate) fn applied_set<'a>(live: &'a Value, manager: &str) -> Option<&'a Value> {
    let entries = live.pointer("/metadata/managedFields")?.as_array()?;
    let mine = |e: &&Value| e.get("manager").and_then(Value::as_str) == Some(manager);
    entries
        .iter()
        .filter(mine)
        .find(|e| e.get("operation").and_then(Value::as_str) == Some("Apply"))
        .or_else(|| entries.iter().find(mine))
        .and_then(|e| e.get("fieldsV1"))
}

/// How one FieldsV1 key addresses a child.
pub(crate) enum Step<'a> {
    /// `f:<name>`: a map field.
    Field(&'a str),
    /// `k:{...}`: the list element whose fields equal these.
    Key(Map<String, Value>),
    /// `v:<json>`: the set element equal to this value.
    Value(Value),
    /// `i:<n>`: the list element at this index.
    Index(usize),
}

/// Parses a FieldsV1 key; `.` (the element itself) and unknown prefixes give `None`.
pub(crate) fn step(key: &str) -> Option<Step<'_>> {
    let (prefix, rest) = key.split_once(':')?;
    match prefix {
        "f" => Some(Step::Field(rest)),
        "k" => serde_json::from_str::<Map<String, Value>>(rest).ok().map(Step::Key),
        "v" => serde_json::from_str(rest).ok().map(Step::Value),
        "i" => rest.parse().ok().map(Step::Index),
        _ => None,
    }
}

/// Whether a list element is the one a `k:` step names.
pub(crate) fn key_matches(element: &Value, key: &Map<String, Value>) -> bool {
    key.iter().all(|(k, v)| element.get(k) == Some(v))
}

/// Whether a FieldsV1 node is a leaf (the field's whole value is owned).
fn is_leaf(node: &Value) -> bool {
    node.as_object().is_none_or(|m| m.keys().all(|k| k == "."))
}

/// Removes from `obj` every leaf field that `set` owns.
pub(crate) fn remove_owned(obj: &mut Value, set: &Value) {
    let Some(children) = set.as_object() else { return };
    for (key, node) in children {
        match (step(key), &mut *obj) {
            (Some(Step::Field(name)), Value::Object(map)) => {
                if is_leaf(node) {
                    map.shift_remove(name);
                } else if let Some(child) = map.get_mut(name) {
                    remove_owned(child, node);
                }
            }
            (Some(Step::Key(k)), Value::Array(items)) => {
                for item in items.iter_mut().filter(|i| key_matches(i, &k)) {
                    remove_owned(item, node);
                }
            }
            (Some(Step::Value(v)), Value::Array(items)) => items.retain(|i| *i != v),
            (Some(Step::Index(i)), Value::Array(items)) => {
                if let Some(item) = items.get_mut(i) {
                    remove_owned(item, node);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removes_keyed_list_fields_and_set_values() {
        let mut obj = json!({"spec": {"containers": [{"name": "a", "image": "x", "args": ["1"]}, {"name": "b", "image": "y"}]},
            "metadata": {"finalizers": ["f1", "f2"]}});
        let set = json!({"f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {".": {}, "f:image": {}}}},
            "f:metadata": {"f:finalizers": {"v:\"f1\"": {}}}});
        remove_owned(&mut obj, &set);
        assert_eq!(
            obj,
            json!({"spec": {"containers": [{"name": "a", "args": ["1"]}, {"name": "b", "image": "y"}]},
            "metadata": {"finalizers": ["f2"]}})
        );
    }

    #[test]
    fn index_steps_and_garbage_are_tolerated() {
        let mut obj = json!({"a": [{"x": 1, "y": 2}]});
        remove_owned(&mut obj, &json!({"f:a": {"i:0": {"f:x": {}}, "k:not json": {}, "zz": {}}}));
        assert_eq!(obj, json!({"a": [{"y": 2}]}));
        remove_owned(&mut obj, &json!("not a set"));
        assert_eq!(obj, json!({"a": [{"y": 2}]}));
    }
}
