//! Pause-cut live windows commit each word once, and the committed transcript of a clip played
//! live is as good as the batch transcript of the same file: against the clips' scripts (WER for
//! English, CER for Japanese, pooled over all bundled samples of a language, each clip weighted
//! by its script's length) live is no more than 0.05 worse than batch, and no single clip is
//! more than 0.10 worse. Live and batch also stay close to each other, pooled per language.
//!
//! Single clips may differ from batch more than that: batch and live hear different windows,
//! and tiny.en guesses unclear words differently in each (en_music_gap: batch "burns at wild use
//! lead", live "burns fat while you sleep", 25% apart with live the closer to the script). So
//! the per-clip check is against the script: a repeated or dropped phrase, or a decoder loop,
//! makes live worse than batch there, a different guess at one word does not.
//!
//! Measured on the 2-core development machine (common::threads() = 2, q8_0 models), with the
//! output of this test:
//!
//! | language | live vs script | batch vs script | live vs batch | worst clip, live minus batch |
//! |---|---:|---:|---:|---:|
//! | en (292 words) | 0.068 | 0.082 | 0.028 | +0.000 (live never worse) |
//! | ja (654 chars) | 0.125 | 0.122 | 0.047 | +0.041 (ja_pricing) |

use claimwatch::live::transcriber::transcribe_as_live;
use claimwatch::live::LiveConfig;
use claimwatch::{audio, eval};

use crate::common;
use crate::transcribe::{default_model, text_of, transcribe};

fn live_text(clip: &str, lang: &str) -> (String, Vec<claimwatch::transcribe::Segment>) {
    let path = common::repo().join(format!("samples/{clip}.wav"));
    let samples = audio::read_all(&path).unwrap();
    let model = default_model(lang);
    let _cores = common::whisper_lock();
    let mut session = model.session().unwrap();
    let options = common::decode_options(lang);
    let segments =
        transcribe_as_live(&mut session, &samples, 0.1, LiveConfig::default(), options).unwrap();
    let parts: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
    (parts.join(" "), segments)
}

/// Every bundled sample as (name, language).
fn samples() -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = std::fs::read_dir(common::repo().join("samples"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let clip = name.strip_suffix(".wav")?.to_string();
            let lang = if clip.starts_with("en_") { "en" } else { "ja" };
            Some((clip, lang))
        })
        .collect();
    out.sort();
    out
}

/// How much worse than batch the live transcript may be against the scripts, pooled per
/// language: measured +0.003 (ja) and −0.014 (en), see the table above; 0.05 (one word in twenty)
/// leaves room for another CPU's rounding while a live-only regression of any size fails.
const LIVE_OVER_BATCH: f64 = 0.05;

/// The same for one clip: measured worst +0.041 (ja_pricing: live wrote お得 as おとく, two
/// characters of 49). 0.10 is two more misheard words in the shortest clip (en_greeting, 19
/// words); a dropped or repeated phrase (a third of a clip or more) is far past it.
const CLIP_LIVE_OVER_BATCH: f64 = 0.10;

/// How far apart live and batch may be, pooled per language: measured 0.028 (en) and 0.047 (ja).
/// The margin (0.02, about one word per clip) covers another CPU's rounding flipping a guess.
const LIVE_FROM_BATCH: f64 = 0.07;

#[test]
fn live_transcript_matches_batch() {
    let clips = samples();
    assert_eq!(clips.len(), 18, "{clips:?}");
    // language -> (edits between live and batch, batch length)
    let mut pooled: std::collections::BTreeMap<&str, (f64, f64)> = Default::default();
    // language -> (live's edits against the script, batch's edits against it, script length)
    let mut against_script: std::collections::BTreeMap<&str, (f64, f64, f64)> = Default::default();
    let mut failures = Vec::new();
    for (clip, lang) in &clips {
        let (clip, lang) = (clip.as_str(), *lang);
        let batch = transcribe(&common::repo().join(format!("samples/{clip}.wav")), lang);
        let batch_text = text_of(&batch);
        let (live, segments) = live_text(clip, lang);
        let between = eval::error_rate(lang, &batch_text, &live);
        let script =
            std::fs::read_to_string(common::repo().join(format!("samples/{clip}.txt"))).unwrap();
        let (live_error, batch_error) = (
            eval::error_rate(lang, &script, &live),
            eval::error_rate(lang, &script, &batch_text),
        );
        eprintln!(
            "{clip}: live vs batch {between:.3}; against the script live {live_error:.3}, \
             batch {batch_error:.3}\n  batch: {batch_text}\n  live:  {live}"
        );
        let script_length = eval::length(lang, &script) as f64;
        let entry = against_script.entry(lang).or_default();
        entry.0 += live_error * script_length;
        entry.1 += batch_error * script_length;
        entry.2 += script_length;
        let length = eval::length(lang, &batch_text) as f64;
        let entry = pooled.entry(lang).or_default();
        entry.0 += between * length;
        entry.1 += length;
        if live_error > batch_error + CLIP_LIVE_OVER_BATCH {
            failures.push(format!(
                "{clip}: live {live_error:.3} against the script, batch {batch_error:.3}"
            ));
        }
        // Stream times never go backwards and stay inside the clip.
        let mut previous_end = 0.0;
        for s in &segments {
            assert!(s.start_s + 0.05 >= previous_end, "{clip}: overlap {s:?}");
            assert!(
                s.end_s <= batch.duration_s + 0.05,
                "{clip}: past the end {s:?}"
            );
            previous_end = s.end_s;
        }
    }
    for (lang, (edits, length)) in &pooled {
        let error = edits / length.max(1.0);
        eprintln!("{lang}: live vs batch {error:.3} pooled over {length} units");
        if error > LIVE_FROM_BATCH {
            failures.push(format!(
                "{lang}: live and batch {error:.3} apart, over {LIVE_FROM_BATCH}"
            ));
        }
    }
    for (lang, (live_edits, batch_edits, length)) in &against_script {
        let (live, batch) = (live_edits / length, batch_edits / length);
        eprintln!("{lang}: against the script, live {live:.3}, batch {batch:.3} pooled over {length} units");
        if live > batch + LIVE_OVER_BATCH {
            failures.push(format!(
                "{lang}: live {live:.3} against the script, batch {batch:.3}: more than {LIVE_OVER_BATCH} worse"
            ));
        }
    }
    assert_eq!(pooled.len(), 2, "both languages");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
