//! The review workflow end to end: the real binary with the real model raises an alert from a
//! sample clip, an operator named by a tokens file may only read it, the unnamed `--token`
//! reviewer confirms it, and after a SIGTERM and a new start on the same data directory the
//! review is still there, in `GET /alerts` and in the CSV export. Bad `--token` and
//! `--tokens-file` values stop the binary at once with one line and exit 2.
//! The server's own behaviour with a fake pipeline is in tests/serve/review.rs.

use std::net::SocketAddr;
use std::process::Command;

use serde_json::{json, Value};

use super::serve::{alerts_of, clip, ended, tempdir, Serve};
use crate::common;

const REVIEWER: &str = "e2e-reviewer-0123456789";
const VIEWER: &str = "e2e-viewer-secret-0123456789";

/// The address of the newest "listening on" line in `stderr`.
fn address(stderr: &str) -> SocketAddr {
    stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("claimwatch: listening on http://"))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {stderr}"))
}

#[test]
fn a_review_of_a_real_alert_is_kept_across_a_restart_of_the_binary() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let tokens = root.path().join("tokens");
    std::fs::write(&tokens, format!("# compliance team\nvic:viewer={VIEWER}\n")).unwrap();
    let flags = ["--tokens-file", tokens.to_str().unwrap()];
    let stream = format!(
        "shop=file:{},lang=en,origin=CN",
        clip("en_origin_false").display()
    );
    let serve = Serve::start_with(root.path(), Some(REVIEWER), &[stream], &flags, None);
    let stderr = serve.stderr();
    assert!(
        stderr.contains("claimwatch: operators: operator (reviewer), vic (viewer)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(REVIEWER) && !stderr.contains(VIEWER),
        "{stderr}"
    );
    let events = serve
        .sse("/events", Some(0))
        .until("shop ended", ended("shop"));
    let alert = alerts_of(&events, "false_origin")
        .first()
        .map(|e| e.json())
        .unwrap_or_else(|| panic!("no false_origin alert: {events:#?}"));
    let id = alert["id"].as_str().unwrap().to_string();
    let path = format!("/alerts/{id}/review");

    let http = reqwest::blocking::Client::new();
    let addr = address(&serve.stderr());
    let url = |p: &str| format!("http://{addr}{p}");
    let viewer = http
        .post(url(&path))
        .bearer_auth(VIEWER)
        .json(&json!({"state": "dismissed"}))
        .send()
        .unwrap();
    assert_eq!(viewer.status(), 403);
    let read = http.get(url("/alerts")).bearer_auth(VIEWER).send().unwrap();
    assert_eq!(read.status(), 200);

    let note = "原産国は中国、発言は made in Japan";
    let body = json!({"state": "confirmed", "note": note, "from": "new"});
    let (code, review) = serve.call(reqwest::Method::POST, &path, Some(&body));
    assert_eq!(code, 201, "{review}");
    assert_eq!(
        (&review["by"], &review["from"], &review["state"]),
        (&json!("operator"), &json!("new"), &json!("confirmed"))
    );
    let after = review["event_id"].as_u64().unwrap() - 1;
    let heard = serve
        .sse("/events", Some(after))
        .until("the review", |events| !events.is_empty());
    assert_eq!(heard[0].event, "review");
    assert_eq!(heard[0].json()["alert_id"], id.as_str());
    serve.stop();

    let serve = Serve::start_with(root.path(), Some(REVIEWER), &[], &flags, None);
    let addr = address(&serve.stderr());
    let url = |p: &str| format!("http://{addr}{p}");
    let (code, alerts) = serve.get("/alerts?review=confirmed");
    assert_eq!(code, 200);
    let kept: Vec<&Value> = alerts.as_array().unwrap().iter().collect();
    assert_eq!(kept.len(), 1, "{alerts:#}");
    assert_eq!(kept[0]["id"], id.as_str());
    assert_eq!(
        (&kept[0]["review"]["by"], &kept[0]["review"]["note"]),
        (&json!("operator"), &json!(note))
    );
    let (code, refused) = serve.call(
        reqwest::Method::POST,
        &path,
        Some(&json!({"state": "acknowledged"})),
    );
    assert_eq!(code, 409, "{refused}");
    let csv = http
        .get(url("/alerts.csv?stream=shop"))
        .bearer_auth(VIEWER)
        .send()
        .unwrap();
    assert_eq!(csv.status(), 200);
    let bytes = csv.bytes().unwrap();
    let text = std::str::from_utf8(&bytes).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("BOM");
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    let row = rows
        .iter()
        .find(|r| &r[0] == id.as_str())
        .expect("the alert");
    assert_eq!(
        (&row[13], &row[14], &row[16]),
        ("confirmed", "operator", note)
    );
    serve.stop();
}

#[test]
fn bad_tokens_stop_the_binary_with_one_line() {
    let root = tempdir();
    let file = root.path().join("tokens");
    std::fs::write(&file, format!("alice={REVIEWER}\n\nbob:admin={VIEWER}\n")).unwrap();
    let file = file.to_str().unwrap().to_string();
    let alice = format!("alice={VIEWER}");
    // (extra arguments, words in the one line)
    let cases: [(Vec<&str>, String); 4] = [
        (vec!["--token", "short"], "--token: expected SECRET".into()),
        (
            vec!["--tokens-file", &file],
            format!("{file}:3: the role must be viewer or reviewer"),
        ),
        (
            vec!["--tokens-file", "/nonexistent/tokens"],
            "/nonexistent/tokens: cannot read".into(),
        ),
        (
            vec!["--token", &alice, "--tokens-file", &file],
            format!("{file}:1: operator alice is given twice"),
        ),
    ];
    for (args, words) in cases {
        let mut command = Command::new(env!("CARGO_BIN_EXE_claimwatch"));
        command
            .current_dir(common::repo())
            .env_remove("CLAIMWATCH_TOKEN")
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(root.path().join("data"))
            .args(&args);
        let output = crate::source::bounded::output_within(
            &mut command,
            std::time::Duration::from_secs(120),
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(&words), "{args:?}: {stderr}");
        assert!(
            !stderr.contains(REVIEWER) && !stderr.contains(VIEWER),
            "a secret on stderr: {stderr}"
        );
    }
}
