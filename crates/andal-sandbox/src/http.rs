//! A deliberately small HTTP/1.1 server layer on tokio's `TcpStream` + `httparse`.
//!
//! Why hand-written instead of a framework: the faults need byte-level control of the
//! connection (close the listening socket, hang after reading a request, cut a response
//! after half its body and reset the connection, stream a huge body, lie in
//! `Content-Length`). Frameworks hide exactly these details. The subset here is enough
//! for the API: keep-alive, `Content-Length` request bodies (no chunked requests), and
//! a body-size limit enforced before the body is read.

use std::io;
use std::time::Duration;

use andal::api::{PROBLEM_CONTENT_TYPE, Problem};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::MAX_BODY_BYTES;

/// Largest accepted request head (request line + headers).
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// A read that waits longer than this ends the connection (idle keep-alive connections
/// included), as `SO_RCVTIMEO` did on the blocking server.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A request body: read, or left unread because it is too large.
#[derive(Debug)]
pub(crate) enum Body {
    Bytes(Vec<u8>),
    TooLarge,
}

/// A parsed request.
#[derive(Debug)]
pub(crate) struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub keep_alive: bool,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == name).then_some(v)
        })
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// Clean end of stream between requests.
    Closed,
    /// Socket error (including read timeouts).
    Io,
    /// The bytes are not an acceptable request: answer 400 and close.
    Bad(&'static str),
}

/// A connection with its read buffer (bytes past one request stay for the next).
pub(crate) struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

/// A parsed request head, owned (nothing borrowed from the buffer across an await).
struct Head {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    http10: bool,
}

impl Conn {
    pub fn new(stream: TcpStream) -> Self {
        Conn {
            stream,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Read more bytes into the buffer (at most 4 KiB at a time, as before).
    async fn fill(&mut self) -> Result<usize, ReadError> {
        let start = self.buf.len();
        self.buf.resize(start + 4096, 0);
        let read = self.stream.read(&mut self.buf[start..]);
        let n = match tokio::time::timeout(IDLE_TIMEOUT, read).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {
                self.buf.truncate(start);
                return Ok(1); // try again
            }
            Ok(Err(_)) | Err(_) => {
                self.buf.truncate(start);
                return Err(ReadError::Io);
            }
        };
        self.buf.truncate(start + n);
        Ok(n)
    }

    /// Parse a complete head from the buffer, if there is one.
    fn parse_head(&mut self) -> Result<Option<Head>, ReadError> {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&self.buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let method = req.method.unwrap_or("").to_owned();
                let target = req.path.unwrap_or("/");
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                let (path, query) = (path.to_owned(), query.to_owned());
                let http10 = req.version == Some(0);
                let headers: Vec<(String, String)> = req
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(h.value).trim().to_owned(),
                        )
                    })
                    .collect();
                self.buf.drain(..head_len);
                Ok(Some(Head {
                    method,
                    path,
                    query,
                    headers,
                    http10,
                }))
            }
            Ok(httparse::Status::Partial) => {
                if self.buf.len() > MAX_HEAD_BYTES {
                    return Err(ReadError::Bad("request head too large"));
                }
                Ok(None)
            }
            Err(_) => Err(ReadError::Bad("malformed HTTP request")),
        }
    }

    /// Read one request.
    pub async fn read_request(&mut self) -> Result<Request, ReadError> {
        loop {
            if let Some(head) = self.parse_head()? {
                return self.finish(head).await;
            }
            if self.fill().await? == 0 {
                return Err(if self.buf.is_empty() {
                    ReadError::Closed
                } else {
                    ReadError::Bad("connection closed mid-request")
                });
            }
        }
    }

    async fn finish(&mut self, head: Head) -> Result<Request, ReadError> {
        let Head {
            method,
            path,
            query,
            headers,
            http10,
        } = head;
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        if get("transfer-encoding").is_some() {
            return Err(ReadError::Bad(
                "Transfer-Encoding request bodies are not supported; send Content-Length",
            ));
        }
        let connection = get("connection").unwrap_or("").to_ascii_lowercase();
        let mut keep_alive = if http10 {
            connection.contains("keep-alive")
        } else {
            !connection.contains("close")
        };
        let len = match get("content-length") {
            None => 0,
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| ReadError::Bad("invalid Content-Length"))?,
        };
        let expect = get("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        let body = if len > MAX_BODY_BYTES {
            // Not read: the connection cannot be reused.
            keep_alive = false;
            Body::TooLarge
        } else {
            if expect && len > self.buf.len() {
                self.stream
                    .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                    .await
                    .map_err(|_| ReadError::Io)?;
            }
            while self.buf.len() < len {
                if self.fill().await? == 0 {
                    return Err(ReadError::Bad("connection closed mid-body"));
                }
            }
            Body::Bytes(self.buf.drain(..len).collect())
        };
        Ok(Request {
            method,
            path,
            query,
            headers,
            body,
            keep_alive,
        })
    }
}

/// A response to write.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_owned())],
            body,
        }
    }

    pub fn json<T: serde::Serialize>(status: u16, value: &T) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Response::new(status, "application/json", body)
    }

    pub fn problem(p: &Problem) -> Self {
        let body = serde_json::to_vec(p).unwrap_or_default();
        Response::new(p.status, PROBLEM_CONTENT_TYPE, body)
    }

    pub fn no_content() -> Self {
        Response {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Status line and headers, announcing `content_length`.
    pub fn head(&self, keep_alive: bool, content_length: u64) -> Vec<u8> {
        let mut h = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        h.push_str(&format!("Date: {}\r\n", http_date()));
        h.push_str("Server: andal-sandbox\r\n");
        for (n, v) in &self.headers {
            h.push_str(&format!("{n}: {v}\r\n"));
        }
        if self.status != 204 {
            h.push_str(&format!("Content-Length: {content_length}\r\n"));
        }
        h.push_str(if keep_alive {
            "Connection: keep-alive\r\n"
        } else {
            "Connection: close\r\n"
        });
        h.push_str("\r\n");
        h.into_bytes()
    }

    /// Write the whole response (one write of head and body).
    pub async fn write_to(
        &self,
        w: &mut (impl AsyncWrite + Unpin),
        keep_alive: bool,
    ) -> io::Result<()> {
        let mut out = self.head(keep_alive, self.body.len() as u64);
        out.extend_from_slice(&self.body);
        w.write_all(&out).await?;
        w.flush().await
    }
}

fn http_date() -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_default()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
