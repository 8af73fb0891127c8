//! Scenario: memory per stored object. Fills a store with 100,000 typical ConfigMaps and
//! prints `{"objects", "rss_delta_bytes", "bytes_per_object"}` as JSON (resident set size
//! from /proc/self/statm, so it counts everything the store allocates, indexes included).
//! Run: `cargo bench -p tiphys-sandbox --bench memory`.

use serde_json::json;
use tiphys_sandbox::store::{Store, WriteOptions};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    const N: usize = 100_000;
    let now = jiff::Timestamp::from_second(1_700_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    // A small event window: memory per object is about stored objects, not watch history.
    let mut store = Store::new(1_000, now);
    let rt = store.find_type("", "v1", "configmaps").expect("configmaps");
    let before = rss_bytes();
    let start = std::time::Instant::now();
    for i in 0..N {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("cm-{i:06}"), "labels": {"app": "bench", "shard": (i % 10).to_string()},
                "annotations": {"argocd.argoproj.io/tracking-id": format!("bench:/ConfigMap:default/cm-{i:06}")}},
            "data": {"config.yaml": "key: value\nother: 42\n", "mode": "fast", "replicas": "3"}});
        store.create(&rt, Some("default"), obj, &WriteOptions::default(), now).expect("create");
    }
    let elapsed = start.elapsed();
    let delta = rss_bytes().saturating_sub(before);
    let sample = store.get(&rt, "default", "cm-000001").map(|s| s.json.len()).unwrap_or(0);
    println!(
        "{}",
        json!({"objects": N, "rss_delta_bytes": delta, "bytes_per_object": delta / N as u64,
            "serialized_object_bytes": sample,
            "creates_per_second": (N as f64 / elapsed.as_secs_f64()).round()})
    );
}
