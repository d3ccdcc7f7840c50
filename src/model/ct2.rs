//! Reader for CTranslate2's `model.bin` (spec format version 6 and earlier ≥ 3).
//!
//! Input: any byte stream (one file, or `model.bin.part1` + `part2` chained into one). Output: the
//! spec name, every variable (name, shape, dtype, raw bytes) and the alias table. Layout, all
//! little-endian: u32 version; string spec name; u32 revision; u32 variable count; per variable:
//! string name, u8 ndim, u32 dims[ndim], u8 dtype, u32 byte count, data; then u32 alias count and
//! (alias, target) string pairs. A string is a u16 length (NUL included), the bytes, the NUL.

use std::io::{self, Read};

use half::{bf16, f16};

#[derive(Debug, thiserror::Error)]
pub enum Ct2Error {
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
    #[error("file ends early (truncated model, or a missing part file?)")]
    Truncated,
    #[error("unsupported CTranslate2 model version {0} (this reader knows 3 to 6)")]
    Version(u32),
    #[error("variable {name}: unknown dtype code {code}")]
    Dtype { name: String, code: u8 },
    #[error("variable {name}: {bytes} bytes do not match shape {dims:?} of {dtype:?}")]
    Size {
        name: String,
        bytes: usize,
        dims: Vec<usize>,
        dtype: Dtype,
    },
    #[error("variable {name}: dtype {dtype:?} cannot be converted (only float32/float16/bfloat16; re-convert the CTranslate2 model without int8 quantization)")]
    NotFloat { name: String, dtype: Dtype },
    #[error("bad string in model header")]
    BadString,
}

/// CTranslate2 dtype codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl Dtype {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::Bf16,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::Bf16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub dims: Vec<usize>,
    pub dtype: Dtype,
    pub data: Vec<u8>,
}

impl Variable {
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values as f32 (floating-point variables only).
    pub fn to_f32(&self) -> Result<Vec<f32>, Ct2Error> {
        let data = &self.data;
        Ok(match self.dtype {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => data
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::Bf16 => data
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            dtype => {
                return Err(Ct2Error::NotFloat {
                    name: self.name.clone(),
                    dtype,
                })
            }
        })
    }

    /// A scalar integer (configuration values such as `encoder/num_heads`).
    pub fn as_int(&self) -> Option<i64> {
        if self.len() != 1 {
            return None;
        }
        let d = &self.data;
        Some(match self.dtype {
            Dtype::I8 => d[0] as i8 as i64,
            Dtype::I16 => i16::from_le_bytes([d[0], d[1]]) as i64,
            Dtype::I32 => i32::from_le_bytes([d[0], d[1], d[2], d[3]]) as i64,
            _ => return None,
        })
    }
}

#[derive(Debug)]
pub struct Ct2Model {
    pub version: u32,
    pub spec: String,
    pub revision: u32,
    pub variables: Vec<Variable>,
    pub aliases: Vec<(String, String)>,
}

impl Ct2Model {
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }
}

struct Reader<R> {
    inner: R,
}

impl<R: Read> Reader<R> {
    fn exact<const N: usize>(&mut self) -> Result<[u8; N], Ct2Error> {
        let mut buf = [0u8; N];
        self.inner.read_exact(&mut buf).map_err(eof_is_truncation)?;
        Ok(buf)
    }

    fn u8(&mut self) -> Result<u8, Ct2Error> {
        Ok(self.exact::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, Ct2Error> {
        Ok(u16::from_le_bytes(self.exact()?))
    }

    fn u32(&mut self) -> Result<u32, Ct2Error> {
        Ok(u32::from_le_bytes(self.exact()?))
    }

    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, Ct2Error> {
        let mut buf = Vec::new();
        let got = (&mut self.inner).take(n as u64).read_to_end(&mut buf)?;
        if got != n {
            return Err(Ct2Error::Truncated);
        }
        Ok(buf)
    }

    fn string(&mut self) -> Result<String, Ct2Error> {
        let len = self.u16()? as usize;
        let mut bytes = self.bytes(len)?;
        if bytes.pop() != Some(0) {
            return Err(Ct2Error::BadString);
        }
        String::from_utf8(bytes).map_err(|_| Ct2Error::BadString)
    }
}

fn eof_is_truncation(err: io::Error) -> Ct2Error {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        Ct2Error::Truncated
    } else {
        Ct2Error::Io(err)
    }
}

/// Reads a whole CTranslate2 model from `input`.
pub fn read(input: impl Read) -> Result<Ct2Model, Ct2Error> {
    let mut r = Reader { inner: input };
    let version = r.u32()?;
    if !(3..=6).contains(&version) {
        return Err(Ct2Error::Version(version));
    }
    let spec = r.string()?;
    let revision = r.u32()?;
    let count = r.u32()?;
    let mut variables = Vec::with_capacity(count.min(4096) as usize);
    for _ in 0..count {
        let name = r.string()?;
        let ndim = r.u8()? as usize;
        let dims = (0..ndim)
            .map(|_| r.u32().map(|d| d as usize))
            .collect::<Result<Vec<_>, _>>()?;
        let code = r.u8()?;
        let dtype = Dtype::from_code(code).ok_or_else(|| Ct2Error::Dtype {
            name: name.clone(),
            code,
        })?;
        let bytes = r.u32()? as usize;
        let expected = dims.iter().product::<usize>() * dtype.size();
        if bytes != expected {
            return Err(Ct2Error::Size {
                name,
                bytes,
                dims,
                dtype,
            });
        }
        let data = r.bytes(bytes)?;
        variables.push(Variable {
            name,
            dims,
            dtype,
            data,
        });
    }
    let mut aliases = Vec::new();
    // Version 3 files may end before the alias table.
    if let Ok(alias_count) = r.u32() {
        for _ in 0..alias_count {
            aliases.push((r.string()?, r.string()?));
        }
    }
    Ok(Ct2Model {
        version,
        spec,
        revision,
        variables,
        aliases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }

    fn tiny_model() -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&6u32.to_le_bytes());
        string(&mut out, "WhisperSpec");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&2u32.to_le_bytes());
        // A 2x2 f16 matrix.
        string(&mut out, "encoder/layer_norm/gamma");
        out.push(2);
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&2u32.to_le_bytes());
        out.push(4);
        out.extend_from_slice(&8u32.to_le_bytes());
        for v in [1.0f32, 2.0, -0.5, 0.25] {
            out.extend_from_slice(&f16::from_f32(v).to_le_bytes());
        }
        // A scalar int16.
        string(&mut out, "encoder/num_heads");
        out.push(0);
        out.push(2);
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&6i16.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        string(&mut out, "decoder/projection/weight");
        string(&mut out, "decoder/embeddings/weight");
        out
    }

    #[test]
    fn reads_header_variables_and_aliases() {
        let model = read(tiny_model().as_slice()).unwrap();
        assert_eq!(
            (model.version, model.spec.as_str(), model.revision),
            (6, "WhisperSpec", 3)
        );
        let gamma = model.variable("encoder/layer_norm/gamma").unwrap();
        assert_eq!(gamma.dims, vec![2, 2]);
        assert_eq!(gamma.to_f32().unwrap(), vec![1.0, 2.0, -0.5, 0.25]);
        assert_eq!(
            model.variable("encoder/num_heads").unwrap().as_int(),
            Some(6)
        );
        assert_eq!(model.aliases.len(), 1);
    }

    #[test]
    fn split_parts_read_as_one_stream() {
        let bytes = tiny_model();
        let (a, b) = bytes.split_at(37);
        let model = read(a.chain(b)).unwrap();
        assert_eq!(model.variables.len(), 2);
    }

    #[test]
    fn truncation_and_bad_version_are_errors() {
        let bytes = tiny_model();
        assert!(matches!(read(&bytes[..40]), Err(Ct2Error::Truncated)));
        assert!(matches!(
            read(&[9u8, 0, 0, 0][..]),
            Err(Ct2Error::Version(9))
        ));
        assert!(matches!(read(&[][..]), Err(Ct2Error::Truncated)));
    }
}
