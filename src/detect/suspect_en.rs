//! Suspects for a second listen in English: transcript text in, the spans where a co-occurrence
//! rule has all its terms but one as spelled and something that *sounds* like the missing one,
//! each with the terms to prompt Whisper with.
//!
//! tiny.en bends claim words past what the phonetic matcher forgives ("fight can sell" for fights
//! cancer cells, "low as your blood sugar" for lowers, "this teak clears up your energy" for
//! allergies). A search for every rule term's sound-alikes anywhere finds one in nearly every
//! sentence (74 suspects in 27 lines of the spoken set, mostly "green powder" near "guaranteed
//! to"). An anchor makes it selective: a sentence must already say, as spelled, every other part
//! of a rule (a condition without an outcome, "you get it for" without a reference price), and a
//! few words near that anchor must sound like a term of the missing part (Double Metaphone keys
//! within [`MAX_KEY_DISTANCE_PERCENT`] of the term's). The span is decoded again with the anchor
//! and the closest terms as the prompt; an alert comes only if the new text matches a rule
//! (`second_listen.rs`), so a suspect costs CPU, never precision by itself.

use std::collections::HashMap;
use std::ops::Range;

use super::alert::{Category, Lang};
use super::normalize::{normalize, Normalized};
use super::pack::RuleSet;
use super::phonetic;
use super::suspect::Suspect;

/// How far a heard word's key may be from a term's, in edits per hundred key letters.
pub const MAX_KEY_DISTANCE_PERCENT: usize = 40;

/// A term's key must have this many letters: shorter keys are near half the dictionary.
const MIN_TERM_KEY: usize = 3;

/// Words on either side of the anchor searched for the missing part.
const REACH_WORDS: usize = 6;

/// Prompt terms per suspect besides the anchor.
const PARTNERS: usize = 3;

/// One term of a co-occurrence group: normalized spelling and its phonetic key.
#[derive(Debug, Clone)]
struct Term {
    norm: String,
    key: String,
    letters: usize,
    /// Whether, heard as spelled, it can anchor a suspect: a number or a function word ("15",
    /// "only", "now") cannot, every pitch says one.
    anchors: bool,
}

/// A co-occurrence rule's groups (compose: conditions × outcomes; pricing: reference × now),
/// and the categories of the rules that have them.
#[derive(Debug, Clone)]
struct Groups {
    terms: Vec<Vec<Term>>,
    categories: Vec<Category>,
}

/// The English co-occurrence rules that take sound-alikes, keyed for the search.
#[derive(Debug, Clone, Default)]
pub struct EnglishListener {
    rules: Vec<Groups>,
    /// The most words a heard run compared with a term may have (the longest term's, plus one).
    max_run: usize,
}

/// A run of words of a sentence, keyed once for every term it is compared with.
#[derive(Debug, Clone)]
struct Run {
    /// Bytes in the normalized text.
    bytes: Range<usize>,
    key: String,
    letters: usize,
    /// Whether one of its words can carry part of a claim ([`phonetic::content_word`]).
    content: bool,
}

/// A sentence's words and every run of up to `max_run` of them: `runs[start][len - 1]`.
struct Sentence {
    words: Vec<Range<usize>>,
    runs: Vec<Vec<Run>>,
}

impl EnglishListener {
    /// Every `near` of the English rules with `phonetic` on (a rule opts out with
    /// `phonetic = false`, as for the matcher's sound-alikes).
    pub fn new(set: &RuleSet) -> EnglishListener {
        let mut rules: Vec<Groups> = Vec::new();
        let mut seen: HashMap<Vec<Vec<String>>, usize> = HashMap::new();
        for rule in set.rules.iter().filter(|r| r.base.lang == Lang::En) {
            if !rule.base.phonetic {
                continue;
            }
            for near in rule.near.iter().filter(|n| n.terms.len() >= 2) {
                if let Some(&at) = seen.get(&near.terms) {
                    if !rules[at].categories.contains(&rule.category) {
                        rules[at].categories.push(rule.category);
                    }
                    continue;
                }
                seen.insert(near.terms.clone(), rules.len());
                let terms = near
                    .terms
                    .iter()
                    .map(|group| {
                        group
                            .iter()
                            .filter(|t| !t.starts_with('='))
                            .map(|t| Term {
                                norm: t.clone(),
                                key: phonetic::joined_key(t),
                                letters: letters(t),
                                anchors: t.split(' ').any(|w| {
                                    phonetic::anchor_word(w)
                                        && w.chars().all(|c| c.is_ascii_alphabetic())
                                }),
                            })
                            .collect()
                    })
                    .collect();
                rules.push(Groups {
                    terms,
                    categories: vec![rule.category],
                });
            }
        }
        let max_run = rules
            .iter()
            .flat_map(|g| g.terms.iter().flatten())
            .map(|t| t.norm.split(' ').count() + 1)
            .max()
            .unwrap_or(1);
        EnglishListener { rules, max_run }
    }

    /// Spans of English `text` worth a second listen, in text order, overlapping ones merged.
    pub fn suspects(&self, text: &str) -> Vec<Suspect> {
        let norm = normalize(text, Lang::En);
        let mut out: Vec<(Suspect, usize)> = Vec::new();
        for range in sentences(&norm) {
            let padded = format!(" {} ", &norm.text[range.clone()]);
            let sentence = Sentence::new(&norm.text, range.clone(), self.max_run);
            for groups in &self.rules {
                if let Some((bytes, terms, distance)) =
                    suspect_in(groups, &padded, range.start, &sentence)
                {
                    let bytes = orig_bytes(&norm, bytes);
                    match out
                        .iter_mut()
                        .find(|(s, _)| s.bytes.start < bytes.end && bytes.start < s.bytes.end)
                    {
                        Some((s, best)) => {
                            s.bytes = s.bytes.start.min(bytes.start)..s.bytes.end.max(bytes.end);
                            for c in &groups.categories {
                                if !s.categories.contains(c) {
                                    s.categories.push(*c);
                                }
                            }
                            let (first, second) = if distance < *best {
                                *best = distance;
                                (terms, std::mem::take(&mut s.terms))
                            } else {
                                (std::mem::take(&mut s.terms), terms)
                            };
                            s.terms = first;
                            for t in second {
                                if !s.terms.contains(&t) {
                                    s.terms.push(t);
                                }
                            }
                            s.terms.truncate(PARTNERS + 2);
                        }
                        None => out.push((
                            Suspect {
                                bytes,
                                terms,
                                categories: groups.categories.clone(),
                            },
                            distance,
                        )),
                    }
                }
            }
        }
        let mut out: Vec<Suspect> = out.into_iter().map(|(s, _)| s).collect();
        out.sort_by_key(|s| s.bytes.start);
        out
    }
}

/// The span, prompt terms and best key distance (percent) of one rule's suspect in one
/// sentence (`padded`: its text between two spaces, starting at `offset` in the normalized text):
/// every group but one present as spelled, the missing one sounded near an anchor.
fn suspect_in(
    groups: &Groups,
    padded: &str,
    offset: usize,
    sentence: &Sentence,
) -> Option<(Range<usize>, Vec<String>, usize)> {
    let words = &sentence.words;
    let found: Vec<Option<(&Term, Range<usize>)>> = groups
        .terms
        .iter()
        .map(|group| {
            group.iter().find_map(|t| {
                find_words(padded, &t.norm).map(|at| (t, offset + at..offset + at + t.norm.len()))
            })
        })
        .collect();
    let missing: Vec<usize> = (0..found.len()).filter(|g| found[*g].is_none()).collect();
    let [missing] = missing[..] else {
        return None;
    };
    let (anchor, anchor_bytes) = found.into_iter().flatten().find(|(t, _)| t.anchors)?;
    let first_word = words.iter().position(|w| w.end > anchor_bytes.start)?;
    let last_word = words
        .iter()
        .rposition(|w| w.start < anchor_bytes.end)
        .unwrap_or(first_word);
    let from = first_word.saturating_sub(REACH_WORDS);
    let to = (last_word + REACH_WORDS + 1).min(words.len());
    // (distance percent, term, heard bytes)
    let mut near: Vec<(usize, &Term, Range<usize>)> = Vec::new();
    for term in &groups.terms[missing] {
        if term.key.len() < MIN_TERM_KEY {
            continue;
        }
        let span_words = term.norm.split(' ').count();
        let mut best: Option<(usize, Range<usize>)> = None;
        for start in from..to {
            for len in span_words.saturating_sub(1).max(1)..=span_words + 1 {
                let end = start + len;
                if end > to {
                    break;
                }
                let Some(run) = sentence.runs[start].get(len - 1) else {
                    break;
                };
                let heard = run.bytes.clone();
                // The anchor's own words are not a sound-alike of the missing part.
                if heard.start < anchor_bytes.end && anchor_bytes.start < heard.end {
                    continue;
                }
                if !run.content || !similar_length(run.letters, term.letters) {
                    continue;
                }
                let d = strsim::levenshtein(&term.key, &run.key) * 100 / term.key.len();
                if d <= MAX_KEY_DISTANCE_PERCENT && best.as_ref().is_none_or(|(b, _)| d < *b) {
                    best = Some((d, heard));
                }
            }
        }
        if let Some((d, heard)) = best {
            near.push((d, term, heard));
        }
    }
    near.sort_by_key(|(d, t, _)| (*d, std::cmp::Reverse(t.key.len())));
    let (best, _, heard) = near.first()?.clone();
    let bytes = anchor_bytes.start.min(heard.start)..anchor_bytes.end.max(heard.end);
    let mut terms = vec![anchor.norm.clone()];
    for (_, t, _) in near.iter().take(PARTNERS) {
        if !terms.contains(&t.norm) {
            terms.push(t.norm.clone());
        }
    }
    Some((bytes, terms, best))
}

/// Where `term` first stands as whole words in `padded` (text between two spaces): the byte
/// before it, which is its start in the text without the leading space.
fn find_words(padded: &str, term: &str) -> Option<usize> {
    let bytes = padded.as_bytes();
    padded
        .match_indices(term)
        .map(|(at, _)| at)
        .find(|&at| at > 0 && bytes[at - 1] == b' ' && bytes.get(at + term.len()) == Some(&b' '))
        .map(|at| at - 1)
}

fn letters(text: &str) -> usize {
    text.chars().filter(|c| c.is_alphanumeric()).count()
}

/// Heard words stand in for a term only with about its number of letters (keys drop vowels, so
/// "its" keys one edit from "fights").
fn similar_length(heard: usize, term: usize) -> bool {
    heard >= 4 && heard * 3 >= term * 2 && heard <= term * 3 / 2 + 1
}

/// Byte ranges of the normalized text's sentences.
fn sentences(norm: &Normalized) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut current: Option<(u32, Range<usize>)> = None;
    for (i, unit) in norm.units.iter().enumerate() {
        let at = norm.starts[i];
        let end = at + unit.ch.len_utf8();
        match &mut current {
            Some((s, r)) if *s == unit.sentence => r.end = end,
            _ => {
                if let Some((_, r)) = current.take() {
                    out.push(r);
                }
                current = Some((unit.sentence, at..end));
            }
        }
    }
    out.extend(current.map(|(_, r)| r));
    out.into_iter()
        .map(|r| {
            let text = &norm.text[r.clone()];
            let start = r.start + (text.len() - text.trim_start().len());
            start..r.end - (text.len() - text.trim_end().len())
        })
        .filter(|r| !r.is_empty())
        .collect()
}

impl Sentence {
    /// The words of `text[range]` (space-separated normalized text) and their runs.
    fn new(text: &str, range: Range<usize>, max_run: usize) -> Sentence {
        let mut words = Vec::new();
        let mut at = range.start;
        for word in text[range].split(' ') {
            if !word.is_empty() {
                words.push(at..at + word.len());
            }
            at += word.len() + 1;
        }
        let keys = phonetic::word_keys(words.iter().map(|w| &text[w.clone()]));
        let runs = (0..words.len())
            .map(|start| {
                let mut run = Run {
                    bytes: words[start].clone(),
                    key: String::new(),
                    letters: 0,
                    content: false,
                };
                let mut out = Vec::new();
                for end in start..words.len().min(start + max_run) {
                    let word = &text[words[end].clone()];
                    run.bytes.end = words[end].end;
                    run.key.push_str(&keys[end]);
                    run.letters += letters(word);
                    run.content |= phonetic::content_word(word);
                    out.push(run.clone());
                }
                out
            })
            .collect();
        Sentence { words, runs }
    }
}

/// Normalized-text bytes → the original text's bytes.
fn orig_bytes(norm: &Normalized, bytes: Range<usize>) -> Range<usize> {
    norm.orig_of(norm.units_of(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::pack::{Near, Rule, RuleBase};
    use crate::detect::{Category, Severity};

    fn listener() -> EnglishListener {
        let near = |groups: &[&[&str]]| Near {
            terms: groups
                .iter()
                .map(|g| g.iter().map(|t| t.to_string()).collect())
                .collect(),
            window: 30,
            ordered: false,
        };
        let rule = |near: Near, category: Category| Rule {
            base: RuleBase {
                id: "test".into(),
                lang: Lang::En,
                legal_basis: String::new(),
                explanation: String::new(),
                suggestion: String::new(),
                except: Vec::new(),
                negation: true,
                readings: false,
                phonetic: true,
                near_miss: false,
                cancel: Vec::new(),
                context: Vec::new(),
                source: String::new(),
            },
            category,
            severity: Severity::High,
            phrases: Vec::new(),
            near: vec![near],
        };
        let set = RuleSet {
            rules: vec![
                rule(
                    near(&[
                        &[
                            "cancer cells",
                            "blood sugar",
                            "allergies",
                            "hair loss",
                            "acne",
                        ],
                        &["fights", "lowers", "clears up", "stops", "cures"],
                    ]),
                    Category::Efficacy,
                ),
                rule(
                    near(&[
                        &["retail is", "regular price"],
                        &["you get it for", "tonight"],
                    ]),
                    Category::Pricing,
                ),
                rule(
                    near(&[&["15", "20"], &["bundles left", "sets left"]]),
                    Category::Pricing,
                ),
                rule(
                    near(&[&["only"], &["bundles left", "sets left"]]),
                    Category::Pricing,
                ),
            ],
            ..RuleSet::default()
        };
        EnglishListener::new(&set)
    }

    #[test]
    fn table() {
        let l = listener();
        // (heard, the suspect's words or "" for none, the first prompt term after the anchor)
        let cases: &[(&str, &str, &str)] = &[
            (
                "It's also low as your blood sugar.",
                "low as your blood sugar",
                "lowers",
            ),
            (
                "This tea clears up your energy someday.",
                "clears up your energy",
                "allergies",
            ),
            (
                "Retail in 120, tonight it's 30.",
                "Retail in 120, tonight",
                "retail is",
            ),
            // Function words alone anchor nothing.
            ("Retail in 120, you get it for 30.", "", ""),
            (
                "It stops their loss, period.",
                "stops their loss",
                "hair loss",
            ),
            // Both parts as spelled: the matcher's business, not a suspect.
            ("It lowers your blood sugar.", "", ""),
            // No part as spelled: nothing to anchor on.
            ("This dealt reach secondly.", "", ""),
            // An anchor, but nothing near it sounds like the missing part.
            ("Ask your doctor about your blood sugar.", "", ""),
            ("We have three colors tonight.", "", ""),
            // A number is no anchor.
            ("We have 15 bundle left.", "", ""),
            ("We have only one bundle left.", "", ""),
        ];
        for (heard, span, term) in cases {
            let got = l.suspects(heard);
            if span.is_empty() {
                assert!(got.is_empty(), "{heard}: {got:?}");
                continue;
            }
            assert_eq!(got.len(), 1, "{heard}: {got:?}");
            assert_eq!(&heard[got[0].bytes.clone()], *span, "{heard}");
            assert_eq!(
                got[0].terms.get(1).map(String::as_str),
                Some(*term),
                "{heard}"
            );
        }
        // A suspect knows which categories of rule it may complete (for `Detector::suspects`
        // to skip one whose category is already found over it).
        for (heard, category) in [
            ("It's also low as your blood sugar.", Category::Efficacy),
            ("Retail in 120, tonight it's 30.", Category::Pricing),
        ] {
            assert_eq!(l.suspects(heard)[0].categories, vec![category], "{heard}");
        }
    }
}
