//! Integration tests, one module per pipeline stage (merged with other stages' modules).

mod audio;
mod audit;
mod cluster;
mod comments;
mod common;
mod detect;
mod events;
mod fuzz;
mod live;
mod model;
mod serve;
mod source;
mod spoken;
mod transcribe;
