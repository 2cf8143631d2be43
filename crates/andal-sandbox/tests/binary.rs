mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use andal_sandbox::SamplePerson;

const BIN: &str = env!("CARGO_BIN_EXE_andal-sandbox");

#[test]
fn sample_prints_json_lines_and_exits() {
    let out = Command::new(BIN)
        .args(["--people", "5000", "--seed", "9", "--sample", "4"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let people: Vec<SamplePerson> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(people.len(), 4);
    assert!(people.iter().all(|p| p.active));
    assert_eq!(
        people,
        andal_sandbox::Registry::generate(9, 5000).sample_where(4, true)
    );
    let out = Command::new(BIN)
        .args(["--people", "5000", "--sample", "2", "--inactive"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.contains("\"active\":false"));
}

/// The binary serving on a free port, and the address from the URL on its first line.
fn spawn_serving() -> (std::process::Child, std::net::SocketAddr) {
    let mut child = Command::new(BIN)
        .args(["--people", "5000", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("http://")
        .unwrap()
        .parse()
        .unwrap();
    (child, addr)
}

#[test]
fn serves_with_the_url_on_the_first_line_and_ignores_stdin_eof() {
    let (mut child, addr) = spawn_serving();
    assert!(addr.ip().is_loopback());
    // Still serving after stdin closed.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let r = common::get(addr, "/v1/health");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(r.status, 200);
}

/// The server's threads do not grow with its connections (issue 11: it must carry
/// thousands at once): 300 open keep-alive connections, each answered, on a handful of
/// threads (the acceptor and two runtime workers, plus main).
#[cfg(target_os = "linux")]
#[test]
fn connections_do_not_cost_threads() {
    let (mut child, addr) = spawn_serving();
    let threads = || {
        std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("Threads:")?.trim().parse::<u32>().ok())
            .unwrap()
    };
    let before = threads();
    let mut conns = Vec::new();
    for _ in 0..300 {
        let mut s = common::connect(addr, std::time::Duration::from_secs(5)).unwrap();
        common::write_request(&mut s, "GET", "/v1/health", &[], b"", false).unwrap();
        conns.push(s);
    }
    for s in &mut conns {
        assert_eq!(common::read_response(s).unwrap().status, 200);
    }
    let during = threads();
    drop(conns);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        during <= 8 && during <= before + 1,
        "{during} threads with 300 open connections ({before} before)"
    );
}
