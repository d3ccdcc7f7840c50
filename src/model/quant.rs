//! Tensor encodings for the ggml file: f32, f16, ggml's `q8_0` block format, and ggml's 4-bit
//! `iq4_nl` (encoded by ggml itself), whose matrix products ggml runs through repacked AVX2
//! kernels: faster than `q8_0` on x86-64, at some accuracy (BENCHMARKS.md).
//!
//! Input: f32 values (row-major, rows of `row_len`). Output: the little-endian bytes whisper.cpp
//! reads. `q8_0` is ggml's `block_q8_0`: per 32 values, one f16 scale `d = max|x| / 127` and 32
//! int8 `round(x / d)` (round half away from zero, as ggml's reference `quantize_row_q8_0_ref`).

use half::f16;

/// ggml tensor types this converter writes (values are ggml's `enum ggml_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,
    /// ggml's non-linear 4-bit type: per 32 values an f16 scale and 16 bytes of table indices.
    Iq4Nl = 20,
}

/// Values per `q8_0` block.
pub const Q8_0_BLOCK: usize = 32;

pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn f16_bytes(values: &[f32]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|v| f16::from_f32(*v).to_le_bytes())
        .collect()
}

/// Quantizes to `q8_0`. `values.len()` must be a multiple of 32 (rows are, for every Whisper size).
pub fn q8_0_bytes(values: &[f32]) -> Vec<u8> {
    assert_eq!(
        values.len() % Q8_0_BLOCK,
        0,
        "q8_0 needs whole blocks of 32 values"
    );
    let mut out = Vec::with_capacity(values.len() / Q8_0_BLOCK * (2 + Q8_0_BLOCK));
    for block in values.chunks_exact(Q8_0_BLOCK) {
        let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let inverse = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        out.extend(block.iter().map(|v| (v * inverse).round() as i8 as u8));
    }
    out
}

/// Encodes `values` as `ty`.
pub fn encode(values: &[f32], ty: GgmlType) -> Vec<u8> {
    match ty {
        GgmlType::F32 => f32_bytes(values),
        GgmlType::F16 => f16_bytes(values),
        GgmlType::Q8_0 => q8_0_bytes(values),
        // 4-bit blocks: ggml's own quantizer (iq4_nl searches each block's scale).
        GgmlType::Iq4Nl => crate::transcribe::whisper::ggml_quantize(values, ty as i32),
    }
}

/// Decodes `q8_0` bytes back to f32 (for tests and error measurement).
pub fn q8_0_decode(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(2 + Q8_0_BLOCK)
        .flat_map(|block| {
            let d = f16::from_le_bytes([block[0], block[1]]).to_f32();
            block[2..].iter().map(move |q| *q as i8 as f32 * d)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_layout_and_round_trip() {
        let values: Vec<f32> = (0..64).map(|i| (i as f32 - 31.5) / 10.0).collect();
        let bytes = q8_0_bytes(&values);
        assert_eq!(bytes.len(), 2 * 34);
        let back = q8_0_decode(&bytes);
        for (block, back) in values.chunks(32).zip(back.chunks(32)) {
            let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (a, b) in block.iter().zip(back) {
                // Half a quantization step, plus a little for the f16-rounded scale.
                assert!(
                    (a - b).abs() <= amax / 127.0 * 0.5 + amax / 1024.0,
                    "{a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn q8_0_extremes_map_to_plus_minus_127_and_zero_block_is_zero() {
        let mut values = vec![0f32; 32];
        values[3] = 2.0;
        values[7] = -2.0;
        let bytes = q8_0_bytes(&values);
        assert_eq!(bytes[2 + 3] as i8, 127);
        assert_eq!(bytes[2 + 7] as i8, -127);
        let zeros = q8_0_bytes(&[0.0; 32]);
        assert!(zeros.iter().all(|b| *b == 0));
    }

    /// 18 bytes per block of 32, and each value back within a fraction of its block's largest
    /// magnitude (4 bits: 16 levels over ±max).
    #[test]
    fn iq4_nl_has_ggml_layout_and_round_trips() {
        let values: Vec<f32> = (0..96)
            .map(|i| ((i * 37 % 97) as f32 - 48.0) / 13.0)
            .collect();
        let ty = GgmlType::Iq4Nl;
        let bytes = encode(&values, ty);
        assert_eq!(bytes.len(), 3 * 18);
        let back = crate::transcribe::whisper::ggml_dequantize(&bytes, ty as i32, values.len());
        for (block, back) in values.chunks(32).zip(back.chunks(32)) {
            let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (a, b) in block.iter().zip(back) {
                assert!((a - b).abs() <= amax / 7.0, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn f16_and_f32_sizes() {
        let v = [1.0f32, -2.5, 0.0];
        assert_eq!(encode(&v, GgmlType::F32).len(), 12);
        assert_eq!(encode(&v, GgmlType::F16).len(), 6);
        assert_eq!(
            &encode(&v, GgmlType::F16)[0..2],
            &f16::from_f32(1.0).to_le_bytes()
        );
    }
}
