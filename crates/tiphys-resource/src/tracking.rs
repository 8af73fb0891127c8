//! Resource tracking: how an object in a cluster says which Application manages it, as Argo CD
//! writes and reads it, so objects synced by Argo CD stay owned after a switch to Tiphys (and
//! back).
//!
//! Three methods, chosen by argocd-cm `application.resourceTrackingMethod`:
//!
//! - `annotation` (upstream's default since Argo CD 3.0): the annotation
//!   `argocd.argoproj.io/tracking-id: <app>:<group>/<kind>:<namespace>/<name>`;
//! - `annotation+label`: the same annotation decides ownership, and the instance label
//!   (`application.instanceLabelKey`, default `app.kubernetes.io/instance`) is written too, for
//!   other tools, truncated to a valid label value;
//! - `label`: only the instance label, holding the app instance name.
//!
//! An `installationID` (argocd-cm) is not part of the tracking id: it is written as the separate
//! annotation `argocd.argoproj.io/installation-id`, and an object is only claimed when that
//! annotation equals this installation's id (absent on both sides counts as equal).
//!
//! A tracking id that names a different group, kind, namespace or name than the object carrying
//! it (an object copied from a tracked one, e.g. by an operator) does not make that object part of
//! the app, as upstream decides it. Ids are never normalised: the text written is the text read.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::annotations::{INSTALLATION_ID, INSTANCE_LABEL, TRACKING_ID};
use crate::{GroupVersionKind, KeyError};

/// The longest label value Kubernetes accepts; longer app instance names are cut for the
/// informational label of `annotation+label`.
pub const LABEL_MAX_LENGTH: usize = 63;

/// How the controller marks the objects it manages (argocd-cm `application.resourceTrackingMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TrackingMethod {
    /// `label`: the instance label only (upstream's default before 3.0).
    Label,
    /// `annotation`: the tracking-id annotation only (upstream's default since 3.0).
    #[default]
    Annotation,
    /// `annotation+label`: the annotation decides, the label is informational.
    AnnotationAndLabel,
}

impl TrackingMethod {
    /// The value as written in argocd-cm.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Label => "label",
            Self::Annotation => "annotation",
            Self::AnnotationAndLabel => "annotation+label",
        }
    }

    /// Whether the tracking-id annotation is written and decides ownership.
    pub fn uses_annotation(self) -> bool {
        !matches!(self, Self::Label)
    }

    /// Whether the instance label is written.
    pub fn uses_label(self) -> bool {
        !matches!(self, Self::Annotation)
    }
}

impl fmt::Display for TrackingMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TrackingMethod {
    /// The value that is not a method (the caller names the setting and lists the choices).
    type Err = String;

    /// Parses `label`, `annotation` or `annotation+label` (exact spelling, as upstream compares).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "label" => Ok(Self::Label),
            "annotation" => Ok(Self::Annotation),
            "annotation+label" => Ok(Self::AnnotationAndLabel),
            other => Err(other.to_string()),
        }
    }
}

/// The name an app's objects are tracked under: the app's name when it lives in the control-plane
/// namespace (or has no namespace), `<namespace>_<name>` for apps in other namespaces ("apps in
/// any namespace"), so two apps called alike in different namespaces never share objects.
pub fn app_instance_name(app_name: &str, app_namespace: &str, control_plane_namespace: &str) -> String {
    if app_namespace.is_empty() || app_namespace == control_plane_namespace {
        app_name.to_string()
    } else {
        format!("{app_namespace}_{app_name}")
    }
}

/// A parsed tracking id, `<app>:<group>/<kind>:<namespace>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TrackingId {
    /// App instance name (see [`app_instance_name`]).
    pub app: String,
    /// API group of the object; empty for the core group.
    pub group: String,
    /// Kind of the object.
    pub kind: String,
    /// Namespace of the object; the app's destination namespace for cluster-scoped objects.
    pub namespace: String,
    /// Name of the object.
    pub name: String,
}

impl TrackingId {
    /// Parses an annotation value; `None` when it is not in upstream's format (such an
    /// annotation claims nothing, as upstream ignores it).
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.splitn(3, ':');
        let app = parts.next()?;
        let (group, kind) = two_parts(parts.next()?)?;
        let (namespace, name) = two_parts(parts.next()?)?;
        Some(Self {
            app: app.to_string(),
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }

    /// The id an object gets when `app_instance` manages it; objects without a namespace
    /// (cluster-scoped, or namespaced ones rendered without one) carry `default_namespace`, the
    /// app's destination namespace, as upstream writes it.
    pub fn for_object(obj: &Value, app_instance: &str, default_namespace: &str) -> Result<Self, KeyError> {
        let gvk = GroupVersionKind::of(obj)?;
        let namespace = match meta_str(obj, "namespace") {
            "" => default_namespace,
            ns => ns,
        };
        Ok(Self {
            app: app_instance.to_string(),
            group: gvk.group,
            kind: gvk.kind,
            namespace: namespace.to_string(),
            name: meta_str(obj, "name").to_string(),
        })
    }

    /// Whether this id describes `obj` itself: same group, kind and name, and the same namespace
    /// unless the object has none (cluster-scoped objects carry the app's destination namespace).
    /// An id copied onto another object fails this check, so the copy is not claimed.
    pub fn refers_to(&self, obj: &Value) -> bool {
        let Ok(gvk) = GroupVersionKind::of(obj) else { return false };
        let namespace = meta_str(obj, "namespace");
        (namespace.is_empty() || namespace == self.namespace)
            && meta_str(obj, "name") == self.name
            && gvk.group == self.group
            && gvk.kind == self.kind
    }
}

impl fmt::Display for TrackingId {
    /// The annotation value, exactly as upstream builds it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}:{}/{}", self.app, self.group, self.kind, self.namespace, self.name)
    }
}

/// `a/b` with exactly one `/` (upstream splits on every `/` and wants two parts).
fn two_parts(s: &str) -> Option<(&str, &str)> {
    let (a, b) = s.split_once('/')?;
    (!b.contains('/')).then_some((a, b))
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata").and_then(|m| m.get(field)).and_then(Value::as_str).unwrap_or_default()
}

/// The tracking configuration of one controller: method, label key and installation id, all
/// from argocd-cm. One value, shared by everything that writes or reads tracking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    /// `application.resourceTrackingMethod`.
    pub method: TrackingMethod,
    /// `application.instanceLabelKey` (default `app.kubernetes.io/instance`).
    pub label_key: String,
    /// `installationID`, when several Argo CD / Tiphys instances manage one cluster.
    pub installation_id: Option<String>,
}

impl Default for Tracking {
    /// Upstream's defaults: annotation tracking, `app.kubernetes.io/instance`, no installation id.
    fn default() -> Self {
        Self {
            method: TrackingMethod::default(),
            label_key: INSTANCE_LABEL.to_string(),
            installation_id: None,
        }
    }
}

impl Tracking {
    /// Marks a desired object as managed by `app_instance` (see [`app_instance_name`]):
    /// the annotation (plus the installation-id annotation, or its removal) and/or the label,
    /// per the method. `default_namespace` is the app's destination namespace.
    ///
    /// With `annotation+label` a label value longer than 63 characters is cut and then trimmed
    /// back to end in a letter or digit, as upstream does; with `label` it is written whole, as
    /// upstream does (the API server then rejects a too-long value with its own message).
    pub fn set_tracking(
        &self,
        obj: &mut Value,
        app_instance: &str,
        default_namespace: &str,
    ) -> Result<(), KeyError> {
        let id = self
            .method
            .uses_annotation()
            .then(|| TrackingId::for_object(obj, app_instance, default_namespace));
        let id = id.transpose()?;
        let label = match self.method {
            TrackingMethod::Annotation => None,
            TrackingMethod::Label => Some(app_instance.to_string()),
            TrackingMethod::AnnotationAndLabel => Some(truncated_label(app_instance)?),
        };
        let meta = metadata_mut(obj)?;
        if let Some(id) = id {
            set_entry(meta, "annotations", INSTALLATION_ID, self.installation_id.clone());
            set_entry(meta, "annotations", TRACKING_ID, Some(id.to_string()));
        }
        if let Some(label) = label {
            set_entry(meta, "labels", &self.label_key, Some(label));
        }
        Ok(())
    }

    /// The app instance that manages a live object, or `None`. With the label method that is
    /// the label's value. With the annotation methods it is the tracking id's app, but only
    /// when the object's installation-id annotation equals this installation's id and the id
    /// [refers to](TrackingId::refers_to) the object itself.
    pub fn tracked_app(&self, obj: &Value) -> Option<String> {
        match self.method {
            TrackingMethod::Label => {
                let label = obj.get("metadata")?.get("labels")?.get(&self.label_key)?.as_str()?;
                (!label.is_empty()).then(|| label.to_string())
            }
            TrackingMethod::Annotation | TrackingMethod::AnnotationAndLabel => {
                let id = self.tracking_id(obj)?;
                (id.refers_to(obj) && !id.app.is_empty()).then_some(id.app)
            }
        }
    }

    /// The object's parsed tracking id, when the method uses the annotation and the object
    /// belongs to this installation; no check that the id refers to the object (the controller
    /// compares it with the desired object instead when it has one, so an apiGroup change of a
    /// kind keeps the object).
    pub fn tracking_id(&self, obj: &Value) -> Option<TrackingId> {
        if !self.method.uses_annotation() {
            return None;
        }
        let annotations = obj.get("metadata")?.get("annotations");
        let annotation = |key: &str| annotations.and_then(|a| a.get(key)).and_then(Value::as_str);
        if annotation(INSTALLATION_ID).unwrap_or_default()
            != self.installation_id.as_deref().unwrap_or_default()
        {
            return None;
        }
        TrackingId::parse(annotation(TRACKING_ID)?)
    }

    /// Makes a live object that is still tracked by the instance label compare cleanly with
    /// its desired form after a switch to an annotation method, as upstream normalises it: the
    /// live object takes the desired tracking-id annotation, and loses the label when the
    /// desired object has none. Nothing changes with the label method, for live objects
    /// without the label, or for CustomResourceDefinitions (which upstream leaves alone).
    pub fn normalize_live(&self, desired: &Value, live: &mut Value) {
        if !self.method.uses_annotation() {
            return;
        }
        let label = |obj: &Value| {
            obj.get("metadata")
                .and_then(|m| m.get("labels"))
                .and_then(|l| l.get(&self.label_key))
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty())
        };
        let is_crd = live.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition")
            && live
                .get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|v| v.starts_with("apiextensions.k8s.io/"));
        if !label(live) || is_crd {
            return;
        }
        let annotation = desired
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(TRACKING_ID))
            .and_then(Value::as_str)
            .map(str::to_string);
        let desired_has_label = label(desired);
        let Ok(meta) = metadata_mut(live) else { return };
        set_entry(meta, "annotations", TRACKING_ID, annotation);
        if !desired_has_label {
            set_entry(meta, "labels", &self.label_key, None);
        }
    }
}

/// Cuts a label value to 63 characters, then drops trailing characters until it ends in an ASCII
/// letter or digit; fails (as upstream) when that leaves one character or none.
fn truncated_label(value: &str) -> Result<String, KeyError> {
    if value.len() <= LABEL_MAX_LENGTH {
        return Ok(value.to_string());
    }
    let mut end = LABEL_MAX_LENGTH;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = &value[..end];
    while !cut.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        if cut.len() <= 1 {
            return Err(KeyError::UntruncatableLabel(value.to_string()));
        }
        let last = cut.chars().next_back().map_or(1, char::len_utf8);
        cut = &cut[..cut.len() - last];
    }
    Ok(cut.to_string())
}

fn metadata_mut(obj: &mut Value) -> Result<&mut Map<String, Value>, KeyError> {
    let not_an_object = KeyError::NotAnObject(crate::key::json_type_name(obj));
    let map = obj.as_object_mut().ok_or(not_an_object.clone())?;
    let meta = map.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut().ok_or(not_an_object)
}

/// Sets (or with `None` removes) `key` in the string map `section` of `metadata`; a missing or
/// malformed section becomes a map.
fn set_entry(meta: &mut Map<String, Value>, section: &str, key: &str, value: Option<String>) {
    let slot = meta.entry(section).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(map) = slot {
        match value {
            Some(v) => {
                map.insert(key.to_string(), Value::String(v));
            }
            None => {
                map.shift_remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn deployment(ns: Option<&str>) -> Value {
        let mut obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}});
        if let Some(ns) = ns {
            obj["metadata"]["namespace"] = json!(ns);
        }
        obj
    }

    fn tracking(method: TrackingMethod) -> Tracking {
        Tracking { method, ..Tracking::default() }
    }

    #[test]
    fn default_is_annotation_with_the_standard_label() {
        let t = Tracking::default();
        assert_eq!(t.method, TrackingMethod::Annotation);
        assert_eq!(t.label_key, "app.kubernetes.io/instance");
        assert_eq!(t.installation_id, None);
    }

    #[test]
    fn methods_parse_as_written_in_argocd_cm() {
        assert_eq!("label".parse(), Ok(TrackingMethod::Label));
        assert_eq!("annotation".parse(), Ok(TrackingMethod::Annotation));
        assert_eq!("annotation+label".parse(), Ok(TrackingMethod::AnnotationAndLabel));
        assert_eq!("Annotation".parse::<TrackingMethod>(), Err("Annotation".to_string()));
        for m in [TrackingMethod::Label, TrackingMethod::Annotation, TrackingMethod::AnnotationAndLabel] {
            assert_eq!(m.as_str().parse(), Ok(m));
        }
    }

    #[test]
    fn instance_names_outside_the_control_plane_namespace_are_qualified() {
        assert_eq!(app_instance_name("guestbook", "argocd", "argocd"), "guestbook");
        assert_eq!(app_instance_name("guestbook", "", "argocd"), "guestbook");
        assert_eq!(app_instance_name("guestbook", "team-a", "argocd"), "team-a_guestbook");
    }

    #[test]
    fn annotation_method_writes_upstreams_id() {
        let mut obj = deployment(Some("prod"));
        tracking(TrackingMethod::Annotation).set_tracking(&mut obj, "my-app", "default").unwrap();
        assert_eq!(obj["metadata"]["annotations"][TRACKING_ID], "my-app:apps/Deployment:prod/web");
        assert!(obj["metadata"].get("labels").is_none());
    }

    #[test]
    fn core_and_cluster_scoped_objects_get_the_destination_namespace() {
        let mut ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}});
        tracking(TrackingMethod::Annotation).set_tracking(&mut ns, "my-app", "dest").unwrap();
        assert_eq!(ns["metadata"]["annotations"][TRACKING_ID], "my-app:/Namespace:dest/prod");
        let t = tracking(TrackingMethod::Annotation);
        assert_eq!(
            t.tracked_app(&ns).as_deref(),
            Some("my-app"),
            "cluster-scoped objects match any namespace"
        );
    }

    #[test]
    fn label_method_writes_the_label_only() {
        let mut obj = deployment(None);
        let t =
            Tracking { label_key: "argocd.argoproj.io/instance".into(), ..tracking(TrackingMethod::Label) };
        t.set_tracking(&mut obj, "my-app", "default").unwrap();
        assert_eq!(obj["metadata"]["labels"]["argocd.argoproj.io/instance"], "my-app");
        assert!(obj["metadata"].get("annotations").is_none());
        assert_eq!(t.tracked_app(&obj).as_deref(), Some("my-app"));
        assert_eq!(tracking(TrackingMethod::Label).tracked_app(&obj), None, "another label key");
    }

    #[test]
    fn annotation_and_label_truncates_the_label_only() {
        let long = format!("{}-{}", "a".repeat(62), "b".repeat(10));
        let mut obj = deployment(Some("ns"));
        let t = tracking(TrackingMethod::AnnotationAndLabel);
        t.set_tracking(&mut obj, &long, "ns").unwrap();
        // 63 characters end in '-', which is dropped.
        assert_eq!(obj["metadata"]["labels"][INSTANCE_LABEL], "a".repeat(62));
        assert_eq!(obj["metadata"]["annotations"][TRACKING_ID], format!("{long}:apps/Deployment:ns/web"));
        assert_eq!(t.tracked_app(&obj), Some(long), "the annotation decides, not the cut label");
    }

    #[test]
    fn label_method_does_not_truncate() {
        let long = "x".repeat(80);
        let mut obj = deployment(Some("ns"));
        tracking(TrackingMethod::Label).set_tracking(&mut obj, &long, "ns").unwrap();
        assert_eq!(obj["metadata"]["labels"][INSTANCE_LABEL], long.as_str());
    }

    #[test]
    fn untruncatable_label_is_an_error_naming_the_value() {
        let value = format!("_{}", "-".repeat(70));
        let mut obj = deployment(Some("ns"));
        let err =
            tracking(TrackingMethod::AnnotationAndLabel).set_tracking(&mut obj, &value, "ns").unwrap_err();
        assert!(err.to_string().contains(&value), "{err}");
    }

    #[test]
    fn copied_objects_are_not_claimed() {
        let t = tracking(TrackingMethod::Annotation);
        let mut obj = deployment(Some("prod"));
        t.set_tracking(&mut obj, "my-app", "prod").unwrap();
        assert_eq!(t.tracked_app(&obj).as_deref(), Some("my-app"));
        for (pointer, value) in [
            ("/metadata/name", json!("web-copy")),
            ("/metadata/namespace", json!("staging")),
            ("/kind", json!("StatefulSet")),
            ("/apiVersion", json!("extensions/v1beta1")),
        ] {
            let mut copy = obj.clone();
            if let Some(slot) = copy.pointer_mut(pointer) {
                *slot = value;
            }
            assert_eq!(t.tracked_app(&copy), None, "{pointer}");
            assert!(t.tracking_id(&copy).is_some(), "the raw id is still readable");
        }
    }

    #[test]
    fn malformed_ids_claim_nothing() {
        let t = tracking(TrackingMethod::Annotation);
        for bad in ["my-app", "my-app:apps/Deployment", "a:b:c/d", "a:b/c/d:e/f", "a:b/c:d/e/f", ""] {
            let mut obj = deployment(Some("ns"));
            obj["metadata"]["annotations"] = json!({TRACKING_ID: bad});
            assert_eq!(t.tracked_app(&obj), None, "{bad:?}");
        }
        assert_eq!(TrackingId::parse("app:/Secret:ns/a:b").map(|i| i.name), Some("a:b".to_string()));
    }

    #[test]
    fn installation_ids_must_match() {
        let ours = Tracking { installation_id: Some("blue".into()), ..Tracking::default() };
        let theirs = Tracking { installation_id: Some("green".into()), ..Tracking::default() };
        let none = Tracking::default();
        let mut obj = deployment(Some("ns"));
        ours.set_tracking(&mut obj, "app", "ns").unwrap();
        assert_eq!(obj["metadata"]["annotations"][INSTALLATION_ID], "blue");
        assert_eq!(
            obj["metadata"]["annotations"][TRACKING_ID], "app:apps/Deployment:ns/web",
            "id has no installation"
        );
        assert_eq!(ours.tracked_app(&obj).as_deref(), Some("app"));
        assert_eq!(theirs.tracked_app(&obj), None);
        assert_eq!(none.tracked_app(&obj), None, "an object of another installation");
        none.set_tracking(&mut obj, "app", "ns").unwrap();
        assert!(obj["metadata"]["annotations"].get(INSTALLATION_ID).is_none(), "removed without an id");
        assert_eq!(none.tracked_app(&obj).as_deref(), Some("app"));
        assert_eq!(ours.tracked_app(&obj), None);
    }

    #[test]
    fn label_method_ignores_the_annotation_and_vice_versa() {
        let mut obj = deployment(Some("ns"));
        tracking(TrackingMethod::Annotation).set_tracking(&mut obj, "a", "ns").unwrap();
        assert_eq!(tracking(TrackingMethod::Label).tracked_app(&obj), None);
        let mut obj = deployment(Some("ns"));
        tracking(TrackingMethod::Label).set_tracking(&mut obj, "a", "ns").unwrap();
        assert_eq!(tracking(TrackingMethod::Annotation).tracked_app(&obj), None);
        assert_eq!(tracking(TrackingMethod::AnnotationAndLabel).tracked_app(&obj), None);
    }

    #[test]
    fn non_objects_are_errors_not_panics() {
        let t = tracking(TrackingMethod::AnnotationAndLabel);
        assert!(t.set_tracking(&mut json!([1]), "a", "ns").is_err());
        assert!(t.set_tracking(&mut json!({"kind": "X"}), "a", "ns").is_err());
        let mut odd = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": 3, "annotations": []}});
        t.set_tracking(&mut odd, "a", "ns").unwrap();
        assert_eq!(t.tracked_app(&odd).as_deref(), Some("a"));
    }

    #[test]
    fn live_objects_tracked_by_label_are_normalised_after_a_switch() {
        let mut desired = deployment(Some("ns"));
        tracking(TrackingMethod::Annotation).set_tracking(&mut desired, "app", "ns").unwrap();
        let mut live = deployment(Some("ns"));
        tracking(TrackingMethod::Label).set_tracking(&mut live, "app", "ns").unwrap();
        live["metadata"]["labels"]["team"] = json!("a");
        tracking(TrackingMethod::Annotation).normalize_live(&desired, &mut live);
        assert_eq!(live["metadata"]["annotations"][TRACKING_ID], "app:apps/Deployment:ns/web");
        assert_eq!(live["metadata"]["labels"], json!({"team": "a"}), "the tracking label is dropped");

        let mut both = deployment(Some("ns"));
        tracking(TrackingMethod::AnnotationAndLabel).set_tracking(&mut both, "app", "ns").unwrap();
        let mut live = deployment(Some("ns"));
        tracking(TrackingMethod::Label).set_tracking(&mut live, "app", "ns").unwrap();
        tracking(TrackingMethod::AnnotationAndLabel).normalize_live(&both, &mut live);
        assert_eq!(live, both, "annotation+label keeps the label and gains the annotation");

        let mut crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "x", "labels": {INSTANCE_LABEL: "app"}}});
        let before = crd.clone();
        tracking(TrackingMethod::Annotation).normalize_live(&desired, &mut crd);
        assert_eq!(crd, before);
        let mut untouched = deployment(Some("ns"));
        tracking(TrackingMethod::Label).normalize_live(&desired, &mut untouched);
        tracking(TrackingMethod::Annotation).normalize_live(&desired, &mut untouched);
        assert_eq!(untouched, deployment(Some("ns")), "no label: nothing to normalise");
    }

    proptest! {
        #[test]
        fn set_then_read_round_trips(
            app in "[a-z0-9][a-z0-9_.-]{0,90}",
            ns in prop::option::of("[a-z0-9-]{1,20}"),
            dest in "[a-z0-9-]{0,20}",
            method in prop::sample::select(vec![TrackingMethod::Label, TrackingMethod::Annotation, TrackingMethod::AnnotationAndLabel]),
            installation in prop::option::of("[a-z]{1,8}"),
        ) {
            let t = Tracking { method, installation_id: installation, ..Tracking::default() };
            let mut obj = deployment(ns.as_deref());
            match t.set_tracking(&mut obj, &app, &dest) {
                Ok(()) => prop_assert_eq!(t.tracked_app(&obj), Some(app.clone())),
                Err(KeyError::UntruncatableLabel(_)) => prop_assert_eq!(method, TrackingMethod::AnnotationAndLabel),
                Err(e) => prop_assert!(false, "{e}"),
            }
            if let Some(label) = obj.pointer("/metadata/labels").and_then(|l| l.get(INSTANCE_LABEL)).and_then(Value::as_str)
                && method == TrackingMethod::AnnotationAndLabel
                && app.len() > LABEL_MAX_LENGTH
            {
                prop_assert!(label.len() <= LABEL_MAX_LENGTH);
                prop_assert!(label.ends_with(|c: char| c.is_ascii_alphanumeric()));
            }
        }

        #[test]
        fn arbitrary_annotations_never_panic(id in ".{0,60}", label in ".{0,60}", installation in ".{0,10}") {
            let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c",
                "annotations": {TRACKING_ID: id, INSTALLATION_ID: installation}, "labels": {INSTANCE_LABEL: label}}});
            for method in [TrackingMethod::Label, TrackingMethod::Annotation, TrackingMethod::AnnotationAndLabel] {
                let _ = Tracking { method, ..Tracking::default() }.tracked_app(&obj);
            }
            let _ = truncated_label(&id);
        }
    }
}
