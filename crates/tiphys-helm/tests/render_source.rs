//! The in-process Helm renderer behind `tiphys-render`: a chart in a checkout, value files from
//! the same source and from another source (`$ref`), parameters, CRDs included by default.

use std::path::Path;

use tiphys_helm::source::InProcessHelm;
use tiphys_model::source::{ApplicationSource, ApplicationSourceHelm, HelmParameter};
use tiphys_render::{AppContext, HelmRenderer, Limits, RenderInput, RepoRoot};

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_default();
    }
    std::fs::write(path, text).unwrap_or_default();
}

#[test]
fn renders_an_application_helm_source() {
    let (Ok(repo), Ok(config), Ok(scratch)) = (tempfile::tempdir(), tempfile::tempdir(), tempfile::tempdir())
    else {
        panic!("temporary directories are needed");
    };
    write(repo.path(), "charts/app/Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n");
    write(repo.path(), "charts/app/values.yaml", "replicas: 1\nimage: nginx\nenv: dev\n");
    write(repo.path(), "charts/app/values-prod.yaml", "replicas: 3\n");
    write(
        repo.path(),
        "charts/app/crds/crd.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n",
    );
    write(
        repo.path(),
        "charts/app/templates/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\n  labels:\n    env: {{ .Values.env }}\n    kube: {{ .Capabilities.KubeVersion.Minor | quote }}\nspec:\n  replicas: {{ .Values.replicas }}\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {{ .Values.image }}\n",
    );
    write(config.path(), "envs/prod.yaml", "env: production\n");
    let (Ok(root), Ok(config_root)) = (RepoRoot::new(repo.path()), RepoRoot::new(config.path())) else {
        panic!("repository roots must open");
    };
    let source = ApplicationSource {
        path: Some("charts/app".into()),
        helm: Some(ApplicationSourceHelm {
            value_files: Some(vec![
                "values-prod.yaml".into(),
                "$config/envs/prod.yaml".into(),
                "absent.yaml".into(),
            ]),
            ignore_missing_value_files: Some(true),
            parameters: Some(vec![HelmParameter {
                name: Some("image".into()),
                value: Some("nginx:1.27".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let app = AppContext {
        name: "guestbook".into(),
        namespace: "prod".into(),
        kube_version: "v1.31.2".into(),
        ..Default::default()
    };
    let refs = vec![("config".to_string(), config_root)];
    let now = jiff::Timestamp::UNIX_EPOCH.to_zoned(jiff::tz::TimeZone::UTC);
    let helm = InProcessHelm::new(tiphys_gotemplate::sprig::functions(&tiphys_gotemplate::sprig::SprigEnv {
        now,
        seed: 0,
    }));
    let input = RenderInput {
        root: &root,
        source: &source,
        app: &app,
        refs: &refs,
        plugins: &[],
        kustomize_build_options: &[],
        scratch: scratch.path(),
        limits: Limits::default(),
        helm: Some(&helm),
    };
    let objects = helm.render(&input, &repo.path().join("charts/app"));
    let Ok(objects) = objects else { panic!("render failed: {objects:?}") };
    assert_eq!(objects.len(), 2, "{objects:?}");
    assert_eq!(objects[0]["kind"], "CustomResourceDefinition");
    let deploy = &objects[1];
    assert_eq!(deploy["metadata"]["name"], "guestbook");
    assert_eq!(deploy["metadata"]["namespace"], "prod");
    assert_eq!(deploy["metadata"]["labels"]["env"], "production");
    assert_eq!(deploy["metadata"]["labels"]["kube"], "31");
    assert_eq!(deploy["spec"]["replicas"], 3);
    assert_eq!(deploy["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27");
}
