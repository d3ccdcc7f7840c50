//! Stream health through the real binary: a recording with a stretch of digital silence and a
//! stretch driven into clipping, attached over the API with its own thresholds. Each condition
//! must start and clear once (changes, not a stream of repeats), at the stream time it happened,
//! and a bad threshold must be refused.

use std::path::Path;

use serde_json::{json, Value};

use crate::common;
use crate::live::serve::{clip, ended, summary, tempdir, Serve};

/// `en_origin_false`, 4 s of silence, the clip again 8× louder (clipped), the clip as it is.
/// Returns the stream times (seconds) where the silence and the clipping start.
fn build(path: &Path) -> (f64, f64) {
    let mut reader = hound::WavReader::open(clip("en_origin_false")).unwrap();
    let spec = reader.spec();
    let speech: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let rate = spec.sample_rate as usize * spec.channels as usize;
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &s in &speech {
        writer.write_sample(s).unwrap();
    }
    for _ in 0..4 * rate {
        writer.write_sample(0i16).unwrap();
    }
    for &s in &speech {
        writer
            .write_sample((s as i32 * 8).clamp(-32768, 32767) as i16)
            .unwrap();
    }
    for &s in &speech {
        writer.write_sample(s).unwrap();
    }
    writer.finalize().unwrap();
    let speech_s = speech.len() as f64 / rate as f64;
    (speech_s, speech_s + 4.0)
}

#[test]
fn silence_and_clipping_are_reported_once_each_way() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let wav = root.path().join("unhealthy.wav");
    let (silence_at, clipping_at) = build(&wav);
    let serve = Serve::start_with(root.path(), None, &[], &["--allow-local-sources"], None);
    let source = format!("file:{}", wav.display());
    let health = json!({"silence_s": 2, "quiet_s": 3});
    let bad = json!({"id": "bad", "source": source, "lang": "en", "health": {"silence_s": 0}});
    let (code, answer) = serve.call(reqwest::Method::POST, "/streams", Some(&bad));
    assert_eq!(code, 400, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("health.silence_s"),
        "{answer}"
    );
    let body = json!({"id": "shop", "source": source, "lang": "en", "health": health});
    let (code, answer) = serve.call(reqwest::Method::POST, "/streams", Some(&body));
    assert_eq!(code, 201, "{answer}");
    let events = serve
        .sse("/events", Some(0))
        .until("shop ended", ended("shop"));
    let changes: Vec<(String, bool, f64)> = events
        .iter()
        .filter(|e| e.event == "health")
        .map(|e| {
            let v: Value = e.json();
            (
                v["condition"].as_str().unwrap().to_string(),
                v["active"].as_bool().unwrap(),
                v["stream_s"].as_f64().unwrap(),
            )
        })
        .collect();
    let of = |name: &str| -> Vec<(bool, f64)> {
        changes
            .iter()
            .filter(|(c, _, _)| c == name)
            .map(|&(_, active, at)| (active, at))
            .collect()
    };
    let silence = of("silence");
    assert_eq!(
        silence.iter().map(|c| c.0).collect::<Vec<_>>(),
        [true, false],
        "{changes:?}\n{:#?}",
        summary(&events)
    );
    // Started 2 s into the silence (a 0.1 s frame and a chunk of slack), cleared when it ended.
    assert!(
        (silence[0].1 - (silence_at + 2.0)).abs() < 0.6,
        "{silence:?}"
    );
    assert!((silence[1].1 - clipping_at).abs() < 0.6, "{silence:?}");
    let clipping = of("clipping");
    assert_eq!(
        clipping.iter().map(|c| c.0).collect::<Vec<_>>(),
        [true, false],
        "{changes:?}"
    );
    assert!(
        clipping[0].1 > clipping_at && clipping[0].1 < clipping_at + 2.5,
        "{clipping:?}"
    );
    serve.stop();
}
