//! Near-miss readings (Japanese): a rule term's kana reading in, the readings one mora away out,
//! so that a transcript Whisper wrote with one sound changed still matches (趣味 シュミ for シミ,
//! 結構値 ケッコウチ for 血糖値 ケットウチ, 福佐業 フクサギョウ for 副作用 フクサヨウ).
//!
//! "One mora away" is one of: a mora replaced by a close one (romaji one letter apart: シ/シュ,
//! ト/コ, ヨ/ギョ, カ/ガ, but not シ/イ), an inner mora dropped from a reading of four morae or more,
//! or a special mora (ッ ン ー ウ) added inside a reading of three or more. The variants are matched like any reading; the matcher then
//! holds a near-miss hit to stricter guards than an exact one (the whole phrase, its verb included,
//! must be there, and short terms need a product word in the utterance): see `matcher.rs`.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use wana_kana::ConvertJapanese;

/// Small kana that join the mora before them (キャ, シュ, ファ).
const SMALL: &str = "ャュョァィゥェォ";

/// Morae that only lengthen or close a syllable; ASR drops and adds them freely.
const SPECIAL: [&str; 4] = ["ッ", "ン", "ー", "ウ"];

/// Splits a katakana reading into morae.
pub fn morae(reading: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut start = None;
    for (i, c) in reading.char_indices() {
        if SMALL.contains(c) && start.is_some() {
            continue;
        }
        if let Some(s) = start {
            out.push(&reading[s..i]);
        }
        start = Some(i);
    }
    if let Some(s) = start {
        out.push(&reading[s..]);
    }
    out
}

/// Every plain mora of katakana with its romaji: the 46 plain kana, voiced and half-voiced ones,
/// and the yōon (キャ …).
fn inventory() -> &'static Vec<(String, String)> {
    static INV: OnceLock<Vec<(String, String)>> = OnceLock::new();
    INV.get_or_init(|| {
        let mut out = Vec::new();
        for c in '\u{30A2}'..='\u{30F3}' {
            let s = c.to_string();
            if SMALL.contains(c) || "ヰヱヮヲッヂヅ".contains(c) {
                continue;
            }
            let romaji = s.as_str().to_romaji();
            out.push((s, romaji));
        }
        for base in "キシチニヒミリギジビピ".chars() {
            for small in "ャュョ".chars() {
                let s: String = [base, small].iter().collect();
                let romaji = s.as_str().to_romaji();
                out.push((s, romaji));
            }
        }
        out.retain(|(_, r)| !r.is_empty() && r.chars().all(|c| c.is_ascii_lowercase()));
        out
    })
}

/// Morae that sound close to `mora`: romaji one edit apart.
pub fn close_morae(mora: &str) -> Vec<&'static str> {
    if SPECIAL.contains(&mora) {
        return Vec::new();
    }
    let romaji = mora.to_romaji();
    inventory()
        .iter()
        .filter(|(_, r)| strsim::levenshtein(r, &romaji) == 1)
        .map(|(k, _)| k.as_str())
        .collect()
}

/// The readings one mora away from `reading` (itself excluded). Readings of fewer than two morae
/// get none: one mora off a one-mora word is any other word.
pub fn variants(reading: &str) -> Vec<String> {
    let m = morae(reading);
    if m.len() < 2 {
        return Vec::new();
    }
    let mut out = BTreeSet::new();
    let join = |parts: &[&str]| parts.concat();
    for i in 0..m.len() {
        for c in close_morae(m[i]) {
            let mut v = m.clone();
            v[i] = c;
            out.insert(join(&v));
        }
    }
    // A dropped mora: inside the word only (dropping an end mora leaves a word of its own, 個限定 →
    // 限定), and only from four morae up (イタミ without タ is イミ, "meaning").
    if m.len() >= 4 {
        for i in 1..m.len() - 1 {
            let mut v = m.clone();
            v.remove(i);
            out.insert(join(&v));
        }
    }
    if m.len() >= 3 {
        // Inside the word only: a mora added at either end is another word boundary's business.
        for i in 1..m.len() {
            for s in SPECIAL {
                let mut v = m.clone();
                v.insert(i, s);
                out.insert(join(&v));
            }
        }
    }
    out.remove(reading);
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_morae() {
        let cases: &[(&str, &[&str])] = &[
            ("シミ", &["シ", "ミ"]),
            ("シュミ", &["シュ", "ミ"]),
            ("ケットウチ", &["ケ", "ッ", "ト", "ウ", "チ"]),
            ("フクサギョウ", &["フ", "ク", "サ", "ギョ", "ウ"]),
            ("", &[]),
        ];
        for (reading, want) in cases {
            assert_eq!(morae(reading), *want, "{reading}");
        }
    }

    /// (rule reading, transcript reading, one mora away?)
    #[test]
    fn one_mora_away() {
        let cases = [
            ("シミ", "シュミ", true),             // 趣味 for シミ
            ("ケットウチ", "ケッコウチ", true),   // 結構値 for 血糖値
            ("フクサヨウ", "フクサギョウ", true), // 福佐業 for 副作用
            ("カンセツ", "カンセツ", false),      // the same reading is an exact hit, not a variant
            ("シミ", "イミ", false),              // 意味: シ and イ are not close sounds
            ("シミ", "シ", false),                // two morae never lose one
            ("シミ", "シミン", false),            // nor gain one
            ("ケットウチ", "ケトウチ", true),     // a dropped ッ
            ("イタミ", "イミ", false),            // three morae never lose one (意味 is not 痛み)
            ("コゲンテイ", "ゲンテイ", false),    // nor an end mora (限定 is not 個限定)
            ("ガン", "カン", true),               // voicing
            ("ガン", "サイ", false),              // both morae changed
        ];
        for (rule, heard, want) in cases {
            assert_eq!(
                variants(rule).iter().any(|v| v == heard),
                want,
                "{rule} vs {heard}"
            );
        }
    }

    #[test]
    fn close_sounds() {
        assert!(close_morae("シ").contains(&"シュ"));
        assert!(close_morae("ト").contains(&"コ"));
        assert!(!close_morae("シ").contains(&"イ"));
        assert!(close_morae("ッ").is_empty());
    }
}
