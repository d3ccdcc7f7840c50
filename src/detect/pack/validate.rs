//! Validating a pack file's entries ([`super::sink::Parts`]) into the [`RuleSet`]: categories
//! and severities, patterns, windows, compose lexicons, origins and countries; and the checks
//! that need every file (origin codes against the country lexicon).

use std::collections::HashMap;
use std::path::PathBuf;

use toml::Spanned;

use super::sink::{check_id, patterns, window, Parts, Sink};
use super::*;

/// The switches a rule or compose adds to [`RuleBase`] beyond those origins share.
pub(super) struct Extra<'a> {
    pub(super) phonetic: Option<bool>,
    pub(super) near_miss: Option<bool>,
    pub(super) cancel: &'a [Spanned<String>],
    pub(super) context: &'a [Spanned<String>],
}

/// A claim category (not an origin one, those are decided at run time) and its severity.
pub(super) fn category_severity(
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

pub(super) fn validate_file(
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
pub(super) fn check_origin_codes(
    errors: &mut Vec<PackError>,
    set: &RuleSet,
    pending: &[(PathBuf, String)],
) {
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

pub(super) fn split_source(source: &str) -> (PathBuf, usize) {
    match source.rsplit_once(':') {
        Some((f, l)) => (PathBuf::from(f), l.parse().unwrap_or(0)),
        None => (PathBuf::from(source), 0),
    }
}
