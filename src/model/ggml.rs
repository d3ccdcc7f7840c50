//! Writer (and header reader) for whisper.cpp's legacy ggml model file.
//!
//! Layout, little-endian i32 unless noted: magic `0x67676d6c`; 11 hyperparameters ([`Hparams`]);
//! mel filterbank (n_mel, n_fft, n_mel×n_fft f32); vocabulary (count, then per token a length and
//! its bytes); tensors until end of file (n_dims, name length, ggml type, dims innermost-first,
//! name, data). The reader exists so tests and `models info` can check what was written.

use std::io::{self, Read, Write};

use crate::model::quant::GgmlType;

pub const MAGIC: u32 = 0x6767_6d6c;

/// `ftype` values in the header; a quantized file also carries ggml's quantization version.
pub const FTYPE_F16: i32 = 1;
pub const FTYPE_Q8_0: i32 = 7;
const QNT_VERSION: i32 = 2;
const QNT_VERSION_FACTOR: i32 = 1000;

/// whisper.cpp's `whisper_hparams`, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    pub ftype: i32,
}

impl Hparams {
    fn to_array(self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }

    fn from_array(a: [i32; 11]) -> Self {
        Hparams {
            n_vocab: a[0],
            n_audio_ctx: a[1],
            n_audio_state: a[2],
            n_audio_head: a[3],
            n_audio_layer: a[4],
            n_text_ctx: a[5],
            n_text_state: a[6],
            n_text_head: a[7],
            n_text_layer: a[8],
            n_mels: a[9],
            ftype: a[10],
        }
    }

    /// The header `ftype` for a file whose matrices are stored as `ty`.
    pub fn ftype_for(ty: GgmlType) -> i32 {
        match ty {
            GgmlType::F32 => 0,
            GgmlType::F16 => FTYPE_F16,
            GgmlType::Q8_0 => FTYPE_Q8_0 + QNT_VERSION * QNT_VERSION_FACTOR,
            GgmlType::Iq4Nl => 19 + QNT_VERSION * QNT_VERSION_FACTOR,
        }
    }
}

fn i32s(w: &mut impl Write, values: &[i32]) -> io::Result<()> {
    for v in values {
        w.write_all(&v.to_le_bytes())?;
    }
    Ok(())
}

fn len_i32(n: usize) -> io::Result<i32> {
    i32::try_from(n)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "length does not fit in i32"))
}

/// Writes magic, hyperparameters, mel filterbank and vocabulary.
pub fn write_header(
    w: &mut impl Write,
    hparams: &Hparams,
    mel: &[f32],
    n_fft_bins: usize,
    vocab: &[Vec<u8>],
) -> io::Result<()> {
    w.write_all(&MAGIC.to_le_bytes())?;
    i32s(w, &hparams.to_array())?;
    i32s(w, &[hparams.n_mels, len_i32(n_fft_bins)?])?;
    for v in mel {
        w.write_all(&v.to_le_bytes())?;
    }
    i32s(w, &[len_i32(vocab.len())?])?;
    for token in vocab {
        i32s(w, &[len_i32(token.len())?])?;
        w.write_all(token)?;
    }
    Ok(())
}

/// Writes one tensor. `shape` is in PyTorch order (outermost first); ggml stores it reversed.
pub fn write_tensor(
    w: &mut impl Write,
    name: &str,
    shape: &[usize],
    ty: GgmlType,
    data: &[u8],
) -> io::Result<()> {
    i32s(w, &[len_i32(shape.len())?, len_i32(name.len())?, ty as i32])?;
    for dim in shape.iter().rev() {
        i32s(w, &[len_i32(*dim)?])?;
    }
    w.write_all(name.as_bytes())?;
    w.write_all(data)
}

/// A tensor's entry as read back from a ggml file (data skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: innermost dimension first.
    pub ne: Vec<i32>,
    pub ty: i32,
    pub data_len: usize,
}

/// What a ggml file's header says.
#[derive(Debug)]
pub struct GgmlSummary {
    pub hparams: Hparams,
    pub mel_shape: (i32, i32),
    pub mel: Vec<f32>,
    pub vocab: Vec<Vec<u8>>,
    pub tensors: Vec<TensorInfo>,
}

fn read_i32(r: &mut impl Read) -> io::Result<i32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(i32::from_le_bytes(b))
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn non_negative(v: i32, what: &str) -> io::Result<usize> {
    usize::try_from(v).map_err(|_| invalid(format!("negative {what}: {v}")))
}

/// Bytes a tensor of `elements` values takes as ggml type `ty`.
fn tensor_bytes(ty: i32, elements: usize) -> io::Result<usize> {
    match ty {
        0 => Ok(elements * 4),
        1 => Ok(elements * 2),
        8 => Ok(elements / 32 * 34),
        // q4_0, iq4_nl: an f16 scale and 16 bytes of nibbles per 32 values.
        2 | 20 => Ok(elements / 32 * 18),
        other => Err(invalid(format!(
            "ggml type {other} is not one this reader knows"
        ))),
    }
}

/// Reads a ggml Whisper file's header and tensor directory.
pub fn read_summary(r: &mut impl Read) -> io::Result<GgmlSummary> {
    let magic = read_i32(r)? as u32;
    if magic != MAGIC {
        return Err(invalid(format!(
            "bad magic {magic:#x}: not a ggml Whisper model"
        )));
    }
    let mut a = [0i32; 11];
    for v in &mut a {
        *v = read_i32(r)?;
    }
    let hparams = Hparams::from_array(a);
    let mel_shape = (read_i32(r)?, read_i32(r)?);
    let mel_len =
        non_negative(mel_shape.0, "mel rows")? * non_negative(mel_shape.1, "mel columns")?;
    let mut mel = Vec::with_capacity(mel_len);
    for _ in 0..mel_len {
        mel.push(f32::from_bits(read_i32(r)? as u32));
    }
    let n_tokens = non_negative(read_i32(r)?, "token count")?;
    let mut vocab = Vec::with_capacity(n_tokens);
    for _ in 0..n_tokens {
        let len = non_negative(read_i32(r)?, "token length")?;
        let mut token = vec![0u8; len];
        r.read_exact(&mut token)?;
        vocab.push(token);
    }
    let mut tensors = Vec::new();
    loop {
        let n_dims = match read_i32(r) {
            Ok(n) => non_negative(n, "n_dims")?,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        };
        let name_len = non_negative(read_i32(r)?, "name length")?;
        let ty = read_i32(r)?;
        let ne = (0..n_dims)
            .map(|_| read_i32(r))
            .collect::<io::Result<Vec<_>>>()?;
        let mut name = vec![0u8; name_len];
        r.read_exact(&mut name)?;
        let elements = ne
            .iter()
            .map(|d| non_negative(*d, "dimension"))
            .product::<io::Result<usize>>()?;
        let data_len = tensor_bytes(ty, elements)?;
        let skipped = io::copy(&mut (&mut *r).take(data_len as u64), &mut io::sink())?;
        if skipped != data_len as u64 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "tensor data ends early",
            ));
        }
        let name =
            String::from_utf8(name).map_err(|_| invalid("tensor name is not UTF-8".into()))?;
        tensors.push(TensorInfo {
            name,
            ne,
            ty,
            data_len,
        });
    }
    Ok(GgmlSummary {
        hparams,
        mel_shape,
        mel,
        vocab,
        tensors,
    })
}
