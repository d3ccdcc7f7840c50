//! `audit --vocabulary` (BENCHMARKS.md, "Vocabulary prompt"): the rule packs' `vocabulary`,
//! cut at whole words to 120 characters (ja) or 300 (en), is whisper.cpp's initial prompt. The
//! prompt's words come from the packs, and the flag really reaches the decoder: the same file
//! audited with and without it is transcribed differently, both times close to its script.

use std::process::Command;

use claimwatch::detect::{Detector, Lang};
use claimwatch::eval;

use crate::common;
use crate::source::bounded::output_within;

#[test]
fn prompts_are_the_packs_vocabulary_cut_at_whole_words() {
    let detector = Detector::load_default().unwrap();
    let prompts = detector.whisper_prompts();
    let codes: Vec<&str> = prompts.iter().map(|(code, _)| code.as_str()).collect();
    assert_eq!(codes, ["ja", "en"]);
    for (code, prompt) in &prompts {
        let (lang, max, sep, end) = match code.as_str() {
            "ja" => (Lang::Ja, 120, "、", "。"),
            _ => (Lang::En, 300, ", ", "."),
        };
        assert_eq!(detector.whisper_prompt(lang, max).as_ref(), Some(prompt));
        let body = prompt
            .strip_suffix(end)
            .unwrap_or_else(|| panic!("{prompt}"));
        assert!(body.chars().count() <= max, "{code}: {prompt}");
        // Whole words: each piece is a word of the packs' vocabulary, none cut short, and a
        // longer limit only adds words.
        let longer = detector.whisper_prompt(lang, 10_000).unwrap();
        let all: Vec<&str> = longer.strip_suffix(end).unwrap().split(sep).collect();
        let words: Vec<&str> = body.split(sep).collect();
        assert!(words.len() >= 3, "{code}: {prompt}");
        assert_eq!(
            words,
            all[..words.len()],
            "{code}: not a prefix of whole words"
        );
    }
}

/// en_demo with tiny.en, 2 threads. Measured on the 2-core development machine: WER 0.090
/// against the script both without and with the prompt, 0.036 apart (the prompt turned "dark
/// parts" into "dark spots" and "burns fat" into "burns In fact", as BENCHMARKS.md saw).
#[test]
fn vocabulary_reaches_the_decoder() {
    let audit = |extra: &[&str]| -> serde_json::Value {
        let _cores = common::whisper_lock();
        let out = output_within(
            Command::new(env!("CARGO_BIN_EXE_claimwatch"))
                .current_dir(common::repo())
                .args([
                    "audit",
                    "samples/en_demo.wav",
                    "--lang",
                    "en",
                    "--format",
                    "json",
                ])
                .args(["--threads", "2", "--fail-on", "never"])
                .args(extra),
            std::time::Duration::from_secs(600),
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON report")
    };
    let text = |report: &serde_json::Value| -> String {
        let parts: Vec<&str> = report["files"][0]["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["text"].as_str().unwrap())
            .collect();
        parts.join(" ")
    };
    let plain = text(&audit(&[]));
    let primed = text(&audit(&["--vocabulary"]));
    let script = std::fs::read_to_string(common::repo().join("samples/en_demo.txt")).unwrap();
    let (plain_wer, primed_wer) = (eval::wer(&script, &plain), eval::wer(&script, &primed));
    let apart = eval::wer(&plain, &primed);
    eprintln!("WER plain {plain_wer:.3}, primed {primed_wer:.3}, {apart:.3} apart\n  plain:  {plain}\n  primed: {primed}");
    assert!(apart > 0.0, "--vocabulary changed nothing: {primed}");
    assert!(plain_wer <= MAX_WER, "{plain_wer:.3}: {plain}");
    assert!(primed_wer <= MAX_WER, "{primed_wer:.3}: {primed}");
}

/// Measured 0.090 either way (above) plus the per-clip margin of tests/transcribe/samples.rs.
const MAX_WER: f64 = 0.17;
