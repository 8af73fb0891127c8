//! The diff-related part of one argocd-cm snapshot, built from `tiphys-settings` (which reads
//! every `resource.customizations*` form and `resource.compareoptions` once for all engines):
//! the system-level `ignoreDifferences` rules per group/kind key and the compare options.

use serde_json::Value;
use tiphys_settings::{RESOURCE_CUSTOMIZATIONS_KEY, Settings, split_override_key};

use crate::{CompareOptions, DiffError, ResourceIgnoreDifferences};

/// The argocd-cm key of [`CompareOptions`].
const COMPARE_KEY: &str = "resource.compareoptions";

/// Diff settings from one argocd-cm snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiffSettings {
    /// System-level ignore rules, in override-key order (`*/*` from `.all` first).
    pub ignore_differences: Vec<ResourceIgnoreDifferences>,
    /// `resource.compareoptions`.
    pub compare: CompareOptions,
}

impl DiffSettings {
    /// The diff part of a settings snapshot: one rule per customization key that lists
    /// `ignoreDifferences` fields (`*/*` for `.all`, `Kind` for core kinds, globs kept).
    pub fn from_settings(settings: &Settings) -> Self {
        let ignore_differences = settings
            .resource_overrides
            .iter()
            .filter(|(_, o)| !o.ignore_differences.is_empty())
            .map(|(key, o)| {
                let (group, kind) = split_override_key(key);
                let paths = &o.ignore_differences;
                ResourceIgnoreDifferences {
                    group: group.to_string(),
                    kind: kind.to_string(),
                    json_pointers: paths.json_pointers.clone(),
                    jq_path_expressions: paths.jq_path_expressions.clone(),
                    managed_fields_managers: paths.managed_fields_managers.clone(),
                    ..Default::default()
                }
            })
            .collect();
        Self { ignore_differences, compare: settings.compare_options }
    }

    /// Reads argocd-cm (the ConfigMap object or its `data`) on its own, failing on the first
    /// problem with a customization or compare-options key. Prefer [`DiffSettings::from_settings`]
    /// with the snapshot everything else reads, which parses the ConfigMap once and reports
    /// problems without failing.
    pub fn from_config_map(cm: &Value) -> Result<Self, DiffError> {
        let (settings, problems) = Settings::from_configmap(Some(cm));
        if let Some(p) = problems
            .into_iter()
            .find(|p| p.key.starts_with(RESOURCE_CUSTOMIZATIONS_KEY) || p.key == COMPARE_KEY)
        {
            return Err(DiffError::InvalidSetting { key: p.key, message: p.message });
        }
        Ok(Self::from_settings(&settings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StatusFieldMode;
    use serde_json::json;

    fn rules(cm: Value) -> Vec<(String, String)> {
        let s = DiffSettings::from_settings(&Settings::from_configmap(Some(&cm)).0);
        s.ignore_differences.iter().map(|r| (r.group.clone(), r.kind.clone())).collect()
    }

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
                ("*", "*"),
                ("", "Service"),
                ("admissionregistration.k8s.io", "MutatingWebhookConfiguration")
            ]
        );
        assert_eq!(s.ignore_differences[0].managed_fields_managers, vec!["kube-controller-manager"]);
        assert_eq!(s.ignore_differences[0].json_pointers, vec!["/spec/replicas"]);
        assert_eq!(s.ignore_differences[2].jq_path_expressions, vec![".webhooks[].clientConfig.caBundle"]);
    }

    #[test]
    fn customizations_block_and_compare_options() {
        let cm = json!({"data": {
            "resource.customizations": "apps/Deployment:\n  ignoreDifferences: |\n    jsonPointers:\n    - /spec/replicas\n\"*.crossplane.io/*\":\n  ignoreDifferences: |\n    jsonPointers:\n    - /spec/x\nConfigMap:\n  health.lua: return {}\n",
            "resource.compareoptions": "ignoreAggregatedRoles: true\nignoreResourceStatusField: crd\n",
        }});
        assert_eq!(
            rules(cm.clone()),
            vec![("*.crossplane.io".into(), "*".into()), ("apps".into(), "Deployment".into())],
            "health-only entries make no rule"
        );
        let s = DiffSettings::from_config_map(&cm).unwrap();
        assert!(s.compare.ignore_aggregated_roles);
        assert_eq!(s.compare.ignore_resource_status_field, StatusFieldMode::Crd);
    }

    #[test]
    fn a_split_key_replaces_the_block_entrys_rule() {
        let cm = json!({"data": {
            "resource.customizations": "apps/Deployment:\n  ignoreDifferences: |\n    jsonPointers: [/spec/replicas]\n",
            "resource.customizations.ignoreDifferences.apps_Deployment": "jsonPointers: [/spec/paused]\n",
        }});
        let s = DiffSettings::from_config_map(&cm).unwrap();
        assert_eq!(s.ignore_differences.len(), 1);
        assert_eq!(s.ignore_differences[0].json_pointers, vec!["/spec/paused"]);
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
        let unrelated = DiffSettings::from_config_map(&json!({"data": {"timeout.reconciliation": "soon"}}));
        assert!(unrelated.is_ok(), "problems with other keys are not the diff's");
    }
}
