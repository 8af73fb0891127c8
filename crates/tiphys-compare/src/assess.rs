//! Live selection, diff, per-resource statuses and health: from the desired objects and the
//! live ones to what `status` shows.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, PoisonError};

use serde_json::Value;
use tiphys_diff::{DiffSettings, DiffStatus, Differ};
use tiphys_health::{ManagedResource, RunContext};
use tiphys_model::Application;
use tiphys_model::application::ResourceStatus;
use tiphys_model::meta::HealthStatus;
use tiphys_resource::ResourceKey;

use crate::{
    CompareError, CompareInput, Comparer, Comparison, OUT_OF_SYNC, SHARED_RESOURCE_WARNING, SYNCED, UNKNOWN,
    desired, summary,
};

/// An app's compiled differ and what it was compiled from.
pub(crate) struct CachedDiffer {
    rules: Vec<tiphys_diff::ResourceIgnoreDifferences>,
    settings: DiffSettings,
    ssd: bool,
    differ: Arc<Differ>,
}

/// Hooks never count toward the app's sync status.
fn is_hook(obj: &Value) -> bool {
    tiphys_sync::hooks::is_hook(obj)
}

impl Comparer {
    /// The live objects to compare: tracked ones the project permits, plus untracked objects
    /// at desired keys; records `SharedResourceWarning`s.
    pub(crate) fn live_objects(
        &self,
        input: &CompareInput<'_>,
        project: Option<&tiphys_model::project::AppProjectSpec>,
        desired: &[Value],
        out: &mut Comparison,
    ) -> Vec<Value> {
        let permitted = |obj: &Value| {
            let Some(spec) = project else { return true };
            let Ok(key) = ResourceKey::of(obj) else { return false };
            let namespaced = !key.namespace.is_empty();
            tiphys_policy::project::is_group_kind_permitted(
                spec, &key.group, &key.kind, &key.name, namespaced,
            )
        };
        let mut live: Vec<Value> = input.live.iter().filter(|o| permitted(o)).cloned().collect();
        let known: HashSet<ResourceKey> = live.iter().filter_map(|o| ResourceKey::of(o).ok()).collect();
        for obj in desired {
            let Ok(key) = ResourceKey::of(obj) else { continue };
            if known.contains(&key) || is_hook(obj) {
                continue;
            }
            if let Some(found) = input.lookup.live_object(&key).filter(|o| permitted(o)) {
                if let Some(owner) = input.tracking.other_owner(&found) {
                    out.conditions.push((
                        SHARED_RESOURCE_WARNING.into(),
                        // Upstream names apps as `namespace/name` here (instance names use `_`).
                        format!(
                            "{}/{} is part of applications {} and {}",
                            key.kind,
                            key.name,
                            input.tracking.instance_name.replace('_', "/"),
                            owner.replace('_', "/")
                        ),
                    ));
                    out.shared.insert(key, owner);
                }
                live.push(found);
            }
        }
        live
    }

    pub(crate) fn differ(&self, input: &CompareInput<'_>) -> Result<Arc<Differ>, CompareError> {
        let rules: Vec<tiphys_diff::ResourceIgnoreDifferences> =
            input.app.spec.ignore_differences.iter().flatten().map(Into::into).collect();
        let ssd = input
            .app
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(tiphys_resource::annotations::COMPARE_OPTIONS))
            .and_then(|v| {
                v.split(',')
                    .map(str::trim)
                    .find_map(|o| o.strip_prefix("ServerSideDiff="))
                    .map(|b| b.trim() == "true")
            })
            .unwrap_or(self.config.server_side_diff);
        // Compiling ignore rules (jq above all) costs more than diffing a small app: reuse the
        // app's differ while its rules, the settings and the mode are unchanged.
        let id = Self::app_id(input.app);
        let differs = self.differs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = differs.get(&id)
            && c.ssd == ssd
            && c.rules == rules
            && c.settings == *input.diff
        {
            return Ok(c.differ.clone());
        }
        drop(differs);
        let differ = Arc::new(Differ::new(rules.clone(), input.diff)?.with_server_side_diff(ssd));
        let cached = CachedDiffer { rules, settings: input.diff.clone(), ssd, differ: differ.clone() };
        self.differs.lock().unwrap_or_else(PoisonError::into_inner).insert(id, cached);
        Ok(differ)
    }

    pub(crate) fn diff_and_assess(
        &self,
        input: &CompareInput<'_>,
        differ: &Differ,
        desired: Vec<Value>,
        live: Vec<Value>,
        out: &mut Comparison,
    ) -> Result<(), CompareError> {
        let (project, lookup) = (input.project.map(|p| &p.spec), input.lookup);
        let ns = input.destination_namespace();
        let diff = differ.diff_app(&desired, &live, ns, &is_hook)?;
        let key_of = |o: &Value| tiphys_diff::compare::resource_key(o, ns).ok();
        let desired_by_key: BTreeMap<ResourceKey, &Value> =
            desired.iter().filter_map(|o| Some((key_of(o)?, o))).collect();
        let live_by_key: BTreeMap<ResourceKey, &Value> =
            live.iter().filter_map(|o| Some((key_of(o)?, o))).collect();
        let scopes = desired::Scopes::new(lookup, &desired);
        let mut synced = true;
        let n = diff.resources.len();
        let (mut managed, mut statuses, mut diffs) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        for rd in diff.resources {
            let target = desired_by_key.get(&rd.key).copied();
            let live_obj = live_by_key.get(&rd.key).copied();
            let Some(obj) = live_obj.or(target) else { continue };
            let gvk = tiphys_resource::GroupVersionKind::of(obj).unwrap_or_default();
            let hook = is_hook(obj);
            let skip = target.is_some_and(tiphys_sync::hooks::is_skip);
            // A live object whose tracking id names another object (copied by a tool or by
            // hand) is listed, but neither counted nor pruned, as upstream.
            let own = self_referenced(&input.tracking.tracking, live_obj, target);
            let requires_pruning = target.is_none() && live_obj.is_some() && own;
            let mut status = None;
            if !hook && !skip && own {
                if rd.status == DiffStatus::Synced {
                    status = Some(SYNCED);
                    if let Some(t) = target
                        && let Ok(k) = ResourceKey::of(t)
                    {
                        out.in_sync.insert(k);
                    }
                } else {
                    status = Some(OUT_OF_SYNC);
                    if !(requires_pruning && rd.ignore_extraneous) {
                        synced = false;
                    }
                }
            }
            if let Some(spec) = project {
                let namespaced = scopes.is_namespaced(&gvk.group, &gvk.kind).unwrap_or(false);
                let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
                let kind_ok = tiphys_policy::project::is_group_kind_permitted(
                    spec, &gvk.group, &gvk.kind, name, namespaced,
                );
                if !kind_ok {
                    status = Some(UNKNOWN);
                }
                if let Some(t) = target
                    && let Some(message) = self.forbidden(input, spec, t, &gvk, kind_ok, namespaced)
                    && let Ok(k) = ResourceKey::of(t)
                {
                    out.not_permitted.insert(k, message);
                }
            }
            // Upstream: the wave of the desired object only; deletion confirmation when either
            // side carries `Delete=confirm`.
            let wave = target.map_or(0, tiphys_sync::hooks::wave);
            let confirm = [target, live_obj].into_iter().flatten().any(|o| {
                tiphys_diff::compare::annotation_option(
                    o,
                    tiphys_resource::annotations::SYNC_OPTIONS,
                    "Delete",
                ) == Some("confirm")
            });
            statuses.push(ResourceStatus {
                status: status.map(str::to_string),
                requires_pruning: requires_pruning.then_some(true),
                sync_wave: (wave != 0).then_some(i64::from(wave)),
                requires_deletion_confirmation: confirm.then_some(true),
                ..resource_status(obj, &gvk, hook)
            });
            managed.push(ManagedResource { target, live: live_obj });
            diffs.push(rd);
        }
        let health = input.health.application_health(&managed, Some(&app_key(input)), &run_context(input));
        for ((s, h), m) in statuses.iter_mut().zip(health.resources).zip(&managed) {
            s.health = h.map(model_health);
            // A missing object of a kind the cluster does not serve (and no CRD in this app
            // defines): say why a sync will fail, in upstream's sync-error words.
            if let (Some(health), Some(t), None) = (s.health.as_mut(), m.target, m.live)
                && let Ok(gvk) = tiphys_resource::GroupVersionKind::of(t)
                && scopes.is_namespaced(&gvk.group, &gvk.kind).is_none()
            {
                health.message = Some(format!(
                    "The Kubernetes API could not find {}/{} for requested resource {}/{}. Make sure the {:?} CRD is installed on the destination cluster.",
                    gvk.group,
                    gvk.kind,
                    s.namespace.as_deref().unwrap_or(""),
                    s.name.as_deref().unwrap_or(""),
                    gvk.kind
                ));
            }
        }
        out.health = health_code(health.status.as_str());
        out.summary = summary::summarize(live.iter());
        let mut paired: Vec<(ResourceStatus, tiphys_diff::ResourceDiff)> =
            statuses.into_iter().zip(diffs).collect();
        paired.sort_by_cached_key(|(s, _)| status_key(s));
        (out.resources, out.diffs) = paired.into_iter().unzip();
        out.sync.status = Some(if synced { SYNCED } else { OUT_OF_SYNC }.to_string());
        let mut desired = desired;
        if respects_ignore_differences(input.app) {
            // What a sync applies keeps the live values of ignored fields (upstream applies
            // this to the sync's targets, after the comparison).
            for d in &mut desired {
                if let Some(l) = key_of(d).and_then(|k| live_by_key.get(&k))
                    && let Ok(kept) = differ.respect_ignore_differences(d, l, ns)
                {
                    *d = kept;
                }
            }
        }
        out.desired = desired;
        out.live = live;
        Ok(())
    }

    /// Why the project forbids a desired object (upstream's sync-time messages), if it does.
    fn forbidden(
        &self,
        input: &CompareInput<'_>,
        spec: &tiphys_model::project::AppProjectSpec,
        target: &Value,
        gvk: &tiphys_resource::GroupVersionKind,
        kind_ok: bool,
        namespaced: bool,
    ) -> Option<String> {
        let project = input.project_name();
        if !kind_ok {
            return Some(format!(
                "resource {}:{} is not permitted in project {project}.",
                gvk.group, gvk.kind
            ));
        }
        let namespace = target.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
        let Ok(dest) = input.destination else { return None };
        let dst = tiphys_policy::project::Destination { server: &dest.server, name: &dest.name, namespace };
        (namespaced && !namespace.is_empty() && !tiphys_policy::project::is_destination_permitted(spec, &dst))
            .then(|| format!("namespace {namespace} is not permitted in project '{project}'"))
    }

    /// The desired state is unknown: list the live objects as Unknown, health from them.
    pub(crate) fn assess_live_only(&self, input: &CompareInput<'_>, live: Vec<Value>, out: &mut Comparison) {
        let mut sorted: Vec<(ResourceKey, &Value)> = live
            .iter()
            .filter_map(|o| {
                Some((tiphys_diff::compare::resource_key(o, input.destination_namespace()).ok()?, o))
            })
            .collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let managed: Vec<ManagedResource<'_>> =
            sorted.iter().map(|(_, o)| ManagedResource { target: None, live: Some(o) }).collect();
        let health = input.health.application_health(&managed, Some(&app_key(input)), &run_context(input));
        out.resources = sorted
            .iter()
            .zip(health.resources)
            .map(|((_, obj), h)| {
                let gvk = tiphys_resource::GroupVersionKind::of(obj).unwrap_or_default();
                let hook = is_hook(obj);
                ResourceStatus {
                    status: (!hook).then(|| UNKNOWN.to_string()),
                    health: h.map(model_health),
                    ..resource_status(obj, &gvk, hook)
                }
            })
            .collect();
        out.resources.sort_by_cached_key(status_key);
        out.health = health_code(health.status.as_str());
        out.summary = summary::summarize(live.iter());
        out.live = live;
    }
}

/// Whether a live object's tracking id (annotation methods) names this object: the desired
/// one when there is one, else itself. No id, no live object: nothing says otherwise.
fn self_referenced(
    tracking: &tiphys_resource::tracking::Tracking,
    live: Option<&Value>,
    target: Option<&Value>,
) -> bool {
    let Some(id) = live.and_then(|l| tracking.tracking_id(l)) else { return true };
    target.or(live).is_some_and(|obj| id.refers_to(obj))
}

/// Upstream's order of `status.resources`: by `group/kind/namespace/name` as one string.
fn status_key(r: &ResourceStatus) -> String {
    let part = |v: &Option<String>| v.clone().unwrap_or_default();
    [part(&r.group), part(&r.kind), part(&r.namespace), part(&r.name)].join("/")
}

/// The identity part of a `status.resources` entry.
fn resource_status(obj: &Value, gvk: &tiphys_resource::GroupVersionKind, hook: bool) -> ResourceStatus {
    let text = |p: &str| obj.pointer(p).and_then(Value::as_str).filter(|v| !v.is_empty()).map(str::to_string);
    ResourceStatus {
        group: Some(gvk.group.clone()).filter(|g| !g.is_empty()),
        version: Some(gvk.version.clone()),
        kind: Some(gvk.kind.clone()),
        namespace: text("/metadata/namespace"),
        name: text("/metadata/name"),
        hook: hook.then_some(true),
        ..ResourceStatus::default()
    }
}

/// `RespectIgnoreDifferences=true` among the app's or its pending operation's sync options.
fn respects_ignore_differences(app: &Application) -> bool {
    let from_spec = app.spec.sync_policy.as_ref().and_then(|p| p.sync_options.as_ref());
    let from_operation =
        app.operation.as_ref().and_then(|o| o.sync.as_ref()).and_then(|s| s.sync_options.as_ref());
    from_spec.into_iter().chain(from_operation).flatten().any(|o| o.trim() == "RespectIgnoreDifferences=true")
}

/// An app-level health status with only a code.
pub(crate) fn health_code(code: &str) -> HealthStatus {
    HealthStatus { status: Some(code.to_string()), ..HealthStatus::default() }
}

fn model_health(h: tiphys_health::HealthStatus) -> HealthStatus {
    HealthStatus {
        status: Some(h.status.as_str().to_string()),
        message: Some(h.message).filter(|m| !m.is_empty()),
        ..HealthStatus::default()
    }
}

fn app_key(input: &CompareInput<'_>) -> ResourceKey {
    ResourceKey::new(
        "argoproj.io",
        "Application",
        input.app.metadata.namespace.clone().unwrap_or_default(),
        input.app_name(),
    )
}

fn run_context(input: &CompareInput<'_>) -> RunContext {
    RunContext { now_unix: input.now.as_second(), deadline: None }
}
