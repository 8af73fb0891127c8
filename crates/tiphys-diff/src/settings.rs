//! The diff-related settings of `argocd-cm`, read exactly as users write them today:
//!
//! - `resource.customizations.ignoreDifferences.<group>_<Kind>` (core kinds: `<Kind>`) and
//!   `resource.customizations.ignoreDifferences.all`, each a YAML document with
//!   `jsonPointers`, `jqPathExpressions` and `managedFieldsManagers`;
//! - the `resource.customizations` block (YAML keyed `group/Kind`, globs allowed) whose
//!   entries carry an `ignoreDifferences` YAML string;
//! - `resource.compareoptions` (`ignoreAggregatedRoles`, `ignoreResourceStatusField`).
//!
//! Kept free of the rest of the crate's internals so it can move to a shared settings crate.

use serde::Deserialize;
use serde_json::Value;
use tiphys_resource::yaml::parse_document;

use crate::{CompareOptions, DiffError, ResourceIgnoreDifferences, StatusFieldMode};

const SPLIT_PREFIX: &str = "resource.customizations.ignoreDifferences.";
const BLOCK_KEY: &str = "resource.customizations";
const COMPARE_KEY: &str = "resource.compareoptions";

/// Diff settings from one argocd-cm snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiffSettings {
    /// System-level ignore rules, in key order (split keys first, then the block).
    pub ignore_differences: Vec<ResourceIgnoreDifferences>,
    /// `resource.compareoptions`.
    pub compare: CompareOptions,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Paths {
    #[serde(default)]
    json_pointers: Vec<String>,
    #[serde(default)]
    jq_path_expressions: Vec<String>,
    #[serde(default)]
    managed_fields_managers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCompareOptions {
    #[serde(default)]
    ignore_aggregated_roles: bool,
    #[serde(default)]
    ignore_resource_status_field: Option<String>,
}

fn invalid(key: &str, message: impl Into<String>) -> DiffError {
    DiffError::InvalidSetting { key: key.to_string(), message: message.into() }
}

fn yaml_of(key: &str, value: &Value) -> Result<Value, DiffError> {
    match value {
        Value::String(text) => parse_document(text).map_err(|e| invalid(key, format!("not valid YAML: {e}"))),
        other => Ok(other.clone()),
    }
}

fn paths(key: &str, value: &Value) -> Result<Paths, DiffError> {
    let doc = yaml_of(key, value)?;
    if doc.is_null() {
        return Ok(Paths::default());
    }
    serde_json::from_value(doc).map_err(|e| {
        invalid(key, format!("expected jsonPointers / jqPathExpressions / managedFieldsManagers lists: {e}"))
    })
}

fn rule(group: &str, kind: &str, p: Paths) -> ResourceIgnoreDifferences {
    ResourceIgnoreDifferences {
        group: group.to_string(),
        kind: kind.to_string(),
        json_pointers: p.json_pointers,
        jq_path_expressions: p.jq_path_expressions,
        managed_fields_managers: p.managed_fields_managers,
        ..Default::default()
    }
}

/// `group_Kind` (split keys) → (group, kind); a key without `_` is a core kind; `all` is every kind.
fn split_key_group_kind(suffix: &str) -> (String, String) {
    if suffix == "all" {
        return ("*".into(), "*".into());
    }
    match suffix.rsplit_once('_') {
        Some((g, k)) => (g.to_string(), k.to_string()),
        None => (String::new(), suffix.to_string()),
    }
}

/// `group/Kind` (block keys) → (group, kind); `Kind` alone is a core kind.
fn block_key_group_kind(key: &str) -> (String, String) {
    match key.rsplit_once('/') {
        Some((g, k)) => (g.to_string(), k.to_string()),
        None => (String::new(), key.to_string()),
    }
}

impl DiffSettings {
    /// Reads the settings from an argocd-cm ConfigMap object (or just its `data` map).
    pub fn from_config_map(cm: &Value) -> Result<Self, DiffError> {
        let data = cm.get("data").unwrap_or(cm);
        let Some(data) = data.as_object() else {
            return Ok(Self::default());
        };
        let mut out = Self::default();
        let mut split_keys: Vec<&String> = data.keys().filter(|k| k.starts_with(SPLIT_PREFIX)).collect();
        split_keys.sort();
        for key in split_keys {
            let (group, kind) = split_key_group_kind(&key[SPLIT_PREFIX.len()..]);
            out.ignore_differences.push(rule(&group, &kind, paths(key, &data[key])?));
        }
        if let Some(block) = data.get(BLOCK_KEY) {
            let block = yaml_of(BLOCK_KEY, block)?;
            if let Some(entries) = block.as_object() {
                for (gk, entry) in entries {
                    if let Some(ignore) = entry.get("ignoreDifferences") {
                        let (group, kind) = block_key_group_kind(gk);
                        let key = format!("{BLOCK_KEY} {gk}.ignoreDifferences");
                        out.ignore_differences.push(rule(&group, &kind, paths(&key, ignore)?));
                    }
                }
            } else if !block.is_null() {
                return Err(invalid(BLOCK_KEY, "expected a map keyed by group/Kind"));
            }
        }
        if let Some(v) = data.get(COMPARE_KEY) {
            let doc = yaml_of(COMPARE_KEY, v)?;
            if !doc.is_null() {
                let raw: RawCompareOptions = serde_json::from_value(doc).map_err(|e| {
                    invalid(
                        COMPARE_KEY,
                        format!("expected ignoreAggregatedRoles / ignoreResourceStatusField: {e}"),
                    )
                })?;
                out.compare.ignore_aggregated_roles = raw.ignore_aggregated_roles;
                if let Some(mode) = raw.ignore_resource_status_field {
                    out.compare.ignore_resource_status_field = match mode.as_str() {
                        "all" => StatusFieldMode::All,
                        "crd" => StatusFieldMode::Crd,
                        "none" | "off" => StatusFieldMode::None,
                        other => {
                            return Err(invalid(
                                COMPARE_KEY,
                                format!("ignoreResourceStatusField {other:?}: use all, crd or none"),
                            ));
                        }
                    };
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn split_keys_all_and_core_kinds() {
        let cm = json!({"data": {
            "resource.customizations.ignoreDifferences.admissionregistration.k8s.io_MutatingWebhookConfiguration": "jqPathExpressions:\n- .webhooks[].clientConfig.caBundle\n",
            "resource.customizations.ignoreDifferences.all": "managedFieldsManagers:\n- kube-controller-manager\njsonPointers:\n- /spec/replicas\n",
            "resource.customizations.ignoreDifferences.Service": "jsonPointers:\n- /spec/clusterIP\n",
        }});
        let s = DiffSettings::from_config_map(&cm).unwrap();
        let gk: Vec<(&str, &str)> =
            s.ignore_differences.iter().map(|r| (r.group.as_str(), r.kind.as_str())).collect();
        assert_eq!(
            gk,
            vec![
                ("", "Service"),
                ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
                ("*", "*")
            ]
        );
        assert_eq!(s.ignore_differences[2].managed_fields_managers, vec!["kube-controller-manager"]);
        assert_eq!(s.ignore_differences[2].json_pointers, vec!["/spec/replicas"]);
        assert_eq!(s.ignore_differences[1].jq_path_expressions, vec![".webhooks[].clientConfig.caBundle"]);
    }

    #[test]
    fn customizations_block_and_compare_options() {
        let cm = json!({"data": {
            "resource.customizations": "apps/Deployment:\n  ignoreDifferences: |\n    jsonPointers:\n    - /spec/replicas\n\"*.crossplane.io/*\":\n  ignoreDifferences: |\n    jsonPointers:\n    - /spec/x\nConfigMap:\n  health.lua: return {}\n",
            "resource.compareoptions": "ignoreAggregatedRoles: true\nignoreResourceStatusField: crd\n",
        }});
        let s = DiffSettings::from_config_map(&cm).unwrap();
        assert_eq!(s.ignore_differences.len(), 2);
        assert_eq!(
            (s.ignore_differences[0].group.as_str(), s.ignore_differences[0].kind.as_str()),
            ("apps", "Deployment")
        );
        assert_eq!(
            (s.ignore_differences[1].group.as_str(), s.ignore_differences[1].kind.as_str()),
            ("*.crossplane.io", "*")
        );
        assert!(s.compare.ignore_aggregated_roles);
        assert_eq!(s.compare.ignore_resource_status_field, StatusFieldMode::Crd);
    }

    #[test]
    fn defaults_and_errors() {
        let s = DiffSettings::from_config_map(&json!({"data": {}})).unwrap();
        assert_eq!(s.compare.ignore_resource_status_field, StatusFieldMode::All);
        assert!(s.ignore_differences.is_empty());
        let bad = DiffSettings::from_config_map(
            &json!({"data": {"resource.compareoptions": "ignoreResourceStatusField: sometimes\n"}}),
        );
        assert!(
            matches!(bad, Err(DiffError::InvalidSetting { ref key, .. }) if key == "resource.compareoptions")
        );
        let bad_yaml = DiffSettings::from_config_map(
            &json!({"data": {"resource.customizations.ignoreDifferences.all": "jsonPointers: [\n"}}),
        );
        assert!(bad_yaml.is_err());
        let bad_shape = DiffSettings::from_config_map(
            &json!({"data": {"resource.customizations.ignoreDifferences.all": "jsonPointers: 3\n"}}),
        );
        assert!(bad_shape.is_err());
    }
}
