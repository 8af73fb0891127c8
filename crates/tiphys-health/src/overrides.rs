//! The health and action customizations of one argocd-cm snapshot, looked up by kind.
//!
//! `tiphys-settings` reads every `resource.customizations*` form (block and split keys, split
//! keys winning) once for all engines; this module keeps the entries with a Lua health script
//! or actions and pre-compiles the wildcard keys (`*.aws.crossplane.io/*`).

use std::collections::BTreeMap;

use globset::{Glob, GlobMatcher};
use serde_json::Value;
use tiphys_resource::GroupKind;
use tiphys_settings::Settings;
pub use tiphys_settings::{RESOURCE_CUSTOMIZATIONS_KEY, ResourceOverride, override_key};

use crate::HealthError;

/// All health/action customizations of one `argocd-cm`, with wildcard keys pre-compiled.
#[derive(Debug, Clone, Default)]
pub struct ResourceOverrides {
    entries: BTreeMap<String, ResourceOverride>,
    globs: Vec<(String, GlobMatcher)>,
    warnings: Vec<String>,
}

impl ResourceOverrides {
    /// The health and action part of a settings snapshot. A wildcard key that is not a valid
    /// glob is left out with a warning.
    pub fn from_settings(settings: &Settings) -> Self {
        let mut out = Self::default();
        for (key, o) in &settings.resource_overrides {
            if o.health_lua.is_empty() && o.actions.is_empty() {
                continue;
            }
            if key.contains(['*', '?', '[', '{']) {
                match Glob::new(key) {
                    Ok(glob) => out.globs.push((key.clone(), glob.compile_matcher())),
                    Err(e) => {
                        out.warnings.push(format!(
                            "argocd-cm {RESOURCE_CUSTOMIZATIONS_KEY} key {key:?}: invalid wildcard pattern ({e}); \
                             its health check and actions are ignored"
                        ));
                        continue;
                    }
                }
            }
            out.entries.insert(key.clone(), o.clone());
        }
        out
    }

    /// Reads argocd-cm (the ConfigMap object) on its own; problems with its
    /// `resource.customizations*` keys become [`ResourceOverrides::warnings`]. Prefer
    /// [`ResourceOverrides::from_settings`] with the snapshot everything else reads.
    pub fn from_config_map(config_map: &Value) -> Result<Self, HealthError> {
        let (settings, problems) = Settings::from_configmap(Some(config_map));
        let mut out = Self::from_settings(&settings);
        let relevant = problems.into_iter().filter(|p| p.key.starts_with(RESOURCE_CUSTOMIZATIONS_KEY));
        out.warnings.splice(0..0, relevant.map(|p| p.to_string()));
        Ok(out)
    }

    /// Reads argocd-cm `data` given as a string map; see [`ResourceOverrides::from_config_map`].
    pub fn from_data(data: &BTreeMap<String, String>) -> Result<Self, HealthError> {
        let data: serde_json::Map<String, Value> =
            data.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        Self::from_config_map(&serde_json::json!({ "data": data }))
    }

    /// Problems that did not stop loading (bad keys or values, invalid wildcards), for the
    /// caller to log.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Number of group/kind keys with a health script or actions.
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
        assert_eq!(o.len(), 3, "the ignoreDifferences-only key is not a health entry");
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
    fn bad_keys_and_values_are_warnings_naming_the_key() {
        let o = ResourceOverrides::from_data(&data(&[
            ("resource.customizations.health.a_b_c", "x"),
            ("resource.customizations.useOpenLibs.X", "yes"),
            ("resource.customizations.signature.argoproj.io_Application", "- cosign: {}"),
            ("resource.customizations.health.[oops_X", "return {}"),
            ("resource.customizations.health.Pod", "pod"),
        ]))
        .unwrap();
        let warnings = o.warnings().join("\n");
        for part in ["resource.customizations.health.a_b_c", "not a boolean", "signature", "[oops/X"] {
            assert!(warnings.contains(part), "{part} missing from {warnings}");
        }
        assert_eq!(o.health_script(&GroupKind::new("", "Pod")), Some(("pod", false)), "good keys still load");
        let o = ResourceOverrides::from_data(&data(&[("resource.customizations", "- a list")])).unwrap();
        assert!(o.warnings()[0].contains("resource.customizations"), "{:?}", o.warnings());
    }

    #[test]
    fn built_from_a_shared_settings_snapshot() {
        let cm = serde_json::json!({"data": {"resource.customizations.health.Pod": "x"}});
        let (settings, problems) = Settings::from_configmap(Some(&cm));
        assert!(problems.is_empty());
        assert_eq!(ResourceOverrides::from_settings(&settings).len(), 1);
        assert_eq!(ResourceOverrides::from_config_map(&cm).unwrap().len(), 1);
    }
}
