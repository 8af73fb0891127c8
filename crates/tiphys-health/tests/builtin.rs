//! Table tests for upstream's built-in checks: every rule of every kind, status and message.

use serde_json::{Value, json};
use tiphys_health::{
    AssessOptions, HealthAssessor, HealthStatusCode, HealthStatusCode::*, ResourceOverrides, RunContext,
};

fn assess(obj: &Value) -> Option<(HealthStatusCode, String)> {
    let assessor = HealthAssessor::new(ResourceOverrides::default(), AssessOptions::default());
    assessor.resource_health(obj, &RunContext::default()).map(|h| (h.status, h.message))
}

fn run_table(kind: &str, cases: Vec<(&str, Value, HealthStatusCode, &str)>) {
    for (name, obj, status, message) in cases {
        let got = assess(&obj);
        assert_eq!(got, Some((status, message.to_string())), "{kind}: {name}");
    }
}

fn unknown_starting_with(obj: &Value, prefix: &str) {
    let (status, message) = assess(obj).expect("a built-in kind has health");
    assert_eq!(status, Unknown, "{obj}");
    assert!(message.starts_with(prefix), "{message:?} should start with {prefix:?}");
}

fn deploy(spec: Value, status: Value, generation: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "generation": generation}, "spec": spec, "status": status})
}

#[test]
fn deployment() {
    let done = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3});
    run_table(
        "Deployment",
        vec![
            (
                "paused",
                deploy(json!({"paused": true, "replicas": 3}), json!({}), 5),
                Suspended,
                "Deployment is paused",
            ),
            (
                "generation not observed",
                deploy(json!({"replicas": 3}), done.clone(), 3),
                Progressing,
                "Waiting for rollout to finish: observed deployment generation less than desired generation",
            ),
            (
                "progress deadline",
                deploy(
                    json!({"replicas": 3}),
                    json!({"observedGeneration": 2, "updatedReplicas": 1, "conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}),
                    2,
                ),
                Degraded,
                "Deployment \"web\" exceeded its progress deadline",
            ),
            (
                "new replicas not updated",
                deploy(
                    json!({"replicas": 3}),
                    json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1}),
                    2,
                ),
                Progressing,
                "Waiting for rollout to finish: 1 out of 3 new replicas have been updated...",
            ),
            (
                "old replicas terminating",
                deploy(
                    json!({"replicas": 3}),
                    json!({"observedGeneration": 2, "replicas": 5, "updatedReplicas": 3}),
                    2,
                ),
                Progressing,
                "Waiting for rollout to finish: 2 old replicas are pending termination...",
            ),
            (
                "updated not available",
                deploy(
                    json!({"replicas": 3}),
                    json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 1}),
                    2,
                ),
                Progressing,
                "Waiting for rollout to finish: 1 of 3 updated replicas are available...",
            ),
            ("complete", deploy(json!({"replicas": 3}), done.clone(), 2), Healthy, ""),
            ("replicas unset and nothing running", deploy(json!({}), json!({}), 0), Healthy, ""),
        ],
    );
    let mut old = deploy(json!({}), done, 1);
    old["apiVersion"] = json!("apps/v1beta2");
    assert_eq!(
        assess(&old),
        Some((Unknown, "unsupported Deployment GVK: apps/v1beta2, Kind=Deployment".into()))
    );
    unknown_starting_with(
        &deploy(json!({"replicas": "three"}), json!({}), 1),
        "failed to convert unstructured Deployment to typed:",
    );
}

fn sts(spec: Value, status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "generation": 1}, "spec": spec, "status": status})
}

#[test]
fn statefulset() {
    let partitioned = |partition: i64| json!({"replicas": 3, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": partition}}});
    run_table(
        "StatefulSet",
        vec![
            (
                "never observed",
                sts(json!({"replicas": 3}), json!({})),
                Progressing,
                "Waiting for statefulset spec update to be observed...",
            ),
            (
                "pods not ready",
                sts(json!({"replicas": 3}), json!({"observedGeneration": 1, "readyReplicas": 1})),
                Progressing,
                "Waiting for 2 pods to be ready...",
            ),
            (
                "partition rolling",
                sts(
                    partitioned(2),
                    json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 0}),
                ),
                Progressing,
                "Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated...",
            ),
            (
                "partition done",
                sts(
                    partitioned(2),
                    json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1}),
                ),
                Healthy,
                "partitioned roll out complete: 1 new pods have been updated...",
            ),
            (
                "rollingUpdate without partition",
                sts(
                    json!({"replicas": 3, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {}}}),
                    json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 3}),
                ),
                Healthy,
                "partitioned roll out complete: 3 new pods have been updated...",
            ),
            (
                "on delete",
                sts(
                    json!({"replicas": 3, "updateStrategy": {"type": "OnDelete"}}),
                    json!({"observedGeneration": 1, "readyReplicas": 3}),
                ),
                Healthy,
                "statefulset has 3 ready pods",
            ),
            (
                "revision rolling",
                sts(
                    json!({"replicas": 3}),
                    json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 2, "currentRevision": "db-1", "updateRevision": "db-2"}),
                ),
                Progressing,
                "waiting for statefulset rolling update to complete 2 pods at revision db-2...",
            ),
            (
                "complete",
                sts(
                    json!({"replicas": 3}),
                    json!({"observedGeneration": 1, "readyReplicas": 3, "currentReplicas": 3, "currentRevision": "db-1", "updateRevision": "db-1"}),
                ),
                Healthy,
                "statefulset rolling update complete 3 pods at revision db-1...",
            ),
        ],
    );
}

fn ds(spec: Value, status: Value, generation: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "generation": generation}, "spec": spec, "status": status})
}

#[test]
fn daemonset() {
    let st = |updated: i64, available: i64| json!({"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": updated, "numberAvailable": available});
    run_table(
        "DaemonSet",
        vec![
            (
                "generation not observed",
                ds(json!({}), st(3, 3), 2),
                Progressing,
                "Waiting for rollout to finish: observed daemon set generation less than desired generation",
            ),
            (
                "on delete",
                ds(json!({"updateStrategy": {"type": "OnDelete"}}), st(1, 3), 1),
                Healthy,
                "daemon set 1 out of 3 new pods have been updated",
            ),
            (
                "updating",
                ds(json!({}), st(1, 3), 1),
                Progressing,
                "Waiting for daemon set \"agent\" rollout to finish: 1 out of 3 new pods have been updated...",
            ),
            (
                "not available",
                ds(json!({}), st(3, 2), 1),
                Progressing,
                "Waiting for daemon set \"agent\" rollout to finish: 2 of 3 updated pods are available...",
            ),
            ("complete", ds(json!({}), st(3, 3), 1), Healthy, ""),
        ],
    );
}

fn rs(status: Value, generation: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-1", "generation": generation}, "spec": {"replicas": 3}, "status": status})
}

#[test]
fn replicaset() {
    run_table(
        "ReplicaSet",
        vec![
            (
                "generation not observed",
                rs(json!({"observedGeneration": 1}), 2),
                Progressing,
                "Waiting for rollout to finish: observed replica set generation less than desired generation",
            ),
            (
                "replica failure",
                rs(
                    json!({"observedGeneration": 1, "conditions": [{"type": "ReplicaFailure", "status": "True", "message": "quota exceeded"}]}),
                    1,
                ),
                Degraded,
                "quota exceeded",
            ),
            (
                "replica failure resolved",
                rs(
                    json!({"observedGeneration": 1, "availableReplicas": 3, "conditions": [{"type": "ReplicaFailure", "status": "False"}]}),
                    1,
                ),
                Healthy,
                "",
            ),
            (
                "not available",
                rs(json!({"observedGeneration": 1, "availableReplicas": 1}), 1),
                Progressing,
                "Waiting for rollout to finish: 1 out of 3 new replicas are available...",
            ),
            ("complete", rs(json!({"observedGeneration": 1, "availableReplicas": 3}), 1), Healthy, ""),
        ],
    );
}

fn pod(restart: Option<&str>, status: Value, annotations: Value) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": annotations}, "spec": {}, "status": status});
    if let Some(r) = restart {
        p["spec"]["restartPolicy"] = json!(r);
    }
    p
}

fn waiting(reason: &str, message: &str) -> Value {
    json!({"name": "app", "state": {"waiting": {"reason": reason, "message": message}}})
}

#[test]
fn pod_rules() {
    let none = json!({});
    let ready = json!([{"type": "Ready", "status": "True"}]);
    let not_ready = json!([{"type": "Ready", "status": "False"}]);
    run_table(
        "Pod",
        vec![
            (
                "crash loop and image pull back-off are joined",
                pod(
                    Some("Always"),
                    json!({"phase": "Running", "containerStatuses": [waiting("CrashLoopBackOff", "back-off 5m0s restarting"), waiting("ImagePullBackOff", "Back-off pulling image")]}),
                    none.clone(),
                ),
                Degraded,
                "back-off 5m0s restarting, Back-off pulling image",
            ),
            (
                "ErrImagePull",
                pod(
                    Some("Always"),
                    json!({"phase": "Pending", "containerStatuses": [waiting("ErrImagePull", "not found")]}),
                    none.clone(),
                ),
                Degraded,
                "not found",
            ),
            (
                "CreateContainerConfigError",
                pod(
                    Some("Always"),
                    json!({"phase": "Pending", "containerStatuses": [waiting("CreateContainerConfigError", "secret missing")]}),
                    none.clone(),
                ),
                Degraded,
                "secret missing",
            ),
            (
                "ContainerCreating is not an error",
                pod(
                    Some("Always"),
                    json!({"phase": "Pending", "message": "", "containerStatuses": [waiting("ContainerCreating", "")]}),
                    none.clone(),
                ),
                Progressing,
                "",
            ),
            (
                "hook pods with back-off stay progressing",
                pod(
                    Some("Never"),
                    json!({"phase": "Pending", "containerStatuses": [waiting("ImagePullBackOff", "x")]}),
                    none.clone(),
                ),
                Progressing,
                "",
            ),
            (
                "pending",
                pod(Some("Always"), json!({"phase": "Pending", "message": "Unschedulable"}), none.clone()),
                Progressing,
                "Unschedulable",
            ),
            ("succeeded", pod(Some("Never"), json!({"phase": "Succeeded"}), none.clone()), Healthy, ""),
            (
                "failed with message",
                pod(Some("Never"), json!({"phase": "Failed", "message": "Evicted"}), none.clone()),
                Degraded,
                "Evicted",
            ),
            (
                "failed init container exit code wins over containers",
                pod(
                    Some("Never"),
                    json!({"phase": "Failed",
                        "initContainerStatuses": [{"name": "init-db", "state": {"terminated": {"exitCode": 1}}}],
                        "containerStatuses": [{"name": "app", "state": {"terminated": {"exitCode": 2}}}]}),
                    none.clone(),
                ),
                Degraded,
                "container \"init-db\" failed with exit code 1",
            ),
            (
                "failed OOMKilled",
                pod(
                    Some("Never"),
                    json!({"phase": "Failed", "containerStatuses": [{"name": "app", "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}),
                    none.clone(),
                ),
                Degraded,
                "OOMKilled",
            ),
            (
                "failed terminated message",
                pod(
                    Some("Never"),
                    json!({"phase": "Failed", "containerStatuses": [{"name": "app", "state": {"terminated": {"message": "panic: x", "exitCode": 2}}}]}),
                    none.clone(),
                ),
                Degraded,
                "panic: x",
            ),
            (
                "failed, exit 0 everywhere",
                pod(
                    Some("Never"),
                    json!({"phase": "Failed", "containerStatuses": [{"name": "app", "state": {"terminated": {"exitCode": 0}}}]}),
                    none.clone(),
                ),
                Degraded,
                "",
            ),
            (
                "running ready",
                pod(Some("Always"), json!({"phase": "Running", "conditions": ready.clone()}), none.clone()),
                Healthy,
                "",
            ),
            (
                "running not ready after a restart",
                pod(
                    Some("Always"),
                    json!({"phase": "Running", "conditions": not_ready.clone(), "containerStatuses": [{"name": "app", "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 1}}}]}),
                    none.clone(),
                ),
                Degraded,
                "",
            ),
            (
                "running not ready",
                pod(Some("Always"), json!({"phase": "Running", "conditions": not_ready}), none.clone()),
                Progressing,
                "",
            ),
            (
                "running hook pod",
                pod(Some("Never"), json!({"phase": "Running", "conditions": ready.clone()}), none.clone()),
                Progressing,
                "",
            ),
            (
                "running OnFailure",
                pod(Some("OnFailure"), json!({"phase": "Running"}), none.clone()),
                Progressing,
                "",
            ),
            (
                "ignore-restart-policy makes a Never pod assessed like Always",
                pod(
                    Some("Never"),
                    json!({"phase": "Running", "conditions": ready}),
                    json!({"argocd.argoproj.io/ignore-restart-policy": "true"}),
                ),
                Healthy,
                "",
            ),
            (
                "running without restart policy",
                pod(None, json!({"phase": "Running", "message": "m"}), none.clone()),
                Unknown,
                "m",
            ),
            ("unknown phase", pod(Some("Always"), json!({"phase": "Unknown"}), none), Unknown, ""),
        ],
    );
}

#[test]
fn service_ingress_pvc() {
    let svc = |t: &str, ingress: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"type": t}, "status": {"loadBalancer": {"ingress": ingress}}});
    run_table(
        "Service",
        vec![
            ("cluster ip", svc("ClusterIP", json!([])), Healthy, ""),
            ("load balancer pending", svc("LoadBalancer", json!([])), Progressing, ""),
            ("load balancer ready", svc("LoadBalancer", json!([{"ip": "10.0.0.1"}])), Healthy, ""),
        ],
    );
    let ing = |api: &str, ingress: Value| json!({"apiVersion": api, "kind": "Ingress", "metadata": {"name": "i"}, "status": {"loadBalancer": {"ingress": ingress}}});
    run_table(
        "Ingress",
        vec![
            ("no address", ing("networking.k8s.io/v1", json!([])), Progressing, ""),
            ("address", ing("networking.k8s.io/v1", json!([{"hostname": "lb.example.com"}])), Healthy, ""),
            ("extensions group", ing("extensions/v1beta1", json!([{"ip": "1.2.3.4"}])), Healthy, ""),
            (
                "no status at all",
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"}}),
                Progressing,
                "",
            ),
        ],
    );
    let pvc = |phase: &str| json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "d"}, "status": {"phase": phase}});
    run_table(
        "PersistentVolumeClaim",
        vec![
            ("bound", pvc("Bound"), Healthy, ""),
            ("pending", pvc("Pending"), Progressing, ""),
            ("lost", pvc("Lost"), Degraded, ""),
            ("no phase", pvc(""), Unknown, ""),
        ],
    );
}

fn job(conditions: Value) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "status": {"conditions": conditions}})
}

#[test]
fn job_rules() {
    run_table(
        "Job",
        vec![
            ("running", job(json!([])), Progressing, ""),
            (
                "complete",
                job(json!([{"type": "Complete", "status": "True", "message": "done"}])),
                Healthy,
                "done",
            ),
            (
                "failed",
                job(json!([{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}])),
                Degraded,
                "BackoffLimitExceeded",
            ),
            (
                "suspended",
                job(json!([{"type": "Suspended", "status": "True", "message": "Job suspended"}])),
                Suspended,
                "",
            ),
            (
                "resumed",
                job(json!([{"type": "Suspended", "status": "False", "message": "Job resumed"}])),
                Healthy,
                "Job resumed",
            ),
        ],
    );
}

fn hpa(version: &str, annotations: Value, conditions: Value) -> Value {
    json!({"apiVersion": format!("autoscaling/{version}"), "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "annotations": annotations}, "status": {"conditions": conditions}})
}

#[test]
fn hpa_rules_for_every_version() {
    let v1 = |conditions: &str| {
        hpa("v1", json!({"autoscaling.alpha.kubernetes.io/conditions": conditions}), json!(null))
    };
    run_table(
        "HorizontalPodAutoscaler",
        vec![
            ("v1 without annotation", hpa("v1", json!({}), json!(null)), Progressing, "Waiting to Autoscale"),
            ("v1 empty annotation list", v1("[]"), Progressing, "Waiting to Autoscale"),
            (
                "v1 able to scale",
                v1(
                    r#"[{"type":"AbleToScale","status":"True","reason":"SucceededGetScale","message":"the HPA controller was able to get the target's current scale"}]"#,
                ),
                Healthy,
                "the HPA controller was able to get the target's current scale",
            ),
            (
                "v1 failed get scale",
                v1(
                    r#"[{"type":"AbleToScale","status":"False","reason":"FailedGetScale","message":"no such deployment"}]"#,
                ),
                Degraded,
                "no such deployment",
            ),
            (
                "v2beta1 failed metric",
                hpa(
                    "v2beta1",
                    json!({}),
                    json!([{"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric", "message": "no metrics"}]),
                ),
                Degraded,
                "no metrics",
            ),
            (
                "v2beta2 scaling limited",
                hpa(
                    "v2beta2",
                    json!({}),
                    json!([{"type": "ScalingLimited", "status": "True", "reason": "TooFewReplicas", "message": "min"}]),
                ),
                Healthy,
                "min",
            ),
            (
                "v2 invalid selector",
                hpa(
                    "v2",
                    json!({}),
                    json!([{"type": "ScalingActive", "status": "False", "reason": "InvalidSelector", "message": "bad selector"}]),
                ),
                Degraded,
                "bad selector",
            ),
            (
                "v2 failed update scale",
                hpa(
                    "v2",
                    json!({}),
                    json!([{"type": "AbleToScale", "status": "False", "reason": "FailedUpdateScale", "message": "conflict"}]),
                ),
                Degraded,
                "conflict",
            ),
            (
                "v2 nothing decisive",
                hpa(
                    "v2",
                    json!({}),
                    json!([{"type": "AbleToScale", "status": "False", "reason": "BackoffBoth"}]),
                ),
                Progressing,
                "Waiting to Autoscale",
            ),
        ],
    );
    unknown_starting_with(&v1("not json"), "failed to convert conditions annotation to typed:");
    assert_eq!(
        assess(&hpa("v3", json!({}), json!([]))),
        Some((Unknown, "unsupported HPA GVK: autoscaling/v3, Kind=HorizontalPodAutoscaler".into()))
    );
}

#[test]
fn apiservice() {
    let api = |version: &str, conditions: Value| json!({"apiVersion": format!("apiregistration.k8s.io/{version}"), "kind": "APIService", "metadata": {"name": "v1beta1.metrics.k8s.io"}, "status": {"conditions": conditions}});
    run_table(
        "APIService",
        vec![
            (
                "available",
                api(
                    "v1",
                    json!([{"type": "Available", "status": "True", "reason": "Passed", "message": "all checks passed"}]),
                ),
                Healthy,
                "Passed: all checks passed",
            ),
            (
                "unavailable",
                api(
                    "v1",
                    json!([{"type": "Available", "status": "False", "reason": "FailedDiscoveryCheck", "message": "no response"}]),
                ),
                Progressing,
                "FailedDiscoveryCheck: no response",
            ),
            ("no condition", api("v1", json!([])), Progressing, "Waiting to be processed"),
            (
                "v1beta1",
                api(
                    "v1beta1",
                    json!([{"type": "Available", "status": "True", "reason": "Local", "message": ""}]),
                ),
                Healthy,
                "Local: ",
            ),
        ],
    );
    assert_eq!(assess(&api("v2", json!([]))).map(|h| h.0), Some(Unknown));
}

#[test]
fn workflow() {
    let wf = |phase: &str| json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w"}, "status": {"phase": phase, "message": "m"}});
    run_table(
        "Workflow",
        vec![
            ("running", wf("Running"), Progressing, "m"),
            ("succeeded", wf("Succeeded"), Healthy, "m"),
            ("error", wf("Error"), Degraded, "m"),
            ("failed", wf("Failed"), Degraded, "m"),
            ("odd", wf("Odd"), Unknown, "m"),
        ],
    );
}

#[test]
fn namespace_and_other_kinds_have_no_health_unless_deleting() {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}, "status": {"phase": "Active"}});
    assert_eq!(assess(&ns), None, "upstream has no built-in Namespace check");
    let terminating = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a", "deletionTimestamp": "2026-01-01T00:00:00Z"}, "status": {"phase": "Terminating"}});
    assert_eq!(assess(&terminating), Some((Progressing, "Pending deletion".into())));
    assert_eq!(assess(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})), None);
}

#[test]
fn pending_deletion_precedes_checks_except_for_watched_hooks() {
    let mut d = deploy(json!({"paused": true}), json!({}), 1);
    d["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    assert_eq!(assess(&d), Some((Progressing, "Pending deletion".into())));
    d["metadata"]["finalizers"] = json!(["argocd.argoproj.io/hook-finalizer"]);
    assert_eq!(assess(&d), Some((Suspended, "Deployment is paused".into())));
}

#[test]
fn applications_are_assessed_only_when_opted_in() {
    let app = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "child"}, "status": {"health": {"status": "Degraded", "message": "child broke"}}});
    assert_eq!(assess(&app), None, "upstream stopped assessing Applications in v1.8");
    let opted = HealthAssessor::new(
        ResourceOverrides::default(),
        AssessOptions { assess_applications: true, ..Default::default() },
    );
    let h = opted.resource_health(&app, &RunContext::default()).unwrap();
    assert_eq!((h.status, h.message.as_str()), (Degraded, "child broke"));
}

#[test]
fn objects_without_identity_are_unknown() {
    let (status, message) = assess(&json!({"kind": "Deployment"})).unwrap();
    assert_eq!(status, Unknown);
    assert!(message.contains("apiVersion"), "{message}");
}
