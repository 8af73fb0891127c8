//! The `kubectl.kubernetes.io/last-applied-configuration` annotation: what client-side apply
//! records as "the configuration I applied", and what server-side apply by `kubectl` keeps in
//! step so users can switch between the two.

use serde_json::{Map, Value};
use tiphys_resource::annotations::LAST_APPLIED;

/// The annotation value kubectl writes for `config`: the configuration without the
/// annotation itself, as compact JSON with object keys sorted, Go's HTML-safe escaping and a
/// trailing newline, byte for byte what `kubectl apply` stores.
pub fn last_applied_configuration(config: &Value) -> String {
    let mut config = config.clone();
    if let Some(Value::Object(annotations)) = config.pointer_mut("/metadata/annotations") {
        annotations.remove(LAST_APPLIED);
        if annotations.is_empty()
            && let Some(Value::Object(metadata)) = config.get_mut("metadata")
        {
            metadata.remove("annotations");
        }
    }
    let mut text = sorted(config).to_string();
    for (raw, escaped) in [
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u{2028}", "\\u2028"),
        ("\u{2029}", "\\u2029"),
    ] {
        text = text.replace(raw, escaped);
    }
    text.push('\n');
    text
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect::<Map<_, _>>())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The configuration recorded in `object`'s annotation, when there is a valid one.
pub(crate) fn recorded(object: &Value) -> Option<Value> {
    let text = object.pointer("/metadata/annotations")?.get(LAST_APPLIED)?.as_str()?;
    serde_json::from_str::<Value>(text).ok().filter(Value::is_object)
}

/// Replaces the annotation on `object` when it has one (server-side apply never adds it).
pub(crate) fn refresh(object: &mut Value, config: &Value) {
    if let Some(Value::Object(annotations)) = object.pointer_mut("/metadata/annotations")
        && annotations.contains_key(LAST_APPLIED)
    {
        annotations.insert(LAST_APPLIED.to_string(), Value::String(last_applied_configuration(config)));
    }
}
