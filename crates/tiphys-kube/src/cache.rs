//! The live-state cache: one watch per listable+watchable resource type feeding the pure
//! [`LiveIndex`], plus a stream of changed keys for the controller.
//!
//! Each type is listed, then watched from the list's resourceVersion. kube-runtime's watcher
//! relists on `410 Gone` and backs off on errors; every `resync_interval` the watch is
//! restarted, so a full relist reconciles anything a dropped connection lost (the index
//! reports only real differences, so a quiet resync is silent). A change to a
//! CustomResourceDefinition re-runs discovery and starts or stops watches for the types
//! that appeared or vanished.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::Value;
use tiphys_resource::GroupKind;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::discovery::ApiResourceInfo;
use crate::index::{Change, IndexConfig, IndexEvent, LiveIndex};
use crate::{Cluster, Result};

/// A group/kind pattern that keeps a type out of the cache, like an entry of upstream's
/// `resource.exclusions`. `*` matches any run of characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    /// API group pattern (`""` is the core group).
    pub group: String,
    /// Kind pattern.
    pub kind: String,
}

impl Exclusion {
    /// Builds an exclusion from two patterns.
    pub fn new(group: &str, kind: &str) -> Self {
        Exclusion { group: group.into(), kind: kind.into() }
    }

    /// Whether the pattern pair matches a group/kind.
    pub fn matches(&self, gk: &GroupKind) -> bool {
        glob_match(&self.group, &gk.group) && glob_match(&self.kind, &gk.kind)
    }

    /// What upstream always leaves out (high-churn, never GitOps-managed; the one list lives in
    /// `tiphys_settings::ALWAYS_EXCLUDED`).
    pub fn defaults() -> Vec<Exclusion> {
        tiphys_settings::ALWAYS_EXCLUDED.iter().map(|(g, k)| Exclusion::new(g, k)).collect()
    }
}

/// `*`-only glob matching (no character classes), as in upstream's exclusion lists.
fn glob_match(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else { return pattern == text };
    let Some(mut remaining) = text.strip_prefix(first) else { return false };
    let mut parts: Vec<&str> = rest.split('*').collect();
    let last = parts.pop().unwrap_or_default();
    for part in parts {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// How the cache runs.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Tracking label and what to keep per object.
    pub index: IndexConfig,
    /// Types never watched.
    pub exclusions: Vec<Exclusion>,
    /// How often every watch is restarted with a full relist.
    pub resync_interval: Duration,
    /// How many change batches a slow subscriber may fall behind before it is told it lagged
    /// (and must then refresh everything).
    pub change_buffer: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            index: IndexConfig::default(),
            exclusions: Exclusion::defaults(),
            resync_interval: Duration::from_secs(600),
            change_buffer: 4096,
        }
    }
}

/// State shared by the watch tasks.
struct Shared {
    index: RwLock<LiveIndex>,
    changes: broadcast::Sender<Arc<[Change]>>,
    unsynced: watch::Sender<BTreeSet<GroupKind>>,
    resync_interval: Duration,
    exclusions: Vec<Exclusion>,
    rediscover: mpsc::Sender<()>,
}

impl Shared {
    fn apply(&self, event: IndexEvent) {
        let changes = match self.index.write() {
            Ok(mut index) => index.apply(event),
            Err(poisoned) => poisoned.into_inner().apply(event),
        };
        if !changes.is_empty() {
            // No subscriber is fine: the index is still up to date.
            let _ = self.changes.send(Arc::from(changes));
        }
    }
}

/// The running cache. Dropping it stops every watch.
pub struct LiveCache {
    shared: Arc<Shared>,
    watches: Arc<Mutex<HashMap<GroupKind, JoinHandle<()>>>>,
    supervisor: JoinHandle<()>,
}

impl LiveCache {
    /// Starts watching every listable and watchable type of the cluster's discovery catalog
    /// (minus exclusions). Returns at once; [`LiveCache::wait_synced`] waits for the lists.
    pub fn start(cluster: &Cluster, config: CacheConfig) -> LiveCache {
        let (changes, _) = broadcast::channel(config.change_buffer.max(1));
        let (unsynced, _) = watch::channel(BTreeSet::new());
        let (rediscover, mut rediscover_rx) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            index: RwLock::new(LiveIndex::new(config.index.clone())),
            changes,
            unsynced,
            resync_interval: config.resync_interval,
            exclusions: config.exclusions,
            rediscover,
        });
        let watches = Arc::new(Mutex::new(HashMap::new()));
        reconcile_watches(cluster, &shared, &watches);
        let supervisor = {
            let (cluster, shared, watches) = (cluster.clone(), shared.clone(), watches.clone());
            tokio::spawn(async move {
                while rediscover_rx.recv().await.is_some() {
                    match cluster.refresh_discovery().await {
                        Ok(_) => reconcile_watches(&cluster, &shared, &watches),
                        Err(e) => tracing::warn!(error = %e, "rediscovery after a CRD change failed"),
                    }
                }
            })
        };
        LiveCache { shared, watches, supervisor }
    }

    /// Waits until every watched type has completed its first list, or `timeout` passes.
    /// Returns whether the cache is synced.
    pub async fn wait_synced(&self, timeout: Duration) -> bool {
        let mut rx = self.shared.unsynced.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(BTreeSet::is_empty)).await.is_ok_and(|r| r.is_ok())
    }

    /// The types being watched.
    pub fn watched_kinds(&self) -> Vec<GroupKind> {
        let mut kinds: Vec<GroupKind> = lock(&self.watches).keys().cloned().collect();
        kinds.sort();
        kinds
    }

    /// Read access to the index (held briefly: watch tasks wait while it is held).
    pub fn index(&self) -> RwLockReadGuard<'_, LiveIndex> {
        self.shared.index.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A stream of change batches. `RecvError::Lagged` means batches were dropped: the
    /// subscriber must treat everything as changed.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<[Change]>> {
        self.shared.changes.subscribe()
    }

    /// Re-runs discovery and starts/stops watches to match it (also done automatically when a
    /// CustomResourceDefinition changes).
    pub async fn refresh_kinds(&self, cluster: &Cluster) -> Result<()> {
        cluster.refresh_discovery().await?;
        reconcile_watches(cluster, &self.shared, &self.watches);
        Ok(())
    }
}

impl Drop for LiveCache {
    fn drop(&mut self) {
        self.supervisor.abort();
        for (_, task) in lock(&self.watches).drain() {
            task.abort();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Makes the set of watch tasks match the catalog: new types get a watch, vanished types
/// lose theirs and their objects leave the index.
fn reconcile_watches(
    cluster: &Cluster,
    shared: &Arc<Shared>,
    watches: &Mutex<HashMap<GroupKind, JoinHandle<()>>>,
) {
    let catalog = cluster.catalog();
    let wanted: HashMap<GroupKind, ApiResourceInfo> = catalog
        .watchable()
        .filter(|r| !shared.exclusions.iter().any(|e| e.matches(&r.group_kind())))
        .map(|r| (r.group_kind(), r.clone()))
        .collect();
    let mut watches = lock(watches);
    let gone: Vec<GroupKind> = watches.keys().filter(|k| !wanted.contains_key(*k)).cloned().collect();
    for kind in gone {
        if let Some(task) = watches.remove(&kind) {
            task.abort();
        }
        shared.unsynced.send_modify(|u| {
            u.remove(&kind);
        });
        shared.apply(IndexEvent::Replace { kind, objects: Vec::new() });
    }
    for (kind, info) in wanted {
        if watches.contains_key(&kind) {
            continue;
        }
        shared.unsynced.send_modify(|u| {
            u.insert(kind.clone());
        });
        let task = tokio::spawn(watch_type(cluster.client().clone(), info, shared.clone()));
        watches.insert(kind, task);
    }
}

/// Lists then watches one type forever, restarting (and so relisting) every resync interval.
async fn watch_type(client: kube::Client, info: ApiResourceInfo, shared: Arc<Shared>) {
    let kind = info.group_kind();
    let is_crd = kind.group == "apiextensions.k8s.io" && kind.kind == "CustomResourceDefinition";
    let api: Api<DynamicObject> = Api::all_with(client, &info.api_resource());
    loop {
        let stream = watcher::watcher(api.clone(), watcher::Config::default()).default_backoff();
        tokio::pin!(stream);
        // Armed when a list completes, so a slow list is never cut short by its own resync.
        let mut resync: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
        let mut listed: Vec<Value> = Vec::new();
        loop {
            let event = tokio::select! {
                _ = async { if let Some(timer) = resync.as_mut() { timer.await } else { std::future::pending().await } } => break,
                event = stream.next() => event,
            };
            match event {
                None => break,
                Some(Err(e)) => {
                    // A type the credentials may not list (or that vanished) must not hold up
                    // `wait_synced` forever: it counts as synced and empty until a list works.
                    if let watcher::Error::InitialListFailed(kube::Error::Api(status)) = &e
                        && matches!(status.code, 401 | 403 | 404)
                        && shared.unsynced.send_if_modified(|u| u.remove(&kind))
                    {
                        tracing::warn!(kind = %kind, error = %e, "cannot list this type; caching it as empty");
                    } else {
                        tracing::debug!(kind = %kind, error = %e, "watch error; retrying with backoff");
                    }
                }
                Some(Ok(Event::Init)) => listed.clear(),
                Some(Ok(Event::InitApply(object))) => listed.extend(typed(object, &info)),
                Some(Ok(Event::InitDone)) => {
                    let objects = std::mem::take(&mut listed);
                    shared.apply(IndexEvent::Replace { kind: kind.clone(), objects });
                    shared.unsynced.send_if_modified(|u| u.remove(&kind));
                    resync = Some(Box::pin(tokio::time::sleep(shared.resync_interval)));
                }
                Some(Ok(Event::Apply(object))) => {
                    shared.apply(IndexEvent::Upsert(typed(object, &info).unwrap_or_default()));
                    if is_crd {
                        let _ = shared.rediscover.try_send(());
                    }
                }
                Some(Ok(Event::Delete(object))) => {
                    shared.apply(IndexEvent::Delete(typed(object, &info).unwrap_or_default()));
                    if is_crd {
                        let _ = shared.rediscover.try_send(());
                    }
                }
            }
        }
    }
}

/// The object as JSON with apiVersion and kind filled in (list items may omit them). The
/// body (`data`) is moved, not serialized again: only the typed metadata is converted.
fn typed(object: DynamicObject, info: &ApiResourceInfo) -> Option<Value> {
    let body = match object.data {
        Value::Object(body) => body,
        _ => serde_json::Map::new(),
    };
    // apiVersion, kind, metadata first, as the API server writes objects.
    let mut map = serde_json::Map::with_capacity(body.len() + 3);
    map.insert("apiVersion".into(), Value::String(info.api_version()));
    map.insert("kind".into(), Value::String(info.kind.clone()));
    map.insert("metadata".into(), serde_json::to_value(object.metadata).ok()?);
    for (key, value) in body {
        if !map.contains_key(&key) {
            map.insert(key, value);
        }
    }
    Some(Value::Object(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_upstream_exclusions() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "apps"));
        assert!(glob_match("*.k8s.io", "events.k8s.io"));
        assert!(!glob_match("*.k8s.io", "k8s.io.example"));
        assert!(glob_match("cilium.io", "cilium.io"));
        assert!(glob_match("Cilium*Slice", "CiliumEndpointSlice"));
        assert!(!glob_match("Cilium*Slice", "CiliumEndpoint"));
        assert!(!glob_match("a*a", "a"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "apps"));
    }

    proptest::proptest! {
        /// Patterns come from argocd-cm: any text is safe, `*` matches everything, and a
        /// pattern without `*` matches only itself.
        #[test]
        fn glob_never_panics(pattern in "[a-c*é.]{0,8}", text in "[a-cé.]{0,8}") {
            let _ = glob_match(&pattern, &text);
            proptest::prop_assert!(glob_match("*", &text));
            let surrounded = format!("*{}*", text);
            proptest::prop_assert!(glob_match(&surrounded, &text));
            if !pattern.contains('*') {
                proptest::prop_assert_eq!(glob_match(&pattern, &text), pattern == text);
            }
        }
    }

    #[test]
    fn default_exclusions_drop_events_and_leases_only() {
        let excluded =
            |g: &str, k: &str| Exclusion::defaults().iter().any(|e| e.matches(&GroupKind::new(g, k)));
        assert!(excluded("", "Event"));
        assert!(excluded("events.k8s.io", "Event"));
        assert!(excluded("coordination.k8s.io", "Lease"));
        assert!(excluded("", "Endpoints"));
        assert!(!excluded("", "ConfigMap"));
        assert!(!excluded("apps", "Deployment"));
        assert!(!excluded("argoproj.io", "Application"));
    }
}
