//! `argocd-cm` as [`Settings`]: every key the controller and the engines read, with upstream's
//! defaults, and a [`SettingsProblem`] for each value that cannot be used.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tiphys_model::duration::parse_go_duration;
use tiphys_resource::annotations::INSTANCE_LABEL;
use tiphys_resource::tracking::{Tracking, TrackingMethod};
use tiphys_resource::yaml::parse_document;

use crate::customizations::{ResourceOverride, read_overrides};
use crate::filter::ResourceFilter;

/// The name of the ConfigMap these settings come from.
pub const ARGOCD_CM: &str = "argocd-cm";

/// Upstream's `timeout.reconciliation` when the key is absent.
pub const DEFAULT_RECONCILIATION_TIMEOUT: Duration = Duration::from_secs(180);

const RECONCILIATION_KEY: &str = "timeout.reconciliation";
const JITTER_KEY: &str = "timeout.reconciliation.jitter";
const HARD_RECONCILIATION_KEY: &str = "timeout.hard.reconciliation";

/// argocd-cm keys users also put into argocd-cmd-params-cm by mistake (where upstream ignores
/// them), so the other loader can say where they belong.
pub(crate) const TIMEOUT_KEYS: [&str; 3] = [RECONCILIATION_KEY, JITTER_KEY, HARD_RECONCILIATION_KEY];
const TRACKING_METHOD_KEY: &str = "application.resourceTrackingMethod";
const INSTANCE_LABEL_KEY: &str = "application.instanceLabelKey";
const INSTALLATION_ID_KEY: &str = "installationID";
const EXCLUSIONS_KEY: &str = "resource.exclusions";
const INCLUSIONS_KEY: &str = "resource.inclusions";
const COMPARE_OPTIONS_KEY: &str = "resource.compareoptions";
const IGNORE_RESOURCE_UPDATES_KEY: &str = "resource.ignoreResourceUpdatesEnabled";
const IMPERSONATION_KEY: &str = "application.sync.impersonation.enabled";
const KUSTOMIZE_BUILD_OPTIONS_KEY: &str = "kustomize.buildOptions";
const IN_CLUSTER_ENABLED_KEY: &str = "cluster.inClusterEnabled";
const WEBHOOK_MAX_PAYLOAD_KEY: &str = "webhook.maxPayloadSizeMB";
/// Upstream's default `webhook.maxPayloadSizeMB`.
pub const DEFAULT_WEBHOOK_MAX_PAYLOAD_MB: u64 = 50;

/// A value in argocd-cm that could not be used; the setting fell back to its default (or the
/// entry was skipped). Meant to be logged and shown, never to stop the controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsProblem {
    /// The ConfigMap the key is in ([`ARGOCD_CM`] or `argocd-cmd-params-cm`).
    pub config_map: &'static str,
    /// The ConfigMap data key (for block-form customizations, the key and the entry).
    pub key: String,
    /// What is wrong and how to write it.
    pub message: String,
}

impl fmt::Display for SettingsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} key {:?}: {}", self.config_map, self.key, self.message)
    }
}

/// `resource.compareoptions.ignoreResourceStatusField`: which objects' `status` is left out of
/// comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum StatusFieldMode {
    /// Every object (upstream's default since 3.0).
    #[default]
    All,
    /// Custom resources only.
    Crd,
    /// No object: `status` in a manifest is compared.
    None,
}

/// `resource.compareoptions`: system-wide switches of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CompareOptions {
    /// Rules of aggregated ClusterRoles are filled in by Kubernetes; do not compare them.
    pub ignore_aggregated_roles: bool,
    /// Which objects' `status` is not compared.
    pub ignore_resource_status_field: StatusFieldMode,
}

/// One snapshot of argocd-cm, typed. Build a new one whenever the ConfigMap changes and
/// compare with `==` to see whether anything the controller uses changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `timeout.reconciliation`: how often every app is refreshed (default 180 s). Zero turns
    /// periodic refresh off (see [`Settings::periodic_refresh`]).
    pub reconciliation_timeout: Duration,
    /// `timeout.reconciliation.jitter`: the most that is added at random to each app's period so
    /// refreshes spread out (upstream's controller default: 0, none).
    pub reconciliation_jitter: Duration,
    /// `timeout.hard.reconciliation`: how often a hard refresh (manifest caches dropped) runs;
    /// zero (the default) means never.
    pub hard_reconciliation_timeout: Duration,
    /// `application.resourceTrackingMethod`, `application.instanceLabelKey` and `installationID`.
    pub tracking: Tracking,
    /// `resource.exclusions` and `resource.inclusions`, plus the kinds always excluded.
    pub resource_filter: ResourceFilter,
    /// `resource.compareoptions`.
    pub compare_options: CompareOptions,
    /// Every `resource.customizations*` key, merged per `group/Kind` key (globs allowed), the
    /// split keys winning over the block form as upstream merges them.
    pub resource_overrides: BTreeMap<String, ResourceOverride>,
    /// `resource.ignoreResourceUpdatesEnabled` (default true since 3.0): whether
    /// `ignoreResourceUpdates` rules may suppress refreshes.
    pub ignore_resource_updates_enabled: bool,
    /// `application.sync.impersonation.enabled` (default false): syncs run as the project's
    /// destination service account.
    pub impersonation_enabled: bool,
    /// `kustomize.buildOptions`: extra `kustomize build` arguments for every Kustomize app.
    pub kustomize_build_options: String,
    /// `cluster.inClusterEnabled` (default true): whether apps may deploy to
    /// `https://kubernetes.default.svc`.
    pub in_cluster_enabled: bool,
    /// `webhook.maxPayloadSizeMB` (default 50): the largest Git webhook body accepted.
    pub webhook_max_payload_mb: u64,
}

impl Default for Settings {
    /// Upstream's defaults, as with an empty argocd-cm.
    fn default() -> Self {
        Self {
            reconciliation_timeout: DEFAULT_RECONCILIATION_TIMEOUT,
            reconciliation_jitter: Duration::ZERO,
            hard_reconciliation_timeout: Duration::ZERO,
            tracking: Tracking::default(),
            resource_filter: ResourceFilter::default(),
            compare_options: CompareOptions::default(),
            resource_overrides: BTreeMap::new(),
            ignore_resource_updates_enabled: true,
            impersonation_enabled: false,
            kustomize_build_options: String::new(),
            in_cluster_enabled: true,
            webhook_max_payload_mb: DEFAULT_WEBHOOK_MAX_PAYLOAD_MB,
        }
    }
}

impl Settings {
    /// Reads argocd-cm (the whole ConfigMap object, or just its `data` map; `None` when the
    /// ConfigMap does not exist). Never fails: every unusable value is reported as a
    /// [`SettingsProblem`] and its default is used. Keys this crate does not know are ignored.
    pub fn from_configmap(cm: Option<&Value>) -> (Self, Vec<SettingsProblem>) {
        let empty = Map::new();
        let mut reader = Reader::open(cm, ARGOCD_CM, &empty);
        let settings = reader.settings();
        (settings, reader.problems)
    }

    /// The periodic refresh interval, or `None` when `timeout.reconciliation` is zero (refresh
    /// only on Git, webhook or live changes).
    pub fn periodic_refresh(&self) -> Option<Duration> {
        (!self.reconciliation_timeout.is_zero()).then_some(self.reconciliation_timeout)
    }

    /// The hard refresh interval, or `None` when off (the default).
    pub fn periodic_hard_refresh(&self) -> Option<Duration> {
        (!self.hard_reconciliation_timeout.is_zero()).then_some(self.hard_reconciliation_timeout)
    }

    /// Whether resources of this group/kind on this cluster (its server URL) are invisible to
    /// the controller: never watched, compared, synced or pruned.
    pub fn is_excluded(&self, group: &str, kind: &str, cluster_server: &str) -> bool {
        self.resource_filter.is_excluded(group, kind, cluster_server)
    }
}

/// Walks the data map once per setting and collects problems.
pub(crate) struct Reader<'a> {
    pub(crate) data: &'a Map<String, Value>,
    pub(crate) problems: Vec<SettingsProblem>,
    config_map: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over a ConfigMap object or its `data` map (`empty` stands in when there is
    /// none).
    pub(crate) fn open(
        cm: Option<&'a Value>,
        config_map: &'static str,
        empty: &'a Map<String, Value>,
    ) -> Self {
        let mut reader = Reader { data: empty, problems: Vec::new(), config_map };
        match cm.map(|cm| cm.get("data").unwrap_or(cm)) {
            None | Some(Value::Null) => {}
            Some(Value::Object(data)) => reader.data = data,
            Some(_) => reader
                .problem("data", "the ConfigMap's data must be a map of strings; the ConfigMap is ignored"),
        }
        reader
    }

    pub(crate) fn problem(&mut self, key: &str, message: impl Into<String>) {
        let config_map = self.config_map;
        self.problems.push(SettingsProblem { config_map, key: key.to_string(), message: message.into() });
    }

    /// A scalar value as text; a list or map under a scalar key is a problem.
    pub(crate) fn text(&mut self, key: &str) -> Option<String> {
        match self.data.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::Array(_) | Value::Object(_) => {
                self.problem(key, "expected a string value; quote it in the ConfigMap");
                None
            }
        }
    }

    /// A YAML-valued key, parsed (a structured value from a YAML file is taken as is).
    pub(crate) fn yaml(&mut self, key: &str) -> Option<Value> {
        let value = self.data.get(key)?;
        self.yaml_value(key, value)
    }

    pub(crate) fn yaml_value(&mut self, key: &str, value: &Value) -> Option<Value> {
        match value {
            Value::String(text) if text.trim().is_empty() => None,
            Value::String(text) => match parse_document(text) {
                Ok(Value::Null) => None,
                Ok(doc) => Some(doc),
                Err(e) => {
                    self.problem(key, format!("not valid YAML ({e}); the key is ignored"));
                    None
                }
            },
            Value::Null => None,
            other => Some(other.clone()),
        }
    }

    /// A Go duration (`180s`, `3m`, `0`), zero or more.
    pub(crate) fn duration(&mut self, key: &str, default: Duration) -> Duration {
        let Some(text) = self.text(key).filter(|t| !t.trim().is_empty()) else { return default };
        match parse_go_duration(text.trim()) {
            Ok(d) => d,
            Err(e) => {
                self.problem(key, format!("{e}; using the default {}s", default.as_secs()));
                default
            }
        }
    }

    /// Go's `strconv.ParseBool`; an empty value is the default.
    pub(crate) fn go_bool(&mut self, key: &str, default: bool) -> bool {
        let Some(text) = self.text(key).filter(|t| !t.is_empty()) else { return default };
        match parse_go_bool(&text) {
            Some(b) => b,
            None => {
                self.problem(
                    key,
                    format!("{text:?} is not a boolean: write \"true\" or \"false\" (using {default})"),
                );
                default
            }
        }
    }

    fn settings(&mut self) -> Settings {
        let defaults = Settings::default();
        let method = match self.text(TRACKING_METHOD_KEY).filter(|t| !t.is_empty()) {
            None => TrackingMethod::default(),
            Some(text) => text.parse().unwrap_or_else(|bad: String| {
                self.problem(
                    TRACKING_METHOD_KEY,
                    format!(
                        "unknown tracking method {bad:?}: write annotation, label or annotation+label (using {})",
                        TrackingMethod::default()
                    ),
                );
                TrackingMethod::default()
            }),
        };
        let label_key = self.text(INSTANCE_LABEL_KEY).filter(|t| !t.is_empty());
        let installation_id = self.text(INSTALLATION_ID_KEY).filter(|t| !t.is_empty());
        let tracking = Tracking {
            method,
            label_key: label_key.unwrap_or_else(|| INSTANCE_LABEL.to_string()),
            installation_id,
        };
        let exclusions = ResourceFilter::read_list(self, EXCLUSIONS_KEY);
        let inclusions = ResourceFilter::read_list(self, INCLUSIONS_KEY);
        // `cluster.inClusterEnabled`: upstream turns it off only for exactly "false".
        let in_cluster_enabled = match self.text(IN_CLUSTER_ENABLED_KEY) {
            Some(t) if t == "false" => false,
            Some(t) if t.is_empty() || t == "true" => true,
            Some(t) => {
                self.problem(
                    IN_CLUSTER_ENABLED_KEY,
                    format!("{t:?}: write \"true\" or \"false\" (only \"false\" disables the in-cluster destination)"),
                );
                true
            }
            None => true,
        };
        let webhook_max_payload_mb = match self.text(WEBHOOK_MAX_PAYLOAD_KEY).filter(|t| !t.trim().is_empty())
        {
            None => defaults.webhook_max_payload_mb,
            Some(t) => t.trim().parse::<u64>().ok().filter(|mb| *mb > 0).unwrap_or_else(|| {
                self.problem(
                    WEBHOOK_MAX_PAYLOAD_KEY,
                    format!(
                        "{t:?}: write a whole number of megabytes (using {DEFAULT_WEBHOOK_MAX_PAYLOAD_MB})"
                    ),
                );
                DEFAULT_WEBHOOK_MAX_PAYLOAD_MB
            }),
        };
        Settings {
            webhook_max_payload_mb,
            reconciliation_timeout: self.duration(RECONCILIATION_KEY, defaults.reconciliation_timeout),
            reconciliation_jitter: self.duration(JITTER_KEY, defaults.reconciliation_jitter),
            hard_reconciliation_timeout: self
                .duration(HARD_RECONCILIATION_KEY, defaults.hard_reconciliation_timeout),
            tracking,
            resource_filter: ResourceFilter::new(exclusions, inclusions),
            compare_options: self.compare_options(),
            resource_overrides: read_overrides(self),
            ignore_resource_updates_enabled: self
                .go_bool(IGNORE_RESOURCE_UPDATES_KEY, defaults.ignore_resource_updates_enabled),
            impersonation_enabled: self.go_bool(IMPERSONATION_KEY, defaults.impersonation_enabled),
            kustomize_build_options: self.text(KUSTOMIZE_BUILD_OPTIONS_KEY).unwrap_or_default(),
            in_cluster_enabled,
        }
    }

    fn compare_options(&mut self) -> CompareOptions {
        let mut out = CompareOptions::default();
        let Some(doc) = self.yaml(COMPARE_OPTIONS_KEY) else { return out };
        let Some(map) = doc.as_object() else {
            self.problem(
                COMPARE_OPTIONS_KEY,
                "expected a map with ignoreAggregatedRoles / ignoreResourceStatusField",
            );
            return out;
        };
        match map.get("ignoreAggregatedRoles") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => out.ignore_aggregated_roles = *b,
            Some(other) => self.problem(
                COMPARE_OPTIONS_KEY,
                format!("ignoreAggregatedRoles must be true or false, not {other}"),
            ),
        }
        match map.get("ignoreResourceStatusField") {
            None | Some(Value::Null) => {}
            Some(Value::String(mode)) if mode == "all" => {
                out.ignore_resource_status_field = StatusFieldMode::All
            }
            Some(Value::String(mode)) if mode == "crd" => {
                out.ignore_resource_status_field = StatusFieldMode::Crd
            }
            // YAML 1.1 reads an unquoted `off` as false.
            Some(Value::String(mode)) if mode == "none" || mode == "off" => {
                out.ignore_resource_status_field = StatusFieldMode::None
            }
            Some(Value::Bool(false)) => out.ignore_resource_status_field = StatusFieldMode::None,
            Some(other) => self.problem(
                COMPARE_OPTIONS_KEY,
                format!("ignoreResourceStatusField {other}: use all, crd or none (using all)"),
            ),
        }
        out
    }
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(data: Value) -> (Settings, Vec<SettingsProblem>) {
        Settings::from_configmap(Some(&json!({"apiVersion": "v1", "kind": "ConfigMap", "data": data})))
    }

    #[test]
    fn absent_or_empty_configmap_gives_upstreams_defaults() {
        for (settings, problems) in [Settings::from_configmap(None), load(json!({})), load(Value::Null)] {
            assert!(problems.is_empty());
            assert_eq!(settings.reconciliation_timeout, Duration::from_secs(180));
            assert_eq!(settings.periodic_refresh(), Some(Duration::from_secs(180)));
            assert_eq!(settings.reconciliation_jitter, Duration::ZERO);
            assert_eq!(settings.periodic_hard_refresh(), None);
            assert_eq!(settings.tracking.method, TrackingMethod::Annotation);
            assert_eq!(settings.tracking.label_key, "app.kubernetes.io/instance");
            assert_eq!(settings.tracking.installation_id, None);
            assert!(settings.in_cluster_enabled);
            assert!(settings.ignore_resource_updates_enabled);
            assert!(!settings.impersonation_enabled);
            assert_eq!(settings.compare_options.ignore_resource_status_field, StatusFieldMode::All);
            assert!(settings.is_excluded("events.k8s.io", "Event", "https://kubernetes.default.svc"));
            assert!(!settings.is_excluded("apps", "Deployment", "https://kubernetes.default.svc"));
        }
    }

    #[test]
    fn timeouts_in_go_syntax() {
        let (s, problems) = load(json!({
            "timeout.reconciliation": "5m",
            "timeout.reconciliation.jitter": "30s",
            "timeout.hard.reconciliation": "1h30m",
        }));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(s.reconciliation_timeout, Duration::from_secs(300));
        assert_eq!(s.reconciliation_jitter, Duration::from_secs(30));
        assert_eq!(s.periodic_hard_refresh(), Some(Duration::from_secs(5400)));
        for off in ["0", "0s"] {
            let (s, problems) = load(json!({"timeout.reconciliation": off}));
            assert!(problems.is_empty());
            assert_eq!(s.periodic_refresh(), None, "{off}");
        }
    }

    #[test]
    fn bad_values_fall_back_and_name_the_key() {
        let (s, problems) = load(json!({
            "timeout.reconciliation": "180",
            "timeout.reconciliation.jitter": "-5s",
            "application.resourceTrackingMethod": "Label",
            "resource.ignoreResourceUpdatesEnabled": "yes",
            "cluster.inClusterEnabled": "no",
            "resource.compareoptions": "ignoreResourceStatusField: sometimes\nignoreAggregatedRoles: 3\n",
        }));
        assert_eq!(s.reconciliation_timeout, Duration::from_secs(180));
        assert_eq!(s.reconciliation_jitter, Duration::ZERO);
        assert_eq!(s.tracking.method, TrackingMethod::Annotation);
        assert!(s.ignore_resource_updates_enabled);
        assert!(s.in_cluster_enabled);
        assert_eq!(s.compare_options, CompareOptions::default());
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        for key in [
            "timeout.reconciliation",
            "timeout.reconciliation.jitter",
            "application.resourceTrackingMethod",
            "resource.ignoreResourceUpdatesEnabled",
            "cluster.inClusterEnabled",
            "resource.compareoptions",
        ] {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
        let tracking =
            problems.iter().find(|p| p.key == "application.resourceTrackingMethod").map(|p| p.to_string());
        assert!(tracking.is_some_and(|t| t.contains("annotation+label") && t.contains("argocd-cm")));
        assert_eq!(problems.iter().filter(|p| p.key == "resource.compareoptions").count(), 2);
    }

    #[test]
    fn tracking_keys() {
        let (s, problems) = load(json!({
            "application.resourceTrackingMethod": "annotation+label",
            "application.instanceLabelKey": "argocd.argoproj.io/instance",
            "installationID": "blue",
        }));
        assert!(problems.is_empty());
        assert_eq!(s.tracking.method, TrackingMethod::AnnotationAndLabel);
        assert_eq!(s.tracking.label_key, "argocd.argoproj.io/instance");
        assert_eq!(s.tracking.installation_id.as_deref(), Some("blue"));
        let (s, _) = load(json!({"application.resourceTrackingMethod": "label"}));
        assert_eq!(s.tracking.method, TrackingMethod::Label);
    }

    #[test]
    fn switches_and_compare_options() {
        let (s, problems) = load(json!({
            "application.sync.impersonation.enabled": "true",
            "kustomize.buildOptions": "--enable-helm --load-restrictor LoadRestrictionsNone",
            "cluster.inClusterEnabled": "false",
            "resource.ignoreResourceUpdatesEnabled": "false",
            "resource.compareoptions": "ignoreAggregatedRoles: true\nignoreResourceStatusField: crd\n",
        }));
        assert!(problems.is_empty(), "{problems:?}");
        assert!(s.impersonation_enabled);
        assert_eq!(s.kustomize_build_options, "--enable-helm --load-restrictor LoadRestrictionsNone");
        assert!(!s.in_cluster_enabled);
        assert!(!s.ignore_resource_updates_enabled);
        assert!(s.compare_options.ignore_aggregated_roles);
        assert_eq!(s.compare_options.ignore_resource_status_field, StatusFieldMode::Crd);
        let (s, _) = load(json!({"resource.compareoptions": "ignoreResourceStatusField: off\n"}));
        assert_eq!(s.compare_options.ignore_resource_status_field, StatusFieldMode::None);
    }

    #[test]
    fn a_data_map_alone_and_yaml_typed_values_are_read() {
        let (s, problems) = Settings::from_configmap(Some(
            &json!({"timeout.reconciliation": 0, "cluster.inClusterEnabled": false}),
        ));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(s.periodic_refresh(), None);
        assert!(!s.in_cluster_enabled);
        let (_, problems) = Settings::from_configmap(Some(&json!({"data": ["x"]})));
        assert_eq!(problems.len(), 1);
        let (_, problems) = load(json!({"timeout.reconciliation": {"a": 1}}));
        assert_eq!(problems[0].key, "timeout.reconciliation");
    }

    #[test]
    fn webhook_payload_cap_is_read_and_a_bad_value_is_a_problem() {
        let (s, problems) =
            Settings::from_configmap(Some(&json!({"data": {"webhook.maxPayloadSizeMB": "3"}})));
        assert_eq!((s.webhook_max_payload_mb, problems.len()), (3, 0));
        let (s, problems) =
            Settings::from_configmap(Some(&json!({"data": {"webhook.maxPayloadSizeMB": "lots"}})));
        assert_eq!(s.webhook_max_payload_mb, DEFAULT_WEBHOOK_MAX_PAYLOAD_MB);
        assert_eq!(problems[0].key, "webhook.maxPayloadSizeMB");
    }
}
