//! The product git server (`tiphys_git::serve`) without auth: a working (non-bare) repository
//! is served as it is, commits made in it are visible to the next fetch, pushes are refused,
//! and malformed requests get an HTTP error instead of taking the server down.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use tiphys_git::serve::GitHttpServer;
use tiphys_git::testsupport::git;
use tiphys_git::{GitCache, GitConfig};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn commit(work: &std::path::Path, file: &str, content: &str) -> String {
    std::fs::write(work.join(file), content).unwrap();
    git(work, &["add", "-A"]);
    git(work, &["commit", "--quiet", "-m", file]);
    git(work, &["rev-parse", "HEAD"])
}

/// A working repository `<tmp>/examples` with one commit, served anonymously from `<tmp>`.
struct Served {
    dir: tempfile::TempDir,
    work: std::path::PathBuf,
    first: String,
    server: GitHttpServer,
}

fn served() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("examples");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "--quiet", "--initial-branch=main"]);
    let first = commit(&work, "a.yaml", "v: 1\n");
    let server = GitHttpServer::start(loopback(), dir.path(), None).unwrap();
    Served { dir, work, first, server }
}

#[test]
fn serves_a_working_repository_read_only_and_sees_new_commits() {
    let Served { dir, work, first, server } = served();
    let url = server.url("examples");

    let cache = GitCache::new(GitConfig {
        root: dir.path().join("cache"),
        timeout: Duration::from_secs(20),
        known_hosts: String::new(),
    })
    .unwrap();
    assert_eq!(cache.resolve(&url, "main", None).unwrap(), first);

    // A commit in the served working tree is what the next resolve sees.
    let second = commit(&work, "b.yaml", "v: 2\n");
    assert_ne!(first, second);
    assert_eq!(cache.resolve(&url, "HEAD", None).unwrap(), second);
    let tree = cache.checkout(&url, &second).unwrap();
    assert_eq!(std::fs::read_to_string(tree.join("b.yaml")).unwrap(), "v: 2\n");

    // A real clone works, and pushing back over anonymous HTTP is refused.
    let clone = dir.path().join("clone");
    git(dir.path(), &["clone", "--quiet", &url, &clone.to_string_lossy()]);
    std::fs::write(clone.join("c.yaml"), "v: 3\n").unwrap();
    git(&clone, &["add", "-A"]);
    git(&clone, &["-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "--quiet", "-m", "c"]);
    let push = std::process::Command::new("git")
        .current_dir(&clone)
        .args(["push", "--quiet", "origin", "HEAD:refs/heads/other"])
        .output()
        .unwrap();
    assert!(!push.status.success(), "anonymous push must be refused");
    assert!(git(&work, &["branch", "--list", "other"]).is_empty());
    assert!(server.request_counter().load(std::sync::atomic::Ordering::Relaxed) > 0);
}

fn raw_request(addr: SocketAddr, request: &[u8]) -> String {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    conn.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn malformed_requests_get_errors_and_the_server_keeps_serving() {
    let s = served();
    let server = &s.server;

    let huge = raw_request(
        server.addr(),
        b"POST /examples/git-upload-pack HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n",
    );
    assert!(huge.starts_with("HTTP/1.1 400"), "{huge}");
    let bad_chunk = raw_request(
        server.addr(),
        b"POST /examples/git-upload-pack HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    );
    assert!(bad_chunk.starts_with("HTTP/1.1 400"), "{bad_chunk}");
    let missing = raw_request(server.addr(), b"GET /nope/info/refs?service=git-upload-pack HTTP/1.1\r\n\r\n");
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    let escape =
        raw_request(server.addr(), b"GET /../../etc/info/refs?service=git-upload-pack HTTP/1.1\r\n\r\n");
    assert!(escape.starts_with("HTTP/1.1 4"), "{escape}");
    let garbage = raw_request(server.addr(), b"\xff\xfe garbage\r\n\r\n");
    assert!(garbage.is_empty() || garbage.starts_with("HTTP/1.1"), "{garbage}");

    let refs =
        raw_request(server.addr(), b"GET /examples/info/refs?service=git-upload-pack HTTP/1.1\r\n\r\n");
    assert!(refs.starts_with("HTTP/1.1 200"), "{refs}");
    assert!(refs.contains("refs/heads/main"), "{refs}");
}

#[test]
fn a_busy_port_is_an_error_naming_the_address() {
    let taken = std::net::TcpListener::bind(loopback()).unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = GitHttpServer::start(addr, dir.path(), None).err().expect("port is taken");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Whatever arrives on the socket, the server answers or hangs up, and keeps serving.
    #[test]
    fn random_requests_never_take_the_server_down(
        method in proptest::sample::select(vec!["GET", "POST", "PUT", "", "G\u{0}T"]),
        path in "(/[a-z.%]{0,8}){0,4}",
        headers in proptest::collection::vec(("[a-zA-Z-]{1,20}", "[ -~]{0,40}"), 0..5),
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
    ) {
        let s = served();
        let server = &s.server;
        let mut request = format!("{method} {path}/info/refs?service=git-upload-pack HTTP/1.1\r\n");
        for (k, v) in &headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(&body);
        let mut conn = TcpStream::connect(server.addr()).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let _ = conn.write_all(&bytes);
        let _ = conn.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        proptest::prop_assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 "), "{}", answer);
        let refs = raw_request(server.addr(), b"GET /examples/info/refs?service=git-upload-pack HTTP/1.1\r\n\r\n");
        proptest::prop_assert!(refs.starts_with("HTTP/1.1 200"), "{}", refs);
    }
}
