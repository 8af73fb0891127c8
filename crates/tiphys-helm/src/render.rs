//! Template execution: builds Helm's per-chart template data (`.Values`, `.Chart`, `.Files`,
//! `.Capabilities`, `.Release`, `.Template`, `.Subcharts`), parses every template of the chart
//! tree into one set in Helm's order, adds Helm's own functions and renders each file.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::Value as Json;
use tiphys_gotemplate::{
    Context, Error as TplError, FuncMap, Map, MissingKey, Object, Template, Value, func,
};

use crate::Error;
use crate::chart::{Chart, ChartFile};

/// Helm's limit on how often one template name may be nested in `include`.
const MAX_INCLUDE_NESTING: usize = 1000;

/// The Kubernetes version and API versions templates see.
#[derive(Debug, Clone, PartialEq)]
pub struct Capabilities {
    /// `v1.37.0` style version.
    pub kube_version: String,
    /// Every available `group/version` (and `group/version/Kind`).
    pub api_versions: Vec<String>,
}

/// Helm 4.3's built-in default Kubernetes version for `helm template`.
pub const DEFAULT_KUBE_VERSION: &str = "v1.37.0";

/// The API versions `helm template` assumes when it cannot ask a cluster (Helm 4.3.1's list).
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "lifecycle.k8s.io/v1alpha1",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            kube_version: DEFAULT_KUBE_VERSION.into(),
            api_versions: DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// `.Release` fields.
#[derive(Debug, Clone)]
pub struct ReleaseInfo {
    /// Release name.
    pub name: String,
    /// Target namespace.
    pub namespace: String,
    /// `IsUpgrade` (false for `helm template` unless `--is-upgrade`).
    pub is_upgrade: bool,
}

/// `.Files`: the chart's non-template files.
struct Files {
    files: Arc<BTreeMap<String, Arc<[u8]>>>,
}

impl Files {
    fn new(list: &[ChartFile]) -> Files {
        Files {
            files: Arc::new(list.iter().map(|f| (f.name.clone(), Arc::from(f.data.as_slice()))).collect()),
        }
    }

    fn string_map(&self, encode: impl Fn(&[u8]) -> String) -> String {
        let map: Map = self
            .files
            .iter()
            .map(|(k, v)| (k.rsplit('/').next().unwrap_or(k).to_string(), Value::string(encode(v))))
            .collect();
        tiphys_gotemplate::yaml::to_yaml(&Value::map(map)).trim().to_string()
    }
}

fn arg_str(args: &[Value], i: usize) -> Result<&str, String> {
    args.get(i).and_then(Value::as_str).ok_or_else(|| "wrong type for value; expected string".to_string())
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "files.Files"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "AsConfig" => Some(Value::string(self.string_map(|b| String::from_utf8_lossy(b).into_owned()))),
            "AsSecrets" => {
                Some(Value::string(self.string_map(|b| base64::engine::general_purpose::STANDARD.encode(b))))
            }
            _ => None,
        }
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(name, "Get" | "GetBytes" | "Glob" | "Lines")
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let result = match name {
            "Get" => arg_str(args, 0).map(|p| {
                Value::string(
                    self.files.get(p).map(|d| String::from_utf8_lossy(d).into_owned()).unwrap_or_default(),
                )
            }),
            "GetBytes" => arg_str(args, 0)
                .map(|p| Value::Bytes(self.files.get(p).cloned().unwrap_or_else(|| Arc::from(&[][..])))),
            "Lines" => arg_str(args, 0).map(|p| {
                let Some(data) = self.files.get(p) else { return Value::list(Vec::new()) };
                let text = String::from_utf8_lossy(data);
                let text = text.strip_suffix('\n').unwrap_or(&text);
                Value::list(text.split('\n').map(Value::from).collect())
            }),
            "Glob" => arg_str(args, 0).map(|pattern| {
                let files = self
                    .files
                    .iter()
                    .filter(|(k, _)| glob_double_star(pattern, k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Value::object(Files { files: Arc::new(files) })
            }),
            "AsConfig" | "AsSecrets" => return self.field(name).map(Ok),
            _ => return None,
        };
        Some(result)
    }
    fn entries(&self) -> Option<Vec<(String, Value)>> {
        Some(self.files.iter().map(|(k, v)| (k.clone(), Value::Bytes(v.clone()))).collect())
    }
    fn display(&self) -> String {
        let inner: Vec<String> = self.files.iter().map(|(k, v)| format!("{k}:{:?}", v.as_ref())).collect();
        format!("map[{}]", inner.join(" "))
    }
    fn truthy(&self) -> bool {
        !self.files.is_empty()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// gobwas/glob with `/` as separator (what `.Files.Glob` uses): `**` crosses directories,
/// `*` and `?` do not, `{a,b}` alternatives.
fn glob_double_star(pattern: &str, name: &str) -> bool {
    if let Some(open) = pattern.find('{')
        && let Some(close_rel) = pattern[open..].find('}')
    {
        let close = open + close_rel;
        return pattern[open + 1..close].split(',').any(|alt| {
            glob_double_star(&format!("{}{alt}{}", &pattern[..open], &pattern[close + 1..]), name)
        });
    }
    star_match(pattern.as_bytes(), name.as_bytes())
}

fn star_match(p: &[u8], n: &[u8]) -> bool {
    if p.starts_with(b"**") {
        return (0..=n.len()).any(|i| star_match(&p[2..], &n[i..]));
    }
    match p.first() {
        None => n.is_empty(),
        Some(b'*') => {
            for i in 0..=n.len() {
                if star_match(&p[1..], &n[i..]) {
                    return true;
                }
                if i < n.len() && n[i] == b'/' {
                    break;
                }
            }
            false
        }
        Some(b'?') => n.first().is_some_and(|c| *c != b'/') && star_match(&p[1..], &n[1..]),
        Some(c) => n.first() == Some(c) && star_match(&p[1..], &n[1..]),
    }
}

/// `.Capabilities.KubeVersion`.
struct KubeVersion {
    version: String,
    major: String,
    minor: String,
}

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        "*common.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" | "GitVersion" | "String" => Some(Value::string(self.version.as_str())),
            "Major" => Some(Value::string(self.major.as_str())),
            "Minor" => Some(Value::string(self.minor.as_str())),
            _ => None,
        }
    }
    fn display(&self) -> String {
        self.version.clone()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `.Capabilities.APIVersions` with its `Has` method.
struct VersionSet {
    versions: Vec<String>,
}

impl Object for VersionSet {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn has_method(&self, name: &str) -> bool {
        name == "Has"
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        (name == "Has").then(|| arg_str(args, 0).map(|v| Value::Bool(self.versions.iter().any(|x| x == v))))
    }
    fn display(&self) -> String {
        format!("[{}]", self.versions.join(" "))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Parses `1.20`, `v1.20.0`, ... into Helm's KubeVersion parts.
pub fn parse_kube_version(text: &str) -> Result<(String, String, String), Error> {
    let v = tiphys_gotemplate::semver::Version::parse(text)
        .ok_or_else(|| Error::InvalidKubeVersion(text.to_string()))?;
    let t = text.trim().trim_start_matches('v');
    let mut parts = t.split(['.', '-', '+']);
    let major = parts.next().unwrap_or("0").to_string();
    let minor = parts.next().unwrap_or("0").to_string();
    let _ = v;
    Ok((format!("v{t}"), major, minor))
}

fn capabilities_value(caps: &Capabilities) -> Result<Value, Error> {
    let (version, major, minor) = parse_kube_version(&caps.kube_version)?;
    let mut m = Map::new();
    m.insert("KubeVersion".into(), Value::object(KubeVersion { version, major, minor }));
    m.insert("APIVersions".into(), Value::object(VersionSet { versions: caps.api_versions.clone() }));
    let mut helm = Map::new();
    helm.insert("Version".into(), Value::from("v4.3.1"));
    helm.insert("GitCommit".into(), Value::from(""));
    helm.insert("GitTreeState".into(), Value::from(""));
    helm.insert("GoVersion".into(), Value::from(""));
    m.insert("HelmVersion".into(), Value::map(helm));
    Ok(Value::map(m))
}

/// `.Chart` as Helm 4 exposes it: metadata fields, capitalised, plus `IsRoot`.
fn chart_value(chart: &Chart) -> Value {
    let md = &chart.metadata;
    let strings = |l: &[String]| Value::list(l.iter().map(|s| Value::from(s.as_str())).collect());
    let mut m = Map::new();
    m.insert("APIVersion".into(), Value::from(md.api_version.as_str()));
    m.insert(
        "Annotations".into(),
        md.annotations.as_ref().map_or(Value::Nil, |a| {
            Value::map(a.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect())
        }),
    );
    m.insert("AppVersion".into(), Value::from(md.app_version.as_str()));
    m.insert("Condition".into(), Value::from(md.condition.as_str()));
    let deps = md
        .dependencies
        .iter()
        .map(|d| {
            let mut dm = Map::new();
            dm.insert("Name".into(), Value::from(d.name.as_str()));
            dm.insert("Version".into(), Value::from(d.version.as_str()));
            dm.insert("Repository".into(), Value::from(d.repository.as_str()));
            dm.insert("Condition".into(), Value::from(d.condition.as_str()));
            dm.insert("Tags".into(), strings(&d.tags));
            dm.insert("Enabled".into(), Value::Bool(d.enabled));
            dm.insert(
                "ImportValues".into(),
                Value::list(d.import_values.iter().map(Value::from_json).collect()),
            );
            dm.insert("Alias".into(), Value::from(d.alias.as_str()));
            Value::map(dm)
        })
        .collect();
    m.insert("Dependencies".into(), Value::list(deps));
    m.insert("Deprecated".into(), Value::Bool(md.deprecated));
    m.insert("Description".into(), Value::from(md.description.as_str()));
    m.insert("Home".into(), Value::from(md.home.as_str()));
    m.insert("Icon".into(), Value::from(md.icon.as_str()));
    m.insert("IsRoot".into(), Value::Bool(chart.is_root));
    m.insert("Keywords".into(), strings(&md.keywords));
    m.insert("KubeVersion".into(), Value::from(md.kube_version.as_str()));
    let maintainers = md
        .maintainers
        .iter()
        .map(|x| {
            let mut mm = Map::new();
            mm.insert("Name".into(), Value::from(x.name.as_str()));
            mm.insert("Email".into(), Value::from(x.email.as_str()));
            mm.insert("URL".into(), Value::from(x.url.as_str()));
            Value::map(mm)
        })
        .collect();
    m.insert("Maintainers".into(), Value::list(maintainers));
    m.insert("Name".into(), Value::from(md.name.as_str()));
    m.insert("Sources".into(), strings(&md.sources));
    m.insert("Tags".into(), Value::from(md.tags.as_str()));
    m.insert("Type".into(), Value::from(md.chart_type.as_str()));
    m.insert("Version".into(), Value::from(md.version.as_str()));
    Value::map(m)
}

/// One template file ready to execute, with its data.
struct Renderable {
    text: Arc<str>,
    data: Map,
    base_path: String,
}

fn collect(
    chart: &Chart,
    parent_path: &str,
    values: &Value,
    common: &Map,
    out: &mut BTreeMap<String, Renderable>,
) -> Value {
    let full_path = if parent_path.is_empty() {
        chart.name().to_string()
    } else {
        format!("{parent_path}/charts/{}", chart.name())
    };
    let mut data = common.clone();
    data.insert("Chart".into(), chart_value(chart));
    data.insert("Files".into(), Value::object(Files::new(&chart.files)));
    data.insert("Values".into(), values.clone());
    let mut subcharts = Map::new();
    for sub in &chart.dependencies {
        let sub_values = match values.as_map().and_then(|m| m.get(sub.name())) {
            Some(v @ Value::Map(_)) => v.clone(),
            _ => Value::map(Map::new()),
        };
        subcharts.insert(sub.name().to_string(), collect(sub, &full_path, &sub_values, common, out));
    }
    data.insert("Subcharts".into(), Value::map(subcharts));
    let base_path = format!("{full_path}/templates");
    for t in &chart.templates {
        let base = t.name.rsplit('/').next().unwrap_or(&t.name);
        if chart.is_library() && !base.starts_with('_') {
            continue;
        }
        out.insert(
            format!("{full_path}/{}", t.name),
            Renderable {
                text: Arc::from(String::from_utf8_lossy(&t.data).as_ref()),
                data: data.clone(),
                base_path: base_path.clone(),
            },
        );
    }
    Value::map(data)
}

/// Helm's parse order: deeper paths first, then reverse lexical order, so a parent's
/// `define` replaces a subchart's of the same name.
fn parse_order(names: &[String]) -> Vec<String> {
    let mut keys = names.to_vec();
    keys.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
    keys
}

/// Parses every template into one set, in Helm's order, with Sprig and Helm's functions.
fn parse_set(
    names: &[String],
    renderables: &BTreeMap<String, Renderable>,
    sprig: &FuncMap,
) -> Result<Template, Error> {
    let mut funcs = sprig.clone();
    add_helm_functions(&mut funcs);
    let mut set = Template::with_funcs("gotpl", funcs);
    set.set_missing_key(MissingKey::Zero);
    // Helm stops `include` recursion by a per-name count; keep the engine's own depth limit
    // just above it so Helm's message is the one users see.
    set.set_max_depth(MAX_INCLUDE_NESTING + 16);
    for name in parse_order(names) {
        let Some(r) = renderables.get(&name) else { continue };
        set.parse(&name, &r.text).map_err(|e| parse_error(&name, &e))?;
    }
    Ok(set)
}

/// Parsed template sets of one chart, keyed by which templates take part (dependency
/// conditions can change that between renders), so a chart is parsed once and rendered many
/// times.
#[derive(Default)]
pub struct ParseCache {
    sets: std::sync::Mutex<std::collections::HashMap<Vec<String>, Template>>,
}

impl ParseCache {
    fn get(&self, names: &[String]) -> Option<Template> {
        self.sets.lock().ok()?.get(names).cloned()
    }

    fn insert(&self, names: Vec<String>, set: Template) {
        if let Ok(mut sets) = self.sets.lock() {
            sets.insert(names, set);
        }
    }

    /// How many distinct template sets are cached (for tests and metrics).
    pub fn len(&self) -> usize {
        self.sets.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What rendering produced: every rendered file (name → text), partials excluded.
pub type RenderedFiles = BTreeMap<String, String>;

/// Renders every template of `chart` (already dependency-processed) with the coalesced
/// `values`; returns the rendered files, NOTES.txt included (callers drop it).
pub fn render_templates(
    chart: &Chart,
    values: &Json,
    release: &ReleaseInfo,
    caps: &Capabilities,
    sprig: &FuncMap,
    cache: Option<&ParseCache>,
) -> Result<RenderedFiles, Error> {
    let mut common = Map::new();
    let mut rel = Map::new();
    rel.insert("Name".into(), Value::from(release.name.as_str()));
    rel.insert("Namespace".into(), Value::from(release.namespace.as_str()));
    rel.insert("IsInstall".into(), Value::Bool(!release.is_upgrade));
    rel.insert("IsUpgrade".into(), Value::Bool(release.is_upgrade));
    rel.insert("Revision".into(), Value::Int(1));
    rel.insert("Service".into(), Value::from("Helm"));
    common.insert("Release".into(), Value::map(rel));
    common.insert("Capabilities".into(), capabilities_value(caps)?);
    let values = Value::from_json(values);
    let mut renderables = BTreeMap::new();
    collect(chart, "", &values, &common, &mut renderables);

    let names: Vec<String> = renderables.keys().cloned().collect();
    let cached = cache.and_then(|c| c.get(&names));
    let set = match cached {
        Some(set) => set,
        None => {
            let set = parse_set(&names, &renderables, sprig)?;
            if let Some(c) = cache {
                c.insert(names.clone(), set.clone());
            }
            set
        }
    };
    let mut rendered = BTreeMap::new();
    for name in parse_order(&names) {
        let base = name.rsplit('/').next().unwrap_or(&name);
        if base.starts_with('_') {
            continue;
        }
        let Some(r) = renderables.get(&name) else { continue };
        let mut data = r.data.clone();
        let mut tmpl = Map::new();
        tmpl.insert("Name".into(), Value::from(name.as_str()));
        tmpl.insert("BasePath".into(), Value::from(r.base_path.as_str()));
        data.insert("Template".into(), Value::map(tmpl));
        let text = set.execute(&name, &Value::map(data)).map_err(|e| exec_error(&name, &e))?;
        rendered.insert(name, text.replace("<no value>", ""));
    }
    Ok(rendered)
}

fn parse_error(name: &str, err: &TplError) -> Error {
    let text = err.to_string();
    let tokens: Vec<&str> = text.split(": ").collect();
    if tokens.len() == 1 {
        return Error::Render(format!("parse error in ({name}): {text}"));
    }
    Error::Render(format!("parse error at ({}): {}", tokens[1], tokens[tokens.len() - 1]))
}

const ERR_START: &str = "HELM_ERR_START";
const ERR_END: &str = "HELM_ERR_END";

/// Formats an execution error the way Helm 4 prints it: `required`/`fail` messages as
/// `execution error at (LOC): MSG`, chains of template errors as an indented trace, and
/// anything else as Go's one-line text.
fn exec_error(name: &str, err: &TplError) -> Error {
    let text = err.to_string();
    let Some(rest) = text.strip_prefix("template: ") else {
        return Error::Render(format!("execution error in ({name}): {text}"));
    };
    let location = rest.split(": ").next().unwrap_or_default();
    if let (Some(s), Some(e)) = (text.find(ERR_START), text.rfind(ERR_END))
        && s + ERR_START.len() <= e
    {
        return Error::Render(format!("execution error at ({location}): {}", &text[s + ERR_START.len()..e]));
    }
    match trace(&text) {
        Some(t) => Error::Render(t.trim().to_string()),
        None => Error::Render(text),
    }
}

/// Splits `template: LOC: executing "NAME" at <NODE>: MSG` chains into Helm 4's layout;
/// `None` when the chain ends in a function error Helm leaves on one line.
fn trace(text: &str) -> Option<String> {
    let rest = text.strip_prefix("template: ")?;
    let (location, after) = rest.split_once(": executing \"")?;
    let (tname, after) = after.split_once("\" at <")?;
    let (node, msg) = split_node(after)?;
    let mut out = format!("{location}\n  executing \"{tname}\" at <{node}>:\n    ");
    if let Some(call) = msg.strip_prefix("error calling ") {
        let (fname, inner) = call.split_once(": ")?;
        if !inner.starts_with("template: ") {
            return None;
        }
        out.push_str(&format!("error calling {fname}:\n"));
        match trace(inner) {
            Some(t) => out.push_str(&t),
            None if inner.contains(": executing \"") => return None,
            None => out.push_str(&format!("{inner}\n")),
        }
    } else {
        out.push_str(&format!("{msg}\n"));
    }
    Some(out)
}

/// Splits `NODE>: MSG` where NODE may itself contain `>`.
fn split_node(s: &str) -> Option<(&str, &str)> {
    let idx = s.find(">: ")?;
    Some((&s[..idx], &s[idx + 3..]))
}

fn func_err(msg: impl Into<String>) -> TplError {
    TplError::func(msg)
}

fn to_string_arg(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Nil => String::new(),
        other => other.to_json().to_string(),
    }
}

fn add_helm_functions(funcs: &mut FuncMap) {
    funcs.insert(
        "include".into(),
        func(|ctx: &mut Context<'_>, args: &[Value]| {
            let name = args
                .first()
                .and_then(Value::as_str)
                .ok_or_else(|| func_err("wrong type for value; expected string"))?
                .to_string();
            let data = args.get(1).cloned().unwrap_or_default();
            let nested = ctx.stack().iter().filter(|n| **n == name).count();
            if nested > MAX_INCLUDE_NESTING {
                return Err(func_err(format!(
                    "rendering template has a nested reference name: {name}: unable to execute template"
                )));
            }
            let set = ctx.set();
            ctx.execute(set, &name, &data).map(Value::from).map_err(|e| func_err(e.to_string()))
        }),
    );
    funcs.insert(
        "tpl".into(),
        func(|ctx: &mut Context<'_>, args: &[Value]| {
            let text = args
                .first()
                .and_then(Value::as_str)
                .ok_or_else(|| func_err("wrong type for value; expected string"))?
                .to_string();
            let data = args.get(1).cloned().unwrap_or_default();
            let mut set = ctx.set().clone();
            let tname = set.name().to_string();
            set.parse(&tname, &text).map_err(|e| func_err(format!("cannot parse template {text:?}: {e}")))?;
            let out = ctx
                .execute(&set, &tname, &data)
                .map_err(|e| func_err(format!("error during tpl function execution for {text:?}: {e}")))?;
            Ok(Value::from(out.replace("<no value>", "")))
        }),
    );
    funcs.insert(
        "required".into(),
        func(|_ctx: &mut Context<'_>, args: &[Value]| {
            let warn = args.first().map(to_string_arg).unwrap_or_default();
            let val = args.get(1).cloned().unwrap_or_default();
            match &val {
                Value::Nil => Err(func_err(format!("{ERR_START}{warn}{ERR_END}"))),
                Value::String(s) if s.is_empty() => Err(func_err(format!("{ERR_START}{warn}{ERR_END}"))),
                _ => Ok(val),
            }
        }),
    );
    funcs.insert(
        "fail".into(),
        func(|_ctx: &mut Context<'_>, args: &[Value]| {
            let msg = args.first().map(to_string_arg).unwrap_or_default();
            Err(func_err(format!("{ERR_START}{msg}{ERR_END}")))
        }),
    );
    funcs.insert("lookup".into(), func(|_ctx: &mut Context<'_>, _args: &[Value]| Ok(Value::map(Map::new()))));
    funcs.insert(
        "toToml".into(),
        func(|_ctx: &mut Context<'_>, args: &[Value]| {
            Ok(Value::from(crate::toml::to_toml(&args.first().cloned().unwrap_or_default())))
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_order_puts_parents_last() {
        let names = vec![
            "p/templates/a.yaml".to_string(),
            "p/charts/s/templates/b.yaml".to_string(),
            "p/templates/b.yaml".to_string(),
        ];
        assert_eq!(
            parse_order(&names),
            vec!["p/charts/s/templates/b.yaml", "p/templates/b.yaml", "p/templates/a.yaml"]
        );
    }

    #[test]
    fn exec_errors_take_helm4_shapes() {
        let e = TplError::Exec {
            location: "c/templates/a.yaml:1:6".into(),
            template: "c/templates/a.yaml".into(),
            node: "include \"x\" .".into(),
            message: "error calling include: template: c/templates/a.yaml:4:15: executing \"y\" at <b64enc>: invalid value; expected string".into(),
        };
        assert_eq!(
            exec_error("c/templates/a.yaml", &e).to_string(),
            "c/templates/a.yaml:1:6\n  executing \"c/templates/a.yaml\" at <include \"x\" .>:\n    error calling include:\nc/templates/a.yaml:4:15\n  executing \"y\" at <b64enc>:\n    invalid value; expected string"
        );
        let e = TplError::Exec {
            location: "c/templates/a.yaml:1:6".into(),
            template: "c/templates/a.yaml".into(),
            node: "index .Values.x 3".into(),
            message: "error calling index: index out of range: 3".into(),
        };
        assert!(
            exec_error("c/templates/a.yaml", &e)
                .to_string()
                .starts_with("template: c/templates/a.yaml:1:6: executing")
        );
        let e = TplError::Exec {
            location: "c/templates/a.yaml:1:6".into(),
            template: "c/templates/a.yaml".into(),
            node: "required \"need\" .Values.q".into(),
            message: "error calling required: HELM_ERR_STARTneedHELM_ERR_END".into(),
        };
        assert_eq!(
            exec_error("c/templates/a.yaml", &e).to_string(),
            "execution error at (c/templates/a.yaml:1:6): need"
        );
    }

    #[test]
    fn parse_errors_take_helm_shape() {
        let e = TplError::Parse {
            name: "c/templates/a.yaml".into(),
            line: 2,
            message: "unclosed action started at c/templates/a.yaml:1".into(),
        };
        assert_eq!(
            parse_error("c/templates/a.yaml", &e).to_string(),
            "parse error at (c/templates/a.yaml:2): unclosed action started at c/templates/a.yaml:1"
        );
    }

    #[test]
    fn kube_versions() {
        assert_eq!(parse_kube_version("1.20.0").ok(), Some(("v1.20.0".into(), "1".into(), "20".into())));
        assert_eq!(parse_kube_version("v1.16").ok(), Some(("v1.16".into(), "1".into(), "16".into())));
        assert!(parse_kube_version("banana").is_err());
    }

    #[test]
    fn files_glob_uses_double_star() {
        assert!(glob_double_star("files/**.conf", "files/a/b.conf"));
        assert!(glob_double_star("files/*.conf", "files/b.conf"));
        assert!(!glob_double_star("files/*.conf", "files/a/b.conf"));
        assert!(glob_double_star("files/{a,b}.txt", "files/b.txt"));
    }
}
