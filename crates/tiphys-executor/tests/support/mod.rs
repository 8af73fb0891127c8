//! Shared setup: an in-process sandbox (with its workload simulator), a `Cluster` connected to
//! it over HTTPS, an `Executor`, and helpers that plan and run a sync to the end.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tiphys_executor::{Execution, ExecutionContext, Executor, ExecutorConfig, Progress};
use tiphys_health::{AssessOptions, HealthAssessor, ResourceOverrides};
use tiphys_kube::Cluster;
use tiphys_resource::ResourceKey;
use tiphys_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use tiphys_sync::{AppSyncOptions, PlanInput, SyncOperation, SyncPlan};

pub struct World {
    pub sandbox: SandboxHandle,
    pub cluster: Cluster,
    pub executor: Executor,
}

pub async fn world() -> World {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.expect("sandbox starts");
    let cluster = Cluster::from_kubeconfig_text(&sandbox.kubeconfig(), None).await.expect("cluster connects");
    let health = Arc::new(HealthAssessor::new(ResourceOverrides::default(), AssessOptions::default()));
    let config = ExecutorConfig { poll_interval: Duration::from_millis(50), ..ExecutorConfig::default() };
    let executor = Executor::with_config(cluster.clone(), health, config);
    World { sandbox, cluster, executor }
}

pub fn yaml(text: &str) -> Vec<Value> {
    tiphys_resource::yaml::parse_stream(text).expect("test YAML parses")
}

/// What a test syncs: desired objects, app-level options, prune, the destination namespace.
pub struct Sync {
    pub desired: Vec<Value>,
    pub options: Vec<&'static str>,
    pub prune: bool,
    pub namespace: String,
    pub dry_run: bool,
}

impl Sync {
    pub fn new(desired: Vec<Value>) -> Self {
        Sync { desired, options: vec![], prune: false, namespace: "default".into(), dry_run: false }
    }
}

/// The live objects of the desired keys plus `extra_live` (objects the app tracks that are
/// no longer desired), read from the cluster as the controller's cache would hold them.
pub async fn live_of(world: &World, keys: &[ResourceKey]) -> Vec<Value> {
    let mut live = Vec::new();
    for key in keys {
        if let Ok(Some(obj)) = world.cluster.get(key).await {
            live.push(obj);
        }
    }
    live
}

pub async fn plan(world: &World, sync: &Sync, extra_live: &[ResourceKey]) -> SyncPlan {
    let mut keys: Vec<ResourceKey> = sync
        .desired
        .iter()
        .filter_map(|d| tiphys_diff::compare::resource_key(d, &sync.namespace).ok())
        .collect();
    keys.extend(extra_live.iter().cloned());
    let live = live_of(world, &keys).await;
    let namespace_exists = world
        .cluster
        .get(&ResourceKey::new("", "Namespace", "", sync.namespace.clone()))
        .await
        .expect("namespace read")
        .is_some();
    let input = PlanInput {
        desired: &sync.desired,
        live: &live,
        in_sync: HashSet::new(),
        shared: Default::default(),
        options: AppSyncOptions(sync.options.iter().map(|s| s.to_string()).collect()),
        namespace: sync.namespace.clone(),
        namespace_exists,
        operation: SyncOperation {
            prune: sync.prune,
            dry_run: sync.dry_run,
            revision: "abcdef0123456789".into(),
            started_at_unix: 1_700_000_000,
            ..Default::default()
        },
    };
    tiphys_sync::plan(&input).expect("plan")
}

pub fn context(sync: &Sync) -> ExecutionContext {
    ExecutionContext {
        app_name: "test-app".into(),
        desired: sync.desired.clone(),
        namespace: sync.namespace.clone(),
        create_namespace: sync.options.contains(&"CreateNamespace=true"),
        managed_namespace_metadata: None,
    }
}

/// Advances until the operation is over (30 s at most), sleeping as `advance` suggests.
pub async fn run(world: &World, execution: &mut Execution) -> (bool, String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match execution.advance(&world.executor).await {
            Progress::Finished { succeeded, message } => return (succeeded, message),
            Progress::Running { retry_after } => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "sync did not finish: {}; results {:#?}",
                    execution.message(),
                    execution.results()
                );
                tokio::time::sleep(retry_after.max(Duration::from_millis(5))).await;
            }
        }
    }
}

/// Plans and runs a sync to the end.
pub async fn sync(world: &World, sync: &Sync, extra_live: &[ResourceKey]) -> (Execution, bool, String) {
    let plan = plan(world, sync, extra_live).await;
    let mut execution = Execution::new(plan, context(sync), None);
    let (ok, message) = run(world, &mut execution).await;
    (execution, ok, message)
}

pub async fn get(world: &World, key: &ResourceKey) -> Option<Value> {
    world.cluster.get(key).await.expect("read")
}

pub fn key(group: &str, kind: &str, namespace: &str, name: &str) -> ResourceKey {
    ResourceKey::new(group, kind, namespace, name)
}

/// `(kind/name, syncPhase, hookPhase, status)` of every result, in result order.
pub fn summary(execution: &Execution) -> Vec<String> {
    execution
        .results()
        .iter()
        .map(|r| {
            format!(
                "{}/{} {} {} {}",
                r.kind.as_deref().unwrap_or(""),
                r.name.as_deref().unwrap_or(""),
                r.sync_phase.as_deref().unwrap_or("-"),
                r.hook_phase.as_deref().unwrap_or("-"),
                r.status.as_deref().unwrap_or("-"),
            )
        })
        .collect()
}

/// Asserts that one result line (as [`summary`] writes it) is present.
pub fn assert_result(execution: &Execution, line: &str) {
    let lines = summary(execution);
    assert!(lines.iter().any(|l| l == line), "{line:?} not among the results {lines:#?}");
}

/// A ConfigMap `{a: "1"}`, with `argocd.argoproj.io/sync-options` when given.
pub fn config_map(name: &str, sync_options: Option<&str>) -> Value {
    let mut cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}});
    if let Some(options) = sync_options {
        cm["metadata"]["annotations"] =
            serde_json::json!({ tiphys_resource::annotations::SYNC_OPTIONS: options });
    }
    cm
}
