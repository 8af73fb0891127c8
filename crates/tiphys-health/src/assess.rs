//! Per-resource health as upstream's `GetResourceHealth` computes it, and resource actions.

use std::sync::Mutex;

use serde_json::Value;
use tiphys_resource::{GroupKind, GroupVersionKind};

use crate::{
    HealthError,
    actions::{self, ImpactedResource, ResourceAction, ResourceActions},
    builtin,
    lua::{INVALID_HEALTH_STATUS, Limits, LuaEngine, RunContext},
    overrides::{ResourceOverrides, override_key},
    status::{HealthStatus, HealthStatusCode},
};

/// Choices that are ours to make (upstream hard-codes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AssessOptions {
    /// Assess `argoproj.io/Application` children by their own reported health (for
    /// app-of-apps with sync waves). Off by default, as upstream since v1.8; a Lua
    /// customization for `argoproj.io/Application` also turns it on, as upstream documents.
    pub assess_applications: bool,
    /// Limits for every Lua run.
    pub limits: Limits,
}

/// Assesses resources with built-in checks and the `argocd-cm` Lua customizations. Holds the
/// compiled-script cache, so keep one per settings snapshot (it is `Sync`; Lua runs are
/// serialized inside).
#[derive(Debug)]
pub struct HealthAssessor {
    overrides: ResourceOverrides,
    options: AssessOptions,
    engine: Mutex<LuaEngine>,
}

impl HealthAssessor {
    /// An assessor for one set of customizations.
    pub fn new(overrides: ResourceOverrides, options: AssessOptions) -> Self {
        let engine = Mutex::new(LuaEngine::new(options.limits));
        Self { overrides, options, engine }
    }

    /// The customizations in use.
    pub fn overrides(&self) -> &ResourceOverrides {
        &self.overrides
    }

    /// Health of one live object; `None` when neither a customization nor a built-in check
    /// applies (upstream shows no health for such kinds). Never fails: errors become
    /// `Unknown` with the reason as message.
    pub fn resource_health(&self, obj: &Value, ctx: &RunContext) -> Option<HealthStatus> {
        if let Some(pending) = builtin::pending_deletion(obj) {
            return Some(pending);
        }
        let gvk = match GroupVersionKind::of(obj) {
            Ok(gvk) => gvk,
            Err(e) => return Some(HealthStatus::new(HealthStatusCode::Unknown, e.to_string())),
        };
        let gk = gvk.group_kind();
        if let Some((script, open_libs)) = self.overrides.health_script(&gk) {
            return Some(match self.run_lua(script, open_libs, obj, None, ctx) {
                Ok(output) => health_from_lua(&output),
                Err(message) => HealthStatus::new(HealthStatusCode::Unknown, message),
            });
        }
        if let Some(status) = builtin::builtin_health(&gvk, obj) {
            return Some(status);
        }
        if self.options.assess_applications && gk.group == "argoproj.io" && gk.kind == "Application" {
            return Some(builtin::application_health(obj));
        }
        None
    }

    fn run_lua(
        &self,
        script: &str,
        open_libs: bool,
        obj: &Value,
        params: Option<&[(String, String)]>,
        ctx: &RunContext,
    ) -> Result<Value, String> {
        let mut engine =
            self.engine.lock().map_err(|_| "the Lua engine failed earlier in another thread".to_string())?;
        engine.run(script, open_libs, obj, params, ctx)
    }

    fn resource_actions(&self, gk: &GroupKind) -> Result<Option<ResourceActions>, HealthError> {
        let Some(text) = self.overrides.actions(gk) else { return Ok(None) };
        let key = format!("resource.customizations.actions.{}", override_key(gk).replace('/', "_"));
        ResourceActions::parse(text, &key).map(Some)
    }

    /// Runs `discovery.lua` for the object's kind. `Ok(None)` when the kind has no actions.
    pub fn list_actions(
        &self,
        obj: &Value,
        ctx: &RunContext,
    ) -> Result<Option<Vec<ResourceAction>>, HealthError> {
        let gk = GroupVersionKind::of(obj)?.group_kind();
        let Some(actions) = self.resource_actions(&gk)? else { return Ok(None) };
        let output = self
            .run_lua(&actions.discovery_lua, true, obj, None, ctx)
            .map_err(|message| HealthError::Script { script: format!("discovery.lua of {gk}"), message })?;
        actions::parse_discovery(&output)
            .map(Some)
            .map_err(|message| HealthError::Script { script: format!("discovery.lua of {gk}"), message })
    }

    /// Runs one action on the object and returns the objects to apply. `Ok(None)` when the
    /// kind has no actions.
    pub fn run_action(
        &self,
        obj: &Value,
        action: &str,
        params: &[(String, String)],
        ctx: &RunContext,
    ) -> Result<Option<Vec<ImpactedResource>>, HealthError> {
        let gk = GroupVersionKind::of(obj)?.group_kind();
        let Some(actions) = self.resource_actions(&gk)? else { return Ok(None) };
        let Some(definition) = actions.definition(action) else {
            let known: Vec<&str> = actions.definitions.iter().map(|d| d.name.as_str()).collect();
            return Err(HealthError::UnknownAction {
                action: action.to_string(),
                kind: gk.to_string(),
                known: known.join(", "),
            });
        };
        let script = format!("action.lua of action {action:?} for {gk}");
        let output = self
            .run_lua(&definition.action_lua, true, obj, Some(params), ctx)
            .map_err(|message| HealthError::Script { script: script.clone(), message })?;
        actions::parse_action_output(output, obj)
            .map(Some)
            .map_err(|message| HealthError::Script { script, message })
    }
}

/// Reads a health script's returned table the way upstream decodes `hs`.
fn health_from_lua(output: &Value) -> HealthStatus {
    let field = |name: &str| output.get(name).filter(|v| !v.is_null());
    let message = match field("message") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return HealthStatus::new(
                HealthStatusCode::Unknown,
                format!("health script returned a {} as hs.message; it must be a string", json_kind(other)),
            );
        }
    };
    match field("status") {
        Some(Value::String(s)) => match HealthStatusCode::parse(s) {
            Some(code) => HealthStatus::new(code, message),
            None => HealthStatus::new(HealthStatusCode::Unknown, INVALID_HEALTH_STATUS),
        },
        None => HealthStatus::new(HealthStatusCode::Unknown, INVALID_HEALTH_STATUS),
        Some(other) => HealthStatus::new(
            HealthStatusCode::Unknown,
            format!("health script returned a {} as hs.status; it must be a string", json_kind(other)),
        ),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) | Value::Object(_) => "table",
    }
}
