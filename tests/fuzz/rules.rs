//! Rule packs → `claimwatch::detect::pack::load_dir`: the shipped `rules/` folder copied into a
//! temporary directory with one pack's bytes mutated. Every problem found must be reported as
//! one `file:line: message` line.

use claimwatch::detect::pack::load_dir;
use proptest::prelude::*;

use super::mutate::{apply, mutations};
use super::{fuzz, Outcome, CI_CASES};
use crate::common::repo;

/// Small and large packs, the country lexicon and a negation list: each has its own loader path.
const TARGETS: &[&str] = &[
    "origin_ja.toml",
    "pricing_en.toml",
    "countries.toml",
    "negation_ja.toml",
    "compose_en.toml",
];

fn check((target, bytes): (&'static str, Vec<u8>)) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(dir.path().join(target), bytes).unwrap();
    match load_dir(dir.path()) {
        Ok(_) => Outcome::Accepted,
        Err(errors) => {
            assert!(!errors.0.is_empty());
            // Each problem is a line of its own; the first stands for the input in the tally.
            for e in &errors.0 {
                let line = e.to_string();
                if line.contains('\n') {
                    return Outcome::Refused(line);
                }
            }
            Outcome::Refused(errors.0[0].to_string())
        }
    }
}

#[test]
fn mutated_rule_packs_never_panic() {
    let strategy = (prop::sample::select(TARGETS), mutations()).prop_map(|(target, m)| {
        let seed = std::fs::read(repo().join("rules").join(target)).unwrap();
        (target, apply(&seed, &m))
    });
    fuzz("rule packs", CI_CASES, strategy, check);
}
