//! `lang=auto`, the default language of a live stream: the real binary, the multilingual model
//! and one Japanese and one English clip in one server. Each stream must end up checked with its
//! own language's rule pack, say which language it found, and show it in `GET /streams`.
//!
//! The server runs two decoders (`--decoders 2`): the two streams, unpaced, decode side by side
//! with one shared model, each in its own whisper.cpp state.

use serde_json::Value;

use crate::common;
use crate::live::serve::{alerts_of, clip, is_end_of, summary, tempdir, Serve};

#[test]
fn streams_without_a_language_are_checked_in_the_one_they_speak() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let streams = [
        format!("ja=file:{},origin=CN", clip("ja_origin_false").display()),
        format!(
            "en=file:{},origin=CN,lang=auto",
            clip("en_origin_false").display()
        ),
    ];
    let serve = Serve::start_with(root.path(), None, &streams, &["--decoders", "2"], None);
    let events = serve
        .sse("/events", Some(0))
        .until("both streams ended", |seen| {
            ["ja", "en"]
                .iter()
                .all(|id| seen.iter().any(|e| is_end_of(e, id)))
        });
    for (id, lang) in [("ja", "ja"), ("en", "en")] {
        let said: Vec<String> = events
            .iter()
            .filter(|e| e.event == "status" && e.json()["stream"] == id)
            .filter_map(|e| e.json()["message"].as_str().map(str::to_owned))
            .collect();
        let detected = format!("language detected: {lang} (lang=auto)");
        assert!(
            said.contains(&detected),
            "{id}: no {detected:?} in {said:?}"
        );
        // 日本製/国産 and "made in Japan" of a product declared CN: each found by its own pack.
        let alerts: Vec<Value> = alerts_of(&events, "false_origin")
            .into_iter()
            .map(|e| e.json())
            .filter(|a| a["stream"] == id)
            .collect();
        assert!(!alerts.is_empty(), "{id}: {:#?}", summary(&events));
        for alert in &alerts {
            assert_eq!(alert["lang"], lang, "{alert}");
        }
    }
    let (code, listed) = serve.get("/streams");
    assert_eq!(code, 200);
    let langs: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["lang"].as_str().unwrap()))
        .collect();
    assert!(
        langs.contains(&("ja", "ja")) && langs.contains(&("en", "en")),
        "{langs:?}"
    );
    serve.stop();
}
