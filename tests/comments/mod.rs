//! Viewer comments (issue 17): the labeled comment corpus scored against rules/comments, and
//! `claimwatch detect --comments` run as the built binary.

mod cli;
mod corpus;
