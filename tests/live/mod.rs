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
    claimwatch::live::StreamInfo::starting("shop", "test", "en", None)
}
