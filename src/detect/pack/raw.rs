//! The serde shapes of a rule pack file, as written (`deny_unknown_fields`, spans kept for
//! `file:line` errors); [`super::validate`] turns them into the compiled [`super::RuleSet`].

use std::collections::BTreeMap;

use toml::Spanned;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPack {
    pub(super) id: Spanned<String>,
    pub(super) lang: Spanned<String>,
    pub(super) family: String,
    #[allow(dead_code)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) except: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) vocabulary: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) cancel: Vec<Spanned<String>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNear {
    pub(super) terms: Vec<Vec<Spanned<String>>>,
    pub(super) window: Option<Spanned<i64>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCompose {
    pub(super) id: Spanned<String>,
    pub(super) category: Spanned<String>,
    pub(super) severity: Option<Spanned<String>>,
    pub(super) legal_basis: String,
    pub(super) explanation: String,
    pub(super) suggestion: String,
    pub(super) conditions: Vec<Spanned<String>>,
    pub(super) outcomes: Vec<Spanned<String>>,
    pub(super) window: Option<Spanned<i64>>,
    pub(super) order: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) except: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) context: Vec<Spanned<String>>,
    pub(super) negation: Option<bool>,
    pub(super) readings: Option<bool>,
    pub(super) phonetic: Option<bool>,
    pub(super) near_miss: Option<bool>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) id: Spanned<String>,
    pub(super) category: Spanned<String>,
    pub(super) severity: Option<Spanned<String>>,
    pub(super) legal_basis: String,
    pub(super) explanation: String,
    pub(super) suggestion: String,
    #[serde(default)]
    pub(super) phrases: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) near: Vec<Spanned<RawNear>>,
    #[serde(default)]
    pub(super) except: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) cancel: Vec<Spanned<String>>,
    pub(super) negation: Option<bool>,
    pub(super) readings: Option<bool>,
    pub(super) phonetic: Option<bool>,
    pub(super) near_miss: Option<bool>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOrigin {
    pub(super) id: Spanned<String>,
    pub(super) legal_basis: String,
    pub(super) explanation: String,
    pub(super) unverified_explanation: String,
    pub(super) suggestion: String,
    #[serde(default)]
    pub(super) templates: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) fixed: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(super) except: Vec<Spanned<String>>,
    pub(super) negation: Option<bool>,
    pub(super) readings: Option<bool>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNegation {
    #[serde(default)]
    pub(super) before: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) after: Vec<Spanned<String>>,
    pub(super) before_window: Option<Spanned<i64>>,
    pub(super) after_window: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) question_before: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) question_after: Vec<Spanned<String>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCountry {
    pub(super) code: Spanned<String>,
    #[serde(default)]
    pub(super) ja: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) en: Vec<Spanned<String>>,
}
