//! CTranslate2 (faster-whisper) directory → ggml Whisper file.
//!
//! Input: a directory with `model.bin` (or `model.bin.part1`, `model.bin.part2`, … read as one
//! stream), `tokenizer.json` and, optionally, `config.json`. Output: a ggml file whisper.cpp
//! loads, with matrices as f16 or q8_0 and what whisper.cpp insists on (biases, layer norms,
//! positional embeddings, 2-D `[n,1]` conv biases) as f32. The file is written to a temporary
//! name and renamed at the end, so an interrupted import never leaves a half model behind.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::model::ct2::{self, Ct2Model, Variable};
use crate::model::ggml::{self, Hparams};
use crate::model::mel;
use crate::model::names::{self, Mapping};
use crate::model::quant::{self, GgmlType};
use crate::model::vocab;

/// How the converter stores 2-D weight matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Quant {
    F16,
    #[value(name = "q8_0")]
    Q8_0,
    #[value(name = "iq4_nl")]
    Iq4Nl,
}

impl Quant {
    fn matrix_type(self) -> GgmlType {
        match self {
            Quant::F16 => GgmlType::F16,
            Quant::Q8_0 => GgmlType::Q8_0,
            Quant::Iq4Nl => GgmlType::Iq4Nl,
        }
    }
}

/// What an import wrote.
#[derive(Debug)]
pub struct ImportReport {
    pub hparams: Hparams,
    pub tensors: usize,
    pub bytes: u64,
    pub multilingual: bool,
}

/// The `model.bin` stream: the file itself, or its numbered parts chained in order.
fn model_stream(dir: &Path) -> Result<Box<dyn Read>> {
    let single = dir.join("model.bin");
    if single.is_file() {
        let file = File::open(&single).with_context(|| single.display().to_string())?;
        return Ok(Box::new(file));
    }
    let mut parts: Vec<PathBuf> = Vec::new();
    for n in 1.. {
        let part = dir.join(format!("model.bin.part{n}"));
        if !part.is_file() {
            break;
        }
        parts.push(part);
    }
    if parts.is_empty() {
        bail!(
            "{}: no model.bin or model.bin.part1 (not a CTranslate2 model directory)",
            dir.display()
        );
    }
    let mut stream: Box<dyn Read> = Box::new(std::io::empty());
    for part in parts {
        let file = File::open(&part).with_context(|| part.display().to_string())?;
        stream = Box::new(stream.chain(file));
    }
    Ok(stream)
}

fn require<'a>(model: &'a Ct2Model, name: &str) -> Result<&'a Variable> {
    model
        .variable(name)
        .with_context(|| format!("model has no variable {name}: not a Whisper model?"))
}

fn dim(v: &Variable, i: usize) -> Result<i32> {
    let d = v
        .dims
        .get(i)
        .with_context(|| format!("{} has no dimension {i}", v.name))?;
    Ok(i32::try_from(*d)?)
}

fn count_layers(model: &Ct2Model, side: &str) -> i32 {
    let prefix = format!("{side}/layer_");
    let mut indices: Vec<&str> = model
        .variables
        .iter()
        .filter_map(|v| v.name.strip_prefix(&prefix)?.split('/').next())
        .filter(|index| index.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    indices.sort_unstable();
    indices.dedup();
    indices.len() as i32
}

fn heads(model: &Ct2Model, side: &str, state: i32) -> i32 {
    // Older specs lack num_heads; every released Whisper size uses 64-wide heads.
    model
        .variable(&format!("{side}/num_heads"))
        .and_then(Variable::as_int)
        .map(|h| h as i32)
        .unwrap_or(state / 64)
}

fn hparams(model: &Ct2Model, quant: Quant) -> Result<Hparams> {
    let embeddings = require(model, "decoder/embeddings/weight")?;
    let audio_pos = require(model, "encoder/position_encodings/encodings")?;
    let text_pos = require(model, "decoder/position_encodings/encodings")?;
    let conv1 = require(model, "encoder/conv1/weight")?;
    let n_audio_state = dim(audio_pos, 1)?;
    let n_text_state = dim(text_pos, 1)?;
    Ok(Hparams {
        n_vocab: dim(embeddings, 0)?,
        n_audio_ctx: dim(audio_pos, 0)?,
        n_audio_state,
        n_audio_head: heads(model, "encoder", n_audio_state),
        n_audio_layer: count_layers(model, "encoder"),
        n_text_ctx: dim(text_pos, 0)?,
        n_text_state,
        n_text_head: heads(model, "decoder", n_text_state),
        n_text_layer: count_layers(model, "decoder"),
        n_mels: dim(conv1, 1)?,
        ftype: Hparams::ftype_for(quant.matrix_type()),
    })
}

/// Storage type and on-disk shape of a ggml tensor, as whisper.cpp expects them.
fn layout(name: &str, shape: &[usize], quant: Quant) -> (GgmlType, Vec<usize>) {
    match name {
        "encoder.conv1.bias" | "encoder.conv2.bias" => (GgmlType::F32, vec![shape[0], 1]),
        "encoder.positional_embedding" | "decoder.positional_embedding" => {
            (GgmlType::F32, shape.to_vec())
        }
        _ => match shape.len() {
            0 | 1 => (GgmlType::F32, shape.to_vec()),
            2 => (quant.matrix_type(), shape.to_vec()),
            // Convolution kernels: whisper.cpp wants f16 whatever the matrices are.
            _ => (GgmlType::F16, shape.to_vec()),
        },
    }
}

/// Converts the CTranslate2 model in `dir` to a ggml file at `out`.
pub fn import_ct2(dir: &Path, out: &Path, quant: Quant) -> Result<ImportReport> {
    let tokenizer_path = dir.join("tokenizer.json");
    let tokenizer = fs::read_to_string(&tokenizer_path)
        .with_context(|| tokenizer_path.display().to_string())?;
    let vocab = vocab::parse(&tokenizer).with_context(|| tokenizer_path.display().to_string())?;

    let model = ct2::read(BufReader::with_capacity(1 << 20, model_stream(dir)?))
        .with_context(|| format!("{}: reading model.bin", dir.display()))?;
    if model.spec != "WhisperSpec" {
        bail!(
            "{}: spec is {:?}, not a Whisper model",
            dir.display(),
            model.spec
        );
    }
    let hparams = hparams(&model, quant).with_context(|| dir.display().to_string())?;
    let multilingual = hparams.n_vocab >= 51865;
    let expected_eot = if multilingual { 50257 } else { 50256 };
    if vocab.end_of_text != expected_eot {
        bail!(
            "{}: tokenizer's <|endoftext|> is {} but a model with {} tokens needs {expected_eot}",
            tokenizer_path.display(),
            vocab.end_of_text,
            hparams.n_vocab
        );
    }

    let tmp = out.with_extension("bin.tmp");
    let file = File::create(&tmp).with_context(|| tmp.display().to_string())?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let filters = mel::filterbank(hparams.n_mels as usize);
    ggml::write_header(&mut w, &hparams, &filters, mel::N_FREQ_BINS, &vocab.tokens)?;

    let mut tensors = 0;
    for var in &model.variables {
        if var.dims.is_empty() {
            continue; // configuration scalars
        }
        let targets = match names::map_variable(&var.name) {
            Some(Mapping::Tensors(t)) => t,
            Some(Mapping::Skip) => continue,
            None => bail!(
                "{}: unknown CTranslate2 variable {}",
                dir.display(),
                var.name
            ),
        };
        let values = var.to_f32()?;
        for target in targets {
            let rows = var.dims[0] / target.parts;
            let row_len: usize = var.dims[1..].iter().product();
            let slice = &values[target.part * rows * row_len..(target.part + 1) * rows * row_len];
            let mut shape = var.dims.clone();
            shape[0] = rows;
            let (ty, shape) = layout(&target.name, &shape, quant);
            ggml::write_tensor(&mut w, &target.name, &shape, ty, &quant::encode(slice, ty))?;
            tensors += 1;
        }
    }
    w.flush()?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    fs::rename(&tmp, out).with_context(|| out.display().to_string())?;
    let bytes = fs::metadata(out)?.len();
    Ok(ImportReport {
        hparams,
        tensors,
        bytes,
        multilingual,
    })
}
