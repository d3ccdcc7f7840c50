//! Rule packs: parses every `*.toml` in a folder (format: rules/README.md) into a validated
//! [`RuleSet`], or into the full list of errors, each as `file:line: message`.
//!
//! Each `[[rule]]`, `[[origin]]` and `[[country]]` entry is deserialized on its own, so one typo does
//! not hide the errors after it; unknown keys are errors (serde `deny_unknown_fields`).
//!
//! Here: the compiled model ([`RuleSet`] and its parts) and [`load_dir`]. The serde shapes as
//! written are in `raw.rs`, reading a file and collecting its errors in `sink.rs`, and turning
//! entries into the model in `validate.rs`.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::alert::{Category, Lang, Severity};
use super::normalize::normalize_str;

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0: the problem is the file or folder itself.
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

/// Every problem found in a rules folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackErrors(pub Vec<PackError>);

impl fmt::Display for PackErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PackErrors {}

/// A co-occurrence: one term of every group within `window` normalized characters.
#[derive(Debug, Clone)]
pub struct Near {
    pub terms: Vec<Vec<String>>,
    pub window: usize,
    /// The groups must occur in the order listed (a `[[compose]]` with `order = "condition_first"`).
    pub ordered: bool,
}

/// Texts and switches common to claim rules and origin rules.
#[derive(Debug, Clone)]
pub struct RuleBase {
    pub id: String,
    pub lang: Lang,
    pub legal_basis: String,
    pub explanation: String,
    pub suggestion: String,
    /// Rule exceptions plus the pack's.
    pub except: Vec<String>,
    pub negation: bool,
    pub readings: bool,
    /// English: also match words by sound (Double Metaphone keys, [`super::phonetic`]).
    pub phonetic: bool,
    /// Japanese: also match terms one mora away ([`super::nearmiss`]).
    pub near_miss: bool,
    /// Cues that cancel a hit anywhere in its sentence (a sale that already ended), rule's and pack's.
    pub cancel: Vec<String>,
    /// Words one of which must be in the utterance before a near-miss of a two-mora term counts.
    pub context: Vec<String>,
    /// `file:line` of the rule, for messages.
    pub source: String,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub base: RuleBase,
    pub category: Category,
    pub severity: Severity,
    pub phrases: Vec<String>,
    pub near: Vec<Near>,
}

#[derive(Debug, Clone)]
pub struct OriginRule {
    pub base: RuleBase,
    pub unverified_explanation: String,
    pub templates: Vec<String>,
    /// (phrase, ISO code)
    pub fixed: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Negation {
    pub before: Vec<String>,
    pub after: Vec<String>,
    pub before_window: usize,
    pub after_window: usize,
    /// A question or a reported question around a claim ("asks if …", 「…ですか」): no claim,
    /// whatever the rule's `negation` says.
    pub question_before: Vec<String>,
    pub question_after: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Country {
    pub code: String,
    pub ja: Vec<String>,
    pub en: Vec<String>,
}

impl Country {
    pub fn names(&self, lang: Lang) -> &[String] {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }
}

/// Everything loaded from a rules folder.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub origins: Vec<OriginRule>,
    pub negation: HashMap<Lang, Negation>,
    pub countries: Vec<Country>,
    pub files: Vec<PathBuf>,
    /// Words to prime Whisper with (`[pack] vocabulary`), per language, in file order.
    pub vocabulary: HashMap<Lang, Vec<String>>,
}

pub fn default_window(lang: Lang) -> usize {
    match lang {
        Lang::Ja => 15,
        Lang::En => 40,
    }
}

fn default_neg_windows(lang: Lang) -> (usize, usize) {
    match lang {
        Lang::Ja => (6, 12),
        Lang::En => (20, 20),
    }
}

mod raw;
mod sink;
mod validate;

use sink::{parse_file, Sink};
use validate::{check_origin_codes, validate_file};

/// Loads and validates every `*.toml` in `dir` (sorted by name).
pub fn load_dir(dir: &Path) -> Result<RuleSet, PackErrors> {
    let mut errors = Vec::new();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect(),
        Err(e) => {
            return Err(PackErrors(vec![PackError {
                file: dir.to_path_buf(),
                line: 0,
                message: format!("cannot read rules folder: {e}"),
            }]))
        }
    };
    files.sort();
    if files.is_empty() {
        errors.push(PackError {
            file: dir.to_path_buf(),
            line: 0,
            message: "no rule packs (*.toml) in this folder".into(),
        });
    }
    let mut set = RuleSet::default();
    let mut pending = Vec::new();
    for file in &files {
        match std::fs::read_to_string(file) {
            Ok(src) => pending.push((file.clone(), src)),
            Err(e) => errors.push(PackError {
                file: file.clone(),
                line: 0,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    // Parse every file, then validate; cross-file checks (ids, lexicon codes) come last.
    let mut parsed = Vec::new();
    for (file, src) in &pending {
        let mut sink = Sink {
            file,
            src,
            errors: &mut errors,
        };
        parsed.push(parse_file(&mut sink));
    }
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut codes: HashMap<String, String> = HashMap::new();
    for ((file, src), file_parts) in pending.iter().zip(parsed) {
        let mut sink = Sink {
            file,
            src,
            errors: &mut errors,
        };
        validate_file(&mut sink, file_parts, &mut set, &mut ids, &mut codes);
    }
    check_origin_codes(&mut errors, &set, &pending);
    errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    set.files = files;
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(PackErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(files: &[(&str, &str)]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        match load_dir(dir.path()) {
            Ok(_) => Vec::new(),
            Err(e) => {
                e.0.iter()
                    .map(|e| {
                        format!(
                            "{}:{}: {}",
                            e.file.file_name().unwrap().to_string_lossy(),
                            e.line,
                            e.message
                        )
                    })
                    .collect()
            }
        }
    }

    #[test]
    fn example_packs_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/detect/packs");
        let set = load_dir(&dir).unwrap();
        assert_eq!(set.rules.len(), 4);
        assert_eq!(set.origins.len(), 2);
        assert_eq!(set.countries.len(), 2);
        let r = &set.rules[0];
        assert_eq!(r.base.id, "ex_en_acne");
        assert_eq!(r.severity, Severity::High);
        assert!(set.rules.iter().any(|r| !r.base.negation));
        assert_eq!(set.negation[&Lang::Ja].after_window, 12);
    }

    #[test]
    fn errors_carry_lines() {
        let pack = "[pack]\nid = \"p\"\nlang = \"ja\"\nfamily = \"f\"\n";
        let cases: &[(&str, &str)] = &[
            ("\n[[rule]]\nid = \"a\"\ncategory = \"efficacy\"\nlegal_basis = \"x\"\nexplanation = \"x\"\nsuggestion = \"x\"\nphrases = [\"a\"]\ntypo = 1\n", "p.toml:13: unknown field `typo`"),
            ("\n[[rule]]\nid = \"a\"\ncategory = \"medical\"\nlegal_basis = \"x\"\nexplanation = \"x\"\nsuggestion = \"x\"\nphrases = [\"a\"]\n", "p.toml:8: unknown category \"medical\""),
            ("\n[[rule]]\nid = \"a\"\ncategory = \"efficacy\"\nlegal_basis = \"x\"\nexplanation = \"x\"\nsuggestion = \"x\"\nphrases = [\"、\"]\n", "p.toml:12: empty phrase"),
            ("\n[[rule]]\nid = \"a\"\ncategory = \"efficacy\"\nlegal_basis = \"x\"\nexplanation = \"x\"\nsuggestion = \"x\"\n", "p.toml:6: rule `a` has no `phrases`"),
        ];
        for (body, want) in cases {
            let errs = errors_of(&[("p.toml", &format!("{pack}{body}"))]);
            assert!(errs.iter().any(|e| e.starts_with(want)), "{want}: {errs:?}");
        }
        let errs = errors_of(&[("p.toml", "[pack\nid = 1\n")]);
        assert!(errs[0].starts_with("p.toml:1:"), "{errs:?}");
    }
}
