//! `claimwatch rules check [DIR]`: validates every rule pack and prints every error as
//! `file:line: message` (exit 2), or a summary of what loaded.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::detect::pack::{self, RuleSet};
use crate::detect::{default_rules_dir, Lang};

#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// Validate rule packs (default folder: rules/, or $CLAIMWATCH_RULES).
    Check {
        /// Folder with *.toml rule packs.
        dir: Option<PathBuf>,
    },
}

pub fn run(cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RulesCommand::Check { dir } => {
            let dir = dir.unwrap_or_else(default_rules_dir);
            match pack::load_dir(&dir) {
                Ok(set) => {
                    println!("{}", summary(&dir, &set));
                    Ok(ExitCode::SUCCESS)
                }
                Err(errs) => {
                    for e in &errs.0 {
                        eprintln!("{e}");
                    }
                    eprintln!(
                        "claimwatch: error: {} error{} in {}",
                        errs.0.len(),
                        if errs.0.len() == 1 { "" } else { "s" },
                        dir.display()
                    );
                    Ok(ExitCode::from(2))
                }
            }
        }
    }
}

fn summary(dir: &std::path::Path, set: &RuleSet) -> String {
    let per_lang = |lang: Lang| {
        let rules = set.rules.iter().filter(|r| r.base.lang == lang).count();
        let origins = set.origins.iter().filter(|o| o.base.lang == lang).count();
        format!("{lang}: {rules} rules, {origins} origin rules")
    };
    format!(
        "{}: ok: {} files; {}; {}; {} countries",
        dir.display(),
        set.files.len(),
        per_lang(Lang::Ja),
        per_lang(Lang::En),
        set.countries.len()
    )
}
