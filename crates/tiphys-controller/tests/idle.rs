//! A controller with nothing to do does nothing: no refresh loop, no API writes, no spinning.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

/// The sum of a metric's samples (counters and histogram counts).
fn total(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("proc stat");
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
    ticks / 100.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_controller_makes_no_writes_no_refreshes_and_burns_no_cpu() {
    let w = World::start(&[("app/cm.yaml", &configmap("settings", json!({"k": "v"})))], json!({})).await;
    for name in ["idle-a", "idle-b", "idle-c"] {
        w.create_app(
            name,
            "app",
            name,
            json!({"syncPolicy": {"automated": {"prune": true, "selfHeal": true},
            "syncOptions": ["CreateNamespace=true"]}}),
        )
        .await;
    }
    for name in ["idle-a", "idle-b", "idle-c"] {
        w.wait_app(name, "Synced/Healthy and done", WAIT, |a| synced_healthy(a) && phase(a) == "Succeeded")
            .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = metrics(w.controller_addr()).await;
    let cpu_before = cpu_seconds();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = metrics(w.controller_addr()).await;
    let cpu = cpu_seconds() - cpu_before;
    for metric in ["argocd_app_k8s_request_total", "argocd_app_reconcile_count"] {
        assert_eq!(total(&before, metric), total(&after, metric), "{metric} moved while idle:\n{after}");
    }
    // The sandbox runs in this process too; its simulator ticks. A spinning controller uses a core.
    assert!(cpu < 1.0, "{cpu} CPU-s in 3 s while idle");
}
