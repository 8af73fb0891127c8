//! Real git servers on loopback for tests and benchmarks: smart HTTP (`git http-backend`
//! behind a small HTTP/1.1 server with basic auth), `git daemon`, and a listener that accepts
//! connections and never answers (for timeout tests). Also helpers to build repositories with
//! the real `git`.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;

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

/// `git http-backend` behind basic auth on 127.0.0.1.
pub struct GitHttpServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    /// Requests served (including refused ones).
    pub requests: Arc<AtomicU64>,
}

impl GitHttpServer {
    /// Serves the bare repositories under `project_root`; only `user:password` gets in.
    pub fn start(project_root: &Path, user: &str, password: &str) -> std::io::Result<GitHttpServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(0));
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let root = project_root.to_path_buf();
        let (stop2, requests2) = (stop.clone(), requests.clone());
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (root, expected, requests) = (root.clone(), expected.clone(), requests2.clone());
                std::thread::spawn(move || {
                    requests.fetch_add(1, Ordering::Relaxed);
                    let _ = serve(conn, &root, &expected);
                });
            }
        });
        Ok(GitHttpServer { addr, stop, accept: Some(accept), requests })
    }

    /// The clone URL of `<name>.git`.
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{name}.git", self.addr)
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn read_body(reader: &mut BufReader<TcpStream>, headers: &[(String, String)]) -> std::io::Result<Vec<u8>> {
    // A request without a length or chunking has no body (reading to EOF would wait for the
    // client to close); anything else is framed like a response.
    let framed = headers.iter().any(|(k, _)| k == "content-length" || k == "transfer-encoding");
    if framed { crate::refs::http_body(reader, headers) } else { Ok(Vec::new()) }
}

fn serve(conn: TcpStream, root: &Path, expected_auth: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut conn = conn;
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let (method, target) =
        (parts.next().unwrap_or("GET").to_string(), parts.next().unwrap_or("/").to_string());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_lowercase(), v.trim().to_string()));
        }
    }
    let header =
        |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    if header("authorization") != expected_auth {
        return conn.write_all(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    let body = read_body(&mut reader, &headers)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut cgi = Command::new("git")
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("GIT_PROTOCOL", header("git-protocol"))
        .env("REMOTE_USER", "tester")
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = cgi.stdin.take() {
        stdin.write_all(&body)?;
    }
    let out = cgi.wait_with_output()?;
    let split = out.stdout.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, 4));
    let split = split.or_else(|| out.stdout.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let (head, payload) = match split {
        Some((i, n)) => (String::from_utf8_lossy(&out.stdout[..i]).to_string(), &out.stdout[i + n..]),
        None => (String::new(), &out.stdout[..]),
    };
    let mut status = "200 OK".to_string();
    let mut response_headers = String::new();
    for line in head.lines() {
        match line.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => status = v.trim().to_string(),
            Some(_) => {
                response_headers.push_str(line.trim_end());
                response_headers.push_str("\r\n");
            }
            None => {}
        }
    }
    write!(
        conn,
        "HTTP/1.1 {status}\r\n{response_headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    )?;
    conn.write_all(payload)?;
    conn.flush()
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
