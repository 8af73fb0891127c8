//! The example repository: written as a git repository, served over real smart HTTP and
//! cloned with the real `git`, and every example renders (with `tiphys-render`, in-process
//! Helm and the real kustomize) to well-formed, non-empty manifests.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tiphys_git::serve::GitHttpServer;
use tiphys_render::{AppContext, ApplicationSource, Limits, RenderInput, RepoRoot};
use tiphys_up::repo::{self, APPS, CHILD_APPS, ExampleApp};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("git is required (apt-get install git): {e}"));
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Writes the repository under `<tmp>/git/examples`, serves `<tmp>/git`, clones it.
struct Served {
    dir: tempfile::TempDir,
    server: GitHttpServer,
    commit: String,
}

impl Served {
    fn url(&self) -> String {
        self.server.url(tiphys_up::REPO_NAME)
    }
    fn clone_into(&self, name: &str) -> std::path::PathBuf {
        let target = self.dir.path().join(name);
        git(self.dir.path(), &["clone", "--quiet", &self.url(), &target.to_string_lossy()]);
        target
    }
}

fn served() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("git");
    std::fs::create_dir_all(&root).unwrap();
    let server = GitHttpServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), &root, None).unwrap();
    let repo_dir = root.join(tiphys_up::REPO_NAME);
    assert!(!repo::exists(&repo_dir));
    // Leftovers of an interrupted first start are replaced.
    let leftover = root.join(format!("{}.partial", tiphys_up::REPO_NAME));
    std::fs::create_dir_all(leftover.join(".git")).unwrap();
    std::fs::write(leftover.join("stale.yaml"), "kind: Stale\n").unwrap();
    let commit = repo::write(&repo_dir, &server.url(tiphys_up::REPO_NAME)).unwrap();
    assert!(repo::exists(&repo_dir));
    assert!(!leftover.exists() && !repo_dir.join("stale.yaml").exists());
    Served { dir, server, commit }
}

#[test]
fn the_repository_is_served_and_a_clone_has_every_file() {
    let s = served();
    let clone = s.clone_into("clone");
    assert_eq!(git(&clone, &["rev-parse", "HEAD"]), s.commit);
    assert_eq!(git(&clone, &["rev-parse", "--abbrev-ref", "HEAD"]), "main");
    let mut tracked: Vec<String> = git(&clone, &["ls-files"]).lines().map(str::to_string).collect();
    tracked.sort();
    let mut expected: Vec<String> = repo::FILES.iter().map(|(p, _)| p.to_string()).collect();
    expected.sort();
    assert_eq!(tracked, expected);
    let child = std::fs::read_to_string(clone.join("app-of-apps/guestbook.yaml")).unwrap();
    assert!(child.contains(&format!("repoURL: {}", s.url())), "{child}");
    assert!(!child.contains(repo::REPO_URL_PLACEHOLDER));
}

/// Adds `guestbook/<name>.yaml` (a ConfigMap) and commits it; returns the commit.
fn commit_config_map(repo: &Path, name: &str) -> String {
    let manifest = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n");
    std::fs::write(repo.join(format!("guestbook/{name}.yaml")), manifest).unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "--quiet", "-m", name]);
    git(repo, &["rev-parse", "HEAD"])
}

#[test]
fn commits_in_the_working_tree_and_pushes_from_a_clone_reach_the_server() {
    let s = served();
    let work = s.dir.path().join("git").join(tiphys_up::REPO_NAME);

    // A push from a local clone (by path) updates the served working tree.
    let local = s.dir.path().join("local");
    git(s.dir.path(), &["clone", "--quiet", &work.to_string_lossy(), &local.to_string_lossy()]);
    let pushed = commit_config_map(&local, "extra");
    git(&local, &["push", "--quiet", "origin", "main"]);
    assert!(work.join("guestbook/extra.yaml").is_file(), "updateInstead checks the push out");

    // A commit made in the working tree itself.
    let committed = commit_config_map(&work, "more");

    let remote = git(s.dir.path(), &["ls-remote", &s.url(), "refs/heads/main"]);
    assert!(remote.starts_with(&committed), "{remote}");
    assert_ne!(pushed, committed);
    assert_ne!(s.commit, committed);
}

fn render(checkout: &Path, app: &ExampleApp, source: Value) -> Vec<Value> {
    let root = RepoRoot::new(checkout).unwrap();
    let source: ApplicationSource = serde_json::from_value(source).unwrap();
    let ctx = AppContext {
        name: app.name.to_string(),
        namespace: app.namespace.to_string(),
        path: app.path.to_string(),
        ..AppContext::default()
    };
    let scratch = tempfile::tempdir().unwrap();
    let now = jiff::Zoned::now();
    let helm = tiphys_helm::source::InProcessHelm::new(tiphys_gotemplate::sprig::functions(
        &tiphys_gotemplate::sprig::SprigEnv { now, seed: 7 },
    ));
    let input = RenderInput {
        root: &root,
        source: &source,
        app: &ctx,
        refs: &[],
        plugins: &[],
        kustomize_build_options: &[],
        scratch: scratch.path(),
        limits: Limits::default(),
        helm: Some(&helm),
    };
    let tools = tiphys_tools::ProcessRunner::new(tiphys_tools::RunOptions::default());
    let manifests = tiphys_render::render(&input, &tools).unwrap_or_else(|e| {
        panic!("{}: {e} (kustomize comes from kubectl: scripts/install-test-tools.sh)", app.name)
    });
    assert!(!manifests.is_empty(), "{}: no manifests", app.name);
    for m in &manifests {
        let key = tiphys_resource::ResourceKey::of(m).unwrap_or_else(|e| panic!("{}: {e}: {m}", app.name));
        assert!(!key.name.is_empty(), "{}: unnamed {m}", app.name);
    }
    manifests
}

fn kinds_and_names(manifests: &[Value]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = manifests
        .iter()
        .map(|m| {
            (m["kind"].as_str().unwrap().to_string(), m["metadata"]["name"].as_str().unwrap().to_string())
        })
        .collect();
    out.sort();
    out
}

fn pair(kind: &str, name: &str) -> (String, String) {
    (kind.to_string(), name.to_string())
}

#[test]
fn every_example_renders_from_the_served_repository() {
    let s = served();
    let checkout = s.clone_into("checkout");
    let mut rendered = std::collections::BTreeMap::new();
    for app in APPS {
        let registered = tiphys_up::bootstrap::application(app, &s.url());
        let manifests = render(&checkout, app, registered["spec"]["source"].clone());
        rendered.insert(app.name, manifests);
    }

    assert_eq!(
        kinds_and_names(&rendered["guestbook"]),
        [pair("Deployment", "guestbook-ui"), pair("Service", "guestbook-ui")]
    );

    let kustomized = &rendered["kustomize-guestbook"];
    assert_eq!(
        kinds_and_names(kustomized),
        [pair("Deployment", "kustomize-guestbook-ui"), pair("Service", "kustomize-guestbook-ui")]
    );
    for m in kustomized {
        assert_eq!(m["metadata"]["labels"]["app.kubernetes.io/part-of"], "kustomize-guestbook", "{m}");
    }

    let helm = &rendered["helm-guestbook"];
    assert_eq!(
        kinds_and_names(helm),
        [pair("Deployment", "helm-guestbook"), pair("Service", "helm-guestbook")]
    );
    let deployment = helm.iter().find(|m| m["kind"] == "Deployment").unwrap();
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "gcr.io/heptio-images/ks-guestbook-demo:0.2"
    );
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/instance"],
        "helm-guestbook"
    );

    assert_eq!(
        kinds_and_names(&rendered["jsonnet-guestbook"]),
        [pair("Deployment", "jsonnet-guestbook-ui"), pair("Service", "jsonnet-guestbook-ui")]
    );

    let waves = &rendered["waves-hooks"];
    let annotation = |name: &str, key: &str| {
        let m = waves.iter().find(|m| m["metadata"]["name"] == name).unwrap();
        m["metadata"]["annotations"][key].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(annotation("db-migrate", "argocd.argoproj.io/hook"), "PreSync");
    assert_eq!(annotation("smoke-test", "argocd.argoproj.io/hook"), "PostSync");
    assert_eq!(annotation("smoke-test", "argocd.argoproj.io/hook-delete-policy"), "HookSucceeded");
    assert_eq!(annotation("app-config", "argocd.argoproj.io/sync-wave"), "-1");
    assert_eq!(annotation("web", "argocd.argoproj.io/sync-wave"), "0");
    assert_eq!(waves.len(), 5, "two hooks, a ConfigMap, a Deployment and a Service, nothing else");
}

#[test]
fn app_of_apps_children_are_the_declared_ones_and_point_back_at_the_repository() {
    let s = served();
    let checkout = s.clone_into("checkout");
    let parent = APPS.iter().find(|a| a.name == "app-of-apps").unwrap();
    let children = render(
        &checkout,
        parent,
        tiphys_up::bootstrap::application(parent, &s.url())["spec"]["source"].clone(),
    );
    assert_eq!(children.len(), CHILD_APPS.len());
    for (declared, wave) in CHILD_APPS.iter().zip(["0", "1"]) {
        let child = children.iter().find(|c| c["metadata"]["name"] == declared.name).unwrap();
        assert_eq!(child["kind"], "Application");
        assert_eq!(child["metadata"]["namespace"], tiphys_up::NAMESPACE);
        assert_eq!(child["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"], wave);
        assert_eq!(child["spec"]["source"]["repoURL"], s.url());
        assert_eq!(child["spec"]["source"]["path"], declared.path);
        assert_eq!(child["spec"]["destination"]["namespace"], declared.namespace);
        assert_valid(child);
        // Each child's own path renders too.
        render(&checkout, declared, child["spec"]["source"].clone());
    }
}

fn assert_valid(doc: &Value) {
    match tiphys_model::validate::validate_document(doc) {
        tiphys_model::validate::Outcome::Checked { problems, .. } => {
            assert!(problems.is_empty(), "{problems:?}: {doc}")
        }
        other => panic!("not validated: {other:?}"),
    }
}

#[test]
fn the_registered_applications_and_project_pass_admission_rules() {
    let url = "http://127.0.0.1:1/examples";
    let apps = tiphys_up::bootstrap::applications(url);
    assert_eq!(apps.len(), APPS.len());
    for app in &apps {
        assert_valid(app);
        assert_eq!(app["spec"]["syncPolicy"]["automated"]["prune"], true);
        assert_eq!(app["spec"]["syncPolicy"]["automated"]["selfHeal"], true);
    }
    let project = tiphys_up::bootstrap::platform().into_iter().find(|o| o["kind"] == "AppProject").unwrap();
    assert_valid(&project);
}
