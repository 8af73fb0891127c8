//! Server-side apply and field ownership (`metadata.managedFields`), following the rules of
//! structured-merge-diff as the API server uses them:
//!
//! - an apply merges the configuration into the live object (keyed lists by key, sets by
//!   value, atomic lists and structs as a whole) and makes the manager own exactly the fields
//!   of the configuration;
//! - fields the manager applied last time and no longer applies are removed, unless another
//!   manager still owns them;
//! - changing a field another manager owns is a conflict, unless `force` is set, which moves
//!   the field to the applier; applying the same value as another manager shares ownership;
//! - an ordinary write (`Update`) gives the writer every field it changed and takes those
//!   fields away from everyone else, which is what makes a later apply conflict.

use serde_json::{Map, Value};
use tiphys_resource::GroupVersionKind;

use crate::error::json_type;
use crate::last_applied;
use crate::owned::{compare, fields_of, list_element};
use crate::schema::{Cursor, ListType};
use crate::{Conflict, Conflicts, FieldSet, PatchError, PathElement};

/// The kind of write that produced a `managedFields` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Server-side apply (`PATCH` with `application/apply-patch+yaml`).
    Apply,
    /// Any other write: create, update, JSON/merge/strategic patch.
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// One entry of `metadata.managedFields`: which fields one manager owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedFieldsEntry {
    /// The field manager, e.g. `kubectl`, `argocd-controller`.
    pub manager: String,
    /// How the manager wrote the fields.
    pub operation: Operation,
    /// The `apiVersion` the fields were written through, e.g. `apps/v1`.
    pub api_version: String,
    /// When the entry last changed (RFC 3339).
    pub time: Option<String>,
    /// The subresource written (`status`, `scale`), empty for the main resource.
    pub subresource: String,
    /// The owned fields.
    pub fields: FieldSet,
}

impl ManagedFieldsEntry {
    /// Whether `self` is the entry of this writer. Apply entries are one per manager; update
    /// entries are per manager, API version and subresource, as on the API server.
    fn is(&self, manager: &str, operation: Operation, api_version: &str) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.is_empty()
            && (operation == Operation::Apply || self.api_version == api_version)
    }

    /// The manager as conflict messages print it.
    fn display_name(&self) -> String {
        let mut name = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            name = format!("{name} with subresource {:?}", self.subresource);
        }
        if self.operation == Operation::Update {
            name = format!("{name} using {}", self.api_version);
        }
        name
    }

    fn from_json(value: &Value) -> Result<Self, PatchError> {
        let text = |field: &str| value.get(field).and_then(Value::as_str).map(str::to_string);
        let operation = match text("operation").as_deref() {
            Some("Apply") => Operation::Apply,
            Some("Update") => Operation::Update,
            other => {
                return Err(PatchError::InvalidManagedFields(format!(
                    "operation {other:?} is neither \"Apply\" nor \"Update\""
                )));
            }
        };
        let fields = match value.get("fieldsV1") {
            Some(fields) => FieldSet::from_fields_v1(fields)?,
            None => FieldSet::new(),
        };
        Ok(Self {
            manager: text("manager").unwrap_or_default(),
            operation,
            api_version: text("apiVersion").unwrap_or_default(),
            time: text("time"),
            subresource: text("subresource").unwrap_or_default(),
            fields,
        })
    }

    /// The entry as the API server writes it into `metadata.managedFields`.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("manager".into(), Value::String(self.manager.clone()));
        map.insert("operation".into(), Value::String(self.operation.as_str().into()));
        map.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        if let Some(time) = &self.time {
            map.insert("time".into(), Value::String(time.clone()));
        }
        map.insert("fieldsType".into(), Value::String("FieldsV1".into()));
        map.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if !self.subresource.is_empty() {
            map.insert("subresource".into(), Value::String(self.subresource.clone()));
        }
        Value::Object(map)
    }
}

/// Decodes `metadata.managedFields` of an object (empty when absent).
pub fn managed_fields(object: &Value) -> Result<Vec<ManagedFieldsEntry>, PatchError> {
    Ok(decoded(object)?.into_iter().map(|tracked| tracked.entry).collect())
}

/// An entry being updated, with the position of its stored JSON while it is unchanged:
/// re-encoding the entries nobody touched would be most of the cost of a write.
struct Tracked {
    entry: ManagedFieldsEntry,
    stored: Option<usize>,
}

impl Tracked {
    fn new(entry: ManagedFieldsEntry) -> Self {
        Self { entry, stored: None }
    }

    /// Takes `set` away from the entry's fields.
    fn lose(&mut self, set: &FieldSet) {
        let rest = self.entry.fields.difference(set);
        if rest != self.entry.fields {
            self.entry.fields = rest;
            self.stored = None;
        }
    }
}

fn decoded(object: &Value) -> Result<Vec<Tracked>, PatchError> {
    match object.pointer("/metadata/managedFields") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(entries)) => entries
            .iter()
            .enumerate()
            .map(|(i, json)| Ok(Tracked { entry: ManagedFieldsEntry::from_json(json)?, stored: Some(i) }))
            .collect(),
        Some(other) => {
            Err(PatchError::InvalidManagedFields(format!("expected a list, found {}", json_type(other))))
        }
    }
}

/// The field manager name of `kubectl apply --server-side`, which upstream treats specially
/// for the switch from client-side apply.
const KUBECTL: &str = "kubectl";

/// The manager that owns the fields of an object that had no `managedFields` when it was
/// first applied to.
pub const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// Server-side apply of `applied` (the manager's whole intent for the object) onto `live`
/// (`None` on create) by `manager`, as the API server does for `PATCH` with
/// `application/apply-patch+yaml`. Returns the new object with `metadata.managedFields`
/// updated (operation `Apply`, `time = now` unless the apply changed nothing), or
/// [`PatchError::Conflicts`] when fields owned by other managers would change and `force` is
/// false.
///
/// Like the API server, the manager `kubectl` takes over the fields of its own earlier
/// client-side apply (those in the last-applied annotation, unchanged since) without
/// conflict, and keeps an existing last-applied annotation in step with what it applies.
pub fn server_side_apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    gvk: &GroupVersionKind,
    now: &str,
) -> Result<Value, PatchError> {
    if !applied.is_object() {
        return Err(PatchError::NotAnObject { what: "the applied configuration", found: json_type(applied) });
    }
    let empty = Value::Object(Map::new());
    let live = live.unwrap_or(&empty);
    let mut applied = applied.clone();
    drop_nulls(&mut applied);
    if let Some(Value::Object(meta)) = applied.get_mut("metadata") {
        meta.shift_remove("managedFields");
    }
    let mut entries = decoded(live)?;
    let api_version = gvk.api_version();
    if entries.is_empty() && live != &empty {
        // An object nobody tracked yet: its current fields belong to a stand-in manager, so
        // an apply that changes them conflicts, as on the API server.
        entries.push(Tracked::new(ManagedFieldsEntry {
            manager: BEFORE_FIRST_APPLY.to_string(),
            operation: Operation::Update,
            api_version: api_version.clone(),
            time: Some(now.to_string()),
            subresource: String::new(),
            fields: fields_of(live, gvk),
        }));
    }
    let applied_set = fields_of(&applied, gvk);
    let mut merged = merge_applied(live.clone(), &applied, Cursor::root(gvk));

    let position = entries.iter().position(|t| t.entry.is(manager, Operation::Apply, &api_version));
    let last_set = position.map(|i| entries[i].entry.fields.clone()).unwrap_or_default();
    let (last_time, last_stored) = match position {
        Some(i) => (entries[i].entry.time.clone(), entries[i].stored),
        None => (None, None),
    };
    let entry = ManagedFieldsEntry {
        manager: manager.to_string(),
        operation: Operation::Apply,
        api_version: api_version.clone(),
        time: Some(now.to_string()),
        subresource: String::new(),
        fields: applied_set,
    };
    let me = match position {
        Some(i) => {
            entries[i] = Tracked::new(entry);
            i
        }
        None => {
            entries.push(Tracked::new(entry));
            entries.len() - 1
        }
    };

    let owned = entries.iter().fold(FieldSet::new(), |acc, t| acc.union(&t.entry.fields));
    for path in last_set.difference(&owned).paths() {
        if !owned.has_prefix(&path.0) {
            remove_path(&mut merged, &path.0, Cursor::root(gvk));
        }
    }

    let comparison = compare(live, &merged, gvk);
    let contested: Vec<(usize, FieldSet)> = entries
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != me)
        .map(|(i, tracked)| (i, tracked.entry.fields.intersection(&comparison.changed)))
        .filter(|(_, set)| !set.is_empty())
        .collect();
    // kubectl switching from client-side to server-side apply: fields its last client-side
    // apply set, and nobody changed since, are taken over without conflict.
    let allowed = match (force, manager) {
        (false, KUBECTL) => last_applied::recorded(live)
            .map(|last| fields_of(&last, gvk).difference(&compare(&last, live, gvk).changed)),
        _ => None,
    };
    let unresolved: Vec<(usize, FieldSet)> = contested
        .iter()
        .map(|(i, set)| (*i, allowed.as_ref().map_or_else(|| set.clone(), |allowed| set.difference(allowed))))
        .filter(|(_, set)| !set.is_empty())
        .collect();
    if !force && !unresolved.is_empty() {
        let conflicts = unresolved
            .iter()
            .flat_map(|(i, set)| {
                let manager = entries[*i].entry.display_name();
                set.paths()
                    .into_iter()
                    .map(move |p| Conflict { manager: manager.clone(), field: p.to_string() })
            })
            .collect();
        return Err(PatchError::Conflicts(Conflicts(conflicts)));
    }
    for (i, set) in contested {
        entries[i].lose(&set);
    }
    if manager == KUBECTL {
        last_applied::refresh(&mut merged, &applied);
    }
    if merged == *live {
        // A no-op apply leaves the object alone, the applier's timestamp included, so it
        // costs no new resourceVersion and no watch event (as on the API server).
        let mine = &mut entries[me];
        mine.entry.time = last_time;
        if mine.entry.fields == last_set {
            mine.stored = last_stored;
        }
    }
    finish(&mut merged, entries, &comparison.removed, live);
    Ok(merged)
}

/// Records the ownership change of an ordinary write (create, update, non-apply patch) by
/// `manager`: it gains every field that differs between `old` (`None` on create) and `new`,
/// and other managers lose those fields. Returns `new` with `metadata.managedFields` set.
/// When the writer replaced `managedFields` itself, its version is kept, and an existing
/// object without `managedFields` stays untracked, as on the API server.
pub fn update_managed_fields(
    old: Option<&Value>,
    new: &Value,
    manager: &str,
    gvk: &GroupVersionKind,
    now: &str,
) -> Result<Value, PatchError> {
    let empty = Value::Object(Map::new());
    let old = old.unwrap_or(&empty);
    let written = new.pointer("/metadata/managedFields");
    if written.is_some() && written != old.pointer("/metadata/managedFields") {
        managed_fields(new)?;
        return Ok(new.clone());
    }
    let mut entries = decoded(old)?;
    if entries.is_empty() && old != &empty {
        // Like the API server: ownership is tracked from creation or from the first apply on;
        // an update of an untracked object stays untracked.
        return Ok(new.clone());
    }
    let mut result = new.clone();
    let comparison = compare(old, new, gvk);
    if !comparison.changed.is_empty() {
        for tracked in &mut entries {
            tracked.lose(&comparison.changed);
        }
    }
    let api_version = gvk.api_version();
    if !comparison.changed.is_empty() {
        match entries.iter_mut().find(|t| t.entry.is(manager, Operation::Update, &api_version)) {
            Some(tracked) => {
                tracked.entry.fields = tracked.entry.fields.union(&comparison.changed);
                tracked.entry.time = Some(now.to_string());
                tracked.stored = None;
            }
            None => entries.push(Tracked::new(ManagedFieldsEntry {
                manager: manager.to_string(),
                operation: Operation::Update,
                api_version,
                time: Some(now.to_string()),
                subresource: String::new(),
                fields: comparison.changed,
            })),
        }
    }
    finish(&mut result, entries, &comparison.removed, old);
    Ok(result)
}

/// Drops removed fields from every entry, drops empty entries, sorts them as the API server
/// does (Apply before Update, then by time, manager, API version) and writes them back,
/// unchanged ones as they were stored in `source`.
fn finish(object: &mut Value, mut entries: Vec<Tracked>, removed: &FieldSet, source: &Value) {
    if !removed.is_empty() {
        for tracked in &mut entries {
            tracked.lose(removed);
        }
    }
    entries.retain(|t| !t.entry.fields.is_empty());
    entries.sort_by(|a, b| {
        let (a, b) = (&a.entry, &b.entry);
        (a.operation, &a.time, &a.manager, &a.api_version, &a.subresource).cmp(&(
            b.operation,
            &b.time,
            &b.manager,
            &b.api_version,
            &b.subresource,
        ))
    });
    let Value::Object(map) = object else { return };
    let meta = map.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        if entries.is_empty() {
            meta.shift_remove("managedFields");
        } else {
            let stored = source.pointer("/metadata/managedFields").and_then(Value::as_array);
            let encoded = entries
                .into_iter()
                .map(|t| match t.stored.and_then(|i| stored.and_then(|s| s.get(i))) {
                    Some(json) => json.clone(),
                    None => t.entry.to_json(),
                })
                .collect();
            meta.insert("managedFields".into(), Value::Array(encoded));
        }
    }
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// Merges an applied configuration into the live object with apply semantics.
fn merge_applied(live: Value, applied: &Value, cursor: Cursor) -> Value {
    match (live, applied) {
        (Value::Object(mut out), Value::Object(applied_map)) => {
            for (key, value) in applied_map {
                let (schema, child) = cursor.field(key);
                let merged = match out.get_mut(key).map(Value::take) {
                    Some(existing) if !schema.atomic => match schema.list {
                        Some(list) => merge_list(existing, value, list, child),
                        None => merge_applied(existing, value, child),
                    },
                    _ => value.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (_, applied) => applied.clone(),
    }
}

/// Merges a set or keyed list the way structured-merge-diff does: live-only elements keep
/// their places, elements in both follow the configuration's order, configuration-only
/// elements come where the configuration has them.
fn merge_list(live: Value, applied: &Value, list: ListType, cursor: Cursor) -> Value {
    let (Value::Array(mut lhs), Value::Array(rhs)) = (live, applied) else {
        return applied.clone();
    };
    let keys = match list {
        ListType::Atomic => return applied.clone(),
        ListType::Set => None,
        ListType::Map { keys, .. } => Some(keys),
    };
    let element = |item: &Value, index: usize| match keys {
        Some(keys) => list_element(item, keys, index),
        None => PathElement::Value(item.to_string()),
    };
    let lhs_pe: Vec<PathElement> = lhs.iter().enumerate().map(|(i, item)| element(item, i)).collect();
    let rhs_pe: Vec<PathElement> = rhs.iter().enumerate().map(|(i, item)| element(item, i)).collect();
    let merge_item = |lhs: &mut [Value], pe: &PathElement, right: &Value| match (
        keys,
        lhs_pe.iter().position(|p| p == pe),
    ) {
        (Some(_), Some(i)) => merge_applied(lhs[i].take(), right, cursor),
        _ => right.clone(),
    };
    let mut shared = rhs_pe.iter().filter(|pe| lhs_pe.contains(pe));
    let mut next_shared = shared.next();
    let mut merged_rhs: Vec<&PathElement> = Vec::new();
    let mut out = Vec::with_capacity(lhs.len().max(rhs.len()));
    let (mut l, mut r) = (0, 0);
    while l < lhs.len() || r < rhs.len() {
        if l < lhs.len() && r < rhs.len() {
            if lhs_pe[l] == rhs_pe[r] {
                out.push(merge_item(&mut lhs, &rhs_pe[r], &rhs[r]));
                merged_rhs.push(&rhs_pe[r]);
                l += 1;
                r += 1;
                next_shared = shared.next();
                continue;
            }
            if rhs_pe.contains(&lhs_pe[l]) && next_shared.is_some_and(|next| *next != lhs_pe[l]) {
                l += 1;
                continue;
            }
        }
        if l < lhs.len() {
            if !rhs_pe.contains(&lhs_pe[l]) {
                out.push(lhs[l].take());
                l += 1;
                continue;
            }
            if merged_rhs.contains(&&lhs_pe[l]) {
                l += 1;
                continue;
            }
        }
        if r < rhs.len() {
            let pe = &rhs_pe[r];
            merged_rhs.push(pe);
            out.push(merge_item(&mut lhs, pe, &rhs[r]));
            r += 1;
            if next_shared == Some(pe) {
                next_shared = shared.next();
            }
        }
    }
    Value::Array(out)
}

/// `object` without the fields in `fields` (keyed list elements matched by key, set elements
/// by value), maps and lists left empty by a removal dropped, as structured-merge-diff's
/// `RemoveItems` does. What Argo CD's `managedFieldsManagers` ignore rule applies to both
/// sides of a diff with the fields those managers own.
pub fn remove_fields(object: &Value, fields: &FieldSet, gvk: &GroupVersionKind) -> Value {
    let mut out = object.clone();
    for path in fields.paths() {
        remove_path(&mut out, &path.0, Cursor::root(gvk));
    }
    out
}

fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Removes the field or list element at `path`; missing paths are ignored.
fn remove_path(value: &mut Value, path: &[PathElement], cursor: Cursor) {
    let Some((first, rest)) = path.split_first() else { return };
    match (value, first) {
        (Value::Object(map), PathElement::Field(name)) => {
            if rest.is_empty() {
                map.shift_remove(name);
            } else if let Some(child) = map.get_mut(name) {
                let (schema, child_cursor) = cursor.field(name);
                match (child, schema.list, rest.first()) {
                    (Value::Array(items), Some(ListType::Map { keys, .. }), Some(element)) => {
                        let found = items
                            .iter()
                            .enumerate()
                            .position(|(i, item)| list_element(item, keys, i) == *element);
                        if let Some(i) = found {
                            if rest.len() == 1 {
                                items.remove(i);
                            } else {
                                remove_path(&mut items[i], &rest[1..], child_cursor);
                            }
                        }
                    }
                    (Value::Array(items), Some(ListType::Set), Some(PathElement::Value(v))) => {
                        let value = serde_json::from_str::<Value>(v).ok();
                        items.retain(|item| value.as_ref() != Some(item));
                    }
                    (child, _, _) => remove_path(child, rest, child_cursor),
                }
                // Like structured-merge-diff, a map or list the removal emptied goes too (one
                // level: upstream turns it into null, which decoding then drops).
                if rest.len() == 1 && map.get(name).is_some_and(is_empty_container) {
                    map.shift_remove(name);
                }
            }
        }
        (Value::Array(items), PathElement::Index(i)) if rest.is_empty() && *i < items.len() => {
            items.remove(*i);
        }
        _ => {}
    }
}
