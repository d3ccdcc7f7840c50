//! Finds the default Whisper model for a language when `--model` is not given.
//!
//! Input: the language choice. Output: the first existing file among the standard names
//! (q8_0 first: it is the faster one here, see BENCHMARKS.md) in the model directories:
//! `$CLAIMWATCH_MODELS`, `./models`, and the `models/` of the source tree the binary was built from.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// Candidate file names, preferred first.
fn names(english_only: bool) -> &'static [&'static str] {
    if english_only {
        &[
            "ggml-tiny.en-q8_0.bin",
            "ggml-tiny.en-f16.bin",
            "ggml-tiny.en.bin",
        ]
    } else {
        &["ggml-base-q8_0.bin", "ggml-base-f16.bin", "ggml-base.bin"]
    }
}

fn model_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("CLAIMWATCH_MODELS") {
        dirs.push(PathBuf::from(dir));
    }
    dirs.push(PathBuf::from("models"));
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
    dirs
}

/// The default model: tiny.en for English, multilingual base otherwise.
pub fn default_model(english_only: bool) -> Result<PathBuf> {
    let dirs = model_dirs();
    for dir in &dirs {
        for name in names(english_only) {
            let path = dir.join(name);
            if path.is_file() {
                return Ok(path);
            }
        }
    }
    let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    bail!(
        "no {} model found (looked for {} in {}); run models/fetch or pass --model PATH",
        if english_only {
            "English"
        } else {
            "multilingual"
        },
        names(english_only)[0],
        searched.join(", ")
    )
}
