//! A decode asked to stop gives up part-way (whisper.cpp's abort callback), says so, and leaves
//! the session usable: how a live stream's worker ends promptly when it is detached or the
//! server stops, instead of the process exiting under a running decode.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use claimwatch::audio;

use super::default_model;
use crate::common;

#[test]
fn a_decode_asked_to_stop_gives_up_part_way_and_the_session_goes_on() {
    let model = default_model("en");
    let mut pcm = audio::read_all(&common::repo().join("samples/en_demo.wav")).unwrap();
    pcm.truncate(16_000 * 20);
    let options = common::decode_options("en");
    let _cores = common::whisper_lock();
    let mut session = model.session().unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (a, s) = (asked.clone(), stop.clone());
    session.stop_when(move || {
        a.fetch_add(1, Ordering::SeqCst);
        s.load(Ordering::SeqCst)
    });

    let whole = session.transcribe(&pcm, &options).unwrap();
    let asks_for_whole = asked.swap(0, Ordering::SeqCst);
    assert!(!whole.segments.is_empty(), "the clip has speech");
    assert!(
        asks_for_whole > 10,
        "asked {asks_for_whole} times in a whole decode"
    );

    stop.store(true, Ordering::SeqCst);
    let err = session.transcribe(&pcm, &options).unwrap_err();
    assert_eq!(err.to_string(), "decode stopped");
    let asks_when_stopped = asked.swap(0, Ordering::SeqCst);
    assert!(
        asks_when_stopped < asks_for_whole / 4,
        "stopped after {asks_when_stopped} asks, a whole decode asks {asks_for_whole}"
    );

    stop.store(false, Ordering::SeqCst);
    let again = session.transcribe(&pcm, &options).unwrap();
    let words = |r: &claimwatch::transcribe::whisper::WindowResult| -> String {
        r.segments.iter().map(|s| s.text.as_str()).collect()
    };
    assert_eq!(
        words(&again),
        words(&whole),
        "the session decodes as before"
    );
}
