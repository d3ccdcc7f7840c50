//! Audit of recorded streams (VOD files): decode → resample → transcribe → detect, as fast as
//! the machine allows (never paced to real time).
//!
//! Input: an audio or video file, a loaded Whisper session and the [`Detector`]. Output: a
//! [`FileReport`] with the transcript and every alert, times in seconds from the start of the file.
//! Renderers for the report live beside it: [`table`] (terminal), [`html`] (offline report for
//! compliance officers), both opening with the [`header`] facts, in words from [`labels`], with
//! claims shown in context by [`excerpt`] and, in HTML, on a time [`axis`]; [`expect`] checks a
//! report against a clip's sidecar expectation.

pub mod axis;
pub mod excerpt;
pub mod expect;
pub mod header;
pub mod html;
pub mod labels;
pub mod spreadsheet;
pub mod table;

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::audio;
use crate::detect::{Alert, Detector, Lang, Severity};
use crate::second_listen;
use crate::transcribe::batch;
use crate::transcribe::relisten::{Relistened, SuspectFinder};
use crate::transcribe::whisper::{DecodeOptions, WhisperSession};
use crate::transcribe::Segment;

/// The audit of one file: what `--format json` prints for each file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    pub file: String,
    /// ISO 639-1 code, as given or as Whisper detected it on the first window.
    pub language: String,
    pub duration_s: f64,
    pub segments: Vec<Segment>,
    pub alerts: Vec<Alert>,
    /// The spans decoded again (Japanese spans close to a rule but not matching it), what the
    /// first pass and the second listen heard there: what a reviewer checks a
    /// `second_listen` alert against.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub second_listens: Vec<Relistened>,
}

/// Every file of one `claimwatch audit` run, under the facts the report opens with (flattened
/// into the JSON report's top level beside `files`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    #[serde(flatten)]
    pub header: header::Header,
    pub files: Vec<FileReport>,
}

impl AuditReport {
    /// The most severe alert of the run, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.files
            .iter()
            .flat_map(|f| f.alerts.iter().map(|a| a.severity))
            .max()
    }
}

/// Transcribes `path` and runs the detector over its segments in order, as live mode will;
/// with `second_listen`, spans that sound close to a rule are decoded again ([`second_listen`]).
/// A language the rule packs do not cover (Whisper detected, say, Korean) gives a transcript
/// and no alerts; the caller warns about it.
pub fn audit_file(
    path: &Path,
    session: &mut WhisperSession,
    detector: &Detector,
    options: &DecodeOptions,
    declared_origin: Option<&str>,
    second_listen: bool,
    progress: impl FnMut(f64),
) -> Result<FileReport> {
    let mut stream = audio::open(path)?;
    let finder: Option<&dyn SuspectFinder> = second_listen.then_some(detector);
    let transcript = batch::transcribe_with(session, &mut stream, options, finder, progress)?;
    let alerts = match Lang::parse(&transcript.language) {
        Some(lang) => {
            let mut alerts = detect_segments(detector, lang, declared_origin, &transcript.segments);
            let more = second_listen::alerts(
                detector,
                lang,
                declared_origin,
                &transcript.relistened,
                &alerts,
                &transcript.segments,
            );
            if !more.is_empty() {
                alerts.extend(more);
                alerts.sort_by(|a, b| {
                    a.start_s
                        .unwrap_or(0.0)
                        .total_cmp(&b.start_s.unwrap_or(0.0))
                });
                for (i, a) in alerts.iter_mut().enumerate() {
                    a.id = format!("a{}", i + 1);
                }
            }
            alerts
        }
        None => Vec::new(),
    };
    Ok(FileReport {
        file: path.display().to_string(),
        language: transcript.language,
        duration_s: transcript.duration_s,
        segments: transcript.segments,
        alerts,
        second_listens: transcript.relistened,
    })
}

pub use crate::second_listen::detect_segments;
