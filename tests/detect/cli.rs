//! The `claimwatch detect` and `claimwatch rules check` commands, run as the built binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::common::{data, repo};

fn claimwatch(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_claimwatch"))
        .args(args)
        .current_dir(repo())
        .env("CLAIMWATCH_DICT", repo().join("models/ipadic"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run claimwatch");
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn alerts(out: &Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    v["alerts"].as_array().expect("alerts array").clone()
}

#[test]
fn detect_json_with_declared_origin() {
    let out = claimwatch(
        &[
            "detect",
            "--lang",
            "ja",
            "--origin",
            "CN",
            "--text",
            "これは日本製です。",
        ],
        None,
    );
    let a = alerts(&out);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0]["category"], "false_origin");
    assert_eq!(a[0]["severity"], "critical");
    assert_eq!(a[0]["spoken_origin"], "JP");
    assert_eq!(a[0]["declared_origin"], "CN");
    assert_eq!(a[0]["text"], "日本製");
    assert!(a[0]["start_s"].is_null() && a[0]["end_s"].is_null());
    // A matching origin raises nothing; no origin makes it an unverified claim.
    assert!(alerts(&claimwatch(
        &["detect", "--origin", "jp", "--text", "これは日本製です。"],
        None
    ))
    .is_empty());
    let a = alerts(&claimwatch(
        &["detect", "--text", "これは日本製です。"],
        None,
    ));
    assert_eq!(a[0]["category"], "origin_claim");
}

#[test]
fn detect_reads_stdin_and_prints_a_table() {
    let out = claimwatch(
        &["detect", "--lang", "en", "--format", "table"],
        Some("This serum cures acne.\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("efficacy") && table.contains("cures acne"),
        "{table}"
    );
    let out = claimwatch(
        &["detect", "--format", "table"],
        Some("Hello everyone, welcome!\n"),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no alerts");
}

#[test]
fn detect_bad_input_is_one_line_and_exit_2() {
    for args in [
        vec!["detect", "--origin", "Narnia", "--text", "x"],
        vec![
            "detect",
            "--rules",
            "tests/data/detect/bad_packs",
            "--text",
            "x",
        ],
        vec!["detect", "--rules", "no/such/dir", "--text", "x"],
    ] {
        let out = claimwatch(&args, None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("claimwatch: error: "), "{err}");
    }
}

#[test]
fn rules_check_reports_every_error() {
    let out = claimwatch(&["rules", "check", "tests/data/detect/bad_packs"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tests/data/detect/bad_packs/rules_ja.toml:25: unknown category"),
        "{err}"
    );
    assert!(
        err.contains("tests/data/detect/bad_packs/syntax.toml:3: "),
        "{err}"
    );
    assert!(err.contains("12 errors"), "{err}");
    let out = claimwatch(&["rules", "check"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
    let _ = data("detect/packs");
}

/// Issue 11's command lines: (args, stdin, expected (category, lang) pairs in order).
#[test]
fn detect_issue_11_command_lines() {
    type Case<'a> = (Vec<&'a str>, Option<&'a str>, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (
            vec![
                "detect",
                "--lang",
                "en",
                "--text",
                "This price is only for tonight, so order before the stream ends.",
            ],
            None,
            vec![("pricing", "en")],
        ),
        (
            vec![
                "detect",
                "--lang",
                "en",
                "--origin",
                "CN",
                "--text",
                "Designed in Japan, made in China.",
            ],
            None,
            vec![],
        ),
        (
            vec![
                "detect",
                "--lang",
                "ja",
                "--origin",
                "CN",
                "--text",
                "デザインは日本、製造は中国です",
            ],
            None,
            vec![],
        ),
        // --lang auto decides per line: the English claim after a Japanese line is still found.
        (
            vec!["detect", "--origin", "CN"],
            Some("こんばんは、これは日本製です。\nIt cures acne in a week.\n"),
            vec![("false_origin", "ja"), ("efficacy", "en")],
        ),
    ];
    for (args, stdin, want) in cases {
        let got: Vec<(String, String)> = alerts(&claimwatch(&args, stdin))
            .iter()
            .map(|a| {
                (
                    a["category"].as_str().unwrap_or("").to_string(),
                    a["lang"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(c, l)| (c.to_string(), l.to_string()))
            .collect();
        assert_eq!(got, want, "{args:?} {stdin:?}");
    }
}
