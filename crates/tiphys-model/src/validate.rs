//! Admission checks for Argo resources: what the API server (through the CRD schema) and
//! Argo CD (through its validation of specs, projects and windows) would refuse, reported
//! as one [`Problem`] per mistake with the YAML path and the fix.
//!
//! Two passes: the structural schema generated from our types ([`crate::schema`]) catches
//! wrong types, missing required fields and unknown (often misspelled) fields; then typed
//! rules catch what a schema cannot say (exclusive fields, sync option names, durations,
//! cron schedules, references between sources, project policies, generator shapes).

use std::sync::OnceLock;

use serde_json::Value;

use crate::application::{ApplicationSpec, RetryStrategy, SyncPolicy};
use crate::applicationset::{ApplicationSetGenerator, ApplicationSetNestedGenerator, ApplicationSetSpec};
use crate::duration::{parse_backoff_duration, parse_go_duration};
use crate::project::{AppProjectSpec, SyncWindow};
use crate::source::ApplicationSource;
use crate::{AppProject, Application, ApplicationSet, crd, schema};

/// One thing wrong with a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted YAML path, e.g. `spec.syncPolicy.syncOptions[1]`.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// The outcome of validating one YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An Argo resource of this kind with these problems (empty = valid).
    Checked {
        /// `Application`, `AppProject` or `ApplicationSet`.
        kind: &'static str,
        /// `metadata.name`, when present.
        name: Option<String>,
        /// Problems found.
        problems: Vec<Problem>,
    },
    /// Not an Argo resource we validate; the note says what it was.
    Skipped(String),
}

/// Sync options upstream understands, with the values each accepts (`None`: any boolean).
const SYNC_OPTIONS: &[(&str, Option<&[&str]>)] = &[
    ("Validate", None),
    ("CreateNamespace", None),
    ("PruneLast", None),
    ("ApplyOutOfSyncOnly", None),
    ("PrunePropagationPolicy", Some(&["foreground", "background", "orphan"])),
    ("Replace", None),
    ("ServerSideApply", None),
    ("FailOnSharedResource", None),
    ("RespectIgnoreDifferences", None),
    ("SkipDryRunOnMissingResource", None),
    ("Force", None),
    ("Prune", Some(&["false", "true", "confirm"])),
    ("Delete", Some(&["false", "true", "confirm"])),
    ("ClientSideApplyMigration", None),
];

/// Go template options an ApplicationSet may set.
const GO_TEMPLATE_OPTIONS: &[&str] =
    &["missingkey=error", "missingkey=zero", "missingkey=default", "missingkey=invalid"];

struct Collector {
    problems: Vec<Problem>,
}

impl Collector {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem { path: path.into(), message: message.into() });
    }
}

fn schemas() -> &'static [(String, Value); 3] {
    static SCHEMAS: OnceLock<[(String, Value); 3]> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let mut it = crd::crds().into_iter().map(|c| {
            let kind = c["spec"]["names"]["kind"].as_str().unwrap_or_default().to_string();
            let schema = c["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone();
            (kind, schema)
        });
        let mut next = || it.next().unwrap_or_default();
        [next(), next(), next()]
    })
}

/// Validates one parsed YAML document.
pub fn validate_document(doc: &Value) -> Outcome {
    let api_version = doc.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind: &'static str = match kind {
        "Application" => "Application",
        "AppProject" => "AppProject",
        "ApplicationSet" => "ApplicationSet",
        _ => {
            return Outcome::Skipped(format!(
                "{} {kind:?} is not an Argo CD resource; skipped",
                describe(api_version)
            ));
        }
    };
    let name = doc.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string);
    let mut c = Collector { problems: Vec::new() };
    if group != crd::GROUP {
        if !group.contains("argo") {
            return Outcome::Skipped(format!(
                "{kind} of apiVersion {api_version:?} is not argoproj.io; skipped"
            ));
        }
        c.add("apiVersion", format!("{api_version:?} is not an Argo CD API group: use argoproj.io/v1alpha1"));
        return Outcome::Checked { kind, name, problems: c.problems };
    }
    if version != crd::VERSION {
        c.add("apiVersion", format!("{api_version:?} is not served: use argoproj.io/v1alpha1"));
        return Outcome::Checked { kind, name, problems: c.problems };
    }
    let Some((_, schema)) = schemas().iter().find(|(k, _)| k == kind) else {
        return Outcome::Skipped(format!("no schema for {kind}"));
    };
    for p in schema::check(schema, doc, "") {
        c.add(p.path, p.message);
    }
    check_metadata(doc, &mut c);
    if !c.problems.is_empty() {
        // Typed rules need a well-typed document; fix the schema problems first.
        return Outcome::Checked { kind, name, problems: c.problems };
    }
    let typed = match kind {
        "Application" => serde_json::from_value::<Application>(doc.clone())
            .map(|a| check_application_spec(&a.spec, "spec", &mut c)),
        "AppProject" => serde_json::from_value::<AppProject>(doc.clone()).map(|p| check_project(&p, &mut c)),
        _ => serde_json::from_value::<ApplicationSet>(doc.clone())
            .map(|s| check_applicationset(&s.spec, &mut c)),
    };
    if let Err(e) = typed {
        c.add("(root)", format!("does not match the {kind} type: {e}"));
    }
    Outcome::Checked { kind, name, problems: c.problems }
}

fn describe(api_version: &str) -> String {
    if api_version.is_empty() { "a document without apiVersion".into() } else { api_version.to_string() }
}

fn check_metadata(doc: &Value, c: &mut Collector) {
    let name = doc.pointer("/metadata/name").and_then(Value::as_str);
    let generate = doc.pointer("/metadata/generateName").and_then(Value::as_str);
    match (name, generate) {
        (None, None) => c.add("metadata.name", "required field \"name\" is missing: add it"),
        (Some(n), _) => {
            if let Some(why) = dns_subdomain_problem(n) {
                c.add("metadata.name", format!("{n:?} is not a valid name: {why}"));
            }
        }
        _ => {}
    }
}

/// Why `name` is not a DNS-1123 subdomain (the API server's rule for object names), if it
/// is not.
pub fn dns_subdomain_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.len() > 253 {
        return Some("it must be no more than 253 characters");
    }
    let ok_chars =
        name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let edges = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !ok_chars || !edges(name.as_bytes()[0]) || !edges(name.as_bytes()[name.len() - 1]) {
        return Some(
            "use lower case letters, digits, '-' and '.', starting and ending with a letter or digit (e.g. \"my-app\")",
        );
    }
    None
}

fn check_application_spec(spec: &ApplicationSpec, path: &str, c: &mut Collector) {
    let has_sources = spec.sources.as_ref().is_some_and(|s| !s.is_empty());
    match (&spec.source, has_sources, &spec.source_hydrator) {
        (Some(_), true, _) => c.add(
            format!("{path}.sources"),
            "source and sources are both set: keep `sources` (multi-source) or `source`, not both",
        ),
        (None, false, None) => c.add(
            format!("{path}.source"),
            "no source: set `source` (repoURL, path or chart, targetRevision) or `sources`",
        ),
        (Some(_), _, Some(_)) | (None, true, Some(_)) => c.add(
            format!("{path}.sourceHydrator"),
            "sourceHydrator cannot be combined with source or sources: remove one",
        ),
        _ => {}
    }
    if let Some(s) = &spec.source {
        check_source(s, &format!("{path}.source"), &[], c);
    }
    if let Some(sources) = &spec.sources {
        let refs: Vec<&str> = sources.iter().filter_map(|s| s.r#ref.as_deref()).collect();
        for (i, s) in sources.iter().enumerate() {
            let p = format!("{path}.sources[{i}]");
            check_source(s, &p, &refs, c);
            if let Some(r) = &s.r#ref {
                if refs.iter().filter(|x| *x == r).count() > 1 {
                    c.add(
                        format!("{p}.ref"),
                        format!("ref {r:?} is used by more than one source: make each ref unique"),
                    );
                }
                if !r.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') || r.is_empty() {
                    c.add(
                        format!("{p}.ref"),
                        format!("ref {r:?} may only contain letters, digits, '-' and '_'"),
                    );
                }
            }
        }
    }
    let d = spec.destination.clone().unwrap_or_default();
    match (d.server.as_deref().filter(|s| !s.is_empty()), d.name.as_deref().filter(|s| !s.is_empty())) {
        (Some(_), Some(_)) => c.add(
            format!("{path}.destination"),
            "destination has both server and name: keep one (server: https://kubernetes.default.svc or name: in-cluster)",
        ),
        (None, None) => c.add(
            format!("{path}.destination"),
            "destination has neither server nor name: set server (e.g. https://kubernetes.default.svc) or name",
        ),
        _ => {}
    }
    if spec.project.as_deref().is_none_or(str::is_empty) {
        c.add(format!("{path}.project"), "project is empty: use \"default\" or the name of an AppProject");
    }
    if let Some(limit) = spec.revision_history_limit
        && limit < 0
    {
        c.add(
            format!("{path}.revisionHistoryLimit"),
            format!("{limit} is negative: use 0 or more (default 10)"),
        );
    }
    if let Some(policy) = &spec.sync_policy {
        check_sync_policy(policy, &format!("{path}.syncPolicy"), c);
    }
    for (i, ig) in spec.ignore_differences.iter().flatten().enumerate() {
        let p = format!("{path}.ignoreDifferences[{i}]");
        if ig.kind.as_deref().is_none_or(str::is_empty) {
            c.add(format!("{p}.kind"), "kind is empty: name the kind whose differences to ignore (or \"*\")");
        }
        for (j, ptr) in ig.json_pointers.iter().flatten().enumerate() {
            if !ptr.is_empty() && !ptr.starts_with('/') {
                c.add(
                    format!("{p}.jsonPointers[{j}]"),
                    format!("{ptr:?} is not a JSON pointer: start it with '/', e.g. /spec/replicas"),
                );
            }
        }
        let none = ig.json_pointers.as_ref().is_none_or(Vec::is_empty)
            && ig.jq_path_expressions.as_ref().is_none_or(Vec::is_empty)
            && ig.managed_fields_managers.as_ref().is_none_or(Vec::is_empty);
        if none {
            c.add(p, "ignores nothing: add jsonPointers, jqPathExpressions or managedFieldsManagers");
        }
    }
}

fn check_source(s: &ApplicationSource, path: &str, refs: &[&str], c: &mut Collector) {
    if s.repo_url.as_deref().is_none_or(|u| u.trim().is_empty()) {
        c.add(format!("{path}.repoURL"), "repoURL is empty: set the Git or Helm repository URL");
    }
    let mut tools = Vec::new();
    if s.helm.is_some() {
        tools.push("helm");
    }
    if s.kustomize.is_some() {
        tools.push("kustomize");
    }
    if s.directory.is_some() {
        tools.push("directory");
    }
    if s.plugin.is_some() {
        tools.push("plugin");
    }
    if tools.len() > 1 {
        c.add(
            path.to_string(),
            format!(
                "multiple source types set ({}): keep only the options of the tool that renders this source",
                tools.join(", ")
            ),
        );
    }
    if s.chart.is_some() && s.path.is_some() {
        c.add(
            format!("{path}.chart"),
            "chart and path are both set: use chart for a Helm repository, path for Git",
        );
    }
    if let Some(p) = &s.path
        && (p.starts_with('/') || p.split('/').any(|seg| seg == ".."))
    {
        c.add(
            format!("{path}.path"),
            format!("{p:?} leaves the repository: use a path relative to the repository root"),
        );
    }
    if let Some(helm) = &s.helm {
        for (i, f) in helm.value_files.iter().flatten().enumerate() {
            if let Some(rest) = f.strip_prefix('$') {
                let name = rest.split('/').next().unwrap_or_default();
                if !refs.contains(&name) {
                    c.add(
                        format!("{path}.helm.valueFiles[{i}]"),
                        format!("{f:?} refers to ${name}, but no source has `ref: {name}`: add that ref to a source"),
                    );
                }
            }
        }
        for (i, p) in helm.parameters.iter().flatten().enumerate() {
            if p.name.as_deref().is_none_or(str::is_empty) {
                c.add(
                    format!("{path}.helm.parameters[{i}].name"),
                    "parameter has no name: set the value path, e.g. image.tag",
                );
            }
        }
        if helm.values.is_some() && helm.values_object.is_some() {
            c.add(
                format!("{path}.helm.values"),
                "values and valuesObject are both set: valuesObject wins; remove one",
            );
        }
    }
    if let Some(k) = &s.kustomize {
        for (i, r) in k.replicas.iter().flatten().enumerate() {
            if let Some(crate::meta::IntOrString::String(text)) = &r.count
                && text.parse::<i64>().is_err()
            {
                c.add(
                    format!("{path}.kustomize.replicas[{i}].count"),
                    format!("{text:?} is not a number: use e.g. 3"),
                );
            }
        }
    }
}

fn check_sync_policy(policy: &SyncPolicy, path: &str, c: &mut Collector) {
    check_sync_options(policy.sync_options.iter().flatten(), &format!("{path}.syncOptions"), c);
    if let Some(retry) = &policy.retry {
        check_retry(retry, &format!("{path}.retry"), c);
    }
}

/// Checks `Name=value` sync option strings against upstream's list.
fn check_sync_options<'a>(options: impl Iterator<Item = &'a String>, path: &str, c: &mut Collector) {
    for (i, opt) in options.enumerate() {
        let p = format!("{path}[{i}]");
        let Some((name, value)) = opt.split_once('=') else {
            c.add(p, format!("{opt:?} is not Name=value: write e.g. CreateNamespace=true"));
            continue;
        };
        let Some((_, allowed)) = SYNC_OPTIONS.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = SYNC_OPTIONS.iter().map(|(n, _)| *n).collect();
            c.add(p, format!("unknown sync option {name:?}: use one of {}", names.join(", ")));
            continue;
        };
        let allowed = allowed.unwrap_or(&["true", "false"]);
        if !allowed.contains(&value) {
            c.add(p, format!("{name}={value}: the value must be one of {}", allowed.join(", ")));
        }
    }
}

fn check_retry(retry: &RetryStrategy, path: &str, c: &mut Collector) {
    let Some(backoff) = &retry.backoff else { return };
    for (field, value) in [("duration", &backoff.duration), ("maxDuration", &backoff.max_duration)] {
        if let Some(v) = value
            && let Err(e) = parse_backoff_duration(v)
        {
            c.add(format!("{path}.backoff.{field}"), e.to_string());
        }
    }
    if let Some(f) = backoff.factor
        && f < 1
    {
        c.add(
            format!("{path}.backoff.factor"),
            format!("factor {f} must be at least 1 (e.g. 2 doubles each delay)"),
        );
    }
}

fn check_project(project: &AppProject, c: &mut Collector) {
    let name = project.metadata.name.as_deref().unwrap_or_default();
    check_project_spec(&project.spec, name, c);
}

fn check_project_spec(spec: &AppProjectSpec, project: &str, c: &mut Collector) {
    for (i, d) in spec.destinations.iter().flatten().enumerate() {
        if d.server.as_deref().is_none_or(str::is_empty) && d.name.as_deref().is_none_or(str::is_empty) {
            c.add(
                format!("spec.destinations[{i}]"),
                "destination has neither server nor name: set server (e.g. '*' or https://kubernetes.default.svc) or name",
            );
        }
    }
    for (i, r) in spec.source_repos.iter().flatten().enumerate() {
        if r.trim().is_empty() {
            c.add(format!("spec.sourceRepos[{i}]"), "empty repository pattern: use a URL, a glob, or '*'");
        }
    }
    let mut seen = Vec::new();
    for (i, role) in spec.roles.iter().flatten().enumerate() {
        let p = format!("spec.roles[{i}]");
        let role_name = role.name.clone().unwrap_or_default();
        if !is_role_name(&role_name) {
            c.add(
                format!("{p}.name"),
                format!("role name {:?} is invalid: use letters, digits, '-' and '_', starting and ending with a letter or digit", role.name),
            );
        }
        if seen.contains(&role.name) {
            c.add(
                format!("{p}.name"),
                format!("role {:?} is defined twice: merge the definitions", role.name),
            );
        }
        seen.push(role.name.clone());
        for (j, policy) in role.policies.iter().flatten().enumerate() {
            if let Some(why) = role_policy_problem(policy, project, &role_name) {
                c.add(format!("{p}.policies[{j}]"), why);
            }
        }
    }
    for (i, w) in spec.sync_windows.iter().flatten().enumerate() {
        check_sync_window(w, &format!("spec.syncWindows[{i}]"), c);
    }
}

fn is_role_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-' || *x == b'_')
}

/// Upstream's rules for a project role policy line:
/// `p, proj:<project>:<role>, <resource>, <action>, <project>/<object>, allow|deny`.
fn role_policy_problem(policy: &str, project: &str, role: &str) -> Option<String> {
    let parts: Vec<&str> = policy.split(',').map(str::trim).collect();
    let example = format!("p, proj:{project}:{role}, applications, get, {project}/*, allow");
    if parts.len() != 6 || parts[0] != "p" {
        return Some(format!("policy {policy:?} must have 6 comma-separated fields, e.g. {example:?}"));
    }
    let subject = format!("proj:{project}:{role}");
    if parts[1] != subject {
        return Some(format!("policy subject {:?} must be {subject:?}", parts[1]));
    }
    let object_ok = parts[4] == project
        || parts[4].strip_prefix(project).is_some_and(|r| r.starts_with('/'))
        || (parts[2] == "logs" || parts[2] == "exec") && parts[4].starts_with(project);
    if !object_ok {
        return Some(format!(
            "policy object {:?} must start with \"{project}/\", e.g. {project}/*",
            parts[4]
        ));
    }
    if !matches!(parts[5], "allow" | "deny") {
        return Some(format!("policy effect {:?} must be allow or deny", parts[5]));
    }
    None
}

/// Parses a sync window schedule: exactly five cron fields (minute hour day-of-month month
/// day-of-week), as upstream's parser accepts; descriptors such as `@daily` are refused there
/// too, so we refuse them with the equivalent spelled out.
pub fn parse_schedule(schedule: &str) -> Result<croner::Cron, String> {
    use croner::parser::{CronParser, Seconds, Year};
    let trimmed = schedule.trim();
    if let Some(descriptor) = trimmed.strip_prefix('@') {
        let equivalent = match descriptor {
            "yearly" | "annually" => "0 0 1 1 *",
            "monthly" => "0 0 1 * *",
            "weekly" => "0 0 * * 0",
            "daily" | "midnight" => "0 0 * * *",
            "hourly" => "0 * * * *",
            _ => "five fields",
        };
        return Err(format!(
            "descriptors like @{descriptor} are not accepted in sync windows (use {equivalent})"
        ));
    }
    let fields = trimmed.split_whitespace().count();
    if fields != 5 {
        return Err(format!(
            "expected 5 fields (minute hour day-of-month month day-of-week), found {fields}"
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(trimmed)
        .map_err(|e| e.to_string())
}

fn check_sync_window(w: &SyncWindow, path: &str, c: &mut Collector) {
    match w.kind.as_deref() {
        Some("allow" | "deny") => {}
        Some(other) => c.add(format!("{path}.kind"), format!("kind {other:?} must be allow or deny")),
        None => c.add(format!("{path}.kind"), "kind is missing: set allow or deny"),
    }
    match w.schedule.as_deref() {
        None | Some("") => {
            c.add(format!("{path}.schedule"), "schedule is missing: set a cron schedule, e.g. \"0 22 * * *\"")
        }
        Some(s) => {
            if let Err(e) = parse_schedule(s) {
                c.add(
                    format!("{path}.schedule"),
                    format!("cannot parse schedule {s:?}: {e}; write e.g. \"0 22 * * 1-5\""),
                );
            }
        }
    }
    match w.duration.as_deref() {
        None | Some("") => c.add(format!("{path}.duration"), "duration is missing: set e.g. \"1h\""),
        Some(d) => {
            if let Err(e) = parse_go_duration(d) {
                c.add(format!("{path}.duration"), e.to_string());
            }
        }
    }
    if let Some(tz) = w.time_zone.as_deref()
        && !tz.is_empty()
        && tz.parse::<chrono_tz::Tz>().is_err()
    {
        c.add(
            format!("{path}.timeZone"),
            format!("unknown time zone {tz:?}: use an IANA name such as Europe/Berlin or UTC"),
        );
    }
    let targets = [&w.applications, &w.namespaces, &w.clusters];
    if targets.iter().all(|t| t.as_ref().is_none_or(Vec::is_empty)) {
        c.add(
            path.to_string(),
            "window matches nothing: add applications, namespaces or clusters (e.g. applications: ['*'])",
        );
    }
}

fn check_applicationset(spec: &ApplicationSetSpec, c: &mut Collector) {
    let generators = spec.generators.as_deref().unwrap_or_default();
    if generators.is_empty() {
        c.add("spec.generators", "no generators: add at least one (e.g. a list generator)");
    }
    for (i, g) in generators.iter().enumerate() {
        check_generator(&GeneratorView::Top(g), &format!("spec.generators[{i}]"), c);
    }
    for (i, o) in spec.go_template_options.iter().flatten().enumerate() {
        if !GO_TEMPLATE_OPTIONS.contains(&o.as_str()) {
            c.add(
                format!("spec.goTemplateOptions[{i}]"),
                format!("unknown option {o:?}: use one of {}", GO_TEMPLATE_OPTIONS.join(", ")),
            );
        }
    }
    if spec.go_template_options.as_ref().is_some_and(|o| !o.is_empty()) && spec.go_template != Some(true) {
        c.add(
            "spec.goTemplateOptions",
            "goTemplateOptions only apply with goTemplate: true: set it or remove the options",
        );
    }
    if spec.template_patch.is_some() && spec.go_template != Some(true) {
        c.add("spec.templatePatch", "templatePatch requires goTemplate: true");
    }
    if let Some(strategy) = &spec.strategy {
        match strategy.r#type.as_deref() {
            None | Some("AllAtOnce") => {}
            Some("RollingSync") => {
                if strategy.rolling_sync.as_ref().and_then(|r| r.steps.as_ref()).is_none_or(Vec::is_empty) {
                    c.add("spec.strategy.rollingSync.steps", "RollingSync needs at least one step");
                }
            }
            Some(other) => c.add(
                "spec.strategy.type",
                format!("strategy type {other:?} must be AllAtOnce or RollingSync"),
            ),
        }
        if let Some(order) = strategy.deletion_order.as_deref()
            && !matches!(order, "AllAtOnce" | "Reverse")
        {
            c.add(
                "spec.strategy.deletionOrder",
                format!("deletionOrder {order:?} must be AllAtOnce or Reverse"),
            );
        }
    }
    if let Some(policy) = spec.template.as_ref().and_then(|t| t.spec.sync_policy.as_ref()) {
        check_sync_policy(policy, "spec.template.spec.syncPolicy", c);
    }
}

/// A generator at the top level or nested inside a matrix/merge (same shape, different
/// nesting rules).
enum GeneratorView<'a> {
    Top(&'a ApplicationSetGenerator),
    Nested(&'a ApplicationSetNestedGenerator),
}

/// Generator types, in the order [`GeneratorView::types`] reports them.
const GENERATOR_TYPES: [&str; 9] = [
    "list",
    "clusters",
    "git",
    "scmProvider",
    "clusterDecisionResource",
    "pullRequest",
    "matrix",
    "merge",
    "plugin",
];

impl GeneratorView<'_> {
    /// The generator types this generator sets (exactly one when valid), read from its JSON
    /// form so top-level and nested generators share one definition.
    fn types(&self) -> Vec<&'static str> {
        let json = match self {
            GeneratorView::Top(g) => serde_json::to_value(g),
            GeneratorView::Nested(g) => serde_json::to_value(g),
        }
        .unwrap_or_default();
        GENERATOR_TYPES.iter().copied().filter(|t| json.get(*t).is_some_and(|v| !v.is_null())).collect()
    }
}

fn check_generator(g: &GeneratorView<'_>, path: &str, c: &mut Collector) {
    let set = g.types();
    match set.len() {
        0 => c.add(
            path.to_string(),
            "generator has no type: set one of list, clusters, git, matrix, merge, ...",
        ),
        1 => {}
        _ => c.add(
            path.to_string(),
            format!("generator sets {}: a generator has exactly one type; split it", set.join(" and ")),
        ),
    }
    let (git, list, matrix, merge) = match g {
        GeneratorView::Top(g) => (g.git.as_ref(), g.list.as_ref(), g.matrix.as_ref(), g.merge.as_ref()),
        GeneratorView::Nested(g) => (g.git.as_ref(), g.list.as_ref(), None, None),
    };
    if let Some(git) = git
        && git.directories.as_ref().is_none_or(Vec::is_empty)
        && git.files.as_ref().is_none_or(Vec::is_empty)
    {
        c.add(format!("{path}.git"), "git generator needs directories or files");
    }
    if let Some(list) = list {
        for (i, e) in list.elements.iter().flatten().enumerate() {
            if !e.0.is_object() {
                c.add(
                    format!("{path}.list.elements[{i}]"),
                    "each element must be a map of parameters (key: value)",
                );
            }
        }
    }
    if let Some(m) = matrix {
        let children = m.generators.as_deref().unwrap_or_default();
        if children.len() != 2 {
            c.add(
                format!("{path}.matrix.generators"),
                format!("a matrix combines exactly 2 generators, found {}", children.len()),
            );
        }
        for (i, child) in children.iter().enumerate() {
            check_generator(&GeneratorView::Nested(child), &format!("{path}.matrix.generators[{i}]"), c);
        }
    }
    if let Some(m) = merge {
        let children = m.generators.as_deref().unwrap_or_default();
        if children.len() < 2 {
            c.add(
                format!("{path}.merge.generators"),
                "a merge needs at least 2 generators (a base and overrides)",
            );
        }
        if m.merge_keys.as_ref().is_none_or(Vec::is_empty) {
            c.add(
                format!("{path}.merge.mergeKeys"),
                "mergeKeys is empty: name the parameters that identify a set",
            );
        }
        for (i, child) in children.iter().enumerate() {
            check_generator(&GeneratorView::Nested(child), &format!("{path}.merge.generators[{i}]"), c);
        }
    }
}
