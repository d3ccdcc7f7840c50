//! `claimwatch models`.

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum ModelsCommand {
    /// Convert a CTranslate2 Whisper directory to ggml.
    ImportCt2,
}

pub fn run(_cmd: ModelsCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
