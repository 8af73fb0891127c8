//! `tiphys admin settings resource-overrides …` as a user runs it, with the seed argocd-cm.

use std::path::PathBuf;
use std::process::{Command, Output};

const SEED_CM: &str = "crates/tiphys-health/tests/fixtures/seed-argocd-cm.yaml";

fn tiphys(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiphys"))
        .args(args)
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("run tiphys")
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const ROLLOUT: &str = "apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
  namespace: prod
spec:
  replicas: 3
  template:
    metadata:
      labels: {}
status:
  phase: Paused
  currentPodHash: abc
";

#[test]
fn health_prints_status_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let rollout = write(&dir, "rollout.yaml", ROLLOUT);
    let out =
        tiphys(&["admin", "settings", "resource-overrides", "health", &rollout, "--argocd-cm-path", SEED_CM]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "STATUS: Suspended\nMESSAGE: Rollout is paused: awaiting promotion\n"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature"), "unsupported keys are reported");

    let deploy = write(
        &dir,
        "deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, generation: 2}\nspec: {replicas: 2}\nstatus: {observedGeneration: 2, replicas: 2, updatedReplicas: 1}\n",
    );
    let out =
        tiphys(&["admin", "settings", "resource-overrides", "health", &deploy, "--argocd-cm-path", SEED_CM]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "STATUS: Progressing\nMESSAGE: Waiting for rollout to finish: 1 out of 2 new replicas have been updated...\n"
    );
    let cm = write(&dir, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");
    let out =
        tiphys(&["admin", "settings", "resource-overrides", "health", &cm, "--argocd-cm-path", SEED_CM]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Health script is not configured for '/ConfigMap'\n");
}

#[test]
fn actions_list_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let rollout = write(&dir, "rollout.yaml", ROLLOUT);
    let out = tiphys(&[
        "admin",
        "settings",
        "resource-overrides",
        "list-actions",
        &rollout,
        "--argocd-cm-path",
        SEED_CM,
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "NAME          DISABLED\npromote-full  false\nrestart       false\n"
    );

    let out = tiphys(&[
        "admin",
        "settings",
        "resource-overrides",
        "run-action",
        &rollout,
        "promote-full",
        "--argocd-cm-path",
        SEED_CM,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Following fields have been changed:\n\n--- web\n+++ web\n"), "{text}");
    assert!(text.contains("\n+  promoteFull: true\n"), "{text}");
    assert!(!text.contains("-  labels"), "empty maps survive the round trip: {text}");

    let out = tiphys(&[
        "admin",
        "settings",
        "resource-overrides",
        "run-action",
        &rollout,
        "abort",
        "--argocd-cm-path",
        SEED_CM,
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("action \"abort\" is not defined"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let pod = write(&dir, "pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n");
    let out = tiphys(&[
        "admin",
        "settings",
        "resource-overrides",
        "run-action",
        &pod,
        "restart",
        "--argocd-cm-path",
        SEED_CM,
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Actions are not configured for '/Pod'\n");
}
