//! Live sources end to end: real audio files, a real HTTP server on a loopback port, real
//! threads and cancellation. HLS fixtures are in `tests/data/source/` (`make.sh` there).

pub mod bounded;
mod devices;
mod events;
mod file;
mod hls;
mod http;
mod policy;
mod reader;
pub mod server;

use std::path::{Path, PathBuf};

pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Sample counts of two decodes of the same audio agree within this (3 ms at 16 kHz).
pub const FEW_MS: usize = 48;

pub fn assert_len_close(got: usize, want: usize, slack: usize, what: &str) {
    assert!(
        got.abs_diff(want) <= slack,
        "{what}: {got} samples, want {want} ± {slack}"
    );
}
