//! Claims detector throughput: bytes of transcript per second with every pack in rules/ loaded,
//! over a ~1 MB transcript per language built by repeating the labeled corpus utterances (one per
//! line, as `claimwatch detect` reads them). Needs models/ipadic (`bash models/fetch`).
//!
//! `cargo bench --bench detector` (criterion reports MiB/s per language). The stream variant feeds
//! the same text as transcript segments through `DetectorStream`. `$CLAIMWATCH_RULES_SCORED` loads
//! another rules folder (as the corpus test does), so two rule sets can be timed on the same
//! binary and the same transcript.

use std::path::Path;

use claimwatch::detect::Utterance;
use claimwatch::detect::{Detector, Lang};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const TARGET_BYTES: usize = 1 << 20;

/// The corpus utterances of `lang` repeated into about a megabyte, one per line.
fn transcript(root: &Path, lang: Lang) -> String {
    let path = root.join(format!("tests/data/detect/corpus_{}.tsv", lang.as_str()));
    let body = std::fs::read_to_string(&path).expect("read the detect corpus");
    let lines: Vec<&str> = body
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split('\t').nth(2))
        .collect();
    let mut out = String::with_capacity(TARGET_BYTES + 4096);
    while out.len() < TARGET_BYTES {
        for l in &lines {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = std::env::var_os("CLAIMWATCH_RULES_SCORED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("rules"));
    let det =
        Detector::load(&rules, &root.join("models/ipadic")).expect("load rules/ and models/ipadic");
    let mut group = c.benchmark_group("detector");
    group.sample_size(10);
    for lang in [Lang::Ja, Lang::En] {
        eprintln!(
            "rule automata, {}: {:.1} MiB",
            lang.as_str(),
            det.automata_bytes(lang) as f64 / (1 << 20) as f64
        );
        let text = transcript(root, lang);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("detect_text/{}", lang.as_str()), |b| {
            b.iter(|| det.detect_text(&text, lang, Some("JP")).len())
        });
        let segments: Vec<Utterance> = text
            .lines()
            .enumerate()
            .map(|(i, l)| Utterance::new(i as f64, i as f64 + 1.0, l))
            .collect();
        group.bench_function(format!("stream/{}", lang.as_str()), |b| {
            b.iter(|| {
                let mut s = det.stream(lang, Some("JP"));
                let mut n = 0;
                for seg in &segments {
                    n += s.push(seg).len();
                }
                n + s.finish().len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
