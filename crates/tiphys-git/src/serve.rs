//! A smart-HTTP git server: `git http-backend` (the CGI program that ships with git) behind a
//! small HTTP/1.1 front end, optionally with basic auth.
//!
//! `tiphys up` serves its example repository with it, and tests use it (through
//! `testsupport`) as the real git server on loopback. It serves every repository under one
//! project root, bare or not: `http://ADDR/NAME` finds `ROOT/NAME/.git`, `ROOT/NAME` or
//! `ROOT/NAME.git` the way `git http-backend` looks them up, so a working repository is served
//! as it is and a commit made in it is visible to the next fetch.
//!
//! Without auth the server is read-only (`git push` is refused, as http-backend refuses
//! receive-pack for anonymous users); with auth the authenticated user may push. It is meant
//! for loopback: one thread per connection, responses buffered, bodies capped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;

use crate::GitError;

/// Largest request body accepted (a push of the example repository is a few KiB).
pub const MAX_REQUEST_BYTES: usize = 64 << 20;

/// How long a connection may stay silent before it is dropped, so a stalled client cannot
/// hold a thread forever.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A user name and password every request must carry (HTTP basic auth).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// The user name; also what git sees as `REMOTE_USER`.
    pub user: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for BasicAuth {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth").field("user", &self.user).finish_non_exhaustive()
    }
}

/// A running server; stops when dropped.
pub struct GitHttpServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    requests: Arc<AtomicU64>,
}

/// What one connection needs to answer.
struct Site {
    root: PathBuf,
    /// `Basic <base64>` and the user, when auth is on.
    auth: Option<(String, String)>,
}

impl GitHttpServer {
    /// Binds `addr` (port 0 picks a free port) and serves the repositories under
    /// `project_root` until dropped.
    pub fn start(addr: SocketAddr, project_root: &Path, auth: Option<BasicAuth>) -> Result<Self, GitError> {
        let bind_error = |source: std::io::Error| GitError::Serve {
            addr: addr.to_string(),
            message: format!("{source}; pick another port or stop what is listening there"),
        };
        let listener = TcpListener::bind(addr).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let site = Arc::new(Site {
            root: project_root.to_path_buf(),
            auth: auth.map(|a| {
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", a.user, a.password));
                (format!("Basic {token}"), a.user)
            }),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(0));
        let (stop2, requests2) = (stop.clone(), requests.clone());
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (site, requests) = (site.clone(), requests2.clone());
                std::thread::spawn(move || {
                    requests.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = handle(conn, &site) {
                        tracing::debug!(error = %e, "git http connection ended");
                    }
                });
            }
        });
        Ok(GitHttpServer { addr, stop, accept: Some(accept), requests })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The clone URL of the repository at `ROOT/<name>` (give `repo.git` for a bare one).
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{name}", self.addr)
    }

    /// The request counter (refused requests included); shared, so it stays live.
    pub fn request_counter(&self) -> Arc<AtomicU64> {
        self.requests.clone()
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn read_body(reader: &mut impl BufRead, headers: &[(String, String)]) -> std::io::Result<Vec<u8>> {
    // A request without a length or chunking has no body (reading to EOF would wait for the
    // client to close); anything else is framed like a response.
    let framed = headers.iter().any(|(k, _)| k == "content-length" || k == "transfer-encoding");
    if framed { crate::refs::http_body(reader, headers, MAX_REQUEST_BYTES) } else { Ok(Vec::new()) }
}

fn respond(conn: &mut TcpStream, status: &str, extra_headers: &str, body: &[u8]) -> std::io::Result<()> {
    write!(
        conn,
        "HTTP/1.1 {status}\r\n{extra_headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    conn.write_all(body)?;
    conn.flush()
}

/// Answers one request on `conn`.
fn handle(conn: TcpStream, site: &Site) -> std::io::Result<()> {
    conn.set_read_timeout(Some(IDLE_TIMEOUT))?;
    conn.set_write_timeout(Some(IDLE_TIMEOUT))?;
    let mut reader = BufReader::new(conn.try_clone()?.take(MAX_REQUEST_BYTES as u64 + 64 * 1024));
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
    if let Some((expected, _)) = &site.auth
        && header("authorization") != *expected
    {
        return respond(&mut conn, "401 Unauthorized", "WWW-Authenticate: Basic realm=\"git\"\r\n", b"");
    }
    let body = match read_body(&mut reader, &headers) {
        Ok(body) => body,
        Err(e) => return respond(&mut conn, "400 Bad Request", "", e.to_string().as_bytes()),
    };
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    // Only repositories under the root are served (http-backend refuses these too, but with
    // a 500 that reads like a server fault).
    if path.split('/').any(|segment| segment == "..") || !path.starts_with('/') {
        return respond(&mut conn, "404 Not Found", "", b"no such repository");
    }
    let mut cgi = Command::new("git");
    cgi.arg("http-backend")
        .env("GIT_PROJECT_ROOT", &site.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("GIT_PROTOCOL", header("git-protocol"))
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // http-backend allows receive-pack (push) only for an authenticated REMOTE_USER.
    if let Some((_, user)) = &site.auth {
        cgi.env("REMOTE_USER", user);
    }
    let mut cgi = match cgi.spawn() {
        Ok(child) => child,
        Err(e) => {
            let message = format!("cannot run git http-backend (is git installed?): {e}");
            return respond(&mut conn, "500 Internal Server Error", "", message.as_bytes());
        }
    };
    if let Some(mut stdin) = cgi.stdin.take() {
        // A backend that exits early (bad request) closes its stdin; its answer still counts.
        let _ = stdin.write_all(&body);
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
    respond(&mut conn, &status, &response_headers, payload)
}
