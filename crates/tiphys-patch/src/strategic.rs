//! Kubernetes strategic merge patch: applying one (`application/strategic-merge-patch+json`)
//! and computing the two-way and three-way patches `kubectl apply` sends.

use serde_json::{Map, Value};
use tiphys_resource::GroupVersionKind;

use crate::error::json_type;
use crate::schema::{Cursor, FieldSchema, ListType};
use crate::{PatchError, apply_merge_patch};

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";

/// Applies a strategic merge patch to `doc`, an object of kind `gvk`.
///
/// Lists with a merge strategy merge element by element (containers by `name`, ports by
/// `containerPort`, finalizers as a set, ...; see [`crate::schema`]); other lists replace.
/// Directives: `$patch: replace|delete|merge` on objects and list elements, `$retainKeys`,
/// `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>`; `null` deletes a field.
/// For kinds without built-in merge rules (custom resources) this is a JSON merge patch.
pub fn apply_strategic_merge_patch(
    doc: &Value,
    patch: &Value,
    gvk: &GroupVersionKind,
) -> Result<Value, PatchError> {
    let cursor = Cursor::root(gvk);
    if !cursor.is_known() {
        return Ok(apply_merge_patch(doc, patch));
    }
    let Value::Object(patch) = patch else {
        return Err(PatchError::NotAnObject { what: "a strategic merge patch", found: json_type(patch) });
    };
    let original = match doc {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    Ok(Value::Object(merge_map(original, patch, cursor, "")?))
}

fn invalid(path: &str, message: impl Into<String>) -> PatchError {
    let path = if path.is_empty() { "the object root".to_string() } else { path.to_string() };
    PatchError::InvalidStrategicPatch { path, message: message.into() }
}

fn merge_map(
    mut original: Map<String, Value>,
    patch: &Map<String, Value>,
    cursor: Cursor,
    path: &str,
) -> Result<Map<String, Value>, PatchError> {
    match patch.get(PATCH) {
        None => {}
        Some(Value::String(d)) if d == "merge" => {}
        Some(Value::String(d)) if d == "replace" => {
            let mut replaced = patch.clone();
            replaced.remove(PATCH);
            return Ok(replaced);
        }
        Some(Value::String(d)) if d == "delete" => return Ok(Map::new()),
        Some(other) => {
            return Err(invalid(
                path,
                format!("unknown $patch directive {other}; use replace, delete or merge"),
            ));
        }
    }
    if let Some(retain) = patch.get(RETAIN_KEYS) {
        let keys =
            string_list(retain).ok_or_else(|| invalid(path, "$retainKeys must be a list of field names"))?;
        original.retain(|key, _| keys.contains(&key.as_str()));
    }
    for (key, values) in patch {
        if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            let Value::Array(values) = values else {
                return Err(invalid(path, format!("{key} must be a list of the values to delete")));
            };
            if let Some(Value::Array(list)) = original.get_mut(field) {
                list.retain(|item| !values.contains(item));
            }
        }
    }
    for (key, value) in patch {
        if key == PATCH
            || key == RETAIN_KEYS
            || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || key.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if value.is_null() {
            original.remove(key);
            continue;
        }
        let child_path = format!("{path}.{key}");
        let (schema, child) = cursor.field(key);
        let merged = match (original.get_mut(key).map(Value::take), value) {
            (Some(Value::Object(o)), Value::Object(p)) => Value::Object(merge_map(o, p, child, &child_path)?),
            (None | Some(Value::Null), Value::Object(p)) => {
                Value::Object(merge_map(Map::new(), p, child, &child_path)?)
            }
            (Some(Value::Array(o)), Value::Array(p)) => {
                Value::Array(merge_list(o, p, schema, child, &child_path)?)
            }
            (None | Some(Value::Null), Value::Array(p)) => {
                Value::Array(merge_list(Vec::new(), p, schema, child, &child_path)?)
            }
            (_, other) => other.clone(),
        };
        original.insert(key.clone(), merged);
    }
    for (key, order) in patch {
        if let Some(field) = key.strip_prefix(SET_ELEMENT_ORDER) {
            let Value::Array(order) = order else {
                return Err(invalid(path, format!("{key} must be a list")));
            };
            let (schema, _) = cursor.field(field);
            if let Some(Value::Array(list)) = original.get_mut(field) {
                reorder(list, order, list_key(schema));
            }
        }
    }
    Ok(original)
}

fn string_list(value: &Value) -> Option<Vec<&str>> {
    value.as_array()?.iter().map(Value::as_str).collect()
}

fn list_key(schema: FieldSchema) -> Option<&'static str> {
    match schema.list {
        Some(ListType::Map { merge_key, .. }) => Some(merge_key),
        _ => None,
    }
}

fn merge_list(
    original: Vec<Value>,
    patch: &[Value],
    schema: FieldSchema,
    cursor: Cursor,
    path: &str,
) -> Result<Vec<Value>, PatchError> {
    match schema.list {
        None | Some(ListType::Atomic) => Ok(patch.to_vec()),
        Some(ListType::Set) => {
            let mut out = original;
            for item in patch {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            Ok(out)
        }
        Some(ListType::Map { merge_key, .. }) => {
            let is_replace = |item: &Value| item.get(PATCH).and_then(Value::as_str) == Some("replace");
            if patch.iter().any(is_replace) {
                return patch
                    .iter()
                    .filter(|item| !is_replace(item))
                    .map(|item| match item {
                        Value::Object(map) => Ok(Value::Object(merge_map(Map::new(), map, cursor, path)?)),
                        other => Ok(other.clone()),
                    })
                    .collect();
            }
            let mut out = original;
            for item in patch {
                let Value::Object(item) = item else {
                    return Err(invalid(
                        path,
                        format!("list elements must be objects with the key {merge_key:?}"),
                    ));
                };
                let key = item.get(merge_key).ok_or_else(|| {
                    invalid(path, format!("a list element does not contain the merge key {merge_key:?}"))
                })?;
                let position = out.iter().position(|o| o.get(merge_key) == Some(key));
                match item.get(PATCH).and_then(Value::as_str) {
                    Some("delete") => out.retain(|o| o.get(merge_key) != Some(key)),
                    None | Some("merge") => match position {
                        Some(i) => {
                            let existing = match out[i].take() {
                                Value::Object(map) => map,
                                _ => Map::new(),
                            };
                            out[i] = Value::Object(merge_map(existing, item, cursor, path)?);
                        }
                        None => out.push(Value::Object(merge_map(Map::new(), item, cursor, path)?)),
                    },
                    Some(other) => {
                        return Err(invalid(
                            path,
                            format!("unknown $patch directive {other:?} in a list element"),
                        ));
                    }
                }
            }
            Ok(out)
        }
    }
}

/// Puts the elements named by `order` into that order, in the slots they already occupy;
/// elements the order does not name (server-side additions) stay where they are.
fn reorder(list: &mut [Value], order: &[Value], merge_key: Option<&str>) {
    let ident = |item: &Value| -> Option<Value> {
        match merge_key {
            Some(key) => item.get(key).cloned(),
            None => Some(item.clone()),
        }
    };
    let wanted: Vec<Value> = order.iter().filter_map(ident).collect();
    let rank = |item: &Value| ident(item).and_then(|id| wanted.iter().position(|w| *w == id));
    let slots: Vec<usize> = (0..list.len()).filter(|&i| rank(&list[i]).is_some()).collect();
    let mut items: Vec<Value> = slots.iter().map(|&i| list[i].clone()).collect();
    items.sort_by_key(|item| rank(item).unwrap_or(usize::MAX));
    for (slot, item) in slots.into_iter().zip(items) {
        list[slot] = item;
    }
}

/// Which differences a diff pass records (the three-way patch is two passes).
#[derive(Clone, Copy)]
struct DiffOptions {
    deletions: bool,
    changes: bool,
}

/// Computes the strategic merge patch that turns `original` into `modified` (what
/// `kubectl patch`/`edit` send). For custom resources the result is a JSON merge patch.
pub fn create_two_way_merge_patch(
    original: &Value,
    modified: &Value,
    gvk: &GroupVersionKind,
) -> Result<Value, PatchError> {
    let (original, modified) =
        (as_object(original, "the original object")?, as_object(modified, "the modified object")?);
    let options = DiffOptions { deletions: true, changes: true };
    Ok(Value::Object(diff_maps(original, modified, Cursor::root(gvk), options)))
}

/// Computes the patch `kubectl apply` sends: changes and additions from `current` (live) to
/// `modified` (the new configuration), plus deletions of fields that `original` (the
/// last-applied configuration) had and `modified` no longer has. Fields set only on the live
/// object (by controllers or other users) are left alone.
pub fn create_three_way_merge_patch(
    original: &Value,
    modified: &Value,
    current: &Value,
    gvk: &GroupVersionKind,
) -> Result<Value, PatchError> {
    let empty = Map::new();
    let original = match original {
        Value::Null => &empty,
        other => as_object(other, "the last-applied configuration")?,
    };
    let modified = as_object(modified, "the new configuration")?;
    let current = as_object(current, "the live object")?;
    let cursor = Cursor::root(gvk);
    let delta = diff_maps(current, modified, cursor, DiffOptions { deletions: false, changes: true });
    let deletions = diff_maps(original, modified, cursor, DiffOptions { deletions: true, changes: false });
    Ok(Value::Object(combine(deletions, delta)))
}

fn as_object<'a>(value: &'a Value, what: &'static str) -> Result<&'a Map<String, Value>, PatchError> {
    value.as_object().ok_or(PatchError::NotAnObject { what, found: json_type(value) })
}

/// Merges two patches: objects key by key, lists concatenated (a deletion pass and a change
/// pass never name the same list element), scalars from `b`.
fn combine(mut a: Map<String, Value>, b: Map<String, Value>) -> Map<String, Value> {
    for (key, value) in b {
        let merged = match (a.get_mut(&key).map(Value::take), value) {
            (Some(Value::Object(x)), Value::Object(y)) => Value::Object(combine(x, y)),
            (Some(Value::Array(mut x)), Value::Array(y)) => {
                x.extend(y);
                Value::Array(x)
            }
            (_, y) => y,
        };
        a.insert(key, merged);
    }
    a
}

fn diff_maps(
    original: &Map<String, Value>,
    modified: &Map<String, Value>,
    cursor: Cursor,
    options: DiffOptions,
) -> Map<String, Value> {
    let mut patch = Map::new();
    if options.deletions {
        for key in original.keys().filter(|k| !modified.contains_key(*k)) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    for (key, new) in modified {
        let Some(old) = original.get(key) else {
            if options.changes {
                patch.insert(key.clone(), new.clone());
            }
            continue;
        };
        if old == new {
            continue;
        }
        let (schema, child) = cursor.field(key);
        match (old, new) {
            (Value::Object(old), Value::Object(new)) => {
                let mut sub = diff_maps(old, new, child, options);
                if !sub.is_empty() {
                    if schema.retain_keys && options.changes {
                        sub.insert(RETAIN_KEYS.to_string(), sorted_keys(new));
                    }
                    patch.insert(key.clone(), Value::Object(sub));
                }
            }
            (Value::Array(old), Value::Array(new)) => {
                diff_lists(&mut patch, key, old, new, schema, child, options)
            }
            (_, new) => {
                if options.changes {
                    patch.insert(key.clone(), new.clone());
                }
            }
        }
    }
    patch
}

fn sorted_keys(map: &Map<String, Value>) -> Value {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    Value::Array(keys.into_iter().map(|k| Value::String(k.clone())).collect())
}

fn diff_lists(
    patch: &mut Map<String, Value>,
    key: &str,
    old: &[Value],
    new: &[Value],
    schema: FieldSchema,
    cursor: Cursor,
    options: DiffOptions,
) {
    let merge_key = match schema.list {
        Some(ListType::Map { merge_key, .. })
            if old.iter().chain(new).all(|item| item.get(merge_key).is_some()) =>
        {
            Some(merge_key)
        }
        Some(ListType::Set) => None,
        _ => {
            if options.changes {
                patch.insert(key.to_string(), Value::Array(new.to_vec()));
            }
            return;
        }
    };
    let ident = |item: &Value| match merge_key {
        Some(k) => item.get(k).cloned().unwrap_or(Value::Null),
        None => item.clone(),
    };
    let old_ids: Vec<Value> = old.iter().map(ident).collect();
    let new_ids: Vec<Value> = new.iter().map(ident).collect();
    let mut changed = Vec::new();
    let mut deleted = Vec::new();
    for (item, id) in new.iter().zip(&new_ids) {
        match old_ids.iter().position(|o| o == id) {
            None if options.changes => changed.push(item.clone()),
            None => {}
            Some(i) if old[i] != *item => {
                if let (Some(k), Value::Object(o), Value::Object(n)) = (merge_key, &old[i], item) {
                    let mut sub = diff_maps(o, n, cursor, options);
                    if !sub.is_empty() {
                        if schema.retain_keys && options.changes {
                            sub.insert(RETAIN_KEYS.to_string(), sorted_keys(n));
                        }
                        let mut element = Map::new();
                        element.insert(k.to_string(), id.clone());
                        element.extend(sub);
                        changed.push(Value::Object(element));
                    }
                }
            }
            Some(_) => {}
        }
    }
    for (item, id) in old.iter().zip(&old_ids) {
        if !new_ids.contains(id) {
            deleted.push(match merge_key {
                Some(k) => {
                    let mut element = Map::new();
                    element.insert(PATCH.to_string(), Value::String("delete".to_string()));
                    element.insert(k.to_string(), id.clone());
                    Value::Object(element)
                }
                None => item.clone(),
            });
        }
    }
    let mut elements = changed;
    if options.deletions && !deleted.is_empty() {
        if merge_key.is_some() {
            elements.extend(deleted.clone());
        } else {
            patch.insert(format!("{DELETE_FROM_PRIMITIVE_LIST}{key}"), Value::Array(deleted.clone()));
        }
    }
    if !elements.is_empty() {
        patch.insert(key.to_string(), Value::Array(elements));
    }
    let common_old: Vec<&Value> = old_ids.iter().filter(|id| new_ids.contains(id)).collect();
    let common_new: Vec<&Value> = new_ids.iter().filter(|id| old_ids.contains(id)).collect();
    let reordered = common_old != common_new;
    let list_changed = reordered
        || new_ids.iter().any(|id| !old_ids.contains(id))
        || (options.deletions && !deleted.is_empty());
    if options.changes && list_changed {
        let order = match merge_key {
            Some(k) => new_ids
                .iter()
                .map(|id| {
                    let mut element = Map::new();
                    element.insert(k.to_string(), id.clone());
                    Value::Object(element)
                })
                .collect(),
            None => new.to_vec(),
        };
        patch.insert(format!("{SET_ELEMENT_ORDER}{key}"), Value::Array(order));
    }
}
