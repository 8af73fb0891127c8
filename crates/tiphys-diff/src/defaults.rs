//! Defaults the Kubernetes API server fills in for built-in types (from the API reference's
//! "defaults to" notes). When a user removes a field they had applied before, the server
//! puts the default back; a live value equal to that default is therefore not a difference.
//! Upstream gets the same effect by running the client-go scheme defaulters on its prediction.

use serde_json::{Map, Value, json};

/// Where pod specs live in the built-in workload kinds.
fn pod_spec_field(kind: &str, path: &str) -> Option<String> {
    let rest = path
        .strip_prefix("spec/template/spec/")
        .or_else(|| path.strip_prefix("spec/jobTemplate/spec/template/spec/"))
        .or_else(|| (kind == "Pod").then(|| path.strip_prefix("spec/")).flatten())?;
    Some(rest.to_string())
}

fn container_field(pod_field: &str) -> Option<&str> {
    ["containers/[]/", "initContainers/[]/", "ephemeralContainers/[]/"]
        .iter()
        .find_map(|p| pod_field.strip_prefix(p))
}

fn image_pull_policy(container: &Map<String, Value>) -> Value {
    let image = container.get("image").and_then(Value::as_str).unwrap_or_default();
    let last = image.rsplit('/').next().unwrap_or_default();
    let tag = if last.contains('@') { Some("digest") } else { last.split_once(':').map(|(_, t)| t) };
    match tag {
        None | Some("latest") => json!("Always"),
        Some(_) => json!("IfNotPresent"),
    }
}

fn probe_default(field: &str) -> Option<Value> {
    let probe =
        ["livenessProbe/", "readinessProbe/", "startupProbe/"].iter().find_map(|p| field.strip_prefix(p))?;
    Some(match probe {
        "timeoutSeconds" | "successThreshold" => json!(1),
        "periodSeconds" => json!(10),
        "failureThreshold" => json!(3),
        "httpGet/scheme" => json!("HTTP"),
        _ => return None,
    })
}

fn container_default(field: &str, container: &Map<String, Value>) -> Option<Value> {
    Some(match field {
        "terminationMessagePath" => json!("/dev/termination-log"),
        "terminationMessagePolicy" => json!("File"),
        "imagePullPolicy" => image_pull_policy(container),
        "ports/[]/protocol" => json!("TCP"),
        "resources" => json!({}),
        _ => return probe_default(field),
    })
}

fn pod_default(field: &str, parent: &Map<String, Value>) -> Option<Value> {
    if let Some(c) = container_field(field) {
        return container_default(c, parent);
    }
    Some(match field {
        "restartPolicy" => json!("Always"),
        "terminationGracePeriodSeconds" => json!(30),
        "dnsPolicy" => json!("ClusterFirst"),
        "schedulerName" => json!("default-scheduler"),
        "securityContext" => json!({}),
        "enableServiceLinks" => json!(true),
        "volumes/[]/configMap/defaultMode"
        | "volumes/[]/secret/defaultMode"
        | "volumes/[]/projected/defaultMode"
        | "volumes/[]/downwardAPI/defaultMode" => json!(420),
        "volumes/[]/hostPath/type" => json!(""),
        _ => return None,
    })
}

/// The value the API server would give `path` (segments joined by `/`, list elements as
/// `[]`) in an object of this group/kind, given the map that holds the field.
pub(crate) fn api_default(group: &str, kind: &str, path: &str, parent: &Map<String, Value>) -> Option<Value> {
    if let Some(field) = pod_spec_field(kind, path)
        && let Some(v) = pod_default(&field, parent)
    {
        return Some(v);
    }
    let v = match (group, kind, path) {
        ("apps", "Deployment" | "StatefulSet" | "ReplicaSet", "spec/replicas") => json!(1),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet", "spec/revisionHistoryLimit") => json!(10),
        ("apps", "Deployment", "spec/progressDeadlineSeconds") => json!(600),
        ("apps", "Deployment", "spec/strategy/type") => json!("RollingUpdate"),
        (
            "apps",
            "Deployment",
            "spec/strategy/rollingUpdate/maxSurge" | "spec/strategy/rollingUpdate/maxUnavailable",
        ) => json!("25%"),
        ("apps", "StatefulSet", "spec/podManagementPolicy") => json!("OrderedReady"),
        ("apps", "StatefulSet" | "DaemonSet", "spec/updateStrategy/type") => json!("RollingUpdate"),
        ("apps", "StatefulSet", "spec/updateStrategy/rollingUpdate/partition") => json!(0),
        (
            "apps",
            "StatefulSet",
            "spec/persistentVolumeClaimRetentionPolicy/whenDeleted"
            | "spec/persistentVolumeClaimRetentionPolicy/whenScaled",
        ) => json!("Retain"),
        ("apps", "DaemonSet", "spec/updateStrategy/rollingUpdate/maxUnavailable") => json!(1),
        ("apps", "DaemonSet", "spec/updateStrategy/rollingUpdate/maxSurge") => json!(0),
        ("batch", "Job", "spec/backoffLimit") => json!(6),
        ("batch", "Job", "spec/completions" | "spec/parallelism") => json!(1),
        ("batch", "Job", "spec/completionMode") => json!("NonIndexed"),
        ("batch", "Job" | "CronJob", "spec/suspend") => json!(false),
        ("batch", "CronJob", "spec/concurrencyPolicy") => json!("Allow"),
        ("batch", "CronJob", "spec/successfulJobsHistoryLimit") => json!(3),
        ("batch", "CronJob", "spec/failedJobsHistoryLimit") => json!(1),
        ("", "Service", "spec/type") => json!("ClusterIP"),
        ("", "Service", "spec/sessionAffinity") => json!("None"),
        ("", "Service", "spec/internalTrafficPolicy") => json!("Cluster"),
        ("", "Service", "spec/ipFamilyPolicy") => json!("SingleStack"),
        ("", "Service", "spec/ports/[]/protocol") => json!("TCP"),
        // targetPort defaults to the port itself.
        ("", "Service", "spec/ports/[]/targetPort") => parent.get("port")?.clone(),
        ("", "PersistentVolumeClaim", "spec/volumeMode") => json!("Filesystem"),
        ("", "Secret", "type") => json!("Opaque"),
        ("", "Namespace", "spec/finalizers") => json!(["kubernetes"]),
        _ => return None,
    };
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> Map<String, Value> {
        Map::new()
    }

    #[test]
    fn workload_defaults() {
        assert_eq!(api_default("apps", "Deployment", "spec/replicas", &none()), Some(json!(1)));
        assert_eq!(
            api_default("apps", "Deployment", "spec/strategy/rollingUpdate/maxSurge", &none()),
            Some(json!("25%"))
        );
        assert_eq!(api_default("batch", "Job", "spec/backoffLimit", &none()), Some(json!(6)));
        assert_eq!(api_default("apps", "Deployment", "spec/nothing", &none()), None);
    }

    #[test]
    fn pod_and_container_defaults_in_every_template_location() {
        for (kind, prefix) in [
            ("Deployment", "spec/template/spec"),
            ("Pod", "spec"),
            ("CronJob", "spec/jobTemplate/spec/template/spec"),
        ] {
            let group = match kind {
                "Pod" => "",
                "CronJob" => "batch",
                _ => "apps",
            };
            assert_eq!(
                api_default(group, kind, &format!("{prefix}/dnsPolicy"), &none()),
                Some(json!("ClusterFirst")),
                "{kind}"
            );
            assert_eq!(
                api_default(
                    group,
                    kind,
                    &format!("{prefix}/containers/[]/terminationMessagePolicy"),
                    &none()
                ),
                Some(json!("File")),
                "{kind}"
            );
        }
    }

    #[test]
    fn image_pull_policy_depends_on_the_tag() {
        let path = "spec/template/spec/containers/[]/imagePullPolicy";
        let c = |image: &str| json!({"image": image}).as_object().cloned().unwrap_or_default();
        assert_eq!(api_default("apps", "Deployment", path, &c("nginx")), Some(json!("Always")));
        assert_eq!(api_default("apps", "Deployment", path, &c("nginx:latest")), Some(json!("Always")));
        assert_eq!(api_default("apps", "Deployment", path, &c("nginx:1.27")), Some(json!("IfNotPresent")));
        assert_eq!(api_default("apps", "Deployment", path, &c("reg:5000/nginx")), Some(json!("Always")));
        assert_eq!(
            api_default("apps", "Deployment", path, &c("nginx@sha256:ab")),
            Some(json!("IfNotPresent"))
        );
    }

    #[test]
    fn service_target_port_defaults_to_port() {
        let port = json!({"port": 80}).as_object().cloned().unwrap_or_default();
        assert_eq!(api_default("", "Service", "spec/ports/[]/targetPort", &port), Some(json!(80)));
    }
}
