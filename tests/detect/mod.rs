//! Claims detector: the labeled corpus, rule-pack errors, the streaming API, and the `detect` /
//! `rules` CLI.

pub(crate) mod cli;
mod corpus;
mod heldout;
mod rule_errors;
mod stream;
