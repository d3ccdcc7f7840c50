//! The one file that talks to whisper.cpp (through whisper-rs).
//!
//! Input: a ggml model path, then 16 kHz mono f32 windows of at most 30 s. Output: the window's
//! segments (times relative to the window start, text, no-speech probability) and its language.
//! Everything whisper-specific — parameters, token ids, language codes, log silencing — stays
//! here so a whisper-rs upgrade touches one file.

use std::path::Path;
use std::sync::Once;

use anyhow::{bail, Context, Result};
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

/// Settings fixed when a model is loaded.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// whisper.cpp's flash-attention kernels (CPU too); measured faster here, see BENCHMARKS.md.
    pub flash_attn: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { flash_attn: true }
    }
}

/// Settings for decoding one window.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// ISO 639-1 code, or `None` to detect.
    pub language: Option<String>,
    pub threads: usize,
    /// Encoder context in frames (1500 = 30 s). `None` sizes it to the window (see [`audio_ctx_for`]).
    pub audio_ctx: Option<usize>,
    /// Text that primes the decoder (domain vocabulary).
    pub initial_prompt: Option<String>,
}

/// One segment of a window; times in seconds from the window start.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSegment {
    pub start_s: f64,
    pub end_s: f64,
    pub text: String,
    pub no_speech_prob: f32,
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
}

/// Frames of encoder context per second of audio (whisper: 1500 frames per 30 s).
const FRAMES_PER_SECOND: usize = 50;
pub const FULL_AUDIO_CTX: usize = 1500;

/// Encoder context for a window of `samples` at 16 kHz: the window plus 1 s of margin, rounded up
/// to a multiple of 64 frames, never more than the full 30 s.
pub fn audio_ctx_for(samples: usize) -> usize {
    let frames = samples * FRAMES_PER_SECOND / 16_000 + FRAMES_PER_SECOND;
    (frames.div_ceil(64) * 64).min(FULL_AUDIO_CTX)
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
        params.flash_attn(options.flash_attn);
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
        })
    }
}

/// Whether whisper.cpp knows this language code.
pub fn is_known_language(code: &str) -> bool {
    whisper_rs::get_lang_id(code).is_some()
}

impl WhisperSession {
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
        let audio_ctx = options
            .audio_ctx
            .unwrap_or_else(|| audio_ctx_for(pcm.len()));
        params.set_audio_ctx(audio_ctx as i32);
        if let Some(prompt) = &options.initial_prompt {
            params.set_initial_prompt(prompt);
        }
        self.state
            .full(params, pcm)
            .map_err(|e| anyhow::anyhow!("whisper.cpp failed to transcribe ({e:?})"))?;

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
            segments.push(WindowSegment {
                // whisper.cpp timestamps are in 10 ms units.
                start_s: segment.start_timestamp() as f64 / 100.0,
                end_s: segment.end_timestamp() as f64 / 100.0,
                text,
                no_speech_prob: segment.no_speech_probability(),
            });
        }
        Ok(WindowResult {
            language: detected,
            segments,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_ctx_covers_the_window_and_caps_at_30_s() {
        let cases = [
            (16_000, 128),
            (8 * 16_000, 512),
            (29 * 16_000, 1500),
            (30 * 16_000, 1500),
            (60 * 16_000, 1500),
        ];
        for (samples, expected) in cases {
            assert_eq!(audio_ctx_for(samples), expected, "{samples}");
        }
    }
}
