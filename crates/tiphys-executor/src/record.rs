//! Per-task results in upstream's `ResourceResult` shape, and the way back: turning the
//! results a previous process persisted into task states for [`tiphys_sync::Operation::resume`].

use tiphys_model::application::ResourceResult;
use tiphys_sync::TaskState;
use tiphys_sync::plan::{Action, SyncPlan, Task};

/// `ResourceResult.status`: what happened to the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResultCode {
    Synced,
    SyncFailed,
    Pruned,
    PruneSkipped,
}

impl ResultCode {
    fn as_str(self) -> &'static str {
        match self {
            ResultCode::Synced => "Synced",
            ResultCode::SyncFailed => "SyncFailed",
            ResultCode::Pruned => "Pruned",
            ResultCode::PruneSkipped => "PruneSkipped",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "Synced" => ResultCode::Synced,
            "SyncFailed" => ResultCode::SyncFailed,
            "Pruned" => ResultCode::Pruned,
            "PruneSkipped" => ResultCode::PruneSkipped,
            _ => return None,
        })
    }
}

/// `ResourceResult.hookPhase`: where the task is (upstream fills it for every task, not only
/// hooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Running,
    Succeeded,
    Failed,
    Error,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Running => "Running",
            Phase::Succeeded => "Succeeded",
            Phase::Failed => "Failed",
            Phase::Error => "Error",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "Running" | "Terminating" => Phase::Running,
            "Succeeded" => Phase::Succeeded,
            "Failed" => Phase::Failed,
            "Error" => Phase::Error,
            _ => return None,
        })
    }
}

/// The result of one task so far.
#[derive(Debug, Clone, Default)]
struct Record {
    status: Option<ResultCode>,
    phase: Option<Phase>,
    message: String,
    version: String,
    /// Empty for cluster-scoped objects, as the API reports them.
    namespace: String,
}

/// Results of every task that has one, in the order they first got one (upstream's `Order`).
#[derive(Debug, Clone)]
pub(crate) struct Records {
    items: Vec<Option<Record>>,
    order: Vec<usize>,
}

impl Records {
    pub(crate) fn new(tasks: usize) -> Self {
        Records { items: vec![None; tasks], order: Vec::new() }
    }

    pub(crate) fn has(&self, index: usize) -> bool {
        self.items.get(index).is_some_and(Option::is_some)
    }

    pub(crate) fn status(&self, index: usize) -> Option<ResultCode> {
        self.items.get(index).and_then(Option::as_ref).and_then(|r| r.status)
    }

    /// Sets a task's result as upstream's `setResourceResult` does: status and phase are
    /// replaced, the message only when a new one is given.
    pub(crate) fn set(
        &mut self,
        index: usize,
        object: ObjectId,
        status: Option<ResultCode>,
        phase: Option<Phase>,
        message: &str,
    ) {
        let Some(slot) = self.items.get_mut(index) else { return };
        if slot.is_none() {
            self.order.push(index);
        }
        let record = slot.get_or_insert_with(Record::default);
        record.status = status;
        record.phase = phase;
        if !message.is_empty() {
            record.message = message.to_string();
        }
        if let Some(version) = object.version {
            record.version = version;
        }
        if let Some(namespace) = object.namespace {
            record.namespace = namespace;
        }
    }

    /// The results in upstream's shape.
    pub(crate) fn results(&self, plan: &SyncPlan) -> Vec<ResourceResult> {
        self.order
            .iter()
            .filter_map(|i| Some((plan.tasks.get(*i)?, self.items.get(*i)?.as_ref()?)))
            .map(|(task, r)| ResourceResult {
                group: Some(task.key.group.clone()),
                version: Some(r.version.clone()),
                kind: Some(task.key.kind.clone()),
                namespace: Some(r.namespace.clone()),
                name: Some(task.key.name.clone()),
                status: r.status.map(|s| s.as_str().to_string()),
                message: (!r.message.is_empty()).then(|| r.message.clone()),
                hook_type: task.hook.as_ref().map(|h| format!("{:?}", h.hook_type)),
                hook_phase: r.phase.map(|p| p.as_str().to_string()),
                sync_phase: Some(format!("{:?}", task.phase)),
                ..Default::default()
            })
            .collect()
    }
}

/// Version and namespace of the object a result is about, when known at the time.
#[derive(Debug, Clone, Default)]
pub(crate) struct ObjectId {
    pub(crate) version: Option<String>,
    pub(crate) namespace: Option<String>,
}

/// Whether a persisted result is about this task: same group, kind, name and sync phase, and
/// the same namespace (results of cluster-scoped objects carry none).
fn matches(result: &ResourceResult, task: &Task) -> bool {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let namespace = text(&result.namespace);
    text(&result.group) == task.key.group
        && text(&result.kind) == task.key.kind
        && text(&result.name) == task.key.name
        && result.sync_phase.as_deref().unwrap_or("Sync") == format!("{:?}", task.phase)
        && (namespace == task.key.namespace || namespace.is_empty())
}

/// What a previous process recorded, turned into task states: completed tasks are not redone,
/// running ones are watched again.
pub(crate) struct Restored {
    pub(crate) states: Vec<(usize, TaskState)>,
    pub(crate) apply_failed: Vec<usize>,
    pub(crate) records: Records,
}

pub(crate) fn restore(plan: &SyncPlan, previous: &[ResourceResult]) -> Restored {
    let mut restored =
        Restored { states: Vec::new(), apply_failed: Vec::new(), records: Records::new(plan.tasks.len()) };
    for result in previous {
        let Some(index) = plan.tasks.iter().position(|t| matches(result, t)) else { continue };
        let task = &plan.tasks[index];
        let status = result.status.as_deref().and_then(ResultCode::parse);
        let phase = result.hook_phase.as_deref().and_then(Phase::parse);
        let message = result.message.clone().unwrap_or_default();
        let state = match (status, phase) {
            (Some(ResultCode::SyncFailed), _) => {
                restored.apply_failed.push(index);
                TaskState::Failed(message.clone())
            }
            (_, Some(Phase::Failed | Phase::Error)) => TaskState::Failed(message.clone()),
            (_, Some(Phase::Succeeded)) => TaskState::Succeeded,
            (Some(ResultCode::Pruned | ResultCode::PruneSkipped), _) => TaskState::Succeeded,
            (_, Some(Phase::Running)) if matches!(task.action, Action::CreateNamespace) => {
                TaskState::Succeeded
            }
            _ => TaskState::Running,
        };
        restored.states.push((index, state));
        let id = ObjectId { version: result.version.clone(), namespace: result.namespace.clone() };
        restored.records.set(index, id, status, phase, &message);
    }
    restored
}
