//! The offline HTML report: one self-contained file a compliance officer opens in a browser.
//!
//! Input: an [`AuditReport`] and, per file, the audio bytes to embed. Output: HTML with inline
//! CSS and script and no external reference: per file a timeline with a marker per alert, the
//! audio (embedded as a data URI, so the report survives being mailed), each alert with category,
//! severity, legal basis, explanation and suggested rewrite, and the transcript with the claimed
//! words highlighted. Clicking a marker, an alert's time or a transcript line plays from there.

use std::fmt::Write;

use base64::Engine;

use super::{AuditReport, FileReport};
use crate::detect::{Alert, Severity};
use crate::transcribe::output::clock;

/// Audio embedded in the report, or why it is not.
pub enum EmbeddedAudio {
    Data {
        mime: &'static str,
        bytes: Vec<u8>,
    },
    /// Too large to embed (an hour of AAC is ~60 MB): the report links to the file instead.
    Linked {
        path: String,
    },
}

/// Files up to this size are embedded; above it the report would be too slow to open.
pub const MAX_EMBED_BYTES: u64 = 32 * 1024 * 1024;

impl EmbeddedAudio {
    /// Reads `path` for embedding, or links it when it is larger than [`MAX_EMBED_BYTES`].
    pub fn for_file(path: &std::path::Path) -> std::io::Result<EmbeddedAudio> {
        let len = std::fs::metadata(path)?.len();
        let absolute = std::fs::canonicalize(path)?;
        if len > MAX_EMBED_BYTES {
            return Ok(EmbeddedAudio::Linked {
                path: absolute.display().to_string(),
            });
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let mime = match ext.as_str() {
            "wav" => "audio/wav",
            "mp3" => "audio/mpeg",
            "flac" => "audio/flac",
            "ogg" | "oga" => "audio/ogg",
            "aac" => "audio/aac",
            "m4a" | "mp4" => "audio/mp4",
            "mov" => "video/quicktime",
            _ => "application/octet-stream",
        };
        Ok(EmbeddedAudio::Data {
            mime,
            bytes: std::fs::read(path)?,
        })
    }
}

const STYLE: &str = r#"
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1em 2em;color:#1d1d1f}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
.summary{color:#555}.timeline{position:relative;height:34px;background:#eef;border-radius:4px;margin:.6em 0}
.timeline .seg{position:absolute;top:12px;height:10px;background:#b8c4e6}
.timeline .mark{position:absolute;top:2px;width:6px;height:30px;border-radius:2px;cursor:pointer}
.critical{background:#b3001b;color:#fff}.high{background:#e0561b;color:#fff}
.medium{background:#f0b400}.low{background:#8fb3d9}
.alert{border:1px solid #ddd;border-left:6px solid #888;border-radius:4px;padding:.5em .8em;margin:.6em 0}
.alert.sev-critical{border-left-color:#b3001b}.alert.sev-high{border-left-color:#e0561b}
.alert.sev-medium{border-left-color:#f0b400}.alert.sev-low{border-left-color:#8fb3d9}
.badge{display:inline-block;padding:0 .5em;border-radius:3px;font-size:.85em;margin-right:.4em}
.said{font-weight:600}.field{color:#555;font-size:.9em}.field b{color:#1d1d1f}
.transcript p{margin:.2em 0}.t{color:#666;font-family:monospace;cursor:pointer;margin-right:.6em}
mark{padding:0 2px;border-radius:2px}button.jump{cursor:pointer}.alert.focus{outline:2px solid #1d1d1f}
"#;

// Clicking a time plays from there. Opening `report.html#file-0-a3` (a link an officer can send)
// scrolls to that alert and cues the player without autoplay; `data-seeked-to` on the player
// records where the browser actually seeked, which the headless-browser test reads back.
const SCRIPT: &str = r#"
function jump(el,play){var a=document.getElementById(el.dataset.player);
if(!a)return;a.currentTime=parseFloat(el.dataset.t);if(play!==false)a.play();}
document.addEventListener('click',function(e){var el=e.target.closest('[data-t]');if(el)jump(el);});
document.querySelectorAll('audio').forEach(function(a){a.addEventListener('seeked',function(){
a.dataset.seekedTo=a.currentTime.toFixed(2);});});
function fromHash(){var card=location.hash&&document.getElementById(location.hash.slice(1));
if(!card||!card.classList.contains('alert'))return;
document.querySelectorAll('.alert.focus').forEach(function(c){c.classList.remove('focus');});
card.classList.add('focus');card.scrollIntoView();var b=card.querySelector('[data-t]');if(b)jump(b,false);}
window.addEventListener('hashchange',fromHash);fromHash();
"#;

/// Renders the whole report; `audio[i]` belongs to `report.files[i]`.
pub fn render(report: &AuditReport, audio: &[EmbeddedAudio]) -> String {
    let total: usize = report.files.iter().map(|f| f.alerts.len()).sum();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>claimwatch audit</title><style>{STYLE}</style></head><body>\n\
         <h1>claimwatch audit</h1><p class=\"summary\">{} file(s), {total} alert(s).</p>",
        report.files.len()
    );
    for (index, file) in report.files.iter().enumerate() {
        render_file(&mut out, index, file, audio.get(index));
    }
    out.push_str(&format!("<script>{SCRIPT}</script></body></html>\n"));
    out
}

fn render_file(out: &mut String, index: usize, file: &FileReport, audio: Option<&EmbeddedAudio>) {
    let player = format!("player-{index}");
    let _ = writeln!(
        out,
        "<section class=\"file\" id=\"file-{index}\"><h2>{}</h2>\
         <p class=\"summary\">language {}, {}, {} alert(s)</p>",
        escape(&file.file),
        escape(&file.language),
        clock(file.duration_s, '.'),
        file.alerts.len()
    );
    match audio {
        Some(EmbeddedAudio::Data { mime, bytes }) => {
            let data = base64::engine::general_purpose::STANDARD.encode(bytes);
            let _ = writeln!(
                out,
                "<audio id=\"{player}\" controls preload=\"metadata\" src=\"data:{mime};base64,{data}\"></audio>"
            );
        }
        Some(EmbeddedAudio::Linked { path }) => {
            let _ = writeln!(
                out,
                "<audio id=\"{player}\" controls preload=\"metadata\" src=\"file://{}\"></audio>\
                 <p class=\"field\">Audio not embedded (larger than {} MB): played from {}</p>",
                escape(path),
                MAX_EMBED_BYTES >> 20,
                escape(path)
            );
        }
        None => {}
    }
    render_timeline(out, file, &player);
    out.push_str("<div class=\"alerts\">\n");
    for alert in &file.alerts {
        render_alert(out, alert, index, &player);
    }
    out.push_str("</div><h3>Transcript</h3><div class=\"transcript\">\n");
    for segment in &file.segments {
        let alerts: Vec<&Alert> = file
            .alerts
            .iter()
            .filter(|a| overlaps(a, segment.start_s, segment.end_s))
            .collect();
        let _ = writeln!(
            out,
            "<p><span class=\"t\" data-player=\"{player}\" data-t=\"{:.2}\">{}</span>{}</p>",
            segment.start_s,
            clock(segment.start_s, '.'),
            highlight(&segment.text, &alerts)
        );
    }
    out.push_str("</div></section>\n");
}

fn render_timeline(out: &mut String, file: &FileReport, player: &str) {
    let duration = file.duration_s.max(0.001);
    let percent = |s: f64| (s / duration * 100.0).clamp(0.0, 100.0);
    out.push_str("<div class=\"timeline\">");
    for segment in &file.segments {
        let _ = write!(
            out,
            "<div class=\"seg\" style=\"left:{:.3}%;width:{:.3}%\"></div>",
            percent(segment.start_s),
            percent(segment.end_s) - percent(segment.start_s)
        );
    }
    for alert in &file.alerts {
        let start = alert.start_s.unwrap_or(0.0);
        let _ = write!(
            out,
            "<div class=\"mark {}\" style=\"left:{:.3}%\" title=\"{} {}: {}\" data-player=\"{player}\" data-t=\"{start:.2}\"></div>",
            alert.severity.as_str(),
            percent(start),
            clock(start, '.'),
            alert.category.as_str(),
            escape(&alert.text)
        );
    }
    out.push_str("</div>\n");
}

/// The card's id, `file-N-aK`, is unique across files so `report.html#file-0-a3` links to it.
fn render_alert(out: &mut String, alert: &Alert, index: usize, player: &str) {
    let start = alert.start_s.unwrap_or(0.0);
    let origin = match (&alert.spoken_origin, &alert.declared_origin) {
        (Some(spoken), Some(declared)) => {
            format!("<div class=\"field\"><b>Origin:</b> said {spoken}, declared {declared}</div>")
        }
        (Some(spoken), None) => format!("<div class=\"field\"><b>Origin:</b> said {spoken}</div>"),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "<div class=\"alert sev-{sev}\" id=\"file-{index}-{id}\" data-category=\"{cat}\">\
         <button class=\"jump\" data-player=\"{player}\" data-t=\"{start:.2}\">▶ {at}</button> \
         <span class=\"badge {sev}\">{sev}</span><span class=\"badge\">{cat}</span> \
         <span class=\"said\">“{text}”</span>\
         <div class=\"field\"><b>Said:</b> {context}</div>{origin}\
         <div class=\"field\"><b>Legal basis:</b> {law}</div>\
         <div class=\"field\"><b>Why:</b> {why}</div>\
         <div class=\"field\"><b>Say instead:</b> {fix}</div>\
         <div class=\"field\">rule {rule}</div></div>",
        sev = alert.severity.as_str(),
        id = escape(&alert.id),
        cat = alert.category.as_str(),
        at = clock(start, '.'),
        text = escape(&alert.text),
        context = escape(&alert.context),
        law = escape(&alert.legal_basis),
        why = escape(&alert.explanation),
        fix = escape(&alert.suggestion),
        rule = escape(&alert.rule),
    );
}

fn overlaps(alert: &Alert, start_s: f64, end_s: f64) -> bool {
    match (alert.start_s, alert.end_s) {
        (Some(a), Some(b)) => a < end_s && start_s < b,
        _ => false,
    }
}

/// Escapes `text` and wraps each alert's matched words in `<mark>`. A match the segment does
/// not hold verbatim (it spans two segments) marks nothing here: the alert list shows it.
fn highlight(text: &str, alerts: &[&Alert]) -> String {
    let mut spans: Vec<(usize, usize, Severity)> = Vec::new();
    for alert in alerts {
        if alert.text.is_empty() {
            continue;
        }
        if let Some(at) = text.find(alert.text.as_str()) {
            let end = at + alert.text.len();
            if spans.iter().all(|&(s, e, _)| end <= s || e <= at) {
                spans.push((at, end, alert.severity));
            }
        }
    }
    spans.sort_by_key(|&(start, ..)| start);
    let mut out = String::new();
    let mut pos = 0;
    for (start, end, severity) in spans {
        out.push_str(&escape(&text[pos..start]));
        let _ = write!(
            out,
            "<mark class=\"{}\">{}</mark>",
            severity.as_str(),
            escape(&text[start..end])
        );
        pos = end;
    }
    out.push_str(&escape(&text[pos..]));
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_highlights() {
        let cases = [
            ("a <b> & \"c\"", "", "a &lt;b&gt; &amp; &quot;c&quot;"),
            (
                "実はこれ、日本製なんです。",
                "日本製",
                "実はこれ、<mark class=\"high\">日本製</mark>なんです。",
            ),
            (
                "it cures <acne>",
                "cures <acne>",
                "it <mark class=\"high\">cures &lt;acne&gt;</mark>",
            ),
            ("no match here", "made in Japan", "no match here"),
        ];
        for (text, matched, want) in cases {
            let alert = Alert {
                id: "a1".into(),
                category: crate::detect::Category::Efficacy,
                rule: "r".into(),
                severity: Severity::High,
                lang: crate::detect::Lang::Ja,
                text: matched.into(),
                context: String::new(),
                start_s: Some(0.0),
                end_s: Some(1.0),
                legal_basis: String::new(),
                explanation: String::new(),
                suggestion: String::new(),
                declared_origin: None,
                spoken_origin: None,
                second_listen: false,
                said_at: None,
            };
            assert_eq!(highlight(text, &[&alert]), want);
        }
    }
}
