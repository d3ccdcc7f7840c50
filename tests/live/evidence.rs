//! Evidence clips through the real binary: every live alert gets the audio around its words at
//! `GET /alerts/{id}/clip`, cut in stream time, kept across a restart, and nothing is served for
//! what is not an alert's clip.

use crate::common;
use crate::live::serve::{alerts_of, clip, ended, summary, tempdir, Serve};

/// Seconds of the sample, from its WAV header.
fn seconds(path: &std::path::Path) -> f64 {
    let reader = hound::WavReader::open(path).unwrap();
    reader.duration() as f64 / reader.spec().sample_rate as f64
}

#[test]
fn each_alert_has_the_audio_around_its_words() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let source = clip("en_origin_false");
    let stream = format!("shop=file:{},lang=en,origin=CN", source.display());
    let serve = Serve::start_with(root.path(), None, &[stream], &[], None);
    let events = serve
        .sse("/events", Some(0))
        .until("shop ended", ended("shop"));
    let alerts = alerts_of(&events, "false_origin");
    assert!(!alerts.is_empty(), "{:#?}", summary(&events));
    let length_s = seconds(&source);
    for alert in &alerts {
        let alert = alert.json();
        let id = alert["id"].as_str().unwrap();
        let (start, end) = (
            alert["start_s"].as_f64().unwrap(),
            alert["end_s"].as_f64().unwrap(),
        );
        let (code, kind, wav) = serve.get_bytes(&format!("/alerts/{id}/clip"));
        assert_eq!((code, kind.as_str()), (200, "audio/wav"), "{id}");
        let reader = hound::WavReader::new(std::io::Cursor::new(wav)).unwrap();
        let spec = reader.spec();
        assert_eq!((spec.sample_rate, spec.channels), (16_000, 1));
        // 5 s either side of the words, cut to the recording (the stream ended first here).
        let want = (end + 5.0).min(length_s) - (start - 5.0).max(0.0);
        let got = reader.duration() as f64 / 16_000.0;
        assert!((got - want).abs() < 0.1, "{id}: {got} s, want {want} s");
        // The words are in it: not silence.
        let loudest = reader
            .into_samples::<i16>()
            .map(|s| s.unwrap().unsigned_abs())
            .max()
            .unwrap();
        assert!(loudest > 3000, "{id}: loudest sample {loudest}");
    }
    for bad in ["shop-999999", "nope", "..%2F..%2Fetc%2Fpasswd-1"] {
        let (code, _, _) = serve.get_bytes(&format!("/alerts/{bad}/clip"));
        assert_eq!(code, 404, "{bad}");
    }
    serve.stop();
    // Kept with the log: still served after a restart.
    let serve = Serve::start_with(root.path(), None, &[], &[], None);
    let id = alerts[0].json()["id"].as_str().unwrap().to_string();
    let (code, _, _) = serve.get_bytes(&format!("/alerts/{id}/clip"));
    assert_eq!(code, 200, "{id} after a restart");
    serve.stop();
}
