//! Whisper model files: CTranslate2 (faster-whisper) → ggml conversion for whisper.cpp.
//!
//! [`ct2`] reads CTranslate2's `model.bin`, [`names`] maps its variables to openai-whisper's
//! names, [`mel`] computes the filterbank, [`vocab`] the byte-level vocabulary, [`quant`] the
//! tensor encodings and [`ggml`] writes the file; [`import`] ties them together.

pub mod ct2;
pub mod ggml;
pub mod import;
pub mod mel;
pub mod names;
pub mod quant;
pub mod vocab;

pub use import::{import_ct2, ImportReport, Quant};
