//! An Application's `spec.source.helm` options turned into render inputs, the way Argo CD's
//! repo-server turns them into `helm template` flags.
//!
//! Precedence, lowest first: the chart's `values.yaml`, `valueFiles` (in order), `values` /
//! `valuesObject` (the object wins when both are set), then `parameters` (`--set`, or
//! `--set-string` with `forceString`) and `fileParameters` (`--set-file`). CRDs are included
//! unless `skipCrds`, as Argo CD passes `--include-crds`. The release name defaults to the
//! Application name, the namespace to the destination namespace, and the Kubernetes version
//! and API versions to the destination cluster's.

use serde_json::{Map, Value};
use tiphys_model::source::ApplicationSourceHelm;

use crate::{Error, OutputOptions, TemplateOptions, UserValues};

/// What Argo CD knows about the Application and its destination when it renders.
#[derive(Debug, Clone, Default)]
pub struct AppTarget {
    /// The Application's name (default release name).
    pub app_name: String,
    /// The destination namespace (default release namespace).
    pub namespace: String,
    /// The destination cluster's version (`v1.30.2`); empty means Helm's default.
    pub kube_version: String,
    /// The destination cluster's API versions; empty means Helm's default list.
    pub api_versions: Vec<String>,
}

/// Reads a value file named in the Application (`values-prod.yaml`, `$ref/path`): `Ok(None)`
/// when it does not exist. Resolution and path confinement are the caller's job.
pub type ValueFileReader<'a> = dyn Fn(&str) -> Result<Option<Vec<u8>>, String> + 'a;

/// Builds user values and template options from `spec.source.helm`.
pub fn render_inputs(
    helm: Option<&ApplicationSourceHelm>,
    target: &AppTarget,
    read: &ValueFileReader<'_>,
) -> Result<(Map<String, Value>, TemplateOptions), Error> {
    let default = ApplicationSourceHelm::default();
    let helm = helm.unwrap_or(&default);
    let mut values = UserValues::new();
    let ignore_missing = helm.ignore_missing_value_files.unwrap_or(false);
    for file in helm.value_files.iter().flatten() {
        match read(file) {
            Ok(Some(data)) => values.add_file(file, &data)?,
            Ok(None) if ignore_missing => {}
            Ok(None) => {
                return Err(Error::ValueFile {
                    file: file.clone(),
                    message: "no such file or directory; fix the path or set ignoreMissingValueFiles".into(),
                });
            }
            Err(message) => return Err(Error::ValueFile { file: file.clone(), message }),
        }
    }
    if let Some(obj) = &helm.values_object {
        let text = serde_json::to_vec(&obj.0).unwrap_or_default();
        values.add_file("valuesObject", &text)?;
    } else if let Some(text) = helm.values.as_deref().filter(|t| !t.trim().is_empty()) {
        values.add_file("values", text.as_bytes())?;
    }
    let mut params: Vec<_> = helm
        .parameters
        .iter()
        .flatten()
        .filter(|p| p.name.as_deref().is_some_and(|n| !n.is_empty()))
        .collect();
    // Argo CD keys parameters by name (the last one wins) and passes them in name order.
    params.sort_by(|a, b| a.name.cmp(&b.name));
    params.dedup_by(|later, earlier| {
        let same = later.name == earlier.name;
        if same {
            std::mem::swap(later, earlier);
        }
        same
    });
    for p in params {
        let name = p.name.as_deref().unwrap_or_default();
        let line = format!("{name}={}", escape_set_value(p.value.as_deref().unwrap_or_default()));
        if p.force_string.unwrap_or(false) {
            values.set_string(&line)?;
        } else {
            values.set(&line)?;
        }
    }
    for p in helm.file_parameters.iter().flatten() {
        let (Some(name), Some(path)) = (p.name.as_deref(), p.path.as_deref()) else { continue };
        let reader = |path: &str| match read(path) {
            Ok(Some(data)) => Ok(String::from_utf8_lossy(&data).into_owned()),
            Ok(None) => Err(format!("open {path}: no such file or directory")),
            Err(e) => Err(e),
        };
        values.set_file(&format!("{name}={path}"), &reader)?;
    }
    let mut opts = TemplateOptions::default();
    opts.release.name =
        helm.release_name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| target.app_name.clone());
    opts.release.namespace =
        helm.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| target.namespace.clone());
    if let Some(v) = helm
        .kube_version
        .clone()
        .filter(|v| !v.is_empty())
        .or_else(|| Some(target.kube_version.clone()).filter(|v| !v.is_empty()))
    {
        opts.capabilities.kube_version = v;
    }
    let api_versions =
        helm.api_versions.clone().filter(|v| !v.is_empty()).unwrap_or_else(|| target.api_versions.clone());
    if !api_versions.is_empty() {
        opts.capabilities.api_versions = api_versions;
    }
    opts.skip_schema_validation = helm.skip_schema_validation.unwrap_or(false);
    opts.output = OutputOptions {
        include_crds: !helm.skip_crds.unwrap_or(false),
        skip_tests: helm.skip_tests.unwrap_or(false),
        no_hooks: false,
        show_only: Vec::new(),
    };
    Ok((values.into_map(), opts))
}

/// Argo CD escapes commas in parameter values (so `a,b` stays one string) unless the value is
/// Helm list syntax `{a,b}`.
fn escape_set_value(value: &str) -> String {
    if value.starts_with('{') && value.ends_with('}') {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut prev = '\0';
    for c in value.chars() {
        if c == ',' && prev != '\\' {
            out.push('\\');
        }
        out.push(c);
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tiphys_model::meta::RawObject;
    use tiphys_model::source::{HelmFileParameter, HelmParameter};

    fn files(name: &str) -> Result<Option<Vec<u8>>, String> {
        match name {
            "values-prod.yaml" => Ok(Some(b"replicas: 3\nimage: {tag: prod}\n".to_vec())),
            "$config/shared.yaml" => Ok(Some(b"shared: true\nimage: {tag: shared}\n".to_vec())),
            "files/motd.txt" => Ok(Some(b"hello\n".to_vec())),
            _ => Ok(None),
        }
    }

    fn param(name: &str, value: &str, force: bool) -> HelmParameter {
        HelmParameter {
            name: Some(name.into()),
            value: Some(value.into()),
            force_string: Some(force),
            ..Default::default()
        }
    }

    #[test]
    fn precedence_follows_argo_cd() {
        let helm = ApplicationSourceHelm {
            value_files: Some(vec![
                "values-prod.yaml".into(),
                "$config/shared.yaml".into(),
                "missing.yaml".into(),
            ]),
            ignore_missing_value_files: Some(true),
            values: Some("replicas: 4\n".into()),
            values_object: Some(RawObject(
                serde_json::from_value(json!({"replicas": 5, "obj": true})).unwrap_or_default(),
            )),
            parameters: Some(vec![
                param("image.tag", "a,b", false),
                param("port", "80", true),
                param("list", "{x,y}", false),
            ]),
            file_parameters: Some(vec![HelmFileParameter {
                name: Some("motd".into()),
                path: Some("files/motd.txt".into()),
                ..Default::default()
            }]),
            skip_crds: Some(true),
            ..Default::default()
        };
        let target = AppTarget {
            app_name: "guestbook".into(),
            namespace: "prod".into(),
            kube_version: "v1.30.1".into(),
            api_versions: vec![],
        };
        let (values, opts) = render_inputs(Some(&helm), &target, &files).unwrap_or_default_inputs();
        assert_eq!(
            Value::Object(values),
            json!({"replicas": 5.0, "image": {"tag": "a,b"}, "shared": true, "obj": true, "port": "80", "list": ["x", "y"], "motd": "hello\n"})
        );
        assert_eq!(opts.release.name, "guestbook");
        assert_eq!(opts.release.namespace, "prod");
        assert_eq!(opts.capabilities.kube_version, "v1.30.1");
        assert!(!opts.output.include_crds);
    }

    #[test]
    fn missing_value_file_fails_unless_ignored() {
        let helm =
            ApplicationSourceHelm { value_files: Some(vec!["missing.yaml".into()]), ..Default::default() };
        let err = render_inputs(Some(&helm), &AppTarget::default(), &files)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("missing.yaml") && err.contains("ignoreMissingValueFiles"), "{err}");
    }

    #[test]
    fn defaults_include_crds_and_use_release_name_override() {
        let helm = ApplicationSourceHelm {
            release_name: Some("custom".into()),
            namespace: Some("other".into()),
            ..Default::default()
        };
        let (_, opts) =
            render_inputs(Some(&helm), &AppTarget { app_name: "app".into(), ..Default::default() }, &files)
                .unwrap_or_default_inputs();
        assert_eq!((opts.release.name.as_str(), opts.release.namespace.as_str()), ("custom", "other"));
        assert!(opts.output.include_crds);
    }

    trait Inputs {
        fn unwrap_or_default_inputs(self) -> (Map<String, Value>, TemplateOptions);
    }

    impl Inputs for Result<(Map<String, Value>, TemplateOptions), Error> {
        fn unwrap_or_default_inputs(self) -> (Map<String, Value>, TemplateOptions) {
            match self {
                Ok(v) => v,
                Err(e) => panic!("render inputs failed: {e}"),
            }
        }
    }
}
