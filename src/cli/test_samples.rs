//! `claimwatch test-samples [DIR]`: the regression suite. Audits every clip that has a sidecar
//! `NAME.expect.toml` and prints a pass/fail table, the known misses (claims marked
//! `expected_miss`: reported, never failed; caught ones are reported as good news) and the pooled
//! recall and precision per language; exit 0 when all pass, 1 when one fails, 2 when the suite
//! cannot run (no sidecars, a bad sidecar, a clip that does not decode). With `--score-only` it
//! measures an evaluation set (tests/data/spoken) and exits 0 whatever the clips' mismatches.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use anyhow::{bail, Context, Result};

use super::transcribe::default_threads;
use crate::audit::{
    self,
    expect::{Expectation, Mismatch, Score},
    FileReport,
};
use crate::detect::{Detector, Lang};
use crate::transcribe::model_path;
use crate::transcribe::whisper::{DecodeOptions, LoadOptions, WhisperModel, WhisperSession};

#[derive(Debug, clap::Args)]
pub struct TestSamplesArgs {
    /// Directory of clips with NAME.expect.toml sidecars.
    #[arg(default_value = "samples")]
    dir: PathBuf,
    /// Threads for whisper.cpp, per clip (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Clips decoded at once, each with `--threads` threads (default 1). The words depend on
    /// `--threads`, not on this: `--threads 1 --jobs 2` on two cores gives the one-thread
    /// transcripts in about half the time.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// Prime Whisper with the rule packs' vocabulary, as `audit --vocabulary` does.
    #[arg(long)]
    vocabulary: bool,
    /// Skip the second listen: spans that sound close to a rule without matching it are
    /// otherwise decoded again with the rule's words as the prompt (an alert only if they match).
    #[arg(long)]
    no_second_listen: bool,
    /// Measure only: print the table and pooled figures, exit 0 even when clips fail.
    #[arg(long)]
    score_only: bool,
    /// ggml Whisper model for Japanese clips (default: multilingual base q8_0 from models/);
    /// e.g. models/ggml-base-f16.bin to check that the clips pass with another precision.
    #[arg(long)]
    model_ja: Option<PathBuf>,
    /// ggml Whisper model for English clips (default: tiny.en q8_0 from models/).
    #[arg(long)]
    model_en: Option<PathBuf>,
}

/// Audio extensions a sidecar's clip may have, tried in this order.
const AUDIO_EXTENSIONS: &[&str] = &["wav", "flac", "mp3", "ogg", "m4a", "aac", "mp4", "mov"];

pub fn run(args: TestSamplesArgs) -> Result<ExitCode> {
    let clips = find_clips(&args.dir)?;
    let detector = Detector::load_default()?;
    let threads = args.threads.unwrap_or_else(default_threads);
    // One model per language of the clips (base for Japanese, tiny.en for English), shared by
    // the jobs; each job decodes with sessions of its own.
    let mut models: BTreeMap<&'static str, WhisperModel> = BTreeMap::new();
    for (_, expectation) in &clips {
        let lang = expectation.language;
        if models.contains_key(lang.as_str()) {
            continue;
        }
        let chosen = match lang {
            Lang::En => args.model_en.clone(),
            Lang::Ja => args.model_ja.clone(),
        };
        let path = match chosen {
            Some(path) => path,
            None => model_path::default_model(lang == Lang::En)?,
        };
        models.insert(
            lang.as_str(),
            WhisperModel::load(&path, LoadOptions::default())?,
        );
    }
    let prompts = if args.vocabulary {
        detector.whisper_prompts()
    } else {
        Vec::new()
    };
    let audit_clip = |sessions: &mut BTreeMap<&'static str, WhisperSession>,
                      (audio_path, expectation): &(PathBuf, Expectation)|
     -> Result<FileReport> {
        let lang = expectation.language;
        let session = match sessions.entry(lang.as_str()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(models[lang.as_str()].session()?)
            }
        };
        let options = DecodeOptions {
            language: Some(lang.as_str().to_string()),
            threads,
            language_prompts: prompts.clone(),
            ..DecodeOptions::default()
        };
        audit::audit_file(
            audio_path,
            session,
            &detector,
            &options,
            expectation.origin.as_deref(),
            !args.no_second_listen,
            |_| {},
        )
    };

    println!(
        "{:<24} {:<4} {:>8} {:>4} {:<6} detail",
        "clip", "lang", "expected", "got", "result"
    );
    let mut failures = 0;
    let mut known_misses = 0;
    let mut caught_known = 0;
    let mut pooled: BTreeMap<&'static str, Score> = BTreeMap::new();
    let mut tally = |(audio_path, expectation): &(PathBuf, Expectation), report: FileReport| {
        let lang = expectation.language;
        let mismatches = expectation.check(&report);
        pooled
            .entry(lang.as_str())
            .or_default()
            .add(expectation.score(&report));
        let failed = mismatches.iter().any(Mismatch::is_failure);
        known_misses += mismatches
            .iter()
            .filter(|m| matches!(m, Mismatch::KnownMiss { .. }))
            .count();
        caught_known += mismatches
            .iter()
            .filter(|m| matches!(m, Mismatch::CaughtKnownMiss { .. }))
            .count();
        let name = audio_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let detail = mismatches
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        println!(
            "{:<24} {:<4} {:>8} {:>4} {:<6} {}",
            name,
            lang.as_str(),
            expectation.alerts.len(),
            report.alerts.len(),
            if failed { "FAIL" } else { "pass" },
            detail
        );
        if failed {
            failures += 1;
        }
    };
    in_order_by_jobs(
        &clips,
        usize::from(args.jobs),
        audit_clip,
        |clip, report| {
            tally(clip, report);
        },
    )?;
    println!(
        "{} clips, {} passed, {failures} failed",
        clips.len(),
        clips.len() - failures
    );
    println!(
        "{known_misses} known misses (expected_miss, not failures), {caught_known} caught known misses (good news: drop their expected_miss)"
    );
    let mut all = Score::default();
    for (lang, score) in &pooled {
        print_pooled(lang, score);
        all.add(*score);
    }
    print_pooled("all", &all);
    if args.score_only {
        return Ok(ExitCode::SUCCESS);
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs `work` over `items` on `jobs` threads (each with its own state `S`, made on first
/// use), and hands the results to `done` in the items' order as soon as each is next: the table
/// reads the same whatever the jobs. The first error, in the items' order, stops the run.
fn in_order_by_jobs<T: Sync, R: Send, S: Default>(
    items: &[T],
    jobs: usize,
    work: impl Fn(&mut S, &T) -> Result<R> + Sync,
    mut done: impl FnMut(&T, R),
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Result<R>)>();
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            let tx = tx.clone();
            let (next, stop, work) = (&next, &stop, &work);
            scope.spawn(move || {
                let mut state = S::default();
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    if tx.send((i, work(&mut state, item))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut waiting: BTreeMap<usize, Result<R>> = BTreeMap::new();
        let mut printed = 0;
        for (i, result) in rx {
            waiting.insert(i, result);
            while let Some(result) = waiting.remove(&printed) {
                match result {
                    Ok(r) => done(&items[printed], r),
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                }
                printed += 1;
            }
        }
        Ok(())
    })
}

/// One machine-readable line per language, parsed by the tests:
/// `pooled ja: recall 0.812 (52/64 claims), precision 0.945 (52/55 alerts)`.
fn print_pooled(lang: &str, score: &Score) {
    println!(
        "pooled {lang}: recall {:.3} ({}/{} claims), precision {:.3} ({}/{} alerts)",
        score.recall(),
        score.caught,
        score.claims,
        score.precision(),
        score.alerts - score.false_alarms,
        score.alerts
    );
}

/// Every `NAME.expect.toml` in `dir` with its clip, sorted by name.
fn find_clips(dir: &Path) -> Result<Vec<(PathBuf, Expectation)>> {
    let entries = std::fs::read_dir(dir).with_context(|| dir.display().to_string())?;
    let mut sidecars: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry.with_context(|| dir.display().to_string())?.path();
        if path.to_string_lossy().ends_with(".expect.toml") {
            sidecars.push(path);
        }
    }
    if sidecars.is_empty() {
        bail!("{}: no *.expect.toml sidecars", dir.display());
    }
    sidecars.sort();
    let mut clips = Vec::new();
    for sidecar in sidecars {
        let expectation = Expectation::load(&sidecar)?;
        let stem = sidecar.to_string_lossy();
        let stem = stem.trim_end_matches(".expect.toml");
        let audio = AUDIO_EXTENSIONS
            .iter()
            .map(|ext| PathBuf::from(format!("{stem}.{ext}")))
            .find(|p| p.is_file())
            .with_context(|| format!("{}: no clip beside it", sidecar.display()))?;
        clips.push((audio, expectation));
    }
    Ok(clips)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_hand_results_over_in_order_and_stop_at_the_first_error() {
        let items: Vec<u64> = (0..12).collect();
        // Later items finish first, so order has to be restored.
        let work = |calls: &mut usize, i: &u64| -> Result<u64> {
            *calls += 1;
            std::thread::sleep(std::time::Duration::from_millis(12 - i));
            if *i == 7 {
                bail!("item 7 does not decode");
            }
            Ok(i * 10)
        };
        for jobs in [1, 2, 3, 64] {
            let mut seen = Vec::new();
            let result = in_order_by_jobs(&items[..7], jobs, work, |i, r| seen.push((*i, r)));
            assert!(result.is_ok(), "jobs {jobs}");
            let want: Vec<(u64, u64)> = (0..7).map(|i| (i, i * 10)).collect();
            assert_eq!(seen, want, "jobs {jobs}");

            let mut seen = Vec::new();
            let err = in_order_by_jobs(&items, jobs, work, |i, _| seen.push(*i)).unwrap_err();
            assert_eq!(err.to_string(), "item 7 does not decode", "jobs {jobs}");
            assert_eq!(seen, (0..7).collect::<Vec<u64>>(), "jobs {jobs}");
        }
        let mut seen = Vec::new();
        in_order_by_jobs(&items[..0], 2, work, |i, _| seen.push(*i)).unwrap();
        assert!(seen.is_empty());
    }
}
