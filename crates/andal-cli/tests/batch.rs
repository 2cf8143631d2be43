//! `andal batch` for unattended jobs, against a sandbox on loopback: exit codes, fail-fast
//! on credentials and headers, `;` and BOM input, kept columns, and `--resume` after a
//! SIGKILL with no row lost and none charged twice.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use andal_sandbox::{
    DEMO_BANK_KEY, DEMO_BANK_PARTNER, Fault, SamplePerson, Sandbox, SandboxConfig,
};

fn sandbox() -> Sandbox {
    andal_sandbox::start(SandboxConfig::default().seed(7).people(20_000)).unwrap()
}

fn batch_cmd(sb: &Sandbox, partner: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_andal"));
    c.args([
        "batch",
        "--url",
        &sb.url(),
        "--allow-http",
        "--partner-id",
        partner,
        "--api-key",
        DEMO_BANK_KEY,
    ])
    .args(extra)
    .env_remove("ANDAL_API_KEY")
    .env_remove("ANDAL_PARTNER_ID");
    c
}

fn batch(sb: &Sandbox, extra: &[&str]) -> Output {
    batch_cmd(sb, DEMO_BANK_PARTNER, extra).output().unwrap()
}

fn write_input(path: &Path, people: &[SamplePerson], delim: char, bom: bool) {
    let mut s = String::new();
    if bom {
        s.push('\u{feff}');
    }
    let d = delim;
    s += &format!("participant_id{d}branch{d}nik{d}full_name{d}birth_date\n");
    for (i, p) in people.iter().enumerate() {
        s += &format!(
            "P-{:05}{d}Cabang {}{d}{}{d}{}{d}{}\n",
            i + 1,
            i % 3,
            p.nik,
            p.full_name,
            p.birth_date
        );
    }
    std::fs::write(path, s).unwrap();
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn semicolons_bom_kept_columns_and_exit_zero_when_all_decided() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.csv"), dir.path().join("out.csv"));
    let mut people = sb.sample(4);
    people[1].full_name = "Nama Lain".into(); // a mismatch is still a decision
    write_input(&input, &people, ';', true);
    let out = batch(
        &sb,
        &[
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
            "--keep",
            "participant_id,branch",
            "--id-column",
            "participant_id",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(
        lines[0],
        "row;participant_id;branch;nik_masked;verdict;nik;full_name;birth_date;birth_place;source;error"
    );
    assert_eq!(lines.len(), 5, "{written}");
    assert!(
        lines[1].starts_with(&format!(
            "1;P-00001;Cabang 0;{}**********{};match;",
            &people[0].nik[..4],
            &people[0].nik[14..]
        )),
        "{written}"
    );
    assert!(lines[2].starts_with("2;P-00002;Cabang 1;") && lines[2].contains(";mismatch;"));
    for p in &people {
        assert!(!written.contains(&p.nik) && !written.contains(&p.full_name));
        assert!(!written.contains(&p.birth_date));
    }
    assert_eq!(
        sb.accounting().partner(DEMO_BANK_PARTNER).accesses_charged,
        4
    );

    // A full re-run with the same row ids replays every answer: nothing charged again.
    let again = dir.path().join("again.csv");
    let out = batch(
        &sb,
        &[
            "--input",
            input.to_str().unwrap(),
            "--output",
            again.to_str().unwrap(),
            "--id-column",
            "participant_id",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let acc = sb.accounting().partner(DEMO_BANK_PARTNER);
    assert_eq!((acc.accesses_charged, acc.idempotent_replays), (4, 4));
}

#[test]
fn missing_columns_stop_before_any_request() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.csv"), dir.path().join("out.csv"));
    std::fs::write(
        &input,
        "nik,nama,birth_date\n3316122305630001,Siti,1963-05-23\n",
    )
    .unwrap();
    let args = [
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ];
    let out = batch(&sb, &args);
    assert_eq!(out.status.code(), Some(33), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no column full_name"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("3316122305630001"));

    // An unknown --keep or --id-column column, and duplicate row ids, stop the same way.
    write_input(&input, &sb.sample(4), ',', false);
    for extra in [
        ["--keep", "cabang"],
        ["--id-column", "id"],
        ["--id-column", "branch"],
    ] {
        let mut a = args.to_vec();
        a.extend(extra);
        let out = batch(&sb, &a);
        assert_eq!(out.status.code(), Some(33), "{extra:?}: {}", stderr(&out));
    }
    assert_eq!(sb.accounting().check_requests, 0);
}

#[test]
fn wrong_credentials_stop_the_batch_at_once() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.csv"), dir.path().join("out.csv"));
    write_input(&input, &sb.sample(200), ',', false);
    let args = [
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--concurrency",
        "4",
    ];
    // The key belongs to demo-bank; bpjs-demo is another partner.
    let out = batch_cmd(&sb, "bpjs-demo", &args).output().unwrap();
    assert_eq!(out.status.code(), Some(32), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("partner id does not match the API key"),
        "{}",
        stderr(&out)
    );
    // Stopped at once: at most one request per worker, not one per row.
    assert!(sb.accounting().check_requests <= 4);
    let written = std::fs::read_to_string(&output).unwrap();
    assert_eq!(written.lines().count(), 1, "header only: {written}");

    // Fixed, the same output resumes and completes.
    let mut a = args.to_vec();
    a.push("--resume");
    let out = batch(&sb, &a);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&output).unwrap().lines().count(),
        201
    );
}

fn count_lines(path: &Path) -> usize {
    std::fs::read(path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

/// A 2,000-row batch is SIGKILLed mid-run; `--resume` completes it: every row once, in
/// order, and the sandbox charged exactly one access per row.
#[test]
fn resume_after_sigkill_loses_nothing_and_charges_nothing_twice() {
    const ROWS: usize = 2000;
    let sb = sandbox();
    let people = sb.sample(ROWS);
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.csv"), dir.path().join("out.csv"));
    write_input(&input, &people, ',', false);
    // Slow enough that the kill lands mid-run, whatever the machine.
    sb.set_fault(Fault::Slow { latency_ms: 3 });
    let args = [
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--concurrency",
        "4",
        "--resume",
    ];
    let mut child = batch_cmd(&sb, DEMO_BANK_PARTNER, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Synchronise on the output, not on time: kill once 300 rows are written.
    let started = Instant::now();
    while count_lines(&output) < 301 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "batch ended before the kill"
        );
        assert!(started.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at_kill = count_lines(&output) - 1;
    assert!(at_kill < ROWS, "killed after the end ({at_kill} rows)");
    let before = sb.accounting().partner(DEMO_BANK_PARTNER);
    assert!(before.accesses_charged as usize >= at_kill);

    sb.clear_fault();
    let out = batch(&sb, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("({at_kill} already in the output)")));

    let written = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), ROWS + 1, "0 rows lost, none duplicated");
    for (i, l) in lines[1..].iter().enumerate() {
        assert!(l.starts_with(&format!("{},", i + 1)), "row {}: {l}", i + 1);
        assert!(l.contains(",match,"), "row {}: {l}", i + 1);
    }
    let acc = sb.accounting().partner(DEMO_BANK_PARTNER);
    assert_eq!(acc.accesses_charged as usize, ROWS, "0 rows charged twice");
    // Rows in flight at the kill were sent again and answered from the stored result.
    assert_eq!(
        acc.requests_received,
        acc.accesses_charged + acc.idempotent_replays
    );
    eprintln!(
        "killed at {at_kill} rows written ({} requests received, {} charged at the kill); \
         resume: {} requests, {} answered from the stored result",
        before.requests_received,
        before.accesses_charged,
        acc.requests_received - before.requests_received,
        acc.idempotent_replays
    );
}
