//! Drops text Whisper invents where nobody speaks.
//!
//! Whisper was trained on subtitled video, so on silence and music it writes what subtitles
//! say there: 「ご視聴ありがとうございました」, "Thanks for watching", "Subtitles by …". A false
//! transcript is worse than none here: it can raise or hide an alert. But real speech thrown away
//! is a missed alert, so nothing here is stricter than faster-whisper on the same weights. Checks:
//!
//! - **energy**: a window or segment whose loudest 100 ms frame is below [`SILENCE_DBFS`](crate::windowing::level::SILENCE_DBFS) is
//!   silence (a silent window is not even decoded);
//! - **no-speech**: openai-whisper's rule (no-speech probability above 0.6 *and* mean token
//!   log-probability below −1) is applied by whisper.cpp itself, per decoding pass, with the
//!   same measure as faster-whisper (timestamp tokens included). It is not repeated here per
//!   segment: a segment's text-only mean is lower than its pass's, and that stricter copy threw
//!   away whole sentences of speech under rain that faster-whisper kept (issue 11);
//! - **blocklist**: a segment that is nothing but a phrase Whisper is known to invent, or a
//!   caption of sound (「ん」, "♪", "[Music]");
//! - **loop**: openai-whisper's compression-ratio rule: text that deflate shrinks more than
//!   [`LOOP_COMPRESSION_RATIO`]× is the decoder stuck repeating itself (「弓弓弓…」).
//!
//! Input: a window's 16 kHz samples and its decoded segments. Output: the segments to keep, or
//! the reason one was dropped. Pure: no I/O, no whisper.

use crate::audio::SAMPLE_RATE;
use crate::eval;
use crate::transcribe::whisper::WindowSegment;
pub use crate::windowing::level::is_silent;

/// openai-whisper's `compression_ratio_threshold`: above it a decode is a repetition loop.
pub const LOOP_COMPRESSION_RATIO: f64 = 2.4;

/// Phrases Whisper writes on silence and music, normalized by [`eval::normalize`]. A segment is
/// dropped only when it says nothing else.
const INVENTED: &[&str] = &[
    "ご視聴ありがとうございました",
    "ご視聴ありがとうございます",
    "最後までご視聴いただきありがとうございました",
    "最後までご視聴ありがとうございました",
    "チャンネル登録お願いします",
    "チャンネル登録よろしくお願いします",
    "チャンネル登録お願いいたします",
    "字幕は視聴者によって作成されました",
    "次回もお楽しみに",
    // Captions of sound, not speech: base writes 「ん」 every ~2 s over music.
    "ん",
    "音楽",
    "拍手",
    "笑",
    "music",
    "applause",
    "laughter",
    "thanks for watching",
    "thank you for watching",
    "thank you so much for watching",
    "thanks for watching and see you next time",
    "please subscribe",
    "please subscribe to my channel",
    "like and subscribe",
    "subtitles by the amara org community",
    "transcription by castingwords",
    "you",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// The audio under the segment is silence.
    Silence,
    /// Nothing but a phrase Whisper invents on silence or music.
    Invented,
    /// The decoder repeating itself.
    Loop,
}

/// UTF-8 length of `text` over its deflated length (openai-whisper's measure; short text
/// compresses badly, so only long repetitive text goes over [`LOOP_COMPRESSION_RATIO`]).
pub fn compression_ratio(text: &str) -> f64 {
    use std::io::Write;
    if text.is_empty() {
        return 0.0;
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let compressed = encoder
        .write_all(text.as_bytes())
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    text.len() as f64 / compressed.len().max(1) as f64
}

/// Whether `text` is a repetition loop rather than speech.
pub fn is_loop(text: &str) -> bool {
    compression_ratio(text) > LOOP_COMPRESSION_RATIO
}

/// Why `segment` of a window holding `pcm` should be dropped, or `None` to keep it.
pub fn check(segment: &WindowSegment, pcm: &[f32]) -> Option<Dropped> {
    let sample = |s: f64| ((s * SAMPLE_RATE as f64) as usize).min(pcm.len());
    // From whisper.cpp's own segment start when it is earlier: DTW can date the first words
    // late, and a window that is speech then a quiet tail must not look silent.
    let from = sample(segment.start_s.min(segment.seek_start_s));
    let to = sample(segment.end_s).max(from);
    // Token times can be off by a frame or two: look at the segment plus 200 ms either side.
    let margin = SAMPLE_RATE as usize / 5;
    let under = &pcm[from.saturating_sub(margin)..(to + margin).min(pcm.len())];
    if !under.is_empty() && is_silent(under) {
        return Some(Dropped::Silence);
    }
    if is_loop(&segment.text) {
        return Some(Dropped::Loop);
    }
    let text = eval::normalize(&segment.text);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Text with no word in it ("♪", "...") is a caption of sound too.
    if text.is_empty() || INVENTED.iter().any(|phrase| text == *phrase) {
        return Some(Dropped::Invented);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(text: &str, no_speech_prob: f32, avg_logprob: f32) -> WindowSegment {
        WindowSegment {
            start_s: 0.0,
            end_s: 1.0,
            seek_start_s: 0.0,
            text: text.to_string(),
            no_speech_prob,
            avg_logprob,
            tokens: vec![],
        }
    }

    fn tone(seconds: f64, amplitude: f32) -> Vec<f32> {
        let n = (seconds * SAMPLE_RATE as f64) as usize;
        (0..n)
            .map(|i| amplitude * (i as f32 * 440.0 * std::f32::consts::TAU / 16_000.0).sin())
            .collect()
    }

    #[test]
    fn checks() {
        let loud = tone(1.0, 0.3);
        let quiet = tone(1.0, 0.001);
        let cases = [
            (
                segment("This cream is made in Japan.", 0.1, -0.3),
                &loud,
                None,
            ),
            (
                segment("This cream is made in Japan.", 0.1, -0.3),
                &quiet,
                Some(Dropped::Silence),
            ),
            // whisper.cpp drops a pass the model calls no speech; a segment it kept stays, however
            // unsure its own words are (speech under rain reads like this).
            (segment("Made in Japan.", 0.9, -1.5), &loud, None),
            (segment("Made in Japan.", 0.9, -0.4), &loud, None),
            (
                segment("Thanks for watching!", 0.1, -0.3),
                &loud,
                Some(Dropped::Invented),
            ),
            (
                segment("ご視聴ありがとうございました。", 0.1, -0.3),
                &loud,
                Some(Dropped::Invented),
            ),
            (
                segment("ご視聴ありがとうございました。日本製です", 0.1, -0.3),
                &loud,
                None,
            ),
            (
                segment("Thanks for watching, this is made in Japan", 0.1, -0.3),
                &loud,
                None,
            ),
            (segment("♪", 0.1, -0.3), &loud, Some(Dropped::Invented)),
            (
                segment("[Music]", 0.1, -0.3),
                &loud,
                Some(Dropped::Invented),
            ),
            (segment("ん", 0.1, -0.3), &loud, Some(Dropped::Invented)),
            (segment("(音楽)", 0.1, -0.3), &loud, Some(Dropped::Invented)),
            // base's loop on ja_negated with a shortened encoder context.
            (
                segment(&format!("効果には個人差があります。{}", "弓".repeat(60)), 0.1, -0.3),
                &loud,
                Some(Dropped::Loop),
            ),
            (
                segment(&"no side effects, ".repeat(8), 0.1, -0.3),
                &loud,
                Some(Dropped::Loop),
            ),
            // Ordinary long sentences compress far less.
            (
                segment(
                    "毎日のお手入れで、肌にうるおいを与えるクリームです。通常価格は六千円ですが、今だけ半額の三千円です。",
                    0.1,
                    -0.3,
                ),
                &loud,
                None,
            ),
            (
                segment(
                    "This serum is clinically proven and FDA approved, with no side effects at all, and it is made in Japan.",
                    0.1,
                    -0.3,
                ),
                &loud,
                None,
            ),
        ];
        for (segment, pcm, expected) in cases {
            assert_eq!(check(&segment, pcm), expected, "{}", segment.text);
        }
        assert!(is_silent(&quiet) && !is_silent(&loud));
    }

    #[test]
    fn a_segment_dated_late_into_a_quiet_tail_is_not_silence() {
        // 2 s of speech-loud tone, then 1 s of silence: DTW has dated the words to the tail.
        let mut pcm = tone(2.0, 0.3);
        pcm.extend(tone(1.0, 0.0));
        let late = |seek_start_s| WindowSegment {
            start_s: 2.7,
            end_s: 3.0,
            seek_start_s,
            ..segment("He was not an ill disposed young man.", 0.1, -0.3)
        };
        // whisper.cpp's own segment starts at 0: the words are over the loud part.
        assert_eq!(check(&late(0.0), &pcm), None);
        // Both datings in the tail: invented over silence.
        assert_eq!(check(&late(2.6), &pcm), Some(Dropped::Silence));
    }
}
