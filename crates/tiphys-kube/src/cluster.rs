//! [`Cluster`]: a connection to one API server plus its discovery catalog.

use std::path::Path;
use std::sync::{Arc, RwLock};

use kube::config::{KubeConfigOptions, Kubeconfig};
use tiphys_resource::{GroupKind, GroupVersionKind};

use crate::discovery::{ApiCatalog, ApiResourceInfo, discover};
use crate::{Error, Result};

/// A handle to one cluster: a kube-rs client and the latest discovery catalog. Cheap to
/// clone (everything inside is shared).
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    server: String,
    default_namespace: String,
    catalog: Arc<RwLock<Arc<ApiCatalog>>>,
}

impl std::fmt::Debug for Cluster {
    /// Prints the server only: credentials never reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("server", &self.server).finish_non_exhaustive()
    }
}

/// Installs ring as rustls's process-wide provider once, so a second provider elsewhere in
/// the binary's dependency tree can never make client construction panic (crate-notes gotcha 1).
fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Cluster {
    /// Connects using kubeconfig YAML; `context` picks a context other than `current-context`.
    pub async fn from_kubeconfig_text(text: &str, context: Option<&str>) -> Result<Self> {
        let source_name = "kubeconfig text";
        let kubeconfig = Kubeconfig::from_yaml(text)
            .map_err(|e| Error::Config { source_name: source_name.into(), message: e.to_string() })?;
        Self::from_kubeconfig(kubeconfig, context, source_name).await
    }

    /// Connects using a kubeconfig file.
    pub async fn from_kubeconfig_file(path: &Path, context: Option<&str>) -> Result<Self> {
        let source_name = path.display().to_string();
        let kubeconfig = Kubeconfig::read_from(path)
            .map_err(|e| Error::Config { source_name: source_name.clone(), message: e.to_string() })?;
        Self::from_kubeconfig(kubeconfig, context, &source_name).await
    }

    /// Connects with the pod's service account (`KUBERNETES_SERVICE_HOST` and the mounted token).
    pub async fn in_cluster() -> Result<Self> {
        let config = kube::Config::incluster()
            .map_err(|e| Error::Config { source_name: "in-cluster".into(), message: e.to_string() })?;
        Self::from_config(config, "in-cluster").await
    }

    async fn from_kubeconfig(
        kubeconfig: Kubeconfig,
        context: Option<&str>,
        source_name: &str,
    ) -> Result<Self> {
        let options = KubeConfigOptions { context: context.map(String::from), ..Default::default() };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| Error::Config { source_name: source_name.into(), message: e.to_string() })?;
        Self::from_config(config, source_name).await
    }

    /// Builds the client and runs the first discovery.
    async fn from_config(config: kube::Config, source_name: &str) -> Result<Self> {
        ensure_crypto_provider();
        let server = config.cluster_url.to_string();
        let default_namespace = config.default_namespace.clone();
        let client = kube::Client::try_from(config)
            .map_err(|e| Error::Config { source_name: source_name.into(), message: e.to_string() })?;
        let catalog = discover(&client, &server).await?;
        Ok(Cluster { client, server, default_namespace, catalog: Arc::new(RwLock::new(Arc::new(catalog))) })
    }

    /// The API server URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The namespace a namespaced object without `metadata.namespace` goes to (from the
    /// kubeconfig context, `default` otherwise).
    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    /// The current discovery snapshot.
    pub fn catalog(&self) -> Arc<ApiCatalog> {
        match self.catalog.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Runs discovery again (e.g. after a CRD appeared) and returns the new snapshot.
    pub async fn refresh_discovery(&self) -> Result<Arc<ApiCatalog>> {
        let fresh = Arc::new(discover(&self.client, &self.server).await?);
        match self.catalog.write() {
            Ok(mut guard) => *guard = fresh.clone(),
            Err(poisoned) => *poisoned.into_inner() = fresh.clone(),
        }
        Ok(fresh)
    }

    /// The resource serving `gvk`; when the exact version is not served, falls back to
    /// discovery once more (a CRD may just have been created) before giving up.
    pub async fn resolve(&self, gvk: &GroupVersionKind) -> Result<ApiResourceInfo> {
        if let Some(found) = self.catalog().resolve_gvk(gvk) {
            return Ok(found.clone());
        }
        let fresh = self.refresh_discovery().await?;
        fresh.resolve_gvk(gvk).cloned().ok_or_else(|| Error::UnknownKind { kind: gvk.to_string() })
    }

    /// The preferred-version resource for a group/kind.
    pub fn resolve_kind(&self, gk: &GroupKind) -> Result<ApiResourceInfo> {
        self.catalog().resolve(gk).cloned().ok_or_else(|| Error::UnknownKind { kind: gk.to_string() })
    }

    /// The underlying kube-rs client, for the watch cache and writes in this crate.
    pub(crate) fn client(&self) -> &kube::Client {
        &self.client
    }
}
