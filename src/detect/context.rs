//! Context guards: a found claim and the text around it in, whether the context undoes it out.
//! A reviewer throws out a claim that was asked about, not made ("Does this cure acne?"), a
//! negation that only looks like one because ASR broke the grammar around it ("It didn't
//! clinically proven"), and a country that belongs to the clause before a pause ("Designed in
//! Japan, made in China"). The cue lists themselves live in the rule packs (`[negation]`
//! `question_before` / `question_after`, `cancel`); what is here is grammar, not vocabulary.

use std::ops::Range;

use super::normalize::Normalized;

/// Words that open an English yes/no question.
const AUXILIARIES: [&str; 16] = [
    "do", "does", "did", "is", "are", "was", "were", "can", "could", "will", "would", "should",
    "has", "have", "am", "may",
];

/// Who a question opened by an auxiliary asks about.
const SUBJECTS: [&str; 9] = [
    "it", "this", "that", "they", "these", "those", "you", "he", "she",
];

/// The sentence at `sentence` (byte range of `text`) is an English yes/no question: it opens with
/// an auxiliary, and ends with a question mark or puts a subject right after the auxiliary
/// ("does it …" with the question mark lost).
pub fn asks(text: &str, sentence: &Range<usize>) -> bool {
    let s = text[sentence.clone()].trim();
    let mut words = s
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty());
    let (Some(first), second) = (words.next(), words.next()) else {
        return false;
    };
    if !AUXILIARIES.iter().any(|a| lower_is(first, a)) {
        return false;
    }
    // "Did you know it cures acne?", "Can you believe …": rhetorical, the claim is made.
    if second.is_some_and(|w| lower_is(w, "you")) {
        let third = words.next();
        if third.is_some_and(|w| {
            ["know", "believe", "see", "realize"]
                .iter()
                .any(|k| lower_is(w, k))
        }) {
            return false;
        }
    }
    s.ends_with(['?', '？']) || second.is_some_and(|w| SUBJECTS.iter().any(|s| lower_is(w, s)))
}

/// `word.to_lowercase() == lower`, without a string per word for ASCII words (most of them).
fn lower_is(word: &str, lower: &str) -> bool {
    if word.is_ascii() {
        word.eq_ignore_ascii_case(lower)
    } else {
        word.to_lowercase() == lower
    }
}

/// A negation cue made of "do" and "not" ("didn't", "does not") followed, past any "-ly" adverbs,
/// by a past participle ("proven", "approved"): English needs a bare verb there, so the words
/// around it were misheard and the cue says nothing about the claim after it.
pub fn broken_do_negation(norm: &Normalized, cue: &Range<usize>) -> bool {
    let text = &norm.text;
    let at = |u: usize| norm.starts.get(u).copied().unwrap_or(text.len());
    let cue_text = &text[at(cue.start)..at(cue.end)];
    if !cue_text.starts_with("do") && !cue_text.starts_with("did") {
        return false;
    }
    let rest = &text[at(cue.end)..];
    let next = rest
        .split(' ')
        .filter(|w| !w.is_empty())
        .find(|w| !(w.len() > 4 && w.ends_with("ly")));
    next.is_some_and(|w| {
        (w.len() >= 5 && w.ends_with("ed") && !w.ends_with("eed"))
            || matches!(w, "proven" | "shown" | "tested")
    })
}

/// A term (`anchor`, units) that ends an English question which is only that term ("Those dark
/// circles?"), so the next sentence's first words may complete the claim.
pub fn topic_question(text: &str, norm: &Normalized, anchor: &Range<usize>) -> bool {
    let s = norm.units[anchor.start].sentence as usize;
    let Some(range) = norm.sentences.get(s) else {
        return false;
    };
    if !text[range.clone()].trim_end().ends_with('?') || s + 1 >= norm.sentences.len() {
        return false;
    }
    // Only the term's own sentence-ending separator may follow it.
    let rest = norm.units[anchor.end..]
        .iter()
        .take_while(|u| u.sentence as usize == s)
        .count();
    let words_before = norm.units[..anchor.start]
        .iter()
        .rev()
        .take_while(|u| u.sentence as usize == s)
        .filter(|u| u.ch == ' ')
        .count();
    rest <= 1 && words_before <= 2
}

/// Whether a hit's original text has a pause inside it (a comma, a dash): its parts belong to two
/// clauses.
pub fn spans_pause(orig: &str) -> bool {
    orig.contains([',', '、', '，', ';', '—', '–'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::alert::Lang;
    use crate::detect::normalize::normalize;

    #[test]
    fn questions() {
        let cases = [
            ("Does this cure acne?", true),
            ("does it cure acne", true),
            ("is it FDA approved?", true),
            ("Did you know it cures acne", false),
            ("It cures acne?", false),
            ("This cures acne.", false),
            ("", false),
        ];
        for (text, want) in cases {
            assert_eq!(asks(text, &(0..text.len())), want, "{text}");
        }
    }

    #[test]
    fn broken_negations() {
        // (text, cue, broken?)
        let cases = [
            ("it didn't clinically proven", "didnt", true),
            ("it doesn't cure acne", "doesnt", false),
            ("it does not actually cure acne", "does not", false),
            ("it didn't approved by the fda", "didnt", true),
            ("it doesn't need a doctor", "doesnt", false),
            ("it is not clinically proven", "not", false),
        ];
        for (text, cue, want) in cases {
            let n = normalize(text, Lang::En);
            let b = n.text.find(cue).unwrap();
            let cue_units = n.units_of(b..b + cue.len());
            assert_eq!(broken_do_negation(&n, &cue_units), want, "{text}");
        }
    }

    #[test]
    fn topic_questions() {
        // (text, term, ends a question that is only that term?)
        let cases = [
            ("Those dark circles? Gone in a week.", "dark circles", true),
            (
                "Do you have dark circles? Gone in a week.",
                "dark circles",
                false,
            ),
            ("Those dark circles. Gone in a week.", "dark circles", false),
            ("Those dark circles?", "dark circles", false),
        ];
        for (text, term, want) in cases {
            let n = normalize(text, Lang::En);
            let b = n.text.find(term).unwrap();
            let units = n.units_of(b..b + term.len());
            assert_eq!(topic_question(text, &n, &units), want, "{text}");
        }
    }

    #[test]
    fn pauses() {
        assert!(spans_pause("日本、製造"));
        assert!(spans_pause("Japan, made"));
        assert!(!spans_pause("日本製造"));
    }
}
