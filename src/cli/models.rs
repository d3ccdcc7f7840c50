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
            println!("{:#?}", summary.hparams);
            println!(
                "mel: {}x{}, vocab: {} tokens, tensors: {}",
                summary.mel_shape.0,
                summary.mel_shape.1,
                summary.vocab.len(),
                summary.tensors.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
