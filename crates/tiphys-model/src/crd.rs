//! CustomResourceDefinitions generated from the Rust types.
//!
//! The types derive a JSON schema (schemars); [`crds`] rewrites it into the *structural*
//! OpenAPI v3 schema the Kubernetes API server demands: references inlined, `null` removed
//! from types, int-or-string and preserve-unknown-fields markers kept, recursion cut with
//! `x-kubernetes-preserve-unknown-fields`. Names, scope, short names, printer columns and
//! subresources mirror upstream Argo CD's CRDs so `kubectl get apps` looks the same (note
//! that upstream's Application and AppProject have no status subresource: the controller
//! writes status through the main resource, and so do we).

use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

use crate::{AppProject, Application, ApplicationSet};

/// Schema stand-in for `metadata`: the API server validates metadata itself, so CRDs
/// declare it as a plain object, as upstream does.
pub(crate) struct EmbeddedMetadata;

impl JsonSchema for EmbeddedMetadata {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EmbeddedMetadata".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "object" })
    }
}

/// The group all Argo resources live in.
pub const GROUP: &str = "argoproj.io";
/// The served and stored version.
pub const VERSION: &str = "v1alpha1";

/// Structural OpenAPI v3 schema of `T`, as embedded in a CRD.
pub fn structural_schema<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let root = generator.into_root_schema_for::<T>().to_value();
    let defs = root.get("$defs").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut schema = rewrite(&root, &defs, &mut Vec::new());
    set_required(&mut schema, &T::schema_name());
    schema
}

/// Fields the API server requires, by type. The Rust types keep them optional so that
/// fragments and broken documents still parse (and are reported with a path, not a serde
/// error); admission enforces them through the generated schema.
const REQUIRED: &[(&str, &[&str])] = &[
    ("NameValue", &["name", "value"]),
    ("LabelSelectorRequirement", &["key", "operator"]),
    ("SecretRef", &["secretName", "key"]),
    ("ConfigMapKeyRef", &["configMapName", "key"]),
    ("ApplicationSource", &["repoURL"]),
    ("KustomizeReplica", &["name", "count"]),
    ("JsonnetVar", &["name", "value"]),
    ("SourceHydrator", &["drySource", "syncSource"]),
    ("DrySource", &["repoURL", "targetRevision", "path"]),
    ("SyncSource", &["targetBranch", "path"]),
    ("HydrateTo", &["targetBranch"]),
    ("Application", &["metadata", "spec"]),
    ("ApplicationSpec", &["destination", "project"]),
    ("ResourceIgnoreDifferences", &["kind"]),
    ("SyncOperationResource", &["kind", "name"]),
    ("SyncStatus", &["status"]),
    ("ComparedTo", &["destination"]),
    ("RevisionHistory", &["id", "deployedAt"]),
    ("ApplicationCondition", &["type", "message"]),
    ("OperationState", &["operation", "phase", "startedAt"]),
    ("SyncOperationResult", &["revision"]),
    ("ResourceResult", &["group", "version", "kind", "namespace", "name"]),
    ("HydrateOperation", &["phase", "message"]),
    ("AppProject", &["metadata", "spec"]),
    ("GroupKindRule", &["group", "kind"]),
    ("ClusterResourceRestrictionItem", &["group", "kind"]),
    ("ProjectRole", &["name"]),
    ("JwtToken", &["iat"]),
    ("SignatureKey", &["keyID"]),
    ("ApplicationDestinationServiceAccount", &["server", "defaultServiceAccount"]),
    ("SourceIntegrity", &["git"]),
    ("SourceIntegrityGit", &["policies"]),
    ("SourceIntegrityGitPolicy", &["repos", "gpg"]),
    ("SourceIntegrityGitPolicyRepo", &["url"]),
    ("SourceIntegrityGitPolicyGpg", &["mode", "keys"]),
    ("ApplicationSet", &["metadata", "spec"]),
    ("ApplicationSetSpec", &["generators", "template"]),
    ("ApplicationSetTemplate", &["metadata", "spec"]),
    ("GitGenerator", &["repoURL", "revision"]),
    ("GitDirectoryGeneratorItem", &["path"]),
    ("GitFileGeneratorItem", &["path"]),
    ("MatrixGenerator", &["generators"]),
    ("MergeGenerator", &["generators", "mergeKeys"]),
    ("DuckTypeGenerator", &["configMapRef"]),
    ("PluginGenerator", &["configMapRef"]),
    ("PluginConfigMapRef", &["name"]),
    ("ScmProviderGithub", &["organization"]),
    ("ScmProviderGitlab", &["group"]),
    ("ScmProviderBitbucket", &["owner", "user", "appPasswordRef"]),
    ("ScmProviderBitbucketServer", &["project", "api"]),
    ("ScmProviderGitea", &["owner", "api"]),
    ("ScmProviderAzureDevOps", &["organization", "teamProject", "accessTokenRef"]),
    ("TagFilter", &["key"]),
    ("BasicAuthBitbucketServer", &["username", "passwordRef"]),
    ("BearerTokenBitbucket", &["tokenRef"]),
    ("PullRequestGeneratorGithub", &["owner", "repo"]),
    ("PullRequestGeneratorGitlab", &["project"]),
    ("PullRequestGeneratorGitea", &["owner", "repo", "api"]),
    ("PullRequestGeneratorBitbucketServer", &["project", "repo", "api"]),
    ("PullRequestGeneratorBitbucket", &["owner", "repo"]),
    ("PullRequestGeneratorAzureDevOps", &["organization", "project", "repo"]),
    ("ApplicationSetCondition", &["type", "message", "status", "reason"]),
    ("ApplicationSetApplicationStatus", &["application", "message", "status", "step", "targetRevisions"]),
];

/// Depth at which a recursive type is cut off and kept as free-form JSON.
const MAX_RECURSION: usize = 1;

fn set_required(schema: &mut Value, type_name: &str) {
    let Some((_, fields)) = REQUIRED.iter().find(|(t, _)| *t == type_name) else { return };
    if let Some(map) = schema.as_object_mut() {
        map.insert("required".into(), json!(fields));
    }
}

fn rewrite(schema: &Value, defs: &Map<String, Value>, stack: &mut Vec<String>) -> Value {
    let Some(obj) = schema.as_object() else {
        // `true` schemas (serde_json::Value) accept anything.
        return json!({ "x-kubernetes-preserve-unknown-fields": true });
    };
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or_default().to_string();
        if stack.iter().filter(|n| **n == name).count() >= MAX_RECURSION {
            return json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true });
        }
        let Some(target) = defs.get(&name) else {
            return json!({ "x-kubernetes-preserve-unknown-fields": true });
        };
        stack.push(name.clone());
        let mut out = rewrite(target, defs, stack);
        stack.pop();
        set_required(&mut out, &name);
        if let (Some(desc), Some(map)) = (obj.get("description"), out.as_object_mut()) {
            map.insert("description".into(), desc.clone());
        }
        return out;
    }
    // `Option<T>` of a referenced type: anyOf [T, null] → T.
    for combinator in ["anyOf", "oneOf"] {
        if let Some(options) = obj.get(combinator).and_then(Value::as_array) {
            let non_null: Vec<&Value> =
                options.iter().filter(|o| o.get("type") != Some(&json!("null"))).collect();
            if non_null.len() == 1 && !obj.contains_key("x-kubernetes-int-or-string") {
                let mut out = rewrite(non_null[0], defs, stack);
                if let (Some(desc), Some(map)) = (obj.get("description"), out.as_object_mut()) {
                    map.insert("description".into(), desc.clone());
                }
                return out;
            }
        }
    }
    let mut out = Map::new();
    for (key, value) in obj {
        match key.as_str() {
            "$schema" | "$defs" | "title" | "default" | "examples" | "nullable" => {}
            "type" => {
                let kept = match value {
                    Value::Array(types) => {
                        let t: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
                        if t.len() == 1 {
                            t[0].clone()
                        } else {
                            Value::Array(t.into_iter().cloned().collect())
                        }
                    }
                    other => other.clone(),
                };
                out.insert(key.clone(), kept);
            }
            "format" => {
                let f = value.as_str().unwrap_or_default();
                let mapped = match f {
                    "int64" | "uint64" | "uint" => Some("int64"),
                    "int32" | "uint32" | "int16" | "uint16" | "int8" | "uint8" => Some("int32"),
                    "date-time" | "byte" | "double" | "float" => Some(f),
                    _ => None,
                };
                if let Some(m) = mapped {
                    out.insert(key.clone(), Value::String(m.to_string()));
                }
            }
            "minimum" | "maximum" => {}
            "properties" => {
                let props = value.as_object().map(|p| {
                    p.iter()
                        .map(|(k, v)| (k.clone(), rewrite(v, defs, stack)))
                        .collect::<Map<String, Value>>()
                });
                out.insert(key.clone(), Value::Object(props.unwrap_or_default()));
            }
            "items" | "additionalProperties" => {
                if value.is_boolean() {
                    continue; // structural schemas do not allow boolean sub-schemas here
                }
                out.insert(key.clone(), rewrite(value, defs, stack));
            }
            "anyOf" => {
                let options = value.as_array().map(|a| a.iter().map(|o| rewrite(o, defs, stack)).collect());
                out.insert(key.clone(), Value::Array(options.unwrap_or_default()));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if out.contains_key("properties") {
        out.remove("additionalProperties");
    }
    Value::Object(out)
}

/// Removes every `description` from a schema.
fn without_descriptions(mut schema: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.remove("description");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut schema);
    schema
}

/// Upstream's printer columns for `kubectl get applications`.
fn application_columns() -> Value {
    json!([
        {"name": "Sync Status", "type": "string", "jsonPath": ".status.sync.status"},
        {"name": "Health Status", "type": "string", "jsonPath": ".status.health.status"},
        {"name": "Revision", "type": "string", "jsonPath": ".status.sync.revision", "priority": 10},
        {"name": "Project", "type": "string", "jsonPath": ".spec.project", "priority": 10}
    ])
}

struct CrdNames {
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    short: [&'static str; 2],
}

fn crd(names: CrdNames, schema: Value, columns: Option<Value>, status_subresource: bool) -> Value {
    let mut version = json!({
        "name": VERSION,
        "served": true,
        "storage": true,
        "schema": { "openAPIV3Schema": schema },
        "subresources": if status_subresource { json!({"status": {}}) } else { json!({}) },
    });
    if let (Some(cols), Some(map)) = (columns, version.as_object_mut()) {
        map.insert("additionalPrinterColumns".into(), cols);
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": format!("{}.{GROUP}", names.plural),
            "labels": {
                "app.kubernetes.io/name": format!("{}.{GROUP}", names.plural),
                "app.kubernetes.io/part-of": "argocd",
                "app.kubernetes.io/managed-by": "tiphys",
            },
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": names.kind,
                "listKind": format!("{}List", names.kind),
                "plural": names.plural,
                "singular": names.singular,
                "shortNames": names.short,
            },
            "scope": "Namespaced",
            "versions": [version],
        },
    })
}

/// The three CRDs (Application, AppProject, ApplicationSet), ready to apply.
pub fn crds() -> Vec<Value> {
    vec![
        crd(
            CrdNames {
                kind: "Application",
                plural: "applications",
                singular: "application",
                short: ["app", "apps"],
            },
            structural_schema::<Application>(),
            Some(application_columns()),
            false,
        ),
        crd(
            CrdNames {
                kind: "AppProject",
                plural: "appprojects",
                singular: "appproject",
                short: ["appproj", "appprojs"],
            },
            structural_schema::<AppProject>(),
            None,
            false,
        ),
        crd(
            CrdNames {
                kind: "ApplicationSet",
                plural: "applicationsets",
                singular: "applicationset",
                short: ["appset", "appsets"],
            },
            // Like upstream, without descriptions: the full schema would not fit the 256 KiB
            // last-applied annotation of `kubectl apply`, nor be pleasant to read.
            without_descriptions(structural_schema::<ApplicationSet>()),
            None,
            true,
        ),
    ]
}
