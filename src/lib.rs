//! claimwatch: listens to live-commerce audio and raises alerts when a seller *says* an unlawful
//! claim (false country of origin, medical efficacy, exaggeration, misleading pricing).
//!
//! The pipeline, one module per stage:
//! audio ([`audio`]: decode with symphonia, resample with rubato) → transcription ([`transcribe`]:
//! whisper.cpp through whisper-rs) → claims detection ([`detect`]: aho-corasick over normalized
//! text and kana readings). [`model`] turns CTranslate2 Whisper weights into ggml files whisper.cpp
//! loads. Live monitoring: [`source`] (live audio in) → [`live`] (rolling windows, alerts) →
//! [`events`] (the event bus and its durable log) ← [`serve`] (HTTP + SSE) and [`sinks`]
//! (webhook). [`comments`] checks viewer chat comments (threats, abuse, scams, personal
//! information). [`cli`] holds the command-line front end that `main.rs` dispatches to.

pub mod audio;
pub mod audit;
pub mod cli;
pub mod cluster;
pub mod comments;
pub mod detect;
pub mod eval;
pub mod events;
pub mod live;
pub mod model;
pub mod panic_guard;
pub mod second_listen;
pub mod serve;
pub mod sheet;
pub mod sinks;
pub mod source;
pub mod transcribe;
pub mod windowing;
