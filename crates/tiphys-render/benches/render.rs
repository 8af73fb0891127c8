//! Render costs: a cached re-render (key hashing + lookup) and a 500-file directory render.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use tiphys_render::{
    AppContext, ApplicationSource, Limits, RenderCache, RenderInput, RenderKey, RepoRoot, ToolCommand,
    ToolFailure, ToolRunner, render,
};

/// Directory sources start no tools.
struct NoTools;

impl ToolRunner for NoTools {
    fn kustomize_build(&self, _: &Path, _: &[String], _: &[(String, String)]) -> Result<String, ToolFailure> {
        Err(ToolFailure("no tools in this benchmark".into()))
    }
    fn run(&self, _: &ToolCommand) -> Result<Vec<u8>, ToolFailure> {
        Err(ToolFailure("no tools in this benchmark".into()))
    }
}

fn tree(files: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..files {
        let sub = dir.path().join(format!("app/part{}", i % 10));
        std::fs::create_dir_all(&sub).expect("mkdir");
        let doc = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}\n  labels: {{app: web-{i}, tier: frontend}}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: web-{i}}}\n  template:\n    metadata:\n      labels: {{app: web-{i}}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n        ports:\n        - containerPort: 80\n"
        );
        std::fs::write(sub.join(format!("deploy-{i}.yaml")), doc).expect("write");
    }
    std::fs::create_dir_all(dir.path().join("scratch")).expect("mkdir");
    dir
}

fn bench(c: &mut Criterion) {
    let dir = tree(500);
    let root = RepoRoot::new(dir.path()).expect("root");
    let scratch = dir.path().join("scratch");
    let app = AppContext {
        name: "bench".into(),
        namespace: "default".into(),
        revision: "a".repeat(40),
        ..AppContext::default()
    };
    let source: ApplicationSource = serde_json::from_value(serde_json::json!({
        "repoURL": "https://git.example.com/org/repo.git",
        "path": "app",
        "directory": {"recurse": true},
    }))
    .expect("source");
    let repo = source.repo_url.clone().unwrap_or_default();
    let input = RenderInput {
        root: &root,
        source: &source,
        app: &app,
        refs: &[],
        plugins: &[],
        kustomize_build_options: &[],
        scratch: &scratch,
        limits: Limits::default(),
        helm: None,
    };
    let manifests = render(&input, &NoTools).expect("render");
    assert_eq!(manifests.len(), 500);

    c.bench_function("directory_500_files_render", |b| b.iter(|| render(&input, &NoTools).expect("render")));

    let cache = RenderCache::new(1024);
    let key = RenderKey::new(&repo, &app.revision, &source, &app, b"");
    cache.get_or_render(&key, || render(&input, &NoTools)).expect("fill");
    c.bench_function("cached_rerender_500_manifests", |b| {
        b.iter(|| {
            let key = RenderKey::new(&repo, &app.revision, &source, &app, b"");
            cache.get_or_render(&key, || render(&input, &NoTools)).expect("hit")
        })
    });
    let (hits, misses) = cache.stats();
    assert_eq!(misses, 1, "every iteration after the first must be a cache hit ({hits} hits)");
}

criterion_group!(benches, bench);
criterion_main!(benches);
