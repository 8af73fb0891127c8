//! Writes: server-side apply, client-side apply (kubectl's last-applied annotation and
//! three-way strategic merge patch, computed by `tiphys-patch`), create, replace, delete
//! with a propagation policy, and server-side dry-run for each.

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, PropagationPolicy};
use serde_json::{Map, Value};
use tiphys_resource::{GroupVersionKind, ResourceKey, annotations};

use crate::discovery::ApiResourceInfo;
use crate::{Cluster, Error, Result};

/// Upstream's field manager for the application controller's writes.
pub const DEFAULT_FIELD_MANAGER: &str = "argocd-controller";

/// How [`Cluster::apply`] applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// `kubectl apply`: store the configuration in the last-applied annotation and send a
    /// three-way patch (strategic for built-in kinds, JSON merge for custom resources).
    ClientSide,
    /// Server-side apply with the field manager; `force` takes over fields other managers own.
    ServerSide {
        /// Resolve ownership conflicts in favour of this manager.
        force: bool,
    },
}

/// Options shared by every write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// The field manager recorded in managedFields.
    pub field_manager: String,
    /// `dryRun=All`: the server validates, defaults and answers, but stores nothing.
    pub dry_run: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions { field_manager: DEFAULT_FIELD_MANAGER.to_string(), dry_run: false }
    }
}

/// `propagationPolicy` of a delete (one definition, in tiphys-resource).
pub use tiphys_resource::Propagation;

/// The body of a [`Cluster::patch`], by patch type.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchBody {
    /// RFC 7386 JSON merge patch (`null` deletes a key).
    Merge(Value),
    /// Kubernetes strategic merge patch (built-in kinds only).
    Strategic(Value),
}

/// The result of a delete.
#[derive(Debug, Clone, PartialEq)]
pub enum Deletion {
    /// The object no longer exists (or, on dry-run, would not).
    Gone,
    /// The object is marked for deletion and waits on finalizers (its current state).
    Pending(Value),
    /// There was nothing to delete.
    NotFound,
}

/// Where a request for one object goes.
struct Target {
    api: Api<DynamicObject>,
    info: ApiResourceInfo,
    name: String,
    label: String,
}

impl Cluster {
    /// Resolves an object's API endpoint; the namespace defaults to the kubeconfig's.
    async fn target(&self, object: &Value) -> Result<Target> {
        let key = ResourceKey::of(object)
            .map_err(|e| Error::BadObject { resource: "object".into(), message: e.to_string() })?;
        let gvk = GroupVersionKind::of(object)
            .map_err(|e| Error::BadObject { resource: key.to_string(), message: e.to_string() })?;
        let info = self.resolve(&gvk).await?;
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
        Ok(self.target_of(info, &key.namespace, name))
    }

    fn target_of(&self, info: ApiResourceInfo, namespace: &str, name: String) -> Target {
        let client = self.client().clone();
        let ar = info.api_resource();
        let (api, namespace) = if info.namespaced {
            let ns = if namespace.is_empty() { self.default_namespace() } else { namespace };
            (Api::namespaced_with(client, ns, &ar), ns.to_string())
        } else {
            (Api::all_with(client, &ar), String::new())
        };
        let label =
            ResourceKey::new(info.group.clone(), info.kind.clone(), namespace, name.clone()).to_string();
        Target { api, info, name, label }
    }

    fn require_name(target: &Target, what: &str) -> Result<()> {
        if target.name.is_empty() {
            return Err(Error::BadObject {
                resource: target.label.clone(),
                message: format!("{what} needs metadata.name; only create accepts generateName"),
            });
        }
        Ok(())
    }

    /// Reads one object; `None` when it does not exist.
    pub async fn get(&self, key: &ResourceKey) -> Result<Option<Value>> {
        let info = self.resolve_kind(&key.group_kind())?;
        let target = self.target_of(info, &key.namespace, key.name.clone());
        let found = target.api.get_opt(&target.name).await.map_err(|e| Error::from_kube(&target.label, e))?;
        found.map(|o| to_value(o, &target)).transpose()
    }

    /// Creates an object (`generateName` lets the server pick the name).
    pub async fn create(&self, object: &Value, options: &WriteOptions) -> Result<Value> {
        let target = self.target(object).await?;
        self.post(&target, object, options).await
    }

    async fn post(&self, target: &Target, object: &Value, options: &WriteOptions) -> Result<Value> {
        let params = post_params(options);
        let body = to_dynamic(object, target)?;
        let created =
            target.api.create(&params, &body).await.map_err(|e| Error::from_kube(&target.label, e))?;
        to_value(created, target)
    }

    /// Replaces an object (PUT). Without `metadata.resourceVersion` the update is
    /// unconditional; with it, a stale version is a [`Error::Conflict`].
    pub async fn replace(&self, object: &Value, options: &WriteOptions) -> Result<Value> {
        let target = self.target(object).await?;
        Self::require_name(&target, "replace")?;
        let body = to_dynamic(object, &target)?;
        let replaced = target
            .api
            .replace(&target.name, &post_params(options), &body)
            .await
            .map_err(|e| Error::from_kube(&target.label, e))?;
        to_value(replaced, &target)
    }

    /// Applies a configuration; returns the object as the server stored (or, on dry-run,
    /// would store) it. Re-applying an unchanged configuration changes nothing.
    pub async fn apply(&self, object: &Value, mode: ApplyMode, options: &WriteOptions) -> Result<Value> {
        let target = self.target(object).await?;
        Self::require_name(&target, "apply")?;
        match mode {
            ApplyMode::ServerSide { force } => {
                let mut params = PatchParams::apply(&options.field_manager);
                params.force = force;
                params.dry_run = options.dry_run;
                let applied = target
                    .api
                    .patch(&target.name, &params, &Patch::Apply(object))
                    .await
                    .map_err(|e| Error::from_kube(&target.label, e))?;
                to_value(applied, &target)
            }
            ApplyMode::ClientSide => self.client_side_apply(&target, object, options).await,
        }
    }

    async fn client_side_apply(
        &self,
        target: &Target,
        object: &Value,
        options: &WriteOptions,
    ) -> Result<Value> {
        let modified = with_last_applied(object, &target.label)?;
        let live = target.api.get_opt(&target.name).await.map_err(|e| Error::from_kube(&target.label, e))?;
        let Some(live) = live else {
            return self.post(target, &modified, options).await;
        };
        let live = to_value(live, target)?;
        let original = live["metadata"]["annotations"][annotations::LAST_APPLIED]
            .as_str()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .unwrap_or(Value::Null);
        let gvk = GroupVersionKind {
            group: target.info.group.clone(),
            version: target.info.version.clone(),
            kind: target.info.kind.clone(),
        };
        let patch = tiphys_patch::create_three_way_merge_patch(&original, &modified, &live, &gvk)
            .map_err(|e| Error::BadObject { resource: target.label.clone(), message: e.to_string() })?;
        if patch.as_object().is_some_and(Map::is_empty) {
            return Ok(live);
        }
        let patch =
            if tiphys_patch::is_builtin(&gvk) { Patch::Strategic(patch) } else { Patch::Merge(patch) };
        let params = PatchParams {
            dry_run: options.dry_run,
            field_manager: Some(options.field_manager.clone()),
            ..Default::default()
        };
        let patched = target
            .api
            .patch(&target.name, &params, &patch)
            .await
            .map_err(|e| Error::from_kube(&target.label, e))?;
        to_value(patched, target)
    }

    /// Patches an object in place: the controller's status writes (Applications have no status
    /// subresource, so upstream merge-patches the whole object) and finalizer edits. Putting
    /// `metadata.resourceVersion` in the body makes the patch conditional (a stale version is a
    /// [`Error::Conflict`]).
    pub async fn patch(&self, key: &ResourceKey, patch: PatchBody, options: &WriteOptions) -> Result<Value> {
        let info = self.resolve_kind(&key.group_kind())?;
        let target = self.target_of(info, &key.namespace, key.name.clone());
        let params = PatchParams {
            dry_run: options.dry_run,
            field_manager: Some(options.field_manager.clone()),
            ..Default::default()
        };
        let body = match patch {
            PatchBody::Merge(v) => Patch::Merge(v),
            PatchBody::Strategic(v) => Patch::Strategic(v),
        };
        let patched = target
            .api
            .patch(&target.name, &params, &body)
            .await
            .map_err(|e| Error::from_kube(&target.label, e))?;
        to_value(patched, &target)
    }

    /// Deletes an object with a propagation policy.
    pub async fn delete(
        &self,
        key: &ResourceKey,
        propagation: Propagation,
        dry_run: bool,
    ) -> Result<Deletion> {
        let info = self.resolve_kind(&key.group_kind())?;
        let target = self.target_of(info, &key.namespace, key.name.clone());
        let params = DeleteParams {
            propagation_policy: Some(match propagation {
                Propagation::Background => PropagationPolicy::Background,
                Propagation::Foreground => PropagationPolicy::Foreground,
                Propagation::Orphan => PropagationPolicy::Orphan,
            }),
            dry_run,
            ..Default::default()
        };
        match target.api.delete(&target.name, &params).await {
            Ok(either) => match either.left() {
                Some(object) => {
                    let value = to_value(object, &target)?;
                    let finalizers =
                        value["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
                    let marked = value["metadata"]["deletionTimestamp"].is_string();
                    Ok(if marked && finalizers { Deletion::Pending(value) } else { Deletion::Gone })
                }
                None => Ok(Deletion::Gone),
            },
            Err(e) => match Error::from_kube(&target.label, e) {
                Error::NotFound { .. } => Ok(Deletion::NotFound),
                other => Err(other),
            },
        }
    }
}

fn post_params(options: &WriteOptions) -> PostParams {
    PostParams { dry_run: options.dry_run, field_manager: Some(options.field_manager.clone()) }
}

/// The configuration with kubectl's last-applied annotation set to itself (minus that
/// annotation), serialized as kubectl does: keys sorted, compact, trailing newline.
pub(crate) fn with_last_applied(object: &Value, label: &str) -> Result<Value> {
    // kubectl serializes the object with an annotations map that exists but lacks this
    // annotation (`{}` when there were none); an identical text keeps kubectl's and our
    // re-applies no-ops.
    let mut bare = object.clone();
    if let Some(meta) = bare.get_mut("metadata").and_then(Value::as_object_mut) {
        let annos = meta.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
        if annos.is_null() {
            *annos = Value::Object(Map::new());
        }
        if let Some(annos) = annos.as_object_mut() {
            annos.remove(annotations::LAST_APPLIED);
        }
    }
    let text = format!("{}\n", sorted(&bare));
    let mut modified = object.clone();
    let meta = modified.get_mut("metadata").and_then(Value::as_object_mut).ok_or_else(|| {
        Error::BadObject { resource: label.into(), message: "metadata must be a map".into() }
    })?;
    let annos = meta.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
    if annos.is_null() {
        *annos = Value::Object(Map::new());
    }
    match annos.as_object_mut() {
        Some(map) => {
            map.insert(annotations::LAST_APPLIED.into(), Value::String(text));
        }
        None => {
            return Err(Error::BadObject {
                resource: label.into(),
                message: "metadata.annotations must be a map of strings".into(),
            });
        }
    }
    Ok(modified)
}

/// A copy with object keys in sorted order (what Go's encoding/json writes for maps).
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&map[k]))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn to_dynamic(object: &Value, target: &Target) -> Result<DynamicObject> {
    serde_json::from_value(object.clone()).map_err(|e| Error::BadObject {
        resource: target.label.clone(),
        message: format!("not a Kubernetes object: {e}"),
    })
}

fn to_value(object: DynamicObject, target: &Target) -> Result<Value> {
    let mut value = serde_json::to_value(object).map_err(|e| Error::Transport {
        resource: target.label.clone(),
        message: format!("undecodable answer: {e}"),
    })?;
    if let Some(map) = value.as_object_mut() {
        map.insert("apiVersion".into(), Value::String(target.info.api_version()));
        map.insert("kind".into(), Value::String(target.info.kind.clone()));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn last_applied_is_sorted_compact_and_excludes_itself() {
        let object = json!({
            "kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": "a", "annotations": {annotations::LAST_APPLIED: "old", "z": "1", "b": "2"}},
            "data": {"y": "1", "x": "2"}
        });
        let modified = with_last_applied(&object, "cm").expect("annotated");
        let text =
            modified["metadata"]["annotations"][annotations::LAST_APPLIED].as_str().expect("annotation");
        assert_eq!(
            text,
            "{\"apiVersion\":\"v1\",\"data\":{\"x\":\"2\",\"y\":\"1\"},\"kind\":\"ConfigMap\",\"metadata\":{\"annotations\":{\"b\":\"2\",\"z\":\"1\"},\"name\":\"a\"}}\n"
        );
        assert_eq!(modified["metadata"]["annotations"]["z"], "1");
    }

    #[test]
    fn last_applied_keeps_an_empty_annotations_map_as_kubectl_does() {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "annotations": {annotations::LAST_APPLIED: "old"}}});
        let modified = with_last_applied(&object, "cm").expect("annotated");
        let text =
            modified["metadata"]["annotations"][annotations::LAST_APPLIED].as_str().expect("annotation");
        assert_eq!(
            text,
            "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"annotations\":{},\"name\":\"a\"}}\n"
        );
        let none = with_last_applied(
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
            "cm",
        );
        let none = none.expect("annotated");
        assert_eq!(none["metadata"]["annotations"][annotations::LAST_APPLIED].as_str(), Some(text));
    }

    #[test]
    fn bad_metadata_is_a_clear_error_not_a_panic() {
        let err =
            with_last_applied(&json!({"metadata": "x"}), "v1/ConfigMap/default/a").expect_err("rejected");
        assert!(err.to_string().contains("v1/ConfigMap/default/a"), "{err}");
        let err = with_last_applied(&json!({"metadata": {"annotations": [1]}}), "cm").expect_err("rejected");
        assert!(err.to_string().contains("annotations"), "{err}");
    }
}
