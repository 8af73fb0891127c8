//! Objects applied to the sandbox API server with the real `kubectl` (client-side and
//! server-side apply) compare Synced against the manifests they were applied from, and a change
//! made behind the manifest's back is found. This is the acceptance check of issue 6 against a
//! real component instead of hand-written live objects.

// The sandbox's own kubectl harness (sandbox on its runtime + kubectl with a temporary
// kubeconfig, install hint when kubectl is missing); this test uses part of it.
#[allow(dead_code, reason = "shared harness; only some helpers are used here")]
#[path = "../../tiphys-sandbox/tests/support/kubectl.rs"]
mod support;

use serde_json::Value;
use support::Kubectl;
use tiphys_diff::{DiffSettings, DiffStatus, Differ};

const MANIFESTS: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 8080
        resources:
          limits: {cpu: 1000m, memory: 1024Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: default
data:
  LOG_LEVEL: info
";

fn desired() -> Vec<Value> {
    tiphys_resource::yaml::parse_stream(MANIFESTS).unwrap_or_else(|e| panic!("fixture: {e}"))
}

fn live(k: &Kubectl, obj: &Value) -> Value {
    let kind = obj["kind"].as_str().unwrap_or_default().to_lowercase();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    // As a controller's watch sees it: with managedFields (kubectl hides them by default).
    k.json(&["get", &kind, name, "-n", "default", "--show-managed-fields"])
}

fn differ() -> Differ {
    Differ::new(vec![], &DiffSettings::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn client_side_applied_objects_are_synced_and_drift_is_found() {
    let k = Kubectl::start();
    k.apply(MANIFESTS);
    let d = differ();
    for obj in desired() {
        let r = d.diff(Some(&obj), Some(&live(&k, &obj)), "default").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status, DiffStatus::Synced, "{}", r.unified_diff(false));
    }
    k.ok(&["scale", "deployment", "web", "-n", "default", "--replicas=5"]);
    let deploy = &desired()[0];
    let r = d.diff(Some(deploy), Some(&live(&k, deploy)), "default").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status, DiffStatus::OutOfSync);
    assert!(r.unified_diff(false).contains("-  replicas: 5\n+  replicas: 2\n"), "{}", r.unified_diff(false));
}

#[test]
fn server_side_applied_objects_are_synced_in_both_diff_modes() {
    let k = Kubectl::start();
    k.ok_stdin(&["apply", "--server-side", "--field-manager=argocd-controller", "-f", "-"], MANIFESTS);
    let ssd = differ().with_server_side_diff(true);
    let csd = differ();
    for obj in desired() {
        let l = live(&k, &obj);
        for (mode, d) in [("server-side", &ssd), ("two-way", &csd)] {
            let r = d.diff(Some(&obj), Some(&l), "default").unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r.status, DiffStatus::Synced, "{mode} diff of {}: {}", r.key, r.unified_diff(false));
        }
    }
    // A field the manager applied and the manifest no longer has: the next apply removes it.
    let mut without_level = desired()[2].clone();
    without_level["data"] = serde_json::json!({});
    let r = ssd
        .diff(Some(&without_level), Some(&live(&k, &without_level)), "default")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status, DiffStatus::OutOfSync, "{}", r.unified_diff(false));
    assert!(r.unified_diff(false).contains("-  LOG_LEVEL: info"), "{}", r.unified_diff(false));
}
