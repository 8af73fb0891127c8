//! Shared setup: an in-process sandbox, a `Cluster` connected to it through its kubeconfig,
//! and a second, independent kube-rs client playing "another user".
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::time::Duration;

use kube::api::{Api, DynamicObject};
use kube::discovery::ApiResource;
use serde_json::Value;
use tiphys_kube::{Cluster, LiveIndex};
use tiphys_sandbox::{Sandbox, SandboxConfig, SandboxHandle};

pub struct World {
    pub sandbox: SandboxHandle,
    pub cluster: Cluster,
    pub other: kube::Client,
}

/// A sandbox without the workload simulator: objects change only when a test writes them.
pub async fn world() -> World {
    world_with(SandboxConfig { simulator: None, ..SandboxConfig::default() }).await
}

/// A sandbox whose workload simulator turns Deployments into ReplicaSets and Pods.
pub async fn world_with_simulator() -> World {
    world_with(SandboxConfig::default()).await
}

async fn world_with(config: SandboxConfig) -> World {
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let cluster = Cluster::from_kubeconfig_text(&sandbox.kubeconfig(), None).await.expect("cluster connects");
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&sandbox.kubeconfig()).expect("kubeconfig parses");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.expect("config");
    let other = kube::Client::try_from(config).expect("client");
    World { sandbox, cluster, other }
}

/// An `Api` of the second client for `apiVersion`/`kind`/`plural`, namespaced when `ns` is set.
pub fn other_api(
    world: &World,
    api_version: &str,
    kind: &str,
    plural: &str,
    ns: Option<&str>,
) -> Api<DynamicObject> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let ar = ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: api_version.into(),
        kind: kind.into(),
        plural: plural.into(),
    };
    match ns {
        Some(ns) => Api::namespaced_with(world.other.clone(), ns, &ar),
        None => Api::all_with(world.other.clone(), &ar),
    }
}

pub fn dynamic(value: Value) -> DynamicObject {
    serde_json::from_value(value).expect("a Kubernetes object")
}

/// Polls `check` against the cache's index until it holds (10 s at most).
pub async fn eventually(cache: &tiphys_kube::LiveCache, what: &str, check: impl Fn(&LiveIndex) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if check(&cache.index()) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
