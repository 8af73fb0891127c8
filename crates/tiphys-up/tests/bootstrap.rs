//! The installation objects and Applications applied to a real sandbox over HTTP, and the
//! Application health check they configure evaluated by `tiphys-health`.

use std::time::Duration;

use serde_json::{Value, json};
use tiphys_kube::{ApplyMode, Cluster, WriteOptions};
use tiphys_resource::ResourceKey;
use tiphys_up::bootstrap;
use tiphys_up::repo::{APPS, CHILD_APPS};

const URL: &str = "http://127.0.0.1:9/examples";

async fn get(cluster: &Cluster, group: &str, kind: &str, ns: &str, name: &str) -> Option<Value> {
    cluster.get(&ResourceKey::new(group, kind, ns, name)).await.unwrap()
}

#[tokio::test]
async fn install_applies_everything_and_a_second_run_keeps_user_edits() {
    let sandbox = tiphys_sandbox::Sandbox::start(Default::default()).await.unwrap();
    let cluster = Cluster::from_kubeconfig_text(&sandbox.kubeconfig(), None).await.unwrap();
    bootstrap::install(&cluster, URL, Duration::from_secs(20)).await.unwrap();

    for crd in ["applications.argoproj.io", "appprojects.argoproj.io", "applicationsets.argoproj.io"] {
        assert!(
            get(&cluster, "apiextensions.k8s.io", "CustomResourceDefinition", "", crd).await.is_some(),
            "{crd}"
        );
    }
    for app in APPS.iter().chain(CHILD_APPS) {
        assert!(get(&cluster, "", "Namespace", "", app.namespace).await.is_some(), "{}", app.namespace);
    }
    let cm = get(&cluster, "", "ConfigMap", "argocd", "argocd-cm").await.unwrap();
    assert_eq!(
        cm["data"]["resource.customizations.health.argoproj.io_Application"],
        bootstrap::APPLICATION_HEALTH_LUA
    );
    assert_eq!(cm["data"]["timeout.reconciliation"], "15s");
    let project = get(&cluster, "argoproj.io", "AppProject", "argocd", "default").await.unwrap();
    assert_eq!(project["spec"]["sourceRepos"], json!(["*"]));
    assert_eq!(project["spec"]["destinations"], json!([{"server": "*", "namespace": "*"}]));
    for app in APPS {
        let live = get(&cluster, "argoproj.io", "Application", "argocd", app.name).await.unwrap();
        assert_eq!(live["spec"]["source"]["repoURL"], URL);
        assert_eq!(live["spec"]["source"]["path"], app.path);
        assert_eq!(live["spec"]["destination"]["namespace"], app.namespace);
    }

    // The user points an app elsewhere; a restart's install must not undo it.
    let mut edited = bootstrap::application(&APPS[0], URL);
    edited["spec"]["source"]["targetRevision"] = json!("some-branch");
    let options = WriteOptions { field_manager: "kubectl".into(), dry_run: false };
    cluster.apply(&edited, ApplyMode::ServerSide { force: true }, &options).await.unwrap();
    // And deletes another; a restart registers it again.
    let gone = bootstrap::application(&APPS[1], URL);
    cluster
        .delete(&ResourceKey::of(&gone).unwrap(), tiphys_kube::Propagation::Background, false)
        .await
        .unwrap();

    bootstrap::install(&cluster, URL, Duration::from_secs(20)).await.unwrap();
    let live = get(&cluster, "argoproj.io", "Application", "argocd", APPS[0].name).await.unwrap();
    assert_eq!(live["spec"]["source"]["targetRevision"], "some-branch");
    assert!(get(&cluster, "argoproj.io", "Application", "argocd", APPS[1].name).await.is_some());
    sandbox.shutdown().await;
}

#[test]
fn the_application_health_check_reports_the_child_health_and_progressing_until_then() {
    let data = [(
        "resource.customizations.health.argoproj.io_Application".to_string(),
        bootstrap::APPLICATION_HEALTH_LUA.to_string(),
    )]
    .into_iter()
    .collect();
    let overrides = tiphys_health::ResourceOverrides::from_data(&data).unwrap();
    let assessor = tiphys_health::HealthAssessor::new(overrides, Default::default());
    let ctx = tiphys_health::RunContext { now_unix: 0, deadline: None };
    let app = |status: Value| {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
               "metadata": {"name": "child", "namespace": "argocd"}, "status": status})
    };
    let health = |obj: Value| {
        let h = assessor.resource_health(&obj, &ctx).expect("the customization assesses Applications");
        (serde_json::to_value(h.status).unwrap(), h.message)
    };
    let mut fresh = app(json!({}));
    fresh.as_object_mut().unwrap().remove("status");
    assert_eq!(health(fresh), (json!("Progressing"), String::new()));
    assert_eq!(health(app(json!({"sync": {"status": "Synced"}}))), (json!("Progressing"), String::new()));
    assert_eq!(health(app(json!({"health": {"status": "Healthy"}}))), (json!("Healthy"), String::new()));
    assert_eq!(
        health(app(json!({"health": {"status": "Degraded", "message": "Job failed"}}))),
        (json!("Degraded"), "Job failed".to_string())
    );
}
