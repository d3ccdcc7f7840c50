//! Sound-alike matching for English, as Japanese has kana readings: normalized words in, Double
//! Metaphone keys out (the `rphonetic` crate), so a rule word matches what Whisper wrote for it
//! ("heels" for heals, "rinkles" for wrinkles, "side affects", "clinicly proven").
//!
//! Rule patterns and transcript words are both turned into key text (one key per word, words
//! separated by a space) and matched with aho-corasick like normalized text. Guards, because every
//! short word sounds like some other word: a word of one or two letters keeps its spelling; a
//! pattern word must have at least [`MIN_PATTERN_LETTERS`] letters to match another spelling, the
//! heard word at least [`MIN_HEARD_LETTERS`] (in a phrase that keeps another word as spelled, both
//! [`MIN_LETTERS_IN_PHRASE`]) and not be a function word; a pattern word of six
//! letters or more that starts with a vowel also matches without it (ASR drops an unstressed first
//! syllable: "erases" → "raises"). Whether a hit is used at all, and how close its partner must be,
//! is the matcher's call ([`accept`] and `matcher.rs`).

use std::cell::RefCell;
use std::ops::Range;

use rphonetic::DoubleMetaphone;
use rustc_hash::FxHashMap;

/// A one-word pattern shorter than this matches by spelling only ("acne" is not "can").
pub const MIN_PATTERN_LETTERS: usize = 5;
/// Heard words shorter than this never stand in for a one-word pattern.
pub const MIN_HEARD_LETTERS: usize = 4;
/// Inside a pattern of several words, one of which is heard as spelled, a changed word needs only
/// this many letters on both sides ("belly fad" for belly fat).
pub const MIN_LETTERS_IN_PHRASE: usize = 3;

/// Function words long enough to pass the length guard that must still never stand in for a rule
/// word (they carry no claim, and ASR does not write them for content words).
const STOP_WORDS: [&str; 40] = [
    "this", "that", "with", "from", "have", "will", "your", "they", "them", "then", "than",
    "there", "their", "these", "those", "what", "when", "where", "which", "about", "would",
    "could", "should", "just", "very", "really", "some", "also", "into", "only", "over", "here",
    "like", "been", "were", "does", "make", "know", "because", "while",
];

fn encoder() -> DoubleMetaphone {
    DoubleMetaphone::new(None)
}

/// A word's key: its Double Metaphone primary code, or the word itself (lower case, so it never
/// equals a code) when it is too short to sound like anything else, or has no letters.
fn word_key(dm: &DoubleMetaphone, word: &str) -> String {
    if word.chars().count() <= 2 || !word.chars().all(|c| c.is_ascii_alphabetic()) {
        return word.to_string();
    }
    let key = dm.double_metaphone(word).primary();
    if key.is_empty() {
        word.to_string()
    } else {
        key
    }
}

/// Keys of words already heard on this thread. Speech repeats its words (a stream says "skin"
/// hundreds of times) and encoding one costs a dozen allocations inside `rphonetic`; the memo is
/// emptied when it reaches [`MEMO_WORDS`], so it stays a few hundred KiB.
const MEMO_WORDS: usize = 8192;

thread_local! {
    static MEMO: RefCell<FxHashMap<Box<str>, Box<str>>> = RefCell::new(FxHashMap::default());
}

/// Appends `word`'s key (see [`word_key`]) to `out`, through the thread's memo.
fn push_word_key(dm: &DoubleMetaphone, word: &str, out: &mut String) {
    MEMO.with_borrow_mut(|memo| {
        if let Some(key) = memo.get(word) {
            out.push_str(key);
            return;
        }
        if memo.len() >= MEMO_WORDS {
            memo.clear();
        }
        let key = word_key(dm, word);
        out.push_str(&key);
        memo.insert(word.into(), key.into());
    })
}

/// The key strings of a normalized pattern: one per combination of its words' keys (a long word
/// starting with a vowel also without that vowel's code).
pub fn pattern_keys(pattern: &str) -> Vec<String> {
    let dm = encoder();
    let mut out = vec![String::new()];
    for (i, word) in pattern.split(' ').enumerate() {
        let key = word_key(&dm, word);
        let mut alts = vec![key.clone()];
        let starts_vowel = word.starts_with(['a', 'e', 'i', 'o', 'u']);
        if starts_vowel && word.len() >= 6 && key.len() > 3 && key.starts_with('A') {
            alts.push(key[1..].to_string());
        }
        let mut next = Vec::new();
        for prefix in &out {
            for alt in &alts {
                let mut s = prefix.clone();
                if i > 0 {
                    s.push(' ');
                }
                s.push_str(alt);
                next.push(s);
            }
        }
        out = next;
    }
    out
}

/// The keys of normalized `text`'s words run together, for an edit distance between phrases
/// whose words ASR split or joined differently ("can sell" / "cancer cells").
pub fn joined_key(text: &str) -> String {
    let dm = encoder();
    text.split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| sound_key(&dm, w))
        .collect()
}

/// One word's part of [`joined_key`]: short words are keyed too ("low as" must key near
/// "lowers"); a word with other than letters stays as written.
fn sound_key(dm: &DoubleMetaphone, word: &str) -> String {
    if word.chars().all(|c| c.is_ascii_alphabetic()) {
        dm.double_metaphone(word).primary()
    } else {
        word.to_string()
    }
}

/// [`joined_key`] of every word of normalized `text`, in order.
pub fn word_keys<'a>(text: impl Iterator<Item = &'a str>) -> Vec<String> {
    let dm = encoder();
    text.map(|w| sound_key(&dm, w)).collect()
}

/// A word that can carry part of a claim: three letters or more and not a function word.
pub fn content_word(word: &str) -> bool {
    word.len() >= 3 && !STOP_WORDS.contains(&word)
}

/// How far (bytes of normalized text) around an exact word a sound-alike is looked for: a
/// three-word phrase, or a term and its partner.
pub const REACH: usize = 24;

/// Normalized English text as key text.
#[derive(Debug, Default)]
pub struct KeyText {
    pub text: String,
    /// Per word: its byte range in `text`, and its byte range in the normalized text.
    pub words: Vec<(Range<usize>, Range<usize>)>,
}

impl KeyText {
    /// Keys the words of normalized (space-separated) text that lie in one of `around` (byte
    /// ranges); every other word gets a key that matches nothing.
    pub fn new(norm: &str, around: &[Range<usize>]) -> KeyText {
        let dm = encoder();
        let mut out = KeyText::default();
        let mut at = 0;
        for word in norm.split(' ') {
            let range = at..at + word.len();
            at += word.len() + 1;
            if word.is_empty() {
                continue;
            }
            if !out.text.is_empty() {
                out.text.push(' ');
            }
            let start = out.text.len();
            if around
                .iter()
                .any(|r| r.start < range.end && range.start < r.end)
            {
                push_word_key(&dm, word, &mut out.text);
            } else {
                out.text.push('_');
            }
            out.words.push((start..out.text.len(), range));
        }
        out
    }

    /// The normalized-text byte range of a key-text hit, if it covers whole words.
    pub fn aligned(&self, bytes: Range<usize>) -> Option<Range<usize>> {
        let first = self
            .words
            .binary_search_by_key(&bytes.start, |w| w.0.start)
            .ok()?;
        let last = self
            .words
            .binary_search_by_key(&bytes.end, |w| w.0.end)
            .ok()?;
        Some(self.words[first].1.start..self.words[last].1.end)
    }
}

/// A word of a phrase worth anchoring a sound-alike search on: long enough, not a function word.
pub fn anchor_word(word: &str) -> bool {
    word.len() >= MIN_HEARD_LETTERS && !STOP_WORDS.contains(&word)
}

/// Whether heard words may stand in for a pattern's words: not the very same words (the exact
/// matcher has those), every changed word long enough on both sides and not a function word, and
/// a pattern of several words keeps at least one of them as spelled.
pub fn accept(pattern: &str, heard: &str) -> bool {
    // Most key hits are the rule's own words, heard as spelled: settle those without splitting.
    if pattern == heard {
        return false;
    }
    let words = pattern.split(' ').count();
    if words != heard.split(' ').count() {
        return false;
    }
    let pairs = || pattern.split(' ').zip(heard.split(' '));
    let same = pairs().filter(|(a, b)| a == b).count();
    if words > 1 && same == 0 {
        return false;
    }
    let (min_p, min_h) = if words > 1 {
        (MIN_LETTERS_IN_PHRASE, MIN_LETTERS_IN_PHRASE)
    } else {
        (MIN_PATTERN_LETTERS, MIN_HEARD_LETTERS)
    };
    pairs().filter(|(a, b)| a != b).all(|(a, b)| {
        a.len() >= min_p && b.len() >= min_h && !STOP_WORDS.contains(&b) && same_onset(a, b)
    })
}

/// ASR keeps how a word starts: the same first letter, both a vowel, or the rule word's first
/// letter silent or dropped (wrinkles → rinkles, erases → raises). "frizz" is not "virus".
fn same_onset(pattern: &str, heard: &str) -> bool {
    let vowel = |c: Option<char>| c.is_some_and(|c| "aeiou".contains(c));
    let (mut p, mut h) = (pattern.chars(), heard.chars());
    let (p0, p1, h0) = (p.next(), p.next(), h.next());
    p0 == h0 || (vowel(p0) && vowel(h0)) || p1 == h0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `heard` matches `pattern` by key and passes the guards.
    fn matches(pattern: &str, heard: &str) -> bool {
        let heard_key = KeyText::new(heard, std::slice::from_ref(&(0..heard.len()))).text;
        pattern_keys(pattern).contains(&heard_key) && accept(pattern, heard)
    }

    #[test]
    fn sound_alikes() {
        // (rule words, what ASR wrote, match?)
        let cases = [
            ("heals", "heels", true),
            ("wrinkles", "rinkles", true),
            ("erases", "raises", true),
            ("diabetes", "diabetis", true),
            ("blood sugar", "blood shugar", true),
            ("side effects", "side affects", true),
            ("clinically proven", "clinicly proven", true),
            ("belly fat", "belly fad", true),
            // Guards.
            ("heals", "heals", false),  // exact: the plain matcher's hit
            ("acne", "can", false),     // short rule word
            ("erase", "rose", false),   // short rule word
            ("effects", "this", false), // function word
            ("side effects", "sight affects", false), // every word changed
            ("detox", "detects", false), // different key length
            ("virus", "frizz", false),  // same key, another onset
            ("killed", "cold", false),  // same key, another onset
        ];
        for (pattern, heard, want) in cases {
            assert_eq!(matches(pattern, heard), want, "{pattern} / {heard}");
        }
    }

    #[test]
    fn remembered_keys_equal_fresh_ones() {
        let dm = encoder();
        for word in ["wrinkles", "it", "100%", "clinically", "wrinkles"] {
            let mut remembered = String::new();
            push_word_key(&dm, word, &mut remembered);
            assert_eq!(remembered, word_key(&dm, word), "{word}");
        }
    }

    #[test]
    fn key_text_maps_back() {
        let norm = "it heels acne scars";
        let k = KeyText::new(norm, std::slice::from_ref(&(0..norm.len())));
        let key = KeyText::new("heels acne", std::slice::from_ref(&(0..10))).text;
        let at = k.text.find(&key).unwrap();
        assert_eq!(&norm[k.aligned(at..at + key.len()).unwrap()], "heels acne");
        assert!(k.aligned(at + 1..at + key.len()).is_none());
    }
}
