//! Scenario: one 10-resource application (4 ConfigMaps, 3 Services, 3 Deployments) synced
//! against the in-process sandbox over HTTPS with its workload simulator. Prints JSON: time
//! from `Execution::new` to the first write (after the server-side dry run) and to the end,
//! for the first sync (everything created), for re-syncs where one ConfigMap changed (a
//! single step: done once applied), and for the same app split over 3 waves (health waits
//! between waves). Run: `cargo bench -p tiphys-executor --bench sync10`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tiphys_executor::{Execution, ExecutionContext, Executor, Progress};
use tiphys_health::{AssessOptions, HealthAssessor, ResourceOverrides};
use tiphys_kube::Cluster;
use tiphys_sandbox::{Sandbox, SandboxConfig};
use tiphys_sync::{PlanInput, SyncOperation};

const ROUNDS: usize = 20;

fn app(generation: usize, waves: bool) -> Vec<Value> {
    let wave = |i: usize| {
        if waves { json!({"argocd.argoproj.io/sync-wave": (i % 3).to_string()}) } else { json!({}) }
    };
    let mut out = Vec::new();
    for i in 0..4 {
        out.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("cfg-{i}"), "annotations": wave(i)},
            "data": {"generation": if i == 0 { generation.to_string() } else { "0".into() }}}));
    }
    for i in 0..3 {
        out.push(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": format!("svc-{i}"), "annotations": wave(i)},
            "spec": {"selector": {"app": format!("web-{i}")}, "ports": [{"port": 80}]}}));
        out.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": format!("web-{i}"), "annotations": wave(i)},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": format!("web-{i}")}},
                "template": {"metadata": {"labels": {"app": format!("web-{i}")}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}));
    }
    out
}

async fn sync_once(
    executor: &Executor,
    cluster: &Cluster,
    namespace: &str,
    desired: Vec<Value>,
) -> (Duration, Duration) {
    let mut live = Vec::new();
    for d in &desired {
        let key = tiphys_diff::compare::resource_key(d, namespace).expect("key");
        if let Ok(Some(obj)) = cluster.get(&key).await {
            live.push(obj);
        }
    }
    let input = PlanInput {
        desired: &desired,
        live: &live,
        in_sync: HashSet::new(),
        namespace: namespace.into(),
        namespace_exists: true,
        operation: SyncOperation { revision: "bench".into(), ..Default::default() },
        ..Default::default()
    };
    let plan = tiphys_sync::plan(&input).expect("plan");
    let ctx = ExecutionContext {
        app_name: "bench".into(),
        desired,
        namespace: namespace.into(),
        ..Default::default()
    };
    let mut execution = Execution::new(plan, ctx, None);
    loop {
        match execution.advance(executor).await {
            Progress::Finished { succeeded: true, .. } => break,
            Progress::Finished { message, .. } => panic!("sync failed: {message}"),
            Progress::Running { retry_after } => {
                tokio::time::sleep(retry_after.min(Duration::from_millis(20))).await
            }
        }
    }
    let t = execution.timings();
    (t.first_write.unwrap_or_default(), t.finished.unwrap_or_default())
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e4).round() / 10.0
}

fn stats(mut v: Vec<Duration>) -> Value {
    v.sort();
    let p = |q: f64| ms(v[((v.len() - 1) as f64 * q).round() as usize]);
    json!({"p50_ms": p(0.5), "p95_ms": p(0.95), "min_ms": p(0.0), "n": v.len()})
}

fn main() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let sandbox = Sandbox::start(SandboxConfig::default()).await.expect("sandbox");
        let cluster = Cluster::from_kubeconfig_text(&sandbox.kubeconfig(), None).await.expect("cluster");
        let health = Arc::new(HealthAssessor::new(ResourceOverrides::default(), AssessOptions::default()));
        let executor = Executor::new(cluster.clone(), health);
        let started = Instant::now();
        let (first_start, first_end) = sync_once(&executor, &cluster, "default", app(0, false)).await;
        let (mut starts, mut ends) = (Vec::new(), Vec::new());
        for round in 1..=ROUNDS {
            let (s, e) = sync_once(&executor, &cluster, "default", app(round, false)).await;
            starts.push(s);
            ends.push(e);
        }
        let (mut wave_starts, mut wave_ends) = (Vec::new(), Vec::new());
        for round in 0..5 {
            let namespace = format!("waves-{round}");
            let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
            cluster.create(&ns, &Default::default()).await.expect("namespace");
            let (s, e) = sync_once(&executor, &cluster, &namespace, app(0, true)).await;
            wave_starts.push(s);
            wave_ends.push(e);
        }
        let report = json!({
            "scenario": "10-resource app sync against the sandbox (4 ConfigMaps, 3 Services, 3 Deployments)",
            "first_sync_create": {"apply_start_ms": ms(first_start), "finished_ms": ms(first_end)},
            "resync_one_change": {"apply_start": stats(starts), "finished": stats(ends)},
            "three_waves_create": {"apply_start": stats(wave_starts), "finished": stats(wave_ends)},
            "wall_s": ms(started.elapsed()) / 1000.0,
        });
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
        sandbox.shutdown().await;
    });
}
