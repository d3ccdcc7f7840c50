//! The HTTP + SSE server over real TCP on 127.0.0.1: a real [`Hub`] in a temporary data
//! directory, real alerts from the shipped rule packs, and a small in-test [`StreamControl`]
//! (the live pipeline's own end-to-end tests use the real one).

pub mod client;
mod http;
mod review;
mod sse;
mod webhook;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use claimwatch::detect::{Alert, Detector, Lang};
use claimwatch::events::{EventBody, Hub, HubLimits, SourceState, StreamStatus};
use claimwatch::live::{AttachRequest, ControlError, ProductRequest, StreamControl, StreamInfo};
use claimwatch::serve::{AppState, Operators};
use claimwatch::transcribe::Segment;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::common::repo;

/// Upper bound for anything a test waits for; generous because the machine is shared.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// An HTTP client whose requests fail after [`PATIENCE`], so an endpoint that never answers
/// fails its test instead of hanging it (reqwest's async client has no timeout by default).
/// Not for SSE bodies read over time: [`client::SseClient`] bounds each read itself.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .unwrap()
}

/// Real alerts with stream times: the scripts of the bundled demo clips, fed line by line (one
/// line = one 5 s segment) through the shipped rule packs.
pub fn demo_alerts() -> &'static [Alert] {
    static ALERTS: OnceLock<Vec<Alert>> = OnceLock::new();
    ALERTS.get_or_init(|| {
        let det = Detector::load(&repo().join("rules"), &repo().join("models/ipadic")).unwrap();
        let mut alerts = Vec::new();
        for (script, lang) in [
            ("samples/ja_demo.txt", Lang::Ja),
            ("samples/en_demo.txt", Lang::En),
        ] {
            let text = std::fs::read_to_string(repo().join(script)).unwrap();
            let mut stream = det.stream(lang, Some("CN"));
            for (i, line) in text.lines().enumerate() {
                let start = i as f64 * 5.0;
                alerts.extend(stream.push(&Segment::new(start, start + 5.0, line)));
            }
            alerts.extend(stream.finish());
        }
        assert!(alerts.len() >= 8, "{alerts:#?}");
        assert!(alerts.iter().all(|a| a.start_s.is_some()));
        alerts
    })
}

pub fn alert(i: usize) -> EventBody {
    let all = demo_alerts();
    EventBody::Alert(all[i % all.len()].clone())
}

pub fn transcript(text: &str) -> EventBody {
    EventBody::Transcript(Segment::new(1.0, 2.0, text))
}

pub fn status(state: SourceState) -> EventBody {
    EventBody::Status(StreamStatus {
        state,
        stream_s: 12.0,
        lag_s: 0.8,
        rtf: 3.5,
        dropped_s: 0.0,
        gap_s: None,
        message: None,
    })
}

/// An alert event as `GET /alerts` lists it before any review: its wire JSON with
/// `review.state` `new`.
pub fn as_listed(event: &claimwatch::events::Event) -> serde_json::Value {
    let mut json = event.wire_json();
    json["review"] = serde_json::json!({
        "state": "new", "by": null, "at": null, "note": null, "event_id": null
    });
    json
}

/// A stand-in for the pipeline: keeps stream records, runs nothing.
#[derive(Default)]
pub struct TestControl {
    streams: Mutex<Vec<StreamInfo>>,
}

impl StreamControl for TestControl {
    fn list(&self) -> Vec<StreamInfo> {
        self.streams.lock().unwrap().clone()
    }

    fn attach(&self, request: AttachRequest) -> Result<StreamInfo, ControlError> {
        let mut streams = self.streams.lock().unwrap();
        if streams.iter().any(|s| s.id == request.id) {
            return Err(ControlError::Conflict(format!(
                "stream {} exists",
                request.id
            )));
        }
        if !request.source.starts_with("file:") {
            return Err(ControlError::BadRequest(format!(
                "unknown source {}",
                request.source
            )));
        }
        let lang = request.lang.unwrap_or_else(|| "auto".into());
        let info = StreamInfo::starting(&request.id, &request.source, &lang, request.origin);
        streams.push(info.clone());
        Ok(info)
    }

    fn detach(&self, id: &str) -> Result<(), ControlError> {
        let mut streams = self.streams.lock().unwrap();
        let before = streams.len();
        streams.retain(|s| s.id != id);
        if streams.len() == before {
            return Err(ControlError::NotFound(format!("no stream {id}")));
        }
        Ok(())
    }

    fn set_product(&self, id: &str, request: ProductRequest) -> Result<StreamInfo, ControlError> {
        let mut streams = self.streams.lock().unwrap();
        let stream = streams
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or_else(|| ControlError::NotFound(format!("no stream {id}")))?;
        stream.origin = request.origin.or(stream.origin.take());
        stream.product = request.name;
        Ok(stream.clone())
    }

    // Comments are tested against the real pipeline (tests/live/comments.rs).
    fn post_comments(
        &self,
        id: &str,
        _batch: Vec<claimwatch::comments::Comment>,
    ) -> Result<claimwatch::live::comments::Taken, ControlError> {
        Err(ControlError::Internal(format!(
            "stream {id}: the in-test control takes no comments"
        )))
    }
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub hub: Hub,
    pub state: AppState,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<anyhow::Result<()>>,
}

pub struct Options {
    pub token: Option<String>,
    /// Named operators; when set, `token` is ignored.
    pub operators: Option<Operators>,
    pub limits: HubLimits,
    pub heartbeat: Duration,
    pub max_sse_clients: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            token: None,
            operators: None,
            limits: HubLimits::default(),
            heartbeat: Duration::from_secs(15),
            max_sse_clients: claimwatch::serve::sse_cap::DEFAULT_MAX_SSE_CLIENTS,
        }
    }
}

impl Server {
    pub async fn start(dir: &Path, options: Options) -> Server {
        let hub = Hub::open_with(dir, options.limits).unwrap();
        let shutdown = CancellationToken::new();
        let mut state = AppState::new(
            Arc::new(hub.clone()),
            Arc::new(TestControl::default()),
            options.token,
            shutdown.clone(),
        );
        if let Some(operators) = options.operators {
            state.operators = Arc::new(operators);
        }
        state.heartbeat = options.heartbeat;
        state.max_sse_clients = options.max_sse_clients;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(claimwatch::serve::serve(listener, state.clone()));
        Server {
            addr,
            hub,
            state,
            shutdown,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Attaches stream `id` (to the in-test control: nothing runs), so it is known before it
    /// has published anything.
    pub fn attach(&self, id: &str) {
        let request = AttachRequest {
            id: id.into(),
            source: "file:samples/en_demo.wav".into(),
            origin: None,
            lang: None,
            health: None,
            comments: None,
            by: Default::default(),
        };
        self.state.control.attach(request).unwrap();
    }

    /// Cancels the token and waits for `serve` to return.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("serve returns after shutdown")
            .unwrap()
            .unwrap();
    }
}
