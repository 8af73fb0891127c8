//! The live-state index as a pure state machine: `index.apply(event)` then assert.

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{Value, json};
use tiphys_kube::{ChangeKind, IndexConfig, IndexEvent, LiveIndex};
use tiphys_resource::{GroupKind, ResourceKey};

fn object(api_version: &str, kind: &str, ns: &str, name: &str, uid: &str, rv: &str) -> Value {
    json!({
        "apiVersion": api_version, "kind": kind,
        "metadata": {"name": name, "namespace": ns, "uid": uid, "resourceVersion": rv}
    })
}

fn owned_by(mut child: Value, owner: &Value) -> Value {
    child["metadata"]["ownerReferences"] = json!([{
        "apiVersion": owner["apiVersion"], "kind": owner["kind"],
        "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"], "controller": true
    }]);
    child
}

fn labelled(mut object: Value, app: &str) -> Value {
    object["metadata"]["labels"] = json!({"app.kubernetes.io/instance": app});
    object
}

fn key(group: &str, kind: &str, ns: &str, name: &str) -> ResourceKey {
    ResourceKey::new(group, kind, ns, name)
}

fn apps(names: &[&str]) -> BTreeSet<Arc<str>> {
    names.iter().map(|n| Arc::from(*n)).collect()
}

fn deployment_tree() -> (Value, Value, Value, Value) {
    let deploy = labelled(object("apps/v1", "Deployment", "web", "site", "d-1", "10"), "shop");
    let rs = owned_by(object("apps/v1", "ReplicaSet", "web", "site-7f9", "rs-1", "11"), &deploy);
    let pod_a = owned_by(object("v1", "Pod", "web", "site-7f9-a", "p-1", "12"), &rs);
    let pod_b = owned_by(object("v1", "Pod", "web", "site-7f9-b", "p-2", "13"), &rs);
    (deploy, rs, pod_a, pod_b)
}

#[test]
fn upsert_then_same_resource_version_is_silent() {
    let mut index = LiveIndex::new(IndexConfig::default());
    let cm = object("v1", "ConfigMap", "default", "a", "u-1", "5");
    let changes = index.apply(IndexEvent::Upsert(cm.clone()));
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].kind, ChangeKind::Added);
    assert_eq!(*changes[0].key, key("", "ConfigMap", "default", "a"));
    assert!(index.apply(IndexEvent::Upsert(cm.clone())).is_empty(), "same resourceVersion: no change");
    let mut newer = cm;
    newer["metadata"]["resourceVersion"] = json!("6");
    let changes = index.apply(IndexEvent::Upsert(newer));
    assert_eq!(changes[0].kind, ChangeKind::Updated);
    assert_eq!(index.get(&key("", "ConfigMap", "default", "a")).map(|o| o.resource_version()), Some("6"));
    assert_eq!(index.len(), 1);
}

#[test]
fn delete_removes_and_unknown_delete_is_silent() {
    let mut index = LiveIndex::new(IndexConfig::default());
    let cm = object("v1", "ConfigMap", "default", "a", "u-1", "5");
    index.apply(IndexEvent::Upsert(cm.clone()));
    let changes = index.apply(IndexEvent::Delete(cm.clone()));
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].kind, ChangeKind::Deleted);
    assert!(index.is_empty());
    assert!(index.get_by_uid("u-1").is_none());
    assert!(index.apply(IndexEvent::Delete(cm)).is_empty());
}

#[test]
fn replace_reports_only_differences_and_drops_vanished_objects() {
    let mut index = LiveIndex::new(IndexConfig::default());
    let a = object("v1", "ConfigMap", "default", "a", "u-a", "1");
    let b = object("v1", "ConfigMap", "default", "b", "u-b", "2");
    let secret = object("v1", "Secret", "default", "s", "u-s", "3");
    index.apply(IndexEvent::Upsert(a.clone()));
    index.apply(IndexEvent::Upsert(b));
    index.apply(IndexEvent::Upsert(secret));
    let mut a2 = a.clone();
    a2["metadata"]["resourceVersion"] = json!("9");
    let c = object("v1", "ConfigMap", "other", "c", "u-c", "8");
    let changes =
        index.apply(IndexEvent::Replace { kind: GroupKind::new("", "ConfigMap"), objects: vec![a2, c] });
    let summary: BTreeSet<(String, ChangeKind)> =
        changes.iter().map(|c| (c.key.name.clone(), c.kind)).collect();
    let expected: BTreeSet<(String, ChangeKind)> = [
        ("a".to_string(), ChangeKind::Updated),
        ("b".to_string(), ChangeKind::Deleted),
        ("c".to_string(), ChangeKind::Added),
    ]
    .into_iter()
    .collect();
    assert_eq!(summary, expected);
    assert!(index.get(&key("", "Secret", "default", "s")).is_some(), "other kinds untouched");
    let names: Vec<&str> =
        index.list_kind(&GroupKind::new("", "ConfigMap")).map(|o| o.key().name.as_str()).collect();
    assert_eq!(names, ["a", "c"]);
    let quiet = index.apply(IndexEvent::Replace {
        kind: GroupKind::new("", "ConfigMap"),
        objects: index.list_kind(&GroupKind::new("", "ConfigMap")).map(|o| o.object()).collect(),
    });
    assert!(quiet.is_empty(), "a resync of unchanged objects is silent: {quiet:?}");
}

#[test]
fn ownership_tree_deployment_replicaset_pods() {
    let mut index = LiveIndex::new(IndexConfig::default());
    let (deploy, rs, pod_a, pod_b) = deployment_tree();
    // Children may arrive before their owners (separate watches).
    for o in [pod_b, pod_a, rs, deploy] {
        index.apply(IndexEvent::Upsert(o));
    }
    let root = key("apps", "Deployment", "web", "site");
    let tree = index.tree(&root);
    let nodes: Vec<(String, String, usize)> =
        tree.iter().map(|n| (n.parent.name.clone(), n.object.key().name.clone(), n.depth)).collect();
    assert_eq!(
        nodes,
        [
            ("site".to_string(), "site-7f9".to_string(), 1),
            ("site-7f9".to_string(), "site-7f9-a".to_string(), 2),
            ("site-7f9".to_string(), "site-7f9-b".to_string(), 2),
        ]
    );
    let rs_key = key("apps", "ReplicaSet", "web", "site-7f9");
    assert_eq!(index.children(&rs_key).len(), 2);
    assert_eq!(index.apps_of(&key("", "Pod", "web", "site-7f9-a")), apps(&["shop"]));
    let owners = index.get(&rs_key).map(|o| o.owners().to_vec()).unwrap_or_default();
    assert_eq!(owners.len(), 1);
    assert_eq!((&*owners[0].kind, &*owners[0].uid, owners[0].controller), ("Deployment", "d-1", true));
}

#[test]
fn pod_changes_name_the_app_of_their_deployment_even_when_deleted() {
    let mut index = LiveIndex::new(IndexConfig::default());
    let (deploy, rs, pod_a, _) = deployment_tree();
    for o in [deploy, rs] {
        index.apply(IndexEvent::Upsert(o));
    }
    let added = index.apply(IndexEvent::Upsert(pod_a.clone()));
    assert_eq!(added[0].apps, apps(&["shop"]));
    let deleted = index.apply(IndexEvent::Delete(pod_a));
    assert_eq!(deleted[0].kind, ChangeKind::Deleted);
    assert_eq!(deleted[0].apps, apps(&["shop"]));
}

#[test]
fn relabelling_reaches_both_the_old_and_the_new_app() {
    let mut index = LiveIndex::new(IndexConfig::default());
    index.apply(IndexEvent::Upsert(labelled(object("v1", "ConfigMap", "a", "x", "u", "1"), "old")));
    let changes =
        index.apply(IndexEvent::Upsert(labelled(object("v1", "ConfigMap", "a", "x", "u", "2"), "new")));
    assert_eq!(changes[0].apps, apps(&["new", "old"]));
    assert_eq!(index.tracked_by("old").count(), 0);
    assert_eq!(index.tracked_by("new").count(), 1);
}

#[test]
fn tracking_by_annotation_custom_label_and_both() {
    let config = IndexConfig { instance_label: "team.io/app".into(), ..Default::default() };
    let mut index = LiveIndex::new(config);
    let mut by_annotation = object("v1", "Service", "default", "svc", "u-1", "1");
    by_annotation["metadata"]["annotations"] =
        json!({"argocd.argoproj.io/tracking-id": "guestbook:/Service:default/svc"});
    let mut by_label = object("v1", "Service", "default", "svc2", "u-2", "1");
    by_label["metadata"]["labels"] =
        json!({"team.io/app": "guestbook", "app.kubernetes.io/instance": "ignored"});
    index.apply(IndexEvent::Upsert(by_annotation));
    index.apply(IndexEvent::Upsert(by_label));
    let names: BTreeSet<String> = index.tracked_by("guestbook").map(|o| o.key().name.clone()).collect();
    assert_eq!(names, ["svc".to_string(), "svc2".to_string()].into_iter().collect());
    assert_eq!(index.tracked_by("ignored").count(), 0, "only the configured label tracks");
    let svc = index.get(&key("", "Service", "default", "svc")).expect("cached");
    assert_eq!(svc.tracking_id(), Some("guestbook:/Service:default/svc"));
    assert_eq!(svc.instance_label(), None);
}

#[test]
fn managed_fields_are_kept_only_for_tracked_objects() {
    let mut index = LiveIndex::new(IndexConfig::default());
    let fields =
        json!([{"manager": "kubectl", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {}}]);
    let mut untracked = object("v1", "ConfigMap", "default", "plain", "u-1", "1");
    untracked["metadata"]["managedFields"] = fields.clone();
    let mut tracked = labelled(object("v1", "ConfigMap", "default", "app", "u-2", "1"), "shop");
    tracked["metadata"]["managedFields"] = fields.clone();
    index.apply(IndexEvent::Upsert(untracked));
    index.apply(IndexEvent::Upsert(tracked));
    let get = |name: &str| {
        index.get(&key("", "ConfigMap", "default", name)).map(|o| o.object()).unwrap_or_default()
    };
    assert!(get("plain")["metadata"].get("managedFields").is_none());
    assert_eq!(get("app")["metadata"]["managedFields"], fields);
}

#[test]
fn cycles_in_owner_references_terminate() {
    let mut index = LiveIndex::new(IndexConfig::default());
    let a = object("v1", "ConfigMap", "default", "a", "u-a", "1");
    let b = owned_by(object("v1", "ConfigMap", "default", "b", "u-b", "1"), &a);
    let a = owned_by(labelled(a, "loop"), &b);
    index.apply(IndexEvent::Upsert(a));
    index.apply(IndexEvent::Upsert(b));
    let tree = index.tree(&key("", "ConfigMap", "default", "a"));
    assert_eq!(tree.len(), 1, "b once, then the cycle back to a is cut");
    assert_eq!(index.apps_of(&key("", "ConfigMap", "default", "b")), apps(&["loop"]));
}

#[test]
fn objects_without_identity_are_counted_not_cached() {
    let mut index = LiveIndex::new(IndexConfig::default());
    for bad in [
        json!(null),
        json!([1]),
        json!({"kind": "ConfigMap"}),
        json!({"apiVersion": "v1", "kind": "ConfigMap"}),
    ] {
        assert!(index.apply(IndexEvent::Upsert(bad)).is_empty());
    }
    assert!(index.is_empty());
    assert_eq!(index.rejected(), 4);
}

#[test]
fn same_name_new_uid_is_an_update_and_reindexes_children() {
    let mut index = LiveIndex::new(IndexConfig::default());
    let old = object("v1", "ConfigMap", "default", "a", "u-old", "1");
    let child = owned_by(object("v1", "ConfigMap", "default", "c", "u-c", "1"), &old);
    index.apply(IndexEvent::Upsert(old));
    index.apply(IndexEvent::Upsert(child));
    let recreated = object("v1", "ConfigMap", "default", "a", "u-new", "1");
    let changes = index.apply(IndexEvent::Upsert(recreated));
    assert_eq!(changes.len(), 1, "a new uid is a change even with an equal resourceVersion");
    assert!(index.get_by_uid("u-old").is_none());
    assert!(
        index.tree(&key("", "ConfigMap", "default", "a")).is_empty(),
        "the child belonged to the old uid"
    );
}

proptest! {
    /// Whatever the event sequence, the index equals a simple model (key → last upserted
    /// resourceVersion) and every secondary index agrees with the primary map.
    #[test]
    fn index_matches_a_model_under_random_events(events in prop::collection::vec((0u8..3, 0u8..6, 0u8..4, 0u8..3), 0..60)) {
        let mut index = LiveIndex::new(IndexConfig::default());
        let mut model = std::collections::BTreeMap::new();
        for (op, name, rv, app) in events {
            let name = format!("n{name}");
            let mut o = object("v1", "ConfigMap", "default", &name, &format!("uid-{name}"), &rv.to_string());
            if app > 0 {
                o = labelled(o, &format!("app{app}"));
            }
            match op {
                0 | 1 => {
                    index.apply(IndexEvent::Upsert(o));
                    // A resourceVersion names one state of an object: the same one again
                    // carries nothing new.
                    if model.get(&name).map(|(r, _): &(String, u8)| r.as_str()) != Some(rv.to_string().as_str()) {
                        model.insert(name, (rv.to_string(), app));
                    }
                }
                _ => {
                    index.apply(IndexEvent::Delete(o));
                    model.remove(&name);
                }
            }
        }
        prop_assert_eq!(index.len(), model.len());
        for (name, (rv, _)) in &model {
            let cached = index.get(&key("", "ConfigMap", "default", name));
            prop_assert_eq!(cached.map(|c| c.resource_version().to_string()), Some(rv.clone()));
        }
        for app in 1..3u8 {
            let mut tracked: Vec<String> = index.tracked_by(&format!("app{app}")).map(|o| o.key().name.clone()).collect();
            tracked.sort();
            let expected: Vec<String> = model.iter().filter(|(_, (_, a))| *a == app).map(|(n, _)| n.clone()).collect();
            prop_assert_eq!(tracked, expected);
        }
    }

    /// Arbitrary JSON never panics the index.
    #[test]
    fn arbitrary_objects_never_panic(name in ".{0,8}", kind in ".{0,8}", api in ".{0,8}", owner in any::<bool>()) {
        let mut index = LiveIndex::new(IndexConfig::default());
        let mut o = json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "ownerReferences": [{"uid": 1}]}});
        if owner {
            o["metadata"]["ownerReferences"] = json!("not a list");
        }
        index.apply(IndexEvent::Upsert(o.clone()));
        index.apply(IndexEvent::Delete(o));
        prop_assert!(index.is_empty());
    }
}
