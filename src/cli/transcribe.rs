//! `claimwatch transcribe`.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct TranscribeArgs {}

pub fn run(_args: TranscribeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
