//! RFC 6902 JSON patch and RFC 7386 merge patch, with the examples of the RFCs.

use serde_json::json;
use tiphys_patch::{PatchError, apply_json_patch, apply_merge_patch};

#[test]
fn json_patch_applies_every_operation_kind() {
    let doc = json!({"a": {"b": 1}, "list": [1, 2]});
    let patch = json!([
        {"op": "test", "path": "/a/b", "value": 1},
        {"op": "add", "path": "/list/-", "value": 3},
        {"op": "replace", "path": "/a/b", "value": 2},
        {"op": "copy", "from": "/a", "path": "/c"},
        {"op": "move", "from": "/c/b", "path": "/d"},
        {"op": "remove", "path": "/list/0"}
    ]);
    let out = apply_json_patch(&doc, &patch).expect("applies");
    assert_eq!(out, json!({"a": {"b": 2}, "list": [2, 3], "c": {}, "d": 2}));
}

#[test]
fn a_failed_test_operation_rejects_the_whole_patch() {
    let doc = json!({"a": 1});
    let patch =
        json!([{"op": "replace", "path": "/a", "value": 2}, {"op": "test", "path": "/a", "value": 1}]);
    let err = apply_json_patch(&doc, &patch).expect_err("test fails");
    assert!(matches!(err, PatchError::JsonPatchFailed { operation: 1, .. }), "{err}");
    assert!(err.to_string().contains("/a"), "{err}");
}

#[test]
fn missing_paths_and_malformed_patches_are_errors() {
    let err = apply_json_patch(&json!({}), &json!([{"op": "remove", "path": "/x"}])).expect_err("missing");
    assert!(matches!(err, PatchError::JsonPatchFailed { operation: 0, .. }), "{err}");
    for bad in [json!({"op": "add"}), json!([{"op": "frobnicate", "path": "/a"}]), json!("x")] {
        let err = apply_json_patch(&json!({}), &bad).expect_err("malformed");
        assert!(matches!(err, PatchError::MalformedJsonPatch(_)), "{bad}: {err}");
    }
}

#[test]
fn merge_patch_follows_the_rfc_7386_example() {
    let doc = json!({"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
                     "tags": ["example", "sample"], "content": "This will be unchanged"});
    let patch = json!({"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": null},
                       "tags": ["example"]});
    assert_eq!(
        apply_merge_patch(&doc, &patch),
        json!({"title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"],
               "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"})
    );
}
