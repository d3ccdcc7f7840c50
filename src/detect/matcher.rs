//! Matching for one language: every pattern of every rule (phrases, co-occurrence terms,
//! exceptions, negation cues, expanded origin phrases) goes into one aho-corasick automaton over
//! normalized text and, for Japanese, a second one over kana readings. A scan of one utterance
//! turns the hits into at most one candidate claim per rule (per spoken country for origins).

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use aho_corasick::AhoCorasick;

use super::alert::{Category, Lang, Severity};
use super::normalize::{normalize, normalize_str, Normalized};
use super::origin;
use super::pack::{Negation, RuleBase, RuleSet};
use super::reading::Reader;

/// What a rule is, beyond the texts every rule has.
#[derive(Debug, Clone)]
pub enum Kind {
    Claim {
        category: Category,
        severity: Severity,
        /// Window of each `[[rule.near]]`.
        windows: Vec<usize>,
        /// Number of term groups of each `[[rule.near]]`.
        groups: Vec<usize>,
    },
    Origin {
        unverified_explanation: String,
    },
}

#[derive(Debug, Clone)]
pub struct Target {
    pub base: RuleBase,
    pub kind: Kind,
}

/// What a pattern means for the rule it belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Phrase(u32),
    Term { target: u32, near: u16, group: u16 },
    Except(u32),
    Origin { target: u32, country: u16 },
    NegBefore,
    NegAfter,
}

impl Role {
    fn target(self) -> Option<u32> {
        match self {
            Role::Phrase(t) | Role::Except(t) => Some(t),
            Role::Term { target, .. } | Role::Origin { target, .. } => Some(target),
            Role::NegBefore | Role::NegAfter => None,
        }
    }
}

/// Distinct pattern strings, each with every role it plays.
#[derive(Default)]
struct Table {
    index: HashMap<String, usize>,
    patterns: Vec<String>,
    roles: Vec<Vec<Role>>,
}

impl Table {
    fn add(&mut self, pattern: String, role: Role) {
        if pattern.is_empty() {
            return;
        }
        let i = *self.index.entry(pattern.clone()).or_insert_with(|| {
            self.patterns.push(pattern);
            self.roles.push(Vec::new());
            self.patterns.len() - 1
        });
        if !self.roles[i].contains(&role) {
            self.roles[i].push(role);
        }
    }

    fn build(self) -> anyhow::Result<(AhoCorasick, Vec<Vec<Role>>)> {
        let ac = AhoCorasick::new(&self.patterns)?;
        Ok((ac, self.roles))
    }
}

/// The compiled rules of one language.
pub struct Matcher {
    pub lang: Lang,
    pub targets: Vec<Target>,
    pub countries: Vec<String>,
    surface: (AhoCorasick, Vec<Vec<Role>>),
    reading: Option<(AhoCorasick, Vec<Vec<Role>>)>,
    negation: Negation,
}

/// One claim found in an utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub target: usize,
    pub category: Category,
    pub severity: Severity,
    pub country: Option<String>,
    /// Byte range of the claim in the scanned text.
    pub orig: Range<usize>,
    /// Byte range of the sentence around it.
    pub sentence: Range<usize>,
    /// The claim ends an unfinished sentence close enough to its end that a negation may follow.
    pub open_end: bool,
}

#[derive(Debug, Clone)]
struct Hit {
    role: Role,
    units: Range<usize>,
    orig: Range<usize>,
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

impl Matcher {
    /// Compiles every rule of `lang` in `set`; `reader` adds reading patterns (Japanese).
    pub fn new(set: &RuleSet, lang: Lang, reader: Option<&Reader>) -> anyhow::Result<Matcher> {
        let mut surface = Table::default();
        let mut reading = Table::default();
        let mut targets = Vec::new();
        let mut countries: Vec<String> = Vec::new();
        let reader = reader.filter(|_| lang == Lang::Ja);
        let mut add = |raw: &str, role: Role, readings: bool| {
            // "=効く": this pattern is matched as written only (聞く reads キク too).
            let (raw, readings) = match raw.strip_prefix('=') {
                Some(r) => (r, false),
                None => (raw, readings),
            };
            surface.add(normalize_str(raw, lang), role);
            if let (true, Some(r)) = (readings, reader) {
                if let Some(k) = r.pattern_reading(raw) {
                    reading.add(k, role);
                }
            }
        };
        for rule in set.rules.iter().filter(|r| r.base.lang == lang) {
            let t = targets.len() as u32;
            let rd = rule.base.readings;
            for p in &rule.phrases {
                add(p, Role::Phrase(t), rd);
            }
            for (n, near) in rule.near.iter().enumerate() {
                for (g, group) in near.terms.iter().enumerate() {
                    for p in group {
                        let role = Role::Term {
                            target: t,
                            near: n as u16,
                            group: g as u16,
                        };
                        add(p, role, rd);
                    }
                }
            }
            for p in &rule.base.except {
                add(p, Role::Except(t), true);
            }
            targets.push(Target {
                base: rule.base.clone(),
                kind: Kind::Claim {
                    category: rule.category,
                    severity: rule.severity,
                    windows: rule.near.iter().map(|n| n.window).collect(),
                    groups: rule.near.iter().map(|n| n.terms.len()).collect(),
                },
            });
        }
        for o in set.origins.iter().filter(|o| o.base.lang == lang) {
            let t = targets.len() as u32;
            for (phrase, code) in origin::expand(o, &set.countries) {
                let c = match countries.iter().position(|c| *c == code) {
                    Some(c) => c,
                    None => {
                        countries.push(code);
                        countries.len() - 1
                    }
                };
                let role = Role::Origin {
                    target: t,
                    country: c as u16,
                };
                add(&phrase, role, o.base.readings);
            }
            for p in &o.base.except {
                add(p, Role::Except(t), true);
            }
            targets.push(Target {
                base: o.base.clone(),
                kind: Kind::Origin {
                    unverified_explanation: o.unverified_explanation.clone(),
                },
            });
        }
        let negation = set.negation.get(&lang).cloned().unwrap_or_default();
        for p in &negation.before {
            add(p, Role::NegBefore, true);
        }
        for p in &negation.after {
            add(p, Role::NegAfter, true);
        }
        Ok(Matcher {
            lang,
            targets,
            countries,
            surface: surface.build()?,
            reading: if reader.is_some() {
                Some(reading.build()?)
            } else {
                None
            },
            negation,
        })
    }

    /// How far back (normalized characters) a claim can reach: what a stream must carry over.
    pub fn reach(&self) -> usize {
        let near = self
            .targets
            .iter()
            .filter_map(|t| match &t.kind {
                Kind::Claim { windows, .. } => windows.iter().max().copied(),
                Kind::Origin { .. } => None,
            })
            .max()
            .unwrap_or(0);
        near + self.negation.before_window + self.negation.after_window + 32
    }

    /// Finds the claims in `text`: non-overlapping per rule (and spoken country), overlapping
    /// claims of one category merged. `reader` must be the one the matcher was built with.
    pub fn scan(
        &self,
        text: &str,
        reader: Option<&Reader>,
        declared: Option<&str>,
    ) -> Vec<Candidate> {
        let norm = normalize(text, self.lang);
        if norm.units.is_empty() {
            return Vec::new();
        }
        let hits = self.hits(text, &norm, reader);
        let terminated = text
            .trim_end()
            .ends_with(['。', '！', '？', '!', '?', '.', '｡']);
        let mut by_target: BTreeMap<u32, Vec<&Hit>> = BTreeMap::new();
        let (mut before, mut after) = (Vec::new(), Vec::new());
        for h in &hits {
            match (h.role, h.role.target()) {
                (Role::NegBefore, _) => before.push(h.units.clone()),
                (Role::NegAfter, _) => after.push(h.units.clone()),
                (_, Some(t)) => by_target.entry(t).or_default().push(h),
                _ => {}
            }
        }
        let sentence_of = |u: usize| norm.units[u].sentence;
        let negated = |span: &Range<usize>| {
            let s = sentence_of(span.start);
            before.iter().any(|c| {
                c.end <= span.start
                    && span.start - c.end <= self.negation.before_window
                    && sentence_of(c.start) == s
            }) || after.iter().any(|c| {
                c.start >= span.end
                    && c.start - span.end <= self.negation.after_window
                    && sentence_of(c.start) == s
            })
        };
        let mut out = Vec::new();
        for (t, th) in by_target {
            let target = &self.targets[t as usize];
            let excepts: Vec<&Range<usize>> = th
                .iter()
                .filter(|h| matches!(h.role, Role::Except(_)))
                .map(|h| &h.orig)
                .collect();
            let usable: Vec<&Hit> = th
                .into_iter()
                .filter(|h| !matches!(h.role, Role::Except(_)))
                .filter(|h| !excepts.iter().any(|e| overlaps(e, &h.orig)))
                .collect();
            let mut spans: Vec<(Range<usize>, Option<u16>)> = Vec::new();
            for h in &usable {
                match h.role {
                    Role::Phrase(_) => spans.push((h.units.clone(), None)),
                    Role::Origin { country, .. } => spans.push((h.units.clone(), Some(country))),
                    _ => {}
                }
            }
            if let Kind::Claim {
                windows, groups, ..
            } = &target.kind
            {
                for (n, (&window, &ngroups)) in windows.iter().zip(groups).enumerate() {
                    spans.extend(
                        near_spans(&usable, n as u16, ngroups, window, &norm).map(|s| (s, None)),
                    );
                }
            }
            if target.base.negation {
                spans.retain(|(s, _)| !negated(s));
            }
            spans.sort_by_key(|(s, _)| (s.start, s.end));
            // Overlapping hits of one rule (and spoken country) are one claim: the first one.
            let mut kept: Vec<(Range<usize>, Option<u16>)> = Vec::new();
            for (span, country) in spans {
                if kept
                    .iter()
                    .any(|(k, kc)| *kc == country && overlaps(k, &span))
                {
                    continue;
                }
                kept.push((span.clone(), country));
                let (category, severity, country) = match (&target.kind, country) {
                    (
                        Kind::Claim {
                            category, severity, ..
                        },
                        _,
                    ) => (*category, *severity, None),
                    (Kind::Origin { .. }, Some(c)) => {
                        let code = &self.countries[c as usize];
                        let Some(cat) = origin::resolve(code, declared) else {
                            continue;
                        };
                        (cat, cat.default_severity(), Some(code.clone()))
                    }
                    (Kind::Origin { .. }, None) => continue,
                };
                let s = sentence_of(span.start) as usize;
                let last = norm.sentences.len() - 1;
                let tail = norm.units.len() - span.end;
                out.push(Candidate {
                    target: t as usize,
                    category,
                    severity,
                    country,
                    orig: norm.orig_of(span.clone()),
                    sentence: norm.sentences[s.min(last)].clone(),
                    // Only a language with negations that follow the claim (…治るわけではない)
                    // has a reason to wait; English negates before.
                    open_end: !self.negation.after.is_empty()
                        && !terminated
                        && s >= last
                        && tail <= self.negation.after_window,
                });
            }
        }
        dedupe(out)
    }

    /// Every pattern occurrence, on normalized text and (Japanese) on readings, that starts on a
    /// word boundary and stays within one sentence.
    fn hits(&self, text: &str, norm: &Normalized, reader: Option<&Reader>) -> Vec<Hit> {
        let mut hits = Vec::new();
        let reading = reader
            .filter(|_| self.lang == Lang::Ja)
            .map(|r| r.reading(text));
        let morph_starts = reading.as_ref().map(|r| &r.starts);
        let bytes = norm.text.as_bytes();
        let one_sentence =
            |u: &Range<usize>| norm.units[u.start].sentence == norm.units[u.end - 1].sentence;
        for m in self.surface.0.find_overlapping_iter(&norm.text) {
            let units = norm.units_of(m.range());
            if units.is_empty() || !one_sentence(&units) {
                continue;
            }
            let orig = norm.orig_of(units.clone());
            let bounded = match self.lang {
                Lang::En => {
                    (m.start() == 0 || bytes[m.start() - 1] == b' ')
                        && (m.end() == bytes.len() || bytes[m.end()] == b' ')
                }
                Lang::Ja => morph_starts.is_none_or(|s| s.binary_search(&orig.start).is_ok()),
            };
            if !bounded {
                continue;
            }
            for &role in &self.surface.1[m.pattern().as_usize()] {
                hits.push(Hit {
                    role,
                    units: units.clone(),
                    orig: orig.clone(),
                });
            }
        }
        if let (Some((ac, roles)), Some(rd)) = (&self.reading, &reading) {
            for m in ac.find_overlapping_iter(&rd.text) {
                let Some(orig) = rd.aligned(m.range()) else {
                    continue;
                };
                let start = norm.units.partition_point(|u| u.orig.start < orig.start);
                let end = norm.units.partition_point(|u| u.orig.start < orig.end);
                let units = start..end;
                if units.is_empty() || !one_sentence(&units) {
                    continue;
                }
                for &role in &roles[m.pattern().as_usize()] {
                    hits.push(Hit {
                        role,
                        units: units.clone(),
                        orig: orig.clone(),
                    });
                }
            }
        }
        hits
    }
}

/// Co-occurrences of near `n`: for each leftmost term, the nearest term of every group after it in
/// the same sentence; a match when the gap between the first term's end and the last term's start
/// is within `window`.
fn near_spans<'a>(
    hits: &'a [&Hit],
    n: u16,
    groups: usize,
    window: usize,
    norm: &'a Normalized,
) -> impl Iterator<Item = Range<usize>> + 'a {
    let mut terms: Vec<(u16, &Range<usize>)> = hits
        .iter()
        .filter_map(|h| match h.role {
            Role::Term { near, group, .. } if near == n => Some((group, &h.units)),
            _ => None,
        })
        .collect();
    terms.sort_by_key(|(_, u)| (u.start, u.end));
    let mut out = Vec::new();
    for (i, (_, anchor)) in terms.iter().enumerate() {
        let sentence = norm.units[anchor.start].sentence;
        let mut chosen: Vec<&Range<usize>> = Vec::with_capacity(groups);
        for g in 0..groups as u16 {
            let nearest = terms[i..]
                .iter()
                .filter(|(tg, u)| *tg == g && norm.units[u.start].sentence == sentence)
                .map(|(_, u)| *u)
                .next();
            match nearest {
                Some(u) => chosen.push(u),
                None => break,
            }
        }
        if chosen.len() < groups {
            continue;
        }
        let first_end = chosen.iter().map(|u| u.end).min().unwrap_or(anchor.end);
        let last_start = chosen.iter().map(|u| u.start).max().unwrap_or(anchor.start);
        if last_start.saturating_sub(first_end) <= window {
            let end = chosen.iter().map(|u| u.end).max().unwrap_or(anchor.end);
            out.push(anchor.start..end);
        }
    }
    out.into_iter()
}

/// Overlapping claims of one category are one claim: the more severe (then the earlier rule) stays.
fn dedupe(mut cands: Vec<Candidate>) -> Vec<Candidate> {
    cands.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.target.cmp(&b.target))
            .then(a.orig.start.cmp(&b.orig.start))
    });
    let mut kept: Vec<Candidate> = Vec::new();
    for c in cands {
        if !kept
            .iter()
            .any(|k| k.category == c.category && overlaps(&k.orig, &c.orig))
        {
            kept.push(c);
        }
    }
    kept.sort_by_key(|c| (c.orig.start, c.target));
    kept
}
