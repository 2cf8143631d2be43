//! The `andal` binary: bad input gives a one-line clear error and its documented exit code,
//! never a panic; a sandbox check prints a masked decision.

use std::process::{Command, Output};

fn andal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_andal"))
        .args(args)
        .env_remove("ANDAL_API_KEY")
        .env_remove("ANDAL_PARTNER_ID")
        .output()
        .expect("run andal")
}

fn assert_clean_failure(out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "one line expected: {stderr}"
    );
    assert!(stderr.contains(needle), "{stderr}");
}

#[test]
fn malformed_nik_is_invalid_input() {
    let out = andal(&[
        "verify",
        "--sandbox",
        "--nik",
        "33160945079900",
        "--name",
        "Siti",
        "--birth-date",
        "1999-07-05",
    ]);
    assert_clean_failure(&out, 30, "NIK must have 16 digits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("33160945079900"), "NIK echoed");
}

#[test]
fn bad_date_is_invalid_input() {
    let out = andal(&[
        "verify",
        "--sandbox",
        "--nik",
        "3316094507990001",
        "--name",
        "Siti",
        "--birth-date",
        "1999-02-30",
    ]);
    assert_clean_failure(&out, 30, "birth date");
}

#[test]
fn unreachable_url_is_unavailable() {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let out = andal(&[
        "verify",
        "--url",
        "http://127.0.0.1:9",
        "--allow-http",
        "--partner-id",
        "p",
        "--api-key",
        "k",
        "--nik",
        "3316094507990001",
        "--name",
        "Siti",
        "--birth-date",
        "1999-07-05",
        "--deadline-ms",
        "800",
    ]);
    assert_clean_failure(&out, 20, "unavailable");
}

#[test]
fn plain_http_without_permission_is_refused() {
    let out = andal(&[
        "verify",
        "--url",
        "http://127.0.0.1:9",
        "--partner-id",
        "p",
        "--api-key",
        "k",
        "--nik",
        "3316094507990001",
        "--name",
        "Siti",
        "--birth-date",
        "1999-07-05",
    ]);
    assert_clean_failure(&out, 31, "http");
}

#[test]
fn sandbox_check_prints_a_masked_decision() {
    let sample = andal(&["sandbox", "--sample", "1", "--seed", "3"]);
    assert!(sample.status.success());
    let line = String::from_utf8_lossy(&sample.stdout);
    let person: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    let nik = person["nik"].as_str().unwrap();
    // `--sandbox` starts the default seed; sample from it the same way the CLI does.
    let out = andal(&[
        "verify",
        "--sandbox",
        "--json",
        "--nik",
        nik,
        "--name",
        "Someone Else",
        "--birth-date",
        person["birth_date"].as_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains(nik), "raw NIK printed");
    let code = out.status.code().unwrap();
    assert!([10, 11].contains(&code), "exit {code}: {stdout}");
}

#[test]
fn quick_drill_then_report_and_journal_read_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let out = andal(&["drill", "--quick", "--json", "--out", out_dir]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["every_check_within_deadline"], true);
    // The outage was seen, offline answers were given and reconciled, one contradicted.
    let phases = s["phases"].as_array().unwrap();
    let offline: u64 = phases.iter().map(|p| p["offline"].as_u64().unwrap()).sum();
    assert!(offline > 0, "{stdout}");
    assert_eq!(s["reconciliation"]["still_pending"], 0, "{stdout}");
    assert!(
        s["reconciliation"]["contradicted"].as_u64().unwrap() >= 1,
        "{stdout}"
    );
    let svg = std::fs::read_to_string(dir.path().join("outage-timeline.svg")).unwrap();
    assert!(svg.contains("<svg"));

    // `andal report` reads the JSON export back: summary text and a fresh SVG.
    let report = dir.path().join("outage-report.json");
    let svg2 = dir.path().join("again.svg");
    let out = andal(&[
        "report",
        "--input",
        report.to_str().unwrap(),
        "--svg",
        svg2.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Incident #1"));
    assert!(svg2.exists());
    let page = std::fs::read_to_string(dir.path().join("outage-page.html")).unwrap();
    assert!(page.contains("<html lang=\"id\">") && page.contains("WIB"));

    // The page, the SVG and the status document in English, WITA.
    let html = dir.path().join("page-en.html");
    let svg3 = dir.path().join("en.svg");
    let status = dir.path().join("status.json");
    let out = andal(&[
        "report",
        "--input",
        report.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--svg",
        svg3.to_str().unwrap(),
        "--status-json",
        status.to_str().unwrap(),
        "--lang",
        "en",
        "--tz",
        "WITA",
        "--host",
        "registry.example",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<html lang=\"en\">") && page.contains("WITA"));
    assert!(page.contains("Outage 1") && !page.contains("WIB"));
    assert!(std::fs::read_to_string(&svg3).unwrap().contains("WITA"));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&status).unwrap()).unwrap();
    assert_eq!(doc["status_version"], 1);
    assert_eq!(doc["registries"][0]["host"], "registry.example");
    assert_eq!(doc["registries"][0]["state"], "operational");
    assert!(!doc["incidents"].as_array().unwrap().is_empty());
    // A bad zone is a clear error, not a panic.
    let out = andal(&["report", "--input", report.to_str().unwrap(), "--tz", "CET"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("WIB, WITA or WIT"));

    // `andal journal` lists the drill's offline decisions, all reconciled, masked.
    let out = andal(&[
        "journal",
        "--journal",
        dir.path().join("offline.journal").to_str().unwrap(),
        "--key-file",
        dir.path().join("journal.key").to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items.len() as u64, offline);
    assert!(items.iter().all(|i| !i["resolution"].is_null()));
    assert!(
        items
            .iter()
            .all(|i| i["nik_masked"].as_str().unwrap().contains("**********"))
    );

    // A wrong key is a clean one-line error.
    let bad_key = dir.path().join("bad.key");
    std::fs::write(&bad_key, "00".repeat(32)).unwrap();
    let out = andal(&[
        "journal",
        "--journal",
        dir.path().join("offline.journal").to_str().unwrap(),
        "--key-file",
        bad_key.to_str().unwrap(),
    ]);
    assert_clean_failure(&out, 31, "journal");
}

#[test]
fn batch_writes_results_in_input_order_without_personal_data() {
    // The default-seed sandbox, the same one `--sandbox` starts.
    let sample = andal(&["sandbox", "--sample", "4"]);
    assert!(sample.status.success());
    let people: Vec<serde_json::Value> = String::from_utf8_lossy(&sample.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let output = dir.path().join("out.csv");
    let mut csv = String::from("nik,full_name,birth_date\n");
    for (i, p) in people.iter().enumerate() {
        let name = if i == 1 {
            "Nama Lain"
        } else {
            p["full_name"].as_str().unwrap()
        };
        csv += &format!(
            "{},{},{}\n",
            p["nik"].as_str().unwrap(),
            name,
            p["birth_date"].as_str().unwrap()
        );
    }
    csv += "12345,Siapa,1990-01-01\n";
    std::fs::write(&input, csv).unwrap();
    let out = andal(&[
        "batch",
        "--sandbox",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--concurrency",
        "3",
    ]);
    // Row 5 has no verdict (invalid NIK): "some rows undecided", not success.
    assert_eq!(
        out.status.code(),
        Some(21),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 6, "{written}");
    assert!(lines[1].starts_with("1,") && lines[1].contains(",match,"));
    assert!(lines[2].starts_with("2,") && lines[2].contains(",mismatch,"));
    assert!(lines[5].starts_with("5,") && lines[5].contains("invalid_input"));
    for p in &people {
        assert!(!written.contains(p["nik"].as_str().unwrap()));
        assert!(!written.contains(p["full_name"].as_str().unwrap()));
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_andal"))
        .args(["sandbox", "--sample", "1000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // stdout is dropped here, as `| head -1` would.
    let out = child.wait_with_output().unwrap();
    assert!(first.contains("\"nik\""));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

/// Split a README command line into arguments (double quotes group words).
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut cur, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(cur);
    }
    words
}

/// The README's `verify --sandbox` examples run as shown and end with the exit code the
/// README states next to them (the first one must match: exit 0), so they cannot rot.
#[test]
fn readme_verify_examples_give_their_stated_exit_codes() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    let mut seen = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(cmd) = line.strip_prefix("cargo run -p andal-cli -- verify --sandbox ") else {
            continue;
        };
        let stated = lines
            .get(i + 1)
            .and_then(|l| l.split("(exit code ").nth(1))
            .and_then(|r| r.split(')').next())
            .and_then(|n| n.trim().parse::<i32>().ok())
            .unwrap_or_else(|| panic!("README line {} states no exit code", i + 2));
        let mut args = vec!["verify".to_owned(), "--sandbox".to_owned()];
        args.extend(shell_words(cmd));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = andal(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(stated),
            "README line {}: {stdout}{}",
            i + 1,
            String::from_utf8_lossy(&out.stderr)
        );
        let verdict = if stated == 0 { "MATCH" } else { "MISMATCH" };
        assert!(
            stdout.contains(&format!("3316**********01  {verdict}")),
            "{stdout}"
        );
        seen.push(stated);
    }
    assert_eq!(
        seen.first(),
        Some(&0),
        "the first README example must match"
    );
    assert!(seen.contains(&10), "the README shows a mismatch on purpose");
}

/// `andal --help` lists every subcommand with a one-line description.
#[test]
fn help_lists_every_subcommand() {
    let out = andal(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for sub in ["verify", "batch", "sandbox", "drill", "report", "journal"] {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{sub} ")))
            .unwrap_or_else(|| panic!("{sub} missing from --help:\n{help}"));
        assert!(
            line.trim().len() > sub.len() + 10,
            "{sub}: no description: {line}"
        );
    }
    let out = andal(&["batch", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for code in ["21 ", "32 ", "33 ", "as-is"] {
        assert!(help.contains(code), "batch --help lacks {code}:\n{help}");
    }
}
