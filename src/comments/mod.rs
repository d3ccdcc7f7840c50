//! Viewer-comment detector (issue 17): one chat comment in, [`Alert`]s out — threats, abuse, scams
//! and personal information (shared/domain.md "Viewer comments"), `source: comment`.
//!
//! Input: a [`Comment`] (the platform's id, user, text, time, whether the seller posted it) and
//! optionally its language. Output: at most one alert per category, quoting the words as posted.
//!
//! Rules come from the comment packs `rules/comments/*.toml` (format in rules/README.md "Viewer
//! comments", parsed by [`pack`]). A comment is matched by the pack of its language (Japanese if it
//! has kana or kanji, else English) after chat normalisation ([`normalize`]: spacing, repeats,
//! masks, leetspeak, emoji); the pack's language-neutral rules ([`builtin`]: links, handles, phone
//! numbers, emails, addresses) run on every comment, so an English-style scam inside a Japanese
//! comment is still found. [`matcher`] applies the boundary, idiom and guard checks, and
//! [`escalate`] folds repeat offenders into one alert.
//!
//! Seller text (`from_seller: true`) is the seller advertising: [`check_seller`] runs the claims
//! [`Detector`] (the spoken packs) on it. [`CommentDetector::check`] on seller text runs only the
//! `scam` and `personal_info` rules (a seller who moves buyers to LINE or posts a phone number is
//! still a risk); abuse and threat rules are for what viewers say to the seller and each other.

pub mod builtin;
pub mod escalate;
pub mod matcher;
pub mod normalize;
pub mod pack;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::detect::{Alert, AlertSource, Category, CommentRef, Detector, Lang};
use matcher::PackMatcher;

pub use escalate::{Escalator, Offer};

/// One chat comment as the platform gives it (one line of `detect --comments` input).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Comment {
    pub id: String,
    pub user: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_seller: bool,
}

/// The compiled comment packs; cheap to clone and shareable across threads.
#[derive(Clone)]
pub struct CommentDetector {
    inner: Arc<Vec<PackMatcher>>,
}

// The HTTP ingestion shares one detector between request tasks.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CommentDetector>();
    assert_send_sync::<Comment>();
};

impl std::fmt::Debug for CommentDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommentDetector")
            .field("packs", &self.inner.len())
            .field("rules", &self.rule_count())
            .finish()
    }
}

impl CommentDetector {
    /// Loads the comment packs: every *.toml in `rules_dir/comments/`. Pack errors come back as
    /// one [`crate::detect::pack::PackErrors`] listing every `file:line: message`.
    pub fn load(rules_dir: &Path) -> anyhow::Result<CommentDetector> {
        let packs = pack::load_dir(&rules_dir.join("comments"))?;
        let matchers = packs
            .iter()
            .map(|p| PackMatcher::new(p).with_context(|| format!("compiling {}", p.file.display())))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(CommentDetector {
            inner: Arc::new(matchers),
        })
    }

    /// Number of comment rules loaded.
    pub fn rule_count(&self) -> usize {
        self.inner.iter().map(|m| m.rules.len()).sum()
    }

    /// The viewer-comment alerts (threat, abuse, scam, personal_info) of one comment: at most one
    /// per category, `source: AlertSource::Comment`, `comment: Some(CommentRef { .., count: 1 })`,
    /// `start_s/end_s: None`, `id` left empty (the caller numbers them), `lang` = the comment's
    /// language (`lang` if given, else `Lang::of_text`), `text` = the matched words as posted,
    /// `context` = the whole comment text. Seller comments: scam and personal_info only.
    pub fn check(&self, comment: &Comment, lang: Option<Lang>) -> Vec<Alert> {
        let lang = lang.unwrap_or_else(|| Lang::of_text(&comment.text));
        let seller = comment.from_seller;
        let only = |c: Category| !seller || matches!(c, Category::Scam | Category::PersonalInfo);
        let chat = normalize::normalize(&comment.text);
        let mut alerts = Vec::new();
        for m in self.inner.iter().filter(|m| m.lang == lang) {
            for hit in m.scan(&chat, &only) {
                if alerts
                    .iter()
                    .any(|a: &Alert| a.category == m.rules[hit.rule].category)
                {
                    continue;
                }
                let rule = &m.rules[hit.rule];
                alerts.push(Alert {
                    id: String::new(),
                    category: rule.category,
                    rule: rule.id.clone(),
                    severity: rule.severity,
                    lang,
                    text: comment.text[hit.orig].to_string(),
                    context: comment.text.clone(),
                    start_s: None,
                    end_s: None,
                    legal_basis: rule.legal_basis.clone(),
                    explanation: rule.explanation.clone(),
                    suggestion: rule.suggestion.clone(),
                    declared_origin: None,
                    spoken_origin: None,
                    second_listen: false,
                    said_at: None,
                    source: AlertSource::Comment,
                    comment: Some(comment_ref(comment)),
                });
            }
        }
        alerts
    }
}

fn comment_ref(comment: &Comment) -> CommentRef {
    CommentRef {
        id: comment.id.clone(),
        user: comment.user.clone(),
        at: comment.at.clone(),
        from_seller: comment.from_seller,
        count: 1,
    }
}

/// The seller's own text checked as advertising: the claims detector's alerts (efficacy, origin,
/// exaggeration, pricing) for the comment text, marked `source: comment` with the comment behind
/// them. `origin` is the product's declared country of origin, as for `detect --origin`.
pub fn check_seller(
    claims: &Detector,
    comment: &Comment,
    lang: Option<Lang>,
    origin: Option<&str>,
) -> Vec<Alert> {
    let lang = lang.unwrap_or_else(|| Lang::of_text(&comment.text));
    // One comment is one utterance, even when it was typed over several lines.
    let text = comment.text.replace(['\n', '\r'], " ");
    let mut alerts = claims.detect_text(&text, lang, origin);
    for a in &mut alerts {
        a.id = String::new();
        a.source = AlertSource::Comment;
        a.comment = Some(comment_ref(comment));
        a.context = comment.text.clone();
    }
    alerts
}

#[cfg(test)]
mod tests;
