//! Per source: the revision (pinned, previous, or `targetRevision` through the ref cache),
//! then the manifests through the render cache (checkout, `$ref` sources, Helm in process,
//! tools as subprocesses, on a miss only).

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tiphys_git::{Credentials, Resolved};
use tiphys_render::{
    AppContext, ApplicationSource, RenderError, RenderInput, RenderKey, RepoRoot, SourceType, source_type,
};

use crate::refs::Unresolved;
use crate::{CompareError, CompareInput, Comparer, RefreshLevel};

/// A source with the commit it resolved to.
pub(crate) struct ResolvedSource<'a> {
    pub(crate) source: &'a ApplicationSource,
    pub(crate) repo: &'a str,
    pub(crate) sha: String,
    pub(crate) creds: Option<Credentials>,
}

impl ResolvedSource<'_> {
    /// `ref:` sources without a path only lend their files to `$ref/...` value files.
    pub(crate) fn is_rendered(&self) -> bool {
        self.source.r#ref.as_deref().is_none_or(str::is_empty)
            || self.source.path.as_deref().is_some_and(|p| !p.is_empty())
    }
}

fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn source_type_name(t: SourceType) -> &'static str {
    match t {
        SourceType::Directory => "Directory",
        SourceType::Helm => "Helm",
        SourceType::Kustomize => "Kustomize",
        SourceType::Plugin => "Plugin",
    }
}

impl Comparer {
    /// The commit of one source: CompareOnly reuses the previous comparison's commit (no git
    /// call), a full SHA needs no `ls-remote`, anything else goes through the ref cache.
    pub(crate) fn resolve_source<'a>(
        &self,
        input: &CompareInput<'_>,
        source: &'a ApplicationSource,
        pinned: Option<&str>,
        previous: Option<&str>,
    ) -> Result<ResolvedSource<'a>, CompareError> {
        let repo = source.repo_url.as_deref().filter(|r| !r.is_empty()).ok_or(CompareError::NoRepo)?;
        if repo.starts_with("oci://") {
            return Err(CompareError::HelmRepository {
                chart: source.chart.clone().or_else(|| source.path.clone()).unwrap_or_default(),
                repo: tiphys_git::redact(repo),
            });
        }
        if let Some(chart) = source.chart.as_deref().filter(|c| !c.is_empty()) {
            return Err(CompareError::HelmRepository {
                chart: chart.to_string(),
                repo: tiphys_git::redact(repo),
            });
        }
        let creds = input.creds.lookup(repo).map(|(_, c)| c);
        let fresh = input.refresh == RefreshLevel::Hard;
        if input.refresh == RefreshLevel::CompareOnly
            && pinned.is_none()
            && let Some(prev) = previous.filter(|p| is_sha(p))
        {
            return Ok(ResolvedSource { source, repo, sha: prev.to_lowercase(), creds });
        }
        let wanted = pinned.or(source.target_revision.as_deref()).filter(|r| !r.is_empty()).unwrap_or("HEAD");
        if is_sha(wanted) {
            return Ok(ResolvedSource { source, repo, sha: wanted.to_lowercase(), creds });
        }
        let git = |message: String| CompareError::Git { message };
        let sha = match self.refs.resolve(&self.git, repo, creds.as_ref(), fresh, wanted) {
            Ok(Resolved::Commit(sha)) => sha,
            Ok(Resolved::ShortSha(short)) => {
                self.git.ensure_commit(repo, &short, creds.as_ref()).map_err(|e| git(e.to_string()))?
            }
            Err(Unresolved::Git(message)) => return Err(git(message)),
            Err(Unresolved::NotFound(hint)) => {
                return Err(git(tiphys_git::GitError::RevisionNotFound {
                    repo: tiphys_git::redact(repo),
                    revision: wanted.to_string(),
                    hint,
                }
                .to_string()));
            }
        };
        Ok(ResolvedSource { source, repo, sha, creds })
    }

    fn checkout(&self, r: &ResolvedSource<'_>) -> Result<RepoRoot, CompareError> {
        let git = |e: tiphys_git::GitError| CompareError::Git { message: e.to_string() };
        // Checking that a commit is present runs git; once its tree is checked out (trees are
        // immutable and kept), the apps rendered from it after the first skip that.
        let id = (tiphys_git::normalize(r.repo), r.sha.clone());
        let known = self.checked_out.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains(&id);
        if !known {
            self.git.ensure_commit(r.repo, &r.sha, r.creds.as_ref()).map_err(git)?;
        }
        let dir = self.git.checkout(r.repo, &r.sha).map_err(git)?;
        if !known {
            self.checked_out.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id);
        }
        RepoRoot::new(&dir)
            .map_err(|e| CompareError::Render { repo: tiphys_git::redact(r.repo), message: e.to_string() })
    }

    /// Renders one source (through the render cache unless the refresh is Hard) and says how
    /// it was rendered.
    pub(crate) fn render_source(
        &self,
        input: &CompareInput<'_>,
        target: &ResolvedSource<'_>,
        all: &[ResolvedSource<'_>],
    ) -> Result<(Arc<Vec<Value>>, SourceType), CompareError> {
        let app = AppContext {
            name: input.app.metadata.name.clone().unwrap_or_default(),
            namespace: input.destination_namespace().to_string(),
            project: input.project_name().to_string(),
            revision: target.sha.clone(),
            repo_url: target.repo.to_string(),
            path: target.source.path.clone().unwrap_or_default(),
            target_revision: target.source.target_revision.clone().unwrap_or_default(),
            kube_version: input.cluster_version().0.to_string(),
            api_versions: input.cluster_version().1.to_vec(),
        };
        let refs: Vec<&ResolvedSource<'_>> =
            all.iter().filter(|r| r.source.r#ref.as_deref().is_some_and(|n| !n.is_empty())).collect();
        let mut extra = Sha256::new();
        for r in &refs {
            extra.update(r.source.r#ref.as_deref().unwrap_or_default());
            extra.update([0]);
            extra.update(tiphys_git::normalize(r.repo));
            extra.update([0]);
            extra.update(&r.sha);
            extra.update([0]);
        }
        for option in &input.render.kustomize_build_options {
            extra.update(option);
            extra.update([0]);
        }
        extra.update(format!("{:?}", input.render.plugins));
        // A hard refresh starts a new generation of this app's renders (see Comparer::epoch).
        extra.update(self.epoch(input.app).to_le_bytes());
        let key = RenderKey::new(
            &tiphys_git::normalize(target.repo),
            &target.sha,
            target.source,
            &app,
            &extra.finalize(),
        );
        let known_type = self.source_type_of(&key);
        // The render cache speaks RenderError; keep our own error (git or render) beside it.
        let failure: RefCell<Option<CompareError>> = RefCell::new(None);
        let rendered_type: Cell<Option<SourceType>> = Cell::new(None);
        let run = || -> Result<Vec<Value>, RenderError> {
            match self.render_uncached(input, target, &refs, &app) {
                Ok((objects, t)) => {
                    rendered_type.set(Some(t));
                    Ok(objects)
                }
                Err(e) => {
                    let shown = RenderError::Tool { tool: "compare".into(), message: e.to_string() };
                    *failure.borrow_mut() = Some(e);
                    Err(shown)
                }
            }
        };
        let objects = match self.renders.get_or_render(&key, run) {
            // A hit whose source type was forgotten: render once more to learn it.
            Ok(_) if rendered_type.get().is_none() && known_type.is_none() => run().map(Arc::new),
            other => other,
        };
        let objects = match objects {
            Ok(o) => o,
            Err(e) => {
                return Err(failure.into_inner().unwrap_or_else(|| CompareError::Render {
                    repo: tiphys_git::redact(target.repo),
                    message: e.to_string(),
                }));
            }
        };
        let t = match rendered_type.get().or(known_type) {
            Some(t) => t,
            None => {
                return Err(CompareError::Render {
                    repo: tiphys_git::redact(target.repo),
                    message: "source type unknown".into(),
                });
            }
        };
        if rendered_type.get().is_some() {
            self.remember_source_type(key, t);
        }
        Ok((objects, t))
    }

    fn render_uncached(
        &self,
        input: &CompareInput<'_>,
        target: &ResolvedSource<'_>,
        refs: &[&ResolvedSource<'_>],
        app: &AppContext,
    ) -> Result<(Vec<Value>, SourceType), CompareError> {
        let root = self.checkout(target)?;
        let mut ref_roots = Vec::with_capacity(refs.len());
        for r in refs {
            let name = r.source.r#ref.clone().unwrap_or_default();
            ref_roots.push((name, self.checkout(r)?));
        }
        let render_err = |e: RenderError| CompareError::Render {
            repo: tiphys_git::redact(target.repo),
            message: e.to_string(),
        };
        let dir = root.resolve(target.source.path.as_deref().unwrap_or("")).map_err(render_err)?;
        let t = source_type(target.source, &dir, &input.render.plugins).map_err(render_err)?;
        // Only tools write (kustomize edits, plugins): they get a scratch directory of their
        // own; only Helm needs the template functions. Both cost more than a small render.
        let scratch = match t {
            SourceType::Kustomize | SourceType::Plugin => Some(
                tempfile::Builder::new().prefix("render-").tempdir_in(&self.config.scratch_dir).map_err(
                    |e| CompareError::Scratch {
                        path: self.config.scratch_dir.clone(),
                        message: e.to_string(),
                    },
                )?,
            ),
            SourceType::Directory | SourceType::Helm => None,
        };
        let helm = (t == SourceType::Helm).then(|| {
            tiphys_helm::source::InProcessHelm::new(tiphys_gotemplate::sprig::functions(
                &tiphys_gotemplate::sprig::SprigEnv {
                    now: input.now.to_zoned(jiff::tz::TimeZone::UTC),
                    seed: self.config.helm_seed,
                },
            ))
        });
        let render_input = RenderInput {
            root: &root,
            source: target.source,
            app,
            refs: &ref_roots,
            plugins: &input.render.plugins,
            kustomize_build_options: &input.render.kustomize_build_options,
            scratch: scratch.as_ref().map_or(self.config.scratch_dir.as_path(), |d| d.path()),
            limits: self.config.limits,
            helm: helm.as_ref().map(|h| h as &dyn tiphys_render::HelmRenderer),
        };
        let objects = tiphys_render::render(&render_input, &self.config.tools).map_err(render_err)?;
        Ok((objects, t))
    }
}
