//! Plain-text rendering of an audit for a terminal: the report's header facts in a few lines
//! (verdict, counts, declared origin or a warning, date, version, model, rule packs), then one
//! block per file, one line per alert, and optionally the transcript with each alert printed
//! under the segment it came from.
//!
//! Alert lines keep the category and severity ids (`false_origin`, `critical`): people grep and
//! scripts split them; the header says them in words, in the UI language.

use std::fmt::Write;

use super::header::{Header, Outcome, SEVERITIES};
use super::labels::Ui;
use super::{AuditReport, FileReport};
use crate::detect::{Alert, Category};
use crate::transcribe::output::clock;

/// Renders `report` as aligned text: the header, a blank line, then per file its header line and
/// `time  severity  category  text` per alert, with the explanation and suggestion under it. With
/// `transcript`, every segment is printed in time order and each alert follows the segment that
/// starts at or before it.
pub fn render(report: &AuditReport, transcript: bool, ui: Ui) -> String {
    let mut out = render_header(&report.header, report.files.len(), ui);
    out.push('\n');
    for file in &report.files {
        let _ = writeln!(
            out,
            "{}  ({}, {:.1} s, {} segments, {} alerts)",
            file.file,
            file.language,
            file.duration_s,
            file.segments.len(),
            file.alerts.len()
        );
        if transcript {
            render_with_transcript(&mut out, file);
        } else {
            for alert in &file.alerts {
                render_alert(&mut out, alert, "  ");
            }
        }
    }
    out
}

/// The header facts, one kind per line.
pub fn render_header(h: &Header, files: usize, ui: Ui) -> String {
    let mut out = String::new();
    if let Some(v) = &h.verdict {
        let _ = writeln!(
            out,
            "{}: {} [--fail-on {}]",
            ui.pass_fail(v.result == Outcome::Pass),
            ui.gate_reason(v.threshold, v.failing, h.counts.total, v.worst),
            v.fail_on
        );
    }
    if h.files_failed > 0 {
        let _ = writeln!(out, "⚠ {}", ui.files_failed(h.files_failed));
    }
    let count_list = |items: Vec<(&str, usize)>| {
        items
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(label, n)| format!("{label} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let severities = count_list(
        SEVERITIES
            .iter()
            .map(|s| {
                (
                    ui.severity(*s),
                    h.counts.by_severity.get(s).copied().unwrap_or(0),
                )
            })
            .collect(),
    );
    let categories = count_list(
        Category::ALL
            .iter()
            .map(|c| {
                (
                    ui.category(*c),
                    h.counts.by_category.get(c).copied().unwrap_or(0),
                )
            })
            .collect(),
    );
    let _ = write!(out, "{}", ui.total(h.counts.total, files));
    if h.counts.total > 0 {
        let _ = write!(out, ": {severities} | {categories}");
    }
    out.push('\n');
    match &h.declared_origin {
        Some(o) => {
            let _ = writeln!(out, "{}: {} ({})", ui.declared_origin(), o.name, o.code);
        }
        None => {
            let _ = writeln!(
                out,
                "⚠ {}: {}",
                ui.declared_origin(),
                ui.no_origin(h.unchecked_origin_claims)
            );
        }
    }
    let models: Vec<String> = h
        .models
        .iter()
        .map(|m| format!("{} (sha256 {})", m.path, short(&m.sha256)))
        .collect();
    let _ = writeln!(
        out,
        "{}: {} | {} {} | {}: {}",
        ui.audited_at(),
        h.generated_at,
        ui.version(),
        h.claimwatch_version,
        ui.model(),
        models.join(", ")
    );
    let packs: Vec<String> = h
        .rule_packs
        .iter()
        .map(|p| {
            let version = p
                .version
                .as_deref()
                .map_or(String::new(), |v| format!(" v{v}"));
            // A pack without an id (the country lexicon) is named by its file.
            let name = p.id.as_deref().unwrap_or_else(|| {
                std::path::Path::new(&p.file)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or(&p.file)
            });
            format!("{name}{version} {}", short(&p.sha256))
        })
        .collect();
    let _ = writeln!(out, "{} (sha256): {}", ui.rule_packs(), packs.join(", "));
    out
}

fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

fn render_with_transcript(out: &mut String, file: &FileReport) {
    let mut printed = vec![false; file.alerts.len()];
    for (i, segment) in file.segments.iter().enumerate() {
        let _ = writeln!(
            out,
            "  [{}]  {}",
            clock(segment.start_s, '.'),
            segment.text.trim()
        );
        let next_start = file
            .segments
            .get(i + 1)
            .map_or(f64::INFINITY, |s| s.start_s);
        for (alert, done) in file.alerts.iter().zip(printed.iter_mut()) {
            let at = alert.start_s.unwrap_or(f64::INFINITY);
            if !*done && at < next_start {
                render_alert(out, alert, "      ▲ ");
                *done = true;
            }
        }
    }
    // Alerts without times (none today from audio, but the type allows it) still get shown.
    for (alert, done) in file.alerts.iter().zip(&printed) {
        if !done {
            render_alert(out, alert, "      ▲ ");
        }
    }
}

fn render_alert(out: &mut String, alert: &Alert, lead: &str) {
    let at = alert.start_s.map_or("-".to_string(), |s| clock(s, '.'));
    let pad = " ".repeat(lead.chars().count() + 4);
    // Its words are not in the transcript line above: say where they come from.
    let heard_again = if alert.second_listen {
        "  (heard on a second listen)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "{lead}{at}  {:<8}  {:<12}  {}{heard_again}",
        alert.severity.as_str(),
        alert.category.as_str(),
        alert.text
    );
    let _ = writeln!(out, "{pad}{}", alert.explanation);
    let _ = writeln!(out, "{pad}suggestion: {}", alert.suggestion);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::alert::example_alert;
    use crate::detect::Category;

    #[test]
    fn a_second_listen_alert_says_so() {
        // (second_listen, marker expected)
        for (second, marked) in [(false, false), (true, true)] {
            let mut alert = example_alert(Category::Efficacy, 1.0, 2.0);
            alert.second_listen = second;
            let mut out = String::new();
            render_alert(&mut out, &alert, "  ");
            let first_line = out.lines().next().unwrap();
            assert_eq!(
                first_line.contains("heard on a second listen"),
                marked,
                "{out}"
            );
        }
    }
}
