//! Bad rule packs (tests/data/detect/bad_packs/): every error is reported, each as
//! `file:line: message`, sorted by file and line, and a bad folder never loads.

use claimwatch::detect::pack::load_dir;
use claimwatch::detect::Detector;

use crate::common::{data, repo};

#[test]
fn every_error_with_its_line() {
    let dir = data("detect/bad_packs");
    let errs = load_dir(&dir).expect_err("bad packs must not load").0;
    let got: Vec<String> = errs
        .iter()
        .map(|e| {
            let name = e.file.file_name().unwrap().to_string_lossy().into_owned();
            format!("{name}:{}: {}", e.line, e.message)
        })
        .collect();
    let want: &[(&str, &str)] = &[
        (
            "countries.toml:7:",
            "country code \"jpn\" must be ISO 3166 alpha-2",
        ),
        ("lang.toml:3:", "unknown lang \"fr\""),
        ("no_pack.toml:1:", "missing [pack]"),
        (
            "origin_en.toml:12:",
            "template \"made in\" needs exactly one {country}",
        ),
        ("origin_en.toml:13:", "country `ZZ` is not in the lexicon"),
        ("rules_ja.toml:21:", "unknown field `phrasess`"),
        ("rules_ja.toml:25:", "unknown category \"medical\""),
        ("rules_ja.toml:32:", "duplicate id `ok_rule`"),
        ("rules_ja.toml:34:", "unknown severity \"urgent\""),
        ("rules_ja.toml:47:", "needs at least two term groups"),
        ("rules_ja.toml:49:", "window must be 1..=200, got 0"),
        ("syntax.toml:3:", "invalid basic string"),
    ];
    for (at, msg) in want {
        assert!(
            got.iter().any(|g| g.starts_with(at) && g.contains(msg)),
            "missing `{at} …{msg}…` in:\n{}",
            got.join("\n")
        );
    }
    assert_eq!(
        got.len(),
        want.len(),
        "unexpected errors:\n{}",
        got.join("\n")
    );
    let mut sorted = errs.clone();
    sorted.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    assert_eq!(errs, sorted, "errors sorted by file and line");
    // Display is exactly `path:line: message`.
    let first = errs[0].to_string();
    assert!(
        first.starts_with(&format!("{}:7: ", dir.join("countries.toml").display())),
        "{first}"
    );
}

#[test]
fn a_bad_folder_never_loads_a_detector() {
    let err = Detector::load(&data("detect/bad_packs"), &repo().join("models/ipadic"))
        .expect_err("must fail");
    assert!(format!("{err:#}").contains("rules_ja.toml:25: unknown category"));
    let err = load_dir(&data("detect/no_such_folder")).expect_err("missing folder");
    assert!(
        err.to_string().contains("cannot read rules folder"),
        "{err}"
    );
}

#[test]
fn shipped_and_example_packs_load() {
    for dir in [repo().join("rules"), data("detect/packs")] {
        let set = load_dir(&dir).unwrap_or_else(|e| panic!("{}:\n{e}", dir.display()));
        assert!(!set.rules.is_empty() && !set.origins.is_empty() && !set.countries.is_empty());
    }
}
