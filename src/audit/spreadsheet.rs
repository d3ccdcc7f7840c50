//! `audit --format csv` (pure): the audit report in, a CSV file out with one row per alert of
//! every file, for Excel or a compliance team's tracker. Written as spreadsheets open it
//! ([`sheet`](crate::sheet): BOM, CRLF, quoting; transcript text never runs as a formula). The
//! verdict and the other header facts are in the table, JSON and HTML reports; a CSV holds rows.

use super::AuditReport;
use crate::events::round;
use crate::sheet::{self, safe_text};

/// The columns, in order (the live `/alerts.csv` has the same alert columns, with the stream's
/// and the review's instead of the file's).
pub const COLUMNS: [&str; 16] = [
    "file",
    "alert_id",
    "start_s",
    "end_s",
    "category",
    "severity",
    "rule",
    "text",
    "context",
    "declared_origin",
    "spoken_origin",
    "legal_basis",
    "explanation",
    "suggestion",
    "second_listen",
    "language",
];

pub fn render(report: &AuditReport) -> Vec<u8> {
    let rows = report.files.iter().flat_map(|file| {
        file.alerts.iter().map(move |a| {
            let seconds = |s: Option<f64>| s.map(|s| round::ms(s).to_string()).unwrap_or_default();
            let text = |s: Option<&str>| safe_text(s.unwrap_or_default());
            vec![
                text(Some(&file.file)),
                text(Some(&a.id)),
                seconds(a.start_s),
                seconds(a.end_s),
                a.category.as_str().to_string(),
                a.severity.as_str().to_string(),
                text(Some(&a.rule)),
                text(Some(&a.text)),
                text(Some(&a.context)),
                text(a.declared_origin.as_deref()),
                text(a.spoken_origin.as_deref()),
                text(Some(&a.legal_basis)),
                text(Some(&a.explanation)),
                text(Some(&a.suggestion)),
                a.second_listen.to_string(),
                file.language.clone(),
            ]
        })
    });
    sheet::csv(&COLUMNS, rows)
}
