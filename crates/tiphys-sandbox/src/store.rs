//! The synchronous store core: objects, resourceVersions, the event ring and every write
//! rule (preconditions, generation, status subresource, finalizers, garbage collection).
//!
//! HTTP handlers are thin wrappers over this; it is unit-tested with plain `#[test]`s. Objects
//! are kept as compact serialized JSON so that a list concatenates bytes instead of cloning
//! trees, and one global event log (a bounded ring) feeds every watch.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::defaults;
use crate::error::{Error, FieldError, Result};
use crate::selector::{FieldSelector, LabelSelector};
use crate::types::{ResourceType, builtin_types, types_of_crd};
use crate::validation;

/// `(group, plural)`: the storage identity of a resource, independent of version.
pub type GroupResource = (String, String);

/// A stored object: serialized JSON plus what selectors and indexes need without parsing.
#[derive(Debug)]
pub struct Stored {
    /// The object as compact JSON.
    pub json: Box<str>,
    /// `metadata.name`, for field selectors.
    pub name: Box<str>,
    /// `metadata.labels`, for label selectors.
    pub labels: Box<[(Box<str>, Box<str>)]>,
    /// The object's resourceVersion.
    pub rv: u64,
}

impl Stored {
    fn new(value: &Value, rv: u64) -> Self {
        let labels = value["metadata"]["labels"]
            .as_object()
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.as_str().into(), v.as_str()?.into()))).collect())
            .unwrap_or_default();
        let name = value["metadata"]["name"].as_str().unwrap_or_default().into();
        Stored { json: value.to_string().into_boxed_str(), name, labels, rv }
    }

    /// Parses the stored JSON.
    pub fn value(&self) -> Result<Value> {
        serde_json::from_str(&self.json)
            .map_err(|e| Error::internal(format!("stored object unreadable: {e}")))
    }

    fn label(&self, key: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| &**k == key).map(|(_, v)| &**v)
    }
}

/// What happened to an object, as watch streams report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
}

impl EventType {
    /// The wire name (`ADDED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One entry of the global event log.
#[derive(Debug, Clone)]
pub struct Event {
    /// The resourceVersion the change produced.
    pub rv: u64,
    /// Kind of change.
    pub kind: EventType,
    /// Which resource.
    pub gr: Arc<GroupResource>,
    /// Namespace ("" for cluster-scoped).
    pub namespace: Arc<str>,
    /// The object after the change (before it, for deletions).
    pub object: Arc<Stored>,
    /// For modifications, the object before the change: a watch whose selector the object
    /// starts or stops matching sees ADDED or DELETED instead of MODIFIED.
    pub previous: Option<Arc<Stored>>,
}

/// `propagationPolicy` of a delete (one definition, in tiphys-resource).
pub use tiphys_resource::Propagation;

/// Options of a write.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: validate and compute, store nothing.
    pub dry_run: bool,
    /// `fieldManager`, for managedFields.
    pub field_manager: Option<String>,
}

/// Options of a delete.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// How dependents are treated.
    pub propagation: Propagation,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
}

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The main resource (status is ignored when the type has a status subresource).
    Main,
    /// The `status` subresource (only status changes).
    Status,
}

/// Result of a delete.
#[derive(Debug)]
pub enum Deleted {
    /// The object is gone; its last state.
    Gone(Value),
    /// Finalizers keep it; its state with `deletionTimestamp`.
    Pending(Value),
}

/// One page of a list.
#[derive(Debug)]
pub struct ListPage {
    /// Matching objects in key order.
    pub items: Vec<Arc<Stored>>,
    /// The store's resourceVersion at list time.
    pub rv: u64,
    /// Token for the next page.
    pub continue_token: Option<String>,
    /// Objects left after this page.
    pub remaining: Option<u64>,
}

impl Event {
    /// How a watcher with `filter` sees this event: MODIFIED becomes ADDED when the object
    /// starts matching and DELETED (with its previous content) when it stops, as the API
    /// server's watch cache does. `None` when the watcher does not see it at all.
    pub fn as_seen_by(&self, filter: &Filter) -> Option<(EventType, Arc<Stored>)> {
        let now = filter.matches(&self.namespace, &self.object);
        match (self.kind, &self.previous) {
            (EventType::Modified, Some(prev)) => match (now, filter.matches(&self.namespace, prev)) {
                (true, true) => Some((EventType::Modified, self.object.clone())),
                (true, false) => Some((EventType::Added, self.object.clone())),
                (false, true) => {
                    let mut last = prev.value().ok()?;
                    last["metadata"]["resourceVersion"] = json!(self.rv.to_string());
                    Some((EventType::Deleted, Arc::new(Stored::new(&last, self.rv))))
                }
                (false, false) => None,
            },
            _ => now.then(|| (self.kind, self.object.clone())),
        }
    }
}

impl ListPage {
    /// The `<Kind>List` body, concatenated from the stored JSON without re-serializing.
    pub fn to_json(&self, rt: &ResourceType) -> String {
        let mut meta = json!({"resourceVersion": self.rv.to_string()});
        if let Some(c) = &self.continue_token {
            meta["continue"] = json!(c);
        }
        if let Some(r) = self.remaining {
            meta["remainingItemCount"] = json!(r);
        }
        let mut out = String::with_capacity(self.items.iter().map(|i| i.json.len() + 1).sum::<usize>() + 256);
        out.push_str(&format!(
            "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{meta},\"items\":[",
            rt.kind,
            rt.api_version()
        ));
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&crate::server::render(rt, item));
        }
        out.push_str("]}");
        out
    }
}

type ObjKey = (Arc<GroupResource>, String, String);

/// One `((namespace, name), object)` entry of a resource's map.
type Entry<'a> = (&'a (String, String), &'a Arc<Stored>);

/// Filters for list and watch.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Namespace to restrict to.
    pub namespace: Option<String>,
    /// Label selector.
    pub labels: LabelSelector,
    /// Field selector.
    pub fields: FieldSelector,
}

impl Filter {
    /// Whether an object passes the filter.
    pub fn matches(&self, namespace: &str, stored: &Stored) -> bool {
        if self.namespace.as_deref().is_some_and(|ns| ns != namespace) {
            return false;
        }
        if !self.labels.matches(|k| stored.label(k)) {
            return false;
        }
        if self.fields.is_empty() {
            return true;
        }
        if self.fields.only_metadata() {
            return self.fields.matches_meta(namespace, &stored.name);
        }
        stored.value().is_ok_and(|v| self.fields.matches_object(&v))
    }
}

/// The in-memory API state.
pub struct Store {
    types: Vec<ResourceType>,
    objects: HashMap<GroupResource, BTreeMap<(String, String), Arc<Stored>>>,
    gr_cache: HashMap<GroupResource, Arc<GroupResource>>,
    rv: u64,
    events: VecDeque<Event>,
    window: usize,
    compacted: u64,
    /// owner uid → dependents.
    dependents: HashMap<String, BTreeSet<ObjKey>>,
    /// uid → object, to know whether an owner exists.
    uids: HashMap<String, ObjKey>,
    /// Objects that GC must look at (deleting with finalizers it handles, or orphaned).
    gc_queue: BTreeSet<ObjKey>,
    hasher: RandomState,
    counter: u64,
    /// Events not yet written to the data directory (only when persistence is on).
    journal: Option<Vec<Event>>,
}

/// Formats a timestamp the way the API server does (RFC 3339, seconds).
pub fn format_time(now: jiff::Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Store {
    /// A store with the built-in types, a `default`, `kube-system` and `kube-public`
    /// namespace, and an event window of `window` entries (older watches get 410 Gone).
    pub fn new(window: usize, now: jiff::Timestamp) -> Self {
        let mut store = Store {
            types: builtin_types(),
            objects: HashMap::new(),
            gr_cache: HashMap::new(),
            rv: 0,
            events: VecDeque::new(),
            window: window.max(1),
            compacted: 0,
            dependents: HashMap::new(),
            uids: HashMap::new(),
            gc_queue: BTreeSet::new(),
            hasher: RandomState::new(),
            counter: 0,
            journal: None,
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            if let Some(rt) = store.find_type("", "v1", "namespaces") {
                // Seeding cannot fail: the names are valid and the store is empty.
                let _ = store.create(&rt, None, body, &WriteOptions::default(), now);
            }
        }
        store
    }

    /// Every servable type (built-in and from CRDs).
    pub fn types(&self) -> &[ResourceType] {
        &self.types
    }

    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// Changes the event window (tests force 410 Gone with a tiny window).
    pub fn set_window(&mut self, window: usize) {
        self.window = window.max(1);
        self.trim_events();
    }

    /// Forgets the whole event history (as after an etcd compaction or an API server
    /// restart): every watch resuming from an earlier resourceVersion gets 410 Gone.
    pub fn expire_history(&mut self) {
        self.rv += 1;
        self.compacted = self.rv;
        self.events.clear();
    }

    /// Finds a type by group, version and plural.
    pub fn find_type(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.types.iter().find(|t| t.group == group && t.version == version && t.plural == plural).cloned()
    }

    fn preferred_type(&self, gr: &GroupResource) -> Option<ResourceType> {
        let mut matching = self.types.iter().filter(|t| t.group == gr.0 && t.plural == gr.1);
        let first = matching.next()?;
        Some(matching.find(|t| t.preferred).unwrap_or(first).clone())
    }

    fn intern(&mut self, rt: &ResourceType) -> Arc<GroupResource> {
        self.intern_parts(&rt.group, &rt.plural)
    }

    fn intern_parts(&mut self, group: &str, plural: &str) -> Arc<GroupResource> {
        let gr = (group.to_string(), plural.to_string());
        self.gr_cache.entry(gr.clone()).or_insert_with(|| Arc::new(gr)).clone()
    }

    fn new_uid(&mut self) -> String {
        self.counter += 1;
        let a = self.hasher.hash_one((self.counter, 1u8));
        let b = self.hasher.hash_one((self.counter, 2u8));
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48 & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    fn random_suffix(&mut self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        self.counter += 1;
        let mut x = self.hasher.hash_one(self.counter);
        (0..5)
            .map(|_| {
                let c = ALPHABET[(x % ALPHABET.len() as u64) as usize] as char;
                x /= ALPHABET.len() as u64;
                c
            })
            .collect()
    }

    /// Reads one object.
    pub fn get(&self, rt: &ResourceType, namespace: &str, name: &str) -> Result<Arc<Stored>> {
        self.objects
            .get(&(rt.group.clone(), rt.plural.clone()))
            .and_then(|m| m.get(&(namespace.to_string(), name.to_string())))
            .cloned()
            .ok_or_else(|| Error::not_found(rt, name))
    }

    fn get_value(&self, rt: &ResourceType, namespace: &str, name: &str) -> Result<Value> {
        self.get(rt, namespace, name)?.value()
    }

    /// Lists objects matching `filter`, `limit` at a time after the `continue` token.
    pub fn list(
        &self,
        rt: &ResourceType,
        filter: &Filter,
        limit: Option<usize>,
        continue_token: Option<&str>,
    ) -> Result<ListPage> {
        let start = match continue_token {
            Some(t) if !t.is_empty() => Some(decode_continue(t)?),
            _ => None,
        };
        let empty = BTreeMap::new();
        let map = self.objects.get(&(rt.group.clone(), rt.plural.clone())).unwrap_or(&empty);
        let iter: Box<dyn Iterator<Item = Entry<'_>>> = match (&start, &filter.namespace) {
            (Some(key), _) => Box::new(map.range::<(String, String), _>((
                std::ops::Bound::Excluded(key.clone()),
                std::ops::Bound::Unbounded,
            ))),
            (None, Some(ns)) => Box::new(map.range((ns.clone(), String::new())..)),
            (None, None) => Box::new(map.iter()),
        };
        let mut items = Vec::new();
        let mut last = None;
        let mut remaining = 0u64;
        let mut more = false;
        for ((ns, name), obj) in iter {
            if filter.namespace.as_deref().is_some_and(|f| f != ns) {
                if filter.namespace.as_deref().is_some_and(|f| ns.as_str() > f) {
                    break;
                }
                continue;
            }
            if !filter.matches(ns, obj) {
                continue;
            }
            if limit.is_some_and(|l| items.len() >= l) {
                more = true;
                remaining += 1;
                continue;
            }
            last = Some((ns.clone(), name.clone()));
            items.push(obj.clone());
        }
        let continue_token = if more { last.map(|k| encode_continue(self.rv, &k)) } else { None };
        Ok(ListPage { items, rv: self.rv, continue_token, remaining: more.then_some(remaining) })
    }

    /// Events after `since` that pass `keep`, or 410 Gone when some were already dropped.
    pub fn events_since(&self, since: u64, mut keep: impl FnMut(&Event) -> bool) -> Result<Vec<Event>> {
        if since < self.compacted {
            return Err(Error::expired(since, self.compacted + 1));
        }
        let start = self.events.partition_point(|e| e.rv <= since);
        Ok(self.events.iter().skip(start).filter(|e| keep(e)).cloned().collect())
    }

    /// Starts collecting events for persistence (see [`Store::take_journal`]).
    pub fn enable_journal(&mut self) {
        self.journal = Some(Vec::new());
    }

    /// Events since the last call, for the persistence layer; empty when it is off.
    pub fn take_journal(&mut self) -> Vec<Event> {
        self.journal.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn emit(&mut self, kind: EventType, gr: Arc<GroupResource>, namespace: &str, object: Arc<Stored>) {
        self.emit_change(kind, gr, namespace, object, None);
    }

    fn emit_change(
        &mut self,
        kind: EventType,
        gr: Arc<GroupResource>,
        namespace: &str,
        object: Arc<Stored>,
        previous: Option<Arc<Stored>>,
    ) {
        let event = Event { rv: object.rv, kind, gr, namespace: namespace.into(), object, previous };
        if let Some(j) = &mut self.journal {
            j.push(event.clone());
        }
        self.events.push_back(event);
        self.trim_events();
    }

    fn trim_events(&mut self) {
        while self.events.len() > self.window {
            if let Some(e) = self.events.pop_front() {
                self.compacted = e.rv;
            }
        }
    }

    fn namespace_state(&self, namespace: &str) -> Option<bool> {
        let map = self.objects.get(&(String::new(), "namespaces".to_string()))?;
        let ns = map.get(&(String::new(), namespace.to_string()))?;
        Some(ns.value().is_ok_and(|v| v["metadata"]["deletionTimestamp"].is_string()))
    }

    fn check_identity(rt: &ResourceType, obj: &Value) -> Result<()> {
        if !obj.is_object() {
            return Err(Error::bad_request(format!(
                "the body of the request was in an unknown format: expected a {} object",
                rt.kind
            )));
        }
        if let Some(av) = obj.get("apiVersion").and_then(Value::as_str)
            && av != rt.api_version()
        {
            return Err(Error::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({})",
                rt.api_version()
            )));
        }
        if let Some(kind) = obj.get("kind").and_then(Value::as_str)
            && kind != rt.kind
        {
            return Err(Error::bad_request(format!(
                "the kind in the data ({kind}) does not match the expected kind ({})",
                rt.kind
            )));
        }
        Ok(())
    }

    fn validate(rt: &ResourceType, obj: &Value, name: &str) -> Result<()> {
        let mut errs = validation::name_errors(rt, name);
        errs.extend(validation::label_errors(&obj["metadata"]["labels"]));
        if is_crd_type(rt) {
            errs.extend(crd_errors(obj, name));
        }
        if errs.is_empty() { Ok(()) } else { Err(Error::invalid(&rt.kind, &rt.group, name, errs)) }
    }

    /// Creates an object (POST). `namespace` is the URL's namespace for namespaced types.
    pub fn create(
        &mut self,
        rt: &ResourceType,
        namespace: Option<&str>,
        mut obj: Value,
        opts: &WriteOptions,
        now: jiff::Timestamp,
    ) -> Result<Value> {
        Self::check_identity(rt, &obj)?;
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        let meta = &obj["metadata"];
        let mut name = meta["name"].as_str().unwrap_or_default().to_string();
        if name.is_empty() {
            match meta["generateName"].as_str() {
                Some(prefix) if !prefix.is_empty() => name = format!("{prefix}{}", self.random_suffix()),
                _ => {
                    return Err(Error::invalid(
                        &rt.kind,
                        &rt.group,
                        "",
                        vec![FieldError::required("metadata.name", "name or generateName is required")],
                    ));
                }
            }
        }
        let ns = if rt.namespaced {
            let body_ns = meta["namespace"].as_str().unwrap_or_default();
            let url_ns = namespace.unwrap_or_default();
            if !body_ns.is_empty() && !url_ns.is_empty() && body_ns != url_ns {
                return Err(Error::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            let ns = if url_ns.is_empty() { body_ns } else { url_ns };
            if ns.is_empty() {
                return Err(Error::bad_request(
                    "the namespace of the object must be set for a namespaced resource",
                ));
            }
            ns.to_string()
        } else {
            String::new()
        };
        Self::validate(rt, &obj, &name)?;
        if rt.namespaced {
            match self.namespace_state(&ns) {
                None => {
                    let ns_type = self
                        .find_type("", "v1", "namespaces")
                        .ok_or_else(|| Error::internal("no namespaces"))?;
                    return Err(Error::not_found(&ns_type, &ns));
                }
                Some(true) => return Err(Error::namespace_terminating(rt, &name, &ns)),
                Some(false) => {}
            }
        }
        let gr = self.intern(rt);
        let key = (ns.clone(), name.clone());
        if self.objects.get(&*gr).is_some_and(|m| m.contains_key(&key)) {
            return Err(Error::already_exists(rt, &name));
        }
        {
            let meta = obj["metadata"].as_object_mut().ok_or_else(|| Error::internal("metadata"))?;
            meta.insert("name".into(), json!(name));
            if rt.namespaced {
                meta.insert("namespace".into(), json!(ns));
            } else {
                meta.remove("namespace");
            }
            meta.insert("uid".into(), Value::Null);
            meta.insert("creationTimestamp".into(), json!(format_time(now)));
            for f in ["deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"] {
                meta.remove(f);
            }
            if rt.tracks_generation() {
                meta.insert("generation".into(), json!(1));
            } else {
                meta.remove("generation");
            }
        }
        let uid = self.new_uid();
        obj["metadata"]["uid"] = json!(uid);
        if rt.status_subresource
            && let Some(map) = obj.as_object_mut()
        {
            map.remove("status");
        }
        defaults::apply(rt, &mut obj);
        crate::patch::record_managed_fields(rt, None, &mut obj, opts.field_manager.as_deref(), now);
        if opts.dry_run {
            return Ok(obj);
        }
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        if is_crd_type(rt) {
            self.register_crd(&mut obj, now);
        }
        let stored = Arc::new(Stored::new(&obj, self.rv));
        self.insert_indexes(&gr, &ns, &name, &obj);
        self.objects.entry((*gr).clone()).or_default().insert(key, stored.clone());
        self.emit(EventType::Added, gr, &ns, stored);
        Ok(obj)
    }

    fn insert_indexes(&mut self, gr: &Arc<GroupResource>, ns: &str, name: &str, obj: &Value) {
        let key: ObjKey = (gr.clone(), ns.to_string(), name.to_string());
        if let Some(uid) = obj["metadata"]["uid"].as_str() {
            self.uids.insert(uid.to_string(), key.clone());
        }
        let mut orphan = false;
        for owner in owner_uids(obj) {
            if !self.uids.contains_key(&owner) {
                orphan = true;
            }
            self.dependents.entry(owner).or_default().insert(key.clone());
        }
        if orphan {
            self.gc_queue.insert(key);
        }
    }

    fn remove_indexes(&mut self, gr: &Arc<GroupResource>, ns: &str, name: &str, obj: &Value) {
        let key: ObjKey = (gr.clone(), ns.to_string(), name.to_string());
        if let Some(uid) = obj["metadata"]["uid"].as_str() {
            self.uids.remove(uid);
            // Dependents of a removed owner may now be garbage.
            if let Some(deps) = self.dependents.get(uid) {
                self.gc_queue.extend(deps.iter().cloned());
            }
        }
        for owner in owner_uids(obj) {
            if let Some(set) = self.dependents.get_mut(&owner) {
                set.remove(&key);
                if set.is_empty() {
                    self.dependents.remove(&owner);
                }
            }
            // An owner waiting in the foreground may now be free to go.
            if let Some(owner_key) = self.uids.get(&owner) {
                self.gc_queue.insert(owner_key.clone());
            }
        }
    }

    /// Replaces an object (PUT) or its status; `obj` must carry the current
    /// `resourceVersion` if it carries one at all.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        obj: Value,
        part: Part,
        opts: &WriteOptions,
        now: jiff::Timestamp,
    ) -> Result<Value> {
        Self::check_identity(rt, &obj)?;
        if let Some(body_name) = obj["metadata"]["name"].as_str()
            && body_name != name
        {
            return Err(Error::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let old = self.get_value(rt, namespace, name)?;
        if let Some(rv) = obj["metadata"]["resourceVersion"].as_str()
            && !rv.is_empty()
            && Some(rv) != old["metadata"]["resourceVersion"].as_str()
        {
            return Err(Error::conflict(rt, name));
        }
        self.write(rt, namespace, name, old, obj, part, opts, now)
    }

    /// Applies the update rules and stores the result; `old` is the current object.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        old: Value,
        mut obj: Value,
        part: Part,
        opts: &WriteOptions,
        now: jiff::Timestamp,
    ) -> Result<Value> {
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        let mut new = match part {
            Part::Status => {
                let mut n = old.clone();
                match obj.get("status") {
                    Some(s) => n["status"] = s.clone(),
                    None => {
                        if let Some(m) = n.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
                n
            }
            Part::Main => {
                let mut n = obj;
                if rt.status_subresource {
                    match old.get("status") {
                        Some(s) => n["status"] = s.clone(),
                        None => {
                            if let Some(m) = n.as_object_mut() {
                                m.remove("status");
                            }
                        }
                    }
                }
                for f in [
                    "uid",
                    "creationTimestamp",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                    "generation",
                ] {
                    match old["metadata"].get(f) {
                        Some(v) => n["metadata"][f] = v.clone(),
                        None => {
                            if let Some(m) = n["metadata"].as_object_mut() {
                                m.remove(f);
                            }
                        }
                    }
                }
                n["metadata"]["name"] = json!(name);
                if rt.namespaced {
                    n["metadata"]["namespace"] = json!(namespace);
                }
                n
            }
        };
        Self::validate(rt, &new, name)?;
        if part == Part::Main {
            defaults::apply(rt, &mut new);
        }
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        if rt.tracks_generation() && spec_changed(&old, &new) {
            let g = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            new["metadata"]["generation"] = json!(g);
        }
        let deleting = old["metadata"]["deletionTimestamp"].is_string();
        if deleting {
            let old_f = string_set(&old["metadata"]["finalizers"]);
            let new_f = string_set(&new["metadata"]["finalizers"]);
            if !new_f.is_subset(&old_f) {
                return Err(Error::invalid(
                    &rt.kind,
                    &rt.group,
                    name,
                    vec![FieldError::invalid(
                        "metadata.finalizers",
                        &new_f.difference(&old_f).cloned().collect::<Vec<_>>().join(","),
                        "no new finalizers can be added if the object is being deleted",
                    )],
                ));
            }
        }
        crate::patch::record_managed_fields(rt, Some(&old), &mut new, opts.field_manager.as_deref(), now);
        if new == old {
            return Ok(old);
        }
        if opts.dry_run {
            return Ok(new);
        }
        if deleting && string_set(&new["metadata"]["finalizers"]).is_empty() && !Self::waits_on_contents(rt) {
            return self.remove(rt, namespace, name, new).inspect(|_| self.collect_garbage(now));
        }
        self.rv += 1;
        new["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        if is_crd_type(rt) && part == Part::Main {
            self.refresh_crd_types(&new);
        }
        let gr = self.intern(rt);
        self.remove_indexes(&gr, namespace, name, &old);
        self.insert_indexes(&gr, namespace, name, &new);
        let stored = Arc::new(Stored::new(&new, self.rv));
        let previous = self
            .objects
            .entry((*gr).clone())
            .or_default()
            .insert((namespace.to_string(), name.to_string()), stored.clone());
        self.emit_change(EventType::Modified, gr, namespace, stored, previous);
        if deleting || !owner_uids(&new).is_empty() {
            let key = (self.intern(rt), namespace.to_string(), name.to_string());
            self.gc_queue.insert(key);
            self.collect_garbage(now);
        }
        Ok(new)
    }

    /// Namespaces and CRDs being deleted wait for their contents, not only for finalizers.
    fn waits_on_contents(rt: &ResourceType) -> bool {
        (rt.group.is_empty() && rt.plural == "namespaces") || is_crd_type(rt)
    }

    /// Removes an object for good and records the DELETED event (with a fresh resourceVersion).
    fn remove(&mut self, rt: &ResourceType, namespace: &str, name: &str, mut last: Value) -> Result<Value> {
        let gr = self.intern(rt);
        let key = (namespace.to_string(), name.to_string());
        let Some(_) = self.objects.get_mut(&*gr).and_then(|m| m.remove(&key)) else {
            return Err(Error::not_found(rt, name));
        };
        self.rv += 1;
        last["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.remove_indexes(&gr, namespace, name, &last);
        if is_crd_type(rt) {
            let removed = types_of_crd(&last);
            self.types.retain(|t| !removed.iter().any(|r| r.group == t.group && r.plural == t.plural));
        }
        let stored = Arc::new(Stored::new(&last, self.rv));
        self.emit(EventType::Deleted, gr, namespace, stored);
        // A terminating namespace or CRD waits for this object: look at it again.
        if !namespace.is_empty() {
            let ns_gr = self.intern_parts("", "namespaces");
            self.gc_queue.insert((ns_gr, String::new(), namespace.to_string()));
        }
        if rt.custom {
            let crd_gr = self.intern_parts("apiextensions.k8s.io", "customresourcedefinitions");
            self.gc_queue.insert((crd_gr, String::new(), format!("{}.{}", rt.plural, rt.group)));
        }
        Ok(last)
    }

    /// Deletes an object (DELETE), honouring finalizers and the propagation policy.
    pub fn delete(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        opts: &DeleteOptions,
        now: jiff::Timestamp,
    ) -> Result<Deleted> {
        let mut obj = self.get_value(rt, namespace, name)?;
        if let Some(uid) = &opts.uid
            && obj["metadata"]["uid"].as_str() != Some(uid.as_str())
        {
            return Err(Error::precondition(
                rt,
                name,
                format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    obj["metadata"]["uid"].as_str().unwrap_or_default()
                ),
            ));
        }
        if let Some(rv) = &opts.resource_version
            && obj["metadata"]["resourceVersion"].as_str() != Some(rv.as_str())
        {
            return Err(Error::precondition(
                rt,
                name,
                format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    obj["metadata"]["resourceVersion"].as_str().unwrap_or_default()
                ),
            ));
        }
        if obj["metadata"]["deletionTimestamp"].is_string() {
            return Ok(Deleted::Pending(obj));
        }
        let mut finalizers: Vec<String> = string_list(&obj["metadata"]["finalizers"]);
        let extra = match opts.propagation {
            Propagation::Foreground => Some("foregroundDeletion"),
            Propagation::Orphan => Some("orphan"),
            Propagation::Background => None,
        };
        let uid = obj["metadata"]["uid"].as_str().unwrap_or_default().to_string();
        let has_dependents = self.dependents.get(&uid).is_some_and(|d| !d.is_empty());
        if let Some(f) = extra
            && has_dependents
            && !finalizers.iter().any(|x| x == f)
        {
            finalizers.push(f.to_string());
        }
        let system_wait = Self::waits_on_contents(rt);
        if opts.dry_run {
            return Ok(if finalizers.is_empty() && !system_wait {
                Deleted::Gone(obj)
            } else {
                Deleted::Pending(obj)
            });
        }
        if finalizers.is_empty() && !system_wait {
            let last = self.remove(rt, namespace, name, obj)?;
            self.collect_garbage(now);
            return Ok(Deleted::Gone(last));
        }
        obj["metadata"]["deletionTimestamp"] = json!(format_time(now));
        obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        if !finalizers.is_empty() {
            obj["metadata"]["finalizers"] = json!(finalizers);
        }
        if rt.group.is_empty() && rt.plural == "namespaces" {
            obj["status"]["phase"] = json!("Terminating");
        }
        if is_crd_type(rt) {
            set_condition(&mut obj, "Terminating", "True", "InstanceDeletionInProgress", now);
        }
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let gr = self.intern(rt);
        let stored = Arc::new(Stored::new(&obj, self.rv));
        let previous = self
            .objects
            .entry((*gr).clone())
            .or_default()
            .insert((namespace.to_string(), name.to_string()), stored.clone());
        self.emit_change(EventType::Modified, gr.clone(), namespace, stored, previous);
        self.gc_queue.insert((gr, namespace.to_string(), name.to_string()));
        self.collect_garbage(now);
        match self.get(rt, namespace, name) {
            Ok(s) => Ok(Deleted::Pending(s.value()?)),
            Err(_) => Ok(Deleted::Gone(obj)),
        }
    }

    /// Deletes every object matching `filter` (DELETE on a collection).
    pub fn delete_collection(
        &mut self,
        rt: &ResourceType,
        filter: &Filter,
        opts: &DeleteOptions,
        now: jiff::Timestamp,
    ) -> Result<Vec<Value>> {
        let page = self.list(rt, filter, None, None)?;
        let mut out = Vec::new();
        for item in page.items {
            let v = item.value()?;
            let ns = v["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
            let name = v["metadata"]["name"].as_str().unwrap_or_default().to_string();
            match self.delete(rt, &ns, &name, opts, now) {
                Ok(Deleted::Gone(v) | Deleted::Pending(v)) => out.push(v),
                Err(Error::Api { code: 404, .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Runs the garbage collector, namespace and CRD cleanup until nothing changes.
    pub(crate) fn collect_garbage(&mut self, now: jiff::Timestamp) {
        let mut rounds = 0;
        while let Some(key) = self.gc_queue.pop_first() {
            rounds += 1;
            if rounds > 1_000_000 {
                tracing::error!("garbage collection did not settle; giving up this round");
                self.gc_queue.clear();
                return;
            }
            self.gc_one(&key, now);
        }
    }

    fn gc_one(&mut self, key: &ObjKey, now: jiff::Timestamp) {
        let (gr, ns, name) = key;
        let Some(rt) = self.preferred_type(gr) else { return };
        let Ok(obj) = self.get_value(&rt, ns, name) else { return };
        let uid = obj["metadata"]["uid"].as_str().unwrap_or_default().to_string();
        let deleting = obj["metadata"]["deletionTimestamp"].is_string();
        if !deleting {
            // An ordinary object: collect it if it has owners and none of them exist.
            let owners = owner_uids(&obj);
            if !owners.is_empty() && owners.iter().all(|o| !self.uids.contains_key(o)) {
                let _ = self.delete(&rt, ns, name, &DeleteOptions::default(), now);
            }
            return;
        }
        let deps: Vec<ObjKey> =
            self.dependents.get(&uid).map(|d| d.iter().cloned().collect()).unwrap_or_default();
        let finalizers = string_list(&obj["metadata"]["finalizers"]);
        let mut remove_finalizer = None;
        if finalizers.iter().any(|f| f == "orphan") {
            for dep in &deps {
                self.strip_owner(dep, &uid, now);
            }
            remove_finalizer = Some("orphan");
        } else if finalizers.iter().any(|f| f == "foregroundDeletion") {
            for dep in &deps {
                if let Some(drt) = self.preferred_type(&dep.0) {
                    let opts = DeleteOptions { propagation: Propagation::Foreground, ..Default::default() };
                    let _ = self.delete(&drt, &dep.1, &dep.2, &opts, now);
                }
            }
            let left = self.dependents.get(&uid).is_some_and(|d| !d.is_empty());
            if !left {
                remove_finalizer = Some("foregroundDeletion");
            }
        }
        if let Some(f) = remove_finalizer {
            let mut new = obj.clone();
            let kept: Vec<String> = finalizers.iter().filter(|x| *x != f).cloned().collect();
            if kept.is_empty() {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.remove("finalizers");
                }
            } else {
                new["metadata"]["finalizers"] = json!(kept);
            }
            let _ = self.write(&rt, ns, name, obj, new, Part::Main, &WriteOptions::default(), now);
            return;
        }
        if rt.group.is_empty() && rt.plural == "namespaces" {
            self.drain_namespace(name, now);
        } else if is_crd_type(&rt) {
            self.drain_crd(&obj, now);
        }
    }

    fn strip_owner(&mut self, dep: &ObjKey, owner_uid: &str, now: jiff::Timestamp) {
        let Some(rt) = self.preferred_type(&dep.0) else { return };
        let Ok(old) = self.get_value(&rt, &dep.1, &dep.2) else { return };
        let mut new = old.clone();
        if let Some(refs) = new["metadata"]["ownerReferences"].as_array_mut() {
            refs.retain(|r| r["uid"].as_str() != Some(owner_uid));
            if refs.is_empty()
                && let Some(m) = new["metadata"].as_object_mut()
            {
                m.remove("ownerReferences");
            }
        }
        let _ = self.write(&rt, &dep.1, &dep.2, old, new, Part::Main, &WriteOptions::default(), now);
    }

    fn drain_namespace(&mut self, namespace: &str, now: jiff::Timestamp) {
        let mut left = 0usize;
        let grs: Vec<GroupResource> = self.objects.keys().cloned().collect();
        for gr in grs {
            let Some(rt) = self.preferred_type(&gr) else { continue };
            if !rt.namespaced {
                continue;
            }
            let names: Vec<String> = self
                .objects
                .get(&gr)
                .map(|m| {
                    m.range((namespace.to_string(), String::new())..)
                        .take_while(|((ns, _), _)| ns == namespace)
                        .map(|((_, n), _)| n.clone())
                        .collect()
                })
                .unwrap_or_default();
            for n in names {
                let _ = self.delete(&rt, namespace, &n, &DeleteOptions::default(), now);
                if self.get(&rt, namespace, &n).is_ok() {
                    left += 1;
                }
            }
        }
        if left == 0
            && let Some(rt) = self.find_type("", "v1", "namespaces")
            && let Ok(v) = self.get_value(&rt, "", namespace)
            && string_set(&v["metadata"]["finalizers"]).is_empty()
        {
            let _ = self.remove(&rt, "", namespace, v);
        }
    }

    fn drain_crd(&mut self, crd: &Value, now: jiff::Timestamp) {
        let Some(rt) = types_of_crd(crd).into_iter().next() else { return };
        let name = crd["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let keys: Vec<(String, String)> = self
            .objects
            .get(&(rt.group.clone(), rt.plural.clone()))
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for (ns, n) in &keys {
            let _ = self.delete(&rt, ns, n, &DeleteOptions::default(), now);
        }
        let empty = self.objects.get(&(rt.group.clone(), rt.plural.clone())).is_none_or(|m| m.is_empty());
        if empty
            && let Some(crt) = self.find_type("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            && let Ok(v) = self.get_value(&crt, "", &name)
            && string_set(&v["metadata"]["finalizers"]).is_empty()
        {
            let _ = self.remove(&crt, "", &name, v);
        }
    }

    fn register_crd(&mut self, crd: &mut Value, now: jiff::Timestamp) {
        let new_types = types_of_crd(crd);
        self.types.retain(|t| !new_types.iter().any(|n| n.group == t.group && n.plural == t.plural));
        self.types.extend(new_types);
        crd["status"]["acceptedNames"] = crd["spec"]["names"].clone();
        let stored: Vec<Value> = crd["spec"]["versions"]
            .as_array()
            .map(|vs| vs.iter().filter(|v| v["storage"] == json!(true)).map(|v| v["name"].clone()).collect())
            .unwrap_or_default();
        crd["status"]["storedVersions"] = json!(stored);
        set_condition(crd, "NamesAccepted", "True", "NoConflicts", now);
        set_condition(crd, "Established", "True", "InitialNamesAccepted", now);
    }

    /// Re-registers CRD types after a CRD update (versions, names or scope may change).
    pub(crate) fn refresh_crd_types(&mut self, crd: &Value) {
        let new_types = types_of_crd(crd);
        self.types.retain(|t| !new_types.iter().any(|n| n.group == t.group && n.plural == t.plural));
        self.types.extend(new_types);
    }

    /// All stored objects, for persistence: `(group, plural, object JSON)`.
    pub fn snapshot(&self) -> Vec<(GroupResource, Arc<Stored>)> {
        let mut out = Vec::new();
        for (gr, map) in &self.objects {
            for obj in map.values() {
                out.push((gr.clone(), obj.clone()));
            }
        }
        out.sort_by_key(|(_, o)| o.rv);
        out
    }

    /// Loads a persisted object as-is (resourceVersion and uid kept) while restoring state.
    pub fn restore(&mut self, gr: &GroupResource, obj: Value) {
        let rv = obj["metadata"]["resourceVersion"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0u64);
        self.rv = self.rv.max(rv);
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
        if gr.0 == "apiextensions.k8s.io" && gr.1 == "customresourcedefinitions" {
            self.refresh_crd_types(&obj);
        }
        let arc = self.intern_parts(&gr.0, &gr.1);
        let previous = self
            .objects
            .get(gr)
            .and_then(|m| m.get(&(ns.clone(), name.clone())))
            .and_then(|s| s.value().ok());
        if let Some(previous) = previous {
            self.remove_indexes(&arc, &ns, &name, &previous);
        }
        self.insert_indexes(&arc, &ns, &name, &obj);
        self.objects.entry(gr.clone()).or_default().insert((ns, name), Arc::new(Stored::new(&obj, rv)));
    }

    /// After a restore, makes sure the next resourceVersion is above `floor` and that no
    /// watch can resume from before the restart.
    pub fn finish_restore(&mut self, floor: u64) {
        self.rv = self.rv.max(floor);
        self.compacted = self.rv;
        self.events.clear();
        self.gc_queue.clear();
    }
}

fn is_crd_type(rt: &ResourceType) -> bool {
    rt.group == "apiextensions.k8s.io" && rt.plural == "customresourcedefinitions"
}

fn owner_uids(obj: &Value) -> Vec<String> {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["uid"].as_str().map(String::from)).collect())
        .unwrap_or_default()
}

fn string_list(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect()).unwrap_or_default()
}

fn string_set(v: &Value) -> BTreeSet<String> {
    string_list(v).into_iter().collect()
}

/// Whether anything outside `metadata` and `status` differs (what bumps `generation`).
fn spec_changed(old: &Value, new: &Value) -> bool {
    let empty = Map::new();
    let (o, n) = (old.as_object().unwrap_or(&empty), new.as_object().unwrap_or(&empty));
    let skip = |k: &str| matches!(k, "metadata" | "status");
    o.iter().filter(|(k, _)| !skip(k)).any(|(k, v)| n.get(k) != Some(v))
        || n.iter().filter(|(k, _)| !skip(k)).any(|(k, _)| !o.contains_key(k))
}

/// Sets or replaces a `status.conditions` entry.
pub(crate) fn set_condition(obj: &mut Value, kind: &str, status: &str, reason: &str, now: jiff::Timestamp) {
    if !obj["status"].is_object() {
        obj["status"] = json!({});
    }
    if !obj["status"]["conditions"].is_array() {
        obj["status"]["conditions"] = json!([]);
    }
    let Some(conds) = obj["status"]["conditions"].as_array_mut() else { return };
    let cond = json!({"type": kind, "status": status, "reason": reason, "message": "",
        "lastTransitionTime": format_time(now)});
    match conds.iter_mut().find(|c| c["type"] == kind) {
        Some(c) if c["status"] == status && c["reason"] == reason => {}
        Some(c) => *c = cond,
        None => conds.push(cond),
    }
}

fn crd_errors(obj: &Value, name: &str) -> Vec<FieldError> {
    let spec = &obj["spec"];
    let mut errs = Vec::new();
    let group = spec["group"].as_str().unwrap_or_default();
    let plural = spec["names"]["plural"].as_str().unwrap_or_default();
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    }
    if plural.is_empty() {
        errs.push(FieldError::required("spec.names.plural", ""));
    }
    if spec["names"]["kind"].as_str().unwrap_or_default().is_empty() {
        errs.push(FieldError::required("spec.names.kind", ""));
    }
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        errs.push(FieldError::invalid("metadata.name", name, "must be spec.names.plural+\".\"+spec.group"));
    }
    let versions = spec["versions"].as_array().map(Vec::len).unwrap_or(0);
    if versions == 0 {
        errs.push(FieldError::required(
            "spec.versions",
            "must have exactly one version marked as storage version",
        ));
    }
    errs
}

fn encode_continue(rv: u64, key: &(String, String)) -> String {
    use base64::Engine;
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{}/{}", key.0, key.1)});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode_continue(token: &str) -> Result<(String, String)> {
    use base64::Engine;
    let bad = |why: &str| Error::bad_request(format!("continue key is not valid: {why}"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|e| bad(&e.to_string()))?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| bad(&e.to_string()))?;
    let start = v["start"].as_str().ok_or_else(|| bad("no start key"))?;
    let (ns, name) = start.split_once('/').ok_or_else(|| bad("malformed start key"))?;
    Ok((ns.to_string(), name.to_string()))
}

#[cfg(test)]
mod tests;
