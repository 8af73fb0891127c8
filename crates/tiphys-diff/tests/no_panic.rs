//! No input panics the differ: random objects built from the vocabulary the normalizers and
//! the merge look at (so the interesting code paths are reached), with and without rules.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tiphys_diff::{DiffSettings, Differ, ResourceIgnoreDifferences};

const KEYS: &[&str] = &[
    "metadata",
    "spec",
    "status",
    "data",
    "stringData",
    "containers",
    "name",
    "image",
    "resources",
    "limits",
    "cpu",
    "ports",
    "port",
    "targetPort",
    "annotations",
    "labels",
    "rules",
    "aggregationRule",
    "template",
    "replicas",
    "managedFields",
    "fieldsV1",
    "manager",
    "f:spec",
    "k:{\"name\":\"a\"}",
    "mountPath",
    "volumeMounts",
    "kubectl.kubernetes.io/last-applied-configuration",
];

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        prop_oneof![
            Just("1000m".to_string()),
            Just("1Gi".to_string()),
            Just("{}".to_string()),
            Just("a".to_string()),
            ".{0,8}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>()
            )),
        ]
    })
}

fn object(kind: &'static str, api: &'static str) -> impl Strategy<Value = Value> {
    value().prop_map(move |v| {
        let mut o = match v {
            Value::Object(m) => m,
            other => Map::from_iter([("spec".to_string(), other)]),
        };
        o.insert("apiVersion".into(), json!(api));
        o.insert("kind".into(), json!(kind));
        Value::Object(o)
    })
}

fn kinds() -> impl Strategy<Value = (&'static str, &'static str)> {
    prop::sample::select(vec![
        ("Secret", "v1"),
        ("Deployment", "apps/v1"),
        ("ClusterRole", "rbac.authorization.k8s.io/v1"),
        ("Widget", "x.io/v1"),
        ("Service", "v1"),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn differ_never_panics(((kind, api), a, b) in kinds().prop_flat_map(|(k, a)| (Just((k, a)), object(k, a), object(k, a))), ssd in any::<bool>()) {
        let rules: Vec<ResourceIgnoreDifferences> = serde_json::from_value(json!([
            {"group": "*", "kind": "*", "jsonPointers": ["/spec/replicas", "/data/x"], "jqPathExpressions": [".spec.containers[]?.image", ".metadata.labels"],
             "managedFieldsManagers": ["manager"]}
        ])).unwrap();
        let d = Differ::new(rules, &DiffSettings::default()).unwrap().with_server_side_diff(ssd);
        let _ = (kind, api);
        if let Ok(r) = d.diff(Some(&a), Some(&b), "ns") {
            let _ = r.unified_diff(true);
        }
        let _ = d.diff(Some(&a), None, "ns");
        let _ = d.diff(None, Some(&b), "ns");
        let _ = d.respect_ignore_differences(&a, &b, "ns");
        let _ = d.diff_app(std::slice::from_ref(&a), &[b.clone(), a.clone()], "ns", &|_| false);
    }

    #[test]
    fn settings_never_panic(v in value(), text in ".{0,80}") {
        let _ = DiffSettings::from_config_map(&v);
        let _ = DiffSettings::from_config_map(&json!({"data": {"resource.customizations": text.clone(), "resource.compareoptions": text.clone(),
            "resource.customizations.ignoreDifferences.all": text}}));
    }

    #[test]
    fn jq_compilation_never_panics(expr in ".{0,30}") {
        let rules: Vec<ResourceIgnoreDifferences> = vec![ResourceIgnoreDifferences { kind: "*".into(), group: "*".into(), jq_path_expressions: vec![expr], ..Default::default() }];
        if let Ok(d) = Differ::new(rules, &DiffSettings::default()) {
            let o = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}});
            let _ = d.diff(Some(&o), Some(&o), "ns");
        }
    }
}
