//! A cluster as a platform runs it: three `claimwatch serve --nats` nodes (real tiny.en), six
//! live broadcasts ([`radio`](super::radio), paced on the wall clock) attached through one
//! node, and one node SIGKILLed mid-stream.
//!
//! Checked: the streams spread over the nodes; the dead node's streams go on elsewhere, each
//! with a `status` stating the gap; every claim said after the failover window is alerted
//! exactly once in the shared history, and no claim twice; an SSE client of a surviving node
//! that reconnects with its last id misses nothing; the killed node restarted rejoins and takes
//! the next stream; a stream detached on one node stops on the node that monitors it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use claimwatch::events::clock::parse_rfc3339;
use serde_json::{json, Value};

use super::nats::Nats;
use super::radio::{Radio, Slot};
use crate::common;
use crate::live::serve::{tempdir, Serve};

/// Lease TTL of the nodes (the default).
const TTL_S: f64 = 10.0;
/// Where "made in Japan" falls in en_origin_false (its sidecar's `at_s`).
const CLAIM_IN_CLIP_S: f64 = 6.0;
/// An alert belongs to a claim whose words its `said_at` is at most this much before (the
/// utterance's start is dated)...
const MATCH_BEFORE_S: f64 = 3.0;
/// ...or at most this much after (margin for a machine so loaded that the source thread itself
/// reads late). Claims are 12 s apart, so no alert can match two.
const MATCH_AFTER_S: f64 = 8.0;
/// After a kill, claims from this long on must be alerted: the lease TTL, then a new node
/// connecting and its first decode.
const FAILOVER_WINDOW_S: f64 = TTL_S + 12.0;
/// Bound on the whole run; never a speed assertion.
const PATIENCE: Duration = Duration::from_secs(420);

/// Where each program's claims are, in program seconds: en_origin_false at these starts,
/// shifted by one second per stream so the decodes of six streams do not all coincide.
const SLOTS_S: [f64; 4] = [2.0, 36.0, 48.0, 60.0];

fn program(index: usize) -> Vec<Slot> {
    SLOTS_S
        .iter()
        .map(|at| Slot {
            clip: "en_origin_false",
            at_s: at + index as f64,
        })
        .collect()
}

fn claims(index: usize) -> Vec<f64> {
    program(index)
        .iter()
        .map(|s| s.at_s + CLAIM_IN_CLIP_S)
        .collect()
}

fn node(root: &std::path::Path, nats: &Nats, name: &str) -> Serve {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    Serve::start_with(
        &dir,
        None,
        &[],
        &[
            "--nats",
            &nats.url(),
            "--node",
            name,
            // The broadcasts are on loopback.
            "--allow-private-sources",
            // Three nodes decode on two shared cores: late is fine, dropped audio is not.
            "--max-lag",
            "600",
        ],
        None,
    )
}

fn attach(serve: &Serve, id: &str, url: &str) -> Value {
    let body = json!({"id": id, "source": url, "lang": "en", "origin": "CN"});
    let (code, answer) = serve.call(reqwest::Method::POST, "/streams", Some(&body));
    assert_eq!(code, 201, "{answer}\n{}", serve.stderr());
    answer
}

/// Stream id → node, from a node's `/streams`, once every one of `ids` has a node.
fn placement(serve: &Serve, ids: &[String]) -> BTreeMap<String, String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (code, listed) = serve.get("/streams");
        assert_eq!(code, 200);
        let placed: BTreeMap<String, String> = listed
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| Some((s["id"].as_str()?.into(), s["node"].as_str()?.into())))
            .collect();
        if ids.iter().all(|id| placed.contains_key(id)) {
            return placed;
        }
        assert!(Instant::now() < deadline, "not all placed: {listed}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every alert in the history, as a surviving node lists it.
fn alerts(serve: &Serve) -> Vec<Value> {
    let (code, listed) = serve.get("/alerts?limit=1000");
    assert_eq!(code, 200, "{listed}");
    listed.as_array().unwrap().clone()
}

/// Program seconds of each alert of `stream` (when its words were said).
fn alert_positions(all: &[Value], radio: &Radio, stream: &str) -> Vec<f64> {
    all.iter()
        .filter(|a| a["stream"] == stream && a["category"] == "false_origin")
        .map(|a| {
            let said = parse_rfc3339(a["said_at"].as_str().expect("said_at")).unwrap();
            radio.position(said)
        })
        .collect()
}

fn matching(positions: &[f64], claim: f64) -> usize {
    positions
        .iter()
        .filter(|p| (-MATCH_BEFORE_S..=MATCH_AFTER_S).contains(&(**p - claim)))
        .count()
}

/// Waits until every program's last claim has been said and alerted (or the patience ran
/// out: the checks after say what is missing), then a little longer for late duplicates.
/// Returns the alerts then listed by `serve`.
fn alerts_after_the_last_claim(serve: &Serve, radio: &Radio, ids: &[String]) -> Vec<Value> {
    let last_claim = (0..ids.len())
        .filter_map(|i| claims(i).last().copied())
        .fold(0.0, f64::max);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let all = alerts(serve);
        let done = radio.position(SystemTime::now()) > last_claim + MATCH_AFTER_S
            && ids.iter().enumerate().all(|(i, id)| {
                let positions = alert_positions(&all, radio, id);
                matching(&positions, *claims(i).last().unwrap()) > 0
            });
        if done || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    std::thread::sleep(Duration::from_secs(5));
    alerts(serve)
}

/// No claim of stream `i` alerted twice; each claim `must` say must be alerted, once.
fn check_claims(all: &[Value], radio: &Radio, i: usize, id: &str, must: impl Fn(f64) -> bool) {
    let positions = alert_positions(all, radio, id);
    for claim in claims(i) {
        let n = matching(&positions, claim);
        assert!(
            n <= 1,
            "{id}: the claim at {claim} s alerted {n} times: {positions:?}"
        );
        if must(claim) {
            assert_eq!(n, 1, "{id}: the claim at {claim:.1} s: {positions:?}");
        }
    }
}

#[test]
fn a_node_killed_mid_stream_loses_no_claim_after_failover() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let nats = Nats::start(&root.path().join("js"));
    let names = ["a", "b", "c"];
    let mut nodes: BTreeMap<&str, Serve> = names
        .iter()
        .map(|n| (*n, node(root.path(), &nats, n)))
        .collect();
    let radio = Radio::start((0..7).map(program).collect());
    let ids: Vec<String> = (0..6).map(|i| format!("shop{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        attach(&nodes["a"], id, &radio.url(i));
    }
    let placed = placement(&nodes["c"], &ids);
    for name in names {
        let held = placed.values().filter(|n| *n == name).count();
        assert!(held >= 1, "node {name} holds none: {placed:?}");
    }

    // Every stream is alerting before the kill.
    let deadline = Instant::now() + PATIENCE;
    while !ids
        .iter()
        .all(|id| !alert_positions(&alerts(&nodes["b"]), &radio, id).is_empty())
    {
        assert!(
            Instant::now() < deadline,
            "first alerts: {:?}",
            alerts(&nodes["b"])
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let victim = placed["shop0"].clone();
    let moved: Vec<String> = placed
        .iter()
        .filter(|(_, n)| **n == victim)
        .map(|(id, _)| id.clone())
        .collect();
    let witness = *names.iter().find(|n| **n != victim).unwrap();
    let mut sse = nodes[witness].sse("/events", Some(0));
    let mut seen = sse.until("the history so far", |events| !events.is_empty());
    nodes.remove(victim.as_str()).unwrap().kill();
    let killed_at = SystemTime::now();
    let killed_pos = radio.position(killed_at);

    // The dead node's streams come back on the others, each with a status naming the gap.
    let deadline = Instant::now() + PATIENCE;
    let mut takeovers: BTreeMap<String, Value> = BTreeMap::new();
    while takeovers.len() < moved.len() {
        let more = sse.until("more events", |events| !events.is_empty());
        for event in &more {
            let v = event.json();
            let taken = event.event == "status"
                && v["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("taken over"));
            if taken {
                takeovers.insert(v["stream"].as_str().unwrap().to_string(), v);
            }
        }
        seen.extend(more);
        assert!(Instant::now() < deadline, "takeovers: {takeovers:?}");
    }
    for id in &moved {
        let status = &takeovers[id];
        assert!(status["gap_s"].as_f64().unwrap() > 0.0, "{status}");
        let at = parse_rfc3339(status["at"].as_str().unwrap()).unwrap();
        let failover = at.duration_since(killed_at).unwrap_or_default();
        eprintln!("failover of {id}: {failover:?} after the kill; {status}");
        // A functional bound (three lease lifetimes), not a speed figure.
        assert!(failover.as_secs_f64() < 3.0 * TTL_S, "{id}: {failover:?}");
    }
    let now_placed = placement(&nodes[witness], &ids);
    for id in &moved {
        assert_ne!(now_placed[id], victim, "{id} still on the dead node");
    }

    // The SSE client drops and resumes from its last id.
    let last_seen = seen.last().and_then(|e| e.id).unwrap();
    drop(sse);
    let mut resumed = nodes[witness].sse("/events", Some(last_seen));

    // The killed node comes back under its name and takes the next stream.
    let victim_name: &str = names.iter().find(|n| **n == victim).unwrap();
    nodes.insert(victim_name, node(root.path(), &nats, victim_name));
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, cluster) = nodes[witness].get("/cluster");
        let live: Vec<&str> = cluster["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n["node"].as_str())
            .collect();
        if live.len() == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "{cluster}");
        std::thread::sleep(Duration::from_millis(200));
    }
    attach(&nodes[witness], "shop6", &radio.url(6));
    let with_seventh = placement(&nodes[witness], &[String::from("shop6")]);
    assert_eq!(with_seventh["shop6"], victim, "the emptiest node takes it");

    // Until every program's last claim has been said and decoded.
    let all = alerts_after_the_last_claim(&nodes[witness], &radio, &ids);
    for (i, id) in ids.iter().enumerate() {
        check_claims(&all, &radio, i, id, |claim| {
            !moved.contains(id) || claim >= killed_pos + FAILOVER_WINDOW_S
        });
        if moved.contains(id) {
            let after_window = claims(i)
                .iter()
                .filter(|c| **c >= killed_pos + FAILOVER_WINDOW_S)
                .count();
            assert!(
                after_window >= 1,
                "{id}: the kill came too late to test failover"
            );
        }
    }

    // The resumed client saw every event after its last id, as the full history has them.
    let final_id = nodes[witness].get("/healthz").1["next_event_id"]
        .as_u64()
        .unwrap()
        - 1;
    let rest = resumed.until("the rest of the history", |events| {
        events
            .last()
            .and_then(|e| e.id)
            .is_some_and(|id| id >= final_id)
    });
    let mut full = nodes[witness].sse("/events", Some(last_seen));
    let replay = full.until("the history again", |events| {
        events
            .last()
            .and_then(|e| e.id)
            .is_some_and(|id| id >= final_id)
    });
    let ids_of = |events: &[crate::serve::client::SseEvent]| -> Vec<u64> {
        events.iter().filter_map(|e| e.id).collect()
    };
    assert_eq!(ids_of(&rest), ids_of(&replay));

    // A stream detached on one node stops on the node that monitors it.
    let owner = placement(&nodes[witness], &ids)["shop1"].clone();
    let other = *names.iter().find(|n| **n != owner).unwrap();
    let (code, answer) = nodes[other].call(reqwest::Method::DELETE, "/streams/shop1", None);
    assert_eq!(code, 204, "{answer}");
    let mut sse = nodes[owner.as_str()].sse("/streams/shop1/events", Some(final_id));
    sse.until("shop1 detached", |events| {
        events.iter().any(|e| {
            let v = e.json();
            e.event == "status" && v["state"] == "ended" && v["message"] == "detached"
        })
    });
    let (_, listed) = nodes[other].get("/streams");
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["id"] != "shop1"),
        "{listed}"
    );
    for (_, serve) in nodes {
        serve.stop();
    }
}

/// NATS itself killed and started again on its store while two nodes monitor two streams: the
/// nodes reconnect, keep their streams (no second node takes one), and every claim said after
/// NATS is back is alerted once.
#[test]
fn nats_restarted_under_running_streams_and_the_nodes_go_on() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let mut nats = Nats::start(&root.path().join("js"));
    let names = ["a", "b"];
    let nodes: BTreeMap<&str, Serve> = names
        .iter()
        .map(|n| (*n, node(root.path(), &nats, n)))
        .collect();
    let radio = Radio::start((0..2).map(program).collect());
    let ids: Vec<String> = (0..2).map(|i| format!("shop{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        attach(&nodes["b"], id, &radio.url(i));
    }
    let placed = placement(&nodes["a"], &ids);
    let deadline = Instant::now() + PATIENCE;
    while !ids
        .iter()
        .all(|id| !alert_positions(&alerts(&nodes["a"]), &radio, id).is_empty())
    {
        assert!(
            Instant::now() < deadline,
            "first alerts: {:?}",
            alerts(&nodes["a"])
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    nats.restart();
    let back_pos = radio.position(SystemTime::now());
    // Both nodes see each other again, and each stream is where it was.
    let deadline = Instant::now() + PATIENCE;
    for name in names {
        loop {
            let (_, cluster) = nodes[name].get("/cluster");
            let live = cluster["nodes"].as_array().map_or(0, Vec::len);
            if live == 2 {
                break;
            }
            assert!(Instant::now() < deadline, "{name}: {cluster}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    assert_eq!(placement(&nodes["b"], &ids), placed);

    let all = alerts_after_the_last_claim(&nodes["a"], &radio, &ids);
    for (i, id) in ids.iter().enumerate() {
        check_claims(&all, &radio, i, id, |claim| {
            claim >= back_pos + MATCH_BEFORE_S
        });
    }
    // Nobody took a stream over: the leases held through the outage.
    let final_id = nodes["a"].get("/healthz").1["next_event_id"]
        .as_u64()
        .unwrap()
        - 1;
    let history = nodes["a"]
        .sse("/events", Some(0))
        .until("the whole history", |events| {
            events
                .last()
                .and_then(|e| e.id)
                .is_some_and(|id| id >= final_id)
        });
    let takeovers: Vec<Value> = history
        .iter()
        .map(|e| e.json())
        .filter(|v| {
            v["message"]
                .as_str()
                .is_some_and(|m| m.contains("taken over"))
        })
        .collect();
    assert!(takeovers.is_empty(), "{takeovers:?}");
    assert_eq!(placement(&nodes["a"], &ids), placed);

    // Chat posted to the node that does not monitor the stream is judged by the one that does.
    for (id, recorder) in &placed {
        let other = *names.iter().find(|n| *n != recorder).unwrap();
        let batch = json!([
            {"id": "c1", "user": "troll42", "text": "you are a stupid idiot"},
            {"id": "c2", "user": "fan", "text": "can I pay with PayPal?"},
        ]);
        let path = format!("/streams/{id}/comments");
        let (code, taken) = nodes[other].call(reqwest::Method::POST, &path, Some(&batch));
        assert_eq!(code, 200, "{taken}");
        assert_eq!(taken["accepted"], 2, "{taken}");
        assert_eq!(taken["alerts"].as_array().map(Vec::len), Some(1), "{taken}");
        let (code, again) = nodes[other].call(reqwest::Method::POST, &path, Some(&batch));
        assert_eq!((code, &again["repeated"]), (200, &json!(2)), "{again}");
    }

    // Each node serves the evidence clips the other recorded.
    for (id, recorder) in &placed {
        let asker = *names.iter().find(|n| *n != recorder).unwrap();
        let alert = all.iter().find(|a| a["stream"] == id.as_str()).unwrap();
        let path = format!("/alerts/{}/clip", alert["id"].as_str().unwrap());
        let (code, kind, wav) = nodes[asker].get_bytes(&path);
        assert_eq!(
            (code, kind.as_str()),
            (200, "audio/wav"),
            "{path} on {asker}"
        );
        assert_eq!(&wav[..4], b"RIFF");
    }

    // A node stopped on purpose hands its streams over at once (no lease to wait out).
    let mut nodes = nodes;
    let leaving = placed["shop0"].clone();
    let staying = *names.iter().find(|n| **n != leaving).unwrap();
    nodes.remove(leaving.as_str()).unwrap().stop();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let now = placement(&nodes[staying], &ids);
        if now.values().all(|n| n == staying) {
            break;
        }
        assert!(Instant::now() < deadline, "{now:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    for (_, serve) in nodes {
        serve.stop();
    }
}
