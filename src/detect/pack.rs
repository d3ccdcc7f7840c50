//! Rule packs: parses every `*.toml` in a folder (format: rules/README.md) into a validated
//! [`RuleSet`], or into the full list of errors, each as `file:line: message`.
//!
//! Each `[[rule]]`, `[[origin]]` and `[[country]]` entry is deserialized on its own, so one typo does
//! not hide the errors after it; unknown keys are errors (serde `deny_unknown_fields`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{Deserialize, IntoDeserializer};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

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

// ---- raw (serde) shapes -------------------------------------------------------------------

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    id: Spanned<String>,
    lang: Spanned<String>,
    family: String,
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    except: Vec<Spanned<String>>,
    #[serde(default)]
    vocabulary: Vec<Spanned<String>>,
    #[serde(default)]
    cancel: Vec<Spanned<String>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNear {
    terms: Vec<Vec<Spanned<String>>>,
    window: Option<Spanned<i64>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompose {
    id: Spanned<String>,
    category: Spanned<String>,
    severity: Option<Spanned<String>>,
    legal_basis: String,
    explanation: String,
    suggestion: String,
    conditions: Vec<Spanned<String>>,
    outcomes: Vec<Spanned<String>>,
    window: Option<Spanned<i64>>,
    order: Option<Spanned<String>>,
    #[serde(default)]
    except: Vec<Spanned<String>>,
    #[serde(default)]
    context: Vec<Spanned<String>>,
    negation: Option<bool>,
    readings: Option<bool>,
    phonetic: Option<bool>,
    near_miss: Option<bool>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    category: Spanned<String>,
    severity: Option<Spanned<String>>,
    legal_basis: String,
    explanation: String,
    suggestion: String,
    #[serde(default)]
    phrases: Vec<Spanned<String>>,
    #[serde(default)]
    near: Vec<Spanned<RawNear>>,
    #[serde(default)]
    except: Vec<Spanned<String>>,
    #[serde(default)]
    cancel: Vec<Spanned<String>>,
    negation: Option<bool>,
    readings: Option<bool>,
    phonetic: Option<bool>,
    near_miss: Option<bool>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrigin {
    id: Spanned<String>,
    legal_basis: String,
    explanation: String,
    unverified_explanation: String,
    suggestion: String,
    #[serde(default)]
    templates: Vec<Spanned<String>>,
    #[serde(default)]
    fixed: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    except: Vec<Spanned<String>>,
    negation: Option<bool>,
    readings: Option<bool>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNegation {
    #[serde(default)]
    before: Vec<Spanned<String>>,
    #[serde(default)]
    after: Vec<Spanned<String>>,
    before_window: Option<Spanned<i64>>,
    after_window: Option<Spanned<i64>>,
    #[serde(default)]
    question_before: Vec<Spanned<String>>,
    #[serde(default)]
    question_after: Vec<Spanned<String>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCountry {
    code: Spanned<String>,
    #[serde(default)]
    ja: Vec<Spanned<String>>,
    #[serde(default)]
    en: Vec<Spanned<String>>,
}

// ---- loading ------------------------------------------------------------------------------

/// Collects errors for one file, turning byte offsets into line numbers.
struct Sink<'a> {
    file: &'a Path,
    src: &'a str,
    errors: &'a mut Vec<PackError>,
}

impl Sink<'_> {
    fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.src.len());
        self.src.as_bytes()[..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    fn at(&mut self, offset: usize, message: impl Into<String>) {
        let line = self.line(offset);
        self.errors.push(PackError {
            file: self.file.to_path_buf(),
            line,
            message: message.into(),
        });
    }

    fn toml(&mut self, err: &toml::de::Error, fallback: usize) {
        let offset = err.span().map_or(fallback, |s| s.start);
        self.at(offset, err.message().trim().to_string());
    }
}

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

/// A file's entries after serde, before validation.
#[derive(Default)]
struct Parts {
    pack: Option<(usize, RawPack)>,
    rules: Vec<(usize, RawRule)>,
    composes: Vec<(usize, RawCompose)>,
    origins: Vec<(usize, RawOrigin)>,
    negation: Option<(usize, RawNegation)>,
    countries: Vec<(usize, RawCountry)>,
}

fn de<'i, T: Deserialize<'i>>(sink: &mut Sink, v: &Spanned<DeValue<'i>>) -> Option<T> {
    let start = v.span().start;
    match T::deserialize(v.clone().into_deserializer()) {
        Ok(t) => Some(t),
        Err(e) => {
            sink.toml(&e, start);
            None
        }
    }
}

fn de_array<'i, T: Deserialize<'i>>(
    sink: &mut Sink,
    key: &str,
    v: &Spanned<DeValue<'i>>,
) -> Vec<(usize, T)> {
    let Some(items) = v.get_ref().as_array() else {
        sink.at(
            v.span().start,
            format!("`{key}` must be an array of tables ([[{key}]])"),
        );
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| de::<T>(sink, item).map(|t| (item.span().start, t)))
        .collect()
}

fn parse_file(sink: &mut Sink) -> Parts {
    let src = sink.src;
    let (doc, syntax) = DeTable::parse_recoverable(src);
    for e in &syntax {
        sink.toml(e, 0);
    }
    if !syntax.is_empty() {
        return Parts::default();
    }
    let mut parts = Parts::default();
    for (key, value) in doc.get_ref().iter() {
        let start = value.span().start;
        match key.get_ref().as_ref() {
            "pack" => parts.pack = de(sink, value).map(|p| (start, p)),
            "negation" => parts.negation = de(sink, value).map(|n| (start, n)),
            "rule" => parts.rules = de_array(sink, "rule", value),
            "compose" => parts.composes = de_array(sink, "compose", value),
            "origin" => parts.origins = de_array(sink, "origin", value),
            "country" => parts.countries = de_array(sink, "country", value),
            other => sink.at(
                key.span().start,
                format!(
                    "unknown section `{other}`, expected one of `pack`, `rule`, `compose`, `origin`, `negation`, `country`"
                ),
            ),
        }
    }
    parts
}

/// Checks one pattern list: non-empty strings that still say something after normalization.
fn patterns(sink: &mut Sink, lang: Lang, what: &str, list: &[Spanned<String>]) -> Vec<String> {
    let mut out = Vec::new();
    for p in list {
        if normalize_str(p.get_ref(), lang).is_empty() {
            sink.at(
                p.span().start,
                format!(
                    "empty {what} {:?} (nothing left after normalization)",
                    p.get_ref()
                ),
            );
        } else {
            out.push(p.get_ref().clone());
        }
    }
    out
}

fn window(sink: &mut Sink, w: &Option<Spanned<i64>>, default: usize) -> usize {
    match w {
        None => default,
        Some(w) if (1..=200).contains(w.get_ref()) => *w.get_ref() as usize,
        Some(w) => {
            sink.at(
                w.span().start,
                format!("window must be 1..=200, got {}", w.get_ref()),
            );
            default
        }
    }
}

fn check_id(sink: &mut Sink, ids: &mut HashMap<String, String>, id: &Spanned<String>) {
    let here = format!("{}:{}", sink.file.display(), sink.line(id.span().start));
    let s = id.get_ref();
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        sink.at(
            id.span().start,
            format!("id {s:?} must be non-empty ASCII letters, digits, `_`, `-` or `.`"),
        );
    } else if let Some(first) = ids.get(s) {
        sink.at(
            id.span().start,
            format!("duplicate id `{s}` (first at {first})"),
        );
    } else {
        ids.insert(s.clone(), here);
    }
}

/// The switches a rule or compose adds to [`RuleBase`] beyond those origins share.
struct Extra<'a> {
    phonetic: Option<bool>,
    near_miss: Option<bool>,
    cancel: &'a [Spanned<String>],
    context: &'a [Spanned<String>],
}

/// A claim category (not an origin one, those are decided at run time) and its severity.
fn category_severity(
    sink: &mut Sink,
    category: &Spanned<String>,
    severity: &Option<Spanned<String>>,
) -> Option<(Category, Severity)> {
    let category = match Category::parse(category.get_ref()) {
        Some(c @ (Category::FalseOrigin | Category::OriginClaim)) => {
            sink.at(
                category.span().start,
                format!("category `{c}` is decided at run time: write origin claims as [[origin]]"),
            );
            return None;
        }
        Some(c) => c,
        None => {
            sink.at(
                category.span().start,
                format!(
                    "unknown category {:?}, expected one of efficacy, exaggeration, pricing",
                    category.get_ref()
                ),
            );
            return None;
        }
    };
    let severity = match severity {
        None => category.default_severity(),
        Some(s) => match Severity::parse(s.get_ref()) {
            Some(v) => v,
            None => {
                sink.at(
                    s.span().start,
                    format!(
                        "unknown severity {:?}, expected critical, high, medium or low",
                        s.get_ref()
                    ),
                );
                return None;
            }
        },
    };
    Some((category, severity))
}

fn validate_file(
    sink: &mut Sink,
    parts: Parts,
    set: &mut RuleSet,
    ids: &mut HashMap<String, String>,
    codes: &mut HashMap<String, String>,
) {
    for (at, c) in parts.countries {
        let code = c.code.get_ref();
        if code.len() != 2 || !code.chars().all(|ch| ch.is_ascii_uppercase()) {
            sink.at(
                c.code.span().start,
                format!("country code {code:?} must be ISO 3166 alpha-2 in upper case (JP, US …)"),
            );
            continue;
        }
        let here = format!("{}:{}", sink.file.display(), sink.line(at));
        if let Some(first) = codes.get(code) {
            sink.at(
                c.code.span().start,
                format!("duplicate country `{code}` (first at {first})"),
            );
            continue;
        }
        codes.insert(code.clone(), here);
        let ja = patterns(sink, Lang::Ja, "country name", &c.ja);
        let en = patterns(sink, Lang::En, "country name", &c.en);
        set.countries.push(Country {
            code: code.clone(),
            ja,
            en,
        });
    }
    let needs_pack = !parts.rules.is_empty()
        || !parts.composes.is_empty()
        || !parts.origins.is_empty()
        || parts.negation.is_some();
    let Some((pack_at, pack)) = parts.pack else {
        if needs_pack {
            sink.at(
                0,
                "missing [pack] (id, lang, family) before rules, origins or negation",
            );
        }
        return;
    };
    check_id(sink, ids, &pack.id);
    let Some(lang) = Lang::parse(pack.lang.get_ref()) else {
        sink.at(
            pack.lang.span().start,
            format!(
                "unknown lang {:?}, expected \"ja\" or \"en\"",
                pack.lang.get_ref()
            ),
        );
        return;
    };
    if pack.family.trim().is_empty() {
        sink.at(pack_at, "[pack] family must not be empty");
    }
    let pack_except = patterns(sink, lang, "exception", &pack.except);
    let pack_cancel = patterns(sink, lang, "cancel cue", &pack.cancel);
    for word in &pack.vocabulary {
        let w = word.get_ref().trim();
        if w.is_empty() || w.contains('\n') {
            sink.at(
                word.span().start,
                "vocabulary words must be one non-empty line",
            );
            continue;
        }
        let words = set.vocabulary.entry(lang).or_default();
        if !words.iter().any(|known| known == w) {
            words.push(w.to_string());
        }
    }
    let base = |sink: &mut Sink,
                at: usize,
                id: &Spanned<String>,
                texts: [&String; 3],
                except: &[Spanned<String>],
                negation: Option<bool>,
                readings: Option<bool>,
                extra: Extra| {
        for (name, t) in ["legal_basis", "explanation", "suggestion"]
            .iter()
            .zip(texts)
        {
            if t.trim().is_empty() {
                sink.at(at, format!("`{name}` must not be empty"));
            }
        }
        let mut ex = patterns(sink, lang, "exception", except);
        ex.extend(pack_except.iter().cloned());
        let mut cancel = patterns(sink, lang, "cancel cue", extra.cancel);
        cancel.extend(pack_cancel.iter().cloned());
        let context = patterns(sink, lang, "context word", extra.context);
        RuleBase {
            id: id.get_ref().clone(),
            lang,
            legal_basis: texts[0].clone(),
            explanation: texts[1].clone(),
            suggestion: texts[2].clone(),
            except: ex,
            negation: negation.unwrap_or(true),
            readings: readings.unwrap_or(true),
            phonetic: extra.phonetic.unwrap_or(true),
            near_miss: extra.near_miss.unwrap_or(true),
            cancel,
            context,
            source: format!("{}:{}", sink.file.display(), sink.line(at)),
        }
    };
    for (at, r) in parts.rules {
        check_id(sink, ids, &r.id);
        let Some((category, severity)) = category_severity(sink, &r.category, &r.severity) else {
            continue;
        };
        let phrases = patterns(sink, lang, "phrase", &r.phrases);
        let mut near = Vec::new();
        for n in &r.near {
            let nat = n.span().start;
            let n = n.get_ref();
            if n.terms.len() < 2 {
                sink.at(nat, "a [[rule.near]] needs at least two term groups");
            }
            let mut groups = Vec::new();
            for g in &n.terms {
                let g = patterns(sink, lang, "term", g);
                if g.is_empty() {
                    sink.at(nat, "a [[rule.near]] term group is empty");
                }
                groups.push(g);
            }
            let window = window(sink, &n.window, default_window(lang));
            near.push(Near {
                terms: groups,
                window,
                ordered: false,
            });
        }
        if r.phrases.is_empty() && r.near.is_empty() {
            sink.at(
                at,
                format!(
                    "rule `{}` has no `phrases` and no [[rule.near]]",
                    r.id.get_ref()
                ),
            );
        }
        let base = base(
            sink,
            at,
            &r.id,
            [&r.legal_basis, &r.explanation, &r.suggestion],
            &r.except,
            r.negation,
            r.readings,
            Extra {
                phonetic: r.phonetic,
                near_miss: r.near_miss,
                cancel: &r.cancel,
                context: &[],
            },
        );
        set.rules.push(Rule {
            base,
            category,
            severity,
            phrases,
            near,
        });
    }
    for (at, c) in parts.composes {
        check_id(sink, ids, &c.id);
        let Some((category, severity)) = category_severity(sink, &c.category, &c.severity) else {
            continue;
        };
        let conditions = patterns(sink, lang, "condition", &c.conditions);
        let outcomes = patterns(sink, lang, "outcome", &c.outcomes);
        if conditions.is_empty() || outcomes.is_empty() {
            sink.at(at, "a [[compose]] needs `conditions` and `outcomes`");
        }
        let ordered = match c.order.as_ref().map(|o| o.get_ref().as_str()) {
            None | Some("any") => false,
            Some("condition_first") => true,
            Some(other) => {
                sink.at(
                    c.order.as_ref().map_or(at, |o| o.span().start),
                    format!("unknown order {other:?}, expected \"any\" or \"condition_first\""),
                );
                false
            }
        };
        let window = window(sink, &c.window, default_window(lang));
        let base = base(
            sink,
            at,
            &c.id,
            [&c.legal_basis, &c.explanation, &c.suggestion],
            &c.except,
            c.negation,
            c.readings,
            Extra {
                phonetic: c.phonetic,
                near_miss: c.near_miss,
                cancel: &[],
                context: &c.context,
            },
        );
        set.rules.push(Rule {
            base,
            category,
            severity,
            phrases: Vec::new(),
            near: vec![Near {
                terms: vec![conditions, outcomes],
                window,
                ordered,
            }],
        });
    }
    for (at, o) in parts.origins {
        check_id(sink, ids, &o.id);
        for t in &o.templates {
            if t.get_ref().matches("{country}").count() != 1 {
                sink.at(
                    t.span().start,
                    format!("template {:?} needs exactly one {{country}}", t.get_ref()),
                );
            }
        }
        let templates = patterns(sink, lang, "template", &o.templates);
        let mut fixed = Vec::new();
        for (phrase, code) in &o.fixed {
            if normalize_str(phrase, lang).is_empty() {
                sink.at(code.span().start, format!("empty fixed phrase {phrase:?}"));
            } else {
                fixed.push((phrase.clone(), code.get_ref().clone()));
            }
        }
        if o.templates.is_empty() && o.fixed.is_empty() {
            sink.at(
                at,
                format!(
                    "origin `{}` has no `templates` and no `fixed`",
                    o.id.get_ref()
                ),
            );
        }
        if o.unverified_explanation.trim().is_empty() {
            sink.at(at, "`unverified_explanation` must not be empty");
        }
        let base = base(
            sink,
            at,
            &o.id,
            [&o.legal_basis, &o.explanation, &o.suggestion],
            &o.except,
            o.negation,
            o.readings,
            Extra {
                phonetic: Some(false),
                near_miss: Some(false),
                cancel: &[],
                context: &[],
            },
        );
        set.origins.push(OriginRule {
            base,
            unverified_explanation: o.unverified_explanation,
            templates,
            fixed,
        });
    }
    if let Some((_, n)) = parts.negation {
        let (db, da) = default_neg_windows(lang);
        let before = patterns(sink, lang, "negation cue", &n.before);
        let after = patterns(sink, lang, "negation cue", &n.after);
        let question_before = patterns(sink, lang, "question cue", &n.question_before);
        let question_after = patterns(sink, lang, "question cue", &n.question_after);
        let bw = window(sink, &n.before_window, db);
        let aw = window(sink, &n.after_window, da);
        let neg = set.negation.entry(lang).or_insert_with(|| Negation {
            before_window: 0,
            after_window: 0,
            ..Negation::default()
        });
        neg.before.extend(before);
        neg.after.extend(after);
        neg.question_before.extend(question_before);
        neg.question_after.extend(question_after);
        // Several packs may set windows for one language: the widest wins.
        neg.before_window = neg.before_window.max(bw);
        neg.after_window = neg.after_window.max(aw);
    }
}

/// Fixed origin codes must be in the lexicon; templates need countries named in their language.
fn check_origin_codes(errors: &mut Vec<PackError>, set: &RuleSet, pending: &[(PathBuf, String)]) {
    for o in &set.origins {
        let (file, line) = split_source(&o.base.source);
        let src = pending
            .iter()
            .find(|(f, _)| f == &file)
            .map(|(_, s)| s.as_str())
            .unwrap_or("");
        for (phrase, code) in &o.fixed {
            if !set.countries.iter().any(|c| &c.code == code) {
                // Point at the phrase's own line when it can be found after the rule header.
                let line = src
                    .lines()
                    .enumerate()
                    .skip(line.saturating_sub(1))
                    .find(|(_, l)| l.contains(phrase.as_str()))
                    .map_or(line, |(i, _)| i + 1);
                errors.push(PackError {
                    file: file.clone(),
                    line,
                    message: format!("fixed phrase {phrase:?}: country `{code}` is not in the lexicon ([[country]])"),
                });
            }
        }
        if !o.templates.is_empty()
            && !set
                .countries
                .iter()
                .any(|c| !c.names(o.base.lang).is_empty())
        {
            errors.push(PackError {
                file: file.clone(),
                line,
                message: format!(
                    "origin `{}` has templates but no [[country]] has {} names",
                    o.base.id, o.base.lang
                ),
            });
        }
    }
}

fn split_source(source: &str) -> (PathBuf, usize) {
    match source.rsplit_once(':') {
        Some((f, l)) => (PathBuf::from(f), l.parse().unwrap_or(0)),
        None => (PathBuf::from(source), 0),
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
