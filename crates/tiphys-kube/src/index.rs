//! The live-state index: a pure, synchronous map of every cached object, fed by watch
//! events (`index.apply(event)`) and queried by the controller. No I/O, no clock, no tokio:
//! it is tested with plain `#[test]`s, and the async [`crate::cache`] only feeds it.
//!
//! Per object it keeps what the controller needs and nothing else: the key, resourceVersion,
//! uid, ownerReferences, the tracking label and annotation, and the object itself as compact
//! JSON bytes shared through an `Arc` (parsed on demand for diff and health). Secondary
//! indexes answer "children of this uid" (the resource tree: Deployment → ReplicaSet → Pod)
//! and "objects tracked by this app".

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;
use tiphys_resource::{GroupKind, GroupVersionKind, ResourceKey, annotations};

/// How objects are tracked and how much of them is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexConfig {
    /// The label whose value names the owning app (argocd-cm `application.instanceLabelKey`,
    /// default `app.kubernetes.io/instance`).
    pub instance_label: String,
    /// Drop `metadata.managedFields` from objects no app tracks: only tracked objects are
    /// diffed (server-side diff needs their managedFields); the rest only feed trees and
    /// health, and managedFields are often a third of an object.
    pub strip_untracked_managed_fields: bool,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            instance_label: annotations::INSTANCE_LABEL.to_string(),
            strip_untracked_managed_fields: true,
        }
    }
}

/// One ownerReference, reduced to what the tree needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef {
    /// Group of the owner's apiVersion (empty for core).
    pub group: Box<str>,
    /// Owner kind.
    pub kind: Box<str>,
    /// Owner name (same namespace as the dependent, or cluster-scoped).
    pub name: Box<str>,
    /// Owner uid: what links the tree, since names can be reused.
    pub uid: Arc<str>,
    /// Whether this owner is the managing controller.
    pub controller: bool,
}

/// What the index keeps of one live object.
#[derive(Debug, Clone)]
pub struct CachedObject {
    key: Arc<ResourceKey>,
    api_version: Box<str>,
    resource_version: Box<str>,
    uid: Arc<str>,
    owners: Box<[OwnerRef]>,
    instance: Option<Box<str>>,
    tracking_id: Option<Box<str>>,
    manifest: Arc<[u8]>,
}

impl CachedObject {
    /// The object's identity.
    pub fn key(&self) -> &ResourceKey {
        &self.key
    }

    /// The apiVersion it was read with.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// `metadata.resourceVersion`.
    pub fn resource_version(&self) -> &str {
        &self.resource_version
    }

    /// `metadata.uid`.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// `metadata.ownerReferences`.
    pub fn owners(&self) -> &[OwnerRef] {
        &self.owners
    }

    /// The value of the instance (tracking) label, if set.
    pub fn instance_label(&self) -> Option<&str> {
        self.instance.as_deref()
    }

    /// The `argocd.argoproj.io/tracking-id` annotation, if set.
    pub fn tracking_id(&self) -> Option<&str> {
        self.tracking_id.as_deref()
    }

    /// The app names this object claims through its label or annotation (the controller still
    /// decides whether the claim is valid, e.g. that the tracking id matches the object).
    pub fn claimed_apps(&self) -> BTreeSet<&str> {
        let from_annotation = self.tracking_id.as_deref().and_then(tracking_app);
        self.instance.as_deref().into_iter().chain(from_annotation).collect()
    }

    /// The object as compact JSON bytes (shared, never copied).
    pub fn manifest_bytes(&self) -> &Arc<[u8]> {
        &self.manifest
    }

    /// The object parsed back into a JSON value.
    pub fn object(&self) -> Value {
        // The bytes were produced by serde_json from a Value, so they always parse.
        serde_json::from_slice(&self.manifest).unwrap_or(Value::Null)
    }
}

/// The app part of a tracking id `<app>:<group>/<kind>:<namespace>/<name>`.
fn tracking_app(id: &str) -> Option<&str> {
    id.split_once(':').map(|(app, _)| app).filter(|a| !a.is_empty())
}

/// A watch event, in the index's terms.
#[derive(Debug, Clone)]
pub enum IndexEvent {
    /// An object was added or modified.
    Upsert(Value),
    /// An object was deleted (the last state the watch saw).
    Delete(Value),
    /// A full (re)list of one resource type: objects of `kind` not in `objects` are gone.
    Replace {
        /// The listed type.
        kind: GroupKind,
        /// Everything the list returned.
        objects: Vec<Value>,
    },
}

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// It was not in the index before.
    Added,
    /// Its resourceVersion changed.
    Updated,
    /// It left the index.
    Deleted,
}

/// One changed key and the apps it concerns, for the controller's refresh queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The object.
    pub key: Arc<ResourceKey>,
    /// What happened.
    pub kind: ChangeKind,
    /// Apps claiming the object or one of its owners, before and after the change (a
    /// deleted or re-labelled object still reaches its former app). Owners not cached yet
    /// (separate watches deliver in any order) cannot contribute: after the initial sync the
    /// controller refreshes every app anyway.
    pub apps: BTreeSet<Arc<str>>,
}

/// The index itself. See the module docs.
#[derive(Debug, Default)]
pub struct LiveIndex {
    config: IndexConfig,
    objects: BTreeMap<Arc<ResourceKey>, CachedObject>,
    by_uid: HashMap<Arc<str>, Arc<ResourceKey>>,
    children: HashMap<Arc<str>, BTreeSet<Arc<ResourceKey>>>,
    by_app: HashMap<Arc<str>, BTreeSet<Arc<ResourceKey>>>,
    rejected: u64,
}

/// Owner chains longer than this are treated as cycles.
const MAX_OWNER_DEPTH: usize = 32;

impl LiveIndex {
    /// An empty index.
    pub fn new(config: IndexConfig) -> Self {
        LiveIndex { config, ..Default::default() }
    }

    /// Applies one event and returns the keys whose state changed. Events that change
    /// nothing (same resourceVersion, delete of an unknown key) return no change, so a
    /// periodic resync is silent when the cluster is quiet.
    pub fn apply(&mut self, event: IndexEvent) -> Vec<Change> {
        let mut changes = Vec::new();
        match event {
            IndexEvent::Upsert(object) => {
                self.upsert(object, &mut changes);
            }
            IndexEvent::Delete(object) => match ResourceKey::of(&object) {
                Ok(key) => self.remove(&key, &mut changes),
                Err(_) => self.rejected += 1,
            },
            IndexEvent::Replace { kind, objects } => {
                let mut seen = BTreeSet::new();
                for object in objects {
                    if let Some(key) = self.upsert(object, &mut changes) {
                        seen.insert(key);
                    }
                }
                let stale: Vec<Arc<ResourceKey>> =
                    self.keys_of_kind(&kind).filter(|k| !seen.contains(k.as_ref())).cloned().collect();
                for key in stale {
                    self.remove(&key, &mut changes);
                }
            }
        }
        changes
    }

    /// How many objects are cached.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// How many events carried objects without apiVersion, kind or name (and were ignored).
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// One object by key.
    pub fn get(&self, key: &ResourceKey) -> Option<&CachedObject> {
        self.objects.get(key)
    }

    /// One object by uid.
    pub fn get_by_uid(&self, uid: &str) -> Option<&CachedObject> {
        self.by_uid.get(uid).and_then(|k| self.objects.get(k.as_ref()))
    }

    /// Every cached object of a group/kind, in key order.
    pub fn list_kind(&self, kind: &GroupKind) -> impl Iterator<Item = &CachedObject> {
        self.keys_of_kind(kind).filter_map(|k| self.objects.get(k.as_ref()))
    }

    /// Every cached object, in key order.
    pub fn iter(&self) -> impl Iterator<Item = &CachedObject> {
        self.objects.values()
    }

    /// Objects that claim `app` through the tracking label or annotation.
    pub fn tracked_by(&self, app: &str) -> impl Iterator<Item = &CachedObject> {
        self.by_app.get(app).into_iter().flatten().filter_map(|k| self.objects.get(k.as_ref()))
    }

    /// Direct dependents of an object (objects listing its uid in ownerReferences).
    pub fn children(&self, key: &ResourceKey) -> Vec<&CachedObject> {
        let Some(uid) = self.objects.get(key).map(|o| &o.uid) else { return Vec::new() };
        self.children_of_uid(uid).collect()
    }

    fn children_of_uid(&self, uid: &str) -> impl Iterator<Item = &CachedObject> {
        self.children.get(uid).into_iter().flatten().filter_map(|k| self.objects.get(k.as_ref()))
    }

    /// The resource tree under `root`: every transitive dependent with its parent's key, in
    /// breadth-first order (Deployment → ReplicaSets → Pods). Cycles are cut.
    pub fn tree(&self, root: &ResourceKey) -> Vec<TreeNode<'_>> {
        let mut out = Vec::new();
        let Some(start) = self.objects.get(root) else { return out };
        let mut visited: BTreeSet<&str> = BTreeSet::from([start.uid.as_ref()]);
        let mut queue = VecDeque::from([(start, 0usize)]);
        while let Some((parent, depth)) = queue.pop_front() {
            for child in self.children_of_uid(&parent.uid) {
                if visited.insert(&child.uid) {
                    out.push(TreeNode { parent: &parent.key, object: child, depth: depth + 1 });
                    queue.push_back((child, depth + 1));
                }
            }
        }
        out
    }

    /// The apps claiming this object or any owner up its ownerReference chains (a Pod maps
    /// to the app of its Deployment).
    pub fn apps_of(&self, key: &ResourceKey) -> BTreeSet<Arc<str>> {
        match self.objects.get(key) {
            Some(object) => self.apps_via_owners(object),
            None => BTreeSet::new(),
        }
    }

    fn apps_via_owners(&self, object: &CachedObject) -> BTreeSet<Arc<str>> {
        let mut apps = BTreeSet::new();
        let mut stack: Vec<(&CachedObject, usize)> = vec![(object, 0)];
        let mut visited: BTreeSet<&str> = BTreeSet::new();
        while let Some((current, depth)) = stack.pop() {
            if depth > MAX_OWNER_DEPTH || !visited.insert(&current.uid) {
                continue;
            }
            apps.extend(current.claimed_apps().into_iter().map(Arc::from));
            for owner in current.owners.iter() {
                if let Some(parent) = self.get_by_uid(&owner.uid) {
                    stack.push((parent, depth + 1));
                }
            }
        }
        apps
    }

    fn keys_of_kind<'a>(&'a self, kind: &GroupKind) -> impl Iterator<Item = &'a Arc<ResourceKey>> {
        let start = ResourceKey::new(kind.group.clone(), kind.kind.clone(), "", "");
        let (group, kind) = (kind.group.clone(), kind.kind.clone());
        self.objects
            .range::<ResourceKey, _>(&start..)
            .map(|(k, _)| k)
            .take_while(move |k| k.group == group && k.kind == kind)
    }

    fn upsert(&mut self, object: Value, changes: &mut Vec<Change>) -> Option<ResourceKey> {
        // Fast path for resyncs: a known resourceVersion is not serialized again.
        if let Ok(key) = ResourceKey::of(&object)
            && let Some(old) = self.objects.get(&key)
            && object.pointer("/metadata/resourceVersion").and_then(Value::as_str)
                == Some(&*old.resource_version)
            && object.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default() == &*old.uid
        {
            return Some(key);
        }
        let Some(cached) = self.compact(object) else {
            self.rejected += 1;
            return None;
        };
        let key = cached.key.as_ref().clone();
        let mut apps = BTreeSet::new();
        let kind = match self.detach(&key) {
            Some(old) => {
                apps.extend(self.apps_via_owners(&old));
                ChangeKind::Updated
            }
            None => ChangeKind::Added,
        };
        let shared = cached.key.clone();
        self.attach(cached);
        if let Some(stored) = self.objects.get(&key) {
            apps.extend(self.apps_via_owners(stored));
        }
        changes.push(Change { key: shared, kind, apps });
        Some(key)
    }

    fn remove(&mut self, key: &ResourceKey, changes: &mut Vec<Change>) {
        if let Some(old) = self.detach(key) {
            let apps = self.apps_via_owners(&old);
            changes.push(Change { key: old.key.clone(), kind: ChangeKind::Deleted, apps });
        }
    }

    /// Takes an object out of the primary map and every secondary index.
    fn detach(&mut self, key: &ResourceKey) -> Option<CachedObject> {
        let old = self.objects.remove(key)?;
        if self.by_uid.get(&old.uid).is_some_and(|k| k.as_ref() == key) {
            self.by_uid.remove(&old.uid);
        }
        for owner in old.owners.iter() {
            if let Some(set) = self.children.get_mut(&owner.uid) {
                set.remove(key);
                if set.is_empty() {
                    self.children.remove(&owner.uid);
                }
            }
        }
        for app in old.claimed_apps() {
            if let Some(set) = self.by_app.get_mut(app) {
                set.remove(key);
                if set.is_empty() {
                    self.by_app.remove(app);
                }
            }
        }
        Some(old)
    }

    fn attach(&mut self, object: CachedObject) {
        let key = object.key.clone();
        self.by_uid.insert(object.uid.clone(), key.clone());
        for owner in object.owners.iter() {
            self.children.entry(owner.uid.clone()).or_default().insert(key.clone());
        }
        for app in object.claimed_apps() {
            self.by_app.entry(Arc::from(app)).or_default().insert(key.clone());
        }
        self.objects.insert(key, object);
    }

    /// Reduces a watched object to its cached form; `None` when it cannot be keyed.
    fn compact(&self, mut object: Value) -> Option<CachedObject> {
        let gvk = GroupVersionKind::of(&object).ok()?;
        let key = ResourceKey::of(&object).ok().filter(|k| !k.name.is_empty())?;
        let meta = object.get("metadata")?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(Box::<str>::from);
        let instance = text(meta.get("labels").and_then(|l| l.get(&self.config.instance_label)));
        let tracking_id = text(meta.get("annotations").and_then(|a| a.get(annotations::TRACKING_ID)));
        let owners: Box<[OwnerRef]> = meta
            .get("ownerReferences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(owner_ref)
            .collect();
        let resource_version = text(meta.get("resourceVersion")).unwrap_or_default();
        let uid: Arc<str> =
            meta.get("uid").and_then(Value::as_str).map(Arc::from).unwrap_or_else(|| Arc::from(""));
        let untracked = instance.is_none() && tracking_id.is_none();
        if untracked
            && self.config.strip_untracked_managed_fields
            && let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.remove("managedFields");
        }
        let manifest: Arc<[u8]> = serde_json::to_vec(&object).ok()?.into();
        Some(CachedObject {
            key: Arc::new(key),
            api_version: gvk.api_version().into(),
            resource_version,
            uid,
            owners,
            instance,
            tracking_id,
            manifest,
        })
    }
}

/// One node of [`LiveIndex::tree`].
#[derive(Debug, Clone, Copy)]
pub struct TreeNode<'a> {
    /// The key of the node's owner in the tree.
    pub parent: &'a ResourceKey,
    /// The node.
    pub object: &'a CachedObject,
    /// 1 for direct children of the root.
    pub depth: usize,
}

fn owner_ref(value: &Value) -> Option<OwnerRef> {
    let field = |f: &str| value.get(f).and_then(Value::as_str);
    let gvk = GroupVersionKind::from_api_version(field("apiVersion")?, field("kind")?).ok()?;
    Some(OwnerRef {
        group: gvk.group.into(),
        kind: gvk.kind.into(),
        name: field("name")?.into(),
        uid: Arc::from(field("uid")?),
        controller: value.get("controller").and_then(Value::as_bool).unwrap_or(false),
    })
}
