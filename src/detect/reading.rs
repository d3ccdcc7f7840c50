//! Kana readings of Japanese text (the only file that touches lindera): morphemes from IPADIC,
//! each with its reading folded so that sound-alike spellings compare equal (ASR writes 日本性 for
//! 日本製, 直る for 治る, 癌 or ガン for がん). Every morpheme keeps its byte range in the input, so
//! a hit on readings maps back to the words as transcribed.

use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use lindera::dictionary::{load_fs_dictionary, DictionaryBuilder, Metadata};
use lindera::mode::Mode;
use lindera::segmenter::Segmenter;
use lindera::token::Token;
use rustc_hash::FxHashMap;
use unicode_normalization::UnicodeNormalization;

/// lindera-ipadic's source metadata with `"encoding": "EUC-JP"` (Debian ships the CSVs in EUC-JP).
const IPADIC_METADATA: &str = include_str!("../../models/ipadic-metadata.json");

/// A morphological analyzer over a built IPADIC dictionary.
pub struct Reader {
    segmenter: Segmenter,
    /// Folded reading per dictionary word (`None`: punctuation), filled as words are met: a
    /// word's details are one string lindera splits on every lookup, which cost more than the
    /// segmentation itself. Capped at [`MEMO_WORDS`].
    memo: Mutex<FxHashMap<u32, Option<Box<str>>>>,
}

/// Dictionary words whose readings are remembered (IPADIC has 390,000; speech uses a few thousand).
const MEMO_WORDS: usize = 1 << 16;

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reader(ipadic)")
    }
}

/// Loads a dictionary built by [`build_dictionary`] (memory-mapped, about a millisecond).
pub fn load_dictionary(path: &Path) -> anyhow::Result<Reader> {
    if !path.join("metadata.json").is_file() {
        anyhow::bail!(
            "{}: no lindera dictionary here (build it: claimwatch models build-dictionary)",
            path.display()
        );
    }
    let dict = load_fs_dictionary(path)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("{}: cannot load the lindera dictionary", path.display()))?;
    Ok(Reader {
        segmenter: Segmenter::new(Mode::Normal, dict, None),
        memo: Mutex::new(FxHashMap::default()),
    })
}

/// Builds a lindera dictionary from mecab-ipadic source CSVs (`src`, EUC-JP) into `out`.
pub fn build_dictionary(src: &Path, out: &Path) -> anyhow::Result<()> {
    if !src.join("matrix.def").is_file() {
        anyhow::bail!(
            "{}: no mecab-ipadic sources (matrix.def missing; install the Debian package mecab-ipadic)",
            src.display()
        );
    }
    let metadata: Metadata =
        serde_json::from_str(IPADIC_METADATA).context("models/ipadic-metadata.json")?;
    DictionaryBuilder::new(metadata)
        .build_dictionary(src, out)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("building {} from {}", out.display(), src.display()))
}

/// One morpheme.
#[derive(Debug, Clone, PartialEq)]
pub struct Morph {
    /// Byte range in the analyzed text.
    pub range: Range<usize>,
    /// Folded katakana reading; empty for punctuation and spaces.
    pub reading: String,
}

/// The readings of a text, concatenated, with morpheme boundaries.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub text: String,
    /// Per morpheme with a reading: (byte start in `text`, byte range in the analyzed input).
    pub morphs: Vec<(usize, Range<usize>)>,
    /// Input byte offset where every morpheme (punctuation included) starts, sorted: word starts.
    pub starts: Vec<usize>,
}

impl Reading {
    /// The input byte range of a hit `bytes` on `text`, if it starts and ends on morpheme boundaries.
    pub fn aligned(&self, bytes: Range<usize>) -> Option<Range<usize>> {
        let first = self
            .morphs
            .binary_search_by_key(&bytes.start, |m| m.0)
            .ok()?;
        let last = if bytes.end == self.text.len() {
            self.morphs.len() - 1
        } else {
            self.morphs.binary_search_by_key(&bytes.end, |m| m.0).ok()? - 1
        };
        (last >= first).then(|| self.morphs[first].1.start..self.morphs[last].1.end)
    }
}

impl Reader {
    /// Morphemes of `text`; text lindera cannot segment becomes one morpheme without a reading.
    pub fn morphs(&self, text: &str) -> Vec<Morph> {
        let Ok(tokens) = self.segmenter.segment(text.into()) else {
            return vec![Morph {
                range: 0..text.len(),
                reading: String::new(),
            }];
        };
        tokens
            .into_iter()
            .map(|mut t| {
                let mut reading = String::new();
                push_reading(&mut t, &mut reading);
                Morph {
                    range: t.byte_start..t.byte_end,
                    reading,
                }
            })
            .collect()
    }

    /// The reading string of `text` (punctuation and spaces dropped). Written straight into one
    /// string: this runs on every utterance, and a string per morpheme was a tenth of its cost.
    pub fn reading(&self, text: &str) -> Reading {
        let mut out = Reading::default();
        let Ok(tokens) = self.segmenter.segment(text.into()) else {
            out.starts.push(0);
            return out;
        };
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        for mut t in tokens {
            out.starts.push(t.byte_start);
            let at = out.text.len();
            let id = t.word_id;
            if id.is_system() && !id.is_unknown() && !t.surface.trim().is_empty() {
                if let Some(known) = memo.get(&id.id()) {
                    out.text.push_str(known.as_deref().unwrap_or(""));
                } else {
                    push_reading(&mut t, &mut out.text);
                    if memo.len() >= MEMO_WORDS {
                        memo.clear();
                    }
                    let read = (out.text.len() > at).then(|| out.text[at..].into());
                    memo.insert(id.id(), read);
                }
            } else {
                push_reading(&mut t, &mut out.text);
            }
            if out.text.len() > at {
                out.morphs.push((at, t.byte_start..t.byte_end));
            }
        }
        out
    }

    /// Other ways a pattern may be read when ASR writes one of its kanji in another word: each
    /// kanji word read as its kanji read alone (血糖値: 値 in 血糖値 is チ, 値 alone is ネ, as in
    /// Whisper's 結構値 ケッコウネ; 関節 read kanji by kanji). The pattern's own reading excluded.
    pub fn alt_readings(&self, pattern: &str) -> Vec<String> {
        let is_kanji = |c: char| matches!(c, '\u{4E00}'..='\u{9FFF}');
        let mut combos: Vec<String> = vec![String::new()];
        for m in self.morphs(pattern) {
            if m.reading.is_empty() {
                continue;
            }
            let surface = &pattern[m.range.clone()];
            let mut options = vec![m.reading.clone()];
            if surface.chars().all(is_kanji) {
                let alone: String = surface
                    .chars()
                    .map(|c| self.reading(&c.to_string()).text)
                    .collect();
                if !alone.is_empty() && !options.contains(&alone) {
                    options.push(alone);
                }
            }
            combos = combos
                .iter()
                .flat_map(|c| options.iter().map(move |o| format!("{c}{o}")))
                .take(8)
                .collect();
        }
        let own = self.reading(pattern).text;
        combos.retain(|c| *c != own && !c.is_empty());
        combos
    }

    /// The reading of a rule pattern, or `None` when it has none worth matching.
    pub fn pattern_reading(&self, pattern: &str) -> Option<String> {
        let r = self.reading(pattern).text;
        (!r.is_empty()).then_some(r)
    }
}

/// Appends a token's folded reading to `out`: nothing for punctuation and spaces; unknown words
/// read as written when kana, anything else (Latin, digits) as itself.
fn push_reading(t: &mut Token, out: &mut String) {
    if t.get_detail(0) == Some("記号") || t.surface.trim().is_empty() {
        return;
    }
    if let Some(r) = t.get_detail(7).filter(|r| *r != "*" && !r.is_empty()) {
        fold_into(r, out);
        return;
    }
    let written: String = t.surface.nfkc().collect::<String>().to_lowercase();
    fold_into(&written, out);
}

/// Hiragana → katakana, and spellings that sound alike fold together: IPADIC reads 日本 as
/// ニッポン where speakers (and ASR) also say ニホン; ヂ/ヅ are pronounced ジ/ズ.
pub fn fold(reading: &str) -> String {
    let mut out = String::with_capacity(reading.len());
    fold_into(reading, &mut out);
    out
}

/// [`fold`], appended to `out`.
fn fold_into(reading: &str, out: &mut String) {
    let at = out.len();
    out.extend(reading.chars().map(|c| match c {
        '\u{3041}'..='\u{3096}' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
        'ヂ' => 'ジ',
        'ヅ' => 'ズ',
        'ヲ' => 'オ',
        _ => c,
    }));
    if out[at..].contains("ニッポン") {
        let folded = out[at..].replace("ニッポン", "ニホン");
        out.truncate(at);
        out.push_str(&folded);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// The dictionary built by `claimwatch models build-dictionary` (models/ipadic), built here
    /// into the target folder when missing so the tests need only the mecab-ipadic package.
    pub(crate) fn reader() -> &'static Reader {
        static R: OnceLock<Reader> = OnceLock::new();
        R.get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let dict = root.join("models/ipadic");
            if !dict.join("metadata.json").is_file() {
                build_dictionary(Path::new("/usr/share/mecab/dic/ipadic"), &dict)
                    .expect("build models/ipadic (needs mecab-ipadic)");
            }
            load_dictionary(&dict).expect("load models/ipadic")
        })
    }

    #[test]
    fn homophones_share_readings() {
        let r = reader();
        let same: &[(&str, &str)] = &[
            ("日本製", "日本性"),
            ("治る", "直る"),
            ("癌", "がん"),
            ("癌", "ガン"),
            ("日本", "ニホン"),
            ("日本", "ニッポン"),
        ];
        for (a, b) in same {
            assert_eq!(r.reading(a).text, r.reading(b).text, "{a} vs {b}");
        }
        assert_ne!(r.reading("治る").text, r.reading("治す").text);
        // A kanji read alone, as ASR's other words make it read (結構値 ケッコウネ).
        assert!(r.alt_readings("血糖値").contains(&"ケットウネ".to_string()));
        assert_eq!(r.reading("日本製").text, "ニホンセイ");
    }

    #[test]
    fn remembered_readings_equal_fresh_ones() {
        let r = reader();
        let text = "この美容液でシミが消える、日本製です。毎晩塗るだけ！";
        let fresh: String = r.morphs(text).into_iter().map(|m| m.reading).collect();
        // The first call fills the memo, the second reads from it.
        assert_eq!(r.reading(text).text, fresh);
        assert_eq!(r.reading(text).text, fresh);
    }

    #[test]
    fn offsets_map_back() {
        let r = reader();
        let text = "この癌が、直る！";
        let rd = r.reading(text);
        let b = rd.text.find("ガン").unwrap();
        assert_eq!(&text[rd.aligned(b..b + "ガン".len()).unwrap()], "癌");
        let b = rd.text.find("ナオル").unwrap();
        assert_eq!(&text[rd.aligned(b..b + "ナオル".len()).unwrap()], "直る");
        // Not on a morpheme boundary: "ガ" alone inside ガン.
        assert!(rd.aligned(b..b + "ナ".len()).is_none());
    }
}
