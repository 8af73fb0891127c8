//! The on-disk repository cache and every git invocation.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tiphys_tools::{RunOptions, ToolError};

use crate::incremental;
use crate::resolve::{Resolved, resolve_revision};
use crate::url::{normalize, redact};
use crate::{Credentials, GitError};

/// Where the cache lives and how long git may take.
#[derive(Debug, Clone)]
pub struct GitConfig {
    /// Cache directory (bare repositories, checkouts, key files).
    pub root: PathBuf,
    /// Timeout for each git command.
    pub timeout: Duration,
    /// SSH known hosts (the `argocd-ssh-known-hosts-cm` content); empty means none known.
    pub known_hosts: String,
}

/// Bare repositories keyed by normalised URL, with one fetch at a time per repository.
pub struct GitCache {
    config: GitConfig,
    askpass: PathBuf,
    locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    fetches: AtomicU64,
    checkouts: AtomicU64,
    incremental_checkouts: AtomicU64,
    scratch_seq: AtomicU64,
    /// Per repository key, the plain tree written last: the base of the next incremental
    /// checkout (after a restart, [`GitCache::discover_base`] finds the newest one on disk).
    bases: Arc<Mutex<HashMap<String, Base>>>,
    /// Threads preparing spare copies of bases, joined by [`GitCache::settle`] and on drop.
    preparing: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// A plain tree on disk, how many index entries (files, symlinks, gitlinks) it has, and
/// possibly a ready hard-link copy of it in the scratch directory: the next checkout then
/// only applies the diff, and the copy is made in the background right after this one.
#[derive(Debug)]
struct Base {
    sha: String,
    entries: usize,
    spare: Option<PathBuf>,
}

/// Where the spare copy of `sha` goes, if that is still the base of `key` and has none.
fn free_spare_slot<'a>(
    bases: &'a mut HashMap<String, Base>,
    key: &str,
    sha: &str,
) -> Option<&'a mut Option<PathBuf>> {
    bases.get_mut(key).filter(|b| b.sha == sha && b.spare.is_none()).map(|b| &mut b.spare)
}

fn bases_of(bases: &Mutex<HashMap<String, Base>>) -> std::sync::MutexGuard<'_, HashMap<String, Base>> {
    bases.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

const ASKPASS: &str = "#!/bin/sh\n# Answers git's credential prompts from the environment, so secrets never appear in argv.\ncase \"$1\" in\n  Username*) printf '%s\\n' \"$TIPHYS_GIT_USERNAME\" ;;\n  *) printf '%s\\n' \"$TIPHYS_GIT_PASSWORD\" ;;\nesac\n";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> GitError + '_ {
    move |source| GitError::Io { path: path.to_path_buf(), source }
}

fn write_private(path: &Path, content: &str, mode: u32) -> Result<(), GitError> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(content.as_bytes()).map_err(io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn is_auth_failure(stderr: &str) -> bool {
    let s = stderr.to_lowercase();
    [
        "authentication failed",
        "could not read username",
        "could not read password",
        "permission denied (publickey",
        "http 401",
        "403 forbidden",
        "returned error: 401",
        "returned error: 403",
    ]
    .iter()
    .any(|p| s.contains(p))
}

/// Trees of one repository kept however long they were not used: the newest ones, which
/// the next commits build on.
const KEPT_TREES: usize = 3;

/// A tree of a repository not used for this long (and not among its [`KEPT_TREES`] newest)
/// is removed when the next new tree of that repository is written. A render reads its tree
/// within seconds; a later render of the same commit writes it again.
const TREE_IDLE: Duration = Duration::from_secs(600);

/// Marks a tree as used now (its directory's mtime), so collection leaves it alone.
fn touch(tree: &Path) {
    if let Ok(dir) = std::fs::File::open(tree) {
        let _ = dir.set_modified(std::time::SystemTime::now());
    }
}

impl GitCache {
    /// Opens (creating) the cache directory. Scratch trees left by a process that stopped
    /// mid-checkout are removed.
    pub fn new(config: GitConfig) -> Result<Self, GitError> {
        let _ = std::fs::remove_dir_all(config.root.join("checkouts").join(".scratch"));
        for sub in ["repos", "checkouts", "keys"] {
            let dir = config.root.join(sub);
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        }
        let askpass = config.root.join("askpass.sh");
        write_private(&askpass, ASKPASS, 0o700)?;
        Ok(GitCache {
            config,
            askpass,
            locks: Mutex::new(HashMap::new()),
            fetches: AtomicU64::new(0),
            checkouts: AtomicU64::new(0),
            incremental_checkouts: AtomicU64::new(0),
            scratch_seq: AtomicU64::new(0),
            bases: Arc::default(),
            preparing: Mutex::default(),
        })
    }

    /// How many fetches this cache has run (for tests, benchmarks and metrics).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// How many trees were written out since creation (each commit once, however many apps
    /// ask for it at the same time).
    pub fn checkout_count(&self) -> u64 {
        self.checkouts.load(Ordering::Relaxed)
    }

    /// How many of those trees were built incrementally from an earlier commit's tree (the
    /// rest were written whole), so tests and metrics can tell which path was taken.
    pub fn incremental_checkout_count(&self) -> u64 {
        self.incremental_checkouts.load(Ordering::Relaxed)
    }

    fn key(url: &str) -> String {
        hex::encode(&Sha256::digest(normalize(url).as_bytes())[..12])
    }

    /// The bare repository for `url`.
    pub fn repo_dir(&self, url: &str) -> PathBuf {
        self.config.root.join("repos").join(Self::key(url))
    }

    fn lock(&self, url: &str) -> Arc<Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(Self::key(url)).or_default().clone()
    }

    /// The `GIT_SSH_COMMAND` for these credentials: the key in a 0600 file named by its hash,
    /// host keys checked against the configured known hosts unless `insecureIgnoreHostKey`.
    pub fn ssh_command(&self, creds: &Credentials) -> Result<Option<String>, GitError> {
        if creds.ssh_private_key.is_empty() {
            return Ok(None);
        }
        let mut key = creds.ssh_private_key.clone();
        if !key.ends_with('\n') {
            key.push('\n');
        }
        let key_path = self.config.root.join("keys").join(hex::encode(&Sha256::digest(key.as_bytes())[..12]));
        if !key_path.exists() {
            write_private(&key_path, &key, 0o600)?;
        }
        let host_opts = if creds.insecure_ignore_host_key {
            "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null".to_string()
        } else {
            let known = self.config.root.join("keys/known_hosts");
            write_private(&known, &self.config.known_hosts, 0o644)?;
            format!("-o StrictHostKeyChecking=yes -o UserKnownHostsFile={}", known.display())
        };
        Ok(Some(format!("ssh -i {} -o IdentitiesOnly=yes -o BatchMode=yes {host_opts}", key_path.display())))
    }

    fn command(&self, creds: Option<&Credentials>, dir: Option<&Path>) -> Result<Command, GitError> {
        let mut cmd = Command::new("git");
        if let Some(dir) = dir {
            cmd.arg("--git-dir").arg(dir);
        }
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_ASKPASS", &self.askpass)
            .env_remove("SSH_ASKPASS");
        let mut config: Vec<(&str, String)> = vec![("credential.helper", String::new())];
        if let Some(c) = creds {
            cmd.env("TIPHYS_GIT_USERNAME", &c.username).env("TIPHYS_GIT_PASSWORD", &c.password);
            if c.insecure {
                config.push(("http.sslVerify", "false".into()));
            }
            if !c.proxy.is_empty() {
                config.push(("http.proxy", c.proxy.clone()));
            }
            if !c.bearer_token.is_empty() {
                config.push(("http.extraHeader", format!("Authorization: Bearer {}", c.bearer_token)));
            }
            if let Some(ssh) = self.ssh_command(c)? {
                cmd.env("GIT_SSH_COMMAND", ssh);
            }
        }
        // Configuration through the environment keeps tokens out of argv.
        cmd.env("GIT_CONFIG_COUNT", config.len().to_string());
        for (i, (k, v)) in config.iter().enumerate() {
            cmd.env(format!("GIT_CONFIG_KEY_{i}"), k).env(format!("GIT_CONFIG_VALUE_{i}"), v);
        }
        Ok(cmd)
    }

    fn run(
        &self,
        cmd: Command,
        url: &str,
        operation: &str,
        creds: Option<&Credentials>,
    ) -> Result<Vec<u8>, GitError> {
        let repo = redact(url);
        let options = RunOptions { timeout: self.config.timeout, ..RunOptions::default() };
        tracing::debug!(repo = %repo, operation, "git");
        match tiphys_tools::run(cmd, &format!("git {operation}"), &options) {
            Ok(out) => Ok(out.stdout),
            Err(ToolError::Timeout { after, .. }) => {
                Err(GitError::Timeout { repo, operation: operation.into(), after })
            }
            Err(ToolError::Failed { stderr, .. }) if is_auth_failure(&stderr) => Err(GitError::Auth { repo }),
            Err(e) => {
                let mut message = match e {
                    ToolError::Failed { stderr, .. } => stderr,
                    other => other.to_string(),
                };
                for secret in creds.map(Credentials::secrets).unwrap_or_default() {
                    message = message.replace(secret, "***");
                }
                if url != repo {
                    message = message.replace(url, &repo);
                }
                Err(GitError::Command { repo, operation: operation.into(), message })
            }
        }
    }

    /// Every ref of the remote with its SHA (peeled tags included), like `git ls-remote`: the
    /// cheap "did it move?" check. Plain `http://` and `git://` remotes are read natively in
    /// one round trip; everything else runs `git ls-remote`.
    pub fn ls_remote(
        &self,
        url: &str,
        creds: Option<&Credentials>,
    ) -> Result<Vec<(String, String)>, GitError> {
        if let Some(result) = crate::refs::advertised_refs(url, creds, self.config.timeout) {
            return result;
        }
        let mut cmd = self.command(creds, None)?;
        cmd.arg("ls-remote").arg("--").arg(url);
        let out = self.run(cmd, url, "ls-remote", creds)?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(sha, name)| (name.to_string(), sha.to_string()))
            .collect())
    }

    fn has_commit(&self, dir: &Path, rev: &str) -> Option<String> {
        if !dir.join("HEAD").exists() {
            return None;
        }
        let mut cmd = self.command(None, Some(dir)).ok()?;
        cmd.args(["rev-parse", "--verify", "--quiet", "--end-of-options", &format!("{rev}^{{commit}}")]);
        let out = tiphys_tools::run(
            cmd,
            "git rev-parse",
            &RunOptions { timeout: self.config.timeout, ..RunOptions::default() },
        )
        .ok()?;
        let sha = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (sha.len() == 40).then_some(sha)
    }

    fn fetch(
        &self,
        url: &str,
        dir: &Path,
        creds: Option<&Credentials>,
        refspecs: &[&str],
    ) -> Result<(), GitError> {
        if !dir.join("HEAD").exists() {
            let mut init = self.command(None, None)?;
            init.args(["init", "--bare", "--quiet"]).arg(dir);
            self.run(init, url, "init", None)?;
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let mut cmd = self.command(creds, Some(dir))?;
        cmd.args(["fetch", "--quiet", "--force", "--prune", "--no-write-fetch-head", "--"])
            .arg(url)
            .args(refspecs);
        self.run(cmd, url, "fetch", creds).map(|_| ())
    }

    /// Makes sure `rev` (a full or short commit SHA) is in the cache, fetching at most once
    /// per call and only when it is missing. Concurrent callers for the same repository wait
    /// for the one fetch in progress and then find the commit. Returns the full SHA.
    pub fn ensure_commit(
        &self,
        url: &str,
        rev: &str,
        creds: Option<&Credentials>,
    ) -> Result<String, GitError> {
        let dir = self.repo_dir(url);
        let lock = self.lock(url);
        let _guard = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(sha) = self.has_commit(&dir, rev) {
            return Ok(sha);
        }
        self.fetch(url, &dir, creds, &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"])?;
        if let Some(sha) = self.has_commit(&dir, rev) {
            return Ok(sha);
        }
        if rev.len() == 40 {
            // Not on any branch or tag any more (force-pushed away): ask for it directly.
            self.fetch(url, &dir, creds, &[rev])?;
            if let Some(sha) = self.has_commit(&dir, rev) {
                return Ok(sha);
            }
        }
        Err(GitError::RevisionNotFound {
            repo: redact(url),
            revision: rev.into(),
            hint: "the commit is not in the repository".into(),
        })
    }

    /// Resolves `revision` (branch, tag, SHA, short SHA, `HEAD`, semver constraint) to a full
    /// commit SHA that is present in the cache.
    pub fn resolve(
        &self,
        url: &str,
        revision: &str,
        creds: Option<&Credentials>,
    ) -> Result<String, GitError> {
        let refs = self.ls_remote(url, creds)?;
        let resolved = resolve_revision(&refs, revision).map_err(|hint| GitError::RevisionNotFound {
            repo: redact(url),
            revision: revision.into(),
            hint,
        })?;
        match resolved {
            Resolved::Commit(sha) | Resolved::ShortSha(sha) => self.ensure_commit(url, &sha, creds),
        }
    }

    /// An immutable working tree of `sha` (which must be in the cache, see
    /// [`GitCache::ensure_commit`]). Created once per commit; symlinks are kept as symlinks so
    /// the renderer can check them. Submodules are left empty (see
    /// [`GitCache::checkout_with_submodules`]). When a tree of this repository was written
    /// before, the new one is built from it and the diff between the commits (see the
    /// `incremental` module); otherwise, or when that fails, it is written whole.
    pub fn checkout(&self, url: &str, sha: &str) -> Result<PathBuf, GitError> {
        let mut entries = None;
        let dest = self.checkout_as(url, sha, || {
            let (tmp, count) = self.write_plain_tree(url, sha)?;
            entries = count;
            Ok(tmp)
        })?;
        if let Some(entries) = entries {
            let old =
                bases_of(&self.bases).insert(Self::key(url), Base { sha: sha.into(), entries, spare: None });
            if let Some(spare) = old.and_then(|b| b.spare) {
                let _ = std::fs::remove_dir_all(spare);
            }
            self.prepare_spare(url, sha, &dest);
        }
        Ok(dest)
    }

    /// Starts making a hard-link copy of the tree just written, in the background and under
    /// the repository's checkout lock, so the next commit's checkout finds it ready (or waits
    /// for the rest of it) and only has to apply the diff.
    fn prepare_spare(&self, url: &str, sha: &str, tree: &Path) {
        let Ok(spare) = self.scratch_path(&format!("{sha}-spare")) else { return };
        let (lock, bases, key) = (self.lock(&format!("{url}#checkout")), self.bases.clone(), Self::key(url));
        let (sha, tree, repo) = (sha.to_string(), tree.to_path_buf(), redact(url));
        let work = move || {
            let _one_at_a_time = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if free_spare_slot(&mut bases_of(&bases), &key, &sha).is_none() {
                return; // a newer tree was written meanwhile
            }
            let result = incremental::link_copy(&tree, &spare);
            if let Err(reason) = &result {
                tracing::debug!(%repo, %reason, "no spare copy for the next incremental checkout");
            }
            match (result, free_spare_slot(&mut bases_of(&bases), &key, &sha)) {
                (Ok(()), Some(slot)) => *slot = Some(spare),
                _ => {
                    let _ = std::fs::remove_dir_all(&spare);
                }
            }
        };
        let mut preparing = self.preparing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        preparing.retain(|t| !t.is_finished());
        preparing.push(std::thread::spawn(work));
    }

    /// Waits until the spare copies being prepared in the background are done, so that
    /// benchmarks and tests measure and inspect a quiet cache.
    pub fn settle(&self) {
        let threads =
            std::mem::take(&mut *self.preparing.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for thread in threads {
            let _ = thread.join();
        }
    }

    /// Like [`GitCache::checkout`], with submodules filled in recursively at the commits the
    /// tree records (as `git submodule update --init --recursive` does). Relative submodule
    /// URLs are resolved against `url`; the same credentials are used for them.
    pub fn checkout_with_submodules(
        &self,
        url: &str,
        sha: &str,
        creds: Option<&Credentials>,
    ) -> Result<PathBuf, GitError> {
        self.checkout_as(url, &format!("{sha}+modules"), || {
            let (tmp, _) = self.materialize(url, sha)?;
            if let Err(e) = self.fill_submodules(url, sha, &tmp, creds, 0) {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
            Ok(tmp)
        })
    }

    /// Returns `checkouts/<repo key>/<name>`, having `write` a scratch tree and renaming it
    /// there unless it exists already.
    fn checkout_as(
        &self,
        url: &str,
        name: &str,
        write: impl FnOnce() -> Result<PathBuf, GitError>,
    ) -> Result<PathBuf, GitError> {
        let base = self.config.root.join("checkouts").join(Self::key(url));
        let dest = base.join(name);
        if dest.is_dir() {
            touch(&dest);
            return Ok(dest);
        }
        // One checkout per tree at a time: a thousand apps of one repository asking for the
        // same new commit at once get one `git read-tree`/`checkout-index`, not one each.
        let lock = self.lock(&format!("{url}#checkout"));
        let _one_at_a_time = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if dest.is_dir() {
            return Ok(dest);
        }
        let tmp = write()?;
        std::fs::create_dir_all(&base).map_err(io(&base))?;
        if std::fs::rename(&tmp, &dest).is_err() {
            // Another caller won the race; its tree is identical.
            let _ = std::fs::remove_dir_all(&tmp);
        }
        touch(&dest);
        self.collect_trees(&base);
        Ok(dest)
    }

    /// Removes the trees in `repo_checkouts` that are neither among the newest
    /// [`KEPT_TREES`] nor used within [`TREE_IDLE`]: without it every commit ever checked
    /// out stays on disk. Called with the repository's checkout lock held, after a new tree
    /// was written. A tree is first renamed into the scratch directory, so a checkout never
    /// finds half of one. (A tree idle for ten minutes that a render picks up at this very
    /// moment fails that one render, and the next refresh writes the tree again.)
    fn collect_trees(&self, repo_checkouts: &Path) {
        let Ok(entries) = std::fs::read_dir(repo_checkouts) else { return };
        let mut trees: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter_map(|entry| {
                let meta = entry.metadata().ok()?;
                meta.is_dir().then_some(())?;
                Some((meta.modified().ok()?, entry.path()))
            })
            .collect();
        trees.sort_by_key(|t| std::cmp::Reverse(t.0));
        let now = std::time::SystemTime::now();
        for (used, tree) in trees.into_iter().skip(KEPT_TREES) {
            if now.duration_since(used).is_ok_and(|idle| idle >= TREE_IDLE) {
                let Ok(trash) = self.scratch_path("collected") else { return };
                if std::fs::rename(&tree, &trash).is_ok() {
                    tracing::debug!(tree = %tree.display(), "removing a checkout unused for 10 minutes");
                    let _ = std::fs::remove_dir_all(&trash);
                }
            }
        }
    }

    /// A new, unused path in the scratch directory for `name` (not created).
    fn scratch_path(&self, name: &str) -> Result<PathBuf, GitError> {
        let scratch = self.config.root.join("checkouts").join(".scratch");
        std::fs::create_dir_all(&scratch).map_err(io(&scratch))?;
        let seq = self.scratch_seq.fetch_add(1, Ordering::Relaxed);
        Ok(scratch.join(format!("{name}-{}-{seq}", std::process::id())))
    }

    /// The plain tree of `sha` in a scratch directory, built incrementally from the last plain
    /// tree of this repository when that works, else written whole. Also returns the tree's
    /// entry count when it is known.
    fn write_plain_tree(&self, url: &str, sha: &str) -> Result<(PathBuf, Option<usize>), GitError> {
        let base = bases_of(&self.bases).get(&Self::key(url)).map(|b| (b.sha.clone(), b.entries));
        if let Some((base, entries)) = base.or_else(|| self.discover_base(url)) {
            match self.write_incrementally(url, &base, entries, sha) {
                Ok((tmp, entries)) => return Ok((tmp, Some(entries))),
                Err(reason) => tracing::debug!(
                    repo = %redact(url),
                    %base,
                    sha,
                    %reason,
                    "incremental checkout not used; writing the whole tree"
                ),
            }
        }
        self.materialize(url, sha)
    }

    /// After a restart: the plain tree of this repository that an earlier process wrote last
    /// (the newest `checkouts/<key>/<sha>`; trees are only renamed there once complete), with
    /// its entry count from `git ls-tree`.
    fn discover_base(&self, url: &str) -> Option<(String, usize)> {
        let dir = self.config.root.join("checkouts").join(Self::key(url));
        let is_sha =
            |name: &str| matches!(name.len(), 40 | 64) && name.bytes().all(|b| b.is_ascii_hexdigit());
        let (_, sha) = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok().filter(|n| is_sha(n))?;
                Some((entry.metadata().ok()?.modified().ok()?, name))
            })
            .max()?;
        let mut ls = self.command(None, Some(&self.repo_dir(url))).ok()?;
        ls.args(["ls-tree", "-r", "-z", "--name-only", &sha]);
        let listing = self.run(ls, url, "ls-tree", None).ok()?;
        Some((sha, listing.iter().filter(|b| **b == 0).count()))
    }

    /// Builds the tree of `sha` from the tree of `base` (which has `entries` entries; see the
    /// `incremental` module), starting from the spare copy of it when one is ready. Every
    /// failure is a reason to write the tree whole instead, never an error of its own.
    fn write_incrementally(
        &self,
        url: &str,
        base: &str,
        entries: usize,
        sha: &str,
    ) -> Result<(PathBuf, usize), String> {
        let repo = self.repo_dir(url);
        let mut diff = self.command(None, Some(&repo)).map_err(|e| e.to_string())?;
        diff.args(["diff-tree", "-r", "-z", "--raw", "--no-renames", "--no-abbrev", base, sha]);
        let raw = self.run(diff, url, "diff-tree", None).map_err(|e| e.to_string())?;
        let changes = incremental::parse_raw_diff(&raw)?;
        if changes.len() * 2 > entries {
            return Err(format!("{} of {entries} paths changed", changes.len()));
        }
        let spare = bases_of(&self.bases)
            .get_mut(&Self::key(url))
            .filter(|b| b.sha == base)
            .and_then(|b| b.spare.take())
            .filter(|spare| spare.is_dir());
        let tmp = match spare {
            Some(spare) => spare,
            None => {
                let from = self.config.root.join("checkouts").join(Self::key(url)).join(base);
                let tmp = self.scratch_path(sha).map_err(|e| e.to_string())?;
                if let Err(e) = incremental::link_copy(&from, &tmp) {
                    let _ = std::fs::remove_dir_all(&tmp);
                    return Err(e);
                }
                tmp
            }
        };
        let result = self.command(None, Some(&repo)).map_err(|e| e.to_string()).and_then(|mut cat_file| {
            cat_file.args(["cat-file", "--batch"]);
            incremental::apply(&tmp, &changes, cat_file, self.config.timeout)
        });
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        self.checkouts.fetch_add(1, Ordering::Relaxed);
        self.incremental_checkouts.fetch_add(1, Ordering::Relaxed);
        Ok((tmp, incremental::entries_after(entries, &changes)))
    }

    /// Writes the tree of `sha` into a fresh scratch directory with `git read-tree` and
    /// returns it with its entry count (from the index header, when readable).
    fn materialize(&self, url: &str, sha: &str) -> Result<(PathBuf, Option<usize>), GitError> {
        self.checkouts.fetch_add(1, Ordering::Relaxed);
        let tmp = self.scratch_path(sha)?;
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        let index = tmp.with_file_name(format!(
            ".index-{}",
            tmp.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
        ));
        let mut cmd = self.command(None, Some(&self.repo_dir(url)))?;
        cmd.env("GIT_INDEX_FILE", &index).arg("--work-tree").arg(&tmp).args([
            "read-tree",
            "--reset",
            "-u",
            sha,
        ]);
        let result = self.run(cmd, url, "checkout", None);
        let entries = index_entries(&index);
        let _ = std::fs::remove_file(&index);
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        Ok((tmp, entries))
    }

    fn fill_submodules(
        &self,
        url: &str,
        sha: &str,
        tree: &Path,
        creds: Option<&Credentials>,
        depth: usize,
    ) -> Result<(), GitError> {
        let gitmodules = tree.join(".gitmodules");
        if !gitmodules.is_file() {
            return Ok(());
        }
        let fail =
            |message: String| GitError::Command { repo: redact(url), operation: "submodule".into(), message };
        if depth >= 8 {
            return Err(fail("submodules nest more than 8 levels deep".into()));
        }
        // The commits the tree records for its submodules (gitlinks), by path.
        let mut ls = self.command(None, Some(&self.repo_dir(url)))?;
        ls.args(["ls-tree", "-r", "-z", sha]);
        let listing = self.run(ls, url, "ls-tree", None)?;
        let gitlinks: Vec<(String, String)> = listing
            .split(|b| *b == 0)
            .filter_map(|entry| {
                let entry = String::from_utf8_lossy(entry);
                let (meta, path) = entry.split_once('\t')?;
                let mut parts = meta.split(' ');
                (parts.next()? == "160000").then_some(())?;
                Some((path.to_string(), parts.nth(1)?.to_string()))
            })
            .collect();
        let mut config = self.command(None, None)?;
        config.arg("config").arg("--file").arg(&gitmodules).args([
            "-z",
            "--get-regexp",
            r"^submodule\..*\.(path|url)$",
        ]);
        let entries = self.run(config, url, "submodule config", None).unwrap_or_default();
        let mut modules: Vec<(String, Option<String>, Option<String>)> = Vec::new();
        for entry in entries.split(|b| *b == 0).filter(|e| !e.is_empty()) {
            let entry = String::from_utf8_lossy(entry);
            let Some((key, value)) = entry.split_once('\n') else { continue };
            let Some(name) = key.strip_prefix("submodule.").and_then(|k| k.rsplit_once('.')) else {
                continue;
            };
            let slot = match modules.iter().position(|m| m.0 == name.0) {
                Some(i) => i,
                None => {
                    modules.push((name.0.to_string(), None, None));
                    modules.len() - 1
                }
            };
            if name.1 == "path" {
                modules[slot].1 = Some(value.to_string())
            } else {
                modules[slot].2 = Some(value.to_string())
            }
        }
        for (name, path, sub_url) in modules {
            let (Some(path), Some(sub_url)) = (path, sub_url) else { continue };
            if path.starts_with('/') || path.split('/').any(|p| p == ".." || p == ".git") {
                return Err(fail(format!("submodule {name:?} has an unsafe path {path:?}")));
            }
            let Some((_, sub_sha)) = gitlinks.iter().find(|(p, _)| *p == path) else { continue };
            let sub_url = resolve_submodule_url(url, &sub_url);
            self.ensure_commit(&sub_url, sub_sha, creds)?;
            let (sub_tree, _) = self.materialize(&sub_url, sub_sha)?;
            if let Err(e) = self.fill_submodules(&sub_url, sub_sha, &sub_tree, creds, depth + 1) {
                let _ = std::fs::remove_dir_all(&sub_tree);
                return Err(e);
            }
            let target = tree.join(&path);
            let _ = std::fs::remove_dir(&target);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            std::fs::rename(&sub_tree, &target).map_err(io(&target))?;
        }
        Ok(())
    }
}

impl Drop for GitCache {
    /// Background copies must not outlive the cache (its directory may be removed next),
    /// and spare copies are only useful to this instance.
    fn drop(&mut self) {
        self.settle();
        for spare in bases_of(&self.bases).values_mut().filter_map(|b| b.spare.take()) {
            let _ = std::fs::remove_dir_all(spare);
        }
    }
}

/// The number of entries of a git index file, from its header (`DIRC`, version, count).
fn index_entries(index: &Path) -> Option<usize> {
    use std::io::Read;
    let mut header = [0u8; 12];
    std::fs::File::open(index).ok()?.read_exact(&mut header).ok()?;
    let count: [u8; 4] = header[8..12].try_into().ok()?;
    (&header[..4] == b"DIRC").then(|| u32::from_be_bytes(count) as usize)
}

/// Resolves a submodule URL from `.gitmodules` against the superproject's URL: `./x` and
/// `../x` are relative to it, anything else is absolute.
fn resolve_submodule_url(parent: &str, url: &str) -> String {
    if !(url.starts_with("./") || url.starts_with("../")) {
        return url.to_string();
    }
    let mut base = parent.trim_end_matches('/').to_string();
    let mut rest = url;
    loop {
        if let Some(r) = rest.strip_prefix("./") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("../") {
            rest = r;
            if let Some(i) = base.rfind('/') {
                base.truncate(i);
            }
        } else {
            break;
        }
    }
    format!("{base}/{rest}")
}

#[cfg(test)]
mod tests {
    use super::resolve_submodule_url;

    #[test]
    fn relative_submodule_urls_resolve_against_the_parent() {
        assert_eq!(resolve_submodule_url("http://h/org/app.git", "../lib.git"), "http://h/org/lib.git");
        assert_eq!(
            resolve_submodule_url("http://h/org/app.git/", "./sub.git"),
            "http://h/org/app.git/sub.git"
        );
        assert_eq!(resolve_submodule_url("http://h/org/app", "https://x/y.git"), "https://x/y.git");
    }
}
