//! The workload simulator: the controllers of a real cluster, compressed into one loop.
//!
//! Deployments get ReplicaSets (rolling updates with maxSurge/maxUnavailable), ReplicaSets,
//! StatefulSets, DaemonSets and Jobs get Pods, Pods start (or fail on purpose), Services get
//! Endpoints and load-balancer addresses, Ingresses get addresses, PVCs bind. Status fields
//! and conditions follow the real controllers closely enough for `kubectl rollout status`,
//! `kubectl wait` and Argo CD's health checks.
//!
//! Failure knobs are annotations on a workload (or its pod template, or a Pod):
//! [`CRASH_LOOP`], [`IMAGE_PULL_FAIL`], [`NEVER_READY`], [`FAIL_JOB`].
//!
//! [`Simulator::step`] is synchronous and takes the clock as parameters, so tests drive it
//! deterministically; the server runs it on a timer.
//!
//! A step looks only at the namespaces where a simulated kind changed since the previous step
//! (from the store's event log) plus the namespaces whose objects are waiting on the clock
//! (pods starting, jobs running, rollouts in progress). The server holds the store lock during
//! a step, so a step that re-read every Deployment and Pod on every Application status write
//! made every API request of a 1,000-app cluster wait on it; now an idle namespace costs
//! nothing and a change costs its own namespace.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::store::{Part, Store, WriteOptions, format_time};
use crate::types::ResourceType;

/// Annotation: the workload's containers crash and restart forever (`CrashLoopBackOff`).
pub const CRASH_LOOP: &str = "sandbox.tiphys.io/crash-loop";
/// Annotation: image pulls fail (`ErrImagePull` / `ImagePullBackOff`); pods stay Pending.
pub const IMAGE_PULL_FAIL: &str = "sandbox.tiphys.io/image-pull-fail";
/// Annotation: containers run but never pass readiness.
pub const NEVER_READY: &str = "sandbox.tiphys.io/never-ready";
/// Annotation: a Job's pods fail, so the Job fails once its backoffLimit is used up.
pub const FAIL_JOB: &str = "sandbox.tiphys.io/fail-job";

const KNOB_PREFIX: &str = "sandbox.tiphys.io/";
/// The single simulated node.
pub const NODE_NAME: &str = "sandbox-node";

/// Timings of the simulated cluster; fast by default so tests finish quickly.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// How often the controllers run.
    pub tick: Duration,
    /// How long a pod stays Pending before its containers run.
    pub pod_start: Duration,
    /// How long a Job's pod runs before it succeeds (or fails).
    pub job_duration: Duration,
    /// How often a crash-looping container restarts.
    pub restart_interval: Duration,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            tick: Duration::from_millis(50),
            pod_start: Duration::from_millis(200),
            job_duration: Duration::from_millis(300),
            restart_interval: Duration::from_millis(500),
        }
    }
}

/// The simulator's memory: when it first saw each object, when each Deployment last made
/// progress, which namespaces wait on the clock, and how far the event log was simulated.
pub struct Simulator {
    config: SimulatorConfig,
    first_seen: HashMap<String, Instant>,
    progress: HashMap<String, ((i64, i64, i64), Instant)>,
    /// Namespaces whose objects the last step left with time-driven work.
    busy: BTreeSet<String>,
    /// The resourceVersion the last step started from (`None` before the first step).
    seen_rv: Option<u64>,
}

/// The (group, plural) of every kind the simulator reads or writes, each under the short
/// name the controllers below use.
const SIMULATED: [(&str, &str, &str, &str); 13] = [
    ("pods", "", "v1", "pods"),
    ("services", "", "v1", "services"),
    ("endpoints", "", "v1", "endpoints"),
    ("pvcs", "", "v1", "persistentvolumeclaims"),
    ("pvs", "", "v1", "persistentvolumes"),
    ("nodes", "", "v1", "nodes"),
    ("deployments", "apps", "v1", "deployments"),
    ("replicasets", "apps", "v1", "replicasets"),
    ("statefulsets", "apps", "v1", "statefulsets"),
    ("daemonsets", "apps", "v1", "daemonsets"),
    ("jobs", "batch", "v1", "jobs"),
    ("cronjobs", "batch", "v1", "cronjobs"),
    ("ingresses", "networking.k8s.io", "v1", "ingresses"),
];

/// Which namespaces a step simulates.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// Every namespace (the first step, or the event log no longer reaches back).
    All,
    /// Only these.
    Namespaces(BTreeSet<String>),
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn meta<'a>(o: &'a Value, field: &str) -> &'a str {
    s(&o["metadata"][field])
}

/// FNV-1a: a hash that is stable across runs and Rust versions (names derive from it).
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// The pod-template-hash label value of a template, in the API server's safe alphabet.
fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h = fnv(&template.to_string());
    (0..10)
        .map(|_| {
            let c = ALPHABET[(h % ALPHABET.len() as u64) as usize] as char;
            h /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

fn knobs(objs: &[&Value]) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    for o in objs {
        for (k, v) in o["metadata"]["annotations"].as_object().into_iter().flatten() {
            if k.starts_with(KNOB_PREFIX) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

fn has_knob(pod: &Value, knob: &str) -> bool {
    pod["metadata"]["annotations"].get(knob).is_some_and(|v| v.as_str() != Some("false"))
}

fn owner_ref(owner: &Value) -> Value {
    json!({"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true})
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn is_terminal(pod: &Value) -> bool {
    matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
}

fn deleting(o: &Value) -> bool {
    o["metadata"]["deletionTimestamp"].is_string()
}

/// Resolves an int-or-percent (maxSurge/maxUnavailable) against `total`.
fn int_or_percent(v: &Value, total: i64, round_up: bool, default: i64) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(default),
        Value::String(p) => match p.strip_suffix('%').and_then(|n| n.parse::<i64>().ok()) {
            Some(pct) if round_up => (pct * total + 99) / 100,
            Some(pct) => pct * total / 100,
            None => default,
        },
        _ => default,
    }
}

/// One step's view of the store: types and the objects the controllers read.
struct View {
    types: HashMap<&'static str, ResourceType>,
    scope: Scope,
}

impl View {
    fn new(store: &Store, scope: Scope) -> Option<Self> {
        let mut types = HashMap::new();
        for (key, g, v, p) in SIMULATED {
            types.insert(key, store.find_type(g, v, p)?);
        }
        Some(View { types, scope })
    }

    fn rt(&self, key: &str) -> &ResourceType {
        // Every key used below is inserted in `new`.
        &self.types[key]
    }

    /// Every object of `key` in the step's scope.
    fn all(&self, store: &Store, key: &str) -> Vec<Value> {
        match &self.scope {
            Scope::All => Self::list(store, self.rt(key), None),
            Scope::Namespaces(namespaces) => {
                namespaces.iter().flat_map(|ns| Self::list(store, self.rt(key), Some(ns))).collect()
            }
        }
    }

    /// Every object of `key` in every namespace, whatever the scope.
    fn everywhere(&self, store: &Store, key: &str) -> Vec<Value> {
        Self::list(store, self.rt(key), None)
    }

    fn list(store: &Store, rt: &ResourceType, namespace: Option<&str>) -> Vec<Value> {
        let filter = crate::store::Filter { namespace: namespace.map(String::from), ..Default::default() };
        let Ok(page) = store.list(rt, &filter, None, None) else { return Vec::new() };
        page.items.iter().filter_map(|i| i.value().ok()).collect()
    }
}

/// Groups objects by the uid of each of their owners.
fn by_owner(objects: Vec<Value>) -> HashMap<String, Vec<Value>> {
    let mut map: HashMap<String, Vec<Value>> = HashMap::new();
    for object in objects {
        let owners: Vec<String> = object["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["uid"].as_str().map(String::from))
            .collect();
        for owner in owners {
            map.entry(owner).or_default().push(object.clone());
        }
    }
    map
}

/// Writes `new` over `old` when they differ (main resource or status).
fn save(store: &mut Store, rt: &ResourceType, old: &Value, new: Value, part: Part, now: jiff::Timestamp) {
    if *old == new {
        return;
    }
    let (ns, name) = (meta(old, "namespace").to_string(), meta(old, "name").to_string());
    if let Err(e) = store.write(rt, &ns, &name, old.clone(), new, part, &WriteOptions::default(), now) {
        tracing::debug!(error = %e, %name, "simulator write skipped");
    }
}

fn set_status(store: &mut Store, rt: &ResourceType, old: &Value, status: Value, now: jiff::Timestamp) {
    let mut new = old.clone();
    new["status"] = status;
    save(store, rt, old, new, Part::Status, now);
}

fn create(store: &mut Store, rt: &ResourceType, ns: &str, obj: Value, now: jiff::Timestamp) {
    if let Err(e) = store.create(rt, Some(ns).filter(|n| !n.is_empty()), obj, &WriteOptions::default(), now) {
        tracing::debug!(error = %e, "simulator create skipped");
    }
}

fn delete(store: &mut Store, rt: &ResourceType, obj: &Value, now: jiff::Timestamp) {
    let _ = store.delete(rt, meta(obj, "namespace"), meta(obj, "name"), &Default::default(), now);
}

/// Keeps condition times stable unless the condition's status changes.
fn condition(old: &Value, kind: &str, status: &str, reason: &str, message: &str, now: &str) -> Value {
    let prev = old["status"]["conditions"].as_array().and_then(|cs| cs.iter().find(|c| c["type"] == kind));
    let transition = match prev {
        Some(p) if p["status"] == status => p["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    let update = match prev {
        Some(p) if p["status"] == status && p["reason"] == reason => {
            p.get("lastUpdateTime").cloned().unwrap_or(json!(now))
        }
        _ => json!(now),
    };
    json!({"type": kind, "status": status, "lastUpdateTime": update, "lastTransitionTime": transition,
        "reason": reason, "message": message})
}

impl Simulator {
    /// A simulator with `config` timings.
    pub fn new(config: SimulatorConfig) -> Self {
        Simulator {
            config,
            first_seen: HashMap::new(),
            progress: HashMap::new(),
            busy: BTreeSet::new(),
            seen_rv: None,
        }
    }

    /// The tick interval.
    pub fn tick(&self) -> Duration {
        self.config.tick
    }

    fn age(&mut self, obj: &Value, now: Instant) -> Duration {
        let uid = meta(obj, "uid").to_string();
        now.saturating_duration_since(*self.first_seen.entry(uid).or_insert(now))
    }

    /// Records that objects in `namespace` wait on the clock (pods starting, jobs running,
    /// rollouts before their deadline) when `waiting`, so the next step looks at it again
    /// even if nothing there changes.
    fn wait_in(&mut self, namespace: &str, waiting: bool) {
        if waiting {
            self.busy.insert(namespace.to_string());
        }
    }

    /// The namespaces the next step must look at.
    fn scope(&self, store: &Store) -> Scope {
        let Some(since) = self.seen_rv else { return Scope::All };
        let simulated = |gr: &(String, String)| SIMULATED.iter().any(|(_, g, _, p)| gr.0 == *g && gr.1 == *p);
        match store.events_since(since, |e| simulated(&e.gr)) {
            Ok(events) => {
                // A cluster-scoped kind (a Node, a PersistentVolume) shows up as namespace "":
                // it wakes a step, whose namespaced controllers find nothing there.
                let mut namespaces = self.busy.clone();
                namespaces.extend(events.iter().map(|e| e.namespace.to_string()));
                Scope::Namespaces(namespaces)
            }
            // The log was compacted past the last step: look at everything once.
            Err(_) => Scope::All,
        }
    }

    /// Whether a step now would have anything to do: a simulated kind changed since the last
    /// one, or something waits on the clock. Other writes (Applications, ConfigMaps, ...) do
    /// not wake the simulator.
    pub fn needs_step(&self, store: &Store) -> bool {
        match self.scope(store) {
            Scope::All => true,
            Scope::Namespaces(namespaces) => !namespaces.is_empty(),
        }
    }

    /// Runs every controller once over the namespaces that changed or wait on the clock.
    pub fn step(&mut self, store: &mut Store, now: Instant, ts: jiff::Timestamp) {
        let scope = self.scope(store);
        // The step's own writes are events after this point, so the next step follows up on
        // them (a new ReplicaSet gets its pods on the next tick).
        self.seen_rv = Some(store.resource_version());
        let Some(view) = View::new(store, scope) else { return };
        self.busy.clear();
        self.ensure_node(store, &view, ts);
        self.deployments(store, &view, now, ts);
        self.replicasets(store, &view, ts);
        self.statefulsets(store, &view, ts);
        self.daemonsets(store, &view, ts);
        self.cronjobs(store, &view, ts);
        self.jobs(store, &view, ts);
        self.pods(store, &view, now, ts);
        self.services(store, &view, ts);
        self.ingresses(store, &view, ts);
        self.claims(store, &view, now, ts);
        // Forget objects that are gone.
        if self.first_seen.len() > 10_000 {
            let live: std::collections::HashSet<String> = ["pods", "pvcs", "deployments", "jobs"]
                .iter()
                .flat_map(|k| view.everywhere(store, k))
                .map(|o| meta(&o, "uid").to_string())
                .collect();
            self.first_seen.retain(|uid, _| live.contains(uid));
        }
    }

    fn ensure_node(&mut self, store: &mut Store, view: &View, ts: jiff::Timestamp) {
        if store.get(view.rt("nodes"), "", NODE_NAME).is_ok() {
            return;
        }
        let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE_NAME,
            "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/control-plane": ""}},
            "spec": {}});
        create(store, view.rt("nodes"), "", node, ts);
        if let Ok(n) = store.get(view.rt("nodes"), "", NODE_NAME).and_then(|s| s.value()) {
            let now = format_time(ts);
            let status = json!({"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now}],
                "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": NODE_NAME}],
                "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                "nodeInfo": {"kubeletVersion": "v1.33.0", "containerRuntimeVersion": "sandbox://1.0",
                    "operatingSystem": "linux", "architecture": "amd64"}});
            set_status(store, view.rt("nodes"), &n, status, ts);
        }
    }

    fn deployments(&mut self, store: &mut Store, view: &View, now: Instant, ts: jiff::Timestamp) {
        let rs_by_owner = by_owner(view.all(store, "replicasets"));
        for d in view.all(store, "deployments") {
            if deleting(&d) {
                continue;
            }
            let uid = meta(&d, "uid");
            let ns = meta(&d, "namespace");
            let name = meta(&d, "name");
            let desired = d["spec"]["replicas"].as_i64().unwrap_or(1);
            let mut template = d["spec"]["template"].clone();
            let hash = template_hash(&template);
            template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
            let owned: Vec<&Value> = rs_by_owner.get(uid).into_iter().flatten().collect();
            let new_rs =
                owned.iter().find(|rs| rs["metadata"]["labels"]["pod-template-hash"] == hash.as_str());
            let Some(new_rs) = new_rs.copied() else {
                let revision = owned
                    .iter()
                    .filter_map(|rs| {
                        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"].as_str()
                    })
                    .filter_map(|r| r.parse::<i64>().ok())
                    .max()
                    .unwrap_or(0)
                    + 1;
                let mut selector = d["spec"]["selector"].clone();
                selector["matchLabels"]["pod-template-hash"] = json!(hash);
                let mut annotations = knobs(&[&d]);
                annotations.insert("deployment.kubernetes.io/revision".into(), json!(revision.to_string()));
                annotations
                    .insert("deployment.kubernetes.io/desired-replicas".into(), json!(desired.to_string()));
                let first = owned.is_empty();
                let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": format!("{name}-{hash}"), "namespace": ns,
                        "labels": template["metadata"]["labels"], "annotations": annotations,
                        "ownerReferences": [owner_ref(&d)]},
                    "spec": {"replicas": if first { desired } else { 0 }, "selector": selector, "template": template}});
                create(store, view.rt("replicasets"), ns, rs, ts);
                continue;
            };
            // A rollback to an older template revives its ReplicaSet under a new revision.
            let rev_of = |rs: &Value| {
                rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                    .as_str()
                    .and_then(|r| r.parse::<i64>().ok())
            };
            let newest = owned.iter().filter_map(|rs| rev_of(rs)).max().unwrap_or(0);
            if rev_of(new_rs).is_some_and(|r| r < newest) {
                let mut revived = new_rs.clone();
                revived["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                    json!((newest + 1).to_string());
                save(store, view.rt("replicasets"), new_rs, revived, Part::Main, ts);
                continue;
            }
            // The Deployment carries its current revision, as the real controller writes it.
            let revision = new_rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"].clone();
            if !revision.is_null()
                && d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] != revision
            {
                let mut annotated = d.clone();
                if !annotated["metadata"]["annotations"].is_object() {
                    annotated["metadata"]["annotations"] = json!({});
                }
                annotated["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = revision;
                save(store, view.rt("deployments"), &d, annotated, Part::Main, ts);
                continue;
            }
            let recreate = d["spec"]["strategy"]["type"] == "Recreate";
            let ru = &d["spec"]["strategy"]["rollingUpdate"];
            let surge = if recreate { 0 } else { int_or_percent(&ru["maxSurge"], desired, true, 1) };
            let mut unavailable =
                if recreate { desired } else { int_or_percent(&ru["maxUnavailable"], desired, false, 0) };
            if surge == 0 && unavailable == 0 {
                unavailable = 1;
            }
            let olds: Vec<&Value> =
                owned.iter().copied().filter(|rs| meta(rs, "uid") != meta(new_rs, "uid")).collect();
            let spec_total: i64 = owned.iter().map(|rs| int(&rs["spec"]["replicas"])).sum();
            let available: i64 = owned.iter().map(|rs| int(&rs["status"]["availableReplicas"])).sum();
            let paused = d["spec"]["paused"] == json!(true);
            if !paused {
                // Scale the new ReplicaSet up within the surge budget.
                let new_spec = int(&new_rs["spec"]["replicas"]);
                let old_running: i64 = olds.iter().map(|rs| int(&rs["status"]["replicas"])).sum();
                let target = if recreate {
                    if old_running == 0 && olds.iter().all(|rs| int(&rs["spec"]["replicas"]) == 0) {
                        desired
                    } else {
                        0
                    }
                } else if new_spec < desired {
                    new_spec + (desired + surge - spec_total).clamp(0, desired - new_spec)
                } else {
                    desired
                };
                if target != new_spec {
                    let mut n = new_rs.clone();
                    n["spec"]["replicas"] = json!(target);
                    n["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
                        json!(desired.to_string());
                    save(store, view.rt("replicasets"), new_rs, n, Part::Main, ts);
                }
                // Scale old ReplicaSets down as far as availability allows.
                let new_available = int(&new_rs["status"]["availableReplicas"]);
                let mut removable = if recreate || new_available >= desired {
                    i64::MAX
                } else {
                    (available - (desired - unavailable)).max(0)
                };
                for old in &olds {
                    let replicas = int(&old["spec"]["replicas"]);
                    if replicas == 0 || removable == 0 {
                        continue;
                    }
                    let cut = replicas.min(removable);
                    removable = removable.saturating_sub(cut);
                    let mut n = (*old).clone();
                    n["spec"]["replicas"] = json!(replicas - cut);
                    save(store, view.rt("replicasets"), old, n, Part::Main, ts);
                }
            }
            // Status.
            let replicas: i64 = owned.iter().map(|rs| int(&rs["status"]["replicas"])).sum();
            let ready: i64 = owned.iter().map(|rs| int(&rs["status"]["readyReplicas"])).sum();
            let updated = int(&new_rs["status"]["replicas"]);
            let new_name = meta(new_rs, "name");
            let nowstr = format_time(ts);
            let tuple = (updated, ready, available);
            let entry = self.progress.entry(uid.to_string()).or_insert((tuple, now));
            if entry.0 != tuple {
                *entry = (tuple, now);
            }
            let stalled_for = now.saturating_duration_since(entry.1);
            let deadline = Duration::from_secs(d["spec"]["progressDeadlineSeconds"].as_u64().unwrap_or(600));
            let complete = updated == desired && replicas == desired && available == desired;
            self.wait_in(ns, !complete && stalled_for < deadline);
            let available_cond = if available >= desired - unavailable {
                condition(
                    &d,
                    "Available",
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                    &nowstr,
                )
            } else {
                condition(
                    &d,
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    &nowstr,
                )
            };
            let progressing = if complete {
                let msg = format!("ReplicaSet \"{new_name}\" has successfully progressed.");
                condition(&d, "Progressing", "True", "NewReplicaSetAvailable", &msg, &nowstr)
            } else if stalled_for >= deadline && !paused {
                let msg = format!("ReplicaSet \"{new_name}\" has timed out progressing.");
                condition(&d, "Progressing", "False", "ProgressDeadlineExceeded", &msg, &nowstr)
            } else {
                let msg = format!("ReplicaSet \"{new_name}\" is progressing.");
                condition(&d, "Progressing", "True", "ReplicaSetUpdated", &msg, &nowstr)
            };
            let mut status = json!({"observedGeneration": d["metadata"]["generation"], "replicas": replicas,
                "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": available,
                "conditions": [available_cond, progressing]});
            if desired - available > 0 {
                status["unavailableReplicas"] = json!(desired - available);
            }
            if let Some(m) = status.as_object_mut() {
                m.retain(|_, v| v != &json!(0));
            }
            set_status(store, view.rt("deployments"), &d, status, ts);
        }
    }

    /// Pods owned by each uid.
    fn pods_by_owner(store: &Store, view: &View) -> HashMap<String, Vec<Value>> {
        by_owner(view.all(store, "pods"))
    }

    fn new_pod(
        owner: &Value,
        template: &Value,
        name: Option<String>,
        extra_labels: &[(&str, String)],
    ) -> Value {
        let mut annotations = template["metadata"]["annotations"].as_object().cloned().unwrap_or_default();
        annotations.extend(knobs(&[owner]));
        let mut labels = template["metadata"]["labels"].as_object().cloned().unwrap_or_default();
        for (k, v) in extra_labels {
            labels.insert(k.to_string(), json!(v));
        }
        let mut spec = template["spec"].clone();
        spec["nodeName"] = json!(NODE_NAME);
        let mut metadata = json!({"namespace": meta(owner, "namespace"), "labels": labels,
            "annotations": annotations, "ownerReferences": [owner_ref(owner)]});
        match name {
            Some(n) => metadata["name"] = json!(n),
            None => metadata["generateName"] = json!(format!("{}-", meta(owner, "name"))),
        }
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
    }

    fn replicasets(&mut self, store: &mut Store, view: &View, ts: jiff::Timestamp) {
        let by_owner = Self::pods_by_owner(store, view);
        for rs in view.all(store, "replicasets") {
            if deleting(&rs) {
                continue;
            }
            let desired = rs["spec"]["replicas"].as_i64().unwrap_or(1);
            let mut pods: Vec<&Value> =
                by_owner.get(meta(&rs, "uid")).into_iter().flatten().filter(|p| !deleting(p)).collect();
            let count = pods.len() as i64;
            let ns = meta(&rs, "namespace").to_string();
            for _ in count..desired {
                let pod = Self::new_pod(&rs, &rs["spec"]["template"], None, &[]);
                create(store, view.rt("pods"), &ns, pod, ts);
            }
            if count > desired {
                // Not-ready pods go first, then the newest.
                pods.sort_by_key(|p| {
                    (is_ready(p), std::cmp::Reverse(meta(p, "creationTimestamp").to_string()))
                });
                for p in pods.iter().take((count - desired) as usize) {
                    delete(store, view.rt("pods"), p, ts);
                }
            }
            let live: Vec<&&Value> = pods.iter().filter(|p| !is_terminal(p)).collect();
            let ready = live.iter().filter(|p| is_ready(p)).count();
            let mut status = json!({"replicas": live.len(), "fullyLabeledReplicas": live.len(),
                "readyReplicas": ready, "availableReplicas": ready,
                "observedGeneration": rs["metadata"]["generation"]});
            if let Some(m) = status.as_object_mut() {
                m.retain(|k, v| k == "replicas" || v != &json!(0));
            }
            set_status(store, view.rt("replicasets"), &rs, status, ts);
        }
    }

    fn statefulsets(&mut self, store: &mut Store, view: &View, ts: jiff::Timestamp) {
        let by_owner = Self::pods_by_owner(store, view);
        for sts in view.all(store, "statefulsets") {
            if deleting(&sts) {
                continue;
            }
            let name = meta(&sts, "name").to_string();
            let ns = meta(&sts, "namespace").to_string();
            let desired = sts["spec"]["replicas"].as_i64().unwrap_or(1);
            let revision = format!("{name}-{}", template_hash(&sts["spec"]["template"]));
            let pods: Vec<&Value> = by_owner.get(meta(&sts, "uid")).into_iter().flatten().collect();
            let mut by_ordinal: BTreeMap<i64, &Value> = BTreeMap::new();
            for p in &pods {
                if let Some(i) = meta(p, "name").rsplit('-').next().and_then(|o| o.parse::<i64>().ok()) {
                    by_ordinal.insert(i, p);
                }
            }
            let mut rolled = false;
            for i in (0..desired).filter(|i| !by_ordinal.contains_key(i)) {
                let pod_name = format!("{name}-{i}");
                let labels = [
                    ("controller-revision-hash", revision.clone()),
                    ("statefulset.kubernetes.io/pod-name", pod_name.clone()),
                    ("apps.kubernetes.io/pod-index", i.to_string()),
                ];
                let pod = Self::new_pod(&sts, &sts["spec"]["template"], Some(pod_name), &labels);
                create(store, view.rt("pods"), &ns, pod, ts);
            }
            // Rolling update: replace one outdated pod at a time, highest ordinal first.
            let outdated = by_ordinal.iter().rev().find(|(_, p)| {
                p["metadata"]["labels"]["controller-revision-hash"] != revision.as_str() && !deleting(p)
            });
            if let Some((_, p)) = outdated
                && pods.iter().all(|p| is_ready(p))
            {
                delete(store, view.rt("pods"), p, ts);
                rolled = true;
            }
            for (i, p) in &by_ordinal {
                if *i >= desired && !deleting(p) {
                    delete(store, view.rt("pods"), p, ts);
                }
            }
            let live: Vec<&&Value> = pods.iter().filter(|p| !deleting(p)).collect();
            let ready = live.iter().filter(|p| is_ready(p)).count();
            let updated = live
                .iter()
                .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == revision.as_str())
                .count();
            let current_revision = if updated == live.len() && !rolled {
                revision.clone()
            } else {
                sts["status"]["currentRevision"].as_str().unwrap_or(&revision).to_string()
            };
            let status = json!({"observedGeneration": sts["metadata"]["generation"], "replicas": live.len(),
                "readyReplicas": ready, "currentReplicas": if current_revision == revision { updated } else { live.len() - updated },
                "updatedReplicas": updated, "availableReplicas": ready, "currentRevision": current_revision,
                "updateRevision": revision, "collisionCount": 0});
            set_status(store, view.rt("statefulsets"), &sts, status, ts);
        }
    }

    fn daemonsets(&mut self, store: &mut Store, view: &View, ts: jiff::Timestamp) {
        let by_owner = Self::pods_by_owner(store, view);
        for ds in view.all(store, "daemonsets") {
            if deleting(&ds) {
                continue;
            }
            let hash = template_hash(&ds["spec"]["template"]);
            let pods: Vec<&Value> =
                by_owner.get(meta(&ds, "uid")).into_iter().flatten().filter(|p| !deleting(p)).collect();
            let current: Vec<&&Value> = pods
                .iter()
                .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == hash.as_str())
                .collect();
            for p in
                pods.iter().filter(|p| p["metadata"]["labels"]["controller-revision-hash"] != hash.as_str())
            {
                delete(store, view.rt("pods"), p, ts);
            }
            if current.is_empty() {
                let labels = [
                    ("controller-revision-hash", hash.clone()),
                    ("pod-template-generation", "1".to_string()),
                ];
                let pod = Self::new_pod(&ds, &ds["spec"]["template"], None, &labels);
                create(store, view.rt("pods"), meta(&ds, "namespace"), pod, ts);
            }
            let ready = current.iter().filter(|p| is_ready(p)).count();
            let mut status = json!({"currentNumberScheduled": 1, "desiredNumberScheduled": 1,
                "numberMisscheduled": 0, "numberReady": ready, "observedGeneration": ds["metadata"]["generation"],
                "updatedNumberScheduled": current.len(), "numberAvailable": ready});
            if ready == 0 {
                status["numberUnavailable"] = json!(1);
                if let Some(m) = status.as_object_mut() {
                    m.remove("numberAvailable");
                }
            }
            set_status(store, view.rt("daemonsets"), &ds, status, ts);
        }
    }

    fn jobs(&mut self, store: &mut Store, view: &View, ts: jiff::Timestamp) {
        let by_owner = Self::pods_by_owner(store, view);
        for job in view.all(store, "jobs") {
            if deleting(&job) {
                continue;
            }
            let conditions = job["status"]["conditions"].as_array().cloned().unwrap_or_default();
            let finished = conditions
                .iter()
                .any(|c| matches!(c["type"].as_str(), Some("Complete" | "Failed")) && c["status"] == "True");
            let pods: Vec<&Value> =
                by_owner.get(meta(&job, "uid")).into_iter().flatten().filter(|p| !deleting(p)).collect();
            let succeeded = pods.iter().filter(|p| p["status"]["phase"] == "Succeeded").count() as i64;
            let failed = pods.iter().filter(|p| p["status"]["phase"] == "Failed").count() as i64;
            let active: Vec<&&Value> = pods.iter().filter(|p| !is_terminal(p)).collect();
            let completions = job["spec"]["completions"].as_i64().unwrap_or(1);
            let parallelism = job["spec"]["parallelism"].as_i64().unwrap_or(1);
            let backoff = job["spec"]["backoffLimit"].as_i64().unwrap_or(6);
            let suspended = job["spec"]["suspend"] == json!(true);
            let nowstr = format_time(ts);
            let mut status = json!({"startTime": job["status"]["startTime"].as_str().unwrap_or(&nowstr),
                "active": active.len(), "succeeded": succeeded, "failed": failed,
                "ready": active.iter().filter(|p| is_ready(p)).count(), "terminating": 0,
                "uncountedTerminatedPods": {}, "conditions": conditions});
            if let Some(t) = job["status"].get("completionTime") {
                status["completionTime"] = t.clone();
            }
            if !finished && !suspended {
                if succeeded >= completions {
                    status["completionTime"] = json!(nowstr);
                    status["conditions"] = json!([
                        condition(
                            &job,
                            "SuccessCriteriaMet",
                            "True",
                            "CompletionsReached",
                            "Reached expected number of succeeded pods",
                            &nowstr
                        ),
                        condition(
                            &job,
                            "Complete",
                            "True",
                            "CompletionsReached",
                            "Reached expected number of succeeded pods",
                            &nowstr
                        ),
                    ]);
                } else if failed > backoff {
                    for p in &active {
                        delete(store, view.rt("pods"), p, ts);
                    }
                    status["active"] = json!(0);
                    status["conditions"] = json!([
                        condition(
                            &job,
                            "FailureTarget",
                            "True",
                            "BackoffLimitExceeded",
                            "Job has reached the specified backoff limit",
                            &nowstr
                        ),
                        condition(
                            &job,
                            "Failed",
                            "True",
                            "BackoffLimitExceeded",
                            "Job has reached the specified backoff limit",
                            &nowstr
                        ),
                    ]);
                } else {
                    let want = parallelism.min(completions - succeeded);
                    for _ in (active.len() as i64)..want {
                        let pod = Self::new_pod(&job, &job["spec"]["template"], None, &[]);
                        create(store, view.rt("pods"), meta(&job, "namespace"), pod, ts);
                    }
                }
            }
            if let Some(m) = status.as_object_mut() {
                m.retain(|k, v| {
                    k == "uncountedTerminatedPods"
                        || k == "terminating"
                        || (v != &json!(0) && v != &json!([]))
                });
            }
            set_status(store, view.rt("jobs"), &job, status, ts);
        }
    }

    fn cronjobs(&mut self, store: &mut Store, view: &View, ts: jiff::Timestamp) {
        let jobs_by_owner = by_owner(view.all(store, "jobs"));
        for cj in view.all(store, "cronjobs") {
            if deleting(&cj) {
                continue;
            }
            let mut owned: Vec<&Value> = jobs_by_owner.get(meta(&cj, "uid")).into_iter().flatten().collect();
            owned.sort_by_key(|j| meta(j, "creationTimestamp").to_string());
            let finished = |j: &Value, kind: &str| {
                j["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == kind && c["status"] == "True")
            };
            let active: Vec<&&Value> =
                owned.iter().filter(|j| !finished(j, "Complete") && !finished(j, "Failed")).collect();
            let mut status = cj["status"].as_object().cloned().unwrap_or_default();
            let refs: Vec<Value> = active
                .iter()
                .map(|j| json!({"apiVersion": "batch/v1", "kind": "Job", "name": meta(j, "name"),
                    "namespace": meta(j, "namespace"), "uid": meta(j, "uid"), "resourceVersion": meta(j, "resourceVersion")}))
                .collect();
            if refs.is_empty() {
                status.remove("active");
            } else {
                status.insert("active".into(), json!(refs));
            }
            if let Some(done) = owned.iter().rev().find(|j| finished(j, "Complete")) {
                status.insert("lastSuccessfulTime".into(), done["status"]["completionTime"].clone());
            }
            // History limits: drop the oldest finished Jobs beyond them.
            for (kind, limit) in
                [("Complete", "successfulJobsHistoryLimit"), ("Failed", "failedJobsHistoryLimit")]
            {
                let keep =
                    cj["spec"][limit].as_u64().unwrap_or(if kind == "Complete" { 3 } else { 1 }) as usize;
                let done: Vec<&&Value> = owned.iter().filter(|j| finished(j, kind)).collect();
                for j in done.iter().take(done.len().saturating_sub(keep)) {
                    let opts = crate::store::DeleteOptions {
                        propagation: crate::store::Propagation::Background,
                        ..Default::default()
                    };
                    let _ = store.delete(view.rt("jobs"), meta(j, "namespace"), meta(j, "name"), &opts, ts);
                }
            }
            let due = self.due(&cj, ts);
            if let Some(when) = due
                && cj["spec"]["suspend"] != json!(true)
            {
                let policy = cj["spec"]["concurrencyPolicy"].as_str().unwrap_or("Allow");
                if policy == "Replace" {
                    for j in &active {
                        delete(store, view.rt("jobs"), j, ts);
                    }
                }
                if policy != "Forbid" || active.is_empty() {
                    let template = &cj["spec"]["jobTemplate"];
                    let mut annotations =
                        template["metadata"]["annotations"].as_object().cloned().unwrap_or_default();
                    annotations.extend(knobs(&[&cj]));
                    annotations.insert(
                        "batch.kubernetes.io/cronjob-scheduled-timestamp".into(),
                        json!(format_time(when)),
                    );
                    let job = json!({"apiVersion": "batch/v1", "kind": "Job",
                        "metadata": {"name": format!("{}-{}", meta(&cj, "name"), when.as_second() / 60),
                            "namespace": meta(&cj, "namespace"), "labels": template["metadata"]["labels"],
                            "annotations": annotations, "ownerReferences": [owner_ref(&cj)]},
                        "spec": template["spec"]});
                    create(store, view.rt("jobs"), meta(&cj, "namespace"), job, ts);
                }
                status.insert("lastScheduleTime".into(), json!(format_time(when)));
            }
            set_status(store, view.rt("cronjobs"), &cj, Value::Object(status), ts);
        }
    }

    /// The latest schedule time of a CronJob that is due (after its last run, not after `ts`).
    fn due(&mut self, cj: &Value, ts: jiff::Timestamp) -> Option<jiff::Timestamp> {
        let cron: croner::Cron = cj["spec"]["schedule"].as_str()?.parse().ok()?;
        let tz = cj["spec"]["timeZone"]
            .as_str()
            .and_then(|name| jiff::tz::TimeZone::get(name).ok())
            .unwrap_or(jiff::tz::TimeZone::UTC);
        let since = cj["status"]["lastScheduleTime"]
            .as_str()
            .or(cj["metadata"]["creationTimestamp"].as_str())?
            .parse::<jiff::Timestamp>()
            .ok()?;
        let mut latest = None;
        let mut cursor = since.to_zoned(tz);
        // Catch up at most a bounded number of missed runs (like the controller's limit).
        for _ in 0..100 {
            let next = cron.find_next_occurrence(&cursor, false).ok()?;
            if next.timestamp() > ts {
                break;
            }
            latest = Some(next.timestamp());
            cursor = next;
        }
        // A CronJob always waits on the clock for its next run.
        self.wait_in(meta(cj, "namespace"), true);
        latest
    }

    fn pods(&mut self, store: &mut Store, view: &View, now: Instant, ts: jiff::Timestamp) {
        for pod in view.all(store, "pods") {
            if deleting(&pod) || is_terminal(&pod) {
                continue;
            }
            let age = self.age(&pod, now);
            let ns = meta(&pod, "namespace").to_string();
            if pod["spec"]["nodeName"].as_str().is_none_or(str::is_empty) {
                let mut bound = pod.clone();
                bound["spec"]["nodeName"] = json!(NODE_NAME);
                save(store, view.rt("pods"), &pod, bound, Part::Main, ts);
                continue;
            }
            let status = self.pod_status(&pod, age);
            let job_pod = pod["metadata"]["ownerReferences"][0]["kind"] == "Job";
            self.wait_in(&ns, age < self.config.pod_start || job_pod || has_knob(&pod, CRASH_LOOP));
            set_status(store, view.rt("pods"), &pod, status, ts);
        }
    }

    fn pod_status(&self, pod: &Value, age: Duration) -> Value {
        let created = meta(pod, "creationTimestamp").to_string();
        let job_pod = pod["metadata"]["ownerReferences"][0]["kind"] == "Job";
        let started = age >= self.config.pod_start;
        let pull_fail = has_knob(pod, IMAGE_PULL_FAIL);
        let crash = has_knob(pod, CRASH_LOOP);
        let never_ready = has_knob(pod, NEVER_READY);
        let finished = job_pod && started && age >= self.config.pod_start + self.config.job_duration;
        let fail = has_knob(pod, FAIL_JOB) || (job_pod && crash);
        let h = fnv(meta(pod, "uid"));
        let ip = format!("10.244.{}.{}", (h >> 8) % 250, h % 250 + 2);
        let containers = pod["spec"]["containers"].as_array().cloned().unwrap_or_default();
        let restarts = if crash && started {
            (age - self.config.pod_start).as_millis() / self.config.restart_interval.as_millis().max(1) + 1
        } else {
            0
        };
        let (phase, ready) = match () {
            _ if pull_fail || !started => ("Pending", false),
            _ if finished && fail => ("Failed", false),
            _ if finished => ("Succeeded", false),
            _ if crash || never_ready => ("Running", false),
            _ => ("Running", true),
        };
        let statuses: Vec<Value> = containers
            .iter()
            .map(|c| {
                let name = s(&c["name"]);
                let image = s(&c["image"]);
                let (state, last) = match phase {
                    "Pending" if pull_fail && started => (
                        json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\": ErrImagePull: simulated pull failure ({IMAGE_PULL_FAIL})")}}),
                        json!({}),
                    ),
                    "Pending" if pull_fail => (
                        json!({"waiting": {"reason": "ErrImagePull", "message": format!("simulated pull failure ({IMAGE_PULL_FAIL})")}}),
                        json!({}),
                    ),
                    "Pending" => (json!({"waiting": {"reason": "ContainerCreating"}}), json!({})),
                    "Succeeded" => (
                        json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": created, "finishedAt": created}}),
                        json!({}),
                    ),
                    "Failed" => (
                        json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": created, "finishedAt": created}}),
                        json!({}),
                    ),
                    _ if crash => (
                        json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off restarting failed container {name} ({CRASH_LOOP})")}}),
                        json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": created, "finishedAt": created}}),
                    ),
                    _ => (json!({"running": {"startedAt": created}}), json!({})),
                };
                json!({"name": name, "image": image, "imageID": if phase == "Pending" { "".to_string() } else { format!("{image}@sha256:{:064x}", fnv(image)) },
                    "containerID": if phase == "Pending" { Value::Null } else { json!(format!("containerd://{:016x}", fnv(&format!("{}{name}", meta(pod, "uid"))))) },
                    "ready": ready, "restartCount": restarts, "started": phase == "Running" && !crash,
                    "state": state, "lastState": last})
            })
            .map(|mut c| {
                if c["containerID"].is_null()
                    && let Some(m) = c.as_object_mut()
                {
                    m.remove("containerID");
                }
                c
            })
            .collect();
        let flag = |b: bool| if b { "True" } else { "False" };
        let cond = |kind: &str, ok: bool, reason: Option<&str>| {
            let mut c = json!({"type": kind, "status": flag(ok), "lastProbeTime": null, "lastTransitionTime": created});
            if let (false, Some(r)) = (ok, reason) {
                c["reason"] = json!(r);
            }
            c
        };
        let terminal = matches!(phase, "Succeeded" | "Failed");
        let containers_ready_reason = if terminal { "PodCompleted" } else { "ContainersNotReady" };
        let mut status = json!({"phase": phase, "conditions": [
                cond("PodReadyToStartContainers", started && !terminal, None),
                cond("Initialized", true, None),
                cond("Ready", ready, Some(containers_ready_reason)),
                cond("ContainersReady", ready, Some(containers_ready_reason)),
                cond("PodScheduled", true, None)],
            "hostIP": "10.0.0.1", "hostIPs": [{"ip": "10.0.0.1"}], "startTime": created,
            "containerStatuses": statuses, "qosClass": "BestEffort"});
        if started {
            status["podIP"] = json!(ip);
            status["podIPs"] = json!([{"ip": ip}]);
        }
        status
    }

    fn services(&mut self, store: &mut Store, view: &View, ts: jiff::Timestamp) {
        let mut pods_by_namespace: HashMap<String, Vec<Value>> = HashMap::new();
        for pod in view.all(store, "pods") {
            pods_by_namespace.entry(meta(&pod, "namespace").to_string()).or_default().push(pod);
        }
        for svc in view.all(store, "services") {
            if deleting(&svc) {
                continue;
            }
            let ns = meta(&svc, "namespace").to_string();
            if svc["spec"]["type"] == "LoadBalancer" && svc["status"]["loadBalancer"]["ingress"].is_null() {
                let h = fnv(meta(&svc, "uid"));
                let status = json!({"loadBalancer": {"ingress": [{"ip": format!("172.18.{}.{}", h % 200 + 1, (h >> 8) % 250 + 2), "ipMode": "VIP"}]}});
                set_status(store, view.rt("services"), &svc, status, ts);
            }
            let Some(selector) = svc["spec"]["selector"].as_object().filter(|m| !m.is_empty()) else {
                continue;
            };
            let sel = crate::selector::LabelSelector::from_object(&Value::Object(selector.clone()));
            let matching: Vec<&Value> = pods_by_namespace
                .get(&ns)
                .into_iter()
                .flatten()
                .filter(|p| !deleting(p) && p["status"]["podIP"].is_string() && sel.matches_object(p))
                .collect();
            let address = |p: &Value| {
                json!({"ip": p["status"]["podIP"], "nodeName": NODE_NAME,
                    "targetRef": {"kind": "Pod", "namespace": ns, "name": meta(p, "name"), "uid": meta(p, "uid")}})
            };
            let ready: Vec<Value> = matching.iter().filter(|p| is_ready(p)).map(|p| address(p)).collect();
            let not_ready: Vec<Value> =
                matching.iter().filter(|p| !is_ready(p)).map(|p| address(p)).collect();
            let ports: Vec<Value> = svc["spec"]["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let port =
                        if p["targetPort"].is_number() { p["targetPort"].clone() } else { p["port"].clone() };
                    let mut e = json!({"port": port, "protocol": p["protocol"]});
                    if let Some(n) = p["name"].as_str() {
                        e["name"] = json!(n);
                    }
                    e
                })
                .collect();
            let mut subset = json!({"ports": ports});
            if !ready.is_empty() {
                subset["addresses"] = json!(ready);
            }
            if !not_ready.is_empty() {
                subset["notReadyAddresses"] = json!(not_ready);
            }
            let subsets = if ready.is_empty() && not_ready.is_empty() { json!([]) } else { json!([subset]) };
            let name = meta(&svc, "name");
            match store.get(view.rt("endpoints"), &ns, name).and_then(|e| e.value()) {
                Ok(ep) => {
                    let mut n = ep.clone();
                    n["subsets"] = subsets;
                    if n["subsets"] == json!([])
                        && let Some(m) = n.as_object_mut()
                    {
                        m.remove("subsets");
                    }
                    save(store, view.rt("endpoints"), &ep, n, Part::Main, ts);
                }
                Err(_) => {
                    let mut ep = json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": ns,
                        "labels": svc["metadata"]["labels"],
                        "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": format_time(ts)}}});
                    if subsets != json!([]) {
                        ep["subsets"] = subsets;
                    }
                    if ep["metadata"]["labels"].is_null()
                        && let Some(m) = ep["metadata"].as_object_mut()
                    {
                        m.remove("labels");
                    }
                    create(store, view.rt("endpoints"), &ns, ep, ts);
                }
            }
        }
    }

    fn ingresses(&mut self, store: &mut Store, view: &View, ts: jiff::Timestamp) {
        for ing in view.all(store, "ingresses") {
            if deleting(&ing) || !ing["status"]["loadBalancer"]["ingress"].is_null() {
                continue;
            }
            let status = json!({"loadBalancer": {"ingress": [{"ip": "172.18.0.100"}]}});
            set_status(store, view.rt("ingresses"), &ing, status, ts);
        }
    }

    fn claims(&mut self, store: &mut Store, view: &View, now: Instant, ts: jiff::Timestamp) {
        for pvc in view.all(store, "pvcs") {
            if deleting(&pvc) || pvc["status"]["phase"] == "Bound" {
                continue;
            }
            if self.age(&pvc, now) < self.config.pod_start {
                self.wait_in(meta(&pvc, "namespace"), true);
                continue;
            }
            let pv_name = format!("pvc-{}", meta(&pvc, "uid"));
            let storage = pvc["spec"]["resources"]["requests"]["storage"].clone();
            let modes = pvc["spec"]["accessModes"].clone();
            if store.get(view.rt("pvs"), "", &pv_name).is_err() {
                let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume",
                    "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": "sandbox.tiphys.io/hostpath"}},
                    "spec": {"capacity": {"storage": storage}, "accessModes": modes, "persistentVolumeReclaimPolicy": "Delete",
                        "storageClassName": pvc["spec"]["storageClassName"].as_str().unwrap_or("standard"),
                        "hostPath": {"path": format!("/var/lib/sandbox/{pv_name}")},
                        "claimRef": {"kind": "PersistentVolumeClaim", "namespace": meta(&pvc, "namespace"),
                            "name": meta(&pvc, "name"), "uid": meta(&pvc, "uid"), "apiVersion": "v1"}}});
                create(store, view.rt("pvs"), "", pv, ts);
                if let Ok(pv) = store.get(view.rt("pvs"), "", &pv_name).and_then(|p| p.value()) {
                    set_status(store, view.rt("pvs"), &pv, json!({"phase": "Bound"}), ts);
                }
            }
            let mut bound = pvc.clone();
            bound["spec"]["volumeName"] = json!(pv_name);
            bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] = json!("yes");
            bound["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] = json!("yes");
            save(store, view.rt("pvcs"), &pvc, bound, Part::Main, ts);
            if let Ok(fresh) = store
                .get(view.rt("pvcs"), meta(&pvc, "namespace"), meta(&pvc, "name"))
                .and_then(|p| p.value())
            {
                let status =
                    json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": storage}});
                set_status(store, view.rt("pvcs"), &fresh, status, ts);
            }
        }
    }
}

#[cfg(test)]
mod tests;
