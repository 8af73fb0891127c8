//! Application health aggregation: precedence, exclusions, and what Missing resources do.

use serde_json::{Value, json};
use tiphys_health::{
    AssessOptions, HealthAssessor, HealthStatusCode, HealthStatusCode::*, ManagedResource, ResourceOverrides,
    RunContext,
};
use tiphys_resource::ResourceKey;

fn pvc(name: &str, phase: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "ns"}, "status": {"phase": phase}})
}

fn job_with(name: &str, condition: &str, annotations: Value) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "ns", "annotations": annotations},
           "status": {"conditions": [{"type": condition, "status": "True"}]}})
}

fn child_app(name: &str, status: &str) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": name, "namespace": "argocd"}, "status": {"health": {"status": status}}})
}

fn live(objs: &[Value]) -> Vec<ManagedResource<'_>> {
    objs.iter().map(|o| ManagedResource { target: Some(o), live: Some(o) }).collect()
}

fn aggregate(resources: &[ManagedResource<'_>], options: AssessOptions) -> HealthStatusCode {
    HealthAssessor::new(ResourceOverrides::default(), options)
        .application_health(resources, None, &RunContext::default())
        .status
}

#[test]
fn worst_status_wins_in_upstream_order() {
    let cases: Vec<(Vec<&str>, HealthStatusCode)> = vec![
        (vec!["Bound"], Healthy),
        (vec!["Bound", "Pending"], Progressing),
        (vec!["Pending", "Lost"], Degraded),
        (vec!["Lost", "Weird"], Unknown),
        (vec![], Healthy),
    ];
    for (phases, want) in cases {
        let objs: Vec<Value> = phases.iter().enumerate().map(|(i, p)| pvc(&format!("d{i}"), p)).collect();
        assert_eq!(aggregate(&live(&objs), AssessOptions::default()), want, "{phases:?}");
    }
    let suspended = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"paused": true}});
    let objs = [pvc("a", "Bound"), suspended.clone()];
    assert_eq!(aggregate(&live(&objs), AssessOptions::default()), Suspended);
    let objs = [pvc("a", "Pending"), suspended];
    assert_eq!(
        aggregate(&live(&objs), AssessOptions::default()),
        Progressing,
        "Progressing is worse than Suspended"
    );
}

#[test]
fn missing_resources_show_missing_but_do_not_lower_the_app() {
    let present = pvc("a", "Bound");
    let desired = pvc("b", "Bound");
    let resources = [
        ManagedResource { target: Some(&present), live: Some(&present) },
        ManagedResource { target: Some(&desired), live: None },
    ];
    let assessor = HealthAssessor::new(ResourceOverrides::default(), AssessOptions::default());
    let health = assessor.application_health(&resources, None, &RunContext::default());
    assert_eq!(health.status, Healthy);
    assert_eq!(health.resources[1].as_ref().map(|h| h.status), Some(Missing));

    let only_missing = [ManagedResource { target: Some(&desired), live: None }];
    assert_eq!(aggregate(&only_missing, AssessOptions::default()), Missing, "nothing deployed at all");
    let degraded = pvc("c", "Lost");
    let resources = [
        ManagedResource { target: Some(&degraded), live: Some(&degraded) },
        ManagedResource { target: Some(&desired), live: None },
    ];
    assert_eq!(aggregate(&resources, AssessOptions::default()), Degraded);
}

#[test]
fn hooks_ignored_and_skipped_resources_are_excluded() {
    let failed_hook = job_with("migrate", "Failed", json!({"argocd.argoproj.io/hook": "PreSync"}));
    let failed_helm_hook = job_with("helm-test", "Failed", json!({"helm.sh/hook": "post-install"}));
    let unknown_helm_hook = job_with("helm-x", "Failed", json!({"helm.sh/hook": "test-success"}));
    let opted_out = job_with("flaky", "Failed", json!({"argocd.argoproj.io/ignore-healthcheck": "true"}));
    let fine = pvc("a", "Bound");
    let objs = [failed_hook, failed_helm_hook, unknown_helm_hook, opted_out, fine];
    assert_eq!(aggregate(&live(&objs), AssessOptions::default()), Healthy);

    let skipped = job_with("skip", "Failed", json!({"argocd.argoproj.io/hook": "Skip"}));
    let resources = [ManagedResource { target: Some(&skipped), live: None }];
    assert_eq!(
        aggregate(&resources, AssessOptions::default()),
        Healthy,
        "a Skip hook is not expected to exist"
    );
    let crd_install = job_with("crd", "Failed", json!({"helm.sh/hook": "crd-install"}));
    assert_eq!(
        aggregate(&live(&[crd_install]), AssessOptions::default()),
        Degraded,
        "crd-install is not a hook"
    );
}

#[test]
fn kinds_without_health_do_not_count() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}});
    assert_eq!(aggregate(&live(&[cm, ns, pvc("a", "Pending")]), AssessOptions::default()), Progressing);
}

#[test]
fn child_applications() {
    let opted = AssessOptions { assess_applications: true, ..Default::default() };
    let degraded = child_app("a", "Degraded");
    assert_eq!(
        aggregate(&live(std::slice::from_ref(&degraded)), AssessOptions::default()),
        Healthy,
        "not assessed by default"
    );
    assert_eq!(aggregate(&live(std::slice::from_ref(&degraded)), opted), Degraded);
    let unknown = child_app("b", "Unknown");
    let missing = child_app("c", "Missing");
    assert_eq!(
        aggregate(&live(&[unknown, missing, pvc("p", "Bound")]), opted),
        Healthy,
        "Missing/Unknown children do not count"
    );

    let itself = child_app("root", "Degraded");
    let key = ResourceKey::of(&itself).unwrap();
    let assessor = HealthAssessor::new(ResourceOverrides::default(), opted);
    let health =
        assessor.application_health(&live(std::slice::from_ref(&itself)), Some(&key), &RunContext::default());
    assert_eq!(health.status, Healthy, "an app managing itself ignores its own health");
}
