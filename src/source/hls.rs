//! HLS source: playlist URL → segments fetched in media-sequence order → decoded → `Audio`
//! events. A master playlist is resolved once to one media playlist (see
//! [`playlist::choose`]); a live playlist is reloaded about every target duration; a VOD
//! (`#EXT-X-ENDLIST`) playlist plays once and ends with `Ended`.
//!
//! Segments: ADTS AAC and MP3 decode on their own; fMP4 (`#EXT-X-MAP`) decodes as init section +
//! fragment, concatenated. MPEG-TS is refused with a pointer to the ffmpeg pipe, since symphonia
//! has no TS demuxer. Stream time stays continuous across reloads and reconnections; segments
//! that left the playlist before we got them become a `Gap` of their duration.

use std::io::Cursor;
use std::time::Duration;

use url::Url;

use crate::audio::AudioStream;

use super::emit::{Emitter, Stopped, CHUNK};
use super::fetch::Fetcher;
use super::playlist::{self, MediaList, Parsed};
use super::policy::NetPolicy;
use super::retry::Backoff;
use super::Fail;

/// Where a live stream stands between reloads.
struct State {
    /// The media playlist, once a master playlist has been resolved.
    media_url: Option<Url>,
    next_seq: Option<u64>,
    /// The last init section: (absolute URI, bytes); fMP4 streams reuse one for every segment.
    init: Option<(Url, Vec<u8>)>,
    /// `Up` was sent since the last `Down`.
    up_sent: bool,
    /// Segments fetched since the last failure (resets the backoff).
    fetched: u64,
}

enum Step {
    Reload(Duration),
    Ended,
}

/// Plays the playlist at `url`. Every playlist, init section and segment URL the stream lists is
/// fetched only where `net` allows ([`Fetcher`] checks each one, and each redirect).
pub fn run(
    url: &str,
    net: NetPolicy,
    mut backoff: Backoff,
    em: &mut Emitter,
) -> Result<(), Stopped> {
    let fetcher = match Fetcher::new(em.token().clone(), net) {
        Ok(fetcher) => fetcher,
        Err(reason) => {
            em.down(reason)?;
            return em.ended();
        }
    };
    let base = match Url::parse(url) {
        Ok(base) => base,
        Err(e) => {
            em.down(format!("{url}: {e}"))?;
            return em.ended();
        }
    };
    let mut state = State {
        media_url: None,
        next_seq: None,
        init: None,
        up_sent: false,
        fetched: 0,
    };
    loop {
        match super::guarded(|| step(&fetcher, &base, &mut state, em)) {
            Ok(Step::Ended) => return em.ended(),
            Ok(Step::Reload(after)) => {
                if state.fetched > 0 {
                    backoff.reset();
                }
                em.sleep(after)?;
            }
            Err(Fail::Stopped) => return Err(Stopped),
            Err(Fail::Error(_)) if em.cancelled() => return Err(Stopped),
            Err(Fail::Error(reason)) => {
                if state.fetched > 0 {
                    backoff.reset();
                }
                state.fetched = 0;
                state.up_sent = false;
                em.down(reason)?;
                em.sleep(backoff.next_delay())?;
            }
        }
    }
}

/// One reload: fetch the media playlist, then every segment we have not played.
fn step(fetcher: &Fetcher, base: &Url, state: &mut State, em: &mut Emitter) -> Result<Step, Fail> {
    let list = media_list(fetcher, base, state)?;
    let media_url = state.media_url.clone().unwrap_or_else(|| base.clone());
    let plan = playlist::plan(&list, state.next_seq);
    let mut gap_s = plan.gap_s;
    if plan.skipped > 0 {
        eprintln!(
            "claimwatch: {media_url}: {} segment(s) left the playlist before they were fetched",
            plan.skipped
        );
    }
    let got_new = !plan.todo.is_empty();
    for (seq, segment) in plan.todo {
        let seg_url = join(&media_url, &segment.uri)?;
        let mut bytes = Vec::new();
        if let Some(map) = &segment.map {
            let map_url = join(&media_url, map)?;
            if state.init.as_ref().map(|(u, _)| u) != Some(&map_url) {
                let init = fetcher.get(map_url.as_str())?;
                state.init = Some((map_url, init));
            }
            bytes.extend_from_slice(&state.init.as_ref().expect("just set").1);
        }
        bytes.extend_from_slice(&fetcher.get(seg_url.as_str())?);
        let samples = match decode(bytes, &segment, seg_url.as_str())? {
            Some(samples) => samples,
            None => {
                // One broken segment costs its duration, not the stream.
                gap_s += segment.duration;
                state.next_seq = Some(seq + 1);
                continue;
            }
        };
        if !state.up_sent {
            // Stream time is carried by the sequence numbers: a reconnection that finds the
            // next segment still listed lost nothing, so no wall-clock gap here.
            em.up_quiet()?;
            state.up_sent = true;
        }
        em.gap(std::mem::take(&mut gap_s))?;
        em.audio(&samples)?;
        em.flush()?;
        state.next_seq = Some(seq + 1);
        state.fetched += 1;
    }
    em.gap(gap_s)?;
    if list.end_list {
        return Ok(Step::Ended);
    }
    // RFC 8216 §6.3.4: reload after the target duration, or half of it when nothing was new.
    let target = Duration::from_secs_f64(list.target_duration.clamp(0.1, 60.0));
    Ok(Step::Reload(if got_new { target } else { target / 2 }))
}

/// The media playlist, resolving a master playlist to one media playlist the first time.
fn media_list(fetcher: &Fetcher, base: &Url, state: &mut State) -> Result<MediaList, Fail> {
    let url = state.media_url.clone().unwrap_or_else(|| base.clone());
    let text = fetcher.get(url.as_str())?;
    match playlist::parse(&text).map_err(|e| Fail::Error(format!("{url}: {e}")))? {
        Parsed::Media(list) => Ok(list),
        Parsed::Master { uri, why } if state.media_url.is_none() => {
            let media = join(&url, &uri)?;
            eprintln!("claimwatch: {url}: following {media} ({why})");
            state.media_url = Some(media.clone());
            let text = fetcher.get(media.as_str())?;
            match playlist::parse(&text).map_err(|e| Fail::Error(format!("{media}: {e}")))? {
                Parsed::Media(list) => Ok(list),
                Parsed::Master { .. } => Err(Fail::Error(format!(
                    "{media}: a master playlist points to another master playlist"
                ))),
            }
        }
        Parsed::Master { .. } => Err(Fail::Error(format!(
            "{url}: expected a media playlist, got a master playlist"
        ))),
    }
}

fn join(base: &Url, uri: &str) -> Result<Url, Fail> {
    base.join(uri)
        .map_err(|e| Fail::Error(format!("{base}: bad segment URI {uri:?}: {e}")))
}

/// A segment's bytes → 16 kHz mono. `Ok(None)`: this segment does not decode (skipped with a
/// gap); `Err`: the stream's segment format is one we cannot read at all.
fn decode(
    bytes: Vec<u8>,
    segment: &playlist::Segment,
    name: &str,
) -> Result<Option<Vec<f32>>, Fail> {
    let hint = segment_hint(&segment.uri, segment.map.is_some());
    if hint == Some("ts") || is_mpeg_ts(&bytes) {
        return Err(Fail::Error(format!(
            "{name}: MPEG-TS segments are not supported; pipe the stream through ffmpeg to stdin \
             instead (see README, \"Live sources\")"
        )));
    }
    let mut stream = match AudioStream::from_source(Box::new(Cursor::new(bytes)), hint, name) {
        Ok(stream) => stream,
        Err(err) => {
            eprintln!("claimwatch: skipping segment: {err}");
            return Ok(None);
        }
    };
    // A few kilobytes of low-bitrate MP3 or near-silent FLAC can claim hours of audio: decoding
    // stops at what the segment may hold, so memory stays bounded by the cap, not the claim.
    let cap = segment_cap_samples(segment.duration);
    let (mut all, mut chunk) = (Vec::new(), Vec::with_capacity(CHUNK));
    loop {
        match stream.read(&mut chunk, 1 << 14) {
            Ok(0) => return Ok(Some(all)),
            Ok(_) if all.len() + chunk.len() > cap => {
                let keep = cap - all.len();
                all.extend_from_slice(&chunk[..keep]);
                eprintln!(
                    "claimwatch: {name}: the segment decodes to more than {:.1} s (EXTINF {:.1} s); the rest is dropped",
                    cap as f64 / f64::from(crate::audio::SAMPLE_RATE),
                    segment.duration
                );
                return Ok(Some(all));
            }
            Ok(_) => all.extend_from_slice(&chunk),
            Err(err) => {
                eprintln!("claimwatch: skipping segment: {err}");
                return Ok(None);
            }
        }
    }
}

/// Longest audio one segment may decode to, in seconds, whatever its EXTINF says.
pub const MAX_SEGMENT_S: f64 = 60.0;

/// Samples (16 kHz mono) a segment of `extinf` seconds may decode to: twice its stated length,
/// at most [`MAX_SEGMENT_S`].
fn segment_cap_samples(extinf: f64) -> usize {
    let seconds = (2.0 * extinf).clamp(1.0, MAX_SEGMENT_S);
    (seconds * f64::from(crate::audio::SAMPLE_RATE)) as usize
}

/// The container of a segment, from its URI's extension (query stripped).
fn segment_hint(uri: &str, has_map: bool) -> Option<&'static str> {
    let path = uri
        .split(['?', '#'])
        .next()
        .unwrap_or(uri)
        .to_ascii_lowercase();
    let ext = path.rsplit_once('.').map(|(_, e)| e);
    match ext {
        Some("aac" | "adts") => Some("aac"),
        Some("mp3") => Some("mp3"),
        Some("m4s" | "mp4" | "m4a" | "cmfa" | "fmp4") => Some("mp4"),
        Some("ts") => Some("ts"),
        _ if has_map => Some("mp4"),
        _ => None,
    }
}

/// MPEG-TS: 188-byte packets, each starting with the sync byte 0x47.
fn is_mpeg_ts(bytes: &[u8]) -> bool {
    bytes.len() >= 188 * 2 && bytes[0] == 0x47 && bytes[188] == 0x47
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_containers() {
        let table = [
            ("seg1.aac", false, Some("aac")),
            ("seg1.AAC?token=x", false, Some("aac")),
            ("chunk.m4s", true, Some("mp4")),
            ("chunk", true, Some("mp4")),
            ("a.mp3", false, Some("mp3")),
            ("a.ts", false, Some("ts")),
            ("segment", false, None),
        ];
        for (uri, map, want) in table {
            assert_eq!(segment_hint(uri, map), want, "{uri}");
        }
        let mut ts = vec![0u8; 188 * 3];
        ts[0] = 0x47;
        ts[188] = 0x47;
        assert!(is_mpeg_ts(&ts));
        assert!(!is_mpeg_ts(&ts[..100]));
    }

    /// A 16-bit mono WAV of `seconds` of silence at 8 kHz.
    fn silent_wav(seconds: u32) -> Vec<u8> {
        let data_len = seconds * 8_000 * 2;
        let mut wav = Vec::new();
        wav.extend_from_slice(b"RIFF");
        wav.extend_from_slice(&(36 + data_len).to_le_bytes());
        wav.extend_from_slice(b"WAVEfmt ");
        wav.extend_from_slice(&16u32.to_le_bytes());
        wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
        wav.extend_from_slice(&1u16.to_le_bytes()); // mono
        wav.extend_from_slice(&8_000u32.to_le_bytes());
        wav.extend_from_slice(&16_000u32.to_le_bytes()); // bytes per second
        wav.extend_from_slice(&2u16.to_le_bytes());
        wav.extend_from_slice(&16u16.to_le_bytes());
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&data_len.to_le_bytes());
        wav.resize(wav.len() + data_len as usize, 0);
        wav
    }

    #[test]
    fn a_segment_decodes_to_at_most_twice_its_extinf() {
        // (seconds in the file, EXTINF, seconds kept)
        let cases = [(3, 2.0, 3.0), (10, 1.0, 2.0), (90, 40.0, MAX_SEGMENT_S)];
        for (seconds, extinf, kept) in cases {
            let segment = playlist::Segment {
                uri: "seg.wav".into(),
                duration: extinf,
                map: None,
            };
            let samples = decode(silent_wav(seconds), &segment, "seg.wav")
                .unwrap()
                .unwrap();
            let got = samples.len() as f64 / f64::from(crate::audio::SAMPLE_RATE);
            assert!(
                (got - kept).abs() < 0.01,
                "{seconds} s, EXTINF {extinf}: {got} s"
            );
        }
    }
}
