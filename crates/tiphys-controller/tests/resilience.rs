//! Failure handling end to end: retries with backoff, terminating a running operation, and
//! leader election between two controllers.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use support::*;
use tiphys_controller::ControllerConfig;
use tiphys_sandbox::simulator::SimulatorConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sync_is_retried_per_the_retry_strategy_then_fails_with_the_cause() {
    // The API server refuses the object (an invalid name), so every attempt fails.
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Valid_Name\ndata: {k: v}\n";
    let w = World::start(&[("app/cm.yaml", bad)], json!({})).await;
    w.create_app("retried", "app", "default", json!({})).await;
    w.wait_app("retried", "compared", WAIT, |a| !sync_status(a).is_empty()).await;
    w.patch(
        &app_key("retried"),
        json!({"operation": {"initiatedBy": {"username": "e2e"}, "sync": {},
            "retry": {"limit": 1, "backoff": {"duration": "1s", "factor": 2, "maxDuration": "5s"}}}}),
    )
    .await;
    let retrying = w
        .wait_app("retried", "a retry announced", WAIT, |a| {
            a["status"]["operationState"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("Retrying attempt #1"))
        })
        .await;
    assert_eq!(phase(&retrying), "Running");
    let failed = w.wait_app("retried", "the final failure", WAIT, |a| phase(a) == "Failed").await;
    let state = &failed["status"]["operationState"];
    assert_eq!(state["retryCount"], 1, "{state}");
    assert!(
        state["message"].as_str().unwrap_or_default().contains("Not_A_Valid_Name"),
        "names the object: {state}"
    );
    assert!(state["finishedAt"].is_string());
    assert!(failed.get("operation").is_none_or(|o| o.is_null()), "operation cleared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writing_terminating_stops_a_running_operation() {
    let slow = SimulatorConfig { job_duration: Duration::from_secs(30), ..SimulatorConfig::default() };
    let hook = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: slow\n  annotations:\n    argocd.argoproj.io/hook: PreSync\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: run\n        image: busybox:1.36\n";
    let after = configmap("after", json!({"k": "v"}));
    let w = World::start_with(&[("app/hook.yaml", hook), ("app/cm.yaml", &after)], json!({}), slow).await;
    w.create_app("stopped", "app", "default", json!({})).await;
    w.wait_app("stopped", "compared", WAIT, |a| sync_status(a) == "OutOfSync").await;
    w.sync("stopped", json!({})).await;
    w.wait_app("stopped", "the hook running", WAIT, |a| {
        a["status"]["operationState"]["syncResult"]["resources"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["name"] == "slow" && r["hookPhase"] == "Running"))
    })
    .await;
    // What `argocd app terminate-op` writes.
    w.patch(&app_key("stopped"), json!({"status": {"operationState": {"phase": "Terminating"}}})).await;
    let app = w.wait_app("stopped", "terminated", WAIT, |a| phase(a) == "Failed").await;
    assert_eq!(app["status"]["operationState"]["message"], "Operation terminated");
    assert!(w.get(&cm_key("default", "after")).await.is_none(), "nothing after the hook ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_leader_election_only_the_leader_acts_and_a_standby_takes_over_when_it_stops() {
    let mut w = World::start(&[("app/cm.yaml", &configmap("settings", json!({"k": "v"})))], json!({})).await;
    // Replace the plain controller with two electing replicas.
    w.stop_controller().await;
    let replica = |identity: &str| ControllerConfig {
        kubeconfig: w.sandbox.kubeconfig(),
        context: None,
        namespace: NS.into(),
        data_dir: w.data_dir().join(identity),
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        leader_election: true,
        identity: identity.into(),
    };
    let first = tiphys_controller::start(replica("first")).await.expect("first starts");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = tiphys_controller::start(replica("second")).await.expect("second starts");
    w.create_app("elected", "app", "default", json!({})).await;
    w.wait_app("elected", "compared by the leader", WAIT, |a| sync_status(a) == "OutOfSync").await;
    let (a, b) = (metrics(first.addr().expect("addr")).await, metrics(second.addr().expect("addr")).await);
    assert!(a.contains("name=\"elected\""), "the leader reports the app:\n{a}");
    assert!(!b.contains("name=\"elected\""), "the standby does nothing:\n{b}");
    for metric in [
        "argocd_app_k8s_request_total{",
        "argocd_cluster_api_resource_objects{",
        "argocd_app_reconcile_bucket{",
    ] {
        assert!(a.contains(metric), "{metric} exported:\n{a}");
    }
    let lease = w
        .get(&tiphys_resource::ResourceKey::new(
            "coordination.k8s.io",
            "Lease",
            NS,
            "tiphys-application-controller",
        ))
        .await
        .expect("lease exists");
    assert_eq!(lease["spec"]["holderIdentity"], "first");

    first.shutdown().await;
    w.sync("elected", json!({})).await;
    w.wait_app("elected", "synced by the new leader", WAIT, |a| phase(a) == "Succeeded").await;
    let b = metrics(second.addr().expect("addr")).await;
    assert!(b.contains("name=\"elected\""), "the standby took over:\n{b}");
    second.shutdown().await;
}
