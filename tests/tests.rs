//! Integration tests, one module per pipeline stage (merged with other stages' modules).

mod audio;
mod common;
mod detect;
mod model;
mod transcribe;
