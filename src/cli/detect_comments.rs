//! `claimwatch detect --comments`: chat comments as JSON Lines (files or stdin) → comment alerts
//! numbered c1, c2, … with the input line they came from, as a table or JSON, then the exit gate.
//!
//! Viewer comments go through the comment packs; the seller's own comments through the claims
//! packs (with `--origin`) and the comment packs' scam and personal-info rules. Repeats of one user
//! and category within ten minutes fold into the first alert ([`Escalator`]): by the comment's `at`
//! when it is RFC 3339, else one second per input line. A bad line is `file:line: message`, exit 2.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use serde::Serialize;

use super::detect::{alert_columns, first_pack_error, table_header, Format};
use super::gate::{verdict, FailOn};
use crate::comments::escalate::parse_rfc3339;
use crate::comments::{check_seller, Comment, CommentDetector, Escalator, Offer};
use crate::detect::{default_rules_dir, Alert, Lang};

pub use crate::comments::escalate::WINDOW;

pub struct Options {
    pub rules: Option<PathBuf>,
    pub dict: Option<PathBuf>,
    pub lang: Option<Lang>,
    pub origin: Option<String>,
    pub format: Format,
    pub files: Vec<PathBuf>,
    pub fail_on: FailOn,
}

#[derive(Serialize)]
struct Found {
    /// Input file (absent for stdin) and line (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    line: usize,
    #[serde(flatten)]
    alert: Alert,
}

pub fn run(o: Options) -> anyhow::Result<ExitCode> {
    let rules = o.rules.clone().unwrap_or_else(default_rules_dir);
    let det = CommentDetector::load(&rules).map_err(|e| first_pack_error(e, &rules))?;
    // The claims packs load lazily: only the seller's comments need them (and the dictionary).
    let mut claims = None;
    let mut origin = None;
    let inputs: Vec<(Option<PathBuf>, Box<dyn BufRead>)> = if o.files.is_empty() {
        vec![(None, Box::new(std::io::stdin().lock()))]
    } else {
        o.files
            .iter()
            .map(|f| {
                let file = std::fs::File::open(f).with_context(|| format!("{}", f.display()))?;
                Ok((
                    Some(f.clone()),
                    Box::new(std::io::BufReader::new(file)) as Box<dyn BufRead>,
                ))
            })
            .collect::<anyhow::Result<_>>()?
    };
    let mut escalator = Escalator::new(WINDOW);
    let mut kept: Vec<Found> = Vec::new();
    let mut position = 0u64;
    for (file, reader) in inputs {
        let name = file.as_ref().map(|f| f.display().to_string());
        let here = |n: usize| format!("{}:{n}", name.as_deref().unwrap_or("<stdin>"));
        for (i, line) in reader.lines().enumerate() {
            let n = i + 1;
            let line = line.with_context(|| format!("{}: reading (expected UTF-8)", here(n)))?;
            if line.trim().is_empty() {
                continue;
            }
            position += 1;
            let comment: Comment = match serde_json::from_str(&line) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{}: {e}", here(n));
                    return Ok(ExitCode::from(2));
                }
            };
            let mut alerts = det.check(&comment, o.lang);
            if comment.from_seller {
                if claims.is_none() {
                    let d = super::detect::load(o.rules.clone(), o.dict.clone())?;
                    origin = match &o.origin {
                        Some(x) => Some(d.country_code(x).with_context(|| {
                            format!("--origin {x:?}: not an ISO 3166 code or a known country")
                        })?),
                        None => None,
                    };
                    claims = Some(d);
                }
                let d = claims.as_ref().expect("loaded above");
                alerts.extend(check_seller(d, &comment, o.lang, origin.as_deref()));
            }
            // Without a parsable time, input order stands in for it: one second per comment.
            let at = comment
                .at
                .as_deref()
                .and_then(parse_rfc3339)
                .unwrap_or(SystemTime::UNIX_EPOCH + Duration::from_secs(position));
            for mut alert in alerts {
                alert.id = format!("c{}", kept.len() + 1);
                match escalator.offer(alert, at) {
                    Offer::New(alert) => kept.push(Found {
                        file: name.clone(),
                        line: n,
                        alert,
                    }),
                    Offer::Joined {
                        first_alert_id,
                        count,
                        severity,
                    } => {
                        if let Some(f) = kept.iter_mut().find(|f| f.alert.id == first_alert_id) {
                            f.alert.severity = severity;
                            if let Some(c) = f.alert.comment.as_mut() {
                                c.count = count;
                            }
                        }
                    }
                }
            }
        }
    }
    if print(o.format, &kept).is_err() {
        // The reader went away (`| head`): nothing more is wanted, and that is no error.
        return Ok(ExitCode::SUCCESS);
    }
    let severities: Vec<_> = kept.iter().map(|f| f.alert.severity).collect();
    let (code, why) = verdict(o.fail_on, &severities);
    eprintln!("claimwatch: {why}");
    Ok(code)
}

fn print(format: Format, kept: &[Found]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Output<'a> {
                alerts: &'a [Found],
            }
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&Output { alerts: kept })?
            )?;
        }
        Format::Jsonl => {
            for f in kept {
                writeln!(out, "{}", serde_json::to_string(f)?)?;
            }
        }
        Format::Table if kept.is_empty() => writeln!(out, "no alerts")?,
        Format::Table => {
            writeln!(out, "{}  user (count)", table_header())?;
            for f in kept {
                let a = &f.alert;
                let (user, count) = a
                    .comment
                    .as_ref()
                    .map_or(("", 1), |c| (c.user.as_str(), c.count));
                let columns = alert_columns(a, f.line, &a.text.replace('\n', " "));
                writeln!(out, "{columns}  [{user} ×{count}]")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
