//! Object name and label validation, with the API server's wording so 422 bodies match.

use serde_json::Value;

use crate::error::FieldError;
use crate::types::ResourceType;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const QUALIFIED_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// RFC 1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| is_lower_alnum(c) || c == '-')
        && s.starts_with(is_lower_alnum)
        && s.ends_with(is_lower_alnum)
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

fn is_dns1035_label(s: &str) -> bool {
    is_dns1123_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

fn is_name_part(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| alnum(c) || matches!(c, '-' | '_' | '.'))
        && s.starts_with(alnum)
        && s.ends_with(alnum)
}

/// Validates `metadata.name` for a type: namespaces use RFC 1123 labels, services DNS-1035
/// labels, everything else RFC 1123 subdomains (as the API server does).
pub fn name_errors(rt: &ResourceType, name: &str) -> Vec<FieldError> {
    let (ok, msg, max) = match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "namespaces") => (is_dns1123_label(name), LABEL_MSG, 63),
        ("", "services") => (is_dns1035_label(name), DNS1035_MSG, 63),
        _ => (is_dns1123_subdomain(name), SUBDOMAIN_MSG, 253),
    };
    let mut errs = Vec::new();
    if name.len() > max {
        errs.push(FieldError::invalid(
            "metadata.name",
            name,
            format!("must be no more than {max} characters"),
        ));
    }
    let only_too_long = name.len() > max && name.chars().all(|c| is_lower_alnum(c) || c == '-' || c == '.');
    if !ok && !only_too_long {
        errs.push(FieldError::invalid("metadata.name", name, msg));
    }
    errs
}

/// Validates label keys and values (`metadata.labels`).
pub fn label_errors(labels: &Value) -> Vec<FieldError> {
    let Some(map) = labels.as_object() else { return Vec::new() };
    let mut errs = Vec::new();
    for (key, value) in map {
        let (prefix, name) = match key.split_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, key.as_str()),
        };
        if prefix.is_some_and(|p| !is_dns1123_subdomain(p)) {
            errs.push(FieldError::invalid("metadata.labels", key, format!("prefix part {SUBDOMAIN_MSG}")));
        }
        if !is_name_part(name) {
            errs.push(FieldError::invalid("metadata.labels", key, QUALIFIED_NAME_MSG));
        }
        match value.as_str() {
            Some(v) if v.is_empty() || is_name_part(v) => {}
            Some(v) => errs.push(FieldError::invalid("metadata.labels", v, LABEL_VALUE_MSG)),
            None => errs.push(FieldError::invalid("metadata.labels", &value.to_string(), "must be a string")),
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::builtin_types;
    use proptest::prelude::*;
    use serde_json::json;

    fn rt(plural: &str) -> ResourceType {
        builtin_types().into_iter().find(|t| t.plural == plural).unwrap_or_else(|| panic!("{plural}"))
    }

    #[test]
    fn names_follow_each_types_rule() {
        assert!(name_errors(&rt("configmaps"), "a.b-c").is_empty());
        assert_eq!(name_errors(&rt("configmaps"), "Bad_Name").len(), 1);
        assert_eq!(name_errors(&rt("namespaces"), "a.b").len(), 1);
        assert_eq!(name_errors(&rt("services"), "1abc").len(), 1);
        assert!(name_errors(&rt("services"), "abc1").is_empty());
        let long = "a".repeat(254);
        let errs = name_errors(&rt("configmaps"), &long);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].to_string().contains("must be no more than 253 characters"));
    }

    #[test]
    fn labels_are_checked() {
        assert!(label_errors(&json!({"app.kubernetes.io/name": "web", "x": ""})).is_empty());
        assert_eq!(label_errors(&json!({"x": "bad value!"})).len(), 1);
        assert_eq!(label_errors(&json!({"Bad_Prefix/x": "v"})).len(), 1);
        assert_eq!(label_errors(&json!({"x": 3})).len(), 1);
    }

    proptest! {
        #[test]
        fn validation_never_panics(s in ".{0,80}") {
            let _ = name_errors(&rt("configmaps"), &s);
            let _ = label_errors(&json!({ s.clone(): s }));
        }

        #[test]
        fn valid_subdomains_accepted(s in "[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?(\\.[a-z0-9]{1,5}){0,3}") {
            prop_assert!(is_dns1123_subdomain(&s));
        }
    }
}
