//! `tiphys render` on a local checkout: Helm charts render in process (auto-detected from
//! `Chart.yaml`), the same way the controller will render them.

use std::process::Command;

#[test]
fn a_local_helm_chart_renders_in_process() {
    let repo = tempfile::tempdir().unwrap();
    let chart = repo.path().join("charts/web");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: web\nversion: 0.1.0\n").unwrap();
    std::fs::write(chart.join("values.yaml"), "replicas: 2\n").unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cfg\n  namespace: {{ .Release.Namespace }}\ndata:\n  replicas: {{ .Values.replicas | quote }}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tiphys"))
        .args(["render", "--repo"])
        .arg(repo.path())
        .args(["--path", "charts/web", "--app-name", "shop", "--dest-namespace", "prod", "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifests: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifests[0]["metadata"]["name"], "shop-cfg");
    assert_eq!(manifests[0]["metadata"]["namespace"], "prod");
    assert_eq!(manifests[0]["data"]["replicas"], "2");
}
