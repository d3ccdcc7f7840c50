//! `--webhook URL`: POSTs every alert (the same JSON object as the SSE `data:`) to a URL, at least
//! once. The only file that touches reqwest's client for sinks.
//!
//! Input: the bus's alerts (and escalations), one of two ways ([`super`]): on one process,
//! through [`super::spawn`] from the webhook's cursor in `DATA_DIR/sinks/`; in a cluster
//! (`serve --nats`), through [`super::spawn_durable`] from the durable JetStream consumer
//! `webhook-<hash of the URL>` ([`consumer_name`]) that every node with this URL binds to, so
//! each alert is POSTed by one node, once per cluster. Output: HTTP POSTs, one per alert, each
//! with an [`IDEMPOTENCY_HEADER`] carrying the event id (an alert sent again after a restart, or
//! by another node after one died mid-delivery, has the same key, so a receiver can drop the
//! copy). On one process the POSTs come in id order; in a cluster each node's do, but nodes
//! deliver side by side, so two alerts close together may arrive in either order.
//!
//! A try that fails (no connection, 5xx, 408, 429) is retried with exponential backoff until it
//! succeeds or the server stops; an alert is marked handled (cursor moved, or consumer message
//! acked) only after its POST succeeded, so an alert the receiver did not take is sent again
//! after the next start (or by another node). Another 4xx is the receiver refusing that alert:
//! not retried, counted failed. A slow or dead receiver never slows publishing (see [`super`]).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Cursor, CursorError, Sink, SinkStats};
use crate::events::{BusError, DurableConfig, Event, EventBus, EventKind};

/// The header carrying the event id.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// Where and how to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    pub url: String,
    /// Tries per alert (the first one included) before it is counted failed and passed; the
    /// default never passes one that could still get through.
    pub attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Per-request timeout (connect + answer).
    pub timeout: Duration,
    /// In a cluster: how long a node may go silent on an alert it holds (it died) before
    /// another node gets it. Only the node that creates the consumer sets it.
    pub ack_wait: Duration,
}

impl WebhookConfig {
    /// Defaults: tries without end, backoff 0.5 s doubling to 30 s, 10 s per request, 30 s ack
    /// wait.
    pub fn new(url: impl Into<String>) -> WebhookConfig {
        WebhookConfig {
            url: url.into(),
            attempts: u32::MAX,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            ack_wait: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook {url}: {message}")]
    Setup { url: String, message: String },
    #[error("webhook {url}: its position")]
    Cursor {
        url: String,
        #[source]
        source: CursorError,
    },
    #[error("webhook {url}: {source}")]
    Durable {
        url: String,
        #[source]
        source: BusError,
    },
}

/// What the webhook delivers.
const KINDS: [EventKind; 2] = [EventKind::Alert, EventKind::Escalation];

/// The cluster-wide consumer of the webhook to `url`: the same on every node and across
/// restarts (FNV-1a, fixed here, rather than std's hasher, which may change between builds).
pub fn consumer_name(url: &str) -> String {
    let hash = url.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("webhook-{hash:016x}")
}

/// The webhook as a [`Sink`]: alerts only.
pub struct Webhook {
    client: reqwest::Client,
    url: reqwest::Url,
    config: WebhookConfig,
}

impl Webhook {
    /// Checks the URL and builds the client.
    pub fn new(config: WebhookConfig) -> Result<Webhook, WebhookError> {
        let setup = |message: String| WebhookError::Setup {
            url: config.url.clone(),
            message,
        };
        let url = reqwest::Url::parse(&config.url).map_err(|e| setup(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(setup("the URL must start with http:// or https://".into()));
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| setup(e.to_string()))?;
        Ok(Webhook {
            client,
            url,
            config,
        })
    }
}

impl Sink for Webhook {
    fn name(&self) -> String {
        format!("webhook {}", self.url)
    }

    /// Alerts, and the escalations of comment alerts (a receiver acting on an alert wants to
    /// know that its user went on).
    fn accepts(&self, event: &Event) -> bool {
        KINDS.contains(&event.kind())
    }

    async fn deliver(&self, event: &Event) -> Result<(), String> {
        deliver(
            &self.client,
            &self.url,
            event.id,
            &event.wire_json(),
            &self.config,
        )
        .await
    }
}

/// Starts delivering alerts published on `bus`. On a cluster's bus, this node's share of the
/// webhook's durable consumer (a webhook new to the cluster starts at the alerts published from
/// now on). Otherwise those after the webhook's cursor in `data_dir` first (a webhook new to
/// `data_dir` starts at the alerts published from now on). Needs a tokio runtime. The returned
/// handle ends after `shutdown` is cancelled, with the cursor saved or the alert being delivered
/// given back; alerts not yet delivered then are sent after the next start (or by another node).
pub fn spawn(
    bus: &dyn EventBus,
    config: WebhookConfig,
    data_dir: &Path,
    stats: Arc<SinkStats>,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, WebhookError> {
    let url = config.url.clone();
    let durable = DurableConfig {
        name: consumer_name(&url),
        description: format!("claimwatch webhook {url}"),
        kinds: KINDS.to_vec(),
        ack_wait: config.ack_wait,
    };
    let webhook = Webhook::new(config)?;
    match bus.durable(&durable) {
        Some(Ok(deliveries)) => {
            return Ok(super::spawn_durable(deliveries, webhook, stats, shutdown));
        }
        Some(Err(source)) => return Err(WebhookError::Durable { url, source }),
        None => {}
    }
    let start = bus.next_id().saturating_sub(1);
    let cursor = Cursor::open(data_dir, &url, start)
        .map_err(|source| WebhookError::Cursor { url, source })?;
    Ok(super::spawn(bus, webhook, cursor, stats, shutdown))
}

/// POSTs `body` until a 2xx, a permanent failure, or the last try.
async fn deliver(
    client: &reqwest::Client,
    url: &reqwest::Url,
    event_id: u64,
    body: &Value,
    config: &WebhookConfig,
) -> Result<(), String> {
    let mut attempt: u32 = 0;
    loop {
        let request = client
            .post(url.clone())
            .header(IDEMPOTENCY_HEADER, event_id.to_string())
            .json(body);
        let reason = match request.send().await {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => {
                let status = response.status();
                if !retryable(status.as_u16()) {
                    return Err(format!("HTTP {status} (not retried)"));
                }
                format!("HTTP {status}")
            }
            Err(err) => err.to_string(),
        };
        attempt = attempt.saturating_add(1);
        if attempt >= config.attempts.max(1) {
            return Err(format!("{reason} after {attempt} tries"));
        }
        tokio::time::sleep(backoff(
            attempt - 1,
            config.initial_backoff,
            config.max_backoff,
        ))
        .await;
    }
}

/// Server errors, timeouts and rate limits may pass; other client errors (bad URL path, auth)
/// will not fix themselves.
fn retryable(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// The wait after failed try number `retry` (0-based): `initial` doubling, capped at `max`.
fn backoff(retry: u32, initial: Duration, max: Duration) -> Duration {
    initial
        .checked_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
        .unwrap_or(max)
        .min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let ms = Duration::from_millis;
        // (retry, expected)
        let cases = [
            (0, ms(500)),
            (1, ms(1000)),
            (2, ms(2000)),
            (5, ms(16_000)),
            (6, ms(30_000)),
            (40, ms(30_000)),
        ];
        for (retry, want) in cases {
            assert_eq!(backoff(retry, ms(500), ms(30_000)), want, "{retry}");
        }
    }

    #[test]
    fn which_statuses_are_retried() {
        // (status, retried)
        let cases = [
            (500, true),
            (503, true),
            (429, true),
            (408, true),
            (404, false),
            (401, false),
            (400, false),
        ];
        for (status, want) in cases {
            assert_eq!(retryable(status), want, "{status}");
        }
    }

    #[test]
    fn consumer_names_are_stable_and_tell_urls_apart() {
        // (url, name): pinned, since every node and every restart must derive the same name.
        let cases = [
            ("", "webhook-cbf29ce484222325"),
            ("a", "webhook-af63dc4c8601ec8c"),
            ("http://127.0.0.1:9/hook", "webhook-66c3de777dced1b5"),
        ];
        for (url, want) in cases {
            assert_eq!(consumer_name(url), want, "{url}");
        }
        assert_ne!(
            consumer_name("https://hooks.example/a"),
            consumer_name("https://hooks.example/b")
        );
    }

    #[tokio::test]
    async fn a_url_that_is_not_http_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let hub = crate::events::Hub::open(dir.path()).unwrap();
        for url in ["ftp://example.invalid/x", "not a url", ""] {
            let err = spawn(
                &hub,
                WebhookConfig::new(url),
                dir.path(),
                Arc::new(SinkStats::default()),
                CancellationToken::new(),
            )
            .unwrap_err()
            .to_string();
            assert!(err.starts_with(&format!("webhook {url}: ")), "{err}");
        }
    }
}
