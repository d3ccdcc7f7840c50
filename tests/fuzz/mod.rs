//! Property/fuzz tests on stable Rust: mutated and generated inputs → the parsers that read what
//! a seller or a client chose (audio containers, HLS playlists, rule packs, SSE request headers).
//!
//! Property for every target: no panic, no hang (each input runs on its own thread with a
//! generous bound, so a stuck parser fails the test instead of stalling CI), and every error is
//! one line. CI runs a small, fixed, deterministic budget; `CLAIMWATCH_FUZZ_CASES=N` runs N cases
//! per target and `CLAIMWATCH_FUZZ_SEED=S` another deterministic sequence (RELIABILITY.md).

mod audio;
mod mutate;
mod playlist;
mod rules;
mod sse;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// Upper bound for one input. Not a speed check: a healthy input takes milliseconds even on two
/// shared cores; only a parser that never returns reaches it.
const HANG: Duration = Duration::from_secs(60);

/// Cases per target when `CLAIMWATCH_FUZZ_CASES` is unset: the whole module stays well under a
/// minute on two cores.
const CI_CASES: u32 = 64;

fn cases(ci: u32) -> u32 {
    std::env::var("CLAIMWATCH_FUZZ_CASES")
        .ok()
        .map(|v| v.parse().expect("CLAIMWATCH_FUZZ_CASES: a whole number"))
        .unwrap_or(ci)
}

/// A deterministic runner: the same inputs on every CI run, another set per
/// `CLAIMWATCH_FUZZ_SEED`.
fn runner(cases: u32) -> TestRunner {
    let seed: u64 = std::env::var("CLAIMWATCH_FUZZ_SEED")
        .ok()
        .map(|v| v.parse().expect("CLAIMWATCH_FUZZ_SEED: a whole number"))
        .unwrap_or(13);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        // A failure is shrunk a little for a readable report, not for minutes.
        max_shrink_iters: 512,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// What one input did, for the tally.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Accepted,
    /// Refused with this message (checked to be one line).
    Refused(String),
}

/// Runs `check` on `ci_cases` (or `CLAIMWATCH_FUZZ_CASES`) inputs from `strategy`, each on its
/// own thread bounded by [`HANG`]; fails on a panic, a hang or a multi-line error, and prints
/// the tally (inputs, accepted, refused, panics) on stderr.
pub fn fuzz<S>(target: &str, ci_cases: u32, strategy: S, check: fn(S::Value) -> Outcome)
where
    S: Strategy,
    S::Value: Send + 'static,
{
    let tried = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let panics = Arc::new(AtomicU64::new(0));
    let cases = cases(ci_cases);
    let result = runner(cases).run(&strategy, |input| {
        tried.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        let worker = std::thread::spawn(move || {
            let _ = tx.send(check(input));
        });
        match rx.recv_timeout(HANG) {
            Ok(Outcome::Accepted) => Ok(()),
            Ok(Outcome::Refused(message)) => {
                refused.fetch_add(1, Ordering::Relaxed);
                if message.contains('\n') || message.trim().is_empty() {
                    return Err(TestCaseError::fail(format!(
                        "error is not one line: {message:?}"
                    )));
                }
                Ok(())
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panics.fetch_add(1, Ordering::Relaxed);
                let panic = worker.join().err().map(|p| panic_text(&p));
                Err(TestCaseError::fail(format!("panicked: {panic:?}")))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Err(TestCaseError::fail(format!(
                "no answer within {HANG:?} (hang)"
            ))),
        }
    });
    let tried = tried.load(Ordering::Relaxed);
    let refused = refused.load(Ordering::Relaxed);
    eprintln!(
        "fuzz {target}: {tried} inputs ({cases} cases + shrinking), {} accepted, {refused} refused with one line, {} panics",
        tried - refused - panics.load(Ordering::Relaxed),
        panics.load(Ordering::Relaxed),
    );
    if let Err(failure) = result {
        panic!("fuzz {target}: {failure}");
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "non-string panic".into())
}
