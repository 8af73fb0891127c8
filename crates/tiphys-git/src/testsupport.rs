//! Real git servers on loopback for tests and benchmarks: smart HTTP (the product server of
//! [`crate::serve`] with basic auth), `git daemon`, and a listener that accepts
//! connections and never answers (for timeout tests). Also helpers to build repositories with
//! the real `git`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// Runs `git` with fixed identity and dates so tests are repeatable; panics with git's output
/// on failure (test support only).
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Tiphys Test")
        .env("GIT_AUTHOR_EMAIL", "test@tiphys.invalid")
        .env("GIT_COMMITTER_NAME", "Tiphys Test")
        .env("GIT_COMMITTER_EMAIL", "test@tiphys.invalid")
        .output()
        .unwrap_or_else(|e| panic!("git is required for these tests (apt-get install git): {e}"));
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A working repository pushing to a bare repository under a served project root.
pub struct TestRepo {
    /// The working clone where tests commit.
    pub work: PathBuf,
    /// The bare repository the servers serve.
    pub bare: PathBuf,
}

impl TestRepo {
    /// Creates `<root>/<name>.git` (bare) and a working clone with branch `main`.
    pub fn create(root: &Path, name: &str) -> TestRepo {
        let bare = root.join(format!("{name}.git"));
        let work = root.join(format!("{name}-work"));
        std::fs::create_dir_all(&bare).expect("create bare dir");
        std::fs::create_dir_all(&work).expect("create work dir");
        git(&bare, &["init", "--bare", "--quiet", "--initial-branch=main"]);
        git(&work, &["init", "--quiet", "--initial-branch=main"]);
        git(&work, &["remote", "add", "origin", &bare.to_string_lossy()]);
        TestRepo { work, bare }
    }

    /// Writes files, commits them and pushes the current branch; returns the commit SHA.
    pub fn commit(&self, files: &[(&str, &str)], message: &str) -> String {
        for (path, content) in files {
            let p = self.work.join(path);
            std::fs::create_dir_all(p.parent().expect("file has a parent")).expect("mkdir");
            std::fs::write(p, content).expect("write file");
        }
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "--quiet", "--allow-empty", "-m", message]);
        git(&self.work, &["push", "--quiet", "--force", "origin", "HEAD"]);
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// Runs git in the working clone (tags, branches, pushes).
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.work, args)
    }
}

/// `git http-backend` behind basic auth on 127.0.0.1 (the product server, [`crate::serve`]),
/// serving bare repositories `<name>.git`.
pub struct GitHttpServer {
    server: crate::serve::GitHttpServer,
    /// Requests served (including refused ones).
    pub requests: Arc<AtomicU64>,
}

impl GitHttpServer {
    /// Serves the bare repositories under `project_root`; only `user:password` gets in (and
    /// may push).
    pub fn start(project_root: &Path, user: &str, password: &str) -> std::io::Result<GitHttpServer> {
        let auth = crate::serve::BasicAuth { user: user.to_string(), password: password.to_string() };
        let server = crate::serve::GitHttpServer::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            project_root,
            Some(auth),
        )
        .map_err(std::io::Error::other)?;
        Ok(GitHttpServer { requests: server.request_counter(), server })
    }

    /// The clone URL of `<name>.git`.
    pub fn url(&self, name: &str) -> String {
        self.server.url(&format!("{name}.git"))
    }
}

/// `git daemon` serving a directory on a loopback port; killed on drop.
pub struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    /// Starts the daemon and waits until it accepts connections.
    pub fn start(base: &Path) -> std::io::Result<GitDaemon> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("git")
            .args(["daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1"])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let daemon = GitDaemon { child, port };
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(daemon);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(std::io::Error::other("git daemon did not start listening"))
    }

    /// The `git://` URL of `<name>.git`.
    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}.git", self.port)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that accepts TCP connections and never answers: the shape of a hung server.
pub struct Blackhole {
    addr: SocketAddr,
    _listener: TcpListener,
}

impl Blackhole {
    /// Listens on a loopback port; the kernel completes handshakes, nobody reads.
    pub fn start() -> std::io::Result<Blackhole> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        Ok(Blackhole { addr: listener.local_addr()?, _listener: listener })
    }

    /// An HTTP URL on the silent port.
    pub fn url(&self) -> String {
        format!("http://{}/repo.git", self.addr)
    }
}

/// A real OpenSSH server on a loopback port, serving this machine's paths over `ssh://` to
/// one client key; killed on drop. Needs Debian's `openssh-server` (`/usr/sbin/sshd`).
pub struct SshServer {
    child: Child,
    port: u16,
    dir: PathBuf,
    /// The client's private key (OpenSSH format), authorised for the current user.
    pub client_key: String,
    /// A `known_hosts` line for this server.
    pub known_hosts: String,
}

fn keygen(path: &Path) -> std::io::Result<()> {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if status.success() { Ok(()) } else { Err(std::io::Error::other("ssh-keygen failed")) }
}

impl SshServer {
    /// Generates host and client keys under `dir` and starts `sshd` on a free loopback port.
    pub fn start(dir: &Path) -> std::io::Result<SshServer> {
        let sshd = Path::new("/usr/sbin/sshd");
        if !sshd.exists() {
            return Err(std::io::Error::other(
                "/usr/sbin/sshd not found: run scripts/install-test-tools.sh (apt-get install openssh-server)",
            ));
        }
        std::fs::create_dir_all(dir)?;
        keygen(&dir.join("host_key"))?;
        keygen(&dir.join("client_key"))?;
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys"))?;
        // sshd running as root insists on its privilege-separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {auth}\nPidFile {pid}\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
             PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n",
            host = dir.join("host_key").display(),
            auth = dir.join("authorized_keys").display(),
            pid = dir.join("sshd.pid").display(),
        );
        std::fs::write(dir.join("sshd_config"), config)?;
        let child = Command::new(sshd)
            .arg("-D")
            .arg("-f")
            .arg(dir.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let host_pub = std::fs::read_to_string(dir.join("host_key.pub"))?;
        let host_pub = host_pub.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        let server = SshServer {
            child,
            port,
            dir: dir.to_path_buf(),
            client_key: std::fs::read_to_string(dir.join("client_key"))?,
            known_hosts: format!("[127.0.0.1]:{port} {host_pub}\n"),
        };
        for _ in 0..300 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(std::io::Error::other(format!(
            "sshd did not start listening (config in {})",
            server.dir.display()
        )))
    }

    /// The `ssh://` URL of a repository at an absolute path on this machine, for `user`.
    pub fn url(&self, user: &str, path: &Path) -> String {
        format!("ssh://{user}@127.0.0.1:{}{}", self.port, path.display())
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
