//! Whisper prompts from the rule packs' `vocabulary`: the words a decoder should expect, cut to
//! what whisper.cpp keeps (used by `--vocabulary`, and by the second listen's local prompts).

use super::{Detector, Lang};

impl Detector {
    /// The packs' `vocabulary` for `lang` as a Whisper initial prompt, cut at whole words to at
    /// most `max_chars` (whisper.cpp keeps only the last 224 prompt tokens; a long prompt also
    /// costs decode time). `None` when the packs give no vocabulary.
    pub fn whisper_prompt(&self, lang: Lang, max_chars: usize) -> Option<String> {
        let words = self.inner.vocabulary.get(&lang)?;
        let sep = match lang {
            Lang::Ja => "、",
            Lang::En => ", ",
        };
        let mut prompt = String::new();
        for word in words {
            let extra = if prompt.is_empty() {
                0
            } else {
                sep.chars().count()
            };
            if prompt.chars().count() + extra + word.chars().count() > max_chars {
                break;
            }
            if !prompt.is_empty() {
                prompt.push_str(sep);
            }
            prompt.push_str(word);
        }
        if prompt.is_empty() {
            return None;
        }
        prompt.push_str(match lang {
            Lang::Ja => "。",
            Lang::En => ".",
        });
        Some(prompt)
    }

    /// [`Detector::whisper_prompt`] for every language, at the lengths `claimwatch audit
    /// --vocabulary` uses, as `(code, prompt)` pairs for `DecodeOptions::language_prompts`.
    pub fn whisper_prompts(&self) -> Vec<(String, String)> {
        [(Lang::Ja, 120), (Lang::En, 300)]
            .into_iter()
            .filter_map(|(lang, max)| {
                self.whisper_prompt(lang, max)
                    .map(|p| (lang.as_str().to_string(), p))
            })
            .collect()
    }
}
