//! Server-side apply and managedFields. Expected values follow the Kubernetes "Server-Side
//! Apply" documentation: the `fieldsV1` shape of its examples, its ownership rules (shared
//! ownership on equal values, conflicts on different ones, `--force-conflicts` moving
//! ownership, removal of fields no manager owns any more) and the API server's messages.

use serde_json::{Value, json};
use tiphys_patch::{
    FieldSet, Operation, PatchError, PathElement, managed_fields, server_side_apply, update_managed_fields,
};
use tiphys_resource::GroupVersionKind;

const T0: &str = "2026-11-22T10:00:00Z";
const T1: &str = "2026-11-22T11:00:00Z";
const T2: &str = "2026-11-22T12:00:00Z";

fn apps() -> GroupVersionKind {
    GroupVersionKind::from_api_version("apps/v1", "Deployment").expect("gvk")
}

fn cm_gvk() -> GroupVersionKind {
    GroupVersionKind::from_api_version("v1", "ConfigMap").expect("gvk")
}

fn deployment(replicas: u32, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx-deployment", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {"metadata": {"labels": {"app": "nginx"}},
                         "spec": {"containers": [{"name": "nginx", "image": image}]}}
        }
    })
}

fn apply(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, PatchError> {
    server_side_apply(live, config, manager, force, &apps(), now)
}

/// The Deployment applied by `kubectl` with 3 replicas, then scaled to 5 by `scaler` (an
/// ordinary write, as `kubectl scale` or an HPA does).
fn applied_then_scaled_by(scaler: &str) -> Value {
    let applied = apply(None, &deployment(3, "nginx:1"), "kubectl", false, T0).expect("applies");
    let mut scaled = applied.clone();
    scaled["spec"]["replicas"] = json!(5);
    update_managed_fields(Some(&applied), &scaled, scaler, &apps(), T1).expect("update")
}

fn entries(object: &Value) -> Vec<(String, Operation)> {
    managed_fields(object).expect("decodes").into_iter().map(|e| (e.manager, e.operation)).collect()
}

#[test]
fn first_apply_records_the_documented_fields_v1_shape() {
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "test-cm", "namespace": "default", "labels": {"test-label": "test"}},
                        "data": {"key": "some value"}});
    let out = server_side_apply(None, &config, "kubectl", false, &cm_gvk(), T0).expect("applies");
    assert_eq!(out["data"], json!({"key": "some value"}));
    assert_eq!(
        out["metadata"]["managedFields"],
        json!([{
            "manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:key": {}}, "f:metadata": {"f:labels": {"f:test-label": {}}}}
        }])
    );
}

#[test]
fn keyed_list_elements_atomic_selectors_and_default_protocol_encode_like_the_api_server() {
    let mut config = deployment(3, "nginx:1.14.2");
    config["spec"]["template"]["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80}]);
    let out = apply(None, &config, "kubectl", false, T0).expect("applies");
    let fields = &out["metadata"]["managedFields"][0]["fieldsV1"];
    assert_eq!(fields["f:spec"]["f:selector"], json!({}));
    let nginx = &fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"nginx\"}"];
    assert_eq!(nginx["."], json!({}));
    assert_eq!(nginx["f:image"], json!({}));
    assert_eq!(nginx["f:name"], json!({}));
    let port = &nginx["f:ports"]["k:{\"containerPort\":80,\"protocol\":\"TCP\"}"];
    assert_eq!(port, &json!({".": {}, "f:containerPort": {}}));
    assert_eq!(fields.get("f:apiVersion"), None);
    assert_eq!(fields["f:metadata"].get("f:name"), None);
}

#[test]
fn reapplying_the_same_config_changes_nothing_not_even_the_time() {
    let first = apply(None, &deployment(3, "nginx:1"), "kubectl", false, T0).expect("applies");
    let second = apply(Some(&first), &deployment(3, "nginx:1"), "kubectl", false, T1).expect("applies");
    assert_eq!(second, first);
    // A second manager applying the same values changes no value: it shares ownership, with
    // no timestamp of its own, and the first manager's entry stays as it was.
    let shared = apply(Some(&first), &deployment(3, "nginx:1"), "argocd", false, T1).expect("applies");
    assert_eq!(shared["spec"], first["spec"]);
    let entries = managed_fields(&shared).expect("decodes");
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e.time.as_deref() != Some(T1)), "{entries:?}");
}

#[test]
fn a_field_changed_by_another_writer_conflicts_with_the_api_server_message() {
    let scaled = applied_then_scaled_by("kubectl-scale");
    assert_eq!(
        entries(&scaled),
        vec![("kubectl".into(), Operation::Apply), ("kubectl-scale".into(), Operation::Update)]
    );

    let err = apply(Some(&scaled), &deployment(3, "nginx:1"), "kubectl", false, T2).expect_err("conflict");
    let PatchError::Conflicts(conflicts) = &err else { panic!("expected conflicts, got {err}") };
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl-scale\" using apps/v1: .spec.replicas"
    );
    assert_eq!(
        conflicts.causes(),
        vec![("conflict with \"kubectl-scale\" using apps/v1".into(), ".spec.replicas".into())]
    );
}

#[test]
fn dropping_a_contested_field_from_the_config_avoids_the_conflict() {
    let scaled = applied_then_scaled_by("hpa");
    let mut config = deployment(3, "nginx:2");
    if let Some(s) = config["spec"].as_object_mut() {
        s.remove("replicas");
    }
    let out = apply(Some(&scaled), &config, "kubectl", false, T2).expect("no conflict");
    assert_eq!(out["spec"]["replicas"], json!(5), "the field stays: hpa owns it");
    assert_eq!(out["spec"]["template"]["spec"]["containers"][0]["image"], json!("nginx:2"));
}

#[test]
fn force_takes_ownership_from_the_other_manager() {
    let scaled = applied_then_scaled_by("kubectl-scale");
    let out = apply(Some(&scaled), &deployment(3, "nginx:1"), "kubectl", true, T2).expect("forced");
    assert_eq!(out["spec"]["replicas"], json!(3));
    assert_eq!(entries(&out), vec![("kubectl".into(), Operation::Apply)], "kubectl-scale owned nothing else");
    let again = apply(Some(&out), &deployment(4, "nginx:1"), "kubectl", false, T2).expect("owned now");
    assert_eq!(again["spec"]["replicas"], json!(4));
}

#[test]
fn two_appliers_of_the_same_value_share_ownership_until_both_drop_it() {
    let a = apply(None, &deployment(3, "nginx:1"), "a", false, T0).expect("a applies");
    let b_config = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx-deployment"},
                          "spec": {"replicas": 3}});
    let shared = apply(Some(&a), &b_config, "b", false, T1).expect("same value: no conflict");
    let owners = managed_fields(&shared).expect("decodes");
    let replicas = [PathElement::Field("spec".into()), PathElement::Field("replicas".into())];
    assert!(owners.iter().all(|e| e.fields.contains(&replicas)), "both own .spec.replicas");

    let mut a_without = deployment(3, "nginx:1");
    if let Some(s) = a_without["spec"].as_object_mut() {
        s.remove("replicas");
    }
    let still = apply(Some(&shared), &a_without, "a", false, T2).expect("applies");
    assert_eq!(still["spec"]["replicas"], json!(3), "b still owns it");

    let b_without =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx-deployment"}});
    let gone = apply(Some(&still), &b_without, "b", false, T2).expect("applies");
    assert_eq!(gone["spec"].get("replicas"), None, "nobody owns it any more");
    assert_eq!(entries(&gone), vec![("a".into(), Operation::Apply)], "b owns nothing and its entry goes");
}

#[test]
fn a_different_value_for_a_field_of_another_applier_conflicts_without_using() {
    let a = apply(None, &deployment(3, "nginx:1"), "a", false, T0).expect("a applies");
    let err = apply(Some(&a), &deployment(2, "nginx:2"), "b", false, T1).expect_err("conflict");
    assert_eq!(
        err.to_string(),
        "Apply failed with 2 conflicts: conflicts with \"a\":\n- .spec.replicas\n\
         - .spec.template.spec.containers[name=\"nginx\"].image"
    );
}

#[test]
fn fields_and_list_elements_dropped_from_the_config_are_removed() {
    let mut config = deployment(3, "nginx:1");
    config["metadata"]["labels"]["tier"] = json!("web");
    config["spec"]["template"]["spec"]["containers"] =
        json!([{"name": "nginx", "image": "nginx:1"}, {"name": "sidecar", "image": "envoy"}]);
    config["metadata"]["finalizers"] = json!(["example.com/a", "example.com/b"]);
    let first = apply(None, &config, "kubectl", false, T0).expect("applies");
    assert_eq!(first["metadata"]["finalizers"], json!(["example.com/a", "example.com/b"]));

    let mut smaller = deployment(3, "nginx:1");
    smaller["metadata"]["finalizers"] = json!(["example.com/a"]);
    let out = apply(Some(&first), &smaller, "kubectl", false, T1).expect("applies");
    assert_eq!(out["metadata"]["labels"], json!({"app": "nginx"}));

    // Removing the last element of a map or list removes the emptied map or list.
    let mut bare = smaller.clone();
    if let Some(metadata) = bare["metadata"].as_object_mut() {
        metadata.remove("labels");
        metadata.remove("finalizers");
    }
    let emptied = apply(Some(&out), &bare, "kubectl", false, T2).expect("applies");
    assert_eq!(
        emptied["metadata"],
        json!({"name": "nginx-deployment", "managedFields": emptied["metadata"]["managedFields"]})
    );
    assert_eq!(out["spec"]["template"]["spec"]["containers"], json!([{"name": "nginx", "image": "nginx:1"}]));
    assert_eq!(out["metadata"]["finalizers"], json!(["example.com/a"]));
}

#[test]
fn fields_set_by_other_writers_survive_an_apply() {
    let first = apply(None, &deployment(3, "nginx:1"), "kubectl", false, T0).expect("applies");
    let mut edited = first.clone();
    edited["metadata"]["annotations"] = json!({"note": "hand-made"});
    edited["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("Always");
    let edited = update_managed_fields(Some(&first), &edited, "kubectl-edit", &apps(), T1).expect("update");
    let out = apply(Some(&edited), &deployment(3, "nginx:2"), "kubectl", false, T2).expect("applies");
    assert_eq!(out["metadata"]["annotations"], json!({"note": "hand-made"}));
    let nginx = &out["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(nginx["imagePullPolicy"], json!("Always"));
    assert_eq!(nginx["image"], json!("nginx:2"));
}

#[test]
fn updates_move_ownership_and_record_the_writer() {
    let created = update_managed_fields(None, &deployment(1, "nginx:1"), "kubectl-create", &apps(), T0)
        .expect("create");
    let owner = &managed_fields(&created).expect("decodes")[0];
    assert_eq!(
        (owner.manager.as_str(), owner.operation, owner.api_version.as_str()),
        ("kubectl-create", Operation::Update, "apps/v1")
    );
    let image = ["spec", "template", "spec", "containers"]
        .iter()
        .map(|f| PathElement::Field((*f).into()))
        .chain([PathElement::Key("{\"name\":\"nginx\"}".into()), PathElement::Field("image".into())])
        .collect::<Vec<_>>();
    assert!(owner.fields.contains(&image));

    let mut changed = created.clone();
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    let changed = update_managed_fields(Some(&created), &changed, "ci-bot", &apps(), T1).expect("update");
    let all = managed_fields(&changed).expect("decodes");
    let bot = all.iter().find(|e| e.manager == "ci-bot").expect("ci-bot entry");
    assert!(bot.fields.contains(&image));
    assert_eq!(bot.time.as_deref(), Some(T1));
    let creator = all.iter().find(|e| e.manager == "kubectl-create").expect("creator entry");
    assert!(!creator.fields.contains(&image));
    assert_eq!(creator.time.as_deref(), Some(T0));

    let noop = update_managed_fields(Some(&changed), &changed, "someone", &apps(), T2).expect("update");
    assert_eq!(noop, changed, "a write that changes nothing records nothing");
}

#[test]
fn a_writer_replacing_managed_fields_is_honoured() {
    let created = update_managed_fields(None, &deployment(1, "nginx:1"), "kubectl-create", &apps(), T0)
        .expect("create");
    let mut reset = created.clone();
    reset["metadata"]["managedFields"] = json!([]);
    let out = update_managed_fields(Some(&created), &reset, "x", &apps(), T1).expect("update");
    assert_eq!(out["metadata"]["managedFields"], json!([]));
}

#[test]
fn managed_fields_entries_sort_apply_first_then_by_time() {
    let created =
        update_managed_fields(None, &deployment(1, "nginx:1"), "creator", &apps(), T0).expect("create");
    let labels = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx-deployment",
                        "labels": {"team": "x"}}});
    let out = apply(Some(&created), &labels, "labeller", false, T1).expect("applies");
    assert_eq!(
        entries(&out),
        vec![("labeller".into(), Operation::Apply), ("creator".into(), Operation::Update)]
    );
}

#[test]
fn fields_v1_round_trips_and_prints_paths() {
    let encoded = json!({"f:metadata": {"f:finalizers": {"v:\"a\"": {}}},
                         "f:spec": {"f:containers": {"k:{\"name\":\"x\"}": {".": {}, "f:image": {}}},
                                    "f:list": {"i:0": {}}}});
    let set = FieldSet::from_fields_v1(&encoded).expect("decodes");
    assert_eq!(set.to_fields_v1(), encoded);
    let printed: Vec<String> = set.paths().iter().map(ToString::to_string).collect();
    assert_eq!(
        printed,
        vec![
            ".metadata.finalizers[=\"a\"]",
            ".spec.containers[name=\"x\"]",
            ".spec.containers[name=\"x\"].image",
            ".spec.list[0]",
        ]
    );
}

#[test]
fn invalid_managed_fields_and_inputs_are_errors() {
    let bad = [
        json!({"metadata": {"managedFields": "nope"}}),
        json!({"metadata": {"managedFields": [{"manager": "m", "operation": "Delete"}]}}),
        json!({"metadata": {"managedFields": [{"manager": "m", "operation": "Apply", "fieldsV1": {"x:y": {}}}]}}),
        json!({"metadata": {"managedFields": [{"manager": "m", "operation": "Apply", "fieldsV1": {"f:a": 1}}]}}),
    ];
    for live in bad {
        let err = apply(Some(&live), &deployment(1, "x"), "m", false, T0).expect_err("rejected");
        assert!(matches!(err, PatchError::InvalidManagedFields(_)), "{live}: {err}");
    }
    let err = apply(None, &json!([]), "m", false, T0).expect_err("rejected");
    assert!(err.to_string().contains("applied configuration"), "{err}");
}

#[test]
fn keyed_lists_merge_in_structured_merge_diff_order() {
    // Live-only elements keep their places; shared ones follow the configuration's order.
    let mut live = deployment(1, "x");
    live["spec"]["template"]["spec"]["containers"] = json!([{"name": "a"}, {"name": "b"}, {"name": "c"}]);
    let live = update_managed_fields(None, &live, "creator", &apps(), T0).expect("create");
    let mut config = deployment(1, "x");
    config["spec"]["template"]["spec"]["containers"] = json!([{"name": "c"}, {"name": "a"}, {"name": "new"}]);
    let out = apply(Some(&live), &config, "kubectl", false, T1).expect("same values: no conflict");
    let names: Vec<&str> = out["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["b", "c", "a", "new"]);
}

#[test]
fn the_first_apply_to_an_untracked_object_conflicts_with_before_first_apply() {
    let live = deployment(1, "nginx:1");
    let err = apply(Some(&live), &deployment(3, "nginx:1"), "kubectl", false, T0).expect_err("conflict");
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using apps/v1: .spec.replicas"
    );
    let out = apply(Some(&live), &deployment(3, "nginx:1"), "kubectl", true, T0).expect("forced");
    assert_eq!(out["spec"]["replicas"], json!(3));
    let managers: Vec<String> =
        managed_fields(&out).expect("decodes").into_iter().map(|e| e.manager).collect();
    assert_eq!(managers, ["kubectl", tiphys_patch::BEFORE_FIRST_APPLY]);
}

#[test]
fn updates_of_untracked_objects_stay_untracked() {
    let old = deployment(1, "nginx:1");
    let new = deployment(2, "nginx:1");
    let out = update_managed_fields(Some(&old), &new, "kubectl-scale", &apps(), T0).expect("update");
    assert_eq!(out, new);
}

#[test]
fn kubectl_moves_from_client_side_to_server_side_apply_without_conflicts() {
    // After `kubectl apply` (client-side), the object carries the last-applied annotation and
    // the fields belong to kubectl-client-side-apply (an Update entry).
    let mut config = deployment(3, "nginx:1");
    let annotation = tiphys_patch::last_applied_configuration(&config);
    config["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": annotation});
    let live =
        update_managed_fields(None, &config, "kubectl-client-side-apply", &apps(), T0).expect("create");

    let new_config = deployment(5, "nginx:2");
    let err = apply(Some(&live), &new_config, "argocd", false, T1).expect_err("another manager conflicts");
    assert!(err.to_string().contains("\"kubectl-client-side-apply\" using apps/v1"), "{err}");

    let out = apply(Some(&live), &new_config, "kubectl", false, T1).expect("kubectl takes over");
    assert_eq!(out["spec"]["replicas"], json!(5));
    let recorded =
        out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].as_str();
    assert_eq!(recorded, Some(tiphys_patch::last_applied_configuration(&new_config).as_str()));

    // A field someone changed after the client-side apply still conflicts.
    let mut edited = live.clone();
    edited["spec"]["replicas"] = json!(4);
    let edited = update_managed_fields(Some(&live), &edited, "kubectl-edit", &apps(), T1).expect("edit");
    let err = apply(Some(&edited), &new_config, "kubectl", false, T2).expect_err("edited field conflicts");
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas"
    );
}

#[test]
fn last_applied_configuration_is_kubectls_encoding() {
    let config = json!({"kind": "ConfigMap", "apiVersion": "v1",
                        "metadata": {"name": "c", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "old"}},
                        "data": {"b": "<&>", "a": "1"}});
    assert_eq!(
        tiphys_patch::last_applied_configuration(&config),
        "{\"apiVersion\":\"v1\",\"data\":{\"a\":\"1\",\"b\":\"\\u003c\\u0026\\u003e\"},\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}\n"
    );
}

#[test]
fn conflicts_list_a_levels_own_fields_before_deeper_ones() {
    // `.spec.template...` sorts before `.spec.zeta` by name, but structured-merge-diff lists
    // the fields of a level before the fields below it.
    let mut config = deployment(3, "nginx:1");
    config["spec"]["zeta"] = json!(1);
    let a = apply(None, &config, "a", false, T0).expect("a applies");
    let mut other = deployment(3, "nginx:2");
    other["spec"]["zeta"] = json!(2);
    let err = apply(Some(&a), &other, "b", false, T1).expect_err("conflict");
    let PatchError::Conflicts(conflicts) = err else { panic!("expected conflicts") };
    let fields: Vec<&str> = conflicts.0.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, [".spec.zeta", ".spec.template.spec.containers[name=\"nginx\"].image"]);
}

#[test]
fn remove_fields_drops_what_a_manager_owns() {
    // An HPA-like writer owns .spec.replicas; the image belongs to the applier.
    let applied = apply(None, &deployment(3, "nginx:1"), "kubectl", false, T0).expect("applies");
    let mut scaled = applied.clone();
    scaled["spec"]["replicas"] = json!(5);
    scaled["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "A", "value": "1"}]);
    let scaled = update_managed_fields(Some(&applied), &scaled, "hpa", &apps(), T1).expect("update");
    let hpa = managed_fields(&scaled)
        .expect("decodes")
        .into_iter()
        .find(|e| e.manager == "hpa")
        .expect("hpa entry");
    let stripped = tiphys_patch::remove_fields(&scaled, &hpa.fields, &apps());
    assert_eq!(stripped["spec"].get("replicas"), None);
    let nginx = &stripped["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(nginx.get("env"), None, "the emptied env list goes too");
    assert_eq!(nginx["image"], json!("nginx:1"));
}

#[test]
fn custom_resources_own_maps_per_key_and_lists_as_a_whole() {
    let gvk = GroupVersionKind::from_api_version("example.com/v1", "Widget").expect("gvk");
    let config = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                        "spec": {"sizes": [1, 2], "labels": {"a": "1"}}});
    let out = server_side_apply(None, &config, "m", false, &gvk, T0).expect("applies");
    assert_eq!(
        out["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:spec": {"f:labels": {"f:a": {}}, "f:sizes": {}}})
    );
    let other = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                       "spec": {"sizes": [3], "labels": {"b": "2"}}});
    let err = server_side_apply(Some(&out), &other, "n", false, &gvk, T1).expect_err("list conflicts");
    assert_eq!(err.to_string(), "Apply failed with 1 conflict: conflict with \"m\": .spec.sizes");
    let forced = server_side_apply(Some(&out), &other, "n", true, &gvk, T1).expect("forced");
    assert_eq!(forced["spec"], json!({"sizes": [3], "labels": {"a": "1", "b": "2"}}));
}

#[test]
fn conflicts_name_the_subresource_of_the_other_manager() {
    // As users see it when an HPA scaled the Deployment through /scale.
    let mut live = deployment(5, "nginx:1");
    live["metadata"]["managedFields"] = json!([{
        "manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
        "time": T0, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}, "subresource": "scale"
    }]);
    let err = apply(Some(&live), &deployment(3, "nginx:1"), "pulumi", false, T1).expect_err("conflict");
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kube-controller-manager\" with subresource \"scale\" \
         using apps/v1: .spec.replicas"
    );
}
