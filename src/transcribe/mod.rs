//! Transcription with whisper.cpp: model loading and decoding ([`whisper`], the only whisper-rs
//! adapter), window bookkeeping ([`window`]), whole-file transcription ([`batch`]), output
//! formats ([`output`]), the targeted second listen ([`relisten`]), default model lookup ([`model_path`]) and the filter for text Whisper
//! invents on silence and music ([`hallucination`]).

pub mod batch;
pub mod hallucination;
pub mod model_path;
pub mod output;
pub mod relisten;
pub mod segment;
pub mod whisper;

pub use batch::Transcript;
pub use segment::{Segment, TextTime};
