//! Failure causes of the blocking (ureq) transport around name resolution: IP literals
//! skip the lookup (`transport/resolve.rs`), host names still go through ureq's resolver,
//! and both keep the classification the outage record relies on.

#![cfg(feature = "https")]

use std::net::TcpListener;
use std::time::Duration;

use andal::transport::UreqTransport;
use andal::{FailureKind, HttpRequest, Method, Transport};

fn post(url: String) -> HttpRequest {
    HttpRequest {
        method: Method::Post,
        url,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: b"{}".to_vec(),
    }
}

#[test]
fn an_unresolvable_host_is_a_dns_failure() {
    // `.invalid` never resolves (RFC 6761), with or without a network.
    let err = UreqTransport::default()
        .send(
            &post("http://registry.invalid/v1/checks".into()),
            Duration::from_secs(5),
            1024,
        )
        .expect_err("nothing can answer");
    assert_eq!(err.kind, FailureKind::Dns, "{err}");
}

#[test]
fn a_closed_port_on_an_ip_literal_is_refused() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for url in [
        format!("http://127.0.0.1:{port}/v1/checks"),
        format!("http://localhost:{port}/v1/checks"),
    ] {
        let err = UreqTransport::default()
            .send(&post(url.clone()), Duration::from_secs(2), 1024)
            .expect_err("nothing listens");
        assert_eq!(err.kind, FailureKind::Refused, "{url}: {err}");
    }
}
