//! Command-line front end: argument definitions (clap) and dispatch to one file per subcommand.

mod audit;
mod detect;
mod devices;
mod gate;
mod log;
mod models;
mod progress;
mod rules;
mod serve;
mod test_samples;
mod transcribe;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "claimwatch",
    version,
    about = "Alerts on unlawful spoken claims in live-commerce audio"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Transcribe an audio or video file locally with Whisper.
    Transcribe(transcribe::TranscribeArgs),
    /// Audit recorded files: transcribe, detect claims, report (exit 1 on alerts at --fail-on).
    Audit(audit::AuditArgs),
    /// Run the regression clips (NAME.expect.toml sidecars) and print pass/fail.
    TestSamples(test_samples::TestSamplesArgs),
    /// Detect claims in transcript text (stdin or --text).
    Detect(detect::DetectArgs),
    /// List audio input devices for `device:NAME` sources.
    Devices(devices::DevicesArgs),
    /// Work with Whisper model files.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Monitor live streams; alerts over HTTP + Server-Sent Events until SIGINT/SIGTERM.
    Serve(serve::ServeArgs),
    /// Validate rule packs.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Work with the event log in a data directory.
    #[command(subcommand)]
    Log(log::LogCommand),
}

/// Parses the process arguments and runs the chosen subcommand.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return Ok(ExitCode::from(code));
        }
    };
    match cli.command {
        Command::Transcribe(args) => transcribe::run(args),
        Command::Audit(args) => audit::run(args),
        Command::TestSamples(args) => test_samples::run(args),
        Command::Detect(args) => detect::run(args),
        Command::Devices(args) => devices::run(args),
        Command::Models(cmd) => models::run(cmd),
        Command::Rules(cmd) => rules::run(cmd),
        Command::Serve(args) => serve::run(args),
        Command::Log(cmd) => log::run(cmd),
    }
}
