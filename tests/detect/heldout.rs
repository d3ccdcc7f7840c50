//! The held-out sentences of issue 11 (tests/data/detect/heldout_{ja,en}.tsv, and heldout2_{ja,en}.tsv
//! and heldout3_{ja,en}.tsv for item 5, rule coverage; heldout3 also for item 9; heldout4_{ja,en}.tsv
//! a fourth round): written and frozen before the detector or rule changes they exercise,
//! and never used to tune rules or matchers. Input: the files; output: precision and recall per file
//! and language over all categories (a line's raised categories against its expected ones), printed
//! with every misclassified line.
//!
//! `cargo test --test tests detect::heldout -- --nocapture` prints the table (and the misclassified
//! lines unless `CLAIMWATCH_HIDE_HELDOUT` is set, as it is while tuning). The floors below were
//! set when the files were written, before any score was seen; they guard against a collapse, not a
//! target to tune towards (the corpus test holds the 0.95 targets).

use claimwatch::detect::{Category, Detector, Lang};

use super::corpus::{fmt_cats, load_corpus, rules_dir, Score};
use crate::common::{data, repo};

const MIN_LINES: usize = 50;
/// (file stem, language, precision floor, recall floor). heldout2's floors were set with the file,
/// before it was ever scored. heldout3's are its first score (the rules before the changes it
/// measures: ja P 0.971 R 0.786, en P 0.861 R 0.756), rounded down to 0.05.
/// heldout4's were set with the file, before it was ever scored, as collapse guards.
const SETS: [(&str, Lang, f64, f64); 8] = [
    ("heldout", Lang::Ja, 0.80, 0.50),
    ("heldout", Lang::En, 0.80, 0.50),
    ("heldout2", Lang::Ja, 0.80, 0.30),
    ("heldout2", Lang::En, 0.80, 0.30),
    ("heldout3", Lang::Ja, 0.95, 0.75),
    ("heldout3", Lang::En, 0.85, 0.75),
    ("heldout4", Lang::Ja, 0.80, 0.50),
    ("heldout4", Lang::En, 0.80, 0.50),
];

#[test]
fn heldout_scores() {
    let det = Detector::load(&rules_dir(), &repo().join("models/ipadic"))
        .unwrap_or_else(|e| panic!("loading rules/ and models/ipadic: {e:#}"));
    let mut report = String::new();
    let mut failures = Vec::new();
    for (stem, lang, floor_precision, floor_recall) in SETS {
        let file = format!("detect/{stem}_{}.tsv", lang.as_str());
        let lines = load_corpus(&data(&file));
        assert!(lines.len() >= MIN_LINES, "{file}: {} lines", lines.len());
        // Pooled over categories: every (line, category) pair is one decision.
        let mut sc = Score::default();
        for line in &lines {
            let got: std::collections::BTreeSet<Category> = det
                .detect_text(&line.text, lang, line.origin.as_deref())
                .iter()
                .map(|a| a.category)
                .collect();
            for cat in Category::ALL {
                let (exp, hit) = (line.expected.contains(&cat), got.contains(&cat));
                sc.pos += exp as usize;
                sc.tp += (exp && hit) as usize;
                sc.fp += (!exp && hit) as usize;
                sc.fn_ += (exp && !hit) as usize;
            }
            if got != line.expected {
                report.push_str(&format!(
                    "  {file}:{} want {} got {}  {}\n",
                    line.lineno,
                    fmt_cats(&line.expected),
                    fmt_cats(&got),
                    line.text
                ));
            }
        }
        println!(
            "{stem} {}: {} lines, pos {} tp {} fp {} fn {}, P {:.3} R {:.3}",
            lang.as_str(),
            lines.len(),
            sc.pos,
            sc.tp,
            sc.fp,
            sc.fn_,
            sc.precision(),
            sc.recall()
        );
        if sc.precision() < floor_precision || sc.recall() < floor_recall {
            failures.push(format!(
                "{stem} {}: P {:.3} R {:.3}",
                lang.as_str(),
                sc.precision(),
                sc.recall()
            ));
        }
    }
    // CLAIMWATCH_HIDE_HELDOUT=1 while tuning: the scores, never which lines failed.
    if std::env::var_os("CLAIMWATCH_HIDE_HELDOUT").is_none() {
        println!("misclassified held-out lines:\n{report}");
    }
    assert!(failures.is_empty(), "held-out below floor: {failures:?}");
}
