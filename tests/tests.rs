//! Integration tests, one module per pipeline stage (merged with other stages' modules).

mod audio;
mod audit;
mod common;
mod detect;
mod model;
mod source;
mod transcribe;
