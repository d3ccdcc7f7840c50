//! Rolling-window transcription of one live stream: audio in as it arrives, each word committed
//! once, in stream time.
//!
//! Input: 16 kHz mono samples ([`LiveTranscriber::push`]), outages ([`LiveTranscriber::gap`]) and
//! a [`WhisperSession`] to decode with. Output: committed [`Segment`]s whose times are seconds
//! since the stream began. Windows are cut at pauses ([`phrase`]); silence is skipped without a
//! decode; invented text is dropped ([`hallucination`]).
//!
//! Lag — how much received audio is not transcribed yet — is bounded: a decoder slower than real
//! time gets wider windows (the latest pause within the longest window), and beyond `max_lag_s`
//! the oldest pending audio is dropped and counted, so an alert is never minutes late.

use anyhow::Result;

use crate::audio::SAMPLE_RATE;
use crate::live::health::HealthConfig;
use crate::transcribe::relisten::{self, Relistened, SuspectFinder};
use crate::transcribe::whisper::{
    AudioCtx, DecodeOptions, TimedToken, WhisperSession, WindowSegment,
};
use crate::transcribe::{hallucination, segment, Segment};
use crate::windowing::phrase::{self, Cut, PhraseConfig};
use crate::windowing::{commit, context};

const RATE: f64 = SAMPLE_RATE as f64;

/// Settings of one live transcriber.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveConfig {
    pub phrase: PhraseConfig,
    /// Most untranscribed audio kept, in seconds; older audio is dropped.
    pub max_lag_s: f64,
    /// Seconds of already transcribed audio decoded again before each window, for context
    /// ([`context`](crate::windowing::context)); 0 decodes each window alone.
    pub context_s: f64,
    /// A phrase still being spoken is looked at ([`LiveTranscriber::peek`]) once it has this
    /// much new audio since the last look, so a claim is alerted before its phrase ends;
    /// 0 turns looking off.
    pub peek_step_s: f64,
    /// How much of the latest audio a look decodes (context included). A look only has to
    /// catch the claim just said; decoding all of a long phrase with its context (up to 18 s)
    /// took tiny.en over a second per look here and put alerts 2.7 s (p50) after the words.
    pub peek_window_s: f64,
    /// Decode again, with the closest rule terms as the prompt, the spans of a committed window
    /// that sound close to a rule without matching it (as `audit` does, see [`relisten`]), unless
    /// the stream is behind its audio by more than `second_listen_max_behind_s`. Needs a finder
    /// ([`LiveTranscriber::listen_again_with`]).
    pub second_listen: bool,
    /// Received audio waiting behind a committed window beyond which its second listen is
    /// skipped: a second listen is optional work (about 1.3 CPU-s of tiny.en per span), and on
    /// a stream already this late it would delay every later alert for the chance of one more.
    /// Infinite for a file read as fast as it decodes (always behind, no one waiting).
    pub second_listen_max_behind_s: f64,
    /// Seconds of audio kept on each side of an alert's words as its evidence clip (stored on
    /// the event bus); 0 keeps none. Not the transcriber's: the stream's worker cuts the clips.
    pub clip_margin_s: f64,
    /// When the stream's health conditions start (the worker watches them; per stream).
    pub health: HealthConfig,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            phrase: PhraseConfig::default(),
            max_lag_s: 30.0,
            context_s: 6.0,
            peek_step_s: 0.5,
            peek_window_s: 6.0,
            second_listen: true,
            second_listen_max_behind_s: 5.0,
            clip_margin_s: 5.0,
            health: HealthConfig::default(),
        }
    }
}

/// The transcriber's counters, for status events and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LiveStats {
    /// Stream time received so far (audio and gaps), seconds.
    pub received_s: f64,
    /// Stream time up to which everything is transcribed, skipped as silence, or dropped.
    pub done_s: f64,
    /// Stream time up to which the words have been decoded, committed or looked at.
    pub heard_s: f64,
    /// Audio dropped to bound the lag, seconds in total.
    pub dropped_s: f64,
    /// Committed windows whose second listen was skipped because the stream was behind.
    pub second_listens_skipped: u64,
    /// Audio seconds decoded per wall second of decoding, over the last decode.
    pub rtf: f64,
}

impl LiveStats {
    /// How far the decoder is behind the audio received, seconds: what alerts wait for. (The
    /// committed transcript is further behind by design, up to a phrase.)
    pub fn lag_s(&self) -> f64 {
        (self.received_s - self.done_s.max(self.heard_s)).max(0.0)
    }
}

/// One stream's pending audio and decoding state.
pub struct LiveTranscriber {
    config: LiveConfig,
    options: DecodeOptions,
    /// Received, not yet transcribed audio; `pending[0]` is at stream time `pending_start_s`.
    pending: Vec<f32>,
    pending_start_s: f64,
    stats: LiveStats,
    ended: bool,
    /// The audio just before `pending` (at most `context_s`), heard again as context.
    history: Vec<f32>,
    /// The text committed last, to strip a window's repeat of it.
    last_text: String,
    /// Length of `pending` when it was last looked at (0: not since the last commit).
    peeked: usize,
    /// Names the spans worth a second listen (the detector), when `config.second_listen`.
    finder: Option<Box<dyn SuspectFinder + Send>>,
    /// Second listens done since [`LiveTranscriber::take_relistened`] was last called.
    relistened: Vec<Relistened>,
}

/// A word at the very end of a look may be cut off mid-word ("clinically pro…"): only tokens
/// dated this long before the audio received are shown. Whisper dates a window's last word
/// late, so 0.3 s hid "Japan" on en_demo for one more look; 0.15 s raised no unconfirmed alert
/// in the latency benchmark.
const PEEK_TAIL_S: f64 = 0.15;
/// Less speech than this holds no claim worth a look.
const PEEK_MIN_SPEECH_S: f64 = 1.0;

impl LiveTranscriber {
    /// `options.language` None lets Whisper detect it in every window until
    /// [`Self::set_language`] fixes it (a stream attached with `lang=auto`).
    pub fn new(config: LiveConfig, mut options: DecodeOptions) -> LiveTranscriber {
        if options.audio_ctx == AudioCtx::Auto {
            // Batch gives multilingual models the full 30 s context (a shortened one made base
            // invent text in 2 of 9 clips' padding), but a 3–12 s phrase decoded with 30 s of
            // context costs as much as a 30 s window: base ran ja_demo at 0.7x real time live.
            // Sized to the window it ran 2.6x and matched batch as closely (BENCHMARKS.md);
            // the hallucination checks still apply to every segment.
            options.audio_ctx = AudioCtx::Sized;
        }
        LiveTranscriber {
            config,
            options,
            pending: Vec::new(),
            pending_start_s: 0.0,
            stats: LiveStats::default(),
            ended: false,
            history: Vec::new(),
            last_text: String::new(),
            peeked: 0,
            finder: None,
            relistened: Vec::new(),
        }
    }

    /// Gives the transcriber what names suspects for the second listen (the detector); without
    /// one, or with `config.second_listen` off, there is none.
    pub fn listen_again_with(&mut self, finder: Box<dyn SuspectFinder + Send>) {
        self.finder = Some(finder);
    }

    /// The second listens of the windows committed since the last call, in stream time: for the
    /// caller to check against the rules (an alert only where the new text matches one).
    pub fn take_relistened(&mut self) -> Vec<Relistened> {
        std::mem::take(&mut self.relistened)
    }

    /// Decodes from now on in `code` (a Whisper language code): once a stream's language is
    /// known, detecting it again in every window costs time and can flip on a short phrase.
    pub fn set_language(&mut self, code: &str) {
        self.options.language = Some(code.to_string());
    }

    /// Threads of the next decodes (a turn at the decoder says how many it may use).
    pub fn set_threads(&mut self, threads: usize) {
        self.options.threads = threads.max(1);
    }

    pub fn stats(&self) -> LiveStats {
        self.stats
    }

    /// Audio received (16 kHz mono). Returns the seconds dropped to keep the lag bounded.
    pub fn push(&mut self, samples: &[f32]) -> f64 {
        self.pending.extend_from_slice(samples);
        self.stats.received_s += samples.len() as f64 / RATE;
        // Silence is done as soon as it is heard: it is never decoded, and must not count as
        // lag or be dropped as if the decoder were behind.
        let silence = phrase::leading_silence(&self.pending, &self.config.phrase);
        self.consume(silence);
        let max = (self.config.max_lag_s * RATE) as usize;
        if self.pending.len() <= max {
            return 0.0;
        }
        let excess = self.pending.len() - max;
        self.pending.drain(..excess);
        self.peeked = self.peeked.saturating_sub(excess);
        self.history.clear(); // no longer the audio just before `pending`
        self.last_text.clear();
        self.advance_start(excess);
        let dropped = excess as f64 / RATE;
        self.stats.dropped_s += dropped;
        dropped
    }

    /// Stream time passed without audio (a source outage): pending audio is transcribed as it
    /// is, and what follows is dated after the gap.
    pub fn gap(&mut self, session: &mut WhisperSession, seconds: f64) -> Result<Vec<Segment>> {
        let flushed = self.drain(session, true)?;
        self.stats.received_s += seconds;
        self.pending_start_s += seconds;
        self.history.clear();
        self.last_text.clear();
        self.stats.done_s = self.pending_start_s;
        Ok(flushed)
    }

    /// No more audio: transcribes everything pending.
    pub fn finish(&mut self, session: &mut WhisperSession) -> Result<Vec<Segment>> {
        self.ended = true;
        self.drain(session, true)
    }

    /// Decodes every window that is ready now (none if the current phrase is still going).
    pub fn step(&mut self, session: &mut WhisperSession) -> Result<Vec<Segment>> {
        self.drain(session, self.ended)
    }

    /// Whether a decode would happen on [`step`](Self::step) now.
    pub fn ready(&self) -> bool {
        let skip = phrase::leading_silence(&self.pending, &self.config.phrase);
        !matches!(
            phrase::cut(&self.pending[skip..], &self.config.phrase, self.ended),
            Cut::Wait
        )
    }

    /// Whether [`peek`](Self::peek) has anything new to look at.
    pub fn can_peek(&self) -> bool {
        let step = (self.config.peek_step_s * RATE) as usize;
        step > 0 && !self.ended && self.pending.len() >= self.peeked + step && {
            let skip = phrase::leading_silence(&self.pending, &self.config.phrase);
            let speech = self.pending.len() - skip;
            speech as f64 >= PEEK_MIN_SPEECH_S * RATE
                && !hallucination::is_silent(&self.pending[skip..])
        }
    }

    /// Decodes the phrase still being spoken, without committing it: what it says so far, up to
    /// [`PEEK_TAIL_S`] before the audio received, in stream time. For raising alerts early;
    /// the words are committed later, once, by [`step`](Self::step). `None` when
    /// [`can_peek`](Self::can_peek) is false.
    pub fn peek(&mut self, session: &mut WhisperSession) -> Result<Option<Vec<Segment>>> {
        if !self.can_peek() {
            return Ok(None);
        }
        self.peeked = self.pending.len();
        let longest = (self.config.peek_window_s * RATE) as usize;
        let total = self.history.len() + self.pending.len();
        let from = total.saturating_sub(longest);
        let mut window = Vec::with_capacity(total - from);
        if from < self.history.len() {
            window.extend_from_slice(&self.history[from..]);
            window.extend_from_slice(&self.pending);
        } else {
            window.extend_from_slice(&self.pending[from - self.history.len()..]);
        }
        let segments = self.decode(session, &window)?;
        // Words before the boundary were committed already, or (a window starting inside the
        // phrase) may be cut off at the window's start.
        let window_start_s = from as f64 / RATE - self.history.len() as f64 / RATE;
        let boundary_s = if from < self.history.len() {
            -window_start_s
        } else {
            PEEK_TAIL_S
        };
        let mut heard = context::after_boundary(segments, boundary_s);
        if from < self.history.len() {
            heard = self.strip_repeats(heard);
        }
        let until = window.len() as f64 / RATE - PEEK_TAIL_S - boundary_s;
        let heard = heard
            .into_iter()
            .filter_map(|s| context::before(s, until))
            .collect();
        self.stats.heard_s = self.pending_start_s + self.pending.len() as f64 / RATE;
        Ok(Some(self.in_stream_time(
            heard,
            self.pending_start_s + window_start_s + boundary_s,
        )))
    }

    fn drain(&mut self, session: &mut WhisperSession, to_end: bool) -> Result<Vec<Segment>> {
        let mut out = Vec::new();
        loop {
            let skip = phrase::leading_silence(&self.pending, &self.config.phrase);
            self.consume(skip);
            if to_end && hallucination::is_silent(&self.pending) {
                self.consume(self.pending.len());
                return Ok(out);
            }
            let (end, is_phrase) = match phrase::cut(&self.pending, &self.config.phrase, to_end) {
                Cut::Wait => return Ok(out),
                Cut::Phrase { end } => (end, true),
                Cut::Window { end } => (end, false),
            };
            let phrase_audio = &self.pending[..end];
            let window_s = end as f64 / RATE;
            let started = std::time::Instant::now();
            let mut window = Vec::new();
            let heard = if hallucination::is_silent(phrase_audio) {
                Vec::new()
            } else {
                window.reserve(self.history.len() + end);
                window.extend_from_slice(&self.history);
                window.extend_from_slice(phrase_audio);
                let segments = self.decode(session, &window)?;
                let mut heard = context::after_boundary(segments, self.history.len() as f64 / RATE);
                if !self.history.is_empty() {
                    heard = self.strip_repeats(heard);
                }
                heard
            };
            let wall = started.elapsed().as_secs_f64();
            if wall > 0.0 {
                self.stats.rtf = window_s / wall;
            }
            let commit = commit::commit(heard, window_s, is_phrase);
            if let Some(last) = commit.committed.last() {
                self.last_text = last.text.clone();
            }
            let committed = self.in_stream_time(commit.committed, self.pending_start_s);
            let behind_s = (self.pending.len() - end) as f64 / RATE;
            if behind_s <= self.config.second_listen_max_behind_s {
                self.listen_again(session, &window, &committed)?;
            } else if self.config.second_listen && !committed.is_empty() {
                self.stats.second_listens_skipped += 1;
            }
            out.extend(committed);
            let advance = ((commit.advance_s * RATE).round() as usize).clamp(1, end);
            self.consume(advance);
        }
    }

    /// The second listen over one committed window (`window`: its audio, context first).
    fn listen_again(
        &mut self,
        session: &mut WhisperSession,
        window: &[f32],
        committed: &[Segment],
    ) -> Result<()> {
        let (Some(finder), Some(lang)) = (&self.finder, &self.options.language) else {
            return Ok(());
        };
        if !self.config.second_listen || committed.is_empty() {
            return Ok(());
        }
        let window_start_s = self.pending_start_s - self.history.len() as f64 / RATE;
        let heard = relisten::relisten(
            session,
            window,
            window_start_s,
            committed,
            lang,
            finder.as_ref(),
            &self.options,
        )?;
        self.relistened.extend(heard);
        Ok(())
    }

    /// Decodes `window` and keeps the segments that are speech. A shortened encoder context
    /// sometimes sends base into a repetition loop (「弓弓弓…」 over half of ja_negated); the
    /// window is then decoded again with the full 30 s context, as batch does.
    fn decode(&self, session: &mut WhisperSession, window: &[f32]) -> Result<Vec<WindowSegment>> {
        let mut segments = session.transcribe(window, &self.options)?.segments;
        let full = AudioCtx::Frames(crate::transcribe::whisper::FULL_AUDIO_CTX);
        if self.options.audio_ctx != full
            && segments.iter().any(|s| hallucination::is_loop(&s.text))
        {
            let options = DecodeOptions {
                audio_ctx: full,
                ..self.options.clone()
            };
            segments = session.transcribe(window, &options)?.segments;
        }
        segments.retain(|s| hallucination::check(s, window).is_none());
        Ok(segments)
    }

    /// Segments whose times count from stream time `offset_s`, dated in stream time.
    fn in_stream_time(&self, segments: Vec<WindowSegment>, offset_s: f64) -> Vec<Segment> {
        segments
            .into_iter()
            .map(|s| segment::in_stream_time(s, offset_s))
            .collect()
    }

    /// Drops a window's repeat of the text committed before it (see
    /// [`context::strip_repeated_start`]), keeping the tokens of what is left.
    fn strip_repeats(&self, segments: Vec<WindowSegment>) -> Vec<WindowSegment> {
        let spaced = self.options.language.as_deref() != Some("ja");
        let mut previous = self.last_text.clone();
        let mut out = Vec::with_capacity(segments.len());
        for mut s in segments {
            let text = context::strip_repeated_start(&previous, &s.text, spaced);
            if text.is_empty() {
                continue;
            }
            if text != s.text.trim() {
                let spelled = |tokens: &[TimedToken]| {
                    let bytes: Vec<u8> = tokens.iter().flat_map(|t| t.bytes.clone()).collect();
                    String::from_utf8_lossy(&bytes).trim().to_string()
                };
                while !s.tokens.is_empty() && spelled(&s.tokens).len() > text.len() {
                    s.tokens.remove(0);
                }
                if spelled(&s.tokens) != text {
                    s.tokens.clear(); // alert times fall back to the segment's
                } else {
                    s.start_s = s.tokens[0].start_s.max(s.start_s);
                }
                s.text = text;
            }
            previous = s.text.clone();
            out.push(s);
        }
        out
    }

    /// Moves the first `samples` of `pending` (transcribed or skipped) into the context history.
    fn consume(&mut self, samples: usize) {
        let max = (self.config.context_s * RATE) as usize;
        self.history.extend(self.pending.drain(..samples));
        self.peeked = self.peeked.saturating_sub(samples);
        if self.history.len() > max {
            let excess = self.history.len() - max;
            self.history.drain(..excess);
        }
        self.advance_start(samples);
    }

    fn advance_start(&mut self, samples: usize) {
        self.pending_start_s += samples as f64 / RATE;
        self.stats.done_s = self.pending_start_s;
    }
}

/// Transcribes `samples` as if they arrived live in `chunk_s` pieces, decoding whenever a window
/// is ready, without waiting for real time: the windows a decoder that keeps up would see. For
/// comparing live with batch transcripts and for measuring decode cost per window.
pub fn transcribe_as_live(
    session: &mut WhisperSession,
    samples: &[f32],
    chunk_s: f64,
    config: LiveConfig,
    options: DecodeOptions,
) -> Result<Vec<Segment>> {
    let mut live = LiveTranscriber::new(config, options);
    let chunk = ((chunk_s * RATE) as usize).max(1);
    let mut out = Vec::new();
    for piece in samples.chunks(chunk) {
        live.push(piece);
        out.extend(live.step(session)?);
    }
    out.extend(live.finish(session)?);
    Ok(out)
}
