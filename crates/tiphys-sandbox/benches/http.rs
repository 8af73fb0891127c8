//! Scenario: end-to-end rates over HTTPS through the real kube-rs client: creates with 16
//! requests in flight, a 10,000-object list, and one write fanned out to 50 watch streams.
//! Prints one JSON object. Run: `cargo bench -p tiphys-sandbox --bench http`.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;
use tiphys_sandbox::{Sandbox, SandboxConfig};

fn configmap(i: usize) -> ConfigMap {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("cm-{i:06}"), "labels": {"app": "bench"}},
        "data": {"config.yaml": "key: value\n", "mode": "fast"}}))
    .expect("configmap")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let config = SandboxConfig { simulator: None, ..Default::default() };
    let sandbox = Sandbox::start(config).await.expect("sandbox");
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&sandbox.kubeconfig()).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.expect("config");
    let client = kube::Client::try_from(config).expect("client");
    let api: Api<ConfigMap> = Api::namespaced(client, "default");

    const N: usize = 10_000;
    let start = Instant::now();
    futures::stream::iter(0..N)
        .map(|i| {
            let api = api.clone();
            async move { api.create(&PostParams::default(), &configmap(i)).await }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .expect("creates");
    let create_secs = start.elapsed().as_secs_f64();

    let mut list_ms = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let items = api.list(&ListParams::default()).await.expect("list").items.len();
        assert_eq!(items, N);
        list_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    list_ms.sort_by(f64::total_cmp);

    let rv = sandbox.resource_version().to_string();
    let mut watchers = Vec::new();
    for _ in 0..50 {
        let stream = api.watch(&WatchParams::default(), &rv).await.expect("watch").boxed();
        watchers.push(stream);
    }
    let t = Instant::now();
    api.create(&PostParams::default(), &configmap(N + 1)).await.expect("create");
    for w in &mut watchers {
        let event = tokio::time::timeout(Duration::from_secs(10), w.next()).await.expect("event in time");
        assert!(matches!(event, Some(Ok(WatchEvent::Added(_)))));
    }
    let fanout_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "{}",
        json!({"creates": N, "in_flight": 16, "creates_per_second": (N as f64 / create_secs).round(),
            "list_10k_ms_median": list_ms[2], "watch_fanout_50_ms": fanout_ms})
    );
    sandbox.shutdown().await;
}
