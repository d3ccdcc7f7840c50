//! HLS playlists → `claimwatch::source::playlist` (`parse`, then `plan` for every "next
//! segment" a client could hold): byte mutations of real media and master playlists, and
//! playlists assembled line by line from tags with boundary values.

use claimwatch::source::playlist::{parse, plan, Parsed};
use proptest::prelude::*;

use super::mutate::{apply, mutations};
use super::{fuzz, Outcome, CI_CASES};
use crate::common::repo;

const MASTER: &str = "#EXTM3U
#EXT-X-VERSION:6
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"en\",DEFAULT=YES,URI=\"audio/en.m3u8\"
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS=\"avc1.4d401e,mp4a.40.2\",AUDIO=\"aud\"
video/360.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS=\"mp4a.40.2\"
audio-only.m3u8
";

/// Parses, then plans from the start, from each listed sequence number and from the extremes.
fn check(bytes: Vec<u8>) -> Outcome {
    match parse(&bytes) {
        Err(e) => Outcome::Refused(e),
        Ok(Parsed::Master { uri, why }) => {
            assert!(!uri.is_empty() || why.contains("variant") || why.contains("rendition"));
            Outcome::Accepted
        }
        Ok(Parsed::Media(list)) => {
            let first = list.media_sequence;
            let len = list.segments.len() as u64;
            for next in [
                None,
                Some(0),
                Some(first),
                Some(first.saturating_add(len)),
                Some(first.saturating_add(len).saturating_add(1)),
                Some(u64::MAX),
            ] {
                let plan = plan(&list, next);
                assert!(plan.todo.len() as u64 <= len, "{plan:?}");
            }
            Outcome::Accepted
        }
    }
}

fn seeds() -> Vec<Vec<u8>> {
    vec![
        std::fs::read(repo().join("tests/data/source/fmp4/index.m3u8")).unwrap(),
        MASTER.as_bytes().to_vec(),
    ]
}

#[test]
fn mutated_playlists_never_panic() {
    let strategy = (prop::sample::select(seeds()), mutations()).prop_map(|(s, m)| apply(&s, &m));
    fuzz("hls playlist (mutated)", CI_CASES, strategy, check);
}

/// Numbers a packager (or an attacker) may write: zero, huge, negative, fractional, NaN.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just(u64::MAX.to_string()),
        Just((u64::MAX - 1).to_string()),
        Just("18446744073709551616".to_string()),
        Just("-1".to_string()),
        Just("1e308".to_string()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("".to_string()),
        (0u64..100_000).prop_map(|n| n.to_string()),
        (0.0f64..100.0).prop_map(|f| format!("{f:.3}")),
    ]
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        number().prop_map(|n| format!("#EXT-X-MEDIA-SEQUENCE:{n}")),
        number().prop_map(|n| format!("#EXT-X-TARGETDURATION:{n}")),
        number().prop_map(|n| format!("#EXTINF:{n},")),
        number().prop_map(|n| format!("#EXT-X-VERSION:{n}")),
        number().prop_map(|n| format!("#EXT-X-STREAM-INF:BANDWIDTH={n}")),
        number().prop_map(|n| format!("#EXT-X-DISCONTINUITY-SEQUENCE:{n}")),
        Just("#EXT-X-MAP:URI=\"init.mp4\"".to_string()),
        Just("#EXT-X-MAP:URI=\"\"".to_string()),
        Just("#EXT-X-ENDLIST".to_string()),
        Just("#EXT-X-DISCONTINUITY".to_string()),
        Just("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"x\",URI=\"a.m3u8\"".to_string()),
        Just("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"x\"".to_string()),
        "[a-z0-9./:?=%-]{0,24}",
        "#[A-Z-]{1,20}:[ -~]{0,30}",
    ]
}

#[test]
fn generated_playlists_never_panic() {
    let strategy = prop::collection::vec(line(), 0..24).prop_map(|lines| {
        let mut text = String::from("#EXTM3U\n");
        for l in lines {
            text.push_str(&l);
            text.push('\n');
        }
        text.into_bytes()
    });
    fuzz("hls playlist (generated)", CI_CASES, strategy, check);
}

/// Found by `generated_playlists_never_panic`: `plan` counts sequence numbers past the last
/// segment, which overflowed (a panic in debug builds) for a sequence near `u64::MAX`. Such a
/// playlist is now refused in one line; one that still fits is planned.
#[test]
fn media_sequences_at_the_top_of_u64_are_refused_in_one_line() {
    // (EXT-X-MEDIA-SEQUENCE, segments listed, refused)
    let cases = [
        (u64::MAX, 0, true),
        (u64::MAX, 1, true),
        (u64::MAX - 1, 1, true),
        (u64::MAX - 2, 1, false),
        (u64::MAX - 1, 0, false),
        (0, 3, false),
    ];
    for (sequence, segments, refused) in cases {
        let mut text =
            format!("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{sequence}\n");
        for i in 0..segments {
            text.push_str(&format!("#EXTINF:2.0,\nseg{i}.aac\n"));
        }
        match check(text.into_bytes()) {
            Outcome::Refused(e) => {
                assert!(refused, "{sequence} with {segments}: {e}");
                assert!(
                    e.contains("EXT-X-MEDIA-SEQUENCE") && !e.contains('\n'),
                    "{e}"
                );
            }
            Outcome::Accepted => assert!(!refused, "{sequence} with {segments} accepted"),
        }
    }
}
