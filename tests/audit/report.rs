//! The audit report as an auditor files it (issue 14 item 2): the table and HTML reports open
//! with the verdict, the counts, the declared origin or a warning, the date, claimwatch's version,
//! the model and the rule packs; the HTML page speaks the audio's language, shows every alert as
//! a numbered card in words with its claim highlighted, has a time axis and a legend, and prints.
//!
//! Real runs of the binary on the sample clips, checked in headless Chromium. Alert counts come
//! from Whisper, so the checks compare the page with the report data it embeds and with the
//! clip's sidecar, never with a fixed number. Screenshots and the PDF are kept under
//! `$CARGO_TARGET_DIR/artefacts/report/` for people to look at.

use std::path::{Path, PathBuf};

use claimwatch::audit::labels::Ui;
use claimwatch::detect::{Category, Severity};
use serde_json::Value;

use super::browser::{self, near};
use super::promises::expected_categories;
use super::{card, claimwatch, report_data, stdout, FAIL_RED, PASS_GREEN};
use crate::common;

const SEVERITIES: [Severity; 4] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
];

/// `$CARGO_TARGET_DIR/artefacts/report/`, where the screenshots and PDF are kept.
fn artefacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("artefacts/report");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `sha256sum FILE`, the check an auditor would run on the model or a pack.
fn sha256sum(path: &str) -> String {
    let output = crate::source::bounded::output_within(
        std::process::Command::new("sha256sum").arg(common::repo().join(path)),
        std::time::Duration::from_secs(120),
    );
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The HTML between `start` and the next `end` after it.
fn between<'a>(dom: &'a str, start: &str, end: &str) -> &'a str {
    let from = dom
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in\n{dom}"));
    let to = from + dom[from..].find(end).expect("end");
    &dom[from..to]
}

fn category(id: &str) -> Category {
    Category::ALL
        .into_iter()
        .find(|c| c.as_str() == id)
        .unwrap()
}

fn severity(id: &str) -> Severity {
    Severity::parse(id).unwrap()
}

/// What every HTML report must show, checked on the DOM Chromium rendered against the report
/// data embedded in the same page: the header facts, the counts, a numbered card and marker per
/// alert in words, the claim marked in its context, the axis and the legend.
fn check_page(dom: &str, report: &Value, ui: Ui, sidecar: &str) {
    assert!(
        dom.contains(&format!("<html lang=\"{}\">", ui.code())),
        "{dom}"
    );
    let verdict = between(dom, "id=\"verdict\"", "</div>");
    let passed = report["verdict"]["result"] == "pass";
    assert!(verdict.contains(ui.pass_fail(passed)), "{verdict}");
    assert!(
        verdict.contains(&format!(
            "--fail-on {}",
            report["verdict"]["fail_on"].as_str().unwrap()
        )),
        "{verdict}"
    );
    let facts = between(dom, "<dl class=\"facts\">", "</dl>");
    assert!(
        facts.contains(report["claimwatch_version"].as_str().unwrap()),
        "{facts}"
    );
    let generated = report["generated_at"].as_str().unwrap();
    assert!(facts.contains(&generated[..10]), "{facts}");
    for model in report["models"].as_array().unwrap() {
        let path = model["path"].as_str().unwrap();
        assert_eq!(model["sha256"], sha256sum(path).as_str(), "{path}");
        assert!(facts.contains(model["sha256"].as_str().unwrap()), "{facts}");
        assert!(
            facts.contains(Path::new(path).file_name().unwrap().to_str().unwrap()),
            "{facts}"
        );
    }
    // Every pack loaded is named with its hash; every pack file in rules/ was loaded.
    let packs = report["rule_packs"].as_array().unwrap();
    let in_rules = std::fs::read_dir(common::repo().join("rules"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    assert_eq!(packs.len(), in_rules, "{packs:#?}");
    for pack in packs {
        let file = pack["file"].as_str().unwrap();
        assert_eq!(pack["sha256"], sha256sum(file).as_str(), "{file}");
        assert!(
            facts.contains(&pack["sha256"].as_str().unwrap()[..12]),
            "{file}: {facts}"
        );
    }
    match report["declared_origin"]["code"].as_str() {
        Some(code) => assert!(facts.contains(&format!("({code})")), "{facts}"),
        None => {
            let warning = between(dom, "id=\"no-origin\"", "</span>");
            assert!(warning.contains("--origin"), "{warning}");
        }
    }

    // Counts: each severity and category in words with its count from the data.
    let by_severity = between(dom, "id=\"counts-severity\"", "</table>");
    for s in SEVERITIES {
        let n = &report["counts"]["by_severity"][s.as_str()];
        let row = format!("{}</td><td class=\"n\">{n}</td>", ui.severity(s));
        assert!(by_severity.contains(&row), "{row} not in {by_severity}");
    }
    let by_category = between(dom, "id=\"counts-category\"", "</table>");
    for c in Category::ALL {
        let n = &report["counts"]["by_category"][c.as_str()];
        let row = format!("<td>{}</td><td class=\"n\">{n}</td>", ui.category(c));
        assert!(by_category.contains(&row), "{row} not in {by_category}");
    }

    // A numbered card and a marker with the same number per alert of the data, in words.
    let file = &report["files"][0];
    let alerts = file["alerts"].as_array().unwrap();
    assert_eq!(report["counts"]["total"], alerts.len());
    assert_eq!(
        dom.matches("<li class=\"alert ").count(),
        alerts.len(),
        "{dom}"
    );
    let timeline = between(dom, "<div class=\"timeline\"", "<div class=\"axis\">");
    for (i, alert) in alerts.iter().enumerate() {
        let id = alert["id"].as_str().unwrap();
        let (sev, cat) = (
            alert["severity"].as_str().unwrap(),
            alert["category"].as_str().unwrap(),
        );
        let card = card(dom, 0, id);
        for shown in [
            format!("<span class=\"num {sev}\">{}</span>", i + 1),
            format!(
                "<span class=\"badge {sev}\">{}</span>",
                ui.severity(severity(sev))
            ),
            format!("<span class=\"cat\">{}</span>", ui.category(category(cat))),
            format!(
                "<mark class=\"{sev}\">{}</mark>",
                escape(alert["text"].as_str().unwrap())
            ),
        ] {
            assert!(card.contains(&shown), "{shown} not in {card}");
        }
        // Ids are for programs: no bare id as the text of an element.
        for bare in [format!(">{cat}<"), format!(">{sev}<")] {
            assert!(!card.contains(&bare), "{bare} shown in {card}");
        }
        let marker = between(timeline, &format!("href=\"#file-0-{id}\""), "</a>");
        assert!(marker.ends_with(&format!(">{}", i + 1)), "{marker}");
    }
    for wanted in expected_categories(sidecar) {
        assert!(
            alerts.iter().any(|a| a["category"] == wanted.as_str()),
            "{sidecar}: no {wanted} card"
        );
    }

    // The axis is labelled mm:ss from 00:00 to the end; the legend names every severity.
    let axis = between(dom, "<div class=\"axis\">", "</div>");
    let duration = file["duration_s"].as_f64().unwrap();
    let ticks: Vec<&str> = axis
        .split("</span>")
        .filter_map(|t| t.rsplit('>').next())
        .filter(|t| !t.is_empty())
        .collect();
    assert_eq!(ticks.first(), Some(&"00:00"), "{axis}");
    assert!(ticks.len() >= 4, "{axis}");
    let last = ticks.last().unwrap();
    let (m, s) = last.split_once(':').unwrap();
    let last_s: f64 = m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap();
    assert!(
        last_s <= duration && duration - last_s < duration / 3.0,
        "{ticks:?} for {duration} s"
    );
    let legend = between(dom, "<div class=\"legend\">", "</div>");
    for s in SEVERITIES {
        assert!(legend.contains(ui.severity(s)), "{legend}");
    }
}

/// Japanese audio gets a Japanese page that opens with the failing verdict, says everything in
/// words, prints to a PDF with the Japanese glyphs embedded, and looks like a report.
#[test]
fn japanese_report_opens_with_the_verdict_in_japanese_and_prints() {
    let dir = artefacts();
    let out = dir.join("ja_demo.html");
    let output = claimwatch(&[
        "audit",
        "samples/ja_demo.wav",
        "--origin",
        "CN",
        "--format",
        "html",
        "--out",
        out.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&out).unwrap();
    let report = report_data(&html);
    // The exit code and the page's verdict are the same judgement.
    let failing = report["verdict"]["failing"].as_u64().unwrap();
    assert_eq!(
        output.status.code(),
        Some((failing > 0) as i32),
        "{output:?}"
    );
    assert_eq!(report["verdict"]["result"], "fail");
    assert_eq!(report["ui_language"], "ja");
    assert_eq!(report["declared_origin"]["code"], "CN");

    let dom = browser::dump_dom(&out, "");
    check_page(&dom, &report, Ui::Ja, "ja_demo");
    assert!(dom.contains("不合格") && dom.contains("中国 (CN)"), "{dom}");

    let shot = browser::screenshot(&out, &dir.join("ja_demo.png"), (1200, 2400));
    let ink = shot.count(0..2400, |[r, g, b]| r < 64 && g < 64 && b < 64);
    assert!(
        ink > 8_000,
        "{ink} dark (text) pixels: the page looks blank"
    );
    browser::assert_banner(&shot, FAIL_RED);
    // Below the banner, a critical alert's marker, number, badge and border are drawn in the
    // critical colour (ja_demo's false origin is one).
    if report["counts"]["by_severity"]["critical"].as_u64() > Some(0) {
        let below = shot.count(150..2400, near(FAIL_RED));
        assert!(below > 500, "{below} critical-red pixels below the banner");
    }

    // Printed: a PDF of a few pages whose Japanese text was set in a Japanese font (no font
    // with the glyphs, nothing to embed), titled with the page's Japanese title.
    let pdf = browser::print_to_pdf(&out, &dir.join("ja_demo.pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&pdf);
    let pages: usize = text
        .split("/Count ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .expect("page count");
    assert!((1..=10).contains(&pages), "{pages} pages");
    assert!(
        text.contains("IPAGothic") || text.contains("IPAPGothic") || text.contains("CJK"),
        "no Japanese font in the PDF"
    );
    let title: String = "監査レポート"
        .encode_utf16()
        .map(|u| format!("{u:04X}"))
        .collect();
    assert!(text.contains(&title), "PDF title lacks {title}");
}

/// English audio without `--origin`: an English page that passes the default gate (pricing
/// alerts are low) in the passing colour and warns that origin claims were not checked; `--ui ja`
/// turns the same report Japanese.
#[test]
fn english_report_passes_and_warns_without_origin() {
    let dir = artefacts();
    for (ui, name) in [
        (Ui::En, "en_pricing.html"),
        (Ui::Ja, "en_pricing.ui-ja.html"),
    ] {
        let out = dir.join(name);
        let mut args = vec![
            "audit",
            "samples/en_pricing.wav",
            "--lang",
            "en",
            "--format",
            "html",
            "--out",
            out.to_str().unwrap(),
        ];
        if ui == Ui::Ja {
            args.extend(["--ui", "ja"]);
        }
        let output = claimwatch(&args);
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let html = std::fs::read_to_string(&out).unwrap();
        let report = report_data(&html);
        assert_eq!(report["verdict"]["result"], "pass");
        assert_eq!(report["declared_origin"], Value::Null);
        let dom = browser::dump_dom(&out, "");
        check_page(&dom, &report, ui, "en_pricing");
        let shot =
            browser::screenshot(&out, &dir.join(name.replace(".html", ".png")), (1200, 1400));
        browser::assert_banner(&shot, PASS_GREEN);
        // The claim's context is English, quoted in English.
        let first = card(&dom, 0, "a1");
        assert!(first.contains('“') && first.contains('”'), "{first}");
    }
}

/// The table opens with the same facts in a few lines: verdict at the gate, counts in words,
/// the declared origin or a warning, date, version, model and packs with their hashes.
#[test]
fn table_report_opens_with_the_verdict_and_the_facts() {
    let model_sha = sha256sum("models/ggml-tiny.en-q8_0.bin");
    // (extra arguments, exit code, verdict, origin line)
    let cases: [(&[&str], i32, &str, &str); 2] = [
        (
            &[],
            0,
            "PASS: No alert at Medium or above",
            "⚠ Declared origin: None given (--origin)",
        ),
        (
            &["--origin", "CN", "--fail-on", "low"],
            1,
            "FAIL: ",
            "Declared origin: China (CN)",
        ),
    ];
    for (extra, code, verdict, origin) in cases {
        let mut args = vec!["audit", "samples/en_pricing.wav", "--lang", "en"];
        args.extend(extra);
        let output = claimwatch(&args);
        assert_eq!(output.status.code(), Some(code), "{output:?}");
        let table = stdout(&output);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with(verdict), "{table}");
        let fail_on = if extra.contains(&"low") {
            "low"
        } else {
            "medium"
        };
        assert!(
            lines[0].ends_with(&format!("[--fail-on {fail_on}]")),
            "{table}"
        );
        // The count is Whisper's: compare it with the alert lines printed below.
        let alerts = lines
            .iter()
            .filter(|l| {
                l.starts_with("  ")
                    && l.split_whitespace()
                        .nth(1)
                        .and_then(Severity::parse)
                        .is_some()
            })
            .count();
        assert!(alerts > 0, "{table}");
        assert!(
            lines[1].starts_with(&format!("{alerts} alert(s) in 1 file(s): "))
                && lines[1].contains("Pricing or scarcity claim"),
            "{table}"
        );
        assert!(lines[2].starts_with(origin), "{table}");
        assert!(
            lines[3].contains(&format!("claimwatch version {}", env!("CARGO_PKG_VERSION")))
                && lines[3].contains(&format!(
                    "models/ggml-tiny.en-q8_0.bin (sha256 {})",
                    &model_sha[..12]
                )),
            "{table}"
        );
        for pack in std::fs::read_dir(common::repo().join("rules")).unwrap() {
            let path = pack.unwrap().path();
            if path.extension().is_some_and(|x| x == "toml") {
                let rel = format!("rules/{}", path.file_name().unwrap().to_str().unwrap());
                assert!(lines[4].contains(&sha256sum(&rel)[..12]), "{rel}: {table}");
            }
        }
        // Then a blank line and the file's block, as before.
        assert_eq!(lines[5], "", "{table}");
        assert!(
            lines[6].starts_with("samples/en_pricing.wav  (en, "),
            "{table}"
        );
    }
}

/// `--format csv`: a file Excel opens (BOM), one row per alert with the same alerts as the JSON
/// report of the same run, Japanese text intact.
#[test]
fn csv_report_has_a_row_per_alert_for_a_spreadsheet() {
    let args = [
        "audit",
        "samples/ja_origin_false.wav",
        "--origin",
        "CN",
        "--format",
        "csv",
        "--fail-on",
        "never",
    ];
    let output = claimwatch(&args);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(output.stdout.starts_with(b"\xEF\xBB\xBF"), "no BOM");
    let mut reader = csv::Reader::from_reader(&output.stdout[3..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, claimwatch::audit::spreadsheet::columns());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // 日本製 and 国産 said of a product declared CN (the sidecar's claims).
    let origin_rows: Vec<&csv::StringRecord> =
        rows.iter().filter(|r| &r[4] == "false_origin").collect();
    assert!(!origin_rows.is_empty(), "{rows:?}");
    for row in &rows {
        assert_eq!(&row[0], "samples/ja_origin_false.wav");
        assert_eq!(&row[15], "ja");
        assert!(row[2].parse::<f64>().is_ok(), "{row:?}");
    }
    assert!(
        origin_rows.iter().all(|r| &r[9] == "CN" && &r[10] == "JP"),
        "{origin_rows:?}"
    );
    assert!(
        origin_rows.iter().any(|r| r[11].contains("景品表示法")),
        "{origin_rows:?}"
    );
}
