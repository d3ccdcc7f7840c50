//! Live mode end to end: rolling-window transcription against batch, and `claimwatch serve` with
//! the real model, real sources and a real server on a loopback port.

mod serve;
mod windows;
