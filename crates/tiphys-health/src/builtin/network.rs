//! Service (LoadBalancer), Ingress and APIService.

use serde::Deserialize;
use serde_json::Value;
use tiphys_resource::GroupVersionKind;

use super::{CheckResult, Condition, require_version, typed};
use crate::status::{HealthStatus, HealthStatusCode::*};

/// `status.loadBalancer.ingress` has at least one entry.
fn has_load_balancer_ingress(obj: &Value) -> bool {
    obj.pointer("/status/loadBalancer/ingress").and_then(Value::as_array).is_some_and(|i| !i.is_empty())
}

pub(super) fn service(gvk: &GroupVersionKind, obj: &Value) -> CheckResult {
    require_version(gvk, &["v1"], "Service")?;
    #[derive(Deserialize)]
    struct Spec<'a> {
        #[serde(rename = "type", borrow, default)]
        type_: Option<&'a str>,
    }
    #[derive(Deserialize)]
    struct Service<'a> {
        #[serde(borrow, default)]
        spec: Option<Spec<'a>>,
    }
    let svc: Service = typed(obj, "Service")?;
    let load_balancer = svc.spec.and_then(|s| s.type_) == Some("LoadBalancer");
    if load_balancer && !has_load_balancer_ingress(obj) {
        return Ok(HealthStatus::bare(Progressing));
    }
    Ok(HealthStatus::bare(Healthy))
}

/// Upstream reads the ingress list without a typed conversion, for every Ingress version.
pub(super) fn ingress(_gvk: &GroupVersionKind, obj: &Value) -> CheckResult {
    Ok(HealthStatus::bare(if has_load_balancer_ingress(obj) { Healthy } else { Progressing }))
}

pub(super) fn apiservice(gvk: &GroupVersionKind, obj: &Value) -> CheckResult {
    require_version(gvk, &["v1", "v1beta1"], "APIService")?;
    #[derive(Default, Deserialize)]
    #[serde(default)]
    struct Status {
        conditions: Option<Vec<Condition>>,
    }
    #[derive(Deserialize)]
    struct ApiService {
        #[serde(default)]
        status: Option<Status>,
    }
    let svc: ApiService = typed(obj, "APIService")?;
    let status = svc.status.unwrap_or_default();
    let available = status.conditions.as_deref().unwrap_or_default().iter().find(|c| c.is("Available"));
    Ok(match available {
        Some(c) => {
            let message = format!("{}: {}", c.reason(), c.message());
            HealthStatus::new(if c.status() == "True" { Healthy } else { Progressing }, message)
        }
        None => HealthStatus::new(Progressing, "Waiting to be processed"),
    })
}
