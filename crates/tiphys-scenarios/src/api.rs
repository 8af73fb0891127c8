//! A minimal reader of the sandbox API for the scenario's observations: one HTTPS GET of the
//! Application list per poll (the way a dashboard would watch progress), decoded into only the
//! fields the scenario checks, so polling 1,000 apps stays cheap and does not inflate the
//! process's peak memory. `tiphys-kube` offers no LIST (the controller watches instead), and
//! only that crate may use kube-client.

use std::collections::BTreeMap;
use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde::Deserialize;
use tokio_rustls::TlsConnector;

use crate::host::Endpoints;
use crate::{Error, Result};

/// The part of an Application the scenario looks at.
#[derive(Debug, Clone, Deserialize)]
pub struct AppSummary {
    /// Name and annotations.
    pub metadata: Metadata,
    /// Status, when the controller wrote one.
    #[serde(default)]
    pub status: Option<Status>,
}

/// Object metadata subset.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    /// The app's name.
    pub name: String,
    /// Where a watch resumes after this object.
    #[serde(default, rename = "resourceVersion")]
    pub resource_version: String,
    /// Its annotations (the refresh annotation is watched).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// Application status subset.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// `status.sync.status`.
    #[serde(default)]
    pub sync: Option<Named>,
    /// `status.health.status`.
    #[serde(default)]
    pub health: Option<Named>,
    /// `status.reconciledAt`.
    #[serde(default)]
    pub reconciled_at: Option<String>,
}

/// A `{status: ...}` object.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Named {
    /// The status word.
    #[serde(default)]
    pub status: Option<String>,
}

impl AppSummary {
    /// Synced to Git and Healthy.
    pub fn synced_healthy(&self) -> bool {
        let s = self.status.as_ref();
        let word = |n: Option<&Named>| n.and_then(|n| n.status.as_deref()).unwrap_or_default().to_string();
        word(s.and_then(|s| s.sync.as_ref())) == "Synced"
            && word(s.and_then(|s| s.health.as_ref())) == "Healthy"
    }

    /// `status.reconciledAt`, empty when absent.
    pub fn reconciled_at(&self) -> &str {
        self.status.as_ref().and_then(|s| s.reconciled_at.as_deref()).unwrap_or_default()
    }
}

#[derive(Deserialize)]
struct List<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
    #[serde(default)]
    metadata: ListMeta,
}

#[derive(Debug, Default, Deserialize)]
struct ListMeta {
    #[serde(default, rename = "resourceVersion")]
    resource_version: String,
}

/// One line of a watch stream.
#[derive(Deserialize)]
struct WatchEvent {
    #[serde(rename = "type")]
    kind: String,
    object: AppSummary,
}

type AppMap = Arc<std::sync::Mutex<BTreeMap<String, AppSummary>>>;

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The Applications of a namespace as last seen by [`ApiReader::watch_applications`].
pub struct AppWatch {
    apps: AppMap,
    failure: Arc<std::sync::Mutex<Option<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl AppWatch {
    /// Every Application as last seen, or why the watch stopped following them.
    pub fn snapshot(&self) -> Result<Vec<AppSummary>> {
        if let Some(message) = lock(&self.failure).clone() {
            return Err(Error::Request { what: "watching Applications".into(), message });
        }
        Ok(lock(&self.apps).values().cloned().collect())
    }
}

impl Drop for AppWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The part of a Deployment the anchor looks at: its conditions.
#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentSummary {
    /// Status, when the simulator wrote one.
    #[serde(default)]
    pub status: Option<DeploymentStatus>,
}

/// Deployment status subset.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeploymentStatus {
    /// `status.conditions`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// One status condition.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Condition {
    /// Its type, e.g. `Available`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
}

impl DeploymentSummary {
    /// The `Available` condition is `True` (what `kubectl wait --for=condition=Available` waits for).
    pub fn available(&self) -> bool {
        self.status
            .as_ref()
            .is_some_and(|s| s.conditions.iter().any(|c| c.kind == "Available" && c.status == "True"))
    }
}

/// Reads the sandbox over HTTPS with its token and CA.
pub struct ApiReader {
    authority: String,
    server_name: ServerName<'static>,
    token: String,
    connector: TlsConnector,
}

impl ApiReader {
    /// A reader for the sandbox at `endpoints`.
    pub fn new(endpoints: &Endpoints) -> Result<ApiReader> {
        let fail = |message: String| Error::Request { what: format!("sandbox {}", endpoints.url), message };
        let authority = endpoints.url.trim_start_matches("https://").trim_end_matches('/').to_string();
        let host = authority.rsplit_once(':').map(|(h, _)| h).unwrap_or(&authority);
        let server_name = ServerName::try_from(host.to_string()).map_err(|e| fail(e.to_string()))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(endpoints.ca_pem.as_bytes()) {
            roots.add(cert.map_err(|e| fail(format!("CA: {e}")))?).map_err(|e| fail(format!("CA: {e}")))?;
        }
        let config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| fail(e.to_string()))?
                .with_root_certificates(roots)
                .with_no_client_auth();
        Ok(ApiReader {
            authority,
            server_name,
            token: endpoints.token.clone(),
            connector: TlsConnector::from(Arc::new(config)),
        })
    }

    /// GETs `path` and returns the body of a 200 response.
    async fn get(&self, path: &str) -> Result<Bytes> {
        let fail = |message: String| Error::Request { what: format!("GET {path}"), message };
        let body = self.open(path).await?;
        Ok(body.collect().await.map_err(|e| fail(e.to_string()))?.to_bytes())
    }

    /// Sends a GET for `path` and returns the body of a 200 response as it streams in.
    async fn open(&self, path: &str) -> Result<hyper::body::Incoming> {
        let fail = |message: String| Error::Request { what: format!("GET {path}"), message };
        let tcp = tokio::net::TcpStream::connect(&self.authority).await.map_err(|e| fail(e.to_string()))?;
        let tls =
            self.connector.connect(self.server_name.clone(), tcp).await.map_err(|e| fail(e.to_string()))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| fail(e.to_string()))?;
        tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(hyper::header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| fail(e.to_string()))?;
        let response = sender.send_request(request).await.map_err(|e| fail(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            return Err(fail(format!("{status}: {}", String::from_utf8_lossy(&body))));
        }
        Ok(response.into_body())
    }

    /// The items of the list at `path`, decoded into `T`.
    async fn list<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Vec<T>> {
        Ok(self.list_at(path).await?.items)
    }

    async fn list_at<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<List<T>> {
        let body = self.get(path).await?;
        serde_json::from_slice(&body)
            .map_err(|e| Error::Request { what: format!("GET {path}"), message: format!("bad list: {e}") })
    }

    /// Follows the Applications of `namespace`: one LIST, then a watch (LIST again whenever
    /// the watch ends). Waiting on a 1,000-app initial sync by LISTing every poll interval
    /// cost the 2-core machine about 2.5 CPU-s of JSON in the driver and the sandbox, in a
    /// phase whose wall time is the figure.
    pub async fn watch_applications(self: &Arc<Self>, namespace: &str) -> Result<AppWatch> {
        let path = format!("/apis/argoproj.io/v1alpha1/namespaces/{namespace}/applications");
        let apps: AppMap = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
        let failure = Arc::new(std::sync::Mutex::new(None));
        let mut rv = self.relist(&path, &apps).await?;
        let (reader, state, failed) = (self.clone(), apps.clone(), failure.clone());
        let task = tokio::spawn(async move {
            loop {
                // A watch that ended (or failed) is followed by a fresh LIST and a new watch.
                let _ = reader.follow(&path, &mut rv, &state).await;
                match reader.relist(&path, &state).await {
                    Ok(fresh) => rv = fresh,
                    Err(e) => {
                        *lock(&failed) = Some(e.to_string());
                        return;
                    }
                }
            }
        });
        Ok(AppWatch { apps, failure, task })
    }

    async fn relist(&self, path: &str, apps: &AppMap) -> Result<String> {
        let list: List<AppSummary> = self.list_at(path).await?;
        let mut map = lock(apps);
        map.clear();
        map.extend(list.items.into_iter().map(|a| (a.metadata.name.clone(), a)));
        Ok(list.metadata.resource_version)
    }

    /// Applies watch events from `rv` on until the stream ends.
    async fn follow(&self, path: &str, rv: &mut String, apps: &AppMap) -> Result<()> {
        let watch = format!("{path}?watch=1&resourceVersion={rv}");
        let fail = |message: String| Error::Request { what: format!("GET {watch}"), message };
        let mut body = self.open(&watch).await?;
        let mut pending: Vec<u8> = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| fail(e.to_string()))?;
            let Some(data) = frame.data_ref() else { continue };
            pending.extend_from_slice(data);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let event: WatchEvent =
                    serde_json::from_slice(&line).map_err(|e| fail(format!("bad watch event: {e}")))?;
                if event.kind == "ERROR" {
                    return Err(fail("the watch expired".into()));
                }
                *rv = event.object.metadata.resource_version.clone();
                let mut map = lock(apps);
                match event.kind.as_str() {
                    "DELETED" => {
                        map.remove(&event.object.metadata.name);
                    }
                    "BOOKMARK" => {}
                    _ => {
                        map.insert(event.object.metadata.name.clone(), event.object);
                    }
                }
            }
        }
        Ok(())
    }

    /// Every Application in `namespace`, by one LIST.
    pub async fn applications(&self, namespace: &str) -> Result<Vec<AppSummary>> {
        self.list(&format!("/apis/argoproj.io/v1alpha1/namespaces/{namespace}/applications")).await
    }

    /// Every Deployment of the cluster, by one LIST.
    pub async fn deployments(&self) -> Result<Vec<DeploymentSummary>> {
        self.list("/apis/apps/v1/deployments").await
    }
}
