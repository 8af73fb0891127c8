//! `tiphys up` end to end: the real binary as a child process, checked with the real
//! `kubectl` through the kubeconfig it prints; SIGINT stops it with exit 0, and a restart with
//! the same `--data` finds the same objects and the same repository.

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
        let mut child = Command::new(env!("CARGO_BIN_EXE_tiphys"))
            .args(["up", "--data"])
            .arg(data)
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

#[test]
fn up_registers_the_examples_stops_on_sigint_and_resumes_from_data() {
    let data = tempfile::tempdir().unwrap();
    let expected = [
        "app-of-apps",
        "guestbook",
        "helm-guestbook",
        "jsonnet-guestbook",
        "kustomize-guestbook",
        "waves-hooks",
    ];

    let up = Up::start(data.path());
    let kubeconfig = up.kubeconfig();
    assert!(Path::new(&kubeconfig).starts_with(data.path()), "{kubeconfig}");
    let repo_url = up.printed("example repository:");
    let api = up.printed("sandbox cluster:");
    let names = application_names(&kubeconfig);
    for name in expected {
        assert!(names.iter().any(|n| n == name), "{name} missing from {names:?}");
    }
    let cm = kubectl(&kubeconfig, &["get", "configmap", "argocd-cm", "-n", "argocd", "-o", "json"]);
    assert!(cm.contains("resource.customizations.health.argoproj.io_Application"), "{cm}");
    kubectl(&kubeconfig, &["get", "appproject", "default", "-n", "argocd"]);
    let commit = git_ls_remote(&repo_url);
    assert_eq!(commit.len(), 40, "{commit}");
    // A marker object the restart must still find.
    kubectl(&kubeconfig, &["create", "configmap", "marker", "-n", "argocd", "--from-literal=k=v"]);
    up.interrupt();

    let again = Up::start(data.path());
    assert_eq!(again.kubeconfig(), kubeconfig);
    assert_eq!(again.printed("example repository:"), repo_url, "the repository URL is kept");
    assert_eq!(again.printed("sandbox cluster:"), api, "the API server address is kept");
    assert_eq!(application_names(&kubeconfig), names);
    let marker =
        kubectl(&kubeconfig, &["get", "configmap", "marker", "-n", "argocd", "-o", "jsonpath={.data.k}"]);
    assert_eq!(marker, "v");
    assert_eq!(git_ls_remote(&repo_url), commit, "the repository is not rewritten");
    again.interrupt();
}
