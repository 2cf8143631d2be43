//! Test helpers: a tiny raw HTTP/1.1 client (byte-level control for fault tests) and a
//! sandbox factory that keeps one generated registry alive for the whole test binary.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use andal_sandbox::{DEMO_BANK_KEY, Registry, Sandbox, SandboxConfig};

pub const SEED: u64 = 7;
pub const PEOPLE: usize = 20_000;

/// Start a sandbox on an ephemeral port; the registry is generated once per binary.
pub fn sandbox() -> Sandbox {
    sandbox_with(SandboxConfig::default())
}

pub fn sandbox_with(config: SandboxConfig) -> Sandbox {
    static KEEP: OnceLock<Arc<Registry>> = OnceLock::new();
    KEEP.get_or_init(|| Registry::generate(SEED, PEOPLE));
    andal_sandbox::start(config.seed(SEED).people(PEOPLE)).expect("sandbox starts")
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn problem(&self) -> andal::api::Problem {
        assert_eq!(
            self.header("content-type"),
            Some(andal::api::PROBLEM_CONTENT_TYPE),
            "status {}",
            self.status
        );
        let p: andal::api::Problem = self.json();
        assert_eq!(p.status, self.status);
        p
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    Ok(s)
}

pub fn write_request(
    s: &mut TcpStream,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    close: bool,
) -> io::Result<()> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: sandbox\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if close {
        req.push_str("Connection: close\r\n");
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    s.write_all(&bytes)
}

/// Read one response (Content-Length framed). Errors on EOF before the body is complete.
pub fn read_response(s: &mut TcpStream) -> io::Result<Resp> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (status, headers, head_len) = loop {
        let mut hs = [httparse::EMPTY_HEADER; 64];
        let mut r = httparse::Response::new(&mut hs);
        if let httparse::Status::Complete(n) = r
            .parse(&buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?
        {
            let headers: Vec<(String, String)> = r
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_owned(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            break (r.code.unwrap_or(0), headers, n);
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap_or(0));
    let mut body = buf.split_off(head_len);
    while body.len() < len {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("body cut at {} of {len} bytes", body.len()),
            ));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Resp {
        status,
        headers,
        body,
    })
}

/// One request on a fresh connection.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Resp> {
    request_timeout(addr, method, path, headers, body, Duration::from_secs(5))
}

pub fn request_timeout(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> io::Result<Resp> {
    let mut s = connect(addr, timeout)?;
    write_request(&mut s, method, path, headers, body, true)?;
    read_response(&mut s)
}

pub fn get(addr: SocketAddr, path: &str) -> Resp {
    request(addr, "GET", path, &[], b"").expect("GET answered")
}

/// `POST /v1/checks` as `demo-bank`.
pub fn check(addr: SocketAddr, idem: &str, body: &serde_json::Value) -> Resp {
    check_as(addr, DEMO_BANK_KEY, idem, body)
}

pub fn check_as(addr: SocketAddr, key: &str, idem: &str, body: &serde_json::Value) -> Resp {
    let auth = format!("Bearer {key}");
    let body = serde_json::to_vec(body).unwrap();
    request(
        addr,
        "POST",
        "/v1/checks",
        &[
            ("Authorization", &auth),
            ("Idempotency-Key", idem),
            ("Content-Type", "application/json"),
        ],
        &body,
    )
    .expect("check answered")
}

pub fn body_of(p: &andal_sandbox::SamplePerson) -> serde_json::Value {
    serde_json::to_value(p.check_request()).unwrap()
}

pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
