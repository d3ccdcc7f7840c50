//! Claims detector: the labeled corpus, rule-pack errors, and the `detect` / `rules` CLI.

mod corpus;
