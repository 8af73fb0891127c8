//! No ConfigMap or Secret content panics the readers, and every problem names a key that is in
//! the input.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tiphys_settings::{ClusterSecret, ControllerParams, Settings};

const KEYS: [&str; 18] = [
    "timeout.reconciliation",
    "timeout.reconciliation.jitter",
    "timeout.hard.reconciliation",
    "application.resourceTrackingMethod",
    "application.instanceLabelKey",
    "installationID",
    "resource.exclusions",
    "resource.inclusions",
    "resource.compareoptions",
    "resource.customizations",
    "resource.customizations.health.argoproj.io_Rollout",
    "resource.customizations.ignoreDifferences.all",
    "resource.customizations.knownTypeFields.Foo",
    "resource.customizations.useOpenLibs.X",
    "resource.ignoreResourceUpdatesEnabled",
    "application.sync.impersonation.enabled",
    "cluster.inClusterEnabled",
    "kustomize.buildOptions",
];

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,40}".prop_map(Value::String),
        // YAML-looking text: lists, maps, flow collections, globs.
        "[-:\\[\\]{}*a-zA-Z0-9 \n/._\"]{0,60}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z.]{0,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_argocd_cm_never_panics(
        entries in prop::collection::vec((prop::sample::select(KEYS.to_vec()), value()), 0..8),
        extra_key in "resource\\.customizations\\.[a-zA-Z_.*]{0,20}",
        extra in value(),
    ) {
        let mut data: Map<String, Value> = entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        data.insert(extra_key, extra);
        let (settings, problems) = Settings::from_configmap(Some(&json!({"data": data.clone()})));
        for p in &problems {
            let named = data.contains_key(&p.key) || data.keys().any(|k| p.key.starts_with(&format!("{k} ")));
            prop_assert!(named, "problem names a key not in the input: {}", p);
        }
        let _ = settings.is_excluded("apps", "Deployment", "https://kubernetes.default.svc");
    }

    #[test]
    fn arbitrary_configmap_shapes_never_panic(cm in value()) {
        let _ = Settings::from_configmap(Some(&cm));
        let _ = ControllerParams::from_configmap(Some(&cm));
    }

    #[test]
    fn arbitrary_cmd_params_never_panic(entries in prop::collection::vec((prop::sample::select(vec![
        "controller.status.processors", "controller.operation.processors", "controller.self.heal.timeout.seconds",
        "controller.self.heal.backoff.timeout.seconds", "controller.self.heal.backoff.factor",
        "controller.self.heal.backoff.cap.seconds", "controller.resource.health.persist",
        "controller.diff.server.side", "application.namespaces",
    ]), value()), 0..8)) {
        let data: Map<String, Value> = entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let (_, problems) = ControllerParams::from_configmap(Some(&json!({"data": data.clone()})));
        for p in &problems {
            prop_assert!(data.contains_key(&p.key), "{}", p);
        }
    }

    #[test]
    fn arbitrary_secrets_never_panic(data in value(), labels in value(), config in ".{0,60}") {
        use base64::Engine;
        let mut secret = json!({"metadata": {"labels": labels}, "data": data});
        let _ = ClusterSecret::from_secret(&secret);
        secret["metadata"]["labels"] = json!({"argocd.argoproj.io/secret-type": "cluster"});
        secret["stringData"] = json!({"server": "https://x", "config": config});
        if let Ok(c) = ClusterSecret::from_secret(&secret) {
            prop_assert!(tiphys_resource::yaml::parse_document(&c.kubeconfig()).is_ok());
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(config.as_bytes());
        secret["data"] = json!({"config": encoded});
        let _ = ClusterSecret::from_secret(&secret);
    }
}
