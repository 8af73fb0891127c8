//! The sync operation as a sans-IO state machine: [`Operation::step`] takes what the executor
//! observed since the last step and returns the next commands. It never talks to a cluster;
//! the L2 executor applies, deletes and watches health, then calls `step` again.
//!
//! Rules (upstream's sync loop): one (phase, wave) step runs at a time; the next starts only
//! when every task of the current one completed — hooks must finish, and in a multi-step plan
//! resources must become healthy. A failed task fails the operation after the SyncFail hooks
//! ran. Hooks with `HookSucceeded`/`HookFailed` are deleted when the operation ends.

use serde::{Deserialize, Serialize};

use crate::hooks::HookDeletePolicy;
use crate::plan::{Action, SyncPhase, SyncPlan};

/// What the executor saw for one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Observed {
    /// The apply (or create, or dry run) succeeded.
    Applied,
    /// The apply failed; the message says why.
    ApplyFailed(String),
    /// The object is Healthy (or has no health check).
    Healthy,
    /// The object is Progressing or Suspended.
    Progressing,
    /// The object is Degraded (a failed hook Job, a crash-looping Deployment).
    Degraded(String),
    /// The object is gone (prune finished).
    Deleted,
    /// The task cannot run against this cluster at all (its kind is not served and nothing
    /// in the sync creates it): upstream's "not valid" tasks. Seen in the dry run, it stops the
    /// operation before anything is written.
    Invalid(String),
}

/// Where a task is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskState {
    /// Not started.
    Pending,
    /// Started, not complete.
    Running,
    /// Complete and successful.
    Succeeded,
    /// Complete and failed.
    Failed(String),
}

/// What the executor must do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Dry-run these tasks (client-side, once per operation).
    DryRun(Vec<usize>),
    /// Delete the existing hook object first (`BeforeHookCreation`).
    DeleteBeforeCreation(usize),
    /// Apply the task's target.
    Apply(usize),
    /// Delete the task's live object (prune).
    Prune(usize),
    /// Create the destination namespace.
    CreateNamespace(usize),
    /// Delete a finished hook (its delete policy asks for it).
    DeleteHook(usize),
    /// Nothing to do until more is observed.
    Wait,
    /// The operation is over.
    Finish {
        /// Whether it succeeded.
        succeeded: bool,
        /// A human-readable summary.
        message: String,
    },
}

/// Where the operation is: the whole set is dry-run once before anything is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Stage {
    /// Nothing sent yet.
    Start,
    /// The dry run was requested; the next observations are its results.
    DryRunSent,
    /// Applying step by step.
    Running,
}

/// A running sync operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    plan: SyncPlan,
    states: Vec<TaskState>,
    stage: Stage,
    sync_fail_started: bool,
    finished: bool,
    /// Tasks whose write was refused (as opposed to tasks that ran and ended unsuccessfully):
    /// upstream words the two failures differently.
    #[serde(default)]
    apply_failed: Vec<usize>,
}

impl Operation {
    /// Starts an operation for a plan; tasks that only record a skipped prune are done at once.
    pub fn new(plan: SyncPlan) -> Self {
        let states = plan
            .tasks
            .iter()
            .map(|t| match t.action {
                Action::PruneSkipped { .. } | Action::DeleteSkipped => TaskState::Succeeded,
                _ => TaskState::Pending,
            })
            .collect();
        Self {
            plan,
            states,
            stage: Stage::Start,
            sync_fail_started: false,
            finished: false,
            apply_failed: vec![],
        }
    }

    /// Continues an operation a previous process started: `known` holds the states recorded
    /// then (task index, state). As upstream does once any result exists, the dry run is not
    /// repeated; `Running` tasks are watched again, `Pending` ones run when their step comes.
    /// `apply_failed` names the failed tasks whose write was refused.
    pub fn resume(plan: SyncPlan, known: &[(usize, TaskState)], apply_failed: &[usize]) -> Self {
        let mut op = Self::new(plan);
        for (i, state) in known {
            if let Some(slot) = op.states.get_mut(*i) {
                *slot = state.clone();
            }
        }
        // A resource whose step does not wait for health was done once applied.
        for i in 0..op.states.len() {
            let task = &op.plan.tasks[i];
            let gated = task.hook.is_some() || (op.plan.multi_step && !op.in_final_plain_step(i));
            if op.states[i] == TaskState::Running && !gated && matches!(task.action, Action::Apply { .. }) {
                op.states[i] = TaskState::Succeeded;
            }
        }
        op.apply_failed = apply_failed.iter().copied().filter(|i| *i < op.states.len()).collect();
        op.stage = Stage::Running;
        op.sync_fail_started = op
            .plan
            .tasks
            .iter()
            .zip(&op.states)
            .any(|(t, s)| t.phase == SyncPhase::SyncFail && *s != TaskState::Pending);
        op
    }

    /// Stops the operation (upstream's terminate): nothing else is started, running tasks are
    /// marked failed, and later steps return no commands. Deleting running hooks is the
    /// executor's part.
    pub fn terminate(&mut self) {
        for state in &mut self.states {
            if *state == TaskState::Running {
                *state = TaskState::Failed("terminated".into());
            }
        }
        self.finished = true;
    }

    /// Whether the operation is over (finished, failed or terminated).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether this task's step is the last one and holds no hook: upstream considers the sync
    /// done once such a step is applied, without waiting for the resources to become healthy.
    fn in_final_plain_step(&self, index: usize) -> bool {
        let Some(task) = self.plan.tasks.get(index) else { return false };
        let step = (task.phase, task.wave);
        let regular = |t: &&crate::plan::Task| t.phase != SyncPhase::SyncFail;
        // Tasks are in execution order, so the last regular task is in the last step.
        let last = self.plan.tasks.iter().rfind(regular).map(|t| (t.phase, t.wave));
        last == Some(step)
            && !self.plan.tasks.iter().filter(regular).any(|t| (t.phase, t.wave) == step && t.hook.is_some())
    }

    /// The plan being executed.
    pub fn plan(&self) -> &SyncPlan {
        &self.plan
    }

    /// Every task's state, in plan order.
    pub fn states(&self) -> &[TaskState] {
        &self.states
    }

    fn record(&mut self, index: usize, observed: &Observed) {
        let Some(task) = self.plan.tasks.get(index) else { return };
        let gated = task.hook.is_some() || (self.plan.multi_step && !self.in_final_plain_step(index));
        if matches!(observed, Observed::ApplyFailed(_) | Observed::Invalid(_))
            && !self.apply_failed.contains(&index)
        {
            self.apply_failed.push(index);
        }
        let state = match observed {
            Observed::ApplyFailed(m) | Observed::Degraded(m) | Observed::Invalid(m) => {
                TaskState::Failed(m.clone())
            }
            Observed::Applied if gated && matches!(task.action, Action::Apply { .. }) => TaskState::Running,
            Observed::Applied | Observed::Healthy | Observed::Deleted => TaskState::Succeeded,
            Observed::Progressing => TaskState::Running,
        };
        if let Some(s) = self.states.get_mut(index) {
            *s = state;
        }
    }

    fn hook_deletions(&self, failed: bool) -> Vec<Command> {
        let wanted = if failed { HookDeletePolicy::HookFailed } else { HookDeletePolicy::HookSucceeded };
        self.plan
            .tasks
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                t.hook.as_ref().is_some_and(|h| h.delete_policies.contains(&wanted))
                    && self.states[*i] != TaskState::Pending
            })
            .map(|(i, _)| Command::DeleteHook(i))
            .collect()
    }

    fn finish(&mut self, succeeded: bool, message: String) -> Vec<Command> {
        self.finished = true;
        let mut out = self.hook_deletions(!succeeded);
        out.push(Command::Finish { succeeded, message });
        out
    }

    fn start(&mut self, index: usize) -> Vec<Command> {
        let task = &self.plan.tasks[index];
        let mut out = Vec::new();
        let before_creation = task
            .hook
            .as_ref()
            .is_some_and(|h| h.delete_policies.contains(&HookDeletePolicy::BeforeHookCreation));
        match task.action {
            Action::Apply { .. } => {
                if before_creation && task.live_exists {
                    out.push(Command::DeleteBeforeCreation(index));
                }
                out.push(Command::Apply(index));
            }
            Action::Prune { .. } | Action::Delete { .. } => out.push(Command::Prune(index)),
            Action::CreateNamespace => out.push(Command::CreateNamespace(index)),
            Action::PruneSkipped { .. } | Action::DeleteSkipped => {}
        }
        self.states[index] = TaskState::Running;
        out
    }

    /// Records observations (task index, what was seen) and returns the next commands.
    pub fn step(&mut self, observed: &[(usize, Observed)]) -> Vec<Command> {
        if self.finished {
            return vec![];
        }
        match self.stage {
            Stage::Start => {
                self.stage = Stage::DryRunSent;
                let all = (0..self.plan.tasks.len())
                    .filter(|i| self.plan.tasks[*i].phase != SyncPhase::SyncFail)
                    .collect();
                return vec![Command::DryRun(all)];
            }
            Stage::DryRunSent => {
                self.stage = Stage::Running;
                // Tasks the cluster cannot run at all first (upstream checks them before its dry
                // run), then refused dry-run writes. Upstream stops here without SyncFail hooks:
                // nothing was written.
                type Pick = fn(&Observed) -> Option<&String>;
                let checks: [(Pick, &str); 2] = [
                    (
                        |o| if let Observed::Invalid(m) = o { Some(m) } else { None },
                        "one or more synchronization tasks are not valid",
                    ),
                    (
                        |o| if let Observed::ApplyFailed(m) = o { Some(m) } else { None },
                        "one or more objects failed to apply (dry run)",
                    ),
                ];
                for (pick, what) in checks {
                    let reasons: Vec<&str> =
                        observed.iter().filter_map(|(_, o)| pick(o)).map(String::as_str).collect();
                    if !reasons.is_empty() {
                        return self.finish(false, format!("{what}, reason: {}", reasons.join(",")));
                    }
                }
                if self.plan.dry_run {
                    // Upstream walks the steps in dry-run mode and ends with the usual message.
                    return self.finish(true, "successfully synced (all tasks run)".into());
                }
            }
            Stage::Running => {
                for (i, o) in observed {
                    self.record(*i, o);
                }
            }
        }
        let is_fail_hook = |i: usize| self.plan.tasks[i].phase == SyncPhase::SyncFail;
        let failed: Vec<usize> = (0..self.states.len())
            .filter(|i| !is_fail_hook(*i) && matches!(self.states[*i], TaskState::Failed(_)))
            .collect();
        if !failed.is_empty() {
            let message = self.failure_message(&failed);
            return self.fail(message);
        }
        if self.states.iter().enumerate().any(|(i, s)| !is_fail_hook(i) && *s == TaskState::Running) {
            return vec![Command::Wait];
        }
        let next = (0..self.states.len())
            .filter(|i| !is_fail_hook(*i) && self.states[*i] == TaskState::Pending)
            .map(|i| (self.plan.tasks[i].phase, self.plan.tasks[i].wave))
            .next();
        match next {
            None => {
                // Upstream's two success messages: the last step was applied and nothing else
                // remained ("all tasks run"), or a later check found nothing left to do (after
                // hooks completed, or for an empty plan: "no more tasks").
                let last = self.plan.tasks.iter().rposition(|t| t.phase != SyncPhase::SyncFail);
                let message = if last.is_some_and(|i| self.in_final_plain_step(i)) {
                    "successfully synced (all tasks run)"
                } else {
                    "successfully synced (no more tasks)"
                };
                self.finish(true, message.into())
            }
            Some(step) => {
                let indexes: Vec<usize> = (0..self.states.len())
                    .filter(|i| {
                        self.states[*i] == TaskState::Pending
                            && (self.plan.tasks[*i].phase, self.plan.tasks[*i].wave) == step
                    })
                    .collect();
                indexes.into_iter().flat_map(|i| self.start(i)).collect()
            }
        }
    }

    /// Upstream's wording: refused writes are "failed to apply" with the API's messages (which
    /// name the object); tasks that ran and ended badly (a failed hook Job, a Degraded
    /// resource) "completed unsuccessfully", here with the object named.
    fn failure_message(&self, failed: &[usize]) -> String {
        let reason = |i: &usize| match &self.states[*i] {
            TaskState::Failed(m) if self.apply_failed.contains(i) => m.clone(),
            TaskState::Failed(m) => format!("{}: {m}", self.plan.tasks[*i].key),
            _ => String::new(),
        };
        let refused: Vec<String> =
            failed.iter().filter(|i| self.apply_failed.contains(i)).map(reason).collect();
        if !refused.is_empty() {
            return format!("one or more objects failed to apply, reason: {}", refused.join(","));
        }
        let ended: Vec<String> = failed.iter().map(reason).collect();
        format!("one or more synchronization tasks completed unsuccessfully, reason: {}", ended.join(","))
    }

    fn fail(&mut self, message: String) -> Vec<Command> {
        let fail_hooks: Vec<usize> =
            (0..self.states.len()).filter(|i| self.plan.tasks[*i].phase == SyncPhase::SyncFail).collect();
        if fail_hooks.is_empty() {
            return self.finish(false, message);
        }
        if !self.sync_fail_started {
            self.sync_fail_started = true;
            return fail_hooks.into_iter().flat_map(|i| self.start(i)).collect();
        }
        let states: Vec<&TaskState> = fail_hooks.iter().map(|i| &self.states[*i]).collect();
        if states.iter().any(|s| **s == TaskState::Running || **s == TaskState::Pending) {
            return vec![Command::Wait];
        }
        if states.iter().any(|s| matches!(s, TaskState::Failed(_))) {
            return self.finish(false, format!("{message}\none or more SyncFail hooks failed"));
        }
        self.finish(false, message)
    }
}
