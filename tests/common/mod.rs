//! Shared test helpers: repository paths, the real models, and a lock so Whisper tests do not
//! oversubscribe the machine's cores by running side by side.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn data(rel: &str) -> PathBuf {
    repo().join("tests/data").join(rel)
}

/// A converted model in `models/`. Tests need the real model: a missing one fails, never skips.
pub fn model(name: &str) -> PathBuf {
    let path = repo().join("models").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `bash models/fetch` first",
        path.display()
    );
    path
}

/// The unpacked tiny.en CTranslate2 directory models/fetch leaves in models/cache.
pub fn tiny_en_ct2_dir() -> PathBuf {
    let root = repo().join("models/cache/ct2/tiny.en");
    find_file(&root, "model.bin")
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| {
            panic!(
                "no tiny.en model.bin under {}: run `bash models/fetch` first",
                root.display()
            )
        })
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

/// Serializes tests that run Whisper inference (each already uses every core).
pub fn whisper_lock() -> WhisperTurn {
    static LOCK: Mutex<()> = Mutex::new(());
    WhisperTurn {
        _guard: LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        since: std::time::Instant::now(),
    }
}

/// A test's turn at the cores. These turns run one after another, so their sum is most of the
/// suite's wall time: with `CLAIMWATCH_TEST_TURNS=<file>` each turn appends `seconds<TAB>test`
/// to the file, to see which tests to shorten when CI grows.
pub struct WhisperTurn {
    _guard: MutexGuard<'static, ()>,
    since: std::time::Instant,
}

impl Drop for WhisperTurn {
    fn drop(&mut self) {
        let Some(path) = std::env::var_os("CLAIMWATCH_TEST_TURNS") else {
            return;
        };
        let line = format!(
            "{:.1}\t{}\n",
            self.since.elapsed().as_secs_f64(),
            std::thread::current().name().unwrap_or("?")
        );
        use std::io::Write;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = file.write_all(line.as_bytes());
        }
    }
}

/// Decoding in `lang` on every core: what the Whisper tests decode with unless they test an option.
pub fn decode_options(lang: &str) -> claimwatch::transcribe::whisper::DecodeOptions {
    claimwatch::transcribe::whisper::DecodeOptions {
        language: Some(lang.to_string()),
        threads: threads(),
        ..Default::default()
    }
}

pub fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
