//! tiphys-sandbox: a Kubernetes-API-compatible server for development and tests.
//!
//! **This is a dev/test server, not a production cluster.** It keeps everything in memory
//! (optionally persisted to a directory), runs no containers, and has a single bearer token
//! instead of authentication and authorization. It plays the role envtest + kwok play in the
//! Go world: real clients (`kubectl`, kube-rs) talk to it over HTTP exactly as they would to a
//! real API server, and a workload simulator moves Deployments, Jobs, Services and friends
//! through realistic status transitions.
//!
//! ```no_run
//! # async fn demo() -> tiphys_sandbox::Result<()> {
//! let sandbox = tiphys_sandbox::Sandbox::start(Default::default()).await?;
//! sandbox.write_kubeconfig(std::path::Path::new("/tmp/kubeconfig"))?;
//! // ... point kubectl or kube-rs at it ...
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Layout: [`store`] is a synchronous core (objects, resourceVersions, the event log,
//! finalizers, garbage collection) tested with plain `#[test]`s; the HTTP layer (`server`,
//! `watch`, [`discovery`], [`table`]) is a thin axum wrapper over it; patch algorithms come
//! from `tiphys-patch` through [`patch`].

pub mod defaults;
pub mod discovery;
pub mod error;
mod openapi;
pub mod patch;
mod persist;
mod protobuf;
pub mod selector;
mod server;
pub mod simulator;
pub mod store;
pub mod table;
mod tls;
pub mod types;
pub mod validation;
mod watch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use error::{Error, Result};

use server::Shared;
use store::Store;

/// How to run a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where to listen; loopback with a free port by default.
    pub addr: SocketAddr,
    /// The bearer token clients must send; generated when `None`.
    pub token: Option<String>,
    /// How many change events are kept for watches; an older resourceVersion gets 410 Gone.
    pub event_window: usize,
    /// Persist state here across restarts (`--data`).
    pub data_dir: Option<PathBuf>,
    /// How often an idle watch that allows bookmarks receives one.
    pub bookmark_interval: Duration,
    /// Largest request body accepted (the API server's limit is 3 MiB).
    pub max_body_bytes: usize,
    /// The workload simulator's timings; `None` turns it off (a bare API server).
    pub simulator: Option<simulator::SimulatorConfig>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: None,
            event_window: 100_000,
            data_dir: None,
            bookmark_interval: Duration::from_secs(5),
            max_body_bytes: 3 * 1024 * 1024,
            simulator: Some(simulator::SimulatorConfig::default()),
        }
    }
}

/// Entry point: [`Sandbox::start`].
pub struct Sandbox;

/// A running sandbox: its address, token, kubeconfig, and a way to stop it.
pub struct SandboxHandle {
    url: String,
    token: String,
    ca_pem: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn generate_token() -> String {
    use std::hash::{BuildHasher, RandomState};
    // RandomState is seeded from the OS's randomness; four draws give 256 bits.
    (0..4u8).map(|i| format!("{:016x}", RandomState::new().hash_one(i))).collect()
}

impl Sandbox {
    /// Binds the listener, loads `data_dir` when set, and serves until shut down.
    pub async fn start(config: SandboxConfig) -> Result<SandboxHandle> {
        let now = jiff::Timestamp::now();
        let mut store = Store::new(config.event_window, now);
        let journal = match &config.data_dir {
            Some(dir) => Some(persist::open(dir, &mut store)?),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|source| Error::Bind { addr: config.addr.to_string(), source })?;
        let local =
            listener.local_addr().map_err(|source| Error::Bind { addr: config.addr.to_string(), source })?;
        let token = config.token.clone().filter(|t| !t.is_empty()).unwrap_or_else(generate_token);
        let (changed, _) = tokio::sync::watch::channel(store.resource_version());
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            changed,
            token: token.clone(),
            max_body_bytes: config.max_body_bytes,
            bookmark_interval: config.bookmark_interval,
            address: local.to_string(),
            journal,
            watch_epoch: std::sync::atomic::AtomicU64::new(0),
        });
        let tls = tls::generate(local.ip())?;
        let app = axum::Router::new().fallback(server::handle).with_state(shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, tls::Tls::acceptor(&tls), app, stopped));
        if let Some(sim) = config.simulator.clone() {
            tokio::spawn(simulate(shared.clone(), simulator::Simulator::new(sim)));
        }
        let host = if local.ip().is_unspecified() { "127.0.0.1".to_string() } else { local.ip().to_string() };
        let host = if host.contains(':') { format!("[{host}]") } else { host };
        let url = format!("https://{host}:{}", local.port());
        tracing::info!(%url, "sandbox listening");
        Ok(SandboxHandle { url, token, ca_pem: tls.ca_pem, shared, stop: Some(stop), task: Some(task) })
    }
}

/// Runs the simulator on its tick while the server lives; idle ticks (no change to a
/// simulated kind, nothing time-driven pending) cost one lock and a look at the event log.
async fn simulate(shared: Arc<Shared>, mut sim: simulator::Simulator) {
    loop {
        tokio::time::sleep(sim.tick()).await;
        if *shared.changed.borrow() == u64::MAX {
            return;
        }
        let mut store = shared.lock();
        if !sim.needs_step(&store) {
            continue;
        }
        sim.step(&mut store, std::time::Instant::now(), jiff::Timestamp::now());
        shared.publish(&mut store);
    }
}

/// Accepts connections until `stopped` fires, then drains them (watches end at once).
async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    app: axum::Router,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                let builder = builder.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await;
                    let Ok(Ok(stream)) = handshake else { return };
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let conn = builder.serve_connection_with_upgrades(io, service);
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(error = %e, "sandbox connection ended");
                    }
                });
            }
            _ = &mut stopped => break,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}

impl SandboxHandle {
    /// Base URL, e.g. `https://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bearer token clients must send.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The PEM certificate of the sandbox's private CA (what clients must trust).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A kubeconfig (context `tiphys-sandbox`, namespace `default`) pointing at this server.
    pub fn kubeconfig(&self) -> String {
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(&self.ca_pem);
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: tiphys-sandbox\n  cluster:\n    server: {url}\n    certificate-authority-data: {ca}\n\
             contexts:\n- name: tiphys-sandbox\n  context:\n    cluster: tiphys-sandbox\n    user: tiphys-sandbox\n    namespace: default\n\
             current-context: tiphys-sandbox\nusers:\n- name: tiphys-sandbox\n  user:\n    token: {token}\n",
            url = self.url,
            token = self.token
        )
    }

    /// Writes [`SandboxHandle::kubeconfig`] to `path`, readable by the owner only (it
    /// holds the token).
    pub fn write_kubeconfig(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        let err = |e: std::io::Error| Error::Data {
            path: path.display().to_string(),
            message: format!("cannot write the kubeconfig: {e}; pick a writable path"),
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(err)?;
        file.write_all(self.kubeconfig().as_bytes()).map_err(err)
    }

    /// Changes how many events watches can resume from (tests force `410 Gone` with this).
    pub fn set_event_window(&self, window: usize) {
        self.shared.lock().set_window(window);
    }

    /// Ends every open watch and forgets the event history, so clients must relist (what
    /// a real API server restart or etcd compaction does). Tests use it to force 410 Gone.
    pub fn expire_watches(&self) {
        let mut store = self.shared.lock();
        store.expire_history();
        self.shared.watch_epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.shared.changed.send_replace(store.resource_version());
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.lock().resource_version()
    }

    /// Stops accepting requests, lets in-flight ones finish, and waits for the server.
    pub async fn shutdown(mut self) {
        self.stop_now();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Ending every watch lets graceful shutdown complete.
        self.shared.changed.send_replace(u64::MAX);
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.stop_now();
    }
}
