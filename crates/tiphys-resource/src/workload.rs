//! Where a workload keeps its pod template, and the container images in it: upstream reports
//! images both in an app's `status.summary` and in each sync result, so both read them here.

use serde_json::Value;

/// The pod spec of a Pod, or the pod template's spec of a workload kind (Deployment,
/// StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob).
pub fn pod_spec(obj: &Value) -> Option<&Value> {
    match obj.get("kind")?.as_str()? {
        "Pod" => obj.get("spec"),
        "CronJob" => obj.pointer("/spec/jobTemplate/spec/template/spec"),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "ReplicationController" => {
            obj.pointer("/spec/template/spec")
        }
        _ => None,
    }
}

/// The images of every init, regular and ephemeral container of `obj`'s pod spec, in that
/// order, without empties or repeats; empty for kinds without one.
pub fn container_images(obj: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let Some(spec) = pod_spec(obj) else { return out };
    for field in ["initContainers", "containers", "ephemeralContainers"] {
        for c in spec.get(field).and_then(Value::as_array).into_iter().flatten() {
            if let Some(image) = c.get("image").and_then(Value::as_str).filter(|i| !i.is_empty())
                && !out.iter().any(|seen| seen == image)
            {
                out.push(image.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn images_come_from_every_container_list_of_the_pod_template() {
        let deploy = json!({"kind": "Deployment", "spec": {"template": {"spec": {
            "initContainers": [{"name": "init", "image": "busybox:1.36"}],
            "containers": [{"name": "web", "image": "nginx:1.27"}, {"name": "side", "image": "busybox:1.36"},
                {"name": "broken", "image": ""}]}}}});
        assert_eq!(container_images(&deploy), ["busybox:1.36", "nginx:1.27"]);
        let cron = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "alpine:3"}]}}}}}});
        assert_eq!(container_images(&cron), ["alpine:3"]);
        assert!(container_images(&json!({"kind": "ConfigMap", "data": {"image": "x"}})).is_empty());
        assert!(container_images(&json!({"kind": "Pod", "spec": {"containers": "not a list"}})).is_empty());
        assert!(container_images(&json!("not an object")).is_empty());
    }
}
