//! The live-state index: time to apply 10,000 watch events (a Deployment → ReplicaSet → Pod
//! population with realistic Pod bodies), a quiet 10,000-object resync, and memory per cached
//! object. Memory is the growth of the resident set (/proc/self/statm) while 100,000 Pods
//! are indexed, so it counts everything the index allocates (bytes, keys, secondary indexes)
//! and nothing the code under test reports about itself.
//! Run: `cargo bench -p tiphys-kube --bench index`.

use criterion::{BatchSize, Criterion};
use serde_json::{Value, json};
use tiphys_kube::{IndexConfig, IndexEvent, LiveIndex};
use tiphys_resource::GroupKind;

/// A Pod as the API server returns it (status and managedFields included), ~2.5 KB of JSON.
fn pod(i: usize) -> Value {
    let app = format!("app-{}", i / 30);
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("{app}-7d9f8c6b5-{i:05}"), "namespace": format!("ns-{}", i % 50),
            "uid": format!("00000000-0000-0000-0000-{i:012}"), "resourceVersion": format!("{}", 1000 + i),
            "creationTimestamp": "2026-11-22T10:00:00Z", "generateName": format!("{app}-7d9f8c6b5-"),
            "labels": {"app": app, "pod-template-hash": "7d9f8c6b5"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{app}-7d9f8c6b5"),
                "uid": format!("rs-{}", i / 3), "controller": true, "blockOwnerDeletion": true}],
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                "time": "2026-11-22T10:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {}},
                    "f:ownerReferences": {".": {}, "k:{\"uid\":\"x\"}": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}, "f:ports": {}}}}}}]
        },
        "spec": {
            "containers": [{"name": "web", "image": "registry.example.com/team/web:1.27.3",
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default", "nodeName": format!("node-{}", i % 20), "schedulerName": "default-scheduler"
        },
        "status": {
            "phase": "Running", "podIP": format!("10.0.{}.{}", (i / 250) % 250, i % 250), "startTime": "2026-11-22T10:00:01Z",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-22T10:00:05Z"},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2026-11-22T10:00:05Z"}],
            "containerStatuses": [{"name": "web", "ready": true, "restartCount": 0, "image": "registry.example.com/team/web:1.27.3",
                "imageID": "registry.example.com/team/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "containerID": format!("containerd://{i:064}"), "state": {"running": {"startedAt": "2026-11-22T10:00:04Z"}}}]
        }
    })
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// Prints memory per cached Pod, measured once (not a timing).
fn memory_per_object() {
    const N: usize = 100_000;
    let json_bytes: usize =
        (0..1000).map(|i| serde_json::to_vec(&pod(i)).map(|v| v.len()).unwrap_or(0)).sum::<usize>() / 1000;
    // Every index stays alive until the end, so no measurement reuses pages another freed.
    let mut keep = Vec::new();
    for (label, config) in [
        ("untracked (managedFields dropped)", IndexConfig::default()),
        (
            "all managedFields kept",
            IndexConfig { strip_untracked_managed_fields: false, ..IndexConfig::default() },
        ),
    ] {
        let mut index = LiveIndex::new(config);
        let before = resident_bytes();
        for i in 0..N {
            index.apply(IndexEvent::Upsert(pod(i)));
        }
        let after = resident_bytes();
        println!(
            "index memory, {label}: {N} Pods, {} bytes per object (resident growth); API JSON {json_bytes} bytes per Pod",
            after.saturating_sub(before) / N as u64
        );
        keep.push(index);
    }
}

fn main() {
    memory_per_object();
    let mut c = Criterion::default().configure_from_args();
    let events: Vec<Value> = (0..10_000).map(pod).collect();
    c.bench_function("index: apply 10,000 Pod upserts into an empty index", |b| {
        b.iter_batched(
            || events.clone(),
            |events| {
                let mut index = LiveIndex::new(IndexConfig::default());
                for e in events {
                    index.apply(IndexEvent::Upsert(e));
                }
                index
            },
            BatchSize::LargeInput,
        )
    });
    let mut full = LiveIndex::new(IndexConfig::default());
    for e in &events {
        full.apply(IndexEvent::Upsert(e.clone()));
    }
    let kind = GroupKind::new("", "Pod");
    c.bench_function("index: quiet resync (Replace) of 10,000 unchanged Pods", |b| {
        b.iter_batched(
            || events.clone(),
            |objects| full.apply(IndexEvent::Replace { kind: kind.clone(), objects }),
            BatchSize::LargeInput,
        )
    });
    c.final_summary();
}
