//! A native fast path for "did it move?": reading a remote's ref advertisement over plain
//! `http://` (smart HTTP, protocol v0 `info/refs`) and `git://` without starting a process.
//! One round trip, no `git` and no `git-remote-http` on our side. Every other transport
//! (`https://`, SSH, local paths, proxies) goes through the git CLI.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use base64::Engine;

use crate::url::redact;
use crate::{Credentials, GitError};

/// Largest ref advertisement read (repositories with a million refs stay well below).
const MAX_REFS_BYTES: usize = 256 << 20;

struct Target<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    host: &'a str,
    port: u16,
    path: &'a str,
}

fn parse(url: &str) -> Option<Target<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme {
        "http" => 80,
        "git" => 9418,
        _ => return None,
    };
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if hostport.starts_with('[') {
        return None; // IPv6 literals: leave them to git.
    }
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (hostport, default_port),
    };
    Some(Target { scheme, userinfo, host, port, path })
}

/// Reads one pkt-line; `None` for a flush packet.
fn pkt_line(r: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = std::str::from_utf8(&len)
        .ok()
        .and_then(|s| usize::from_str_radix(s, 16).ok())
        .ok_or_else(|| std::io::Error::other("bad pkt-line length"))?;
    if len == 0 {
        return Ok(None);
    }
    if !(4..=65520).contains(&len) {
        return Err(std::io::Error::other("bad pkt-line length"));
    }
    let mut data = vec![0u8; len - 4];
    r.read_exact(&mut data)?;
    Ok(Some(data))
}

/// Parses the ref list of a v0 advertisement (after any `# service=` header section).
fn parse_refs(r: &mut impl Read) -> std::io::Result<Vec<(String, String)>> {
    let mut refs = Vec::new();
    while let Some(line) = pkt_line(r)? {
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches('\n');
        let line = line.split('\0').next().unwrap_or_default();
        if line.starts_with('#') {
            continue;
        }
        if let Some((sha, name)) = line.split_once(' ') {
            // An empty repository advertises `capabilities^{}` with a zero id.
            if name != "capabilities^{}" {
                refs.push((name.to_string(), sha.to_string()));
            }
        }
    }
    Ok(refs)
}

fn connect(t: &Target<'_>, deadline: Instant) -> std::io::Result<TcpStream> {
    let left = |d: Instant| d.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
    let mut last = std::io::Error::other("no address");
    for addr in (t.host, t.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, left(deadline)) {
            Ok(s) => {
                s.set_read_timeout(Some(left(deadline)))?;
                s.set_write_timeout(Some(left(deadline)))?;
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// A body reader over `Content-Length`, chunked, or read-to-close framing; a body longer
/// than `limit` bytes is an error (it is never allocated).
pub(crate) fn http_body(
    reader: &mut impl BufRead,
    headers: &[(String, String)],
    limit: usize,
) -> std::io::Result<Vec<u8>> {
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let too_large = || std::io::Error::other(format!("HTTP body larger than {limit} bytes"));
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| std::io::Error::other("bad chunk size"))?;
            if size == 0 {
                break;
            }
            let start = body.len();
            if size > limit - start {
                return Err(too_large());
            }
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(len) = header("content-length").and_then(|v| v.trim().parse::<usize>().ok()) {
        if len > limit {
            return Err(too_large());
        }
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.take(limit as u64 + 1).read_to_end(&mut body)?;
        if body.len() > limit {
            return Err(too_large());
        }
    }
    Ok(body)
}

enum Failure {
    Auth,
    Other(String),
    Io(std::io::Error),
}

fn http_refs(
    t: &Target<'_>,
    creds: Option<&Credentials>,
    deadline: Instant,
) -> Result<Vec<(String, String)>, Failure> {
    let stream = connect(t, deadline).map_err(Failure::Io)?;
    let mut auth = String::new();
    let token = creds.map(|c| c.bearer_token.as_str()).unwrap_or_default();
    let (user, pass) = match creds {
        Some(c) if !c.username.is_empty() || !c.password.is_empty() => {
            (c.username.clone(), c.password.clone())
        }
        _ => t
            .userinfo
            .map(|u| {
                u.split_once(':')
                    .map_or((u.to_string(), String::new()), |(a, b)| (a.to_string(), b.to_string()))
            })
            .unwrap_or_default(),
    };
    if !token.is_empty() {
        auth = format!("Authorization: Bearer {token}\r\n");
    } else if !user.is_empty() || !pass.is_empty() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        auth = format!("Authorization: Basic {encoded}\r\n");
    }
    let path = t.path.trim_end_matches('/');
    let host = if t.port == 80 { t.host.to_string() } else { format!("{}:{}", t.host, t.port) };
    let request = format!(
        "GET {path}/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: {host}\r\nUser-Agent: git/tiphys\r\nAccept: */*\r\n{auth}Connection: close\r\n\r\n"
    );
    let mut writer = stream.try_clone().map_err(Failure::Io)?;
    writer.write_all(request.as_bytes()).map_err(Failure::Io)?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).map_err(Failure::Io)?;
    let code = status.split_whitespace().nth(1).unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).map_err(Failure::Io)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_lowercase(), v.trim().to_string()));
        }
    }
    match code.as_str() {
        "200" => {}
        "401" | "403" => return Err(Failure::Auth),
        other => return Err(Failure::Other(format!("HTTP {other} from info/refs"))),
    }
    let smart = headers
        .iter()
        .any(|(k, v)| k == "content-type" && v.starts_with("application/x-git-upload-pack-advertisement"));
    if !smart {
        return Err(Failure::Other("server does not speak smart HTTP".into()));
    }
    let body = http_body(&mut reader, &headers, MAX_REFS_BYTES).map_err(Failure::Io)?;
    let mut cursor = std::io::Cursor::new(body);
    // `# service=git-upload-pack` section, then the refs.
    while pkt_line(&mut cursor).map_err(Failure::Io)?.is_some() {}
    parse_refs(&mut cursor).map_err(Failure::Io)
}

fn daemon_refs(t: &Target<'_>, deadline: Instant) -> Result<Vec<(String, String)>, Failure> {
    let mut stream = connect(t, deadline).map_err(Failure::Io)?;
    let host = if t.port == 9418 { t.host.to_string() } else { format!("{}:{}", t.host, t.port) };
    let payload = format!("git-upload-pack {}\0host={host}\0", t.path);
    stream.write_all(format!("{:04x}{payload}", payload.len() + 4).as_bytes()).map_err(Failure::Io)?;
    let mut reader = BufReader::new(stream.try_clone().map_err(Failure::Io)?);
    let refs = parse_refs(&mut reader).map_err(Failure::Io)?;
    // Tell upload-pack we want nothing, so it exits cleanly.
    let _ = stream.write_all(b"0000");
    Ok(refs)
}

/// The remote's refs without starting git, for `http://` and `git://` URLs without a proxy;
/// `None` means "use the git CLI" (other transports, or an answer this reader does not
/// understand, which git then reports properly).
pub(crate) fn advertised_refs(
    url: &str,
    creds: Option<&Credentials>,
    timeout: Duration,
) -> Option<Result<Vec<(String, String)>, GitError>> {
    if creds.is_some_and(|c| !c.proxy.is_empty()) {
        return None;
    }
    let target = parse(url)?;
    let deadline = Instant::now() + timeout;
    let result = match target.scheme {
        "http" => http_refs(&target, creds, deadline),
        _ => daemon_refs(&target, deadline),
    };
    match result {
        Ok(refs) => Some(Ok(refs)),
        Err(Failure::Auth) => Some(Err(GitError::Auth { repo: redact(url) })),
        Err(Failure::Io(e))
            if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) =>
        {
            Some(Err(GitError::Timeout { repo: redact(url), operation: "ls-remote".into(), after: timeout }))
        }
        Err(Failure::Io(e)) => {
            tracing::debug!(repo = %redact(url), error = %e, "native ref advertisement failed; using git");
            None
        }
        Err(Failure::Other(reason)) => {
            tracing::debug!(repo = %redact(url), reason, "native ref advertisement not usable; using git");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_v0_advertisement() {
        let sha = "a".repeat(40);
        let mut data = Vec::new();
        for line in [
            format!("{sha} HEAD\0multi_ack symref=HEAD:refs/heads/main\n"),
            format!("{sha} refs/heads/main\n"),
        ] {
            data.extend(format!("{:04x}{line}", line.len() + 4).into_bytes());
        }
        data.extend(b"0000");
        let refs = parse_refs(&mut std::io::Cursor::new(data)).unwrap();
        assert_eq!(refs, vec![("HEAD".to_string(), sha.clone()), ("refs/heads/main".to_string(), sha)]);
    }

    #[test]
    fn only_plain_http_and_git_urls_take_the_fast_path() {
        assert!(parse("http://127.0.0.1:8080/r.git").is_some_and(|t| t.port == 8080 && t.path == "/r.git"));
        assert!(parse("git://host/r.git").is_some_and(|t| t.port == 9418));
        assert!(parse("https://host/r.git").is_none());
        assert!(parse("ssh://git@host/r.git").is_none());
        assert!(parse("/local/path").is_none());
    }

    proptest::proptest! {
        #[test]
        fn garbage_advertisements_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse_refs(&mut std::io::Cursor::new(bytes));
        }
    }
}
