//! [`Execution`]: one sync operation, driven step by step.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tiphys_kube::{Deletion, Error};
use tiphys_model::application::ResourceResult;
use tiphys_sync::hooks::HookDeletePolicy;
use tiphys_sync::plan::{Action, Task};
use tiphys_sync::{Command, Observed, Operation, SyncPlan, TaskState};

use crate::commands::{propagation, version_of, with_hook_finalizer};
use crate::record::{ObjectId, Phase, Records, ResultCode, restore};
use crate::{ExecutionContext, Executor};

/// What [`Execution::advance`] achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Waiting on hooks, health or deletions: call `advance` again after `retry_after`.
    Running {
        /// A hint: how long nothing is expected to change (zero when the call only ran out of
        /// its time budget).
        retry_after: Duration,
    },
    /// The operation is over.
    Finished {
        /// Whether it succeeded (`operationState.phase` Succeeded, else Failed).
        succeeded: bool,
        /// Upstream's message ("successfully synced (all tasks run)", "one or more objects
        /// failed to apply, reason: ...").
        message: String,
    },
}

/// When things happened, for metrics and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timings {
    /// From [`Execution::new`] to the first write of the operation (after the dry run).
    pub first_write: Option<Duration>,
    /// From [`Execution::new`] to the end of the operation.
    pub finished: Option<Duration>,
}

/// One sync operation against a cluster: the plan, where each task is, and each task's
/// result. Build it with [`Execution::new`], call [`Execution::advance`] until it returns
/// [`Progress::Finished`], persisting [`Execution::results`] and [`Execution::message`] after
/// every call.
#[derive(Debug)]
pub struct Execution {
    op: Operation,
    ctx: ExecutionContext,
    records: Records,
    queue: VecDeque<Command>,
    observed: Vec<(usize, Observed)>,
    outcome: Option<(bool, String)>,
    created: Instant,
    timings: Timings,
    /// Health is not read before this instant (the wave delay after applying a step).
    quiet_until: Option<Instant>,
    /// Hooks deleted before re-creation whose deletion was requested.
    deleting: HashSet<usize>,
    namespace_done: bool,
}

impl Execution {
    /// Starts (or, with `previous`, resumes) an operation. `previous` is the
    /// `operationState.syncResult.resources` persisted before a restart: tasks it shows as
    /// completed (hooks Succeeded/Failed, resources applied in a finished step, prunes done)
    /// are not redone, running ones are watched again, and the dry run is not repeated. The
    /// plan must be the same one (same revision and operation start time, so generated hook
    /// names match).
    pub fn new(plan: SyncPlan, ctx: ExecutionContext, previous: Option<&[ResourceResult]>) -> Self {
        let (op, records) = match previous.filter(|p| !p.is_empty()) {
            Some(previous) => {
                let restored = restore(&plan, previous);
                (Operation::resume(plan, &restored.states, &restored.apply_failed), restored.records)
            }
            None => {
                let tasks = plan.tasks.len();
                (Operation::new(plan), Records::new(tasks))
            }
        };
        let namespace_done = !ctx.create_namespace
            || ctx.namespace.is_empty()
            || ctx.managed_namespace_metadata.is_none()
            || op.plan().tasks.iter().any(|t| t.action == Action::CreateNamespace);
        Execution {
            op,
            ctx,
            records,
            queue: VecDeque::new(),
            observed: Vec::new(),
            outcome: None,
            created: Instant::now(),
            timings: Timings::default(),
            quiet_until: None,
            deleting: HashSet::new(),
            namespace_done,
        }
    }

    /// The operation state machine (plan and task states).
    pub fn operation(&self) -> &Operation {
        &self.op
    }

    /// When the first write and the end happened.
    pub fn timings(&self) -> Timings {
        self.timings
    }

    /// The outcome once the operation is over: (succeeded, message).
    pub fn outcome(&self) -> Option<(bool, &str)> {
        self.outcome.as_ref().map(|(s, m)| (*s, m.as_str()))
    }

    /// Per-task results in upstream's shape, in the order the tasks got them.
    pub fn results(&self) -> Vec<ResourceResult> {
        self.records.results(self.op.plan(), &self.ctx.desired)
    }

    /// `operationState.message`: the outcome once over, else what the operation waits for
    /// ("waiting for completion of hook batch/Job/before", "waiting for healthy state of
    /// apps/Deployment/web and 2 more resources", "waiting for deletion of ...").
    pub fn message(&self) -> String {
        if let Some((_, message)) = &self.outcome {
            return message.clone();
        }
        let plan = self.op.plan();
        let running: Vec<&Task> = self
            .op
            .states()
            .iter()
            .zip(&plan.tasks)
            .filter(|(s, _)| **s == TaskState::Running)
            .map(|(_, t)| t)
            .collect();
        let hooks: Vec<&&Task> = running.iter().filter(|t| t.hook.is_some()).collect();
        let deletions: Vec<&&Task> = running
            .iter()
            .filter(|t| matches!(t.action, Action::Prune { .. } | Action::Delete { .. }))
            .collect();
        let (what, tasks, more): (&str, Vec<&&Task>, &str) = if !hooks.is_empty() {
            ("completion of hook", hooks, "hooks")
        } else if !deletions.is_empty() {
            ("deletion of", deletions, "resources")
        } else {
            ("healthy state of", running.iter().collect(), "resources")
        };
        match tasks.first() {
            None => "one or more tasks are running".into(),
            Some(first) => {
                let mut message =
                    format!("waiting for {what} {}/{}/{}", first.key.group, first.key.kind, first.key.name);
                if tasks.len() > 1 {
                    message.push_str(&format!(" and {} more {more}", tasks.len() - 1));
                }
                message
            }
        }
    }

    /// Runs commands until the operation has to wait (hooks running, a step not yet healthy,
    /// an object still being deleted) or is over, or the executor's step budget is used up.
    /// Errors from the cluster become task results; nothing here panics on cluster data.
    pub async fn advance(&mut self, exec: &Executor) -> Progress {
        let deadline = Instant::now() + exec.config.step_budget;
        loop {
            if let Some((succeeded, message)) = &self.outcome {
                return Progress::Finished { succeeded: *succeeded, message: message.clone() };
            }
            if let Some(wait) = self.drain(exec, deadline).await {
                return Progress::Running { retry_after: wait };
            }
            if self.outcome.is_some() {
                continue;
            }
            let observed = std::mem::take(&mut self.observed);
            let commands = self.op.step(&observed);
            if commands.is_empty() {
                // Only a finished (or terminated) operation answers nothing.
                self.finish(false, "the operation ended without an outcome".into());
                continue;
            }
            if commands != [Command::Wait] {
                self.queue.extend(commands);
                continue;
            }
            let now = Instant::now();
            if let Some(until) = self.quiet_until.filter(|u| *u > now) {
                return Progress::Running { retry_after: until - now };
            }
            self.poll(exec).await;
            if self.observed.is_empty() {
                return Progress::Running { retry_after: exec.config.poll_interval };
            }
            if Instant::now() >= deadline {
                return Progress::Running { retry_after: Duration::ZERO };
            }
        }
    }

    /// Stops the operation as upstream's terminate does: running hooks lose their finalizer
    /// and are deleted, nothing else starts, and the operation fails with "Operation
    /// terminated" ("Operation termination had errors" when a hook could not be deleted).
    pub async fn terminate(&mut self, exec: &Executor) {
        if self.outcome.is_some() {
            return;
        }
        let running: Vec<usize> = (0..self.op.plan().tasks.len())
            .filter(|i| self.op.plan().tasks[*i].hook.is_some() && self.op.states()[*i] == TaskState::Running)
            .collect();
        let mut clean = true;
        for i in running {
            // Upstream clears the status of a hook it judged, and so does this.
            let key = self.op.plan().tasks[i].key.clone();
            match exec.delete_hook(&key).await {
                Ok(_) | Err(Error::NotFound { .. }) => {
                    self.set(exec, i, None, Some(Phase::Failed), "Deleted (operation terminated)")
                }
                Err(e) => {
                    clean = false;
                    self.set(exec, i, None, Some(Phase::Error), &format!("Failed to delete: {e}"));
                }
            }
        }
        self.op.terminate();
        self.queue.clear();
        let message = if clean { "Operation terminated" } else { "Operation termination had errors" };
        self.finish(false, message.into());
    }

    fn finish(&mut self, succeeded: bool, message: String) {
        if succeeded {
            // Skipped prunes of steps that never had commands still get their result.
            for i in 0..self.op.plan().tasks.len() {
                if !self.records.has(i) {
                    self.record_skipped(i);
                }
            }
        }
        self.timings.finished = Some(self.created.elapsed());
        self.outcome = Some((succeeded, message));
    }

    fn set(
        &mut self,
        exec: &Executor,
        index: usize,
        status: Option<ResultCode>,
        phase: Option<Phase>,
        message: &str,
    ) {
        let Some(task) = self.op.plan().tasks.get(index) else { return };
        let namespaced = exec.cluster.catalog().resolve(&task.key.group_kind()).map(|r| r.namespaced);
        let version = task
            .desired_index
            .and_then(|d| self.ctx.desired.get(d))
            .and_then(version_of)
            .or_else(|| exec.cluster.catalog().resolve(&task.key.group_kind()).map(|r| r.version.clone()))
            .or_else(|| (task.action == Action::CreateNamespace).then(|| "v1".to_string()));
        let namespace = match namespaced {
            Some(false) => String::new(),
            _ => task.key.namespace.clone(),
        };
        let id = ObjectId { version, namespace: Some(namespace) };
        self.records.set(index, id, status, phase, message);
    }

    fn record_skipped(&mut self, index: usize) {
        let Some(task) = self.op.plan().tasks.get(index) else { return };
        if let Action::PruneSkipped { reason } = &task.action {
            let reason = reason.clone();
            let version = None;
            let namespace = Some(task.key.namespace.clone());
            self.records.set(
                index,
                ObjectId { version, namespace },
                Some(ResultCode::PruneSkipped),
                Some(Phase::Succeeded),
                &reason,
            );
        }
    }

    /// Runs queued commands; `Some(wait)` when one of them has to wait (it stays queued).
    async fn drain(&mut self, exec: &Executor, deadline: Instant) -> Option<Duration> {
        while let Some(command) = self.queue.pop_front() {
            match command {
                Command::DryRun(tasks) => self.dry_run(exec, &tasks).await,
                Command::Apply(i) => {
                    let mut batch = vec![i];
                    let kind = &self.op.plan().tasks[i].key.kind;
                    while let Some(Command::Apply(next)) = self.queue.front() {
                        if self.op.plan().tasks[*next].key.kind != *kind {
                            break;
                        }
                        batch.push(*next);
                        self.queue.pop_front();
                    }
                    if !self.prepare_namespace(exec).await {
                        return None;
                    }
                    self.apply(exec, &batch).await;
                }
                Command::DeleteBeforeCreation(i) => {
                    if self.timings.first_write.is_none() {
                        self.timings.first_write = Some(self.created.elapsed());
                    }
                    if let Some(wait) = self.delete_before_creation(exec, i).await {
                        self.queue.push_front(Command::DeleteBeforeCreation(i));
                        return Some(wait);
                    }
                }
                Command::Prune(i) => {
                    if !self.prepare_namespace(exec).await {
                        return None;
                    }
                    self.prune(exec, i).await;
                }
                Command::CreateNamespace(i) => self.create_namespace(exec, i).await,
                Command::DeleteHook(i) => self.delete_finished_hook(exec, i).await,
                Command::Wait => {}
                Command::Finish { succeeded, message } => {
                    self.finish(succeeded, message);
                    self.queue.clear();
                    return None;
                }
            }
            if Instant::now() >= deadline && !self.queue.is_empty() {
                return Some(Duration::ZERO);
            }
        }
        None
    }

    /// Before the first write: the managed metadata of an existing destination namespace.
    /// `false` when that failed (the operation is then over).
    async fn prepare_namespace(&mut self, exec: &Executor) -> bool {
        if self.timings.first_write.is_none() {
            self.timings.first_write = Some(self.created.elapsed());
        }
        if self.namespace_done {
            return true;
        }
        self.namespace_done = true;
        match exec.apply_namespace(&self.ctx, false).await {
            Ok(_) => true,
            Err(message) => {
                self.op.terminate();
                self.queue.clear();
                self.finish(false, message);
                false
            }
        }
    }

    async fn dry_run(&mut self, exec: &Executor, tasks: &[usize]) {
        let plan = self.op.plan();
        let creates_namespace: HashSet<String> = plan
            .tasks
            .iter()
            .filter(|t| {
                !t.live_exists
                    && (t.action == Action::CreateNamespace
                        || (t.key.group.is_empty() && t.key.kind == "Namespace"))
            })
            .map(|t| t.key.name.clone())
            .collect();
        let crd_kinds: HashSet<(String, String)> = self
            .ctx
            .desired
            .iter()
            .filter(|d| d.get("kind").and_then(|k| k.as_str()) == Some("CustomResourceDefinition"))
            .filter_map(|d| {
                let group = d.pointer("/spec/group")?.as_str()?;
                let kind = d.pointer("/spec/names/kind")?.as_str()?;
                Some((group.to_string(), kind.to_string()))
            })
            .collect();
        let ctx = &self.ctx;
        let dry_run_only = plan.dry_run;
        let checks = tasks.iter().copied().map(|i| {
            let task = &plan.tasks[i];
            let creates_namespace = &creates_namespace;
            let crd_kinds = &crd_kinds;
            async move {
                let Action::Apply { strategy, force, skip_dry_run, .. } = task.action else {
                    return (i, Ok(String::new()));
                };
                let recreated = task.live_exists
                    && task
                        .hook
                        .as_ref()
                        .is_some_and(|h| h.delete_policies.contains(&HookDeletePolicy::BeforeHookCreation));
                if skip_dry_run || recreated {
                    return (i, Ok(String::new()));
                }
                let object = match target(task, ctx) {
                    Ok(object) => object,
                    Err(message) => return (i, Err(Observed::ApplyFailed(message))),
                };
                let outcome =
                    match exec.write_task(task, &object, (strategy, force), (true, dry_run_only)).await {
                        Ok(message) => Ok(message),
                        // The CRD comes with this sync, or the user said the kind may be missing.
                        Err(Error::UnknownKind { .. })
                            if crd_kinds.contains(&(task.key.group.clone(), task.key.kind.clone())) =>
                        {
                            Ok(String::new())
                        }
                        // The namespace comes with this sync.
                        Err(Error::NotFound { .. }) if creates_namespace.contains(&task.key.namespace) => {
                            Ok(String::new())
                        }
                        // `Force=true` re-creates what cannot be updated.
                        Err(Error::Invalid { .. }) if force => Ok(String::new()),
                        Err(e @ Error::UnknownKind { .. }) => {
                            Err(Observed::Invalid(format!("{}: {e}", task.key)))
                        }
                        Err(e) => Err(Observed::ApplyFailed(e.to_string())),
                    };
                (i, outcome)
            }
        });
        let outcomes: Vec<(usize, Result<String, Observed>)> =
            futures::stream::iter(checks).buffered(exec.config.concurrency.max(1)).collect().await;
        for (i, outcome) in outcomes {
            match outcome {
                Ok(message) => {
                    if dry_run_only && !message.is_empty() {
                        self.set(exec, i, Some(ResultCode::Synced), Some(Phase::Succeeded), &message);
                    }
                    self.observed.push((i, Observed::Applied));
                }
                Err(refused) => {
                    if let Observed::Invalid(message) | Observed::ApplyFailed(message) = &refused {
                        self.set(exec, i, Some(ResultCode::SyncFailed), None, message);
                    }
                    self.observed.push((i, refused));
                }
            }
        }
    }

    async fn apply(&mut self, exec: &Executor, batch: &[usize]) {
        let plan = self.op.plan();
        let ctx = &self.ctx;
        let writes = batch.iter().copied().map(|i| {
            let task = &plan.tasks[i];
            async move {
                let Action::Apply { strategy, force, .. } = task.action else {
                    return (i, Err(format!("{}: not an apply task", task.key)));
                };
                let mut object = match target(task, ctx) {
                    Ok(object) => object,
                    Err(message) => return (i, Err(message)),
                };
                if task.hook.is_some() {
                    with_hook_finalizer(&mut object);
                }
                let outcome = exec
                    .write_task(task, &object, (strategy, force), (false, true))
                    .await
                    .map_err(|e| e.to_string());
                (i, outcome)
            }
        });
        let outcomes: Vec<(usize, Result<String, String>)> =
            futures::stream::iter(writes).buffered(exec.config.concurrency.max(1)).collect().await;
        for (i, outcome) in outcomes {
            self.record_step_skips(i);
            match outcome {
                Ok(message) => {
                    tracing::info!(app = %self.ctx.app_name, resource = %self.op.plan().tasks[i].key, %message, "applied");
                    self.set(exec, i, Some(ResultCode::Synced), Some(Phase::Running), &message);
                    self.observed.push((i, Observed::Applied));
                }
                Err(message) => {
                    tracing::info!(app = %self.ctx.app_name, resource = %self.op.plan().tasks[i].key, %message, "apply failed");
                    self.set(exec, i, Some(ResultCode::SyncFailed), Some(Phase::Failed), &message);
                    self.observed.push((i, Observed::ApplyFailed(message)));
                }
            }
        }
        self.quiet_until = Some(Instant::now() + exec.config.wave_delay);
    }

    /// Skipped prunes get their result when their step runs, as upstream records them.
    fn record_step_skips(&mut self, index: usize) {
        let Some(task) = self.op.plan().tasks.get(index) else { return };
        let step = (task.phase, task.wave);
        let skipped: Vec<usize> = (0..self.op.plan().tasks.len())
            .filter(|j| {
                let t = &self.op.plan().tasks[*j];
                (t.phase, t.wave) == step
                    && matches!(t.action, Action::PruneSkipped { .. })
                    && !self.records.has(*j)
            })
            .collect();
        for j in skipped {
            self.record_skipped(j);
        }
    }

    async fn delete_before_creation(&mut self, exec: &Executor, index: usize) -> Option<Duration> {
        let key = self.op.plan().tasks[index].key.clone();
        if self.deleting.insert(index)
            && let Err(e) = exec.delete_hook(&key).await
        {
            let message = format!("failed to delete resource: {e}");
            self.set(exec, index, None, Some(Phase::Error), &message);
            self.queue.retain(|c| *c != Command::Apply(index));
            self.observed.push((index, Observed::ApplyFailed(message)));
            return None;
        }
        match exec.cluster.get(&key).await {
            Ok(None) => None,
            Ok(Some(_)) => Some(exec.config.poll_interval.min(Duration::from_millis(50))),
            Err(e) => {
                tracing::debug!(resource = %key, error = %e, "reading a hook being deleted failed; retrying later");
                Some(exec.config.poll_interval)
            }
        }
    }

    async fn prune(&mut self, exec: &Executor, index: usize) {
        let task = &self.op.plan().tasks[index];
        let key = task.key.clone();
        let policy = match &task.action {
            Action::Prune { propagation_policy } | Action::Delete { propagation_policy } => {
                propagation(propagation_policy)
            }
            _ => return,
        };
        self.record_step_skips(index);
        match exec.cluster.delete(&key, policy, false).await {
            Ok(Deletion::Gone | Deletion::NotFound) => {
                self.set(exec, index, Some(ResultCode::Pruned), Some(Phase::Succeeded), "pruned");
                self.observed.push((index, Observed::Deleted));
            }
            // Still held by finalizers or dependents: the poll reports it once it is gone.
            Ok(Deletion::Pending(_)) => {
                self.set(exec, index, Some(ResultCode::Pruned), Some(Phase::Succeeded), "pruned");
            }
            Err(e) => {
                let message = e.to_string();
                self.set(exec, index, Some(ResultCode::SyncFailed), Some(Phase::Failed), &message);
                self.observed.push((index, Observed::ApplyFailed(message)));
            }
        }
    }

    async fn create_namespace(&mut self, exec: &Executor, index: usize) {
        if self.timings.first_write.is_none() {
            self.timings.first_write = Some(self.created.elapsed());
        }
        self.namespace_done = true;
        match exec.apply_namespace(&self.ctx, false).await {
            Ok(message) => {
                self.set(exec, index, Some(ResultCode::Synced), Some(Phase::Running), &message);
                self.observed.push((index, Observed::Applied));
            }
            Err(message) => {
                self.set(exec, index, Some(ResultCode::SyncFailed), Some(Phase::Failed), &message);
                self.observed.push((index, Observed::ApplyFailed(message)));
            }
        }
    }

    async fn delete_finished_hook(&mut self, exec: &Executor, index: usize) {
        let key = self.op.plan().tasks[index].key.clone();
        if let Err(e) = exec.delete_hook(&key).await {
            let status = self.records.status(index);
            self.set(exec, index, status, Some(Phase::Error), &format!("failed to delete resource: {e}"));
        }
    }

    /// Reads back every running task and records what changed.
    async fn poll(&mut self, exec: &Executor) {
        let plan = self.op.plan();
        let running: Vec<usize> =
            (0..plan.tasks.len()).filter(|i| self.op.states()[*i] == TaskState::Running).collect();
        let reads = running.iter().copied().map(|i| {
            let task = &plan.tasks[i];
            async move {
                let seen = match task.action {
                    Action::Apply { .. } => exec.observe_apply(task).await,
                    Action::Prune { .. } | Action::Delete { .. } => match exec.cluster.get(&task.key).await {
                        Ok(None) => Some((Observed::Deleted, String::new())),
                        _ => None,
                    },
                    _ => Some((Observed::Applied, String::new())),
                };
                if task.hook.is_some()
                    && matches!(seen, Some((Observed::Healthy | Observed::Degraded(_), _)))
                    && let Err(e) = exec.remove_hook_finalizer(&task.key).await
                {
                    tracing::warn!(resource = %task.key, error = %e, "could not remove the hook finalizer");
                }
                (i, seen)
            }
        });
        let seen: Vec<(usize, Option<(Observed, String)>)> =
            futures::stream::iter(reads).buffered(exec.config.concurrency.max(1)).collect().await;
        for (i, seen) in seen {
            let Some((observed, message)) = seen else { continue };
            let hook = self.op.plan().tasks[i].hook.is_some();
            let status = if hook { None } else { self.records.status(i) };
            match &observed {
                Observed::Healthy => self.set(exec, i, status, Some(Phase::Succeeded), &message),
                Observed::Degraded(_) => self.set(exec, i, status, Some(Phase::Failed), &message),
                _ => {}
            }
            self.observed.push((i, observed));
        }
    }
}

/// The object a task writes; an error names the task when the context lacks it (a plan built
/// from other desired objects than the context's).
fn target(task: &Task, ctx: &ExecutionContext) -> Result<serde_json::Value, String> {
    task.target(&ctx.desired)
        .ok_or_else(|| format!("{}: the desired object is missing from the execution context", task.key))
}
