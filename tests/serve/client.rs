//! Test clients: an SSE reader over reqwest, and a raw TCP one (HTTP/1.1 chunked by hand) whose
//! receive buffer is tiny, to play a client that stops reading.

use std::collections::VecDeque;
use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::PATIENCE;

/// One SSE event as a browser's EventSource would see it.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<u64>,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {}", self.data))
    }
}

/// Takes every complete event (ended by a blank line) out of `buf`.
pub fn parse_events(buf: &mut Vec<u8>) -> Vec<SseEvent> {
    let mut out = Vec::new();
    while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
        let block: Vec<u8> = buf.drain(..end + 2).collect();
        let block = String::from_utf8(block).expect("SSE is UTF-8");
        let mut event = SseEvent {
            event: "message".into(),
            id: None,
            data: String::new(),
        };
        let mut fields = 0;
        for line in block.lines() {
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            fields += 1;
            match name {
                "event" => event.event = value.to_string(),
                "id" => event.id = Some(value.parse().expect("numeric id")),
                "data" => {
                    if !event.data.is_empty() {
                        event.data.push('\n');
                    }
                    event.data.push_str(value);
                }
                _ => fields -= 1, // comments and blank lines
            }
        }
        if fields > 0 {
            out.push(event);
        }
    }
    out
}

/// An SSE connection read through reqwest.
pub struct SseClient {
    response: reqwest::Response,
    buf: Vec<u8>,
    queue: VecDeque<SseEvent>,
}

impl SseClient {
    pub async fn connect(url: &str, headers: &[(&str, &str)]) -> SseClient {
        let mut request = reqwest::Client::new().get(url);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        // Only the response head is bounded here (a whole-request timeout would cut the stream);
        // each later read has its own limit.
        let response = tokio::time::timeout(PATIENCE, request.send())
            .await
            .unwrap_or_else(|_| panic!("{url}: no response head within {PATIENCE:?}"))
            .unwrap();
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "{url}"
        );
        SseClient {
            response,
            buf: Vec::new(),
            queue: VecDeque::new(),
        }
    }

    /// The next event, heartbeats included; `None` when the server ended the stream.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .expect("an SSE event in time")
                .expect("SSE body");
            let chunk = chunk?;
            self.buf.extend_from_slice(&chunk);
            self.queue.extend(parse_events(&mut self.buf));
        }
    }

    /// The next `n` events other than heartbeats. One deadline for all of them: heartbeats keep
    /// a connection busy, so a per-read timeout would wait forever for an event that never comes.
    pub async fn take(&mut self, n: usize) -> Vec<SseEvent> {
        let mut out = Vec::with_capacity(n);
        let all = async {
            while out.len() < n {
                let event = self.next().await.expect("stream still open");
                if event.event != "heartbeat" {
                    out.push(event);
                }
            }
        };
        if tokio::time::timeout(PATIENCE, all).await.is_err() {
            panic!("{} of {n} events in {PATIENCE:?}", out.len());
        }
        out
    }
}

/// A raw HTTP/1.1 SSE request on a socket with a 4 KiB receive buffer, not read until asked.
pub struct RawSse {
    stream: TcpStream,
    raw: Vec<u8>,
    body: Vec<u8>,
    headers_done: bool,
}

impl RawSse {
    pub async fn open(addr: SocketAddr, path: &str) -> RawSse {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(addr).await.unwrap();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        RawSse {
            stream,
            raw: Vec::new(),
            body: Vec::new(),
            headers_done: false,
        }
    }

    /// Reads until `n` non-heartbeat events arrived (one deadline for all, as in
    /// [`SseClient::take`]).
    pub async fn take(&mut self, n: usize) -> Vec<SseEvent> {
        let mut out = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let all = async {
            while out.len() < n {
                let read = self.stream.read(&mut chunk).await.unwrap();
                assert!(read > 0, "server closed after {} events", out.len());
                self.raw.extend_from_slice(&chunk[..read]);
                self.decode();
                out.extend(
                    parse_events(&mut self.body)
                        .into_iter()
                        .filter(|e| e.event != "heartbeat"),
                );
            }
        };
        if tokio::time::timeout(PATIENCE, all).await.is_err() {
            panic!("{} of {n} events in {PATIENCE:?}", out.len());
        }
        out
    }

    /// Moves whole chunks of the chunked body from `raw` to `body`.
    fn decode(&mut self) {
        if !self.headers_done {
            let Some(end) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                return;
            };
            let head = String::from_utf8_lossy(&self.raw[..end]).to_string();
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            assert!(
                head.to_ascii_lowercase()
                    .contains("transfer-encoding: chunked"),
                "{head}"
            );
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
            self.body
                .extend_from_slice(&self.raw[line_end + 2..line_end + 2 + size]);
            self.raw.drain(..total);
        }
    }
}
