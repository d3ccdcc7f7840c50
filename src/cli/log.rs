//! `claimwatch log check DATA_DIR`: verifies a data directory's event log offline and prints a
//! one-screen summary. Exit 0 when sound, 1 when problems were found (each as `file:line: what`),
//! 2 when the directory cannot be read (through `main`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::events::check::{self, Report};

/// Problems listed one per line; the rest are counted (one screen).
const LISTED: usize = 20;

#[derive(Debug, clap::Subcommand)]
pub enum LogCommand {
    /// Check a log: every line parses, ids strictly increase across segments, no unexplained gap.
    Check {
        /// The server's --data-dir.
        data_dir: PathBuf,
    },
}

pub fn run(cmd: LogCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LogCommand::Check { data_dir } => {
            let report = check::check(&data_dir)
                .with_context(|| format!("reading the log in {}", data_dir.display()))?;
            print!("{}", summary(&data_dir, &report));
            Ok(if report.is_sound() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn summary(data_dir: &std::path::Path, report: &Report) -> String {
    let mut out = String::new();
    let ids = match (report.first_id, report.last_id) {
        (Some(first), Some(last)) => format!("ids {first} to {last}"),
        _ => "no events".into(),
    };
    let kinds: Vec<String> = report
        .kinds
        .iter()
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect();
    out.push_str(&format!(
        "{}: {} file(s), {} bytes, {} events ({}), {ids}, {} stream(s)\n",
        data_dir.display(),
        report.files,
        report.bytes,
        report.events,
        if kinds.is_empty() {
            "none".into()
        } else {
            kinds.join(", ")
        },
        report.streams
    ));
    if report.legacy {
        out.push_str(
            "old single-file events.jsonl present: moved into events/ at the next start\n",
        );
    }
    if report.explained_gaps > 0 {
        out.push_str(&format!(
            "{} gap(s) in the ids explained by the gaps record or the quarantine file\n",
            report.explained_gaps
        ));
    }
    if report.quarantined > 0 {
        out.push_str(&format!(
            "{} line(s) in {} (moved out of the log at an earlier start)\n",
            report.quarantined,
            data_dir.join(crate::events::log::QUARANTINE_FILE).display()
        ));
    }
    for problem in report.problems.iter().take(LISTED) {
        out.push_str(&format!("{problem}\n"));
    }
    if report.problems.len() > LISTED {
        out.push_str(&format!(
            "… and {} more problem(s)\n",
            report.problems.len() - LISTED
        ));
    }
    out.push_str(&if report.is_sound() {
        "sound\n".to_string()
    } else {
        format!("{} problem(s)\n", report.problems.len())
    });
    out
}
