//! Live mode end to end: rolling-window transcription against batch, looks at unfinished
//! phrases, and `claimwatch serve` with
//! the real model, real sources and a real server on a loopback port.

mod auto_lang;
mod behind;
mod comments;
mod console;
mod drops;
mod evidence;
mod health;
mod looks;
mod payloads;
mod policy;
mod review;
pub mod serve;
mod sources;
mod windows;

/// A stream's figures before its worker has run: what tests that drive a `StreamWorker` directly
/// start it with.
pub fn starting_info() -> claimwatch::live::StreamInfo {
    claimwatch::live::StreamInfo::starting("shop", "test", "en", None)
}

/// The worker of an English stream `shop` on tiny.en with one thread and no looks at
/// unfinished phrases, publishing to `hub`: what tests that drive a `StreamWorker` directly run,
/// with the lag bound and the decoder queue they need. Returns it with its shared figures.
pub fn english_worker(
    hub: &claimwatch::events::Hub,
    max_lag_s: f64,
    decode_turns: std::sync::Arc<claimwatch::live::turns::DecodeTurns>,
) -> (
    claimwatch::live::runner::StreamWorker,
    std::sync::Arc<claimwatch::live::runner::StreamShared>,
) {
    use claimwatch::transcribe::whisper::{DecodeOptions, LoadOptions, WhisperModel};
    use std::sync::Arc;
    let model = WhisperModel::load(
        &crate::common::model("ggml-tiny.en-q8_0.bin"),
        LoadOptions::default(),
    )
    .unwrap();
    let repo = crate::common::repo();
    let shared = Arc::new(claimwatch::live::runner::StreamShared::new(starting_info()));
    let worker = claimwatch::live::runner::StreamWorker {
        id: "shop".into(),
        lang: claimwatch::detect::Lang::En,
        bus: Arc::new(hub.clone()),
        model: Arc::new(model),
        detector: claimwatch::detect::Detector::load(
            &repo.join("rules"),
            &repo.join("models/ipadic"),
        )
        .unwrap(),
        declared_origin: None,
        options: DecodeOptions {
            language: Some("en".into()),
            threads: 1,
            ..DecodeOptions::default()
        },
        // No looks: they happen only when the decoder is free, and a look is not what these
        // tests are about.
        live: claimwatch::live::LiveConfig {
            max_lag_s,
            peek_step_s: 0.0,
            ..claimwatch::live::LiveConfig::default()
        },
        decode_turns,
        shared: shared.clone(),
    };
    (worker, shared)
}
