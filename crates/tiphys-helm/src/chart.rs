//! Charts as Helm's loader sees them: `Chart.yaml` metadata, values, templates, other files
//! and subcharts, read from an in-memory file tree (a directory the caller walked, or a `.tgz`).

use std::io::Read;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::Error;
use crate::ignore::IgnoreRules;
use crate::values;

/// Largest archive we unpack (Helm's own limit on a decompressed chart).
pub const MAX_ARCHIVE_BYTES: u64 = 100 * 1024 * 1024;

/// One file of a chart: its path relative to the chart root (`/`-separated) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFile {
    /// Path relative to the chart root, e.g. `templates/service.yaml`.
    pub name: String,
    /// Raw contents.
    pub data: Vec<u8>,
}

impl ChartFile {
    /// Builds a file from a name and contents.
    pub fn new(name: impl Into<String>, data: impl Into<Vec<u8>>) -> ChartFile {
        ChartFile { name: name.into(), data: data.into() }
    }
}

/// A maintainer entry of `Chart.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Maintainer {
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// URL.
    pub url: String,
}

/// A dependency declared in `Chart.yaml` (v2) or `requirements.yaml` (v1).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Dependency {
    /// Chart name.
    pub name: String,
    /// Version constraint.
    pub version: String,
    /// Repository URL (informational here: charts must already be vendored in `charts/`).
    pub repository: String,
    /// Comma-separated values paths that enable the dependency when true.
    pub condition: String,
    /// Tags that enable or disable it through the `tags` values table.
    pub tags: Vec<String>,
    /// Whether the dependency is enabled after conditions and tags are applied.
    pub enabled: bool,
    /// Values imported from the child into the parent.
    #[serde(rename = "import-values")]
    pub import_values: Vec<Value>,
    /// Name the subchart is rendered under.
    pub alias: String,
}

/// `Chart.yaml` as Helm reads it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Metadata {
    /// Chart name.
    pub name: String,
    /// Home page URL.
    pub home: String,
    /// Source URLs.
    pub sources: Vec<String>,
    /// SemVer version.
    pub version: String,
    /// One-line description.
    pub description: String,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Maintainers.
    pub maintainers: Vec<Maintainer>,
    /// Icon URL.
    pub icon: String,
    /// `v1` or `v2`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// Condition (unused by Helm for the chart itself, kept for `.Chart`).
    pub condition: String,
    /// Tags (kept for `.Chart`).
    pub tags: String,
    /// Application version.
    #[serde(rename = "appVersion")]
    pub app_version: String,
    /// Whether the chart is deprecated.
    pub deprecated: bool,
    /// Free-form annotations.
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
    /// Kubernetes version constraint.
    #[serde(rename = "kubeVersion")]
    pub kube_version: String,
    /// Declared dependencies.
    pub dependencies: Vec<Dependency>,
    /// `application` (default) or `library`.
    #[serde(rename = "type")]
    pub chart_type: String,
}

/// A loaded chart with its subcharts.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// `Chart.yaml`.
    pub metadata: Metadata,
    /// Default values (`values.yaml`), numbers as Go's `float64` the way Helm decodes them.
    pub values: Map<String, Value>,
    /// `values.schema.json`, if present.
    pub schema: Option<Vec<u8>>,
    /// Files under `templates/`.
    pub templates: Vec<ChartFile>,
    /// Every other file (served by `.Files`; `crds/` lives here too).
    pub files: Vec<ChartFile>,
    /// Subcharts found in `charts/`.
    pub dependencies: Vec<Chart>,
    /// Whether this chart is the one the user asked for (Helm's `IsRoot`).
    pub is_root: bool,
}

impl Chart {
    /// The chart's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Whether this is a library chart (never rendered on its own).
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type == "library"
    }

    /// The CRD files of this chart and its subcharts, as `(path for the Source header, data)`.
    pub fn crd_objects(&self) -> Vec<(String, &[u8])> {
        self.crd_objects_under("")
    }

    fn crd_objects_under(&self, prefix: &str) -> Vec<(String, &[u8])> {
        let base = format!("{prefix}{}", self.name());
        let mut out: Vec<(String, &[u8])> = self
            .files
            .iter()
            .filter(|f| f.name.starts_with("crds/") && has_manifest_extension(&f.name))
            .map(|f| (format!("{base}/{}", f.name), f.data.as_slice()))
            .collect();
        for dep in &self.dependencies {
            out.extend(dep.crd_objects_under(&format!("{base}/charts/")));
        }
        out
    }
}

fn has_manifest_extension(name: &str) -> bool {
    [".yaml", ".yml", ".json"].iter().any(|ext| name.ends_with(ext))
}

/// Loads a chart from a gzipped tar archive (`helm package` output or a `charts/*.tgz`).
pub fn load_archive(data: &[u8]) -> Result<Chart, Error> {
    let files = unpack_archive(data)?;
    load_files(files)
}

/// Reads a chart archive into chart-relative files (the archive's top directory stripped).
pub fn unpack_archive(data: &[u8]) -> Result<Vec<ChartFile>, Error> {
    let gz = flate2::read::GzDecoder::new(data);
    let mut archive = tar::Archive::new(gz.take(MAX_ARCHIVE_BYTES));
    let mut out: Vec<ChartFile> = Vec::new();
    let entries = archive.entries().map_err(|e| Error::Archive(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::Archive(e.to_string()))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(|e| Error::Archive(e.to_string()))?;
        let raw = path.to_string_lossy().replace('\\', "/");
        let mut parts = raw.splitn(2, '/');
        let first = parts.next().unwrap_or_default();
        let Some(rest) = parts.next() else {
            if first == "Chart.yaml" {
                return Err(Error::Archive("chart yaml not in base directory".into()));
            }
            continue;
        };
        if rest.split('/').any(|p| p == "..") {
            return Err(Error::Archive("chart illegally contains content outside the base directory".into()));
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(|e| Error::Archive(e.to_string()))?;
        if let Some(existing) = out.iter_mut().find(|f| f.name == rest) {
            existing.data = strip_bom(data);
        } else {
            out.push(ChartFile::new(rest, strip_bom(data)));
        }
    }
    if out.is_empty() {
        return Err(Error::Archive("no files in chart archive".into()));
    }
    Ok(out)
}

fn strip_bom(mut data: Vec<u8>) -> Vec<u8> {
    if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
        data.drain(..3);
    }
    data
}

/// Loads a chart from the files of a chart directory, applying its `.helmignore` first (as
/// `helm` does when it reads a directory). Paths are relative to the chart root.
pub fn load_directory_files(files: Vec<ChartFile>) -> Result<Chart, Error> {
    let rules = match files.iter().find(|f| f.name == ".helmignore") {
        Some(f) => IgnoreRules::parse(&String::from_utf8_lossy(&f.data))?,
        None => IgnoreRules::default(),
    };
    let kept = files
        .into_iter()
        .filter(|f| !rules.ignores_file(&f.name))
        .map(|f| ChartFile { data: strip_bom(f.data), name: f.name })
        .collect();
    load_files(kept)
}

/// Builds a chart from chart-relative files (Helm's `LoadFiles`): sorts each file into
/// metadata, values, schema, templates, subcharts or plain files, then validates.
pub fn load_files(files: Vec<ChartFile>) -> Result<Chart, Error> {
    let mut chart = Chart::default();
    let mut metadata: Option<Metadata> = None;
    let mut requirements: Option<Vec<u8>> = None;
    let mut subcharts: Vec<(String, Vec<ChartFile>)> = Vec::new();
    let mut files = files;
    files.sort_by(|a, b| a.name.cmp(&b.name));
    for f in files {
        match f.name.as_str() {
            "Chart.yaml" => {
                let md: Metadata = parse_yaml_struct(&f.data).map_err(|e| Error::Load {
                    file: "Chart.yaml".into(),
                    message: format!("cannot load Chart.yaml: {e}"),
                })?;
                metadata = Some(md);
            }
            "values.yaml" => {
                chart.values = values::read_values(&f.data).map_err(|message| Error::Load {
                    file: "values.yaml".into(),
                    message: format!("cannot load values.yaml: {message}"),
                })?;
            }
            "values.schema.json" => chart.schema = Some(f.data),
            "requirements.yaml" => {
                requirements = Some(f.data.clone());
                chart.files.push(f);
            }
            name if name.starts_with("templates/") => chart.templates.push(f),
            name if name.starts_with("charts/") => {
                if name.ends_with(".prov") {
                    chart.files.push(f);
                    continue;
                }
                let rest = &name["charts/".len()..];
                let cname = rest.split('/').next().unwrap_or_default().to_string();
                let inner = ChartFile { name: rest.to_string(), data: f.data };
                match subcharts.iter_mut().find(|(n, _)| *n == cname) {
                    Some((_, list)) => list.push(inner),
                    None => subcharts.push((cname, vec![inner])),
                }
            }
            _ => chart.files.push(f),
        }
    }
    let Some(mut md) = metadata else {
        return Err(Error::Validation("Chart.yaml file is missing".into()));
    };
    if md.api_version.is_empty() {
        md.api_version = "v1".into();
    }
    if md.api_version == "v1"
        && let Some(req) = requirements
    {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Requirements {
            dependencies: Vec<Dependency>,
        }
        let r: Requirements = parse_yaml_struct(&req).map_err(|e| Error::Load {
            file: "requirements.yaml".into(),
            message: format!("cannot load requirements.yaml: {e}"),
        })?;
        md.dependencies = r.dependencies;
    }
    chart.metadata = md;
    for (name, files) in subcharts {
        if name.starts_with(['_', '.']) {
            continue;
        }
        let sub = if name.ends_with(".tgz") {
            let Some(file) = files.into_iter().find(|f| f.name == name) else { continue };
            load_archive(&file.data)
        } else {
            let inner: Vec<ChartFile> = files
                .into_iter()
                .filter_map(|f| {
                    let (_, rest) = f.name.split_once('/')?;
                    Some(ChartFile { name: rest.to_string(), data: f.data })
                })
                .collect();
            if inner.is_empty() {
                continue;
            }
            load_files(inner)
        };
        let sub = sub.map_err(|e| Error::Subchart {
            parent: chart.metadata.name.clone(),
            name,
            source: Box::new(e),
        })?;
        chart.dependencies.push(sub);
    }
    validate(&chart.metadata)?;
    Ok(chart)
}

fn parse_yaml_struct<T: for<'de> Deserialize<'de> + Default>(data: &[u8]) -> Result<T, String> {
    let text = String::from_utf8_lossy(data);
    let Some(json) = crate::values::parse_yaml::<serde_json::Value>(&text)? else { return Ok(T::default()) };
    if json.is_null() {
        return Ok(T::default());
    }
    serde_json::from_value(json).map_err(|e| e.to_string())
}

/// Helm's `Metadata.Validate`, with its messages.
fn validate(md: &Metadata) -> Result<(), Error> {
    let invalid = |m: String| Err(Error::Validation(m));
    if md.name.is_empty() {
        return invalid("chart.metadata.name is required".into());
    }
    if md.name.contains('/') || md.name == "." || md.name == ".." {
        return invalid(format!("chart.metadata.name {:?} is invalid", md.name));
    }
    if md.version.is_empty() {
        return invalid("chart.metadata.version is required".into());
    }
    if tiphys_gotemplate::semver::Version::parse(&md.version).is_none() {
        return invalid(format!("chart.metadata.version {:?} is invalid", md.version));
    }
    if !matches!(md.chart_type.as_str(), "" | "application" | "library") {
        return invalid("chart.metadata.type must be application or library".into());
    }
    let mut seen: Vec<&str> = Vec::new();
    for dep in &md.dependencies {
        if dep.name.is_empty() {
            return invalid("dependencies must have a name".into());
        }
        let key = if dep.alias.is_empty() { dep.name.as_str() } else { dep.alias.as_str() };
        if !dep.alias.is_empty()
            && !dep.alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return invalid(format!("dependency {:?} has disallowed characters in the alias", dep.name));
        }
        if seen.contains(&key) {
            return invalid(format!("more than one dependency with name or alias {key:?}"));
        }
        seen.push(key);
    }
    Ok(())
}
