//! The settings snapshot every refresh reads: `argocd-cm` parsed once per change (by
//! `tiphys-settings`) plus the compiled forms the engines use (diff rules, the health assessor
//! with its Lua cache). A new ConfigMap builds a new snapshot; work in flight keeps the one it
//! started with.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tiphys_compare::RenderSettings;
use tiphys_diff::DiffSettings;
use tiphys_health::{AssessOptions, HealthAssessor, ResourceOverrides};
use tiphys_resource::tracking::Tracking;
use tiphys_settings::Settings;

/// One consistent view of the controller's settings.
#[derive(Debug)]
pub struct Snapshot {
    /// The typed argocd-cm.
    pub settings: Settings,
    /// Diff settings (argocd-cm ignoreDifferences, compare options).
    pub diff: DiffSettings,
    /// Health checks with the argocd-cm Lua customizations.
    pub health: Arc<HealthAssessor>,
    /// How resources are tied to apps.
    pub tracking: Tracking,
    /// Config management plugins and kustomize build options.
    pub render: RenderSettings,
    /// Problems found in argocd-cm: each names the key; the default was used instead.
    pub problems: Vec<String>,
}

impl Snapshot {
    /// Builds a snapshot from the `argocd-cm` ConfigMap object (`None`: all defaults).
    pub fn from_config_map(cm: Option<&Value>) -> Snapshot {
        let (settings, problems) = Settings::from_configmap(cm);
        let mut problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let diff = DiffSettings::from_settings(&settings);
        let overrides = ResourceOverrides::from_settings(&settings);
        problems.extend(overrides.warnings().iter().cloned());
        let render = RenderSettings {
            kustomize_build_options: settings
                .kustomize_build_options
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            ..Default::default()
        };
        Snapshot {
            diff,
            health: Arc::new(HealthAssessor::new(overrides, AssessOptions::default())),
            tracking: settings.tracking.clone(),
            render,
            settings,
            problems,
        }
    }

    /// The periodic refresh interval (`timeout.reconciliation`), `None` when off.
    pub fn reconciliation(&self) -> Option<Duration> {
        self.settings.periodic_refresh()
    }

    /// The jitter added per app (`timeout.reconciliation.jitter`).
    pub fn jitter(&self) -> Duration {
        self.settings.reconciliation_jitter
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tiphys_resource::tracking::TrackingMethod;

    use super::*;

    #[test]
    fn defaults_without_a_config_map() {
        let s = Snapshot::from_config_map(None);
        assert_eq!(s.reconciliation(), Some(Duration::from_secs(180)));
        assert_eq!(s.tracking, Tracking::default());
        assert!(s.problems.is_empty());
    }

    #[test]
    fn keys_are_read_and_bad_values_fall_back_with_a_problem_naming_the_key() {
        let cm = json!({"data": {"timeout.reconciliation": "30s", "timeout.reconciliation.jitter": "soon",
            "application.resourceTrackingMethod": "label", "application.instanceLabelKey": "team/app"}});
        let s = Snapshot::from_config_map(Some(&cm));
        assert_eq!(s.reconciliation(), Some(Duration::from_secs(30)));
        assert_eq!(s.tracking.method, TrackingMethod::Label);
        assert_eq!(s.tracking.label_key, "team/app");
        assert!(s.problems.iter().any(|p| p.contains("timeout.reconciliation.jitter")), "{:?}", s.problems);
    }
}
