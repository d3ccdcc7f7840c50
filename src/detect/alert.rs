//! The alert type every interface shares (CLI JSON, HTTP/SSE later): one spoken claim, why it is
//! unlawful, and what to say instead.

use serde::{Deserialize, Serialize};

/// Alert category (shared/domain.md's names, serde snake_case): the five spoken-claim
/// categories, then the four of viewer comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    FalseOrigin,
    OriginClaim,
    Efficacy,
    Exaggeration,
    Pricing,
    /// Threats of violence, incitement to self-harm.
    Threat,
    /// Insults, harassment, slurs, sexual harassment aimed at a person.
    Abuse,
    /// Off-platform contact or payment, fake giveaways, phishing links.
    Scam,
    /// Phone numbers, addresses, emails posted in chat.
    PersonalInfo,
}

impl Category {
    /// The spoken-claim categories (what reports of recordings count).
    pub const ALL: [Category; 5] = [
        Category::FalseOrigin,
        Category::OriginClaim,
        Category::Efficacy,
        Category::Exaggeration,
        Category::Pricing,
    ];

    /// The viewer-comment categories.
    pub const COMMENT: [Category; 4] = [
        Category::Threat,
        Category::Abuse,
        Category::Scam,
        Category::PersonalInfo,
    ];

    /// Every category, spoken then comment.
    pub const EVERY: [Category; 9] = [
        Category::FalseOrigin,
        Category::OriginClaim,
        Category::Efficacy,
        Category::Exaggeration,
        Category::Pricing,
        Category::Threat,
        Category::Abuse,
        Category::Scam,
        Category::PersonalInfo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::FalseOrigin => "false_origin",
            Category::OriginClaim => "origin_claim",
            Category::Efficacy => "efficacy",
            Category::Exaggeration => "exaggeration",
            Category::Pricing => "pricing",
            Category::Threat => "threat",
            Category::Abuse => "abuse",
            Category::Scam => "scam",
            Category::PersonalInfo => "personal_info",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::EVERY.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether this is a viewer-comment category.
    pub fn is_comment(self) -> bool {
        Category::COMMENT.contains(&self)
    }

    /// Severity a rule gets when its pack does not say (shared/domain.md).
    pub fn default_severity(self) -> Severity {
        match self {
            Category::FalseOrigin | Category::Threat => Severity::Critical,
            Category::Efficacy | Category::Abuse | Category::Scam => Severity::High,
            Category::Exaggeration | Category::PersonalInfo => Severity::Medium,
            Category::OriginClaim | Category::Pricing => Severity::Low,
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// How bad a claim is; ordered so that `Critical` is the greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Language of the transcript and of a rule pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Ja, Lang::En];

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The pack for a piece of text whose language nobody gave: Japanese if it has kana or
    /// kanji (half-width katakana too), else English, the only other pack.
    pub fn of_text(text: &str) -> Lang {
        let japanese = text.chars().any(|c| {
            matches!(c, '\u{3040}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}' | '\u{FF66}'..='\u{FF9F}')
        });
        if japanese {
            Lang::Ja
        } else {
            Lang::En
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Where an alert's words came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSource {
    /// The seller's speech (transcribed) or plain text given to `detect`.
    #[default]
    Speech,
    /// A chat comment (a viewer's, or the seller's own pinned text).
    Comment,
}

impl AlertSource {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSource::Speech => "speech",
            AlertSource::Comment => "comment",
        }
    }
}

/// The comment behind a comment alert, and how many comments the alert stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentRef {
    /// The platform's comment id.
    pub id: String,
    /// The platform's user name or id of whoever posted it.
    pub user: String,
    /// The platform's time of the comment, as it gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The seller's own text (pinned or posted by the seller), checked by the claims rules.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_seller: bool,
    /// Comments of this user and category the alert stands for (1, then more as it escalates).
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

/// One detected claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique within one run (`a1`, `a2`, … in order of detection). A live stream's alerts get
    /// `STREAM-EVENTID` instead (the event bus assigns it), unique across streams and restarts.
    pub id: String,
    pub category: Category,
    /// Id of the rule (or origin rule) that fired.
    pub rule: String,
    pub severity: Severity,
    pub lang: Lang,
    /// The matched words as transcribed.
    pub text: String,
    /// The sentence around the match.
    pub context: String,
    /// Seconds into the stream; `None` for plain text.
    pub start_s: Option<f64>,
    pub end_s: Option<f64>,
    pub legal_basis: String,
    pub explanation: String,
    pub suggestion: String,
    /// ISO 3166 alpha-2 codes, only on origin alerts.
    pub declared_origin: Option<String>,
    pub spoken_origin: Option<String>,
    /// Raised on a second listen: the first transcript was close to a rule but did not match,
    /// and the span decoded again with the rule's terms as the prompt did (`audit`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub second_listen: bool,
    /// Live streams only: the wall-clock time (RFC 3339 UTC) the claim's first word was
    /// received, i.e. when it was said, whatever the decoding lag. Absent in batch output and
    /// in logs written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub said_at: Option<String>,
    /// Speech or a chat comment; `speech` in logs written before comments existed.
    #[serde(default)]
    pub source: AlertSource,
    /// The comment behind a comment alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<CommentRef>,
}

/// An alert of `category` at `start_s..end_s` with placeholder words, for the tests of code
/// that handles alerts (matching, deduplication) rather than finds them.
#[cfg(test)]
pub(crate) fn example_alert(category: Category, start_s: f64, end_s: f64) -> Alert {
    Alert {
        id: "a1".into(),
        category,
        rule: "rule".into(),
        severity: Severity::High,
        lang: Lang::Ja,
        text: "t".into(),
        context: "c".into(),
        start_s: Some(start_s),
        end_s: Some(end_s),
        legal_basis: String::new(),
        explanation: String::new(),
        suggestion: String::new(),
        declared_origin: None,
        spoken_origin: None,
        second_listen: false,
        said_at: None,
        source: AlertSource::Speech,
        comment: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_of_text() {
        let cases = [
            ("This serum cures acne.", Lang::En),
            ("日本製です", Lang::Ja),
            ("シミが消える", Lang::Ja),
            ("ｼﾐが消える", Lang::Ja),
            ("made in 日本", Lang::Ja),
            ("", Lang::En),
            ("100% 保証", Lang::Ja),
            ("Ünïcödé café", Lang::En),
        ];
        for (text, expected) in cases {
            assert_eq!(Lang::of_text(text), expected, "{text:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for c in Category::EVERY {
            assert_eq!(Category::parse(c.as_str()), Some(c));
            assert_eq!(c.is_comment(), Category::COMMENT.contains(&c));
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{c}\""));
        }
        assert!(Severity::Critical > Severity::High && Severity::Medium > Severity::Low);
        assert_eq!(Severity::parse("medium"), Some(Severity::Medium));
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }
}
