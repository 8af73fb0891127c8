//! The Helm renderer `tiphys-render` calls for Helm sources: reads the chart directory from
//! the checkout (the only file access in this crate, confined to the repository and bounded by
//! the render limits), maps `spec.source.helm` with [`crate::argocd`], renders in-process and
//! returns the manifests as objects.

use std::path::Path;

use serde_json::Value;
use tiphys_gotemplate::FuncMap;
use tiphys_render::{HelmRenderer, RenderError, RenderInput, RepoRoot, resolve_value_file};

use crate::argocd::{AppTarget, render_inputs};
use crate::chart::ChartFile;

/// Renders Helm charts in-process for `tiphys-render`.
pub struct InProcessHelm {
    sprig: FuncMap,
}

impl InProcessHelm {
    /// A renderer whose templates see `sprig` (build it with the render time as `now`).
    pub fn new(sprig: FuncMap) -> InProcessHelm {
        InProcessHelm { sprig }
    }
}

fn helm_error(root: &RepoRoot, chart_dir: &Path, e: impl std::fmt::Display) -> RenderError {
    RenderError::Tool { tool: format!("helm template {}", root.relative(chart_dir)), message: e.to_string() }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> RenderError + '_ {
    move |source| RenderError::Io { path: path.to_path_buf(), source }
}

fn read_tree(
    root: &RepoRoot,
    base: &Path,
    dir: &Path,
    limits: &tiphys_render::Limits,
    total: &mut u64,
    out: &mut Vec<ChartFile>,
) -> Result<(), RenderError> {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).map_err(io(dir))?.collect::<Result<Vec<_>, _>>().map_err(io(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        // Symlinks are followed only when they stay inside the repository.
        let rel = root.relative(&path);
        let resolved = root.resolve(&rel)?;
        let meta = std::fs::metadata(&resolved).map_err(io(&path))?;
        if meta.is_dir() {
            read_tree(root, base, &path, limits, total, out)?;
            continue;
        }
        if meta.len() > limits.max_file_bytes {
            return Err(RenderError::Limit { what: format!("file {rel}"), limit: limits.max_file_bytes });
        }
        *total += meta.len();
        if *total > limits.max_total_bytes {
            return Err(RenderError::Limit { what: "chart size".into(), limit: limits.max_total_bytes });
        }
        let data = std::fs::read(&resolved).map_err(io(&path))?;
        let name = path.strip_prefix(base).map(|p| p.to_string_lossy().replace('\\', "/")).unwrap_or(rel);
        out.push(ChartFile::new(name, data));
    }
    Ok(())
}

impl HelmRenderer for InProcessHelm {
    fn render(&self, input: &RenderInput<'_>, chart_dir: &Path) -> Result<Vec<Value>, RenderError> {
        let mut files = Vec::new();
        read_tree(input.root, chart_dir, chart_dir, &input.limits, &mut 0, &mut files)?;
        let chart = crate::load_directory_files(files).map_err(|e| helm_error(input.root, chart_dir, e))?;
        let target = AppTarget {
            app_name: input.app.name.clone(),
            namespace: input.app.namespace.clone(),
            kube_version: input.app.kube_version.clone(),
            api_versions: input.app.api_versions.clone(),
        };
        let read = |name: &str| -> Result<Option<Vec<u8>>, String> {
            let path = match resolve_value_file(input, chart_dir, name) {
                Ok(path) => path,
                Err(RenderError::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(e.to_string()),
            };
            match std::fs::read(&path) {
                Ok(data) => Ok(Some(data)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        };
        let (values, opts) = render_inputs(input.source.helm.as_ref(), &target, &read)
            .map_err(|e| helm_error(input.root, chart_dir, e))?;
        let text = crate::template(&chart, &values, &opts, &self.sprig)
            .map_err(|e| helm_error(input.root, chart_dir, e))?;
        tiphys_resource::yaml::parse_stream(&text)
            .map_err(|e| RenderError::Parse { file: input.root.relative(chart_dir), message: e.to_string() })
    }
}
