//! The sandbox host: the scenario binary re-executed as a child process that runs a sandbox
//! API server (and, when asked, the Git HTTP server), so their CPU and memory are not counted
//! as the controller's. The child prints one JSON line with its endpoints and serves until its
//! stdin closes.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use serde::{Deserialize, Serialize};
use tiphys_sandbox::{Sandbox, SandboxConfig};

use crate::{Error, Result};

/// What the host child reports once it serves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoints {
    /// Kubeconfig YAML for the sandbox.
    pub kubeconfig: String,
    /// The sandbox's base URL.
    pub url: String,
    /// Its bearer token.
    pub token: String,
    /// Its CA certificate (PEM).
    pub ca_pem: String,
    /// Base URL of the Git server (`<base>/<name>.git`), when one was asked for.
    pub git_base: Option<String>,
}

/// Runs in the child: starts the sandbox (with the workload simulator) and, with `git_root`,
/// the Git HTTP server over the bare repositories there; prints [`Endpoints`] as one line on
/// stdout and serves until stdin is closed.
pub async fn serve(git_root: Option<&Path>) -> Result<()> {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .map_err(|e| Error::Process { what: "sandbox host".into(), message: e.to_string() })?;
    let git = git_root
        .map(|root| {
            tiphys_git::serve::GitHttpServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), root, None)
        })
        .transpose()
        .map_err(|e| Error::Process { what: "git server".into(), message: e.to_string() })?;
    let endpoints = Endpoints {
        kubeconfig: sandbox.kubeconfig(),
        url: sandbox.url().to_string(),
        token: sandbox.token().to_string(),
        ca_pem: sandbox.ca_pem().to_string(),
        git_base: git.as_ref().map(|g| format!("http://{}", g.addr())),
    };
    println!("{}", serde_json::to_string(&endpoints).unwrap_or_default());
    // The parent closes our stdin (or dies) to stop us.
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await
    .ok();
    drop(git);
    sandbox.shutdown().await;
    Ok(())
}

/// The parent's handle on a running host child.
pub struct Host {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Where it serves.
    pub endpoints: Endpoints,
}

impl Host {
    /// Starts `exe --host-sandbox [--git-root DIR]` and waits for its endpoints.
    pub fn spawn(exe: &Path, git_root: Option<&PathBuf>) -> Result<Host> {
        let mut cmd = Command::new(exe);
        cmd.arg("--host-sandbox").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        // A heap profiler preloaded into the scenario (heaptrack) measures the controller, not
        // the sandbox host.
        cmd.env_remove("LD_PRELOAD");
        if let Some(root) = git_root {
            cmd.arg("--git-root").arg(root);
        }
        let fail =
            |message: String| Error::Process { what: format!("sandbox host {}", exe.display()), message };
        let mut child = cmd.spawn().map_err(|e| fail(e.to_string()))?;
        let stdin = child.stdin.take();
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout).read_line(&mut line).map_err(|e| fail(e.to_string()))?;
        }
        let endpoints: Endpoints = serde_json::from_str(&line)
            .map_err(|e| fail(format!("did not report its endpoints ({e}); its stderr says why")))?;
        Ok(Host { child, stdin, endpoints })
    }

    /// CPU seconds the host has used so far (the sandbox's cost, reported separately).
    pub fn cpu_s(&self) -> f64 {
        crate::measure::pid_cpu_s(self.child.id())
    }

    /// Closes the child's stdin and waits for it to exit.
    pub fn stop(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            drop(self.stdin.take());
            let _ = self.child.wait();
        }
    }
}
