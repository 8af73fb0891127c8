//! Health assessment cost: a cached Lua health check per object (target ≤ 20 µs) and the
//! built-in checks' throughput. Every case runs twice: wall time (criterion's default) and
//! CPU time of the benchmarking thread (`CLOCK_THREAD_CPUTIME_ID`), which does not
//! grow when other processes compete for the cores.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{
    Criterion, Throughput, criterion_group, criterion_main,
    measurement::{Measurement, ValueFormatter},
};
use serde_json::{Value, json};
use std::hint::black_box;
use tiphys_health::{AssessOptions, HealthAssessor, ResourceOverrides, RunContext};

const SEED_CM: &str = include_str!("../tests/fixtures/seed-argocd-cm.yaml");

/// A Rollout about the size of a real one (template, strategy, status with conditions).
fn rollout() -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "prod", "generation": 7, "labels": {"app": "web", "team": "a"},
                     "annotations": {"rollout.argoproj.io/revision": "7"}, "uid": "0d5c2a3e-8b7a-4c1e-9f0a-1b2c3d4e5f60"},
        "spec": {"replicas": 5, "revisionHistoryLimit": 3, "selector": {"matchLabels": {"app": "web"}},
                 "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": "10m"}}]}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "ghcr.io/acme/web:1.2.3",
                                                        "ports": [{"containerPort": 8080, "name": "http"}],
                                                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                                                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}]}}},
        "status": {"phase": "Paused", "message": "CanaryPauseStep", "currentPodHash": "6d4f8b", "stableRS": "5c9f7d",
                   "replicas": 5, "updatedReplicas": 1, "readyReplicas": 5, "availableReplicas": 5, "observedGeneration": "7",
                   "conditions": [{"type": "Progressing", "status": "True", "reason": "RolloutPaused"},
                                  {"type": "Available", "status": "True", "reason": "AvailableReason"},
                                  {"type": "Paused", "status": "True", "reason": "CanaryPauseStep"}]}
    })
}

fn deployment(i: usize) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": format!("web-{i}"), "namespace": "prod", "generation": 3, "labels": {"app": "web"}},
           "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
           "status": {"observedGeneration": 3, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
                      "conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}})
}

fn pod(i: usize) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("web-{i}"), "namespace": "prod"},
           "spec": {"restartPolicy": "Always", "containers": [{"name": "web", "image": "nginx:1.27"}]},
           "status": {"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
                      "containerStatuses": [{"name": "web", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}})
}

fn mixed() -> Vec<Value> {
    let mut objs = Vec::new();
    for i in 0..100 {
        objs.push(deployment(i));
        objs.push(pod(i));
        objs.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("s{i}")}, "spec": {"type": "ClusterIP"}}));
        objs.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}")}, "data": {"a": "b"}}));
        objs.push(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": format!("j{i}")}, "status": {"conditions": [{"type": "Complete", "status": "True"}]}}));
    }
    objs
}

/// Nanoseconds of CPU time this thread has used (`CLOCK_THREAD_CPUTIME_ID`).
fn on_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    u64::try_from(t.tv_sec).unwrap_or_default() * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap_or_default()
}

/// Criterion measurement: on-CPU time of the benchmarking thread.
struct OnCpu;

impl Measurement for OnCpu {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        on_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        on_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &Nanos
    }
}

/// Prints on-CPU nanoseconds as µs and throughput as elements per second.
struct Nanos;

impl ValueFormatter for Nanos {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        values.iter_mut().for_each(|v| *v /= 1e3);
        "µs (on CPU)"
    }
    fn scale_throughputs(&self, _typical: f64, throughput: &Throughput, values: &mut [f64]) -> &'static str {
        let per_iteration = match throughput {
            Throughput::Elements(n)
            | Throughput::Bytes(n)
            | Throughput::BytesDecimal(n)
            | Throughput::Bits(n) => *n as f64,
        };
        values.iter_mut().for_each(|v| *v = per_iteration * 1e9 / *v);
        "elem/s (on CPU)"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn lua<M: Measurement>(c: &mut Criterion<M>, label: &str) {
    let cm = tiphys_resource::yaml::parse_document(SEED_CM).expect("fixture");
    let assessor =
        HealthAssessor::new(ResourceOverrides::from_config_map(&cm).expect("cm"), AssessOptions::default());
    let ctx = RunContext::default();
    let obj = rollout();
    let mut cert = rollout();
    cert["apiVersion"] = json!("cert-manager.io/v1");
    cert["kind"] = json!("Certificate");
    cert["status"]["conditions"][2] = json!({"type": "Ready", "status": "True"});
    assert!(assessor.resource_health(&obj, &ctx).is_some());
    let mut g = c.benchmark_group(format!("lua_health_cached_{label}"));
    g.throughput(Throughput::Elements(1));
    g.bench_function("rollout_seed_script", |b| b.iter(|| assessor.resource_health(black_box(&obj), &ctx)));
    g.bench_function("certificate_condition_loop", |b| {
        b.iter(|| assessor.resource_health(black_box(&cert), &ctx))
    });
    g.finish();
}

fn builtin<M: Measurement>(c: &mut Criterion<M>, label: &str) {
    let assessor = HealthAssessor::new(ResourceOverrides::default(), AssessOptions::default());
    let ctx = RunContext::default();
    let d = deployment(0);
    let p = pod(0);
    let objs = mixed();
    let mut g = c.benchmark_group(format!("builtin_health_{label}"));
    g.throughput(Throughput::Elements(1));
    g.bench_function("deployment", |b| b.iter(|| assessor.resource_health(black_box(&d), &ctx)));
    g.bench_function("pod", |b| b.iter(|| assessor.resource_health(black_box(&p), &ctx)));
    g.throughput(Throughput::Elements(objs.len() as u64));
    g.bench_function("mixed_500", |b| {
        b.iter(|| objs.iter().filter_map(|o| assessor.resource_health(black_box(o), &ctx)).count())
    });
    g.finish();
}

fn wall(c: &mut Criterion) {
    lua(c, "wall");
    builtin(c, "wall");
}

fn cpu(c: &mut Criterion<OnCpu>) {
    lua(c, "cpu");
    builtin(c, "cpu");
}

criterion_group!(wall_time, wall);
criterion_group! {
    name = cpu_time;
    config = Criterion::default().with_measurement(OnCpu);
    targets = cpu
}
criterion_main!(wall_time, cpu_time);
