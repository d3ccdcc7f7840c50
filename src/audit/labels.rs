//! The words a report shows its reader, in Japanese and English: the UI language in, labels out.
//!
//! Category and severity ids (`false_origin`, `critical`) are keys for programs; people read
//! 「原産国の虚偽表示」/ "False country of origin". Which language: `--ui ja|en`, or by default the
//! language of the first audited file ([`Ui::follow`]).

use crate::detect::{Category, Severity};

/// The report's UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Ui {
    Ja,
    En,
}

impl Ui {
    /// The default: Japanese when the first audited file is Japanese, English otherwise (a batch
    /// of mixed languages follows its first file; `--ui` overrides).
    pub fn follow<'a>(languages: impl IntoIterator<Item = &'a str>) -> Ui {
        match languages.into_iter().next() {
            Some("ja") => Ui::Ja,
            _ => Ui::En,
        }
    }

    /// `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Ui::Ja => "ja",
            Ui::En => "en",
        }
    }

    fn pick(self, ja: &'static str, en: &'static str) -> &'static str {
        match self {
            Ui::Ja => ja,
            Ui::En => en,
        }
    }

    pub fn category(self, c: Category) -> &'static str {
        match c {
            Category::FalseOrigin => self.pick("原産国の虚偽表示", "False country of origin"),
            Category::OriginClaim => {
                self.pick("原産国の表示（要確認）", "Origin claim (to verify)")
            }
            Category::Efficacy => self.pick("効能効果の標榜", "Efficacy claim (drug-like)"),
            Category::Exaggeration => {
                self.pick("誇大・根拠のない表現", "Exaggerated or unproven claim")
            }
            Category::Pricing => self.pick("価格・限定の表示", "Pricing or scarcity claim"),
            Category::Threat => self.pick("脅迫・危害予告", "Threat"),
            Category::Abuse => self.pick("誹謗中傷・嫌がらせ", "Abuse or harassment"),
            Category::Scam => self.pick("詐欺・外部誘導", "Scam or off-platform lure"),
            Category::PersonalInfo => self.pick("個人情報の書き込み", "Personal information"),
        }
    }

    pub fn severity(self, s: Severity) -> &'static str {
        match s {
            Severity::Critical => self.pick("重大", "Critical"),
            Severity::High => self.pick("高", "High"),
            Severity::Medium => self.pick("中", "Medium"),
            Severity::Low => self.pick("低", "Low"),
        }
    }

    /// A transcript language code in words.
    pub fn language(self, code: &str) -> String {
        match code {
            "ja" => self.pick("日本語", "Japanese").into(),
            "en" => self.pick("英語", "English").into(),
            other => other.to_string(),
        }
    }

    pub fn title(self) -> &'static str {
        self.pick("claimwatch 監査レポート", "claimwatch audit report")
    }

    pub fn pass_fail(self, passed: bool) -> &'static str {
        match passed {
            true => self.pick("合格", "PASS"),
            false => self.pick("不合格", "FAIL"),
        }
    }

    /// Why the gate passed or failed, e.g. "3 alerts at Medium or above (worst: Critical)".
    pub fn gate_reason(
        self,
        threshold: Option<Severity>,
        failing: usize,
        total: usize,
        worst: Option<Severity>,
    ) -> String {
        let Some(t) = threshold else {
            return match self {
                Ui::Ja => format!("判定基準なし（--fail-on never）。指摘 {total} 件"),
                Ui::En => format!("No gate (--fail-on never); {total} alert(s)"),
            };
        };
        let t = self.severity(t);
        match (self, failing) {
            _ if total == 0 => self.pick("指摘はありません", "No alerts").to_string(),
            (Ui::Ja, 0) => {
                format!("「{t}」以上の指摘はありません（指摘 {total} 件はすべてそれ未満）")
            }
            (Ui::En, 0) => format!("No alert at {t} or above ({total} below it)"),
            (Ui::Ja, n) => format!(
                "「{t}」以上の指摘が {n} 件（最も重い指摘: {}）",
                worst.map_or("", |w| self.severity(w))
            ),
            (Ui::En, n) => format!(
                "{n} alert(s) at {t} or above (worst: {})",
                worst.map_or("", |w| self.severity(w))
            ),
        }
    }

    pub fn gate(self) -> &'static str {
        self.pick("判定基準", "Gate")
    }
    pub fn scope(self) -> &'static str {
        self.pick("対象", "Scope")
    }
    pub fn by_severity(self) -> &'static str {
        self.pick("重大度別", "By severity")
    }
    pub fn by_category(self) -> &'static str {
        self.pick("区分別", "By category")
    }
    pub fn total(self, alerts: usize, files: usize) -> String {
        match self {
            Ui::Ja => format!("{files} ファイル、指摘 {alerts} 件"),
            Ui::En => format!("{alerts} alert(s) in {files} file(s)"),
        }
    }
    pub fn declared_origin(self) -> &'static str {
        self.pick("申告された原産国", "Declared origin")
    }
    /// Shown instead of the declared origin when `--origin` was not given.
    pub fn no_origin(self, unchecked: usize) -> String {
        match self {
            Ui::Ja => format!(
                "指定なし（--origin）: 原産国の発言は申告と照合されていません（該当 {unchecked} 件）。"
            ),
            Ui::En => format!(
                "None given (--origin): spoken origin claims were not checked against it ({unchecked} found)."
            ),
        }
    }
    pub fn files_failed(self, n: usize) -> String {
        match self {
            Ui::Ja => format!(
                "{n} 件のファイルは監査できませんでした。このレポートは残りのファイルのみです。"
            ),
            Ui::En => {
                format!("{n} file(s) could not be audited: this report holds the others only.")
            }
        }
    }
    pub fn audited_at(self) -> &'static str {
        self.pick("監査日時", "Audited")
    }
    pub fn version(self) -> &'static str {
        self.pick("claimwatch バージョン", "claimwatch version")
    }
    pub fn model(self) -> &'static str {
        self.pick("音声認識モデル", "Whisper model")
    }
    pub fn rule_packs(self) -> &'static str {
        self.pick("ルールパック", "Rule packs")
    }
    /// Packs carry no version number: say how they are identified instead.
    pub fn packs_identified(self) -> &'static str {
        self.pick(
            "パックに版数がないため、パック ID とファイルの SHA-256（先頭 12 桁。全桁は埋め込み JSON）で識別",
            "packs carry no version: identified by pack id and the file's SHA-256 (first 12 digits; all 64 in the embedded JSON)",
        )
    }
    pub fn timeline(self) -> &'static str {
        self.pick("タイムライン", "Timeline")
    }
    pub fn legend_numbers(self) -> &'static str {
        self.pick(
            "番号は下の指摘カードの番号",
            "Numbers match the alert cards below",
        )
    }
    pub fn file_summary(self, language: &str, duration: &str, alerts: usize) -> String {
        match self {
            Ui::Ja => format!("{}・{duration}・指摘 {alerts} 件", self.language(language)),
            Ui::En => format!("{}, {duration}, {alerts} alert(s)", self.language(language)),
        }
    }
    pub fn no_alerts(self) -> &'static str {
        self.pick(
            "このファイルに指摘はありません。",
            "No alerts in this file.",
        )
    }
    pub fn said(self) -> &'static str {
        self.pick("発言", "Said")
    }
    pub fn origin(self) -> &'static str {
        self.pick("原産国", "Origin")
    }
    pub fn origin_said(self, spoken: &str, declared: Option<&str>) -> String {
        match (self, declared) {
            (Ui::Ja, Some(d)) => format!("発言 {spoken}、申告 {d}"),
            (Ui::Ja, None) => format!("発言 {spoken}（申告なし）"),
            (Ui::En, Some(d)) => format!("said {spoken}, declared {d}"),
            (Ui::En, None) => format!("said {spoken} (none declared)"),
        }
    }
    pub fn legal_basis(self) -> &'static str {
        self.pick("法的根拠", "Legal basis")
    }
    pub fn why(self) -> &'static str {
        self.pick("理由", "Why")
    }
    pub fn say_instead(self) -> &'static str {
        self.pick("言い換え例", "Say instead")
    }
    pub fn rule(self) -> &'static str {
        self.pick("ルール", "Rule")
    }
    pub fn second_listen(self) -> &'static str {
        self.pick(
            "再聴取で検出（最初の文字起こしにはない語）",
            "Heard on a second listen (not in the first transcript)",
        )
    }
    pub fn transcript(self) -> &'static str {
        self.pick("文字起こし", "Transcript")
    }
    pub fn not_embedded(self, mb: u64) -> String {
        match self {
            Ui::Ja => format!("音声は埋め込まれていません（{mb} MB 超）。再生元:"),
            Ui::En => format!("Audio not embedded (larger than {mb} MB): played from"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_and_severity_has_words_not_ids() {
        for ui in [Ui::Ja, Ui::En] {
            for c in Category::ALL {
                let label = ui.category(c);
                assert!(
                    !label.is_empty() && !label.contains(c.as_str()),
                    "{ui:?} {c}"
                );
            }
            for s in [
                Severity::Low,
                Severity::Medium,
                Severity::High,
                Severity::Critical,
            ] {
                assert_ne!(ui.severity(s), s.as_str(), "{ui:?} {s}");
            }
        }
        // Japanese labels are Japanese: no ASCII letters.
        for c in Category::ALL {
            assert!(!Ui::Ja
                .category(c)
                .chars()
                .any(|ch| ch.is_ascii_alphabetic()));
        }
    }

    #[test]
    fn the_ui_follows_the_first_file() {
        // (languages of the audited files, UI)
        let cases: &[(&[&str], Ui)] = &[
            (&["ja"], Ui::Ja),
            (&["en"], Ui::En),
            (&["ja", "en"], Ui::Ja),
            (&["en", "ja"], Ui::En),
            (&["ko"], Ui::En),
            (&[], Ui::En),
        ];
        for (languages, want) in cases {
            assert_eq!(
                Ui::follow(languages.iter().copied()),
                *want,
                "{languages:?}"
            );
        }
    }

    #[test]
    fn gate_reasons() {
        use Severity::*;
        // (ui, threshold, failing, total, worst, reason)
        let cases = [
            (
                Ui::En,
                Some(Medium),
                3,
                5,
                Some(Critical),
                "3 alert(s) at Medium or above (worst: Critical)",
            ),
            (
                Ui::En,
                Some(Medium),
                0,
                2,
                Some(Low),
                "No alert at Medium or above (2 below it)",
            ),
            (
                Ui::Ja,
                Some(Medium),
                3,
                5,
                Some(Critical),
                "「中」以上の指摘が 3 件（最も重い指摘: 重大）",
            ),
            (
                Ui::Ja,
                None,
                0,
                4,
                Some(High),
                "判定基準なし（--fail-on never）。指摘 4 件",
            ),
            (Ui::En, Some(Medium), 0, 0, None, "No alerts"),
            (Ui::Ja, Some(Low), 0, 0, None, "指摘はありません"),
        ];
        for (ui, threshold, failing, total, worst, want) in cases {
            assert_eq!(ui.gate_reason(threshold, failing, total, worst), want);
        }
    }
}
