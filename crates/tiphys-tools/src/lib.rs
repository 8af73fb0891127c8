//! Running external tools safely: every child gets its own process group, a deadline and a
//! cap on what it may print; on timeout or overflow the whole group is killed, so a plugin's
//! `sleep` grandchild does not outlive the render.
//!
//! [`run`] is the primitive (also used by `tiphys-git` for `git`); [`ProcessRunner`] implements
//! `tiphys_render::ToolRunner` for kustomize builds and config management plugins. This crate
//! makes no GitOps decisions: it runs what it is told and reports how it went.

mod kustomize;
mod process;

pub use kustomize::{KUBECTL_KUSTOMIZE_ENV, KUSTOMIZE_ENV, Kustomize, locate_kustomize, pinned_kubectl};
pub use process::{Output, RunOptions, ToolError, run};

use std::path::Path;

use tiphys_render::{ToolCommand, ToolFailure, ToolRunner};

/// Runs kustomize and plugin commands as real subprocesses.
#[derive(Debug, Clone)]
pub struct ProcessRunner {
    /// How to invoke kustomize (`None` when none was found: kustomize sources then fail with
    /// an install hint).
    pub kustomize: Option<Kustomize>,
    /// Deadline and output cap for each command.
    pub options: RunOptions,
}

impl ProcessRunner {
    /// A runner using the kustomize found by [`locate_kustomize`].
    pub fn new(options: RunOptions) -> Self {
        ProcessRunner { kustomize: locate_kustomize(), options }
    }
}

impl ToolRunner for ProcessRunner {
    fn kustomize_build(
        &self,
        dir: &Path,
        extra_args: &[String],
        env: &[(String, String)],
    ) -> Result<String, ToolFailure> {
        let kustomize = self.kustomize.as_ref().ok_or_else(|| {
            ToolFailure(format!(
                "no kustomize found; install kustomize or kubectl (scripts/install-test-tools.sh installs kubectl v1.37.1), or set {KUSTOMIZE_ENV} / {KUBECTL_KUSTOMIZE_ENV}"
            ))
        })?;
        let mut cmd = kustomize.build_command(dir, extra_args);
        cmd.current_dir(dir).envs(env.iter().map(|(k, v)| (k, v)));
        let out = run(cmd, &kustomize.describe(), &self.options).map_err(|e| ToolFailure(e.to_string()))?;
        String::from_utf8(out.stdout).map_err(|_| ToolFailure("kustomize output is not UTF-8".into()))
    }

    fn run(&self, command: &ToolCommand) -> Result<Vec<u8>, ToolFailure> {
        let mut cmd = std::process::Command::new(&command.program);
        cmd.args(&command.args).current_dir(&command.dir).envs(command.env.iter().map(|(k, v)| (k, v)));
        let out = run(cmd, &command.program, &self.options).map_err(|e| ToolFailure(e.to_string()))?;
        Ok(out.stdout)
    }
}
