//! `claimwatch models`: convert CTranslate2 Whisper weights to ggml, inspect ggml files, and build
//! the Japanese dictionary (IPADIC for lindera) the claims detector reads with.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::model::{self, ggml, Quant};

#[derive(Debug, clap::Subcommand)]
pub enum ModelsCommand {
    /// Convert a CTranslate2 (faster-whisper) Whisper directory to a ggml file for whisper.cpp.
    ImportCt2 {
        /// Directory with model.bin (or model.bin.part1, part2, …) and tokenizer.json.
        ct2_dir: PathBuf,
        /// Output ggml file.
        out: PathBuf,
        /// How to store weight matrices.
        #[arg(long, value_enum, default_value = "q8_0")]
        quant: Quant,
    },
    /// Build the lindera IPADIC dictionary the claims detector reads Japanese with, from the
    /// mecab-ipadic source CSVs (Debian package mecab-ipadic, EUC-JP).
    BuildDictionary {
        /// mecab-ipadic source folder (matrix.def, *.csv, char.def, unk.def).
        #[arg(long, default_value = "/usr/share/mecab/dic/ipadic")]
        src: PathBuf,
        /// Output folder (loaded by the detector at run time).
        #[arg(long, default_value = "models/ipadic")]
        out: PathBuf,
    },
    /// Print a ggml Whisper file's hyperparameters and tensor count.
    Info {
        /// A ggml Whisper model file.
        file: PathBuf,
    },
}

pub fn run(cmd: ModelsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ModelsCommand::ImportCt2 {
            ct2_dir,
            out,
            quant,
        } => {
            let report = model::import_ct2(&ct2_dir, &out, quant)?;
            let h = report.hparams;
            eprintln!(
                "wrote {} ({:.1} MB, {} tensors, {} layers, width {}, {})",
                out.display(),
                report.bytes as f64 / 1e6,
                report.tensors,
                h.n_audio_layer,
                h.n_audio_state,
                if report.multilingual {
                    "multilingual"
                } else {
                    "English-only"
                },
            );
        }
        ModelsCommand::BuildDictionary { src, out } => {
            let started = std::time::Instant::now();
            crate::detect::reading::build_dictionary(&src, &out)?;
            eprintln!(
                "wrote {} from {} in {:.1} s",
                out.display(),
                src.display(),
                started.elapsed().as_secs_f64()
            );
        }
        ModelsCommand::Info { file } => {
            let f = File::open(&file).with_context(|| file.display().to_string())?;
            let summary = ggml::read_summary(&mut BufReader::new(f))
                .with_context(|| file.display().to_string())?;
            let bytes = std::fs::metadata(&file).map_or(0, |m| m.len());
            print!("{}", describe(&file, bytes, &summary));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `models info` in words: which Whisper it is, its two halves, its vocabulary and its weights.
fn describe(file: &std::path::Path, bytes: u64, summary: &ggml::GgmlSummary) -> String {
    let h = &summary.hparams;
    let size = match (h.n_audio_layer, h.n_audio_state) {
        (4, 384) => "tiny",
        (6, 512) => "base",
        (12, 768) => "small",
        (24, 1024) => "medium",
        (32, 1280) => "large",
        _ => "non-standard",
    };
    // 51,864 tokens is the English-only tokenizer; the multilingual ones have 51,865 or more.
    let english_only = h.n_vocab == 51_864;
    // ftype = quantization version × 1000 + type (whisper.cpp's convention).
    let weights = match h.ftype % 1000 {
        0 => "f32",
        1 => "f16",
        2 => "q4_0",
        3 => "q4_1",
        7 => "q8_0",
        8 => "q5_0",
        9 => "q5_1",
        19 => "iq4_nl",
        _ => "unknown type",
    };
    format!(
        "{}: Whisper {size}{} ({}), {:.1} MB\n\
         \x20 encoder: {} layers, width {}, {} heads, {} audio positions ({} s)\n\
         \x20 decoder: {} layers, width {}, {} heads, {} text positions\n\
         \x20 vocabulary: {} tokens; mel filters: {} x {}\n\
         \x20 weights: {weights} (ftype {}); {} tensors\n",
        file.display(),
        if english_only { ".en" } else { "" },
        if english_only {
            "English-only"
        } else {
            "multilingual"
        },
        bytes as f64 / 1e6,
        h.n_audio_layer,
        h.n_audio_state,
        h.n_audio_head,
        h.n_audio_ctx,
        h.n_audio_ctx / 50,
        h.n_text_layer,
        h.n_text_state,
        h.n_text_head,
        h.n_text_ctx,
        h.n_vocab,
        summary.mel_shape.0,
        summary.mel_shape.1,
        h.ftype,
        summary.tensors.len(),
    )
}
