//! Per-task results in upstream's `ResourceResult` shape, and the way back: turning the
//! results a previous process persisted into task states for [`tiphys_sync::Operation::resume`].

use serde_json::Value;
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

    /// The results in upstream's shape; `images` are those of each task's desired object.
    pub(crate) fn results(&self, plan: &SyncPlan, desired: &[Value]) -> Vec<ResourceResult> {
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
                images: task
                    .desired_index
                    .and_then(|i| desired.get(i))
                    .map(tiphys_resource::workload::container_images)
                    .filter(|images| !images.is_empty()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use tiphys_sync::{PlanInput, plan};

    fn lifecycle_plan() -> SyncPlan {
        let desired =
            tiphys_resource::yaml::parse_stream(include_str!("../tests/fixtures/hook-lifecycle.yaml"))
                .expect("fixture parses");
        let input = PlanInput {
            desired: &desired,
            namespace: "shop".into(),
            namespace_exists: true,
            ..Default::default()
        };
        plan(&input).expect("plan")
    }

    fn result(
        kind: &str,
        group: &str,
        name: &str,
        phase: &str,
        status: Option<&str>,
        hook: Option<&str>,
    ) -> ResourceResult {
        serde_json::from_value(json!({
            "group": group, "version": "v1", "kind": kind, "namespace": "shop", "name": name,
            "status": status, "hookPhase": hook, "syncPhase": phase, "message": "m"
        }))
        .expect("result")
    }

    #[test]
    fn persisted_results_map_back_to_task_states() {
        let plan = lifecycle_plan();
        let previous = vec![
            result("Job", "batch", "db-migrate", "PreSync", None, Some("Succeeded")),
            result("Job", "batch", "seed-data", "PreSync", Some("Synced"), Some("Running")),
            result("ConfigMap", "", "app-config", "Sync", Some("SyncFailed"), Some("Failed")),
            result("Deployment", "apps", "my-app", "Sync", Some("Synced"), Some("Failed")),
            result("Job", "batch", "db-migrate", "PostSync", None, Some("Succeeded")),
            result("Secret", "", "unknown", "Sync", Some("Synced"), Some("Succeeded")),
        ];
        let restored = restore(&plan, &previous);
        let index = |kind: &str, name: &str| {
            plan.tasks.iter().position(|t| t.key.kind == kind && t.key.name == name).expect(name)
        };
        let state = |kind: &str, name: &str| {
            restored.states.iter().find(|(i, _)| *i == index(kind, name)).map(|(_, s)| s.clone()).expect(name)
        };
        assert_eq!(state("Job", "db-migrate"), TaskState::Succeeded);
        assert_eq!(state("Job", "seed-data"), TaskState::Running, "a running hook is watched again");
        assert_eq!(state("ConfigMap", "app-config"), TaskState::Failed("m".into()));
        assert_eq!(
            restored.apply_failed,
            vec![index("ConfigMap", "app-config")],
            "only refused writes count as apply failures"
        );
        assert_eq!(state("Deployment", "my-app"), TaskState::Failed("m".into()));
        assert_eq!(restored.states.len(), 4, "results of other phases or unknown objects are ignored");
        let results = restored.records.results(&plan, &[]);
        assert_eq!(results.len(), 4);
        assert_eq!(results[0].hook_type.as_deref(), Some("PreSync"));
        assert_eq!(results[1].status.as_deref(), Some("Synced"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Hand-edited or foreign `operationState` never makes a resume panic, and every
        /// restored index is a task of the plan.
        #[test]
        fn any_persisted_results_restore_without_panicking(
            rows in proptest::collection::vec(
                (
                    proptest::option::of("[a-zA-Z/]{0,8}"),
                    proptest::option::of(prop_oneof![Just("Job".to_string()), Just("ConfigMap".to_string()), "[A-Za-z]{0,6}"]),
                    proptest::option::of(prop_oneof![Just("db-migrate".to_string()), Just("app-config".to_string()), "[a-z-]{0,8}"]),
                    proptest::option::of(prop_oneof![Just("Synced".to_string()), Just("SyncFailed".to_string()), Just("Pruned".to_string()), "\\PC{0,6}"]),
                    proptest::option::of(prop_oneof![Just("Running".to_string()), Just("Succeeded".to_string()), Just("Failed".to_string()), "\\PC{0,6}"]),
                    proptest::option::of(prop_oneof![Just("PreSync".to_string()), Just("Sync".to_string()), "\\PC{0,6}"]),
                ),
                0..12,
            )
        ) {
            let plan = lifecycle_plan();
            let previous: Vec<ResourceResult> = rows
                .into_iter()
                .map(|(group, kind, name, status, hook_phase, sync_phase)| ResourceResult {
                    group, kind, name, status, hook_phase, sync_phase, namespace: Some("shop".into()), ..Default::default()
                })
                .collect();
            let restored = restore(&plan, &previous);
            prop_assert!(restored.states.iter().all(|(i, _)| *i < plan.tasks.len()));
            prop_assert!(restored.apply_failed.iter().all(|i| *i < plan.tasks.len()));
            let results = restored.records.results(&plan, &[]);
            prop_assert!(results.len() <= plan.tasks.len());
        }
    }
}
