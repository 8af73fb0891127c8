//! Pod: container waiting reasons, restart policy (hook pods), terminated containers
//! (init containers first) and readiness, as upstream assesses them.

use serde::Deserialize;
use serde_json::Value;
use tiphys_resource::GroupVersionKind;

use super::{CheckResult, Condition, Meta, quoted, require_version, typed};
use crate::status::{HealthStatus, HealthStatusCode::*};

/// Annotation that makes a `Never`/`OnFailure` pod be assessed like a long-running one
/// (for operator-managed pods that are not hooks).
pub const IGNORE_RESTART_POLICY: &str = "argocd.argoproj.io/ignore-restart-policy";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Pod<'a> {
    #[serde(borrow)]
    metadata: Meta<'a>,
    spec: Option<PodSpec>,
    status: Option<PodStatus>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PodSpec {
    restart_policy: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PodStatus {
    phase: Option<String>,
    message: Option<String>,
    conditions: Option<Vec<Condition>>,
    container_statuses: Option<Vec<ContainerStatus>>,
    init_container_statuses: Option<Vec<ContainerStatus>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ContainerStatus {
    name: Option<String>,
    state: Option<ContainerState>,
    last_state: Option<ContainerState>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContainerState {
    waiting: Option<Waiting>,
    terminated: Option<Terminated>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Waiting {
    reason: Option<String>,
    message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Terminated {
    reason: Option<String>,
    message: Option<String>,
    exit_code: Option<i32>,
}

impl ContainerStatus {
    fn waiting(&self) -> Option<&Waiting> {
        self.state.as_ref()?.waiting.as_ref()
    }

    /// Upstream's `getFailMessage`: the terminated message, else `OOMKilled`, else the exit code.
    fn fail_message(&self) -> Option<String> {
        let t = self.state.as_ref()?.terminated.as_ref()?;
        if let Some(m) = t.message.as_deref().filter(|m| !m.is_empty()) {
            return Some(m.to_string());
        }
        if t.reason.as_deref() == Some("OOMKilled") {
            return Some("OOMKilled".to_string());
        }
        match t.exit_code.unwrap_or_default() {
            0 => None,
            code => Some(format!(
                "container {} failed with exit code {code}",
                quoted(self.name.as_deref().unwrap_or_default())
            )),
        }
    }

    fn was_terminated(&self) -> bool {
        self.last_state.as_ref().is_some_and(|s| s.terminated.is_some())
    }
}

/// A waiting reason that means the container cannot start: `Err*`, `*Error`, `*BackOff`
/// (ErrImagePull, CreateContainerConfigError, CrashLoopBackOff, ImagePullBackOff, ...).
fn is_error_reason(reason: &str) -> bool {
    reason.starts_with("Err") || reason.ends_with("Error") || reason.ends_with("BackOff")
}

pub(super) fn pod(gvk: &GroupVersionKind, obj: &Value) -> CheckResult {
    require_version(gvk, &["v1"], "Pod")?;
    let pod: Pod = typed(obj, "Pod")?;
    let spec = pod.spec.unwrap_or_default();
    let status = pod.status.unwrap_or_default();
    let restart_policy = spec.restart_policy.as_deref().unwrap_or_default();
    let containers = status.container_statuses.as_deref().unwrap_or_default();
    let message = status.message.clone().unwrap_or_default();

    // Only long-running pods: a hook pod stuck on an image must not fail its hook early.
    if restart_policy == "Always" {
        let errors: Vec<&str> = containers
            .iter()
            .filter_map(ContainerStatus::waiting)
            .filter(|w| is_error_reason(w.reason.as_deref().unwrap_or_default()))
            .map(|w| w.message.as_deref().unwrap_or_default())
            .collect();
        if !errors.is_empty() {
            return Ok(HealthStatus::new(Degraded, errors.join(", ")));
        }
    }

    let running = |pod_ready: bool| {
        if pod_ready {
            HealthStatus::new(Healthy, message.clone())
        } else if containers.iter().any(ContainerStatus::was_terminated) {
            HealthStatus::new(Degraded, message.clone())
        } else {
            HealthStatus::new(Progressing, message.clone())
        }
    };

    Ok(match status.phase.as_deref().unwrap_or_default() {
        "Pending" => HealthStatus::new(Progressing, message),
        "Succeeded" => HealthStatus::new(Healthy, message),
        "Failed" => {
            if !message.is_empty() {
                return Ok(HealthStatus::new(Degraded, message));
            }
            let init = status.init_container_statuses.as_deref().unwrap_or_default();
            let fail = init.iter().chain(containers).find_map(ContainerStatus::fail_message);
            HealthStatus::new(Degraded, fail.unwrap_or_default())
        }
        "Running" => {
            let ready = status
                .conditions
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|c| c.is("Ready") && c.status() == "True");
            if pod.metadata.has_annotation(IGNORE_RESTART_POLICY) {
                running(ready)
            } else {
                match restart_policy {
                    "Always" => running(ready),
                    // Finite pods are usually hooks: Progressing until they finish.
                    "OnFailure" | "Never" => HealthStatus::new(Progressing, message),
                    _ => HealthStatus::new(Unknown, message),
                }
            }
        }
        _ => HealthStatus::new(Unknown, message),
    })
}
