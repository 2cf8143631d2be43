//! An unreachable registry (a connection stuck in SYN-SENT) is classified as
//! `connect_timeout`, every time. The connect cap used to equal the attempt timeout; both
//! fired together, the overall timeout usually won, and the outage record said the
//! registry was slow (`read_timeout`) when it could not be reached.
//!
//! A loopback listener whose accept queue is full drops new SYNs, so a connect hangs in
//! SYN-SENT exactly like an unreachable host, without leaving the machine.

#![cfg(feature = "https")]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use andal::transport::UreqTransport;
use andal::{FailureKind, HttpRequest, Method, Transport};

/// A listener that never accepts, with its accept queue filled.
fn full_listener() -> (TcpListener, Vec<TcpStream>, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..4096 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
            Ok(s) => held.push(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return (listener, held, addr),
            Err(e) => panic!("unexpected connect error: {e}"),
        }
    }
    panic!("the accept queue never filled");
}

#[test]
fn a_connection_stuck_in_syn_sent_is_a_connect_timeout() {
    let (_listener, _held, addr) = full_listener();
    let transport = UreqTransport::default();
    let request = HttpRequest {
        method: Method::Post,
        url: format!("http://{addr}/v1/checks"),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: b"{}".to_vec(),
    };
    for i in 0..10 {
        let err = transport
            .send(&request, Duration::from_millis(400), 1024)
            .expect_err("nothing can answer");
        assert_eq!(err.kind, FailureKind::ConnectTimeout, "attempt {i}: {err}");
    }
}
