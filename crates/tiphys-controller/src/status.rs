//! Building what the controller writes to an Application's `status`, purely.
//!
//! The controller owns some status fields (the comparison's: `sync`, `resources`, `health`,
//! `summary`, `sourceType(s)`, `conditions`, `reconciledAt`, `observedAt`) and the operation's
//! (`operationState`, `history`). Each write is a JSON merge patch of whole fields, sent only
//! when something other than the timestamps changed, so a steady-state refresh of an unchanged
//! app costs no API write (upstream writes `reconciledAt` on every refresh; we write it when
//! anything else changes, or when it is older than the reconciliation timeout, so it still
//! tells when the app was last compared).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use tiphys_model::application::{ApplicationCondition, ApplicationStatus, OperationState, RevisionHistory};
use tiphys_resource::GroupVersionKind;

/// Condition types the comparison owns (others, e.g. `SyncError` from a sync, are kept).
pub const COMPARISON_CONDITIONS: &[&str] = &[
    "ComparisonError",
    "InvalidSpecError",
    "SharedResourceWarning",
    "OrphanedResourceWarning",
    "RepeatedResourceWarning",
    "ExcludedResourceWarning",
    "UnknownError",
];

/// Upstream's default number of history entries kept (`spec.revisionHistoryLimit`).
pub const DEFAULT_HISTORY_LIMIT: usize = 10;

/// Kubernetes' timestamp format (RFC 3339, seconds, `Z`).
pub fn timestamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The new condition list: conditions of the owned `types` are replaced by `wanted` (keeping
/// `lastTransitionTime` for ones that did not change), conditions of other types are kept.
pub fn merge_conditions(
    old: &[ApplicationCondition],
    owned: &[&str],
    wanted: &[(String, String)],
    now: DateTime<Utc>,
) -> Vec<ApplicationCondition> {
    let mut out: Vec<ApplicationCondition> =
        old.iter().filter(|c| !owned.contains(&c.r#type.as_deref().unwrap_or_default())).cloned().collect();
    for (kind, message) in wanted {
        let previous =
            old.iter().find(|c| c.r#type.as_deref() == Some(kind) && c.message.as_deref() == Some(message));
        let since = previous.and_then(|c| c.last_transition_time.clone()).unwrap_or_else(|| timestamp(now));
        out.push(ApplicationCondition {
            r#type: Some(kind.clone()),
            message: Some(message.clone()),
            last_transition_time: Some(since),
            ..Default::default()
        });
    }
    out
}

fn fields_of(status: &ApplicationStatus, fields: &[&str]) -> Value {
    // The operation's fields are the biggest part of a status (a sync result per resource,
    // the history); a refresh never asks for them, so they are not serialized for it.
    let wants = |field: &str| fields.contains(&field);
    let light = ApplicationStatus {
        history: if wants("history") { status.history.clone() } else { None },
        operation_state: if wants("operationState") { status.operation_state.clone() } else { None },
        resources: status.resources.clone(),
        sync: status.sync.clone(),
        health: status.health.clone(),
        conditions: status.conditions.clone(),
        reconciled_at: status.reconciled_at.clone(),
        observed_at: status.observed_at.clone(),
        source_type: status.source_type.clone(),
        source_types: status.source_types.clone(),
        summary: status.summary.clone(),
        resource_health_source: status.resource_health_source.clone(),
        controller_namespace: status.controller_namespace.clone(),
        source_hydrator: status.source_hydrator.clone(),
        extra: status.extra.clone(),
    };
    let all = serde_json::to_value(&light).unwrap_or(Value::Null);
    let picked: Map<String, Value> =
        fields.iter().filter_map(|f| all.get(*f).map(|v| ((*f).to_string(), v.clone()))).collect();
    json!({ "status": Value::Object(picked) })
}

/// The JSON merge patch turning `old` into `new` for the `fields` given (nested: only what
/// changed, `null` for what was removed), or `None` when those fields are equal.
pub fn patch_fields(old: &ApplicationStatus, new: &ApplicationStatus, fields: &[&str]) -> Option<Value> {
    let (before, after) = (fields_of(old, fields), fields_of(new, fields));
    if before == after {
        return None;
    }
    let gvk = GroupVersionKind {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        kind: "Application".into(),
    };
    // Both sides are objects, so the diff cannot fail; fall back to a whole-field write.
    Some(tiphys_patch::create_two_way_merge_patch(&before, &after, &gvk).unwrap_or(after))
}

/// Appends a finished sync to the history, with the next id, keeping the newest `limit`.
pub fn append_history(
    history: &mut Vec<RevisionHistory>,
    state: &OperationState,
    limit: usize,
    now: DateTime<Utc>,
) {
    let next_id = history.iter().filter_map(|h| h.id).max().map_or(0, |id| id + 1);
    let result = state.sync_result.as_ref();
    history.push(RevisionHistory {
        id: Some(next_id),
        revision: result.and_then(|r| r.revision.clone()),
        revisions: result.and_then(|r| r.revisions.clone()),
        source: result.and_then(|r| r.source.clone()),
        sources: result.and_then(|r| r.sources.clone()),
        deployed_at: Some(timestamp(now)),
        deploy_started_at: state.started_at.clone(),
        initiated_by: state.operation.as_ref().and_then(|o| o.initiated_by.clone()),
        ..Default::default()
    });
    if history.len() > limit {
        let extra = history.len() - limit;
        history.drain(..extra);
    }
}

/// The history limit of an app (`spec.revisionHistoryLimit`, default 10; negative means 0).
pub fn history_limit(limit: Option<i64>) -> usize {
    limit.map_or(DEFAULT_HISTORY_LIMIT, |l| usize::try_from(l).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use tiphys_model::application::{SyncOperationResult, SyncStatus};

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    fn cond(kind: &str, message: &str, since: &str) -> ApplicationCondition {
        ApplicationCondition {
            r#type: Some(kind.into()),
            message: Some(message.into()),
            last_transition_time: Some(since.into()),
            ..Default::default()
        }
    }

    #[test]
    fn unchanged_conditions_keep_their_transition_time_and_foreign_ones_stay() {
        let old = vec![
            cond("ComparisonError", "repo down", "2026-01-01T00:00:00Z"),
            cond("SyncError", "failed", "2026-01-02T00:00:00Z"),
            cond("SharedResourceWarning", "x", "2026-01-03T00:00:00Z"),
        ];
        let wanted = vec![("ComparisonError".to_string(), "repo down".to_string())];
        let now = t("2026-11-22T00:00:00Z");
        let merged = merge_conditions(&old, COMPARISON_CONDITIONS, &wanted, now);
        assert_eq!(merged, vec![old[1].clone(), old[0].clone()]);
        let wanted = vec![("ComparisonError".to_string(), "repo moved".to_string())];
        let merged = merge_conditions(&old, COMPARISON_CONDITIONS, &wanted, now);
        assert_eq!(merged[1].last_transition_time.as_deref(), Some("2026-11-22T00:00:00Z"));
    }

    #[test]
    fn patch_lists_only_changed_fields_and_nulls_removed_ones() {
        let old = ApplicationStatus {
            sync: Some(SyncStatus { status: Some("Synced".into()), ..Default::default() }),
            reconciled_at: Some("a".into()),
            ..Default::default()
        };
        let mut new = old.clone();
        assert_eq!(patch_fields(&old, &new, &["sync", "reconciledAt"]), None);
        new.reconciled_at = None;
        new.sync = Some(SyncStatus { status: Some("OutOfSync".into()), ..Default::default() });
        assert_eq!(
            patch_fields(&old, &new, &["sync", "reconciledAt"]),
            Some(json!({"status": {"sync": {"status": "OutOfSync"}, "reconciledAt": null}}))
        );
        let mut nested = new.clone();
        nested.sync = Some(SyncStatus {
            status: Some("OutOfSync".into()),
            revision: Some("abc".into()),
            ..Default::default()
        });
        assert_eq!(
            patch_fields(&new, &nested, &["sync", "reconciledAt"]),
            Some(json!({"status": {"sync": {"revision": "abc"}}}))
        );
    }

    #[test]
    fn history_gets_increasing_ids_and_is_trimmed_to_the_limit() {
        let mut history = Vec::new();
        let state = OperationState {
            sync_result: Some(SyncOperationResult { revision: Some("abc".into()), ..Default::default() }),
            started_at: Some("2026-11-22T00:00:00Z".into()),
            ..Default::default()
        };
        for _ in 0..4 {
            append_history(&mut history, &state, 3, t("2026-11-22T00:00:05Z"));
        }
        let ids: Vec<i64> = history.iter().filter_map(|h| h.id).collect();
        assert_eq!(ids, vec![1, 2, 3]);
        assert_eq!(history[0].revision.as_deref(), Some("abc"));
        assert_eq!(history[0].deploy_started_at.as_deref(), Some("2026-11-22T00:00:00Z"));
        assert_eq!(history_limit(None), 10);
        assert_eq!(history_limit(Some(-1)), 0);
    }
}
