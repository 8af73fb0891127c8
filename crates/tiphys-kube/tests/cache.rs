//! Discovery and the live-state cache against the sandbox API server over HTTPS.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use kube::api::{DeleteParams, PostParams};
use serde_json::json;
use support::{dynamic, eventually, other_api, world, world_with_simulator};
use tiphys_kube::{ApplyMode, CacheConfig, ChangeKind, Cluster, Error, LiveCache, WriteOptions};
use tiphys_resource::{GroupKind, GroupVersionKind, ResourceKey};

const SYNC: Duration = Duration::from_secs(10);

fn cm_key(name: &str) -> ResourceKey {
    ResourceKey::new("", "ConfigMap", "default", name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_maps_kinds_to_resources() {
    let w = world().await;
    let catalog = w.cluster.catalog();
    let cm = catalog.resolve(&GroupKind::new("", "ConfigMap")).expect("ConfigMap served");
    assert_eq!((cm.version.as_str(), cm.plural.as_str(), cm.namespaced), ("v1", "configmaps", true));
    assert!(cm.supports("list") && cm.supports("watch") && cm.supports("patch"), "{:?}", cm.verbs);
    let deploy = catalog.resolve(&GroupKind::new("apps", "Deployment")).expect("Deployment served");
    assert_eq!(
        (deploy.version.as_str(), deploy.plural.as_str(), deploy.preferred),
        ("v1", "deployments", true)
    );
    let ns = catalog.resolve(&GroupKind::new("", "Namespace")).expect("Namespace served");
    assert!(!ns.namespaced);
    assert!(catalog.resources().iter().all(|r| !r.plural.contains('/')), "subresources are not resources");
    assert_eq!(w.cluster.default_namespace(), "default");
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_from_a_kubeconfig_file_and_rejects_a_broken_one() {
    let w = world().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeconfig");
    w.sandbox.write_kubeconfig(&path).expect("written");
    let cluster = Cluster::from_kubeconfig_file(&path, Some("tiphys-sandbox")).await.expect("connects");
    assert_eq!(cluster.server().trim_end_matches('/'), w.sandbox.url());
    let missing = Cluster::from_kubeconfig_file(&dir.path().join("nope"), None).await.expect_err("no file");
    assert!(
        matches!(&missing, Error::Config { source_name, .. } if source_name.ends_with("nope")),
        "{missing}"
    );
    let bad_context = Cluster::from_kubeconfig_file(&path, Some("prod")).await.expect_err("no such context");
    assert!(bad_context.to_string().contains("prod"), "{bad_context}");
    let garbage = Cluster::from_kubeconfig_text("clusters: [", None).await.expect_err("not YAML");
    assert!(matches!(garbage, Error::Config { .. }));
    // Tests do not run in a pod: no service-account token, so the error says where it looked.
    let outside = Cluster::in_cluster().await.expect_err("not in a pod");
    assert!(
        matches!(&outside, Error::Config { source_name, .. } if source_name == "in-cluster"),
        "{outside}"
    );
    w.sandbox.shutdown().await;
}

fn crd(group: &str, kind: &str, plural: &str) -> serde_json::Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {
            "group": group, "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_crd_is_resolvable_and_watched_without_restart() {
    let w = world().await;
    let cache = LiveCache::start(&w.cluster, CacheConfig::default());
    assert!(cache.wait_synced(SYNC).await, "initial lists complete");
    let gvk = GroupVersionKind { group: "example.com".into(), version: "v1".into(), kind: "Widget".into() };
    assert!(w.cluster.catalog().resolve_gvk(&gvk).is_none());
    w.cluster
        .create(&crd("example.com", "Widget", "widgets"), &WriteOptions::default())
        .await
        .expect("CRD created");
    let info = w.cluster.resolve(&gvk).await.expect("discovery refreshed on a miss");
    assert_eq!(info.plural, "widgets");
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "default"}, "spec": {"size": 3}});
    w.cluster.create(&widget, &WriteOptions::default()).await.expect("widget created");
    let key = ResourceKey::new("example.com", "Widget", "default", "w1");
    eventually(&cache, "the widget is cached", |i| i.get(&key).is_some()).await;
    assert!(cache.watched_kinds().contains(&GroupKind::new("example.com", "Widget")));
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_follows_another_clients_writes_and_skips_excluded_kinds() {
    let w = world().await;
    let cms = other_api(&w, "v1", "ConfigMap", "configmaps", Some("default"));
    cms.create(&PostParams::default(), &dynamic(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "before", "labels": {"app.kubernetes.io/instance": "shop"}}, "data": {"a": "1"}})))
        .await
        .expect("created before the cache");
    let cache = LiveCache::start(&w.cluster, CacheConfig::default());
    let mut changes = cache.subscribe();
    assert!(cache.wait_synced(SYNC).await, "initial lists complete");
    let kinds = cache.watched_kinds();
    assert!(
        kinds.contains(&GroupKind::new("", "ConfigMap"))
            && kinds.contains(&GroupKind::new("apps", "Deployment"))
    );
    assert!(!kinds.contains(&GroupKind::new("", "Event")), "events are excluded");
    assert!(!kinds.contains(&GroupKind::new("coordination.k8s.io", "Lease")), "leases are excluded");
    assert!(cache.index().get(&cm_key("before")).is_some(), "listed at start");
    assert_eq!(cache.index().tracked_by("shop").count(), 1);

    cms.create(
        &PostParams::default(),
        &dynamic(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "live"}, "data": {"a": "1"}})),
    )
    .await
    .expect("created");
    eventually(&cache, "the create is seen", |i| i.get(&cm_key("live")).is_some()).await;
    let rv = cache.index().get(&cm_key("live")).map(|o| o.resource_version().to_string()).unwrap_or_default();
    let mut updated = cms.get("live").await.expect("get");
    updated.data["data"] = json!({"a": "2"});
    cms.replace("live", &PostParams::default(), &updated).await.expect("updated");
    eventually(&cache, "the update is seen", |i| {
        i.get(&cm_key("live")).is_some_and(|o| o.resource_version() != rv && o.object()["data"]["a"] == "2")
    })
    .await;
    cms.delete("live", &DeleteParams::default()).await.expect("deleted");
    eventually(&cache, "the delete is seen", |i| i.get(&cm_key("live")).is_none()).await;

    let mut seen = Vec::new();
    while let Ok(batch) = changes.try_recv() {
        seen.extend(batch.iter().filter(|c| c.key.name == "live").map(|c| c.kind));
    }
    assert_eq!(seen, [ChangeKind::Added, ChangeKind::Updated, ChangeKind::Deleted]);
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_survives_a_forced_410_relist() {
    let w = world().await;
    let cms = other_api(&w, "v1", "ConfigMap", "configmaps", Some("default"));
    let cache = LiveCache::start(&w.cluster, CacheConfig::default());
    assert!(cache.wait_synced(SYNC).await);
    // History gone and every watch ended: resuming from the old resourceVersion gets 410.
    w.sandbox.set_event_window(1);
    w.sandbox.expire_watches();
    for i in 0..5 {
        cms.create(
            &PostParams::default(),
            &dynamic(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("after-{i}")}})),
        )
        .await
        .expect("created");
    }
    cms.delete("after-0", &DeleteParams::default()).await.expect("deleted");
    eventually(&cache, "the relisted state is cached", |i| {
        (1..5).all(|n| i.get(&cm_key(&format!("after-{n}"))).is_some()) && i.get(&cm_key("after-0")).is_none()
    })
    .await;
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_resync_relists_quietly() {
    let w = world().await;
    let cms = other_api(&w, "v1", "ConfigMap", "configmaps", Some("default"));
    cms.create(
        &PostParams::default(),
        &dynamic(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "steady"}})),
    )
    .await
    .expect("created");
    let config = CacheConfig { resync_interval: Duration::from_millis(300), ..Default::default() };
    let cache = LiveCache::start(&w.cluster, config);
    assert!(cache.wait_synced(SYNC).await);
    let mut changes = cache.subscribe();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    // Only ConfigMaps: the workload simulator may touch its own objects meanwhile.
    let mut config_map_changes = Vec::new();
    while let Ok(batch) = changes.try_recv() {
        config_map_changes
            .extend(batch.iter().filter(|c| c.key.kind == "ConfigMap").map(|c| c.key.name.clone()));
    }
    assert!(
        config_map_changes.is_empty(),
        "relists of unchanged objects report nothing: {config_map_changes:?}"
    );
    cms.create(
        &PostParams::default(),
        &dynamic(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "new"}})),
    )
    .await
    .expect("created");
    eventually(&cache, "a write between resyncs is seen", |i| i.get(&cm_key("new")).is_some()).await;
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_builds_the_tree_the_workload_simulator_produces() {
    let w = world_with_simulator().await;
    let cache = LiveCache::start(&w.cluster, CacheConfig::default());
    assert!(cache.wait_synced(SYNC).await);
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "site", "namespace": "default", "labels": {"app.kubernetes.io/instance": "shop"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "site"}},
            "template": {"metadata": {"labels": {"app": "site"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}});
    w.cluster
        .apply(&deployment, ApplyMode::ServerSide { force: false }, &WriteOptions::default())
        .await
        .expect("applied");
    let root = ResourceKey::new("apps", "Deployment", "default", "site");
    eventually(&cache, "the simulator's ReplicaSet and two Pods are cached", |i| {
        let tree = i.tree(&root);
        tree.iter().filter(|n| n.depth == 1 && n.object.key().kind == "ReplicaSet").count() == 1
            && tree.iter().filter(|n| n.depth == 2 && n.object.key().kind == "Pod").count() == 2
    })
    .await;
    let (rs, pods): (Vec<String>, BTreeSet<String>) = {
        let index = cache.index();
        let tree = index.tree(&root);
        let rs: Vec<String> =
            tree.iter().filter(|n| n.depth == 1).map(|n| n.object.key().name.clone()).collect();
        let pods = tree.iter().filter(|n| n.depth == 2).map(|n| n.parent.name.clone()).collect();
        (rs, pods)
    };
    assert!(rs[0].starts_with("site-"), "{rs:?}");
    assert_eq!(pods, BTreeSet::from([rs[0].clone()]), "both Pods hang under the ReplicaSet");
    let pod = cache.index().tree(&root).iter().find(|n| n.depth == 2).map(|n| n.object.key().clone());
    let apps = cache.index().apps_of(&pod.expect("a pod"));
    assert_eq!(
        apps.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
        ["shop"],
        "a Pod maps to its Deployment's app"
    );
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_crd_stops_its_watch_and_leaves_the_index() {
    let w = world().await;
    let opts = WriteOptions::default();
    w.cluster.create(&crd("example.com", "Gizmo", "gizmos"), &opts).await.expect("CRD created");
    w.cluster.refresh_discovery().await.expect("discovery");
    let gizmo = json!({"apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": "g1", "namespace": "default"}});
    w.cluster.create(&gizmo, &opts).await.expect("gizmo created");
    let cache = LiveCache::start(&w.cluster, CacheConfig::default());
    assert!(cache.wait_synced(SYNC).await);
    let key = ResourceKey::new("example.com", "Gizmo", "default", "g1");
    assert!(cache.index().get(&key).is_some(), "listed at start");
    let crd_key =
        ResourceKey::new("apiextensions.k8s.io", "CustomResourceDefinition", "", "gizmos.example.com");
    w.cluster.delete(&crd_key, tiphys_kube::Propagation::Background, false).await.expect("CRD deleted");
    let gizmo_kind = GroupKind::new("example.com", "Gizmo");
    let deadline = tokio::time::Instant::now() + SYNC;
    while cache.watched_kinds().contains(&gizmo_kind) {
        assert!(tokio::time::Instant::now() < deadline, "the Gizmo watch should stop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cache.index().get(&key).is_none(), "objects of a vanished type leave the index");
    w.sandbox.shutdown().await;
}
