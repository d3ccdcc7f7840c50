//! The `claimwatch detect` and `claimwatch rules check` commands, run as the built binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common::{data, repo};
use crate::source::bounded::{join_within, wait_within};

pub(crate) fn claimwatch(args: &[&str], stdin: Option<&str>) -> Output {
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

/// The alerts of a `--format json` run that passed or failed the gate (not an error).
fn alerts(out: &Output) -> Vec<serde_json::Value> {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{err}");
    assert!(err.contains("claimwatch: exit "), "{err}");
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
            "--format",
            "json",
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
        &[
            "detect",
            "--origin",
            "jp",
            "--format",
            "json",
            "--text",
            "これは日本製です。"
        ],
        None
    ))
    .is_empty());
    let a = alerts(&claimwatch(
        &["detect", "--format", "json", "--text", "これは日本製です。"],
        None,
    ));
    assert_eq!(a[0]["category"], "origin_claim");
}

#[test]
fn detect_reads_stdin_and_prints_a_table() {
    let out = claimwatch(
        &[
            "detect",
            "--lang",
            "en",
            "--format",
            "table",
            "--fail-on",
            "never",
        ],
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

/// The gate: exit 1 at or above `--fail-on` (default medium: what is unlawful as said), with one
/// stderr line saying why; line numbers on every alert; JSON Lines; a reader that goes away early
/// ends the run quietly.
#[test]
fn detect_gates_numbers_lines_and_streams() {
    let input =
        "Welcome back, everyone!\nThis serum cures acne.\nThis price is only for tonight.\n";
    // (args, exit code, stderr line)
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["detect", "--lang", "en"],
            1,
            "claimwatch: exit 1: 1 alert at --fail-on medium or above (worst: high)",
        ),
        (
            &["detect", "--lang", "en", "--fail-on", "critical"],
            0,
            "claimwatch: exit 0: no alert at --fail-on critical or above; 2 alerts below it",
        ),
        (
            &["detect", "--lang", "en", "--fail-on", "low"],
            1,
            "claimwatch: exit 1: 2 alerts at --fail-on low or above (worst: high)",
        ),
        (
            &["detect", "--lang", "en", "--fail-on", "never"],
            0,
            "claimwatch: exit 0: 2 alerts (--fail-on never)",
        ),
    ];
    for (args, code, says) in cases {
        let args = [*args, &["--format", "json"]].concat();
        let out = claimwatch(&args, Some(input));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {err}");
        assert_eq!(err.trim(), *says, "{args:?}");
        let lines: Vec<u64> = alerts(&out)
            .iter()
            .map(|a| a["line"].as_u64().unwrap())
            .collect();
        assert_eq!(lines, [2, 3], "{args:?}");
    }
    let out = claimwatch(
        &["detect", "--lang", "en", "--format", "jsonl"],
        Some(input),
    );
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (&rows[0]["line"], &rows[0]["category"]),
        (&2.into(), &"efficacy".into())
    );
    assert_eq!(
        (&rows[1]["line"], &rows[1]["category"]),
        (&3.into(), &"pricing".into())
    );

    // A reader that stops after one row: no panic, no error line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_claimwatch"))
        .args(["detect", "--lang", "en", "--format", "table"])
        .current_dir(repo())
        .env("CLAIMWATCH_DICT", repo().join("models/ipadic"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for _ in 0..20_000 {
            if stdin.write_all(b"This serum cures acne.\n").is_err() {
                break;
            }
        }
    });
    // The first line, read on a thread so a detect that never writes fails the test; stdout is
    // dropped when that thread ends: the reader has gone away.
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut first = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut first).unwrap();
        first
    });
    let first = join_within(reader, Duration::from_secs(60), "detect's first row");
    assert!(first.starts_with("id"), "{first}");
    join_within(writer, Duration::from_secs(60), "writing to detect's stdin");
    let out = wait_within(
        child,
        Duration::from_secs(60),
        "detect with its reader gone",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked") && !err.contains("error"), "{err}");
}

#[test]
fn detect_bad_input_is_one_line_and_exit_2() {
    for args in [
        vec!["detect", "--origin", "Narnia", "--text", "x"],
        // Two letters, but no ISO 3166-1 country.
        vec!["detect", "--origin", "XX", "--text", "x"],
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
    for (mut args, stdin, want) in cases {
        args.extend(["--format", "json"]);
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

/// README's `detect` example prints what the README shows (stdout rows and the gate's line).
#[test]
fn readme_detect_example_is_true() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut lines = readme
        .lines()
        .skip_while(|l| !l.contains("$ echo ") || !l.contains("claimwatch detect"));
    let command = lines.next().expect("the detect example in README.md");
    let shown: Vec<&str> = lines
        .take_while(|l| l.starts_with("    "))
        .map(str::trim)
        .collect();
    let text = command
        .split('"')
        .nth(1)
        .expect("the example echoes a quoted line");
    // The default format is the table.
    let out = claimwatch(&["detect", "--origin", "CN"], Some(&format!("{text}\n")));
    assert!(
        command.ends_with("claimwatch detect --origin CN"),
        "{command}"
    );
    let mut printed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    printed.extend(
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(str::to_string),
    );
    assert_eq!(printed, shown);
}

/// Every subcommand's `--help` ends with an example to copy.
#[test]
fn every_help_has_an_example() {
    let subcommands: [&[&str]; 9] = [
        &["transcribe"],
        &["audit"],
        &["test-samples"],
        &["detect"],
        &["devices"],
        &["models"],
        &["serve"],
        &["rules"],
        &["log"],
    ];
    for sub in subcommands {
        let mut args = sub.to_vec();
        args.push("--help");
        let out = claimwatch(&args, None);
        let help = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(help.contains("Example"), "{args:?}: {help}");
        assert!(
            help.contains(&format!("claimwatch {}", sub[0])),
            "{args:?}: {help}"
        );
    }
}
