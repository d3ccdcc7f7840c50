//! Renders a transcript as plain text, JSON, SubRip (SRT) or WebVTT.
//!
//! Input: the file name and a [`Transcript`]. Output: the text to print. Pure.

use serde::Serialize;

use crate::transcribe::{Segment, Transcript};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Srt,
    Vtt,
}

#[derive(Serialize)]
struct JsonTranscript<'a> {
    file: &'a str,
    language: &'a str,
    duration_s: f64,
    segments: &'a [Segment],
}

/// `HH:MM:SS{sep}mmm`, as SRT (`,`) and WebVTT (`.`) write times.
pub fn clock(seconds: f64, sep: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{sep}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

pub fn render(file: &str, transcript: &Transcript, format: Format) -> String {
    let mut out = String::new();
    match format {
        Format::Text => {
            for s in &transcript.segments {
                out.push_str(&format!(
                    "[{} --> {}]  {}\n",
                    clock(s.start_s, '.'),
                    clock(s.end_s, '.'),
                    s.text
                ));
            }
        }
        Format::Json => {
            let json = JsonTranscript {
                file,
                language: &transcript.language,
                duration_s: transcript.duration_s,
                segments: &transcript.segments,
            };
            out = serde_json::to_string_pretty(&json).expect("transcript serializes");
            out.push('\n');
        }
        Format::Srt => {
            for (i, s) in transcript.segments.iter().enumerate() {
                out.push_str(&format!(
                    "{}\n{} --> {}\n{}\n\n",
                    i + 1,
                    clock(s.start_s, ','),
                    clock(s.end_s, ','),
                    s.text
                ));
            }
        }
        Format::Vtt => {
            out.push_str("WEBVTT\n\n");
            for s in &transcript.segments {
                out.push_str(&format!(
                    "{} --> {}\n{}\n\n",
                    clock(s.start_s, '.'),
                    clock(s.end_s, '.'),
                    s.text
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript() -> Transcript {
        Transcript {
            language: "en".into(),
            duration_s: 3661.5,
            segments: vec![
                Segment::new(0.0, 1.25, "Hello there."),
                Segment::new(3661.0, 3661.5, "Bye."),
            ],
            relistened: vec![],
        }
    }

    #[test]
    fn renders_every_format() {
        let cases = [
            (
                Format::Text,
                "[00:00:00.000 --> 00:00:01.250]  Hello there.\n[01:01:01.000 --> 01:01:01.500]  Bye.\n",
            ),
            (
                Format::Srt,
                "1\n00:00:00,000 --> 00:00:01,250\nHello there.\n\n2\n01:01:01,000 --> 01:01:01,500\nBye.\n\n",
            ),
            (
                Format::Vtt,
                "WEBVTT\n\n00:00:00.000 --> 00:00:01.250\nHello there.\n\n01:01:01.000 --> 01:01:01.500\nBye.\n\n",
            ),
        ];
        for (format, expected) in cases {
            assert_eq!(
                render("a.wav", &transcript(), format),
                expected,
                "{format:?}"
            );
        }
    }

    #[test]
    fn json_has_the_documented_fields() {
        let v: serde_json::Value =
            serde_json::from_str(&render("a.wav", &transcript(), Format::Json)).unwrap();
        assert_eq!(v["file"], "a.wav");
        assert_eq!(v["language"], "en");
        assert_eq!(v["duration_s"], 3661.5);
        assert_eq!(v["segments"][0]["start_s"], 0.0);
        assert_eq!(v["segments"][0]["end_s"], 1.25);
        assert_eq!(v["segments"][1]["text"], "Bye.");
    }
}
