//! Transcription speed: real-time factor (audio seconds per wall second) of the whole
//! decode → resample → whisper.cpp path, model load excluded, per file, over several runs.
//!
//! `cargo bench --bench transcribe -- --model models/ggml-base-q8_0.bin --lang ja --runs 3 FILE...`
//! prints one JSON object (wall and CPU seconds per run); `benches/rtf.py` runs it beside faster-whisper and writes the table.
//! Options: `--threads N` (default 2), `--audio-ctx N` | `--sized-audio-ctx` (default: the library's choice),
//! `--flash-attn` (with `--no-dtw`), `--no-dtw`, `--fallback` (temperature fallback on).

use std::path::PathBuf;
use std::time::Instant;

use claimwatch::audio;
use claimwatch::eval;
use claimwatch::transcribe::batch;
use claimwatch::transcribe::whisper::{AudioCtx, DecodeOptions, LoadOptions, WhisperModel};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut model, mut lang, mut runs, mut threads, mut audio_ctx) =
        (None, None, 3, 2, AudioCtx::Auto);
    let mut load = LoadOptions::default();
    let mut fallback = false;
    let mut files = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--model" => model = Some(PathBuf::from(value()?)),
            "--lang" => lang = Some(value()?),
            "--runs" => runs = value()?.parse()?,
            "--threads" => threads = value()?.parse()?,
            "--audio-ctx" => audio_ctx = AudioCtx::Frames(value()?.parse()?),
            "--sized-audio-ctx" => audio_ctx = AudioCtx::Sized,
            "--flash-attn" => load.flash_attn = true,
            "--no-dtw" => load.dtw = false,
            "--fallback" => fallback = true,
            "--bench" => {} // cargo bench passes this
            _ => files.push(PathBuf::from(arg)),
        }
    }
    let model_path = model.ok_or_else(|| anyhow::anyhow!("--model is required"))?;
    let model = WhisperModel::load(&model_path, load)?;
    let mut session = model.session()?;
    let options = DecodeOptions {
        language: lang,
        threads,
        audio_ctx,
        initial_prompt: None,
        temperature_fallback: fallback,
        language_prompts: Vec::new(),
    };

    let mut results = Vec::new();
    for file in &files {
        let mut walls = Vec::new();
        let mut cpus = Vec::new();
        let mut last = None;
        for _ in 0..runs {
            let start = Instant::now();
            let cpu_start = process_cpu_s();
            let mut stream = audio::open(file)?;
            let transcript = batch::transcribe(&mut session, &mut stream, &options, |_| {})?;
            walls.push(start.elapsed().as_secs_f64());
            cpus.push(process_cpu_s() - cpu_start);
            last = Some(transcript);
        }
        let transcript = last.expect("runs >= 1");
        let text: Vec<&str> = transcript
            .segments
            .iter()
            .map(|s| s.text.as_str())
            .collect();
        let text = text.join(" ");
        let reference = std::fs::read_to_string(file.with_extension("txt")).ok();
        let error = reference.map(|r| eval::error_rate(&transcript.language, &r, &text));
        results.push(serde_json::json!({
            "file": file.display().to_string(),
            "audio_s": transcript.duration_s,
            "wall_s": walls,
            "cpu_s": cpus,
            "language": transcript.language,
            "error_rate": error,
            "text": text,
        }));
    }
    if std::env::var_os("CLAIMWATCH_WHISPER_LOG").is_some() {
        model.print_timings();
    }
    let out = serde_json::json!({
        "engine": "claimwatch",
        "model": model_path.display().to_string(),
        "threads": threads,
        "flash_attn": load.flash_attn,
        "dtw": load.dtw,
        "audio_ctx": format!("{audio_ctx:?}"),
        "temperature_fallback": fallback,
        "files": results,
    });
    println!("{out}");
    Ok(())
}

/// CPU seconds (user + system, all threads) this process has used: /proc/self/stat fields 14 and
/// 15, in the kernel's fixed USER_HZ of 100 ticks per second.
fn process_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces; the fields after it follow its ')'.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After ')': state is index 0, so utime (field 14) is 11 and stime (15) is 12.
    (ticks(11) + ticks(12)) / 100.0
}
