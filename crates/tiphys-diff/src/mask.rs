//! Secret values never leave the diff engine: every output replaces them with `+` runs, as
//! upstream does. Equal values on both sides get the same run and different values different
//! runs, so a user still sees *that* a value changed without seeing it.

use serde_json::Value;

/// Masks `data` (and any remaining `stringData`) of a desired/live Secret pair in place.
pub fn mask_secret_pair(desired: Option<&mut Value>, live: Option<&mut Value>) {
    let mut sides: Vec<&mut Value> = desired.into_iter().chain(live).collect();
    for field in ["data", "stringData"] {
        let mut keys: Vec<String> = Vec::new();
        for side in sides.iter() {
            if let Some(Value::Object(m)) = side.get(field) {
                for k in m.keys() {
                    if !keys.contains(k) {
                        keys.push(k.clone());
                    }
                }
            }
        }
        for key in keys {
            let mut seen: Vec<(Value, String)> = Vec::new();
            let mut next = "++++++++".to_string();
            for side in sides.iter_mut() {
                let Some(v) = side.get_mut(field).and_then(|d| d.get_mut(&key)) else { continue };
                let replacement = match seen.iter().find(|(val, _)| val == v) {
                    Some((_, r)) => r.clone(),
                    None => {
                        let r = next.clone();
                        next.push_str("++++");
                        seen.push((v.clone(), r.clone()));
                        r
                    }
                };
                *v = Value::String(replacement);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_values_share_a_mask_and_different_ones_do_not() {
        let mut d = json!({"data": {"same": "YQ==", "changed": "Yg==", "new": "Yw=="}});
        let mut l = json!({"data": {"same": "YQ==", "changed": "eA==", "old": "eg=="}});
        mask_secret_pair(Some(&mut d), Some(&mut l));
        assert_eq!(d, json!({"data": {"same": "++++++++", "changed": "++++++++", "new": "++++++++"}}));
        assert_eq!(l, json!({"data": {"same": "++++++++", "changed": "++++++++++++", "old": "++++++++"}}));
        let text = format!("{d}{l}");
        for secret in ["YQ==", "Yg==", "Yw==", "eA==", "eg=="] {
            assert!(!text.contains(secret));
        }
    }

    #[test]
    fn one_sided_and_string_data() {
        let mut d = json!({"stringData": {"pw": "hunter2"}});
        mask_secret_pair(Some(&mut d), None);
        assert_eq!(d, json!({"stringData": {"pw": "++++++++"}}));
    }
}
