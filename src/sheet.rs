//! CSV files a spreadsheet opens as meant (pure): rows of text in, the bytes of a file out —
//! UTF-8 with a byte order mark (without it Excel reads the file in the local code page and
//! Japanese turns into mojibake), CRLF line ends as Excel writes them, quoting by the `csv`
//! crate (commas, quotes and newlines in a transcript survive).
//!
//! Spreadsheet formulas: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is
//! run as a formula by Excel and LibreOffice. Transcript text comes from the seller being
//! watched, so text cells go through [`safe_text`], which puts a `'` in front of such a cell
//! (spreadsheets show it as text and do not display the quote).

use crate::detect::Alert;
use crate::events::round;

/// The columns every alert export has, in this order ([`alert_cells`]); an export puts its own
/// columns (file or stream, review) around them.
pub const ALERT_COLUMNS: [&str; 10] = [
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
];

/// The cells of [`ALERT_COLUMNS`] for `alert`: seconds to the millisecond, ids as they are,
/// text through [`safe_text`].
pub fn alert_cells(alert: &Alert) -> [String; 10] {
    [
        seconds(alert.start_s),
        seconds(alert.end_s),
        alert.category.as_str().to_string(),
        alert.severity.as_str().to_string(),
        safe_text(&alert.rule),
        safe_text(&alert.text),
        safe_text(&alert.context),
        text(alert.declared_origin.as_deref()),
        text(alert.spoken_origin.as_deref()),
        safe_text(&alert.legal_basis),
    ]
}

/// A time in seconds, rounded to the millisecond; empty when there is none.
pub fn seconds(s: Option<f64>) -> String {
    s.map(|s| round::ms(s).to_string()).unwrap_or_default()
}

/// An optional text cell through [`safe_text`]; empty when there is none.
pub fn text(s: Option<&str>) -> String {
    safe_text(s.unwrap_or_default())
}

/// UTF-8's byte order mark, which tells Excel the encoding.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The file with `header` and `rows` (every row as long as the header).
pub fn csv<R: AsRef<[String]>>(header: &[&str], rows: impl IntoIterator<Item = R>) -> Vec<u8> {
    let mut out = BOM.to_vec();
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(&mut out);
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(header);
    for row in rows {
        let _ = writer.write_record(row.as_ref());
    }
    let _ = writer.flush();
    drop(writer);
    out
}

/// `text`, with a `'` in front when a spreadsheet would run it as a formula.
pub fn safe_text(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_text_and_excel_gets_a_bom() {
        // (cell, written)
        let cases = [
            ("=1+1", "'=1+1"),
            ("+81 90", "'+81 90"),
            ("-3 kg", "'-3 kg"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("日本製です", "日本製です"),
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("\tx", "'\tx"),
            ("a=b", "a=b"),
            ("", ""),
        ];
        for (cell, want) in cases {
            assert_eq!(safe_text(cell), want);
        }
        let bytes = csv(
            &["a", "b"],
            [vec!["x,y".to_string(), "日本\n製".to_string()]],
        );
        assert!(bytes.starts_with(BOM));
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert_eq!(text, "a,b\r\n\"x,y\",\"日本\n製\"\r\n");
    }
}
