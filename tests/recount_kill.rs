//! The rebuilds at open, killed halfway: a child process opens a store with
//! another assessment-month start day and other deadlines (so the opening
//! counts every counter row again and rebuilds the deadline queue) and is
//! killed at points spread over its opening; the next opening must rebuild
//! again, and verify and the statistics must agree with the store as it was
//! written.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hotline_store::{GroupBy, Kind, StatsQuery, StatsRow, Store, StoreConfig, Submitted};

use crate::store_props::new_ticket;

const DIR: &str = "HOTLINE_RECOUNT_DIR";
const OTHER: &str = "HOTLINE_RECOUNT_OTHER";
const TICKETS: usize = 6_000;
const ROUNDS: u32 = 16;

/// The configuration the store is written with, or (`other`) one whose
/// assessment months start on the 1st and whose general dispatch deadline
/// is 48 hours: either makes an opening of the other rebuild.
fn config(other: bool) -> StoreConfig {
    let mut config = StoreConfig::default();
    if other {
        config.rates.assessment_month_start_day = 1;
        config.deadlines.dispatch_general_hours = 48.0;
    }
    config
}

/// Run by `a_recount_killed_halfway_runs_again_at_the_next_opening` in a
/// child process: opens the store with the configuration it is given, says
/// so, and shuts it down.
#[test]
#[ignore = "run as a child process by a_recount_killed_halfway_runs_again_at_the_next_opening"]
fn recount_child() {
    let Some(dir) = std::env::var_os(DIR) else {
        return;
    };
    let other = std::env::var(OTHER).is_ok_and(|v| v == "1");
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "OPENING").and_then(|()| stdout.flush());
    let store = Store::open(Path::new(&dir), config(other)).expect("child opens the store");
    let _ = writeln!(stdout, "OPEN").and_then(|()| stdout.flush());
    store.shutdown().expect("child shuts down");
}

fn spawn(dir: &Path, other: bool) -> (Child, mpsc::Receiver<(String, Instant)>) {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "recount_kill::recount_child",
            "--nocapture",
            "--ignored",
        ])
        .env(DIR, dir)
        .env(OTHER, if other { "1" } else { "0" })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().expect("child stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send((line, Instant::now())).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Waits for the line `want` from a child, up to a minute.
fn wait_for(rx: &mpsc::Receiver<(String, Instant)>, want: &str) -> Option<Instant> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok((line, at)) if line == want => return Some(at),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// Statistics of every grouping, on-time figures among them (asked of a
/// store opened with the configuration it was written with).
fn figures(store: &Store) -> Vec<Vec<StatsRow>> {
    [
        GroupBy::Street,
        GroupBy::District,
        GroupBy::Topic,
        GroupBy::Month,
        GroupBy::AssessmentMonth,
    ]
    .into_iter()
    .map(|group_by| {
        store
            .stats(&StatsQuery {
                group_by,
                ..StatsQuery::default()
            })
            .expect("stats")
    })
    .collect()
}

#[test]
fn a_recount_killed_halfway_runs_again_at_the_next_opening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), config(false)).expect("store opens");
    const SLUGS: [&str; 4] = ["water", "roads", "noise", "other"];
    const DISTRICTS: [&str; 4] = ["东城区", "西城区", "朝阳区", "海淀区"];
    let tickets: Vec<_> = (0..TICKETS)
        .map(|n| {
            let received = format!(
                "2024-{:02}-{:02}T{:02}:00:00",
                n % 12 + 1,
                n % 28 + 1,
                n % 24
            );
            let mut t = new_ticket(
                SLUGS[n % 4],
                Some(DISTRICTS[(n / 4) % 4]),
                Kind::ALL[n % 5],
                &received,
                Some(&format!("rc-{n}")),
                None,
                "路灯不亮",
            );
            t.street = Some(format!("{}第{}街道", DISTRICTS[(n / 4) % 4], n % 7));
            t
        })
        .collect();
    for chunk in tickets.chunks(500) {
        let out = store.submit(chunk.to_vec()).expect("submit");
        assert!(out.iter().all(|s| matches!(s, Submitted::Created(_))));
    }
    let want = figures(&store);
    store.shutdown().expect("shutdown");
    drop(store);

    // One opening left to finish, with the other configuration, to aim the
    // kills.
    let (mut child, rx) = spawn(dir.path(), true);
    let opening = wait_for(&rx, "OPENING").expect("child starts opening");
    let open = wait_for(&rx, "OPEN").expect("child opens");
    let full = open.duration_since(opening);
    child.wait().expect("child exits");

    // Each round opens with the configuration the last finished opening did
    // not use, so every opening rebuilds, and is killed a little later into
    // its opening than the round before.
    let mut other = false;
    let mut killed_while_opening = 0;
    for round in 0..ROUNDS {
        let (mut child, rx) = spawn(dir.path(), other);
        let opening = wait_for(&rx, "OPENING").expect("child starts opening");
        let delay = full * (round + 1) / (ROUNDS + 1);
        std::thread::sleep(delay.saturating_sub(opening.elapsed()));
        child.kill().expect("SIGKILL the child");
        child.wait().expect("child reaped");
        let finished = rx.try_iter().any(|(line, _)| line == "OPEN");
        if finished {
            other = !other;
        } else {
            killed_while_opening += 1;
        }
    }
    eprintln!(
        "rebuilds at open: {killed_while_opening} of {ROUNDS} kills landed in an opening of {} ms",
        full.as_millis()
    );
    assert!(
        killed_while_opening >= 2,
        "only {killed_while_opening} of {ROUNDS} kills landed while the child was opening"
    );

    let store = Store::open(dir.path(), config(false)).expect("store opens after the kills");
    assert_eq!(store.ticket_count(), TICKETS);
    let report = store.verify().expect("verify runs");
    assert!(report.is_ok(), "verify after killed rebuilds: {report:?}");
    assert_eq!(
        report.queue_entries as usize, TICKETS,
        "every ticket is open"
    );
    assert_eq!(figures(&store), want, "statistics after killed rebuilds");
    store.shutdown().expect("shutdown");
}
