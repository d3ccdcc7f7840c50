//! The one file that talks to whisper.cpp (through whisper-rs).
//!
//! Input: a ggml model path, then 16 kHz mono f32 windows of at most 30 s. Output: the window's
//! segments (times relative to the window start, text, no-speech probability) and its language.
//! Everything whisper-specific — parameters, token ids, language codes, log silencing — stays
//! here so a whisper-rs upgrade touches one file.

use std::path::Path;
use std::sync::Once;

use anyhow::{bail, Context, Result};
use std::io::Read;

use whisper_rs::{
    DtwMode, DtwModelPreset, DtwParameters, FullParams, SamplingStrategy, WhisperContext,
    WhisperContextParameters, WhisperState,
};

/// Settings fixed when a model is loaded.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// whisper.cpp's flash-attention kernels. whisper.cpp cannot combine them with `dtw`.
    pub flash_attn: bool,
    /// Token times by dynamic time warping over the alignment heads (when the model is a
    /// standard size whisper.cpp knows heads for); turns `flash_attn` off.
    pub dtw: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        // DTW: the heuristic token times dated a sentence after 20 s of music from the end of
        // the sentence before; alert times need better (BENCHMARKS.md has the cost).
        LoadOptions {
            flash_attn: false,
            dtw: true,
        }
    }
}

/// Settings for decoding one window.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// ISO 639-1 code, or `None` to detect.
    pub language: Option<String>,
    pub threads: usize,
    pub audio_ctx: AudioCtx,
    /// Text that primes the decoder (domain vocabulary), whatever the language.
    pub initial_prompt: Option<String>,
    /// Per-language priming, `(code, prompt)`: used when `initial_prompt` is `None` and the
    /// language is known (given, or fixed after detection on an earlier window).
    pub language_prompts: Vec<(String, String)>,
    /// Re-decode a window at rising temperatures when the greedy text looks like a loop or has
    /// low confidence (openai-whisper's fallback). Each retry costs a whole decode.
    pub temperature_fallback: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            language: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            audio_ctx: AudioCtx::Auto,
            initial_prompt: None,
            language_prompts: Vec::new(),
            // Off: on the Japanese samples every retry returned the text of the greedy pass, and
            // one clip took 12.6 s instead of 2.1 s (BENCHMARKS.md).
            temperature_fallback: false,
        }
    }
}

/// How much of the encoder runs: whisper.cpp's `audio_ctx`, 50 frames per second of audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioCtx {
    /// [`AudioCtx::Sized`] for English-only models, the full 30 s for multilingual ones.
    Auto,
    /// The window plus padding ([`audio_ctx_for`]): short windows cost less.
    Sized,
    /// A fixed number of frames (1500 = 30 s).
    Frames(usize),
}

/// One segment of a window; times in seconds from the window start.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSegment {
    /// When the words start and end, from token times where whisper.cpp gives them.
    pub start_s: f64,
    pub end_s: f64,
    /// Where whisper.cpp's own segment begins: a re-decode of this segment must start here, as
    /// token times may date the first word late (a too-late seek drops the words before it).
    pub seek_start_s: f64,
    pub text: String,
    /// The model's probability that the window holds no speech.
    pub no_speech_prob: f32,
    /// Mean natural-log probability of the segment's text tokens (0 when it has none).
    pub avg_logprob: f32,
    /// The segment's text tokens with whisper.cpp's token-level times (window-relative).
    pub tokens: Vec<TimedToken>,
}

/// One text token: its bytes (a UTF-8 character may span two tokens) and when it was said.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedToken {
    pub bytes: Vec<u8>,
    pub start_s: f64,
    pub end_s: f64,
}

/// What whisper.cpp made of one window.
#[derive(Debug, Clone)]
pub struct WindowResult {
    pub language: String,
    pub segments: Vec<WindowSegment>,
}

/// A loaded ggml Whisper model; share it (`Arc`) between sessions, one session per thread.
pub struct WhisperModel {
    ctx: WhisperContext,
}

// The context is read-only after load; each thread decodes with its own `WhisperSession`.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<WhisperModel>();
};

/// A decoding state (KV caches, mel buffer) bound to one model.
pub struct WhisperSession {
    state: WhisperState,
    multilingual: bool,
    /// Token ids from here up are special (timestamps, language, task), not text.
    first_special_token: i32,
    /// Asked between graph steps of every decode; `true` makes whisper.cpp give up the decode.
    /// Boxed twice so whisper.cpp gets a thin pointer that stays put while the session moves.
    stop: Option<Box<Box<StopWhen>>>,
}

type StopWhen = dyn Fn() -> bool + Send + Sync;

/// whisper.cpp's abort callback: asks the session's [`WhisperSession::stop_when`] predicate.
///
/// # Safety
/// `data` is the address of the `Box<StopWhen>` inside a live session's `stop`, which outlives
/// the `full` call that passes it here.
unsafe extern "C" fn ask_stop(data: *mut std::ffi::c_void) -> bool {
    // SAFETY: see above; the predicate is only read, and is Sync.
    let stop = unsafe { &*(data as *const Box<StopWhen>) };
    stop()
}

/// The shortest rest of a call's audio whisper.cpp may go on to decode, in 10 ms frames.
///
/// After a window, whisper.cpp decodes whatever audio is left past its last timestamp, down to
/// 0.11 s. It then aligns the words with DTW through a median filter of width 7 that asserts more
/// than 7 audio tokens (> 15 frames): words found in a rest of 0.11-0.15 s abort the whole
/// process (seen live: `serve` died with SIGABRT on a stream of tests/data/spoken/). A rest
/// that short holds no word, so the decode stops before it. 20, not 16: whisper.cpp's own count
/// of a call's frames is one or two short of samples / 160 (the seen crash: 1799 of 1800, a
/// rest of 15).
const MIN_REST_FRAMES: i64 = 20;

/// whisper.cpp's encoder-begin callback: whether to go on to the next window of the call, given
/// the call's length in frames at `total_frames` (an `i64`).
///
/// # Safety
/// Called by whisper.cpp during `full` with its live state; `total_frames` points to the `i64`
/// that `decode` keeps alive across that call.
unsafe extern "C" fn enough_audio_left(
    _ctx: *mut whisper_rs_sys::whisper_context,
    state: *mut whisper_rs_sys::whisper_state,
    total_frames: *mut std::ffi::c_void,
) -> bool {
    // SAFETY: see above; the segment read is one of the `n` the state holds.
    unsafe {
        let total = *(total_frames as *const i64);
        let n = whisper_rs_sys::whisper_full_n_segments_from_state(state);
        if n == 0 {
            return true;
        }
        // A window ends where its last segment ends (whisper.cpp's `seek`).
        let seek = whisper_rs_sys::whisper_full_get_segment_t1_from_state(state, n - 1);
        rest_worth_decoding(total, seek)
    }
}

/// Whether the audio of a call of `total` frames left after a window ending at `seek` is worth
/// (and safe) decoding.
fn rest_worth_decoding(total: i64, seek: i64) -> bool {
    total - seek >= MIN_REST_FRAMES
}

/// Frames of encoder context per second of audio (whisper: 1500 frames per 30 s).
const FRAMES_PER_SECOND: usize = 50;
pub const FULL_AUDIO_CTX: usize = 1500;

/// Silence Whisper should see after the audio, in seconds. Trained on padded 30 s windows, the
/// models need a tail of padding: with only 1 s, base invented repeated sentences on a 10 s
/// Japanese clip (CER 0.74); with 4 s it matched the full 30 s context (CER 0.02) at 0.7x its cost.
const PADDING_S: usize = 4;

/// Encoder context for a window of `samples` at 16 kHz: the window plus [`PADDING_S`], rounded up
/// to a multiple of 64 frames, never more than the full 30 s.
pub fn audio_ctx_for(samples: usize) -> usize {
    let frames = samples * FRAMES_PER_SECOND / 16_000 + PADDING_S * FRAMES_PER_SECOND;
    (frames.div_ceil(64) * 64).min(FULL_AUDIO_CTX)
}

/// whisper.cpp's alignment-head preset for a standard model, from the ggml header
/// (vocabulary size tells English-only from multilingual, encoder layers tell the size).
fn alignment_heads(path: &Path) -> Result<Option<DtwModelPreset>> {
    let mut header = [0u8; 24];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut header));
    if read.is_err() {
        return Ok(None); // not a ggml file: whisper.cpp's own load reports it
    }
    let field = |i: usize| i32::from_le_bytes(header[4 * i..4 * i + 4].try_into().unwrap());
    let (n_vocab, n_audio_layer) = (field(1), field(5));
    let english_only = n_vocab == 51864;
    Ok(match (n_audio_layer, english_only) {
        (4, true) => Some(DtwModelPreset::TinyEn),
        (4, false) => Some(DtwModelPreset::Tiny),
        (6, true) => Some(DtwModelPreset::BaseEn),
        (6, false) => Some(DtwModelPreset::Base),
        (12, true) => Some(DtwModelPreset::SmallEn),
        (12, false) => Some(DtwModelPreset::Small),
        (24, true) => Some(DtwModelPreset::MediumEn),
        (24, false) => Some(DtwModelPreset::Medium),
        _ => None,
    })
}

fn silence_whisper_logs() {
    static ONCE: Once = Once::new();
    // Without a log backend feature this routes whisper.cpp/ggml logs to nowhere instead of
    // stderr; CLAIMWATCH_WHISPER_LOG=1 keeps them for debugging a model that will not load.
    if std::env::var_os("CLAIMWATCH_WHISPER_LOG").is_none() {
        ONCE.call_once(whisper_rs::install_logging_hooks);
    }
}

impl WhisperModel {
    pub fn load(path: &Path, options: LoadOptions) -> Result<Self> {
        silence_whisper_logs();
        if !path.is_file() {
            bail!(
                "{}: model file not found (run models/fetch, or pass --model PATH)",
                path.display()
            );
        }
        let mut params = WhisperContextParameters::default();
        let dtw_preset = if options.dtw {
            alignment_heads(path)?
        } else {
            None
        };
        params.flash_attn(options.flash_attn && dtw_preset.is_none());
        if let Some(model_preset) = dtw_preset {
            params.dtw_parameters(DtwParameters {
                mode: DtwMode::ModelPreset { model_preset },
                ..DtwParameters::default()
            });
        }
        let ctx = WhisperContext::new_with_params(path, params).map_err(|e| {
            anyhow::anyhow!(
                "{}: whisper.cpp could not load this model ({e:?})",
                path.display()
            )
        })?;
        Ok(WhisperModel { ctx })
    }

    /// Prints whisper.cpp's own per-stage timings to stderr (visible with CLAIMWATCH_WHISPER_LOG=1).
    pub fn print_timings(&self) {
        self.ctx.print_timings();
    }

    pub fn is_multilingual(&self) -> bool {
        self.ctx.is_multilingual()
    }

    pub fn session(&self) -> Result<WhisperSession> {
        let state = self
            .ctx
            .create_state()
            .context("whisper.cpp could not allocate a decoding state")?;
        Ok(WhisperSession {
            state,
            multilingual: self.is_multilingual(),
            first_special_token: self.ctx.token_eot(),
            stop: None,
        })
    }
}

/// Whether whisper.cpp knows this language code.
pub fn is_known_language(code: &str) -> bool {
    whisper_rs::get_lang_id(code).is_some()
}

impl WhisperSession {
    /// Makes every later decode give up within one graph step once `stop` returns `true` (a
    /// live stream detached or the server stopping): a base-model decode of a full window takes
    /// seconds on a busy machine, and the process must not exit while whisper.cpp is computing.
    /// A decode given up this way is an error.
    pub fn stop_when(&mut self, stop: impl Fn() -> bool + Send + Sync + 'static) {
        self.stop = Some(Box::new(Box::new(stop)));
    }

    /// Transcribes one window (≤ 30 s of 16 kHz mono audio).
    pub fn transcribe(&mut self, pcm: &[f32], options: &DecodeOptions) -> Result<WindowResult> {
        if pcm.is_empty() {
            return Ok(WindowResult {
                language: options.language.clone().unwrap_or_default(),
                segments: vec![],
            });
        }
        let language = match (&options.language, self.multilingual) {
            (Some(lang), false) if lang != "en" => {
                bail!("this model is English-only; use a multilingual model for --lang {lang}")
            }
            (Some(lang), _) => lang.clone(),
            (None, false) => "en".to_string(),
            (None, true) => "auto".to_string(),
        };
        // A shortened encoder context made base invent sentences in the padding of 2 of 9
        // Japanese clips even with 4 s of margin (BENCHMARKS.md); tiny.en kept the same text.
        let audio_ctx = match options.audio_ctx {
            AudioCtx::Frames(frames) => frames.min(FULL_AUDIO_CTX),
            AudioCtx::Auto if self.multilingual => FULL_AUDIO_CTX,
            AudioCtx::Auto | AudioCtx::Sized => audio_ctx_for(pcm.len()),
        };
        let result = self.decode(pcm, options, language.clone(), audio_ctx)?;
        // A shortened context raises the model's no-speech probability (tiny.en on speech under
        // rain: 0.43 instead of 0.20, 0.25 instead of 0.11), so whisper.cpp's no-speech rule can
        // drop a pass of speech that the full 30 s context, which faster-whisper always uses,
        // keeps. A window that comes back empty is decoded again at full context: a second decode
        // only where there was no text (silence is not decoded at all, see `hallucination`).
        // Likewise a window whose text repeats itself across segments: on 10 s of speech over a
        // train at 10 dB SNR tiny.en wrote one line ten times at the shortened context (2 of 28
        // words) and every line at full context (faster-whisper: 20 of 28). Each segment alone
        // is too short for the per-segment loop check to see it.
        let text: String = result.segments.iter().map(|s| s.text.as_str()).collect();
        if (result.segments.is_empty() || crate::transcribe::hallucination::is_loop(&text))
            && audio_ctx < FULL_AUDIO_CTX
            && !matches!(options.audio_ctx, AudioCtx::Frames(_))
        {
            return self.decode(pcm, options, language, FULL_AUDIO_CTX);
        }
        Ok(result)
    }

    /// One whisper.cpp decode of `pcm` in `language` ("auto" to detect) with `audio_ctx` frames.
    fn decode(
        &mut self,
        pcm: &[f32],
        options: &DecodeOptions,
        language: String,
        audio_ctx: usize,
    ) -> Result<WindowResult> {
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(options.threads.max(1) as i32);
        params.set_language(Some(&language));
        params.set_translate(false);
        // Each window stands alone: carrying text across windows feeds hallucinations forward.
        params.set_no_context(true);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_temperature(0.0);
        // Segment-level times stretch over music and silence (a sentence after 20 s of music was
        // dated from the end of the one before); the first and last text token date it closely.
        params.set_token_timestamps(true);
        if !options.temperature_fallback {
            params.set_temperature_inc(0.0);
        }
        params.set_audio_ctx(audio_ctx as i32);
        let prompt = options.initial_prompt.as_deref().or_else(|| {
            options
                .language_prompts
                .iter()
                .find(|(code, _)| *code == language)
                .map(|(_, prompt)| prompt.as_str())
        });
        if let Some(prompt) = prompt {
            params.set_initial_prompt(prompt);
        }
        let total_frames: i64 = pcm.len() as i64 / 160;
        // SAFETY: `total_frames` lives on this frame until after `full` (below) returns; the
        // callback only reads it and the state's segments.
        unsafe {
            params.set_start_encoder_callback(Some(enough_audio_left));
            params.set_start_encoder_callback_user_data(
                &total_frames as *const i64 as *mut std::ffi::c_void,
            );
        }
        if let Some(stop) = &self.stop {
            let data: *const Box<StopWhen> = &**stop;
            // SAFETY: `ask_stop` reads `data` as the `Box<StopWhen>` it is; `self.stop` is not
            // touched while `full` (below) runs, so the address stays valid for the whole call.
            unsafe {
                params.set_abort_callback(Some(ask_stop));
                params.set_abort_callback_user_data(data as *mut std::ffi::c_void);
            }
        }
        if let Err(e) = self.state.full(params, pcm) {
            if self.stop.as_ref().is_some_and(|stop| stop()) {
                bail!("decode stopped");
            }
            bail!("whisper.cpp failed to transcribe ({e:?})");
        }

        let detected = if language == "auto" {
            let id = self.state.full_lang_id_from_state();
            whisper_rs::get_lang_str(id).unwrap_or("en").to_string()
        } else {
            language
        };
        let mut segments = Vec::new();
        for segment in self.state.as_iter() {
            let text = segment
                .to_str_lossy()
                .map(|t| t.trim().to_string())
                .unwrap_or_default();
            let mut tokens = Vec::new();
            let mut logprob_sum = 0.0;
            for i in 0..segment.n_tokens() {
                let Some(token) = segment.get_token(i) else {
                    continue;
                };
                let data = token.token_data();
                if data.id >= self.first_special_token {
                    continue;
                }
                logprob_sum += data.plog;
                // whisper.cpp times are in 10 ms units; t_dtw is -1 without DTW.
                let (start_s, end_s) = if data.t_dtw >= 0 {
                    (data.t_dtw as f64 / 100.0, data.t_dtw as f64 / 100.0)
                } else {
                    (data.t0 as f64 / 100.0, data.t1 as f64 / 100.0)
                };
                tokens.push(TimedToken {
                    bytes: token.to_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
                    start_s,
                    end_s,
                });
            }
            let seek_start_s = segment.start_timestamp() as f64 / 100.0;
            let (mut start_s, mut end_s) = (seek_start_s, segment.end_timestamp() as f64 / 100.0);
            if let (Some(first), Some(last)) = (tokens.first(), tokens.last()) {
                if first.start_s <= last.end_s {
                    start_s = start_s.max(first.start_s);
                    end_s = end_s.min(last.end_s).max(start_s);
                }
            }
            segments.push(WindowSegment {
                start_s,
                end_s,
                seek_start_s,
                text,
                no_speech_prob: segment.no_speech_probability(),
                avg_logprob: logprob_sum / tokens.len().max(1) as f32,
                tokens,
            });
        }
        Ok(WindowResult {
            language: detected,
            segments,
        })
    }
}

/// Quantizes `values` (a multiple of 32) to ggml type `ty` (its `enum ggml_type` value) with
/// ggml's own quantizer, for the model importer: ggml's 4-bit encodings (`iq4_nl` searches each
/// block's scale) are not ours to re-derive.
pub fn ggml_quantize(values: &[f32], ty: i32) -> Vec<u8> {
    let ty = ty as whisper_rs_sys::ggml_type;
    // Rows of one block: these types quantize each block of 32 on its own.
    let n_per_row = 32i64;
    let rows = values.len() as i64 / n_per_row;
    // SAFETY: ggml_row_size only reads ggml's static type table.
    let row_bytes = unsafe { whisper_rs_sys::ggml_row_size(ty, n_per_row) };
    let mut out = vec![0u8; row_bytes * rows as usize];
    // SAFETY: `values` holds `rows × n_per_row` f32 and `out` `rows × row_bytes` bytes; no
    // importance matrix is passed (null), which these types allow.
    let written = unsafe {
        whisper_rs_sys::ggml_quantize_init(ty);
        whisper_rs_sys::ggml_quantize_chunk(
            ty,
            values.as_ptr(),
            out.as_mut_ptr().cast(),
            0,
            rows,
            n_per_row,
            std::ptr::null(),
        )
    };
    out.truncate(written);
    out
}

/// Decodes ggml type `ty` bytes back to f32 (tests and error measurement).
pub fn ggml_dequantize(bytes: &[u8], ty: i32, n: usize) -> Vec<f32> {
    let ty = ty as whisper_rs_sys::ggml_type;
    let mut out = vec![0f32; n];
    // SAFETY: the traits are ggml's static table; `to_float` reads the blocks of `n` values,
    // which `bytes` holds when it came from `ggml_quantize` of `n` values.
    unsafe {
        let traits = whisper_rs_sys::ggml_get_type_traits(ty);
        if let Some(to_float) = (*traits).to_float {
            to_float(bytes.as_ptr().cast(), out.as_mut_ptr(), n as i64);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The crash seen: a call of 1800 frames (288,000 samples / 160), a window ending at 1784
    /// (whisper.cpp counted 1799 frames: a rest of 15 it could not align).
    #[test]
    fn rests_too_short_to_decode() {
        // (total frames, window end, decode the rest)
        let cases = [
            (1800, 1784, false),
            (1800, 1780, true),
            (1800, 1800, false),
            (3000, 1500, true),
            (3000, 2985, false),
        ];
        for (total, seek, want) in cases {
            assert_eq!(rest_worth_decoding(total, seek), want, "{total} {seek}");
        }
    }

    #[test]
    fn audio_ctx_covers_the_window_and_caps_at_30_s() {
        let cases = [
            (16_000, 256),
            (8 * 16_000, 640),
            (10 * 16_000, 704),
            (25 * 16_000, 1472),
            (26 * 16_000, 1500),
            (30 * 16_000, 1500),
            (60 * 16_000, 1500),
        ];
        for (samples, expected) in cases {
            assert_eq!(audio_ctx_for(samples), expected, "{samples}");
        }
    }
}
