//! Strategic merge patch and server-side apply on a typical Deployment: the per-request cost
//! of the sandbox's PATCH handler and of the diff engine's apply predictions.
#![allow(missing_docs, reason = "criterion_group! generates an undocumented pub fn")]

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use tiphys_patch::{
    apply_strategic_merge_patch, create_three_way_merge_patch, server_side_apply, update_managed_fields,
};
use tiphys_resource::GroupVersionKind;

fn deployment(image: &str, replicas: u32) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", "tier": "frontend"},
                     "annotations": {"team": "payments"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web", "tier": "frontend"}},
                "spec": {
                    "containers": [{
                        "name": "web", "image": image,
                        "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 9090, "name": "metrics"}],
                        "env": [{"name": "MODE", "value": "prod"}, {"name": "LOG", "value": "info"},
                                {"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}}],
                        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m"}},
                        "volumeMounts": [{"name": "config", "mountPath": "/etc/web"}],
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}
                    }, {
                        "name": "sidecar", "image": "envoy:1.30",
                        "ports": [{"containerPort": 15001}]
                    }],
                    "volumes": [{"name": "config", "configMap": {"name": "web-config"}}],
                    "tolerations": [{"key": "spot", "operator": "Exists"}]
                }
            }
        }
    })
}

fn benches(c: &mut Criterion) {
    let gvk = GroupVersionKind { group: "apps".into(), version: "v1".into(), kind: "Deployment".into() };
    let live = deployment("shop/web:1.0", 3);
    let smp = json!({"spec": {"replicas": 5, "template": {"spec": {"containers": [
        {"name": "web", "image": "shop/web:1.1", "env": [{"name": "LOG", "value": "debug"}]}]}}}});
    c.bench_function("smp_apply_deployment", |b| {
        b.iter(|| apply_strategic_merge_patch(&live, &smp, &gvk));
    });
    let modified = deployment("shop/web:1.1", 5);
    c.bench_function("smp_three_way_deployment", |b| {
        b.iter(|| create_three_way_merge_patch(&live, &modified, &live, &gvk));
    });
    let now = "2026-11-22T18:00:00Z";
    let owned = server_side_apply(None, &live, "argocd", false, &gvk, now).unwrap_or_default();
    c.bench_function("ssa_create_deployment", |b| {
        b.iter(|| server_side_apply(None, &live, "argocd", false, &gvk, now));
    });
    c.bench_function("update_managed_fields_create_deployment", |b| {
        b.iter(|| update_managed_fields(None, &live, "kubectl-create", &gvk, now));
    });
    let created = update_managed_fields(None, &live, "kubectl-create", &gvk, now).unwrap_or_default();
    let mut scaled = created.clone();
    scaled["spec"]["replicas"] = json!(7);
    c.bench_function("update_managed_fields_scale_deployment", |b| {
        b.iter(|| update_managed_fields(Some(&created), &scaled, "kubectl-scale", &gvk, now));
    });
    c.bench_function("ssa_reapply_changed_deployment", |b| {
        b.iter(|| server_side_apply(Some(&owned), &modified, "argocd", false, &gvk, now));
    });
}

criterion_group!(patch, benches);
criterion_main!(patch);
