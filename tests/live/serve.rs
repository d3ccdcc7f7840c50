//! `claimwatch serve` end to end: the real binary on a free loopback port with a temporary data
//! directory, the real tiny.en model, real sample clips (from files or from an HTTP server in the
//! test), talked to over real HTTP and SSE, and stopped with SIGTERM.
//!
//! Input: `--stream` flags and API calls. Output checked: SSE events (both endpoints), JSON
//! answers, the event log across a restart, status events of a dropped source, exit codes.
//! The server's own behaviour with a fake pipeline is in tests/serve/; this file checks that the
//! pieces agree when everything is real.

use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use claimwatch::events::{EventBody, Hub};
use claimwatch::transcribe::Segment;
use serde_json::{json, Value};

use crate::common;
use crate::serve::client::{parse_events, SseEvent};
use crate::source::bounded::{join_within, output_within};
use crate::source::server::{Gate, Reply, Server};

/// Upper bound for anything a test waits for. Generous: two shared cores, other builds beside.
/// Never a speed assertion: a healthy run finishes far sooner.
pub(crate) const PATIENCE: Duration = Duration::from_secs(120);

const TOKEN: &str = "e2e-token-0123456789abcdef";

// ---- the server process ----

/// One `claimwatch serve` child. Killed if a test panics with it still running.
pub(crate) struct Serve {
    child: Child,
    addr: SocketAddr,
    token: Option<String>,
    log: PathBuf,
    http: reqwest::blocking::Client,
}

impl Serve {
    /// Starts the binary on port 0 with `root/data` as data dir (stderr appended to
    /// `root/stderr.log`), reads the port it picked from its "listening on" line, and waits
    /// until `/healthz` answers. No port is released and bound again, so no other process can
    /// take it in between.
    fn start(root: &Path, token: Option<&str>, streams: &[String]) -> Serve {
        Serve::start_with(root, token, streams, &[], None)
    }

    /// [`Serve::start`] with more flags and, optionally, a file fed to the server's stdin (the
    /// `-` source).
    pub(crate) fn start_with(
        root: &Path,
        token: Option<&str>,
        streams: &[String],
        flags: &[&str],
        stdin: Option<&Path>,
    ) -> Serve {
        let log = root.join("stderr.log");
        let seen = std::fs::metadata(&log).map_or(0, |m| m.len() as usize);
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_claimwatch"));
        command
            .current_dir(common::repo())
            .env_remove("CLAIMWATCH_TOKEN")
            // One decoding thread: whisper.cpp's threads wait on each other at every step. On
            // two cores shared with other jobs (load ~4), two threads took 20-27 s for a 10 s
            // clip that takes ~1.3 s on an idle machine; one thread has no partner to wait for.
            .args(["serve", "--threads", "1", "--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(root.join("data"))
            .args(flags)
            .stdin(match stdin {
                Some(path) => Stdio::from(std::fs::File::open(path).unwrap()),
                None => Stdio::null(),
            })
            .stdout(Stdio::null())
            .stderr(stderr);
        if let Some(token) = token {
            command.args(["--token", token]);
        }
        for stream in streams {
            command.args(["--stream", stream]);
        }
        // One decoder unless a test asks for more: with two, a stream alone at the decoders
        // decodes with both slots' threads, which is what the single thread above avoids.
        if !flags.contains(&"--decoders") {
            command.args(["--decoders", "1"]);
        }
        let mut child = command.spawn().expect("start claimwatch serve");
        let deadline = Instant::now() + PATIENCE;
        let addr = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let listening = text.get(seen..).unwrap_or_default().lines().find_map(|l| {
                l.strip_prefix("claimwatch: listening on http://")
                    .and_then(|a| a.parse::<SocketAddr>().ok())
            });
            if let Some(addr) = listening {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("serve exited early ({status}): {text}");
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                panic!("no \"listening on\" line within {PATIENCE:?}: {text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut serve = Serve {
            child,
            addr,
            // `--token NAME=SECRET` names an operator; the bearer token is the secret.
            token: token.map(|t| {
                t.split_once('=')
                    .map_or(t, |(_, secret)| secret)
                    .to_string()
            }),
            log,
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        loop {
            if let Ok(Some(status)) = serve.child.try_wait() {
                panic!("serve exited early ({status}): {}", serve.stderr());
            }
            let ready = serve
                .request(reqwest::Method::GET, "/healthz", None)
                .is_ok_and(|(code, _)| code == 200);
            if ready {
                return serve;
            }
            assert!(Instant::now() < deadline, "not ready: {}", serve.stderr());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `http://ADDR`, for a browser.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `GET path` for a body that is not JSON: (status, content type, bytes).
    pub(crate) fn get_bytes(&self, path: &str) -> (u16, String, Vec<u8>) {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .unwrap_or_else(|e| panic!("{path}: {e}\n{}", self.stderr()));
        let code = response.status().as_u16();
        let kind = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (code, kind, response.bytes().unwrap().to_vec())
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Result<(u16, Value)> {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send()?;
        let code = response.status().as_u16();
        let text = response.text()?;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"))
        };
        Ok((code, value))
    }

    pub(crate) fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        self.request(method, path, body)
            .unwrap_or_else(|e| panic!("{path}: {e}\n{}", self.stderr()))
    }

    pub(crate) fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None)
    }

    pub(crate) fn sse(&self, path: &str, last_event_id: Option<u64>) -> Sse {
        Sse::open(self.addr, path, last_event_id, self.token.as_deref())
    }

    /// SIGTERM, then the exit status; panics with stderr when it does not exit 0 in time.
    pub(crate) fn stop(self) {
        self.stop_with("-TERM");
    }

    /// SIGKILL (a crash: nothing handed over, nothing flushed), and waits for the process to go.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends `signal` (a `kill` flag: -TERM, -INT), then checks for exit 0 as [`Serve::stop`].
    fn stop_with(mut self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(sent.success(), "kill {signal} {pid}");
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "no exit after SIGTERM: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        // `status` says which signal, if one ended it.
        assert!(status.success(), "{status}: {}", self.stderr());
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub(crate) fn clip(name: &str) -> PathBuf {
    common::repo().join(format!("samples/{name}.wav"))
}

/// `ID=file:PATH,lang=en[,origin=CC]` for `--stream`, decoded as fast as it reads.
fn file_stream(id: &str, name: &str, origin: Option<&str>) -> String {
    let mut flag = format!("{id}=file:{},lang=en", clip(name).display());
    if let Some(origin) = origin {
        flag.push_str(&format!(",origin={origin}"));
    }
    flag
}

/// The `at_s` of each expected alert of a sample, from its `NAME.expect.toml`.
pub(crate) fn expected_times(name: &str, category: &str) -> Vec<f64> {
    let path = common::repo().join(format!("samples/{name}.expect.toml"));
    let expect: toml::Value = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    expect["alert"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["category"].as_str() == Some(category))
        .map(|a| a["at_s"].as_float().unwrap())
        .collect()
}

// ---- a blocking SSE client over a raw socket ----

/// An SSE response read by hand (HTTP/1.1 chunked), so a test controls exactly when it reads,
/// and a read never blocks longer than the deadline it was given.
pub(crate) struct Sse {
    stream: TcpStream,
    raw: Vec<u8>,
    body: Vec<u8>,
    headers_done: bool,
    queue: VecDeque<SseEvent>,
    ended: bool,
}

impl Sse {
    fn open(addr: SocketAddr, path: &str, last_event_id: Option<u64>, token: Option<&str>) -> Sse {
        Sse::request(
            TcpStream::connect(addr).unwrap(),
            addr,
            path,
            last_event_id,
            token,
        )
    }

    /// A client whose socket takes 4 KiB before it must be read. Set before connecting: a fixed
    /// receive buffer turns off Linux's autotuning (up to tcp_rmem's 32 MiB here), so the server
    /// runs out of room after its own send buffer.
    fn open_small(addr: SocketAddr, path: &str, last_event_id: Option<u64>) -> Sse {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let stream = runtime.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            socket.connect(addr).await.unwrap().into_std().unwrap()
        });
        stream.set_nonblocking(false).unwrap();
        Sse::request(stream, addr, path, last_event_id, None)
    }

    fn request(
        mut stream: TcpStream,
        addr: SocketAddr,
        path: &str,
        last_event_id: Option<u64>,
        token: Option<&str>,
    ) -> Sse {
        stream
            .set_read_timeout(Some(Duration::from_millis(250)))
            .unwrap();
        let mut request =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n");
        if let Some(id) = last_event_id {
            request.push_str(&format!("Last-Event-ID: {id}\r\n"));
        }
        if let Some(token) = token {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        Sse {
            stream,
            raw: Vec::new(),
            body: Vec::new(),
            headers_done: false,
            queue: VecDeque::new(),
            ended: false,
        }
    }

    /// Waits for the response head: from then on the server has subscribed this client, so
    /// events published later reach it.
    fn subscribed(mut self) -> Sse {
        let deadline = Instant::now() + PATIENCE;
        let mut chunk = vec![0u8; 16 * 1024];
        while !self.headers_done {
            assert!(
                Instant::now() < deadline,
                "no SSE response head in {PATIENCE:?}"
            );
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("SSE closed before its head"),
                Ok(n) => {
                    self.raw.extend_from_slice(&chunk[..n]);
                    self.decode();
                    self.queue.extend(parse_events(&mut self.body));
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("SSE read: {e}"),
            }
        }
        self
    }

    /// The next event other than a heartbeat; `None` once the server ended the response.
    fn next(&mut self, deadline: Instant) -> Option<SseEvent> {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            if let Some(event) = self.queue.pop_front() {
                if event.event == "heartbeat" {
                    continue;
                }
                return Some(event);
            }
            if self.ended {
                return None;
            }
            assert!(Instant::now() < deadline, "no SSE event in {PATIENCE:?}");
            match self.stream.read(&mut chunk) {
                Ok(0) => self.ended = true,
                Ok(n) => {
                    self.raw.extend_from_slice(&chunk[..n]);
                    self.decode();
                    self.queue.extend(parse_events(&mut self.body));
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => self.ended = true,
                Err(e) => panic!("SSE read: {e}"),
            }
        }
    }

    /// Events until `done(events so far)` holds (one deadline for all).
    pub(crate) fn until(
        &mut self,
        what: &str,
        mut done: impl FnMut(&[SseEvent]) -> bool,
    ) -> Vec<SseEvent> {
        let deadline = Instant::now() + PATIENCE;
        let mut events = Vec::new();
        while !done(&events) {
            match self.next(deadline) {
                Some(event) => events.push(event),
                None => panic!("SSE ended before {what}: {:#?}", summary(&events)),
            }
        }
        events
    }

    /// Reads until the server ends the response (after SIGTERM): true when it did in time.
    pub(crate) fn ends(&mut self) -> bool {
        let deadline = Instant::now() + PATIENCE;
        while self.next(deadline).is_some() {}
        self.ended
    }

    /// Moves whole chunks of the chunked body from `raw` to `body`; the last chunk ends it.
    fn decode(&mut self) {
        if !self.headers_done {
            let Some(end) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                return;
            };
            let head = String::from_utf8_lossy(&self.raw[..end]).to_ascii_lowercase();
            assert!(head.starts_with("http/1.1 200"), "{head}");
            assert!(head.contains("content-type: text/event-stream"), "{head}");
            assert!(head.contains("transfer-encoding: chunked"), "{head}");
            self.raw.drain(..end + 4);
            self.headers_done = true;
        }
        loop {
            let Some(line_end) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let size_text = String::from_utf8_lossy(&self.raw[..line_end]).to_string();
            let size = usize::from_str_radix(size_text.trim(), 16).expect("chunk size");
            let total = line_end + 2 + size + 2;
            if self.raw.len() < total {
                return;
            }
            if size == 0 {
                self.ended = true;
            }
            self.body
                .extend_from_slice(&self.raw[line_end + 2..line_end + 2 + size]);
            self.raw.drain(..total);
        }
    }
}

/// `type stream [category|state]` of each event, for failure messages.
pub(crate) fn summary(events: &[SseEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let v = e.json();
            let detail = v
                .get("category")
                .or_else(|| v.get("state"))
                .and_then(Value::as_str)
                .unwrap_or("");
            format!("{} {} {} {detail}", e.id.unwrap_or(0), e.event, v["stream"])
        })
        .collect()
}

/// The status event that closes a stream: `state: ended` (published last by its worker).
pub(crate) fn is_end_of(event: &SseEvent, stream: &str) -> bool {
    event.event == "status" && {
        let v = event.json();
        v["stream"] == stream && v["state"] == "ended"
    }
}

/// For [`Sse::until`], which asks after each event: only the newest needs a look (a replay of a
/// large history would otherwise re-parse every event each time).
pub(crate) fn ended(stream: &'static str) -> impl FnMut(&[SseEvent]) -> bool {
    move |events| events.last().is_some_and(|e| is_end_of(e, stream))
}

pub(crate) fn alerts_of<'a>(events: &'a [SseEvent], category: &str) -> Vec<&'a SseEvent> {
    events
        .iter()
        .filter(|e| e.event == "alert" && e.json()["category"] == category)
        .collect()
}

fn ids(events: &[SseEvent]) -> Vec<u64> {
    events.iter().map(|e| e.id.expect("event id")).collect()
}

pub(crate) fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

// ---- tests ----

/// A claim said in a file source reaches `/events` and `/streams/{id}/events` as one alert event
/// with the envelope fields and stream times at the words; the per-stream endpoint carries only
/// its stream; SIGTERM ends open SSE responses and the process exits 0.
#[test]
fn alert_reaches_both_event_endpoints() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let serve = Serve::start(
        root.path(),
        None,
        &[
            file_stream("shop", "en_origin_false", Some("CN")),
            file_stream("quiet", "en_negated", Some("CN")),
        ],
    );
    // From id 0: the streams start with the process, before any client can connect.
    let mut all = serve.sse("/events", Some(0));
    let mut left = 2;
    let everything = all.until("both streams ended", |events| {
        let last = events.last();
        if last.is_some_and(|e| is_end_of(e, "shop") || is_end_of(e, "quiet")) {
            left -= 1;
        }
        left == 0
    });
    let mut one = serve.sse("/streams/shop/events?last_event_id=0", None);
    let shop_only = one.until("shop ended", ended("shop"));

    let alerts = alerts_of(&everything, "false_origin");
    assert_eq!(alerts.len(), 1, "{:#?}", summary(&everything));
    let alert = alerts[0].json();
    assert_eq!(alert["type"], "alert");
    assert_eq!(alert["stream"], "shop");
    assert_eq!(alert["event_id"], alerts[0].id.unwrap());
    assert_eq!(alert["declared_origin"], "CN");
    let at = alert["at"].as_str().unwrap().as_bytes();
    // RFC 3339 UTC: 2026-11-27T04:14:13.123Z
    assert!(
        at.len() >= 20 && at[4] == b'-' && at[10] == b'T' && at.ends_with(b"Z"),
        "at = {:?}",
        alert["at"]
    );
    let (start, end) = (
        alert["start_s"].as_f64().unwrap(),
        alert["end_s"].as_f64().unwrap(),
    );
    let want = expected_times("en_origin_false", "false_origin")[0];
    assert!(
        start <= end && (start - want).abs() <= 1.5,
        "alert at {start}..{end} s, the words at {want} s"
    );
    assert!(
        everything
            .iter()
            .filter(|e| e.event == "alert")
            .all(|e| e.json()["stream"] == "shop"),
        "the negated claims raised an alert: {:#?}",
        summary(&everything)
    );
    assert!(everything.iter().any(|e| e.json()["stream"] == "quiet"));
    assert!(everything
        .iter()
        .any(|e| e.event == "transcript" && e.json()["stream"] == "shop"));

    // The per-stream endpoint: the same alert event, and nothing of the other stream.
    assert!(shop_only.iter().all(|e| e.json()["stream"] == "shop"));
    let same: Vec<_> = shop_only.iter().filter(|e| e.id == alerts[0].id).collect();
    assert_eq!(same.len(), 1);
    assert_eq!(same[0].data, alerts[0].data);
    let all_shop: Vec<&SseEvent> = everything
        .iter()
        .filter(|e| e.json()["stream"] == "shop")
        .collect();
    assert_eq!(
        ids(&shop_only),
        all_shop.iter().map(|e| e.id.unwrap()).collect::<Vec<_>>()
    );

    serve.stop();
    assert!(all.ends(), "/events still open after SIGTERM");
    assert!(one.ends(), "/streams/shop/events still open after SIGTERM");
}

/// Played at real-time pace, a claim is alerted once: from a look at its sentence while it is
/// spoken, or (on a machine too busy to look in time) from the commit, never from both. Whether
/// the look comes first depends on the machine's speed, so that is tested without the server
/// clock in `tests/live/looks.rs`.
#[test]
fn paced_stream_alerts_a_claim_once() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    // "It is made in Japan, and every piece is finished by hand."
    let stream = format!(
        "shop=file:{}?realtime,lang=en,origin=CN",
        clip("en_origin_false").display()
    );
    let serve = Serve::start(root.path(), None, &[stream]);
    let mut all = serve.sse("/events", Some(0));
    let events = all.until("shop ended", ended("shop"));
    // The point is one alert for one claim whichever path (look or commit) raised it, so the
    // count is of that claim's category.
    let alerts = alerts_of(&events, "false_origin");
    assert_eq!(alerts.len(), 1, "{:#?}", summary(&events));
    let alert = alerts[0].json();
    let want = expected_times("en_origin_false", "false_origin")[0];
    let start = alert["start_s"].as_f64().unwrap();
    assert!(
        (start - want).abs() <= 1.5,
        "alert at {start} s, words at {want} s"
    );
    serve.stop();
    assert!(all.ends());
}

/// Reconnecting with the last id seen gives exactly the events after it: the same as a full
/// replay from 0 past that point, none twice, none missing (header and query forms).
#[test]
fn last_event_id_resumes_without_duplicates() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let serve = Serve::start(
        root.path(),
        None,
        &[file_stream("shop", "en_origin_false", Some("CN"))],
    );
    // Read a few while the stream is still being transcribed, then hang up.
    let mut first = serve.sse("/events", Some(0));
    let seen = first.until("three events", |e| e.len() >= 3);
    drop(first);
    let last = seen.last().unwrap().id.unwrap();

    let resumed = serve
        .sse("/events", Some(last))
        .until("shop ended", ended("shop"));
    let by_query = serve
        .sse(&format!("/events?last_event_id={last}"), None)
        .until("shop ended", ended("shop"));
    let full = serve
        .sse("/events", Some(0))
        .until("shop ended", ended("shop"));

    let full_ids = ids(&full);
    assert!(
        full_ids.windows(2).all(|w| w[0] < w[1]),
        "ids not increasing: {full_ids:?}"
    );
    assert_eq!(ids(&seen), full_ids[..seen.len()], "the first read");
    let after: Vec<&SseEvent> = full.iter().filter(|e| e.id.unwrap() > last).collect();
    for (name, got) in [("Last-Event-ID", &resumed), ("?last_event_id", &by_query)] {
        assert_eq!(
            got.iter().collect::<Vec<_>>(),
            after,
            "{name} {last}: {:#?}",
            summary(got)
        );
    }
    assert!(
        !alerts_of(&full, "false_origin").is_empty(),
        "{:#?}",
        summary(&full)
    );
    serve.stop();
}

/// A restart on the same data directory keeps the alerts (same JSON, same ids), and events of
/// the new run get ids above every old one.
#[test]
fn restart_keeps_alerts_and_ids_grow() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let serve = Serve::start(
        root.path(),
        None,
        &[file_stream("shop", "en_origin_false", Some("CN"))],
    );
    let before = serve
        .sse("/events", Some(0))
        .until("shop ended", ended("shop"));
    let (code, old_alerts) = serve.get("/alerts");
    assert_eq!(code, 200);
    let old_alerts = old_alerts.as_array().unwrap().clone();
    assert!(
        old_alerts.iter().any(|a| a["category"] == "false_origin"),
        "{old_alerts:#?}"
    );
    let old_max = *ids(&before).last().unwrap();
    serve.stop();

    let serve = Serve::start(
        root.path(),
        None,
        &[file_stream("again", "en_origin_false", Some("CN"))],
    );
    let (_, health) = serve.get("/healthz");
    assert!(
        health["next_event_id"].as_u64().unwrap() > old_max,
        "{health}"
    );
    let new = serve
        .sse("/events", Some(old_max))
        .until("again ended", ended("again"));
    assert!(
        ids(&new).iter().all(|&id| id > old_max),
        "old max {old_max}: {:?}",
        ids(&new)
    );
    assert!(new.iter().all(|e| e.json()["stream"] == "again"));
    assert!(
        !alerts_of(&new, "false_origin").is_empty(),
        "{:#?}",
        summary(&new)
    );

    let (_, kept) = serve.get("/alerts?stream=shop");
    assert_eq!(kept.as_array().unwrap(), &old_alerts);
    let (_, all) = serve.get("/alerts");
    let all = all.as_array().unwrap();
    assert_eq!(&all[..old_alerts.len()], &old_alerts[..]);
    assert!(all[old_alerts.len()..]
        .iter()
        .all(|a| a["stream"] == "again" && a["event_id"].as_u64().unwrap() > old_max));
    // The whole history replays from 0 across both runs.
    let replay = serve
        .sse("/events", Some(0))
        .until("again ended", ended("again"));
    assert_eq!(ids(&replay)[..before.len()], ids(&before)[..]);
    serve.stop();
}

/// Streams attached and detached over the API run the real pipeline; bad requests are 4xx with
/// a JSON error and change nothing.
#[test]
fn attach_and_detach_over_the_api() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    // A file and a loopback server: both need the operator's leave (tests/serve/policy.rs).
    let flags = ["--allow-local-sources", "--allow-private-sources"];
    let serve = Serve::start_with(root.path(), None, &[], &flags, None);
    let post = |body: Value| serve.call(reqwest::Method::POST, "/streams", Some(&body));
    let delete = |id: &str| serve.call(reqwest::Method::DELETE, &format!("/streams/{id}"), None);
    let listed = || -> Vec<String> {
        let (code, list) = serve.get("/streams");
        assert_eq!(code, 200);
        list.as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(listed().is_empty());

    let source = format!("file:{}", clip("en_origin_false").display());
    let (code, info) = post(json!({"id": "live1", "source": source, "lang": "en", "origin": "CN"}));
    assert_eq!(code, 201, "{info}");
    // Subscribed once attached (an id nobody attached is 404), from the start of the log so
    // nothing published in between is missed.
    let mut events = serve.sse("/streams/live1/events", Some(0)).subscribed();
    assert_eq!(
        (&info["id"], &info["lang"], &info["origin"]),
        (&json!("live1"), &json!("en"), &json!("CN"))
    );
    assert_eq!(listed(), ["live1"]);
    let got = events.until("live1 ended", ended("live1"));
    assert!(
        !alerts_of(&got, "false_origin").is_empty(),
        "{:#?}",
        summary(&got)
    );
    assert!(got.iter().any(|e| e.event == "transcript"));

    // A source whose server never answers: a stream that stays attached (never ends by itself)
    // while the bad requests are tried, and that DELETE must still stop.
    let hung = Server::start(|_, _| Reply::Hang);
    let held = hung.url("/hung.wav");
    let (code, info) = post(json!({"id": "held", "source": held, "lang": "en"}));
    assert_eq!(code, 201, "{info}");
    let bad = [
        (
            json!({"id": "x1", "source": source, "lang": "en", "origin": "Atlantis"}),
            400,
            "unknown country",
        ),
        (
            json!({"id": "x2", "source": source, "lang": "fr"}),
            400,
            "language",
        ),
        (
            json!({"id": "x3", "source": "gopher://host/x", "lang": "en"}),
            400,
            "unsupported scheme",
        ),
        (
            json!({"id": "x4", "source": "file:", "lang": "en"}),
            400,
            "file path is empty",
        ),
        (
            json!({"id": "a b", "source": source, "lang": "en"}),
            400,
            "stream id",
        ),
        (
            json!({"id": "held", "source": source, "lang": "en"}),
            409,
            "already attached",
        ),
        (
            json!({"id": "x5", "source": source, "speed": 2}),
            422,
            "speed",
        ),
    ];
    for (body, want, says) in bad {
        let (code, answer) = post(body.clone());
        let message = answer["error"].as_str().unwrap_or("");
        assert_eq!(code, want, "{body}: {answer}");
        assert!(message.contains(says), "{body}: {answer}");
    }
    let mut ids = listed();
    ids.sort();
    assert_eq!(ids, ["held", "live1"]);

    for id in ["held", "live1"] {
        let (code, answer) = delete(id);
        assert_eq!(code, 204, "DELETE {id}: {answer}");
    }
    assert!(listed().is_empty());
    let (code, answer) = delete("held");
    assert_eq!(code, 404, "{answer}");
    assert!(answer["error"].is_string());
    serve.stop();
    assert!(events.ends());
}

/// A source that blocks while it opens (a FIFO nobody writes yet) holds up only its own attach:
/// `/healthz`, listing and other attaches answer meanwhile (they once waited on the streams
/// lock). Past `--max-streams` an attach gets 503 with `Retry-After`; `/metrics` has the load.
#[test]
fn slow_attach_blocks_nobody_and_capacity_is_enforced() {
    let root = tempdir();
    let fifo = root.path().join("slow.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let flags = [
        "--max-streams",
        "2",
        "--allow-local-sources",
        "--allow-private-sources",
    ];
    let serve = Serve::start_with(root.path(), None, &[], &flags, None);
    let post = |body: Value| serve.call(reqwest::Method::POST, "/streams", Some(&body));

    let slow_body =
        json!({"id": "slow", "source": format!("file:{}", fifo.display()), "lang": "en"});
    let url = serve.url("/streams");
    let slow = std::thread::spawn(move || {
        let answer = reqwest::blocking::Client::new()
            .post(url)
            .json(&slow_body)
            .send()
            .expect("POST slow");
        answer.status().as_u16()
    });
    // Reserved while it opens: listed as starting, and the server keeps answering.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (code, list) = serve.get("/streams");
        assert_eq!(code, 200);
        let starting = list
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == "slow" && s["state"] == "starting");
        if starting {
            break;
        }
        assert!(Instant::now() < deadline, "slow never listed: {list}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(serve.get("/healthz").0, 200);
    let (code, answer) = post(json!({"id": "slow", "source": "file:x.wav", "lang": "en"}));
    assert_eq!(code, 409, "{answer}");

    let hung = Server::start(|_, _| Reply::Hang);
    let (code, answer) = post(json!({"id": "held", "source": hung.url("/hung.wav"), "lang": "en"}));
    assert_eq!(code, 201, "{answer}");
    let refused = serve
        .http
        .post(serve.url("/streams"))
        .json(&json!({"id": "third", "source": hung.url("/other.wav"), "lang": "en"}))
        .send()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 503);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("30")
    );
    let answer: Value = refused.json().unwrap();
    assert!(
        answer["error"].as_str().unwrap().contains("--max-streams"),
        "{answer}"
    );
    let metrics = serve
        .http
        .get(serve.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("claimwatch_decode_load ")),
        "{metrics}"
    );

    // Detached while still opening: the attach gives up once the FIFO opens (here: a writer
    // that closes at once), and the stream does not come back.
    assert_eq!(
        serve.call(reqwest::Method::DELETE, "/streams/slow", None).0,
        204
    );
    drop(std::fs::OpenOptions::new().write(true).open(&fifo).unwrap());
    let code = join_within(slow, PATIENCE, "the slow attach, after DELETE");
    assert!(code == 409 || code == 400, "slow attach answered {code}");
    let (_, list) = serve.get("/streams");
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["held"]);
    serve.stop();
}

/// With `--token` every request needs it (SSE included); a public address without a token is
/// refused at start with exit 2 and one line naming the address.
#[test]
fn token_guards_every_endpoint() {
    let root = tempdir();
    let serve = Serve::start(root.path(), Some(TOKEN), &[]);
    // (Authorization header, status)
    let table = [
        (None, 401),
        (Some("Bearer wrong-token-0123456789abcdef".to_string()), 401),
        (Some(TOKEN.to_string()), 401),
        (Some(format!("Bearer {TOKEN}")), 200),
    ];
    for path in ["/healthz", "/streams", "/alerts", "/metrics"] {
        for (auth, want) in &table {
            let want = *want;
            let mut request = serve.http.get(serve.url(path));
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            let response = request.send().unwrap();
            assert_eq!(response.status().as_u16(), want, "{path} with {auth:?}");
            if want == 401 {
                assert_eq!(response.headers()["www-authenticate"], "Bearer");
                let body: Value = response.json().unwrap();
                assert!(body["error"].as_str().unwrap().contains("token"), "{body}");
            }
        }
    }
    // The SSE client sends the token; the raw socket without it gets a 401.
    let mut sse = serve.sse("/events", Some(0)).subscribed();
    let mut raw = TcpStream::connect(serve.addr).unwrap();
    raw.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        raw,
        "GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    raw.read_to_string(&mut answer)
        .unwrap_or_else(|e| panic!("no whole answer to /events without a token: {e}: {answer}"));
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    serve.stop();
    assert!(sse.ends());

    // Refused before binding, so port 0 is as good as any.
    let public = "0.0.0.0:0".to_string();
    let output = output_within(
        Command::new(env!("CARGO_BIN_EXE_claimwatch"))
            .current_dir(common::repo())
            .env_remove("CLAIMWATCH_TOKEN")
            .args(["serve", "--listen", &public, "--data-dir"])
            .arg(root.path().join("public")),
        PATIENCE,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains(&public) && lines[0].contains("token"),
        "{stderr}"
    );

    // Start-up mistakes are one line and exit 2, before anything is bound or created.
    let file = root.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = busy.local_addr().unwrap().to_string();
    let fresh = root.path().join("never-created");
    let cases: [(Vec<String>, &str); 4] = [
        (
            vec!["--data-dir".into(), file.display().to_string()],
            "this is a file",
        ),
        (
            vec![
                "--listen".into(),
                busy_addr.clone(),
                "--data-dir".into(),
                fresh.display().to_string(),
            ],
            "Address already in use",
        ),
        (vec!["--max-load".into(), "0".into()], "--max-load"),
        (vec!["--max-streams".into(), "0".into()], "--max-streams"),
    ];
    let cases = cases.map(|(mut args, says)| {
        if !args.contains(&"--listen".to_string()) {
            args.extend(["--listen".to_string(), "127.0.0.1:0".to_string()]);
        }
        (args, says)
    });
    for (args, says) in cases {
        let output = output_within(
            Command::new(env!("CARGO_BIN_EXE_claimwatch"))
                .current_dir(common::repo())
                .env_remove("CLAIMWATCH_TOKEN")
                .arg("serve")
                .args(&args),
            PATIENCE,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert!(
        !fresh.exists(),
        "a server that could not listen created its data dir"
    );
}

/// A client that stops reading while the server owes it more than the kernel's socket buffers
/// hold does not hold up another client: the other gets the live alert; then the slow one reads
/// and gets every event (ids 1 to the end, no gap) including that alert.
#[test]
fn slow_client_does_not_block_others() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    // A history larger than both sockets' buffers can absorb, written through the library. The
    // kernel's share is host-dependent (the server's send buffer autotunes up to tcp_wmem), so
    // the number of events is fixed and each event's size grows with the buffers instead: the
    // count stays far under the hub's 20 000 kept transcripts per stream on any host, so the
    // whole history replays from id 1.
    const SEGMENTS: usize = 2_000;
    let buffers = socket_buffer_max();
    let filler = "filler words of an earlier stream ";
    let text = filler.repeat((2 * buffers).div_ceil(SEGMENTS) / filler.len() + 1);
    let hub = Hub::open(&root.path().join("data")).unwrap();
    let mut history = 0;
    let n = SEGMENTS;
    for i in 0..n {
        let segment = Segment {
            start_s: i as f64,
            end_s: i as f64 + 1.0,
            text: text.clone(),
            token_times: Vec::new(),
        };
        let event = hub.publish("old", EventBody::Transcript(segment)).unwrap();
        history += event.wire_json().to_string().len();
    }
    assert!(history > 2 * buffers, "{history} bytes of history");
    hub.sync().unwrap();
    drop(hub);

    let serve = Serve::start_with(root.path(), None, &[], &["--allow-local-sources"], None);
    let mut slow = Sse::open_small(serve.addr, "/events", Some(0)).subscribed();
    let source = format!("file:{}", clip("en_origin_false").display());
    let (code, info) = serve.call(
        reqwest::Method::POST,
        "/streams",
        Some(&json!({"id": "shop", "source": source, "lang": "en", "origin": "CN"})),
    );
    assert_eq!(code, 201, "{info}");
    // From the start of the log: the stream's own events only (the history is another's).
    let mut fast = serve.sse("/streams/shop/events", Some(0)).subscribed();
    let live = fast.until("shop ended", ended("shop"));
    let alerts = alerts_of(&live, "false_origin");
    assert_eq!(alerts.len(), 1, "{:#?}", summary(&live));

    // The premise: the server really is stuck on the slow connection (bytes waiting in its send
    // queue that the client has no room for), not done with it.
    let stuck = send_queue(serve.addr, slow.stream.local_addr().unwrap());
    assert!(stuck > 64 << 10, "{stuck} bytes queued to the slow client");

    let everything = slow.until("shop ended", ended("shop"));
    let got = ids(&everything);
    let want: Vec<u64> = (1..=*got.last().unwrap()).collect();
    assert_eq!(got.len(), want.len(), "the slow client missed events");
    assert_eq!(got, want);
    assert!(got.len() > n, "{} events, history {n}", got.len());
    let same: Vec<_> = everything.iter().filter(|e| e.id == alerts[0].id).collect();
    assert_eq!(same.len(), 1);
    assert_eq!(same[0].data, alerts[0].data);
    serve.stop();
}

/// Bytes the server's socket to `client` has not had acknowledged yet (`tx_queue` of
/// /proc/net/tcp, where ports are hex).
fn send_queue(server: SocketAddr, client: SocketAddr) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port = |field: &str| u16::from_str_radix(field.rsplit(':').next().unwrap(), 16).unwrap();
    table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|f| port(f[1]) == server.port() && port(f[2]) == client.port())
        .map(|f| usize::from_str_radix(f[4].split(':').next().unwrap(), 16).unwrap())
        .unwrap_or_else(|| panic!("no server socket to {client} in /proc/net/tcp"))
}

/// What the kernel can hold for the slow client: the server's send buffer at its autotuning
/// maximum (tcp_wmem) plus the client's fixed small receive buffer (doubled by Linux) and slack.
fn socket_buffer_max() -> usize {
    let wmem = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().last()?.parse().ok())
        .unwrap_or(8 << 20);
    wmem + (64 << 10)
}

/// An HTTP source cut mid-clip and then served again: status `down` then `up` with a gap, and
/// the claim said after the reconnection is still caught (with a stream time after the gap).
#[test]
fn dropped_source_comes_back() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let wav = std::fs::read(clip("en_origin_false")).unwrap();
    // 44-byte header, 16 kHz 16-bit mono: the first 4 s, before "made in Japan" (6 s).
    let cut = 44 + 4 * 16_000 * 2;
    let server = Server::start(move |_, nth| match nth {
        1 => Reply::Cut("audio/wav", wav.clone(), cut),
        2 => Reply::Body("audio/wav", wav.clone()),
        // Later retries fail (backing off), so the clip is not repeated without end.
        _ => Reply::Status(503),
    });
    let flag = format!("shop={},lang=en,origin=CN", server.url("/live.wav"));
    let serve = Serve::start_with(
        root.path(),
        None,
        &[flag],
        &["--allow-private-sources"],
        None,
    );
    let events = serve
        .sse("/events", Some(0))
        .until("the alert after a gap", |events| {
            let gap = events
                .iter()
                .position(|e| e.event == "status" && e.json()["gap_s"].is_number());
            gap.is_some_and(|i| !alerts_of(&events[i..], "false_origin").is_empty())
        });
    let statuses: Vec<Value> = events
        .iter()
        .filter(|e| e.event == "status")
        .map(SseEvent::json)
        .collect();
    let states: Vec<&str> = statuses
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    let down = states.iter().position(|s| *s == "down");
    let up_again = down.and_then(|d| states[d..].iter().position(|s| *s == "up").map(|u| u + d));
    assert!(up_again.is_some(), "states {states:?}");
    let gap = statuses.iter().find(|s| s["gap_s"].is_number()).unwrap();
    assert!(gap["gap_s"].as_f64().unwrap() > 0.0, "{gap}");
    assert!(statuses[down.unwrap()]["message"].is_string());
    let gap_at = gap["stream_s"].as_f64().unwrap();
    let gap_id = events
        .iter()
        .find(|e| e.event == "status" && e.json()["gap_s"].is_number())
        .unwrap()
        .id
        .unwrap();
    // Transcript continues after the gap, on the stream clock (past the gap).
    assert!(events
        .iter()
        .any(|e| e.event == "transcript" && e.id.unwrap() > gap_id));
    // The cut came before the claim: the alert is from the audio served after the reconnection.
    let alerts = alerts_of(&events, "false_origin");
    assert!(
        alerts.iter().all(|e| e.id.unwrap() > gap_id),
        "{:#?}",
        summary(&events)
    );
    let alert = alerts[0].json();
    let start = alert["start_s"].as_f64().unwrap();
    assert!(
        start >= gap_at,
        "alert at {start} s, gap reported at {gap_at} s"
    );
    assert!(server.hits("/live.wav") >= 2);
    serve.stop();
}

/// `PUT /streams/{id}/product` applies to speech after it: a stream attached without an origin,
/// re-labelled CN before the claim's audio has even been sent, raises the false-origin alert.
/// The HTTP source holds back everything after the first 3 s of the clip (the claim is at about
/// 6 s) until the PUT has answered, so no wall clock decides the outcome.
#[test]
fn product_origin_applies_to_later_speech() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let serve = Serve::start_with(root.path(), None, &[], &["--allow-private-sources"], None);
    let wav = std::fs::read(clip("en_origin_false")).unwrap();
    let want = expected_times("en_origin_false", "false_origin")[0];
    // 16 kHz mono 16-bit after a 44-byte header: 32 000 bytes a second.
    let held_back_from = 44 + 3 * 32_000;
    assert!(want > 4.5, "the claim must come after the part sent first");
    let gate = Gate::default();
    let opened = gate.clone();
    let clip_server = Server::start(move |_, nth| match nth {
        1 => Reply::Gated("audio/wav", wav.clone(), held_back_from, opened.clone()),
        // An HTTP source reconnects when the body ends: refuse, so the clip is said once.
        _ => Reply::Status(503),
    });
    let source = clip_server.url("/shop.wav");
    let (code, info) = serve.call(
        reqwest::Method::POST,
        "/streams",
        Some(&json!({"id": "shop", "source": source, "lang": "en"})),
    );
    assert_eq!(code, 201, "{info}");
    assert!(info["origin"].is_null(), "{info}");
    let mut events = serve.sse("/streams/shop/events", Some(0)).subscribed();
    let (code, info) = serve.call(
        reqwest::Method::PUT,
        "/streams/shop/product",
        Some(&json!({"origin": "CN", "name": "ceramic mug"})),
    );
    assert_eq!(code, 200, "{info}");
    assert_eq!(
        (&info["origin"], &info["product"]),
        (&json!("CN"), &json!("ceramic mug"))
    );
    let put_at = info["stream_s"].as_f64().unwrap();
    assert!(put_at <= 3.05, "only 3 s were sent before the PUT: {info}");
    gate.open();
    let got = events.until("the false-origin alert", |events| {
        !alerts_of(events, "false_origin").is_empty()
    });
    let alert = alerts_of(&got, "false_origin")[0].json();
    assert_eq!(alert["declared_origin"], "CN", "{:#?}", summary(&got));
    let start = alert["start_s"].as_f64().unwrap();
    assert!(
        (start - want).abs() <= 1.5,
        "alert at {start} s, words at {want} s"
    );
    let (code, unknown) = serve.call(
        reqwest::Method::PUT,
        "/streams/nope/product",
        Some(&json!({"origin": "CN"})),
    );
    assert_eq!(code, 404, "{unknown}");
    let (code, bad) = serve.call(
        reqwest::Method::PUT,
        "/streams/shop/product",
        Some(&json!({"origin": "Atlantis"})),
    );
    assert_eq!(code, 400, "{bad}");
    serve.stop();
    assert!(events.ends());
}

// ---- README promises: webhook, Japanese stream, stdin source, SIGINT ----

/// A webhook receiver on 127.0.0.1:0: answers 200 to every POST and keeps the JSON bodies.
struct Receiver {
    url: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

impl Receiver {
    fn start() -> Receiver {
        use std::io::{BufRead, BufReader};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let kept = kept.clone();
                std::thread::spawn(move || {
                    conn.set_read_timeout(Some(PATIENCE)).unwrap();
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    // Keep-alive: one request after another on the same connection.
                    loop {
                        let mut length = 0;
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                            let lower = line.to_ascii_lowercase();
                            if let Some(v) = lower.strip_prefix("content-length:") {
                                length = v.trim().parse().unwrap();
                            }
                        }
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        kept.lock()
                            .unwrap()
                            .push(serde_json::from_slice(&body).unwrap());
                        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                        if conn.write_all(ok.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Receiver { url, bodies }
    }

    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

/// README: `--webhook URL` POSTs each alert as JSON; `lang=ja` streams are transcribed and
/// checked in Japanese; SIGINT shuts down cleanly (exit 0). The webhook starts before the
/// `--stream` stream, so even its first alert is delivered, and it carries what SSE carries.
#[test]
fn webhook_gets_a_japanese_streams_alerts_and_sigint_stops_the_server() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let receiver = Receiver::start();
    let stream = format!(
        "shop=file:{},lang=ja,origin=CN",
        clip("ja_origin_false").display()
    );
    let serve = Serve::start_with(
        root.path(),
        None,
        &[stream],
        &["--webhook", &receiver.url],
        None,
    );
    let events = serve
        .sse("/events", Some(0))
        .until("shop ended", ended("shop"));
    let alerts = alerts_of(&events, "false_origin");
    // 日本製 and 国産, both said of a product declared CN.
    let want = expected_times("ja_origin_false", "false_origin");
    assert!(!alerts.is_empty(), "{:#?}", summary(&events));
    for alert in &alerts {
        let start = alert.json()["start_s"].as_f64().unwrap();
        assert!(
            want.iter().any(|w| (start - w).abs() <= 1.5),
            "alert at {start} s, claims at {want:?}"
        );
    }
    let deadline = Instant::now() + PATIENCE;
    let sent: Vec<Value> = events
        .iter()
        .filter(|e| e.event == "alert")
        .map(SseEvent::json)
        .collect();
    while receiver.bodies().len() < sent.len() {
        assert!(
            Instant::now() < deadline,
            "webhook got {} of {} alerts",
            receiver.bodies().len(),
            sent.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(receiver.bodies(), sent);
    serve.stop_with("-INT");
    assert!(
        serve_log(root.path()).contains("shutting down"),
        "{}",
        serve_log(root.path())
    );
}

/// README: `-` reads any container from stdin; the alert comes from the piped audio.
#[test]
fn stdin_source_alerts() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let serve = Serve::start_with(
        root.path(),
        None,
        &["shop=-,lang=en,origin=CN".to_string()],
        &[],
        Some(&clip("en_origin_false")),
    );
    let events = serve
        .sse("/events", Some(0))
        .until("shop ended", ended("shop"));
    let alerts = alerts_of(&events, "false_origin");
    assert_eq!(alerts.len(), 1, "{:#?}", summary(&events));
    let start = alerts[0].json()["start_s"].as_f64().unwrap();
    let want = expected_times("en_origin_false", "false_origin")[0];
    assert!(
        (start - want).abs() <= 1.5,
        "alert at {start} s, words at {want} s"
    );
    serve.stop();
}

fn serve_log(root: &Path) -> String {
    std::fs::read_to_string(root.join("stderr.log")).unwrap_or_default()
}

/// Two processes on one data directory would hand out the same event ids and block every later
/// start: the second `serve` exits 2 at once with one line, and the first keeps serving.
#[test]
fn a_second_server_on_the_same_data_dir_is_refused() {
    let root = tempdir();
    let first = Serve::start(root.path(), None, &[]);
    // Exits on its own at once; the limit only keeps a server that went on running from
    // hanging the test.
    let second = output_within(
        Command::new(env!("CARGO_BIN_EXE_claimwatch"))
            .current_dir(common::repo())
            .env_remove("CLAIMWATCH_TOKEN")
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(root.path().join("data")),
        PATIENCE,
    );
    let (status, stderr) = (second.status, String::from_utf8_lossy(&second.stderr));
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("another claimwatch process"), "{stderr}");
    let (code, _) = first.get("/healthz");
    assert_eq!(code, 200);
    first.stop();
}
