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
        Self { plan, states, stage: Stage::Start, sync_fail_started: false, finished: false }
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
        let gated = task.hook.is_some() || self.plan.multi_step;
        let state = match observed {
            Observed::ApplyFailed(m) | Observed::Degraded(m) => TaskState::Failed(m.clone()),
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
                let failures: Vec<String> = observed
                    .iter()
                    .filter_map(|(i, o)| match o {
                        Observed::ApplyFailed(m) => Some(format!(
                            "{}: {m}",
                            self.plan.tasks.get(*i).map(|t| t.key.to_string()).unwrap_or_default()
                        )),
                        _ => None,
                    })
                    .collect();
                if !failures.is_empty() {
                    return self.finish(false, format!("dry run failed: {}", failures.join("; ")));
                }
                if self.plan.dry_run {
                    return self.finish(true, "dry run succeeded".into());
                }
            }
            Stage::Running => {
                for (i, o) in observed {
                    self.record(*i, o);
                }
            }
        }
        let is_fail_hook = |i: usize| self.plan.tasks[i].phase == SyncPhase::SyncFail;
        let failures: Vec<String> = (0..self.states.len())
            .filter(|i| !is_fail_hook(*i))
            .filter_map(|i| match &self.states[i] {
                TaskState::Failed(m) => Some(format!("{}: {m}", self.plan.tasks[i].key)),
                _ => None,
            })
            .collect();
        if !failures.is_empty() {
            return self.fail(failures);
        }
        if self.states.iter().enumerate().any(|(i, s)| !is_fail_hook(i) && *s == TaskState::Running) {
            return vec![Command::Wait];
        }
        let next = (0..self.states.len())
            .filter(|i| !is_fail_hook(*i) && self.states[*i] == TaskState::Pending)
            .map(|i| (self.plan.tasks[i].phase, self.plan.tasks[i].wave))
            .next();
        match next {
            None => self.finish(true, "successfully synced (all tasks run)".into()),
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

    fn fail(&mut self, failures: Vec<String>) -> Vec<Command> {
        let message = format!("one or more objects failed: {}", failures.join("; "));
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
