//! Helm charts rendered in-process, byte-for-byte like `helm template` (Helm 4).
//!
//! Argo CD forks `helm` for every Application refresh; Tiphys renders charts here instead, with
//! its own Go-template engine (`tiphys-gotemplate`). The pipeline mirrors Helm's:
//!
//! 1. [`chart`]: load a chart from in-memory files (a walked directory with `.helmignore`
//!    applied, or a `.tgz`), with subcharts from `charts/`.
//! 2. [`UserValues`]: value files, then `--set-json`, `--set`, `--set-string`, `--set-file`
//!    ([`strvals`] syntax), merged in Helm's order.
//! 3. [`deps`]: aliases, `condition`/`tags`, `import-values`; then [`values`] coalescing
//!    with `global` propagation and null deletion.
//! 4. [`render`]: every template of the chart tree in one template set, with `.Values`,
//!    `.Chart`, `.Files`, `.Capabilities`, `.Release`, `.Template` and Helm's functions.
//! 5. [`manifest`]: split, sort by kind install order, hooks last, `# Source:` headers.
//!
//! The crate is pure (L1): no processes, environment or clock, and file contents come in as
//! memory, except in [`source`], the adapter that reads a chart from a checkout for
//! `tiphys-render`. It does not fetch chart dependencies (`helm dependency build` is the
//! user's job, as with `helm template`), and `lookup` returns an empty map, as in
//! `helm template`.

pub mod argocd;
pub mod chart;
pub mod deps;
mod ignore;
pub mod manifest;
pub mod render;
pub mod schema;
pub mod source;
pub mod strvals;
mod toml;
pub mod values;

use serde_json::{Map, Value};
use tiphys_gotemplate::FuncMap;

pub use chart::{Chart, ChartFile, load_archive, load_directory_files, load_files};
pub use manifest::OutputOptions;
pub use render::{Capabilities, ParseCache, ReleaseInfo};

/// Everything that can stop a chart from rendering; messages follow `helm`'s wording.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// `Chart.yaml` breaks Helm's rules (`validation: ...`).
    #[error("validation: {0}")]
    Validation(String),
    /// A chart file could not be read.
    #[error("{file}: {message}")]
    Load {
        /// The file inside the chart.
        file: String,
        /// What is wrong with it.
        message: String,
    },
    /// A chart archive is malformed.
    #[error("invalid chart archive: {0}")]
    Archive(String),
    /// A subchart in `charts/` failed to load.
    #[error("error loading subchart {name} of {parent}: {source}")]
    Subchart {
        /// The parent chart.
        parent: String,
        /// The entry in `charts/`.
        name: String,
        /// Why it failed.
        source: Box<Error>,
    },
    /// Dependencies listed in `Chart.yaml` are not vendored in `charts/`.
    #[error(
        "an error occurred while checking for chart dependencies. You may need to run 'helm dependency build' to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: {}",
        .0.join(", ")
    )]
    MissingDependencies(Vec<String>),
    /// The chart is a library chart.
    #[error("{0} charts are not installable")]
    NotInstallable(String),
    /// The chart's `kubeVersion` excludes the target version.
    #[error("chart requires kubeVersion: {constraint} which is incompatible with Kubernetes {version}")]
    KubeVersion {
        /// The chart's constraint.
        constraint: String,
        /// The target version.
        version: String,
    },
    /// `--kube-version` is not a version.
    #[error("invalid kube version '{0}': could not parse \"{0}\" as version")]
    InvalidKubeVersion(String),
    /// A `--set`-style argument could not be parsed.
    #[error("failed parsing --{flag} data{message}")]
    Set {
        /// Which flag (`--set`, `--set-string`, ...).
        flag: String,
        /// `: ` and Helm's parser message (for `--set-json`, ` ` and the argument).
        message: String,
    },
    /// A values file is not a YAML map.
    #[error("failed to parse {file}: cannot unmarshal yaml document: {message}")]
    ValuesFile {
        /// The file name as given.
        file: String,
        /// What is wrong with it.
        message: String,
    },
    /// Values break `values.schema.json` (the text lists each violation by chart).
    #[error("values don't meet the specifications of the schema(s) in the following chart(s):\n{0}")]
    Schema(String),
    /// A value file named by an Application cannot be read.
    #[error("open {file}: {message}")]
    ValueFile {
        /// The file as named in the Application.
        file: String,
        /// Why it cannot be read.
        message: String,
    },
    /// A template failed to parse or execute (already in Helm's wording).
    #[error("{0}")]
    Render(String),
    /// A rendered document is not valid YAML.
    #[error("YAML parse error on {file}: {message}")]
    Yaml {
        /// The template that produced it.
        file: String,
        /// The YAML error.
        message: String,
    },
    /// `--show-only` named a template the chart does not have.
    #[error("could not find template {0} in chart")]
    ShowOnly(String),
}

impl Error {
    /// Whether `helm template` reports this after rendering began (it then adds the hint
    /// `Use --debug flag to render out invalid YAML`).
    pub fn is_render_error(&self) -> bool {
        matches!(self, Error::Render(_) | Error::Yaml { .. } | Error::KubeVersion { .. })
    }
}

/// User-supplied values in Helm's precedence order.
#[derive(Debug, Clone, Default)]
pub struct UserValues {
    merged: Map<String, Value>,
}

impl UserValues {
    /// Starts empty.
    pub fn new() -> UserValues {
        UserValues::default()
    }

    /// Starts from an already-built values map (Argo CD's `valuesObject`).
    pub fn from_map(map: Map<String, Value>) -> UserValues {
        UserValues { merged: map }
    }

    /// Merges a values file (`-f`): maps merge, later files win.
    pub fn add_file(&mut self, name: &str, data: &[u8]) -> Result<(), Error> {
        let parsed = values::read_values(data)
            .map_err(|message| Error::ValuesFile { file: name.to_string(), message })?;
        let merged = std::mem::take(&mut self.merged);
        self.merged = merge_maps(merged, parsed);
        Ok(())
    }

    /// Applies a `--set-json` argument.
    pub fn set_json(&mut self, line: &str) -> Result<(), Error> {
        strvals::parse_into(line, &mut self.merged, strvals::Mode::Json)
            .map_err(|_| Error::Set { flag: "set-json".into(), message: format!(" {line}") })
    }

    /// Applies a `--set` argument.
    pub fn set(&mut self, line: &str) -> Result<(), Error> {
        strvals::parse_into(line, &mut self.merged, strvals::Mode::Typed)
            .map_err(|e| Error::Set { flag: "set".into(), message: format!(": {}", e.0) })
    }

    /// Applies a `--set-string` argument.
    pub fn set_string(&mut self, line: &str) -> Result<(), Error> {
        strvals::parse_into(line, &mut self.merged, strvals::Mode::String)
            .map_err(|e| Error::Set { flag: "set-string".into(), message: format!(": {}", e.0) })
    }

    /// Applies a `--set-file` argument; `read` returns the contents of a named file.
    pub fn set_file(
        &mut self,
        line: &str,
        read: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<(), Error> {
        let reader = |path: &str| read(path).map(Value::String);
        strvals::parse_file_into(line, &mut self.merged, &reader)
            .map_err(|e| Error::Set { flag: "set-file".into(), message: format!(": {}", e.0) })
    }

    /// The merged map.
    pub fn into_map(self) -> Map<String, Value> {
        self.merged
    }
}

/// Helm's `mergeMaps` for value files: nested maps merge, anything else is replaced.
fn merge_maps(mut a: Map<String, Value>, b: Map<String, Value>) -> Map<String, Value> {
    for (k, v) in b {
        match (a.get_mut(&k), v) {
            (Some(Value::Object(existing)), Value::Object(new)) => {
                let merged = merge_maps(std::mem::take(existing), new);
                *existing = merged;
            }
            (_, v) => {
                a.insert(k, v);
            }
        }
    }
    a
}

/// What to render: the `helm template` flags that shape output.
#[derive(Debug, Clone)]
pub struct TemplateOptions {
    /// Release name (`helm template NAME`).
    pub release: ReleaseInfo,
    /// Kubernetes version and API versions.
    pub capabilities: Capabilities,
    /// Output shaping (`--include-crds`, `--skip-tests`, `--show-only`).
    pub output: OutputOptions,
    /// Skip `values.schema.json` checks (`--skip-schema-validation`).
    pub skip_schema_validation: bool,
}

impl Default for TemplateOptions {
    fn default() -> Self {
        TemplateOptions {
            release: ReleaseInfo {
                name: "release-name".into(),
                namespace: "default".into(),
                is_upgrade: false,
            },
            capabilities: Capabilities::default(),
            output: OutputOptions::default(),
            skip_schema_validation: false,
        }
    }
}

/// The result of rendering before output assembly (for the sync planner: hooks separate).
#[derive(Debug, Clone)]
pub struct Rendered {
    /// CRD files (`crds/`), as `(source path, text)`.
    pub crds: Vec<(String, String)>,
    /// Non-hook manifests in install order.
    pub manifests: Vec<manifest::Manifest>,
    /// Hook manifests in install order.
    pub hooks: Vec<manifest::Manifest>,
    /// Rendered NOTES.txt of the top chart.
    pub notes: String,
}

/// Runs Helm's install pipeline up to template execution: dependency checks and processing,
/// value coalescing, `kubeVersion` check, rendering. Returns the processed chart and files.
fn render_files(
    chart: &Chart,
    user_values: &Map<String, Value>,
    opts: &TemplateOptions,
    sprig: &FuncMap,
    cache: Option<&ParseCache>,
) -> Result<(Chart, render::RenderedFiles), Error> {
    if !matches!(chart.metadata.chart_type.as_str(), "" | "application") {
        return Err(Error::NotInstallable(chart.metadata.chart_type.clone()));
    }
    let missing: Vec<String> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|d| !chart.dependencies.iter().any(|c| c.name() == d.name))
        .map(|d| d.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(Error::MissingDependencies(missing));
    }
    let mut chart = chart.clone();
    chart.is_root = true;
    deps::process_dependencies(&mut chart, user_values);
    let coalesced = values::coalesce_values(&chart, user_values);
    if !opts.skip_schema_validation {
        schema::validate_chart(&chart, &coalesced)?;
    }
    let (kube_version, _, _) = render::parse_kube_version(&opts.capabilities.kube_version)?;
    if !chart.metadata.kube_version.is_empty()
        && !crate::deps::is_compatible_range(&chart.metadata.kube_version, &kube_version)
    {
        return Err(Error::KubeVersion {
            constraint: chart.metadata.kube_version.clone(),
            version: kube_version,
        });
    }
    let files = render::render_templates(
        &chart,
        &Value::Object(coalesced),
        &opts.release,
        &opts.capabilities,
        sprig,
        cache,
    )?;
    Ok((chart, files))
}

/// What `helm template --debug` prints when rendered output is not valid YAML: every
/// non-blank rendered file under a `# Source:` header.
pub fn render_files_for_debug(
    chart: &Chart,
    user_values: &Map<String, Value>,
    opts: &TemplateOptions,
    sprig: &FuncMap,
) -> String {
    let Ok((_, files)) = render_files(chart, user_values, opts, sprig, None) else { return String::new() };
    let mut out = String::new();
    for (name, content) in &files {
        if content.trim().is_empty() {
            continue;
        }
        out.push_str(&format!("---\n# Source: {name}\n{content}\n"));
    }
    let mut out = out.trim().to_string();
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Renders `chart` with user `values`: Helm's install pipeline without a cluster.
fn render_chart_cached(
    chart: &Chart,
    user_values: &Map<String, Value>,
    opts: &TemplateOptions,
    sprig: &FuncMap,
    cache: Option<&ParseCache>,
) -> Result<Rendered, Error> {
    let (chart, mut files) = render_files(chart, user_values, opts, sprig, cache)?;
    let notes_name = format!("{}/templates/NOTES.txt", chart.name());
    let notes = files.get(&notes_name).cloned().unwrap_or_default();
    files.retain(|k, _| !k.ends_with("NOTES.txt"));
    let (manifests, hooks) = manifest::sort_manifests(&files)?;
    let crds =
        chart.crd_objects().into_iter().map(|(n, d)| (n, String::from_utf8_lossy(d).into_owned())).collect();
    Ok(Rendered { crds, manifests, hooks, notes })
}

/// Renders `chart` with user `values`: Helm's install pipeline without a cluster.
pub fn render_chart(
    chart: &Chart,
    user_values: &Map<String, Value>,
    opts: &TemplateOptions,
    sprig: &FuncMap,
) -> Result<Rendered, Error> {
    render_chart_cached(chart, user_values, opts, sprig, None)
}

/// `helm template`: renders and assembles the exact text `helm template` prints.
pub fn template(
    chart: &Chart,
    user_values: &Map<String, Value>,
    opts: &TemplateOptions,
    sprig: &FuncMap,
) -> Result<String, Error> {
    let r = render_chart(chart, user_values, opts, sprig)?;
    manifest::assemble(&r.crds, &r.manifests, &r.hooks, &opts.output)
}

/// A loaded chart with its Sprig functions and a parse cache: what a controller keeps per
/// chart revision so repeated renders (every refresh, every value change) skip parsing.
pub struct PreparedChart {
    chart: Chart,
    sprig: FuncMap,
    cache: ParseCache,
}

impl PreparedChart {
    /// Wraps a loaded chart; `sprig` is the function map every render uses.
    pub fn new(chart: Chart, sprig: FuncMap) -> PreparedChart {
        PreparedChart { chart, sprig, cache: ParseCache::default() }
    }

    /// The chart.
    pub fn chart(&self) -> &Chart {
        &self.chart
    }

    /// The parse cache (one entry per distinct set of enabled templates).
    pub fn cache(&self) -> &ParseCache {
        &self.cache
    }

    /// Renders like [`render_chart`], reusing parsed templates.
    pub fn render(
        &self,
        user_values: &Map<String, Value>,
        opts: &TemplateOptions,
    ) -> Result<Rendered, Error> {
        render_chart_cached(&self.chart, user_values, opts, &self.sprig, Some(&self.cache))
    }

    /// Renders like [`template`], reusing parsed templates.
    pub fn template(
        &self,
        user_values: &Map<String, Value>,
        opts: &TemplateOptions,
    ) -> Result<String, Error> {
        let r = self.render(user_values, opts)?;
        manifest::assemble(&r.crds, &r.manifests, &r.hooks, &opts.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn value_files_then_sets_in_helm_order() {
        let mut v = UserValues::new();
        assert!(v.add_file("a.yaml", b"a: {x: 1, y: 2}\nb: 1\n").is_ok());
        assert!(v.add_file("b.yaml", b"a: {y: 3}\n").is_ok());
        assert!(v.set("b=7,c.d=true").is_ok());
        assert!(v.set_string("e=012").is_ok());
        assert_eq!(
            Value::Object(v.into_map()),
            json!({"a": {"x": 1.0, "y": 3.0}, "b": 7, "c": {"d": true}, "e": "012"})
        );
    }

    #[test]
    fn prepared_chart_parses_once_per_template_set() {
        let files = vec![
            ChartFile::new(
                "Chart.yaml",
                "apiVersion: v2\nname: p\nversion: 1.0.0\ndependencies:\n  - name: s\n    version: 1.0.0\n    condition: s.on\n",
            ),
            ChartFile::new("values.yaml", "n: 1\ns:\n  on: true\n"),
            ChartFile::new("templates/a.yaml", "kind: A\nn: {{ .Values.n }}\n"),
            ChartFile::new("charts/s/Chart.yaml", "apiVersion: v2\nname: s\nversion: 1.0.0\n"),
            ChartFile::new("charts/s/templates/b.yaml", "kind: B\n"),
        ];
        let Ok(chart) = load_files(files) else { panic!("test chart must load") };
        let now = jiff::Timestamp::UNIX_EPOCH.to_zoned(jiff::tz::TimeZone::UTC);
        let sprig = tiphys_gotemplate::sprig::functions(&tiphys_gotemplate::sprig::SprigEnv { now, seed: 0 });
        let prepared = PreparedChart::new(chart.clone(), sprig.clone());
        let opts = TemplateOptions::default();
        let mut two = Map::new();
        two.insert("n".into(), json!(2));
        let first = prepared.template(&Map::new(), &opts);
        let second = prepared.template(&two, &opts);
        assert_eq!(prepared.cache().len(), 1);
        assert_eq!(first, template(&chart, &Map::new(), &opts, &sprig));
        assert!(second.as_deref().is_ok_and(|t| t.contains("n: 2") && t.contains("kind: B")), "{second:?}");
        let mut off = Map::new();
        off.insert("s".into(), json!({"on": false}));
        let without_sub = prepared.template(&off, &opts);
        assert!(without_sub.as_deref().is_ok_and(|t| !t.contains("kind: B")), "{without_sub:?}");
        assert_eq!(prepared.cache().len(), 2);
    }

    #[test]
    fn missing_dependencies_are_reported_like_helm() {
        let chart = Chart {
            metadata: chart::Metadata {
                name: "p".into(),
                version: "1.0.0".into(),
                dependencies: vec![chart::Dependency { name: "db".into(), ..Default::default() }],
                ..Default::default()
            },
            ..Chart::default()
        };
        let err = template(&chart, &Map::new(), &TemplateOptions::default(), &FuncMap::new())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "an error occurred while checking for chart dependencies. You may need to run 'helm dependency build' to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: db"
            )
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_chart_files_never_panic(
            chart_yaml in "(apiVersion: v2\nname: c\nversion: 1.0.0\n)?[ -~\n]{0,60}",
            values in "[ -~\n]{0,80}",
            tpl in "[ -~\n]{0,80}",
            archive in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        ) {
            let files = vec![
                ChartFile::new("Chart.yaml", chart_yaml),
                ChartFile::new("values.yaml", values),
                ChartFile::new("templates/t.yaml", tpl),
                ChartFile::new("charts/x.tgz", archive.clone()),
            ];
            if let Ok(chart) = load_files(files) {
                let _ = template(&chart, &Map::new(), &TemplateOptions::default(), &FuncMap::new());
            }
            let _ = load_archive(&archive);
            let _ = manifest::split_manifests(&String::from_utf8_lossy(&archive));
        }
    }
}
