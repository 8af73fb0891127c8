//! Strategic merge patch and kubectl's two/three-way patches. Expected results follow the
//! behaviour Kubernetes documents ("Update API Objects in Place Using kubectl patch", the
//! api-machinery strategic-merge-patch design doc, the `patchMergeKey` markers of k8s.io/api).

use serde_json::{Value, json};
use tiphys_patch::{
    ListType, PatchError, apply_strategic_merge_patch, create_three_way_merge_patch,
    create_two_way_merge_patch, merge_key, schema,
};
use tiphys_resource::GroupVersionKind;

fn gvk(api_version: &str, kind: &str) -> GroupVersionKind {
    GroupVersionKind::from_api_version(api_version, kind).expect("valid gvk")
}

fn deployment() -> GroupVersionKind {
    gvk("apps/v1", "Deployment")
}

fn pod_spec(spec: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"template": {"spec": spec}}})
}

fn smp(doc: &Value, patch: &Value) -> Value {
    apply_strategic_merge_patch(doc, patch, &deployment()).expect("patch applies")
}

fn containers(doc: &Value) -> &Value {
    &doc["spec"]["template"]["spec"]["containers"]
}

#[test]
fn containers_merge_by_name_as_the_kubectl_patch_docs_show() {
    let doc = pod_spec(json!({"containers": [{"name": "patch-demo-ctr", "image": "nginx"}]}));
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "patch-demo-ctr-2", "image": "redis"}]}}}});
    let out = smp(&doc, &patch);
    // Upstream puts elements the patch adds before the live ones (the docs' output shows
    // patch-demo-ctr-2 first; tests/kubectl_oracle.rs checks the same against kubectl).
    assert_eq!(
        containers(&out),
        &json!([{"name": "patch-demo-ctr-2", "image": "redis"}, {"name": "patch-demo-ctr", "image": "nginx"}])
    );
}

#[test]
fn a_matching_container_is_merged_field_by_field() {
    let doc = pod_spec(json!({"containers": [{"name": "web", "image": "nginx:1", "args": ["a"]}]}));
    let patch =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}});
    assert_eq!(containers(&smp(&doc, &patch)), &json!([{"name": "web", "image": "nginx:2", "args": ["a"]}]));
}

#[test]
fn tolerations_have_no_strategy_and_are_replaced() {
    let doc = pod_spec(json!({"tolerations": [{"key": "a", "operator": "Exists"}]}));
    let patch =
        json!({"spec": {"template": {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}}}});
    assert_eq!(
        smp(&doc, &patch)["spec"]["template"]["spec"]["tolerations"],
        json!([{"key": "b", "operator": "Exists"}])
    );
}

#[test]
fn every_built_in_merge_key_merges_its_list() {
    // (field path under the pod template spec, existing element, patch element, merged length)
    let cases = [
        ("initContainers", json!({"name": "a", "image": "x"}), json!({"name": "a", "image": "y"}), 1),
        ("ephemeralContainers", json!({"name": "a"}), json!({"name": "b"}), 2),
        ("volumes", json!({"name": "v", "emptyDir": {}}), json!({"name": "w", "emptyDir": {}}), 2),
        ("imagePullSecrets", json!({"name": "s1"}), json!({"name": "s2"}), 2),
        ("hostAliases", json!({"ip": "10.0.0.1", "hostnames": ["a"]}), json!({"ip": "10.0.0.2"}), 2),
        (
            "topologySpreadConstraints",
            json!({"topologyKey": "zone", "maxSkew": 1}),
            json!({"topologyKey": "host"}),
            2,
        ),
        ("schedulingGates", json!({"name": "g1"}), json!({"name": "g1"}), 1),
    ];
    for (field, existing, added, len) in cases {
        let doc = pod_spec(json!({ field: [existing] }));
        let patch = json!({"spec": {"template": {"spec": { field: [added] }}}});
        let out = smp(&doc, &patch);
        assert_eq!(out["spec"]["template"]["spec"][field].as_array().map(Vec::len), Some(len), "{field}");
    }
}

#[test]
fn container_sub_lists_merge_by_their_keys() {
    let doc = pod_spec(json!({"containers": [{
        "name": "web",
        "ports": [{"containerPort": 80, "name": "http"}],
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
        "volumeDevices": [{"name": "raw", "devicePath": "/dev/x"}]
    }]}));
    let patch = json!({"spec": {"template": {"spec": {"containers": [{
        "name": "web",
        "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 443}],
        "env": [{"name": "B", "value": "3"}],
        "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
        "volumeDevices": [{"name": "raw2", "devicePath": "/dev/y"}]
    }]}}}});
    let out = smp(&doc, &patch);
    let web = &containers(&out)[0];
    assert_eq!(web["ports"], json!([{"containerPort": 80, "name": "web"}, {"containerPort": 443}]));
    assert_eq!(web["env"], json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]));
    assert_eq!(web["volumeMounts"].as_array().map(Vec::len), Some(2));
    assert_eq!(web["volumeDevices"].as_array().map(Vec::len), Some(2));
}

#[test]
fn service_ports_owner_references_finalizers_and_conditions_merge() {
    let svc = gvk("v1", "Service");
    let doc = json!({"metadata": {"finalizers": ["a"], "ownerReferences": [{"uid": "1", "name": "x"}]},
                     "spec": {"ports": [{"port": 80, "targetPort": 8080}]},
                     "status": {"conditions": [{"type": "Ready", "status": "False"}]}});
    let patch = json!({"metadata": {"finalizers": ["b", "a"], "ownerReferences": [{"uid": "2", "name": "y"}]},
                       "spec": {"ports": [{"port": 443}]},
                       "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
    let out = apply_strategic_merge_patch(&doc, &patch, &svc).expect("applies");
    // A set merge orders the patch's values by the patch.
    assert_eq!(out["metadata"]["finalizers"], json!(["b", "a"]));
    assert_eq!(out["metadata"]["ownerReferences"].as_array().map(Vec::len), Some(2));
    assert_eq!(out["spec"]["ports"], json!([{"port": 443}, {"port": 80, "targetPort": 8080}]));
    assert_eq!(out["status"]["conditions"], json!([{"type": "Ready", "status": "True"}]));
}

#[test]
fn null_deletes_a_field_and_maps_merge() {
    let doc = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "data": {"k": "v"}});
    let patch = json!({"metadata": {"labels": {"a": null, "c": "3"}}, "data": null});
    let out = apply_strategic_merge_patch(&doc, &patch, &gvk("v1", "ConfigMap")).expect("applies");
    assert_eq!(out, json!({"metadata": {"labels": {"b": "2", "c": "3"}}}));
}

#[test]
fn patch_delete_directive_removes_a_list_element_by_key() {
    let doc = pod_spec(json!({"containers": [{"name": "nginx"}, {"name": "log-tailer"}]}));
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "nginx", "image": "nginx-1.0"}, {"$patch": "delete", "name": "log-tailer"}]}}}});
    assert_eq!(containers(&smp(&doc, &patch)), &json!([{"name": "nginx", "image": "nginx-1.0"}]));
}

#[test]
fn patch_replace_directive_in_a_list_replaces_the_list() {
    let doc = pod_spec(json!({"containers": [{"name": "nginx", "image": "old"}, {"name": "log-tailer"}]}));
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "nginx", "image": "nginx-1.0"}, {"$patch": "replace"}]}}}});
    assert_eq!(containers(&smp(&doc, &patch)), &json!([{"name": "nginx", "image": "nginx-1.0"}]));
}

#[test]
fn patch_replace_directive_in_a_map_replaces_the_map() {
    let doc = pod_spec(json!({"containers": [{"name": "a"}], "hostname": "h"}));
    let patch = json!({"spec": {"template": {"spec": {"$patch": "replace", "containers": [{"name": "b"}]}}}});
    assert_eq!(smp(&doc, &patch)["spec"]["template"]["spec"], json!({"containers": [{"name": "b"}]}));
}

#[test]
fn patch_delete_directive_in_a_map_empties_it() {
    let doc = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}, "replicas": 1}});
    let out = smp(&doc, &json!({"spec": {"strategy": {"rollingUpdate": {"$patch": "delete"}}}}));
    assert_eq!(out["spec"]["strategy"]["rollingUpdate"], json!({}));
}

#[test]
fn retain_keys_clears_the_keys_not_listed_as_in_the_recreate_example() {
    let doc = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}}}});
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    assert_eq!(smp(&doc, &patch)["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn delete_from_primitive_list_removes_values() {
    let doc = json!({"metadata": {"finalizers": ["a", "b", "c"]}});
    let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}});
    assert_eq!(smp(&doc, &patch)["metadata"]["finalizers"], json!(["a", "c"]));
}

#[test]
fn set_element_order_reorders_keyed_and_primitive_lists() {
    let doc = pod_spec(json!({"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}));
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}}}});
    assert_eq!(containers(&smp(&doc, &patch)), &json!([{"name": "c"}, {"name": "a"}, {"name": "b"}]));
    let doc = json!({"metadata": {"finalizers": ["x", "y"]}});
    let patch = json!({"metadata": {"$setElementOrder/finalizers": ["y", "x"]}});
    assert_eq!(smp(&doc, &patch)["metadata"]["finalizers"], json!(["y", "x"]));
}

#[test]
fn invalid_directives_are_errors_naming_the_field() {
    let doc = pod_spec(json!({"containers": [{"name": "a"}]}));
    let cases = [
        json!({"spec": {"$patch": "explode"}}),
        json!({"spec": {"$patch": "merge"}}),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "$patch": "merge"}]}}}}),
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}),
        json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "b"}],
                                              "containers": [{"name": "a"}]}}}}),
        json!({"spec": {"template": {"spec": {"containers": [{"image": "no-name"}]}}}}),
        json!({"spec": {"template": {"spec": {"containers": ["not-an-object"]}}}}),
        json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
    ];
    for patch in cases {
        let err = apply_strategic_merge_patch(&doc, &patch, &deployment()).expect_err("rejected");
        assert!(matches!(err, PatchError::InvalidStrategicPatch { .. }), "{patch}: {err}");
        assert!(err.to_string().contains(".spec") || err.to_string().contains(".metadata"), "{err}");
    }
}

#[test]
fn custom_resources_get_json_merge_patch_semantics() {
    let cr = gvk("example.com/v1", "Widget");
    let doc = json!({"spec": {"items": [{"name": "a"}], "keep": 1}});
    let patch = json!({"spec": {"items": [{"name": "b"}]}});
    let out = apply_strategic_merge_patch(&doc, &patch, &cr).expect("applies");
    assert_eq!(out, json!({"spec": {"items": [{"name": "b"}], "keep": 1}}));
    assert!(!schema::is_builtin(&cr));
    assert!(schema::is_builtin(&deployment()));
}

#[test]
fn merge_key_table_answers_for_openapi() {
    let d = deployment();
    assert_eq!(
        merge_key(&d, &["spec", "template", "spec", "containers"]),
        Some(ListType::Map { merge_key: "name", keys: &["name"] })
    );
    assert_eq!(
        merge_key(&d, &["spec", "template", "spec", "containers", "ports"]),
        Some(ListType::Map { merge_key: "containerPort", keys: &["containerPort", "protocol"] })
    );
    assert_eq!(merge_key(&d, &["metadata", "finalizers"]), Some(ListType::Set));
    assert_eq!(merge_key(&d, &["spec", "template", "spec", "tolerations"]), None);
    let cron = gvk("batch/v1", "CronJob");
    assert!(merge_key(&cron, &["spec", "jobTemplate", "spec", "template", "spec", "volumes"]).is_some());
    let volumes = schema::field_schema(&d, &["spec", "template", "spec", "volumes"]);
    assert_eq!(volumes.patch_strategy(), Some("merge,retainKeys"));
    assert_eq!(schema::field_schema(&d, &["spec", "strategy"]).patch_strategy(), Some("retainKeys"));
    assert!(
        schema::openapi_fields()
            .any(|(def, field, _)| def == "io.k8s.api.core.v1.PodSpec" && field == "containers")
    );
}

#[test]
fn two_way_patch_round_trips_and_uses_directives() {
    let original = pod_spec(json!({"containers": [{"name": "a", "image": "1"}, {"name": "b"}],
                                   "hostname": "h", "tolerations": [{"key": "t"}]}));
    let modified = pod_spec(json!({"containers": [{"name": "a", "image": "2"}, {"name": "c"}],
                                   "tolerations": []}));
    let patch = create_two_way_merge_patch(&original, &modified, &deployment()).expect("diff");
    let spec = &patch["spec"]["template"]["spec"];
    assert_eq!(spec["hostname"], Value::Null);
    assert!(
        spec["containers"].as_array().is_some_and(|c| c.contains(&json!({"$patch": "delete", "name": "b"})))
    );
    assert_eq!(spec["$setElementOrder/containers"], json!([{"name": "a"}, {"name": "c"}]));
    assert_eq!(smp(&original, &patch), modified);
}

#[test]
fn two_way_patch_of_identical_objects_is_empty() {
    let doc = pod_spec(json!({"containers": [{"name": "a"}]}));
    assert_eq!(create_two_way_merge_patch(&doc, &doc, &deployment()).expect("diff"), json!({}));
}

#[test]
fn two_way_patch_of_primitive_sets_uses_delete_from_primitive_list() {
    let original = json!({"metadata": {"finalizers": ["a", "b"]}});
    let modified = json!({"metadata": {"finalizers": ["a", "c"]}});
    let patch = create_two_way_merge_patch(&original, &modified, &deployment()).expect("diff");
    assert_eq!(patch["metadata"]["$deleteFromPrimitiveList/finalizers"], json!(["b"]));
    assert_eq!(patch["metadata"]["finalizers"], json!(["c"]));
    assert_eq!(smp(&original, &patch), modified);
}

#[test]
fn two_way_patch_adds_retain_keys_for_retain_keys_fields() {
    let original = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    let modified = json!({"spec": {"strategy": {"type": "Recreate"}}});
    let patch = create_two_way_merge_patch(&original, &modified, &deployment()).expect("diff");
    assert_eq!(patch["spec"]["strategy"]["$retainKeys"], json!(["type"]));
    assert_eq!(smp(&original, &patch), modified);
}

#[test]
fn three_way_patch_keeps_fields_set_by_others_and_removes_dropped_ones() {
    // last-applied had a label `old` and container env A; the new config drops both.
    let original = json!({"metadata": {"labels": {"app": "x", "old": "1"}},
                          "spec": {"replicas": 1, "template": {"spec": {"containers": [
                              {"name": "web", "image": "v1", "env": [{"name": "A", "value": "1"}]}]}}}});
    let modified = json!({"metadata": {"labels": {"app": "x"}},
                          "spec": {"replicas": 2, "template": {"spec": {"containers": [
                              {"name": "web", "image": "v2"}]}}}});
    // the live object has a controller-added annotation and a defaulted field.
    let current = json!({"metadata": {"labels": {"app": "x", "old": "1"}, "annotations": {"ctl": "y"}},
                         "spec": {"replicas": 1, "revisionHistoryLimit": 10, "template": {"spec": {"containers": [
                             {"name": "web", "image": "v1", "imagePullPolicy": "IfNotPresent",
                              "env": [{"name": "A", "value": "1"}]}]}}}});
    let patch = create_three_way_merge_patch(&original, &modified, &current, &deployment()).expect("diff");
    let out = smp(&current, &patch);
    assert_eq!(out["metadata"]["labels"], json!({"app": "x"}));
    assert_eq!(out["metadata"]["annotations"], json!({"ctl": "y"}));
    assert_eq!(out["spec"]["replicas"], json!(2));
    assert_eq!(out["spec"]["revisionHistoryLimit"], json!(10));
    let web = &containers(&out)[0];
    assert_eq!(web["image"], json!("v2"));
    assert_eq!(web["imagePullPolicy"], json!("IfNotPresent"));
    assert_eq!(web.get("env"), None);
}

#[test]
fn three_way_patch_of_an_unchanged_config_is_empty() {
    let config = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "v1"}]}}}});
    let current = json!({"metadata": {"labels": {"app": "x"}, "uid": "u"}, "spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": "v1", "imagePullPolicy": "Always"}, {"name": "injected"}]}}}});
    let patch = create_three_way_merge_patch(&config, &config, &current, &deployment()).expect("diff");
    assert_eq!(patch, json!({}));
}

#[test]
fn three_way_patch_without_last_applied_only_adds_and_changes() {
    let modified = json!({"data": {"a": "2"}});
    let current = json!({"data": {"a": "1", "b": "1"}});
    let patch = create_three_way_merge_patch(&Value::Null, &modified, &current, &gvk("v1", "ConfigMap"))
        .expect("diff");
    assert_eq!(patch, json!({"data": {"a": "2"}}));
}

#[test]
fn non_object_inputs_are_rejected_with_what_was_found() {
    let err = apply_strategic_merge_patch(&json!({}), &json!([1]), &deployment()).expect_err("rejected");
    assert!(err.to_string().contains("an array"), "{err}");
    let err = create_two_way_merge_patch(&json!("x"), &json!({}), &deployment()).expect_err("rejected");
    assert!(err.to_string().contains("a string"), "{err}");
}

#[test]
fn keyed_lists_whose_elements_lack_the_key_are_replaced_by_two_way_patches() {
    // Found by the round-trip property: such lists cannot merge, so the patch replaces them.
    let original = pod_spec(json!({"volumes": [false, {"emptyDir": {}}]}));
    let modified = pod_spec(json!({"volumes": []}));
    let patch = create_two_way_merge_patch(&original, &modified, &deployment()).expect("diff");
    assert_eq!(patch["spec"]["template"]["spec"]["volumes"], json!([{"$patch": "replace"}]));
    assert_eq!(smp(&original, &patch), modified);
}
