//! Kustomize sources. The Application's `kustomize` options are applied to a copy of the
//! kustomization file with the same effect as upstream's `kustomize edit ...` calls (which
//! `kubectl kustomize` cannot do), then the real kustomize builds the copy.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::spec::{ApplicationSourceKustomize, IntOrString};
use crate::{AppContext, RenderError, RenderInput, ToolRunner, scratch};

/// File names kustomize accepts, in the order it looks for them.
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Whether a directory holds a kustomization file.
pub fn is_kustomization_dir(dir: &Path) -> bool {
    KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file())
}

fn set(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

fn has_edits(k: &ApplicationSourceKustomize) -> bool {
    set(&k.name_prefix).is_some()
        || set(&k.name_suffix).is_some()
        || set(&k.namespace).is_some()
        || k.images.as_ref().is_some_and(|v| !v.is_empty())
        || k.common_labels.as_ref().is_some_and(|v| !v.is_empty())
        || k.common_annotations.as_ref().is_some_and(|v| !v.is_empty())
        || k.replicas.as_ref().is_some_and(|v| !v.is_empty())
        || k.patches.as_ref().is_some_and(|v| !v.is_empty())
        || k.components.as_ref().is_some_and(|v| !v.is_empty())
}

pub(crate) fn render(
    input: &RenderInput<'_>,
    dir: &Path,
    tools: &dyn ToolRunner,
) -> Result<Vec<Value>, RenderError> {
    let rel = input.root.relative(dir);
    let options = input.source.kustomize.clone().unwrap_or_default();
    let build_dir = if has_edits(&options) {
        let copy = scratch::copy_checkout(input.root, input.scratch)?;
        let build_dir = if rel.is_empty() { copy.clone() } else { copy.join(&rel) };
        let file =
            KUSTOMIZATION_FILES.iter().map(|f| build_dir.join(f)).find(|p| p.is_file()).ok_or_else(|| {
                RenderError::Kustomization {
                    file: format!("{rel}/kustomization.yaml"),
                    message: "missing kustomization file; kustomize options need one to edit".into(),
                }
            })?;
        let shown = format!("{rel}/{}", file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
        let text = std::fs::read_to_string(&file).map_err(|e| RenderError::io(&file, e))?;
        let mut doc = tiphys_resource::yaml::parse_document(&text)
            .map_err(|e| RenderError::Kustomization { file: shown.clone(), message: e.to_string() })?;
        if doc.is_null() {
            doc = json!({});
        }
        let Value::Object(map) = &mut doc else {
            return Err(RenderError::Kustomization { file: shown, message: "not a mapping".into() });
        };
        apply_edits(map, &options, input.app, &build_dir)?;
        std::fs::write(&file, tiphys_resource::yaml::to_yaml(&doc)).map_err(|e| RenderError::io(&file, e))?;
        build_dir
    } else {
        input.root.check_symlinks(input.root.path())?;
        dir.to_path_buf()
    };
    let out = tools
        .kustomize_build(&build_dir, input.kustomize_build_options, &input.app.build_env())
        .map_err(|e| RenderError::Tool {
            tool: format!("kustomize build {}", if rel.is_empty() { "." } else { &rel }),
            message: e.0,
        })?;
    let docs = tiphys_resource::yaml::parse_stream(&out).map_err(|e| RenderError::Parse {
        file: format!("output of kustomize build {rel}"),
        message: e.to_string(),
    })?;
    Ok(docs)
}

/// Applies the Application's options to a parsed kustomization, like upstream's sequence of
/// `kustomize edit` calls (prefix, suffix, images, replicas, labels, annotations, namespace,
/// patches, components).
pub(crate) fn apply_edits(
    k: &mut Map<String, Value>,
    o: &ApplicationSourceKustomize,
    app: &AppContext,
    dir: &Path,
) -> Result<(), RenderError> {
    if let Some(prefix) = set(&o.name_prefix) {
        k.insert("namePrefix".into(), Value::String(prefix.to_string()));
    }
    if let Some(suffix) = set(&o.name_suffix) {
        k.insert("nameSuffix".into(), Value::String(suffix.to_string()));
    }
    for (i, image) in o.images.iter().flatten().enumerate() {
        let parsed = parse_image(&app.envsubst(image)).ok_or_else(|| RenderError::InvalidOption {
            field: format!("kustomize.images[{i}]"),
            message: format!("{image:?} is not an image override (name[=newName][:tag][@digest])"),
        })?;
        set_image(k, parsed);
    }
    for (i, r) in o.replicas.iter().flatten().enumerate() {
        let count = match &r.count {
            Some(IntOrString::Int(n)) => Some(*n),
            Some(IntOrString::String(s)) => s.trim().parse::<i64>().ok(),
            None => None,
        }
        .ok_or_else(|| RenderError::InvalidOption {
            field: format!("kustomize.replicas[{i}].count"),
            message: format!("{:?} is not an integer", r.count),
        })?;
        upsert_named(k, "replicas", json!({"name": r.name.as_deref().unwrap_or_default(), "count": count}));
    }
    if let Some(common_labels) = o.common_labels.as_ref().filter(|l| !l.is_empty()) {
        let labels: Map<String, Value> =
            common_labels.iter().map(|(key, v)| (key.clone(), Value::String(app.envsubst(v)))).collect();
        if o.label_without_selector == Some(true) {
            let mut entry = json!({"pairs": labels, "includeSelectors": false});
            if o.label_include_templates == Some(true) {
                entry["includeTemplates"] = Value::Bool(true);
            }
            append(k, "labels", entry);
        } else {
            add_pairs(k, "commonLabels", "label", labels, o.force_common_labels == Some(true))?;
        }
    }
    if let Some(common_annotations) = o.common_annotations.as_ref().filter(|a| !a.is_empty()) {
        let annotations: Map<String, Value> = common_annotations
            .iter()
            .map(|(key, v)| {
                let v = if o.common_annotations_envsubst == Some(true) { app.envsubst(v) } else { v.clone() };
                (key.clone(), Value::String(v))
            })
            .collect();
        add_pairs(
            k,
            "commonAnnotations",
            "annotation",
            annotations,
            o.force_common_annotations == Some(true),
        )?;
    }
    if let Some(namespace) = set(&o.namespace) {
        k.insert("namespace".into(), Value::String(namespace.to_string()));
    }
    for patch in o.patches.iter().flatten() {
        let patch = serde_json::to_value(patch).map_err(|e| RenderError::InvalidOption {
            field: "kustomize.patches".into(),
            message: e.to_string(),
        })?;
        append(k, "patches", patch);
    }
    for component in o.components.iter().flatten() {
        if !dir.join(component).exists() {
            if o.ignore_missing_components == Some(true) {
                continue;
            }
            return Err(RenderError::InvalidOption {
                field: "kustomize.components".into(),
                message: format!(
                    "component {component:?} does not exist; set ignoreMissingComponents to skip it"
                ),
            });
        }
        let list = k.entry("components").or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = list
            && !items.iter().any(|c| c.as_str() == Some(component))
        {
            items.push(Value::String(component.clone()));
        }
    }
    Ok(())
}

fn append(k: &mut Map<String, Value>, field: &str, value: Value) {
    match k.get_mut(field) {
        Some(Value::Array(items)) => items.push(value),
        _ => {
            k.insert(field.into(), Value::Array(vec![value]));
        }
    }
}

fn upsert_named(k: &mut Map<String, Value>, field: &str, value: Value) {
    if let Some(Value::Array(items)) = k.get_mut(field)
        && let Some(existing) = items.iter_mut().find(|i| i.get("name") == value.get("name"))
    {
        *existing = value;
        return;
    }
    append(k, field, value);
}

/// `kustomize edit add label|annotation`: without `--force` a key that is already set is an
/// error, as in kustomize.
fn add_pairs(
    k: &mut Map<String, Value>,
    field: &str,
    what: &str,
    pairs: Map<String, Value>,
    force: bool,
) -> Result<(), RenderError> {
    let entry = k.entry(field).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(existing) = entry {
        for (key, v) in pairs {
            if !force && existing.contains_key(&key) {
                return Err(RenderError::InvalidOption {
                    field: format!("kustomize.common{}s", capitalize(what)),
                    message: format!(
                        "{what} {key:?} is already set by the kustomization; set forceCommon{}s to overwrite it",
                        capitalize(what)
                    ),
                });
            }
            existing.insert(key, v);
        }
    }
    Ok(())
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// An image override as `kustomize edit set image` understands it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ImageOverride {
    name: String,
    new_name: String,
    new_tag: String,
    digest: String,
}

/// Splits `name:tag`, `name@digest` or `newName:tag` forms.
fn split_ref(arg: &str, allow_bare: bool) -> Option<(String, String, String)> {
    if let Some((name, digest)) = arg.split_once('@') {
        return Some((name.to_string(), String::new(), digest.to_string()));
    }
    if let Some((name, tag)) = arg.rsplit_once(':')
        && (tag == "*" || tag.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Some((name.to_string(), tag.to_string(), String::new()));
    }
    (allow_bare && !arg.is_empty()).then(|| (arg.to_string(), String::new(), String::new()))
}

pub(crate) fn parse_image(arg: &str) -> Option<ImageOverride> {
    let parts: Vec<&str> = arg.split('=').collect();
    if let [name, overwrite] = parts.as_slice() {
        let (new_name, new_tag, digest) = split_ref(overwrite, true)?;
        return Some(ImageOverride { name: name.to_string(), new_name, new_tag, digest });
    }
    let (name, new_tag, digest) = split_ref(arg, false)?;
    Some(ImageOverride { name, new_name: String::new(), new_tag, digest })
}

fn set_image(k: &mut Map<String, Value>, image: ImageOverride) {
    let list = k.entry("images").or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    let Value::Array(items) = list else { return };
    let index = items.iter().position(|i| i.get("name").and_then(Value::as_str) == Some(image.name.as_str()));
    let entry = match index {
        Some(i) => &mut items[i],
        None => {
            items.push(json!({"name": image.name}));
            let last = items.len() - 1;
            &mut items[last]
        }
    };
    let Value::Object(entry) = entry else { return };
    if !image.new_name.is_empty() {
        entry.insert("newName".into(), Value::String(image.new_name));
    }
    if !image.new_tag.is_empty() {
        entry.insert("newTag".into(), Value::String(image.new_tag));
        entry.remove("digest");
    }
    if !image.digest.is_empty() {
        entry.insert("digest".into(), Value::String(image.digest));
        entry.remove("newTag");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(name: &str, new_name: &str, new_tag: &str, digest: &str) -> ImageOverride {
        ImageOverride {
            name: name.into(),
            new_name: new_name.into(),
            new_tag: new_tag.into(),
            digest: digest.into(),
        }
    }

    #[test]
    fn image_override_forms() {
        assert_eq!(parse_image("nginx:1.25"), Some(image("nginx", "", "1.25", "")));
        assert_eq!(
            parse_image("nginx=registry.local:5000/nginx:1.25"),
            Some(image("nginx", "registry.local:5000/nginx", "1.25", ""))
        );
        assert_eq!(parse_image("nginx=other/nginx"), Some(image("nginx", "other/nginx", "", "")));
        assert_eq!(parse_image("nginx@sha256:abc"), Some(image("nginx", "", "", "sha256:abc")));
        assert_eq!(parse_image("nginx"), None);
        assert_eq!(parse_image("a=b=c"), None);
    }

    #[test]
    fn labels_without_force_refuse_to_overwrite() {
        let mut k = Map::new();
        k.insert("commonLabels".into(), json!({"team": "a"}));
        let mut o: ApplicationSourceKustomize =
            serde_json::from_value(json!({"commonLabels": {"team": "b"}})).unwrap();
        let err = apply_edits(&mut k, &o, &AppContext::default(), Path::new("/nonexistent")).unwrap_err();
        assert!(err.to_string().contains("forceCommonLabels"), "{err}");
        o.force_common_labels = Some(true);
        apply_edits(&mut k, &o, &AppContext::default(), Path::new("/nonexistent")).unwrap();
        assert_eq!(k["commonLabels"]["team"], "b");
    }

    proptest::proptest! {
        #[test]
        fn image_parsing_never_panics(s in "\\PC{0,40}") {
            let _ = parse_image(&s);
        }
    }
}
