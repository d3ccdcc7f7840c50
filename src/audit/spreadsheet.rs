//! `audit --format csv` (pure): the audit report in, a CSV file out with one row per alert of
//! every file, for Excel or a compliance team's tracker. Written as spreadsheets open it
//! ([`sheet`](crate::sheet): BOM, CRLF, quoting; transcript text never runs as a formula). The
//! verdict and the other header facts are in the table, JSON and HTML reports; a CSV holds rows.

use super::AuditReport;
use crate::sheet::{self, safe_text, text};

/// The columns, in order: the file and the alert's id, the alert columns every export has
/// ([`sheet::ALERT_COLUMNS`]; the live `/alerts.csv` has them too), then what an audit adds.
pub fn columns() -> Vec<&'static str> {
    [
        &["file", "alert_id"][..],
        &sheet::ALERT_COLUMNS,
        &["explanation", "suggestion", "second_listen", "language"],
    ]
    .concat()
}

pub fn render(report: &AuditReport) -> Vec<u8> {
    let rows = report.files.iter().flat_map(|file| {
        file.alerts.iter().map(move |a| {
            let mut row = vec![text(Some(&file.file)), text(Some(&a.id))];
            row.extend(sheet::alert_cells(a));
            row.extend([
                safe_text(&a.explanation),
                safe_text(&a.suggestion),
                a.second_listen.to_string(),
                file.language.clone(),
            ]);
            row
        })
    });
    sheet::csv(&columns(), rows)
}
