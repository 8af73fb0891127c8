//! End-to-end comparisons through the public API, with objects shaped like the ones a real API
//! server returns (server-populated metadata, defaults, status, managedFields).

use serde_json::{Value, json};
use tiphys_diff::{DiffSettings, DiffStatus, Differ, ResourceIgnoreDifferences};

fn differ(app_rules: Value, cm: Value) -> Differ {
    let rules: Vec<ResourceIgnoreDifferences> = serde_json::from_value(app_rules).unwrap();
    Differ::new(rules, &DiffSettings::from_config_map(&cm).unwrap()).unwrap()
}

fn plain() -> Differ {
    differ(json!([]), json!({}))
}

fn deployment(replicas: u32, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image,
                "resources": {"limits": {"cpu": "500m", "memory": "1024Mi"}}, "ports": [{"containerPort": 8080}]}]}}}})
}

/// What the API server returns for `deployment(..)` applied with `kubectl apply`.
fn live_deployment(replicas: u32, image: &str, last_applied: &Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}, "uid": "1f3c", "resourceVersion": "4711",
            "generation": 3, "creationTimestamp": "2026-01-01T00:00:00Z",
            "annotations": {"deployment.kubernetes.io/revision": "3", "kubectl.kubernetes.io/last-applied-configuration": last_applied.to_string()},
            "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]},
        "spec": {"replicas": replicas, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"creationTimestamp": null, "labels": {"app": "web"}}, "spec": {
                "containers": [{"name": "web", "image": image, "imagePullPolicy": "IfNotPresent",
                    "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}}, "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
                "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                "securityContext": {}, "schedulerName": "default-scheduler"}}},
        "status": {"observedGeneration": 3, "replicas": replicas, "readyReplicas": replicas}})
}

#[test]
fn applied_object_with_server_defaults_is_synced() {
    let desired = deployment(2, "shop:1.2");
    let live = live_deployment(2, "shop:1.2", &desired);
    let r = plain().diff(Some(&desired), Some(&live), "shop").unwrap();
    assert_eq!(r.status, DiffStatus::Synced, "{}", r.unified_diff(false));
    assert!(r.unified_diff(false).is_empty());
    let live_out = r.live.unwrap();
    for gone in ["uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"] {
        assert!(live_out["metadata"].get(gone).is_none(), "{gone} should be normalized away");
    }
    assert!(live_out.get("status").is_none());
}

#[test]
fn changed_image_is_out_of_sync_with_a_readable_diff() {
    let applied = deployment(2, "shop:1.2");
    let live = live_deployment(2, "shop:1.2", &applied);
    let desired = deployment(2, "shop:1.3");
    let r = plain().diff(Some(&desired), Some(&live), "shop").unwrap();
    assert_eq!(r.status, DiffStatus::OutOfSync);
    let text = r.unified_diff(false);
    assert!(text.contains("-        image: shop:1.2\n+        image: shop:1.3\n"), "{text}");
    assert!(text.starts_with("===== apps/Deployment shop/web ======"), "{text}");
}

#[test]
fn field_removed_from_git_but_in_last_applied_is_a_difference() {
    let mut applied = deployment(2, "shop:1.2");
    applied["spec"]["minReadySeconds"] = json!(5);
    let mut live = live_deployment(2, "shop:1.2", &applied);
    live["spec"]["minReadySeconds"] = json!(5);
    let r = plain().diff(Some(&deployment(2, "shop:1.2")), Some(&live), "shop").unwrap();
    assert_eq!(r.status, DiffStatus::OutOfSync);
    assert!(r.unified_diff(false).contains("-  minReadySeconds: 5"));
}

#[test]
fn field_set_by_someone_else_and_never_declared_is_not_a_difference() {
    let applied = deployment(2, "shop:1.2");
    let mut live = live_deployment(2, "shop:1.2", &applied);
    live["spec"]["template"]["metadata"]["annotations"] = json!({"kubectl.kubernetes.io/restartedAt": "now"});
    live["spec"]["minReadySeconds"] = json!(5);
    let r = plain().diff(Some(&applied), Some(&live), "shop").unwrap();
    assert_eq!(r.status, DiffStatus::Synced);
}

#[test]
fn removed_field_restored_to_its_api_default_is_not_a_difference() {
    let mut applied = deployment(2, "shop:1.2");
    applied["spec"]["revisionHistoryLimit"] = json!(10);
    let live = live_deployment(2, "shop:1.2", &applied);
    let r = plain().diff(Some(&deployment(2, "shop:1.2")), Some(&live), "shop").unwrap();
    assert_eq!(r.status, DiffStatus::Synced, "{}", r.unified_diff(false));
}

#[test]
fn two_way_diff_without_last_applied() {
    let desired = deployment(2, "shop:1.2");
    let mut live = live_deployment(3, "shop:1.2", &desired);
    live["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .remove("kubectl.kubernetes.io/last-applied-configuration");
    let r = plain().diff(Some(&desired), Some(&live), "shop").unwrap();
    assert_eq!(r.status, DiffStatus::OutOfSync);
    live["spec"]["replicas"] = json!(2);
    assert_eq!(plain().diff(Some(&desired), Some(&live), "shop").unwrap().status, DiffStatus::Synced);
}

#[test]
fn missing_and_extraneous_and_ignore_extraneous() {
    let d = plain();
    let desired = deployment(1, "a:1");
    assert_eq!(d.diff(Some(&desired), None, "shop").unwrap().status, DiffStatus::Missing);
    let extra =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gen", "namespace": "shop"}});
    let r = d.diff(None, Some(&extra), "shop").unwrap();
    assert_eq!(r.status, DiffStatus::Extraneous);
    assert!(r.requires_pruning() && !r.ignore_extraneous);
    let mut ignored = extra.clone();
    ignored["metadata"]["annotations"] = json!({"argocd.argoproj.io/compare-options": "IgnoreExtraneous"});
    let app = d.diff_app(&[], &[ignored], "shop", &|_| false).unwrap();
    assert!(app.synced);
    assert!(app.resources[0].ignore_extraneous && app.resources[0].requires_pruning());
}

#[test]
fn app_status_ignores_hooks_and_keys_desired_into_the_default_namespace() {
    let d = plain();
    let desired = vec![
        deployment(2, "shop:1.2"),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate",
        "annotations": {"argocd.argoproj.io/hook": "PreSync"}}}),
    ];
    let live = vec![live_deployment(2, "shop:1.2", &desired[0])];
    let is_hook = |o: &Value| o.pointer("/metadata/annotations/argocd.argoproj.io~1hook").is_some();
    let app = d.diff_app(&desired, &live, "shop", &is_hook).unwrap();
    assert!(app.synced, "{:#?}", app.resources);
    assert_eq!(app.resources.len(), 2);
    assert_eq!(app.resources[0].key.to_string(), "apps/Deployment/shop/web");
    assert_eq!(app.resources[1].status, DiffStatus::Missing);
    let app = d.diff_app(&desired, &live, "shop", &|_| false).unwrap();
    assert!(!app.synced);
}

#[test]
fn app_level_json_pointer_ignores_hpa_replicas() {
    let applied = deployment(2, "shop:1.2");
    let live = live_deployment(7, "shop:1.2", &applied);
    assert_eq!(plain().diff(Some(&applied), Some(&live), "shop").unwrap().status, DiffStatus::OutOfSync);
    let d = differ(
        json!([{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]),
        json!({}),
    );
    let r = d.diff(Some(&applied), Some(&live), "shop").unwrap();
    assert_eq!(r.status, DiffStatus::Synced);
    assert!(r.desired.unwrap()["spec"].get("replicas").is_none());
    let other_ns = differ(
        json!([{"group": "apps", "kind": "Deployment", "namespace": "other", "jsonPointers": ["/spec/replicas"]}]),
        json!({}),
    );
    assert_eq!(other_ns.diff(Some(&applied), Some(&live), "shop").unwrap().status, DiffStatus::OutOfSync);
}

fn webhook(ca: &str) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration", "metadata": {"name": "cert-hook"},
        "webhooks": [{"name": "a.example.com", "clientConfig": {"caBundle": ca, "service": {"name": "s", "namespace": "n"}}}]})
}

#[test]
fn app_level_jq_path_expression_ignores_ca_bundle() {
    let d = differ(
        json!([{"group": "admissionregistration.k8s.io", "kind": "MutatingWebhookConfiguration",
        "jqPathExpressions": [".webhooks[].clientConfig.caBundle"]}]),
        json!({}),
    );
    let r = d.diff(Some(&webhook("")), Some(&webhook("LS0tLS1CRUdJTg==")), "shop").unwrap();
    assert_eq!(r.status, DiffStatus::Synced, "{}", r.unified_diff(false));
    assert_eq!(
        plain().diff(Some(&webhook("")), Some(&webhook("LS0t")), "shop").unwrap().status,
        DiffStatus::OutOfSync
    );
}

#[test]
fn system_level_rules_from_argocd_cm_split_keys_and_all() {
    let cm = json!({"data": {
        "resource.customizations.ignoreDifferences.admissionregistration.k8s.io_MutatingWebhookConfiguration": "jsonPointers:\n- /webhooks/0/clientConfig/caBundle\n",
    }});
    let d = differ(json!([]), cm);
    assert_eq!(d.diff(Some(&webhook("")), Some(&webhook("xyz")), "shop").unwrap().status, DiffStatus::Synced);
    let all = differ(
        json!([]),
        json!({"data": {"resource.customizations.ignoreDifferences.all": "jsonPointers:\n- /spec/replicas\n"}}),
    );
    let applied = deployment(2, "shop:1.2");
    assert_eq!(
        all.diff(Some(&applied), Some(&live_deployment(9, "shop:1.2", &applied)), "shop").unwrap().status,
        DiffStatus::Synced
    );
}

#[test]
fn managed_fields_managers_ignore_what_a_controller_owns() {
    let applied = deployment(2, "shop:1.2");
    let mut live = live_deployment(5, "shop:1.2", &applied);
    live["metadata"]["managedFields"] = json!([
        {"manager": "kubectl-client-side-apply", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:template": {}}}},
        {"manager": "kube-controller-manager", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
    ]);
    let cm = json!({"data": {"resource.customizations": "apps/Deployment:\n  ignoreDifferences: |\n    managedFieldsManagers:\n    - kube-controller-manager\n"}});
    let d = differ(json!([]), cm);
    assert_eq!(d.diff(Some(&applied), Some(&live), "shop").unwrap().status, DiffStatus::Synced);
    assert_eq!(plain().diff(Some(&applied), Some(&live), "shop").unwrap().status, DiffStatus::OutOfSync);
}

fn ssa_live(owned: Value, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop", "managedFields": [
        {"manager": "argocd-controller", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": owned},
        {"manager": "someone-else", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:extra": {}}}}]},
        "data": spec})
}

#[test]
fn server_side_diff_compares_only_what_the_manager_owns() {
    let desired =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}});
    // `extra` belongs to another manager: not a difference.
    let live = ssa_live(json!({"f:data": {"f:a": {}}}), json!({"a": "1", "extra": "x"}));
    let d = plain().with_server_side_diff(true);
    assert_eq!(d.diff(Some(&desired), Some(&live), "shop").unwrap().status, DiffStatus::Synced);
    // `b` was applied by us before and is gone from git: the apply would remove it.
    let live = ssa_live(json!({"f:data": {"f:a": {}, "f:b": {}}}), json!({"a": "1", "b": "2"}));
    assert_eq!(d.diff(Some(&desired), Some(&live), "shop").unwrap().status, DiffStatus::OutOfSync);
    // The per-resource compare option turns it on without the app-level switch.
    let mut annotated = desired.clone();
    annotated["metadata"]["annotations"] =
        json!({"argocd.argoproj.io/compare-options": "ServerSideDiff=true"});
    assert_eq!(plain().diff(Some(&annotated), Some(&live), "shop").unwrap().status, DiffStatus::OutOfSync);
    // ServerSideDiff=false falls back to the two-way diff, where `b` is merely unknown.
    annotated["metadata"]["annotations"] =
        json!({"argocd.argoproj.io/compare-options": "ServerSideDiff=false"});
    let mut live_annotated = live.clone();
    live_annotated["metadata"]["annotations"] = annotated["metadata"]["annotations"].clone();
    assert_eq!(d.diff(Some(&annotated), Some(&live_annotated), "shop").unwrap().status, DiffStatus::Synced);
}

#[test]
fn secrets_compare_string_data_and_never_show_values() {
    let desired = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"password": "hunter2"}});
    let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop",
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": desired.to_string()}},
        "type": "Opaque", "data": {"password": "aHVudGVyMg=="}});
    let r = plain().diff(Some(&desired), Some(&live), "shop").unwrap();
    assert_eq!(r.status, DiffStatus::Synced, "{}", r.unified_diff(false));
    let changed = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"password": "s3cret"}});
    let r = plain().diff(Some(&changed), Some(&live), "shop").unwrap();
    assert_eq!(r.status, DiffStatus::OutOfSync);
    let everything =
        format!("{}{}{}", serde_json::to_string(&r).unwrap(), r.unified_diff(false), r.unified_diff(true));
    for secret in ["hunter2", "aHVudGVyMg==", "s3cret", "czNjcmV0"] {
        assert!(!everything.contains(secret), "{secret} leaked: {everything}");
    }
    assert!(
        r.unified_diff(false).contains("-  password: ++++++++++++\n+  password: ++++++++\n"),
        "{}",
        r.unified_diff(false)
    );
}

#[test]
fn status_in_manifest_follows_compare_options() {
    let cr = |phase: &str| json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "shop"}, "spec": {"a": 1}, "status": {"phase": phase}});
    assert_eq!(plain().diff(Some(&cr("")), Some(&cr("Ready")), "shop").unwrap().status, DiffStatus::Synced);
    let none =
        differ(json!([]), json!({"data": {"resource.compareoptions": "ignoreResourceStatusField: none\n"}}));
    assert_eq!(none.diff(Some(&cr("")), Some(&cr("Ready")), "shop").unwrap().status, DiffStatus::OutOfSync);
}

#[test]
fn aggregated_cluster_role_rules_follow_compare_options() {
    let role = |rules: Value| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "agg"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]}, "rules": rules})
    };
    let desired = role(json!([]));
    let live = role(json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]));
    let mut live_applied = live.clone();
    live_applied["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": desired.to_string()});
    let on = differ(json!([]), json!({"data": {"resource.compareoptions": "ignoreAggregatedRoles: true\n"}}));
    assert_eq!(on.diff(Some(&desired), Some(&live_applied), "").unwrap().status, DiffStatus::Synced);
    let mut explicit = desired.clone();
    explicit["rules"] = json!([{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]);
    assert_eq!(plain().diff(Some(&explicit), Some(&live_applied), "").unwrap().status, DiffStatus::OutOfSync);
}

#[test]
fn respect_ignore_differences_takes_ignored_fields_from_live() {
    let d = differ(
        json!([{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"],
        "jqPathExpressions": [".spec.template.spec.containers[].image"]}]),
        json!({}),
    );
    let desired = deployment(2, "shop:1.3");
    let live = live_deployment(7, "shop:1.2", &deployment(2, "shop:1.2"));
    let out = d.respect_ignore_differences(&desired, &live, "shop").unwrap();
    assert_eq!(out["spec"]["replicas"], json!(7));
    assert_eq!(out["spec"]["template"]["spec"]["containers"][0]["image"], json!("shop:1.2"));
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["resources"],
        desired["spec"]["template"]["spec"]["containers"][0]["resources"]
    );
    assert!(out.get("status").is_none(), "only ignored fields come from live");
}

#[test]
fn quantities_ports_and_empty_collections_in_a_service_and_pod() {
    let desired = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "annotations": {}},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "8080"}], "externalIPs": []}});
    let live = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "shop"},
        "spec": {"selector": {"app": "web"}, "type": "ClusterIP", "clusterIP": "10.0.0.7", "clusterIPs": ["10.0.0.7"],
            "sessionAffinity": "None", "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}});
    let r = plain().diff(Some(&desired), Some(&live), "shop").unwrap();
    assert_eq!(r.status, DiffStatus::Synced, "{}", r.unified_diff(false));
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let d = plain();
    assert!(d.diff(None, None, "x").is_err());
    assert!(d.diff(Some(&json!([1, 2])), None, "x").is_err());
    assert!(d.diff(Some(&json!({"kind": "X"})), None, "x").is_err());
    let bad_rule: Vec<ResourceIgnoreDifferences> =
        serde_json::from_value(json!([{"kind": "X", "jqPathExpressions": ["..[["]}])).unwrap();
    assert!(Differ::new(bad_rule, &DiffSettings::default()).is_err());
}

#[test]
fn server_side_diff_takes_over_fields_of_other_managers_it_sets() {
    let desired = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 2}});
    let live = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop", "managedFields": [
        {"manager": "argocd-controller", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
        {"manager": "hpa", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]},
        "spec": {"replicas": 5}});
    let r = plain().with_server_side_diff(true).diff(Some(&desired), Some(&live), "shop").unwrap();
    assert_eq!(r.status, DiffStatus::OutOfSync);
    assert_eq!(r.desired.unwrap()["spec"]["replicas"], json!(2));
}

#[test]
fn server_side_diff_tolerates_unreadable_managed_fields() {
    let desired =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}});
    let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop",
        "managedFields": [{"manager": "x", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": "not a set"}]},
        "data": {"a": "1", "extra": "kept"}});
    let r = plain().with_server_side_diff(true).diff(Some(&desired), Some(&live), "shop").unwrap();
    assert_eq!(r.status, DiffStatus::Synced, "{}", r.unified_diff(false));
}

#[test]
fn cluster_scoped_custom_resource_matches_its_live_object() {
    let issuer = json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "le"}, "spec": {"acme": {}}});
    let app = plain()
        .diff_app(std::slice::from_ref(&issuer), std::slice::from_ref(&issuer), "shop", &|_| false)
        .unwrap();
    assert_eq!(app.resources.len(), 1, "{:#?}", app.resources);
    assert!(app.synced);
}
