//! Live mode end to end: rolling-window transcription against batch, looks at unfinished
//! phrases, and `claimwatch serve` with
//! the real model, real sources and a real server on a loopback port.

mod drops;
mod looks;
mod payloads;
mod policy;
pub mod serve;
mod windows;
