//! Plain-text rendering of an audit for a terminal: one block per file, one line per alert, and
//! optionally the transcript with each alert printed under the segment it came from.

use std::fmt::Write;

use super::{AuditReport, FileReport};
use crate::detect::Alert;
use crate::transcribe::output::clock;

/// Renders `report` as aligned text: file header, then `time  severity  category  text` per alert,
/// with the explanation and suggestion under it. With `transcript`, every segment is printed in
/// time order and each alert follows the segment that starts at or before it.
pub fn render(report: &AuditReport, transcript: bool) -> String {
    let mut out = String::new();
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
