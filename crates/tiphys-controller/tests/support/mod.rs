//! End-to-end world: an in-process sandbox cluster with the Argo CRDs, a real Git server on
//! loopback serving a test repository, and the controller under test, all real components.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tiphys_controller::{ControllerConfig, ControllerHandle};
use tiphys_git::testsupport::TestRepo;
use tiphys_kube::{ApplyMode, Cluster, PatchBody, WriteOptions};
use tiphys_resource::ResourceKey;
use tiphys_sandbox::simulator::SimulatorConfig;
use tiphys_sandbox::{Sandbox, SandboxConfig, SandboxHandle};

pub const NS: &str = "argocd";

pub struct World {
    pub sandbox: SandboxHandle,
    pub cluster: Cluster,
    pub repo: TestRepo,
    pub git: tiphys_git::serve::GitHttpServer,
    pub controller: Option<ControllerHandle>,
    pub dir: tempfile::TempDir,
}

fn manager() -> WriteOptions {
    WriteOptions { field_manager: "e2e-test".into(), dry_run: false }
}

impl World {
    /// Sandbox + CRDs + `argocd` namespace + default project + a repo with `files`; the
    /// controller is started with `argocd-cm` data `cm`.
    pub async fn start(files: &[(&str, &str)], cm: Value) -> World {
        Self::start_with(files, cm, SimulatorConfig::default()).await
    }

    /// [`World::start`] with the workload simulator's timings chosen by the test.
    pub async fn start_with(files: &[(&str, &str)], cm: Value, simulator: SimulatorConfig) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = SandboxConfig { simulator: Some(simulator), ..SandboxConfig::default() };
        let sandbox = Sandbox::start(config).await.expect("sandbox starts");
        let cluster =
            Cluster::from_kubeconfig_text(&sandbox.kubeconfig(), None).await.expect("cluster connects");
        for crd in tiphys_model::crd::crds() {
            cluster
                .apply(&crd, ApplyMode::ServerSide { force: true }, &manager())
                .await
                .expect("crd applies");
        }
        cluster.refresh_discovery().await.expect("discovery");
        let world_repo = TestRepo::create(&dir.path().join("git"), "repo");
        world_repo.commit(files, "initial");
        let git = tiphys_git::serve::GitHttpServer::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            &dir.path().join("git"),
            None,
        )
        .expect("git server starts");
        let mut world = World { sandbox, cluster, repo: world_repo, git, controller: None, dir };
        world.apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})).await;
        world
            .apply(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
                "metadata": {"name": "default", "namespace": NS},
                "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
                    "clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}}))
            .await;
        world
            .apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "argocd-cm", "namespace": NS}, "data": cm}))
            .await;
        world.start_controller().await;
        world
    }

    pub fn repo_url(&self) -> String {
        self.git.url("repo.git")
    }

    pub async fn start_controller(&mut self) {
        let config = ControllerConfig {
            kubeconfig: self.sandbox.kubeconfig(),
            context: None,
            namespace: NS.into(),
            data_dir: self.dir.path().join("controller"),
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            leader_election: false,
            identity: "e2e".into(),
        };
        self.controller = Some(tiphys_controller::start(config).await.expect("controller starts"));
    }

    pub async fn stop_controller(&mut self) {
        if let Some(c) = self.controller.take() {
            c.shutdown().await;
        }
    }

    /// The controller's HTTP address.
    pub fn controller_addr(&self) -> SocketAddr {
        self.controller.as_ref().and_then(|c| c.addr()).expect("controller listens")
    }

    pub async fn apply(&self, obj: Value) -> Value {
        self.cluster.apply(&obj, ApplyMode::ServerSide { force: true }, &manager()).await.expect("apply")
    }

    pub async fn get(&self, key: &ResourceKey) -> Option<Value> {
        self.cluster.get(key).await.expect("get")
    }

    pub async fn patch(&self, key: &ResourceKey, patch: Value) -> Value {
        self.cluster.patch(key, PatchBody::Merge(patch), &manager()).await.expect("patch")
    }

    pub async fn app(&self, name: &str) -> Value {
        self.get(&app_key(name)).await.unwrap_or(Value::Null)
    }

    /// Registers an Application for `path` of the test repo, deploying to `dest_ns`.
    pub async fn create_app(&self, name: &str, path: &str, dest_ns: &str, extra_spec: Value) -> Value {
        let mut app = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"project": "default",
                "source": {"repoURL": self.repo_url(), "targetRevision": "main", "path": path},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": dest_ns}}});
        json_merge(&mut app["spec"], &extra_spec);
        self.apply(app).await
    }

    /// Asks for a sync like `argocd app sync` does: writes `operation`.
    pub async fn sync(&self, name: &str, sync: Value) {
        self.patch(&app_key(name), json!({"operation": {"initiatedBy": {"username": "e2e"}, "sync": sync}}))
            .await;
    }

    /// Polls the app until `check` holds; panics with the last state after `timeout`.
    pub async fn wait_app(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let app = self.app(name).await;
            if check(&app) {
                return app;
            }
            if Instant::now() > deadline {
                panic!(
                    "app {name}: timed out waiting for {what}; last state:\n{}",
                    serde_json::to_string_pretty(&app["status"]).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `key` satisfies `check` (None = absent).
    pub async fn wait_object(
        &self,
        key: &ResourceKey,
        what: &str,
        timeout: Duration,
        check: impl Fn(Option<&Value>) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        loop {
            let obj = self.get(key).await;
            if check(obj.as_ref()) {
                return;
            }
            if Instant::now() > deadline {
                panic!("{key}: timed out waiting for {what}; last: {obj:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

pub fn app_key(name: &str) -> ResourceKey {
    ResourceKey::new("argoproj.io", "Application", NS, name)
}

pub fn cm_key(ns: &str, name: &str) -> ResourceKey {
    ResourceKey::new("", "ConfigMap", ns, name)
}

pub fn sync_status(app: &Value) -> &str {
    app["status"]["sync"]["status"].as_str().unwrap_or_default()
}

pub fn health(app: &Value) -> &str {
    app["status"]["health"]["status"].as_str().unwrap_or_default()
}

pub fn phase(app: &Value) -> &str {
    app["status"]["operationState"]["phase"].as_str().unwrap_or_default()
}

pub fn synced_healthy(app: &Value) -> bool {
    sync_status(app) == "Synced" && health(app) == "Healthy"
}

pub fn condition<'a>(app: &'a Value, kind: &str) -> Option<&'a str> {
    app["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == kind)?["message"].as_str()
}

fn json_merge(target: &mut Value, patch: &Value) {
    *target = tiphys_patch::apply_merge_patch(target, patch);
}

pub fn configmap(name: &str, data: Value) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata: {}\n",
        serde_json::to_string(&data).expect("json")
    )
}

/// Upstream's default wait in these tests.
pub const WAIT: Duration = Duration::from_secs(30);

/// The controller's `/metrics` text (with the HTTP status line and headers).
pub async fn metrics(addr: SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
}
