//! `claimwatch transcribe FILE`: decode, resample and transcribe one file locally.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::progress::AudioProgress;
use crate::audio;
use crate::transcribe::output::{self, Format};
use crate::transcribe::whisper::{AudioCtx, DecodeOptions, LoadOptions, WhisperModel};
use crate::transcribe::{batch, model_path};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Ja,
    En,
    Auto,
}

impl Lang {
    pub fn code(self) -> Option<String> {
        match self {
            Lang::Ja => Some("ja".into()),
            Lang::En => Some("en".into()),
            Lang::Auto => None,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct TranscribeArgs {
    /// Audio or video file (WAV, MP3, FLAC, Ogg/Vorbis, AAC, MP4/M4A/MOV).
    file: PathBuf,
    /// ggml Whisper model (default: models/ggml-base-q8_0.bin for ja/auto, models/ggml-tiny.en-q8_0.bin for en).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Spoken language.
    #[arg(long, value_enum, default_value = "auto")]
    lang: Lang,
    /// Output format. As in every subcommand, the default is for a person to read (`text`:
    /// the transcript with times; `audit` and `detect` print a `table`) and `json` is for
    /// programs.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Threads for whisper.cpp (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Encoder context in frames (1500 = 30 s); default sizes it to each window.
    #[arg(long, hide = true)]
    audio_ctx: Option<usize>,
}

pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

pub fn run(args: TranscribeArgs) -> anyhow::Result<ExitCode> {
    // Open the audio first: a bad file should fail before the model is loaded.
    let mut stream = audio::open(&args.file)?;
    let model_path = match args.model {
        Some(path) => path,
        None => model_path::default_model(args.lang == Lang::En)?,
    };
    let model = WhisperModel::load(&model_path, LoadOptions::default())?;
    let mut session = model.session()?;
    let options = DecodeOptions {
        language: args.lang.code(),
        threads: args.threads.unwrap_or_else(default_threads),
        audio_ctx: args.audio_ctx.map_or(AudioCtx::Auto, AudioCtx::Frames),
        ..DecodeOptions::default()
    };

    let progress = AudioProgress::new(stream.duration_s(), "");
    let transcript = batch::transcribe(&mut session, &mut stream, &options, |done_s| {
        progress.update(done_s)
    })?;
    progress.finish();
    let name = args.file.display().to_string();
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(output::render(&name, &transcript, args.format).as_bytes())?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
