//! Automated sync: after each comparison, decide whether to start a sync by ourselves.
//!
//! Upstream's rules (application-controller `autoSync`), in order: only with
//! `syncPolicy.automated` enabled, no operation already requested, the app not being deleted,
//! and the app OutOfSync; not when only pruning is needed and automated prune is off; not when
//! sync windows forbid automated syncs; never twice to the same revision unless self-heal is on
//! and the previous attempt succeeded (a failed automated sync to a revision is not retried:
//! the app gets a `SyncError` condition until Git moves); self-heal waits out an exponential
//! backoff (2 s × 3ⁿ, capped at 5 min, n = heal attempts, reset after a quiet cooldown) and
//! syncs only the drifted resources; with prune on and `allowEmpty` off, a sync that would
//! delete every resource is refused. Pure: the caller passes the clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tiphys_model::application::{
    Application, Operation, OperationInitiator, ResourceStatus, SyncOperation, SyncOperationResource,
};
use tiphys_settings::{ControllerParams, SelfHealBackoff};

/// After this long Synced, the heal attempt count starts again from zero.
const HEAL_COOLDOWN: Duration = Duration::from_secs(330);

/// What the comparison found, as far as automation cares.
#[derive(Debug, Clone, Copy)]
pub struct Compared<'a> {
    /// `status.sync.status` just computed.
    pub sync_status: &'a str,
    /// The resolved revisions (one per source).
    pub revisions: &'a [String],
    /// Per-resource statuses just computed.
    pub resources: &'a [ResourceStatus],
    /// Whether sync windows allow an automated sync now.
    pub windows_allow: bool,
    /// Self-heal timing.
    pub heal: &'a HealPolicy,
}

/// The decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Do nothing; the reason is for logs.
    Skip(String),
    /// Do nothing and report a `SyncError` condition with this message.
    Refuse(String),
    /// Self-heal is backing off: look again after this long.
    RetryAfter(Duration),
    /// Start this operation.
    Sync(Box<Operation>),
}

/// How long self-heal waits after the previous heal: with a backoff (upstream's default: 2 s,
/// ×3 per attempt, capped at 5 min) by the attempt count, else the fixed timeout.
fn self_heal_delay(attempts: i64, heal: &HealPolicy) -> Duration {
    let Some(backoff) = &heal.backoff else { return heal.timeout };
    if attempts <= 0 {
        return Duration::ZERO;
    }
    let mut delay = backoff.duration;
    for _ in 1..attempts {
        delay = delay.saturating_mul(backoff.factor.max(1));
        if delay >= backoff.cap {
            return backoff.cap;
        }
    }
    delay.min(backoff.cap)
}

/// The controller's self-heal settings (`argocd-cmd-params-cm`
/// `controller.self.heal.timeout.seconds` and `controller.self.heal.backoff.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct HealPolicy {
    /// The fixed wait when no backoff is configured.
    pub timeout: Duration,
    /// The backoff, upstream's default.
    pub backoff: Option<SelfHealBackoff>,
}

impl Default for HealPolicy {
    fn default() -> Self {
        let params = ControllerParams::default();
        HealPolicy { timeout: params.self_heal_timeout, backoff: params.self_heal_backoff }
    }
}

fn parse_time(text: Option<&String>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc))
}

fn revision_text(revisions: &[String]) -> String {
    revisions.join(", ")
}

/// Decides whether to start an automated sync for `app` after a comparison.
pub fn decide(app: &Application, compared: &Compared<'_>, now: DateTime<Utc>) -> Decision {
    let policy = app.spec.sync_policy.as_ref();
    let Some(automated) = policy.and_then(|p| p.automated.as_ref()) else {
        return Decision::Skip("automated sync is not enabled".into());
    };
    if automated.enabled == Some(false) {
        return Decision::Skip("automated sync is disabled".into());
    }
    if app.operation.is_some() {
        return Decision::Skip("another operation is already in progress".into());
    }
    if app.metadata.deletion_timestamp.is_some() {
        return Decision::Skip("the application is being deleted".into());
    }
    if compared.sync_status != "OutOfSync" {
        return Decision::Skip(format!("application status is {}", compared.sync_status));
    }
    let prune = automated.prune == Some(true);
    let status_of = |r: &ResourceStatus| r.status.as_deref().unwrap_or_default().to_string();
    if !prune
        && compared.resources.iter().all(|r| status_of(r) == "Synced" || r.requires_pruning == Some(true))
    {
        return Decision::Skip("need to prune extra resources only but automated prune is disabled".into());
    }
    if !compared.windows_allow {
        return Decision::Skip("sync windows do not allow automated sync now".into());
    }
    let target = revision_text(compared.revisions);
    let state = app.status.as_ref().and_then(|s| s.operation_state.as_ref());
    let last_result = state.and_then(|s| s.sync_result.as_ref());
    let last_revisions: Vec<String> = last_result
        .map(|r| r.revisions.clone().unwrap_or_else(|| r.revision.clone().into_iter().collect()))
        .unwrap_or_default();
    let already_attempted = !compared.revisions.is_empty() && last_revisions == compared.revisions;
    let last_phase = state.and_then(|s| s.phase.as_deref()).unwrap_or_default();
    let self_heal = automated.self_heal == Some(true);

    let mut sync = SyncOperation {
        prune: Some(prune),
        sync_options: policy.and_then(|p| p.sync_options.clone()),
        ..Default::default()
    };
    if compared.revisions.len() > 1 {
        sync.revisions = Some(compared.revisions.to_vec());
    } else {
        sync.revision = compared.revisions.first().cloned();
    }
    if already_attempted {
        let succeeded = last_phase == "Succeeded";
        if !succeeded && last_phase != "Running" && last_phase != "Terminating" {
            let message = state.and_then(|s| s.message.clone()).unwrap_or_default();
            return Decision::Refuse(format!("Failed sync attempt to {target}: {message}"));
        }
        if !self_heal {
            return Decision::Skip(format!("most recent sync already to {target}"));
        }
        let finished = parse_time(state.and_then(|s| s.finished_at.as_ref()));
        let since = finished.map(|f| (now - f).to_std().unwrap_or_default());
        let previous_attempts = state
            .and_then(|s| s.operation.as_ref())
            .and_then(|o| o.sync.as_ref())
            .and_then(|s| s.auto_heal_attempts_count)
            .unwrap_or(0);
        let attempts = if since.is_some_and(|s| s >= HEAL_COOLDOWN) { 0 } else { previous_attempts };
        let delay = self_heal_delay(attempts, compared.heal);
        let waited = since.unwrap_or(Duration::ZERO);
        if finished.is_some() && waited < delay {
            return Decision::RetryAfter(delay - waited);
        }
        sync.auto_heal_attempts_count = Some(attempts + 1);
        // Heal only what drifted, as upstream does.
        let drifted: Vec<SyncOperationResource> = compared
            .resources
            .iter()
            .filter(|r| status_of(r) != "Synced")
            .map(|r| SyncOperationResource {
                group: r.group.clone(),
                kind: r.kind.clone(),
                name: r.name.clone(),
                namespace: r.namespace.clone(),
                ..Default::default()
            })
            .collect();
        if !drifted.is_empty() {
            sync.resources = Some(drifted);
        }
    }
    if prune
        && automated.allow_empty != Some(true)
        && !compared.resources.is_empty()
        && compared.resources.iter().all(|r| r.requires_pruning == Some(true))
    {
        return Decision::Refuse(format!(
            "Skipping sync attempt to {target}: auto-sync will wipe out all resources \
             (set syncPolicy.automated.allowEmpty: true to allow it)"
        ));
    }
    Decision::Sync(Box::new(Operation {
        sync: Some(sync),
        initiated_by: Some(OperationInitiator { automated: Some(true), ..Default::default() }),
        retry: policy.and_then(|p| p.retry.clone()),
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn app(policy: serde_json::Value, status: serde_json::Value) -> Application {
        serde_json::from_value(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "guestbook", "namespace": "argocd"},
            "spec": {"project": "default", "source": {"repoURL": "https://git.example/r.git", "path": "."},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
                "syncPolicy": policy},
            "status": status
        }))
        .expect("valid application")
    }

    fn resource(status: &str, prune: bool) -> ResourceStatus {
        ResourceStatus {
            kind: Some("ConfigMap".into()),
            name: Some("cm".into()),
            namespace: Some("default".into()),
            status: Some(status.into()),
            requires_pruning: prune.then_some(true),
            ..Default::default()
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z").expect("time").with_timezone(&Utc)
    }

    static HEAL: std::sync::LazyLock<HealPolicy> = std::sync::LazyLock::new(HealPolicy::default);

    fn compared<'a>(revs: &'a [String], resources: &'a [ResourceStatus]) -> Compared<'a> {
        Compared { sync_status: "OutOfSync", revisions: revs, resources, windows_allow: true, heal: &HEAL }
    }

    fn last_op(phase: &str, revision: &str, finished: &str, attempts: i64) -> serde_json::Value {
        json!({"operationState": {"phase": phase, "message": "boom", "finishedAt": finished,
            "operation": {"sync": {"revision": revision, "autoHealAttemptsCount": attempts}},
            "syncResult": {"revision": revision}}})
    }

    #[test]
    fn out_of_sync_app_with_automation_gets_an_automated_operation_to_the_resolved_revision() {
        let a =
            app(json!({"automated": {"prune": true}, "syncOptions": ["CreateNamespace=true"]}), json!({}));
        let revs = vec!["abc".to_string()];
        let res = [resource("OutOfSync", false)];
        let Decision::Sync(op) = decide(&a, &compared(&revs, &res), now()) else { panic!("should sync") };
        let sync = op.sync.expect("sync");
        assert_eq!(sync.revision.as_deref(), Some("abc"));
        assert_eq!(sync.prune, Some(true));
        assert_eq!(sync.sync_options, Some(vec!["CreateNamespace=true".into()]));
        assert_eq!(op.initiated_by.and_then(|i| i.automated), Some(true));
    }

    #[test]
    fn no_automation_disabled_automation_synced_or_windows_closed_skip() {
        let revs = vec!["abc".to_string()];
        let res = [resource("OutOfSync", false)];
        for policy in [json!({}), json!({"automated": {"enabled": false}})] {
            assert!(matches!(
                decide(&app(policy, json!({})), &compared(&revs, &res), now()),
                Decision::Skip(_)
            ));
        }
        let a = app(json!({"automated": {}}), json!({}));
        let synced = Compared { sync_status: "Synced", ..compared(&revs, &res) };
        assert!(matches!(decide(&a, &synced, now()), Decision::Skip(_)));
        let closed = Compared { windows_allow: false, ..compared(&revs, &res) };
        assert!(matches!(decide(&a, &closed, now()), Decision::Skip(_)));
    }

    #[test]
    fn pruning_only_is_skipped_without_automated_prune() {
        let a = app(json!({"automated": {}}), json!({}));
        let revs = vec!["abc".to_string()];
        let res = [resource("Synced", false), resource("OutOfSync", true)];
        assert!(matches!(decide(&a, &compared(&revs, &res), now()), Decision::Skip(_)));
    }

    #[test]
    fn a_failed_automated_sync_is_not_retried_to_the_same_revision_but_is_to_a_new_one() {
        let a = app(json!({"automated": {}}), last_op("Failed", "abc", "2026-11-22T11:59:00Z", 0));
        let res = [resource("OutOfSync", false)];
        let same = vec!["abc".to_string()];
        match decide(&a, &compared(&same, &res), now()) {
            Decision::Refuse(m) => assert!(m.starts_with("Failed sync attempt to abc: boom"), "{m}"),
            other => panic!("{other:?}"),
        }
        let moved = vec!["def".to_string()];
        assert!(matches!(decide(&a, &compared(&moved, &res), now()), Decision::Sync(_)));
    }

    #[test]
    fn without_self_heal_drift_at_the_synced_revision_is_left_alone() {
        let a = app(json!({"automated": {}}), last_op("Succeeded", "abc", "2026-11-22T11:00:00Z", 0));
        let revs = vec!["abc".to_string()];
        let res = [resource("OutOfSync", false)];
        assert!(matches!(decide(&a, &compared(&revs, &res), now()), Decision::Skip(_)));
    }

    #[test]
    fn self_heal_syncs_only_drifted_resources_and_backs_off_on_repeated_heals() {
        let revs = vec!["abc".to_string()];
        let res = [
            resource("OutOfSync", false),
            ResourceStatus { name: Some("ok".into()), ..resource("Synced", false) },
        ];
        // Quiet for an hour: heal at once, count restarts.
        let a = app(
            json!({"automated": {"selfHeal": true}}),
            last_op("Succeeded", "abc", "2026-11-22T11:00:00Z", 7),
        );
        let Decision::Sync(op) = decide(&a, &compared(&revs, &res), now()) else { panic!("should heal") };
        let sync = op.sync.expect("sync");
        assert_eq!(sync.auto_heal_attempts_count, Some(1));
        assert_eq!(sync.resources.expect("selective").len(), 1);
        // Healed 1 s ago after two attempts: wait 2 s × 3 = 6 s in all, 5 s more.
        let a = app(
            json!({"automated": {"selfHeal": true}}),
            last_op("Succeeded", "abc", "2026-11-22T11:59:59Z", 2),
        );
        assert_eq!(decide(&a, &compared(&revs, &res), now()), Decision::RetryAfter(Duration::from_secs(5)));
    }

    #[test]
    fn heal_backoff_grows_by_three_and_is_capped_and_a_fixed_timeout_replaces_it() {
        let heal = HealPolicy::default();
        assert_eq!(self_heal_delay(0, &heal), Duration::ZERO);
        assert_eq!(self_heal_delay(1, &heal), Duration::from_secs(2));
        assert_eq!(self_heal_delay(3, &heal), Duration::from_secs(18));
        assert_eq!(self_heal_delay(60, &heal), Duration::from_secs(300));
        let fixed = HealPolicy { timeout: Duration::from_secs(5), backoff: None };
        assert_eq!(self_heal_delay(4, &fixed), Duration::from_secs(5));
    }

    #[test]
    fn prune_without_allow_empty_refuses_to_wipe_everything() {
        let a = app(json!({"automated": {"prune": true}}), json!({}));
        let revs = vec!["abc".to_string()];
        let res = [resource("OutOfSync", true), resource("OutOfSync", true)];
        assert!(
            matches!(decide(&a, &compared(&revs, &res), now()), Decision::Refuse(m) if m.contains("wipe out"))
        );
        let a = app(json!({"automated": {"prune": true, "allowEmpty": true}}), json!({}));
        assert!(matches!(decide(&a, &compared(&revs, &res), now()), Decision::Sync(_)));
    }
}
