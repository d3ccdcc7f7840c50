//! The source policy in the real `claimwatch serve` (issue 13): what `POST /streams` may open by
//! default and with the operator's flags, and what a refused or failed source tells an API
//! client. The sources are a real HTTP server on a loopback port and real files; no audio is
//! ever decoded (refused sources send none, the others hang or are silent).
//!
//! Redirects and playlist entries that lead elsewhere are tested against real connections in
//! tests/source/policy.rs: only loopback can be served here, and with
//! `--allow-private-sources` loopback and every other class are allowed together, so through
//! the binary a redirect from an allowed first hop to a refused address cannot be set up.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::serve::{tempdir, Serve};
use crate::common;
use crate::source::server::{Reply, Server};

const PATIENCE: Duration = Duration::from_secs(120);

/// One second of 16 kHz mono silence: a file source that is never decoded (silence is skipped).
fn silent_wav(dir: &Path) -> String {
    let data_len: u32 = 16_000 * 2;
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&16_000u32.to_le_bytes());
    wav.extend_from_slice(&32_000u32.to_le_bytes()); // bytes per second
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.resize(wav.len() + data_len as usize, 0);
    let path = dir.join("silence.wav");
    std::fs::write(&path, wav).unwrap();
    path.display().to_string()
}

fn post(serve: &Serve, id: &str, source: &str) -> (u16, Value) {
    serve.call(
        reqwest::Method::POST,
        "/streams",
        Some(&json!({"id": id, "source": source, "lang": "en"})),
    )
}

/// Waits for the stream's first `down` status and returns its message.
fn first_down_message(serve: &Serve, id: &str) -> String {
    let events =
        serve
            .sse(&format!("/streams/{id}/events"), Some(0))
            .until("a down status", |events| {
                events
                    .last()
                    .is_some_and(|e| e.event == "status" && e.json()["state"] == "down")
            });
    let down = events.last().unwrap().json();
    down["message"].as_str().unwrap().to_string()
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Default policy: an API client gets a 403 with one generic line for a local source (file,
/// bare path, device, stdin) and for loopback, link-local and private addresses however
/// written; the server log gets the reason; the loopback server is never asked. A host name is
/// refused on the address it resolves to: the stream is accepted, but its source goes down with
/// the same generic reason, still without a request. The command line still opens a file.
#[test]
fn api_clients_get_only_public_network_sources_by_default() {
    let root = tempdir();
    let server = Server::start(|_, _| Reply::Hang);
    let port = server.url("").rsplit(':').next().unwrap().to_string();
    let silence = silent_wav(root.path());
    let cli = format!("cli=file:{silence},lang=en");
    let serve = Serve::start_with(root.path(), None, &[cli], &[], None);

    let refused = [
        format!("file:{silence}"),
        silence.clone(),
        "file:/etc/passwd".to_string(),
        "device:default".to_string(),
        "-".to_string(),
        "-?format=s16le&rate=16000&channels=1".to_string(),
        format!("http://127.0.0.1:{port}/internal-admin/delete?all=1"),
        format!("http://[::1]:{port}/live.mp3"),
        format!("http://[::ffff:127.0.0.1]:{port}/live.mp3"),
        format!("http://0x7f.1:{port}/live.mp3"),
        format!("hls:http://127.0.0.1:{port}/live"),
        format!("http://127.0.0.1:{port}/live.m3u8"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://10.0.0.1/live.mp3".to_string(),
        "https://[fd00::1]/live.m3u8".to_string(),
        "http://100.64.0.1/live.mp3".to_string(),
    ];
    for (i, source) in refused.iter().enumerate() {
        let id = format!("s{i}");
        let (code, answer) = post(&serve, &id, source);
        assert_eq!(code, 403, "{source}: {answer}");
        assert_eq!(
            answer,
            json!({"error": format!("stream {id}: source refused by policy")}),
            "{source}"
        );
    }
    let log = serve.stderr();
    for reason in [
        "127.0.0.1 is a loopback address",
        "169.254.169.254 is a link-local address",
        "10.0.0.1 is a private address",
        "--allow-local-sources",
    ] {
        assert!(log.contains(reason), "the log lacks {reason:?}: {log}");
    }
    let (_, listed) = serve.get("/streams");
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["cli"],
        "only the command line's file stream is attached"
    );

    let name = format!("http://localhost:{port}/live.mp3");
    let (code, answer) = post(&serve, "byname", &name);
    assert_eq!(code, 201, "{answer}");
    let message = first_down_message(&serve, "byname");
    assert_eq!(message, format!("{name}: source refused by policy"));
    assert!(serve.stderr().contains("is a loopback address"));
    for path in [
        "/internal-admin/delete?all=1",
        "/live.mp3",
        "/live",
        "/live.m3u8",
    ] {
        assert_eq!(server.hits(path), 0, "{path} was requested");
    }
    serve.stop();
}

/// Each flag opens one door: `--allow-private-sources` lets a stream reach the loopback server
/// (it is asked for the stream) but not a file; `--allow-local-sources` lets an API client open
/// a file but not loopback.
#[test]
fn each_flag_allows_its_own_kind_only() {
    let root = tempdir();
    let server = Server::start(|_, _| Reply::Hang);
    let silence = silent_wav(root.path());
    let file = format!("file:{silence}");
    // (flag, loopback allowed, file allowed)
    let table = [
        ("--allow-private-sources", true, false),
        ("--allow-local-sources", false, true),
    ];
    for (n, (flag, loopback, local)) in table.into_iter().enumerate() {
        let path = format!("/live{n}.mp3");
        let serve = Serve::start_with(root.path(), None, &[], &[flag], None);
        let (code, answer) = post(&serve, "net", &server.url(&path));
        assert_eq!(code, if loopback { 201 } else { 403 }, "{flag}: {answer}");
        let (code, answer) = post(&serve, "local", &file);
        assert_eq!(code, if local { 201 } else { 403 }, "{flag}: {answer}");
        if loopback {
            wait_for("the loopback server is asked", || server.hits(&path) >= 1);
        }
        serve.stop();
        if !loopback {
            assert_eq!(server.hits(&path), 0, "{flag}");
        }
    }
}

/// With both flags, what a source that cannot be opened tells an API client is the same whether
/// the file is missing, a directory, not audio or empty, and whether a port is closed: the server
/// log has the difference.
#[test]
fn open_errors_do_not_say_what_exists() {
    let root = tempdir();
    let flags = ["--allow-local-sources", "--allow-private-sources"];
    let serve = Serve::start_with(root.path(), None, &[], &flags, None);
    let data = common::repo().join("tests/data");
    let files = [
        root.path().join("no/such/file.wav"),
        data.clone(),
        data.join("audio/random_bytes.bin"),
        data.join("audio/empty.wav"),
    ];
    for (i, path) in files.iter().enumerate() {
        let id = format!("f{i}");
        let (code, answer) = post(&serve, &id, &format!("file:{}", path.display()));
        assert_eq!(code, 400, "{}: {answer}", path.display());
        assert_eq!(
            answer,
            json!({"error": format!("stream {id}: source could not be opened")}),
            "{}",
            path.display()
        );
    }
    let log = serve.stderr();
    for detail in ["No such file or directory", "not a recognised audio format"] {
        assert!(log.contains(detail), "the log lacks {detail:?}: {log}");
    }

    // A port nobody listens on: a socket bound for the rest of the test and never listening, so
    // connections are refused and no other process can take the port meanwhile (binding it,
    // closing it and hoping it stays free raced with other tests).
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}/live.mp3", closed.local_addr().unwrap());
    let (code, answer) = post(&serve, "closed", &url);
    assert_eq!(code, 201, "{answer}");
    let message = first_down_message(&serve, "closed");
    assert_eq!(message, format!("{url}: source could not be opened"));
    assert!(
        serve.stderr().contains("Connection refused"),
        "{}",
        serve.stderr()
    );
    serve.stop();
}

/// The operator's `--stream` is held to the same address rule (its redirects and playlist
/// entries are the seller's): a loopback URL without `--allow-private-sources` stops `serve` at
/// start with exit 2 and one line that says why and which flag allows it.
#[test]
fn the_command_line_needs_the_flag_for_private_addresses() {
    let root = tempdir();
    let mut command = Command::new(env!("CARGO_BIN_EXE_claimwatch"));
    command
        .current_dir(common::repo())
        .env_remove("CLAIMWATCH_TOKEN")
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(root.path().join("data"))
        .args(["--stream", "shop=http://127.0.0.1:9/live.mp3,lang=en"]);
    let output =
        crate::source::bounded::output_within(&mut command, std::time::Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    for says in [
        "--stream shop",
        "source refused by policy",
        "127.0.0.1 is a loopback address",
        "--allow-private-sources",
    ] {
        assert!(lines[0].contains(says), "{stderr}");
    }
}
