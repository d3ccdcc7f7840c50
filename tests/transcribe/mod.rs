//! Transcription tests with the real converted models over the bundled samples: accuracy per
//! clip against its script, the same words from every container format, and the CLI end to end.

mod cli;
mod formats;
pub mod hallucination;
mod kept;
mod relisten;
mod samples;
mod stop;
mod vocabulary;

use std::collections::HashMap;
use std::path::Path;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use claimwatch::audio;
use claimwatch::transcribe::batch;
use claimwatch::transcribe::whisper::{LoadOptions, WhisperModel};
use claimwatch::transcribe::Transcript;

use crate::common;
use crate::source::bounded::join_within;

/// The model the CLI picks by default for a language (base for ja, tiny.en for en), loaded once.
pub fn default_model(lang: &str) -> &'static WhisperModel {
    static TINY_EN: OnceLock<WhisperModel> = OnceLock::new();
    static BASE: OnceLock<WhisperModel> = OnceLock::new();
    let (cell, name) = if lang == "en" {
        (&TINY_EN, "ggml-tiny.en-q8_0.bin")
    } else {
        (&BASE, "ggml-base-q8_0.bin")
    };
    cell.get_or_init(|| {
        WhisperModel::load(&common::model(name), LoadOptions::default()).expect("model loads")
    })
}

/// Transcribes a file through the library with the CLI's defaults for `lang`. Remembered per
/// (file, language): several tests compare against the batch transcript of every sample.
pub fn transcribe(path: &Path, lang: &str) -> Transcript {
    static DONE: OnceLock<Mutex<HashMap<(PathBuf, String), Transcript>>> = OnceLock::new();
    let done = DONE.get_or_init(Default::default);
    let key = (path.to_path_buf(), lang.to_string());
    if let Some(t) = done.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return t.clone();
    }
    let transcript = transcribe_now(path, lang);
    done.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, transcript.clone());
    transcript
}

/// A bound on one file's decode once it has the cores, so a stuck decode fails its test instead
/// of hanging the run: the longest file here (a 60 s sample with base) decodes in under a minute.
const DECODE_PATIENCE: Duration = Duration::from_secs(300);

fn transcribe_now(path: &Path, lang: &str) -> Transcript {
    let model = default_model(lang);
    // Taken here, outside the bounded wait: queueing behind other tests' decodes is not a hang.
    let _cores = common::whisper_lock();
    let (path, lang) = (path.to_path_buf(), lang.to_string());
    let what = format!("transcribing {} ({lang})", path.display());
    let decode = std::thread::spawn(move || {
        let mut session = model.session().expect("session");
        let mut stream = audio::open(&path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
        let options = common::decode_options(&lang);
        batch::transcribe(&mut session, &mut stream, &options, |_| {})
            .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()))
    });
    join_within(decode, DECODE_PATIENCE, &what)
}

pub fn text_of(transcript: &Transcript) -> String {
    let parts: Vec<&str> = transcript
        .segments
        .iter()
        .map(|s| s.text.as_str())
        .collect();
    parts.join(" ")
}
