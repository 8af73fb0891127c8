//! tiphys-up: the all-in-one demo environment behind `tiphys up` (layer L3).
//!
//! [`start`] assembles, in one process: the sandbox cluster (persisted with `--data`), what
//! an Argo CD installation puts in it (CRDs, namespace `argocd`, `argocd-cm` with the
//! Application health check, the `default` AppProject), the built-in example repository
//! written as a git working repository and served read-only over smart HTTP on loopback,
//! one Application per example, and the application controller. [`Environment::shutdown`]
//! stops them in reverse order.
//!
//! It does not render, compare or sync anything itself: that is the controller's job. State
//! that must survive a restart with the same data directory (ports, the sandbox token, the
//! repository) lives in that directory; see [`Layout`].

pub mod bootstrap;
pub mod repo;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tiphys_controller::{ControllerConfig, ControllerHandle};
use tiphys_git::serve::GitHttpServer;
use tiphys_sandbox::{Sandbox, SandboxConfig, SandboxHandle};

/// The namespace of the controller, the Applications and `argocd-cm`, as upstream installs it.
pub const NAMESPACE: &str = "argocd";

/// The example repository's name in its URL (`http://127.0.0.1:PORT/examples`).
pub const REPO_NAME: &str = "examples";

/// Why the demo environment could not start. Wrapped errors are part of the message, not
/// a `source()` chain, so `{:#}` does not print them twice.
#[derive(Debug, thiserror::Error)]
pub enum UpError {
    /// The data directory (or a file in it) cannot be used.
    #[error("{path}: {message}")]
    Data {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The example repository could not be written.
    #[error("example repository {path}: {message}")]
    Repo {
        /// The repository directory.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The sandbox cluster did not start.
    #[error("sandbox cluster: {0}")]
    Sandbox(tiphys_sandbox::Error),
    /// The git server did not start.
    #[error("{0}")]
    Git(tiphys_git::GitError),
    /// The sandbox could not be reached through its kubeconfig.
    #[error("connecting to the sandbox: {0}")]
    Cluster(tiphys_kube::Error),
    /// An installation object or Application could not be applied.
    #[error("applying {object}: {message}")]
    Bootstrap {
        /// The object, e.g. `argoproj.io/AppProject argocd/default`.
        object: String,
        /// The API server's answer.
        message: String,
    },
    /// The controller did not start.
    #[error("controller: {0}")]
    Controller(tiphys_controller::ControllerError),
}

/// How to run the demo environment.
#[derive(Debug, Clone, Default)]
pub struct UpConfig {
    /// Keep everything (cluster objects, repository, caches) here across restarts; a
    /// temporary directory, removed at shutdown, when `None`.
    pub data_dir: Option<PathBuf>,
    /// Port of the sandbox API server; remembered in the data directory, else free.
    pub api_port: Option<u16>,
    /// Port of the git server; remembered in the data directory, else free.
    pub git_port: Option<u16>,
    /// Port of the controller's metrics and webhook endpoint; remembered, else free.
    pub metrics_port: Option<u16>,
}

/// Where things live under the data directory.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout under `root`.
    pub fn new(root: &Path) -> Layout {
        Layout { root: root.to_path_buf() }
    }
    /// The sandbox's persisted objects.
    pub fn cluster(&self) -> PathBuf {
        self.root.join("cluster")
    }
    /// The project root the git server serves.
    pub fn git_root(&self) -> PathBuf {
        self.root.join("git")
    }
    /// The example repository (a working repository: edit and commit here).
    pub fn repo(&self) -> PathBuf {
        self.git_root().join(REPO_NAME)
    }
    /// The controller's caches and checkouts.
    pub fn controller(&self) -> PathBuf {
        self.root.join("controller")
    }
    /// The kubeconfig for the sandbox.
    pub fn kubeconfig(&self) -> PathBuf {
        self.root.join("kubeconfig")
    }
    /// Ports and the sandbox token, so a restart keeps URLs and the kubeconfig valid.
    pub fn state(&self) -> PathBuf {
        self.root.join("up.json")
    }
}

/// What a restart must reuse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Remembered {
    api_port: Option<u16>,
    git_port: Option<u16>,
    metrics_port: Option<u16>,
    token: Option<String>,
}

impl Remembered {
    fn load(path: &Path) -> Result<Remembered, UpError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Remembered::default()),
            Err(e) => return Err(UpError::Data { path: path.to_path_buf(), message: e.to_string() }),
        };
        let v: Value = serde_json::from_str(&text).map_err(|e| UpError::Data {
            path: path.to_path_buf(),
            message: format!("{e}; delete the file to start over with new ports"),
        })?;
        let port = |k: &str| v[k].as_u64().and_then(|p| u16::try_from(p).ok()).filter(|p| *p != 0);
        Ok(Remembered {
            api_port: port("apiPort"),
            git_port: port("gitPort"),
            metrics_port: port("metricsPort"),
            token: v["token"].as_str().map(str::to_string),
        })
    }

    fn save(&self, path: &Path) -> Result<(), UpError> {
        use std::io::Write;
        let text = json!({
            "apiPort": self.api_port,
            "gitPort": self.git_port,
            "metricsPort": self.metrics_port,
            "token": self.token,
        });
        let err = |e: std::io::Error| UpError::Data { path: path.to_path_buf(), message: e.to_string() };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        // It holds the sandbox token.
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(err)?;
        file.write_all(format!("{text:#}\n").as_bytes()).map_err(err)
    }
}

/// The running demo environment.
pub struct Environment {
    layout: Layout,
    sandbox: SandboxHandle,
    git: GitHttpServer,
    controller: ControllerHandle,
    repo_url: String,
    _temp: Option<tempfile::TempDir>,
}

fn loopback(port: Option<u16>) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port.unwrap_or(0)))
}

fn mkdir(path: &Path) -> Result<(), UpError> {
    std::fs::create_dir_all(path).map_err(|e| UpError::Data {
        path: path.to_path_buf(),
        message: format!("{e}; pick a writable --data directory"),
    })
}

/// The git server's port: the Applications (and the app-of-apps children in the repository)
/// name the repository by URL, so a data directory keeps the port it was created with.
fn git_port(config: &UpConfig, remembered: &Remembered, layout: &Layout) -> Result<Option<u16>, UpError> {
    match (config.git_port, remembered.git_port) {
        (Some(asked), Some(kept)) if asked != kept && repo::exists(&layout.repo()) => Err(UpError::Data {
            path: layout.state(),
            message: format!(
                "the example Applications fetch from port {kept}; run without --git-port {asked} \
                 (or remove the directory to start over)"
            ),
        }),
        (asked, kept) => Ok(asked.or(kept)),
    }
}

/// Starts everything and returns once the Applications are registered and the controller
/// runs.
pub async fn start(config: UpConfig) -> Result<Environment, UpError> {
    let (root, temp) = match &config.data_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp =
                tempfile::Builder::new().prefix("tiphys-up-").tempdir().map_err(|e| UpError::Data {
                    path: std::env::temp_dir(),
                    message: format!("cannot create a temporary directory: {e}"),
                })?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    mkdir(&root)?;
    // Printed paths (kubeconfig, working tree) must work from any directory.
    let root =
        root.canonicalize().map_err(|e| UpError::Data { path: root.clone(), message: e.to_string() })?;
    let layout = Layout::new(&root);
    let mut remembered = Remembered::load(&layout.state())?;

    let sandbox = Sandbox::start(SandboxConfig {
        addr: loopback(config.api_port.or(remembered.api_port)),
        token: remembered.token.clone(),
        data_dir: Some(layout.cluster()),
        ..SandboxConfig::default()
    })
    .await
    .map_err(UpError::Sandbox)?;
    sandbox.write_kubeconfig(&layout.kubeconfig()).map_err(UpError::Sandbox)?;
    remembered.token = Some(sandbox.token().to_string());
    remembered.api_port = sandbox.url().rsplit(':').next().and_then(|p| p.parse().ok());

    mkdir(&layout.git_root())?;
    let git =
        GitHttpServer::start(loopback(git_port(&config, &remembered, &layout)?), &layout.git_root(), None)
            .map_err(UpError::Git)?;
    remembered.git_port = Some(git.addr().port());
    let repo_url = git.url(REPO_NAME);
    if !repo::exists(&layout.repo()) {
        let commit = repo::write(&layout.repo(), &repo_url)?;
        tracing::info!(%commit, path = %layout.repo().display(), "example repository written");
    }

    let kubeconfig = sandbox.kubeconfig();
    let cluster =
        tiphys_kube::Cluster::from_kubeconfig_text(&kubeconfig, None).await.map_err(UpError::Cluster)?;
    bootstrap::install(&cluster, &repo_url, Duration::from_secs(20)).await?;

    mkdir(&layout.controller())?;
    let controller = tiphys_controller::start(ControllerConfig {
        kubeconfig,
        context: None,
        namespace: NAMESPACE.to_string(),
        data_dir: layout.controller(),
        listen: Some(loopback(config.metrics_port.or(remembered.metrics_port))),
        leader_election: false,
        identity: "tiphys-up".to_string(),
    })
    .await
    .map_err(UpError::Controller)?;
    if let Some(addr) = controller.addr() {
        remembered.metrics_port = Some(addr.port());
    }
    if temp.is_none() {
        remembered.save(&layout.state())?;
    }
    Ok(Environment { layout, sandbox, git, controller, repo_url, _temp: temp })
}

impl Environment {
    /// The sandbox's kubeconfig file.
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.layout.kubeconfig()
    }

    /// The sandbox API server's URL.
    pub fn api_url(&self) -> &str {
        self.sandbox.url()
    }

    /// The example repository's clone URL.
    pub fn repo_url(&self) -> &str {
        &self.repo_url
    }

    /// The example repository's working directory.
    pub fn repo_dir(&self) -> PathBuf {
        self.layout.repo()
    }

    /// The controller's Prometheus endpoint, when it serves one.
    pub fn metrics_url(&self) -> Option<String> {
        self.controller.addr().map(|a| format!("http://{a}/metrics"))
    }

    /// Stops the controller (letting a running operation step persist), the git server, and
    /// the sandbox (which flushes its state to the data directory).
    pub async fn shutdown(self) {
        self.controller.shutdown().await;
        drop(self.git);
        self.sandbox.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_state_round_trips_and_a_missing_file_is_a_first_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("up.json");
        assert_eq!(Remembered::load(&path).unwrap(), Remembered::default());
        let state = Remembered {
            api_port: Some(40001),
            git_port: Some(40002),
            metrics_port: None,
            token: Some("t0k3n".into()),
        };
        state.save(&path).unwrap();
        assert_eq!(Remembered::load(&path).unwrap(), state);
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "the file holds the sandbox token");
    }

    #[test]
    fn a_data_directory_keeps_its_git_port() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let kept = Remembered { git_port: Some(40002), ..Remembered::default() };
        let asking = |port| UpConfig { git_port: port, ..UpConfig::default() };
        // Before the repository exists any port goes; afterwards only the remembered one.
        assert_eq!(git_port(&asking(Some(40009)), &kept, &layout).unwrap(), Some(40009));
        std::fs::create_dir_all(layout.repo().join(".git")).unwrap();
        assert_eq!(git_port(&asking(None), &kept, &layout).unwrap(), Some(40002));
        assert_eq!(git_port(&asking(Some(40002)), &kept, &layout).unwrap(), Some(40002));
        let err = git_port(&asking(Some(40009)), &kept, &layout).unwrap_err().to_string();
        assert!(
            err.contains("up.json") && err.contains("port 40002") && err.contains("--git-port 40009"),
            "{err}"
        );
        assert_eq!(git_port(&asking(None), &Remembered::default(), &layout).unwrap(), None);
    }

    #[test]
    fn a_damaged_state_file_is_an_error_naming_it_and_bad_ports_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("up.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = Remembered::load(&path).unwrap_err().to_string();
        assert!(err.contains("up.json") && err.contains("delete the file"), "{err}");
        std::fs::write(&path, r#"{"apiPort": 70000, "gitPort": -1, "metricsPort": 0, "token": 5}"#).unwrap();
        assert_eq!(Remembered::load(&path).unwrap(), Remembered::default());
    }
}
