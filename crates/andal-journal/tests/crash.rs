//! Crash test: a child process (this test binary re-run in child mode) appends
//! records and prints every acknowledged sequence number; the parent kills it
//! with SIGKILL at random moments (seeded), reopens the journal and checks
//! that every acknowledged record is intact and nothing corrupt is returned.
//!
//! SIGKILL loses the process, not the page cache: this tests the write
//! protocol and recovery (torn frames, partially written batches, kill during
//! open/truncate). Power-loss durability rests on `fdatasync`, see docs.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use andal_journal::{Journal, JournalError, JournalKey, JournalOptions};

const ENV_PATH: &str = "ANDAL_JOURNAL_CRASH_CHILD";
const ENV_MODE: &str = "ANDAL_JOURNAL_CRASH_MODE";
const ENV_RUN: &str = "ANDAL_JOURNAL_CRASH_RUN";
const KILLS_PER_MODE: u32 = 110;
const RUNS_PER_FILE: u32 = 22;
const CAP_PER_CHILD: u64 = 3000;

fn key() -> JournalKey {
    JournalKey::from_bytes([0xC4; 32])
}

/// Self-describing payload: "r<run> t<thread> c<counter>|" + deterministic filler.
fn payload(run: u64, thread: u64, counter: u64) -> Vec<u8> {
    let mut v = format!("r{run} t{thread} c{counter}|").into_bytes();
    let len = ((run * 7 + thread * 3 + counter * 13) % 200) as usize;
    v.extend((0..len).map(|i| (i as u64 ^ counter ^ (run << 3)) as u8));
    v
}

/// Parses the header of a payload and checks the whole payload regenerates.
fn parse_payload(p: &[u8]) -> Option<(u64, u64, u64)> {
    let bar = p.iter().position(|&b| b == b'|')?;
    let head = std::str::from_utf8(&p[..bar]).ok()?;
    let mut it = head.split(' ');
    let run = it.next()?.strip_prefix('r')?.parse().ok()?;
    let thread = it.next()?.strip_prefix('t')?.parse().ok()?;
    let counter = it.next()?.strip_prefix('c')?.parse().ok()?;
    (payload(run, thread, counter) == p).then_some((run, thread, counter))
}

/// Child mode: only does something when started by `crash_kill_loop`.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(ENV_PATH) else {
        return;
    };
    let group = std::env::var(ENV_MODE).unwrap() == "group";
    let run: u64 = std::env::var(ENV_RUN).unwrap().parse().unwrap();
    // Odd runs write each frame in 7-byte pieces so kills land mid-frame.
    let opts = JournalOptions::default()
        .group_commit(group)
        .torn_write_testing(run % 2 == 1);
    let (journal, _) = loop {
        match Journal::open(&path, &key(), opts.clone()) {
            Ok(j) => break j,
            // The previous child is dead, but be tolerant of lock release latency.
            Err(JournalError::Locked) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => panic!("child open: {e}"),
        }
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "READY").unwrap();
        out.flush().unwrap();
    }
    let threads = if group { 4 } else { 1 };
    std::thread::scope(|s| {
        for t in 0..threads {
            let journal = &journal;
            s.spawn(move || {
                for c in 0..CAP_PER_CHILD / threads {
                    let seq = journal.append(&payload(run, t, c)).unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ACK {seq} {run} {t} {c}").unwrap();
                    out.flush().unwrap();
                }
            });
        }
    });
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Small seeded xorshift (deterministic kill points, no extra dependency).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Stats {
    kills: u32,
    acked: usize,
    unacked_survivors: usize,
    killed_before_ready: u32,
    torn_tails: u32,
}

fn run_mode(dir: &Path, group: bool, seed: u64) -> Stats {
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng(seed);
    let mut stats = Stats {
        kills: 0,
        acked: 0,
        unacked_survivors: 0,
        killed_before_ready: 0,
        torn_tails: 0,
    };
    let mut acked: HashMap<u64, (u64, u64, u64)> = HashMap::new();
    let mut path = dir.to_path_buf();
    let mut prev_len = 0u64;
    for run in 0..KILLS_PER_MODE as u64 {
        if run % RUNS_PER_FILE as u64 == 0 {
            path = dir.join(format!(
                "crash-{}-{run}.journal",
                if group { "group" } else { "plain" }
            ));
            acked.clear();
            prev_len = 0;
        }
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(ENV_PATH, &path)
            .env(ENV_MODE, if group { "group" } else { "plain" })
            .env(ENV_RUN, run.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        if rng.below(10) == 0 {
            // Kill early: during start-up, open, recovery or truncation.
            std::thread::sleep(Duration::from_micros(rng.below(6000)));
            stats.killed_before_ready += 1;
        } else {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let line = rx
                    .recv_timeout(deadline - Instant::now())
                    .expect("child never became READY");
                let ready = line.ends_with("READY"); // libtest may prefix "test crash_child ... "
                lines.push(line);
                if ready {
                    break;
                }
            }
            std::thread::sleep(Duration::from_micros(rng.below(15_000)));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        stats.kills += 1;

        for line in &lines {
            if let Some(rest) = line.strip_prefix("ACK ") {
                let v: Vec<u64> = rest.split(' ').map(|x| x.parse().unwrap()).collect();
                assert_eq!(v[1], run);
                let prev = acked.insert(v[0], (v[1], v[2], v[3]));
                assert!(prev.is_none(), "seq {} acknowledged twice", v[0]);
            }
        }

        // Recover and verify.
        let (journal, report) = Journal::open(&path, &key(), JournalOptions::default())
            .unwrap_or_else(|e| panic!("reopen after kill {run} failed: {e}"));
        stats.torn_tails += u32::from(report.truncated_bytes > 0);
        // A kill only ever cuts a write short: never a complete frame that
        // fails its check ("may have been acknowledged") nor an emptied file.
        assert!(
            !report.may_have_lost_acknowledged(),
            "kill {run}: {report:?}"
        );
        let records = journal.records().unwrap();
        let mut seen = 0;
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.seq, i as u64 + 1);
            let id = parse_payload(&r.payload)
                .unwrap_or_else(|| panic!("garbage record at seq {} after kill {run}", r.seq));
            match acked.get(&r.seq) {
                Some(want) => {
                    assert_eq!(*want, id, "seq {} holds the wrong record", r.seq);
                    seen += 1;
                }
                None if r.seq > prev_len => stats.unacked_survivors += 1,
                None => {}
            }
        }
        assert_eq!(
            seen,
            acked.len(),
            "acknowledged record lost after kill {run}"
        );
        for seq in acked.keys() {
            assert!(
                *seq <= records.len() as u64,
                "acknowledged seq {seq} missing"
            );
        }
        prev_len = records.len() as u64;
        drop(journal);
        stats.acked += lines.iter().filter(|l| l.starts_with("ACK ")).count();
    }
    stats
}

#[test]
fn crash_kill_loop() {
    if std::env::var(ENV_PATH).is_ok() {
        return; // we are a child
    }
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let started = Instant::now();
    let mut total_kills = 0;
    for (group, seed) in [(false, 0x5EED_0001u64), (true, 0x5EED_0002u64)] {
        let s = run_mode(dir.path(), group, seed);
        eprintln!(
            "crash test group_commit={group}: kills={} (before READY: {}), acknowledged={}, \
             recovered-but-unacknowledged={}, torn tails truncated={}",
            s.kills, s.killed_before_ready, s.acked, s.unacked_survivors, s.torn_tails
        );
        assert!(s.acked > 0);
        total_kills += s.kills;
    }
    assert!(total_kills >= 200);
    eprintln!("crash test: {total_kills} kills in {:?}", started.elapsed());
}
