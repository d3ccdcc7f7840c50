//! Claims detector: the labeled corpus, rule-pack errors, the streaming API, and the `detect` /
//! `rules` CLI.

mod cli;
mod corpus;
mod heldout;
mod rule_errors;
mod stream;
