//! Generators shared by the integration tests.

use serde_json::{Value, json};

/// A random Deployment whose pod template uses the keyed lists, with few enough names that
/// two random versions share elements.
pub fn random_deployment() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let env =
        prop::collection::btree_map(prop::sample::select(vec!["X", "Y", "Z"]), 0..3u8, 0..3).prop_map(|m| {
            m.into_iter().map(|(n, v)| json!({"name": n, "value": v.to_string()})).collect::<Vec<_>>()
        });
    let ports = prop::collection::btree_set(prop::sample::select(vec![80, 443, 8080]), 0..3)
        .prop_map(|s| s.into_iter().map(|p| json!({"containerPort": p})).collect::<Vec<_>>());
    let container = (prop::sample::select(vec!["img:1", "img:2"]), env, ports, any::<bool>()).prop_map(
        |(image, env, ports, args)| {
            let mut c = json!({"image": image});
            if !env.is_empty() {
                c["env"] = json!(env);
            }
            if !ports.is_empty() {
                c["ports"] = json!(ports);
            }
            if args {
                c["args"] = json!(["--flag"]);
            }
            c
        },
    );
    let containers =
        prop::collection::btree_map(prop::sample::select(vec!["a", "b", "c", "d"]), container, 1..4)
            .prop_flat_map(|m| {
                let items: Vec<Value> = m
                    .into_iter()
                    .map(|(name, mut c)| {
                        c["name"] = json!(name);
                        c
                    })
                    .collect();
                Just(items).prop_shuffle()
            });
    let finalizers = prop::collection::btree_set(prop::sample::select(vec!["f/1", "f/2", "f/3"]), 0..3)
        .prop_flat_map(|s| Just(s.into_iter().collect::<Vec<_>>()).prop_shuffle());
    let labels = prop::collection::btree_map(prop::sample::select(vec!["app", "tier"]), "[ab]", 0..2);
    (containers, finalizers, labels, 1..4u8).prop_map(|(containers, finalizers, labels, replicas)| {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "r"},
                           "spec": {"replicas": replicas, "template": {"spec": {"containers": containers}}}});
        if !finalizers.is_empty() {
            d["metadata"]["finalizers"] = json!(finalizers);
        }
        if !labels.is_empty() {
            d["metadata"]["labels"] = json!(labels);
        }
        d
    })
}
