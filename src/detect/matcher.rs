//! Matching for one language: every pattern of every rule (phrases, co-occurrence terms,
//! exceptions, negation and question cues, expanded origin phrases) goes into one aho-corasick
//! automaton over normalized text and, for Japanese, a second one over kana readings. Near misses
//! get automata of their own: Japanese readings one mora away ([`nearmiss`](super::nearmiss)) and
//! English words that sound alike ([`phonetic`](super::phonetic)); their hits count only next to
//! an exact partner. A scan of one utterance turns the hits into at most one candidate claim per
//! rule (per spoken country for origins), after the context guards in [`context`](super::context).

use std::collections::HashMap;
use std::ops::Range;

use aho_corasick::AhoCorasick;

use super::alert::{Category, Lang, Severity};
use super::context;
use super::normalize::{normalize, normalize_str, Normalized};
use super::pack::{Negation, RuleBase, RuleSet};
use super::reading::Reader;
use super::{nearmiss, origin, phonetic};

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
        /// Whether each near's groups must come in order.
        ordered: Vec<bool>,
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
    Term {
        target: u32,
        near: u16,
        group: u16,
    },
    Except(u32),
    Origin {
        target: u32,
        country: u16,
    },
    Cancel(u32),
    NegBefore,
    NegAfter,
    QuestionBefore,
    QuestionAfter,
    /// A word of a rule pattern that may be heard by sound: where it is, the words around it are
    /// worth keying ([`phonetic`](super::phonetic) is too slow to run on every word).
    Anchor,
}

impl Role {
    fn target(self) -> Option<u32> {
        match self {
            Role::Phrase(t) | Role::Except(t) | Role::Cancel(t) => Some(t),
            Role::Term { target, .. } | Role::Origin { target, .. } => Some(target),
            Role::NegBefore
            | Role::NegAfter
            | Role::QuestionBefore
            | Role::QuestionAfter
            | Role::Anchor => None,
        }
    }
}

/// Distinct pattern strings, each with every role it plays (and what a role needs: for near-miss
/// and sound-alike patterns, the word it stands for).
struct Table<R> {
    index: HashMap<String, usize>,
    patterns: Vec<String>,
    roles: Vec<Vec<R>>,
}

impl<R> Default for Table<R> {
    fn default() -> Self {
        Table {
            index: HashMap::new(),
            patterns: Vec::new(),
            roles: Vec::new(),
        }
    }
}

impl<R: PartialEq> Table<R> {
    fn add(&mut self, pattern: String, role: R) {
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

    /// The index of `pattern`, added (with no roles) when new.
    fn intern(&mut self, pattern: &str) -> u32 {
        if let Some(&i) = self.index.get(pattern) {
            return i as u32;
        }
        self.index.insert(pattern.to_string(), self.patterns.len());
        self.patterns.push(pattern.to_string());
        self.roles.push(Vec::new());
        (self.patterns.len() - 1) as u32
    }

    /// `None` when there is nothing to match (no automaton to run).
    fn build(self) -> anyhow::Result<Option<Automaton<R>>> {
        if self.patterns.is_empty() {
            return Ok(None);
        }
        let ac = AhoCorasick::new(&self.patterns)?;
        Ok(Some((ac, self.roles)))
    }
}

/// Characters between a claim and a question cue after it (「日本製|ですか」, 「治る|んですか」).
const QUESTION_AFTER_WINDOW: usize = 3;

/// An automaton and, per pattern, what each of its matches means.
type Automaton<R> = (AhoCorasick, Vec<Vec<R>>);

/// How a hit was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fuzz {
    /// As written, or on its exact reading.
    Exact,
    /// One mora away, or by sound: needs an exact partner right next to it.
    Near,
    /// A near miss of a two-mora term: also needs a context word in the utterance.
    NearShort,
}

/// The compiled rules of one language.
pub struct Matcher {
    pub lang: Lang,
    pub targets: Vec<Target>,
    pub countries: Vec<String>,
    surface: (AhoCorasick, Vec<Vec<Role>>),
    reading: Option<(AhoCorasick, Vec<Vec<Role>>)>,
    /// Japanese readings one mora away from a term's: (role, two-mora term?).
    nearmiss: Option<Automaton<(Role, bool)>>,
    /// English key text of patterns: (role, index of the normalized pattern in `sound_patterns`).
    phonetic: Option<Automaton<(Role, u32)>>,
    /// The normalized patterns behind `phonetic`'s keys, each once.
    sound_patterns: Vec<String>,
    /// Normalized context words per target (near misses of two-mora terms need one).
    context: Vec<Vec<String>>,
    /// Per target: its terms may be heard by sound (English), so an exact one is an anchor too.
    sounds: Vec<bool>,
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
    fuzz: Fuzz,
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

impl Matcher {
    /// Compiles every rule of `lang` in `set`; `reader` adds reading patterns (Japanese).
    pub fn new(set: &RuleSet, lang: Lang, reader: Option<&Reader>) -> anyhow::Result<Matcher> {
        let mut surface = Table::default();
        let mut reading = Table::default();
        let mut near: Table<(Role, bool)> = Table::default();
        let mut sound: Table<(Role, u32)> = Table::default();
        let mut sound_patterns: Table<()> = Table::default();
        let mut targets = Vec::new();
        let mut countries: Vec<String> = Vec::new();
        let mut context = Vec::new();
        let mut sounds = Vec::new();
        let reader = reader.filter(|_| lang == Lang::Ja);
        // `fuzzy`: the pattern may also match one mora away (ja) or by sound (en).
        let mut add = |raw: &str, role: Role, readings: bool, fuzzy: bool| {
            // "=効く": this pattern is matched as written only (聞く reads キク too).
            let (raw, readings, fuzzy) = match raw.strip_prefix('=') {
                Some(r) => (r, false, false),
                None => (raw, readings, fuzzy),
            };
            let norm = normalize_str(raw, lang);
            if fuzzy && lang == Lang::En {
                // Single-word phrases stand alone, with no partner to vouch for a sound-alike.
                if matches!(role, Role::Term { .. }) || norm.contains(' ') {
                    let p = sound_patterns.intern(&norm);
                    for key in phonetic::pattern_keys(&norm) {
                        sound.add(key, (role, p));
                    }
                }
                // A phrase heard by sound keeps one word as spelled: that word marks where to look.
                if matches!(role, Role::Phrase(_)) && norm.contains(' ') {
                    // Long content words only: "the" or "your" would key every sentence.
                    for w in norm.split(' ').filter(|w| phonetic::anchor_word(w)) {
                        surface.add(w.to_string(), Role::Anchor);
                    }
                }
            }
            surface.add(norm, role);
            if let (true, Some(r)) = (readings, reader) {
                if let Some(k) = r.pattern_reading(raw) {
                    let morae = nearmiss::morae(&k).len();
                    // Terms pair with an exact partner; a phrase must be long enough on its own.
                    let fuzzy_ok = match role {
                        Role::Term { group: 0, .. } => morae >= 2,
                        Role::Phrase(_) => morae >= 5,
                        _ => false,
                    };
                    if fuzzy && fuzzy_ok {
                        for v in nearmiss::variants(&k) {
                            near.add(v, (role, morae < 3));
                        }
                        // Only terms: a kanji read another way is a near miss like a changed mora.
                        if matches!(role, Role::Term { .. }) {
                            for alt in r.alt_readings(raw) {
                                for v in nearmiss::variants(&alt) {
                                    near.add(v, (role, morae < 3));
                                }
                                near.add(alt, (role, morae < 3));
                            }
                        }
                    }
                    reading.add(k, role);
                }
            }
        };
        for rule in set.rules.iter().filter(|r| r.base.lang == lang) {
            let t = targets.len() as u32;
            let rd = rule.base.readings;
            let fuzzy = match lang {
                Lang::Ja => rule.base.near_miss,
                Lang::En => rule.base.phonetic,
            };
            for p in &rule.phrases {
                add(p, Role::Phrase(t), rd, fuzzy);
            }
            for (n, near) in rule.near.iter().enumerate() {
                for (g, group) in near.terms.iter().enumerate() {
                    for p in group {
                        let role = Role::Term {
                            target: t,
                            near: n as u16,
                            group: g as u16,
                        };
                        add(p, role, rd, fuzzy);
                    }
                }
            }
            for p in &rule.base.except {
                add(p, Role::Except(t), true, false);
            }
            for p in &rule.base.cancel {
                add(p, Role::Cancel(t), true, false);
            }
            sounds.push(fuzzy && lang == Lang::En);
            context.push(
                rule.base
                    .context
                    .iter()
                    .map(|c| normalize_str(c, lang))
                    .collect(),
            );
            targets.push(Target {
                base: rule.base.clone(),
                kind: Kind::Claim {
                    category: rule.category,
                    severity: rule.severity,
                    windows: rule.near.iter().map(|n| n.window).collect(),
                    groups: rule.near.iter().map(|n| n.terms.len()).collect(),
                    ordered: rule.near.iter().map(|n| n.ordered).collect(),
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
                add(&phrase, role, o.base.readings, false);
            }
            // An exception may name any country ("designed in {country}": a process, not an origin).
            for p in origin::expand_except(o, &set.countries) {
                add(&p, Role::Except(t), true, false);
            }
            context.push(Vec::new());
            sounds.push(false);
            targets.push(Target {
                base: o.base.clone(),
                kind: Kind::Origin {
                    unverified_explanation: o.unverified_explanation.clone(),
                },
            });
        }
        let negation = set.negation.get(&lang).cloned().unwrap_or_default();
        for p in &negation.before {
            add(p, Role::NegBefore, true, false);
        }
        for p in &negation.after {
            add(p, Role::NegAfter, true, false);
        }
        for p in &negation.question_before {
            add(p, Role::QuestionBefore, true, false);
        }
        for p in &negation.question_after {
            add(p, Role::QuestionAfter, true, false);
        }
        Ok(Matcher {
            lang,
            targets,
            countries,
            surface: surface
                .build()?
                .unwrap_or((AhoCorasick::new([""; 0])?, Vec::new())),
            reading: if reader.is_some() {
                reading.build()?
            } else {
                None
            },
            nearmiss: near.build()?,
            phonetic: sound.build()?,
            sound_patterns: sound_patterns.patterns,
            context,
            sounds,
            negation,
        })
    }

    /// Heap bytes held by the automata (reported by the detector bench).
    pub fn automata_bytes(&self) -> usize {
        self.surface.0.memory_usage()
            + self.reading.as_ref().map_or(0, |(ac, _)| ac.memory_usage())
            + self
                .nearmiss
                .as_ref()
                .map_or(0, |(ac, _)| ac.memory_usage())
            + self
                .phonetic
                .as_ref()
                .map_or(0, |(ac, _)| ac.memory_usage())
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
        // Hits per target, targets in order, each target's hits in the order found (one sorted
        // list, not a map of lists: this runs on every utterance).
        let mut by_target: Vec<(u32, &Hit)> = Vec::with_capacity(hits.len());
        let (mut before, mut after) = (Vec::new(), Vec::new());
        let (mut q_before, mut q_after) = (Vec::new(), Vec::new());
        for h in &hits {
            match (h.role, h.role.target()) {
                (Role::NegBefore, _) => before.push(h.units.clone()),
                (Role::NegAfter, _) => after.push(h.units.clone()),
                (Role::QuestionBefore, _) => q_before.push(h.units.clone()),
                (Role::QuestionAfter, _) => q_after.push(h.units.clone()),
                (_, Some(t)) => by_target.push((t, h)),
                _ => {}
            }
        }
        by_target.sort_by_key(|(t, _)| *t);
        let sentence_of = |u: usize| norm.units[u].sentence;
        let cue_near = |span: &Range<usize>, before: &[Range<usize>], after: &[Range<usize>]| {
            let s = sentence_of(span.start);
            let e = sentence_of(span.end - 1);
            before.iter().any(|c| {
                c.end <= span.start
                    && span.start - c.end <= self.negation.before_window
                    && sentence_of(c.start) == s
                    // "It didn't clinically proven": a do-negation before a participle is broken
                    // grammar, ASR's rather than the speaker's, and cancels nothing.
                    && !(self.lang == Lang::En && context::broken_do_negation(&norm, c))
            }) || after.iter().any(|c| {
                c.start >= span.end
                    && c.start - span.end <= self.negation.after_window
                    && sentence_of(c.start) == e
            })
        };
        // 「消えるんですか」, not 「消えるってすごくないですか」 (rhetorical): right after the claim.
        let q_after_near = |span: &Range<usize>| {
            q_after.iter().any(|c| {
                c.start >= span.end
                    && c.start - span.end <= QUESTION_AFTER_WINDOW
                    && sentence_of(c.start) == sentence_of(span.end - 1)
            })
        };
        let questioned = |span: &Range<usize>| {
            cue_near(span, &q_before, &[])
                || q_after_near(span)
                || (self.lang == Lang::En
                    && context::asks(text, &norm.sentences[sentence_of(span.end - 1) as usize]))
        };
        let mut out = Vec::new();
        for group in by_target.chunk_by(|a, b| a.0 == b.0) {
            let t = group[0].0;
            let th = group.iter().map(|(_, h)| *h);
            let target = &self.targets[t as usize];
            let excepts: Vec<&Range<usize>> = th
                .clone()
                .filter(|h| matches!(h.role, Role::Except(_)))
                .map(|h| &h.orig)
                .collect();
            let cancels: Vec<u32> = th
                .clone()
                .filter(|h| matches!(h.role, Role::Cancel(_)))
                .map(|h| sentence_of(h.units.start))
                .collect();
            let is_origin = matches!(target.kind, Kind::Origin { .. });
            let usable: Vec<&Hit> = th
                .filter(|h| !matches!(h.role, Role::Except(_) | Role::Cancel(_)))
                .filter(|h| {
                    !excepts.iter().any(|e| {
                        // "grown and packed in Japan" is a claim that contains the process "packed
                        // in Japan"; the process alone is not.
                        let inside = h.orig.start <= e.start
                            && e.end <= h.orig.end
                            && h.orig.len() > e.len();
                        overlaps(e, &h.orig) && !(is_origin && inside)
                    })
                })
                .collect();
            let mut spans: Vec<(Range<usize>, Option<u16>)> = Vec::new();
            for h in &usable {
                match h.role {
                    Role::Phrase(_) => spans.push((h.units.clone(), None)),
                    // "Designed in Japan, made in China": a country and a "made" on either side of a
                    // pause belong to two clauses.
                    Role::Origin { country, .. }
                        if !context::spans_pause(&text[h.orig.clone()]) =>
                    {
                        spans.push((h.units.clone(), Some(country)))
                    }
                    _ => {}
                }
            }
            if let Kind::Claim {
                windows,
                groups,
                ordered,
                ..
            } = &target.kind
            {
                let ctx_ok = self.context[t as usize]
                    .iter()
                    .any(|c| norm.text.contains(c.as_str()));
                for (n, (&window, &ngroups)) in windows.iter().zip(groups).enumerate() {
                    let near = Near {
                        n: n as u16,
                        groups: ngroups,
                        window,
                        ordered: ordered[n],
                        short_ok: ctx_ok,
                    };
                    spans.extend(
                        near_spans(&usable, &near, self.lang, text, &norm)
                            .into_iter()
                            .map(|s| (s, None)),
                    );
                }
            }
            if target.base.negation {
                spans.retain(|(s, _)| !cue_near(s, &before, &after));
            }
            spans.retain(|(s, _)| !questioned(s) && !cancels.contains(&sentence_of(s.start)));
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
                let last = norm.sentences.len() - 1;
                let s = (sentence_of(span.start) as usize).min(last);
                let e = (sentence_of(span.end - 1) as usize).min(last);
                let tail = norm.units.len() - span.end;
                out.push(Candidate {
                    target: t as usize,
                    category,
                    severity,
                    country,
                    orig: norm.orig_of(span.clone()),
                    sentence: norm.sentences[s].start..norm.sentences[e].end,
                    // Only a language with negations that follow the claim (…治るわけではない),
                    // or a rule with cancel cues ("half price … already ended"), has a reason
                    // to wait; English negates before.
                    open_end: (!self.negation.after.is_empty() || !target.base.cancel.is_empty())
                        && !terminated
                        && e >= last
                        && tail <= self.negation.after_window,
                });
            }
        }
        dedupe(out)
    }

    /// Every pattern occurrence, on normalized text and (Japanese) on readings, that starts on a
    /// word boundary and stays within one sentence; near misses flagged as such.
    fn hits(&self, text: &str, norm: &Normalized, reader: Option<&Reader>) -> Vec<Hit> {
        let mut hits = Vec::with_capacity(64);
        let reading = reader
            .filter(|_| self.lang == Lang::Ja)
            .map(|r| r.reading(text));
        let morph_starts = reading.as_ref().map(|r| &r.starts);
        let bytes = norm.text.as_bytes();
        let one_sentence =
            |u: &Range<usize>| norm.units[u.start].sentence == norm.units[u.end - 1].sentence;
        for m in self.surface.0.find_overlapping_iter(&norm.text) {
            // English word boundaries are bytes of the normalized text: checked before any lookup
            // (most overlapping matches are inside longer words).
            if self.lang == Lang::En
                && !((m.start() == 0 || bytes[m.start() - 1] == b' ')
                    && (m.end() == bytes.len() || bytes[m.end()] == b' '))
            {
                continue;
            }
            let units = norm.units_of(m.range());
            if units.is_empty() || !one_sentence(&units) {
                continue;
            }
            let orig = norm.orig_of(units.clone());
            let bounded = match self.lang {
                Lang::En => true,
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
                    fuzz: Fuzz::Exact,
                });
            }
        }
        // Reading hits map back through the morphemes they cover.
        let on_reading = |rd: &super::reading::Reading, range: Range<usize>| {
            let orig = rd.aligned(range)?;
            let start = norm.units.partition_point(|u| u.orig.start < orig.start);
            let end = norm.units.partition_point(|u| u.orig.start < orig.end);
            let units = start..end;
            (!units.is_empty() && one_sentence(&units)).then_some((units, orig))
        };
        if let (Some((ac, roles)), Some(rd)) = (&self.reading, &reading) {
            for m in ac.find_overlapping_iter(&rd.text) {
                let Some((units, orig)) = on_reading(rd, m.range()) else {
                    continue;
                };
                for &role in &roles[m.pattern().as_usize()] {
                    hits.push(Hit {
                        role,
                        units: units.clone(),
                        orig: orig.clone(),
                        fuzz: Fuzz::Exact,
                    });
                }
            }
        }
        if let (Some((ac, roles)), Some(rd)) = (&self.nearmiss, &reading) {
            for m in ac.find_overlapping_iter(&rd.text) {
                let Some((units, orig)) = on_reading(rd, m.range()) else {
                    continue;
                };
                // ASR's near misses are words (趣味, 結構値), not a particle and the next word
                // (に効き read ニキキ is not ニキビ).
                if text[orig.clone()].starts_with(|c: char| matches!(c, '\u{3041}'..='\u{3096}')) {
                    continue;
                }
                for &(role, short) in &roles[m.pattern().as_usize()] {
                    hits.push(Hit {
                        role,
                        units: units.clone(),
                        orig: orig.clone(),
                        fuzz: if short { Fuzz::NearShort } else { Fuzz::Near },
                    });
                }
            }
        }
        // Sound-alikes are looked for only around an exact word that could vouch for one: an
        // exact term of a rule that matches by sound, or a word of such a phrase.
        let around: Vec<Range<usize>> = hits
            .iter()
            .filter(|h| match h.role {
                Role::Anchor => true,
                Role::Term { target, .. } => self.sounds[target as usize],
                _ => false,
            })
            .map(|h| {
                let start = norm.starts[h.units.start];
                let end = norm.starts.get(h.units.end).copied().unwrap_or(bytes.len());
                start.saturating_sub(phonetic::REACH)..end + phonetic::REACH
            })
            .collect();
        if let (Some((ac, roles)), false) = (&self.phonetic, around.is_empty()) {
            let keys = phonetic::KeyText::new(&norm.text, &around);
            for m in ac.find_overlapping_iter(&keys.text) {
                let Some(range) = keys.aligned(m.range()) else {
                    continue;
                };
                let heard = &norm.text[range.clone()];
                let units = norm.units_of(range);
                if units.is_empty() || !one_sentence(&units) {
                    continue;
                }
                let orig = norm.orig_of(units.clone());
                // Keys of one pattern's words often serve several roles: judge each pattern once.
                let mut judged: Option<(u32, bool)> = None;
                for &(role, p) in &roles[m.pattern().as_usize()] {
                    let ok = match judged {
                        Some((q, ok)) if q == p => ok,
                        _ => {
                            let ok = phonetic::accept(&self.sound_patterns[p as usize], heard);
                            judged = Some((p, ok));
                            ok
                        }
                    };
                    if ok {
                        hits.push(Hit {
                            role,
                            units: units.clone(),
                            orig: orig.clone(),
                            fuzz: Fuzz::Near,
                        });
                    }
                }
            }
        }
        hits
    }
}

/// One `[[rule.near]]` (or `[[compose]]`) as the pairing needs it.
struct Near {
    n: u16,
    groups: usize,
    window: usize,
    ordered: bool,
    /// The utterance has a context word: near misses of two-mora terms may count.
    short_ok: bool,
}

/// Largest gap (normalized characters) between a near miss and its exact partner: a particle
/// (シミ|が|消える) or a short word ("heels | acne scars"), so the whole phrase is there.
fn fuzzy_gap(lang: Lang) -> usize {
    match lang {
        Lang::Ja => 2,
        Lang::En => 6,
    }
}

/// Co-occurrences of `near`: for each leftmost term (of the first group when ordered), the nearest
/// term of every group after it in the same sentence; a match when the gap between the first term's
/// end and the last term's start is within the window. At most one term may be a near miss, and
/// then it must sit right next to its partner. English also pairs a term ending a question with one
/// opening the next sentence ("Those dark circles? Gone in a week.").
fn near_spans(
    hits: &[&Hit],
    near: &Near,
    lang: Lang,
    text: &str,
    norm: &Normalized,
) -> Vec<Range<usize>> {
    let mut terms: Vec<(u16, &Range<usize>, Fuzz)> = hits
        .iter()
        .filter_map(|h| match h.role {
            Role::Term { near: n, group, .. } if n == near.n => Some((group, &h.units, h.fuzz)),
            _ => None,
        })
        .filter(|(_, _, f)| *f != Fuzz::NearShort || near.short_ok)
        .collect();
    terms.sort_by_key(|(_, u, _)| (u.start, u.end));
    let mut out = Vec::new();
    for (i, &(g0, anchor, _)) in terms.iter().enumerate() {
        if near.ordered && g0 != 0 {
            continue;
        }
        let sentence = norm.units[anchor.start].sentence;
        let joins_next = lang == Lang::En && context::topic_question(text, norm, anchor);
        let mut chosen: Vec<(&Range<usize>, Fuzz)> = Vec::with_capacity(near.groups);
        let mut after = anchor.start;
        for g in 0..near.groups as u16 {
            let nearest = terms[i..]
                .iter()
                .filter(|(tg, u, _)| {
                    let s = norm.units[u.start].sentence;
                    *tg == g
                        && (s == sentence || (joins_next && g != g0 && s == sentence + 1))
                        && (!near.ordered || u.start >= after)
                })
                .map(|(_, u, f)| (*u, *f))
                .next();
            match nearest {
                Some(c) => {
                    after = c.0.end;
                    chosen.push(c);
                }
                None => break,
            }
        }
        if chosen.len() < near.groups {
            continue;
        }
        let fuzzy = chosen.iter().filter(|c| c.1 != Fuzz::Exact).count();
        // A near miss must be a word of its own, not another reading of its partner's words.
        let overlapping = chosen
            .iter()
            .enumerate()
            .any(|(a, x)| chosen[a + 1..].iter().any(|y| overlaps(x.0, y.0)));
        if fuzzy > 0 && overlapping {
            continue;
        }
        let window = match fuzzy {
            0 => near.window,
            1 => fuzzy_gap(lang),
            _ => continue,
        };
        let first_end = chosen.iter().map(|c| c.0.end).min().unwrap_or(anchor.end);
        let last_start = chosen
            .iter()
            .map(|c| c.0.start)
            .max()
            .unwrap_or(anchor.start);
        if last_start.saturating_sub(first_end) <= window {
            let end = chosen.iter().map(|c| c.0.end).max().unwrap_or(anchor.end);
            out.push(anchor.start..end);
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::pack;
    use crate::detect::reading::tests::reader;
    use std::sync::OnceLock;

    /// Packs written for these tests: one compose per language, a pricing rule with a cancel cue,
    /// negation and question cues, an origin rule with a process exception.
    const PACKS: &[(&str, &str)] = &[
        (
            "countries.toml",
            "[[country]]\ncode = \"JP\"\nja = [\"日本\"]\nen = [\"Japan\"]\n\
             [[country]]\ncode = \"CN\"\nja = [\"中国\"]\nen = [\"China\"]\n",
        ),
        (
            "en.toml",
            r#"[pack]
id = "en"
lang = "en"
family = "test"
cancel = ["already ended"]
[[compose]]
id = "en_c"
category = "efficacy"
legal_basis = "x"
explanation = "x"
suggestion = "x"
conditions = ["acne scars", "wrinkles", "dark circles", "cholesterol"]
outcomes = ["heals", "erases", "gone", "came way down"]
[[rule]]
id = "en_p"
category = "pricing"
legal_basis = "x"
explanation = "x"
suggestion = "x"
phrases = ["half price"]
[[rule]]
id = "en_x"
category = "exaggeration"
legal_basis = "x"
explanation = "x"
suggestion = "x"
phrases = ["clinically proven", "side effects free"]
[[origin]]
id = "en_o"
legal_basis = "x"
explanation = "x"
unverified_explanation = "x"
suggestion = "x"
templates = ["made in {country}", "{country} made"]
except = ["designed in {country}"]
[negation]
before = ["not", "didnt", "doesnt"]
question_before = ["asks if"]
"#,
        ),
        (
            "ja.toml",
            r#"[pack]
id = "ja"
lang = "ja"
family = "test"
[[compose]]
id = "ja_c"
category = "efficacy"
legal_basis = "x"
explanation = "x"
suggestion = "x"
order = "condition_first"
context = ["塗"]
conditions = ["シミ", "血糖値", "副作用"]
outcomes = ["消え", "下が", "ありません"]
[[origin]]
id = "ja_o"
legal_basis = "x"
explanation = "x"
unverified_explanation = "x"
suggestion = "x"
templates = ["{country}製造", "{country}製"]
[negation]
after = ["わけでは"]
question_after = ["ですか"]
"#,
        ),
    ];

    fn matchers() -> &'static (Matcher, Matcher) {
        static M: OnceLock<(Matcher, Matcher)> = OnceLock::new();
        M.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            for (name, text) in PACKS {
                std::fs::write(dir.path().join(name), text).unwrap();
            }
            let set = pack::load_dir(dir.path()).unwrap();
            (
                Matcher::new(&set, Lang::Ja, Some(reader())).unwrap(),
                Matcher::new(&set, Lang::En, None).unwrap(),
            )
        })
    }

    /// The rule ids (origins with their spoken country) found in `text`.
    fn found(text: &str, lang: Lang, declared: Option<&str>) -> Vec<String> {
        let (ja, en) = matchers();
        let m = if lang == Lang::Ja { ja } else { en };
        m.scan(text, Some(reader()), declared)
            .iter()
            .map(|c| {
                let id = &m.targets[c.target].base.id;
                match &c.country {
                    Some(code) => format!("{id}:{code}"),
                    None => id.clone(),
                }
            })
            .collect()
    }

    #[test]
    fn table() {
        // (text, lang, declared origin, rule ids found)
        let cases: &[(&str, Lang, Option<&str>, &[&str])] = &[
            // Compose: either order in English, condition first in Japanese.
            ("it heals acne scars", Lang::En, None, &["en_c"]),
            ("my cholesterol came way down", Lang::En, None, &["en_c"]),
            ("gone are the wrinkles", Lang::En, None, &["en_c"]),
            ("血糖値が下がった", Lang::Ja, None, &["ja_c"]),
            ("下がった血糖値", Lang::Ja, None, &[]),
            // Topic question: the condition alone asks, the next sentence answers.
            (
                "Those dark circles? Gone in a week.",
                Lang::En,
                None,
                &["en_c"],
            ),
            ("Do you have dark circles? Gone now.", Lang::En, None, &[]),
            // Sound-alikes next to an exact partner; not far from it, not alone.
            ("it heels acne scars", Lang::En, None, &["en_c"]),
            ("this raises wrinkles", Lang::En, None, &["en_c"]),
            (
                "it heels every single one of those acne scars",
                Lang::En,
                None,
                &[],
            ),
            ("clinicly proven", Lang::En, None, &["en_x"]),
            // Near-miss readings: the whole phrase, with its verb, right there.
            ("塗るだけで趣味が消える", Lang::Ja, None, &["ja_c"]),
            ("忙しくて趣味が消える", Lang::Ja, None, &[]), // two-mora term, no context word
            ("結構値が下がった", Lang::Ja, None, &["ja_c"]),
            ("結構値の話をしたら下がった", Lang::Ja, None, &[]), // not right next to it
            ("福佐業はありません", Lang::Ja, None, &["ja_c"]),
            ("意味が消える", Lang::Ja, None, &[]), // イ is not close to シ
            // Negation, and a broken one.
            ("it does not heal acne scars", Lang::En, None, &[]),
            ("It didnt clinically proven", Lang::En, None, &["en_x"]),
            ("血糖値が下がるわけではありません", Lang::Ja, None, &[]),
            // Questions.
            ("does it erase wrinkles?", Lang::En, None, &[]),
            ("chat asks if it's made in Japan", Lang::En, Some("CN"), &[]),
            ("日本製ですか", Lang::Ja, Some("CN"), &[]),
            // Cancel: a sale that already ended.
            ("the half price sale already ended", Lang::En, None, &[]),
            ("half price today", Lang::En, None, &["en_p"]),
            // Processes and pauses in origins.
            (
                "Designed in Japan, made in China.",
                Lang::En,
                Some("CN"),
                &[],
            ),
            ("designed in Japan made in China", Lang::En, Some("CN"), &[]),
            ("made in Japan", Lang::En, Some("CN"), &["en_o:JP"]),
            ("デザインは日本、製造は中国です", Lang::Ja, Some("CN"), &[]),
            ("日本製造です", Lang::Ja, Some("CN"), &["ja_o:JP"]),
        ];
        for (text, lang, declared, want) in cases {
            assert_eq!(found(text, *lang, *declared), *want, "{text}");
        }
    }
}
