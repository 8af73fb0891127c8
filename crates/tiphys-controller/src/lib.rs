//! tiphys-controller: the application controller (layer L3), the GitOps loop of Argo CD's
//! application-controller. It watches Applications and AppProjects in its namespace, compares
//! each app's rendered Git state with the live state of its destination, writes the result to
//! the Application's `status`, and runs sync operations (manual, automated, self-heal).
//!
//! The design is in ARCHITECTURE.md ("How the controller fits together"). The entry point is
//! [`start`], which returns a [`ControllerHandle`]; the `tiphys controller` and `tiphys up`
//! commands are thin wrappers around it.

pub mod automation;
pub mod queue;
pub mod status;

use std::net::SocketAddr;
use std::path::PathBuf;

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
    let cluster =
        tiphys_kube::Cluster::from_kubeconfig_text(&config.kubeconfig, config.context.as_deref()).await?;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        tracing::info!(server = cluster.server(), namespace = %config.namespace, "controller started");
        let _ = stopped.wait_for(|s| *s).await;
    });
    Ok(ControllerHandle { addr: None, stop, task })
}
