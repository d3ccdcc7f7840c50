//! `--webhook URL`: POSTs every alert (the same JSON object as the SSE `data:`) to a URL. The only
//! file that touches reqwest.
//!
//! Input: the hub's alerts. Output: HTTP POSTs, one per alert, in id order.
//!
//! A feeder task subscribes to the hub and puts alerts on a bounded queue without waiting; a
//! sender task takes them off and POSTs each with retries and exponential backoff. So a slow or
//! dead receiver never slows `publish`: when the queue is full the alert is dropped from the
//! webhook (it is still in the log, in `/alerts` and on SSE), a line goes to stderr and
//! `claimwatch_webhook_dropped_total` counts it. On shutdown, queued alerts are not sent.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::event::{Event, EventKind};
use super::hub::Hub;
use super::metrics::ServeMetrics;

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

/// Starts delivering alerts published from now on. Needs a tokio runtime. The returned handle
/// ends after `shutdown` is cancelled.
pub fn spawn(
    hub: &Hub,
    config: WebhookConfig,
    metrics: Arc<ServeMetrics>,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, WebhookError> {
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
    let queue = config.queue.max(1);
    let (tx, rx) = mpsc::channel::<Event>(queue);

    // Subscribed here, not in the task, so every alert published after `spawn` returns is seen.
    let alerts = hub
        .subscribe(None, None)
        .filter(|e| std::future::ready(e.kind() == EventKind::Alert));
    let feeder_metrics = metrics.clone();
    let feeder_shutdown = shutdown.clone();
    tokio::spawn(async move {
        let mut alerts = std::pin::pin!(alerts.take_until(feeder_shutdown.cancelled_owned()));
        while let Some(event) = alerts.next().await {
            match tx.try_send(event) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(event)) => {
                    let n = feeder_metrics
                        .webhook_dropped
                        .fetch_add(1, Ordering::Relaxed)
                        + 1;
                    eprintln!(
                        "claimwatch: warning: webhook queue full ({} alerts): alert event {} not sent to the webhook ({n} dropped so far)",
                        queue, event.id
                    );
                }
                Err(mpsc::error::TrySendError::Closed(_)) => break,
            }
        }
    });

    Ok(tokio::spawn(send_loop(
        client, url, config, rx, metrics, shutdown,
    )))
}

async fn send_loop(
    client: reqwest::Client,
    url: reqwest::Url,
    config: WebhookConfig,
    mut rx: mpsc::Receiver<Event>,
    metrics: Arc<ServeMetrics>,
    shutdown: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            event = rx.recv() => match event {
                Some(event) => event,
                None => return,
            },
        };
        let body = event.wire_json();
        let outcome = tokio::select! {
            () = shutdown.cancelled() => return,
            outcome = deliver(&client, &url, &body, &config) => outcome,
        };
        match outcome {
            Ok(()) => {
                metrics.webhook_sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(reason) => {
                metrics.webhook_failed.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "claimwatch: warning: webhook {url}: gave up on alert event {}: {reason}",
                    event.id
                );
            }
        }
    }
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
        let hub = Hub::open(dir.path()).unwrap();
        for url in ["ftp://example.invalid/x", "not a url", ""] {
            let err = spawn(
                &hub,
                WebhookConfig::new(url),
                Arc::new(ServeMetrics::default()),
                CancellationToken::new(),
            )
            .unwrap_err()
            .to_string();
            assert!(err.starts_with(&format!("webhook {url}: ")), "{err}");
        }
    }
}
