//! SSH remotes against a real OpenSSH server on loopback: key authentication, known-hosts
//! checking, and the failure modes users hit.

use std::time::Duration;

use tiphys_git::testsupport::{SshServer, TestRepo};
use tiphys_git::{Credentials, GitCache, GitConfig, GitError};

fn user() -> String {
    std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| {
        let out = std::process::Command::new("id").arg("-un").output().expect("id -un");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    })
}

#[test]
fn ssh_keys_and_known_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let repo = TestRepo::create(dir.path(), "app");
    let sha = repo.commit(&[("app/cm.yaml", "v: ssh\n")], "one");
    let server = SshServer::start(&dir.path().join("sshd")).expect("sshd (install openssh-server)");
    let url = server.url(&user(), &repo.bare);
    let cache = |known_hosts: &str, name: &str| {
        GitCache::new(GitConfig {
            root: dir.path().join(name),
            timeout: Duration::from_secs(30),
            known_hosts: known_hosts.to_string(),
        })
        .unwrap()
    };
    let key = Credentials { ssh_private_key: server.client_key.clone(), ..Credentials::default() };

    let good = cache(&server.known_hosts, "good");
    assert_eq!(good.resolve(&url, "main", Some(&key)).unwrap(), sha);
    let tree = good.checkout(&url, &sha).unwrap();
    assert_eq!(std::fs::read_to_string(tree.join("app/cm.yaml")).unwrap(), "v: ssh\n");

    // Unknown host key: refused, and the message says why.
    let strict = cache("", "strict");
    let err = strict.resolve(&url, "main", Some(&key)).unwrap_err();
    assert!(matches!(err, GitError::Command { .. }), "{err}");
    assert!(err.to_string().contains("Host key verification failed"), "{err}");
    // ... unless the repository says insecureIgnoreHostKey.
    let ignore = Credentials { insecure_ignore_host_key: true, ..key.clone() };
    assert_eq!(strict.resolve(&url, "main", Some(&ignore)).unwrap(), sha);

    // A key the server does not know: an auth error that does not leak the key.
    let other_dir = dir.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(other_dir.join("k"))
        .status()
        .unwrap();
    assert!(status.success());
    let wrong_key = std::fs::read_to_string(other_dir.join("k")).unwrap();
    let wrong = Credentials { ssh_private_key: wrong_key.clone(), ..Credentials::default() };
    let err = good.resolve(&url, "main", Some(&wrong)).unwrap_err();
    assert!(matches!(err, GitError::Auth { .. }), "{err}");
    let body = wrong_key.lines().nth(1).unwrap();
    assert!(!err.to_string().contains(body));
}
