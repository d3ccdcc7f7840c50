//! The durable log over real files and real HTTP: segments across a restart, `--retain`, an old
//! single-file log after an upgrade, and `claimwatch log check` as a user runs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use claimwatch::events::segments::{self, SEGMENT_DIR};
use claimwatch::events::{HubLimits, LogConfig, Retain};
use serde_json::Value;

use crate::common::data;
use crate::serve::client::SseClient;
use crate::serve::{alert, transcript, Options, Server};
use crate::source::bounded::output_within;

fn limits(segment_bytes: u64, retain: Retain) -> HubLimits {
    HubLimits {
        log: LogConfig {
            segment_bytes,
            retain,
            ..LogConfig::default()
        },
        ..HubLimits::default()
    }
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    segments::list(&dir.join(SEGMENT_DIR))
        .unwrap()
        .into_iter()
        .map(|s| s.path)
        .collect()
}

async fn get_json(url: &str) -> Value {
    crate::serve::http()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn event_ids(alerts: &Value) -> Vec<u64> {
    alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["event_id"].as_u64().unwrap())
        .collect()
}

/// `claimwatch log check DIR`: (exit code, stdout, stderr).
fn log_check(dir: &Path) -> (i32, String, String) {
    let out = output_within(
        Command::new(env!("CARGO_BIN_EXE_claimwatch"))
            .args(["log", "check"])
            .arg(dir),
        Duration::from_secs(60),
    );
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_after_several_segments_keeps_every_alert_in_id_order() {
    let dir = tempfile::tempdir().unwrap();
    let options = || Options {
        limits: limits(4096, Retain::Forever),
        ..Options::default()
    };
    let server = Server::start(dir.path(), options()).await;
    let mut published = Vec::new();
    for i in 0..30 {
        published.push(server.hub.publish("shop-1", alert(i)).unwrap().id);
        server
            .hub
            .publish("shop-1", transcript(&format!("line {i}")))
            .unwrap();
    }
    server.stop().await;
    assert!(
        segment_files(dir.path()).len() >= 3,
        "{:?}",
        segment_files(dir.path())
    );

    let server = Server::start(dir.path(), options()).await;
    let alerts = get_json(&server.url("/alerts")).await;
    assert_eq!(event_ids(&alerts), published);
    let next = server.hub.publish("shop-1", alert(0)).unwrap();
    assert_eq!(next.id, 61);
    // A client replaying from the start gets every event of every segment, in order.
    let mut replay = SseClient::connect(&server.url("/events"), &[("Last-Event-ID", "0")]).await;
    let ids: Vec<u64> = replay
        .take(61)
        .await
        .iter()
        .map(|e| e.id.unwrap())
        .collect();
    assert_eq!(ids, (1..=61).collect::<Vec<_>>());
    server.stop().await;
    let (code, stdout, stderr) = log_check(dir.path());
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("61 events") && stdout.contains("sound"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_by_size_removes_old_segments_but_never_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let options = || Options {
        limits: limits(2048, Retain::Bytes(6000)),
        ..Options::default()
    };
    let server = Server::start(dir.path(), options()).await;
    for i in 0..40 {
        server.hub.publish("shop-1", alert(i)).unwrap();
    }
    let files = segment_files(dir.path());
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert!(total <= 6000 + 2048, "{total} bytes in {files:?}");
    let first_kept = segments::list(&dir.path().join(SEGMENT_DIR)).unwrap()[0].first_id;
    assert!(first_kept > 1, "nothing was deleted: {files:?}");
    server.stop().await;

    // The newest segment stays even when it alone is over the limit.
    let server = Server::start(
        dir.path(),
        Options {
            limits: limits(1 << 20, Retain::Bytes(1)),
            ..Options::default()
        },
    )
    .await;
    assert_eq!(server.hub.publish("shop-1", alert(0)).unwrap().id, 41);
    let files = segment_files(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    server.stop().await;
    // What is left is sound; the deleted front is not a problem.
    let (code, stdout, _) = log_check(dir.path());
    assert_eq!(code, 0, "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_by_age_removes_segments_last_written_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        Options {
            limits: limits(2048, Retain::Forever),
            ..Options::default()
        },
    )
    .await;
    for i in 0..20 {
        server.hub.publish("shop-1", alert(i)).unwrap();
    }
    server.stop().await;
    let files = segment_files(dir.path());
    assert!(files.len() >= 3, "{files:?}");
    // The two oldest segments were last written 40 days ago.
    let old = SystemTime::now() - Duration::from_secs(40 * 86_400);
    for file in &files[..2] {
        std::fs::File::options()
            .append(true)
            .open(file)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let thirty_days = Retain::Age(Duration::from_secs(30 * 86_400));
    let server = Server::start(
        dir.path(),
        Options {
            limits: limits(2048, thirty_days),
            ..Options::default()
        },
    )
    .await;
    assert_eq!(segment_files(dir.path()), files[2..]);
    assert_eq!(server.hub.publish("shop-1", alert(0)).unwrap().id, 21);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_single_file_log_is_still_served_after_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    // Written by the version before segments: 3 alerts, 2 transcript lines, ids 1 to 5.
    let legacy = data("events/v1-events.jsonl");
    std::fs::copy(&legacy, dir.path().join("events.jsonl")).unwrap();
    let (code, stdout, _) = log_check(dir.path());
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("old single-file"), "{stdout}");

    let server = Server::start(dir.path(), Options::default()).await;
    let alerts = get_json(&server.url("/alerts")).await;
    assert_eq!(event_ids(&alerts), [1, 3, 5]);
    let transcript = get_json(&server.url("/streams/shop-1/transcript")).await;
    assert_eq!(transcript.as_array().unwrap().len(), 2);
    assert_eq!(server.hub.publish("shop-1", alert(0)).unwrap().id, 6);
    server.stop().await;
    assert!(!dir.path().join("events.jsonl").exists());
    let moved = dir.path().join(SEGMENT_DIR).join(segments::file_name(1));
    let text = std::fs::read_to_string(moved).unwrap();
    // Moved, not rewritten: the old lines are there byte for byte, the new one after them.
    assert!(text.starts_with(&std::fs::read_to_string(&legacy).unwrap()));
    assert_eq!(text.lines().count(), 6);
}

#[test]
fn log_check_names_the_file_and_line_of_a_bad_middle_line() {
    let dir = tempfile::tempdir().unwrap();
    let seg_dir = dir.path().join(SEGMENT_DIR);
    std::fs::create_dir(&seg_dir).unwrap();
    let good = std::fs::read_to_string(data("events/v1-events.jsonl")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines[2] = "{\"id\":3,\"stream\":\"shop-1\",\"at\":";
    let bad = lines.join("\n") + "\n";
    let path = seg_dir.join(segments::file_name(1));
    // (file content, exit code, words in stdout)
    let cases = [
        (good.as_str(), 0, "sound".to_string()),
        (bad.as_str(), 1, format!("{}:3: unreadable", path.display())),
    ];
    for (content, want, words) in cases {
        std::fs::write(&path, content).unwrap();
        let (code, stdout, stderr) = log_check(dir.path());
        assert_eq!(code, want, "{stdout}{stderr}");
        assert!(stdout.contains(&words), "{stdout}");
        assert!(stdout.lines().count() <= 25, "{stdout}");
    }
    // Nothing to read: a usage/IO error, exit 2, one line.
    let (code, stdout, stderr) = log_check(&dir.path().join("missing"));
    assert_eq!(code, 2, "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("missing"), "{stderr}");
}

#[test]
fn a_bad_retain_value_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["30", "forever", "0d"] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_claimwatch"));
        command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--retain",
                bad,
                "--data-dir",
            ])
            .arg(dir.path());
        let out = output_within(&mut command, Duration::from_secs(60));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("--retain") && stderr.contains("30d"),
            "{stderr}"
        );
    }
}
