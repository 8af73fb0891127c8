//! The render cache: hits for an unchanged app, misses when anything in the key changes, no
//! caching of failures, bounded size.

use std::cell::Cell;

use serde_json::{Value, json};
use tiphys_render::{AppContext, ApplicationSource, RenderCache, RenderError, RenderKey};

fn source(v: Value) -> ApplicationSource {
    serde_json::from_value(v).unwrap()
}

fn app(revision: &str) -> AppContext {
    AppContext {
        name: "guestbook".into(),
        namespace: "prod".into(),
        revision: revision.into(),
        ..AppContext::default()
    }
}

#[test]
fn unchanged_apps_hit_and_any_change_misses() {
    let cache = RenderCache::new(16);
    let renders = Cell::new(0);
    let render = || {
        renders.set(renders.get() + 1);
        Ok(vec![json!({"kind": "ConfigMap", "n": renders.get()})])
    };
    let src = source(json!({"repoURL": "https://g/r", "path": "app", "directory": {"recurse": true}}));
    let key = |s: &ApplicationSource, a: &AppContext, extra: &[u8]| {
        RenderKey::new("https://g/r", &a.revision, s, a, extra)
    };
    let k1 = key(&src, &app("c1"), b"");
    let first = cache.get_or_render(&k1, render).unwrap();
    let again = cache.get_or_render(&key(&src, &app("c1"), b""), render).unwrap();
    assert_eq!(first, again);
    assert_eq!((renders.get(), cache.stats()), (1, (1, 1)));

    let other_options =
        source(json!({"repoURL": "https://g/r", "path": "app", "directory": {"recurse": false}}));
    let renamed = AppContext { name: "other".into(), ..app("c1") };
    for k in [
        key(&src, &app("c2"), b""),
        key(&other_options, &app("c1"), b""),
        key(&src, &renamed, b""),
        key(&src, &app("c1"), b"plugins-v2"),
    ] {
        assert_ne!(k, k1);
        cache.get_or_render(&k, render).unwrap();
    }
    assert_eq!(renders.get(), 5);
}

#[test]
fn failures_are_not_cached_and_size_is_bounded() {
    let cache = RenderCache::new(2);
    let src = source(json!({"path": "a"}));
    let k = |rev: &str| RenderKey::new("r", rev, &src, &app(rev), b"");
    let err = cache.get_or_render(&k("c1"), || Err(RenderError::NotFound { path: "a".into() }));
    assert!(err.is_err());
    assert_eq!(cache.get_or_render(&k("c1"), || Ok(vec![json!(1)])).unwrap().as_slice(), &[json!(1)]);
    cache.get_or_render(&k("c2"), || Ok(vec![json!(2)])).unwrap();
    cache.get_or_render(&k("c3"), || Ok(vec![json!(3)])).unwrap();
    // c1 was the oldest and got evicted: rendering it again runs the renderer.
    let rerun = cache.get_or_render(&k("c1"), || Ok(vec![json!("fresh")])).unwrap();
    assert_eq!(rerun.as_slice(), &[json!("fresh")]);
}
