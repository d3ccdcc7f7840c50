//! `claimwatch detect`: placeholder until the detector lands (issue 3).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct DetectArgs {}

pub fn run(_args: DetectArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("detect is not implemented yet")
}
