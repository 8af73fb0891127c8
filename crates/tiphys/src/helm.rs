//! `tiphys helm template`: renders a chart in-process and prints what `helm template` prints.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use tiphys_gotemplate::sprig::{SprigEnv, functions};
use tiphys_helm::{ChartFile, OutputOptions, TemplateOptions, UserValues};

/// Helm-compatible chart commands.
#[derive(Debug, Args)]
pub struct HelmArgs {
    #[command(subcommand)]
    command: HelmCommand,
}

#[derive(Debug, Subcommand)]
enum HelmCommand {
    /// Render chart templates locally and print them, like `helm template`.
    Template(TemplateArgs),
}

/// Flags of `helm template` that Tiphys supports.
#[derive(Debug, Args)]
struct TemplateArgs {
    /// `[NAME] CHART`: release name (default `release-name`) and chart directory or `.tgz`.
    #[arg(required = true, num_args = 1..=2)]
    args: Vec<String>,
    /// Values files, merged in order.
    #[arg(short = 'f', long = "values")]
    values: Vec<PathBuf>,
    /// `key=value` values (typed).
    #[arg(long = "set")]
    set: Vec<String>,
    /// `key=value` values, always strings.
    #[arg(long = "set-string")]
    set_string: Vec<String>,
    /// `key=path`: the value is the file's contents.
    #[arg(long = "set-file")]
    set_file: Vec<String>,
    /// `key=json` values.
    #[arg(long = "set-json")]
    set_json: Vec<String>,
    /// Release namespace.
    #[arg(short = 'n', long = "namespace", default_value = "default")]
    namespace: String,
    /// Kubernetes version for `.Capabilities.KubeVersion`.
    #[arg(long = "kube-version")]
    kube_version: Option<String>,
    /// Extra API versions for `.Capabilities.APIVersions` (comma-separated or repeated).
    #[arg(short = 'a', long = "api-versions", value_delimiter = ',')]
    api_versions: Vec<String>,
    /// Print the chart's CRDs too.
    #[arg(long = "include-crds")]
    include_crds: bool,
    /// Leave out test hooks.
    #[arg(long = "skip-tests")]
    skip_tests: bool,
    /// Leave out all hooks.
    #[arg(long = "no-hooks")]
    no_hooks: bool,
    /// Set `.Release.IsUpgrade` instead of `.Release.IsInstall`.
    #[arg(long = "is-upgrade")]
    is_upgrade: bool,
    /// Only print manifests from these templates (globs allowed).
    #[arg(short = 's', long = "show-only")]
    show_only: Vec<String>,
    /// Do not validate values against `values.schema.json`.
    #[arg(long = "skip-schema-validation")]
    skip_schema_validation: bool,
    /// A template for the release name.
    #[arg(long = "name-template")]
    name_template: Option<String>,
    /// On errors, also print what was rendered.
    #[arg(long = "debug")]
    debug: bool,
    /// Opt-in fallback: run this real `helm` binary with the same arguments instead of the
    /// in-process renderer (for charts the renderer cannot handle yet).
    #[arg(long = "helm-binary")]
    helm_binary: Option<PathBuf>,
}

/// Runs a `helm` sub-command. Errors are printed the way `helm` prints them (exit code 1).
pub fn run(args: HelmArgs) -> Result<ExitCode> {
    match args.command {
        HelmCommand::Template(t) => {
            if let Some(helm) = &t.helm_binary {
                return run_helm_binary(helm);
            }
            let debug = t.debug;
            match template(t) {
                Ok(out) => {
                    std::io::stdout().write_all(out.as_bytes())?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(failure) => {
                    if debug {
                        std::io::stdout().write_all(failure.rendered.as_bytes())?;
                    }
                    let hint = if failure.render_stage && !debug {
                        "\n\nUse --debug flag to render out invalid YAML"
                    } else {
                        ""
                    };
                    eprintln!("Error: {:#}{hint}", failure.error);
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// Runs the real helm with this invocation's arguments (minus `--helm-binary`), passing its
/// output and exit code through.
fn run_helm_binary(helm: &Path) -> Result<ExitCode> {
    let mut args: Vec<String> = Vec::new();
    let mut skip_next = false;
    for arg in std::env::args().skip_while(|a| a != "template") {
        if skip_next {
            skip_next = false;
        } else if arg == "--helm-binary" {
            skip_next = true;
        } else if !arg.starts_with("--helm-binary=") {
            args.push(arg);
        }
    }
    let status = std::process::Command::new(helm)
        .args(&args)
        .status()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", helm.display()))?;
    Ok(ExitCode::from(status.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(1)))
}

struct Failure {
    error: anyhow::Error,
    render_stage: bool,
    rendered: String,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure { error, render_stage: false, rendered: String::new() }
    }
}

fn template(t: TemplateArgs) -> Result<String, Failure> {
    let (name, chart_path) = match t.args.as_slice() {
        [chart] => (None, chart.clone()),
        [name, chart] => (Some(name.clone()), chart.clone()),
        _ => return Err(anyhow::anyhow!("expected [NAME] CHART").into()),
    };
    let sprig = functions(&SprigEnv { now: jiff::Zoned::now(), seed: 0 });
    let release_name = match (&name, &t.name_template) {
        (Some(n), _) => n.clone(),
        (None, Some(tpl)) => {
            let mut set = tiphys_gotemplate::Template::with_funcs("name-template", sprig.clone());
            set.parse("name-template", tpl).map_err(anyhow::Error::from)?;
            set.execute("name-template", &tiphys_gotemplate::Value::Nil).map_err(anyhow::Error::from)?
        }
        (None, None) => "release-name".to_string(),
    };
    let chart = load_chart(Path::new(&chart_path))?;
    let mut values = UserValues::new();
    for f in &t.values {
        let data =
            std::fs::read(f).map_err(|e| anyhow::anyhow!("open {}: {}", f.display(), go_io_error(&e)))?;
        values.add_file(&f.display().to_string(), &data).map_err(anyhow::Error::from)?;
    }
    for s in &t.set_json {
        values.set_json(s).map_err(anyhow::Error::from)?;
    }
    for s in &t.set {
        values.set(s).map_err(anyhow::Error::from)?;
    }
    for s in &t.set_string {
        values.set_string(s).map_err(anyhow::Error::from)?;
    }
    for s in &t.set_file {
        let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("open {p}: {}", go_io_error(&e)));
        values.set_file(s, &read).map_err(anyhow::Error::from)?;
    }
    let mut opts = TemplateOptions::default();
    opts.release.name = release_name;
    opts.release.namespace = t.namespace;
    opts.release.is_upgrade = t.is_upgrade;
    if let Some(v) = t.kube_version {
        opts.capabilities.kube_version = v;
    }
    opts.capabilities.api_versions.extend(t.api_versions.into_iter().filter(|v| !v.is_empty()));
    opts.skip_schema_validation = t.skip_schema_validation;
    opts.output = OutputOptions {
        include_crds: t.include_crds,
        skip_tests: t.skip_tests,
        no_hooks: t.no_hooks,
        show_only: t.show_only,
    };
    let user = values.into_map();
    tiphys_helm::template(&chart, &user, &opts, &sprig).map_err(|e| {
        let render_stage = e.is_render_error();
        let rendered = if render_stage && t.debug {
            tiphys_helm::render_files_for_debug(&chart, &user, &opts, &sprig)
        } else {
            String::new()
        };
        Failure { error: e.into(), render_stage, rendered }
    })
}

/// How Go's `os` package words the common I/O failures.
fn go_io_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Loads a chart from a directory (walking it, `.helmignore` applied) or a `.tgz`.
fn load_chart(path: &Path) -> Result<tiphys_helm::Chart> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|_| {
        // Like helm, a name that is not a local path is read as a repository reference; Tiphys
        // renders local charts only.
        let local = shown.starts_with('.') || shown.starts_with('/');
        match shown.split_once('/') {
            _ if local => anyhow::anyhow!("path {shown:?} not found"),
            None => anyhow::anyhow!(
                "non-absolute URLs should be in form of repo_name/path_to_chart, got: {shown}"
            ),
            Some((repo, _)) => anyhow::anyhow!("repo {repo} not found"),
        }
    })?;
    if meta.is_file() {
        let data = std::fs::read(path)?;
        return Ok(tiphys_helm::load_archive(&data)?);
    }
    let mut files = Vec::new();
    walk(path, path, &mut files)?;
    Ok(tiphys_helm::load_directory_files(files)?)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<ChartFile>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let meta = std::fs::metadata(&path)?;
        if meta.is_dir() {
            walk(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root)?.to_string_lossy().replace('\\', "/");
            out.push(ChartFile::new(rel, std::fs::read(&path)?));
        }
    }
    Ok(())
}
