//! `claimwatch audit FILE...`: the whole pipeline over recorded files, with a report and an exit
//! code a CI pipeline can gate on (0 clean, 1 alerts at or above `--fail-on`, 2 error).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use super::gate::{self, unchecked_origins, verdict, FailOn, DEFAULT_FAIL_ON};
use super::progress::AudioProgress;
use super::transcribe::{default_threads, Lang};
use crate::audit::header::{self, Counts, DeclaredOrigin, Header, Outcome, Verdict};
use crate::audit::html::{self, EmbeddedAudio};
use crate::audit::labels::Ui;
use crate::audit::{self, table, AuditReport};
use crate::detect::{self, Category, Detector};
use crate::transcribe::model_path;
use crate::transcribe::whisper::{DecodeOptions, LoadOptions, WhisperModel};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Table,
    Json,
    Html,
    /// One row per alert, UTF-8 with a BOM for Excel.
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Recorded streams: audio or video files (WAV, MP3, FLAC, Ogg, AAC, MP4/M4A/MOV).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Declared country of origin of the product (ISO 3166 code such as CN, or a name).
    #[arg(long)]
    origin: Option<String>,
    /// Spoken language.
    #[arg(long, value_enum, default_value = "auto")]
    lang: Lang,
    /// Report format: a table for the terminal (the default, as every subcommand's is for a
    /// person to read), JSON for programs, one self-contained HTML file with the audio (use
    /// with --out), or CSV for a spreadsheet (one row per alert, UTF-8 with a BOM).
    #[arg(long, value_enum, default_value = "table")]
    format: ReportFormat,
    /// Table format: print the transcript too, each alert under the segment it came from (json
    /// and html reports always hold the transcript).
    #[arg(long)]
    transcript: bool,
    /// Write the report here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Language of the report's words (HTML page, table header): ja or en. Default: the language
    /// of the first audited file, so Japanese audio gets a Japanese report and a batch of mixed
    /// languages follows its first file. JSON keys and ids do not change.
    #[arg(long, value_enum)]
    ui: Option<Ui>,
    /// Exit 1 when an alert is at or above this severity. The default, medium, is what is unlawful
    /// as said; low alerts need a fact check first (README: "Exit gate").
    #[arg(long, value_enum, default_value = DEFAULT_FAIL_ON)]
    fail_on: FailOn,
    /// Rule packs directory (default: rules/).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// ggml Whisper model (default: base for ja/auto, tiny.en for en).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Threads for whisper.cpp (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Prime Whisper with the rule packs' vocabulary (whisper.cpp initial prompt).
    #[arg(long)]
    vocabulary: bool,
    /// Skip the second listen: spans that sound close to a rule without matching it (Japanese
    /// readings a few kana off; English sentences with a rule's every part but one, the missing
    /// one sounded) are otherwise decoded again with the rule's words as the prompt (an alert
    /// only if they match).
    #[arg(long)]
    no_second_listen: bool,
}

pub fn run(args: AuditArgs) -> Result<ExitCode> {
    if args.transcript && args.format != ReportFormat::Table {
        eprintln!("claimwatch: note: --transcript changes only the table; json and html reports always hold the transcript");
    }
    // Everything that can be wrong before the long work starts fails first: a file that cannot
    // be opened is reported now, and the others are still audited (a batch of recordings is not
    // lost to one typo). With none left there is nothing to do.
    let mut unreadable = 0;
    let files: Vec<&PathBuf> = args
        .files
        .iter()
        .filter(|file| match crate::audio::open(file) {
            Ok(_) => true,
            Err(err) => {
                eprintln!("claimwatch: error: {err:#}");
                unreadable += 1;
                false
            }
        })
        .collect();
    if files.is_empty() {
        return Ok(ExitCode::from(2));
    }
    let detector = match &args.rules {
        Some(dir) => Detector::load(dir, &detect::default_dict_dir())?,
        None => Detector::load_default()?,
    };
    let origin = match &args.origin {
        Some(given) => Some(
            detector
                .country_code(given)
                .with_context(|| format!("--origin {given}: not a known country"))?,
        ),
        None => None,
    };
    let model_path = match &args.model {
        Some(path) => path.clone(),
        None => model_path::default_model(args.lang == Lang::En)?,
    };
    let model = WhisperModel::load(&model_path, LoadOptions::default())?;
    let mut session = model.session()?;
    let options = DecodeOptions {
        language: args.lang.code(),
        threads: args.threads.unwrap_or_else(default_threads),
        language_prompts: if args.vocabulary {
            detector.whisper_prompts()
        } else {
            Vec::new()
        },
        ..DecodeOptions::default()
    };

    let mut report = AuditReport {
        header: Header::default(),
        files: Vec::new(),
    };
    let mut failed = unreadable;
    for file in files {
        let progress = AudioProgress::new(
            crate::audio::open(file).ok().and_then(|s| s.duration_s()),
            &file.display().to_string(),
        );
        let result = audit::audit_file(
            file,
            &mut session,
            &detector,
            &options,
            origin.as_deref(),
            !args.no_second_listen,
            |done_s| progress.update(done_s),
        );
        progress.finish();
        match result {
            Ok(file_report) => {
                if detect::Lang::parse(&file_report.language).is_none() {
                    eprintln!(
                        "claimwatch: warning: {}: language {:?} has no rule packs; transcript only",
                        file.display(),
                        file_report.language
                    );
                }
                report.files.push(file_report);
            }
            // Keep going: the other files' findings still reach the report.
            Err(err) => {
                eprintln!("claimwatch: error: {err:#}");
                failed += 1;
            }
        }
    }

    // The gate is judged before rendering: the reports open with its verdict.
    let alerts = report.files.iter().flat_map(|f| &f.alerts);
    let severities: Vec<_> = alerts.clone().map(|a| a.severity).collect();
    let categories: Vec<_> = alerts.map(|a| a.category).collect();
    let (code, why) = verdict(args.fail_on, &severities);
    let ui = args
        .ui
        .unwrap_or_else(|| Ui::follow(report.files.iter().map(|f| f.language.as_str())));
    let failing = gate::failing(args.fail_on, &severities);
    report.header = Header {
        generated_at: header::now(),
        claimwatch_version: env!("CARGO_PKG_VERSION").to_string(),
        ui_language: ui.code().to_string(),
        verdict: Some(Verdict {
            result: if failing == 0 {
                Outcome::Pass
            } else {
                Outcome::Fail
            },
            fail_on: args.fail_on.name().to_string(),
            threshold: args.fail_on.threshold(),
            failing,
            worst: severities.iter().max().copied(),
            reason: why.clone(),
        }),
        counts: Counts::of(&report.files),
        declared_origin: origin.as_ref().map(|code| DeclaredOrigin {
            name: detector.country_name(
                code,
                match ui {
                    Ui::Ja => detect::Lang::Ja,
                    Ui::En => detect::Lang::En,
                },
            ),
            code: code.clone(),
        }),
        unchecked_origin_claims: if origin.is_none() {
            categories
                .iter()
                .filter(|c| **c == Category::OriginClaim)
                .count()
        } else {
            0
        },
        files_failed: failed,
        models: vec![
            header::fingerprint(&model_path).with_context(|| model_path.display().to_string())?
        ],
        rule_packs: detector
            .files()
            .iter()
            .map(|p| header::pack_fingerprint(p).with_context(|| p.display().to_string()))
            .collect::<Result<_>>()?,
    };

    let rendered = match args.format {
        ReportFormat::Table => table::render(&report, args.transcript, ui),
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        ReportFormat::Html => {
            let audio = report
                .files
                .iter()
                .map(|f| EmbeddedAudio::for_file(Path::new(&f.file)))
                .collect::<std::io::Result<Vec<_>>>()?;
            // Morpheme edges, so Japanese context is never cut inside a word.
            let reader = detect::reading::load_dictionary(&detect::default_dict_dir())?;
            html::render(&report, &audio, ui, &reader)
        }
        ReportFormat::Csv => String::from_utf8(audit::spreadsheet::render(&report))?,
    };
    match &args.out {
        Some(path) => write_atomically(path, rendered.as_bytes())?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(rendered.as_bytes())?;
            stdout.flush()?;
        }
    }

    if failed > 0 {
        eprintln!(
            "claimwatch: exit 2: {failed} of {} files could not be audited (see above); the report holds the others",
            args.files.len()
        );
        return Ok(ExitCode::from(2));
    }
    if let Some(warning) = unchecked_origins(origin.as_deref(), &categories) {
        eprintln!("claimwatch: {warning}");
    }
    eprintln!("claimwatch: {why}");
    Ok(code)
}

/// A report is written whole or not at all: a crash mid-write leaves the previous one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        bail!("{}: directory does not exist", dir.display());
    }
    // A temp file is private (0600) by default; a report is an ordinary file for whoever may
    // read the folder, so ask for 0666 and let the umask narrow it, as any other write would.
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .with_context(|| dir.display().to_string())?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| path.display().to_string())?;
    Ok(())
}
