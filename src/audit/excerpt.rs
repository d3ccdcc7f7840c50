//! What the seller said around a claim, cut only where a reader would cut it.
//!
//! Input: a file's transcript segments and one alert (or, for [`excerpt`], a text, the claim's
//! byte range in it and where the text may be cut). Output: an [`Excerpt`] — the words before
//! the claim, the claim, the words after — that keeps the claim's whole sentence when it fits,
//! and otherwise cuts at clause punctuation, else at a word (English) or morpheme (Japanese,
//! lindera) boundary, never inside a word; `cut_before`/`cut_after` say where an ellipsis goes.
//!
//! The text is rebuilt from the transcript rather than taken from [`Alert::context`]: the
//! detector's context is the sentence of its rolling scan window, whose carried tail starts
//! wherever a character budget fell (「すしかもこれ…」).

use std::ops::Range;

use crate::detect::reading::Reader;
use crate::detect::{Alert, Lang};
use crate::transcribe::Segment;

/// Characters kept on each side of a claim when its sentence is longer.
pub const JA_BUDGET: usize = 40;
pub const EN_BUDGET: usize = 90;

/// The claim and its surroundings, trimmed of edge whitespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt {
    pub before: String,
    pub claim: String,
    pub after: String,
    /// Text was left out before `before` inside its sentence: show an ellipsis.
    pub cut_before: bool,
    pub cut_after: bool,
}

/// Byte offsets where a text may be cut: `sentences` where a sentence starts besides after
/// 。!? (Japanese pauses: Whisper writes a space or starts a new segment where punctuation would
/// be), `clauses` after clause punctuation (preferred cuts), `words` at word or morpheme edges.
/// All sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breaks {
    pub sentences: Vec<usize>,
    pub clauses: Vec<usize>,
    pub words: Vec<usize>,
}

/// Ends a sentence: the cut there needs no ellipsis.
fn ends_sentence(text: &str, at: usize, c: char) -> bool {
    match c {
        '。' | '！' | '？' | '!' | '?' | '\n' => true,
        // "Dr. Smith" is rare in sales talk; "3.5" has no space after the dot.
        '.' => text[at + 1..].starts_with(char::is_whitespace) || at + 1 == text.len(),
        _ => false,
    }
}

fn is_clause_mark(c: char) -> bool {
    matches!(c, '、' | '，' | ',' | ';' | '；' | ':' | '：' | '…' | '—')
}

impl Breaks {
    /// English: words end at whitespace; clauses after `,` `;` `:`.
    pub fn english(text: &str) -> Breaks {
        let mut breaks = Breaks::default();
        let mut prev_space = true;
        for (at, c) in text.char_indices() {
            let space = c.is_whitespace();
            if space != prev_space {
                breaks.words.push(at);
            }
            if is_clause_mark(c) {
                breaks.clauses.push(at + c.len_utf8());
            }
            prev_space = space;
        }
        breaks.words.push(text.len());
        breaks
    }

    /// Japanese: morpheme edges (`morphs`, byte ranges from [`Reader::morphs`]); clauses after
    /// 、 and the like; sentences at the spaces Whisper writes at pauses and at `joins` (where
    /// one segment's text ends and the next one's starts).
    pub fn japanese(text: &str, morphs: &[Range<usize>], joins: &[usize]) -> Breaks {
        let mut breaks = Breaks::default();
        for m in morphs {
            breaks.words.push(m.start);
            breaks.words.push(m.end);
        }
        for (at, c) in text.char_indices() {
            if is_clause_mark(c) {
                breaks.clauses.push(at + c.len_utf8());
            }
            if c.is_whitespace() {
                breaks.sentences.push(at);
            }
        }
        breaks.sentences.extend_from_slice(joins);
        breaks.sentences.sort_unstable();
        breaks.words.sort_unstable();
        breaks.words.dedup();
        breaks
    }
}

/// Byte offset `n` characters before (negative) or after `from`, clamped to the text.
fn chars_from(text: &str, from: usize, n: isize) -> usize {
    if n < 0 {
        text[..from]
            .char_indices()
            .rev()
            .nth((-n - 1) as usize)
            .map_or(0, |(at, _)| at)
    } else {
        text[from..]
            .char_indices()
            .nth(n as usize)
            .map_or(text.len(), |(at, _)| from + at)
    }
}

/// The excerpt of `text` around `claim` (a byte range on char boundaries): the claim's whole
/// sentence when each side fits in `budget` characters, else cut at the farthest clause break
/// within the budget, else the farthest word break, else at the claim itself.
pub fn excerpt(text: &str, claim: Range<usize>, budget: usize, breaks: &Breaks) -> Excerpt {
    let sentence_start = text[..claim.start]
        .char_indices()
        .rev()
        .find(|&(at, c)| ends_sentence(text, at, c))
        .map_or(0, |(at, c)| at + c.len_utf8())
        .max(
            breaks
                .sentences
                .iter()
                .copied()
                .filter(|&b| b <= claim.start)
                .max()
                .unwrap_or(0),
        );
    let sentence_end = text[claim.end..]
        .char_indices()
        .find(|&(at, c)| ends_sentence(text, claim.end + at, c))
        .map_or(text.len(), |(at, c)| claim.end + at + c.len_utf8())
        .min(
            breaks
                .sentences
                .iter()
                .copied()
                .find(|&b| b >= claim.end)
                .unwrap_or(text.len()),
        );

    let (start, cut_before) = if text[sentence_start..claim.start].chars().count() <= budget {
        (sentence_start, false)
    } else {
        let lowest = chars_from(text, claim.start, -(budget as isize));
        let within = |at: &&usize| (lowest..=claim.start).contains(*at);
        let at = breaks
            .clauses
            .iter()
            .find(within)
            .or_else(|| breaks.words.iter().find(within))
            .copied()
            .unwrap_or(claim.start);
        (at, true)
    };
    let (end, cut_after) = if text[claim.end..sentence_end].chars().count() <= budget {
        (sentence_end, false)
    } else {
        let highest = chars_from(text, claim.end, budget as isize);
        let within = |at: &&usize| (claim.end..=highest).contains(*at);
        let at = breaks
            .clauses
            .iter()
            .rev()
            .find(within)
            .or_else(|| breaks.words.iter().rev().find(within))
            .copied()
            .unwrap_or(claim.end);
        (at, true)
    };
    Excerpt {
        before: text[start..claim.start].trim_start().to_string(),
        claim: text[claim.clone()].to_string(),
        after: text[claim.end..end].trim_end().to_string(),
        cut_before,
        cut_after,
    }
}

/// Where a claim was said: the transcript text around it, the claim's byte range in it, and the
/// offsets where one segment's text follows another's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub text: String,
    pub claim: Range<usize>,
    pub joins: Vec<usize>,
}

/// Where `alert` was said in the transcript: the text of the segments around its time (joined as
/// the detector joined them: Japanese without a space) and the claim's byte range in it. `None`
/// when the transcript does not hold the words (a claim raised on a second listen).
pub fn locate(segments: &[Segment], alert: &Alert) -> Option<Located> {
    if alert.text.is_empty() {
        return None;
    }
    let (from, to) = match (alert.start_s, alert.end_s) {
        (Some(start), Some(end)) => (start - 0.5, end + 0.5),
        _ => (f64::NEG_INFINITY, f64::INFINITY),
    };
    let core: Vec<usize> = (0..segments.len())
        .filter(|&i| segments[i].start_s < to && from < segments[i].end_s)
        .collect();
    let (first, last) = match (core.first(), core.last()) {
        (Some(&f), Some(&l)) => (f.saturating_sub(1), (l + 1).min(segments.len() - 1)),
        _ => return None,
    };
    let sep = if alert.lang == Lang::Ja { "" } else { " " };
    let mut text = String::new();
    let mut core_start = 0;
    let mut joins = Vec::new();
    for (i, segment) in segments.iter().enumerate().take(last + 1).skip(first) {
        if !text.is_empty() {
            text.push_str(sep);
            joins.push(text.len());
        }
        if i == core[0] {
            core_start = text.len();
        }
        text.push_str(segment.text.trim());
    }
    // The occurrence said at the alert's time: the first one from its segments on.
    let at = text[core_start..]
        .find(&alert.text)
        .map(|at| core_start + at)
        .or_else(|| text.find(&alert.text))?;
    Some(Located {
        claim: at..at + alert.text.len(),
        text,
        joins,
    })
}

/// The excerpt a report shows for `alert`: from the transcript when it holds the words, else
/// from the detector's context (second listen), else the claim alone.
pub fn said(segments: &[Segment], alert: &Alert, reader: &Reader) -> Excerpt {
    let Located { text, claim, joins } = locate(segments, alert)
        .or_else(|| {
            let context = alert.context.trim();
            context.find(&alert.text).map(|at| Located {
                text: context.to_string(),
                claim: at..at + alert.text.len(),
                joins: Vec::new(),
            })
        })
        .unwrap_or_else(|| Located {
            text: alert.text.clone(),
            claim: 0..alert.text.len(),
            joins: Vec::new(),
        });
    let (breaks, budget) = match alert.lang {
        Lang::Ja => {
            let morphs: Vec<Range<usize>> =
                reader.morphs(&text).into_iter().map(|m| m.range).collect();
            (Breaks::japanese(&text, &morphs, &joins), JA_BUDGET)
        }
        Lang::En => (Breaks::english(&text), EN_BUDGET),
    };
    excerpt(&text, claim, budget, &breaks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str, claim: &str, budget: usize, breaks: Breaks) -> String {
        let at = text.find(claim).unwrap();
        let e = excerpt(text, at..at + claim.len(), budget, &breaks);
        format!(
            "{}{}[{}]{}{}",
            if e.cut_before { "…" } else { "" },
            e.before,
            e.claim,
            e.after,
            if e.cut_after { "…" } else { "" }
        )
    }

    #[test]
    fn english_cuts_at_sentences_clauses_and_words() {
        // (text, claim, budget, shown)
        let cases = [
            (
                "Welcome back. This cream is made in Japan, you know. Buy now.",
                "made in Japan",
                90,
                "This cream is [made in Japan], you know.",
            ),
            // Too long on both sides: cut at the clause marks nearest the budget's edge.
            (
                "So listen everyone, this amazing cream is made in Japan, believe me, really, truly, honestly everyone.",
                "made in Japan",
                30,
                "…this amazing cream is [made in Japan], believe me, really, truly,…",
            ),
            // No clause mark: at a word start, never inside "extraordinarily".
            (
                "an extraordinarily wonderful serum that cures acne overnight for everyone here",
                "cures acne",
                20,
                "…serum that [cures acne] overnight for…",
            ),
            // A number's dot does not end a sentence.
            (
                "It costs 3.5 dollars and it cures acne.",
                "cures acne",
                90,
                "It costs 3.5 dollars and it [cures acne].",
            ),
            // One long word on the side: nothing fits, the claim stands alone with ellipses.
            (
                "Supercalifragilisticexpialidocious cures acne",
                "cures acne",
                10,
                "…[cures acne]",
            ),
        ];
        for (text, claim, budget, want) in cases {
            assert_eq!(
                cut(text, claim, budget, Breaks::english(text)),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn japanese_cuts_at_clauses_then_morphemes() {
        let reader = crate::detect::reading::tests::reader();
        let morphs = |t: &str| -> Vec<Range<usize>> {
            reader.morphs(t).into_iter().map(|m| m.range).collect()
        };
        // (text, claim, budget, shown)
        let cases = [
            // The whole sentence fits: the previous one (to 。) and the next one (after the
            // pause Whisper wrote as a space) are left out without an ellipsis.
            (
                "まずはこちらです。しかもこれ日本生なんです 毎晩塗るだけでシミが消える",
                "日本生な",
                40,
                "しかもこれ[日本生な]んです",
            ),
            // Too long: cut at the 、 nearest the budget's edge.
            (
                "みなさんこんばんは今夜のライブへようこそまずはこちらの美容液、しかもこれ日本製なんです、毎晩塗るだけでシミが消える",
                "日本製",
                12,
                "…しかもこれ[日本製]なんです、…",
            ),
            // No clause mark within the budget: at a morpheme edge, never inside こんばんは
            // (12 characters back is the ん of みなさん, 10 the ん inside こんばんは).
            (
                "みなさんこんばんは今夜のライブ日本製",
                "日本製",
                12,
                "…こんばんは今夜のライブ[日本製]",
            ),
            (
                "みなさんこんばんは今夜のライブ日本製",
                "日本製",
                10,
                "…今夜のライブ[日本製]",
            ),
        ];
        for (text, claim, budget, want) in cases {
            let breaks = Breaks::japanese(text, &morphs(text), &[]);
            assert_eq!(cut(text, claim, budget, breaks), want, "{text}");
        }
    }

    #[test]
    fn locate_finds_the_claim_said_at_the_alert_time() {
        let segments = [
            Segment::new(0.0, 4.0, " 日本製です。"),
            Segment::new(4.0, 8.0, " しかもこれ日本"),
            Segment::new(8.0, 12.0, "製なんです。"),
        ];
        let mut alert =
            crate::detect::alert::example_alert(crate::detect::Category::FalseOrigin, 7.0, 9.0);
        alert.text = "日本製".into();
        let Located { text, claim, joins } = locate(&segments, &alert).unwrap();
        assert_eq!(text, "日本製です。しかもこれ日本製なんです。");
        // The second 日本製, split across segments 2 and 3, not the first one.
        assert_eq!(&text[..claim.start], "日本製です。しかもこれ");
        assert_eq!(
            joins,
            ["日本製です。".len(), "日本製です。しかもこれ日本".len()]
        );
        alert.text = "血糖値".into();
        assert_eq!(locate(&segments, &alert), None);
    }
}
