//! Whisper model files: CTranslate2 → ggml conversion.
