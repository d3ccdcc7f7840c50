//! Viewer-comment detector throughput: comments per second on one thread, over the labeled comment
//! corpus (tests/data/comments/{ja,en}.jsonl), with the spoken claims detector (`Detector::
//! detect_text`) on the same lines as the baseline measured in the same run. Needs models/ipadic
//! for the baseline (`bash models/fetch`).
//!
//! `cargo bench --bench comments` (criterion reports elements/s = comments/s per language).

use std::path::Path;

use claimwatch::comments::{Comment, CommentDetector};
use claimwatch::detect::{Detector, Lang};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// The corpus comments of `lang` (the labels are not needed here).
fn comments(root: &Path, lang: Lang) -> Vec<Comment> {
    let path = root.join(format!("tests/data/comments/{}.jsonl", lang.as_str()));
    let body = std::fs::read_to_string(&path).expect("read the comment corpus");
    body.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            Comment {
                id: v["id"].as_str().unwrap_or("").to_string(),
                user: v["user"].as_str().unwrap_or("").to_string(),
                text: v["text"].as_str().unwrap_or("").to_string(),
                at: None,
                from_seller: v["from_seller"].as_bool().unwrap_or(false),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let det = CommentDetector::load(&root.join("rules")).expect("load rules/comments");
    let claims = Detector::load(&root.join("rules"), &root.join("models/ipadic"))
        .expect("load rules/ and models/ipadic");
    let mut group = c.benchmark_group("comments");
    group.sample_size(20);
    for lang in [Lang::Ja, Lang::En] {
        let lines = comments(root, lang);
        group.throughput(Throughput::Elements(lines.len() as u64));
        group.bench_function(format!("check/{}", lang.as_str()), |b| {
            b.iter(|| {
                lines
                    .iter()
                    .map(|c| det.check(c, None).len())
                    .sum::<usize>()
            })
        });
        group.bench_function(format!("baseline_detect_text/{}", lang.as_str()), |b| {
            b.iter(|| {
                lines
                    .iter()
                    .map(|c| claims.detect_text(&c.text, lang, None).len())
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
