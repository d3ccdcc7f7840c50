//! `GET /alerts.csv` (pure): reviewed alerts in, the bytes of a CSV file out, one row per alert
//! with its review, written as spreadsheets open it ([`sheet`]: BOM, CRLF, quoting). The text,
//! the context and the note come from the seller being watched or from an operator, so they go
//! through [`safe_text`] (no cell runs as a formula); numbers are our own and left alone.

use crate::events::ReviewedAlert;
use crate::sheet::{self, text};

/// The columns, in order: the alert's id, stream and when it was said, the alert columns every
/// export has ([`sheet::ALERT_COLUMNS`]), then its review.
pub fn columns() -> Vec<&'static str> {
    [
        &["alert_id", "stream", "said_at"][..],
        &sheet::ALERT_COLUMNS,
        &["review_state", "reviewer", "reviewed_at", "note"],
    ]
    .concat()
}

/// The CSV file of `alerts`; alert events without an alert body are skipped.
pub fn alerts_csv(alerts: &[ReviewedAlert]) -> Vec<u8> {
    let rows = alerts.iter().filter_map(|reviewed| {
        let a = reviewed.event.alert()?;
        let review = &reviewed.review;
        let mut row = vec![
            text(Some(&a.id)),
            text(Some(&reviewed.event.stream)),
            text(a.said_at.as_deref()),
        ];
        row.extend(sheet::alert_cells(a));
        row.extend([
            review.state.as_str().to_string(),
            text(review.by.as_deref()),
            text(review.at.as_deref()),
            text(review.note.as_deref()),
        ]);
        Some(row)
    });
    sheet::csv(&columns(), rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::event::tests::sample_alert;
    use crate::events::{CurrentReview, Event, EventBody, ReviewState};

    fn reviewed(text: &str, review: CurrentReview) -> ReviewedAlert {
        let mut alert = sample_alert();
        alert.id = "shop-1-7".into();
        alert.text = text.into();
        alert.start_s = Some(11.080000000000002);
        alert.said_at = Some("2026-11-27T03:26:24.123Z".into());
        ReviewedAlert {
            event: Event {
                id: 7,
                stream: "shop-1".into(),
                at: "2026-11-27T03:26:25.000Z".into(),
                body: EventBody::Alert(alert),
            },
            review,
        }
    }

    #[test]
    fn a_file_excel_and_a_csv_reader_both_read_back() {
        let confirmed = CurrentReview {
            state: ReviewState::Confirmed,
            by: Some("alice".into()),
            at: Some("2026-11-27T04:00:00.000Z".into()),
            note: Some("産地は中国、\"日本製\"は虚偽\n二行目".into()),
            event_id: Some(9),
        };
        let rows = [
            reviewed("これは日本製, です", CurrentReview::NEW),
            reviewed("=1+1", confirmed),
        ];
        let bytes = alerts_csv(&rows);
        assert!(bytes.starts_with(crate::sheet::BOM), "no BOM");
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        assert!(text.starts_with("alert_id,stream,said_at,start_s,end_s,category,severity,"));
        assert!(text.contains("\r\n"), "{text}");
        let mut reader = ::csv::Reader::from_reader(&bytes[3..]);
        assert_eq!(reader.headers().unwrap(), columns().as_slice());
        let records: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 2);
        let field = |row: usize, column: &str| {
            let at = columns().iter().position(|c| *c == column).unwrap();
            records[row][at].to_string()
        };
        // (row, column, value)
        let cases = [
            (0, "alert_id", "shop-1-7"),
            (0, "stream", "shop-1"),
            (0, "said_at", "2026-11-27T03:26:24.123Z"),
            (0, "start_s", "11.08"),
            (0, "end_s", "12.5"),
            (0, "category", "false_origin"),
            (0, "severity", "critical"),
            (0, "text", "これは日本製, です"),
            (0, "declared_origin", "CN"),
            (0, "spoken_origin", "JP"),
            (0, "legal_basis", "景品表示法"),
            (0, "review_state", "new"),
            (0, "reviewer", ""),
            (0, "note", ""),
            (1, "text", "'=1+1"),
            (1, "review_state", "confirmed"),
            (1, "reviewer", "alice"),
            (1, "reviewed_at", "2026-11-27T04:00:00.000Z"),
            (1, "note", "産地は中国、\"日本製\"は虚偽\n二行目"),
        ];
        for (row, column, want) in cases {
            assert_eq!(field(row, column), want, "row {row} {column}");
        }
        assert_eq!(
            alerts_csv(&[]).len(),
            3 + text.lines().next().unwrap().len() + 2
        );
    }
}
