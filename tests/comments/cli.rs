//! `claimwatch detect --comments`, run as the built binary: JSON Lines in, numbered and escalated
//! comment alerts out; a bad line is `file:line: message` and exit 2.

use std::process::Output;

use crate::common::repo;

/// The binary with `stdin` as its input (the detect CLI tests' runner).
fn claimwatch(args: &[&str], stdin: &str) -> Output {
    crate::detect::cli::claimwatch(args, Some(stdin))
}

const CHAT: &str = r#"{"id":"m1","user":"troll","text":"ブス","at":"2026-11-29T13:00:00+09:00"}
{"id":"m2","user":"fan","text":"かわいい！"}
{"id":"m3","user":"troll","text":"ブスすぎ","at":"2026-11-29T04:01:00Z"}
{"id":"m4","user":"troll","text":"ブ ス","at":"2026-11-29T04:02:00Z"}
{"id":"m5","user":"spam","text":"DM me for 50% off bit.ly/xx"}
{"id":"m6","user":"troll","text":"ブス","at":"2026-11-29T04:20:00Z"}
{"id":"s1","user":"shop","text":"このクリームでシミが消えます","from_seller":true}
"#;

#[test]
fn comments_json_numbered_and_escalated() {
    let out = claimwatch(
        &[
            "detect",
            "--comments",
            "--format",
            "json",
            "--fail-on",
            "never",
        ],
        CHAT,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    let a = v["alerts"].as_array().unwrap();
    let brief: Vec<(String, String, u64, String, u64)> = a
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                a["category"].as_str().unwrap().to_string(),
                a["line"].as_u64().unwrap(),
                a["severity"].as_str().unwrap().to_string(),
                a["comment"]["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let s = |x: &str| x.to_string();
    assert_eq!(
        brief,
        [
            // m1, m3, m4 of one user within ten minutes: one alert, counted 3, one step up.
            (s("c1"), s("abuse"), 1, s("critical"), 3),
            (s("c2"), s("scam"), 5, s("high"), 1),
            // Twenty minutes after the first: a new alert.
            (s("c3"), s("abuse"), 6, s("high"), 1),
            // The seller's text through the claims packs.
            (s("c4"), s("efficacy"), 7, s("high"), 1),
        ]
    );
    assert_eq!(a[0]["source"], "comment");
    assert_eq!(a[0]["comment"]["id"], "m1");
    assert_eq!(a[0]["text"], "ブス");
    assert_eq!(a[3]["comment"]["from_seller"], true);
}

#[test]
fn comments_table_and_gate() {
    let out = claimwatch(&["detect", "--comments"], CHAT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("id "), "{stdout}");
    assert!(stdout.contains("ja-abuse-insult"), "{stdout}");
    // Critical (the escalated abuse) fails the default gate.
    assert_eq!(out.status.code(), Some(1), "{stdout}");
}

#[test]
fn bad_line_is_file_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chat.jsonl");
    std::fs::write(
        &file,
        "{\"id\":\"1\",\"user\":\"u\",\"text\":\"hi\"}\n{\"id\":\"2\",\"user\":\"u\",\"txt\":\"x\"}\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = claimwatch(&["detect", "--comments", f], "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(&format!("{f}:2: unknown field `txt`")),
        "{err}"
    );
    let out = claimwatch(&["detect", "--comments"], "not json\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("<stdin>:1: "), "{err}");
}

#[test]
fn rules_check_covers_comment_packs() {
    // The real claims packs, and a comment pack with a typo on line 7.
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(repo().join("rules")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::create_dir(dir.path().join("comments")).unwrap();
    std::fs::write(
        dir.path().join("comments/ja.toml"),
        "[pack]\nlang = \"ja\"\n\n[[rule]]\nid = \"x\"\ncategory = \"abuse\"\npatern = [\"ブス\"]\n\
         legal_basis = \"l\"\nexplanation = \"e\"\nsuggestion = \"s\"\n",
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    let out = claimwatch(&["rules", "check", d], "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{d}/comments/ja.toml:7: unknown field `patern`")),
        "{err}"
    );
    let out = claimwatch(&["rules", "check"], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("rules/comments: ok: 2 comment packs"),
        "{stdout}"
    );
}
