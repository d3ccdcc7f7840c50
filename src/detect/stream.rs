//! Streaming detection over transcript segments, as live mode feeds them. The unfinished tail of
//! earlier segments is carried over and scanned again with each new segment, so a claim split
//! across a segment boundary still matches. Claims already judged are not judged again: an alert
//! is raised once (a claim overlapping an earlier alert of its rule or category is skipped), and a
//! claim lying wholly in carried text was judged when that text arrived. A claim at the very end of
//! an unfinished sentence waits for the next segment, which may negate it (…治る / わけではありません).

use std::ops::Range;

use super::alert::{Alert, Category, Lang};
use super::normalize::ABBREVIATIONS;
use super::utterance::{span_time, TokenTime, Utterance};
use super::Detector;

/// Text of one segment (or the carried tail of one) with its times.
#[derive(Debug, Clone)]
struct Piece {
    text: String,
    /// Byte offset of `text` in the whole stream (segments counted one after another).
    global: u64,
    start_s: f64,
    end_s: f64,
    /// When each token of `text` was said (byte spans of `text`); empty when unknown.
    times: Vec<TokenTime>,
}

impl Piece {
    /// When bytes `range` of this piece were said: their tokens' times, else the whole piece.
    fn time_of(&self, range: Range<usize>) -> (f64, f64) {
        span_time(&self.times, range).unwrap_or((self.start_s, self.end_s))
    }
}

#[derive(Debug, Clone)]
struct Emitted {
    target: usize,
    category: Category,
    global: Range<u64>,
}

/// A claim held back until the next segment shows whether it is negated.
#[derive(Debug, Clone, PartialEq)]
struct Deferred {
    target: usize,
    country: Option<String>,
    global_start: u64,
}

/// Consumes transcript segments and returns alerts as soon as claims are certain. A clone
/// scans text that may still change (a phrase still being spoken) without touching this one.
#[derive(Clone)]
pub struct DetectorStream {
    det: Detector,
    lang: Lang,
    declared: Option<String>,
    pieces: Vec<Piece>,
    emitted: Vec<Emitted>,
    deferred: Vec<Deferred>,
    next_global: u64,
    next_id: usize,
    /// Characters of unfinished text carried to the next scan.
    carry_chars: usize,
}

impl std::fmt::Debug for DetectorStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DetectorStream")
            .field("lang", &self.lang)
            .field("declared", &self.declared)
            .field("carried", &self.pieces.len())
            .finish()
    }
}

impl DetectorStream {
    pub(crate) fn new(det: Detector, lang: Lang, declared: Option<&str>) -> DetectorStream {
        let declared = declared.and_then(|d| det.country_code(d));
        let carry_chars = det.matcher(lang).reach();
        DetectorStream {
            det,
            lang,
            declared,
            pieces: Vec::new(),
            emitted: Vec::new(),
            deferred: Vec::new(),
            next_global: 0,
            next_id: 1,
            carry_chars,
        }
    }

    /// The product's declared origin (ISO code) as it stands now.
    pub fn declared_origin(&self) -> Option<&str> {
        self.declared.as_deref()
    }

    /// Changes the product's declared origin for the segments that follow.
    pub fn set_declared_origin(&mut self, declared: Option<&str>) {
        self.declared = declared.and_then(|d| self.det.country_code(d));
    }

    /// Scans a new utterance (a transcript segment) together with the carried tail; returns the
    /// new alerts. Takes anything that converts into an [`Utterance`] (a transcript `Segment`
    /// converts in `transcribe/segment.rs`), so callers pass what they have.
    pub fn push(&mut self, seg: impl Into<Utterance>) -> Vec<Alert> {
        let seg: Utterance = seg.into();
        let text = seg.text.trim();
        if text.is_empty() {
            return Vec::new();
        }
        let lead = seg.text.len() - seg.text.trim_start().len();
        self.pieces.push(Piece {
            text: text.to_string(),
            global: self.next_global,
            start_s: seg.start_s,
            end_s: seg.end_s,
            times: shift_times(&seg.token_times, lead),
        });
        // +1: segments never run into each other's offsets.
        self.next_global += text.len() as u64 + 1;
        self.process(false)
    }

    /// Ends the stream: claims held back for a possible negation are raised now.
    pub fn finish(&mut self) -> Vec<Alert> {
        let out = self.process(true);
        self.pieces.clear();
        self.deferred.clear();
        self.emitted.clear();
        out
    }

    /// The carried pieces joined (English with spaces) and each piece's offset in the join.
    fn joined(&self) -> (String, Vec<usize>) {
        let mut text = String::new();
        let mut offs = Vec::with_capacity(self.pieces.len());
        for (i, p) in self.pieces.iter().enumerate() {
            if i > 0 && self.lang == Lang::En {
                text.push(' ');
            }
            offs.push(text.len());
            text.push_str(&p.text);
        }
        (text, offs)
    }

    fn process(&mut self, finishing: bool) -> Vec<Alert> {
        if self.pieces.is_empty() {
            return Vec::new();
        }
        let (text, offs) = self.joined();
        // Finishing adds no text: only held-back claims may still be raised.
        let new_start = if finishing {
            text.len()
        } else {
            offs[offs.len() - 1]
        };
        let piece_of = |b: usize| offs.partition_point(|&o| o <= b).saturating_sub(1);
        let global = |b: usize| {
            let i = piece_of(b);
            self.pieces[i].global + (b - offs[i]).min(self.pieces[i].text.len()) as u64
        };
        let declared = self.declared.clone();
        let mut out = Vec::new();
        let mut deferred = Vec::new();
        let mut raised: Vec<(usize, Option<String>)> = Vec::new();
        for c in self.det.scan(&text, self.lang, declared.as_deref()) {
            let g = global(c.orig.start)..global(c.orig.end.max(c.orig.start + 1) - 1) + 1;
            let seen = self.emitted.iter().any(|e| {
                (e.target == c.target || e.category == c.category)
                    && e.global.start < g.end
                    && g.start < e.global.end
            });
            let key = Deferred {
                target: c.target,
                country: c.country.clone(),
                global_start: g.start,
            };
            let held = self.deferred.contains(&key);
            if seen || (c.orig.end <= new_start && !held) {
                continue;
            }
            if c.open_end && !finishing {
                deferred.push(key);
                continue;
            }
            // One alert per claim: the first hit of each rule (and country) in this scan.
            if raised.contains(&(c.target, c.country.clone())) {
                continue;
            }
            raised.push((c.target, c.country.clone()));
            let first = piece_of(c.orig.start);
            let last = piece_of(c.orig.end.max(c.orig.start + 1) - 1);
            // Dated by the words of the claim: a segment can run for many seconds.
            let times = (first..=last)
                .map(|i| {
                    let local = c.orig.start.saturating_sub(offs[i])
                        ..(c.orig.end - offs[i]).min(self.pieces[i].text.len());
                    self.pieces[i].time_of(local)
                })
                .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
                .unwrap_or((self.pieces[first].start_s, self.pieces[last].end_s));
            let alert = self.det.alert(
                &c,
                &text,
                self.lang,
                declared.as_deref(),
                self.next_id,
                Some(times),
            );
            self.next_id += 1;
            self.emitted.push(Emitted {
                target: c.target,
                category: c.category,
                global: g,
            });
            out.push(alert);
        }
        self.deferred = deferred;
        if !finishing {
            self.trim(&text, &offs);
        }
        out
    }

    /// Keeps only what a later claim can still reach: the unfinished last sentence, at most
    /// `carry_chars` characters of it, and anything held back.
    fn trim(&mut self, text: &str, offs: &[usize]) {
        let sentence_start = last_sentence_start(text);
        let chars = text.char_indices().count();
        let tail_start = if chars > self.carry_chars {
            text.char_indices()
                .nth(chars - self.carry_chars)
                .map_or(0, |(i, _)| i)
        } else {
            0
        };
        let mut cut = sentence_start.max(tail_start);
        for d in &self.deferred {
            if let Some(i) = self.pieces.iter().position(|p| {
                d.global_start >= p.global && d.global_start <= p.global + p.text.len() as u64
            }) {
                cut = cut.min(offs[i] + (d.global_start - self.pieces[i].global) as usize);
            }
        }
        let mut kept = Vec::new();
        for (p, &off) in self.pieces.iter().zip(offs) {
            let end = off + p.text.len();
            if end <= cut {
                continue;
            }
            let skip = cut.saturating_sub(off);
            kept.push(Piece {
                text: p.text[skip..].to_string(),
                global: p.global + skip as u64,
                start_s: p.start_s,
                end_s: p.end_s,
                times: shift_times(&p.times, skip),
            });
        }
        self.pieces = kept;
        let floor = self.pieces.first().map_or(self.next_global, |p| p.global);
        self.emitted.retain(|e| e.global.end > floor);
    }
}

/// `times` for the text with its first `cut` bytes removed.
fn shift_times(times: &[TokenTime], cut: usize) -> Vec<TokenTime> {
    times
        .iter()
        .filter(|t| t.bytes.end > cut)
        .map(|t| TokenTime {
            bytes: t.bytes.start.saturating_sub(cut)..t.bytes.end - cut,
            ..t.clone()
        })
        .collect()
}

/// Byte offset where the last (unfinished) sentence starts: after the last 。！？! or newline, or
/// a '.' followed by a space. Cheaper than normalizing the whole carry again.
fn last_sentence_start(text: &str) -> usize {
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next_blank = chars.peek().is_none_or(|(_, n)| n.is_whitespace());
        let dot_end = c == '.' && next_blank && !abbreviation_before(&text[..i]);
        // A '?' does not cut the carry: "Those dark circles? Gone in a week." pairs across it.
        if matches!(c, '。' | '！' | '？' | '!' | '｡' | '\n') || dot_end {
            start = i + c.len_utf8();
        }
    }
    start
}

/// The same test the normalizer applies: "F.D.A." and "Dr." do not end sentences.
fn abbreviation_before(before: &str) -> bool {
    let mut word: Vec<char> = before
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric())
        .collect();
    word.reverse();
    let word: String = word.into_iter().collect::<String>().to_lowercase();
    let single_letter = word.len() == 1 && word.chars().all(|c| c.is_ascii_alphabetic());
    single_letter || ABBREVIATIONS.contains(&word.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::tests::example;

    fn seg(start_s: f64, text: &str) -> Utterance {
        Utterance::new(start_s, start_s + 1.0, text)
    }

    /// Feeds segments; returns (segment index the alert came at, category, text, start, end).
    fn run(
        lang: Lang,
        origin: Option<&str>,
        texts: &[&str],
    ) -> Vec<(usize, String, String, f64, f64)> {
        let mut s = example().stream(lang, origin);
        let mut out = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            for a in s.push(seg(i as f64, t)) {
                out.push((
                    i,
                    a.category.to_string(),
                    a.text,
                    a.start_s.unwrap(),
                    a.end_s.unwrap(),
                ));
            }
        }
        for a in s.finish() {
            out.push((
                texts.len(),
                a.category.to_string(),
                a.text,
                a.start_s.unwrap(),
                a.end_s.unwrap(),
            ));
        }
        out
    }

    #[test]
    fn claim_split_across_segments() {
        let got = run(Lang::Ja, None, &["このサプリでがんが", "治ります。"]);
        assert_eq!(
            got,
            vec![(1, "efficacy".into(), "がんが治り".into(), 0.0, 2.0)]
        );
        let got = run(Lang::Ja, Some("CN"), &["これは日本", "製です。"]);
        assert_eq!(
            got,
            vec![(1, "false_origin".into(), "日本製".into(), 0.0, 2.0)]
        );
        let got = run(Lang::En, Some("CN"), &["it is made", "in Japan."]);
        assert_eq!(
            got,
            vec![(1, "false_origin".into(), "made in Japan".into(), 0.0, 2.0)]
        );
    }

    #[test]
    fn no_duplicates_when_carry_is_rescanned() {
        let got = run(
            Lang::Ja,
            None,
            &["がんが治る。", "本当に", "すごいです", "がんが治る。"],
        );
        assert_eq!(got.len(), 2, "{got:?}");
        // Same rule again in the unfinished sentence: overlapping the first alert, so not twice.
        let got = run(Lang::Ja, None, &["がんが治る、", "本当に治る"]);
        assert_eq!(got.len(), 1, "{got:?}");
    }

    #[test]
    fn negation_in_the_next_segment_suppresses() {
        let got = run(Lang::Ja, None, &["がんが治る", "わけではありません。"]);
        assert!(got.is_empty(), "{got:?}");
        // Held back, then raised by the next segment or by finish().
        let got = run(Lang::Ja, None, &["がんが治る", "と評判です。"]);
        assert_eq!(got.len(), 1, "{got:?}");
        let got = run(Lang::Ja, None, &["がんが治る"]);
        assert_eq!(
            got,
            vec![(1, "efficacy".into(), "がんが治る".into(), 0.0, 1.0)]
        );
    }

    /// A segment whose every character is a token said 0.5 s after the one before.
    fn timed_seg(start_s: f64, text: &str) -> Utterance {
        let token_times: Vec<TokenTime> = text
            .char_indices()
            .enumerate()
            .map(|(n, (i, c))| TokenTime {
                bytes: i..i + c.len_utf8(),
                start_s: start_s + n as f64 * 0.5,
                end_s: start_s + n as f64 * 0.5 + 0.4,
            })
            .collect();
        let end_s = token_times.last().map_or(start_s, |t| t.end_s);
        Utterance {
            token_times,
            ..Utterance::new(start_s, end_s, text)
        }
    }

    #[test]
    fn alerts_are_dated_by_the_words_of_the_claim() {
        // A long segment: the claim is its last words, seconds after the segment starts.
        let mut s = example().stream(Lang::En, Some("CN"));
        let text = "Okay everyone this lovely mug is made in Japan.";
        let a = s.push(timed_seg(10.0, text));
        let at = text.find("made").unwrap() as f64 * 0.5 + 10.0;
        let end = (text.find("Japan").unwrap() + 4) as f64 * 0.5 + 10.4;
        assert_eq!(a.len(), 1, "{a:?}");
        assert_eq!((a[0].start_s, a[0].end_s), (Some(at), Some(end)));

        // Split across segments, after the first has been carried (and trimmed).
        let mut s = example().stream(Lang::Ja, Some("CN"));
        assert!(s.push(timed_seg(0.0, "こんにちは。これは日本")).is_empty());
        let a = s.push(timed_seg(20.0, "製です。"));
        assert_eq!(a.len(), 1, "{a:?}");
        assert_eq!((a[0].start_s, a[0].end_s), (Some(4.5), Some(20.4)));
    }

    #[test]
    fn declared_origin_can_change() {
        let mut s = example().stream(Lang::Ja, Some("JP"));
        assert!(s.push(seg(0.0, "日本製です。")).is_empty());
        s.set_declared_origin(Some("CN"));
        let a = s.push(seg(1.0, "日本製です。"));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].category, Category::FalseOrigin);
    }
}
