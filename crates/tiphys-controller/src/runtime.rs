//! The running controller: where changes come in and work goes out.
//!
//! - The dispatcher listens to every destination's live-cache change stream. A changed
//!   Application (in the controller namespace) is refreshed when its *intent* changed (spec,
//!   operation, refresh annotation, deletion) — not when only its status did, which is what our
//!   own writes change; a changed AppProject refreshes its apps; a changed `argocd-cm` or
//!   repository/cluster Secret reloads settings and refreshes everything; any other changed
//!   object refreshes the apps tracking it or its owners, without a Git call.
//! - Refresh workers take apps from the [`RefreshQueue`] and run [`Controller::refresh`].
//! - An app with an `operation` gets one operation task (see `operation.rs`) until the
//!   operation ends; its state is in the Application, so a restart resumes it.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use tiphys_compare::Comparer;
use tiphys_git::CredentialStore;
use tiphys_kube::{Change, LiveCache};
use tiphys_model::application::Application;
use tiphys_model::project::AppProject;
use tiphys_resource::annotations::{REFRESH as REFRESH_ANNOTATION, SECRET_TYPE_LABEL};
use tiphys_resource::{GroupKind, ResourceKey};
use tiphys_settings::{ClusterSecret, ControllerParams};
use tokio::sync::{Notify, broadcast, watch};

use crate::automation::HealPolicy;
use crate::config::Snapshot;
use crate::destinations::{Destination, Destinations};
use crate::metrics::Metrics;
use crate::operation::OperationSlot;
use crate::queue::{Level, RefreshQueue};

/// Everything the controller's tasks share.
pub struct Controller {
    /// The controller namespace (`argocd`).
    pub namespace: String,
    /// Destination clusters, in-cluster first.
    pub destinations: Destinations,
    /// The comparison pipeline with its Git and render caches.
    pub comparer: Arc<Comparer>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Self-heal timing (argocd-cmd-params-cm).
    pub heal: HealPolicy,
    /// Parallel refreshes (`controller.status.processors`).
    workers: usize,
    /// Comparisons running at once: they are CPU-bound, so one per core; more only adds
    /// threads (and malloc arenas) and holds more rendered manifests in memory at a time.
    pub compare_slots: tokio::sync::Semaphore,
    /// Sync operations running at once (`controller.operation.processors`, upstream's
    /// default 10); the others wait for a slot. Unbounded, a thousand apps auto-syncing
    /// together opened a thousand API connections and held their buffers (the peak RSS).
    pub(crate) operation_slots: tokio::sync::Semaphore,
    queue: Mutex<RefreshQueue<String>>,
    wake: Notify,
    snapshot: RwLock<Arc<Snapshot>>,
    creds: RwLock<Arc<CredentialStore>>,
    intents: Mutex<HashMap<String, Intent>>,
    operations: Mutex<HashSet<String>>,
    /// Set once the control-plane cache has listed everything: an operation started before
    /// could run against a half-filled cache (its AppProject not listed yet) and fail.
    synced: std::sync::atomic::AtomicBool,
    last_hard: Mutex<HashMap<String, Instant>>,
    /// When each app's next periodic refresh is due. Kept apart from the queue so a live
    /// change (CompareOnly, now) never merges with the periodic Git refresh into a Git refresh
    /// now — which made every live change, our own status writes included, a full refresh.
    periodic: Mutex<HashMap<String, Instant>>,
    /// Becomes true when the controller must stop.
    pub stop: watch::Receiver<bool>,
    /// Whether this replica is the leader (always true without leader election).
    pub leading: watch::Receiver<bool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A stable per-app fraction of the jitter, so refreshes spread out but stay periodic.
fn jitter_for(name: &str, jitter: Duration) -> Duration {
    if jitter.is_zero() {
        return Duration::ZERO;
    }
    let mut h = DefaultHasher::new();
    name.hash(&mut h);
    let millis = u64::try_from(jitter.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(h.finish() % millis)
}

/// What, in an Application, asks the controller to act, as two fingerprints: one for what a
/// refresh must look at, one for the operation to run. Status and bookkeeping metadata are in
/// neither, so our own writes ask for nothing. The refresh annotation is not either: its
/// presence asks for a refresh by itself, and its removal (our own write) must not ask for
/// another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Intent {
    /// spec, deletionTimestamp, finalizers: a change needs a comparison with Git.
    refresh: u64,
    /// `operation`: a new one needs its task. Its progress (operationState) needs no
    /// refresh: the task compares itself and asks for one when it ends.
    operation: u64,
}

fn intent_of(app: &Value) -> Intent {
    let meta = &app["metadata"];
    let mut h = DefaultHasher::new();
    app["spec"].to_string().hash(&mut h);
    meta["deletionTimestamp"].to_string().hash(&mut h);
    meta["finalizers"].to_string().hash(&mut h);
    let mut op = DefaultHasher::new();
    app["operation"].to_string().hash(&mut op);
    Intent { refresh: h.finish(), operation: op.finish() }
}

/// The least time between two live-state refreshes of one app (see [`RefreshQueue`]): long
/// enough to fold a sync's burst of watch events into a few comparisons, short next to the
/// self-heal target of one second.
const LIVE_REFRESH_INTERVAL: Duration = Duration::from_millis(500);

impl Controller {
    /// Assembles the shared state; nothing runs until [`Controller::run`].
    pub fn new(
        namespace: String,
        destinations: Destinations,
        comparer: Arc<Comparer>,
        params: &ControllerParams,
        stop: watch::Receiver<bool>,
        leading: watch::Receiver<bool>,
    ) -> Self {
        Self {
            namespace,
            destinations,
            comparer,
            metrics: Arc::new(Metrics::new()),
            heal: HealPolicy { timeout: params.self_heal_timeout, backoff: params.self_heal_backoff },
            workers: usize::try_from(params.status_processors).unwrap_or(1).max(1),
            compare_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map(std::num::NonZero::get).unwrap_or(2),
            ),
            operation_slots: tokio::sync::Semaphore::new(
                usize::try_from(params.operation_processors).unwrap_or(1).max(1),
            ),
            queue: Mutex::new(RefreshQueue::coalescing(LIVE_REFRESH_INTERVAL)),
            wake: Notify::new(),
            snapshot: RwLock::new(Arc::new(Snapshot::from_config_map(None))),
            creds: RwLock::new(Arc::new(CredentialStore::default())),
            intents: Mutex::new(HashMap::new()),
            operations: Mutex::new(HashSet::new()),
            synced: std::sync::atomic::AtomicBool::new(false),
            last_hard: Mutex::new(HashMap::new()),
            periodic: Mutex::new(HashMap::new()),
            stop,
            leading,
        }
    }

    /// The control-plane live cache (the in-cluster destination's).
    pub fn control(&self) -> &Arc<LiveCache> {
        &self.destinations.in_cluster().cache
    }

    /// The current settings.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The current repository credentials.
    pub fn creds(&self) -> Arc<CredentialStore> {
        self.creds.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn app_key(&self, name: &str) -> ResourceKey {
        ResourceKey::new("argoproj.io", "Application", &self.namespace, name)
    }

    /// The Application as the cache last saw it (raw JSON).
    pub fn app_value(&self, name: &str) -> Option<Value> {
        self.control().index().get(&self.app_key(name)).map(|o| o.object())
    }

    /// The Application as the cache last saw it, or why it cannot be read.
    pub fn app(&self, name: &str) -> Option<Result<Application, String>> {
        // Straight from the cached bytes: a JSON value in between doubled the cost.
        let bytes = self.control().index().get(&self.app_key(name))?.manifest_bytes().clone();
        Some(serde_json::from_slice(&bytes).map_err(|e| format!("application {name}: {e}")))
    }

    /// The AppProject `name`, when it exists and parses.
    pub fn project(&self, name: &str) -> Option<AppProject> {
        let key = ResourceKey::new("argoproj.io", "AppProject", &self.namespace, name);
        let bytes = self.control().index().get(&key)?.manifest_bytes().clone();
        serde_json::from_slice(&bytes).ok()
    }

    /// Names of every Application in the controller namespace.
    pub fn app_names(&self) -> Vec<String> {
        let gk = GroupKind { group: "argoproj.io".into(), kind: "Application".into() };
        let index = self.control().index();
        index
            .list_kind(&gk)
            .filter(|o| o.key().namespace == self.namespace)
            .map(|o| o.key().name.clone())
            .collect()
    }

    /// Asks for a refresh of `name` at `level` after `delay`.
    pub fn request(&self, name: &str, level: Level, delay: Duration) {
        lock(&self.queue).push(name.to_string(), level, Instant::now() + delay);
        self.wake.notify_one();
    }

    /// The level a refresh really runs at: a periodic refresh becomes hard once
    /// `timeout.hard.reconciliation` has passed since the app's last hard refresh.
    pub fn effective_level(&self, name: &str, level: Level) -> Level {
        let now = Instant::now();
        let mut last = lock(&self.last_hard);
        let since = *last.entry(name.to_string()).or_insert(now);
        let level = match self.snapshot().settings.periodic_hard_refresh() {
            Some(period) if level == Level::Normal && now.duration_since(since) >= period => Level::Hard,
            _ => level,
        };
        if level == Level::Hard {
            last.insert(name.to_string(), now);
        }
        level
    }

    /// Schedules the next periodic refresh of `name`.
    pub fn schedule_periodic(&self, name: &str) {
        let snapshot = self.snapshot();
        if let Some(period) = snapshot.reconciliation() {
            let due = Instant::now() + period + jitter_for(name, snapshot.jitter());
            lock(&self.periodic).insert(name.to_string(), due);
        }
    }

    /// Moves due periodic refreshes into the queue, once a second.
    async fn periodic_ticker(self: Arc<Self>) {
        let mut stop = self.stop.clone();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => return,
            }
            let now = Instant::now();
            let due: Vec<String> = {
                let mut periodic = lock(&self.periodic);
                let names: Vec<String> =
                    periodic.iter().filter(|(_, at)| **at <= now).map(|(n, _)| n.clone()).collect();
                for n in &names {
                    periodic.remove(n);
                }
                names
            };
            for name in due {
                self.request(&name, Level::Normal, Duration::ZERO);
            }
        }
    }

    fn refresh_all(&self, level: Level) {
        for name in self.app_names() {
            self.request(&name, level, Duration::ZERO);
        }
    }

    /// Re-reads `argocd-cm` and the repository and cluster Secrets from the cache.
    pub fn reload_settings(&self) {
        let (cm, secrets) = {
            let index = self.control().index();
            let cm = index
                .get(&ResourceKey::new("", "ConfigMap", &self.namespace, "argocd-cm"))
                .map(|o| o.object());
            let gk = GroupKind { group: String::new(), kind: "Secret".into() };
            let secrets: Vec<Value> = index
                .list_kind(&gk)
                .filter(|o| o.key().namespace == self.namespace)
                .map(|o| o.object())
                .filter(|s| s["metadata"]["labels"][SECRET_TYPE_LABEL].is_string())
                .collect();
            (cm, secrets)
        };
        let snapshot = Snapshot::from_config_map(cm.as_ref());
        for problem in &snapshot.problems {
            tracing::warn!(%problem, "argocd-cm");
        }
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(snapshot);
        let repo_secrets: Vec<Value> = secrets
            .iter()
            .filter(|s| {
                matches!(
                    s["metadata"]["labels"][SECRET_TYPE_LABEL].as_str(),
                    Some("repository" | "repo-creds")
                )
            })
            .cloned()
            .collect();
        match CredentialStore::from_secrets(&repo_secrets) {
            Ok(store) => *self.creds.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(store),
            Err(e) => tracing::warn!(error = %e, "repository secrets"),
        }
        let clusters: Vec<ClusterSecret> = secrets
            .iter()
            .filter(|s| s["metadata"]["labels"][SECRET_TYPE_LABEL].as_str() == Some("cluster"))
            .filter_map(|s| match ClusterSecret::from_secret(s) {
                Ok(entry) => Some(entry),
                Err(e) => {
                    tracing::warn!(error = %e, "cluster secret");
                    None
                }
            })
            .collect();
        self.destinations.set_registered(clusters);
    }

    /// Reacts to one batch of live changes from `destination`.
    pub fn on_changes(self: &Arc<Self>, changes: &[Change]) {
        let mut settings_changed = false;
        for change in changes {
            let key = &change.key;
            if key.namespace == self.namespace {
                match (key.group.as_str(), key.kind.as_str()) {
                    ("argoproj.io", "Application") => self.on_app_change(&key.name),
                    ("argoproj.io", "AppProject") => {
                        for name in self.apps_of_project(&key.name) {
                            self.request(&name, Level::CompareOnly, Duration::ZERO);
                        }
                    }
                    ("", "ConfigMap") if key.name == "argocd-cm" => settings_changed = true,
                    ("", "Secret") => settings_changed = true,
                    _ => {}
                }
            }
            for app in &change.apps {
                if let Some(name) = self.app_name_of_instance(app) {
                    self.request(&name, Level::CompareOnly, Duration::ZERO);
                }
            }
        }
        if settings_changed {
            self.reload_settings();
            self.refresh_all(Level::Normal);
        }
    }

    /// Maps a tracking instance name (`name`, or `ns_name` for other namespaces) to an app here.
    fn app_name_of_instance(&self, instance: &str) -> Option<String> {
        match instance.split_once('_') {
            Some((ns, name)) if ns == self.namespace => Some(name.to_string()),
            Some(_) => None,
            None => Some(instance.to_string()),
        }
    }

    fn apps_of_project(&self, project: &str) -> Vec<String> {
        let gk = GroupKind { group: "argoproj.io".into(), kind: "Application".into() };
        let index = self.control().index();
        index
            .list_kind(&gk)
            .filter(|o| o.key().namespace == self.namespace)
            .map(|o| o.object())
            .filter(|a| a["spec"]["project"].as_str().unwrap_or("default") == project)
            .filter_map(|a| a["metadata"]["name"].as_str().map(str::to_string))
            .collect()
    }

    fn on_app_change(self: &Arc<Self>, name: &str) {
        let Some(value) = self.app_value(name) else {
            lock(&self.intents).remove(name);
            lock(&self.last_hard).remove(name);
            lock(&self.periodic).remove(name);
            lock(&self.queue).remove(&name.to_string());
            self.metrics.forget_app(name);
            let mut gone = Application::default();
            gone.metadata.name = Some(name.to_string());
            gone.metadata.namespace = Some(self.namespace.clone());
            self.comparer.forget_app(&gone);
            return;
        };
        let intent = intent_of(&value);
        let previous = lock(&self.intents).insert(name.to_string(), intent);
        let refresh_asked = value["metadata"]["annotations"][REFRESH_ANNOTATION].is_string();
        if previous.map(|p| p.refresh) != Some(intent.refresh) || refresh_asked {
            let level = match value["metadata"]["annotations"][REFRESH_ANNOTATION].as_str() {
                Some("hard") => Level::Hard,
                _ => Level::Normal,
            };
            self.request(name, level, Duration::ZERO);
        }
        if previous.map(|p| p.operation) != Some(intent.operation)
            && value.get("operation").is_some_and(|o| !o.is_null())
        {
            self.start_operation(name);
        }
    }

    /// Starts the operation task of `name` unless one is running.
    pub fn start_operation(self: &Arc<Self>, name: &str) {
        // Before the cache is synced, `run` starts every recorded operation once it is.
        if !self.synced.load(std::sync::atomic::Ordering::Acquire)
            || !*self.leading.borrow()
            || !lock(&self.operations).insert(name.to_string())
        {
            return;
        }
        let (this, name) = (self.clone(), name.to_string());
        tokio::spawn(async move {
            let mut slot = OperationSlot::take(&this.operation_slots).await;
            this.run_operation(&name, &mut slot).await;
            drop(slot);
            lock(&this.operations).remove(&name);
            // A new operation may have been written while this one finished.
            if this.app_value(&name).is_some_and(|a| a.get("operation").is_some_and(|o| !o.is_null())) {
                this.start_operation(&name);
            }
            this.request(&name, Level::CompareOnly, Duration::ZERO);
        });
    }

    /// Whether an operation task runs for `name`.
    pub fn operation_running(&self, name: &str) -> bool {
        lock(&self.operations).contains(name)
    }

    async fn next_work(&self) -> Option<(String, Level)> {
        loop {
            if *self.stop.borrow() {
                return None;
            }
            let (item, next) = {
                let mut q = lock(&self.queue);
                (q.pop(Instant::now()), q.next_due())
            };
            if let Some(item) = item {
                return Some(item);
            }
            let sleep = next.map_or(Duration::from_secs(1), |d| d.saturating_duration_since(Instant::now()));
            let mut stop = self.stop.clone();
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(sleep.min(Duration::from_secs(1))) => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn worker(self: Arc<Self>) {
        while let Some((name, level)) = self.next_work().await {
            if *self.leading.borrow() {
                let started = Instant::now();
                self.refresh(&name, level).await;
                self.metrics.observe_reconcile(&self.namespace, started.elapsed());
            }
            lock(&self.queue).done(&name, Instant::now());
        }
    }

    async fn forward_changes(self: Arc<Self>, destination: Arc<Destination>) {
        let mut rx = destination.cache.subscribe();
        let mut stop = self.stop.clone();
        loop {
            tokio::select! {
                received = rx.recv() => match received {
                    Ok(batch) => self.on_changes(&batch),
                    Err(broadcast::error::RecvError::Lagged(_)) => self.refresh_all(Level::CompareOnly),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = stop.changed() => return,
            }
        }
    }

    /// Runs until stopped: waits for the caches, then dispatches and refreshes.
    pub async fn run(self: Arc<Self>, mut connected: tokio::sync::mpsc::UnboundedReceiver<Arc<Destination>>) {
        let in_cluster = self.destinations.in_cluster().clone();
        let forwarder = tokio::spawn(self.clone().forward_changes(in_cluster.clone()));
        if !in_cluster.cache.wait_synced(Duration::from_secs(60)).await {
            tracing::warn!("the live cache is not fully synced after 60s; continuing");
        }
        self.reload_settings();
        self.synced.store(true, std::sync::atomic::Ordering::Release);
        let mut tasks = vec![forwarder, tokio::spawn(self.clone().periodic_ticker())];
        for _ in 0..self.workers {
            tasks.push(tokio::spawn(self.clone().worker()));
        }
        let mut leading = self.leading.clone();
        let mut stop = self.stop.clone();
        let mut was_leading = false;
        // A closed leadership channel (no election: nobody sends) must not wake the loop.
        let mut leading_open = true;
        loop {
            let is_leading = *leading.borrow();
            if is_leading && !was_leading {
                // Became leader (or started): look at everything once.
                for name in self.app_names() {
                    if let Some(value) = self.app_value(&name) {
                        lock(&self.intents).insert(name.clone(), intent_of(&value));
                        if value.get("operation").is_some_and(|o| !o.is_null()) {
                            self.start_operation(&name);
                        }
                    }
                    self.request(&name, Level::Normal, Duration::ZERO);
                }
            }
            was_leading = is_leading;
            tokio::select! {
                Some(destination) = connected.recv() => {
                    tasks.push(tokio::spawn(self.clone().forward_changes(destination)));
                }
                changed = leading.changed(), if leading_open => leading_open = changed.is_ok(),
                _ = stop.changed() => break,
            }
        }
        self.wake.notify_waiters();
        for task in tasks {
            let _ = task.await;
        }
        // Let running operations persist their current step.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !lock(&self.operations).is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn intent_ignores_status_and_the_refresh_annotation_but_not_spec_operation_or_deletion() {
        let base = json!({"metadata": {"name": "a", "resourceVersion": "1"}, "spec": {"project": "default"},
            "status": {"sync": {"status": "Synced"}}});
        let mut status_only = base.clone();
        status_only["status"]["sync"]["status"] = json!("OutOfSync");
        status_only["metadata"]["resourceVersion"] = json!("2");
        assert_eq!(intent_of(&base), intent_of(&status_only));
        let mut annotated = base.clone();
        tiphys_patch_merge(
            &mut annotated,
            &json!({"metadata": {"annotations": {REFRESH_ANNOTATION: "hard"}}}),
        );
        assert_eq!(intent_of(&base), intent_of(&annotated), "the annotation asks by presence, not by change");
        let mut progressing = base.clone();
        progressing["status"]["operationState"] = json!({"phase": "Running"});
        assert_eq!(intent_of(&base), intent_of(&progressing), "an operation's progress asks for nothing");
        let mut operation = base.clone();
        operation["operation"] = json!({"sync": {}});
        assert_eq!(
            intent_of(&base).refresh,
            intent_of(&operation).refresh,
            "a new operation needs no refresh"
        );
        assert_ne!(intent_of(&base).operation, intent_of(&operation).operation, "but its task");
        for edit in [
            json!({"spec": {"project": "other"}}),
            json!({"metadata": {"deletionTimestamp": "2026-11-22T00:00:00Z"}}),
        ] {
            let mut changed = base.clone();
            tiphys_patch_merge(&mut changed, &edit);
            assert_ne!(intent_of(&base), intent_of(&changed), "{edit}");
        }
    }

    fn tiphys_patch_merge(doc: &mut Value, patch: &Value) {
        *doc = tiphys_patch::apply_merge_patch(doc, patch);
    }

    #[test]
    fn jitter_is_stable_per_app_and_bounded() {
        let j = Duration::from_secs(60);
        assert_eq!(jitter_for("a", j), jitter_for("a", j));
        assert!(jitter_for("b", j) < j);
        assert_eq!(jitter_for("a", Duration::ZERO), Duration::ZERO);
    }
}
