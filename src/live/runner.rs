//! One live stream's worker: source events in → committed transcript, alerts and status out to
//! the [`Hub`].
//!
//! Input: [`SourceEvent`]s from the stream's source thread, a shared [`WhisperModel`] and the
//! [`Detector`]. Output: `transcript`, `alert` and `status` events published on the hub (which
//! logs them), and the stream's live figures in [`StreamShared`] for `GET /streams` and
//! `/metrics`. Runs on its own thread until the source ends or the stream is cancelled.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::detect::{Detector, DetectorStream, Lang};
use crate::live::transcriber::{LiveConfig, LiveTranscriber};
use crate::serve::{EventBody, Hub, SourceState, StreamInfo, StreamStatus};
use crate::source::SourceEvent;
use crate::transcribe::whisper::{DecodeOptions, WhisperModel, WhisperSession};
use crate::transcribe::Segment;

/// How often a status event reports lag and throughput when nothing else happens.
const STATUS_EVERY: Duration = Duration::from_secs(10);
/// How long to wait for audio before checking cancellation again.
const POLL: Duration = Duration::from_millis(50);

/// What the HTTP side reads and writes while the worker runs.
#[derive(Debug)]
pub struct StreamShared {
    pub info: Mutex<StreamInfo>,
    /// Declared-origin changes not yet applied: (stream time of the change, ISO code or None).
    pub origin_changes: Mutex<Vec<(f64, Option<String>)>>,
}

/// Everything a worker needs.
pub struct StreamWorker {
    pub id: String,
    pub lang: Lang,
    pub hub: Hub,
    pub model: Arc<WhisperModel>,
    pub detector: Detector,
    pub declared_origin: Option<String>,
    pub options: DecodeOptions,
    pub live: LiveConfig,
    /// Held while decoding: whisper already uses every core, so streams take turns.
    pub decode_slot: Arc<Mutex<()>>,
    pub shared: Arc<StreamShared>,
}

impl StreamWorker {
    /// Runs until the source ends, the source thread goes away, or `shutdown` is cancelled.
    pub fn run(self, events: Receiver<SourceEvent>, shutdown: CancellationToken) {
        let mut session = match self.model.session() {
            Ok(s) => s,
            Err(err) => {
                self.set_state(SourceState::Ended);
                self.status(Some(format!("cannot start the transcriber: {err:#}")), None);
                return;
            }
        };
        let mut state = State {
            transcriber: LiveTranscriber::new(self.live.clone(), self.options.clone()),
            detector: self
                .detector
                .stream(self.lang, self.declared_origin.as_deref()),
            last_status: Instant::now(),
        };
        let ended = loop {
            if shutdown.is_cancelled() {
                break false;
            }
            let first = match events.recv_timeout(POLL) {
                Ok(event) => Some(event),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(SourceEvent::Ended),
            };
            let mut source_ended = false;
            for event in first
                .into_iter()
                .chain(std::iter::from_fn(|| events.try_recv().ok()))
            {
                if self.handle(&mut state, &mut session, event) {
                    source_ended = true;
                    break;
                }
            }
            if source_ended {
                break true;
            }
            if state.transcriber.ready() {
                let segments = {
                    let _turn = self.decode_slot.lock().unwrap_or_else(|p| p.into_inner());
                    state.transcriber.step(&mut session)
                };
                match segments {
                    Ok(segments) => self.publish_segments(&mut state, segments),
                    Err(err) => self.status(Some(format!("transcription failed: {err:#}")), None),
                }
            }
            self.update_figures(&state);
            if state.last_status.elapsed() >= STATUS_EVERY {
                state.last_status = Instant::now();
                self.status(None, None);
            }
        };
        // Claims held back for a possible negation are raised rather than lost.
        if ended {
            let rest = {
                let _turn = self.decode_slot.lock().unwrap_or_else(|p| p.into_inner());
                state.transcriber.finish(&mut session)
            };
            if let Ok(rest) = rest {
                self.publish_segments(&mut state, rest);
            }
        }
        let alerts = state.detector.finish();
        for alert in alerts {
            self.publish(EventBody::Alert(alert));
        }
        self.update_figures(&state);
        self.set_state(SourceState::Ended);
        self.status(
            Some(if ended { "source ended" } else { "detached" }.into()),
            None,
        );
    }

    /// Applies one source event; true when the source has ended.
    fn handle(&self, state: &mut State, session: &mut WhisperSession, event: SourceEvent) -> bool {
        match event {
            SourceEvent::Audio(samples) => {
                let dropped = state.transcriber.push(&samples);
                if dropped > 0.0 {
                    self.update_figures(state);
                    self.status(
                        Some(format!(
                            "transcription is behind real time: dropped the oldest {dropped:.1} s of audio"
                        )),
                        None,
                    );
                }
            }
            SourceEvent::Up => {
                self.set_state(SourceState::Up);
                self.status(None, None);
            }
            SourceEvent::Down { reason } => {
                self.set_state(SourceState::Down);
                self.status(Some(reason), None);
            }
            SourceEvent::Gap { seconds } => {
                let flushed = {
                    let _turn = self.decode_slot.lock().unwrap_or_else(|p| p.into_inner());
                    state.transcriber.gap(session, seconds)
                };
                if let Ok(segments) = flushed {
                    self.publish_segments(state, segments);
                }
                self.update_figures(state);
                self.status(Some("audio resumed after a gap".into()), Some(seconds));
            }
            SourceEvent::Ended => return true,
        }
        false
    }

    fn publish_segments(&self, state: &mut State, segments: Vec<Segment>) {
        for segment in segments {
            self.apply_origin_changes(state, segment.start_s);
            let alerts = state.detector.push(&segment);
            self.publish(EventBody::Transcript(segment));
            for alert in alerts {
                self.count_alert(alert.category.as_str());
                self.publish(EventBody::Alert(alert));
            }
        }
    }

    /// Origin changes take effect for speech after them, not for audio still pending.
    fn apply_origin_changes(&self, state: &mut State, segment_start_s: f64) {
        let mut changes = self
            .shared
            .origin_changes
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        while changes
            .first()
            .is_some_and(|(at, _)| *at <= segment_start_s)
        {
            let (_, origin) = changes.remove(0);
            state.detector.set_declared_origin(origin.as_deref());
        }
    }

    fn publish(&self, body: EventBody) {
        if let Err(err) = self.hub.publish(&self.id, body) {
            // The log is the record of what was said: losing it must be loud.
            eprintln!(
                "claimwatch: stream {}: cannot record event: {err:#}",
                self.id
            );
        }
    }

    fn status(&self, message: Option<String>, gap_s: Option<f64>) {
        let info = self.info();
        self.publish(EventBody::Status(StreamStatus {
            state: info.state,
            stream_s: info.stream_s,
            lag_s: info.lag_s,
            rtf: info.rtf,
            dropped_s: info.dropped_s,
            gap_s,
            message,
        }));
    }

    fn info(&self) -> StreamInfo {
        self.shared
            .info
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_state(&self, state: SourceState) {
        self.shared
            .info
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .state = state;
    }

    fn count_alert(&self, category: &str) {
        let mut info = self.shared.info.lock().unwrap_or_else(|p| p.into_inner());
        *info.alerts.entry(category.to_string()).or_insert(0) += 1;
    }

    fn update_figures(&self, state: &State) {
        let stats = state.transcriber.stats();
        let mut info = self.shared.info.lock().unwrap_or_else(|p| p.into_inner());
        info.stream_s = stats.received_s;
        info.lag_s = stats.lag_s();
        info.rtf = stats.rtf;
        info.dropped_s = stats.dropped_s;
    }
}

struct State {
    transcriber: LiveTranscriber,
    detector: DetectorStream,
    last_status: Instant,
}
