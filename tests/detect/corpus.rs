//! The labeled corpus (tests/data/detect/corpus_{ja,en}.tsv) against the rule packs in rules/:
//! per-category precision and recall, per language, asserted ≥ 0.95.
//!
//! `cargo test --test tests detect::corpus -- --nocapture` prints the score table and every
//! misclassified line. Lines whose note contains `heldout` were written after the rest and are not
//! used to tune the rules; they are scored separately too (and counted in the assertion). Set
//! `CLAIMWATCH_HIDE_HELDOUT=1` to keep their misclassifications out of the listing while tuning.

use std::collections::BTreeSet;
use std::path::Path;

use claimwatch::detect::{Alert, Category, Detector, Lang};

use crate::common::{data, repo};

/// rules/, or `$CLAIMWATCH_RULES_SCORED` to score another rules folder (BENCHMARKS.md measures each
/// lever of issue 11 that way, on copies of rules/ with that lever switched off).
pub(super) fn rules_dir() -> std::path::PathBuf {
    std::env::var_os("CLAIMWATCH_RULES_SCORED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo().join("rules"))
}

const MIN_PRECISION: f64 = 0.95;
const MIN_RECALL: f64 = 0.95;
const MIN_LINES_PER_LANG: usize = 300;

pub(super) struct Line {
    pub(super) lineno: usize,
    pub(super) expected: BTreeSet<Category>,
    pub(super) origin: Option<String>,
    pub(super) text: String,
    pub(super) note: String,
}

impl Line {
    fn heldout(&self) -> bool {
        self.note.contains("heldout")
    }
}

pub(super) fn load_corpus(path: &Path) -> Vec<Line> {
    let body = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = Vec::new();
    for (i, raw) in body.lines().enumerate() {
        let lineno = i + 1;
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = raw.split('\t').collect();
        assert!(
            cols.len() == 3 || cols.len() == 4,
            "{}:{lineno}: want expected<TAB>origin<TAB>text<TAB>note, got {} columns",
            path.display(),
            cols.len()
        );
        let expected = if cols[0] == "-" {
            BTreeSet::new()
        } else {
            cols[0]
                .split(',')
                .map(|c| {
                    Category::parse(c.trim()).unwrap_or_else(|| {
                        panic!("{}:{lineno}: unknown category {c:?}", path.display())
                    })
                })
                .collect()
        };
        let origin = match cols[1].trim() {
            "-" | "" => None,
            code => {
                assert!(
                    code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()),
                    "{}:{lineno}: origin must be an ISO 3166 alpha-2 code or '-', got {code:?}",
                    path.display()
                );
                Some(code.to_string())
            }
        };
        if expected.contains(&Category::FalseOrigin) {
            assert!(
                origin.is_some(),
                "{}:{lineno}: false_origin needs a declared origin",
                path.display()
            );
        }
        if expected.contains(&Category::OriginClaim) {
            assert!(
                origin.is_none(),
                "{}:{lineno}: origin_claim needs origin '-'",
                path.display()
            );
        }
        lines.push(Line {
            lineno,
            expected,
            origin,
            text: cols[2].to_string(),
            note: cols.get(3).map(|s| s.to_string()).unwrap_or_default(),
        });
    }
    lines
}

#[derive(Default, Clone, Copy)]
pub(super) struct Score {
    pub(super) pos: usize,
    pub(super) tp: usize,
    pub(super) fp: usize,
    pub(super) fn_: usize,
}

impl Score {
    pub(super) fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    pub(super) fn recall(&self) -> f64 {
        if self.pos == 0 {
            1.0
        } else {
            self.tp as f64 / self.pos as f64
        }
    }
}

/// What one line raised, checked for the fields every alert must carry.
fn raised(alerts: &[Alert], line: &Line, file: &str) -> BTreeSet<Category> {
    for a in alerts {
        let at = format!("{file}:{} rule {}", line.lineno, a.rule);
        assert!(!a.legal_basis.trim().is_empty(), "{at}: empty legal_basis");
        assert!(!a.explanation.trim().is_empty(), "{at}: empty explanation");
        assert!(!a.suggestion.trim().is_empty(), "{at}: empty suggestion");
        assert!(!a.text.is_empty(), "{at}: empty matched text");
        assert!(
            a.start_s.is_none() && a.end_s.is_none(),
            "{at}: plain text has no times"
        );
        match a.category {
            Category::FalseOrigin => {
                assert!(
                    a.spoken_origin.is_some(),
                    "{at}: false_origin without spoken_origin"
                );
                assert_eq!(a.declared_origin, line.origin, "{at}: declared_origin");
                assert_ne!(a.spoken_origin, a.declared_origin, "{at}: origin matches");
            }
            Category::OriginClaim => {
                assert!(
                    a.spoken_origin.is_some(),
                    "{at}: origin_claim without spoken_origin"
                );
            }
            _ => {}
        }
    }
    alerts.iter().map(|a| a.category).collect()
}

pub(super) fn fmt_cats(c: &BTreeSet<Category>) -> String {
    if c.is_empty() {
        "-".to_string()
    } else {
        c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
    }
}

#[test]
fn corpus_precision_recall() {
    let det = Detector::load(&rules_dir(), &repo().join("models/ipadic"))
        .unwrap_or_else(|e| panic!("loading rules/ and models/ipadic: {e:#}"));
    let hide_heldout = std::env::var_os("CLAIMWATCH_HIDE_HELDOUT").is_some();

    let mut failures = Vec::new();
    let mut positives_anywhere: BTreeSet<Category> = BTreeSet::new();
    let mut table = String::new();
    table.push_str(&format!(
        "{:<4} {:<13} {:<8} {:>5} {:>5} {:>4} {:>4} {:>7} {:>7}\n",
        "lang", "category", "subset", "pos", "tp", "fp", "fn", "P", "R"
    ));
    let mut misses = String::new();

    for lang in [Lang::Ja, Lang::En] {
        let file = format!("detect/corpus_{}.tsv", lang.as_str());
        let lines = load_corpus(&data(&file));
        let n_heldout = lines.iter().filter(|l| l.heldout()).count();
        println!(
            "corpus {}: {} lines ({} heldout)",
            lang.as_str(),
            lines.len(),
            n_heldout
        );
        assert!(
            lines.len() >= MIN_LINES_PER_LANG,
            "{file}: {} lines, want at least {MIN_LINES_PER_LANG}",
            lines.len()
        );

        // [all, tuning, heldout] × category
        let mut scores = [[Score::default(); 5]; 3];
        let mut hidden = 0;
        for line in &lines {
            let alerts = det.detect_text(&line.text, lang, line.origin.as_deref());
            let got = raised(&alerts, line, &file);
            let subsets: [usize; 2] = [0, if line.heldout() { 2 } else { 1 }];
            for (ci, cat) in Category::ALL.into_iter().enumerate() {
                let exp = line.expected.contains(&cat);
                let hit = got.contains(&cat);
                for &s in &subsets {
                    let sc = &mut scores[s][ci];
                    sc.pos += exp as usize;
                    sc.tp += (exp && hit) as usize;
                    sc.fp += (!exp && hit) as usize;
                    sc.fn_ += (exp && !hit) as usize;
                }
            }
            if got != line.expected {
                if hide_heldout && line.heldout() {
                    hidden += 1;
                    continue;
                }
                let detail: Vec<String> = alerts
                    .iter()
                    .map(|a| format!("{}:{}「{}」", a.category, a.rule, a.text))
                    .collect();
                misses.push_str(&format!(
                    "  {file}:{:<4} want {:<22} got {:<22} origin {:<2} {}  [{}] {}\n",
                    line.lineno,
                    fmt_cats(&line.expected),
                    fmt_cats(&got),
                    line.origin.as_deref().unwrap_or("-"),
                    line.text,
                    line.note,
                    detail.join(" ")
                ));
            }
        }
        if hidden > 0 {
            misses.push_str(&format!(
                "  {file}: {hidden} heldout line(s) misclassified (hidden by CLAIMWATCH_HIDE_HELDOUT)\n"
            ));
        }

        for (ci, cat) in Category::ALL.into_iter().enumerate() {
            for (si, subset) in ["all", "tuning", "heldout"].into_iter().enumerate() {
                let sc = scores[si][ci];
                if sc.pos == 0 && sc.fp == 0 {
                    continue;
                }
                table.push_str(&format!(
                    "{:<4} {:<13} {:<8} {:>5} {:>5} {:>4} {:>4} {:>7.3} {:>7.3}\n",
                    lang.as_str(),
                    cat.as_str(),
                    subset,
                    sc.pos,
                    sc.tp,
                    sc.fp,
                    sc.fn_,
                    sc.precision(),
                    sc.recall()
                ));
            }
            let all = scores[0][ci];
            if all.pos == 0 {
                continue;
            }
            positives_anywhere.insert(cat);
            if all.precision() < MIN_PRECISION || all.recall() < MIN_RECALL {
                failures.push(format!(
                    "{} {}: precision {:.3}, recall {:.3} (want ≥ {MIN_PRECISION} and ≥ {MIN_RECALL})",
                    lang.as_str(),
                    cat.as_str(),
                    all.precision(),
                    all.recall()
                ));
            }
        }
    }

    println!("\n{table}");
    if misses.is_empty() {
        println!("no misclassified lines");
    } else {
        println!("misclassified lines:\n{misses}");
    }

    for cat in Category::ALL {
        assert!(
            positives_anywhere.contains(&cat),
            "category {} has no positives in any language",
            cat.as_str()
        );
    }
    assert!(
        failures.is_empty(),
        "corpus below target:\n{}",
        failures.join("\n")
    );
}

/// Every corpus line split into two transcript segments (at the middle, on a space in English)
/// raises the same categories through `DetectorStream` as the whole line through `detect_text`:
/// the rules must not depend on segment boundaries.
#[test]
fn corpus_split_into_segments_matches_whole_lines() {
    use claimwatch::detect::Utterance;

    let det = Detector::load(&rules_dir(), &repo().join("models/ipadic"))
        .unwrap_or_else(|e| panic!("loading rules/ and models/ipadic: {e:#}"));
    let mut diffs = Vec::new();
    let mut n = 0;
    for lang in [Lang::Ja, Lang::En] {
        let file = format!("detect/corpus_{}.tsv", lang.as_str());
        for line in load_corpus(&data(&file)) {
            let chars: Vec<(usize, char)> = line.text.char_indices().collect();
            let mut cut = chars[chars.len() / 2].0;
            if lang == Lang::En {
                match line.text[..cut].rfind(' ') {
                    Some(sp) => cut = sp + 1,
                    None => continue,
                }
            }
            let (a, b) = line.text.split_at(cut);
            if a.trim().is_empty() || b.trim().is_empty() {
                continue;
            }
            n += 1;
            let whole: BTreeSet<Category> = det
                .detect_text(&line.text, lang, line.origin.as_deref())
                .iter()
                .map(|a| a.category)
                .collect();
            let mut s = det.stream(lang, line.origin.as_deref());
            let mut alerts = s.push(Utterance::new(0.0, 1.0, a));
            alerts.extend(s.push(Utterance::new(1.0, 2.0, b)));
            alerts.extend(s.finish());
            let split: BTreeSet<Category> = alerts.iter().map(|a| a.category).collect();
            if split != whole {
                diffs.push(format!(
                    "  {file}:{} whole {} split {}  「{a}」|「{b}」",
                    line.lineno,
                    fmt_cats(&whole),
                    fmt_cats(&split)
                ));
            }
        }
    }
    println!("{n} lines split into two segments, {} differ", diffs.len());
    assert!(
        diffs.is_empty(),
        "segment boundaries changed the result:\n{}",
        diffs.join("\n")
    );
}
