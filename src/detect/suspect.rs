//! Suspects for a second listen: Japanese transcript text in, the spans that *sound* close to a
//! rule term without matching it out, each with the terms it is close to.
//!
//! The matcher forgives one changed mora next to an exact partner. Whisper bends words further
//! than that under noise or a fast voice (血糖値が下がった written 結構落ちが下がった, 副作用 written
//! 複雑用), and no text rule can tell such a span from ordinary speech without raising false alerts.
//! What it can do is point at the span, so that the audio there is decoded again with the terms as
//! Whisper's prompt; an alert is raised only if the new text matches a rule
//! (`transcribe/relisten.rs`, `audit/second_listen.rs`).
//!
//! The comparison is an approximate substring search (Sellers' edit-distance dynamic program) of
//! each term's kana reading over the text's reading, one character per kana, where a slip that
//! keeps the vowel or touches only ッ ン ー ウ costs half ([`substitute`]). A term needs a reading
//! of [`MIN_KEY`] kana; the distance allowed grows with its length ([`max_half_edits`]). An exact
//! hit (distance 0) is not a suspect: the matcher has already decided on it, negation and all.
//!
//! Japanese only. The same search over English Double Metaphone codes (a small alphabet of
//! consonant classes) found 74 suspects in 27 transcript lines of the spoken set, nearly all
//! unrelated to any claim ("green powder" near "guaranteed to"): a decode each for nothing.
//! English suspects need an anchor instead ([`super::suspect_en`]).

use std::collections::HashSet;
use std::ops::Range;

use super::alert::{Category, Lang};
use super::pack::RuleSet;
use super::reading::Reader;

/// Shortest term reading searched for: shorter ones are near something in every sentence.
pub const MIN_KEY: usize = 4;

/// At most this many terms name one suspect (and make its prompt).
const TERMS_PER_SUSPECT: usize = 4;

/// A span of the input text worth a second listen.
#[derive(Debug, Clone, PartialEq)]
pub struct Suspect {
    /// Byte range in the text given to [`Listener::suspects`].
    pub bytes: Range<usize>,
    /// The rule terms (as the packs write them) the span sounds close to, closest first.
    pub terms: Vec<String>,
    /// The categories of the rules whose missing part it may be; empty when not known (a
    /// Japanese term serves rules of several categories).
    pub categories: Vec<Category>,
}

/// One searchable rule term.
#[derive(Debug, Clone)]
struct Term {
    reading: Vec<char>,
    surface: String,
}

/// The Japanese rule terms, keyed by reading for the approximate search.
#[derive(Debug, Clone, Default)]
pub struct Listener {
    terms: Vec<Term>,
}

/// Half edits allowed for a reading of `len` kana: about one kana in five may slip, and only by
/// half (a kept vowel, a special mora) in a short term.
pub fn max_half_edits(len: usize) -> usize {
    match len {
        0..=5 => 1,
        6..=8 => 2,
        9..=11 => 3,
        _ => 4,
    }
}

impl Listener {
    /// Every phrase and co-occurrence term of the Japanese rules that take near-miss matching
    /// (`near_miss`; a `=` pattern is exact only and left out).
    pub fn new(set: &RuleSet, reader: &Reader) -> Listener {
        let mut out = Listener::default();
        let mut seen: HashSet<Vec<char>> = HashSet::new();
        for rule in set.rules.iter().filter(|r| r.base.lang == Lang::Ja) {
            if !rule.base.near_miss {
                continue;
            }
            let terms = rule
                .phrases
                .iter()
                .chain(rule.near.iter().flat_map(|n| n.terms.iter().flatten()));
            for raw in terms.filter(|t| !t.starts_with('=')) {
                let reading: Vec<char> = reader.reading(raw).text.chars().collect();
                if reading.len() < MIN_KEY || !seen.insert(reading.clone()) {
                    continue;
                }
                out.terms.push(Term {
                    reading,
                    surface: raw.clone(),
                });
            }
        }
        out
    }

    /// Number of searchable terms.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The spans of Japanese `text` close to a rule term but not equal to one, in text order,
    /// overlapping spans merged.
    pub fn suspects(&self, text: &str, reader: &Reader) -> Vec<Suspect> {
        let reading = reader.reading(text);
        // Per reading character, the input bytes of its morpheme.
        let mut origin: Vec<Range<usize>> = Vec::new();
        for (i, (at, range)) in reading.morphs.iter().enumerate() {
            let end = reading
                .morphs
                .get(i + 1)
                .map_or(reading.text.len(), |m| m.0);
            origin.extend(reading.text[*at..end].chars().map(|_| range.clone()));
        }
        let key: Vec<char> = reading.text.chars().collect();
        if key.len() < MIN_KEY {
            return Vec::new();
        }
        // (reading range, cost in half edits, term index)
        let mut hits: Vec<(Range<usize>, usize, usize)> = Vec::new();
        for (t, term) in self.terms.iter().enumerate() {
            let k = max_half_edits(term.reading.len());
            if let Some((range, d)) = best_approximate(&term.reading, &key, k) {
                if d > 0 {
                    hits.push((range, d, t));
                }
            }
        }
        // Closest first, so each merged span lists its best terms first.
        hits.sort_by_key(|(r, d, t)| (*d * 100 / self.terms[*t].reading.len(), r.start));
        let mut out: Vec<Suspect> = Vec::new();
        for (range, _, t) in hits {
            let bytes = origin[range.start].start..origin[range.end - 1].end;
            let surface = &self.terms[t].surface;
            match out
                .iter_mut()
                .find(|s| s.bytes.start < bytes.end && bytes.start < s.bytes.end)
            {
                Some(s) => {
                    s.bytes = s.bytes.start.min(bytes.start)..s.bytes.end.max(bytes.end);
                    if s.terms.len() < TERMS_PER_SUSPECT && !s.terms.contains(surface) {
                        s.terms.push(surface.clone());
                    }
                }
                None => out.push(Suspect {
                    bytes,
                    terms: vec![surface.clone()],
                    categories: Vec::new(),
                }),
            }
        }
        out.sort_by_key(|s| s.bytes.start);
        out
    }
}

/// Edit costs, in half edits. Japanese ASR slips keep the vowel (ケットウチ → ケッコウチ, サ → ザ)
/// and drop or add the morae that only lengthen or close a syllable (ッ ン ー ウ): those cost half.
fn substitute(a: char, b: char) -> usize {
    if a == b {
        0
    } else if vowel(a).is_some() && vowel(a) == vowel(b) {
        1
    } else {
        2
    }
}

fn insert_or_delete(c: char) -> usize {
    if "ッンーウ".contains(c) {
        1
    } else {
        2
    }
}

/// The vowel a katakana character ends on (ア段 … オ段), for the plain and voiced kana.
fn vowel(c: char) -> Option<char> {
    const ROWS: [(&str, char); 5] = [
        ("アカサタナハマヤラワガザダバパァャヮ", 'a'),
        ("イキシチニヒミリギジヂビピィ", 'i'),
        ("ウクスツヌフムユルグズヅブプゥュヴ", 'u'),
        ("エケセテネヘメレゲゼデベペェ", 'e'),
        ("オコソトノホモヨロヲゴゾドボポォョ", 'o'),
    ];
    ROWS.iter().find(|(row, _)| row.contains(c)).map(|r| r.1)
}

/// The substring of `text` closest to `pattern` by weighted edit distance (in half edits), if
/// within `k`: its range (characters) and cost. Ties go to the earliest end, then the longest span.
fn best_approximate(pattern: &[char], text: &[char], k: usize) -> Option<(Range<usize>, usize)> {
    let m = pattern.len();
    // Row i: (cost, start) of the best alignment of pattern[..i] ending at the current text char.
    let mut prev: Vec<(usize, usize)> = Vec::with_capacity(m + 1);
    prev.push((0, 0));
    for i in 1..=m {
        let c = prev[i - 1].0 + insert_or_delete(pattern[i - 1]);
        prev.push((c, 0));
    }
    let mut cur = prev.clone();
    let mut best: Option<(Range<usize>, usize)> = None;
    for (j, &c) in text.iter().enumerate() {
        cur[0] = (0, j + 1);
        for i in 1..=m {
            let p = pattern[i - 1];
            let sub = (prev[i - 1].0 + substitute(p, c), prev[i - 1].1);
            let del = (cur[i - 1].0 + insert_or_delete(p), cur[i - 1].1);
            let ins = (prev[i].0 + insert_or_delete(c), prev[i].1);
            // Lowest cost; on a tie the earlier start (the longer span).
            cur[i] = [sub, del, ins]
                .into_iter()
                .min_by_key(|(cost, start)| (*cost, *start))
                .unwrap();
        }
        let (cost, start) = cur[m];
        if cost <= k && start <= j && best.as_ref().is_none_or(|(_, d)| cost < *d) {
            best = Some((start..j + 1, cost));
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn approximate_search() {
        // (pattern, text, k in half edits, expected substring and cost)
        type Case = (
            &'static str,
            &'static str,
            usize,
            Option<(&'static str, usize)>,
        );
        let cases: &[Case] = &[
            // ト → コ keeps the vowel: half an edit.
            (
                "ケットウチ",
                "ノミハジメテカラケッコウチガサガッタ",
                1,
                Some(("ケッコウチ", 1)),
            ),
            // ト → コ with チ dropped costs as much as with オ added: the earlier end wins.
            (
                "ケットウチ",
                "ノミハジメテカラケッコウオチガサガッタ",
                3,
                Some(("ケッコウ", 3)),
            ),
            (
                "ケットウチ",
                "ノミハジメテカラケッコウオチガサガッタ",
                2,
                None,
            ),
            // サ → ザ half, ツ added a whole edit.
            (
                "フクサヨウ",
                "フクザツヨウノシンパイハ",
                3,
                Some(("フクザツヨウ", 3)),
            ),
            // ホ → シ changes the vowel: a whole edit.
            ("シントウ", "ホントウニ", 1, None),
            ("シミ", "シミ", 0, Some(("シミ", 0))),
            ("アイウエ", "カキクケ", 2, None),
        ];
        for (pattern, text, k, want) in cases {
            let got = best_approximate(&chars(pattern), &chars(text), *k).map(|(r, d)| {
                let s: String = chars(text)[r].iter().collect();
                (s, d)
            });
            let want = want.map(|(s, d)| (s.to_string(), d));
            assert_eq!(got, want, "{pattern} in {text} within {k}");
        }
    }

    #[test]
    fn allowance_grows_with_length() {
        let table = [(4, 1), (5, 1), (6, 2), (9, 3), (20, 4)];
        for (len, k) in table {
            assert_eq!(max_half_edits(len), k, "len {len}");
        }
    }
}
