//! `claimwatch detect`: claims in transcript text (stdin or `--text`), printed as
//! `{"alerts": [...]}` or a table.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::detect::pack::PackErrors;
use crate::detect::{default_dict_dir, default_rules_dir, Alert, Detector, Lang};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LangArg {
    Ja,
    En,
    /// Decided per line: Japanese if the line has kana or kanji, else English.
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Table,
}

#[derive(Debug, clap::Args)]
pub struct DetectArgs {
    /// Rule packs folder (default: rules/, or $CLAIMWATCH_RULES).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// lindera IPADIC folder (default: models/ipadic, or $CLAIMWATCH_DICT).
    #[arg(long)]
    dict: Option<PathBuf>,
    /// Language of the text.
    #[arg(long, value_enum, default_value = "auto")]
    lang: LangArg,
    /// The product's declared country of origin (ISO code such as JP, CN, US, or a name).
    #[arg(long)]
    origin: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Text to check (default: read stdin); every line is one utterance.
    #[arg(long)]
    text: Option<String>,
}

/// Japanese when any character is kana or a CJK ideograph.
fn guess_lang(text: &str) -> Lang {
    let ja = text.chars().any(|c| {
        matches!(c, '\u{3040}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}' | '\u{FF66}'..='\u{FF9F}')
    });
    if ja {
        Lang::Ja
    } else {
        Lang::En
    }
}

/// Loads the detector; a bad pack is reported by its first error (all of them: `rules check`).
pub fn load(rules: Option<PathBuf>, dict: Option<PathBuf>) -> anyhow::Result<Detector> {
    let rules = rules.unwrap_or_else(default_rules_dir);
    let dict = dict.unwrap_or_else(default_dict_dir);
    Detector::load(&rules, &dict).map_err(|e| match e.downcast_ref::<PackErrors>() {
        Some(errs) if errs.0.len() > 1 => anyhow::anyhow!(
            "{} (and {} more errors: run `claimwatch rules check {}`)",
            errs.0[0],
            errs.0.len() - 1,
            rules.display()
        ),
        _ => e,
    })
}

pub fn run(args: DetectArgs) -> anyhow::Result<ExitCode> {
    let text = match args.text {
        Some(t) => t,
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading stdin (expected UTF-8 text)")?;
            s
        }
    };
    let det = load(args.rules, args.dict)?;
    let origin =
        match &args.origin {
            Some(o) => Some(det.country_code(o).with_context(|| {
                format!("--origin {o:?}: not an ISO 3166 code or a known country")
            })?),
            None => None,
        };
    let alerts = match args.lang {
        LangArg::Ja => det.detect_text(&text, Lang::Ja, origin.as_deref()),
        LangArg::En => det.detect_text(&text, Lang::En, origin.as_deref()),
        // Per line: a stream read aloud in Japanese and then English has claims in both.
        LangArg::Auto => {
            let mut alerts = Vec::new();
            for line in text.lines() {
                for mut a in det.detect_text(line, guess_lang(line), origin.as_deref()) {
                    a.id = format!("a{}", alerts.len() + 1);
                    alerts.push(a);
                }
            }
            alerts
        }
    };
    match args.format {
        Format::Json => {
            // A struct, not json!(): keeps the Alert fields in their declared order.
            #[derive(serde::Serialize)]
            struct Output<'a> {
                alerts: &'a [Alert],
            }
            let json = serde_json::to_string_pretty(&Output { alerts: &alerts })?;
            println!("{json}");
        }
        Format::Table => print!("{}", table(&alerts)),
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per alert: severity, category, rule, the words, the origins when there are some.
fn table(alerts: &[Alert]) -> String {
    if alerts.is_empty() {
        return "no alerts\n".into();
    }
    let mut out = format!(
        "{:<4} {:<8} {:<12} {:<28} {}\n",
        "id", "severity", "category", "rule", "text"
    );
    for a in alerts {
        let origin = match (&a.spoken_origin, &a.declared_origin) {
            (Some(s), Some(d)) => format!("  [spoken {s}, declared {d}]"),
            (Some(s), None) => format!("  [spoken {s}]"),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{:<4} {:<8} {:<12} {:<28} {}{}\n",
            a.id, a.severity, a.category, a.rule, a.text, origin
        ));
    }
    out
}
