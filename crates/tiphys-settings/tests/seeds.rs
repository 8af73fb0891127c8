//! The ConfigMaps of the seed documents (what users will hand over) load as upstream reads
//! them, with problems only where upstream would ignore something.

use std::time::Duration;

use tiphys_settings::{ControllerParams, Settings};

fn docs(path: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    tiphys_resource::yaml::parse_stream(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn seed_argocd_cm_loads_its_customizations_and_flags_the_unsupported_type() {
    let cm =
        docs(concat!(env!("CARGO_MANIFEST_DIR"), "/../tiphys-health/tests/fixtures/seed-argocd-cm.yaml"));
    let (settings, problems) = Settings::from_configmap(cm.first());
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, vec!["resource.customizations.signature.argoproj.io_Application"]);
    let health: Vec<&str> = settings
        .resource_overrides
        .iter()
        .filter(|(_, o)| !o.health_lua.is_empty())
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        health,
        vec![
            "argoproj.io/Rollout",
            "cert-manager.io/Certificate",
            "example.com/MyResource",
            "myorg.io/MyApp"
        ]
    );
    assert!(!settings.resource_overrides["argoproj.io/Rollout"].actions.is_empty());
}

#[test]
fn seed_cmd_params_load_and_a_misplaced_argocd_cm_key_is_named() {
    let cms = docs(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/seed-cmd-params.yaml"));
    let (params, problems) = ControllerParams::from_configmap(cms.first());
    assert_eq!(params, ControllerParams::default());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "timeout.reconciliation");
    assert!(problems[0].to_string().contains("argocd-cm"), "{}", problems[0]);

    let (params, problems) = ControllerParams::from_configmap(cms.get(1));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!((params.status_processors, params.operation_processors), (20, 10));
    assert_eq!(params.self_heal_timeout, Duration::from_secs(5));
}
