//! The offline HTML report: one self-contained file a compliance officer opens in a browser,
//! prints to PDF and files as evidence.
//!
//! Input: an [`AuditReport`] (its [`Header`](super::header::Header) filled), per file the audio bytes to embed, the UI
//! language and the Japanese morpheme reader (for cutting context at word edges). Output: HTML
//! with inline CSS and script and no external reference. It opens with the verdict banner, the
//! audit's facts (date, declared origin or a warning, versions, model and rule-pack hashes) and
//! the counts; then per file the audio (a data URI, so the report survives being mailed), a
//! timeline with numbered markers on a labelled time axis and a legend, one numbered card per
//! alert (category and severity in words, the claim highlighted in whole-word context, legal
//! basis, explanation, suggested rewrite), and the transcript with the claims highlighted. The
//! report data itself is embedded as JSON (`#report-data`) for programs and tests.

use std::fmt::Write;

use base64::Engine;

use super::excerpt::{self, Excerpt};
use super::header::{Outcome, SEVERITIES};
use super::labels::Ui;
use super::{axis, AuditReport, FileReport};
use crate::detect::reading::Reader;
use crate::detect::{Alert, Category, Lang, Severity};
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

/// Stylesheet and script, kept as files for editing, embedded in the binary.
const STYLE: &str = include_str!("templates/report.css");
const SCRIPT: &str = include_str!("templates/report.js");

/// Markers closer than this (percent of the timeline) go to separate rows.
const MARKER_GAP_PERCENT: f64 = 2.8;
/// Height of one marker row and of the segment bar, pixels.
const LANE_PX: usize = 28;

/// Renders the whole report; `audio[i]` belongs to `report.files[i]`.
pub fn render(report: &AuditReport, audio: &[EmbeddedAudio], ui: Ui, reader: &Reader) -> String {
    let title = match report.files.as_slice() {
        [one] => format!("{} — {}", ui.title(), file_name(&one.file)),
        _ => ui.title().to_string(),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body>",
        lang = ui.code(),
        title = escape(&title),
    );
    render_header(&mut out, report, ui);
    for (index, file) in report.files.iter().enumerate() {
        render_file(&mut out, index, file, audio.get(index), ui, reader);
    }
    // The data behind the page, for programs (and the tests): `<` escaped so no string can close
    // the script element.
    let data = serde_json::to_string(report)
        .unwrap_or_default()
        .replace('<', "\\u003c");
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"report-data\">{data}</script>\n\
         <script>{SCRIPT}</script></body></html>\n"
    );
    out
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The verdict banner, the facts an auditor files, and the counts.
fn render_header(out: &mut String, report: &AuditReport, ui: Ui) {
    let h = &report.header;
    out.push_str("<header class=\"report-head\">\n");
    if let Some(v) = &h.verdict {
        let passed = v.result == Outcome::Pass;
        let _ = writeln!(
            out,
            "<div class=\"verdict {class}\" id=\"verdict\" data-verdict=\"{class}\">\
             <span class=\"verdict-word\">{word}</span>\
             <span class=\"verdict-why\">{why}</span>\
             <span class=\"verdict-gate\">{gate}: --fail-on {fail_on}</span></div>",
            class = if passed { "pass" } else { "fail" },
            word = ui.pass_fail(passed),
            why = escape(&ui.gate_reason(v.threshold, v.failing, h.counts.total, v.worst)),
            gate = ui.gate(),
            fail_on = escape(&v.fail_on),
        );
    }
    if h.files_failed > 0 {
        let _ = writeln!(
            out,
            "<p class=\"warn\" id=\"files-failed\">{}</p>",
            escape(&ui.files_failed(h.files_failed))
        );
    }
    let _ = writeln!(out, "<h1>{}</h1><dl class=\"facts\">", ui.title());
    let fact = |out: &mut String, label: &str, value: &str| {
        let _ = writeln!(out, "<dt>{label}</dt><dd>{value}</dd>");
    };
    fact(
        out,
        ui.audited_at(),
        &escape(&h.generated_at.replacen('T', " ", 1).replace('Z', " UTC")),
    );
    fact(
        out,
        ui.scope(),
        &escape(&ui.total(h.counts.total, report.files.len())),
    );
    match &h.declared_origin {
        Some(origin) => fact(
            out,
            ui.declared_origin(),
            &format!(
                "<span id=\"declared-origin\">{} ({})</span>",
                escape(&origin.name),
                escape(&origin.code)
            ),
        ),
        None => fact(
            out,
            ui.declared_origin(),
            &format!(
                "<span class=\"warn\" id=\"no-origin\">⚠ {}</span>",
                escape(&ui.no_origin(h.unchecked_origin_claims))
            ),
        ),
    }
    fact(out, ui.version(), &escape(&h.claimwatch_version));
    let models: Vec<String> = h
        .models
        .iter()
        .map(|m| {
            format!(
                "{} <span class=\"hash\">{:.1} MB, SHA-256 {}</span>",
                escape(file_name(&m.path)),
                m.bytes as f64 / 1e6,
                escape(&m.sha256)
            )
        })
        .collect();
    fact(out, ui.model(), &models.join("<br>"));
    let packs: Vec<String> = h
        .rule_packs
        .iter()
        .map(|p| {
            let name = p.id.as_deref().unwrap_or_else(|| file_name(&p.file));
            let version = p
                .version
                .as_deref()
                .map_or(String::new(), |v| format!(" v{}", escape(v)));
            format!(
                "<span>{}{version} <span class=\"hash\">{}</span></span>",
                escape(name),
                escape(p.sha256.get(..12).unwrap_or(&p.sha256))
            )
        })
        .collect();
    fact(
        out,
        ui.rule_packs(),
        &format!(
            "<div class=\"packs\">{}</div><div class=\"note\">{}</div>",
            packs.join(""),
            ui.packs_identified()
        ),
    );
    out.push_str("</dl>\n<div class=\"counts\">");
    out.push_str("<table id=\"counts-severity\">");
    let _ = write!(out, "<tr><th colspan=\"2\">{}</th></tr>", ui.by_severity());
    for severity in SEVERITIES {
        let n = h.counts.by_severity.get(&severity).copied().unwrap_or(0);
        let _ = write!(
            out,
            "<tr{zero}><td><span class=\"chip {id}\"></span>{label}</td><td class=\"n\">{n}</td></tr>",
            zero = if n == 0 { " class=\"zero\"" } else { "" },
            id = severity.as_str(),
            label = ui.severity(severity),
        );
    }
    out.push_str("</table><table id=\"counts-category\">");
    let _ = write!(out, "<tr><th colspan=\"2\">{}</th></tr>", ui.by_category());
    for category in Category::ALL {
        let n = h.counts.by_category.get(&category).copied().unwrap_or(0);
        let _ = write!(
            out,
            "<tr{zero}><td>{label}</td><td class=\"n\">{n}</td></tr>",
            zero = if n == 0 { " class=\"zero\"" } else { "" },
            label = ui.category(category),
        );
    }
    out.push_str("</table></div>\n</header>\n");
}

fn render_file(
    out: &mut String,
    index: usize,
    file: &FileReport,
    audio: Option<&EmbeddedAudio>,
    ui: Ui,
    reader: &Reader,
) {
    let player = format!("player-{index}");
    let _ = writeln!(
        out,
        "<section class=\"file\" id=\"file-{index}\"><h2>{}</h2><p class=\"summary\">{}</p>",
        escape(&file.file),
        escape(&ui.file_summary(
            &file.language,
            // Whole seconds elapsed, as the player shows them.
            &axis::label(file.duration_s.floor()),
            file.alerts.len()
        )),
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
                 <p class=\"field\">{} {}</p>",
                escape(path),
                escape(&ui.not_embedded(MAX_EMBED_BYTES >> 20)),
                escape(path)
            );
        }
        None => {}
    }
    render_timeline(out, index, file, &player, ui);
    if file.alerts.is_empty() {
        let _ = writeln!(out, "<p class=\"summary\">{}</p>", ui.no_alerts());
    }
    out.push_str("<ol class=\"alerts\">\n");
    for (number, alert) in file.alerts.iter().enumerate() {
        let said = excerpt::said(&file.segments, alert, reader);
        render_alert(out, alert, number + 1, &said, index, &player, ui);
    }
    let _ = writeln!(
        out,
        "</ol><h3>{}</h3><div class=\"transcript\">",
        ui.transcript()
    );
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

/// The legend, the timeline (speech as bars, alerts as numbered markers matching the cards) and
/// the time axis under it.
fn render_timeline(out: &mut String, index: usize, file: &FileReport, player: &str, ui: Ui) {
    let duration = file.duration_s.max(0.001);
    let percent = |s: f64| (s / duration * 100.0).clamp(0.0, 100.0);
    let ticks = axis::ticks(file.duration_s, 10);
    let starts: Vec<f64> = file
        .alerts
        .iter()
        .map(|a| percent(a.start_s.unwrap_or(0.0)))
        .collect();
    let lanes = axis::lanes(&starts, MARKER_GAP_PERCENT);
    let rows = lanes.iter().max().map_or(1, |m| m + 1);

    let _ = write!(
        out,
        "<div class=\"timeline-block\"><h3>{}</h3><div class=\"legend\">",
        ui.timeline()
    );
    for severity in SEVERITIES {
        let _ = write!(
            out,
            "<span><span class=\"chip {}\"></span>{}</span>",
            severity.as_str(),
            ui.severity(severity)
        );
    }
    let _ = write!(
        out,
        "<span>① ② … {}</span></div><div class=\"timeline\" style=\"height:{}px\">",
        ui.legend_numbers(),
        rows * LANE_PX + 16
    );
    for &t in &ticks {
        let _ = write!(
            out,
            "<div class=\"gridline\" style=\"left:{:.3}%\"></div>",
            percent(t)
        );
    }
    for segment in &file.segments {
        let _ = write!(
            out,
            "<div class=\"seg\" style=\"left:{:.3}%;width:{:.3}%\"></div>",
            percent(segment.start_s),
            percent(segment.end_s) - percent(segment.start_s)
        );
    }
    for (number, (alert, lane)) in file.alerts.iter().zip(&lanes).enumerate() {
        let start = alert.start_s.unwrap_or(0.0);
        let _ = write!(
            out,
            "<a class=\"mark {sev}\" href=\"#file-{index}-{id}\" style=\"left:{left:.3}%;top:{top}px\" \
             title=\"{at} {cat}: {text}\" data-player=\"{player}\" data-t=\"{start:.2}\">{n}</a>",
            sev = alert.severity.as_str(),
            id = escape(&alert.id),
            left = percent(start),
            top = 3 + lane * LANE_PX,
            at = axis::label(start),
            cat = ui.category(alert.category),
            text = escape(&alert.text),
            n = number + 1,
        );
    }
    out.push_str("</div><div class=\"axis\">");
    for (i, &t) in ticks.iter().enumerate() {
        let edge = if i == 0 {
            " first"
        } else if i + 1 == ticks.len() && percent(t) > 97.0 {
            " last"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<span class=\"tick{edge}\" style=\"left:{:.3}%\">{}</span>",
            percent(t),
            axis::label(t)
        );
    }
    out.push_str("</div></div>\n");
}

/// Card `number` (the same number as its timeline marker). The card's id, `file-N-aK`, is unique
/// across files so `report.html#file-0-a3` links to it.
fn render_alert(
    out: &mut String,
    alert: &Alert,
    number: usize,
    said: &Excerpt,
    index: usize,
    player: &str,
    ui: Ui,
) {
    let start = alert.start_s.unwrap_or(0.0);
    let sev = alert.severity.as_str();
    let origin = match &alert.spoken_origin {
        Some(spoken) => format!(
            "<div class=\"field\"><b>{}:</b> {}</div>",
            ui.origin(),
            escape(&ui.origin_said(spoken, alert.declared_origin.as_deref()))
        ),
        None => String::new(),
    };
    let relisten = if alert.second_listen {
        format!("<div class=\"relisten\">{}</div>", ui.second_listen())
    } else {
        String::new()
    };
    let ellipsis = |cut: bool| {
        if cut {
            "<span class=\"ell\">…</span>"
        } else {
            ""
        }
    };
    let _ = writeln!(
        out,
        "<li class=\"alert sev-{sev}\" id=\"file-{index}-{id}\" data-category=\"{cat_id}\" data-severity=\"{sev}\">\
         <div class=\"card-head\"><span class=\"num {sev}\">{number}</span>\
         <button class=\"jump\" data-player=\"{player}\" data-t=\"{start:.2}\"><span class=\"noprint\">▶ </span>{at}</button>\
         <span class=\"badge {sev}\">{sev_label}</span><span class=\"cat\">{cat}</span></div>\
         <p class=\"said\"><b>{said_label}:</b> {open}{cut_before}{before}<mark class=\"{sev}\">{claim}</mark>{after}{cut_after}{close}</p>\
         {relisten}{origin}\
         <div class=\"field\"><b>{law_label}:</b> {law}</div>\
         <div class=\"field\"><b>{why_label}:</b> {why}</div>\
         <div class=\"field\"><b>{fix_label}:</b> {fix}</div>\
         <div class=\"field\">{rule_label}: <span class=\"hash\">{rule}</span></div></li>",
        id = escape(&alert.id),
        cat_id = alert.category.as_str(),
        at = axis::label(start),
        sev_label = ui.severity(alert.severity),
        cat = ui.category(alert.category),
        said_label = ui.said(),
        // Quoted as the speaker's language quotes.
        open = if alert.lang == Lang::Ja { "「" } else { "“" },
        close = if alert.lang == Lang::Ja { "」" } else { "”" },
        cut_before = ellipsis(said.cut_before),
        before = escape(&said.before),
        claim = escape(&said.claim),
        after = escape(&said.after),
        cut_after = ellipsis(said.cut_after),
        law_label = ui.legal_basis(),
        law = escape(&alert.legal_basis),
        why_label = ui.why(),
        why = escape(&alert.explanation),
        fix_label = ui.say_instead(),
        fix = escape(&alert.suggestion),
        rule_label = ui.rule(),
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
                source: crate::detect::AlertSource::Speech,
                comment: None,
            };
            assert_eq!(highlight(text, &[&alert]), want);
        }
    }
}
