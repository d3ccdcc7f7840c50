//! Plain-text rendering of an audit for a terminal: one block per file, one line per alert.

use std::fmt::Write;

use super::AuditReport;
use crate::transcribe::output::clock;

/// Renders `report` as aligned text: file header, then `time  severity  category  text`.
pub fn render(report: &AuditReport) -> String {
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
        for alert in &file.alerts {
            let at = alert.start_s.map_or("-".to_string(), |s| clock(s, '.'));
            let _ = writeln!(
                out,
                "  {at}  {:<8}  {:<12}  {}",
                alert.severity.as_str(),
                alert.category.as_str(),
                alert.text
            );
            let _ = writeln!(out, "      {}", alert.explanation);
            let _ = writeln!(out, "      suggestion: {}", alert.suggestion);
        }
    }
    out
}
