//! Per-resource and per-application comparison: the API the controller, the CLI and the sync
//! planner use.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tiphys_patch::server_side_apply;
use tiphys_resource::annotations::{COMPARE_OPTIONS, LAST_APPLIED};
use tiphys_resource::{GroupVersionKind, ResourceKey};

use crate::ignore::IgnoreRules;
use crate::managed_fields::applied_set;
use crate::mask::mask_secret_pair;
use crate::normalize::{normalize, normalized};
use crate::predict::{Declared, Predictor};
use crate::render::unified;
use crate::{DiffError, DiffSettings, ResourceIgnoreDifferences};

/// Timestamp written into the predicted object's managedFields (normalized away before the
/// comparison; a constant keeps the crate free of clocks).
const SSA_TIME: &str = "1970-01-01T00:00:00Z";

/// The field manager Argo CD applies with; a server-side diff compares what it owns.
pub const DEFAULT_MANAGER: &str = "argocd-controller";

/// `resource.compareoptions`, typed once in `tiphys-settings` for every engine.
pub use tiphys_settings::{CompareOptions, StatusFieldMode};

/// Outcome for one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiffStatus {
    /// Live matches desired after normalization.
    Synced,
    /// Both exist and differ.
    OutOfSync,
    /// Desired but not live (upstream: OutOfSync with health Missing).
    Missing,
    /// Live and tracked but no longer desired: requires pruning (upstream: OutOfSync).
    Extraneous,
}

/// The comparison of one resource: what the UI, `app diff` and the sync planner read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDiff {
    /// Which object.
    pub key: ResourceKey,
    /// The verdict.
    pub status: DiffStatus,
    /// The live object after applying the desired one, normalized, ignored fields removed,
    /// Secret values masked. `None` when the object is not desired.
    pub desired: Option<Value>,
    /// The live object normalized the same way. `None` when the object does not exist.
    pub live: Option<Value>,
    /// The live object has `compare-options: IgnoreExtraneous`: being extraneous does not make
    /// the application OutOfSync.
    pub ignore_extraneous: bool,
    /// The object is a hook (as `diff_app`'s `is_hook` decided): created fresh by every sync,
    /// so it never counts toward the application's sync status.
    pub hook: bool,
}

impl ResourceDiff {
    /// Whether upstream would call this resource OutOfSync.
    pub fn out_of_sync(&self) -> bool {
        self.status != DiffStatus::Synced
    }

    /// Whether the live object should be deleted by a pruning sync.
    pub fn requires_pruning(&self) -> bool {
        self.status == DiffStatus::Extraneous
    }

    /// The unified diff from live to desired (empty when Synced).
    pub fn unified_diff(&self, colour: bool) -> String {
        let k = &self.key;
        let title = format!("{}/{} {}/{}", k.group, k.kind, k.namespace, k.name);
        unified(&title, self.live.as_ref(), self.desired.as_ref(), colour)
    }
}

/// Every resource of an application, and whether the application is in sync.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppDiff {
    /// One entry per desired or live resource, sorted by key.
    pub resources: Vec<ResourceDiff>,
    /// True when every counted resource is Synced (hooks and IgnoreExtraneous extras are not counted).
    pub synced: bool,
}

/// Reads one option from a comma-separated options annotation (`Key=value` or bare `Key`).
pub fn annotation_option<'a>(obj: &'a Value, annotation: &str, name: &str) -> Option<&'a str> {
    let text = obj.get("metadata")?.get("annotations")?.get(annotation)?.as_str()?;
    text.split(',').map(str::trim).find_map(|opt| match opt.split_once('=') {
        Some((k, v)) if k.trim() == name => Some(v.trim()),
        None if opt == name => Some(""),
        _ => None,
    })
}

/// Whether a built-in kind is cluster-scoped (custom kinds are assumed namespaced unless the
/// manifest leaves the namespace empty and no default applies).
pub fn is_cluster_scoped(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        ("", "Namespace" | "Node" | "PersistentVolume")
            | ("rbac.authorization.k8s.io", "ClusterRole" | "ClusterRoleBinding")
            | ("apiextensions.k8s.io", "CustomResourceDefinition")
            | ("storage.k8s.io", "StorageClass" | "CSIDriver" | "VolumeAttachment")
            | ("scheduling.k8s.io", "PriorityClass")
            | ("networking.k8s.io", "IngressClass")
            | ("node.k8s.io", "RuntimeClass")
            | ("apiregistration.k8s.io", "APIService")
            | (
                "admissionregistration.k8s.io",
                "MutatingWebhookConfiguration"
                    | "ValidatingWebhookConfiguration"
                    | "ValidatingAdmissionPolicy"
                    | "ValidatingAdmissionPolicyBinding"
            )
            | ("certificates.k8s.io", "CertificateSigningRequest")
            | ("flowcontrol.apiserver.k8s.io", "FlowSchema" | "PriorityLevelConfiguration")
    )
}

/// The key an object is tracked under: a namespaced object without a namespace lives in the
/// application's destination namespace, as upstream places it.
pub fn resource_key(obj: &Value, default_namespace: &str) -> Result<ResourceKey, DiffError> {
    let mut key = ResourceKey::of(obj)
        .map_err(|e| DiffError::InvalidObject { what: describe(obj), message: e.to_string() })?;
    if is_cluster_scoped(&key.group, &key.kind) {
        key.namespace.clear();
    } else if key.namespace.is_empty() {
        key.namespace = default_namespace.to_string();
    }
    Ok(key)
}

fn describe(obj: &Value) -> String {
    let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("?").to_string();
    format!("object {} {} named {}", s("/apiVersion"), s("/kind"), s("/metadata/name"))
}

/// A configured comparer: ignore rules compiled once, reused for every resource of an app.
#[derive(Debug)]
pub struct Differ {
    rules: IgnoreRules,
    compare: CompareOptions,
    server_side_diff: bool,
    manager: String,
}

impl Differ {
    /// Compiles the Application's `ignoreDifferences` followed by argocd-cm's system-level ones.
    pub fn new(
        app_rules: Vec<ResourceIgnoreDifferences>,
        settings: &DiffSettings,
    ) -> Result<Self, DiffError> {
        let mut rules = IgnoreRules::compile(app_rules)?;
        rules.extend(IgnoreRules::compile(settings.ignore_differences.clone())?);
        Ok(Self {
            rules,
            compare: settings.compare,
            server_side_diff: false,
            manager: DEFAULT_MANAGER.to_string(),
        })
    }

    /// Turns on server-side diff for every resource (the app-level `ServerSideDiff=true`
    /// compare option); a resource's own compare-options annotation still overrides it.
    pub fn with_server_side_diff(mut self, on: bool) -> Self {
        self.server_side_diff = on;
        self
    }

    /// The field manager whose fields a server-side diff compares.
    pub fn with_manager(mut self, manager: impl Into<String>) -> Self {
        self.manager = manager.into();
        self
    }

    fn ignore(&self, obj: &mut Value, key: &ResourceKey, owners: Option<&Value>) {
        for rule in self.rules.matching(&key.group, &key.kind, &key.namespace, &key.name) {
            rule.apply(obj, owners);
        }
    }

    /// Compares one resource. At least one side must be given.
    pub fn diff(
        &self,
        desired: Option<&Value>,
        live: Option<&Value>,
        default_namespace: &str,
    ) -> Result<ResourceDiff, DiffError> {
        let nothing = || DiffError::InvalidObject {
            what: "resource".into(),
            message: "neither a desired nor a live object was given".into(),
        };
        let any = desired.or(live).ok_or_else(nothing)?;
        let gvk = GroupVersionKind::of(any)
            .map_err(|e| DiffError::InvalidObject { what: describe(any), message: e.to_string() })?;
        let key = match live {
            Some(l) => resource_key(l, default_namespace)?,
            None => resource_key(any, default_namespace)?,
        };
        let norm =
            |obj: &Value, is_desired: bool| normalized(obj, &gvk.group, &gvk.kind, &self.compare, is_desired);
        let (status, mut d, mut l) = match (desired, live) {
            (Some(d), None) => {
                let mut dn = norm(d, true);
                self.ignore(&mut dn, &key, None);
                (DiffStatus::Missing, Some(dn), None)
            }
            (None, Some(l)) => {
                let mut ln = norm(l, false);
                self.ignore(&mut ln, &key, Some(l));
                (DiffStatus::Extraneous, None, Some(ln))
            }
            (Some(d), Some(l)) => {
                let dn = norm(d, true);
                let mut ln = norm(l, false);
                let orig = last_applied(l).map(|mut o| {
                    normalize(&mut o, &gvk.group, &gvk.kind, &self.compare, true);
                    o
                });
                let ssd = match annotation_option(d, COMPARE_OPTIONS, "ServerSideDiff") {
                    Some(v) => v == "true",
                    None => self.server_side_diff,
                };
                let predictor = Predictor { gvk: &gvk };
                let mut predicted = if ssd {
                    // Server-side diff: what the API server's apply by our manager would store
                    // (tiphys-patch's SSA: our removed fields go, other managers' fields stay).
                    match server_side_apply(Some(l), d, &self.manager, true, &gvk, SSA_TIME) {
                        Ok(applied) => norm(&applied, false),
                        Err(_) => {
                            let owned =
                                applied_set(l, &self.manager).map_or(Declared::Nothing, Declared::Fields);
                            predictor.predict(owned, &dn, &ln)
                        }
                    }
                } else {
                    predictor.predict(Declared::Json(orig.as_ref().unwrap_or(&dn)), &dn, &ln)
                };
                self.ignore(&mut predicted, &key, Some(l));
                self.ignore(&mut ln, &key, Some(l));
                let status = if predicted == ln { DiffStatus::Synced } else { DiffStatus::OutOfSync };
                (status, Some(predicted), Some(ln))
            }
            (None, None) => return Err(nothing()),
        };
        if gvk.group.is_empty() && gvk.kind == "Secret" {
            mask_secret_pair(d.as_mut(), l.as_mut());
        }
        let ignore_extraneous =
            live.is_some_and(|l| annotation_option(l, COMPARE_OPTIONS, "IgnoreExtraneous").is_some());
        Ok(ResourceDiff { key, status, desired: d, live: l, ignore_extraneous, hook: false })
    }

    /// Compares every desired object with the live objects the application tracks. Objects
    /// `is_hook` accepts are compared but do not count toward the application's status.
    pub fn diff_app(
        &self,
        desired: &[Value],
        live: &[Value],
        default_namespace: &str,
        is_hook: &dyn Fn(&Value) -> bool,
    ) -> Result<AppDiff, DiffError> {
        let mut live_by_key = std::collections::BTreeMap::new();
        for l in live {
            live_by_key.insert(resource_key(l, default_namespace)?, l);
        }
        let mut resources = Vec::with_capacity(desired.len().max(live.len()));
        let mut synced = true;
        for d in desired {
            let key = resource_key(d, default_namespace)?;
            let l = live_by_key.remove(&key);
            let mut r = self.diff(Some(d), l, default_namespace)?;
            r.hook = is_hook(d);
            synced &= r.hook || !r.out_of_sync();
            resources.push(r);
        }
        for l in live_by_key.into_values() {
            let mut r = self.diff(None, Some(l), default_namespace)?;
            r.hook = is_hook(l);
            synced &= r.hook || r.ignore_extraneous;
            resources.push(r);
        }
        resources.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(AppDiff { resources, synced })
    }

    /// `RespectIgnoreDifferences=true`: the desired object with every ignored field taken from
    /// the live object, so a sync does not overwrite what the user asked to ignore.
    pub fn respect_ignore_differences(
        &self,
        desired: &Value,
        live: &Value,
        default_namespace: &str,
    ) -> Result<Value, DiffError> {
        let key = resource_key(live, default_namespace)?;
        let mut out = desired.clone();
        let mut ignored_live = live.clone();
        self.ignore(&mut out, &key, Some(live));
        self.ignore(&mut ignored_live, &key, Some(live));
        restore(&mut out, live, &ignored_live);
        Ok(out)
    }
}

fn last_applied(live: &Value) -> Option<Value> {
    let text = live.get("metadata")?.get("annotations")?.get(LAST_APPLIED)?.as_str()?;
    serde_json::from_str(text).ok().filter(Value::is_object)
}

/// Copies into `target` what `live` has and `ignored` (live minus ignored fields) lacks.
fn restore(target: &mut Value, live: &Value, ignored: &Value) {
    match (live, ignored) {
        (Value::Object(l), Value::Object(n)) => {
            if !target.is_object() {
                *target = Value::Object(serde_json::Map::new());
            }
            let Some(t) = target.as_object_mut() else { return };
            for (k, lv) in l {
                match n.get(k) {
                    None => {
                        t.insert(k.clone(), lv.clone());
                    }
                    Some(nv) if nv != lv => match t.get_mut(k) {
                        Some(tv) => restore(tv, lv, nv),
                        None => {
                            let mut fresh = Value::Null;
                            restore(&mut fresh, lv, nv);
                            t.insert(k.clone(), fresh);
                        }
                    },
                    Some(_) => {}
                }
            }
        }
        (Value::Array(l), Value::Array(n)) if l.len() == n.len() => match target {
            Value::Array(t) if t.len() == l.len() => {
                for ((tv, lv), nv) in t.iter_mut().zip(l).zip(n) {
                    if lv != nv {
                        restore(tv, lv, nv);
                    }
                }
            }
            _ => *target = live.clone(),
        },
        _ => *target = live.clone(),
    }
}
