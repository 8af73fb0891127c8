//! Custom resource actions: `resource.customizations.actions.<group_kind>` with a
//! `discovery.lua` that lists actions and per-action `action.lua` scripts that return either the
//! modified object (older form, a patch) or a list of `{operation, resource}` (newer form,
//! `patch` or `create`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::HealthError;

/// The actions document users write under the `actions` key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ResourceActions {
    /// Script returning the table of available actions.
    #[serde(rename = "discovery.lua")]
    pub discovery_lua: String,
    /// The actions' scripts.
    pub definitions: Vec<ActionDefinition>,
    /// Upstream's flag to also offer its bundled actions; kept so documents round-trip.
    #[serde(rename = "mergeBuiltinActions")]
    pub merge_builtin_actions: bool,
}

/// One named action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ActionDefinition {
    /// The name users pick in UI and CLI.
    pub name: String,
    /// The script; `obj` in, object or operation list out.
    #[serde(rename = "action.lua")]
    pub action_lua: String,
}

impl ResourceActions {
    /// Parses the YAML text stored under an `actions` key; `key` names it in errors.
    pub fn parse(text: &str, key: &str) -> Result<Self, HealthError> {
        serde_saphyr::from_str(text).map_err(|e| HealthError::Settings {
            key: key.to_string(),
            message: format!("actions must be a map with `discovery.lua` and `definitions`: {e}"),
        })
    }

    /// The definition of one action.
    pub fn definition(&self, name: &str) -> Option<&ActionDefinition> {
        self.definitions.iter().find(|d| d.name == name)
    }
}

/// An action as discovery reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResourceAction {
    /// Action name.
    pub name: String,
    /// Offered but greyed out.
    pub disabled: bool,
    /// Optional UI icon.
    #[serde(rename = "iconClass", skip_serializing_if = "String::is_empty")]
    pub icon_class: String,
    /// Optional UI label.
    #[serde(rename = "displayName", skip_serializing_if = "String::is_empty")]
    pub display_name: String,
}

/// Reads discovery output: a map of action name to options (`disabled`, `iconClass`,
/// `displayName`); an empty table means no actions. Sorted by name.
pub(crate) fn parse_discovery(output: &Value) -> Result<Vec<ResourceAction>, String> {
    let map = match output {
        Value::Array(a) if a.is_empty() => return Ok(Vec::new()),
        Value::Object(m) => m,
        other => {
            return Err(format!("discovery.lua must return a table of actions keyed by name, got {other}"));
        }
    };
    let text =
        |o: &Map<String, Value>, k: &str| o.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let mut actions: Vec<ResourceAction> = map
        .iter()
        .map(|(name, options)| match options.as_object() {
            Some(o) => ResourceAction {
                name: name.clone(),
                disabled: o.get("disabled").and_then(Value::as_bool).unwrap_or(false),
                icon_class: text(o, "iconClass"),
                display_name: text(o, "displayName"),
            },
            None => ResourceAction { name: name.clone(), ..Default::default() },
        })
        .collect();
    actions.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(actions)
}

/// What to do with an object an action returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// Apply as a patch to the existing object.
    Patch,
    /// Create a new object.
    Create,
}

/// One object an action wants applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImpactedResource {
    /// Patch or create.
    pub operation: Operation,
    /// The full object.
    pub resource: Value,
}

/// Interprets an action's return value against the input object.
pub(crate) fn parse_action_output(output: Value, input: &Value) -> Result<Vec<ImpactedResource>, String> {
    let mut impacted = match output {
        Value::Array(items) => items.into_iter().map(parse_operation).collect::<Result<Vec<_>, _>>()?,
        Value::Object(_) => vec![ImpactedResource { operation: Operation::Patch, resource: output }],
        other => return Err(format!("action must return a table, got {other}")),
    };
    for item in &mut impacted {
        match item.operation {
            Operation::Patch => {
                clean_returned(&mut item.resource, input);
                order_like(&mut item.resource, input);
            }
            Operation::Create => order_like(&mut item.resource, &Value::Null),
        }
    }
    Ok(impacted)
}

fn parse_operation(item: Value) -> Result<ImpactedResource, String> {
    let Value::Object(mut map) = item else {
        return Err(format!(
            "each entry of an action's list must be {{operation=..., resource=...}}, got {item}"
        ));
    };
    let operation = match map.get("operation").and_then(Value::as_str) {
        Some("patch") => Operation::Patch,
        Some("create") => Operation::Create,
        Some(other) => return Err(format!("unsupported operation: {other:?} (use \"patch\" or \"create\")")),
        None => {
            return Err(
                "an entry of an action's list has no `operation` (use \"patch\" or \"create\")".into()
            );
        }
    };
    match map.remove("resource") {
        Some(resource @ Value::Object(_)) => Ok(ImpactedResource { operation, resource }),
        _ => Err("an entry of an action's list has no `resource` object".into()),
    }
}

/// Upstream's `cleanReturnedObj`: Lua cannot tell an empty map from an empty list, and empty
/// tables come back as `[]`. Where the input had a map, an empty list is turned back into
/// that map; maps and lists present in both are fixed recursively.
pub fn clean_returned(new: &mut Value, old: &Value) {
    match (new, old) {
        (Value::Object(new_map), Value::Object(old_map)) => {
            for (key, old_value) in old_map {
                let Some(new_value) = new_map.get_mut(key) else { continue };
                match (&*new_value, old_value) {
                    (Value::Array(a), Value::Object(_)) if a.is_empty() => *new_value = old_value.clone(),
                    _ => clean_returned(new_value, old_value),
                }
            }
        }
        (Value::Array(new_items), Value::Array(old_items)) => {
            for (new_item, old_item) in new_items.iter_mut().zip(old_items) {
                clean_returned(new_item, old_item);
            }
        }
        _ => {}
    }
}

/// Lua tables have no key order: put keys the input had back in the input's order and the new
/// ones after them, sorted, so results are deterministic and diffs stay small.
fn order_like(new: &mut Value, old: &Value) {
    match new {
        Value::Object(map) => {
            let empty = Map::new();
            let old_map = old.as_object().unwrap_or(&empty);
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by_cached_key(|(k, _)| {
                (old_map.keys().position(|o| o == k).unwrap_or(usize::MAX), k.clone())
            });
            for (k, mut v) in entries {
                order_like(&mut v, old_map.get(&k).unwrap_or(&Value::Null));
                map.insert(k, v);
            }
        }
        Value::Array(items) => {
            let empty = Vec::new();
            let old_items = old.as_array().unwrap_or(&empty);
            for (i, item) in items.iter_mut().enumerate() {
                order_like(item, old_items.get(i).unwrap_or(&Value::Null));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_lists_become_maps_where_the_input_had_maps() {
        let input =
            json!({"spec": {"template": {"metadata": {"annotations": {}}}, "list": [{"a": {}}], "keep": []}});
        let mut returned = json!({"spec": {"template": {"metadata": {"annotations": []}}, "list": [{"a": []}], "keep": [], "new": []}});
        clean_returned(&mut returned, &input);
        assert_eq!(
            returned,
            json!({"spec": {"template": {"metadata": {"annotations": {}}}, "list": [{"a": {}}], "keep": [], "new": []}})
        );
    }

    #[test]
    fn non_empty_values_are_left_alone() {
        let input = json!({"a": {"x": 1}});
        let mut returned = json!({"a": [1]});
        clean_returned(&mut returned, &input);
        assert_eq!(returned, json!({"a": [1]}));
    }

    #[test]
    fn patched_objects_keep_the_input_key_order() {
        let input = json!({"kind": "X", "metadata": {"name": "n", "namespace": "ns"}, "spec": {}});
        let returned =
            json!({"spec": {"b": 1, "a": 2}, "metadata": {"namespace": "ns", "name": "n"}, "kind": "X"});
        let parsed = parse_action_output(returned, &input).unwrap();
        let text = serde_json::to_string(&parsed[0].resource).unwrap();
        assert_eq!(text, r#"{"kind":"X","metadata":{"name":"n","namespace":"ns"},"spec":{"a":2,"b":1}}"#);
    }

    #[test]
    fn operation_lists_are_parsed() {
        let out = json!([{"operation": "patch", "resource": {"a": []}}, {"operation": "create", "resource": {"b": []}}]);
        let parsed = parse_action_output(out, &json!({"a": {}})).unwrap();
        assert_eq!(parsed[0].operation, Operation::Patch);
        assert_eq!(parsed[0].resource, json!({"a": {}}));
        assert_eq!(parsed[1].operation, Operation::Create);
        assert_eq!(parsed[1].resource, json!({"b": []}), "create is not cleaned");
        let err =
            parse_action_output(json!([{"operation": "delete", "resource": {}}]), &json!({})).unwrap_err();
        assert!(err.contains("unsupported operation"), "{err}");
    }

    #[test]
    fn discovery_output_is_sorted_with_defaults() {
        let out =
            json!({"restart": [], "pause": {"disabled": true, "iconClass": "fa"}, "b": {"disabled": "yes"}});
        let actions = parse_discovery(&out).unwrap();
        let names: Vec<_> = actions.iter().map(|a| (a.name.as_str(), a.disabled)).collect();
        assert_eq!(names, [("b", false), ("pause", true), ("restart", false)]);
        assert_eq!(actions[1].icon_class, "fa");
        assert!(parse_discovery(&json!([])).unwrap().is_empty());
    }
}
