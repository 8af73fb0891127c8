//! Finding a kustomize to run: a standalone `kustomize` if there is one, else `kubectl
//! kustomize` (kubectl embeds kustomize; v1.37.1 carries v5.8.1, the version upstream ships).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variable naming a standalone `kustomize` binary.
pub const KUSTOMIZE_ENV: &str = "TIPHYS_KUSTOMIZE";
/// Environment variable naming a `kubectl` whose embedded kustomize should be used.
pub const KUBECTL_KUSTOMIZE_ENV: &str = "TIPHYS_KUBECTL_KUSTOMIZE";

/// How kustomize is invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kustomize {
    /// `kustomize build DIR`.
    Standalone(PathBuf),
    /// `kubectl kustomize DIR`.
    Kubectl(PathBuf),
}

impl Kustomize {
    /// The command that builds `dir`.
    pub fn build_command(&self, dir: &Path, extra_args: &[String]) -> Command {
        let (bin, sub) = match self {
            Kustomize::Standalone(bin) => (bin, "build"),
            Kustomize::Kubectl(bin) => (bin, "kustomize"),
        };
        let mut cmd = Command::new(bin);
        cmd.arg(sub).arg(dir).args(extra_args);
        cmd
    }

    /// For messages: which binary and how.
    pub fn describe(&self) -> String {
        match self {
            Kustomize::Standalone(bin) => format!("{} build", bin.display()),
            Kustomize::Kubectl(bin) => format!("{} kustomize", bin.display()),
        }
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Where `scripts/install-test-tools.sh` installs the pinned kubectl.
pub fn pinned_kubectl() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let tools = std::env::var_os("TIPHYS_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(&home).join(".cache/tiphys-tools"));
    let p = tools.join("kubectl-cli/bin/kubectl");
    p.is_file().then_some(p)
}

/// Finds kustomize: `$TIPHYS_KUSTOMIZE`, `kustomize` on `PATH`, `$TIPHYS_KUBECTL_KUSTOMIZE`,
/// the pinned kubectl from `scripts/install-test-tools.sh`, then `kubectl` on `PATH`.
pub fn locate_kustomize() -> Option<Kustomize> {
    let env_path = |name: &str| std::env::var_os(name).map(PathBuf::from).filter(|p| p.is_file());
    env_path(KUSTOMIZE_ENV).or_else(|| on_path("kustomize")).map(Kustomize::Standalone).or_else(|| {
        env_path(KUBECTL_KUSTOMIZE_ENV)
            .or_else(pinned_kubectl)
            .or_else(|| on_path("kubectl"))
            .map(Kustomize::Kubectl)
    })
}
