//! Progressive HTTP against a real server on a loopback port.

use claimwatch::audio;
use claimwatch::source::SourceEvent;

use super::events::{audio, downs, gaps, start, summary};
use super::server::{Reply, Server};
use super::{assert_len_close, repo, FEW_MS};

fn audio_after_down(events: &[SourceEvent]) -> bool {
    let first_down = events
        .iter()
        .position(|e| matches!(e, SourceEvent::Down { .. }));
    first_down.is_some_and(|i| {
        events[i..]
            .iter()
            .any(|e| matches!(e, SourceEvent::Audio(..)))
    })
}

/// An Icecast-style body in each container decodes to the file's audio; the body's end (a live
/// stream never ends) is a Down and a reconnection.
#[test]
fn full_body_decodes_like_the_file() {
    let table = [
        ("/live.mp3", "en_greeting.mp3", "audio/mpeg"),
        ("/live", "en_greeting.aac", "audio/aacp"),
        ("/stream", "en_greeting.ogg", "application/ogg"),
    ];
    for (path, file, content_type) in table {
        let bytes = std::fs::read(repo("samples/formats").join(file)).unwrap();
        let want = audio::read_all(&repo("samples/formats").join(file)).unwrap();
        let server = Server::start(move |_, _| Reply::Body(content_type, bytes.clone()));
        let mut run = start(&server.url(path));
        let events = run
            .until(|e| e.iter().any(|e| matches!(e, SourceEvent::Down { .. })))
            .to_vec();
        run.stop();
        assert_eq!(summary(&events), "Up Audio Down", "{file}");
        let got = audio(&events);
        assert_len_close(got.len(), want.len(), FEW_MS, file);
        assert_eq!(got, want, "{file}");
        assert!(
            downs(&events)[0].ends_with("the server ended the stream"),
            "{:?}",
            downs(&events)
        );
    }
}

/// The connection drops mid-stream, the server is down for a request, then back: Down, Down,
/// then Up, a Gap (wall time lost), and audio again.
#[test]
fn dropped_connection_reconnects_with_gap() {
    let bytes = std::fs::read(repo("samples/formats/en_greeting.mp3")).unwrap();
    let server = Server::start(move |_, nth| match nth {
        1 => Reply::Cut("audio/mpeg", bytes.clone(), bytes.len() / 2),
        2 => Reply::Status(503),
        _ => Reply::Body("audio/mpeg", bytes.clone()),
    });
    let mut run = start(&server.url("/radio"));
    let events = run.until(audio_after_down).to_vec();
    run.stop();
    assert!(
        summary(&events).starts_with("Up Audio Down Down Up Gap Audio"),
        "{}",
        summary(&events)
    );
    let reasons = downs(&events);
    assert!(
        reasons[1].ends_with("HTTP 503 Service Unavailable"),
        "{reasons:?}"
    );
    assert!(gaps(&events)[0] > 0.0);
    assert!(server.hits("/radio") >= 3);
}

/// A server that is not up yet: the first connection is retried too.
#[test]
fn first_connection_failure_is_retried() {
    let bytes = std::fs::read(repo("samples/formats/en_greeting.mp3")).unwrap();
    let server = Server::start(move |_, nth| match nth {
        1 | 2 => Reply::Status(404),
        _ => Reply::Body("audio/mpeg", bytes.clone()),
    });
    let mut run = start(&server.url("/not-yet.mp3"));
    let events = run
        .until(|e| e.iter().any(|e| matches!(e, SourceEvent::Audio(..))))
        .to_vec();
    run.stop();
    assert_eq!(summary(&events), "Down Down Up Audio");
    assert!(
        downs(&events)[0].ends_with("/not-yet.mp3: HTTP 404 Not Found"),
        "{:?}",
        downs(&events)
    );
}

/// A body that is not audio is a Down with the decoder's reason, and is retried.
#[test]
fn undecodable_body_is_down_and_retried() {
    let server =
        Server::start(|_, _| Reply::Body("text/html", b"<html>maintenance</html>".repeat(100)));
    let mut run = start(&server.url("/live"));
    let events = run.until(|e| downs(e).len() >= 2).to_vec();
    run.stop();
    assert!(
        downs(&events)[0].contains("not a recognised audio format"),
        "{:?}",
        downs(&events)
    );
}

/// A server that accepts and never answers must not keep the source thread after shutdown.
#[test]
fn hung_server_does_not_block_shutdown() {
    let server = Server::start(|_, _| Reply::Hang);
    let mut run = start(&server.url("/hang.mp3"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while server.hits("/hang.mp3") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the source never connected"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Connected and waiting for an answer that never comes: the thread is still at it.
    assert!(run.is_running(), "{}", summary(&run.events));
    // stop() fails the test unless the thread returns within STOP_PATIENCE.
    let stopped = run.stop();
    assert!(stopped.disconnected, "{stopped:?}");
    // No answer, so never Up and no audio; shutdown is not reported as a Down.
    let mut all = run.events.clone();
    all.extend(stopped.late);
    assert!(
        all.iter()
            .all(|e| !matches!(e, SourceEvent::Audio(..) | SourceEvent::Up)),
        "{}",
        summary(&all)
    );
    assert_eq!(server.hits("/hang.mp3"), 1, "{}", summary(&all));
}
