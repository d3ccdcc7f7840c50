//! `claimwatch rules`: placeholder until the detector lands (issue 3).

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// Validate rule packs.
    Check,
}

pub fn run(_cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("rules check is not implemented yet")
}
