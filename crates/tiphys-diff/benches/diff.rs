//! Diff throughput on typical resources: a Deployment, a Service and a ConfigMap as the API
//! server returns them (server metadata, defaults, status, last-applied annotation), with one
//! app-level ignore rule, compared through `Differ::diff_app` like a reconcile does.

#[path = "support/cpu_time.rs"]
mod cpu_time;

use criterion::measurement::Measurement;
use criterion::{Criterion, SamplingMode, Throughput};
use serde_json::{Value, json};
use tiphys_diff::{DiffSettings, Differ, ResourceIgnoreDifferences};

fn desired(i: usize) -> [Value; 3] {
    let name = format!("app-{i}");
    [
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "registry.example.com/app:1.2.3",
                    "env": [{"name": "MODE", "value": "prod"}, {"name": "PORT", "value": "8080"}],
                    "ports": [{"containerPort": 8080}], "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1000m", "memory": "1Gi"}},
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}]}}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"config.yaml": "a: 1\nb: 2\n", "LOG_LEVEL": "info"}}),
    ]
}

fn live(d: &Value, i: usize) -> Value {
    let mut l = d.clone();
    let meta = l["metadata"].as_object_mut().unwrap_or_else(|| unreachable!());
    meta.insert("namespace".into(), json!("bench"));
    meta.insert("uid".into(), json!(format!("uid-{i}")));
    meta.insert("resourceVersion".into(), json!("12345"));
    meta.insert("creationTimestamp".into(), json!("2026-01-01T00:00:00Z"));
    meta.insert(
        "annotations".into(),
        json!({"kubectl.kubernetes.io/last-applied-configuration": d.to_string()}),
    );
    meta.insert("managedFields".into(), json!([{"manager": "kubectl-client-side-apply", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}}]));
    match d["kind"].as_str() {
        Some("Deployment") => {
            let spec = &mut l["spec"];
            spec["revisionHistoryLimit"] = json!(10);
            spec["progressDeadlineSeconds"] = json!(600);
            spec["strategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
            let pod = &mut spec["template"]["spec"];
            pod["restartPolicy"] = json!("Always");
            pod["dnsPolicy"] = json!("ClusterFirst");
            pod["schedulerName"] = json!("default-scheduler");
            pod["terminationGracePeriodSeconds"] = json!(30);
            let c = &mut pod["containers"][0];
            c["imagePullPolicy"] = json!("IfNotPresent");
            c["terminationMessagePath"] = json!("/dev/termination-log");
            c["terminationMessagePolicy"] = json!("File");
            c["resources"]["limits"]["cpu"] = json!("1");
            c["ports"][0]["protocol"] = json!("TCP");
            c["readinessProbe"]["timeoutSeconds"] = json!(1);
            c["readinessProbe"]["periodSeconds"] = json!(10);
            l["status"] =
                json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "availableReplicas": 2});
        }
        Some("Service") => {
            l["spec"]["type"] = json!("ClusterIP");
            l["spec"]["clusterIP"] = json!("10.0.0.1");
            l["spec"]["sessionAffinity"] = json!("None");
            l["spec"]["ports"][0]["protocol"] = json!("TCP");
        }
        _ => {}
    }
    l
}

fn bench<M: Measurement + 'static>(c: &mut Criterion<M>, clock: &str) {
    const APPS: usize = 100;
    let desired: Vec<Value> = (0..APPS).flat_map(desired).collect();
    let live: Vec<Value> = desired.iter().enumerate().map(|(i, d)| live(d, i)).collect();
    let rules: Vec<ResourceIgnoreDifferences> = serde_json::from_value(
        json!([{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]),
    )
    .unwrap_or_default();
    let differ = Differ::new(rules, &DiffSettings::default()).unwrap_or_else(|e| panic!("{e}"));
    let check = differ.diff_app(&desired, &live, "bench", &|_| false).unwrap_or_else(|e| panic!("{e}"));
    assert!(check.synced, "the bench fixture should be in sync");
    let mut g = c.benchmark_group(format!("diff_{clock}"));
    g.throughput(Throughput::Elements(desired.len() as u64));
    // Flat sampling: every sample is longer than the scheduler tick that updates CPU time.
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("diff_app_300_typical_resources", |b| {
        b.iter(|| differ.diff_app(&desired, &live, "bench", &|_| false))
    });
    g.finish();
}

cpu_time::main_wall_and_cpu!(bench);
