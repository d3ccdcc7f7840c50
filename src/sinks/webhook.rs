//! `--webhook URL`: POSTs every alert (the same JSON object as the SSE `data:`) to a URL. The only
//! file that touches reqwest's client for sinks.
//!
//! Input: the bus's alerts, through [`super::spawn`]. Output: HTTP POSTs, one per alert, in id
//! order, each retried with exponential backoff. A slow or dead receiver never slows publishing:
//! see [`super`] for the queue between the bus and this sink.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Sink, SinkStats};
use crate::events::{Event, EventBus, EventKind};

/// Where and how to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    pub url: String,
    /// Alerts waiting to be sent before new ones are dropped.
    pub queue: usize,
    /// Tries per alert (the first one included).
    pub attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Per-request timeout (connect + answer).
    pub timeout: Duration,
}

impl WebhookConfig {
    /// Defaults: queue 1024, 8 tries with backoff 0.5 s doubling to 30 s, 10 s per request.
    pub fn new(url: impl Into<String>) -> WebhookConfig {
        WebhookConfig {
            url: url.into(),
            queue: 1024,
            attempts: 8,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook {url}: {message}")]
    Setup { url: String, message: String },
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

    fn accepts(&self, event: &Event) -> bool {
        event.kind() == EventKind::Alert
    }

    async fn deliver(&self, event: &Event) -> Result<(), String> {
        deliver(&self.client, &self.url, &event.wire_json(), &self.config).await
    }
}

/// Starts delivering alerts published on `bus` from now on. Needs a tokio runtime. The returned
/// handle ends after `shutdown` is cancelled; alerts still queued then are not sent.
pub fn spawn(
    bus: &dyn EventBus,
    config: WebhookConfig,
    stats: Arc<SinkStats>,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, WebhookError> {
    let queue = config.queue;
    let webhook = Webhook::new(config)?;
    Ok(super::spawn(bus, webhook, queue, stats, shutdown))
}

/// POSTs `body` until a 2xx, a permanent failure, or the last try.
async fn deliver(
    client: &reqwest::Client,
    url: &reqwest::Url,
    body: &Value,
    config: &WebhookConfig,
) -> Result<(), String> {
    let mut attempt = 0;
    loop {
        let reason = match client.post(url.clone()).json(body).send().await {
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
        attempt += 1;
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

    #[tokio::test]
    async fn a_url_that_is_not_http_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let hub = crate::events::Hub::open(dir.path()).unwrap();
        for url in ["ftp://example.invalid/x", "not a url", ""] {
            let err = spawn(
                &hub,
                WebhookConfig::new(url),
                Arc::new(SinkStats::default()),
                CancellationToken::new(),
            )
            .unwrap_err()
            .to_string();
            assert!(err.starts_with(&format!("webhook {url}: ")), "{err}");
        }
    }
}
