//! Job, HorizontalPodAutoscaler (every version), PersistentVolumeClaim and Argo Workflow.

use serde::Deserialize;
use serde_json::Value;
use tiphys_resource::GroupVersionKind;

use super::{CheckResult, Condition, require_version, typed};
use crate::status::{HealthStatus, HealthStatusCode::*};

#[derive(Default, Deserialize)]
#[serde(default)]
struct WithConditions {
    conditions: Option<Vec<Condition>>,
}

#[derive(Deserialize)]
struct ConditionsObject {
    #[serde(default)]
    status: Option<WithConditions>,
}

fn conditions_of(obj: &Value, kind: &str) -> Result<Vec<Condition>, String> {
    let o: ConditionsObject = typed(obj, kind)?;
    Ok(o.status.unwrap_or_default().conditions.unwrap_or_default())
}

pub(super) fn job(gvk: &GroupVersionKind, obj: &Value) -> CheckResult {
    require_version(gvk, &["v1"], "Job")?;
    let mut failed = false;
    let mut complete = false;
    let mut suspended = false;
    let mut fail_message = String::new();
    let mut message = String::new();
    for c in conditions_of(obj, "Job")? {
        match c.type_.as_deref().unwrap_or_default() {
            "Failed" => {
                failed = true;
                complete = true;
                fail_message = c.message().to_string();
            }
            "Complete" => {
                complete = true;
                message = c.message().to_string();
            }
            "Suspended" => {
                complete = true;
                message = c.message().to_string();
                suspended |= c.status() == "True";
            }
            _ => {}
        }
    }
    Ok(if !complete {
        HealthStatus::new(Progressing, message)
    } else if failed {
        HealthStatus::new(Degraded, fail_message)
    } else if suspended {
        HealthStatus::new(Suspended, fail_message)
    } else {
        HealthStatus::new(Healthy, message)
    })
}

/// Annotation where `autoscaling/v1` HPAs carry their conditions as JSON.
pub const HPA_V1_CONDITIONS: &str = "autoscaling.alpha.kubernetes.io/conditions";

const WAITING_TO_AUTOSCALE: &str = "Waiting to Autoscale";

/// Condition entries as JSON in the v1 annotation; Go's decoder matches keys case-insensitively.
#[derive(Default, Deserialize)]
#[serde(default)]
struct AnnotationCondition {
    #[serde(alias = "Type")]
    r#type: Option<String>,
    #[serde(alias = "Status")]
    status: Option<String>,
    #[serde(alias = "Reason")]
    reason: Option<String>,
    #[serde(alias = "Message")]
    message: Option<String>,
}

pub(super) fn hpa(gvk: &GroupVersionKind, obj: &Value) -> CheckResult {
    require_version(gvk, &["v1", "v2beta1", "v2beta2", "v2"], "HPA")?;
    let conditions = if gvk.version == "v1" {
        #[derive(Default, Deserialize)]
        #[serde(default)]
        struct Meta {
            annotations: Option<std::collections::BTreeMap<String, String>>,
        }
        #[derive(Deserialize)]
        struct Hpa {
            #[serde(default)]
            metadata: Option<Meta>,
        }
        let hpa: Hpa = typed(obj, "HPA")?;
        let annotations = hpa.metadata.unwrap_or_default().annotations.unwrap_or_default();
        let Some(raw) = annotations.get(HPA_V1_CONDITIONS) else {
            return Ok(HealthStatus::new(Progressing, WAITING_TO_AUTOSCALE));
        };
        let parsed: Vec<AnnotationCondition> = serde_json::from_str(raw)
            .map_err(|e| format!("failed to convert conditions annotation to typed: {e}"))?;
        parsed
            .into_iter()
            .map(|c| Condition { type_: c.r#type, status: c.status, reason: c.reason, message: c.message })
            .collect()
    } else {
        conditions_of(obj, "HPA")?
    };
    for c in &conditions {
        if is_hpa_degraded(c) {
            return Ok(HealthStatus::new(Degraded, c.message()));
        }
        if (c.is("AbleToScale") || c.is("ScalingLimited")) && c.status() == "True" {
            return Ok(HealthStatus::new(Healthy, c.message()));
        }
    }
    Ok(HealthStatus::new(Progressing, WAITING_TO_AUTOSCALE))
}

fn is_hpa_degraded(c: &Condition) -> bool {
    matches!(
        (c.type_.as_deref().unwrap_or_default(), c.reason()),
        ("AbleToScale", "FailedGetScale" | "FailedUpdateScale")
            | ("ScalingActive", "FailedGetResourceMetric" | "InvalidSelector")
    )
}

pub(super) fn pvc(gvk: &GroupVersionKind, obj: &Value) -> CheckResult {
    require_version(gvk, &["v1"], "PersistentVolumeClaim")?;
    #[derive(Default, Deserialize)]
    #[serde(default)]
    struct Status<'a> {
        #[serde(borrow)]
        phase: Option<&'a str>,
    }
    #[derive(Deserialize)]
    struct Pvc<'a> {
        #[serde(borrow, default)]
        status: Option<Status<'a>>,
    }
    let pvc: Pvc = typed(obj, "PersistentVolumeClaim")?;
    Ok(HealthStatus::bare(match pvc.status.unwrap_or_default().phase.unwrap_or_default() {
        "Lost" => Degraded,
        "Pending" => Progressing,
        "Bound" => Healthy,
        _ => Unknown,
    }))
}

/// Argo Workflows: only `status.phase` and `status.message`, for any version.
pub(super) fn workflow(_gvk: &GroupVersionKind, obj: &Value) -> CheckResult {
    #[derive(Default, Deserialize)]
    #[serde(default)]
    struct Status<'a> {
        #[serde(borrow)]
        phase: Option<&'a str>,
        message: Option<&'a str>,
    }
    #[derive(Deserialize)]
    struct Workflow<'a> {
        #[serde(borrow, default)]
        status: Option<Status<'a>>,
    }
    let wf: Workflow = typed(obj, "Workflow")?;
    let status = wf.status.unwrap_or_default();
    let message = status.message.unwrap_or_default();
    let code = match status.phase.unwrap_or_default() {
        "" | "Pending" | "Running" => Progressing,
        "Succeeded" => Healthy,
        "Failed" | "Error" => Degraded,
        _ => Unknown,
    };
    Ok(HealthStatus::new(code, message))
}
