use super::*;

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn store() -> Store {
    Store::new(1000, now())
}

fn rt(s: &Store, group: &str, plural: &str) -> ResourceType {
    s.types()
        .iter()
        .find(|t| t.group == group && t.plural == plural)
        .cloned()
        .unwrap_or_else(|| panic!("{plural}"))
}

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": name}}, "data": {"k": "v"}})
}

fn code(r: Result<impl std::fmt::Debug>) -> u16 {
    match r {
        Err(e) => e.code(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

#[test]
fn create_assigns_identity_and_rejects_duplicates() {
    let mut s = store();
    let cms = rt(&s, "", "configmaps");
    let before = s.resource_version();
    let o = s.create(&cms, Some("default"), cm("a"), &WriteOptions::default(), now()).expect("create");
    assert_eq!(o["metadata"]["namespace"], "default");
    assert_eq!(o["metadata"]["resourceVersion"], json!((before + 1).to_string()));
    assert_eq!(o["metadata"]["uid"].as_str().map(str::len), Some(36));
    assert_eq!(o["metadata"]["creationTimestamp"], "2023-11-14T22:13:20Z");
    assert!(o["metadata"].get("generation").is_none(), "configmaps have no generation");
    let dup = s.create(&cms, Some("default"), cm("a"), &WriteOptions::default(), now());
    assert_eq!(code(dup), 409);
    let missing_ns = s.create(&cms, Some("nope"), cm("b"), &WriteOptions::default(), now());
    assert_eq!(code(missing_ns), 404);
    let bad = s.create(&cms, Some("default"), cm("Bad_Name"), &WriteOptions::default(), now());
    let err = bad.err().map(|e| (e.code(), e.to_string()));
    assert_eq!(err.as_ref().map(|e| e.0), Some(422));
    assert!(err.is_some_and(|e| {
        e.1.starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\"")
    }));
}

#[test]
fn generate_name_and_dry_run() {
    let mut s = store();
    let cms = rt(&s, "", "configmaps");
    let body = json!({"metadata": {"generateName": "x-"}});
    let rv = s.resource_version();
    let o =
        s.create(&cms, Some("default"), body, &WriteOptions { dry_run: true, ..Default::default() }, now());
    let name = o.expect("dry run")["metadata"]["name"].as_str().unwrap_or_default().to_string();
    assert!(name.starts_with("x-") && name.len() == 7, "{name}");
    assert_eq!(s.resource_version(), rv, "dry run stores nothing");
    assert_eq!(code(s.get(&cms, "default", &name)), 404);
}

#[test]
fn stale_resource_version_conflicts() {
    let mut s = store();
    let cms = rt(&s, "", "configmaps");
    let o = s.create(&cms, Some("default"), cm("a"), &WriteOptions::default(), now()).expect("create");
    let mut first = o.clone();
    first["data"]["k"] = json!("1");
    s.update(&cms, "default", "a", first, Part::Main, &WriteOptions::default(), now()).expect("first update");
    let mut second = o;
    second["data"]["k"] = json!("2");
    let err = s.update(&cms, "default", "a", second, Part::Main, &WriteOptions::default(), now()).err();
    let status = err.map(|e| e.to_status()).unwrap_or_default();
    assert_eq!(status["code"], 409);
    assert_eq!(status["reason"], "Conflict");
    assert_eq!(
        status["message"],
        "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again"
    );
}

#[test]
fn unchanged_update_is_a_no_op() {
    let mut s = store();
    let cms = rt(&s, "", "configmaps");
    let o = s.create(&cms, Some("default"), cm("a"), &WriteOptions::default(), now()).expect("create");
    let rv = s.resource_version();
    let again = s
        .update(&cms, "default", "a", o.clone(), Part::Main, &WriteOptions::default(), now())
        .expect("update");
    assert_eq!(again, o);
    assert_eq!(s.resource_version(), rv);
}

fn deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}})
}

#[test]
fn generation_and_status_subresource() {
    let mut s = store();
    let deps = rt(&s, "apps", "deployments");
    let mut body = deployment("web");
    body["status"] = json!({"replicas": 9});
    let o = s.create(&deps, Some("default"), body, &WriteOptions::default(), now()).expect("create");
    assert_eq!(o["metadata"]["generation"], 1);
    assert!(o.get("status").is_none(), "status is dropped on create");
    // Metadata-only change keeps the generation.
    let mut m = o.clone();
    m["metadata"]["labels"] = json!({"x": "y"});
    let o =
        s.update(&deps, "default", "web", m, Part::Main, &WriteOptions::default(), now()).expect("labels");
    assert_eq!(o["metadata"]["generation"], 1);
    // Status via the main resource is ignored.
    let mut st = o.clone();
    st["status"] = json!({"replicas": 5});
    let o =
        s.update(&deps, "default", "web", st, Part::Main, &WriteOptions::default(), now()).expect("status");
    assert!(o.get("status").is_none());
    // Spec via the status subresource is ignored; status is taken.
    let mut both = o.clone();
    both["spec"]["replicas"] = json!(4);
    both["status"] = json!({"replicas": 5});
    let o = s
        .update(&deps, "default", "web", both, Part::Status, &WriteOptions::default(), now())
        .expect("status");
    assert_eq!((o["spec"]["replicas"].clone(), o["status"]["replicas"].clone()), (json!(1), json!(5)));
    assert_eq!(o["metadata"]["generation"], 1);
    // A spec change bumps it.
    let mut sp = o.clone();
    sp["spec"]["replicas"] = json!(3);
    let o = s.update(&deps, "default", "web", sp, Part::Main, &WriteOptions::default(), now()).expect("spec");
    assert_eq!(o["metadata"]["generation"], 2);
}

#[test]
fn list_filters_and_paginates() {
    let mut s = store();
    let cms = rt(&s, "", "configmaps");
    for i in 0..5 {
        s.create(&cms, Some("default"), cm(&format!("c{i}")), &WriteOptions::default(), now())
            .expect("create");
    }
    s.create(&cms, Some("kube-system"), cm("other"), &WriteOptions::default(), now()).expect("create");
    let all = s.list(&cms, &Filter::default(), None, None).expect("list");
    assert_eq!(all.items.len(), 6);
    let filter = Filter { namespace: Some("default".into()), ..Default::default() };
    let p1 = s.list(&cms, &filter, Some(2), None).expect("page 1");
    assert_eq!((p1.items.len(), p1.remaining), (2, Some(3)));
    let p2 = s.list(&cms, &filter, Some(2), p1.continue_token.as_deref()).expect("page 2");
    let p3 = s.list(&cms, &filter, Some(2), p2.continue_token.as_deref()).expect("page 3");
    assert_eq!((p3.items.len(), p3.continue_token), (1, None));
    let labels =
        Filter { labels: LabelSelector::parse("app in (c1,c3)").expect("sel"), ..Default::default() };
    assert_eq!(s.list(&cms, &labels, None, None).expect("list").items.len(), 2);
    let fields = Filter {
        fields: FieldSelector::parse("metadata.name=other", &cms).expect("sel"),
        ..Default::default()
    };
    assert_eq!(s.list(&cms, &fields, None, None).expect("list").items.len(), 1);
    assert_eq!(code(s.list(&cms, &filter, Some(2), Some("garbage!"))), 400);
}

#[test]
fn events_are_ordered_and_expire() {
    let mut s = Store::new(3, now());
    let cms = rt(&s, "", "configmaps");
    let start = s.resource_version();
    for i in 0..5 {
        s.create(&cms, Some("default"), cm(&format!("c{i}")), &WriteOptions::default(), now())
            .expect("create");
    }
    let recent = s.events_since(start + 2, |_| true).expect("recent");
    let rvs: Vec<u64> = recent.iter().map(|e| e.rv).collect();
    assert_eq!(rvs, vec![start + 3, start + 4, start + 5]);
    assert_eq!(code(s.events_since(start, |_| true)), 410);
}

#[test]
fn finalizers_hold_deletion() {
    let mut s = store();
    let cms = rt(&s, "", "configmaps");
    let mut body = cm("f");
    body["metadata"]["finalizers"] = json!(["example.com/hold"]);
    s.create(&cms, Some("default"), body, &WriteOptions::default(), now()).expect("create");
    let d = s.delete(&cms, "default", "f", &DeleteOptions::default(), now()).expect("delete");
    let Deleted::Pending(pending) = d else { panic!("expected pending") };
    assert!(pending["metadata"]["deletionTimestamp"].is_string());
    let mut add = pending.clone();
    add["metadata"]["finalizers"] = json!(["example.com/hold", "example.com/more"]);
    assert_eq!(code(s.update(&cms, "default", "f", add, Part::Main, &WriteOptions::default(), now())), 422);
    let mut release = pending;
    release["metadata"]["finalizers"] = json!([]);
    s.update(&cms, "default", "f", release, Part::Main, &WriteOptions::default(), now()).expect("release");
    assert_eq!(code(s.get(&cms, "default", "f")), 404);
}

fn owned_cm(name: &str, owner: &Value) -> Value {
    let mut c = cm(name);
    c["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap",
        "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"], "blockOwnerDeletion": true}]);
    c
}

#[test]
fn garbage_collection_by_propagation() {
    for (policy, child_survives, child_owned) in [
        (Propagation::Background, false, false),
        (Propagation::Foreground, false, false),
        (Propagation::Orphan, true, false),
    ] {
        let mut s = store();
        let cms = rt(&s, "", "configmaps");
        let w = WriteOptions::default();
        let owner = s.create(&cms, Some("default"), cm("owner"), &w, now()).expect("owner");
        let child = s.create(&cms, Some("default"), owned_cm("child", &owner), &w, now()).expect("child");
        s.create(&cms, Some("default"), owned_cm("grandchild", &child), &w, now()).expect("grandchild");
        let opts = DeleteOptions { propagation: policy, ..Default::default() };
        s.delete(&cms, "default", "owner", &opts, now()).expect("delete");
        assert_eq!(code(s.get(&cms, "default", "owner")), 404, "{policy:?}");
        let child = s.get(&cms, "default", "child").ok().and_then(|c| c.value().ok());
        assert_eq!(child.is_some(), child_survives, "{policy:?}");
        if let Some(c) = child {
            assert_eq!(c["metadata"]["ownerReferences"].is_array(), child_owned, "{policy:?}");
        }
        assert_eq!(s.get(&cms, "default", "grandchild").is_ok(), child_survives, "{policy:?}");
    }
}

#[test]
fn foreground_waits_for_blocked_dependents() {
    let mut s = store();
    let cms = rt(&s, "", "configmaps");
    let w = WriteOptions::default();
    let owner = s.create(&cms, Some("default"), cm("owner"), &w, now()).expect("owner");
    let mut child = owned_cm("child", &owner);
    child["metadata"]["finalizers"] = json!(["example.com/hold"]);
    s.create(&cms, Some("default"), child, &w, now()).expect("child");
    let opts = DeleteOptions { propagation: Propagation::Foreground, ..Default::default() };
    s.delete(&cms, "default", "owner", &opts, now()).expect("delete");
    let o = s.get(&cms, "default", "owner").expect("owner waits").value().expect("json");
    assert_eq!(o["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    let mut c = s.get(&cms, "default", "child").expect("child pending").value().expect("json");
    c["metadata"]["finalizers"] = json!([]);
    s.update(&cms, "default", "child", c, Part::Main, &w, now()).expect("release");
    assert_eq!(code(s.get(&cms, "default", "child")), 404);
    assert_eq!(code(s.get(&cms, "default", "owner")), 404);
}

#[test]
fn namespace_deletion_removes_contents() {
    let mut s = store();
    let (nss, cms) = (rt(&s, "", "namespaces"), rt(&s, "", "configmaps"));
    let w = WriteOptions::default();
    s.create(&nss, None, json!({"metadata": {"name": "team"}}), &w, now()).expect("ns");
    s.create(&cms, Some("team"), cm("a"), &w, now()).expect("a");
    let mut held = cm("held");
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    s.create(&cms, Some("team"), held, &w, now()).expect("held");
    s.delete(&nss, "", "team", &DeleteOptions::default(), now()).expect("delete ns");
    let ns = s.get(&nss, "", "team").expect("terminating").value().expect("json");
    assert_eq!(ns["status"]["phase"], "Terminating");
    assert_eq!(code(s.get(&cms, "team", "a")), 404);
    assert_eq!(code(s.create(&cms, Some("team"), cm("late"), &w, now())), 403);
    let mut h = s.get(&cms, "team", "held").expect("held").value().expect("json");
    h["metadata"]["finalizers"] = json!(null);
    s.update(&cms, "team", "held", h, Part::Main, &w, now()).expect("release");
    assert_eq!(code(s.get(&nss, "", "team")), 404);
}

fn widget_crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

#[test]
fn crds_make_kinds_servable_and_take_them_away() {
    let mut s = store();
    let crds = rt(&s, "apiextensions.k8s.io", "customresourcedefinitions");
    let w = WriteOptions::default();
    let crd = s.create(&crds, None, widget_crd(), &w, now()).expect("crd");
    assert_eq!(crd["status"]["conditions"][1]["type"], "Established");
    let widgets = s.find_type("example.com", "v1", "widgets").expect("servable");
    let wd = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}});
    let o = s.create(&widgets, Some("default"), wd, &w, now()).expect("widget");
    assert_eq!(o["metadata"]["generation"], 1);
    let mut bad = widget_crd();
    bad["metadata"]["name"] = json!("wrong");
    assert_eq!(code(s.create(&crds, None, bad, &w, now())), 422);
    s.delete(&crds, "", "widgets.example.com", &DeleteOptions::default(), now()).expect("delete crd");
    assert_eq!(code(s.get(&crds, "", "widgets.example.com")), 404);
    assert!(s.find_type("example.com", "v1", "widgets").is_none());
    assert!(s.list(&widgets, &Filter::default(), None, None).expect("list").items.is_empty());
}

#[test]
fn label_changes_become_added_and_deleted_for_selecting_watchers() {
    let mut s = store();
    let cms = rt(&s, "", "configmaps");
    let w = WriteOptions::default();
    let o = s.create(&cms, Some("default"), cm("x"), &w, now()).expect("create");
    let start = s.resource_version();
    let filter = Filter { labels: LabelSelector::parse("tier=web").expect("sel"), ..Default::default() };
    let mut join = o.clone();
    join["metadata"]["labels"]["tier"] = json!("web");
    let o = s.update(&cms, "default", "x", join, Part::Main, &w, now()).expect("join");
    let mut touch = o.clone();
    touch["data"]["k"] = json!("2");
    let o = s.update(&cms, "default", "x", touch, Part::Main, &w, now()).expect("touch");
    let mut leave = o;
    leave["metadata"]["labels"]["tier"] = json!("db");
    s.update(&cms, "default", "x", leave, Part::Main, &w, now()).expect("leave");
    let seen: Vec<(EventType, String)> = s
        .events_since(start, |_| true)
        .expect("events")
        .iter()
        .filter_map(|e| e.as_seen_by(&filter))
        .map(|(k, o)| (k, o.value().map(|v| v["metadata"]["labels"]["tier"].to_string()).unwrap_or_default()))
        .collect();
    let expected = vec![
        (EventType::Added, "\"web\"".to_string()),
        (EventType::Modified, "\"web\"".to_string()),
        (EventType::Deleted, "\"web\"".to_string()),
    ];
    assert_eq!(seen, expected);
}

fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9_./-]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("metadata".to_string()),
                    Just("name".to_string()),
                    Just("labels".to_string()),
                    Just("finalizers".to_string()),
                    Just("ownerReferences".to_string()),
                    Just("spec".to_string()),
                    Just("status".to_string()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #[test]
    fn arbitrary_bodies_never_panic(body in arbitrary_json(), meta in arbitrary_json()) {
        let mut s = store();
        for (group, plural) in [("", "configmaps"), ("apps", "deployments"), ("", "namespaces"), ("", "services")] {
            let t = rt(&s, group, plural);
            let mut obj = body.clone();
            if let Some(m) = obj.as_object_mut() {
                m.insert("metadata".into(), meta.clone());
            }
            let created = s.create(&t, Some("default"), obj.clone(), &WriteOptions::default(), now());
            if let Ok(c) = created {
                let ns = c["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
                let name = c["metadata"]["name"].as_str().unwrap_or_default().to_string();
                let _ = s.update(&t, &ns, &name, obj.clone(), Part::Main, &WriteOptions::default(), now());
                let _ = s.update(&t, &ns, &name, obj, Part::Status, &WriteOptions::default(), now());
                let _ = s.delete(&t, &ns, &name, &DeleteOptions::default(), now());
            }
        }
    }
}
