//! HLS against a real server: VOD and live media playlists of ADTS AAC segments, a master
//! playlist, fMP4 (EXT-X-MAP) segments, skipped sequence numbers, and MPEG-TS refusal.

use claimwatch::audio;
use claimwatch::source::SourceEvent;

use super::events::{audio, downs, gaps, start, summary};
use super::server::{Reply, Server};
use super::{assert_len_close, repo};

const SEGMENTS: usize = 6;

fn adts(i: usize) -> Vec<u8> {
    std::fs::read(repo(&format!("tests/data/source/adts/seg{i}.aac"))).unwrap()
}

/// A media playlist over the ADTS segments `seqs` (each "2 s").
fn media(first: usize, last: usize, end_list: bool) -> String {
    let mut text = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
    );
    for i in first..last {
        text.push_str(&format!("#EXTINF:2.0,\nadts/seg{i}.aac\n"));
    }
    if end_list {
        text.push_str("#EXT-X-ENDLIST\n");
    }
    text
}

fn segment_or_404(path: &str) -> Reply {
    let Some(name) = path.strip_prefix("/hls/adts/") else {
        return Reply::Status(404);
    };
    let i: usize = name
        .trim_start_matches("seg")
        .trim_end_matches(".aac")
        .parse()
        .unwrap();
    Reply::Body("audio/aac", adts(i))
}

/// A whole ADTS stream cut into segments: per-segment decoding gives the stream's audio length
/// (each segment's resampler is flushed, so a few samples of rounding per segment).
fn whole_aac_len() -> usize {
    audio::read_all(&repo("samples/formats/en_greeting.aac"))
        .unwrap()
        .len()
}

#[test]
fn vod_playlist_through_master_plays_once_then_ends() {
    let server = Server::start(|path, _| {
        match path {
        "/hls/master.m3u8" => Reply::Body(
            "application/vnd.apple.mpegurl",
            b"#EXTM3U\n\
#EXT-X-STREAM-INF:BANDWIDTH=1500000,RESOLUTION=1280x720,CODECS=\"avc1.4d401f,mp4a.40.2\"\nvideo.m3u8\n\
#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS=\"mp4a.40.2\"\naudio.m3u8\n"
                .to_vec(),
        ),
        "/hls/audio.m3u8" => Reply::Body("application/vnd.apple.mpegurl", media(0, SEGMENTS, true).into_bytes()),
        other => segment_or_404(other),
    }
    });
    let mut run = start(&server.url("/hls/master.m3u8"));
    let events = run.run_to_end().to_vec();
    assert_eq!(summary(&events), "Up Audio Ended");
    assert_len_close(audio(&events).len(), whole_aac_len(), 8 * SEGMENTS, "VOD");
    assert_eq!(
        server.hits("/hls/video.m3u8"),
        0,
        "picked the video variant"
    );
    for i in 0..SEGMENTS {
        assert_eq!(
            server.hits(&format!("/hls/adts/seg{i}.aac")),
            1,
            "segment {i}"
        );
    }
}

/// A live playlist that grows one segment per reload with a 3-segment window, then ends: every
/// segment is fetched once, in order, with no gap.
#[test]
fn live_playlist_is_followed_across_reloads() {
    let server = Server::start(|path, nth| match path {
        "/live/index.m3u8" => {
            let shown = nth.min(SEGMENTS);
            let first = shown.saturating_sub(3);
            Reply::Body(
                "application/vnd.apple.mpegurl",
                media(first, shown, nth > SEGMENTS).into_bytes(),
            )
        }
        other => segment_or_404(&other.replace("/live/", "/hls/")),
    });
    let mut run = start(&server.url("/live/index.m3u8"));
    let events = run.run_to_end().to_vec();
    assert_eq!(summary(&events), "Up Audio Ended");
    assert!(gaps(&events).is_empty());
    assert_len_close(audio(&events).len(), whole_aac_len(), 8 * SEGMENTS, "live");
    assert!(server.hits("/live/index.m3u8") > SEGMENTS);
    for i in 0..SEGMENTS {
        assert_eq!(
            server.hits(&format!("/live/adts/seg{i}.aac")),
            1,
            "segment {i}"
        );
    }
}

/// Segments 1 and 2 leave the playlist before they are fetched: a Gap of two target durations
/// sits between segment 0's audio and segment 3's.
#[test]
fn skipped_sequence_numbers_become_a_gap() {
    let server = Server::start(|path, nth| match (path, nth) {
        ("/hls/jump.m3u8", 1) => Reply::Body(
            "application/vnd.apple.mpegurl",
            media(0, 1, false).into_bytes(),
        ),
        ("/hls/jump.m3u8", _) => Reply::Body(
            "application/vnd.apple.mpegurl",
            media(3, 5, true).into_bytes(),
        ),
        (other, _) => segment_or_404(other),
    });
    let mut run = start(&server.url("/hls/jump.m3u8"));
    let events = run.run_to_end().to_vec();
    assert_eq!(summary(&events), "Up Audio Gap Audio Ended");
    assert_eq!(gaps(&events), [2.0]);
    assert_eq!(
        server.hits("/hls/adts/seg1.aac") + server.hits("/hls/adts/seg2.aac"),
        0
    );
}

/// A failed playlist reload is a Down and a retry that resumes at the next sequence number.
#[test]
fn playlist_outage_resumes_without_loss() {
    let server = Server::start(|path, nth| match (path, nth) {
        ("/hls/flaky.m3u8", 1) => Reply::Body(
            "application/vnd.apple.mpegurl",
            media(0, 2, false).into_bytes(),
        ),
        ("/hls/flaky.m3u8", 2) => Reply::Status(500),
        ("/hls/flaky.m3u8", _) => Reply::Body(
            "application/vnd.apple.mpegurl",
            media(0, 4, true).into_bytes(),
        ),
        (other, _) => segment_or_404(other),
    });
    let mut run = start(&server.url("/hls/flaky.m3u8"));
    let events = run.run_to_end().to_vec();
    assert_eq!(summary(&events), "Up Audio Down Up Audio Ended");
    assert!(
        downs(&events)[0].ends_with("HTTP 500 Internal Server Error"),
        "{:?}",
        downs(&events)
    );
    for i in 0..4 {
        assert_eq!(
            server.hits(&format!("/hls/adts/seg{i}.aac")),
            1,
            "segment {i}"
        );
    }
}

/// fMP4 HLS (EXT-X-MAP init + .m4s fragments, as ffmpeg and most CDNs package it): each
/// fragment decodes after the init section; the total is the encoded file's length.
#[test]
fn fmp4_segments_decode() {
    let dir = repo("tests/data/source/fmp4");
    let server = Server::start(move |path, _| {
        let name = path.trim_start_matches("/f/");
        match std::fs::read(dir.join(name)) {
            Ok(bytes) if name.ends_with(".m3u8") => {
                Reply::Body("application/vnd.apple.mpegurl", bytes)
            }
            Ok(bytes) => Reply::Body("video/iso.segment", bytes),
            Err(_) => Reply::Status(404),
        }
    });
    let mut run = start(&server.url("/f/index.m3u8"));
    let events = run.run_to_end().to_vec();
    assert_eq!(summary(&events), "Up Audio Ended", "{:?}", downs(&events));
    let got = audio(&events);
    let wav = audio::read_all(&repo("samples/en_greeting.wav")).unwrap();
    // The playlist's EXTINF total is 10.2 s; AAC frames round the end up.
    assert_len_close(got.len(), wav.len(), 1_600, "fMP4");
    let rms = (got.iter().map(|v| v * v).sum::<f32>() / got.len() as f32).sqrt();
    assert!(rms > 0.01, "fMP4 audio is silent (rms {rms})");
    assert_eq!(server.hits("/f/init.mp4"), 1, "init section fetched once");
}

/// MPEG-TS segments: a Down that says what to do instead.
#[test]
fn mpeg_ts_segments_are_refused_with_a_pointer() {
    let server = Server::start(|path, _| match path {
        "/ts/index.m3u8" => Reply::Body(
            "application/vnd.apple.mpegurl",
            b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\ns0.ts\n#EXT-X-ENDLIST\n".to_vec(),
        ),
        _ => {
            let mut ts = vec![0xffu8; 188 * 4];
            for p in 0..4 {
                ts[p * 188] = 0x47;
            }
            Reply::Body("video/mp2t", ts)
        }
    });
    let mut run = start(&server.url("/ts/index.m3u8"));
    let events = run.until(|e| !downs(e).is_empty()).to_vec();
    run.stop();
    let reason = &downs(&events)[0];
    assert!(
        reason.contains("MPEG-TS segments are not supported") && reason.contains("README"),
        "{reason}"
    );
    assert!(!events.iter().any(|e| matches!(e, SourceEvent::Audio(..))));
}
