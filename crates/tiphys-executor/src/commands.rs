//! The writes and reads behind each command: apply (with strategy, force and retries), dry
//! run, delete (prune, hooks), the hook finalizer, namespace creation, and reading a task's
//! object back to judge its health or completion.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tiphys_health::{HOOK_FINALIZER, HealthStatusCode, RunContext};
use tiphys_kube::{ApplyMode, Deletion, Error, Propagation, WriteOptions};
use tiphys_resource::{GroupVersionKind, ResourceKey};
use tiphys_sync::Observed;
use tiphys_sync::plan::{ApplyStrategy, Task};

use crate::{ExecutionContext, Executor};

/// How long to wait, at most, for an object deleted before re-creation to disappear, or for a
/// new CRD to be established (upstream waits 3 s for CRDs).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(3);
const SETTLE_POLL: Duration = Duration::from_millis(25);

/// A successful write: kubectl's message (`deployment.apps/x configured`).
pub(crate) type WriteResult = Result<String, String>;

/// `kind.group/name` as kubectl prints it (`deployment.apps/web`, `service/web`).
pub(crate) fn kubectl_name(key: &ResourceKey) -> String {
    let kind = key.kind.to_lowercase();
    if key.group.is_empty() {
        format!("{kind}/{}", key.name)
    } else {
        format!("{kind}.{}/{}", key.group, key.name)
    }
}

/// The version part of an object's `apiVersion`.
pub(crate) fn version_of(object: &Value) -> Option<String> {
    let api_version = object.get("apiVersion")?.as_str()?;
    Some(api_version.rsplit('/').next().unwrap_or(api_version).to_string())
}

fn resource_version(object: &Value) -> Option<&str> {
    object.pointer("/metadata/resourceVersion").and_then(Value::as_str)
}

fn has_finalizer(object: &Value) -> bool {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| f.iter().any(|v| v.as_str() == Some(HOOK_FINALIZER)))
}

/// Adds upstream's hook finalizer, so the hook object stays until its outcome was seen.
pub(crate) fn with_hook_finalizer(object: &mut Value) {
    if has_finalizer(object) {
        return;
    }
    let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    let finalizers = meta.entry("finalizers").or_insert_with(|| Value::Array(vec![]));
    if !finalizers.is_array() {
        *finalizers = Value::Array(vec![]);
    }
    if let Some(list) = finalizers.as_array_mut() {
        list.push(Value::String(HOOK_FINALIZER.into()));
    }
}

/// The propagation policy named by a plan (`foreground` when unknown, upstream's default).
pub(crate) fn propagation(policy: &str) -> Propagation {
    policy.parse().unwrap_or(Propagation::Foreground)
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Executor {
    fn options(&self, dry_run: bool) -> WriteOptions {
        WriteOptions { field_manager: self.config.field_manager.clone(), dry_run }
    }

    /// Runs `write` again while it fails with a retryable error, with a doubling delay.
    async fn retrying<T, F, Fut>(&self, mut write: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        let mut delay = self.config.write_retry_delay;
        let mut attempt = 1;
        loop {
            match write().await {
                Err(e) if e.is_retryable() && attempt < self.config.write_attempts.max(1) => {
                    tracing::debug!(error = %e, attempt, "retrying a write");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Applies (or dry-runs) one task's object with its strategy. `describe`: the message is
    /// shown (a dry run only validates otherwise, and skips the read that words it).
    pub(crate) async fn write_task(
        &self,
        task: &Task,
        object: &Value,
        (strategy, force): (ApplyStrategy, bool),
        (dry_run, describe): (bool, bool),
    ) -> Result<String, Error> {
        let name = kubectl_name(&task.key);
        let suffix = if dry_run { " (server dry run)" } else { "" };
        let options = self.options(dry_run);
        // Resolving the object's version refreshes discovery once when the kind is new (a CRD
        // created since the last discovery), before the read below needs it.
        if let Ok(gvk) = GroupVersionKind::of(object) {
            self.cluster.resolve(&gvk).await?;
        }
        // The read before the write decides Replace and tells "unchanged" from "configured";
        // otherwise the plan's view of the live state (from the controller's cache) is enough
        // to tell "created", which saves a request before the first write.
        // Hooks are read too: one deleted before re-creation is no longer what the plan saw.
        let read = strategy == ApplyStrategy::Replace
            || (!dry_run && task.hook.is_some())
            || (strategy == ApplyStrategy::ClientSideApply && (!dry_run || describe));
        let before = if read { self.retrying(|| self.cluster.get(&task.key)).await? } else { None };
        let existed = if read { before.is_some() } else { task.live_exists };
        let verb = match strategy {
            ApplyStrategy::Replace => self.replace(task, object, before.as_ref(), force, &options).await?,
            ApplyStrategy::ClientSideApply | ApplyStrategy::ServerSideApply => {
                let mode = match strategy {
                    ApplyStrategy::ServerSideApply => ApplyMode::ServerSide { force: true },
                    _ => ApplyMode::ClientSide,
                };
                match self.retrying(|| self.cluster.apply(object, mode, &options)).await {
                    Ok(_) if !existed => "created",
                    Ok(_) if mode != ApplyMode::ClientSide => "serverside-applied",
                    Ok(after) if before.as_ref().and_then(resource_version) == resource_version(&after) => {
                        "unchanged"
                    }
                    Ok(_) => "configured",
                    // `--force`: an update the server refuses becomes delete and re-create.
                    Err(Error::Invalid { .. } | Error::Conflict { .. } | Error::FieldConflict { .. })
                        if force && existed =>
                    {
                        if !dry_run {
                            self.recreate(&task.key, object, &options).await?;
                        }
                        "replaced"
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        if !dry_run && task.key.kind == "CustomResourceDefinition" {
            self.await_crd(&task.key).await;
        }
        Ok(format!("{name} {verb}{suffix}"))
    }

    async fn replace(
        &self,
        task: &Task,
        object: &Value,
        live: Option<&Value>,
        force: bool,
        options: &WriteOptions,
    ) -> Result<&'static str, Error> {
        let Some(live) = live else {
            self.retrying(|| self.cluster.create(object, options)).await?;
            return Ok("created");
        };
        if force
            && !options.dry_run
            && task.key.kind != "Namespace"
            && task.key.kind != "CustomResourceDefinition"
        {
            self.recreate(&task.key, object, options).await?;
            return Ok("replaced");
        }
        // An update at the live resourceVersion (upstream updates CRDs and Namespaces rather than
        // replacing them, so their contents stay). A conflict means someone wrote in between:
        // the retry reads the object again instead of resending a stale version.
        let known = std::sync::Mutex::new(Some(live.clone()));
        self.retrying(|| async {
            let first = known.lock().ok().and_then(|mut k| k.take());
            let live = match first {
                Some(live) => Some(live),
                None => self.cluster.get(&task.key).await?,
            };
            let mut update = object.clone();
            if let (Some(meta), Some(rv)) = (
                update.get_mut("metadata").and_then(Value::as_object_mut),
                live.as_ref().and_then(resource_version),
            ) {
                meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
            }
            self.cluster.replace(&update, options).await
        })
        .await?;
        Ok("replaced")
    }

    /// Deletes an object and creates it again once it is gone (`Force=true`).
    async fn recreate(&self, key: &ResourceKey, object: &Value, options: &WriteOptions) -> Result<(), Error> {
        self.retrying(|| self.cluster.delete(key, Propagation::Foreground, false)).await?;
        self.await_gone(key).await?;
        self.retrying(|| self.cluster.create(object, options)).await?;
        Ok(())
    }

    /// Waits (bounded) until an object no longer exists.
    pub(crate) async fn await_gone(&self, key: &ResourceKey) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
        while self.cluster.get(key).await?.is_some() {
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Conflict {
                    resource: key.to_string(),
                    message: "still being deleted; it is re-created once it is gone".into(),
                });
            }
            tokio::time::sleep(SETTLE_POLL).await;
        }
        Ok(())
    }

    /// Waits (bounded) until a CRD reports `Established`, so its custom resources can follow.
    async fn await_crd(&self, key: &ResourceKey) {
        let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
        while tokio::time::Instant::now() < deadline {
            let established = self.cluster.get(key).await.ok().flatten().is_some_and(|crd| {
                crd.pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .is_some_and(|c| c.iter().any(|c| c["type"] == "Established" && c["status"] == "True"))
            });
            if established {
                let _ = self.cluster.refresh_discovery().await;
                return;
            }
            tokio::time::sleep(SETTLE_POLL).await;
        }
        tracing::warn!(crd = %key.name, "CRD not established after 3s; continuing");
    }

    /// Removes the hook finalizer from the live object (re-reading it on a conflict). A gone
    /// object needs nothing.
    pub(crate) async fn remove_hook_finalizer(&self, key: &ResourceKey) -> Result<(), Error> {
        for _ in 0..self.config.write_attempts.max(1) {
            let Some(mut live) = self.cluster.get(key).await? else { return Ok(()) };
            if !has_finalizer(&live) {
                return Ok(());
            }
            if let Some(list) = live.pointer_mut("/metadata/finalizers").and_then(Value::as_array_mut) {
                list.retain(|v| v.as_str() != Some(HOOK_FINALIZER));
            }
            match self.cluster.replace(&live, &self.options(false)).await {
                Ok(_) | Err(Error::NotFound { .. }) => return Ok(()),
                Err(e @ Error::Conflict { .. }) => {
                    tracing::debug!(error = %e, "finalizer removal conflicted")
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict {
            resource: key.to_string(),
            message: "the hook finalizer could not be removed".into(),
        })
    }

    /// Deletes a hook: finalizer first, then the object (foreground, as upstream).
    pub(crate) async fn delete_hook(&self, key: &ResourceKey) -> Result<Deletion, Error> {
        self.remove_hook_finalizer(key).await?;
        self.retrying(|| self.cluster.delete(key, Propagation::Foreground, false)).await
    }

    /// Creates or updates the destination namespace with the managed labels and annotations,
    /// server-side applied so metadata other managers set is kept.
    pub(crate) async fn apply_namespace(&self, ctx: &ExecutionContext, dry_run: bool) -> WriteResult {
        let key = ResourceKey::new("", "Namespace", "", ctx.namespace.clone());
        let mut metadata = Map::new();
        metadata.insert("name".into(), Value::String(ctx.namespace.clone()));
        if let Some(managed) = &ctx.managed_namespace_metadata {
            if let Some(labels) = &managed.labels {
                metadata.insert("labels".into(), json!(labels));
            }
            if let Some(annotations) = &managed.annotations {
                metadata.insert("annotations".into(), json!(annotations));
            }
        }
        let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata});
        let options = self.options(dry_run);
        let before = self.cluster.get(&key).await.map_err(|e| e.to_string())?;
        self.retrying(|| self.cluster.apply(&object, ApplyMode::ServerSide { force: true }, &options))
            .await
            .map_err(|e| format!("Namespace auto creation failed: {e}"))?;
        let verb = if before.is_some() { "serverside-applied" } else { "created" };
        Ok(format!("{} {verb}", kubectl_name(&key)))
    }

    /// Reads a task's object and judges it: health for resources, completion for hooks
    /// (upstream: Healthy = succeeded, Degraded or Unknown = failed, anything else runs).
    /// `None` when there is nothing new to report.
    pub(crate) async fn observe_apply(&self, task: &Task) -> Option<(Observed, String)> {
        let live = match self.cluster.get(&task.key).await {
            Ok(live) => live,
            Err(e) => {
                tracing::debug!(resource = %task.key, error = %e, "health read failed; retrying later");
                return None;
            }
        };
        let hook = task.hook.is_some();
        let Some(live) = live else {
            // A vanished hook can never complete; a vanished resource may be re-created.
            return hook.then(|| {
                let message = "the hook object was deleted before it completed".to_string();
                (Observed::Degraded(message.clone()), message)
            });
        };
        let context = RunContext { now_unix: now_unix(), deadline: None };
        let Some(health) = self.health.resource_health(&live, &context) else {
            let message = if hook { format!("{} created", task.key.name) } else { String::new() };
            return Some((Observed::Healthy, message));
        };
        let message = health.message.clone();
        match health.status {
            HealthStatusCode::Healthy => Some((Observed::Healthy, message)),
            HealthStatusCode::Degraded => Some((Observed::Degraded(message.clone()), message)),
            HealthStatusCode::Unknown if hook => Some((Observed::Degraded(message.clone()), message)),
            _ => None,
        }
    }
}
