//! Store benchmarks: create rate, listing 10,000 objects, watch fan-out to 50 watchers.
//! Run: `cargo bench -p tiphys-sandbox --bench store`.
#![allow(missing_docs, reason = "criterion_group! generates an undocumented pub fn")]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use tiphys_sandbox::store::{Filter, Store, WriteOptions};

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// A typical small object: a ConfigMap with labels, an annotation and a few keys.
fn configmap(i: usize) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("cm-{i:06}"), "labels": {"app": "bench", "shard": (i % 10).to_string()},
            "annotations": {"argocd.argoproj.io/tracking-id": format!("bench:/ConfigMap:default/cm-{i:06}")}},
        "data": {"config.yaml": "key: value\nother: 42\n", "mode": "fast", "replicas": "3"}})
}

fn filled(n: usize) -> Store {
    let mut store = Store::new(200_000, now());
    let rt = store.find_type("", "v1", "configmaps").expect("configmaps");
    for i in 0..n {
        store.create(&rt, Some("default"), configmap(i), &WriteOptions::default(), now()).expect("create");
    }
    store
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("sandbox");
    group.sample_size(20);
    group.bench_function("create_configmap", |b| {
        let mut store = Store::new(10_000, now());
        let rt = store.find_type("", "v1", "configmaps").expect("configmaps");
        let mut i = 0usize;
        b.iter(|| {
            i += 1;
            black_box(
                store.create(&rt, Some("default"), configmap(i), &WriteOptions::default(), now()).is_ok(),
            )
        });
    });
    let store = filled(10_000);
    let rt = store.find_type("", "v1", "configmaps").expect("configmaps");
    group.bench_function("list_10k_as_json", |b| {
        b.iter(|| {
            let page = store.list(&rt, &Filter::default(), None, None).expect("list");
            black_box(page.to_json(&rt).len())
        });
    });
    let selector = Filter {
        labels: tiphys_sandbox::selector::LabelSelector::parse("shard=3").expect("sel"),
        ..Default::default()
    };
    group.bench_function("list_10k_label_selected", |b| {
        b.iter(|| black_box(store.list(&rt, &selector, None, None).expect("list").items.len()));
    });
    group.bench_function("watch_fanout_50_one_write", |b| {
        let mut store = filled(100);
        let rt = store.find_type("", "v1", "configmaps").expect("configmaps");
        let filter = Filter { namespace: Some("default".into()), ..Default::default() };
        let mut i = 1_000_000usize;
        b.iter(|| {
            let since = store.resource_version();
            i += 1;
            store
                .create(&rt, Some("default"), configmap(i), &WriteOptions::default(), now())
                .expect("create");
            // Each of 50 watchers reads the new event and renders its wire line.
            let mut bytes = 0;
            for _ in 0..50 {
                let events = store.events_since(since, |e| e.gr.1 == "configmaps").expect("events");
                for (kind, object) in events.iter().filter_map(|e| e.as_seen_by(&filter)) {
                    bytes += format!("{{\"type\":\"{}\",\"object\":{}}}\n", kind.as_str(), object.json).len();
                }
            }
            black_box(bytes)
        });
    });
    group.finish();
}

criterion_group!(sandbox, benches);
criterion_main!(sandbox);
