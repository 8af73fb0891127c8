//! Destination clusters: the in-cluster one (`https://kubernetes.default.svc`, name
//! `in-cluster`, which is the control-plane cluster itself) and the clusters registered as
//! `argocd.argoproj.io/secret-type: cluster` Secrets. A remote cluster is connected, and its
//! live cache started, the first time an app needs it; its changes then feed the refresh queue
//! like the in-cluster ones.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tiphys_kube::{CacheConfig, Cluster, Exclusion, LiveCache};
use tiphys_model::application::ApplicationDestination;
use tiphys_settings::{ClusterSecret, Settings};
use tokio::sync::mpsc;

pub use tiphys_settings::{IN_CLUSTER_NAME, IN_CLUSTER_SERVER};

/// A connected destination cluster with its live cache.
pub struct Destination {
    /// The cluster's name (`in-cluster`, or the Secret's `name`).
    pub name: String,
    /// The server URL apps use to name it.
    pub server: String,
    /// The connection.
    pub cluster: Cluster,
    /// Its live state.
    pub cache: Arc<LiveCache>,
}

/// The cache settings for one cluster: the built-in exclusions plus every served type that
/// argocd-cm's `resource.exclusions`/`resource.inclusions` keep away from this cluster (types
/// whose CRD appears later are not excluded until the controller restarts).
pub fn cache_config_for(cluster: &Cluster, settings: &Settings, server: &str) -> CacheConfig {
    let mut config = CacheConfig::default();
    let catalog = cluster.catalog();
    for r in catalog.resources() {
        if settings.is_excluded(&r.group, &r.kind, server) {
            config.exclusions.push(Exclusion::new(&r.group, &r.kind));
        }
    }
    config
}

/// Every destination the controller can deploy to.
pub struct Destinations {
    in_cluster: Arc<Destination>,
    registered: RwLock<Vec<ClusterSecret>>,
    connected: tokio::sync::Mutex<HashMap<String, Arc<Destination>>>,
    connected_tx: mpsc::UnboundedSender<Arc<Destination>>,
}

impl Destinations {
    /// The registry; `connected_tx` hears about every remote cluster once connected.
    pub fn new(in_cluster: Arc<Destination>, connected_tx: mpsc::UnboundedSender<Arc<Destination>>) -> Self {
        Self {
            in_cluster,
            registered: RwLock::new(Vec::new()),
            connected: tokio::sync::Mutex::new(HashMap::new()),
            connected_tx,
        }
    }

    /// The in-cluster destination (also the control plane).
    pub fn in_cluster(&self) -> &Arc<Destination> {
        &self.in_cluster
    }

    /// Replaces the registered clusters (after the cluster Secrets changed).
    pub fn set_registered(&self, entries: Vec<ClusterSecret>) {
        *self.registered.write().unwrap_or_else(|p| p.into_inner()) = entries;
    }

    /// The server URL an app destination names, or why it names none.
    pub fn server_of(&self, dest: &ApplicationDestination) -> Result<String, String> {
        let server = dest.server.as_deref().unwrap_or_default();
        let name = dest.name.as_deref().unwrap_or_default();
        match (server.is_empty(), name.is_empty()) {
            (false, false) => Err(format!(
                "application destination can't have both name and server defined: {name} {server}"
            )),
            (true, true) => Err("application destination must set server or name".into()),
            (false, true) => Ok(server.trim_end_matches('/').to_string()),
            (true, false) => {
                if name == IN_CLUSTER_NAME {
                    return Ok(IN_CLUSTER_SERVER.to_string());
                }
                let registered = self.registered.read().unwrap_or_else(|p| p.into_inner());
                let found: Vec<&ClusterSecret> = registered.iter().filter(|e| e.name == name).collect();
                match found.as_slice() {
                    [one] => Ok(one.server.clone()),
                    [] => Err(format!(
                        "unable to find destination server: there are no clusters with this name: {name}"
                    )),
                    _ => Err(format!(
                        "unable to find destination server: there are {} clusters with the same name: {name}",
                        found.len()
                    )),
                }
            }
        }
    }

    /// The name of the cluster at `server` (for sync windows and project rules by name).
    pub fn name_of(&self, server: &str) -> String {
        if server == IN_CLUSTER_SERVER || server == self.in_cluster.server {
            return IN_CLUSTER_NAME.to_string();
        }
        let registered = self.registered.read().unwrap_or_else(|p| p.into_inner());
        registered.iter().find(|e| e.server == server).map(|e| e.name.clone()).unwrap_or_default()
    }

    /// The connected destination for `server`, connecting (and starting its cache, with the
    /// exclusions of `settings`) on first use.
    pub async fn connect(&self, server: &str, settings: &Settings) -> Result<Arc<Destination>, String> {
        if server == IN_CLUSTER_SERVER {
            return Ok(self.in_cluster.clone());
        }
        let mut connected = self.connected.lock().await;
        if let Some(d) = connected.get(server) {
            return Ok(d.clone());
        }
        let entry = {
            let registered = self.registered.read().unwrap_or_else(|p| p.into_inner());
            registered.iter().find(|e| e.server == server).cloned()
        };
        let Some(entry) = entry else {
            return Err(format!(
                "cluster {server} is not registered: add a Secret labelled \
                 argocd.argoproj.io/secret-type=cluster for it, or use {IN_CLUSTER_SERVER}"
            ));
        };
        let cluster = Cluster::from_kubeconfig_text(&entry.kubeconfig(), None)
            .await
            .map_err(|e| format!("cluster {server} ({}): {e}", entry.name))?;
        let cache = Arc::new(LiveCache::start(&cluster, cache_config_for(&cluster, settings, server)));
        let destination =
            Arc::new(Destination { name: entry.name.clone(), server: server.to_string(), cluster, cache });
        connected.insert(server.to_string(), destination.clone());
        let _ = self.connected_tx.send(destination.clone());
        Ok(destination)
    }

    /// Every connected destination, in-cluster first (for metrics).
    pub async fn all(&self) -> Vec<Arc<Destination>> {
        let mut out = vec![self.in_cluster.clone()];
        out.extend(self.connected.lock().await.values().cloned());
        out
    }
}
