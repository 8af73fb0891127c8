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
/// Directives: `$patch: replace|delete` on objects and list elements (`merge` is refused, as
/// upstream does), `$retainKeys`, `$deleteFromPrimitiveList/<field>`,
/// `$setElementOrder/<field>`; `null` deletes a field. Element order after a merge follows
/// upstream's rules. For kinds without built-in merge rules (custom resources) this is a JSON
/// merge patch.
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
        Some(Value::String(d)) if d == "replace" => {
            let mut replaced = patch.clone();
            replaced.shift_remove(PATCH);
            return Ok(replaced);
        }
        Some(Value::String(d)) if d == "delete" => return Ok(Map::new()),
        Some(other) => {
            return Err(invalid(
                path,
                format!("$patch: {other} is not valid on an object; use replace or delete"),
            ));
        }
    }
    if let Some(retain) = patch.get(RETAIN_KEYS) {
        let keys =
            string_list(retain).ok_or_else(|| invalid(path, "$retainKeys must be a list of field names"))?;
        let unlisted = patch
            .iter()
            .find(|(key, value)| !value.is_null() && !key.starts_with('$') && !keys.contains(&key.as_str()));
        if let Some((key, _)) = unlisted {
            return Err(invalid(
                path,
                format!("the patch sets {key:?}, which its $retainKeys list does not name"),
            ));
        }
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
    let has_orders = patch.keys().any(|key| key.starts_with(SET_ELEMENT_ORDER));
    for (key, value) in patch {
        if key.starts_with('$') && is_directive(key) {
            continue;
        }
        if value.is_null() {
            original.shift_remove(key);
            continue;
        }
        let child_path = format!("{path}.{key}");
        let (schema, child) = cursor.field(key);
        let order = if has_orders { patch.get(&format!("{SET_ELEMENT_ORDER}{key}")) } else { None };
        let before = match (order, original.get(key)) {
            (Some(_), Some(Value::Array(items))) => items.clone(),
            _ => Vec::new(),
        };
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
        if let Some(order) = order {
            apply_element_order(&mut original, key, order, value, &before, schema, &child_path)?;
        }
    }
    for (key, order) in patch {
        if let Some(field) = key.strip_prefix(SET_ELEMENT_ORDER)
            && !patch.contains_key(field)
        {
            let before = match original.get(field) {
                Some(Value::Array(items)) => items.clone(),
                _ => Vec::new(),
            };
            let (schema, _) = cursor.field(field);
            apply_element_order(
                &mut original,
                field,
                order,
                &Value::Array(Vec::new()),
                &before,
                schema,
                path,
            )?;
        }
    }
    Ok(original)
}

fn is_directive(key: &str) -> bool {
    key == PATCH
        || key == RETAIN_KEYS
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
        || key.starts_with(SET_ELEMENT_ORDER)
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

/// `$setElementOrder/<field>`: checks that the patch list follows the order list, then puts
/// the elements it names in that order, interleaving the others by their live positions.
fn apply_element_order(
    object: &mut Map<String, Value>,
    field: &str,
    order: &Value,
    patch_list: &Value,
    before: &[Value],
    schema: FieldSchema,
    path: &str,
) -> Result<(), PatchError> {
    let Value::Array(order) = order else {
        return Err(invalid(path, format!("{SET_ELEMENT_ORDER}{field} must be a list")));
    };
    if schema.list.is_none_or(|list| list == ListType::Atomic) {
        return Ok(());
    }
    let key = list_key(schema);
    let identity = Identity(key);
    let mut position = 0;
    for item in patch_list.as_array().into_iter().flatten().filter(|i| i.get(PATCH).is_none()) {
        match order[position..].iter().position(|o| identity.same(o, item)) {
            Some(found) => position += found + 1,
            None => {
                return Err(invalid(
                    path,
                    format!(
                        "the elements of {field:?} are not in the order {SET_ELEMENT_ORDER}{field} gives"
                    ),
                ));
            }
        }
    }
    if let Some(Value::Array(list)) = object.get_mut(field) {
        *list = identity.normalize(std::mem::take(list), &identity.ids(order), &identity.ids(before));
    }
    Ok(())
}

/// How list elements are told apart: by merge key, or by value for sets.
#[derive(Clone, Copy)]
struct Identity(Option<&'static str>);

impl Identity {
    fn id(self, item: &Value) -> Option<&Value> {
        match self.0 {
            Some(key) => item.get(key),
            None => Some(item),
        }
    }

    fn ids(self, items: &[Value]) -> Vec<Value> {
        items.iter().filter_map(|item| self.id(item).cloned()).collect()
    }

    fn same(self, a: &Value, b: &Value) -> bool {
        self.id(a).is_some_and(|id| self.id(b) == Some(id))
    }

    fn index(self, ids: &[Value], item: &Value) -> Option<usize> {
        let id = self.id(item)?;
        ids.iter().position(|candidate| candidate == id)
    }

    /// Upstream's element order after a merge: the elements named by `order` sorted by it,
    /// the others by their position in `server`, and the two sequences interleaved so both
    /// relative orders hold, elements the server did not have going first. Both lists hold
    /// identities (see [`Identity::ids`]).
    fn normalize(self, merged: Vec<Value>, order: &[Value], server: &[Value]) -> Vec<Value> {
        let (mut named, mut others): (Vec<Value>, Vec<Value>) =
            merged.into_iter().partition(|item| self.index(order, item).is_some());
        named.sort_by_key(|item| self.index(order, item));
        others.sort_by_key(|item| self.index(server, item).unwrap_or(usize::MAX));
        let mut out = Vec::with_capacity(named.len() + others.len());
        let (mut left, mut right) = (others.into_iter().peekable(), named.into_iter().peekable());
        loop {
            let take_left = match (left.peek(), right.peek()) {
                (Some(l), Some(r)) => {
                    matches!((self.index(server, l), self.index(server, r)), (Some(li), Some(ri)) if li < ri)
                }
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            out.extend(if take_left { left.next() } else { right.next() });
        }
        out
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
            let server = original.clone();
            let identity = Identity(None);
            let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
            for item in original.into_iter().chain(patch.iter().cloned()) {
                if !merged.contains(&item) {
                    merged.push(item);
                }
            }
            Ok(identity.normalize(merged, &identity.ids(patch), &server))
        }
        Some(ListType::Map { merge_key, .. }) => {
            let is_replace = |item: &Value| item.get(PATCH).and_then(Value::as_str) == Some("replace");
            if patch.iter().any(is_replace) {
                // `$patch: replace`: the list becomes the patch's other elements.
                return patch
                    .iter()
                    .filter(|item| item.get(PATCH).is_none())
                    .map(|item| match item {
                        Value::Object(map) => Ok(Value::Object(merge_map(Map::new(), map, cursor, path)?)),
                        other => Ok(other.clone()),
                    })
                    .collect();
            }
            let mut out = original;
            let mut items = Vec::with_capacity(patch.len());
            for item in patch {
                let Value::Object(item) = item else {
                    return Err(invalid(
                        path,
                        format!("list elements must be objects with the key {merge_key:?}"),
                    ));
                };
                match item.get(PATCH) {
                    None => items.push(item),
                    Some(Value::String(d)) if d == "delete" => {
                        let key = item.get(merge_key).ok_or_else(|| missing_key(path, merge_key))?;
                        out.retain(|o| o.get(merge_key) != Some(key));
                    }
                    Some(other) => {
                        return Err(invalid(
                            path,
                            format!("$patch: {other} is not valid in a list; use replace or delete"),
                        ));
                    }
                }
            }
            let identity = Identity(Some(merge_key));
            let server = identity.ids(&out);
            for item in &items {
                let key = item.get(merge_key).ok_or_else(|| missing_key(path, merge_key))?;
                match out.iter().position(|o| o.get(merge_key) == Some(key)) {
                    Some(i) => {
                        let existing = match out[i].take() {
                            Value::Object(map) => map,
                            _ => Map::new(),
                        };
                        out[i] = Value::Object(merge_map(existing, item, cursor, path)?);
                    }
                    None => out.push(Value::Object(merge_map(Map::new(), item, cursor, path)?)),
                }
            }
            let order: Vec<Value> = items.iter().filter_map(|item| item.get(merge_key).cloned()).collect();
            Ok(identity.normalize(out, &order, &server))
        }
    }
}

fn missing_key(path: &str, merge_key: &str) -> PatchError {
    invalid(path, format!("a list element does not contain the merge key {merge_key:?}"))
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
    Ok(Value::Object(combine(deletions, delta, cursor)))
}

fn as_object<'a>(value: &'a Value, what: &'static str) -> Result<&'a Map<String, Value>, PatchError> {
    value.as_object().ok_or(PatchError::NotAnObject { what, found: json_type(value) })
}

/// Merges the deletion pass and the change pass of a three-way patch: objects key by key,
/// keyed lists element by element, each keyed list then ordered by its `$setElementOrder`
/// with `$patch` directives last (the order upstream validates), other values from `b`.
fn combine(mut a: Map<String, Value>, b: Map<String, Value>, cursor: Cursor) -> Map<String, Value> {
    for (key, value) in b {
        let (schema, child) = cursor.field(&key);
        let merged = match (a.get_mut(&key).map(Value::take), value) {
            (Some(Value::Object(x)), Value::Object(y)) => Value::Object(combine(x, y, child)),
            (Some(Value::Array(mut x)), Value::Array(y)) => match list_key(schema) {
                Some(merge_key) => Value::Array(combine_lists(x, y, merge_key, child)),
                None => {
                    x.extend(y);
                    Value::Array(x)
                }
            },
            (_, y) => y,
        };
        a.insert(key, merged);
    }
    let orders: Vec<(String, Vec<Value>)> = a
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(SET_ELEMENT_ORDER)?.to_string(), v.as_array()?.clone())))
        .collect();
    for (field, order) in orders {
        let (schema, _) = cursor.field(&field);
        if let (Some(merge_key), Some(Value::Array(list))) = (list_key(schema), a.get_mut(&field)) {
            let identity = Identity(Some(merge_key));
            let order = identity.ids(&order);
            list.sort_by_key(|item| match item.get(PATCH) {
                Some(_) => usize::MAX,
                None => identity.index(&order, item).unwrap_or(usize::MAX - 1),
            });
        }
    }
    a
}

fn combine_lists(mut a: Vec<Value>, b: Vec<Value>, merge_key: &str, cursor: Cursor) -> Vec<Value> {
    for item in b {
        let found = a.iter().position(|x| {
            x.get(PATCH).is_none() && x.get(merge_key).is_some() && x.get(merge_key) == item.get(merge_key)
        });
        match (found, item) {
            (Some(i), Value::Object(y)) => {
                a[i] = match a[i].take() {
                    Value::Object(x) => Value::Object(combine(x, y, cursor)),
                    _ => Value::Object(y),
                };
            }
            (_, item) => a.push(item),
        }
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
        list => {
            if options.changes {
                let mut whole = new.to_vec();
                if matches!(list, Some(ListType::Map { .. })) {
                    // Elements without their merge key cannot be merged: replace the list.
                    whole.push(serde_json::json!({ PATCH: "replace" }));
                }
                patch.insert(key.to_string(), Value::Array(whole));
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
