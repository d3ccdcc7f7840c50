//! One live stream's worker: source events in → committed transcript, alerts and status out to
//! the [event bus](crate::events::EventBus).
//!
//! Input: [`SourceEvent`]s from the stream's source thread, a shared [`WhisperModel`] and the
//! [`Detector`]. Output: `transcript`, `alert` and `status` events published on the bus (which
//! stores them), and the stream's live figures in [`StreamShared`] for `GET /streams` and
//! `/metrics`. Runs on its own thread until the source ends or the stream is cancelled.
//!
//! Alerts come from two looks at the words. The committed transcript waits for a phrase to end;
//! while a phrase is still being spoken and the decoder is free, the worker also looks at it
//! ([`LiveTranscriber::peek`]) and scans that text with a copy of the detector, so a claim in
//! the middle of a long phrase is alerted about a second after it is said, not when the phrase
//! ends. The commit's own alert for the same claim (same category, overlapping time) is then
//! not raised again; an early alert the commit does not repeat is counted and reported in a
//! status event, since it was already sent.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::detect::{Alert, Detector, DetectorStream, Lang};
use crate::events::{clock, round, Event, EventBody, EventBus, SourceState, StreamStatus};
use crate::live::control::StreamInfo;
use crate::live::drop_report::{DropReport, DROP_REPORT_EVERY};
use crate::live::early::Reconciler;
use crate::live::evidence::{Clip, ClipRecorder};
use crate::live::health::{HealthChange, HealthMonitor};
use crate::live::load::LoadMeter;
use crate::live::transcriber::{LiveConfig, LiveTranscriber};
use crate::live::turns::{DecodeTurns, Turn};
use crate::live::wall_clock::WallClock;
use crate::second_listen;
use crate::source::SourceEvent;
use crate::transcribe::whisper::{DecodeOptions, WhisperModel, WhisperSession};
use crate::transcribe::Segment;

/// Most recent audio a stream keeps for evidence clips (7.7 MB at 16 kHz).
const MAX_CLIP_AUDIO_S: f64 = 120.0;
/// How often a status event reports lag and throughput when nothing else happens (and only if
/// they moved); a status without a message is otherwise sent only when the state changes.
const STATUS_EVERY: Duration = Duration::from_secs(10);
/// How long to wait for audio before checking cancellation again.
const POLL: Duration = Duration::from_millis(50);
/// How long to wait for an audio chunk while waiting for the decoder, before trying it again.
const TURN_POLL: Duration = Duration::from_millis(10);

/// What the HTTP side reads and writes while the worker runs.
#[derive(Debug)]
pub struct StreamShared {
    pub info: Mutex<StreamInfo>,
    /// Declared-origin changes not yet applied: (stream time of the change, ISO code or None).
    pub origin_changes: Mutex<Vec<(f64, Option<String>)>>,
    /// Time this stream holds the decoder for work it cannot skip.
    pub load: LoadMeter,
    /// Set by the manager when it detached the stream and announced it: the worker then stops
    /// without a second `ended` status.
    pub detached: AtomicBool,
}

impl StreamShared {
    /// A stream's shared state, starting from `info`, its load measured from now.
    pub fn new(info: StreamInfo) -> StreamShared {
        StreamShared {
            info: Mutex::new(info),
            origin_changes: Mutex::new(Vec::new()),
            load: LoadMeter::new(Instant::now()),
            detached: AtomicBool::new(false),
        }
    }

    /// A copy of the stream's figures as they are now.
    pub fn snapshot(&self) -> StreamInfo {
        self.info.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// One more alert of `category` (speech or chat) in the stream's figures.
    pub fn count_alert(&self, category: &str) {
        let mut info = self.info.lock().unwrap_or_else(|p| p.into_inner());
        *info.alerts.entry(category.to_string()).or_insert(0) += 1;
    }
}

/// Everything a worker needs.
pub struct StreamWorker {
    pub id: String,
    /// The stream's language; when `options.language` is None (attached with `lang=auto`) only
    /// the language the model was chosen for, until the first words decide it
    /// ([`Lang::of_text`], as `detect --lang auto` does per line).
    pub lang: Lang,
    pub bus: Arc<dyn EventBus>,
    pub model: Arc<WhisperModel>,
    pub detector: Detector,
    pub declared_origin: Option<String>,
    pub options: DecodeOptions,
    pub live: LiveConfig,
    /// The cores are shared out to a few decode slots (`serve --decoders`), so streams take turns
    /// at them, oldest audio first.
    pub decode_turns: Arc<DecodeTurns>,
    pub shared: Arc<StreamShared>,
}

impl StreamWorker {
    /// Runs until the source ends, the source thread goes away, or `shutdown` is cancelled. A
    /// bug that panics stops this stream, not the server, and says so in a status event
    /// rather than leaving the stream `up` and silent.
    pub fn run(self, events: Receiver<SourceEvent>, shutdown: CancellationToken) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.run_until_done(events, shutdown)
        }));
        if let Err(panic) = outcome {
            let what = crate::panic_guard::message(&*panic);
            self.set_state(SourceState::Ended);
            self.status(
                Some(format!("internal error, the stream stopped: {what}")),
                None,
            );
        }
    }

    fn run_until_done(&self, events: Receiver<SourceEvent>, shutdown: CancellationToken) {
        let mut session = match self.model.session() {
            Ok(s) => s,
            Err(err) => {
                self.set_state(SourceState::Ended);
                self.status(Some(format!("cannot start the transcriber: {err:#}")), None);
                return;
            }
        };
        let cancel = shutdown.clone();
        session.stop_when(move || cancel.is_cancelled());
        let mut transcriber = LiveTranscriber::new(self.live.clone(), self.options.clone());
        if self.live.second_listen {
            transcriber.listen_again_with(Box::new(self.detector.clone()));
        }
        // An alert can come a window (12 s) plus its context (6 s) and the lag bound after its
        // words; its clip's start must still be there then. Capped: with `--max-lag 600` that
        // would be 41 MB per stream; a clip of an alert that late starts where the kept audio
        // does.
        let keep_s =
            (self.live.max_lag_s + 30.0 + 2.0 * self.live.clip_margin_s).min(MAX_CLIP_AUDIO_S);
        let mut state = State {
            transcriber,
            clips: ClipRecorder::new(self.live.clip_margin_s, keep_s),
            health: HealthMonitor::new(self.live.health),
            lang: self.options.language.as_ref().map(|_| self.lang),
            detector: self
                .detector
                .stream(self.lang, self.declared_origin.as_deref()),
            last_status: Instant::now(),
            last_reported: None,
            alerts: Reconciler::default(),
            drops: DropReport::new(DROP_REPORT_EVERY),
            events,
            deferred: VecDeque::new(),
            cancel: shutdown,
            clock: WallClock::default(),
        };
        let ended = loop {
            if state.cancel.is_cancelled() {
                break false;
            }
            let mut next = self.next_event(&mut state, Some(POLL));
            let mut source_ended = false;
            while let Some(event) = next {
                if self.handle(&mut state, &mut session, event) {
                    source_ended = true;
                    break;
                }
                next = self.next_event(&mut state, None);
            }
            if source_ended {
                break true;
            }
            if state.transcriber.ready() {
                match self.required(&mut state, |t| t.step(&mut session)) {
                    Some(Ok(segments)) => self.publish_segments(&mut state, segments),
                    Some(Err(err)) => self.decode_failed(&state, &err),
                    None => {} // cancelled while waiting for the decoder
                }
            } else if state.transcriber.can_peek() {
                // Only when no stream decodes or waits to: a look must never delay a commit.
                if let Some(turn) = self.decode_turns.spare() {
                    state
                        .transcriber
                        .set_threads(self.options.threads * turn.width());
                    match state.transcriber.peek(&mut session) {
                        Ok(Some(segments)) => self.publish_early(&mut state, &segments),
                        Ok(None) => {}
                        Err(err) => self.decode_failed(&state, &err),
                    }
                }
            }
            self.update_figures(&state);
            let stats = state.transcriber.stats();
            let changes = state.health.lag(stats.lag_s(), stats.received_s);
            self.publish_health(&mut state, changes);
            if let Some(total) = state.drops.due(Instant::now()) {
                self.report_drops(total);
            }
            if state.last_status.elapsed() >= STATUS_EVERY {
                self.routine_status(&mut state);
            }
        };
        // A detached stream's source may end (it was cancelled too) before the worker sees
        // the cancel: it is still detached, not ended, and not worth another decode.
        let detached = self.shared.detached.load(Ordering::SeqCst);
        // Claims held back for a possible negation are raised rather than lost.
        if ended && !detached {
            let rest = self.required(&mut state, |t| t.finish(&mut session));
            if let Some(Ok(rest)) = rest {
                self.publish_segments(&mut state, rest);
            }
        }
        let alerts = state.detector.finish();
        for alert in alerts {
            self.raise_unless_early(&mut state, alert);
        }
        self.report_unconfirmed(&mut state, f64::INFINITY);
        let rest = state.clips.finish();
        self.store_clips(rest);
        self.update_figures(&state);
        if let Some(total) = state.drops.take() {
            self.report_drops(total);
        }
        if detached {
            return; // the manager already said `detached` when it was asked to
        }
        self.set_state(SourceState::Ended);
        self.status(
            Some(if ended { "source ended" } else { "detached" }.into()),
            None,
        );
    }

    /// The next source event: one put aside while waiting for the decoder first, then the
    /// channel's (waiting up to `wait`, or not at all). A source thread gone away is the end.
    fn next_event(&self, state: &mut State, wait: Option<Duration>) -> Option<SourceEvent> {
        if let Some(event) = state.deferred.pop_front() {
            return Some(event);
        }
        match wait {
            Some(wait) => match state.events.recv_timeout(wait) {
                Ok(event) => Some(event),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(SourceEvent::Ended),
            },
            None => match state.events.try_recv() {
                Ok(event) => Some(event),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => Some(SourceEvent::Ended),
            },
        }
    }

    /// Takes audio in (and dates its arrival at the source, `at`, for `said_at`, and keeps it for
    /// evidence clips).
    fn receive(&self, state: &mut State, samples: &[f32], at: SystemTime) {
        let at_s = state.transcriber.stats().received_s;
        let dropped = state.transcriber.push(samples);
        let mut changes = state.health.audio(at_s, samples);
        changes.extend(state.health.dropped(dropped, at_s));
        self.publish_health(state, changes);
        if self.live.clip_margin_s > 0.0 {
            state.clips.audio(at_s, samples);
            let ready = state.clips.ready();
            self.store_clips(ready);
        }
        state
            .clock
            .arrived(state.transcriber.stats().received_s, at);
        if let Some(total) = state.drops.add(dropped, Instant::now()) {
            self.update_figures(state);
            self.report_drops(total);
        }
    }

    /// Applies one source event; true when the source has ended.
    fn handle(&self, state: &mut State, session: &mut WhisperSession, event: SourceEvent) -> bool {
        match event {
            SourceEvent::Audio(samples, at) => self.receive(state, &samples, at),
            SourceEvent::Up => {
                let at_s = state.transcriber.stats().received_s;
                let changes = state.health.source(true, at_s);
                self.publish_health(state, changes);
                self.set_state(SourceState::Up);
                self.routine_status(state);
            }
            SourceEvent::Down { reason } => {
                let at_s = state.transcriber.stats().received_s;
                let changes = state.health.source(false, at_s);
                self.publish_health(state, changes);
                self.set_state(SourceState::Down);
                self.status(Some(reason), None);
            }
            SourceEvent::Gap { seconds } => {
                let flushed = self.required(state, |t| t.gap(session, seconds));
                if let Some(Ok(segments)) = flushed {
                    self.publish_segments(state, segments);
                }
                self.update_figures(state);
                self.status(Some("audio resumed after a gap".into()), Some(seconds));
            }
            SourceEvent::Ended => return true,
        }
        false
    }

    /// One status for all audio dropped since the last such report ([`DropReport`]).
    fn report_drops(&self, total_s: f64) {
        // Milliseconds, not tenths: a few samples dropped read as "0.0 s". Less than one
        // says 0.001 rather than claiming nothing was dropped.
        self.status(
            Some(format!(
                "transcription is behind real time: dropped the oldest {} s of audio",
                round::ms(total_s).max(0.001)
            )),
            None,
        );
    }

    /// A stream attached with `lang=auto` takes its language from the first words transcribed
    /// (Whisper detects it while none is set), then keeps it: the detector switches to that
    /// language's pack before it sees any text, and later windows decode in that language.
    fn settle_language(&self, state: &mut State, segments: &[Segment]) {
        if state.lang.is_some() {
            return;
        }
        let Some(first) = segments.iter().find(|s| !s.text.trim().is_empty()) else {
            return;
        };
        let lang = Lang::of_text(&first.text);
        state.lang = Some(lang);
        state.transcriber.set_language(lang.as_str());
        let origin = state.detector.declared_origin().map(str::to_owned);
        state.detector = self.detector.stream(lang, origin.as_deref());
        self.shared
            .info
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .lang = lang.as_str().to_string();
        self.status(Some(format!("language detected: {lang} (lang=auto)")), None);
    }

    fn publish_segments(&self, state: &mut State, segments: Vec<Segment>) {
        self.settle_language(state, &segments);
        let relistened = state.transcriber.take_relistened();
        let around = if relistened.is_empty() {
            Vec::new()
        } else {
            segments.clone()
        };
        for segment in segments {
            self.apply_origin_changes(&mut state.detector, segment.start_s, true);
            let alerts = state.detector.push(&segment);
            let end_s = segment.end_s;
            let _ = self.publish(EventBody::Transcript(segment));
            for alert in alerts {
                self.raise_unless_early(state, alert);
            }
            self.report_unconfirmed(state, end_s);
        }
        if let (false, Some(lang)) = (relistened.is_empty(), state.lang) {
            // As in `audit`: only claims the first pass (committed or early) did not raise.
            let origin = state.detector.declared_origin().map(str::to_owned);
            let more = second_listen::alerts(
                &self.detector,
                lang,
                origin.as_deref(),
                &relistened,
                state.alerts.recent(),
                &around,
            );
            for alert in more {
                self.raise(state, alert);
            }
        }
    }

    /// Scans a look at the phrase still being spoken with a copy of the detector and raises
    /// what it finds now, once.
    fn publish_early(&self, state: &mut State, segments: &[Segment]) {
        self.settle_language(state, segments);
        let mut probe = state.detector.clone();
        for segment in segments {
            self.apply_origin_changes(&mut probe, segment.start_s, false);
            for alert in probe.push(segment) {
                if state.alerts.already_early(&alert) {
                    continue;
                }
                let id = self.raise(state, alert.clone());
                state.alerts.raised_early(&alert, id);
            }
        }
    }

    /// Raises a committed alert, unless it was already raised early.
    fn raise_unless_early(&self, state: &mut State, alert: Alert) {
        if !state.alerts.confirms(&alert) {
            self.raise(state, alert);
        }
    }

    /// Early alerts that commits up to `committed_s` did not repeat: reported, not withdrawn.
    fn report_unconfirmed(&self, state: &mut State, committed_s: f64) {
        let expired = state.alerts.unconfirmed(committed_s);
        for e in expired {
            {
                let mut info = self.shared.info.lock().unwrap_or_else(|p| p.into_inner());
                info.unconfirmed_alerts += 1;
            }
            self.status(
                Some(format!(
                    "alert {} ({}, {:.1}-{:.1} s) was raised before its phrase ended and the final transcript does not repeat it",
                    e.id, e.rule, e.start_s, e.end_s
                )),
                None,
            );
        }
    }

    /// Publishes an alert, dated by when its first word was received (`said_at`). Returns the
    /// id the bus gave it (`STREAM-EVENTID`), empty if it could not be recorded.
    fn raise(&self, state: &mut State, mut alert: Alert) -> String {
        alert.said_at = alert
            .start_s
            .and_then(|t| state.clock.said_at(t))
            .map(clock::rfc3339);
        state.alerts.sent(&alert);
        self.count_alert(alert.category.as_str());
        let words = alert.start_s.zip(alert.end_s);
        let id = self
            .publish(EventBody::Alert(alert))
            .and_then(|event| event.alert().map(|a| a.id.clone()))
            .unwrap_or_default();
        if let (Some((start_s, end_s)), false) = (words, id.is_empty()) {
            if self.live.clip_margin_s > 0.0 {
                state.clips.alert(&id, start_s, end_s);
            }
        }
        id
    }

    /// Publishes health conditions that started or cleared, and keeps the active ones in the
    /// stream's figures.
    fn publish_health(&self, state: &mut State, changes: Vec<HealthChange>) {
        if changes.is_empty() {
            return;
        }
        self.shared
            .info
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .health = state.health.active();
        for change in changes {
            let _ = self.publish(EventBody::Health(change.event()));
        }
    }

    /// Hands finished evidence clips to the bus. A clip that cannot be kept is said in a status
    /// event: the alert itself is already recorded.
    fn store_clips(&self, clips: Vec<Clip>) {
        for clip in clips {
            if let Err(err) = self.bus.store_clip(&clip.alert_id, &clip.samples) {
                self.status(Some(format!("evidence clip not kept: {err}")), None);
            }
        }
    }

    /// Origin changes take effect for speech after them, not for audio still pending.
    /// `consume` false applies them to a probe without using them up.
    fn apply_origin_changes(
        &self,
        detector: &mut DetectorStream,
        segment_start_s: f64,
        consume: bool,
    ) {
        let mut changes = self
            .shared
            .origin_changes
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let due = changes
            .iter()
            .take_while(|(at, _)| *at <= segment_start_s)
            .count();
        for (_, origin) in &changes[..due] {
            detector.set_declared_origin(origin.as_deref());
        }
        if consume {
            changes.drain(..due);
        }
    }

    /// Runs decoding the stream cannot skip: waits for its turn at the decoder ([`Self::turn`]),
    /// and counts the time it holds it towards this stream's load. `None` if the stream was
    /// cancelled while it waited.
    fn required<T>(
        &self,
        state: &mut State,
        work: impl FnOnce(&mut LiveTranscriber) -> T,
    ) -> Option<T> {
        let turn = self.turn(state)?;
        state
            .transcriber
            .set_threads(self.options.threads * turn.width());
        let started = Instant::now();
        let out = work(&mut state.transcriber);
        let now = Instant::now();
        // A share of all the slots: with two decoders, a stream decoding half the time on one
        // of them needs a quarter of what the server can decode.
        self.shared
            .load
            .record((now - started).mul_f64(turn.share()), now);
        Some(out)
    }

    /// Waits for the decoder. Other streams may hold it for a long time, so meanwhile the audio
    /// that keeps arriving is taken in and the figures updated: `lag_s` shows a stream that is
    /// waiting as behind, not as healthy, and the lag bound keeps applying. The first event that
    /// is not audio is put aside with everything after it, so events keep their order. `None`
    /// when the stream is cancelled (detached, server stopping).
    fn turn<'a>(&'a self, state: &mut State) -> Option<Turn<'a>> {
        let waiter = self.decode_turns.wait(oldest_undecoded(state));
        loop {
            if let Some(turn) = waiter.try_take() {
                return Some(turn);
            }
            if state.cancel.is_cancelled() {
                return None;
            }
            if !state.deferred.is_empty() {
                std::thread::sleep(TURN_POLL);
                continue;
            }
            match state.events.recv_timeout(TURN_POLL) {
                Ok(SourceEvent::Audio(samples, at)) => self.receive(state, &samples, at),
                Ok(other) => state.deferred.push_back(other),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => state.deferred.push_back(SourceEvent::Ended),
            }
            self.update_figures(state);
            waiter.update(oldest_undecoded(state));
        }
    }

    /// Publishes; `None` (and a loud line on stderr) if the bus could not record it.
    fn publish(&self, body: EventBody) -> Option<Event> {
        match self.bus.publish(&self.id, body) {
            Ok(event) => Some(event),
            Err(err) => {
                // The log is the record of what was said: losing it must be loud.
                eprintln!(
                    "claimwatch: stream {}: cannot record event: {err:#}",
                    self.id
                );
                None
            }
        }
    }

    /// A status without news: sent when the state changed since the last one, or when
    /// [`STATUS_EVERY`] has passed and the figures moved; otherwise nothing. (Statuses with a
    /// message are always sent.)
    fn routine_status(&self, state: &mut State) {
        let info = self.shared.snapshot();
        let now = (info.state, round::ms(info.stream_s), round::ms(info.lag_s));
        let changed_state = state.last_reported.is_none_or(|(s, _, _)| s != info.state);
        let moved = state.last_reported != Some(now);
        if changed_state || (moved && state.last_status.elapsed() >= STATUS_EVERY) {
            self.status(None, None);
            state.last_reported = Some(now);
        }
        state.last_status = Instant::now();
    }

    /// Says a decode failed, unless it was given up because the stream is going away.
    fn decode_failed(&self, state: &State, err: &anyhow::Error) {
        if !state.cancel.is_cancelled() {
            self.status(Some(format!("transcription failed: {err:#}")), None);
        }
    }

    fn status(&self, message: Option<String>, gap_s: Option<f64>) {
        let info = self.shared.snapshot();
        let _ = self.publish(EventBody::Status(StreamStatus {
            state: info.state,
            stream_s: info.stream_s,
            lag_s: info.lag_s,
            rtf: info.rtf,
            dropped_s: info.dropped_s,
            gap_s,
            message,
        }));
    }

    fn set_state(&self, state: SourceState) {
        self.shared
            .info
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .state = state;
    }

    fn count_alert(&self, category: &str) {
        self.shared.count_alert(category);
    }

    fn update_figures(&self, state: &State) {
        let stats = state.transcriber.stats();
        let mut info = self.shared.info.lock().unwrap_or_else(|p| p.into_inner());
        info.stream_s = stats.received_s;
        info.lag_s = stats.lag_s();
        info.rtf = stats.rtf;
        info.dropped_s = stats.dropped_s;
        info.load = self.shared.load.rate(Instant::now());
        info.level_dbfs = state.health.level_dbfs();
    }
}

struct State {
    transcriber: LiveTranscriber,
    /// Recent audio, cut into each alert's evidence clip.
    clips: ClipRecorder,
    /// Silence, source down, dropped audio, clipping, lag: what changed.
    health: HealthMonitor,
    /// None until a `lang=auto` stream's first words decide it.
    lang: Option<Lang>,
    detector: DetectorStream,
    /// When a routine status was last considered, and what the last one sent said (state,
    /// stream_s, lag_s to the millisecond).
    last_status: Instant,
    last_reported: Option<(SourceState, f64, f64)>,
    /// Early alerts awaiting their commit, and the alerts of the last minute.
    alerts: Reconciler,
    /// Audio dropped to bound the lag, reported at most every few seconds.
    drops: DropReport,
    events: Receiver<SourceEvent>,
    /// Source events taken from the channel while waiting for the decoder, not yet handled.
    deferred: VecDeque<SourceEvent>,
    cancel: CancellationToken,
    /// When each stretch of stream time arrived, for `said_at`.
    clock: WallClock,
}

/// When the oldest audio the stream still has to decode was said: its place in the decoder's
/// queue. (The lag bound may drop that audio while the stream waits, which moves it.)
fn oldest_undecoded(state: &State) -> SystemTime {
    let stats = state.transcriber.stats();
    state
        .clock
        .said_at(stats.received_s - stats.lag_s())
        .unwrap_or_else(SystemTime::now)
}
