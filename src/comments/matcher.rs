//! One comment pack compiled (pure): a comment's [`Chat`] forms → the rule hits it holds, at most
//! one per category, with the original byte range of the words that matched.
//!
//! Word patterns run through aho-corasick over form two (runs cut to two) and form one (runs cut to
//! one; a hit there counts only over a collapsed run, so `ass` → `as` does not hit the word `as`).
//! Boundaries, cheap and measured instead of a morphological analyser: a pattern that starts or ends
//! with an ASCII letter needs a non-letter beside it (`ass` not in `class`, `sm` not in `sms`;
//! a pattern ending in `~` may continue: `fuck~` hits `fucking`); a pattern written in katakana hits
//! only katakana and not inside a longer katakana word (`カス` not in `カスタード` nor `ぼかす`,
//! `イク` not in `イクラ`). Then a rule's `except` phrases overlapping the hit undo it (idioms:
//! `死ぬほど`, `dying laughing`), and a pack guard cue anywhere in the comment silences the guarded
//! rules of its categories (quoting to complain, warning about scams).

use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};

use super::normalize::{normalize, Chat, Form};
use super::pack::{CommentPack, CommentRule};
use crate::detect::{Category, Lang};

/// A pattern of the automaton: whose it is and which boundary checks it needs.
#[derive(Debug, Clone)]
struct Pat {
    rule: usize,
    ascii_start: bool,
    ascii_end: bool,
    katakana: bool,
    /// Written in kana only (either script): checked against the script of its neighbours.
    kana: bool,
}

/// A rule hit: the rule (index into [`PackMatcher::rules`]) and the original bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub rule: usize,
    pub orig: Range<usize>,
}

pub struct PackMatcher {
    pub lang: Lang,
    pub rules: Vec<CommentRule>,
    two: Option<AhoCorasick>,
    one: Option<AhoCorasick>,
    pats: Vec<Pat>,
    /// Per rule: its except phrases, normalised (form two, form one).
    except: Vec<Vec<(String, String)>>,
    /// Per guard: categories and cues (form two).
    guards: Vec<(Vec<Category>, Vec<String>)>,
}

impl PackMatcher {
    pub fn new(pack: &CommentPack) -> anyhow::Result<PackMatcher> {
        let (mut two, mut one, mut pats) = (Vec::new(), Vec::new(), Vec::new());
        for (i, rule) in pack.rules.iter().enumerate() {
            for p in &rule.patterns {
                let open = p.ends_with('~');
                let p = p.trim_end_matches('~');
                let chat = normalize(p);
                let first = chat.two.text.chars().next().unwrap_or(' ');
                let last = chat.two.text.chars().last().unwrap_or(' ');
                let katakana = p
                    .chars()
                    .all(|c| matches!(c, '\u{30A1}'..='\u{30FA}' | 'ー' | '\u{FF66}'..='\u{FF9F}'));
                let kana = p
                    .chars()
                    .all(|c| matches!(c, '\u{3041}'..='\u{3096}' | '\u{30A1}'..='\u{30FA}' | 'ー'));
                pats.push(Pat {
                    kana,
                    rule: i,
                    ascii_start: first.is_ascii_alphanumeric(),
                    ascii_end: last.is_ascii_alphanumeric() && !open,
                    katakana,
                });
                two.push(chat.two.text);
                one.push(chat.one.text);
            }
        }
        let build = |v: &[String]| -> anyhow::Result<Option<AhoCorasick>> {
            if v.is_empty() {
                return Ok(None);
            }
            Ok(Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(v)?,
            ))
        };
        let except = pack
            .rules
            .iter()
            .map(|r| {
                r.except
                    .iter()
                    .map(|e| {
                        let c = normalize(e);
                        (c.two.text, c.one.text)
                    })
                    .collect()
            })
            .collect();
        let guards = pack
            .guards
            .iter()
            .map(|g| {
                (
                    g.categories.clone(),
                    g.cues.iter().map(|c| normalize(c).two.text).collect(),
                )
            })
            .collect();
        Ok(PackMatcher {
            lang: pack.lang,
            rules: pack.rules.clone(),
            two: build(&two)?,
            one: build(&one)?,
            pats,
            except,
            guards,
        })
    }

    /// Hits in one comment: at most one per category (the most severe rule, then the earliest).
    pub fn scan(&self, chat: &Chat, only: &dyn Fn(Category) -> bool) -> Vec<Hit> {
        let silenced: Vec<Category> = self
            .guards
            .iter()
            .filter(|(_, cues)| cues.iter().any(|c| has_word(&chat.two.text, c)))
            .flat_map(|(cats, _)| cats.iter().copied())
            .collect();
        let live =
            |r: &CommentRule| only(r.category) && !(r.guarded && silenced.contains(&r.category));
        let mut best: Vec<(usize, Range<usize>)> = Vec::new();
        let offer = |rule: usize, orig: Range<usize>, best: &mut Vec<(usize, Range<usize>)>| {
            let cat = self.rules[rule].category;
            match best
                .iter_mut()
                .find(|(r, _)| self.rules[*r].category == cat)
            {
                None => best.push((rule, orig)),
                Some(slot) => {
                    let (sev, old) = (self.rules[rule].severity, self.rules[slot.0].severity);
                    if sev > old || sev == old && orig.start < slot.1.start {
                        *slot = (rule, orig);
                    }
                }
            }
        };
        for (form, ac, is_one) in [(&chat.two, &self.two, false), (&chat.one, &self.one, true)] {
            let Some(ac) = ac else { continue };
            for m in ac.find_overlapping_iter(&form.text) {
                let pat = &self.pats[m.pattern().as_usize()];
                let rule = &self.rules[pat.rule];
                if !live(rule) {
                    continue;
                }
                let units = form.units_of(m.start()..m.end());
                if units.is_empty() || !self.bounded(form, units.clone(), pat) {
                    continue;
                }
                if is_one && !form.units[units.clone()].iter().any(|u| u.collapsed) {
                    continue;
                }
                if self.excepted(pat.rule, form, m.start()..m.end(), is_one) {
                    continue;
                }
                offer(pat.rule, form.orig_of(units), &mut best);
            }
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let Some(kind) = rule.builtin else { continue };
            if !live(rule) {
                continue;
            }
            for r in kind.find(&chat.plain.text) {
                let units = chat.plain.units_of(r);
                if !units.is_empty() {
                    offer(i, chat.plain.orig_of(units), &mut best);
                }
            }
        }
        let mut hits: Vec<Hit> = best
            .into_iter()
            .map(|(rule, orig)| Hit { rule, orig })
            .collect();
        hits.sort_by_key(|h| (h.orig.start, h.rule));
        hits
    }

    fn bounded(&self, form: &Form, units: Range<usize>, pat: &Pat) -> bool {
        let before = units.start.checked_sub(1).map(|i| &form.units[i]);
        let after = form.units.get(units.end);
        let word = |c: char| c.is_ascii_alphanumeric() || c == '*';
        if pat.ascii_start && before.is_some_and(|u| word(u.ch)) {
            return false;
        }
        if pat.ascii_end && after.is_some_and(|u| word(u.ch)) {
            return false;
        }
        if pat.katakana && !form.units[units.clone()].iter().all(|u| u.kata) {
            return false;
        }
        if pat.kana {
            // A kana word starts a word: not after kana of the same script (`安いしね`,
            // `ところすみません`); a katakana one also ends one (`シネマ`, `ブスケッツ`, `デブリ`).
            // Hiragana may follow a hiragana word (okurigana, particles: `しねよ`).
            let first_kata = form.units[units.start].kata;
            let last_kata = form.units[units.end - 1].kata;
            let hira = |u: &super::normalize::Unit| is_hiragana(u.ch) && !u.kata;
            let before_same = before.is_some_and(|u| if first_kata { u.kata } else { hira(u) });
            // … unless the word just repeats (`シネシネ`, `コロスコロス`).
            let hit = &form.text[form.starts[units.start]
                ..form
                    .starts
                    .get(units.end)
                    .copied()
                    .unwrap_or(form.text.len())];
            let end = form
                .starts
                .get(units.end)
                .copied()
                .unwrap_or(form.text.len());
            let repeated = form.text[end..].starts_with(hit);
            let after_same = last_kata && after.is_some_and(|u| u.kata) && !repeated;
            return !before_same && !after_same;
        }
        true
    }

    fn excepted(&self, rule: usize, form: &Form, hit: Range<usize>, is_one: bool) -> bool {
        self.except[rule].iter().any(|(two, one)| {
            let e = if is_one { one } else { two };
            form.text
                .match_indices(e.as_str())
                .any(|(at, s)| at < hit.end && hit.start < at + s.len())
        })
    }
}

fn is_hiragana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{3096}' | 'ー')
}

/// Whether `text` holds `cue`, a cue that starts or ends with an ASCII letter only as a whole word
/// there (`bot` is not in `both`, `troll` not in `trolley`).
fn has_word(text: &str, cue: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let (first, last) = (cue.chars().next(), cue.chars().last());
    text.match_indices(cue).any(|(at, _)| {
        let before = text[..at].chars().last();
        let after = text[at + cue.len()..].chars().next();
        let glued = word(first) && word(before) || word(last) && word(after);
        !glued
    })
}

#[cfg(test)]
mod tests {
    use super::has_word;

    #[test]
    fn cues_are_words() {
        // (text, cue, found)
        let cases = [
            ("dm me for both colors", "bot", false),
            ("these are bots", "bots", true),
            ("a bot", "bot", true),
            ("trolley bag", "troll", false),
            ("通報した", "通報", true),
            ("『しね』って方言で", "方言", true),
            ("", "bot", false),
        ];
        for (text, cue, want) in cases {
            assert_eq!(has_word(text, cue), want, "{cue:?} in {text:?}");
        }
    }
}
