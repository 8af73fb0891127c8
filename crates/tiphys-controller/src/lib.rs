//! tiphys-controller: the application controller (layer L3), the GitOps loop of Argo CD's
//! application-controller. It watches Applications and AppProjects in its namespace, compares
//! each app's rendered Git state with the live state of its destination, writes the result to
//! the Application's `status`, and runs sync operations (manual, automated, self-heal).
//!
//! The design is in ARCHITECTURE.md ("How the controller fits together"). The entry point is
//! [`start`], which returns a [`ControllerHandle`]; the `tiphys controller` and `tiphys up`
//! commands are thin wrappers around it.

pub mod automation;
pub mod config;
mod deletion;
pub mod destinations;
mod http;
pub mod metrics;
mod operation;
pub mod orphans;
pub mod queue;
mod refresh;
pub mod runtime;
pub mod status;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// The Lease replicas compete for (upstream's controller uses leader election only in HA setups
/// of the ApplicationSet controller and the server; the name is ours).
const LEASE_NAME: &str = "tiphys-application-controller";

/// Everything a controller needs to start.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Kubeconfig YAML of the control-plane cluster (where Applications live).
    pub kubeconfig: String,
    /// Context in the kubeconfig; `None` uses `current-context`.
    pub context: Option<String>,
    /// The namespace holding Applications, AppProjects, `argocd-cm` and the repository and
    /// cluster Secrets (upstream's default is `argocd`).
    pub namespace: String,
    /// Where Git caches, checkouts and render scratch space live (kept across restarts).
    pub data_dir: PathBuf,
    /// Address for `/metrics`, `/api/webhook` and `/healthz`; `None` serves nothing.
    pub listen: Option<SocketAddr>,
    /// Take part in Lease leader election so two replicas never both act.
    pub leader_election: bool,
    /// This replica's identity in the Lease (host name and a random suffix by default).
    pub identity: String,
}

/// What can stop a controller from starting.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// The control-plane cluster could not be reached or its kubeconfig is wrong.
    #[error("control-plane cluster: {0}")]
    Cluster(#[from] tiphys_kube::Error),
    /// The listen address or the data directory is unusable.
    #[error("{what}: {message}")]
    Setup {
        /// What was being set up.
        what: String,
        /// Why it failed and what to do.
        message: String,
    },
}

/// A running controller. Dropping it does not stop it; call [`ControllerHandle::shutdown`].
pub struct ControllerHandle {
    addr: Option<SocketAddr>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ControllerHandle {
    /// The bound address of the HTTP endpoint (metrics, webhook), when one was asked for.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Stops taking new work, lets the current operation step persist, and returns when done.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the controller in the background of the current tokio runtime.
pub async fn start(config: ControllerConfig) -> Result<ControllerHandle, ControllerError> {
    let setup = |what: &str, e: &dyn std::fmt::Display| ControllerError::Setup {
        what: what.into(),
        message: e.to_string(),
    };
    let cluster =
        tiphys_kube::Cluster::from_kubeconfig_text(&config.kubeconfig, config.context.as_deref()).await?;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| setup(&config.data_dir.display().to_string(), &e))?;
    let git = tiphys_git::GitCache::new(tiphys_git::GitConfig {
        root: config.data_dir.join("git"),
        timeout: Duration::from_secs(90),
        known_hosts: String::new(),
    })
    .map_err(|e| setup("git cache", &e))?;
    let params_key = tiphys_resource::ResourceKey::new(
        "",
        "ConfigMap",
        &config.namespace,
        tiphys_settings::ARGOCD_CMD_PARAMS_CM,
    );
    let params_cm = cluster.get(&params_key).await.ok().flatten();
    let (params, problems) = tiphys_settings::ControllerParams::from_configmap(params_cm.as_ref());
    for problem in problems {
        tracing::warn!(%problem, "argocd-cmd-params-cm");
    }
    let comparer = Arc::new(tiphys_compare::Comparer::new(
        Arc::new(git),
        tiphys_compare::CompareConfig {
            scratch_dir: config.data_dir.join("scratch"),
            server_side_diff: params.server_side_diff,
            ..Default::default()
        },
    ));
    // argocd-cm's exclusions decide what the cache watches, so read it before starting.
    let cm_key = tiphys_resource::ResourceKey::new("", "ConfigMap", &config.namespace, "argocd-cm");
    let cm = cluster.get(&cm_key).await.ok().flatten();
    let (settings, _) = tiphys_settings::Settings::from_configmap(cm.as_ref());
    let cache_config = destinations::cache_config_for(&cluster, &settings, destinations::IN_CLUSTER_SERVER);
    let in_cluster = Arc::new(destinations::Destination {
        name: destinations::IN_CLUSTER_NAME.into(),
        server: destinations::IN_CLUSTER_SERVER.into(),
        cache: Arc::new(tiphys_kube::LiveCache::start(&cluster, cache_config)),
        cluster: cluster.clone(),
    });
    let (connected_tx, connected_rx) = tokio::sync::mpsc::unbounded_channel();
    let destinations = destinations::Destinations::new(in_cluster, connected_tx);
    let (stop, stopped) = watch::channel(false);
    // The elector releases the Lease only after the controller stopped acting.
    let (released_tx, released_rx) = tokio::sync::oneshot::channel::<()>();
    let mut keep_leading = None;
    let (leading, elector) = if config.leader_election {
        let lease = tiphys_kube::LeaseConfig::new(&config.namespace, LEASE_NAME, &config.identity);
        let elector = tiphys_kube::LeaderElector::new(&cluster, lease);
        let leading = elector.subscribe();
        let task = tokio::spawn(async move {
            if let Err(e) = elector
                .run(async move {
                    let _ = released_rx.await;
                })
                .await
            {
                tracing::warn!(error = %e, "leader election stopped");
            }
        });
        (leading, Some(task))
    } else {
        // Without election this replica always leads; the sender lives as long as the
        // controller so the channel never reads as closed.
        let (always, leading) = watch::channel(true);
        keep_leading = Some(always);
        (leading, None)
    };
    let controller = Arc::new(runtime::Controller::new(
        config.namespace.clone(),
        destinations,
        comparer,
        &params,
        stopped.clone(),
        leading,
    ));
    let mut addr = None;
    let mut server = None;
    if let Some(listen) = config.listen {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| setup(&format!("listen {listen}"), &e))?;
        addr = listener.local_addr().ok();
        let app = http::router(controller.clone());
        let mut stop_http = stopped.clone();
        server = Some(tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop_http.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::warn!(error = %e, "http endpoint stopped");
            }
        }));
    }
    tracing::info!(server = cluster.server(), namespace = %config.namespace, ?addr, "controller started");
    let task = tokio::spawn(async move {
        controller.run(connected_rx).await;
        drop(keep_leading);
        if let Some(server) = server {
            let _ = server.await;
        }
        let _ = released_tx.send(());
        if let Some(elector) = elector {
            let _ = elector.await;
        }
    });
    Ok(ControllerHandle { addr, stop, task })
}
