//! Running an Application's `operation` (a sync: manual, automated, self-heal or rollback).
//!
//! The operation task compares the app at the operation's revision (and sources, for a
//! rollback), plans with `tiphys_sync::plan`, and drives a `tiphys_executor::Execution`,
//! writing `status.operationState` after every step. Because that state is all in the
//! Application, a restarted controller (or a new leader) finds `operationState.phase: Running`
//! for the same operation and resumes it: the execution skips what the recorded results show
//! as done. A failed attempt is retried per `operation.retry` (limit, backoff); the final
//! outcome clears `operation`, and a success is appended to `status.history`
//! (`revisionHistoryLimit`, default 10). Writing `status.operationState.phase: Terminating`
//! stops a running operation (what `argocd app terminate-op` does). Sync windows are checked
//! before starting: a blocked manual sync waits (phase Running, "Sync operation blocked by sync
//! window") unless a window allows manual syncs.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tiphys_executor::{Execution, ExecutionContext, Executor, Progress};
use tiphys_model::application::{
    Application, Backoff, Operation, OperationState, ResourceResult, SyncOperation, SyncOperationResult,
};
use tiphys_resource::ResourceKey;
use tiphys_sync::plan::{PlanInput, SelectedResource, Strategy, SyncOperation as PlanOperation};
use tiphys_sync::{AppSyncOptions, plan};

use crate::queue::Level;
use crate::refresh::Pin;
use crate::runtime::Controller;
use crate::status;

/// Upstream's operation retry defaults (`retry.backoff`).
const RETRY_DURATION: Duration = Duration::from_secs(5);
const RETRY_FACTOR: i64 = 2;
const RETRY_MAX: Duration = Duration::from_secs(180);
/// How often a sync blocked by a window looks again.
const WINDOW_RECHECK: Duration = Duration::from_secs(5);

/// The delay before retry number `attempt` (0 = the first retry) of a failed operation.
pub fn retry_delay(backoff: Option<&Backoff>, attempt: i64) -> Duration {
    let parse = |text: Option<&String>, default: Duration| {
        text.and_then(|t| tiphys_model::duration::parse_backoff_duration(t).ok()).unwrap_or(default)
    };
    let base = parse(backoff.and_then(|b| b.duration.as_ref()), RETRY_DURATION);
    let max = parse(backoff.and_then(|b| b.max_duration.as_ref()), RETRY_MAX);
    let factor = backoff.and_then(|b| b.factor).filter(|f| *f > 0).unwrap_or(RETRY_FACTOR);
    let mut delay = base;
    for _ in 0..attempt.max(0) {
        delay = delay.saturating_mul(u32::try_from(factor).unwrap_or(u32::MAX));
        if delay >= max {
            return max;
        }
    }
    delay.min(max)
}

/// The state as a merge patch that replaces every field (absent ones become `null`).
fn replacing(state: &OperationState) -> Value {
    const STATE_FIELDS: &[&str] =
        &["operation", "phase", "message", "syncResult", "startedAt", "finishedAt", "retryCount"];
    const RESULT_FIELDS: &[&str] =
        &["resources", "revision", "revisions", "source", "sources", "managedNamespaceMetadata"];
    let mut value = serde_json::to_value(state).unwrap_or_else(|_| json!({}));
    let fill = |v: &mut Value, fields: &[&str]| {
        if let Some(map) = v.as_object_mut() {
            for f in fields {
                map.entry(*f).or_insert(Value::Null);
            }
        }
    };
    fill(&mut value, STATE_FIELDS);
    if value["syncResult"].is_object() {
        fill(&mut value["syncResult"], RESULT_FIELDS);
    }
    value
}

/// Whether another attempt is allowed after `retries` retries (`limit` < 0: unlimited).
fn may_retry(operation: &Operation, retries: i64) -> bool {
    match operation.retry.as_ref().and_then(|r| r.limit) {
        Some(limit) if limit < 0 => true,
        Some(limit) => retries < limit,
        None => false,
    }
}

/// How one attempt ended.
enum Attempt {
    Succeeded(String),
    Failed(String),
    /// Stop without an outcome: shutdown or lost leadership (the state is persisted).
    Interrupted,
    /// The operation was terminated by the user.
    Terminated,
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

/// The planner's view of the requested sync.
fn plan_operation(sync: &SyncOperation, revision: &str, started: DateTime<Utc>) -> PlanOperation {
    let strategy = sync.sync_strategy.as_ref();
    let apply = strategy.is_some_and(|s| s.apply.is_some());
    let force =
        strategy.and_then(|s| s.apply.as_ref().or(s.hook.as_ref())).and_then(|f| f.force).unwrap_or(false);
    PlanOperation {
        prune: sync.prune.unwrap_or(false),
        dry_run: sync.dry_run.unwrap_or(false),
        resources: sync
            .resources
            .iter()
            .flatten()
            .map(|r| SelectedResource {
                group: r.group.clone().unwrap_or_default(),
                kind: r.kind.clone().unwrap_or_default(),
                name: r.name.clone().unwrap_or_default(),
                namespace: r.namespace.clone().unwrap_or_default(),
            })
            .collect(),
        strategy: if apply { Strategy::Apply } else { Strategy::Hook },
        force,
        revision: revision.to_string(),
        started_at_unix: started.timestamp(),
    }
}

/// A sync operation's hold on one of `controller.operation.processors`. It is given up while
/// the operation only waits (health between waves, a running hook, retry backoff, a closed
/// sync window), as upstream requeues a waiting operation instead of keeping its worker:
/// otherwise app-of-apps parents waiting for their children's health could hold every slot
/// the children's own syncs need.
pub struct OperationSlot<'a> {
    slots: &'a tokio::sync::Semaphore,
    permit: Option<tokio::sync::SemaphorePermit<'a>>,
}

impl<'a> OperationSlot<'a> {
    /// Waits for a free slot and holds it.
    pub async fn take(slots: &'a tokio::sync::Semaphore) -> Self {
        // The semaphore is never closed, so acquiring only waits.
        OperationSlot { slots, permit: slots.acquire().await.ok() }
    }

    /// Runs `wait` with the slot given up, then waits for one again.
    async fn while_waiting<T>(&mut self, wait: impl std::future::Future<Output = T>) -> T {
        self.permit = None;
        let out = wait.await;
        self.permit = self.slots.acquire().await.ok();
        out
    }
}

impl Controller {
    async fn fresh_app(&self, name: &str) -> Option<Application> {
        let key = ResourceKey::new("argoproj.io", "Application", &self.namespace, name);
        let cluster = &self.destinations.in_cluster().cluster;
        match cluster.get(&key).await {
            Ok(Some(v)) => serde_json::from_value(v).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(app = name, error = %e, "cannot read application");
                None
            }
        }
    }

    fn interrupted(&self) -> bool {
        *self.stop.borrow() || !*self.leading.borrow()
    }

    /// Writes progress of a running operation. `phase` is left out, so a user's
    /// `Terminating` written meanwhile is never overwritten with `Running`.
    async fn write_progress(&self, name: &str, state: &OperationState) {
        let mut value = serde_json::to_value(state).unwrap_or(Value::Null);
        if let Some(map) = value.as_object_mut() {
            map.remove("phase");
        }
        self.patch_app(name, json!({"status": {"operationState": value}})).await;
    }

    /// Writes the whole operation state, replacing what the previous operation left (a merge
    /// patch keeps keys it does not mention, so absent fields are sent as `null`).
    async fn write_state(&self, name: &str, state: &OperationState, extra: Option<Value>) {
        let mut patch = json!({"status": {"operationState": replacing(state)}});
        if let Some(Value::Object(more)) = extra {
            for (k, v) in more {
                if k == "status" {
                    if let (Some(target), Value::Object(fields)) = (patch["status"].as_object_mut(), v) {
                        target.extend(fields);
                    }
                } else {
                    patch[k] = v;
                }
            }
        }
        self.patch_app(name, patch).await;
    }

    /// Runs the app's current operation to its end (or until shutdown), holding `slot` except
    /// while it only waits.
    pub async fn run_operation(self: &Arc<Self>, name: &str, slot: &mut OperationSlot<'_>) {
        loop {
            let Some(app) = self.fresh_app(name).await else { return };
            let Some(operation) = app.operation.clone() else { return };
            if self.interrupted() {
                return;
            }
            let previous = app.status.as_ref().and_then(|s| s.operation_state.clone());
            let resuming = previous.as_ref().is_some_and(|s| {
                s.phase.as_deref() == Some("Running") && s.operation.as_ref() == Some(&operation)
            });
            let mut state = if resuming {
                previous.clone().unwrap_or_default()
            } else {
                OperationState {
                    operation: Some(operation.clone()),
                    phase: Some("Running".into()),
                    message: Some(String::new()),
                    started_at: Some(status::timestamp(now())),
                    ..Default::default()
                }
            };
            if !resuming {
                self.write_state(name, &state, None).await;
            }
            let outcome = self.attempt(name, &app, &operation, &mut state, resuming, slot).await;
            match outcome {
                Attempt::Interrupted => return,
                Attempt::Succeeded(message) => {
                    self.finish(name, &app, state, "Succeeded", message).await;
                    return;
                }
                Attempt::Terminated => {
                    self.finish(name, &app, state, "Failed", "Operation terminated".into()).await;
                    return;
                }
                Attempt::Failed(message) => {
                    let retries = state.retry_count.unwrap_or(0);
                    if !may_retry(&operation, retries) {
                        self.finish(name, &app, state, "Failed", message).await;
                        return;
                    }
                    let delay =
                        retry_delay(operation.retry.as_ref().and_then(|r| r.backoff.as_ref()), retries);
                    let at = now() + chrono::Duration::from_std(delay).unwrap_or_default();
                    state.retry_count = Some(retries + 1);
                    state.message = Some(format!(
                        "{message}. Retrying attempt #{} at {}.",
                        retries + 1,
                        at.format("%-I:%M%p")
                    ));
                    state.phase = Some("Running".into());
                    self.write_state(name, &state, None).await;
                    if self.pause(slot, delay).await {
                        return;
                    }
                    // The next attempt starts over (resume only applies to a restart).
                    state.sync_result = None;
                }
            }
        }
    }

    /// One attempt: windows, compare at the operation's revision, plan, execute.
    async fn attempt(
        self: &Arc<Self>,
        name: &str,
        app: &Application,
        operation: &Operation,
        state: &mut OperationState,
        resuming: bool,
        slot: &mut OperationSlot<'_>,
    ) -> Attempt {
        let Some(sync) = operation.sync.clone() else {
            return Attempt::Failed("the operation has no sync: only sync operations are supported".into());
        };
        let manual = operation.initiated_by.as_ref().and_then(|i| i.automated) != Some(true);
        // Sync windows.
        loop {
            let project_name =
                app.spec.project.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "default".into());
            let Some(project) = self.project(&project_name) else { break };
            let verdict = self.windows(app, &project, now());
            if if manual { verdict.manual } else { verdict.automated } {
                break;
            }
            let blocked = "Sync operation blocked by sync window".to_string();
            if state.message.as_deref() != Some(blocked.as_str()) {
                state.message = Some(blocked);
                self.write_progress(name, state).await;
            }
            if self.pause(slot, WINDOW_RECHECK).await {
                return Attempt::Interrupted;
            }
            if self.terminating(name) {
                return Attempt::Terminated;
            }
        }
        // What to sync: the operation's revision(s) and, for a rollback, its source(s).
        let revisions: Vec<String> =
            sync.revisions.clone().unwrap_or_else(|| sync.revision.clone().into_iter().collect());
        let sources = sync.sources.clone().or_else(|| sync.source.clone().map(|s| vec![s]));
        let pin = Pin { revisions, sources };
        let compared = self.compare(app, Level::Normal, Some(pin)).await;
        let comparison = compared.comparison;
        if comparison.errored {
            let why: Vec<String> = comparison.conditions.iter().map(|(_, m)| m.clone()).collect();
            return Attempt::Failed(format!("ComparisonError: {}", why.join("; ")));
        }
        if !comparison.not_permitted.is_empty() {
            // Upstream refuses the whole sync: each refused resource is a failed task.
            let mut refused: Vec<(&ResourceKey, &String)> = comparison.not_permitted.iter().collect();
            refused.sort();
            let results = refused
                .into_iter()
                .map(|(key, message)| ResourceResult {
                    group: Some(key.group.clone()),
                    kind: Some(key.kind.clone()),
                    namespace: Some(key.namespace.clone()),
                    name: Some(key.name.clone()),
                    status: Some("SyncFailed".into()),
                    message: Some(message.clone()),
                    sync_phase: Some("Sync".into()),
                    ..Default::default()
                })
                .collect();
            state.sync_result = Some(SyncOperationResult { resources: Some(results), ..Default::default() });
            return Attempt::Failed("one or more synchronization tasks are not valid".into());
        }
        let Some(destination) = compared.destination else {
            return Attempt::Failed("the destination cluster is not available".into());
        };
        let revision = comparison.revisions.first().cloned().unwrap_or_default();
        let started = state
            .started_at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map_or_else(now, |t| t.with_timezone(&Utc));
        let spec_options =
            app.spec.sync_policy.as_ref().and_then(|p| p.sync_options.clone()).unwrap_or_default();
        let mut options = spec_options;
        options.extend(sync.sync_options.clone().unwrap_or_default());
        let namespace = app.spec.destination.as_ref().and_then(|d| d.namespace.clone()).unwrap_or_default();
        let namespace_exists = namespace.is_empty()
            || destination.cache.index().get(&ResourceKey::new("", "Namespace", "", &namespace)).is_some();
        let options = AppSyncOptions(options);
        let input = PlanInput {
            desired: &comparison.desired,
            live: &comparison.live,
            in_sync: comparison.in_sync.clone(),
            shared: comparison.shared.clone(),
            options: options.clone(),
            namespace: namespace.clone(),
            namespace_exists,
            operation: plan_operation(&sync, &revision, started),
        };
        let planned = match plan(&input) {
            Ok(p) => p,
            Err(e) => {
                return Attempt::Failed(format!("one or more synchronization tasks are not valid: {e}"));
            }
        };
        let multi = comparison.sources.len() > 1;
        state.sync_result = Some(SyncOperationResult {
            revision: (!multi).then(|| revision.clone()),
            revisions: multi.then(|| comparison.revisions.clone()),
            source: (!multi).then(|| comparison.sources.first().cloned()).flatten(),
            sources: multi.then(|| comparison.sources.clone()),
            resources: state.sync_result.as_ref().and_then(|r| r.resources.clone()),
            // What this sync puts on the namespace: a later spec change shows as OutOfSync.
            managed_namespace_metadata: app
                .spec
                .sync_policy
                .as_ref()
                .and_then(|p| p.managed_namespace_metadata.clone()),
            ..Default::default()
        });
        let previous: Option<Vec<ResourceResult>> =
            if resuming { state.sync_result.as_ref().and_then(|r| r.resources.clone()) } else { None };
        let ctx = ExecutionContext {
            app_name: name.to_string(),
            desired: comparison.desired.clone(),
            namespace,
            create_namespace: options.get("CreateNamespace") == Some("true"),
            managed_namespace_metadata: app
                .spec
                .sync_policy
                .as_ref()
                .and_then(|p| p.managed_namespace_metadata.clone()),
        };
        let executor = Executor::new(destination.cluster.clone(), self.snapshot().health.clone());
        let mut execution = Execution::new(planned, ctx, previous.as_deref());
        loop {
            if self.terminating(name) {
                execution.terminate(&executor).await;
                self.record(state, &execution);
                return Attempt::Terminated;
            }
            if self.interrupted() {
                return Attempt::Interrupted;
            }
            let progress = execution.advance(&executor).await;
            self.record(state, &execution);
            match progress {
                // The caller writes the final (or retrying) state at once: one write, not two.
                Progress::Finished { succeeded: true, message } => return Attempt::Succeeded(message),
                Progress::Finished { succeeded: false, message } => return Attempt::Failed(message),
                Progress::Running { retry_after } => {
                    // Persisted before waiting, so a restart resumes from here.
                    self.write_progress(name, state).await;
                    if self.pause(slot, retry_after).await {
                        return Attempt::Interrupted;
                    }
                }
            }
        }
    }

    /// Waits `delay` without holding an operation slot; `true` when the controller stops
    /// meanwhile.
    async fn pause(&self, slot: &mut OperationSlot<'_>, delay: Duration) -> bool {
        let mut stop = self.stop.clone();
        slot.while_waiting(async {
            tokio::select! {
                _ = tokio::time::sleep(delay) => false,
                _ = stop.changed() => true,
            }
        })
        .await
    }

    fn record(&self, state: &mut OperationState, execution: &Execution) {
        let result = state.sync_result.get_or_insert_with(Default::default);
        result.resources = Some(execution.results());
        state.message = Some(execution.message());
    }

    /// Whether the user asked to terminate the running operation.
    fn terminating(&self, name: &str) -> bool {
        self.app_value(name)
            .is_some_and(|a| a["status"]["operationState"]["phase"].as_str() == Some("Terminating"))
    }

    /// Writes the final state, clears `operation`, and records a successful sync in history.
    async fn finish(
        &self,
        name: &str,
        app: &Application,
        mut state: OperationState,
        phase: &str,
        message: String,
    ) {
        let finished = now();
        state.phase = Some(phase.into());
        state.message = Some(message);
        state.finished_at = Some(status::timestamp(finished));
        let mut extra = json!({"operation": null});
        let dry_run =
            state.operation.as_ref().and_then(|o| o.sync.as_ref()).and_then(|s| s.dry_run) == Some(true);
        if phase == "Succeeded" && !dry_run {
            let mut history = app.status.as_ref().and_then(|s| s.history.clone()).unwrap_or_default();
            let limit = status::history_limit(app.spec.revision_history_limit);
            status::append_history(&mut history, &state, limit, finished);
            extra["status"] = json!({"history": history});
        }
        tracing::info!(
            app = name,
            phase,
            message = state.message.as_deref().unwrap_or_default(),
            "operation finished"
        );
        self.metrics.record_sync(app, phase);
        self.write_state(name, &state, Some(extra)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn operations_beyond_the_processors_wait_and_a_waiting_one_gives_its_slot_up() {
        let slots = tokio::sync::Semaphore::new(1);
        let mut first = OperationSlot::take(&slots).await;
        // A second operation waits while the first works...
        let second = tokio::time::timeout(Duration::from_millis(50), OperationSlot::take(&slots)).await;
        assert!(second.is_err(), "one processor: the second operation must wait");
        // ...and gets the slot while the first only waits (health, a hook, a backoff).
        let waited = first
            .while_waiting(async {
                let second = OperationSlot::take(&slots).await;
                assert_eq!(slots.available_permits(), 0, "the second works meanwhile");
                drop(second);
                "waited"
            })
            .await;
        assert_eq!(waited, "waited");
        assert_eq!(slots.available_permits(), 0, "the first holds its slot again");
        drop(first);
        assert_eq!(slots.available_permits(), 1);
    }

    #[test]
    fn retry_backoff_follows_upstream_defaults_and_the_app_settings() {
        assert_eq!(retry_delay(None, 0), Duration::from_secs(5));
        assert_eq!(retry_delay(None, 2), Duration::from_secs(20));
        assert_eq!(retry_delay(None, 10), Duration::from_secs(180));
        let b = Backoff {
            duration: Some("1s".into()),
            factor: Some(3),
            max_duration: Some("10".into()),
            ..Default::default()
        };
        assert_eq!(retry_delay(Some(&b), 1), Duration::from_secs(3));
        assert_eq!(retry_delay(Some(&b), 3), Duration::from_secs(10));
    }

    #[test]
    fn a_new_state_replaces_every_field_of_the_previous_one() {
        let state = OperationState {
            phase: Some("Running".into()),
            sync_result: Some(SyncOperationResult { revision: Some("abc".into()), ..Default::default() }),
            ..Default::default()
        };
        let patch = replacing(&state);
        assert_eq!(patch["phase"], "Running");
        assert!(patch["finishedAt"].is_null() && patch.get("finishedAt").is_some());
        assert!(patch["syncResult"]["source"].is_null() && patch["syncResult"].get("source").is_some());
        let old = json!({"phase": "Failed", "finishedAt": "t", "retryCount": 3,
            "syncResult": {"revision": "old", "source": {"path": "x"}}});
        let merged = tiphys_patch::apply_merge_patch(&old, &patch);
        assert_eq!(merged, json!({"phase": "Running", "syncResult": {"revision": "abc"}}));
    }

    #[test]
    fn retries_are_limited_unless_the_limit_is_negative() {
        let op = |limit: Option<i64>| Operation {
            retry: limit
                .map(|l| tiphys_model::application::RetryStrategy { limit: Some(l), ..Default::default() }),
            ..Default::default()
        };
        assert!(!may_retry(&op(None), 0));
        assert!(may_retry(&op(Some(2)), 1));
        assert!(!may_retry(&op(Some(2)), 2));
        assert!(may_retry(&op(Some(-1)), 100));
    }
}
