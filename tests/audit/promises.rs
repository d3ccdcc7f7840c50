//! What the README promises about `audit`, run as a user would: the main command, `--lang auto`,
//! and several files in one run with one of them missing.

use serde_json::Value;

use super::{claimwatch, stdout};
use crate::common;

/// The categories a sample's sidecar says its clip must raise (known misses left out).
pub(crate) fn expected_categories(name: &str) -> std::collections::BTreeSet<String> {
    let path = common::repo().join(format!("samples/{name}.expect.toml"));
    let expect: toml::Value = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    expect
        .get("alert")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter(|a| a.get("expected_miss").and_then(toml::Value::as_bool) != Some(true))
        .map(|a| a["category"].as_str().unwrap().to_string())
        .collect()
}

/// README "Main job": the command exits 0 (`--fail-on never`), opens with the verdict and the
/// audit's facts, heads the file's block with the file, its language and duration, shows the
/// transcript, and raises every category the clip's
/// sidecar expects, each alert under a transcript line.
#[test]
fn the_main_command_prints_what_the_readme_shows() {
    let output = claimwatch(&[
        "audit",
        "samples/ja_demo.wav",
        "--origin",
        "CN",
        "--transcript",
        "--fail-on",
        "never",
    ]);
    let table = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    // The header first (Japanese audio, Japanese words): the verdict at the gate.
    assert!(
        table.starts_with("合格: 判定基準なし（--fail-on never）"),
        "{table}"
    );
    let lines: Vec<&str> = table.lines().collect();
    let head = lines
        .iter()
        .position(|l| l.starts_with("samples/ja_demo.wav  (ja, 44.2 s,") && l.ends_with("alerts)"))
        .unwrap_or_else(|| panic!("no file line:\n{table}"));
    assert_eq!(lines[head - 1], "", "{table}");
    let transcript_lines = lines.iter().filter(|l| l.starts_with("  [")).count();
    assert!(transcript_lines >= 3, "{table}");
    let alerted: std::collections::BTreeSet<String> = lines
        .iter()
        .filter(|l| l.trim_start().starts_with('▲'))
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
        .collect();
    let want = expected_categories("ja_demo");
    assert!(want.len() >= 3, "{want:?}");
    assert!(alerted.is_superset(&want), "want {want:?}:\n{table}");
    // An alert line follows a transcript line or another alert's lines, never the file line.
    let first_alert = lines.iter().position(|l| l.trim_start().starts_with('▲'));
    assert!(first_alert.is_some_and(|i| i > head + 1), "{table}");
}

/// README: `--lang auto` (the default) detects the language per file: English speech is
/// checked with the English packs, Japanese with the Japanese ones.
#[test]
fn lang_auto_detects_each_language() {
    for (file, language) in [
        ("samples/en_origin_false.wav", "en"),
        ("samples/ja_origin_false.wav", "ja"),
    ] {
        let output = claimwatch(&["audit", file, "--origin", "CN", "--format", "json"]);
        // A false origin is critical: exit 1 at the default gate.
        assert_eq!(output.status.code(), Some(1), "{file}: {output:?}");
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        let audited = &report["files"][0];
        assert_eq!(audited["language"], language, "{file}");
        let alerts = audited["alerts"].as_array().unwrap();
        assert!(
            alerts.iter().any(|a| a["category"] == "false_origin"),
            "{file}: {alerts:#?}"
        );
    }
}

/// README: "Several files: a file that fails is reported on stderr and the others are still
/// audited." The exit code is 2 (an error beats any gate) and the last stderr line says why.
#[test]
fn several_files_one_missing_the_others_are_audited() {
    let output = claimwatch(&[
        "audit",
        "samples/en_origin_false.wav",
        "no/such.wav",
        "samples/en_greeting.wav",
        "--lang",
        "en",
        "--origin",
        "CN",
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let files: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        ["samples/en_origin_false.wav", "samples/en_greeting.wav"]
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.iter().any(|l| l.contains("no/such.wav")), "{stderr}");
    assert!(
        lines
            .last()
            .is_some_and(|l| l.contains("1 of 3 files could not be audited")),
        "{stderr}"
    );
}
