//! Prometheus text exposition (format 0.0.4) for `GET /metrics`: stream snapshots from the
//! pipeline, alert counts from the hub, webhook counters and the SSE client count in; the text
//! out. Hand-written and
//! pure: five metric families do not need a metrics crate, and the format is tested here.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::detect::Category;
use crate::events::{HealthCondition, ReviewState, SourceState};
use crate::live::StreamInfo;
use crate::sinks::SinkStats;

/// Counters the server exports besides the streams' and the bus's own figures.
#[derive(Debug, Default)]
pub struct ServeMetrics {
    /// The webhook sink's counters (zero when no webhook is configured).
    pub webhook: Arc<SinkStats>,
    /// SSE connections open now (kept by [`SseSlot`](super::sse_cap::SseSlot)).
    pub sse_clients: AtomicU64,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ServeMetrics>();
};

/// A per-stream gauge: name, help, and how to read it off a snapshot.
type Gauge = (&'static str, &'static str, fn(&StreamInfo) -> f64);

/// The exposition text.
pub fn render(
    streams: &[StreamInfo],
    alerts: &BTreeMap<(String, Category), u64>,
    counters: &ServeMetrics,
    lag_recoveries: u64,
) -> String {
    let mut out = String::new();
    let gauges: [Gauge; 4] = [
        (
            "claimwatch_stream_rtf",
            "Audio seconds transcribed per wall second over a recent window.",
            |s| s.rtf,
        ),
        (
            "claimwatch_stream_decode_load",
            "Share of the decoder the stream needs: required decode seconds per wall second.",
            |s| s.load,
        ),
        (
            "claimwatch_stream_lag_seconds",
            "How far the transcript is behind the audio received.",
            |s| s.lag_s,
        ),
        (
            "claimwatch_stream_up",
            "1 when the stream's source is producing audio, else 0.",
            |s| f64::from(u8::from(s.state == SourceState::Up)),
        ),
    ];
    for (name, help, value) in gauges {
        family(&mut out, name, help, "gauge");
        for s in streams {
            sample(&mut out, name, &[("stream", &s.id)], value(s));
        }
    }
    let name = "claimwatch_decode_load";
    family(
        &mut out,
        name,
        "Decode load of all streams (sum of claimwatch_stream_decode_load); new streams are \
         refused above --max-load.",
        "gauge",
    );
    sample(&mut out, name, &[], streams.iter().map(|s| s.load).sum());
    let name = "claimwatch_stream_dropped_audio_seconds_total";
    family(
        &mut out,
        name,
        "Audio seconds skipped to keep the transcription lag bounded.",
        "counter",
    );
    for s in streams {
        sample(&mut out, name, &[("stream", &s.id)], s.dropped_s);
    }
    let name = "claimwatch_stream_unconfirmed_alerts_total";
    family(
        &mut out,
        name,
        "Alerts raised before their phrase ended that its final transcript did not repeat.",
        "counter",
    );
    for s in streams {
        sample(
            &mut out,
            name,
            &[("stream", &s.id)],
            s.unconfirmed_alerts as f64,
        );
    }
    let name = "claimwatch_stream_health";
    family(
        &mut out,
        name,
        "1 while a health condition of the stream is active (silence, source_down, dropped_audio, clipping, behind), else 0.",
        "gauge",
    );
    for s in streams {
        for condition in HealthCondition::ALL {
            let active = s.health.contains(&condition);
            sample(
                &mut out,
                name,
                &[("stream", &s.id), ("condition", condition.as_str())],
                if active { 1.0 } else { 0.0 },
            );
        }
    }
    let name = "claimwatch_alerts_total";
    family(
        &mut out,
        name,
        "Alerts published, by stream and category (kept across restarts).",
        "counter",
    );
    for ((stream, category), count) in alerts {
        sample(
            &mut out,
            name,
            &[("stream", stream), ("category", category.as_str())],
            *count as f64,
        );
    }
    let webhook: [(&str, &str, &AtomicU64); 3] = [
        (
            "claimwatch_webhook_sent_total",
            "Alerts delivered to the webhook.",
            &counters.webhook.sent,
        ),
        (
            "claimwatch_webhook_failed_total",
            "Alerts the webhook gave up on after all retries.",
            &counters.webhook.failed,
        ),
        (
            "claimwatch_webhook_dropped_total",
            "Alerts given up without a try; stays 0 since the webhook delivers from a persisted cursor (kept so dashboards do not break).",
            &counters.webhook.dropped,
        ),
    ];
    for (name, help, counter) in webhook {
        family(&mut out, name, help, "counter");
        sample(&mut out, name, &[], counter.load(Ordering::Relaxed) as f64);
    }
    let name = "claimwatch_sse_clients";
    family(
        &mut out,
        name,
        "SSE connections open now (capped by --max-sse-clients).",
        "gauge",
    );
    sample(
        &mut out,
        name,
        &[],
        counters.sse_clients.load(Ordering::Relaxed) as f64,
    );
    let name = "claimwatch_sse_lag_recoveries_total";
    family(
        &mut out,
        name,
        "Times an SSE/webhook subscriber fell behind and caught up from memory.",
        "counter",
    );
    sample(&mut out, name, &[], lag_recoveries as f64);
    out
}

/// Chat comments taken in, by stream (a counter, across restarts; repeats not counted).
pub fn render_comments(counts: &BTreeMap<String, u64>) -> String {
    let mut out = String::new();
    let name = "claimwatch_comments_total";
    family(
        &mut out,
        name,
        "Chat comments taken in (repeated ids not counted), by stream (kept across restarts).",
        "counter",
    );
    for (stream, count) in counts {
        sample(
            &mut out,
            name,
            &[("stream", stream.as_str())],
            *count as f64,
        );
    }
    out
}

/// The review families: decisions recorded by state (a counter, across restarts) and the kept
/// alerts by their current state (a gauge: `new` is the backlog). Every state is listed, 0
/// included, so a dashboard's series exist before the first review.
pub fn render_reviews(
    decisions: &BTreeMap<ReviewState, u64>,
    current: &BTreeMap<ReviewState, u64>,
) -> String {
    let mut out = String::new();
    let name = "claimwatch_reviews_total";
    family(
        &mut out,
        name,
        "Review decisions recorded, by the state decided (kept across restarts).",
        "counter",
    );
    for state in ReviewState::ALL
        .into_iter()
        .filter(|&s| s != ReviewState::New)
    {
        let count = decisions.get(&state).copied().unwrap_or(0);
        sample(&mut out, name, &[("state", state.as_str())], count as f64);
    }
    let name = "claimwatch_alerts_by_review_state";
    family(
        &mut out,
        name,
        "Alerts kept in memory (those GET /alerts lists), by their current review state.",
        "gauge",
    );
    for state in ReviewState::ALL {
        let count = current.get(&state).copied().unwrap_or(0);
        sample(&mut out, name, &[("state", state.as_str())], count as f64);
    }
    out
}

fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (key, val)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{key}=\"{}\"", escape(val));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {}", number(value));
}

/// Label values escape backslash, double quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(id: &str, state: SourceState, rtf: f64, load: f64) -> StreamInfo {
        StreamInfo {
            id: id.into(),
            source: "file:x.wav".into(),
            lang: "ja".into(),
            origin: Some("CN".into()),
            product: None,
            state,
            stream_s: 60.0,
            lag_s: 2.5,
            rtf,
            dropped_s: 0.0,
            load,
            unconfirmed_alerts: 1,
            health: vec![HealthCondition::Silence],
            level_dbfs: None,
            node: None,
            alerts: BTreeMap::new(),
        }
    }

    #[test]
    fn exposition_text() {
        let streams = [
            stream("shop-1", SourceState::Up, 3.25, 0.25),
            stream("we\"ird\\\n", SourceState::Down, f64::NAN, 0.5),
        ];
        let alerts = BTreeMap::from([
            (("shop-1".to_string(), Category::FalseOrigin), 2),
            (("shop-1".to_string(), Category::Pricing), 1),
        ]);
        let counters = ServeMetrics::default();
        counters.webhook.dropped.store(4, Ordering::Relaxed);
        counters.sse_clients.store(7, Ordering::Relaxed);
        let text = render(&streams, &alerts, &counters, 3);
        for line in [
            "# TYPE claimwatch_stream_rtf gauge",
            "claimwatch_stream_rtf{stream=\"shop-1\"} 3.25",
            "claimwatch_stream_rtf{stream=\"we\\\"ird\\\\\\n\"} NaN",
            "claimwatch_stream_lag_seconds{stream=\"shop-1\"} 2.5",
            "claimwatch_stream_decode_load{stream=\"shop-1\"} 0.25",
            "claimwatch_decode_load 0.75",
            "claimwatch_stream_up{stream=\"shop-1\"} 1",
            "claimwatch_stream_up{stream=\"we\\\"ird\\\\\\n\"} 0",
            "# TYPE claimwatch_stream_dropped_audio_seconds_total counter",
            "claimwatch_stream_dropped_audio_seconds_total{stream=\"shop-1\"} 0",
            "# TYPE claimwatch_stream_unconfirmed_alerts_total counter",
            "claimwatch_stream_unconfirmed_alerts_total{stream=\"shop-1\"} 1",
            "# TYPE claimwatch_stream_health gauge",
            "claimwatch_stream_health{stream=\"shop-1\",condition=\"silence\"} 1",
            "claimwatch_stream_health{stream=\"shop-1\",condition=\"behind\"} 0",
            "claimwatch_alerts_total{stream=\"shop-1\",category=\"false_origin\"} 2",
            "claimwatch_alerts_total{stream=\"shop-1\",category=\"pricing\"} 1",
            "claimwatch_webhook_dropped_total 4",
            "claimwatch_webhook_sent_total 0",
            "claimwatch_sse_lag_recoveries_total 3",
            "# TYPE claimwatch_sse_clients gauge",
            "claimwatch_sse_clients 7",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // Every sample line is `name{labels} value` or `name value`, every family typed once.
        let text = text
            + &render_reviews(
                &BTreeMap::from([(ReviewState::Confirmed, 3), (ReviewState::Dismissed, 1)]),
                &BTreeMap::from([(ReviewState::New, 5), (ReviewState::Confirmed, 2)]),
            );
        for line in [
            "# TYPE claimwatch_reviews_total counter",
            "claimwatch_reviews_total{state=\"confirmed\"} 3",
            "claimwatch_reviews_total{state=\"dismissed\"} 1",
            "claimwatch_reviews_total{state=\"escalated\"} 0",
            "# TYPE claimwatch_alerts_by_review_state gauge",
            "claimwatch_alerts_by_review_state{state=\"new\"} 5",
            "claimwatch_alerts_by_review_state{state=\"acknowledged\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?}");
        }
        assert!(!text.contains("claimwatch_reviews_total{state=\"new\"}"));
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let name = l.split(['{', ' ']).next().unwrap();
            assert!(text.contains(&format!("# TYPE {name} ")), "{l}");
            assert_eq!(text.matches(&format!("# TYPE {name} ")).count(), 1);
        }
    }
}
