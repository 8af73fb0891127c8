//! The sync plan: every task upstream's sync engine would run, in the order it would run them.
//!
//! Order (gitops-engine `syncTasks.Less` + `Sort`): phase (PreSync, Sync, PostSync, SyncFail),
//! then wave, then kind (Helm's install order; unknown kinds last), then name; afterwards a
//! Namespace is moved in front of the first task that uses it, and a CRD in front of the first
//! custom resource of its kind, both taking that task's phase and wave. Prune tasks have their
//! waves mirrored (last created, first deleted); `PruneLast` moves them after the last Sync
//! wave.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tiphys_diff::compare::resource_key;
use tiphys_resource::ResourceKey;

use crate::SyncError;
use crate::hooks::{Annotations, HookDeletePolicy, HookType, delete_policies, hook_types, is_hook, wave};
use crate::options::{AppSyncOptions, ObjectOptions};

/// The kind order upstream's sync engine uses inside a wave: the Helm install order as
/// gitops-engine vendored it. It deliberately differs from `tiphys-helm`'s `INSTALL_ORDER`
/// (current Helm 4 adds PriorityClass and webhook configurations), so the two stay separate.
pub const KIND_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// Position of each kind in [`KIND_ORDER`], built once.
static KIND_RANK: LazyLock<HashMap<&'static str, usize>> =
    LazyLock::new(|| KIND_ORDER.iter().enumerate().map(|(i, k)| (*k, i)).collect());

fn kind_rank(kind: &str) -> usize {
    KIND_RANK.get(kind).copied().unwrap_or(KIND_ORDER.len())
}

/// A sync phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SyncPhase {
    /// Before the normal resources.
    PreSync,
    /// The normal resources.
    Sync,
    /// After every Sync wave is healthy.
    PostSync,
    /// Only when the operation failed.
    SyncFail,
    /// Application deletion: before its resources are deleted.
    PreDelete,
    /// Application deletion: after its resources are deleted.
    PostDelete,
}

/// How a resource is written to the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplyStrategy {
    /// `kubectl apply` (three-way, client side).
    ClientSideApply,
    /// Server-side apply with manager `argocd-controller` and forced conflicts.
    ServerSideApply,
    /// `kubectl replace` (create when absent).
    Replace,
}

/// What a task does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Action {
    /// Write the desired object.
    #[serde(rename_all = "camelCase")]
    Apply {
        /// Apply, server-side apply or replace.
        strategy: ApplyStrategy,
        /// Delete and re-create when the update is refused (`Force=true`).
        force: bool,
        /// `--validate=false` when false.
        validate: bool,
        /// Do not dry-run this object (its CRD may not exist yet).
        skip_dry_run: bool,
    },
    /// Delete a live object that is no longer desired.
    #[serde(rename_all = "camelCase")]
    Prune {
        /// `foreground`, `background` or `orphan`.
        propagation_policy: String,
    },
    /// A live object that would be pruned but is not; the reason says why.
    PruneSkipped {
        /// `Prune=false`, or pruning not requested for this sync.
        reason: String,
    },
    /// Create the destination namespace (`CreateNamespace=true`).
    CreateNamespace,
    /// Delete the object as part of deleting the Application.
    #[serde(rename_all = "camelCase")]
    Delete {
        /// `foreground`, `background` or `orphan`.
        propagation_policy: String,
    },
    /// Keep the object when the Application is deleted (`Delete=false`).
    DeleteSkipped,
}

/// Hook details of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookInfo {
    /// The hook type this task runs as.
    pub hook_type: HookType,
    /// When to delete the hook object.
    pub delete_policies: Vec<HookDeletePolicy>,
    /// True when the name was generated from `metadata.generateName`.
    pub generated_name: bool,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// Phase it runs in.
    pub phase: SyncPhase,
    /// Wave inside the phase (after mirroring and `PruneLast` for prune tasks).
    pub wave: i32,
    /// The object, with its final name and namespace.
    pub key: ResourceKey,
    /// What to do.
    pub action: Action,
    /// Set for hooks.
    pub hook: Option<HookInfo>,
    /// Index into the desired objects of the object this task writes; `None` for prune/delete
    /// tasks and the created namespace. [`Task::target`] gives the object to send.
    pub desired_index: Option<usize>,
    /// Whether the live object exists.
    pub live_exists: bool,
}

impl Task {
    /// The object to send for this task: the desired object at `desired_index` with the task's
    /// namespace and (for `generateName` hooks) name filled in, or the Namespace to create.
    /// Materialized on demand so that planning does not copy every object.
    pub fn target(&self, desired: &[Value]) -> Option<Value> {
        if self.action == Action::CreateNamespace {
            return Some(
                serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.key.name}}),
            );
        }
        let mut obj = desired.get(self.desired_index?)?.clone();
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            if !self.key.namespace.is_empty() {
                meta.insert("namespace".into(), Value::String(self.key.namespace.clone()));
            }
            if self.hook.as_ref().is_some_and(|h| h.generated_name) {
                meta.insert("name".into(), Value::String(self.key.name.clone()));
            }
        }
        Some(obj)
    }
}

/// Whether a task writes an object (apply or namespace creation), as opposed to deleting one.
fn writes(task: &Task) -> bool {
    matches!(task.action, Action::Apply { .. } | Action::CreateNamespace)
}

/// Hook (run hooks, the default) or apply (skip hooks) strategy of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Strategy {
    /// Run hooks.
    #[default]
    Hook,
    /// Only apply resources; hooks are skipped.
    Apply,
}

/// A resource named for a selective sync (`operation.sync.resources`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SelectedResource {
    /// API group.
    #[serde(default)]
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace; empty matches any.
    #[serde(default)]
    pub namespace: String,
}

/// The operation being planned (`operation.sync`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperation {
    /// Delete extraneous resources.
    pub prune: bool,
    /// Validate only.
    pub dry_run: bool,
    /// Selective sync; empty means everything.
    pub resources: Vec<SelectedResource>,
    /// Hook or apply.
    pub strategy: Strategy,
    /// `--force`: delete and re-create resources that cannot be updated.
    pub force: bool,
    /// The revision being synced (hook names derive from it).
    pub revision: String,
    /// When the operation started, in Unix seconds (hook names derive from it).
    pub started_at_unix: i64,
}

/// Everything the planner looks at. All of it is data; nothing is fetched.
#[derive(Debug, Clone, Default)]
pub struct PlanInput<'a> {
    /// Rendered manifests.
    pub desired: &'a [Value],
    /// Live objects tracked by the application.
    pub live: &'a [Value],
    /// Keys the diff found in sync (for `ApplyOutOfSyncOnly`).
    pub in_sync: HashSet<ResourceKey>,
    /// Desired resources also tracked by another application, with that application's name
    /// (for `FailOnSharedResource`).
    pub shared: HashMap<ResourceKey, String>,
    /// App-level sync options.
    pub options: AppSyncOptions,
    /// Destination namespace.
    pub namespace: String,
    /// Whether the destination namespace already exists (for `CreateNamespace`).
    pub namespace_exists: bool,
    /// The operation.
    pub operation: SyncOperation,
}

/// The ordered plan the executor walks and a human can read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPlan {
    /// Tasks in execution order.
    pub tasks: Vec<Task>,
    /// Validate only.
    pub dry_run: bool,
    /// More than one (phase, wave) step: the executor waits for health between steps.
    pub multi_step: bool,
}

impl SyncPlan {
    /// Tasks grouped into the (phase, wave) steps that run one after the other. SyncFail tasks
    /// are not part of the normal run.
    pub fn steps(&self) -> Vec<((SyncPhase, i32), Vec<&Task>)> {
        let mut out: Vec<((SyncPhase, i32), Vec<&Task>)> = Vec::new();
        for t in self.tasks.iter().filter(|t| t.phase != SyncPhase::SyncFail) {
            match out.last_mut() {
                Some((step, tasks)) if *step == (t.phase, t.wave) => tasks.push(t),
                _ => out.push(((t.phase, t.wave), vec![t])),
            }
        }
        out
    }

    /// The SyncFail hooks, run when the operation fails.
    pub fn sync_fail_tasks(&self) -> Vec<&Task> {
        self.tasks.iter().filter(|t| t.phase == SyncPhase::SyncFail).collect()
    }
}

fn phase_of(h: HookType) -> Option<SyncPhase> {
    Some(match h {
        HookType::PreSync => SyncPhase::PreSync,
        HookType::Sync => SyncPhase::Sync,
        HookType::PostSync => SyncPhase::PostSync,
        HookType::SyncFail => SyncPhase::SyncFail,
        _ => return None,
    })
}

fn phase_label(p: SyncPhase) -> &'static str {
    match p {
        SyncPhase::PreSync => "presync",
        SyncPhase::Sync => "sync",
        SyncPhase::PostSync => "postsync",
        SyncPhase::SyncFail => "syncfail",
        SyncPhase::PreDelete => "predelete",
        SyncPhase::PostDelete => "postdelete",
    }
}

/// Working state of a task while planning: the object used for ordering.
struct Draft<'a> {
    task: Task,
    /// The desired or live object the task comes from (for its annotations).
    source: Option<&'a Value>,
}

fn selected(sel: &[SelectedResource], key: &ResourceKey) -> bool {
    sel.is_empty()
        || sel.iter().any(|s| {
            s.group == key.group
                && s.kind == key.kind
                && s.name == key.name
                && (s.namespace.is_empty() || s.namespace == key.namespace)
        })
}

fn apply_action(input: &PlanInput<'_>, opts: ObjectOptions<'_>) -> Action {
    let strategy = if opts.is_true("Replace") {
        ApplyStrategy::Replace
    } else if opts.is_true("ServerSideApply") {
        ApplyStrategy::ServerSideApply
    } else {
        ApplyStrategy::ClientSideApply
    };
    Action::Apply {
        strategy,
        force: input.operation.force || opts.is_true("Force"),
        validate: !opts.is_false("Validate"),
        skip_dry_run: opts.is_true("SkipDryRunOnMissingResource"),
    }
}

fn propagation(input: &PlanInput<'_>) -> String {
    input.options.get("PrunePropagationPolicy").unwrap_or("foreground").to_string()
}

/// Builds the plan. Fails on objects without a kind or name, and when `FailOnSharedResource`
/// finds a resource another application tracks.
pub fn plan(input: &PlanInput<'_>) -> Result<SyncPlan, SyncError> {
    let ns = input.namespace.as_str();
    // Hash maps: a 1,000-resource plan spends most of its time comparing keys otherwise.
    // Prune tasks iterate `live` in input order, so the plan stays deterministic.
    let live_keys =
        input.live.iter().map(|l| Ok((resource_key(l, ns)?, l))).collect::<Result<Vec<_>, SyncError>>()?;
    let mut live_by_key: HashMap<ResourceKey, &Value> = HashMap::with_capacity(live_keys.len());
    for (k, l) in &live_keys {
        live_by_key.insert(k.clone(), *l);
    }
    if input.options.is_true(None, "FailOnSharedResource") {
        for d in input.desired.iter().filter(|d| !is_hook(d)) {
            let key = resource_key(d, ns)?;
            if let Some(other) = input.shared.get(&key) {
                return Err(SyncError::SharedResource { key, other_app: other.clone() });
            }
        }
    }
    let op = &input.operation;
    let selective = !op.resources.is_empty();
    let mut drafts: Vec<Draft> = Vec::new();
    let mut desired_keys = HashSet::with_capacity(input.desired.len());
    for (index, d) in input.desired.iter().enumerate() {
        let key = resource_key(d, ns)?;
        desired_keys.insert(key.clone());
        let ann = Annotations::of(d);
        let types = ann.hook_types();
        if types == [HookType::Skip] {
            continue;
        }
        if ann.is_hook() {
            if selective || op.strategy == Strategy::Apply {
                continue;
            }
            for hook_type in types {
                let Some(phase) = phase_of(hook_type) else { continue };
                drafts.push(hook_draft(input, (index, d), &key, hook_type, phase, &live_by_key));
            }
            continue;
        }
        if !selected(&op.resources, &key) {
            continue;
        }
        let live = live_by_key.get(&key);
        let opts = input.options.view_of(Some(ann));
        if opts.is_true("ApplyOutOfSyncOnly") && live.is_some() && input.in_sync.contains(&key) {
            continue;
        }
        drafts.push(Draft {
            task: Task {
                phase: SyncPhase::Sync,
                wave: ann.wave(),
                key,
                action: apply_action(input, opts),
                hook: None,
                desired_index: Some(index),
                live_exists: live.is_some(),
            },
            source: Some(d),
        });
    }
    for (key, l) in &live_keys {
        let duplicate = live_by_key.get(key).is_some_and(|kept| !std::ptr::eq(*kept, *l));
        if duplicate || desired_keys.contains(key) || is_hook(l) || !selected(&op.resources, key) {
            continue;
        }
        let no_prune =
            input.options.for_object(Some(l), "Prune").is_some_and(|v| v.eq_ignore_ascii_case("false"));
        let action = if no_prune {
            Action::PruneSkipped { reason: "ignored (no prune)".into() }
        } else if !op.prune {
            Action::PruneSkipped { reason: "ignored (requires pruning)".into() }
        } else {
            Action::Prune { propagation_policy: propagation(input) }
        };
        drafts.push(Draft {
            task: Task {
                phase: SyncPhase::Sync,
                wave: wave(l),
                key: key.clone(),
                action,
                hook: None,
                desired_index: None,
                live_exists: true,
            },
            source: Some(*l),
        });
    }
    if input.options.is_true(None, "CreateNamespace") && !ns.is_empty() && !input.namespace_exists {
        let declared = input.desired.iter().any(|d| {
            d.get("kind").and_then(Value::as_str) == Some("Namespace")
                && d.pointer("/metadata/name").and_then(Value::as_str) == Some(ns)
        });
        if !declared {
            drafts.push(Draft {
                task: Task {
                    phase: SyncPhase::PreSync,
                    wave: 0,
                    key: ResourceKey::new("", "Namespace", "", ns),
                    action: Action::CreateNamespace,
                    hook: None,
                    desired_index: None,
                    live_exists: false,
                },
                source: None,
            });
        }
    }
    adjust_prune_waves(input, &mut drafts);
    sort(&mut drafts);
    let tasks: Vec<Task> = drafts.into_iter().map(|d| d.task).collect();
    let multi_step = match (tasks.first(), tasks.last()) {
        (Some(a), Some(b)) => (a.phase, a.wave) != (b.phase, b.wave),
        _ => false,
    };
    Ok(SyncPlan { tasks, dry_run: op.dry_run, multi_step })
}

fn hook_draft<'a>(
    input: &PlanInput<'_>,
    (index, d): (usize, &'a Value),
    key: &ResourceKey,
    hook_type: HookType,
    phase: SyncPhase,
    live_by_key: &HashMap<ResourceKey, &Value>,
) -> Draft<'a> {
    let op = &input.operation;
    let mut key = key.clone();
    let has_name = d.pointer("/metadata/name").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
    if !has_name {
        let rev: String = op.revision.chars().take(7).collect();
        let generate = d.pointer("/metadata/generateName").and_then(Value::as_str).unwrap_or_default();
        let name = format!(
            "{generate}{}",
            format!("{rev}-{}-{}", phase_label(phase), op.started_at_unix).to_lowercase()
        );
        key.name = name;
    }
    let live_exists = live_by_key.contains_key(&key);
    Draft {
        task: Task {
            phase,
            wave: wave(d),
            key,
            action: apply_action(input, input.options.view(Some(d))),
            hook: Some(HookInfo {
                hook_type,
                delete_policies: delete_policies(d),
                generated_name: !has_name,
            }),
            desired_index: Some(index),
            live_exists,
        },
        source: Some(d),
    }
}

fn is_prune(t: &Task) -> bool {
    matches!(t.action, Action::Prune { .. } | Action::PruneSkipped { .. })
}

fn adjust_prune_waves(input: &PlanInput<'_>, drafts: &mut [Draft<'_>]) {
    let waves: Vec<i32> = drafts
        .iter()
        .filter(|d| is_prune(&d.task))
        .map(|d| d.task.wave)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let n = waves.len();
    for d in drafts.iter_mut().filter(|d| is_prune(&d.task)) {
        if let Some(i) = waves.iter().position(|w| *w == d.task.wave) {
            d.task.wave = waves[n - 1 - i];
        }
    }
    let last_sync_wave = drafts
        .iter()
        .filter(|d| d.task.phase == SyncPhase::Sync)
        .map(|d| d.task.wave)
        .max()
        .unwrap_or(0)
        .max(0)
        + 1;
    for d in drafts.iter_mut().filter(|d| is_prune(&d.task)) {
        if input.options.is_true(d.source, "PruneLast") {
            d.task.wave = last_sync_wave;
        }
    }
}

fn phase_rank(p: SyncPhase) -> i32 {
    match p {
        SyncPhase::PreDelete => -2,
        SyncPhase::PreSync => -1,
        SyncPhase::Sync => 0,
        SyncPhase::PostSync => 1,
        SyncPhase::SyncFail => 2,
        SyncPhase::PostDelete => 3,
    }
}

fn sort(drafts: &mut Vec<Draft<'_>>) {
    // Sort a permutation by borrowed keys (no per-task allocation), then apply it.
    let mut order: Vec<usize> = (0..drafts.len()).collect();
    {
        let keys: Vec<(i32, i32, usize, &str)> = drafts
            .iter()
            .map(|d| {
                (phase_rank(d.task.phase), d.task.wave, kind_rank(&d.task.key.kind), d.task.key.name.as_str())
            })
            .collect();
        order.sort_by(|a, b| keys[*a].cmp(&keys[*b]));
    }
    let mut slots: Vec<Option<Draft<'_>>> = drafts.drain(..).map(Some).collect();
    drafts.extend(order.into_iter().filter_map(|i| slots.get_mut(i).and_then(Option::take)));
    // Namespaces before the first task in them.
    adjust_deps(
        drafts,
        |d| (d.task.key.group.is_empty() && d.task.key.kind == "Namespace").then(|| d.task.key.name.clone()),
        |d| (!d.task.key.namespace.is_empty()).then(|| d.task.key.namespace.clone()),
    );
    // CRDs before the first custom resource of their group/kind.
    adjust_deps(
        drafts,
        |d| {
            (d.task.key.kind == "CustomResourceDefinition" && d.task.key.group == "apiextensions.k8s.io")
                .then(|| {
                    let crd = d.source?;
                    let g = crd.pointer("/spec/group").and_then(Value::as_str)?;
                    let k = crd.pointer("/spec/names/kind").and_then(Value::as_str)?;
                    Some(format!("{g}/{k}"))
                })?
        },
        |d| Some(format!("{}/{}", d.task.key.group, d.task.key.kind)),
    );
}

/// Moves each dependency in front of the first task referencing it (only tasks that write an
/// object count), giving it that task's phase and wave — upstream's `adjustDeps`.
fn adjust_deps(
    drafts: &mut Vec<Draft<'_>>,
    is_dep: impl Fn(&Draft<'_>) -> Option<String>,
    refs: impl Fn(&Draft<'_>) -> Option<String>,
) {
    let mut first_ref: BTreeMap<String, usize> = BTreeMap::new();
    let mut i = 0;
    while i < drafts.len() {
        if !writes(&drafts[i].task) {
            i += 1;
            continue;
        }
        if let Some(dep) = is_dep(&drafts[i]) {
            if let Some(&index) = first_ref.get(&dep) {
                let (phase, wave) = (drafts[index].task.phase, drafts[index].task.wave);
                let mut moved = drafts.remove(i);
                moved.task.phase = phase;
                moved.task.wave = wave;
                drafts.insert(index, moved);
                for v in first_ref.values_mut() {
                    if *v >= index {
                        *v += 1;
                    }
                }
            }
        } else if let Some(r) = refs(&drafts[i]) {
            first_ref.entry(r).or_insert(i);
        }
        i += 1;
    }
}

/// The plan for deleting an Application (cascade): PreDelete hooks, then every live resource
/// (except `Delete=false` ones, kept), then PostDelete hooks.
pub fn plan_deletion(
    desired: &[Value],
    live: &[Value],
    namespace: &str,
    options: &AppSyncOptions,
    propagation_policy: &str,
) -> Result<SyncPlan, SyncError> {
    let mut drafts = Vec::new();
    for (index, d) in desired.iter().enumerate().filter(|(_, d)| is_hook(d)) {
        let key = resource_key(d, namespace)?;
        for t in hook_types(d) {
            let phase = match t {
                HookType::PreDelete => SyncPhase::PreDelete,
                HookType::PostDelete => SyncPhase::PostDelete,
                _ => continue,
            };
            drafts.push(Draft {
                task: Task {
                    phase,
                    wave: wave(d),
                    key: key.clone(),
                    action: Action::Apply {
                        strategy: ApplyStrategy::ClientSideApply,
                        force: false,
                        validate: true,
                        skip_dry_run: false,
                    },
                    hook: Some(HookInfo {
                        hook_type: t,
                        delete_policies: delete_policies(d),
                        generated_name: false,
                    }),
                    desired_index: Some(index),
                    live_exists: false,
                },
                source: Some(d),
            });
        }
    }
    for l in live.iter().filter(|l| !is_hook(l)) {
        let key = resource_key(l, namespace)?;
        let keep = options.for_object(Some(l), "Delete").is_some_and(|v| v.eq_ignore_ascii_case("false"));
        let action = if keep {
            Action::DeleteSkipped
        } else {
            Action::Delete { propagation_policy: propagation_policy.to_string() }
        };
        drafts.push(Draft {
            task: Task {
                phase: SyncPhase::Sync,
                wave: -wave(l),
                key,
                action,
                hook: None,
                desired_index: None,
                live_exists: true,
            },
            source: Some(l),
        });
    }
    sort(&mut drafts);
    let tasks: Vec<Task> = drafts.into_iter().map(|d| d.task).collect();
    let multi_step =
        tasks.first().zip(tasks.last()).is_some_and(|(a, b)| (a.phase, a.wave) != (b.phase, b.wave));
    Ok(SyncPlan { tasks, dry_run: false, multi_step })
}
