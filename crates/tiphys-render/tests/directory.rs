//! Directory and Jsonnet sources rendered from trees the tests write, plus every escape shape.

use std::path::Path;

use serde_json::{Value, json};
use tiphys_render::{
    AppContext, ApplicationSource, ApplicationSourceDirectory, Limits, RenderError, RenderInput, RepoRoot,
    ToolCommand, ToolFailure, ToolRunner, render, resolve_value_file,
};

/// Directory sources never start tools; a call here is a bug in the dispatch.
struct NoTools;

impl ToolRunner for NoTools {
    fn kustomize_build(
        &self,
        dir: &Path,
        _: &[String],
        _: &[(String, String)],
    ) -> Result<String, ToolFailure> {
        Err(ToolFailure(format!("unexpected kustomize build in {}", dir.display())))
    }
    fn run(&self, command: &ToolCommand) -> Result<Vec<u8>, ToolFailure> {
        Err(ToolFailure(format!("unexpected command {}", command.program)))
    }
}

fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    app: AppContext,
}

impl Fixture {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        write_tree(&dir.path().join("repo"), files);
        write_tree(
            dir.path(),
            &[("outside/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: stolen}\n")],
        );
        std::fs::create_dir_all(dir.path().join("scratch")).unwrap();
        let app = AppContext {
            name: "guestbook".into(),
            namespace: "prod".into(),
            revision: "0123456789abcdef0123456789abcdef01234567".into(),
            ..AppContext::default()
        };
        Fixture { dir, app }
    }

    fn repo(&self) -> std::path::PathBuf {
        self.dir.path().join("repo")
    }

    fn render_with(&self, source: &ApplicationSource, limits: Limits) -> Result<Vec<Value>, RenderError> {
        let root = RepoRoot::new(&self.repo()).unwrap();
        let scratch = self.dir.path().join("scratch");
        let input = RenderInput {
            root: &root,
            source,
            app: &self.app,
            refs: &[],
            plugins: &[],
            kustomize_build_options: &[],
            scratch: &scratch,
            limits,
            helm: None,
        };
        render(&input, &NoTools)
    }

    fn render(&self, source: &ApplicationSource) -> Result<Vec<Value>, RenderError> {
        self.render_with(source, Limits::default())
    }
}

fn names(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| format!("{}/{}", o["kind"].as_str().unwrap(), o["metadata"]["name"].as_str().unwrap()))
        .collect()
}

fn source(path: &str, directory: Option<ApplicationSourceDirectory>) -> ApplicationSource {
    ApplicationSource { path: Some(path.into()), directory, ..ApplicationSource::default() }
}

/// Directory options as a user writes them in `spec.source.directory`.
fn dir(options: Value) -> ApplicationSourceDirectory {
    serde_json::from_value(options).unwrap()
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: NAME\ndata:\n  mode: 0755\n";

fn cm(name: &str) -> String {
    CM.replace("NAME", name)
}

fn plain_tree() -> Fixture {
    Fixture::new(&[
        ("app/a.yaml", &format!("{}---\n# empty doc\n---\n{}", cm("a1"), cm("a2"))),
        ("app/b.json", r#"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b"}}"#),
        (
            "app/list.yml",
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: l1}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: l2}}\n",
        ),
        ("app/values.yaml", "replicaCount: 3\nimage: nginx\n"),
        ("app/README.md", "# not a manifest\n"),
        ("app/lib.libsonnet", "{}"),
        ("app/sub/c.yaml", &cm("c")),
        ("app/sub/deeper/d.yaml", &cm("d")),
    ])
}

#[test]
fn reads_yaml_json_and_lists_and_ignores_non_manifests() {
    let f = plain_tree();
    let objs = f.render(&source("app", None)).unwrap();
    assert_eq!(names(&objs), ["ConfigMap/a1", "ConfigMap/a2", "Service/b", "ConfigMap/l1", "ConfigMap/l2"]);
    assert_eq!(objs[0]["data"]["mode"], json!(493), "YAML 1.1 octal, as sigs.k8s.io/yaml reads it");
}

#[test]
fn disable_extension_filter_reads_every_file_as_yaml() {
    let f = Fixture::new(&[("app/manifest.txt", &cm("txt")), ("app/notes", "just: notes\n")]);
    assert!(f.render(&source("app", None)).unwrap().is_empty());
    let objs = f.render(&source("app", Some(dir(json!({"disableExtensionFilter": true}))))).unwrap();
    assert_eq!(names(&objs), ["ConfigMap/txt"]);
}

#[test]
fn recurse_reads_sub_directories() {
    let f = plain_tree();
    let objs = f.render(&source("app", Some(dir(json!({"recurse": true}))))).unwrap();
    assert_eq!(names(&objs)[5..], ["ConfigMap/c", "ConfigMap/d"]);
}

#[test]
fn include_and_exclude_globs_match_relative_paths() {
    let f = plain_tree();
    let only_yaml = dir(json!({"recurse": true, "include": "*.yaml"}));
    assert_eq!(
        names(&f.render(&source("app", Some(only_yaml))).unwrap()),
        ["ConfigMap/a1", "ConfigMap/a2", "ConfigMap/c", "ConfigMap/d"]
    );
    let exclude = dir(json!({"recurse": true, "include": "*.yaml", "exclude": "{a.yaml,sub/deeper/*}"}));
    assert_eq!(names(&f.render(&source("app", Some(exclude))).unwrap()), ["ConfigMap/c"]);
    let bad = dir(json!({"include": "{unclosed"}));
    let err = f.render(&source("app", Some(bad))).unwrap_err();
    assert!(err.to_string().starts_with("directory.include"), "{err}");
}

#[test]
fn broken_manifests_name_the_file() {
    let f = Fixture::new(&[("app/bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n")]);
    let err = f.render(&source("app", None)).unwrap_err();
    assert!(err.to_string().starts_with("app/bad.yaml: document 0"), "{err}");
    let f = Fixture::new(&[("app/bad.json", r#"{"apiVersion": "v1"}"#)]);
    let err = f.render(&source("app", None)).unwrap_err();
    assert_eq!(err.to_string(), "app/bad.json: object has no kind");
}

fn jsonnet_tree() -> Fixture {
    Fixture::new(&[
        (
            "app/main.jsonnet",
            r#"
local lib = import 'k.libsonnet';
local shared = import 'shared.libsonnet';
function(replicas, debug=false) [
  lib.cm(std.extVar('app') + '-cm', { env: std.extVar('env'), replicas: std.toString(replicas), debug: std.toString(debug) }),
  lib.cm(shared.name, { size: std.toString(std.extVar('size') * 2), text: importstr 'note.txt' }),
]
"#,
        ),
        (
            "app/k.libsonnet",
            "{ cm(name, data):: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name }, data: data } }",
        ),
        ("app/note.txt", "hello"),
        ("vendor/shared.libsonnet", "{ name: 'from-vendor' }"),
        (
            "app/single.jsonnet",
            "{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns-' + std.extVar('app') } }",
        ),
    ])
}

fn jsonnet_options() -> Value {
    json!({
        "extVars": [
            {"name": "app", "value": "$ARGOCD_APP_NAME"},
            {"name": "env", "value": "${ARGOCD_APP_NAMESPACE}", "code": false},
            {"name": "size", "value": "1 + 2", "code": true},
        ],
        "tlas": [{"name": "replicas", "value": "3", "code": true}, {"name": "debug", "value": "true", "code": true}],
        "libs": ["vendor"],
    })
}

#[test]
fn jsonnet_with_tlas_ext_vars_and_libs() {
    let f = jsonnet_tree();
    let objs = f.render(&source("app", Some(dir(json!({"jsonnet": jsonnet_options()}))))).unwrap();
    assert_eq!(
        objs,
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "guestbook-cm"}, "data": {"env": "prod", "replicas": "3", "debug": "true"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-vendor"}, "data": {"size": "6", "text": "hello"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns-guestbook"}}),
        ]
    );
}

#[test]
fn jsonnet_errors_name_the_file_and_line() {
    let f = jsonnet_tree();
    let err = f.render(&source("app", None)).unwrap_err();
    assert!(err.to_string().contains("top-level argument \"replicas\" has no value"), "{err}");
    let f = Fixture::new(&[("app/x.jsonnet", "{ a: std.extVar('app') }")]);
    let err = f.render(&source("app", None)).unwrap_err();
    assert!(err.to_string().contains("unknown external variable \"app\""), "{err}");
    let f = Fixture::new(&[("app/x.jsonnet", "{\n  a: error 'boom',\n}\n")]);
    let err = f.render(&source("app", None)).unwrap_err().to_string();
    assert!(err.starts_with("app/x.jsonnet: jsonnet: app/x.jsonnet:2: boom"), "{err}");
    let f = Fixture::new(&[("app/x.jsonnet", "{ a: ")]);
    let err = f.render(&source("app", None)).unwrap_err().to_string();
    assert!(err.contains("syntax error"), "{err}");
}

#[test]
fn jsonnet_cannot_import_from_the_network_or_outside() {
    let f = Fixture::new(&[("app/url.jsonnet", "import 'https://example.com/x.libsonnet'")]);
    let err = f.render(&source("app", None)).unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");
    for (file, import) in [("abs", "/etc/hostname"), ("parent", "../../outside/secret.yaml")] {
        let f = Fixture::new(&[(&format!("app/{file}.jsonnet"), &format!("importstr '{import}'"))]);
        let err = f.render(&source("app", None)).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("paths must stay inside the repository"), "{file}: {msg}");
    }
    let f = Fixture::new(&[("app/link.jsonnet", "import 'evil.libsonnet'")]);
    std::os::unix::fs::symlink(f.dir.path().join("outside/secret.yaml"), f.repo().join("app/evil.libsonnet"))
        .unwrap();
    let msg = f.render(&source("app", None)).unwrap_err().to_string();
    assert!(msg.contains("symlink resolves outside the repository"), "{msg}");
    let f = Fixture::new(&[("app/x.jsonnet", "{}")]);
    let libs = dir(json!({"jsonnet": {"libs": ["../outside"]}}));
    let msg = f.render(&source("app", Some(libs))).unwrap_err().to_string();
    assert!(msg.contains("../outside"), "{msg}");
}

#[test]
fn source_paths_that_escape_are_refused() {
    let f = plain_tree();
    for path in ["..", "../outside", "app/../../outside", "/etc", "/"] {
        let err = f.render(&source(path, None)).unwrap_err();
        assert!(matches!(err, RenderError::PathEscape { .. }), "{path}: {err}");
    }
    let err = f.render(&source("missing", None)).unwrap_err();
    assert!(matches!(err, RenderError::NotFound { .. }), "{err}");
}

#[test]
fn symlinked_files_and_directories_that_escape_are_refused() {
    let f = plain_tree();
    let outside = f.dir.path().join("outside");
    std::os::unix::fs::symlink(outside.join("secret.yaml"), f.repo().join("app/link.yaml")).unwrap();
    let err = f.render(&source("app", None)).unwrap_err();
    assert!(err.to_string().starts_with("app/link.yaml: symlink resolves outside"), "{err}");

    let f = plain_tree();
    std::os::unix::fs::symlink(&outside, f.repo().join("linkdir")).unwrap();
    let err = f.render(&source("linkdir", None)).unwrap_err();
    assert!(matches!(err, RenderError::PathEscape { .. }), "{err}");
    std::os::unix::fs::symlink(&outside, f.repo().join("app/sub/linkdir")).unwrap();
    let recurse = dir(json!({"recurse": true}));
    let err = f.render(&source("app", Some(recurse))).unwrap_err();
    assert!(err.to_string().starts_with("app/sub/linkdir:"), "{err}");

    let f = plain_tree();
    std::os::unix::fs::symlink("/etc/passwd", f.repo().join("app/passwd.yaml")).unwrap();
    assert!(matches!(f.render(&source("app", None)), Err(RenderError::PathEscape { .. })));
}

#[test]
fn symlinks_inside_the_repository_are_followed() {
    let f = plain_tree();
    std::os::unix::fs::symlink("sub/c.yaml", f.repo().join("app/z-link.yaml")).unwrap();
    let objs = f.render(&source("app", None)).unwrap();
    assert_eq!(names(&objs).last().unwrap(), "ConfigMap/c");
}

#[test]
fn value_files_resolve_through_refs_and_stay_inside() {
    let f = plain_tree();
    let other = tempfile::tempdir().unwrap();
    write_tree(other.path(), &[("env/prod/values.yaml", "a: 1\n")]);
    let root = RepoRoot::new(&f.repo()).unwrap();
    let refs = vec![("values".to_string(), RepoRoot::new(other.path()).unwrap())];
    let app = AppContext::default();
    let src = ApplicationSource::default();
    let scratch = f.dir.path().join("scratch");
    let input = RenderInput {
        root: &root,
        source: &src,
        app: &app,
        refs: &refs,
        plugins: &[],
        kustomize_build_options: &[],
        scratch: &scratch,
        limits: Limits::default(),
        helm: None,
    };
    let chart = root.resolve("app").unwrap();
    let found = resolve_value_file(&input, &chart, "$values/env/prod/values.yaml").unwrap();
    assert_eq!(std::fs::read_to_string(found).unwrap(), "a: 1\n");
    assert!(resolve_value_file(&input, &chart, "values.yaml").is_ok());
    for bad in ["$values/../../etc/passwd", "../../outside/secret.yaml", "/etc/passwd"] {
        let err = resolve_value_file(&input, &chart, bad).unwrap_err();
        assert!(matches!(err, RenderError::PathEscape { .. }), "{bad}: {err}");
    }
    let err = resolve_value_file(&input, &chart, "$nope/values.yaml").unwrap_err();
    assert!(matches!(err, RenderError::UnknownRef { .. }), "{err}");
}

#[test]
fn limits_stop_huge_files_and_manifest_floods() {
    let f = plain_tree();
    let tiny = Limits { max_file_bytes: 64, ..Limits::default() };
    let err = f.render_with(&source("app", None), tiny).unwrap_err();
    assert!(matches!(err, RenderError::Limit { limit: 64, .. }), "{err}");
    let few = Limits { max_manifests: 2, ..Limits::default() };
    assert!(matches!(f.render_with(&source("app", None), few), Err(RenderError::Limit { limit: 2, .. })));
}

#[test]
fn source_type_detection_and_helm_arm() {
    let f = Fixture::new(&[
        ("chart/Chart.yaml", "name: x\nversion: 0.1.0\n"),
        ("chart/templates/a.yaml", "x: 1"),
    ]);
    let err = f.render(&source("chart", None)).unwrap_err();
    assert!(matches!(err, RenderError::HelmNotWired { .. }), "{err}");
    let both = ApplicationSource {
        path: Some("chart".into()),
        directory: Some(Default::default()),
        kustomize: Some(Default::default()),
        ..Default::default()
    };
    let err = f.render(&both).unwrap_err();
    assert!(err.to_string().contains("kustomize, directory"), "{err}");
    // An explicit directory wins over the chart file.
    let objs = f.render(&source("chart", Some(Default::default()))).unwrap();
    assert!(objs.is_empty());
}
