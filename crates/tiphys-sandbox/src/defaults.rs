//! Defaulting of the fields a real API server fills in on built-in types, so that diffs
//! between a manifest and the live object behave as they do against a real cluster.
//!
//! Every function here is idempotent: applying it to its own output changes nothing, which
//! keeps a re-apply of an unchanged manifest a no-op (no new resourceVersion).

use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Map, Value, json};

use crate::types::ResourceType;

fn obj(v: &mut Value) -> Option<&mut Map<String, Value>> {
    v.as_object_mut()
}

/// Inserts `value` at `key` when the key is absent or null.
fn default(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_string(), value);
    }
}

fn stable_hash(parts: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

/// Applies the defaults of `rt` to `object` (which already has its uid).
pub fn apply(rt: &ResourceType, object: &mut Value) {
    if rt.custom {
        return;
    }
    let uid = object["metadata"]["uid"].as_str().unwrap_or_default().to_string();
    let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Namespace") => namespace(object, &name),
        ("", "Pod") => {
            pod_spec(&mut object["spec"]);
            if let Some(spec) = obj(&mut object["spec"]) {
                default(spec, "enableServiceLinks", json!(true));
                default(spec, "serviceAccountName", json!("default"));
                default(spec, "serviceAccount", json!("default"));
                default(spec, "priority", json!(0));
                default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
            }
            if let Some(m) = obj(object) {
                default(m, "status", json!({"phase": "Pending", "qosClass": "BestEffort"}));
            }
        }
        ("", "Service") => service(object, &uid),
        ("", "Secret") => {
            if let Some(m) = obj(object) {
                default(m, "type", json!("Opaque"));
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(spec) = obj(&mut object["spec"]) {
                default(spec, "volumeMode", json!("Filesystem"));
            }
            if let Some(m) = obj(object) {
                default(m, "status", json!({"phase": "Pending"}));
            }
        }
        ("", "PersistentVolume") => {
            if let Some(spec) = obj(&mut object["spec"]) {
                default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
                default(spec, "volumeMode", json!("Filesystem"));
            }
            if let Some(m) = obj(object) {
                default(m, "status", json!({"phase": "Pending"}));
            }
        }
        ("apps", "Deployment") => {
            if let Some(spec) = obj(&mut object["spec"]) {
                default(spec, "replicas", json!(1));
                default(spec, "revisionHistoryLimit", json!(10));
                default(spec, "progressDeadlineSeconds", json!(600));
                default(spec, "strategy", json!({"type": "RollingUpdate"}));
                if let Some(strategy) = spec.get_mut("strategy").and_then(Value::as_object_mut)
                    && strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
                {
                    default(strategy, "rollingUpdate", json!({}));
                    if let Some(ru) = strategy.get_mut("rollingUpdate").and_then(Value::as_object_mut) {
                        default(ru, "maxUnavailable", json!("25%"));
                        default(ru, "maxSurge", json!("25%"));
                    }
                }
            }
            pod_spec(&mut object["spec"]["template"]["spec"]);
        }
        ("apps", "ReplicaSet") => {
            if let Some(spec) = obj(&mut object["spec"]) {
                default(spec, "replicas", json!(1));
            }
            pod_spec(&mut object["spec"]["template"]["spec"]);
        }
        ("apps", "StatefulSet") => {
            if let Some(spec) = obj(&mut object["spec"]) {
                default(spec, "replicas", json!(1));
                default(spec, "revisionHistoryLimit", json!(10));
                default(spec, "podManagementPolicy", json!("OrderedReady"));
                default(
                    spec,
                    "updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
                );
                default(
                    spec,
                    "persistentVolumeClaimRetentionPolicy",
                    json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
                );
            }
            pod_spec(&mut object["spec"]["template"]["spec"]);
        }
        ("apps", "DaemonSet") => {
            if let Some(spec) = obj(&mut object["spec"]) {
                default(spec, "revisionHistoryLimit", json!(10));
                default(
                    spec,
                    "updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
                );
            }
            pod_spec(&mut object["spec"]["template"]["spec"]);
        }
        ("batch", "Job") => job(object, &uid, &name),
        ("batch", "CronJob") => {
            if let Some(spec) = obj(&mut object["spec"]) {
                default(spec, "concurrencyPolicy", json!("Allow"));
                default(spec, "suspend", json!(false));
                default(spec, "successfulJobsHistoryLimit", json!(3));
                default(spec, "failedJobsHistoryLimit", json!(1));
            }
            pod_spec(&mut object["spec"]["jobTemplate"]["spec"]["template"]["spec"]);
        }
        _ => {}
    }
}

fn namespace(object: &mut Value, name: &str) {
    if let Some(meta) = obj(&mut object["metadata"]) {
        default(meta, "labels", json!({}));
        if let Some(labels) = meta.get_mut("labels").and_then(Value::as_object_mut) {
            labels.insert("kubernetes.io/metadata.name".into(), json!(name));
        }
    }
    if let Some(m) = obj(object) {
        default(m, "spec", json!({}));
        default(m, "status", json!({"phase": "Active"}));
    }
    if let Some(spec) = obj(&mut object["spec"]) {
        default(spec, "finalizers", json!(["kubernetes"]));
    }
}

fn service(object: &mut Value, uid: &str) {
    let Some(spec) = obj(&mut object["spec"]) else { return };
    default(spec, "type", json!("ClusterIP"));
    default(spec, "sessionAffinity", json!("None"));
    default(spec, "ipFamilies", json!(["IPv4"]));
    default(spec, "ipFamilyPolicy", json!("SingleStack"));
    default(spec, "internalTrafficPolicy", json!("Cluster"));
    let kind = spec.get("type").and_then(Value::as_str).unwrap_or("ClusterIP").to_string();
    if kind != "ExternalName" {
        let h = stable_hash(uid);
        let ip = format!("10.96.{}.{}", (h >> 8) % 256, (h % 254) + 1);
        default(spec, "clusterIP", json!(ip));
        let ip = spec.get("clusterIP").cloned().unwrap_or(Value::Null);
        default(spec, "clusterIPs", json!([ip]));
    }
    let node_ports = matches!(kind.as_str(), "NodePort" | "LoadBalancer");
    if node_ports {
        default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if kind == "LoadBalancer" {
        default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for (i, port) in ports.iter_mut().enumerate() {
            let Some(p) = port.as_object_mut() else { continue };
            default(p, "protocol", json!("TCP"));
            if let Some(n) = p.get("port").cloned() {
                default(p, "targetPort", n);
            }
            if node_ports {
                default(p, "nodePort", json!(30000 + stable_hash((uid, i)) % 2768));
            }
        }
    }
    if let Some(m) = obj(object) {
        default(m, "status", json!({"loadBalancer": {}}));
    }
}

fn job(object: &mut Value, uid: &str, name: &str) {
    let selector_missing = object["spec"]["selector"].is_null();
    let manual = object["spec"]["manualSelector"] == json!(true);
    if let Some(spec) = obj(&mut object["spec"]) {
        default(spec, "parallelism", json!(1));
        default(spec, "completions", json!(1));
        default(spec, "backoffLimit", json!(6));
        default(spec, "completionMode", json!("NonIndexed"));
        default(spec, "suspend", json!(false));
        default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
        if selector_missing && !manual && !uid.is_empty() {
            spec.insert(
                "selector".into(),
                json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
            );
        }
    }
    if selector_missing && !manual && !uid.is_empty() {
        let labels = &mut object["spec"]["template"]["metadata"]["labels"];
        if !labels.is_object() {
            *labels = json!({});
        }
        if let Some(l) = labels.as_object_mut() {
            for (k, v) in [
                ("batch.kubernetes.io/controller-uid", uid),
                ("batch.kubernetes.io/job-name", name),
                ("controller-uid", uid),
                ("job-name", name),
            ] {
                l.insert(k.into(), json!(v));
            }
        }
    }
    pod_spec(&mut object["spec"]["template"]["spec"]);
}

fn pod_spec(spec: &mut Value) {
    let Some(s) = obj(spec) else { return };
    default(s, "restartPolicy", json!("Always"));
    default(s, "terminationGracePeriodSeconds", json!(30));
    default(s, "dnsPolicy", json!("ClusterFirst"));
    default(s, "securityContext", json!({}));
    default(s, "schedulerName", json!("default-scheduler"));
    for list in ["containers", "initContainers"] {
        if let Some(cs) = s.get_mut(list).and_then(Value::as_array_mut) {
            cs.iter_mut().for_each(container);
        }
    }
    if let Some(vols) = s.get_mut("volumes").and_then(Value::as_array_mut) {
        for v in vols.iter_mut().filter_map(Value::as_object_mut) {
            for source in ["configMap", "secret", "downwardAPI", "projected"] {
                if let Some(src) = v.get_mut(source).and_then(Value::as_object_mut) {
                    default(src, "defaultMode", json!(420));
                }
            }
        }
    }
}

fn container(c: &mut Value) {
    let image = c["image"].as_str().unwrap_or_default().to_string();
    let Some(m) = obj(c) else { return };
    default(m, "terminationMessagePath", json!("/dev/termination-log"));
    default(m, "terminationMessagePolicy", json!("File"));
    default(m, "resources", json!({}));
    let tag = image.rsplit('/').next().and_then(|last| last.split_once(':')).map(|(_, t)| t);
    let latest = !image.contains('@') && tag.is_none_or(|t| t == "latest");
    default(m, "imagePullPolicy", json!(if latest { "Always" } else { "IfNotPresent" }));
    if let Some(ports) = m.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            default(p, "protocol", json!("TCP"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = m.get_mut(probe).and_then(Value::as_object_mut) {
            default(p, "timeoutSeconds", json!(1));
            default(p, "periodSeconds", json!(10));
            default(p, "successThreshold", json!(1));
            default(p, "failureThreshold", json!(3));
            if let Some(h) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
                default(h, "scheme", json!("HTTP"));
            }
        }
    }
    if let Some(env) = m.get_mut("env").and_then(Value::as_array_mut) {
        for e in env.iter_mut() {
            if let Some(f) = e.pointer_mut("/valueFrom/fieldRef").and_then(Value::as_object_mut) {
                default(f, "apiVersion", json!("v1"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::builtin_types;

    fn rt(kind: &str) -> ResourceType {
        builtin_types().into_iter().find(|t| t.kind == kind).unwrap_or_else(|| panic!("{kind}"))
    }

    #[test]
    fn deployment_defaults_match_the_api_server() {
        let mut d = json!({"metadata": {"name": "web", "uid": "u1"}, "spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}}}});
        apply(&rt("Deployment"), &mut d);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
        assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(d["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
        let again = d.clone();
        apply(&rt("Deployment"), &mut d);
        assert_eq!(d, again, "defaulting is idempotent");
    }

    #[test]
    fn latest_images_are_always_pulled() {
        let mut p = json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a", "image": "nginx"}, {"name": "b", "image": "reg:5000/x:latest"},
            {"name": "c", "image": "reg:5000/x"}]}});
        apply(&rt("Pod"), &mut p);
        let policies: Vec<&str> =
            (0..3).filter_map(|i| p["spec"]["containers"][i]["imagePullPolicy"].as_str()).collect();
        assert_eq!(policies, ["Always", "Always", "Always"]);
    }

    #[test]
    fn services_get_stable_ips_and_ports() {
        let mut s = json!({"metadata": {"name": "s", "uid": "u"}, "spec": {"type": "NodePort",
            "ports": [{"port": 80}]}});
        apply(&rt("Service"), &mut s);
        assert_eq!(s["spec"]["ports"][0]["targetPort"], 80);
        assert_eq!(s["spec"]["sessionAffinity"], "None");
        assert!(s["spec"]["clusterIP"].as_str().is_some_and(|ip| ip.starts_with("10.96.")));
        let port = s["spec"]["ports"][0]["nodePort"].as_u64().unwrap_or(0);
        assert!((30000..=32767).contains(&port));
        let again = s.clone();
        apply(&rt("Service"), &mut s);
        assert_eq!(s, again);
    }

    #[test]
    fn jobs_get_controller_labels() {
        let mut j = json!({"metadata": {"name": "j", "uid": "u"}, "spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1"}]}}}});
        apply(&rt("Job"), &mut j);
        assert_eq!(j["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"], "u");
        assert_eq!(j["spec"]["template"]["metadata"]["labels"]["job-name"], "j");
        assert_eq!(j["spec"]["backoffLimit"], 6);
        assert_eq!(j["spec"]["template"]["spec"]["restartPolicy"], "Never");
    }
}
