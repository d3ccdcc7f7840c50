//! Live mode end to end: rolling-window transcription against batch, looks at unfinished
//! phrases, and `claimwatch serve` with
//! the real model, real sources and a real server on a loopback port.

mod auto_lang;
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
    claimwatch::live::StreamInfo {
        id: "shop".into(),
        source: "test".into(),
        lang: "en".into(),
        origin: None,
        product: None,
        state: claimwatch::events::SourceState::Starting,
        stream_s: 0.0,
        lag_s: 0.0,
        rtf: 0.0,
        dropped_s: 0.0,
        load: 0.0,
        unconfirmed_alerts: 0,
        health: Vec::new(),
        level_dbfs: None,
        alerts: Default::default(),
    }
}
