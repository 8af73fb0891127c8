//! Deployment, StatefulSet, ReplicaSet and DaemonSet: upstream's rules, borrowed by upstream
//! from `kubectl rollout status`.

use serde::Deserialize;
use serde_json::Value;
use tiphys_resource::GroupVersionKind;

use super::{CheckResult, Condition, Meta, find_condition, quoted, require_version, typed};
use crate::status::{HealthStatus, HealthStatusCode::*};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Object<'a, S, St> {
    #[serde(borrow)]
    metadata: Meta<'a>,
    spec: Option<S>,
    status: Option<St>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct DeploymentSpec {
    paused: Option<bool>,
    replicas: Option<i32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ReplicaStatus {
    observed_generation: Option<i64>,
    replicas: Option<i32>,
    updated_replicas: Option<i32>,
    available_replicas: Option<i32>,
    ready_replicas: Option<i32>,
    current_replicas: Option<i32>,
    update_revision: Option<String>,
    current_revision: Option<String>,
    conditions: Option<Vec<Condition>>,
}

pub(super) fn deployment(gvk: &GroupVersionKind, obj: &Value) -> CheckResult {
    require_version(gvk, &["v1"], "Deployment")?;
    let d: Object<DeploymentSpec, ReplicaStatus> = typed(obj, "Deployment")?;
    let spec = d.spec.unwrap_or_default();
    let status = d.status.unwrap_or_default();
    if spec.paused.unwrap_or_default() {
        return Ok(HealthStatus::new(Suspended, "Deployment is paused"));
    }
    if d.metadata.generation() > status.observed_generation.unwrap_or_default() {
        return Ok(HealthStatus::new(
            Progressing,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        ));
    }
    let updated = status.updated_replicas.unwrap_or_default();
    let current = status.replicas.unwrap_or_default();
    let available = status.available_replicas.unwrap_or_default();
    let progressing = find_condition(&status.conditions, "Progressing");
    if progressing.is_some_and(|c| c.reason() == "ProgressDeadlineExceeded") {
        let name = quoted(d.metadata.name());
        return Ok(HealthStatus::new(Degraded, format!("Deployment {name} exceeded its progress deadline")));
    }
    if let Some(desired) = spec.replicas.filter(|r| updated < *r) {
        return Ok(HealthStatus::new(
            Progressing,
            format!(
                "Waiting for rollout to finish: {updated} out of {desired} new replicas have been updated..."
            ),
        ));
    }
    if current > updated {
        let old = i64::from(current) - i64::from(updated);
        return Ok(HealthStatus::new(
            Progressing,
            format!("Waiting for rollout to finish: {old} old replicas are pending termination..."),
        ));
    }
    if available < updated {
        return Ok(HealthStatus::new(
            Progressing,
            format!(
                "Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
            ),
        ));
    }
    Ok(HealthStatus::bare(Healthy))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct StatefulSetSpec {
    replicas: Option<i32>,
    update_strategy: Option<UpdateStrategy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct UpdateStrategy {
    #[serde(rename = "type")]
    type_: Option<String>,
    rolling_update: Option<RollingUpdate>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RollingUpdate {
    partition: Option<i32>,
}

pub(super) fn statefulset(gvk: &GroupVersionKind, obj: &Value) -> CheckResult {
    require_version(gvk, &["v1"], "StatefulSet")?;
    let s: Object<StatefulSetSpec, ReplicaStatus> = typed(obj, "StatefulSet")?;
    let spec = s.spec.unwrap_or_default();
    let status = s.status.unwrap_or_default();
    let observed = status.observed_generation.unwrap_or_default();
    if observed == 0 || s.metadata.generation() > observed {
        return Ok(HealthStatus::new(Progressing, "Waiting for statefulset spec update to be observed..."));
    }
    let ready = status.ready_replicas.unwrap_or_default();
    let updated = status.updated_replicas.unwrap_or_default();
    if let Some(desired) = spec.replicas.filter(|r| ready < *r) {
        let waiting = i64::from(desired) - i64::from(ready);
        return Ok(HealthStatus::new(Progressing, format!("Waiting for {waiting} pods to be ready...")));
    }
    let strategy = spec.update_strategy.unwrap_or_default();
    let strategy_type = strategy.type_.as_deref().unwrap_or_default();
    if strategy_type == "RollingUpdate"
        && let Some(rolling) = strategy.rolling_update
    {
        if let (Some(replicas), Some(partition)) = (spec.replicas, rolling.partition) {
            let target = i64::from(replicas) - i64::from(partition);
            if i64::from(updated) < target {
                return Ok(HealthStatus::new(
                    Progressing,
                    format!(
                        "Waiting for partitioned roll out to finish: {updated} out of {target} new pods have been updated..."
                    ),
                ));
            }
        }
        return Ok(HealthStatus::new(
            Healthy,
            format!("partitioned roll out complete: {updated} new pods have been updated..."),
        ));
    }
    if strategy_type == "OnDelete" {
        return Ok(HealthStatus::new(Healthy, format!("statefulset has {ready} ready pods")));
    }
    let update_revision = status.update_revision.as_deref().unwrap_or_default();
    let current_revision = status.current_revision.as_deref().unwrap_or_default();
    if update_revision != current_revision {
        return Ok(HealthStatus::new(
            Progressing,
            format!(
                "waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}..."
            ),
        ));
    }
    let current = status.current_replicas.unwrap_or_default();
    Ok(HealthStatus::new(
        Healthy,
        format!("statefulset rolling update complete {current} pods at revision {current_revision}..."),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ReplicaSetSpec {
    replicas: Option<i32>,
}

pub(super) fn replicaset(gvk: &GroupVersionKind, obj: &Value) -> CheckResult {
    require_version(gvk, &["v1"], "ReplicaSet")?;
    let r: Object<ReplicaSetSpec, ReplicaStatus> = typed(obj, "ReplicaSet")?;
    let spec = r.spec.unwrap_or_default();
    let status = r.status.unwrap_or_default();
    if r.metadata.generation() > status.observed_generation.unwrap_or_default() {
        return Ok(HealthStatus::new(
            Progressing,
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        ));
    }
    if let Some(failure) =
        find_condition(&status.conditions, "ReplicaFailure").filter(|c| c.status() == "True")
    {
        return Ok(HealthStatus::new(Degraded, failure.message()));
    }
    let available = status.available_replicas.unwrap_or_default();
    if let Some(desired) = spec.replicas.filter(|r| available < *r) {
        return Ok(HealthStatus::new(
            Progressing,
            format!(
                "Waiting for rollout to finish: {available} out of {desired} new replicas are available..."
            ),
        ));
    }
    Ok(HealthStatus::bare(Healthy))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct DaemonSetSpec {
    update_strategy: Option<UpdateStrategy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct DaemonSetStatus {
    observed_generation: Option<i64>,
    updated_number_scheduled: Option<i32>,
    desired_number_scheduled: Option<i32>,
    number_available: Option<i32>,
}

pub(super) fn daemonset(gvk: &GroupVersionKind, obj: &Value) -> CheckResult {
    require_version(gvk, &["v1"], "DaemonSet")?;
    let d: Object<DaemonSetSpec, DaemonSetStatus> = typed(obj, "DaemonSet")?;
    let spec = d.spec.unwrap_or_default();
    let status = d.status.unwrap_or_default();
    if d.metadata.generation() > status.observed_generation.unwrap_or_default() {
        return Ok(HealthStatus::new(
            Progressing,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        ));
    }
    let updated = status.updated_number_scheduled.unwrap_or_default();
    let desired = status.desired_number_scheduled.unwrap_or_default();
    let available = status.number_available.unwrap_or_default();
    let strategy = spec.update_strategy.unwrap_or_default();
    if strategy.type_.as_deref() == Some("OnDelete") {
        return Ok(HealthStatus::new(
            Healthy,
            format!("daemon set {updated} out of {desired} new pods have been updated"),
        ));
    }
    let name = quoted(d.metadata.name());
    if updated < desired {
        return Ok(HealthStatus::new(
            Progressing,
            format!(
                "Waiting for daemon set {name} rollout to finish: {updated} out of {desired} new pods have been updated..."
            ),
        ));
    }
    if available < desired {
        return Ok(HealthStatus::new(
            Progressing,
            format!(
                "Waiting for daemon set {name} rollout to finish: {available} of {desired} updated pods are available..."
            ),
        ));
    }
    Ok(HealthStatus::bare(Healthy))
}
