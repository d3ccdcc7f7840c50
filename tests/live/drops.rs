//! Audio dropped to bound the lag is reported as a few totals, not one status per 100 ms chunk:
//! a real stream worker (tiny.en, the shipped rules, a real event log) is handed a minute of
//! speech at once with a 5 s lag bound, as a source would when decoding has fallen far behind.

use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Instant;

use claimwatch::audio;
use claimwatch::events::{Hub, SourceState};
use claimwatch::live::turns::DecodeTurns;
use claimwatch::source::SourceEvent;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::common::{self, repo};

#[test]
fn dropped_audio_is_reported_as_a_few_totals() {
    let _cores = common::whisper_lock();
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::open(dir.path()).unwrap();
    let speech = audio::read_all(&repo().join("samples/en_demo.wav")).unwrap();
    let mut minute = Vec::new();
    while minute.len() < 60 * 16_000 {
        minute.extend_from_slice(&speech);
    }
    // Everything is queued before the worker starts, as after a long stall.
    let chunks: Vec<&[f32]> = minute.chunks(1_600).collect();
    let (tx, rx) = sync_channel(chunks.len() + 2);
    tx.send(SourceEvent::Up).unwrap();
    for chunk in &chunks {
        tx.send(SourceEvent::Audio(
            chunk.to_vec(),
            std::time::SystemTime::now(),
        ))
        .unwrap();
    }
    tx.send(SourceEvent::Ended).unwrap();

    let (worker, shared) = super::english_worker(&hub, 5.0, Arc::new(DecodeTurns::new(1)));
    let started = Instant::now();
    worker.run(rx, CancellationToken::new());
    let took = started.elapsed();
    hub.sync().unwrap();

    // The log's segment files (DATA_DIR/events/<first id>.jsonl), in order.
    let mut segments: Vec<_> = std::fs::read_dir(dir.path().join("events"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    segments.sort_by_key(|path| {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        stem.parse::<u64>().unwrap_or(u64::MAX)
    });
    assert!(!segments.is_empty(), "no log segment in {:?}", dir.path());
    let log: String = segments
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect();
    let reports: Vec<f64> = log
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter_map(|event| {
            let message = event["body"]["message"].as_str()?.to_string();
            let rest =
                message.strip_prefix("transcription is behind real time: dropped the oldest ")?;
            Some(rest.strip_suffix(" s of audio").unwrap().parse().unwrap())
        })
        .collect();
    let dropped_s = shared.info.lock().unwrap().dropped_s;
    let sent_s = minute.len() as f64 / 16_000.0;
    assert!(dropped_s > 30.0, "only {dropped_s} s dropped of {sent_s} s");
    // One report when the stream fell behind and one per 5 s after that, however many chunks:
    // before, each dropped 100 ms chunk was a status event (hundreds here).
    let allowed = 2 + (took.as_secs_f64() / 5.0).ceil() as usize;
    assert!(
        !reports.is_empty() && reports.len() <= allowed,
        "{} drop reports in {took:?}: {reports:?}",
        reports.len()
    );
    // Nothing dropped goes unreported (each report is rounded to the millisecond).
    let reported: f64 = reports.iter().sum();
    assert!(
        (reported - dropped_s).abs() <= 0.05 * reports.len() as f64 + 1e-6,
        "reported {reported} s, dropped {dropped_s} s"
    );
    assert_eq!(
        shared.info.lock().unwrap().state,
        SourceState::Ended,
        "the worker finished the stream"
    );
}
