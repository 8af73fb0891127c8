//! The merge semantics of the built-in Kubernetes types: which lists merge by which key,
//! which are sets, which maps keep only the keys sent (`retainKeys`), which structs are atomic.
//!
//! Why a table: strategic merge patch and server-side apply both decide per field how to merge,
//! and the API server's `/openapi/v2` advertises the same facts to kubectl as
//! `x-kubernetes-patch-merge-key`, `x-kubernetes-patch-strategy`, `x-kubernetes-list-type` and
//! `x-kubernetes-list-map-keys`. The entries follow the `patchStrategy`/`patchMergeKey` and
//! `listType`/`listMapKey` markers of the upstream API types (k8s.io/api, v1.33). Fields not in
//! the table are plain: objects merge field by field, lists are atomic. Kinds not in the table
//! (custom resources) get exactly that behaviour everywhere.

use std::collections::HashMap;
use std::sync::LazyLock;

use tiphys_resource::GroupVersionKind;

/// How a list field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// Replaced as a whole (the default for lists without a strategy).
    Atomic,
    /// A list of scalars merged as a set (`patchStrategy: merge` without a key; SSA `set`).
    Set,
    /// A list of objects merged element by element, identified by keys.
    Map {
        /// The strategic-merge-patch key (`x-kubernetes-patch-merge-key`), e.g. `containerPort`.
        merge_key: &'static str,
        /// The server-side-apply keys (`x-kubernetes-list-map-keys`), e.g.
        /// `["containerPort", "protocol"]`.
        keys: &'static [&'static str],
    },
}

/// Merge facts of one field of one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FieldSchema {
    /// For list fields with a merge strategy: how elements merge. `None` means atomic.
    pub list: Option<ListType>,
    /// `patchStrategy: retainKeys`: a patch to this object clears the keys it does not list.
    pub retain_keys: bool,
    /// `structType/mapType: atomic`: server-side apply owns the object as one value.
    pub atomic: bool,
    /// OpenAPI definition of the field's value (or of a list's elements), when the table
    /// knows it, e.g. `io.k8s.api.core.v1.Container`.
    pub definition: Option<&'static str>,
}

impl FieldSchema {
    /// `x-kubernetes-patch-strategy` as kubectl reads it, if any.
    pub fn patch_strategy(&self) -> Option<&'static str> {
        match (self.list, self.retain_keys) {
            (Some(ListType::Set | ListType::Map { .. }), true) => Some("merge,retainKeys"),
            (Some(ListType::Set | ListType::Map { .. }), false) => Some("merge"),
            (_, true) => Some("retainKeys"),
            _ => None,
        }
    }
}

const POD: &str = "io.k8s.api.core.v1.Pod";
const POD_SPEC: &str = "io.k8s.api.core.v1.PodSpec";
const POD_STATUS: &str = "io.k8s.api.core.v1.PodStatus";
const POD_TEMPLATE_SPEC: &str = "io.k8s.api.core.v1.PodTemplateSpec";
const CONTAINER: &str = "io.k8s.api.core.v1.Container";
const EPHEMERAL_CONTAINER: &str = "io.k8s.api.core.v1.EphemeralContainer";
const RESOURCES: &str = "io.k8s.api.core.v1.ResourceRequirements";
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const SERVICE_SPEC: &str = "io.k8s.api.core.v1.ServiceSpec";
const JOB_SPEC: &str = "io.k8s.api.batch.v1.JobSpec";
const JOB_TEMPLATE_SPEC: &str = "io.k8s.api.batch.v1.JobTemplateSpec";
const CRON_JOB_SPEC: &str = "io.k8s.api.batch.v1.CronJobSpec";

/// A kind the table knows: its group and kind, its definition and those of spec and status.
struct Root {
    group: &'static str,
    kind: &'static str,
    definition: &'static str,
    spec: Option<&'static str>,
    status: Option<&'static str>,
}

const fn root(
    group: &'static str,
    kind: &'static str,
    definition: &'static str,
    spec: Option<&'static str>,
    status: Option<&'static str>,
) -> Root {
    Root { group, kind, definition, spec, status }
}

/// The kinds the table knows.
const ROOTS: &[Root] = &[
    root("", "Pod", POD, Some(POD_SPEC), Some(POD_STATUS)),
    root("", "PodTemplate", "io.k8s.api.core.v1.PodTemplate", None, None),
    root(
        "",
        "ReplicationController",
        "io.k8s.api.core.v1.ReplicationController",
        Some("io.k8s.api.core.v1.ReplicationControllerSpec"),
        Some("io.k8s.api.core.v1.ReplicationControllerStatus"),
    ),
    root(
        "",
        "Service",
        "io.k8s.api.core.v1.Service",
        Some(SERVICE_SPEC),
        Some("io.k8s.api.core.v1.ServiceStatus"),
    ),
    root("", "ServiceAccount", "io.k8s.api.core.v1.ServiceAccount", None, None),
    root("", "Namespace", "io.k8s.api.core.v1.Namespace", None, Some("io.k8s.api.core.v1.NamespaceStatus")),
    root(
        "",
        "PersistentVolumeClaim",
        "io.k8s.api.core.v1.PersistentVolumeClaim",
        None,
        Some("io.k8s.api.core.v1.PersistentVolumeClaimStatus"),
    ),
    root("", "Node", "io.k8s.api.core.v1.Node", None, Some("io.k8s.api.core.v1.NodeStatus")),
    root("", "ConfigMap", "io.k8s.api.core.v1.ConfigMap", None, None),
    root("", "Secret", "io.k8s.api.core.v1.Secret", None, None),
    root("", "Endpoints", "io.k8s.api.core.v1.Endpoints", None, None),
    root("", "Event", "io.k8s.api.core.v1.Event", None, None),
    root("", "LimitRange", "io.k8s.api.core.v1.LimitRange", None, None),
    root("", "ResourceQuota", "io.k8s.api.core.v1.ResourceQuota", None, None),
    root("", "PersistentVolume", "io.k8s.api.core.v1.PersistentVolume", None, None),
    root(
        "apps",
        "Deployment",
        "io.k8s.api.apps.v1.Deployment",
        Some("io.k8s.api.apps.v1.DeploymentSpec"),
        Some("io.k8s.api.apps.v1.DeploymentStatus"),
    ),
    root(
        "apps",
        "ReplicaSet",
        "io.k8s.api.apps.v1.ReplicaSet",
        Some("io.k8s.api.apps.v1.ReplicaSetSpec"),
        Some("io.k8s.api.apps.v1.ReplicaSetStatus"),
    ),
    root(
        "apps",
        "StatefulSet",
        "io.k8s.api.apps.v1.StatefulSet",
        Some("io.k8s.api.apps.v1.StatefulSetSpec"),
        Some("io.k8s.api.apps.v1.StatefulSetStatus"),
    ),
    root(
        "apps",
        "DaemonSet",
        "io.k8s.api.apps.v1.DaemonSet",
        Some("io.k8s.api.apps.v1.DaemonSetSpec"),
        Some("io.k8s.api.apps.v1.DaemonSetStatus"),
    ),
    root("batch", "Job", "io.k8s.api.batch.v1.Job", Some(JOB_SPEC), Some("io.k8s.api.batch.v1.JobStatus")),
    root("batch", "CronJob", "io.k8s.api.batch.v1.CronJob", Some(CRON_JOB_SPEC), None),
    root(
        "policy",
        "PodDisruptionBudget",
        "io.k8s.api.policy.v1.PodDisruptionBudget",
        None,
        Some("io.k8s.api.policy.v1.PodDisruptionBudgetStatus"),
    ),
    root(
        "autoscaling",
        "HorizontalPodAutoscaler",
        "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
        None,
        Some("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus"),
    ),
    root(
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
        "io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration",
        None,
        None,
    ),
    root(
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        "io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration",
        None,
        None,
    ),
    root("networking.k8s.io", "Ingress", "io.k8s.api.networking.v1.Ingress", None, None),
    root("networking.k8s.io", "NetworkPolicy", "io.k8s.api.networking.v1.NetworkPolicy", None, None),
    root("networking.k8s.io", "IngressClass", "io.k8s.api.networking.v1.IngressClass", None, None),
    root("rbac.authorization.k8s.io", "Role", "io.k8s.api.rbac.v1.Role", None, None),
    root("rbac.authorization.k8s.io", "ClusterRole", "io.k8s.api.rbac.v1.ClusterRole", None, None),
    root("rbac.authorization.k8s.io", "RoleBinding", "io.k8s.api.rbac.v1.RoleBinding", None, None),
    root(
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        "io.k8s.api.rbac.v1.ClusterRoleBinding",
        None,
        None,
    ),
    root("coordination.k8s.io", "Lease", "io.k8s.api.coordination.v1.Lease", None, None),
    root("discovery.k8s.io", "EndpointSlice", "io.k8s.api.discovery.v1.EndpointSlice", None, None),
    root("events.k8s.io", "Event", "io.k8s.api.events.v1.Event", None, None),
    root("apps", "ControllerRevision", "io.k8s.api.apps.v1.ControllerRevision", None, None),
    root("scheduling.k8s.io", "PriorityClass", "io.k8s.api.scheduling.v1.PriorityClass", None, None),
    root("node.k8s.io", "RuntimeClass", "io.k8s.api.node.v1.RuntimeClass", None, None),
    root(
        "certificates.k8s.io",
        "CertificateSigningRequest",
        "io.k8s.api.certificates.v1.CertificateSigningRequest",
        None,
        Some("io.k8s.api.certificates.v1.CertificateSigningRequestStatus"),
    ),
    root("storage.k8s.io", "CSIDriver", "io.k8s.api.storage.v1.CSIDriver", None, None),
    root(
        "storage.k8s.io",
        "CSINode",
        "io.k8s.api.storage.v1.CSINode",
        Some("io.k8s.api.storage.v1.CSINodeSpec"),
        None,
    ),
    root("storage.k8s.io", "VolumeAttachment", "io.k8s.api.storage.v1.VolumeAttachment", None, None),
    root("storage.k8s.io", "StorageClass", "io.k8s.api.storage.v1.StorageClass", None, None),
    root(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
        None,
        None,
    ),
];

const fn object(definition: &'static str) -> FieldSchema {
    FieldSchema { list: None, retain_keys: false, atomic: false, definition: Some(definition) }
}

const fn keyed(
    merge_key: &'static str,
    keys: &'static [&'static str],
    elements: Option<&'static str>,
) -> FieldSchema {
    FieldSchema {
        list: Some(ListType::Map { merge_key, keys }),
        retain_keys: false,
        atomic: false,
        definition: elements,
    }
}

const fn by_name() -> FieldSchema {
    keyed("name", &["name"], None)
}

const fn conditions() -> FieldSchema {
    keyed("type", &["type"], None)
}

const SET: FieldSchema =
    FieldSchema { list: Some(ListType::Set), retain_keys: false, atomic: false, definition: None };
const ATOMIC: FieldSchema = FieldSchema { list: None, retain_keys: false, atomic: true, definition: None };
const RETAIN_KEYS: FieldSchema =
    FieldSchema { list: None, retain_keys: true, atomic: false, definition: None };

/// (definition, field, schema): every field whose merge behaviour is not the plain default.
const FIELDS: &[(&str, &str, FieldSchema)] = &[
    (OBJECT_META, "finalizers", SET),
    (OBJECT_META, "ownerReferences", keyed("uid", &["uid"], None)),
    ("io.k8s.api.core.v1.PodTemplate", "template", object(POD_TEMPLATE_SPEC)),
    (POD_TEMPLATE_SPEC, "metadata", object(OBJECT_META)),
    (POD_TEMPLATE_SPEC, "spec", object(POD_SPEC)),
    (POD_SPEC, "containers", keyed("name", &["name"], Some(CONTAINER))),
    (POD_SPEC, "initContainers", keyed("name", &["name"], Some(CONTAINER))),
    (POD_SPEC, "ephemeralContainers", keyed("name", &["name"], Some(EPHEMERAL_CONTAINER))),
    (
        POD_SPEC,
        "volumes",
        FieldSchema {
            list: Some(ListType::Map { merge_key: "name", keys: &["name"] }),
            retain_keys: true,
            atomic: false,
            definition: None,
        },
    ),
    (POD_SPEC, "imagePullSecrets", by_name()),
    (POD_SPEC, "hostAliases", keyed("ip", &["ip"], None)),
    (
        POD_SPEC,
        "topologySpreadConstraints",
        keyed("topologyKey", &["topologyKey", "whenUnsatisfiable"], None),
    ),
    (
        POD_SPEC,
        "resourceClaims",
        FieldSchema {
            list: Some(ListType::Map { merge_key: "name", keys: &["name"] }),
            retain_keys: true,
            atomic: false,
            definition: None,
        },
    ),
    (POD_SPEC, "schedulingGates", by_name()),
    (POD_SPEC, "nodeSelector", ATOMIC),
    (POD_STATUS, "conditions", conditions()),
    (POD_STATUS, "podIPs", keyed("ip", &["ip"], None)),
    (POD_STATUS, "hostIPs", keyed("ip", &["ip"], None)),
    (CONTAINER, "ports", keyed("containerPort", &["containerPort", "protocol"], None)),
    (CONTAINER, "env", by_name()),
    (CONTAINER, "volumeMounts", keyed("mountPath", &["mountPath"], None)),
    (CONTAINER, "volumeDevices", keyed("devicePath", &["devicePath"], None)),
    (CONTAINER, "resources", object(RESOURCES)),
    (EPHEMERAL_CONTAINER, "ports", keyed("containerPort", &["containerPort", "protocol"], None)),
    (EPHEMERAL_CONTAINER, "env", by_name()),
    (EPHEMERAL_CONTAINER, "volumeMounts", keyed("mountPath", &["mountPath"], None)),
    (EPHEMERAL_CONTAINER, "volumeDevices", keyed("devicePath", &["devicePath"], None)),
    (EPHEMERAL_CONTAINER, "resources", object(RESOURCES)),
    (RESOURCES, "claims", by_name()),
    (SERVICE_SPEC, "ports", keyed("port", &["port", "protocol"], None)),
    (SERVICE_SPEC, "selector", ATOMIC),
    ("io.k8s.api.core.v1.ServiceStatus", "conditions", conditions()),
    ("io.k8s.api.core.v1.ServiceAccount", "secrets", by_name()),
    ("io.k8s.api.core.v1.NamespaceStatus", "conditions", conditions()),
    ("io.k8s.api.core.v1.PersistentVolumeClaimStatus", "conditions", conditions()),
    ("io.k8s.api.core.v1.NodeStatus", "conditions", conditions()),
    ("io.k8s.api.core.v1.NodeStatus", "addresses", keyed("type", &["type"], None)),
    ("io.k8s.api.core.v1.ReplicationControllerSpec", "template", object(POD_TEMPLATE_SPEC)),
    ("io.k8s.api.core.v1.ReplicationControllerSpec", "selector", ATOMIC),
    ("io.k8s.api.core.v1.ReplicationControllerStatus", "conditions", conditions()),
    ("io.k8s.api.apps.v1.DeploymentSpec", "template", object(POD_TEMPLATE_SPEC)),
    ("io.k8s.api.apps.v1.DeploymentSpec", "selector", ATOMIC),
    ("io.k8s.api.apps.v1.DeploymentSpec", "strategy", RETAIN_KEYS),
    ("io.k8s.api.apps.v1.DeploymentStatus", "conditions", conditions()),
    ("io.k8s.api.apps.v1.ReplicaSetSpec", "template", object(POD_TEMPLATE_SPEC)),
    ("io.k8s.api.apps.v1.ReplicaSetSpec", "selector", ATOMIC),
    ("io.k8s.api.apps.v1.ReplicaSetStatus", "conditions", conditions()),
    ("io.k8s.api.apps.v1.StatefulSetSpec", "template", object(POD_TEMPLATE_SPEC)),
    ("io.k8s.api.apps.v1.StatefulSetSpec", "selector", ATOMIC),
    ("io.k8s.api.apps.v1.StatefulSetStatus", "conditions", conditions()),
    ("io.k8s.api.apps.v1.DaemonSetSpec", "template", object(POD_TEMPLATE_SPEC)),
    ("io.k8s.api.apps.v1.DaemonSetSpec", "selector", ATOMIC),
    ("io.k8s.api.apps.v1.DaemonSetStatus", "conditions", conditions()),
    (JOB_SPEC, "template", object(POD_TEMPLATE_SPEC)),
    (JOB_SPEC, "selector", ATOMIC),
    ("io.k8s.api.batch.v1.JobStatus", "conditions", conditions()),
    (CRON_JOB_SPEC, "jobTemplate", object(JOB_TEMPLATE_SPEC)),
    (JOB_TEMPLATE_SPEC, "metadata", object(OBJECT_META)),
    (JOB_TEMPLATE_SPEC, "spec", object(JOB_SPEC)),
    ("io.k8s.api.policy.v1.PodDisruptionBudgetStatus", "conditions", conditions()),
    ("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus", "conditions", conditions()),
    ("io.k8s.api.certificates.v1.CertificateSigningRequestStatus", "conditions", conditions()),
    ("io.k8s.api.storage.v1.CSINodeSpec", "drivers", by_name()),
    ("io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration", "webhooks", by_name()),
    ("io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration", "webhooks", by_name()),
];

/// [`FIELDS`] by definition and field, because every field of every patched object is
/// looked up.
/// The `metadata`/`spec`/`status` fields of the [`ROOTS`] are in it too.
static INDEX: LazyLock<HashMap<&'static str, HashMap<&'static str, FieldSchema>>> = LazyLock::new(|| {
    let mut index: HashMap<&'static str, HashMap<&'static str, FieldSchema>> = HashMap::new();
    for root in ROOTS {
        let fields = index.entry(root.definition).or_default();
        for (field, definition) in
            [("metadata", Some(OBJECT_META)), ("spec", root.spec), ("status", root.status)]
        {
            if definition.is_some() {
                fields.insert(field, FieldSchema { definition, ..FieldSchema::default() });
            }
        }
    }
    for &(definition, field, schema) in FIELDS {
        index.entry(definition).or_default().insert(field, schema);
    }
    index
});

/// A position in the schema while walking an object: the definition of the current value,
/// or `None` inside custom resources and unlisted fields (plain merge rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor(Option<&'static str>);

impl Cursor {
    /// The schema at the root of an object of kind `gvk`.
    pub(crate) fn root(gvk: &GroupVersionKind) -> Self {
        Self(root_definition(gvk))
    }

    /// Merge facts of `field` of the current object and the cursor for its value.
    pub(crate) fn field(self, field: &str) -> (FieldSchema, Cursor) {
        let Some(definition) = self.0 else { return (FieldSchema::default(), Cursor(None)) };
        match INDEX.get(definition).and_then(|fields| fields.get(field)) {
            Some(schema) => (*schema, Cursor(schema.definition)),
            None => (FieldSchema::default(), Cursor(None)),
        }
    }

    /// Whether this cursor is inside a known type (built-in merge rules apply).
    pub(crate) fn is_known(self) -> bool {
        self.0.is_some()
    }
}

fn root_definition(gvk: &GroupVersionKind) -> Option<&'static str> {
    ROOTS.iter().find(|root| root.group == gvk.group && root.kind == gvk.kind).map(|root| root.definition)
}

/// Whether `gvk` is a built-in kind this crate knows the merge rules of. The API server
/// refuses strategic merge patches for other kinds (custom resources) with 415; callers that
/// want that behaviour check this first.
pub fn is_builtin(gvk: &GroupVersionKind) -> bool {
    root_definition(gvk).is_some()
}

/// Merge facts of the field at `path` (field names from the object root; list elements do
/// not add a segment), e.g. `["spec", "template", "spec", "containers"]` of a Deployment.
pub fn field_schema(gvk: &GroupVersionKind, path: &[&str]) -> FieldSchema {
    let mut cursor = Cursor::root(gvk);
    let mut schema = FieldSchema::default();
    for segment in path {
        (schema, cursor) = cursor.field(segment);
    }
    schema
}

/// The list semantics of the field at `path` (see [`field_schema`]) when it is a set or a
/// keyed list; `None` for atomic lists, non-list fields and unknown kinds.
pub fn merge_key(gvk: &GroupVersionKind, path: &[&str]) -> Option<ListType> {
    field_schema(gvk, path).list
}

/// Every non-default field as `(openapi definition, property, schema)`, so an API server can
/// add the `x-kubernetes-*` extensions to the definitions it publishes in `/openapi/v2`.
pub fn openapi_fields() -> impl Iterator<Item = (&'static str, &'static str, FieldSchema)> {
    FIELDS.iter().copied()
}
