//! `claimwatch serve --nats` as a user runs it: two server processes on one NATS, a real sample
//! stream with a claim on node A (real tiny.en model), read over HTTP and SSE on node B; and
//! the exit code when the server is not there.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::nats::Nats;
use crate::common;
use crate::live::serve::{alerts_of, ended, tempdir, Serve};
use crate::source::bounded::output_within;

/// A claim said on node A's stream is listed by node B's `GET /alerts` and reaches B's SSE,
/// with the same event id on both nodes.
#[test]
fn an_alert_on_one_node_is_served_by_the_other() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let nats = Nats::start(&root.path().join("js"));
    let url = nats.url();
    let (dir_a, dir_b) = (root.path().join("a"), root.path().join("b"));
    std::fs::create_dir_all(&dir_a).unwrap();
    std::fs::create_dir_all(&dir_b).unwrap();
    // B first, subscribed from the start, so it sees A's stream from its first event.
    let b = Serve::start_with(&dir_b, None, &[], &["--nats", &url, "--node", "b"], None);
    let mut sse = b.sse("/events", Some(0));
    let stream = format!(
        "shop=file:{},lang=en,origin=CN",
        crate::live::serve::clip("en_origin_false").display()
    );
    let a = Serve::start_with(
        &dir_a,
        None,
        &[stream],
        &["--nats", &url, "--node", "a"],
        None,
    );
    let seen = sse.until("shop ended, on node b", ended("shop"));
    let alerts = alerts_of(&seen, "false_origin");
    assert_eq!(alerts.len(), 1, "{}", b.stderr());
    let on_b = alerts[0].json();
    assert_eq!(on_b["stream"], "shop");
    assert_eq!(on_b["declared_origin"], "CN");
    let event_id = alerts[0].id.unwrap();
    assert_eq!(on_b["id"], format!("shop-{event_id}"));

    // A client of node A resuming from just before the alert (Last-Event-ID) gets it first.
    let mut resumed = a.sse("/events", Some(event_id - 1));
    let again = resumed.until("the alert again, on node a", |events| !events.is_empty());
    assert_eq!(again[0].id, Some(event_id));
    assert_eq!(again[0].json(), on_b);

    // Both nodes list it, with the same id.
    for (node, serve) in [("a", &a), ("b", &b)] {
        let (code, listed) = serve.get("/alerts");
        assert_eq!(code, 200, "{node}");
        let ids: Vec<&Value> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["event_id"])
            .collect();
        assert_eq!(ids, [&Value::from(event_id)], "{node}: {listed}");
    }
    a.stop();
    b.stop();
}

/// No NATS at the address: one line on stderr and exit 2, before anything is served.
#[test]
fn serve_without_a_reachable_nats_exits_2() {
    let root = tempdir();
    let gone = Nats::start_without_jetstream(&root.path().join("x")).url();
    let out = output_within(
        Command::new(env!("CARGO_BIN_EXE_claimwatch"))
            .current_dir(common::repo())
            .args(["serve", "--listen", "127.0.0.1:0", "--nats", &gone])
            .arg("--data-dir")
            .arg(root.path().join("data")),
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--nats") && stderr.contains("cannot reach"),
        "{stderr}"
    );
}
