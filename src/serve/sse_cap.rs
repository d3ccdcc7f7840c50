//! The cap on open SSE connections: a request for an event stream in → a slot held for as long
//! as the stream is open, or a 503 with `Retry-After` when every slot is taken.
//!
//! Each SSE client holds a task, a subscription on the bus and socket buffers until it goes
//! away; without a cap, a script opening connections in a loop exhausts the server. The count
//! is the `claimwatch_sse_clients` gauge in [`ServeMetrics`].

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::metrics::ServeMetrics;

/// Default for `--max-sse-clients`: far more dashboards and consumers than one operator runs,
/// far fewer than the open files a process gets by default (1024).
pub const DEFAULT_MAX_SSE_CLIENTS: usize = 256;

/// Seconds a refused client is told to wait before trying again.
const RETRY_AFTER_S: u64 = 5;

/// One open SSE connection's place under the cap; dropping it (the connection closed, the
/// client went away, the server shuts down) frees the place.
#[derive(Debug)]
pub struct SseSlot {
    metrics: Arc<ServeMetrics>,
}

impl SseSlot {
    /// A slot if fewer than `max` are held, else [`Busy`] (answered as a 503).
    pub fn take(metrics: &Arc<ServeMetrics>, max: usize) -> Result<SseSlot, Busy> {
        let max = max as u64;
        let taken = metrics
            .sse_clients
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            });
        match taken {
            Ok(_) => Ok(SseSlot {
                metrics: metrics.clone(),
            }),
            Err(open) => Err(Busy { open, max }),
        }
    }
}

impl Drop for SseSlot {
    fn drop(&mut self) {
        self.metrics.sse_clients.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Every slot is taken: answered as 503 with the reason as JSON and `Retry-After`.
#[derive(Debug)]
pub struct Busy {
    open: u64,
    max: u64,
}

impl IntoResponse for Busy {
    fn into_response(self) -> Response {
        let (open, max) = (self.open, self.max);
        let message = format!(
            "too many SSE clients: {open} of {max} connected (--max-sse-clients); retry in {RETRY_AFTER_S} s"
        );
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": message })),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_and_freed_on_drop() {
        let metrics = Arc::new(ServeMetrics::default());
        let open = || metrics.sse_clients.load(Ordering::Acquire);
        let a = SseSlot::take(&metrics, 2).unwrap();
        let b = SseSlot::take(&metrics, 2).unwrap();
        assert_eq!(open(), 2);
        let refused = SseSlot::take(&metrics, 2).unwrap_err().into_response();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.headers()[header::RETRY_AFTER], "5");
        assert_eq!(open(), 2, "a refused client holds nothing");
        drop(a);
        assert_eq!(open(), 1);
        let c = SseSlot::take(&metrics, 2).unwrap();
        drop((b, c));
        assert_eq!(open(), 0);
    }
}
