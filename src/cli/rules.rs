//! `claimwatch rules check [DIR]`: validates every rule pack and prints every error as
//! `file:line: message` (exit 2), or a summary of what loaded; the comment packs in its
//! `comments/` folder too.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::comments::pack as comment_pack;
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
            // The comment packs (rules/comments/) are checked too, when the folder has them.
            let comments_dir = dir.join("comments");
            let comments = comments_dir
                .is_dir()
                .then(|| comment_pack::load_dir(&comments_dir));
            let claims = pack::load_dir(&dir);
            let result = match (claims, comments) {
                (Ok(set), None) => Ok((set, None)),
                (Ok(set), Some(Ok(packs))) => Ok((set, Some(packs))),
                (Err(e), None | Some(Ok(_))) => Err(e),
                (Ok(_), Some(Err(e))) => Err(e),
                (Err(mut e), Some(Err(c))) => {
                    e.0.extend(c.0);
                    Err(e)
                }
            };
            match result {
                Ok((set, packs)) => {
                    println!("{}", summary(&dir, &set));
                    if let Some(packs) = packs {
                        let rules: usize = packs.iter().map(|p| p.rules.len()).sum();
                        println!(
                            "{}: ok: {} comment packs, {rules} comment rules",
                            comments_dir.display(),
                            packs.len()
                        );
                    }
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
