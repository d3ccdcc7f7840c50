//! `claimwatch detect`: claims in transcript text (stdin or `--text`, one utterance per line) →
//! alerts with their line numbers, as a table or JSON Lines printed as each line is read (a live
//! pipe sees them at once), or as one `{"alerts": [...]}` document at the end; then the exit gate.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use super::gate::{unchecked_origins, verdict, FailOn, DEFAULT_FAIL_ON};
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
    /// One document, `{"alerts": [...]}`, once the input ends.
    Json,
    /// One alert per line as JSON, printed as soon as its input line is read.
    Jsonl,
    /// Aligned columns, printed as soon as each input line is read.
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
    /// Output format. As in every subcommand, the default is for a person to read (`table`;
    /// `transcribe` prints `text`) and `json` is for programs.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Text to check (default: read stdin); every line is one utterance.
    #[arg(long, conflicts_with = "comments")]
    text: Option<String>,
    /// Read chat comments instead: JSON Lines, one `{"id","user","text","at"?,"from_seller"?}`
    /// per line, from the FILES or stdin; viewer comments go through the comment packs
    /// (rules/comments), the seller's through the claims packs too. Alert ids are c1, c2, …
    #[arg(long)]
    comments: bool,
    /// JSON Lines comment files (with --comments; default: stdin).
    #[arg(requires = "comments")]
    files: Vec<PathBuf>,
    /// Exit 1 when an alert is at or above this severity (as `audit`).
    #[arg(long, value_enum, default_value = DEFAULT_FAIL_ON)]
    fail_on: FailOn,
}

/// Loads the detector; a bad pack is reported by its first error (all of them: `rules check`).
pub fn load(rules: Option<PathBuf>, dict: Option<PathBuf>) -> anyhow::Result<Detector> {
    let rules = rules.unwrap_or_else(default_rules_dir);
    let dict = dict.unwrap_or_else(default_dict_dir);
    Detector::load(&rules, &dict).map_err(|e| first_pack_error(e, &rules))
}

/// A load error of the packs in `rules` on one line: the first error, and how many more
/// `claimwatch rules check` would list.
pub fn first_pack_error(e: anyhow::Error, rules: &std::path::Path) -> anyhow::Error {
    match e.downcast_ref::<PackErrors>() {
        Some(errs) if errs.0.len() > 1 => anyhow::anyhow!(
            "{} (and {} more errors: run `claimwatch rules check {}`)",
            errs.0[0],
            errs.0.len() - 1,
            rules.display()
        ),
        _ => e,
    }
}

pub fn run(args: DetectArgs) -> anyhow::Result<ExitCode> {
    if args.comments {
        let lang = match args.lang {
            LangArg::Ja => Some(Lang::Ja),
            LangArg::En => Some(Lang::En),
            LangArg::Auto => None,
        };
        let options = super::detect_comments::Options {
            rules: args.rules,
            dict: args.dict,
            lang,
            origin: args.origin,
            format: args.format,
            files: args.files,
            fail_on: args.fail_on,
        };
        return super::detect_comments::run(options);
    }
    let det = load(args.rules, args.dict)?;
    let origin =
        match &args.origin {
            Some(o) => Some(det.country_code(o).with_context(|| {
                format!("--origin {o:?}: not an ISO 3166 code or a known country")
            })?),
            None => None,
        };
    let lines: Box<dyn Iterator<Item = std::io::Result<String>>> = match args.text {
        Some(t) => Box::new(
            t.lines()
                .map(|l| Ok(l.to_string()))
                .collect::<Vec<_>>()
                .into_iter(),
        ),
        None => Box::new(std::io::stdin().lock().lines()),
    };
    let mut out = Printer {
        format: args.format,
        stdout: std::io::stdout().lock(),
        kept: Vec::new(),
        header: false,
    };
    let (mut severities, mut categories) = (Vec::new(), Vec::new());
    for (n, line) in lines.enumerate() {
        let line = line.context("reading stdin (expected UTF-8 text)")?;
        let lang = match args.lang {
            LangArg::Ja => Lang::Ja,
            LangArg::En => Lang::En,
            // Per line: a stream read aloud in Japanese and then English has claims in both.
            LangArg::Auto => Lang::of_text(&line),
        };
        for mut alert in det.detect_text(&line, lang, origin.as_deref()) {
            severities.push(alert.severity);
            categories.push(alert.category);
            alert.id = format!("a{}", severities.len());
            if out.alert(n + 1, alert).is_err() {
                // The reader went away (`| head`): nothing more is wanted, and that is no error.
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    if out.finish().is_err() {
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(warning) = unchecked_origins(origin.as_deref(), &categories) {
        eprintln!("claimwatch: {warning}");
    }
    let (code, why) = verdict(args.fail_on, &severities);
    eprintln!("claimwatch: {why}");
    Ok(code)
}

/// An alert and the input line (1-based) it was found on.
#[derive(Serialize)]
struct Found {
    line: usize,
    #[serde(flatten)]
    alert: Alert,
}

/// Writes alerts as they come; `json` keeps them for one document at the end.
struct Printer {
    format: Format,
    stdout: std::io::StdoutLock<'static>,
    kept: Vec<Found>,
    header: bool,
}

impl Printer {
    fn alert(&mut self, line: usize, alert: Alert) -> anyhow::Result<()> {
        let found = Found { line, alert };
        match self.format {
            Format::Json => self.kept.push(found),
            Format::Jsonl => {
                serde_json::to_writer(&mut self.stdout, &found)?;
                writeln!(self.stdout)?;
                self.stdout.flush()?;
            }
            Format::Table => {
                if !self.header {
                    self.header = true;
                    writeln!(self.stdout, "{}", table_header())?;
                }
                writeln!(self.stdout, "{}", table_row(&found))?;
                self.stdout.flush()?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        match self.format {
            Format::Json => {
                #[derive(Serialize)]
                struct Output<'a> {
                    alerts: &'a [Found],
                }
                let json = serde_json::to_string_pretty(&Output { alerts: &self.kept })?;
                writeln!(self.stdout, "{json}")?;
            }
            Format::Table if !self.header => writeln!(self.stdout, "no alerts")?,
            Format::Table | Format::Jsonl => {}
        }
        self.stdout.flush()?;
        Ok(())
    }
}

pub(super) fn table_header() -> String {
    format!(
        "{:<4} {:<5} {:<8} {:<12} {:<28} text",
        "id", "line", "severity", "category", "rule"
    )
}

/// One alert: id, line, severity, category, rule, the words, the origins when there are some.
fn table_row(found: &Found) -> String {
    let a = &found.alert;
    let origin = match (&a.spoken_origin, &a.declared_origin) {
        (Some(s), Some(d)) => format!("  [spoken {s}, declared {d}]"),
        (Some(s), None) => format!("  [spoken {s}]"),
        _ => String::new(),
    };
    format!("{}{origin}", alert_columns(a, found.line, &a.text))
}

/// The table's columns for one alert, under [`table_header`]: id, line, severity, category,
/// rule, then `text` (the words, as the caller wants them shown).
pub(super) fn alert_columns(a: &Alert, line: usize, text: &str) -> String {
    format!(
        "{:<4} {:<5} {:<8} {:<12} {:<28} {}",
        a.id,
        line,
        a.severity.to_string(),
        a.category.to_string(),
        a.rule,
        text
    )
}
