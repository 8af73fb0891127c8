//! Planning a 1,000-resource application: mixed kinds and waves, a few hooks, every resource
//! live except some new ones, and some live-only resources to prune.

#[path = "../../tiphys-diff/benches/support/cpu_time.rs"]
mod cpu_time;

use criterion::measurement::Measurement;
use criterion::{Criterion, SamplingMode};
use serde_json::{Value, json};
use tiphys_sync::{AppSyncOptions, PlanInput, SyncOperation, plan};

const KINDS: &[(&str, &str)] = &[
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("networking.k8s.io/v1", "Ingress"),
    ("example.com/v1", "Widget"),
];

fn obj(i: usize) -> Value {
    let (api, kind) = KINDS[i % KINDS.len()];
    let mut annotations = json!({"argocd.argoproj.io/sync-wave": format!("{}", (i % 7) as i32 - 3)});
    if i.is_multiple_of(100) {
        annotations["argocd.argoproj.io/hook"] = json!("PreSync");
    }
    json!({"apiVersion": api, "kind": kind, "metadata": {"name": format!("res-{i}"), "namespace": "bench", "annotations": annotations}, "spec": {"i": i}})
}

fn bench<M: Measurement + 'static>(c: &mut Criterion<M>, clock: &str) {
    let desired: Vec<Value> = (0..1000).map(obj).collect();
    let mut live: Vec<Value> = desired.iter().take(950).cloned().collect();
    live.extend((1001..1051).map(obj));
    let input = PlanInput {
        desired: &desired,
        live: &live,
        options: AppSyncOptions(vec!["PruneLast=false".into(), "ServerSideApply=true".into()]),
        namespace: "bench".into(),
        namespace_exists: true,
        operation: SyncOperation {
            prune: true,
            revision: "0123456789".into(),
            started_at_unix: 1_700_000_000,
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(plan(&input).map(|p| p.tasks.len()).unwrap_or(0), 1050);
    // Flat sampling: every sample runs many iterations, longer than the scheduler tick that
    // updates the CPU-time counter.
    let mut g = c.benchmark_group("plan");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function(format!("plan_1000_resources_{clock}"), |b| b.iter(|| plan(&input)));
    g.finish();
}

cpu_time::main_wall_and_cpu!(bench);
