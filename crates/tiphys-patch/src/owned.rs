//! Which fields an object has, and which changed between two versions of it, as
//! [`FieldSet`]s: the raw material of field ownership.
//!
//! A leaf is a scalar, an atomic list or object, or an empty object; a keyed list element is
//! a path of its own (`k:{..}`) with its fields below it; a set element is `v:..`. Metadata
//! the server owns (name, uid, resourceVersion, ...) and `apiVersion`/`kind` are never owned.

use std::sync::LazyLock;

use serde_json::{Map, Value};
use tiphys_resource::GroupVersionKind;

use crate::fieldset::key_element;
use crate::schema::{Cursor, FieldSchema, ListType};
use crate::{FieldSet, PathElement};

/// Metadata the server owns; never part of anyone's field set.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Where in the object a map is, for the fields that are never owned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Metadata,
    Inner,
}

impl Level {
    fn skips(self, key: &str) -> bool {
        match self {
            Level::Root => key == "apiVersion" || key == "kind",
            Level::Metadata => SERVER_METADATA.contains(&key),
            Level::Inner => false,
        }
    }

    fn child(self, key: &str) -> Level {
        if self == Level::Root && key == "metadata" { Level::Metadata } else { Level::Inner }
    }
}

/// The path element of a keyed-list item: its keys, `protocol` defaulting to `TCP` as the
/// API server's schema declares; the index when a key is missing.
pub(crate) fn list_element(item: &Value, keys: &[&'static str], index: usize) -> PathElement {
    static TCP: LazyLock<Value> = LazyLock::new(|| Value::String("TCP".into()));
    let mut pairs = Vec::with_capacity(keys.len());
    for key in keys {
        match item.get(*key) {
            Some(value) => pairs.push((*key, value)),
            None if *key == "protocol" => pairs.push((*key, &*TCP)),
            None => return PathElement::Index(index),
        }
    }
    key_element(pairs)
}

/// How a value is owned.
enum Shape<'a> {
    Object(&'a Map<String, Value>),
    Keyed(&'a [Value], &'static [&'static str]),
    Set(&'a [Value]),
    Leaf,
}

fn shape(value: &Value, schema: FieldSchema) -> Shape<'_> {
    match value {
        Value::Object(map) if !map.is_empty() && !schema.atomic => Shape::Object(map),
        Value::Array(items) => match schema.list {
            Some(ListType::Map { keys, .. }) => Shape::Keyed(items, keys),
            Some(ListType::Set) => Shape::Set(items),
            _ => Shape::Leaf,
        },
        _ => Shape::Leaf,
    }
}

/// Every field of `object` (an object of kind `gvk`) as a set.
pub(crate) fn fields_of(object: &Value, gvk: &GroupVersionKind) -> FieldSet {
    match object {
        Value::Object(map) => object_fields(map, Cursor::root(gvk), Level::Root),
        _ => FieldSet::new(),
    }
}

fn object_fields(map: &Map<String, Value>, cursor: Cursor, level: Level) -> FieldSet {
    let mut set = FieldSet::new();
    for (key, value) in map {
        if !level.skips(key) {
            let (schema, child) = cursor.field(key);
            add_value(&mut set, PathElement::Field(key.clone()), value, schema, child, level.child(key));
        }
    }
    set
}

/// Adds the paths of `value`, found at `element` below `set`'s position.
fn add_value(
    set: &mut FieldSet,
    element: PathElement,
    value: &Value,
    schema: FieldSchema,
    cursor: Cursor,
    level: Level,
) {
    match shape(value, schema) {
        Shape::Object(map) => attach(set, element, object_fields(map, cursor, level)),
        Shape::Keyed(items, keys) => {
            let mut list = FieldSet::new();
            for (index, item) in items.iter().enumerate() {
                add_element(&mut list, list_element(item, keys, index), item, cursor);
            }
            attach(set, element, list);
        }
        Shape::Set(items) => {
            let mut list = FieldSet::new();
            list.members.extend(items.iter().map(|item| PathElement::Value(item.to_string())));
            attach(set, element, list);
        }
        Shape::Leaf => {
            set.members.insert(element);
        }
    }
}

fn add_element(list: &mut FieldSet, element: PathElement, item: &Value, cursor: Cursor) {
    list.members.insert(element.clone());
    if let Value::Object(map) = item {
        attach(list, element, object_fields(map, cursor, Level::Inner));
    }
}

/// Puts `child` (paths relative to `element`) below `element` in `set`.
fn attach(set: &mut FieldSet, element: PathElement, child: FieldSet) {
    if child.is_empty() {
        return;
    }
    match set.children.get_mut(&element) {
        Some(existing) => *existing = existing.union(&child),
        None => {
            set.children.insert(element, child);
        }
    }
}

/// How an object changed: `changed` holds paths added or given another value, `removed`
/// paths that are gone.
pub(crate) struct Comparison {
    pub(crate) changed: FieldSet,
    pub(crate) removed: FieldSet,
}

/// Compares two versions of an object of kind `gvk`.
pub(crate) fn compare(old: &Value, new: &Value, gvk: &GroupVersionKind) -> Comparison {
    let mut comparison = Comparison { changed: FieldSet::new(), removed: FieldSet::new() };
    let empty = Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let new = new.as_object().unwrap_or(&empty);
    diff_objects(old, new, Cursor::root(gvk), Level::Root, &mut comparison);
    comparison
}

fn diff_objects(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    cursor: Cursor,
    level: Level,
    out: &mut Comparison,
) {
    for (key, new_value) in new {
        if level.skips(key) {
            continue;
        }
        let (schema, child) = cursor.field(key);
        let element = PathElement::Field(key.clone());
        match old.get(key) {
            None => add_value(&mut out.changed, element, new_value, schema, child, level.child(key)),
            Some(old_value) => {
                diff_values(element, old_value, new_value, schema, child, level.child(key), out)
            }
        }
    }
    for (key, old_value) in old {
        if !level.skips(key) && !new.contains_key(key) {
            let (schema, child) = cursor.field(key);
            add_value(
                &mut out.removed,
                PathElement::Field(key.clone()),
                old_value,
                schema,
                child,
                level.child(key),
            );
        }
    }
}

fn diff_values(
    element: PathElement,
    old: &Value,
    new: &Value,
    schema: FieldSchema,
    cursor: Cursor,
    level: Level,
    out: &mut Comparison,
) {
    if old == new {
        return;
    }
    let mut inner = Comparison { changed: FieldSet::new(), removed: FieldSet::new() };
    match (shape(old, schema), shape(new, schema)) {
        (Shape::Object(o), Shape::Object(n)) => diff_objects(o, n, cursor, level, &mut inner),
        (Shape::Keyed(o, keys), Shape::Keyed(n, _)) => {
            let old_elements: Vec<PathElement> =
                o.iter().enumerate().map(|(i, item)| list_element(item, keys, i)).collect();
            let new_elements: Vec<PathElement> =
                n.iter().enumerate().map(|(i, item)| list_element(item, keys, i)).collect();
            for (item, pe) in n.iter().zip(&new_elements) {
                match old_elements.iter().position(|p| p == pe).map(|i| &o[i]) {
                    None => add_element(&mut inner.changed, pe.clone(), item, cursor),
                    Some(before) if before != item => {
                        let empty = Map::new();
                        let mut element = Comparison { changed: FieldSet::new(), removed: FieldSet::new() };
                        diff_objects(
                            before.as_object().unwrap_or(&empty),
                            item.as_object().unwrap_or(&empty),
                            cursor,
                            Level::Inner,
                            &mut element,
                        );
                        attach(&mut inner.changed, pe.clone(), element.changed);
                        attach(&mut inner.removed, pe.clone(), element.removed);
                    }
                    Some(_) => {}
                }
            }
            for (item, pe) in o.iter().zip(&old_elements) {
                if !new_elements.contains(pe) {
                    add_element(&mut inner.removed, pe.clone(), item, cursor);
                }
            }
        }
        (Shape::Set(o), Shape::Set(n)) => {
            inner
                .changed
                .members
                .extend(n.iter().filter(|v| !o.contains(v)).map(|v| PathElement::Value(v.to_string())));
            inner
                .removed
                .members
                .extend(o.iter().filter(|v| !n.contains(v)).map(|v| PathElement::Value(v.to_string())));
        }
        (Shape::Leaf, Shape::Leaf) => {
            out.changed.members.insert(element);
            return;
        }
        _ => {
            add_value(&mut out.removed, element.clone(), old, schema, cursor, level);
            add_value(&mut out.changed, element, new, schema, cursor, level);
            return;
        }
    }
    attach(&mut out.changed, element.clone(), inner.changed);
    attach(&mut out.removed, element, inner.removed);
}
