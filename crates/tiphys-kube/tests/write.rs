//! Writes against the sandbox API server: both apply modes, create, replace, delete with
//! propagation policies, dry-run, and typed errors.

mod support;

use serde_json::{Value, json};
use support::world;
use tiphys_kube::{ApplyMode, Deletion, Error, PatchBody, Propagation, WriteOptions};
use tiphys_resource::ResourceKey;

const SSA: ApplyMode = ApplyMode::ServerSide { force: false };

fn cm(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}, "data": data})
}

fn rv(object: &Value) -> String {
    object["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string()
}

fn key(name: &str) -> ResourceKey {
    ResourceKey::new("", "ConfigMap", "default", name)
}

fn deployment(name: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reapplying_is_a_no_op_in_both_modes() {
    let w = world().await;
    let opts = WriteOptions::default();
    for (mode, name) in [(SSA, "ssa"), (ApplyMode::ClientSide, "csa")] {
        let object = deployment(name, 2);
        let first = w.cluster.apply(&object, mode, &opts).await.expect("first apply creates");
        let again = w.cluster.apply(&object, mode, &opts).await.expect("second apply");
        assert_eq!(rv(&again), rv(&first), "{name}: unchanged configuration, unchanged object");
        let changed = w.cluster.apply(&deployment(name, 3), mode, &opts).await.expect("third apply");
        assert_ne!(rv(&changed), rv(&first), "{name}: a change is written");
        assert_eq!(changed["spec"]["replicas"], 3);
    }
    let live = w.cluster.get(&ResourceKey::new("apps", "Deployment", "default", "csa")).await.expect("get");
    let annotation = live
        .as_ref()
        .and_then(|l| l["metadata"]["annotations"][tiphys_resource::annotations::LAST_APPLIED].as_str());
    let recorded: Value = serde_json::from_str(annotation.expect("last-applied annotation")).expect("JSON");
    assert_eq!(recorded["spec"]["replicas"], 3);
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_apply_removes_fields_dropped_from_the_configuration_only() {
    let w = world().await;
    let opts = WriteOptions::default();
    w.cluster
        .apply(&cm("three-way", json!({"keep": "1", "drop": "2"})), ApplyMode::ClientSide, &opts)
        .await
        .expect("apply");
    // Someone else adds a key the configuration never had.
    let mut live = w.cluster.get(&key("three-way")).await.expect("get").expect("exists");
    live["data"]["foreign"] = json!("3");
    w.cluster.replace(&live, &opts).await.expect("foreign edit");
    let applied = w
        .cluster
        .apply(&cm("three-way", json!({"keep": "1"})), ApplyMode::ClientSide, &opts)
        .await
        .expect("apply");
    assert_eq!(applied["data"], json!({"keep": "1", "foreign": "3"}));
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_apply_of_a_custom_resource_uses_merge_patch() {
    let w = world().await;
    let opts = WriteOptions::default();
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget", "listKind": "GadgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}});
    w.cluster.create(&crd, &opts).await.expect("crd");
    let gadget = |items: Value| {
        json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "default"},
            "spec": {"items": items, "color": "red"}})
    };
    let first =
        w.cluster.apply(&gadget(json!(["a", "b"])), ApplyMode::ClientSide, &opts).await.expect("apply");
    let same =
        w.cluster.apply(&gadget(json!(["a", "b"])), ApplyMode::ClientSide, &opts).await.expect("reapply");
    assert_eq!(rv(&same), rv(&first));
    let changed = w.cluster.apply(&gadget(json!(["c"])), ApplyMode::ClientSide, &opts).await.expect("change");
    assert_eq!(
        changed["spec"],
        json!({"items": ["c"], "color": "red"}),
        "lists are replaced, as merge patch does"
    );
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssa_conflicts_are_typed_and_force_takes_ownership() {
    let w = world().await;
    let alice = WriteOptions { field_manager: "alice".into(), dry_run: false };
    let bob = WriteOptions { field_manager: "bob".into(), dry_run: false };
    w.cluster.apply(&cm("owned", json!({"x": "1"})), SSA, &alice).await.expect("alice applies");
    let err = w.cluster.apply(&cm("owned", json!({"x": "2"})), SSA, &bob).await.expect_err("bob conflicts");
    match &err {
        Error::FieldConflict { resource, fields, message } => {
            assert_eq!(resource, "/ConfigMap/default/owned");
            assert_eq!(fields, &[".data.x".to_string()]);
            assert!(message.contains("alice"), "{message}");
        }
        other => panic!("expected a field conflict, got {other:?}"),
    }
    assert!(!err.is_retryable(), "retrying the same apply cannot succeed");
    let forced = w
        .cluster
        .apply(&cm("owned", json!({"x": "2"})), ApplyMode::ServerSide { force: true }, &bob)
        .await
        .expect("force wins");
    assert_eq!(forced["data"]["x"], "2");
    let managers: Vec<&str> = forced["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["fieldsV1"]["f:data"]["f:x"].is_object())
        .filter_map(|e| e["manager"].as_str())
        .collect();
    assert_eq!(managers, ["bob"], "bob now owns .data.x");
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_stores_nothing_for_every_write() {
    let w = world().await;
    let dry = WriteOptions { dry_run: true, ..Default::default() };
    let wet = WriteOptions::default();
    let created = w.cluster.create(&cm("dry-create", json!({"a": "1"})), &dry).await.expect("dry create");
    assert_eq!(created["data"]["a"], "1", "the server answers with the object it would store");
    for mode in [SSA, ApplyMode::ClientSide] {
        w.cluster.apply(&cm("dry-apply", json!({"a": "1"})), mode, &dry).await.expect("dry apply");
    }
    assert!(w.cluster.get(&key("dry-create")).await.expect("get").is_none());
    assert!(w.cluster.get(&key("dry-apply")).await.expect("get").is_none());

    let stored = w.cluster.create(&cm("real", json!({"a": "1"})), &wet).await.expect("create");
    let mut edited = stored.clone();
    edited["data"]["a"] = json!("2");
    w.cluster.replace(&edited, &dry).await.expect("dry replace");
    // `create` recorded an Update entry for .data.a, so server-side apply needs force.
    for mode in [ApplyMode::ServerSide { force: true }, ApplyMode::ClientSide] {
        let would =
            w.cluster.apply(&cm("real", json!({"a": "3"})), mode, &dry).await.expect("dry apply of a change");
        assert_eq!(would["data"]["a"], "3");
    }
    assert_eq!(
        w.cluster.delete(&key("real"), Propagation::Background, true).await.expect("dry delete"),
        Deletion::Gone
    );
    let live = w.cluster.get(&key("real")).await.expect("get").expect("still there");
    assert_eq!((rv(&live), &live["data"]["a"]), (rv(&stored), &json!("1")));
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_with_generate_name_and_replace_with_stale_version() {
    let w = world().await;
    let opts = WriteOptions::default();
    let hook = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "hook-", "namespace": "default"}});
    let first = w.cluster.create(&hook, &opts).await.expect("created");
    let second = w.cluster.create(&hook, &opts).await.expect("created again");
    let (a, b) =
        (first["metadata"]["name"].as_str().unwrap_or(""), second["metadata"]["name"].as_str().unwrap_or(""));
    assert!(a.starts_with("hook-") && b.starts_with("hook-") && a != b, "{a} {b}");
    let err = w.cluster.apply(&hook, SSA, &opts).await.expect_err("apply needs a name");
    assert!(matches!(&err, Error::BadObject { message, .. } if message.contains("generateName")), "{err}");

    let mut stale = first.clone();
    stale["data"] = json!({"v": "1"});
    w.cluster.replace(&stale, &opts).await.expect("replace at the current version");
    stale["data"] = json!({"v": "2"});
    let err = w.cluster.replace(&stale, &opts).await.expect_err("stale resourceVersion");
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert!(err.is_retryable());
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_are_typed_and_name_the_resource() {
    let w = world().await;
    let opts = WriteOptions::default();
    w.cluster.create(&cm("dup", json!({})), &opts).await.expect("created");
    let err = w.cluster.create(&cm("dup", json!({})), &opts).await.expect_err("exists");
    assert!(
        matches!(&err, Error::AlreadyExists { resource, .. } if resource == "/ConfigMap/default/dup"),
        "{err:?}"
    );
    let err = w.cluster.replace(&cm("absent", json!({})), &opts).await.expect_err("absent");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(!err.is_retryable());
    let invalid = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_Valid", "namespace": "default"}});
    let err = w.cluster.create(&invalid, &opts).await.expect_err("invalid name");
    assert!(matches!(&err, Error::Invalid { message, .. } if message.contains("Not_Valid")), "{err:?}");
    let unknown = json!({"apiVersion": "nothing.example/v9", "kind": "Nope", "metadata": {"name": "x"}});
    let err = w.cluster.apply(&unknown, SSA, &opts).await.expect_err("unknown kind");
    assert!(matches!(&err, Error::UnknownKind { kind } if kind.contains("Nope")), "{err:?}");
    assert!(err.to_string().contains("CustomResourceDefinition"), "says what to do: {err}");
    assert_eq!(
        w.cluster.delete(&key("never"), Propagation::Background, false).await.expect("delete"),
        Deletion::NotFound
    );
    w.sandbox.shutdown().await;
}

/// An owner ConfigMap with one dependent ConfigMap.
async fn family(w: &support::World, owner: &str) -> (ResourceKey, ResourceKey) {
    let opts = WriteOptions::default();
    let parent = w.cluster.create(&cm(owner, json!({})), &opts).await.expect("owner");
    let mut child = cm(&format!("{owner}-child"), json!({}));
    child["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": owner,
        "uid": parent["metadata"]["uid"], "blockOwnerDeletion": true}]);
    w.cluster.create(&child, &opts).await.expect("child");
    (key(owner), key(&format!("{owner}-child")))
}

async fn wait_gone(w: &support::World, key: &ResourceKey) -> bool {
    for _ in 0..250 {
        if w.cluster.get(key).await.expect("get").is_none() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_propagation_policies() {
    let w = world().await;

    let (owner, child) = family(&w, "bg").await;
    assert_eq!(
        w.cluster.delete(&owner, Propagation::Background, false).await.expect("delete"),
        Deletion::Gone
    );
    assert!(wait_gone(&w, &child).await, "background: the garbage collector removes the dependent");

    let (owner, child) = family(&w, "orphan").await;
    w.cluster.delete(&owner, Propagation::Orphan, false).await.expect("delete");
    assert!(wait_gone(&w, &owner).await, "orphan: the owner goes");
    let kept = w.cluster.get(&child).await.expect("get").expect("orphan: the dependent stays");
    assert!(
        kept["metadata"].get("ownerReferences").is_none_or(|r| r.as_array().is_some_and(Vec::is_empty)),
        "{kept}"
    );

    let (owner, child) = family(&w, "fg").await;
    let mut blocker = w.cluster.get(&child).await.expect("get").expect("child");
    blocker["metadata"]["finalizers"] = json!(["example.com/hold"]);
    w.cluster.replace(&blocker, &WriteOptions::default()).await.expect("child holds a finalizer");
    match w.cluster.delete(&owner, Propagation::Foreground, false).await.expect("delete") {
        Deletion::Pending(object) => {
            let finalizers = object["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
            assert!(finalizers.contains(&json!("foregroundDeletion")), "{object}");
        }
        other => panic!("foreground with a dependent must wait, got {other:?}"),
    }
    assert!(w.cluster.get(&owner).await.expect("get").is_some(), "owner waits for its dependent");
    let mut release = w.cluster.get(&child).await.expect("get").expect("child");
    release["metadata"]["finalizers"] = json!([]);
    w.cluster.replace(&release, &WriteOptions::default()).await.expect("release");
    assert!(wait_gone(&w, &child).await, "foreground: the dependent is deleted");
    assert!(wait_gone(&w, &owner).await, "foreground: then the owner");
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_patch_edits_in_place_and_a_stale_resource_version_conflicts() {
    let w = world().await;
    let opts = WriteOptions::default();
    let created = w.cluster.create(&cm("patched", json!({"a": "1", "b": "2"})), &opts).await.unwrap();
    let patch = PatchBody::Merge(json!({"data": {"a": null, "c": "3"}}));
    let patched = w.cluster.patch(&key("patched"), patch, &opts).await.unwrap();
    assert_eq!(patched["data"], json!({"b": "2", "c": "3"}));
    let stale = PatchBody::Merge(json!({"metadata": {"resourceVersion": rv(&created)}, "data": {"d": "4"}}));
    let err = w.cluster.patch(&key("patched"), stale, &opts).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
}
