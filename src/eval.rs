//! Transcript accuracy: word error rate (WER) and character error rate (CER).
//!
//! Input: a reference text and a hypothesis. Output: edit distance over words (English) or
//! characters (Japanese, which has no spaces) divided by the reference length. Both sides are
//! NFKC-normalized, lower-cased and stripped of punctuation first, so "Hello, world." and
//! "hello world" count as equal. Used by the tests and the benchmarks; no I/O.

use unicode_normalization::UnicodeNormalization;

/// NFKC, lower case, punctuation and symbols turned into spaces.
pub fn normalize(text: &str) -> String {
    text.nfkc()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect()
}

fn words(text: &str) -> Vec<String> {
    normalize(text)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn chars(text: &str) -> Vec<char> {
    normalize(text)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn rate<T: PartialEq>(reference: Vec<T>, hypothesis: Vec<T>) -> f64 {
    if reference.is_empty() {
        return if hypothesis.is_empty() { 0.0 } else { 1.0 };
    }
    strsim::generic_levenshtein(&reference, &hypothesis) as f64 / reference.len() as f64
}

/// Word error rate.
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    rate(words(reference), words(hypothesis))
}

/// Character error rate, ignoring spaces and punctuation.
pub fn cer(reference: &str, hypothesis: &str) -> f64 {
    rate(chars(reference), chars(hypothesis))
}

/// The usual error rate for a language: CER for Japanese and Chinese, WER otherwise.
pub fn error_rate(language: &str, reference: &str, hypothesis: &str) -> f64 {
    match language {
        "ja" | "zh" => cer(reference, hypothesis),
        _ => wer(reference, hypothesis),
    }
}

/// How many units [`error_rate`] counts in `text` (words, or characters for Japanese and
/// Chinese): the weight of a clip when error rates of several clips are pooled.
pub fn length(language: &str, text: &str) -> usize {
    match language {
        "ja" | "zh" => chars(text).len(),
        _ => words(text).len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type ErrorRate = fn(&str, &str) -> f64;

    #[test]
    fn error_rates() {
        let cases: &[(ErrorRate, &str, &str, f64)] = &[
            (wer, "Hello, world.", "hello world", 0.0),
            (wer, "the cat sat", "the cat sat down", 1.0 / 3.0),
            (wer, "the cat sat", "a cat", 2.0 / 3.0),
            (wer, "", "", 0.0),
            (wer, "", "noise", 1.0),
            (cer, "日本製です。", "日本生です", 1.0 / 5.0),
            (cer, "今だけ 半額!", "今だけ半額", 0.0),
            (cer, "ＡＢＣ", "abc", 0.0),
        ];
        for (f, reference, hypothesis, expected) in cases {
            assert!(
                (f(reference, hypothesis) - expected).abs() < 1e-9,
                "{reference} / {hypothesis}"
            );
        }
    }
}
