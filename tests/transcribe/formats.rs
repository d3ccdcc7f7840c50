//! The same speech in every container format gives the same words: decode and resample feed
//! Whisper the same audio whatever the wrapping (lossy codecs may move a character or two).

use claimwatch::eval;

use super::{text_of, transcribe};
use crate::common;

/// tiny.en heard "$20" and "my" for "$29" and "the" in the AAC (ADTS) copy: two words of 19.
const MAX_DIFFERENCE: f64 = 0.15;

const FORMATS: &[&str] = &["mp3", "flac", "ogg", "aac", "m4a", "mp4", "mov"];

#[test]
fn every_container_format_gives_the_wav_transcript() {
    let mut failures = Vec::new();
    for (clip, lang) in [("en_greeting", "en"), ("ja_greeting", "ja")] {
        let wav = transcribe(&common::repo().join(format!("samples/{clip}.wav")), lang);
        let wav_text = text_of(&wav);
        for ext in FORMATS {
            let path = common::repo().join(format!("samples/formats/{clip}.{ext}"));
            let transcript = transcribe(&path, lang);
            let text = text_of(&transcript);
            let difference = eval::error_rate(lang, &wav_text, &text);
            eprintln!("{clip}.{ext}: {difference:.3} from the WAV: {text}");
            if difference > MAX_DIFFERENCE {
                failures.push(format!(
                    "{clip}.{ext}: {difference:.3}: {text} / {wav_text}"
                ));
            }
            assert!(
                (transcript.duration_s - wav.duration_s).abs() < 0.2,
                "{clip}.{ext}: {} s vs {} s",
                transcript.duration_s,
                wav.duration_s
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
