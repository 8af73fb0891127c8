//! The `resource.customizations*` keys of argocd-cm, in both forms users write them:
//!
//! - the block form: one YAML map under `resource.customizations`, keyed by `group/Kind` (or
//!   `Kind` for the core group; globs such as `*.crossplane.io/*` allowed), each entry with
//!   `health.lua`, `health.lua.useOpenLibs`, `actions`, `ignoreDifferences`,
//!   `ignoreResourceUpdates` and `knownTypeFields`;
//! - split keys `resource.customizations.<type>.<group>_<Kind>` (or `.<Kind>`, or `.all` for
//!   every kind), applied after the block so they win field by field, as upstream merges them.
//!
//! A bad entry is skipped with a [`SettingsProblem`](crate::SettingsProblem); the rest load.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use tiphys_resource::GroupKind;

use crate::argocd_cm::{Reader, parse_go_bool};

/// The data key of the block form, and the prefix of the split keys.
pub const RESOURCE_CUSTOMIZATIONS_KEY: &str = "resource.customizations";

/// Fields to leave out of a comparison (`ignoreDifferences`) or out of the refresh trigger
/// (`ignoreResourceUpdates`), spelled as upstream's `OverrideIgnoreDiff`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OverrideIgnoreDiff {
    /// RFC 6901 pointers.
    pub json_pointers: Vec<String>,
    /// jq path expressions (applied as `del(<expr>)`).
    pub jq_path_expressions: Vec<String>,
    /// Field managers whose fields are ignored.
    pub managed_fields_managers: Vec<String>,
}

impl OverrideIgnoreDiff {
    /// Whether no field is listed.
    pub fn is_empty(&self) -> bool {
        self.json_pointers.is_empty()
            && self.jq_path_expressions.is_empty()
            && self.managed_fields_managers.is_empty()
    }
}

/// A field of a custom resource that holds a built-in Kubernetes type (`knownTypeFields`), so
/// the diff can apply that type's defaults and equivalences to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct KnownTypeField {
    /// Dotted path of the field, e.g. `spec.jobTemplate.spec.template.spec`.
    pub field: String,
    /// The type, e.g. `core/v1/PodSpec`.
    #[serde(rename = "type")]
    pub type_: String,
}

/// All customizations of one `group/Kind` key (upstream's `ResourceOverride`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceOverride {
    /// Lua health script (`health.lua`); empty when none.
    pub health_lua: String,
    /// Whether the health script gets the string/math libraries (`useOpenLibs`).
    pub use_open_libs: bool,
    /// The actions document (`discovery.lua` + `definitions`) as YAML text; empty when none.
    pub actions: String,
    /// System-level `ignoreDifferences` for the kind.
    pub ignore_differences: OverrideIgnoreDiff,
    /// Fields whose changes alone do not trigger a refresh.
    pub ignore_resource_updates: OverrideIgnoreDiff,
    /// Fields of built-in types inside custom resources.
    pub known_type_fields: Vec<KnownTypeField>,
}

/// Upstream's override key for a kind: `group/Kind`, or `Kind` for the core group.
pub fn override_key(gk: &GroupKind) -> String {
    if gk.group.is_empty() { gk.kind.clone() } else { format!("{}/{}", gk.group, gk.kind) }
}

/// The (group, kind) patterns of an override key: `group/Kind` → (`group`, `Kind`), `Kind` →
/// (``, `Kind`); `*/*` (from `.all`) → (`*`, `*`).
pub fn split_override_key(key: &str) -> (&str, &str) {
    key.rsplit_once('/').unwrap_or(("", key))
}

const TYPES: [&str; 6] =
    ["health", "useOpenLibs", "actions", "ignoreDifferences", "ignoreResourceUpdates", "knownTypeFields"];

/// Reads the block form, then the split keys over it.
pub(crate) fn read_overrides(reader: &mut Reader<'_>) -> BTreeMap<String, ResourceOverride> {
    let mut out = BTreeMap::new();
    if let Some(block) = reader.yaml(RESOURCE_CUSTOMIZATIONS_KEY) {
        match block {
            Value::Object(entries) => {
                for (gk, entry) in &entries {
                    read_block_entry(reader, gk, entry, out.entry(gk.clone()).or_default());
                }
            }
            _ => reader.problem(
                RESOURCE_CUSTOMIZATIONS_KEY,
                "expected a map keyed by `group/Kind` (e.g. `apps/Deployment:`); the block is ignored",
            ),
        }
    }
    let split_keys: Vec<String> = reader
        .data
        .keys()
        .filter(|k| k.starts_with(&format!("{RESOURCE_CUSTOMIZATIONS_KEY}.")))
        .cloned()
        .collect();
    for key in split_keys {
        let rest = &key[RESOURCE_CUSTOMIZATIONS_KEY.len() + 1..];
        let Some((kind_of_customization, group_kind)) = rest.split_once('.') else {
            reader.problem(&key, "write resource.customizations.<type>.<group>_<Kind>; the key is ignored");
            continue;
        };
        if !TYPES.contains(&kind_of_customization) {
            reader.problem(
                &key,
                format!(
                    "resource customization type {kind_of_customization:?} is not supported (known: {}); the key is ignored",
                    TYPES.join(", ")
                ),
            );
            continue;
        }
        let Some(override_key) = split_key_to_override_key(group_kind) else {
            reader.problem(
                &key,
                format!(
                    "group kind {group_kind:?} should be written `<group>_<Kind>` or `<Kind>` (one underscore between group and kind); the key is ignored"
                ),
            );
            continue;
        };
        let Some(value) = reader.data.get(&key) else { continue };
        let value = value.clone();
        read_field(reader, &key, kind_of_customization, &value, out.entry(override_key).or_default());
    }
    out.retain(|_, o| *o != ResourceOverride::default());
    out
}

/// `argoproj.io_Rollout` → `argoproj.io/Rollout`, `Pod` → `Pod`, `all` → `*/*`.
fn split_key_to_override_key(group_kind: &str) -> Option<String> {
    let parts: Vec<&str> = group_kind.split('_').collect();
    match parts.as_slice() {
        ["all"] => Some("*/*".to_string()),
        [kind] if !kind.is_empty() => Some((*kind).to_string()),
        [group, kind] if !kind.is_empty() => Some(format!("{group}/{kind}")),
        _ => None,
    }
}

/// One entry of the block form.
fn read_block_entry(reader: &mut Reader<'_>, gk: &str, entry: &Value, out: &mut ResourceOverride) {
    let Some(fields) = entry.as_object() else {
        if !entry.is_null() {
            reader.problem(
                &format!("{RESOURCE_CUSTOMIZATIONS_KEY} {gk}"),
                "expected a map of health.lua / actions / ignoreDifferences / ...; the entry is ignored",
            );
        }
        return;
    };
    for (field, value) in fields {
        let name = format!("{RESOURCE_CUSTOMIZATIONS_KEY} {gk}.{field}");
        let type_ = match field.as_str() {
            "health.lua" => "health",
            "health.lua.useOpenLibs" => "useOpenLibs",
            "actions" | "ignoreDifferences" | "ignoreResourceUpdates" | "knownTypeFields" => field.as_str(),
            other => {
                reader.problem(
                    &name,
                    format!(
                        "unknown field {other:?} (known: health.lua, health.lua.useOpenLibs, actions, ignoreDifferences, ignoreResourceUpdates, knownTypeFields); it is ignored"
                    ),
                );
                continue;
            }
        };
        read_field(reader, &name, type_, value, out);
    }
}

/// Sets one customization field from its value (shared by both forms).
fn read_field(reader: &mut Reader<'_>, name: &str, type_: &str, value: &Value, out: &mut ResourceOverride) {
    match type_ {
        "health" | "actions" => {
            let Some(text) = value.as_str() else {
                if !value.is_null() {
                    reader.problem(name, "expected a string (a Lua script or YAML text); it is ignored");
                }
                return;
            };
            if type_ == "health" {
                out.health_lua = text.to_string();
            } else {
                out.actions = text.to_string();
            }
        }
        "useOpenLibs" => match value {
            Value::Bool(b) => out.use_open_libs = *b,
            Value::String(s) => match parse_go_bool(s.trim()) {
                Some(b) => out.use_open_libs = b,
                None => reader.problem(name, format!("{s:?} is not a boolean: write true or false")),
            },
            Value::Null => {}
            other => reader.problem(name, format!("{other} is not a boolean: write true or false")),
        },
        "ignoreDifferences" | "ignoreResourceUpdates" => {
            let Some(paths) = ignore_paths(reader, name, value) else { return };
            if type_ == "ignoreDifferences" {
                out.ignore_differences = paths;
            } else {
                out.ignore_resource_updates = paths;
            }
        }
        _ => {
            let Some(doc) = reader.yaml_value(name, value) else { return };
            match serde_json::from_value::<Vec<KnownTypeField>>(doc) {
                Ok(fields) => out.known_type_fields = fields,
                Err(e) => reader.problem(
                    name,
                    format!("expected a list of `field:` / `type:` entries ({e}); it is ignored"),
                ),
            }
        }
    }
}

fn ignore_paths(reader: &mut Reader<'_>, name: &str, value: &Value) -> Option<OverrideIgnoreDiff> {
    let doc = reader.yaml_value(name, value)?;
    match serde_json::from_value(doc) {
        Ok(paths) => Some(paths),
        Err(e) => {
            reader.problem(
                name,
                format!(
                    "expected a map with jsonPointers / jqPathExpressions / managedFieldsManagers lists of strings ({e}); it is ignored"
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Settings;
    use serde_json::{Value, json};

    use super::*;

    fn load(data: Value) -> (BTreeMap<String, ResourceOverride>, Vec<crate::SettingsProblem>) {
        let (s, problems) = Settings::from_configmap(Some(&json!({"data": data})));
        (s.resource_overrides, problems)
    }

    #[test]
    fn split_keys_of_every_type() {
        let (o, problems) = load(json!({
            "resource.customizations.health.argoproj.io_Rollout": "return {}",
            "resource.customizations.useOpenLibs.argoproj.io_Rollout": "true",
            "resource.customizations.actions.apps_Deployment": "discovery.lua: x",
            "resource.customizations.ignoreDifferences.all": "managedFieldsManagers:\n- kube-controller-manager\njsonPointers:\n- /spec/replicas\n",
            "resource.customizations.ignoreDifferences.admissionregistration.k8s.io_MutatingWebhookConfiguration": "jqPathExpressions:\n- .webhooks[].clientConfig.caBundle\n",
            "resource.customizations.ignoreResourceUpdates.Service": "jsonPointers:\n- /status\n",
            "resource.customizations.knownTypeFields.argoproj.io_Rollout": "- field: spec.template.spec\n  type: core/v1/PodSpec\n",
            "timeout.reconciliation": "180s",
        }));
        assert!(problems.is_empty(), "{problems:?}");
        let rollout = &o["argoproj.io/Rollout"];
        assert_eq!((rollout.health_lua.as_str(), rollout.use_open_libs), ("return {}", true));
        assert_eq!(
            rollout.known_type_fields,
            vec![KnownTypeField { field: "spec.template.spec".into(), type_: "core/v1/PodSpec".into() }]
        );
        assert_eq!(o["apps/Deployment"].actions, "discovery.lua: x");
        assert_eq!(o["*/*"].ignore_differences.managed_fields_managers, vec!["kube-controller-manager"]);
        assert_eq!(o["*/*"].ignore_differences.json_pointers, vec!["/spec/replicas"]);
        assert_eq!(
            o["admissionregistration.k8s.io/MutatingWebhookConfiguration"]
                .ignore_differences
                .jq_path_expressions,
            vec![".webhooks[].clientConfig.caBundle"]
        );
        assert_eq!(o["Service"].ignore_resource_updates.json_pointers, vec!["/status"]);
        assert_eq!(o.len(), 5);
    }

    #[test]
    fn block_form_and_split_keys_merge_split_wins() {
        let block = "cert-manager.io/Certificate:\n  health.lua: |\n    old\n  health.lua.useOpenLibs: true\n  actions: |\n    discovery.lua: d\n  ignoreDifferences: |\n    jsonPointers:\n    - /spec/a\n\"*.crossplane.io/*\":\n  ignoreDifferences:\n    jsonPointers: [/spec/x]\n  knownTypeFields:\n  - field: spec.pod\n    type: core/v1/PodSpec\nConfigMap:\n  health.lua: return {}\n";
        let (o, problems) = load(json!({
            "resource.customizations": block,
            "resource.customizations.health.cert-manager.io_Certificate": "new",
        }));
        assert!(problems.is_empty(), "{problems:?}");
        let cert = &o["cert-manager.io/Certificate"];
        assert_eq!((cert.health_lua.as_str(), cert.use_open_libs), ("new", true));
        assert_eq!(cert.actions, "discovery.lua: d\n");
        assert_eq!(cert.ignore_differences.json_pointers, vec!["/spec/a"]);
        assert_eq!(o["*.crossplane.io/*"].ignore_differences.json_pointers, vec!["/spec/x"]);
        assert_eq!(o["*.crossplane.io/*"].known_type_fields.len(), 1);
        assert_eq!(o["ConfigMap"].health_lua, "return {}");
        assert_eq!(split_override_key("*.crossplane.io/*"), ("*.crossplane.io", "*"));
        assert_eq!(split_override_key("ConfigMap"), ("", "ConfigMap"));
        assert_eq!(override_key(&GroupKind::new("", "Pod")), "Pod");
        assert_eq!(override_key(&GroupKind::new("apps", "Deployment")), "apps/Deployment");
    }

    #[test]
    fn bad_entries_are_skipped_with_a_problem_naming_the_key() {
        let (o, problems) = load(json!({
            "resource.customizations.health.a_b_c": "x",
            "resource.customizations.useOpenLibs.X": "yes",
            "resource.customizations.signature.argoproj.io_Application": "- cosign: {}",
            "resource.customizations.ignoreDifferences.all": "jsonPointers: 3\n",
            "resource.customizations.ignoreDifferences.Service": "jsonPointers: [\n",
            "resource.customizations.knownTypeFields.Foo": "field: x\n",
            "resource.customizations.health.Pod": "ok",
            "resource.customizations": "apps/Deployment:\n  health.lua: [1]\n  colour: blue\nStatefulSet: 3\n",
        }));
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        for key in [
            "resource.customizations.health.a_b_c",
            "resource.customizations.useOpenLibs.X",
            "resource.customizations.signature.argoproj.io_Application",
            "resource.customizations.ignoreDifferences.all",
            "resource.customizations.ignoreDifferences.Service",
            "resource.customizations.knownTypeFields.Foo",
            "resource.customizations apps/Deployment.health.lua",
            "resource.customizations apps/Deployment.colour",
            "resource.customizations StatefulSet",
        ] {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
        assert_eq!(problems.len(), 9, "{problems:?}");
        assert_eq!(o.keys().collect::<Vec<_>>(), vec!["Pod"], "only the good key is kept");
        let (_, problems) = load(json!({"resource.customizations": "- a list"}));
        assert_eq!(problems[0].key, "resource.customizations");
    }
}
