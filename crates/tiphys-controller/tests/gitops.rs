//! The GitOps loop end to end: sandbox cluster, Git over HTTP on loopback, the controller.

mod support;

use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_app_is_out_of_sync_and_missing_then_a_manual_sync_makes_it_synced_and_healthy() {
    let w =
        World::start(&[("app/cm.yaml", &configmap("settings", json!({"color": "blue"})))], json!({})).await;
    w.create_app("manual", "app", "team-a", json!({"syncPolicy": {"syncOptions": ["CreateNamespace=true"]}}))
        .await;
    let app = w
        .wait_app("manual", "OutOfSync/Missing", WAIT, |a| {
            sync_status(a) == "OutOfSync" && health(a) == "Missing"
        })
        .await;
    let resources = app["status"]["resources"].as_array().expect("resources listed");
    assert_eq!(resources.len(), 1, "{resources:?}");
    assert_eq!(resources[0]["kind"], "ConfigMap");
    assert_eq!(resources[0]["status"], "OutOfSync");
    assert!(app["status"]["reconciledAt"].is_string());
    assert!(app["status"]["observedAt"].is_string());
    assert_eq!(app["status"]["sync"]["revision"].as_str().map(str::len), Some(40));

    w.sync("manual", json!({"prune": false})).await;
    let app = w
        .wait_app("manual", "Synced/Healthy and the operation over", WAIT, |a| {
            synced_healthy(a) && phase(a) == "Succeeded"
        })
        .await;
    assert!(app.get("operation").is_none_or(|o| o.is_null()), "operation cleared");
    let history = app["status"]["history"].as_array().expect("history written");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["id"], 0);
    let cm = w.get(&cm_key("team-a", "settings")).await.expect("configmap created in a created namespace");
    assert_eq!(cm["data"]["color"], "blue");
    assert_eq!(
        cm["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"], "manual:/ConfigMap:team-a/settings",
        "tracked by annotation, upstream's default"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_commit_is_synced_automatically_and_self_heal_reverts_a_manual_edit() {
    let w = World::start(
        &[("app/cm.yaml", &configmap("settings", json!({"color": "blue"})))],
        json!({"timeout.reconciliation": "1s", "timeout.reconciliation.jitter": "0s"}),
    )
    .await;
    w.create_app(
        "auto",
        "app",
        "default",
        json!({"syncPolicy": {"automated": {"prune": true, "selfHeal": true}}}),
    )
    .await;
    w.wait_app("auto", "Synced/Healthy", WAIT, synced_healthy).await;
    let key = cm_key("default", "settings");

    // Git moves: the new commit is applied without anyone asking.
    let sha = w.repo.commit(&[("app/cm.yaml", &configmap("settings", json!({"color": "green"})))], "green");
    w.wait_object(&key, "color green", WAIT, |o| o.is_some_and(|o| o["data"]["color"] == "green")).await;
    w.wait_app("auto", "synced to the new commit", WAIT, |a| {
        synced_healthy(a) && a["status"]["sync"]["revision"] == sha.as_str()
    })
    .await;

    // Drift: a manual edit of a managed field is reverted.
    w.patch(&key, json!({"data": {"color": "red"}})).await;
    w.wait_object(&key, "color reverted to green", WAIT, |o| {
        o.is_some_and(|o| o["data"]["color"] == "green")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_listed_in_ignore_differences_is_left_alone_by_self_heal() {
    let w = World::start(
        &[("app/cm.yaml", &configmap("settings", json!({"color": "blue", "size": "m"})))],
        json!({}),
    )
    .await;
    w.create_app(
        "ignoring",
        "app",
        "default",
        json!({"syncPolicy": {"automated": {"selfHeal": true}},
            "ignoreDifferences": [{"kind": "ConfigMap", "jsonPointers": ["/data/size"]}]}),
    )
    .await;
    w.wait_app("ignoring", "Synced/Healthy", WAIT, synced_healthy).await;
    let key = cm_key("default", "settings");
    w.patch(&key, json!({"data": {"size": "xl"}})).await;
    // Still Synced after the change was seen (a later refresh), and the edit stays.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let app = w.app("ignoring").await;
    assert_eq!(sync_status(&app), "Synced", "{}", app["status"]);
    assert_eq!(w.get(&key).await.expect("cm")["data"]["size"], "xl");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_removed_from_git_is_pruned_only_with_prune() {
    let files = [
        ("a/one.yaml", configmap("one", json!({"k": "1"}))),
        ("a/two.yaml", configmap("two", json!({"k": "2"}))),
        ("b/one.yaml", configmap("one", json!({"k": "1"}))),
        ("b/two.yaml", configmap("two", json!({"k": "2"}))),
    ];
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let w =
        World::start(&refs, json!({"timeout.reconciliation": "1s", "timeout.reconciliation.jitter": "0s"}))
            .await;
    w.create_app(
        "pruning",
        "a",
        "ns-a",
        json!({"syncPolicy": {"automated": {"prune": true},
        "syncOptions": ["CreateNamespace=true"]}}),
    )
    .await;
    w.create_app(
        "keeping",
        "b",
        "ns-b",
        json!({"syncPolicy": {"automated": {},
        "syncOptions": ["CreateNamespace=true"]}}),
    )
    .await;
    w.wait_app("pruning", "Synced", WAIT, synced_healthy).await;
    w.wait_app("keeping", "Synced", WAIT, synced_healthy).await;
    w.repo.git(&["rm", "-q", "a/two.yaml", "b/two.yaml"]);
    w.repo.commit(&[], "remove two");
    w.wait_object(&cm_key("ns-a", "two"), "pruned", WAIT, |o| o.is_none()).await;
    let keeping = w
        .wait_app("keeping", "OutOfSync with a resource requiring pruning", WAIT, |a| {
            sync_status(a) == "OutOfSync"
                && a["status"]["resources"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r["name"] == "two" && r["requiresPruning"] == true))
        })
        .await;
    assert!(w.get(&cm_key("ns-b", "two")).await.is_some(), "not pruned without prune: {}", keeping["status"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_repository_gives_a_comparison_error_that_clears_by_itself() {
    let w = World::start(
        &[("app/cm.yaml", &configmap("settings", json!({"k": "v"})))],
        json!({
        "timeout.reconciliation": "1s", "timeout.reconciliation.jitter": "0s"}),
    )
    .await;
    // A Git server that is down: nothing listens on the port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let down = format!("http://127.0.0.1:{port}/repo.git");
    w.create_app("broken", "app", "default", json!({})).await;
    w.patch(&app_key("broken"), json!({"spec": {"source": {"repoURL": down}}})).await;
    let app =
        w.wait_app("broken", "ComparisonError", WAIT, |a| condition(a, "ComparisonError").is_some()).await;
    let message = condition(&app, "ComparisonError").unwrap_or_default();
    assert!(message.contains("127.0.0.1"), "the error names the repository: {message}");
    assert_eq!(sync_status(&app), "Unknown");
    w.patch(&app_key("broken"), json!({"spec": {"source": {"repoURL": w.repo_url()}}})).await;
    w.wait_app("broken", "the error cleared", WAIT, |a| {
        condition(a, "ComparisonError").is_none() && sync_status(a) == "OutOfSync"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_violation_blocks_sync_with_a_clear_condition() {
    let w = World::start(&[("app/cm.yaml", &configmap("settings", json!({"k": "v"})))], json!({})).await;
    w.apply(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": "locked", "namespace": NS},
        "spec": {"sourceRepos": ["https://github.com/example/*"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "prod"}]}}))
        .await;
    w.create_app(
        "violating",
        "app",
        "default",
        json!({"project": "locked",
        "syncPolicy": {"automated": {}}}),
    )
    .await;
    let app = w
        .wait_app("violating", "InvalidSpecError", WAIT, |a| condition(a, "InvalidSpecError").is_some())
        .await;
    let message = condition(&app, "InvalidSpecError").unwrap_or_default();
    assert!(message.contains("locked"), "names the project: {message}");
    w.sync("violating", json!({})).await;
    let app = w.wait_app("violating", "sync failed", WAIT, |a| phase(a) == "Failed").await;
    assert!(
        app["status"]["operationState"]["message"].as_str().unwrap_or_default().contains("not permitted"),
        "{}",
        app["status"]["operationState"]
    );
    assert!(w.get(&cm_key("default", "settings")).await.is_none(), "nothing applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_app_with_the_finalizer_removes_its_resources() {
    let w = World::start(&[("app/cm.yaml", &configmap("settings", json!({"k": "v"})))], json!({})).await;
    w.create_app("doomed", "app", "default", json!({"syncPolicy": {"automated": {}}})).await;
    w.wait_app("doomed", "Synced", WAIT, synced_healthy).await;
    w.patch(
        &app_key("doomed"),
        json!({"metadata": {"finalizers": ["resources-finalizer.argocd.argoproj.io"]}}),
    )
    .await;
    w.cluster
        .delete(&app_key("doomed"), tiphys_kube::Propagation::Background, false)
        .await
        .expect("delete accepted");
    w.wait_object(&cm_key("default", "settings"), "resource deleted", WAIT, |o| o.is_none()).await;
    w.wait_object(&app_key("doomed"), "application gone", WAIT, |o| o.is_none()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_restores_a_history_entry() {
    let w = World::start(&[("app/cm.yaml", &configmap("settings", json!({"v": "1"})))], json!({})).await;
    w.create_app("rolling", "app", "default", json!({})).await;
    w.wait_app("rolling", "compared", WAIT, |a| sync_status(a) == "OutOfSync").await;
    w.sync("rolling", json!({})).await;
    let first = w.wait_app("rolling", "v1 synced", WAIT, synced_healthy).await;
    let entry = first["status"]["history"][0].clone();
    w.repo.commit(&[("app/cm.yaml", &configmap("settings", json!({"v": "2"})))], "v2");
    w.patch(
        &app_key("rolling"),
        json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}}),
    )
    .await;
    w.wait_app("rolling", "sees v2", WAIT, |a| sync_status(a) == "OutOfSync").await;
    w.sync("rolling", json!({})).await;
    w.wait_object(&cm_key("default", "settings"), "v2", WAIT, |o| o.is_some_and(|o| o["data"]["v"] == "2"))
        .await;
    w.wait_app("rolling", "second sync done", WAIT, |a| {
        a["status"]["history"].as_array().is_some_and(|h| h.len() == 2) && phase(a) == "Succeeded"
    })
    .await;
    // What `argocd app rollback rolling 0` writes: the history entry's revision and source.
    w.sync("rolling", json!({"revision": entry["revision"], "source": entry["source"]})).await;
    w.wait_object(&cm_key("default", "settings"), "back to v1", WAIT, |o| {
        o.is_some_and(|o| o["data"]["v"] == "1")
    })
    .await;
    let app = w
        .wait_app("rolling", "rollback recorded", WAIT, |a| {
            a["status"]["history"].as_array().is_some_and(|h| h.len() == 3) && phase(a) == "Succeeded"
        })
        .await;
    assert_eq!(app["status"]["history"][2]["revision"], entry["revision"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_deploy_to_a_cluster_registered_by_a_secret_and_to_in_cluster_by_name() {
    use base64::Engine;
    let w = World::start(&[("app/cm.yaml", &configmap("settings", json!({"k": "v"})))], json!({})).await;
    let remote = tiphys_sandbox::Sandbox::start(Default::default()).await.expect("second cluster");
    let config = json!({"bearerToken": remote.token(),
        "tlsClientConfig": {"caData": base64::engine::general_purpose::STANDARD.encode(remote.ca_pem())}});
    w.apply(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "remote-cluster", "namespace": NS,
            "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
        "stringData": {"name": "remote", "server": remote.url(), "config": config.to_string()}}))
        .await;
    w.create_app(
        "far",
        "app",
        "default",
        json!({"destination": {"server": null, "name": "remote"},
        "syncPolicy": {"automated": {}}}),
    )
    .await;
    w.create_app(
        "near",
        "app",
        "near",
        json!({"destination": {"server": null, "name": "in-cluster"},
        "syncPolicy": {"automated": {}, "syncOptions": ["CreateNamespace=true"]}}),
    )
    .await;
    w.wait_app("far", "Synced/Healthy on the remote cluster", WAIT, synced_healthy).await;
    w.wait_app("near", "Synced/Healthy in-cluster", WAIT, synced_healthy).await;
    let remote_cluster =
        tiphys_kube::Cluster::from_kubeconfig_text(&remote.kubeconfig(), None).await.expect("connect");
    assert!(
        remote_cluster.get(&cm_key("default", "settings")).await.expect("get").is_some(),
        "applied remotely"
    );
    assert!(w.get(&cm_key("default", "settings")).await.is_none(), "not applied in-cluster");
    assert!(w.get(&cm_key("near", "settings")).await.is_some());
    remote.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_namespace_applies_managed_namespace_metadata() {
    let w = World::start(&[("app/cm.yaml", &configmap("settings", json!({"k": "v"})))], json!({})).await;
    w.create_app(
        "labelled",
        "app",
        "team-ns",
        json!({"syncPolicy": {"automated": {},
        "syncOptions": ["CreateNamespace=true"],
        "managedNamespaceMetadata": {"labels": {"team": "a"}, "annotations": {"owner": "ops"}}}}),
    )
    .await;
    w.wait_app("labelled", "Synced/Healthy", WAIT, synced_healthy).await;
    let ns = w
        .get(&tiphys_resource::ResourceKey::new("", "Namespace", "", "team-ns"))
        .await
        .expect("namespace created");
    assert_eq!(ns["metadata"]["labels"]["team"], "a");
    assert_eq!(ns["metadata"]["annotations"]["owner"], "ops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_kind_the_project_does_not_permit_fails_the_sync_naming_the_resource() {
    let role =
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\nrules: []\n";
    let w = World::start(
        &[("app/role.yaml", role), ("app/cm.yaml", &configmap("settings", json!({"k": "v"})))],
        json!({}),
    )
    .await;
    // No clusterResourceWhitelist: cluster-scoped kinds are refused, as upstream.
    w.apply(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": "namespaced-only", "namespace": NS},
        "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]}}))
        .await;
    w.create_app("roles", "app", "default", json!({"project": "namespaced-only"})).await;
    w.wait_app("roles", "compared", WAIT, |a| sync_status(a) == "OutOfSync").await;
    w.sync("roles", json!({})).await;
    let app = w.wait_app("roles", "sync refused", WAIT, |a| phase(a) == "Failed").await;
    let state = &app["status"]["operationState"];
    assert_eq!(state["message"], "one or more synchronization tasks are not valid", "{state}");
    let refused = &state["syncResult"]["resources"][0];
    assert_eq!(
        (refused["kind"].as_str(), refused["status"].as_str()),
        (Some("ClusterRole"), Some("SyncFailed"))
    );
    assert!(refused["message"].as_str().unwrap_or_default().contains("not permitted"), "{refused}");
    assert!(w.get(&cm_key("default", "settings")).await.is_none(), "nothing applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_charts_see_the_destination_clusters_version_and_api_versions() {
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: capabilities\ndata:\n  kube: \"{{ .Capabilities.KubeVersion.Major }}.{{ .Capabilities.KubeVersion.Minor }}\"\n  deployments: '{{ .Capabilities.APIVersions.Has \"apps/v1/Deployment\" }}'\n";
    let w = World::start(
        &[
            ("chart/Chart.yaml", "apiVersion: v2\nname: caps\nversion: 0.1.0\n"),
            ("chart/templates/cm.yaml", template),
        ],
        json!({}),
    )
    .await;
    w.create_app("caps", "chart", "caps", json!({"syncPolicy": {"syncOptions": ["CreateNamespace=true"]}}))
        .await;
    w.wait_app("caps", "OutOfSync", WAIT, |a| sync_status(a) == "OutOfSync").await;
    w.sync("caps", json!({})).await;
    w.wait_app("caps", "Synced", WAIT, |a| sync_status(a) == "Synced" && phase(a) == "Succeeded").await;
    let cm = w.get(&cm_key("caps", "capabilities")).await.expect("configmap");
    assert_eq!(cm["data"]["kube"], "1.33", "the sandbox serves v1.33.0, not Helm's default: {cm}");
    assert_eq!(cm["data"]["deployments"], "true");
}
