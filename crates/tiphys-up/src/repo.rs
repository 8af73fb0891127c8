//! The built-in example repository: its files (embedded in the binary), the Applications
//! that deploy them, and writing it out as a git repository.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::UpError;

/// Text in the embedded files replaced by the served repository's URL when the repository is
/// written (the app-of-apps children point back at it).
pub const REPO_URL_PLACEHOLDER: &str = "${REPO_URL}";

/// The repository's files, relative path and content.
pub const FILES: &[(&str, &str)] = &[
    ("README.md", include_str!("../repo/README.md")),
    (
        "guestbook/guestbook-ui-deployment.yaml",
        include_str!("../repo/guestbook/guestbook-ui-deployment.yaml"),
    ),
    ("guestbook/guestbook-ui-svc.yaml", include_str!("../repo/guestbook/guestbook-ui-svc.yaml")),
    (
        "kustomize-guestbook/kustomization.yaml",
        include_str!("../repo/kustomize-guestbook/kustomization.yaml"),
    ),
    (
        "kustomize-guestbook/guestbook-ui-deployment.yaml",
        include_str!("../repo/kustomize-guestbook/guestbook-ui-deployment.yaml"),
    ),
    (
        "kustomize-guestbook/guestbook-ui-svc.yaml",
        include_str!("../repo/kustomize-guestbook/guestbook-ui-svc.yaml"),
    ),
    ("helm-guestbook/Chart.yaml", include_str!("../repo/helm-guestbook/Chart.yaml")),
    ("helm-guestbook/values.yaml", include_str!("../repo/helm-guestbook/values.yaml")),
    ("helm-guestbook/templates/_helpers.tpl", include_str!("../repo/helm-guestbook/templates/_helpers.tpl")),
    (
        "helm-guestbook/templates/deployment.yaml",
        include_str!("../repo/helm-guestbook/templates/deployment.yaml"),
    ),
    ("helm-guestbook/templates/service.yaml", include_str!("../repo/helm-guestbook/templates/service.yaml")),
    ("jsonnet-guestbook/params.libsonnet", include_str!("../repo/jsonnet-guestbook/params.libsonnet")),
    (
        "jsonnet-guestbook/guestbook-ui.jsonnet",
        include_str!("../repo/jsonnet-guestbook/guestbook-ui.jsonnet"),
    ),
    ("waves-hooks/presync-migrate.yaml", include_str!("../repo/waves-hooks/presync-migrate.yaml")),
    ("waves-hooks/config.yaml", include_str!("../repo/waves-hooks/config.yaml")),
    ("waves-hooks/deployment.yaml", include_str!("../repo/waves-hooks/deployment.yaml")),
    ("waves-hooks/service.yaml", include_str!("../repo/waves-hooks/service.yaml")),
    ("waves-hooks/postsync-smoke-test.yaml", include_str!("../repo/waves-hooks/postsync-smoke-test.yaml")),
    ("app-of-apps/guestbook.yaml", include_str!("../repo/app-of-apps/guestbook.yaml")),
    ("app-of-apps/helm-guestbook.yaml", include_str!("../repo/app-of-apps/helm-guestbook.yaml")),
];

/// One Application `tiphys up` registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExampleApp {
    /// The Application's name (in namespace `argocd`).
    pub name: &'static str,
    /// Its source path in the example repository.
    pub path: &'static str,
    /// Its destination namespace.
    pub namespace: &'static str,
}

/// The Applications registered at start, one per top-level directory of the repository.
pub const APPS: &[ExampleApp] = &[
    ExampleApp { name: "guestbook", path: "guestbook", namespace: "guestbook" },
    ExampleApp { name: "kustomize-guestbook", path: "kustomize-guestbook", namespace: "kustomize-guestbook" },
    ExampleApp { name: "helm-guestbook", path: "helm-guestbook", namespace: "helm-guestbook" },
    ExampleApp { name: "jsonnet-guestbook", path: "jsonnet-guestbook", namespace: "jsonnet-guestbook" },
    ExampleApp { name: "waves-hooks", path: "waves-hooks", namespace: "waves-hooks" },
    // The parent's resources are Applications, which live in the controller's namespace.
    ExampleApp { name: "app-of-apps", path: "app-of-apps", namespace: crate::NAMESPACE },
];

/// The Applications `app-of-apps` creates, with their destination namespaces (the files in
/// `app-of-apps/` say the same).
pub const CHILD_APPS: &[ExampleApp] = &[
    ExampleApp { name: "aoa-guestbook", path: "guestbook", namespace: "aoa-guestbook" },
    ExampleApp { name: "aoa-helm-guestbook", path: "helm-guestbook", namespace: "aoa-helm-guestbook" },
];

/// The identity of the commits `tiphys up` makes.
const AUTHOR: (&str, &str) = ("Tiphys Up", "up@tiphys.invalid");

/// Runs one git command in `dir` with a fixed identity and no user or system configuration
/// (a signing or hook setup of the user's must not break the demo).
fn git(dir: &Path, args: &[&str]) -> Result<String, UpError> {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", AUTHOR.0)
        .env("GIT_AUTHOR_EMAIL", AUTHOR.1)
        .env("GIT_COMMITTER_NAME", AUTHOR.0)
        .env("GIT_COMMITTER_EMAIL", AUTHOR.1);
    let options = tiphys_tools::RunOptions { timeout: Duration::from_secs(60), ..Default::default() };
    let what = format!("git {}", args.first().copied().unwrap_or_default());
    let out = tiphys_tools::run(cmd, &what, &options).map_err(|e| UpError::Repo {
        path: dir.to_path_buf(),
        message: format!("{e}; is git installed (apt-get install git)?"),
    })?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Writes the example repository into `dir` (which must not exist yet) as a git working
/// repository on branch `main` with one commit, the app-of-apps children pointing at
/// `repo_url`. A push from a clone updates the working tree
/// (`receive.denyCurrentBranch=updateInstead`). The repository is built next to `dir` and
/// renamed into place, so an interrupted first start never leaves a half-made repository that
/// a restart would keep. Returns the commit SHA.
pub fn write(dir: &Path, repo_url: &str) -> Result<String, UpError> {
    let mut partial = dir.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let io = |e: std::io::Error| UpError::Repo { path: dir.to_path_buf(), message: e.to_string() };
    match std::fs::remove_dir_all(&partial) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    for (path, content) in FILES {
        let target = partial.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&target, content.replace(REPO_URL_PLACEHOLDER, repo_url)).map_err(io)?;
    }
    git(&partial, &["init", "--quiet", "--initial-branch=main"])?;
    git(&partial, &["config", "receive.denyCurrentBranch", "updateInstead"])?;
    git(&partial, &["add", "-A"])?;
    git(
        &partial,
        &["commit", "--quiet", "--no-gpg-sign", "--no-verify", "-m", "Example applications for tiphys up"],
    )?;
    let commit = git(&partial, &["rev-parse", "HEAD"])?;
    std::fs::rename(&partial, dir).map_err(io)?;
    Ok(commit)
}

/// True when `dir` already holds a git repository (a restart with `--data` keeps it as the
/// user left it).
pub fn exists(dir: &Path) -> bool {
    dir.join(".git").is_dir()
}
