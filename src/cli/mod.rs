//! Command-line front end: argument definitions (clap) and dispatch to one file per subcommand.

mod audit;
mod detect;
mod detect_comments;
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

// Parsed once per run: the size of the largest subcommand's arguments costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Transcribe an audio or video file locally with Whisper.
    #[command(
        after_help = "Examples:\n  claimwatch transcribe samples/en_demo.wav --lang en\n  claimwatch transcribe recording.mp4 --format srt > recording.srt"
    )]
    Transcribe(transcribe::TranscribeArgs),
    /// Audit recorded files: transcribe, detect claims, report (exit 1 on alerts at --fail-on).
    #[command(
        after_help = "Examples:\n  claimwatch audit samples/ja_demo.wav --origin CN\n  claimwatch audit day1/*.mp4 --origin CN --format html --out report.html\n  claimwatch audit clip.wav --lang en --fail-on critical   # gate only on false origins"
    )]
    Audit(audit::AuditArgs),
    /// Run the regression clips (NAME.expect.toml sidecars) and print pass/fail.
    #[command(
        after_help = "Examples:\n  claimwatch test-samples\n  claimwatch test-samples samples --threads 1"
    )]
    TestSamples(test_samples::TestSamplesArgs),
    /// Detect claims in transcript text (stdin or --text).
    #[command(
        after_help = "Examples:\n  echo \"This serum cures acne.\" | claimwatch detect --lang en --format table\n  tail -f transcript.txt | claimwatch detect --origin CN --format jsonl"
    )]
    Detect(detect::DetectArgs),
    /// List audio input devices for `device:NAME` sources.
    #[command(after_help = "Example:\n  claimwatch devices")]
    Devices(devices::DevicesArgs),
    /// Work with Whisper model files.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  claimwatch models info models/ggml-tiny.en-q8_0.bin\n  claimwatch models import-ct2 CT2_DIR models/ggml-base-q8_0.bin"
    )]
    Models(models::ModelsCommand),
    /// Monitor live streams; alerts over HTTP + Server-Sent Events until SIGINT/SIGTERM.
    #[command(
        after_help = "Examples:\n  claimwatch serve --stream shop1=file:samples/ja_demo.wav?realtime,origin=CN,lang=ja\n  curl -N http://127.0.0.1:8080/events\n  curl -X POST http://127.0.0.1:8080/streams -H 'content-type: application/json' \\\n       -d '{\"id\": \"shop2\", \"source\": \"https://example.com/live.m3u8\", \"lang\": \"en\"}'"
    )]
    Serve(serve::ServeArgs),
    /// Validate rule packs.
    #[command(subcommand)]
    #[command(after_help = "Example:\n  claimwatch rules check rules/")]
    Rules(rules::RulesCommand),
    /// Work with the event log in a data directory.
    #[command(subcommand)]
    #[command(after_help = "Example:\n  claimwatch log check claimwatch-data")]
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
