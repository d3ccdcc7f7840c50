//! Auditing recorded files: the `audit` command's reports and exit codes, and the regression
//! suite (`test-samples`) over every sample's `NAME.expect.toml`, with the real models.

mod promises;
mod report;
mod second_listen;

use std::process::{Command, Output};

use crate::common;

/// Guards against a hung audit, not a speed check: the slowest here (the Japanese HTML report
/// under a loaded machine) took about 2 minutes.
const AUDIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(900);

fn claimwatch(args: &[&str]) -> Output {
    let _cores = common::whisper_lock();
    crate::source::bounded::output_within(
        Command::new(env!("CARGO_BIN_EXE_claimwatch"))
            .current_dir(common::repo())
            .args(args),
        AUDIT_LIMIT,
    )
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn every_sample_meets_its_expectation() {
    let output = claimwatch(&["test-samples", "samples", "--threads", "2"]);
    let table = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{table}");
    let sidecars = std::fs::read_dir(common::repo().join("samples"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".expect.toml")
        })
        .count();
    assert!(sidecars >= 18, "{sidecars} sidecars");
    assert!(
        table.contains(&format!("{sidecars} clips, {sidecars} passed, 0 failed")),
        "{table}"
    );
    // Sidecars list every claim their scripts make; the ones lost today are marked
    // expected_miss and counted here, so a new miss cannot hide behind a new mark.
    let known_misses: usize = table
        .lines()
        .find_map(|l| {
            let (n, rest) = l.split_once(' ')?;
            rest.starts_with("known misses").then(|| n.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no known-misses line in\n{table}"));
    assert!(
        known_misses <= KNOWN_MISS_BUDGET,
        "{known_misses} known misses, budget {KNOWN_MISS_BUDGET}\n{table}"
    );
    let recall: f64 = table
        .lines()
        .find_map(|l| l.strip_prefix("pooled all: recall "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no pooled recall in\n{table}"));
    assert!(
        recall >= MIN_SAMPLES_RECALL,
        "pooled recall {recall:.3} < {MIN_SAMPLES_RECALL}\n{table}"
    );
}

/// Claims the sidecars mark `expected_miss` (lost to ASR today): en_demo's "erases dark spots"
/// and "boosts your immune system", en_music_gap's "burns fat", ja_demo's 副作用は一切ありません,
/// and ja_exaggeration's 業界ナンバーワン (caught with base q8_0, lost with f16). Lower it as
/// they are caught (残りわずか was, by near-miss readings).
const KNOWN_MISS_BUDGET: usize = 5;

/// Pooled recall over every sidecar's claims, known misses included: measured 0.911 (41/45) at
/// `--threads 1` and `2` with the q8_0 models and 0.889 (40/45) with the f16 models, on an Intel
/// Xeon with AVX-512 (BENCHMARKS.md, "Threads and model precision"). Raise it as known misses
/// are caught.
const MIN_SAMPLES_RECALL: f64 = 0.88;

#[test]
fn json_report_and_exit_codes_gate_on_severity() {
    // A false origin is critical: at or above the default --fail-on medium, so exit 1.
    let file = "samples/en_origin_false.wav";
    let output = claimwatch(&[
        "audit", file, "--lang", "en", "--origin", "CN", "--format", "json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let audited = &report["files"][0];
    assert_eq!(audited["file"], file);
    assert_eq!(audited["language"], "en");
    assert!((audited["duration_s"].as_f64().unwrap() - 9.68).abs() < 0.05);
    assert!(!audited["segments"].as_array().unwrap().is_empty());
    let alerts = audited["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["category"], "false_origin");
    assert_eq!(alerts[0]["spoken_origin"], "JP");
    assert_eq!(alerts[0]["declared_origin"], "CN");
    // "made in Japan" is said from about 6.2 s to 7.2 s.
    let (start, end) = (
        alerts[0]["start_s"].as_f64().unwrap(),
        alerts[0]["end_s"].as_f64().unwrap(),
    );
    assert!(start - 1.5 <= 6.2 && 7.2 <= end + 1.5, "{start}..{end}");
    // The header facts, for programs: the verdict the exit code gave, counts that add up to the
    // alerts, when and with what the audit ran.
    assert_eq!(report["verdict"]["result"], "fail");
    assert_eq!(report["verdict"]["fail_on"], "medium");
    assert_eq!(report["verdict"]["failing"], 1);
    assert_eq!(report["verdict"]["worst"], "critical");
    assert_eq!(report["counts"]["total"], alerts.len());
    assert_eq!(report["counts"]["by_category"]["false_origin"], 1);
    assert_eq!(report["counts"]["by_severity"]["critical"], 1);
    assert_eq!(report["declared_origin"]["code"], "CN");
    assert_eq!(report["claimwatch_version"], env!("CARGO_PKG_VERSION"));
    let generated = humantime::parse_rfc3339(report["generated_at"].as_str().unwrap()).unwrap();
    let age = std::time::SystemTime::now()
        .duration_since(generated)
        .unwrap();
    assert!(age.as_secs() < 600, "generated {age:?} ago");
    assert!(report["models"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("ggml-tiny.en-q8_0.bin"));
    assert_eq!(report["models"][0]["sha256"].as_str().unwrap().len(), 64);
    assert!(report["rule_packs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == "origin_en"));

    // The same file declared Japanese raises nothing: exit 0.
    let output = claimwatch(&[
        "audit", file, "--lang", "en", "--origin", "JP", "--format", "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["files"][0]["alerts"].as_array().unwrap().len(), 0);

    // Pricing alerts are low: below --fail-on medium, at --fail-on low.
    let file = "samples/en_pricing.wav";
    for (fail_on, code) in [("medium", 0), ("low", 1), ("never", 0)] {
        let output = claimwatch(&["audit", file, "--lang", "en", "--fail-on", fail_on]);
        assert_eq!(
            output.status.code(),
            Some(code),
            "--fail-on {fail_on}: {output:?}"
        );
        assert!(stdout(&output).contains("pricing"), "{}", stdout(&output));
    }

    // --transcript: every segment in order, each alert right under the segment it came from.
    let output = claimwatch(&["audit", file, "--lang", "en", "--transcript"]);
    let table = stdout(&output);
    let lines: Vec<&str> = table.lines().collect();
    let today = lines
        .iter()
        .position(|l| l.starts_with("  [") && l.contains("half the regular price"))
        .unwrap_or_else(|| panic!("no transcript line with the price claim:\n{table}"));
    assert!(
        lines[today + 1].contains("▲") && lines[today + 1].contains("pricing"),
        "{table}"
    );
    let segments = lines.iter().filter(|l| l.starts_with("  [")).count();
    assert!(segments >= 3, "{table}");
}

#[test]
fn html_report_is_self_contained() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let output = claimwatch(&[
        "audit",
        "samples/ja_origin_false.wav",
        "--lang",
        "ja",
        "--origin",
        "CN",
        "--format",
        "html",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(output.stdout.is_empty());
    let html = std::fs::read_to_string(&out).unwrap();
    for needle in [
        "data:audio/wav;base64,",
        "class=\"timeline\"",
        "data-category=\"false_origin\"",
        "<mark class=\"critical\">",
        "景品表示法",
    ] {
        assert!(html.contains(needle), "report lacks {needle}");
    }
    // Offline: nothing is fetched from anywhere.
    for external in ["http://", "https://", "<link", "src=\"/"] {
        assert!(!html.contains(external), "report references {external}");
    }

    // In a real browser: every alert of the embedded report data has its card on the rendered
    // page (however many Whisper's words raised), the sidecar's categories are among them, and
    // a link to an alert seeks the embedded player to the alert's time.
    let report = report_data(&html);
    let alerts = report["files"][0]["alerts"].as_array().unwrap();
    assert!(!alerts.is_empty());
    let dom = browser::dump_dom(&out, "#file-0-a1");
    for alert in alerts {
        let card = card(&dom, 0, alert["id"].as_str().unwrap());
        assert!(
            card.contains(&format!(
                "data-category=\"{}\"",
                alert["category"].as_str().unwrap()
            )),
            "{card}"
        );
    }
    let cards = dom.matches("<li class=\"alert ").count();
    assert_eq!(cards, alerts.len(), "{dom}");
    for category in promises::expected_categories("ja_origin_false") {
        assert!(
            alerts.iter().any(|a| a["category"] == category.as_str()),
            "no {category} alert: {alerts:#?}"
        );
    }
    assert!(dom.contains("class=\"alert sev-critical focus\""), "{dom}");
    let start = alert_start(&html, "file-0-a1");
    let seeked: f64 = attribute(&dom, "data-seeked-to")
        .unwrap_or_else(|| panic!("the player never seeked:\n{dom}"))
        .parse()
        .unwrap();
    assert!(
        (seeked - start).abs() < 0.05,
        "seeked to {seeked}, alert at {start}"
    );

    // The screenshot: the page is not blank, and the top of it is the verdict banner in the
    // failing colour (a false origin fails the default gate).
    let shot = browser::screenshot(&out, &dir.path().join("report.png"), (1200, 1400));
    let ink = shot.count(0..1400, |[r, g, b]| r < 64 && g < 64 && b < 64);
    assert!(
        ink > 5_000,
        "{ink} dark (text) pixels: the page looks blank"
    );
    browser::assert_banner(&shot, FAIL_RED);
}

/// The verdict banner's colours (report.css `--fail`, `--pass`).
pub(crate) const FAIL_RED: [u8; 3] = [0xb3, 0x00, 0x1b];
pub(crate) const PASS_GREEN: [u8; 3] = [0x1a, 0x7f, 0x37];

/// The report data the HTML report embeds (`#report-data`).
pub(crate) fn report_data(html: &str) -> serde_json::Value {
    let open = "<script type=\"application/json\" id=\"report-data\">";
    let from = html.find(open).expect("no embedded report data") + open.len();
    let to = from + html[from..].find("</script>").unwrap();
    serde_json::from_str(&html[from..to]).expect("embedded report data is JSON")
}

/// The HTML of alert card `file-{file}-{id}` in a rendered page.
pub(crate) fn card(dom: &str, file: usize, id: &str) -> String {
    let at = dom
        .find(&format!("id=\"file-{file}-{id}\""))
        .unwrap_or_else(|| panic!("no card for alert {id}:\n{dom}"));
    let end = at + dom[at..].find("</li>").expect("card end");
    dom[at..end].to_string()
}

/// `data-t` of the jump button inside the alert card `id`.
fn alert_start(html: &str, id: &str) -> f64 {
    let card = &html[html.find(&format!("id=\"{id}\"")).expect("alert card")..];
    attribute(card, "data-t").unwrap().parse().unwrap()
}

fn attribute<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let from = html.find(&format!("{name}=\""))? + name.len() + 2;
    html[from..].split('"').next()
}

/// Debian's headless Chromium, run on a report file. Missing Chromium fails the test: it is
/// installed by scripts/install-deps.
pub(crate) mod browser {
    use std::ops::Range;
    use std::path::Path;
    use std::process::Command;

    fn chromium(args: &[&str], profile: &Path) -> Vec<u8> {
        let profile_arg = format!("--user-data-dir={}", profile.display());
        let output = Command::new("timeout")
            .args([
                "120",
                "chromium",
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
            ])
            .args(["--no-first-run", "--hide-scrollbars", &profile_arg])
            .args(args)
            .output()
            .expect("run chromium (apt-get install chromium; see scripts/install-deps)");
        assert!(
            output.status.success(),
            "chromium failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    fn url(report: &Path, fragment: &str) -> String {
        format!(
            "file://{}{fragment}",
            report.canonicalize().unwrap().display()
        )
    }

    /// The DOM after scripts ran and the media loaded (virtual time lets it settle).
    pub fn dump_dom(report: &Path, fragment: &str) -> String {
        let profile = tempfile::tempdir().unwrap();
        let dom = chromium(
            &[
                "--virtual-time-budget=10000",
                "--dump-dom",
                &url(report, fragment),
            ],
            profile.path(),
        );
        String::from_utf8(dom).unwrap()
    }

    /// The report printed as Chromium's "Save as PDF" does (print stylesheet applied).
    pub fn print_to_pdf(report: &Path, pdf: &Path) -> Vec<u8> {
        let profile = tempfile::tempdir().unwrap();
        let pdf_arg = format!("--print-to-pdf={}", pdf.display());
        chromium(
            &["--no-pdf-header-footer", &pdf_arg, &url(report, "")],
            profile.path(),
        );
        std::fs::read(pdf).expect("chromium wrote no PDF")
    }

    pub struct Screenshot {
        pub width: usize,
        rgba: Vec<u8>,
    }

    impl Screenshot {
        /// Pixels in rows `rows` that `pick` accepts.
        pub fn count(&self, rows: Range<usize>, pick: impl Fn([u8; 3]) -> bool) -> usize {
            let stride = self.width * 4;
            let rows = rows.start * stride..(rows.end * stride).min(self.rgba.len());
            self.rgba[rows]
                .chunks_exact(4)
                .filter(|p| pick([p[0], p[1], p[2]]))
                .count()
        }
    }

    /// `color` within a few levels (antialiasing, colour management).
    pub fn near(color: [u8; 3]) -> impl Fn([u8; 3]) -> bool {
        move |p| p.iter().zip(color).all(|(a, b)| a.abs_diff(b) < 12)
    }

    /// The verdict banner opens the page: the top 150 rows are for the most part the banner
    /// in the verdict's colour (≥ 40 rows of a 1,100-pixel-wide bar), and hold none of the
    /// other verdict's colour.
    pub fn assert_banner(shot: &Screenshot, color: [u8; 3]) {
        let other = if color == super::FAIL_RED {
            super::PASS_GREEN
        } else {
            super::FAIL_RED
        };
        let banner = shot.count(0..150, near(color));
        assert!(
            banner > 40 * 1_000,
            "{banner} pixels of the verdict colour {color:?} at the top of the page"
        );
        let wrong = shot.count(0..150, near(other));
        assert!(wrong < 50, "{wrong} pixels of the other verdict's colour");
    }

    /// A `width`×`height` screenshot of the page, written to `png_path`.
    pub fn screenshot(report: &Path, png_path: &Path, (width, height): (u32, u32)) -> Screenshot {
        let profile = tempfile::tempdir().unwrap();
        let shot_arg = format!("--screenshot={}", png_path.display());
        let size_arg = format!("--window-size={width},{height}");
        chromium(&[&size_arg, &shot_arg, &url(report, "")], profile.path());
        let mut decoder = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(png_path).expect("chromium wrote no screenshot"),
        ));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
        let mut reader = decoder.read_info().unwrap();
        let mut rgba = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut rgba).unwrap();
        assert_eq!((info.width, info.height), (width, height));
        rgba.truncate(info.buffer_size());
        Screenshot {
            width: width as usize,
            rgba,
        }
    }
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.wav");
    std::fs::write(&text, "not audio at all\n").unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["audit", "no/such.wav"], "no/such.wav"),
        (&["audit", text.to_str().unwrap()], "notes.wav"),
        (
            &["audit", "samples/en_greeting.wav", "--origin", "Atlantis"],
            "Atlantis",
        ),
    ];
    for (args, names) in cases {
        let output = claimwatch(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(names), "{args:?}: {stderr}");
    }
}
