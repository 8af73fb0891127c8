//! The `argocd-cm` keys this crate needs: Lua health checks, `useOpenLibs` and resource
//! actions, in both forms users write them.
//!
//! * the older block form, one YAML map under `resource.customizations` keyed by `group/Kind`
//!   (`health.lua`, `health.lua.useOpenLibs`, `actions`);
//! * the split keys `resource.customizations.<type>.<group>_<Kind>` (or `.<Kind>` for the core
//!   group), which are applied after the block and win over it, as upstream does.
//!
//! Keys may be globs (`*.aws.crossplane.io/*`, or `resource.customizations.health.*.aws.crossplane.io_*`).
//! This module is self-contained so it can move into a shared settings crate later.

use std::collections::BTreeMap;

use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use serde_json::Value;
use tiphys_resource::GroupKind;

use crate::HealthError;

/// The `argocd-cm` data key of the block form, and the prefix of the split keys.
pub const RESOURCE_CUSTOMIZATIONS_KEY: &str = "resource.customizations";

/// Customization types other crates read from the same keys (diffing); accepted silently here.
const OTHER_KNOWN_TYPES: [&str; 3] = ["ignoreDifferences", "ignoreResourceUpdates", "knownTypeFields"];

/// The customizations of one group/kind key that concern health and actions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceOverride {
    /// Lua health script (`health.lua`); empty when none.
    pub health_lua: String,
    /// Whether the health script gets the string/math libraries (`useOpenLibs`).
    pub use_open_libs: bool,
    /// The actions document (`discovery.lua` + `definitions`) as YAML text; empty when none.
    pub actions: String,
}

/// The block form's per-key fields, spelled as upstream's JSON tags.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BlockEntry {
    #[serde(rename = "health.lua")]
    health_lua: String,
    #[serde(rename = "health.lua.useOpenLibs")]
    use_open_libs: bool,
    actions: String,
}

/// All health/action customizations of one `argocd-cm`, with wildcard keys pre-compiled.
#[derive(Debug, Clone, Default)]
pub struct ResourceOverrides {
    entries: BTreeMap<String, ResourceOverride>,
    globs: Vec<(String, GlobMatcher)>,
    warnings: Vec<String>,
}

impl ResourceOverrides {
    /// Reads the overrides from a whole `argocd-cm` ConfigMap object (its `data`).
    pub fn from_config_map(config_map: &Value) -> Result<Self, HealthError> {
        let mut data = BTreeMap::new();
        if let Some(map) = config_map.get("data").and_then(Value::as_object) {
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                data.insert(k.clone(), text);
            }
        }
        Self::from_data(&data)
    }

    /// Reads the overrides from `argocd-cm` `data`.
    pub fn from_data(data: &BTreeMap<String, String>) -> Result<Self, HealthError> {
        let mut out = Self::default();
        if let Some(block) = data.get(RESOURCE_CUSTOMIZATIONS_KEY).filter(|b| !b.trim().is_empty()) {
            let parsed: BTreeMap<String, BlockEntry> =
                serde_saphyr::from_str(block).map_err(|e| HealthError::Settings {
                    key: RESOURCE_CUSTOMIZATIONS_KEY.to_string(),
                    message: format!("not a map of `group/Kind` to customizations: {e}"),
                })?;
            for (key, entry) in parsed {
                out.entries.insert(
                    key,
                    ResourceOverride {
                        health_lua: entry.health_lua,
                        use_open_libs: entry.use_open_libs,
                        actions: entry.actions,
                    },
                );
            }
        }
        for (key, value) in data {
            let Some(rest) = key.strip_prefix(RESOURCE_CUSTOMIZATIONS_KEY).and_then(|r| r.strip_prefix('.'))
            else {
                continue;
            };
            let Some((kind_of_customization, group_kind)) = rest.split_once('.') else { continue };
            let override_key = split_key_to_override_key(key, group_kind)?;
            match kind_of_customization {
                "health" => out.entry(override_key).health_lua = value.clone(),
                "useOpenLibs" => out.entry(override_key).use_open_libs = parse_go_bool(key, value)?,
                "actions" => out.entry(override_key).actions = value.clone(),
                t if OTHER_KNOWN_TYPES.contains(&t) => {}
                other => out.warnings.push(format!(
                    "argocd-cm key {key:?}: resource customization type {other:?} is not supported \
                     (known: health, useOpenLibs, actions, {}); the key is ignored",
                    OTHER_KNOWN_TYPES.join(", ")
                )),
            }
        }
        for key in out.entries.keys() {
            if key.contains(['*', '?', '[', '{']) {
                let glob = Glob::new(key).map_err(|e| HealthError::Settings {
                    key: key.clone(),
                    message: format!("invalid wildcard pattern: {e}"),
                })?;
                out.globs.push((key.clone(), glob.compile_matcher()));
            }
        }
        Ok(out)
    }

    fn entry(&mut self, key: String) -> &mut ResourceOverride {
        self.entries.entry(key).or_default()
    }

    /// Problems that did not stop parsing (unsupported customization types), for the caller
    /// to log.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Number of group/kind keys with any health or action customization.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no customizations at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The override stored under exactly this key (`group/Kind` or `Kind`).
    pub fn get(&self, key: &str) -> Option<&ResourceOverride> {
        self.entries.get(key)
    }

    /// The health script for a kind and whether it gets the open libraries: the exact key
    /// first, then the first wildcard key (in key order) that matches and has a script.
    pub fn health_script(&self, gk: &GroupKind) -> Option<(&str, bool)> {
        let key = override_key(gk);
        if let Some(o) = self.entries.get(&key).filter(|o| !o.health_lua.is_empty()) {
            return Some((&o.health_lua, o.use_open_libs));
        }
        self.globs
            .iter()
            .filter(|(_, m)| m.is_match(&key))
            .filter_map(|(k, _)| self.entries.get(k))
            .find(|o| !o.health_lua.is_empty())
            .map(|o| (o.health_lua.as_str(), o.use_open_libs))
    }

    /// The actions document for a kind (exact key only, as upstream looks actions up).
    pub fn actions(&self, gk: &GroupKind) -> Option<&str> {
        self.entries.get(&override_key(gk)).map(|o| o.actions.as_str()).filter(|a| !a.is_empty())
    }
}

/// Upstream's override key for a kind: `group/Kind`, or `Kind` for the core group.
pub fn override_key(gk: &GroupKind) -> String {
    if gk.group.is_empty() { gk.kind.clone() } else { format!("{}/{}", gk.group, gk.kind) }
}

/// `argoproj.io_Rollout` → `argoproj.io/Rollout`, `Pod` → `Pod`, `all` → `*/*`.
fn split_key_to_override_key(full_key: &str, group_kind: &str) -> Result<String, HealthError> {
    let parts: Vec<&str> = group_kind.split('_').collect();
    let key = match parts.as_slice() {
        [group, kind] => format!("{group}/{kind}"),
        [kind] if !kind.is_empty() => (*kind).to_string(),
        _ => {
            return Err(HealthError::Settings {
                key: full_key.to_string(),
                message: format!(
                    "group kind {group_kind:?} should be written `<group>_<Kind>` or `<Kind>` \
                     (one underscore between group and kind)"
                ),
            });
        }
    };
    Ok(if key == "all" { "*/*".to_string() } else { key })
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(key: &str, value: &str) -> Result<bool, HealthError> {
    match value.trim() {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        other => Err(HealthError::Settings {
            key: key.to_string(),
            message: format!("{other:?} is not a boolean: write true or false"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn split_keys_become_group_kind_keys() {
        let o = ResourceOverrides::from_data(&data(&[
            ("resource.customizations.health.argoproj.io_Rollout", "return {}"),
            ("resource.customizations.useOpenLibs.argoproj.io_Rollout", "true"),
            ("resource.customizations.health.Pod", "pod"),
            ("resource.customizations.actions.apps_Deployment", "discovery.lua: x"),
            ("resource.customizations.ignoreDifferences.all", "jsonPointers: [/a]"),
            ("timeout.reconciliation", "180s"),
        ]))
        .unwrap();
        let rollout = GroupKind::new("argoproj.io", "Rollout");
        assert_eq!(o.health_script(&rollout), Some(("return {}", true)));
        assert_eq!(o.health_script(&GroupKind::new("", "Pod")), Some(("pod", false)));
        assert_eq!(o.actions(&GroupKind::new("apps", "Deployment")), Some("discovery.lua: x"));
        assert!(o.warnings().is_empty(), "diffing customizations are known types");
        assert_eq!(o.len(), 3);
    }

    #[test]
    fn block_form_and_split_keys_merge_split_wins() {
        let block = "cert-manager.io/Certificate:\n  health.lua: |\n    old\n  health.lua.useOpenLibs: true\n  actions: |\n    discovery.lua: d\n";
        let o = ResourceOverrides::from_data(&data(&[
            ("resource.customizations", block),
            ("resource.customizations.health.cert-manager.io_Certificate", "new"),
        ]))
        .unwrap();
        let cert = GroupKind::new("cert-manager.io", "Certificate");
        assert_eq!(o.health_script(&cert), Some(("new", true)));
        assert_eq!(o.actions(&cert), Some("discovery.lua: d\n"));
    }

    #[test]
    fn wildcards_match_groups_and_kinds() {
        let o = ResourceOverrides::from_data(&data(&[
            ("resource.customizations.health.*.aws.crossplane.io_*", "aws"),
            ("resource.customizations", "\"*.gcp.crossplane.io/*\":\n  health.lua: gcp\n"),
        ]))
        .unwrap();
        assert_eq!(o.health_script(&GroupKind::new("ec2.aws.crossplane.io", "VPC")), Some(("aws", false)));
        assert_eq!(
            o.health_script(&GroupKind::new("sql.gcp.crossplane.io", "Instance")),
            Some(("gcp", false))
        );
        assert_eq!(o.health_script(&GroupKind::new("azure.crossplane.io", "X")), None);
    }

    #[test]
    fn bad_keys_and_values_name_the_key() {
        let err = ResourceOverrides::from_data(&data(&[("resource.customizations.health.a_b_c", "x")]))
            .unwrap_err();
        assert!(err.to_string().contains("resource.customizations.health.a_b_c"), "{err}");
        let err = ResourceOverrides::from_data(&data(&[("resource.customizations.useOpenLibs.X", "yes")]))
            .unwrap_err();
        assert!(err.to_string().contains("not a boolean"), "{err}");
        let err =
            ResourceOverrides::from_data(&data(&[("resource.customizations", "- a list")])).unwrap_err();
        assert!(err.to_string().contains("resource.customizations"), "{err}");
    }

    #[test]
    fn unsupported_types_are_warnings() {
        let o = ResourceOverrides::from_data(&data(&[(
            "resource.customizations.signature.argoproj.io_Application",
            "- cosign: {}",
        )]))
        .unwrap();
        assert_eq!(o.warnings().len(), 1);
        assert!(o.warnings()[0].contains("signature"));
    }

    #[test]
    fn config_map_object_is_read() {
        let cm = serde_json::json!({"data": {"resource.customizations.health.Pod": "x"}});
        let o = ResourceOverrides::from_config_map(&cm).unwrap();
        assert_eq!(o.len(), 1);
    }
}
