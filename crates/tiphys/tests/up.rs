//! `tiphys up` end to end: the real binary as a child process, checked with the real
//! `kubectl` through the kubeconfig it prints: every example app (and the app-of-apps
//! children) reaches Synced/Healthy, a commit in the printed working tree is deployed, metrics
//! are served; SIGINT stops it with exit 0, and a restart with the same `--data` finds the same
//! objects and the same repository.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const READY: &str = "tiphys up is ready";

/// Reads the child's output until the ready line; the lines read, or why there were none.
fn ready_lines(child: &mut Child) -> Result<Vec<String>, String> {
    let stdout = child.stdout.take().ok_or("stdout is not piped")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .map_err(|e| format!("no ready line ({e}); output so far: {lines:#?}"))?;
        let ready = line.starts_with(READY);
        lines.push(line);
        if ready {
            return Ok(lines);
        }
    }
}

struct Up {
    child: Child,
    lines: Vec<String>,
}

impl Up {
    /// Starts `tiphys up --data DIR` and waits for its ready line.
    fn start(data: &Path) -> Up {
        Up::start_with(data, &[])
    }

    /// Starts `tiphys up --data DIR` with extra environment variables.
    fn start_with(data: &Path, env: &[(&str, &Path)]) -> Up {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tiphys"))
            .args(["up", "--data"])
            .arg(data)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run tiphys");
        match ready_lines(&mut child) {
            Ok(lines) => Up { child, lines },
            Err(message) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{message}");
            }
        }
    }

    /// The path in the printed `export KUBECONFIG=...` line.
    fn kubeconfig(&self) -> String {
        self.lines
            .iter()
            .find_map(|l| l.trim().strip_prefix("export KUBECONFIG="))
            .unwrap_or_else(|| panic!("no export line in {:#?}", self.lines))
            .to_string()
    }

    /// The value after `label:` in the printed summary.
    fn printed(&self, label: &str) -> String {
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(label))
            .map(|rest| rest.split_whitespace().next().unwrap_or_default().to_string())
            .unwrap_or_else(|| panic!("no {label} line in {:#?}", self.lines))
    }

    /// Sends SIGINT (what Ctrl-C sends) to this child and expects a clean exit.
    fn interrupt(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status().expect("kill is available");
        assert!(sent.success());
        let status = self.child.wait().expect("wait for tiphys up");
        assert_eq!(status.code(), Some(0), "tiphys up must exit 0 on SIGINT");
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        // Only when a test failed before interrupt(): do not leave the child running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kubectl(kubeconfig: &str, args: &[&str]) -> String {
    let out = Command::new("kubectl").env("KUBECONFIG", kubeconfig).args(args).output().unwrap_or_else(|e| {
        panic!("kubectl is required: install it (e.g. scripts/install-test-tools.sh): {e}")
    });
    assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn application_names(kubeconfig: &str) -> Vec<String> {
    let out = kubectl(kubeconfig, &["get", "applications", "-n", "argocd", "-o", "name"]);
    let mut names: Vec<String> = out.lines().map(|l| l.rsplit('/').next().unwrap_or(l).to_string()).collect();
    names.sort();
    names
}

fn git_ls_remote(url: &str) -> String {
    let out =
        Command::new("git").args(["ls-remote", url, "refs/heads/main"]).output().expect("git is required");
    assert!(out.status.success(), "git ls-remote {url}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string()
}

/// Every Application `tiphys up` ends up with: the six registered and app-of-apps' two children.
const ALL_APPS: [&str; 8] = [
    "aoa-guestbook",
    "aoa-helm-guestbook",
    "app-of-apps",
    "guestbook",
    "helm-guestbook",
    "jsonnet-guestbook",
    "kustomize-guestbook",
    "waves-hooks",
];

/// Polls `check` every half second until it returns `None` (done) or `limit` passes; the
/// panic shows the last answer.
fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> Option<String>) {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let Some(pending) = check() else { return };
        assert!(std::time::Instant::now() < deadline, "{what}: not within {limit:?}; last: {pending}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `None` when every app is Synced and Healthy, else who is not.
fn not_synced_healthy(kubeconfig: &str) -> Option<String> {
    let template =
        r#"{range .items[*]}{.metadata.name} {.status.sync.status} {.status.health.status}{"\n"}{end}"#;
    let out =
        kubectl(kubeconfig, &["get", "applications", "-n", "argocd", "-o", &format!("jsonpath={template}")]);
    let lagging: Vec<&str> = ALL_APPS
        .iter()
        .copied()
        .filter(|app| !out.lines().any(|l| l == format!("{app} Synced Healthy")))
        .collect();
    if lagging.is_empty() { None } else { Some(format!("{lagging:?} in\n{out}")) }
}

fn http_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_once('/').expect("a path");
    let mut conn = std::net::TcpStream::connect(host).expect("metrics endpoint accepts connections");
    write!(conn, "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut body = String::new();
    conn.read_to_string(&mut body).unwrap();
    body
}

#[test]
fn up_registers_the_examples_stops_on_sigint_and_resumes_from_data() {
    let data = tempfile::tempdir().unwrap();
    // What `tiphys up` registers itself; the `aoa-` children come from syncing app-of-apps.
    let registered = ALL_APPS.iter().filter(|app| !app.starts_with("aoa-"));

    let up = Up::start(data.path());
    let kubeconfig = up.kubeconfig();
    assert!(Path::new(&kubeconfig).starts_with(data.path()), "{kubeconfig}");
    let repo_url = up.printed("example repository:");
    let api = up.printed("sandbox cluster:");
    let names = application_names(&kubeconfig);
    for name in registered {
        assert!(names.iter().any(|n| n == name), "{name} missing from {names:?}");
    }
    let cm = kubectl(&kubeconfig, &["get", "configmap", "argocd-cm", "-n", "argocd", "-o", "json"]);
    assert!(cm.contains("resource.customizations.health.argoproj.io_Application"), "{cm}");
    kubectl(&kubeconfig, &["get", "appproject", "default", "-n", "argocd"]);
    assert_eq!(git_ls_remote(&repo_url).len(), 40);
    wait_until("all apps Synced/Healthy", Duration::from_secs(180), || not_synced_healthy(&kubeconfig));
    let metrics = http_get(&up.printed("metrics:"));
    assert!(metrics.contains("argocd_app_info{"), "{metrics}");
    // The hooks of waves-hooks ran (the PostSync one once the app is healthy) and, having
    // succeeded, were deleted (HookSucceeded).
    let template = r#"{.status.operationState.phase}{"\n"}{range .status.operationState.syncResult.resources[*]}{.name} {.hookType} {.hookPhase}{"\n"}{end}"#;
    wait_until("the waves-hooks operation with both hooks", Duration::from_secs(60), || {
        let results = kubectl(
            &kubeconfig,
            &["get", "application", "waves-hooks", "-n", "argocd", "-o", &format!("jsonpath={template}")],
        );
        let done = ["Succeeded", "db-migrate PreSync Succeeded", "smoke-test PostSync Succeeded"]
            .iter()
            .all(|want| results.lines().any(|l| l == *want));
        (!done).then_some(results)
    });
    wait_until("succeeded hooks deleted", Duration::from_secs(60), || {
        let jobs = kubectl(&kubeconfig, &["get", "jobs", "-n", "waves-hooks", "-o", "name"]);
        (!jobs.trim().is_empty()).then_some(jobs)
    });

    // A commit in the printed working tree is deployed.
    let work = up.printed("  working tree:");
    let manifest = Path::new(&work).join("guestbook/guestbook-ui-deployment.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("replicas: 1", "replicas: 2")).unwrap();
    let committed = Command::new("git")
        .current_dir(&work)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t.invalid",
            "commit",
            "--quiet",
            "-am",
            "two replicas",
        ])
        .status()
        .unwrap();
    assert!(committed.success());
    wait_until("the committed replica count", Duration::from_secs(120), || {
        let replicas = kubectl(
            &kubeconfig,
            &["get", "deployment", "guestbook-ui", "-n", "guestbook", "-o", "jsonpath={.spec.replicas}"],
        );
        (replicas != "2").then_some(replicas)
    });
    let commit = git_ls_remote(&repo_url);

    // A marker object the restart must still find.
    kubectl(&kubeconfig, &["create", "configmap", "marker", "-n", "argocd", "--from-literal=k=v"]);
    up.interrupt();

    let again = Up::start(data.path());
    assert_eq!(again.kubeconfig(), kubeconfig);
    assert_eq!(again.printed("example repository:"), repo_url, "the repository URL is kept");
    assert_eq!(again.printed("sandbox cluster:"), api, "the API server address is kept");
    assert_eq!(application_names(&kubeconfig), ALL_APPS, "the registered apps and the children");
    let marker =
        kubectl(&kubeconfig, &["get", "configmap", "marker", "-n", "argocd", "-o", "jsonpath={.data.k}"]);
    assert_eq!(marker, "v");
    assert_eq!(git_ls_remote(&repo_url), commit, "the repository is kept as the user left it");
    wait_until("all apps Synced/Healthy after the restart", Duration::from_secs(120), || {
        not_synced_healthy(&kubeconfig)
    });
    again.interrupt();
}

/// The directory on `PATH` holding `name`.
fn found_on_path(name: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is required on PATH for this test"))
}

#[test]
fn without_kustomize_the_kustomize_app_says_how_to_install_it_and_the_others_sync() {
    let dir = tempfile::tempdir().unwrap();
    // A PATH with git only, a HOME and tools directory without the pinned kubectl of
    // install-test-tools.sh, and kustomize overrides that name no file.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(found_on_path("git"), bin.join("git")).unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let none = home.as_path();
    let env = [
        ("PATH", bin.as_path()),
        ("HOME", none),
        ("TIPHYS_TOOLS_DIR", none),
        ("TIPHYS_KUSTOMIZE", none),
        ("TIPHYS_KUBECTL_KUSTOMIZE", none),
    ];
    let up = Up::start_with(&dir.path().join("data"), &env);
    let kubeconfig = up.kubeconfig();
    let template = r#"{.status.sync.status} {.status.conditions[*].type}: {.status.conditions[*].message}"#;
    wait_until("kustomize-guestbook's ComparisonError", Duration::from_secs(120), || {
        let out = kubectl(
            &kubeconfig,
            &[
                "get",
                "application",
                "kustomize-guestbook",
                "-n",
                "argocd",
                "-o",
                &format!("jsonpath={template}"),
            ],
        );
        let explained = out.contains("ComparisonError") && out.contains("install kustomize or kubectl");
        (!explained).then_some(out)
    });
    wait_until("guestbook Synced", Duration::from_secs(120), || {
        let out = kubectl(
            &kubeconfig,
            &["get", "application", "guestbook", "-n", "argocd", "-o", "jsonpath={.status.sync.status}"],
        );
        (out != "Synced").then_some(out)
    });
    up.interrupt();
}
