//! HLS playlists: playlist text → the few facts a live audio client needs, and the pure decisions
//! made on them (which rendition to follow, which segments to fetch next, how much was skipped).
//!
//! The only file that touches m3u8-rs; everything past [`parse`] is plain data, tested here.

use m3u8_rs::{AlternativeMediaType, Playlist};

#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A master playlist: the media playlist URI chosen from it, and why.
    Master {
        uri: String,
        why: String,
    },
    Media(MediaList),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MediaList {
    pub target_duration: f64,
    /// Sequence number of `segments[0]`.
    pub media_sequence: u64,
    pub segments: Vec<Segment>,
    /// `#EXT-X-ENDLIST`: a finished (VOD) playlist, played once.
    pub end_list: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub uri: String,
    pub duration: f64,
    /// `#EXT-X-MAP` init section (fMP4) that must precede this segment's bytes.
    pub map: Option<String>,
}

/// One candidate from a master playlist, reduced to what [`choose`] looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub uri: String,
    pub bandwidth: u64,
    /// An EXT-X-MEDIA audio rendition, or a variant without video (no RESOLUTION, no video codec).
    pub audio_only: bool,
    /// DEFAULT=YES on an audio rendition.
    pub default: bool,
}

pub fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let playlist = m3u8_rs::parse_playlist_res(bytes).map_err(|_| {
        let start = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
        format!("not an HLS playlist (starts with {start:?})")
    })?;
    match playlist {
        Playlist::MasterPlaylist(master) => {
            let mut candidates: Vec<Candidate> = master
                .alternatives
                .iter()
                .filter(|m| m.media_type == AlternativeMediaType::Audio)
                .filter_map(|m| {
                    Some(Candidate {
                        uri: m.uri.clone()?,
                        bandwidth: 0,
                        audio_only: true,
                        default: m.default,
                    })
                })
                .collect();
            candidates.extend(master.variants.iter().filter(|v| !v.is_i_frame).map(|v| {
                let video_codec = v.codecs.as_deref().is_some_and(|c| {
                    c.split(',').any(|c| {
                        matches!(
                            c.trim().get(..4),
                            Some("avc1" | "avc3" | "hvc1" | "hev1" | "av01" | "vp09")
                        )
                    })
                });
                Candidate {
                    uri: v.uri.clone(),
                    bandwidth: v.bandwidth,
                    audio_only: v.resolution.is_none() && !video_codec,
                    default: false,
                }
            }));
            let chosen = choose(&candidates).ok_or("master playlist lists no media playlist")?;
            Ok(Parsed::Master {
                uri: chosen.uri.clone(),
                why: why(chosen),
            })
        }
        Playlist::MediaPlaylist(media) => {
            // The publisher is the party being watched: its numbers are checked, never trusted.
            if media.target_duration > MAX_TARGET_DURATION_S {
                return Err(format!(
                    "EXT-X-TARGETDURATION {} s: a live playlist's segments last seconds, at most {MAX_TARGET_DURATION_S} s",
                    media.target_duration
                ));
            }
            // Found by tests/fuzz: sequence numbers are counted past the last segment
            // ([`plan`]), which must not overflow.
            if media
                .media_sequence
                .checked_add(media.segments.len() as u64 + 1)
                .is_none()
            {
                return Err(format!(
                    "EXT-X-MEDIA-SEQUENCE {} leaves no room for its segments' numbers",
                    media.media_sequence
                ));
            }
            let target_duration = media.target_duration.max(1) as f64;
            Ok(Parsed::Media(MediaList {
                target_duration,
                media_sequence: media.media_sequence,
                end_list: media.end_list,
                segments: {
                    // EXT-X-MAP applies to every later segment until the next one.
                    let mut map = None;
                    media
                        .segments
                        .iter()
                        .map(|s| {
                            if let Some(m) = &s.map {
                                map = Some(m.uri.clone());
                            }
                            Segment {
                                uri: s.uri.clone(),
                                duration: segment_duration(f64::from(s.duration), target_duration),
                                map: map.clone(),
                            }
                        })
                        .collect()
                },
            }))
        }
    }
}

/// Longest `EXT-X-TARGETDURATION` accepted.
pub const MAX_TARGET_DURATION_S: u64 = 600;

/// A segment's `EXTINF`, or the target duration where it is not a sane one: not finite (a
/// 41-digit number parses to infinity), not positive, or longer than the target duration allows
/// (HLS: EXTINF rounded is at most the target; twice the target leaves room for sloppy encoders).
/// Stream time is summed from these, so one wild value would break every later time.
fn segment_duration(extinf: f64, target_duration: f64) -> f64 {
    if extinf.is_finite() && extinf > 0.0 && extinf <= 2.0 * target_duration {
        extinf
    } else {
        target_duration
    }
}

/// Speech recognition needs only the audio, and Whisper hears 16 kHz mono: the cheapest stream
/// that carries audio is the right one. So: an audio rendition (DEFAULT first), else the
/// lowest-bandwidth audio-only variant, else the lowest-bandwidth variant (whose video bytes we
/// download but do not decode).
pub fn choose(candidates: &[Candidate]) -> Option<&Candidate> {
    // Renditions carry no bandwidth (0), so among audio-only ones they sort first.
    candidates
        .iter()
        .min_by_key(|c| (!c.audio_only, !c.default, c.bandwidth))
}

fn why(c: &Candidate) -> String {
    match (c.audio_only, c.bandwidth) {
        (true, 0) => "audio rendition".to_string(),
        (true, bw) => format!("lowest-bandwidth audio-only variant ({bw} bit/s)"),
        (false, bw) => format!("no audio-only variant; lowest bandwidth ({bw} bit/s)"),
    }
}

/// What to fetch after reloading a media playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Sequence numbers and segments to fetch, in order.
    pub todo: Vec<(u64, Segment)>,
    /// Segments that left the playlist before we fetched them (we fell behind or were down).
    pub skipped: u64,
    /// Their duration, estimated at the target duration each (their EXTINF is gone).
    pub gap_s: f64,
}

/// How many segments from the end a live stream is joined at (RFC 8216 §6.3.3: not closer than
/// three target durations to the end, so a reload is always ahead of playback).
pub const LIVE_JOIN_BACK: usize = 3;

/// `next` is the sequence number we want next (`None` before the first segment).
pub fn plan(list: &MediaList, next: Option<u64>) -> Plan {
    let first = list.media_sequence;
    let end = first + list.segments.len() as u64;
    let (start, skipped) = match next {
        None if list.end_list => (first, 0),
        None => (end.saturating_sub(LIVE_JOIN_BACK as u64).max(first), 0),
        Some(n) if n < first => (first, first - n),
        // The sequence went backwards past what we played: the packager restarted. Start over
        // at the live edge; the outage, if any, shows as the reload delay, not as a known gap.
        Some(n) if n > end => (end.saturating_sub(LIVE_JOIN_BACK as u64).max(first), 0),
        Some(n) => (n, 0),
    };
    let todo = (start..end)
        .map(|seq| (seq, list.segments[(seq - first) as usize].clone()))
        .collect();
    Plan {
        todo,
        skipped,
        gap_s: skipped as f64 * list.target_duration,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(first: u64, n: usize, end_list: bool) -> MediaList {
        MediaList {
            target_duration: 2.0,
            media_sequence: first,
            segments: (0..n)
                .map(|i| Segment {
                    uri: format!("s{}.aac", first + i as u64),
                    duration: 2.0,
                    map: None,
                })
                .collect(),
            end_list,
        }
    }

    fn seqs(plan: &Plan) -> Vec<u64> {
        plan.todo.iter().map(|(s, _)| *s).collect()
    }

    #[test]
    fn plans_vod_live_join_resume_skip_and_restart() {
        // (what, playlist, next wanted, sequence numbers to fetch, skipped)
        type Case = (&'static str, MediaList, Option<u64>, Vec<u64>, u64);
        let table: [Case; 7] = [
            (
                "vod plays everything",
                list(0, 5, true),
                None,
                vec![0, 1, 2, 3, 4],
                0,
            ),
            (
                "live joins 3 from the end",
                list(10, 6, false),
                None,
                vec![13, 14, 15],
                0,
            ),
            (
                "short live playlist from its start",
                list(10, 2, false),
                None,
                vec![10, 11],
                0,
            ),
            (
                "resume where we were",
                list(10, 6, false),
                Some(14),
                vec![14, 15],
                0,
            ),
            ("nothing new yet", list(10, 6, false), Some(16), vec![], 0),
            (
                "fell behind by 3",
                list(10, 6, false),
                Some(7),
                vec![10, 11, 12, 13, 14, 15],
                3,
            ),
            (
                "packager restarted at 0",
                list(0, 4, false),
                Some(500),
                vec![1, 2, 3],
                0,
            ),
        ];
        for (what, list, next, want, skipped) in table {
            let plan = plan(&list, next);
            assert_eq!(seqs(&plan), want, "{what}");
            assert_eq!(plan.skipped, skipped, "{what}");
            assert_eq!(plan.gap_s, skipped as f64 * 2.0, "{what}");
        }
    }

    #[test]
    fn parses_media_playlist_with_map() {
        let text =
            b"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:41\n\
#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.048,\na.m4s\n#EXTINF:1.5,\nb.m4s\n";
        let Parsed::Media(list) = parse(text).unwrap() else {
            panic!("not media")
        };
        assert_eq!(list.media_sequence, 41);
        assert_eq!(list.target_duration, 2.0);
        assert!(!list.end_list);
        assert_eq!(list.segments.len(), 2);
        assert_eq!(list.segments[1].uri, "b.m4s");
        assert!((list.segments[0].duration - 2.048).abs() < 1e-6);
        assert_eq!(list.segments[1].map.as_deref(), Some("init.mp4"));
    }

    #[test]
    fn master_prefers_audio_then_cheapest() {
        let audio_group = b"#EXTM3U\n\
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"en\",DEFAULT=YES,URI=\"audio/en.m3u8\"\n\
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS=\"avc1.4d401e,mp4a.40.2\",AUDIO=\"a\"\n\
v360.m3u8\n";
        let ladder = b"#EXTM3U\n\
#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720,CODECS=\"avc1.4d401f,mp4a.40.2\"\nv720.m3u8\n\
#EXT-X-STREAM-INF:BANDWIDTH=128000,CODECS=\"mp4a.40.2\"\naudio_hi.m3u8\n\
#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS=\"mp4a.40.5\"\naudio_lo.m3u8\n";
        let video_only = b"#EXTM3U\n\
#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720\nv720.m3u8\n\
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\nv360.m3u8\n";
        let table: [(&[u8], &str, &str); 3] = [
            (audio_group, "audio/en.m3u8", "audio rendition"),
            (
                ladder,
                "audio_lo.m3u8",
                "lowest-bandwidth audio-only variant (64000 bit/s)",
            ),
            (
                video_only,
                "v360.m3u8",
                "no audio-only variant; lowest bandwidth (800000 bit/s)",
            ),
        ];
        for (text, uri, why) in table {
            assert_eq!(
                parse(text).unwrap(),
                Parsed::Master {
                    uri: uri.to_string(),
                    why: why.to_string()
                }
            );
        }
    }

    #[test]
    fn junk_is_one_line() {
        let err = parse(b"<html>not found</html>").unwrap_err();
        assert_eq!(
            err,
            "not an HLS playlist (starts with \"<html>not found</html>\")"
        );
    }

    #[test]
    fn wild_durations_are_not_trusted() {
        let huge = "1".repeat(41);
        // (EXTINF, duration used) with a target of 2 s
        let cases = [
            ("2.048", 2.048),
            (huge.as_str(), 2.0),
            ("0", 2.0),
            ("-3", 2.0),
            ("nan", 2.0),
            ("4.5", 2.0),
        ];
        for (extinf, want) in cases {
            let text = format!(
                "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:{extinf},\na.aac\n"
            );
            let duration = match parse(text.as_bytes()) {
                Ok(Parsed::Media(list)) => list.segments.first().map(|s| s.duration),
                _ => None,
            };
            // m3u8-rs refuses some of these outright; a refusal is as safe as a correction.
            if let Some(duration) = duration {
                // EXTINF arrives as f32: 2.048 is 2.0480000972… as f64.
                assert!(
                    (duration - want).abs() < 1e-6,
                    "EXTINF {extinf}: {duration}"
                );
            }
        }
        let text = format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:{huge}\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2,\na.aac\n"
        );
        // m3u8-rs drops a target it cannot read as u64 (the default, 0, then counts as 1 s).
        if let Ok(Parsed::Media(list)) = parse(text.as_bytes()) {
            assert!(
                list.target_duration.is_finite()
                    && list.target_duration <= MAX_TARGET_DURATION_S as f64,
                "{}",
                list.target_duration
            );
        }
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:601\n#EXTINF:2,\na.aac\n";
        let err = parse(text.as_bytes()).unwrap_err();
        assert!(err.contains("601"), "{err}");
    }
}
