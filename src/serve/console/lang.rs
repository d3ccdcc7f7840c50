//! Which language the console speaks to an operator, and its words in that language (pure).
//!
//! Input: a `?lang=` choice, the `claimwatch_lang` cookie an earlier choice left, and the
//! browser's `Accept-Language`. Output: [`UiLang`] and the [`labels`] the page and its script
//! show. Japanese compliance teams are the first users, so Japanese wins a tie.

use serde_json::{json, Map, Value};

use crate::audit::labels::Ui;
use crate::detect::{Category, Severity};

/// The console's two languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiLang {
    Ja,
    En,
}

impl UiLang {
    pub fn code(self) -> &'static str {
        match self {
            UiLang::Ja => "ja",
            UiLang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<UiLang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "ja" => Some(UiLang::Ja),
            "en" => Some(UiLang::En),
            _ => None,
        }
    }
}

/// The language to use: an explicit choice, else the remembered one, else the browser's first
/// preference among ours (`ja-JP;q=0.9, en;q=0.8` → ja), else Japanese.
pub fn negotiate(
    choice: Option<&str>,
    cookie: Option<&str>,
    accept_language: Option<&str>,
) -> UiLang {
    if let Some(lang) = choice.and_then(UiLang::parse) {
        return lang;
    }
    if let Some(lang) = cookie.and_then(UiLang::parse) {
        return lang;
    }
    let mut best: Option<(f32, UiLang)> = None;
    for part in accept_language.unwrap_or("").split(',') {
        let mut fields = part.split(';');
        let tag = fields.next().unwrap_or("").trim();
        let primary = tag.split('-').next().unwrap_or("");
        let Some(lang) = UiLang::parse(primary) else {
            continue;
        };
        let q = fields
            .find_map(|f| f.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map_or(UiLang::Ja, |(_, lang)| lang)
}

/// (key, Japanese, English) for every word on the page.
const WORDS: &[(&str, &str, &str)] = &[
    ("title", "claimwatch 監視コンソール", "claimwatch console"),
    ("streams", "配信", "Streams"),
    ("alerts", "アラート", "Alerts"),
    ("attach", "配信を追加", "Attach a stream"),
    ("stream_id", "配信ID", "Stream id"),
    ("source", "ソース（URL）", "Source (URL)"),
    ("language", "言語", "Language"),
    ("auto", "自動", "auto"),
    ("declared_origin", "申告原産国", "Declared origin"),
    ("set_origin", "原産国を変更", "Change origin"),
    ("add", "追加", "Attach"),
    ("state", "状態", "State"),
    ("starting", "開始中", "starting"),
    ("up", "受信中", "up"),
    ("down", "切断", "down"),
    ("ended", "終了", "ended"),
    ("lag", "遅延", "Lag"),
    ("rtf", "処理速度", "Speed"),
    ("level", "音量", "Level"),
    ("last_words", "直近の発言", "Last words"),
    ("open_alerts", "未処理アラート", "Open alerts"),
    ("health", "配信の状態", "Health"),
    ("silence", "無音", "silence"),
    ("source_down", "ソース切断", "source down"),
    ("dropped_audio", "音声欠落", "audio dropped"),
    ("clipping", "音割れ", "clipping"),
    ("behind", "処理遅延", "behind"),
    (
        "no_streams",
        "監視中の配信はありません",
        "No stream is monitored",
    ),
    ("no_alerts", "アラートはありません", "No alerts"),
    ("filter", "絞り込み", "Filter"),
    ("all", "すべて", "all"),
    ("category", "分類", "Category"),
    ("severity", "重大度", "Severity"),
    ("review", "確認状況", "Review"),
    ("from", "開始", "From"),
    ("to", "終了", "To"),
    ("said_at", "発言時刻", "Said at"),
    ("said", "発言", "Said"),
    ("rule", "ルール", "Rule"),
    ("law", "根拠法令", "Law"),
    ("why", "説明", "Why"),
    ("suggestion", "言い換え例", "Suggested wording"),
    ("evidence", "証拠音声", "Evidence"),
    ("no_clip", "音声はまだありません", "No clip yet"),
    ("comment", "コメント", "comment"),
    (
        "transcript",
        "前後の文字起こし（±30秒）",
        "Transcript (±30 s)",
    ),
    ("note", "メモ", "Note"),
    ("new", "未確認", "new"),
    ("acknowledged", "確認中", "acknowledged"),
    ("confirmed", "違反と判断", "confirmed"),
    ("dismissed", "問題なし", "dismissed"),
    ("escalated", "上長へ", "escalated"),
    ("acknowledge", "確認中にする", "Acknowledge"),
    ("confirm", "違反と判断", "Confirm"),
    ("dismiss", "問題なし", "Dismiss"),
    ("escalate", "上長へ回す", "Escalate"),
    ("reviewed_by", "判断者", "Reviewed by"),
    ("close", "閉じる", "Close"),
    ("connected", "接続中", "live"),
    ("reconnecting", "再接続中…", "reconnecting…"),
    ("error", "エラー", "Error"),
    ("export_csv", "CSVで書き出す", "Export CSV"),
    ("switch", "English", "日本語"),
    ("login", "ログイン", "Log in"),
    ("token", "アクセストークン", "Access token"),
    ("wrong_token", "トークンが違います", "Wrong token"),
    ("logout", "ログアウト", "Log out"),
    ("viewer", "閲覧のみ", "viewer"),
    ("reviewer", "確認担当", "reviewer"),
];

/// Every label in `lang`, as the JSON object the script reads (`{"streams": "配信", …}`).
/// Category and severity names are the audit report's, so both say the same.
pub fn labels(lang: UiLang) -> Value {
    let mut map = Map::new();
    for (key, ja, en) in WORDS {
        let word = match lang {
            UiLang::Ja => ja,
            UiLang::En => en,
        };
        map.insert((*key).to_string(), json!(word));
    }
    let report = match lang {
        UiLang::Ja => Ui::Ja,
        UiLang::En => Ui::En,
    };
    for category in Category::EVERY {
        map.insert(category.as_str().into(), json!(report.category(category)));
    }
    for severity in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        map.insert(severity.as_str().into(), json!(report.severity(severity)));
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_choice() {
        // (?lang=, cookie, Accept-Language, chosen)
        let cases = [
            (Some("en"), Some("ja"), Some("ja"), UiLang::En),
            (None, Some("en"), Some("ja"), UiLang::En),
            (Some("fr"), None, Some("en-US,en;q=0.9"), UiLang::En),
            (None, None, Some("ja-JP,ja;q=0.9,en;q=0.8"), UiLang::Ja),
            (None, None, Some("en;q=0.5, ja;q=0.8"), UiLang::Ja),
            (None, None, Some("fr-FR, en;q=0.3"), UiLang::En),
            (None, None, Some("de, fr"), UiLang::Ja),
            (None, None, Some("en;q=0"), UiLang::Ja),
            (None, None, None, UiLang::Ja),
        ];
        for (choice, cookie, accept, want) in cases {
            assert_eq!(negotiate(choice, cookie, accept), want, "{accept:?}");
        }
    }

    #[test]
    fn both_languages_have_every_word() {
        let keys: Vec<&str> = WORDS.iter().map(|w| w.0).collect();
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "a key twice");
        for lang in [UiLang::Ja, UiLang::En] {
            let labels = labels(lang);
            for key in &keys {
                assert!(!labels[key].as_str().unwrap().is_empty(), "{key}");
            }
        }
        assert_eq!(labels(UiLang::Ja)["false_origin"], "原産国の虚偽表示");
        assert_eq!(labels(UiLang::En)["critical"], "Critical");
    }
}
