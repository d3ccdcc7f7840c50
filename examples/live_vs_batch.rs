//! Live (pause-cut windows) against batch (30 s windows) transcripts of the same clips: the
//! error rate between them (WER for English, CER for Japanese), how many windows live decoded,
//! and the decode time of each mode. `cargo run --release --example live_vs_batch -- CLIP...`
//! (language from the name: `en_*` uses tiny.en, anything else multilingual base). The
//! environment variable `LIVE_MIN_PHRASE` (seconds) overrides the shortest phrase cut at a pause;
//! `LIVE_AUDIO_CTX=1500` gives live windows the full 30 s encoder context (default: sized);
//! `LIVE_CONTEXT` (seconds) sets the audio heard again before each phrase.
//! Also prints each mode's error against the clip's script (NAME.txt), and per language the
//! errors pooled over all clips (edits over the batch transcript's length, so a long clip
//! weighs more than a short one).

use std::time::Instant;

use claimwatch::live::{transcriber::transcribe_as_live, LiveConfig};
use claimwatch::transcribe::whisper::{DecodeOptions, WhisperModel};
use claimwatch::transcribe::{batch, model_path, Segment};
use claimwatch::{audio, eval};

fn text(segments: &[Segment]) -> String {
    let parts: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
    parts.join(" ")
}

fn main() -> anyhow::Result<()> {
    let clips: Vec<String> = std::env::args().skip(1).collect();
    println!("| clip | audio s | batch s | live s | live segments | live vs batch | batch vs script | live vs script |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let (mut total_err, mut total_n) = (0.0, 0usize);
    // language -> (edits live vs batch, batch length, edits batch vs script, edits live vs
    // script, script length)
    let mut pooled: std::collections::BTreeMap<&str, [f64; 5]> = Default::default();
    for clip in &clips {
        let lang = if std::path::Path::new(clip)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("en_"))
        {
            "en"
        } else {
            "ja"
        };
        let model = WhisperModel::load(
            &model_path::default_model(lang == "en")?,
            Default::default(),
        )?;
        let mut session = model.session()?;
        let options = DecodeOptions {
            language: Some(lang.to_string()),
            ..DecodeOptions::default()
        };
        let samples = audio::read_all(clip.as_ref())?;
        let started = Instant::now();
        let mut stream = audio::open(clip.as_ref())?;
        let batch = batch::transcribe(&mut session, &mut stream, &options, |_| {})?;
        let batch_s = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let mut live_options = options.clone();
        if let Ok(frames) = std::env::var("LIVE_AUDIO_CTX") {
            live_options.audio_ctx =
                claimwatch::transcribe::whisper::AudioCtx::Frames(frames.parse()?);
        }
        let live = transcribe_as_live(
            &mut session,
            &samples,
            0.1,
            {
                let mut c = LiveConfig::default();
                if let Ok(v) = std::env::var("LIVE_MIN_PHRASE") {
                    c.phrase.min_phrase_s = v.parse()?;
                }
                if let Ok(v) = std::env::var("LIVE_CONTEXT") {
                    c.context_s = v.parse()?;
                }
                c
            },
            live_options,
        )?;
        let live_s = started.elapsed().as_secs_f64();
        let error = eval::error_rate(lang, &text(&batch.segments), &text(&live));
        eprintln!(
            "{clip}\n  batch: {}\n  live:  {}",
            text(&batch.segments),
            text(&live)
        );
        let script = std::fs::read_to_string(std::path::Path::new(clip).with_extension("txt"))?;
        let batch_vs_script = eval::error_rate(lang, &script, &text(&batch.segments));
        let live_vs_script = eval::error_rate(lang, &script, &text(&live));
        total_err += error;
        total_n += 1;
        let batch_len = eval::length(lang, &text(&batch.segments)) as f64;
        let script_len = eval::length(lang, &script) as f64;
        let p = pooled.entry(lang).or_default();
        p[0] += error * batch_len;
        p[1] += batch_len;
        p[2] += batch_vs_script * script_len;
        p[3] += live_vs_script * script_len;
        p[4] += script_len;
        println!(
            "| {clip} | {:.1} | {batch_s:.2} | {live_s:.2} | {} | {error:.3} | {batch_vs_script:.3} | {live_vs_script:.3} |",
            samples.len() as f64 / 16_000.0,
            live.len()
        );
    }
    println!("mean error {:.3}", total_err / total_n.max(1) as f64);
    for (lang, p) in &pooled {
        println!(
            "{lang} pooled: live vs batch {:.3}, batch vs script {:.3}, live vs script {:.3}",
            p[0] / p[1].max(1.0),
            p[2] / p[4].max(1.0),
            p[3] / p[4].max(1.0)
        );
    }
    Ok(())
}
