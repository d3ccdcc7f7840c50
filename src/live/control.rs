//! What the live pipeline offers whoever controls it (the HTTP server, the command line): a
//! [`StreamControl`] to list, attach, detach and re-label streams; the [manager](super::manager)
//! implements it.
//! Requests in are the JSON bodies of `POST /streams` and `PUT /streams/{id}/product`; answers out
//! are [`StreamInfo`] snapshots or a [`ControlError`] that the server maps to an HTTP status.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::comments::Comment;
use crate::events::{HealthCondition, SourceState};
use crate::live::comments::Taken;
use crate::live::health::HealthConfig;

/// `POST /streams` body: start monitoring `source` under the name `id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachRequest {
    pub id: String,
    pub source: String,
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
    /// Health thresholds (silence, lag, clipping); defaults for what is not given.
    #[serde(default)]
    pub health: Option<HealthConfig>,
    /// The stream's chat as JSON lines (a file, `-` or an http(s) URL), read into its comment
    /// desk as `POST /streams/{id}/comments` batches are.
    #[serde(default)]
    pub comments: Option<String>,
    /// Who asks. Never read from or written to JSON, so a request body is always an API
    /// client's; only the command line builds [`Requester::Operator`] requests.
    #[serde(skip)]
    pub by: Requester,
}

/// Who attaches a stream: the source policy trusts the operator (`serve --stream`) with local
/// sources and detailed errors, and an API client with neither unless the operator says so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Requester {
    #[default]
    Api,
    Operator,
}

/// `PUT /streams/{id}/product` body: the product now on sale and its declared origin.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductRequest {
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// A snapshot of one monitored stream.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StreamInfo {
    pub id: String,
    pub source: String,
    pub lang: String,
    pub origin: Option<String>,
    pub product: Option<String>,
    pub state: SourceState,
    /// Seconds of stream time received (audio plus gaps).
    pub stream_s: f64,
    /// How far the transcript is behind the audio received, in seconds.
    pub lag_s: f64,
    /// Audio seconds transcribed per wall second over a recent window.
    pub rtf: f64,
    /// Audio seconds skipped to keep the lag bounded.
    pub dropped_s: f64,
    /// Share of the shared decoder this stream needs: required decode seconds per wall second
    /// (what admission control sums over streams).
    #[serde(default)]
    pub load: f64,
    /// Alerts raised so far, by category name.
    pub alerts: BTreeMap<String, u64>,
    /// Alerts raised while their phrase was still being spoken that the phrase's final
    /// transcript did not repeat.
    #[serde(default)]
    pub unconfirmed_alerts: u64,
    /// Health conditions active now (`health` events say when each started).
    #[serde(default)]
    pub health: Vec<HealthCondition>,
    /// Loudness of the loudest 100 ms frame of the last second of audio received, dBFS (the
    /// console's level meter); `None` before any audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_dbfs: Option<f64>,
    /// In a cluster (`serve --nats`): the node monitoring the stream now; `None` while no node
    /// holds it (waiting for one with room) and outside a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl StreamInfo {
    /// A stream just attached: nothing received, decoded or raised yet.
    pub fn starting(id: &str, source: &str, lang: &str, origin: Option<String>) -> StreamInfo {
        StreamInfo {
            id: id.to_string(),
            source: source.to_string(),
            lang: lang.to_string(),
            origin,
            product: None,
            state: SourceState::Starting,
            stream_s: 0.0,
            lag_s: 0.0,
            rtf: 0.0,
            dropped_s: 0.0,
            load: 0.0,
            alerts: BTreeMap::new(),
            unconfirmed_alerts: 0,
            health: Vec::new(),
            level_dbfs: None,
            node: None,
        }
    }
}

/// Why a control call failed; the variant picks the HTTP status (404, 409, 400, 403, 503, 500).
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{0}")]
    NotFound(String),
    /// The source policy refuses the source.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    /// No capacity for it now (decode load, stream count); worth retrying later.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

/// What the live pipeline offers the server. Methods may block briefly (opening a source), so the
/// server calls them through `spawn_blocking`.
pub trait StreamControl: Send + Sync + 'static {
    /// Every stream the server answers for (in a cluster: all of the cluster's).
    fn list(&self) -> Vec<StreamInfo>;
    /// The streams monitored by this process (what its `/metrics` reports); outside a cluster
    /// the same as [`list`](StreamControl::list).
    fn local(&self) -> Vec<StreamInfo> {
        self.list()
    }
    /// In a cluster, this node's view of it (`GET /cluster`); `None` outside one.
    fn cluster(&self) -> Option<serde_json::Value> {
        None
    }
    fn attach(&self, request: AttachRequest) -> Result<StreamInfo, ControlError>;
    fn detach(&self, id: &str) -> Result<(), ControlError>;
    fn set_product(&self, id: &str, request: ProductRequest) -> Result<StreamInfo, ControlError>;
    /// Takes a batch of chat comments for stream `id` (see [`crate::live::comments`]).
    fn post_comments(&self, id: &str, batch: Vec<Comment>) -> Result<Taken, ControlError>;
}
