//! Claims detector (issue 3): transcript text in, [`Alert`]s out.
//!
//! Input: an utterance (plain text, or timed [`Utterance`]s — transcript segments converted by the
//! caller — through a [`DetectorStream`]), its language, and optionally the product's declared country of origin.
//! Output: one [`Alert`] per spoken claim that breaks Japanese or US advertising law: false
//! origin, unverified origin, medical efficacy, exaggeration, misleading pricing.
//!
//! Rules come from TOML packs (`rules/*.toml`, format in `rules/README.md`, parsed by [`pack`]).
//! Text is normalized ([`normalize`]) and, for Japanese, read as kana with lindera ([`reading`]) so
//! ASR homophones still hit; [`matcher`] runs aho-corasick over both and applies co-occurrence,
//! exceptions and negation; [`origin`] resolves spoken countries; [`stream`] carries text across
//! segment boundaries. Around the detector: [`assets`] finds the default files, [`prompt`] builds
//! Whisper prompts from the packs, [`explain`] turns a candidate into the alert people read.

pub mod alert;
mod assets;
pub mod context;
mod explain;
pub mod matcher;
pub mod nearmiss;
pub mod normalize;
pub mod origin;
pub mod pack;
pub mod phonetic;
mod prompt;
pub mod reading;
pub mod stream;
pub mod suspect;
pub mod suspect_en;
pub mod utterance;

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

pub use alert::{Alert, AlertSource, Category, CommentRef, Lang, Severity};
pub use assets::{default_dict_dir, default_rules_dir};
pub use stream::DetectorStream;
pub use utterance::{TokenTime, Utterance};

use matcher::{Candidate, Matcher};
use pack::{Country, RuleSet};
use reading::Reader;

/// Loaded rule packs and dictionary; cheap to clone and shareable across threads.
#[derive(Clone)]
pub struct Detector {
    inner: Arc<Inner>,
}

struct Inner {
    reader: Reader,
    ja: Matcher,
    en: Matcher,
    countries: Vec<Country>,
    rules: usize,
    files: Vec<PathBuf>,
    vocabulary: HashMap<Lang, Vec<String>>,
    listener: suspect::Listener,
    listener_en: suspect_en::EnglishListener,
}

// Live mode shares one detector between the capture and server tasks.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Detector>();
};

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("rules", &self.inner.rules)
            .field("files", &self.inner.files.len())
            .finish()
    }
}

impl Detector {
    /// Loads every pack in `rules_dir` and the lindera dictionary in `dict_dir`. Pack errors come
    /// back as one error listing every `file:line: message`.
    pub fn load(rules_dir: &Path, dict_dir: &Path) -> anyhow::Result<Detector> {
        let set = pack::load_dir(rules_dir)?;
        let reader = reading::load_dictionary(dict_dir)?;
        Self::from_rules(set, reader)
    }

    /// [`Detector::load`] with `rules/` and `models/ipadic` found by [`default_rules_dir`] and
    /// [`default_dict_dir`] (or `$CLAIMWATCH_RULES` / `$CLAIMWATCH_DICT`).
    pub fn load_default() -> anyhow::Result<Detector> {
        Self::load(&default_rules_dir(), &default_dict_dir())
    }

    fn from_rules(set: RuleSet, reader: Reader) -> anyhow::Result<Detector> {
        let ja = Matcher::new(&set, Lang::Ja, Some(&reader)).context("compiling ja rules")?;
        let en = Matcher::new(&set, Lang::En, None).context("compiling en rules")?;
        let listener = suspect::Listener::new(&set, &reader);
        let listener_en = suspect_en::EnglishListener::new(&set);
        Ok(Detector {
            inner: Arc::new(Inner {
                reader,
                ja,
                en,
                countries: set.countries,
                rules: set.rules.len() + set.origins.len(),
                files: set.files,
                vocabulary: set.vocabulary,
                listener,
                listener_en,
            }),
        })
    }

    /// Number of rules (claim and origin) loaded.
    pub fn rule_count(&self) -> usize {
        self.inner.rules
    }

    /// The pack files loaded.
    pub fn files(&self) -> &[PathBuf] {
        &self.inner.files
    }

    /// A declared origin as an ISO code: accepts codes (`jp`) and lexicon names (`Japan`, `日本`).
    pub fn country_code(&self, input: &str) -> Option<String> {
        origin::country_code(input, &self.inner.countries)
    }

    /// The lexicon's first name for an ISO code in `lang` (the code itself if unknown).
    pub fn country_name(&self, code: &str, lang: Lang) -> String {
        self.inner
            .countries
            .iter()
            .find(|c| c.code == code)
            .and_then(|c| c.names(lang).first())
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }

    /// Heap bytes held by the compiled rule automata of `lang`.
    pub fn automata_bytes(&self, lang: Lang) -> usize {
        self.matcher(lang).automata_bytes()
    }

    fn matcher(&self, lang: Lang) -> &Matcher {
        match lang {
            Lang::Ja => &self.inner.ja,
            Lang::En => &self.inner.en,
        }
    }

    /// Claims in one utterance.
    pub(crate) fn scan(&self, text: &str, lang: Lang, declared: Option<&str>) -> Vec<Candidate> {
        self.matcher(lang)
            .scan(text, Some(&self.inner.reader), declared)
    }

    /// Spans of `text` that sound close to a rule term without matching it: where a second
    /// listen may recover a claim Whisper bent ([`suspect`] for Japanese readings, [`suspect_en`]
    /// for English co-occurrence rules missing one part).
    pub fn suspects(&self, text: &str, lang: Lang) -> Vec<suspect::Suspect> {
        let mut suspects = match lang {
            Lang::Ja => self.inner.listener.suspects(text, &self.inner.reader),
            Lang::En => self.inner.listener_en.suspects(text),
        };
        if suspects.is_empty() {
            return suspects;
        }
        // A span inside a claim the matcher already found needs no second listen, nor one
        // where every rule it may complete is of a category already found over it: what the
        // re-decode could hear there would be dropped as the same claim (`second_listen.rs`).
        let found: Vec<(Range<usize>, Category)> = self
            .scan(text, lang, None)
            .into_iter()
            .map(|c| (c.orig, c.category))
            .collect();
        suspects.retain(|s| worth_a_second_listen(s, &found));
        suspects
    }

    /// Alerts for plain text: every line is one utterance (one alert per claim per line).
    /// `start_s`/`end_s` are `None`.
    pub fn detect_text(&self, text: &str, lang: Lang, declared_origin: Option<&str>) -> Vec<Alert> {
        let declared = declared_origin.and_then(|d| self.country_code(d));
        let mut alerts = Vec::new();
        for line in text.lines() {
            let mut seen = Vec::new();
            for c in self.scan(line, lang, declared.as_deref()) {
                // One alert per claim: the first hit of each rule (and spoken country) in the line.
                if seen.contains(&(c.target, c.country.clone())) {
                    continue;
                }
                seen.push((c.target, c.country.clone()));
                let id = alerts.len() + 1;
                alerts.push(self.alert(&c, line, lang, declared.as_deref(), id, None));
            }
        }
        alerts
    }

    /// A streaming consumer of transcript segments (see [`DetectorStream`]).
    pub fn stream(&self, lang: Lang, declared_origin: Option<&str>) -> DetectorStream {
        DetectorStream::new(self.clone(), lang, declared_origin)
    }
}

/// Whether `suspect` could still give an alert, given the claims (`found`: bytes, category) the
/// matcher found in the same text.
fn worth_a_second_listen(suspect: &suspect::Suspect, found: &[(Range<usize>, Category)]) -> bool {
    let s = &suspect.bytes;
    let inside = found
        .iter()
        .any(|(f, _)| f.start <= s.start && s.end <= f.end);
    let covered = !suspect.categories.is_empty()
        && suspect.categories.iter().all(|category| {
            found
                .iter()
                .any(|(f, c)| c == category && f.start < s.end && s.start < f.end)
        });
    !inside && !covered
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// A detector over the example packs in tests/data/detect/packs.
    pub(crate) fn example() -> &'static Detector {
        static D: OnceLock<Detector> = OnceLock::new();
        D.get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let _ = reading::tests::reader(); // builds models/ipadic when missing
            Detector::load(
                &root.join("tests/data/detect/packs"),
                &root.join("models/ipadic"),
            )
            .unwrap()
        })
    }

    fn cats(text: &str, lang: Lang, origin: Option<&str>) -> Vec<(String, String)> {
        example()
            .detect_text(text, lang, origin)
            .into_iter()
            .map(|a| (a.category.to_string(), a.text))
            .collect()
    }

    fn c(cat: &str, text: &str) -> (String, String) {
        (cat.to_string(), text.to_string())
    }

    /// (text, language, declared origin, expected (category, matched text) pairs)
    type Case = (
        &'static str,
        Lang,
        Option<&'static str>,
        Vec<(String, String)>,
    );

    #[test]
    fn table() {
        let cases: Vec<Case> = vec![
            (
                "このサプリでがんが治ります",
                Lang::Ja,
                None,
                vec![c("efficacy", "がんが治り")],
            ),
            // Reading match: ASR wrote 癌 and 直る.
            ("癌が直る", Lang::Ja, None, vec![c("efficacy", "癌が直る")]),
            (
                "ガンに効く",
                Lang::Ja,
                None,
                vec![c("efficacy", "ガンに効く")],
            ),
            // "=効く" is matched as written only: 聞く (same reading) is not a claim.
            ("がんの質問を聞く", Lang::Ja, None, vec![]),
            (
                "がんに本当に効く",
                Lang::Ja,
                None,
                vec![c("efficacy", "がんに本当に効く")],
            ),
            // Negation after the claim.
            ("がんが治るわけではありません", Lang::Ja, None, vec![]),
            ("がんが治りません", Lang::Ja, None, vec![]),
            // Exceptions: a permitted expression overlapping the hit cancels it.
            ("エイジングケアできます", Lang::Ja, None, vec![]),
            (
                "エイジングを止める",
                Lang::Ja,
                None,
                vec![c("efficacy", "エイジング")],
            ),
            // Pack-wide permitted expression — nothing else to find.
            ("肌にうるおいを与える", Lang::Ja, None, vec![]),
            // Co-occurrence window: too far apart.
            (
                "がんについて色々とお話ししてきましたが最後はお肌が治ります",
                Lang::Ja,
                None,
                vec![],
            ),
            // Across a sentence end: no co-occurrence.
            ("がんの話。治りました", Lang::Ja, None, vec![]),
            // negation = false: 副作用なし fires although なし-like cues exist.
            (
                "副作用なし",
                Lang::Ja,
                None,
                vec![c("exaggeration", "副作用なし")],
            ),
            (
                "副作用はありません",
                Lang::Ja,
                None,
                vec![c("exaggeration", "副作用はありません")],
            ),
            // Origin: templates, readings, declared origin.
            (
                "これは日本製です",
                Lang::Ja,
                Some("CN"),
                vec![c("false_origin", "日本製")],
            ),
            (
                "これは日本性です",
                Lang::Ja,
                Some("CN"),
                vec![c("false_origin", "日本性")],
            ),
            ("これは日本製です", Lang::Ja, Some("JP"), vec![]),
            (
                "これは日本製です",
                Lang::Ja,
                None,
                vec![c("origin_claim", "日本製")],
            ),
            (
                "国産です",
                Lang::Ja,
                Some("CN"),
                vec![c("false_origin", "国産")],
            ),
            // 中国産 must not read as 国産 (word boundary).
            ("中国産です", Lang::Ja, Some("CN"), vec![]),
            (
                "It's made in Japan",
                Lang::En,
                Some("CN"),
                vec![c("false_origin", "made in Japan")],
            ),
            (
                "Japanese-made quality",
                Lang::En,
                Some("US"),
                vec![c("false_origin", "Japanese-made")],
            ),
            ("made in China", Lang::En, Some("china"), vec![]),
            // English co-occurrence and ASR split, negation before.
            (
                "this cure is acne gone",
                Lang::En,
                None,
                vec![c("efficacy", "cure is acne")],
            ),
            (
                "it cures acne",
                Lang::En,
                None,
                vec![c("efficacy", "cures acne")],
            ),
            ("it does not cure acne", Lang::En, None, vec![]),
            ("secure acne", Lang::En, None, vec![]),
        ];
        for (text, lang, origin, want) in cases {
            assert_eq!(cats(text, lang, origin), want, "{text}");
        }
    }

    #[test]
    fn odd_input_never_panics() {
        let long_digits = "九".repeat(40);
        let long_hundreds = "hundred ".repeat(40);
        let odd = [
            "",
            " ",
            "\u{3099}",
            "。。。",
            "....",
            "ｶﾞｶﾞ",
            "１２３万",
            "万",
            "one hundred and",
            "per",
            "percent",
            "F.",
            "A.B",
            "🙂がん🙂治る🙂",
            "\r\n\r\n",
            "a.b.c.d.",
            "'",
            "’s",
            &long_digits,
            &long_hundreds,
            "\u{FEFF}日本製\u{200B}です",
            "\0",
        ];
        for text in odd {
            for lang in Lang::ALL {
                let _ = example().detect_text(text, lang, Some("CN"));
                let mut s = example().stream(lang, None);
                for piece in text.split_inclusive(|c: char| c.len_utf8() > 1) {
                    let _ = s.push(Utterance::new(0.0, 1.0, piece));
                }
                let _ = s.finish();
            }
        }
    }

    #[test]
    fn one_alert_per_rule_per_utterance() {
        let a = example().detect_text("がんが治る、がんに効く、癌が直る", Lang::Ja, None);
        assert_eq!(a.len(), 1, "{a:?}");
        let a = example().detect_text("がんが治る\nがんに効く", Lang::Ja, None);
        assert_eq!(a.len(), 2);
        assert_eq!((a[0].id.as_str(), a[1].id.as_str()), ("a1", "a2"));
    }

    #[test]
    fn alert_fields() {
        let a = &example().detect_text("ようこそ。これは日本製です！", Lang::Ja, Some("jp "))[..];
        assert!(a.is_empty());
        let a = &example().detect_text("ようこそ。これは日本製です！", Lang::Ja, Some("CN"))[0];
        assert_eq!(a.context, "これは日本製です！");
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.spoken_origin.as_deref(), Some("JP"));
        assert_eq!(a.declared_origin.as_deref(), Some("CN"));
        assert_eq!(
            a.explanation,
            "話した原産国 日本 が申告された原産国 中国 と異なります。"
        );
        assert_eq!(a.start_s, None);
        let json = serde_json::to_value(a).unwrap();
        for key in [
            "id",
            "category",
            "rule",
            "severity",
            "lang",
            "text",
            "context",
            "start_s",
            "end_s",
            "legal_basis",
            "explanation",
            "suggestion",
            "declared_origin",
            "spoken_origin",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn which_suspects_are_worth_a_second_listen() {
        use Category::{Efficacy, Exaggeration, Pricing};
        let suspect = |bytes: Range<usize>, categories: Vec<Category>| suspect::Suspect {
            bytes,
            terms: vec!["term".into()],
            categories,
        };
        type Found = Vec<(Range<usize>, Category)>;
        // (suspect, claims found in the same text, worth it)
        let cases: Vec<(suspect::Suspect, Found, bool)> = vec![
            (suspect(10..20, vec![Efficacy]), vec![], true),
            // Inside a claim already found, whatever its rules.
            (suspect(12..18, vec![]), vec![(10..20, Exaggeration)], false),
            // Overlapping a claim of the one category it could complete: it would be dropped
            // as the same claim ("zero side effects, it's 100% safe for everyone").
            (
                suspect(15..30, vec![Exaggeration]),
                vec![(10..20, Exaggeration)],
                false,
            ),
            // Another category over it: still worth it.
            (
                suspect(15..30, vec![Efficacy]),
                vec![(10..20, Exaggeration)],
                true,
            ),
            // One of its categories not found over it.
            (
                suspect(15..30, vec![Exaggeration, Pricing]),
                vec![(10..20, Exaggeration)],
                true,
            ),
            // Beside, not over it.
            (
                suspect(25..30, vec![Exaggeration]),
                vec![(10..20, Exaggeration)],
                true,
            ),
            // Categories not known (Japanese terms): only "inside" prunes.
            (suspect(15..30, vec![]), vec![(10..20, Exaggeration)], true),
        ];
        for (i, (s, found, worth)) in cases.iter().enumerate() {
            assert_eq!(worth_a_second_listen(s, found), *worth, "case {i}: {s:?}");
        }
    }
}
