//! The source policy against real connections: a loopback server the policy refuses is never
//! asked for anything, and with loopback allowed, a redirect or a playlist entry that points at
//! another refused address (cloud metadata, RFC 1918, IPv4-mapped) is refused before it is
//! dialled. The Down reason says only that the policy refused; the address class goes to the
//! server log.
//!
//! Tests can only serve from loopback, so the redirect and playlist checks run with a policy
//! that allows loopback alone: the first hop is then allowed, and every refused target is one of
//! the other classes. Those targets are never connected to (a refusal is decided from the URL's
//! address literal), so no outside network is involved.

use claimwatch::source::policy::AddrClass;
use claimwatch::source::{NetPolicy, SourceEvent};

use super::events::{audio, downs, start_with, summary};
use super::repo;
use super::server::{Reply, Server};

fn loopback_only() -> NetPolicy {
    NetPolicy::allowing(&[AddrClass::Loopback])
}

fn mp3() -> Vec<u8> {
    std::fs::read(repo("samples/formats/en_greeting.mp3")).unwrap()
}

fn first_down(events: &[SourceEvent]) -> bool {
    events.iter().any(|e| matches!(e, SourceEvent::Down { .. }))
}

/// Under the default policy, loopback is refused however it is written, the host name
/// `localhost` included (refused on the addresses it resolves to): the server sees no request.
/// The same server with loopback allowed plays, so the refusal is the policy's.
#[test]
fn loopback_is_refused_by_default_before_any_request() {
    let bytes = mp3();
    let server = Server::start(move |_, _| Reply::Body("audio/mpeg", bytes.clone()));
    let port = server.url("").rsplit(':').next().unwrap().to_string();
    let table = [
        format!("http://127.0.0.1:{port}/literal.mp3"),
        format!("http://[::ffff:127.0.0.1]:{port}/mapped.mp3"),
        format!("http://2130706433:{port}/decimal.mp3"),
        format!("http://localhost:{port}/name.mp3"),
        format!("http://localhost:{port}/list.m3u8"),
    ];
    for url in &table {
        let mut run = start_with(url, NetPolicy::public_only());
        let events = run.until(|e| downs(e).len() >= 2).to_vec();
        run.stop();
        assert!(audio(&events).is_empty(), "{url}: {}", summary(&events));
        for reason in downs(&events) {
            assert!(
                reason.ends_with(": source refused by policy"),
                "{url}: {reason}"
            );
        }
    }
    for path in [
        "/literal.mp3",
        "/mapped.mp3",
        "/decimal.mp3",
        "/name.mp3",
        "/list.m3u8",
    ] {
        assert_eq!(server.hits(path), 0, "{path} was requested");
    }

    let mut run = start_with(
        &format!("http://localhost:{port}/name.mp3"),
        loopback_only(),
    );
    let events = run.until(first_down).to_vec();
    run.stop();
    assert!(!audio(&events).is_empty(), "{}", summary(&events));
}

/// A redirect from an allowed server to a refused address is refused; a redirect that stays on
/// allowed ground is followed. reqwest itself never follows a redirect to another scheme: the
/// 302 is the answer, and a failed one.
#[test]
fn redirects_to_refused_addresses_are_refused() {
    let bytes = mp3();
    let server = Server::start(move |path, _| match path {
        "/metadata" => Reply::Redirect("http://169.254.169.254/latest/meta-data/".into()),
        "/private" => Reply::Redirect("http://10.0.0.1/live.mp3".into()),
        "/mapped" => Reply::Redirect("http://[::ffff:192.168.0.1]/live.mp3".into()),
        "/cgnat" => Reply::Redirect("http://100.64.0.1/live.mp3".into()),
        "/ula" => Reply::Redirect("http://[fd00::1]/live.mp3".into()),
        "/file" => Reply::Redirect("file:///etc/passwd".into()),
        "/allowed" => Reply::Redirect("/live.mp3".into()),
        "/live.mp3" => Reply::Body("audio/mpeg", bytes.clone()),
        _ => Reply::Status(404),
    });
    // (path, the Down reason after the URL, or None where the redirect plays)
    let table = [
        ("/metadata", Some("source refused by policy")),
        ("/private", Some("source refused by policy")),
        ("/mapped", Some("source refused by policy")),
        ("/cgnat", Some("source refused by policy")),
        ("/ula", Some("source refused by policy")),
        ("/file", Some("HTTP 302 Found")),
        ("/allowed", None),
    ];
    for (path, refused) in table {
        let mut run = start_with(&server.url(path), loopback_only());
        let events = run.until(first_down).to_vec();
        run.stop();
        let reason = &downs(&events)[0];
        match refused {
            Some(why) => {
                assert_eq!(reason, &format!("{}: {why}", server.url(path)), "{path}");
                assert!(audio(&events).is_empty(), "{path}");
            }
            None => assert!(!audio(&events).is_empty(), "{path}: {reason}"),
        }
    }
    assert!(server.hits("/live.mp3") >= 1);
}

/// A playlist served from an allowed address whose entries point at refused addresses: the
/// entry is refused, and nothing of it is played.
#[test]
fn playlist_entries_at_refused_addresses_are_refused() {
    let segment_list = |uri: &str| {
        format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\n{uri}\n\
             #EXT-X-ENDLIST\n"
        )
    };
    let segment = segment_list("http://10.0.0.1/seg0.aac");
    let mapped = segment_list("http://[::ffff:169.254.169.254]/seg0.aac");
    let master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS=\"mp4a.40.2\"\n\
                  http://192.168.1.1/audio.m3u8\n";
    let server = Server::start(move |path, _| match path {
        "/segment.m3u8" => Reply::Body("application/vnd.apple.mpegurl", segment.clone().into()),
        "/mapped.m3u8" => Reply::Body("application/vnd.apple.mpegurl", mapped.clone().into()),
        "/master.m3u8" => Reply::Body("application/vnd.apple.mpegurl", master.into()),
        _ => Reply::Status(404),
    });
    // (playlist, the entry refused)
    let table = [
        ("/segment.m3u8", "http://10.0.0.1/seg0.aac"),
        (
            "/mapped.m3u8",
            "http://[::ffff:a9fe:a9fe]/seg0.aac", // the URL parser's form of the mapped address
        ),
        ("/master.m3u8", "http://192.168.1.1/audio.m3u8"),
    ];
    for (path, entry) in table {
        let mut run = start_with(&server.url(path), loopback_only());
        let events = run.until(first_down).to_vec();
        run.stop();
        assert_eq!(
            downs(&events)[0],
            format!("{entry}: source refused by policy"),
            "{path}"
        );
        assert!(audio(&events).is_empty(), "{path}");
        assert!(server.hits(path) >= 1, "{path}");
    }
}
