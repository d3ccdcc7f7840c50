//! Container demuxing and audio decoding: a byte source → interleaved f32 frames at the source's
//! own rate and channel count, one packet at a time.
//!
//! The only file that touches symphonia. It picks the first audio track (video and other tracks
//! are skipped), skips packets that fail to decode (counting them), ends quietly at a truncated
//! tail, and turns everything else into a one-line [`AudioError`].

use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, Track, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// Byte sources the decoder reads: files, `Cursor`s, or any `Read` wrapped in [`ReadOnlySource`]
/// (stdin, HTTP bodies). Re-exported so callers need not depend on symphonia.
pub use symphonia::core::io::{MediaSource, ReadOnlySource};

use super::AudioError;

/// A demuxer's errors rarely advance the read position, so an unbroken run of them means the
/// rest of the stream is garbage; this many in a row ends decoding instead of spinning.
const MAX_CONSECUTIVE_ERRORS: u32 = 64;

/// Decodes one audio track to interleaved f32.
pub struct Decoder {
    name: String,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    rate: u32,
    channels: usize,
    duration_s: Option<f64>,
    /// Interleaved samples of the last decoded packet.
    buf: Vec<f32>,
    /// The first packet, decoded during `open` to learn the real rate and layout.
    primed: bool,
    skipped_packets: u64,
    truncated: bool,
    done: bool,
}

impl Decoder {
    /// Probes `source` for a container, picks its first audio track and decodes the first packet.
    /// `hint_extension` (e.g. `"mp3"`) only speeds up probing; `name` labels errors.
    ///
    /// symphonia reads bytes someone else chose: a panic inside it (an overflow check tripped by
    /// a crafted header) is this input's error, like any other corruption.
    pub fn new(
        source: Box<dyn MediaSource>,
        hint_extension: Option<&str>,
        name: &str,
    ) -> Result<Self, AudioError> {
        crate::panic_guard::catch(|| Self::open(source, hint_extension, name))
            .unwrap_or_else(|panic| Err(decoder_panic(name, &panic)))
    }

    fn open(
        source: Box<dyn MediaSource>,
        hint_extension: Option<&str>,
        name: &str,
    ) -> Result<Self, AudioError> {
        let name = name.to_string();
        let mss = MediaSourceStream::new(source, Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = hint_extension {
            hint.with_extension(ext);
        }
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|err| match err {
                // EOF while probing means the bytes ran out before any format matched.
                SymError::IoError(e) if e.kind() != std::io::ErrorKind::UnexpectedEof => {
                    AudioError::Io {
                        name: name.clone(),
                        error: e,
                    }
                }
                _ => AudioError::UnknownFormat { name: name.clone() },
            })?;

        let track = first_audio_track(format.as_ref())
            .ok_or_else(|| AudioError::NoAudioTrack { name: name.clone() })?
            .clone();
        let decoder = make_decoder(&track, &name)?;
        let params = decoder.codec_params();
        let rate = params.sample_rate.unwrap_or(0);
        let channels = params.channels.as_ref().map_or(0, |c| c.count());

        let mut this = Self {
            duration_s: duration_s(&track, rate),
            name,
            format,
            decoder,
            track_id: track.id,
            rate,
            channels,
            buf: Vec::new(),
            primed: false,
            skipped_packets: 0,
            truncated: false,
            done: false,
        };
        // Containers may omit or misstate rate/layout (ADTS, some MP4s); the decoded buffer is
        // the truth, and callers size their resampler from it.
        this.primed = this.decode_next()?;
        if this.rate == 0 || this.channels == 0 {
            if this.primed {
                let detail = "decoded audio has no sample rate or channels".to_string();
                return Err(this.corrupt(detail));
            }
            // Nothing decodable and no header info: an empty stream, which `AudioStream` refuses
            // as "no audio" before any resampler is built; the rate only has to be valid.
            this.rate = if this.rate == 0 {
                super::SAMPLE_RATE
            } else {
                this.rate
            };
            this.channels = this.channels.max(1);
        }
        Ok(this)
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    pub fn duration_s(&self) -> Option<f64> {
        self.duration_s
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether opening decoded a first packet of audio: `false` means the stream holds none.
    /// Meaningful until the first [`next_chunk`](Self::next_chunk), which hands that packet out.
    pub fn has_audio(&self) -> bool {
        self.primed
    }

    /// Packets dropped because they failed to decode.
    pub fn skipped_packets(&self) -> u64 {
        self.skipped_packets
    }

    /// True if the reader hit the end of the data mid-packet (a cut-off file); what came before
    /// was returned. Formats without framing that reveals a cut (MP3, ADTS) cannot tell.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The next packet's samples, interleaved, with its rate and channel count (which can change
    /// mid-stream, e.g. concatenated MP3s). `Ok(None)` at end of stream.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk<'_>>, AudioError> {
        let have = std::mem::take(&mut self.primed) || self.decode_next()?;
        Ok(have.then(|| Chunk {
            samples: &self.buf,
            rate: self.rate,
            channels: self.channels,
        }))
    }

    /// Decodes packets until one yields audio (→ `true`, in `buf`) or the stream ends (`false`).
    /// A panic in symphonia ends the stream with an error (see [`Decoder::new`]).
    fn decode_next(&mut self) -> Result<bool, AudioError> {
        let name = self.name.clone();
        crate::panic_guard::catch(|| self.decode_packets()).unwrap_or_else(|panic| {
            self.done = true;
            Err(decoder_panic(&name, &panic))
        })
    }

    fn decode_packets(&mut self) -> Result<bool, AudioError> {
        let mut errors_in_row = 0;
        while !self.done {
            let packet = match self.format.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => break,
                // A file cut short: keep what was decoded, like most players do.
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.truncated = true;
                    break;
                }
                Err(SymError::IoError(e)) => {
                    return Err(AudioError::Io {
                        name: self.name.clone(),
                        error: e,
                    })
                }
                Err(SymError::ResetRequired) => {
                    // A new logical stream (chained Ogg): re-pick the track and decoder.
                    self.restart()?;
                    continue;
                }
                Err(SymError::DecodeError(what)) => {
                    errors_in_row += 1;
                    self.skipped_packets += 1;
                    if errors_in_row >= MAX_CONSECUTIVE_ERRORS {
                        return Err(self.corrupt(format!("demuxer: {what}")));
                    }
                    continue;
                }
                Err(err) => return Err(self.corrupt(err.to_string())),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            match self.decoder.decode(&packet) {
                Ok(audio) => {
                    if audio.frames() == 0 {
                        continue;
                    }
                    self.rate = audio.spec().rate();
                    self.channels = audio.spec().channels().count();
                    audio.copy_to_vec_interleaved(&mut self.buf);
                    return Ok(true);
                }
                // One bad packet (or one that ends early) costs a few ms of audio, not the file.
                Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                    errors_in_row += 1;
                    self.skipped_packets += 1;
                    if errors_in_row >= MAX_CONSECUTIVE_ERRORS {
                        return Err(self.corrupt("too many undecodable packets".to_string()));
                    }
                }
                Err(SymError::ResetRequired) => self.decoder.reset(),
                Err(err) => return Err(self.corrupt(err.to_string())),
            }
        }
        self.done = true;
        Ok(false)
    }

    fn restart(&mut self) -> Result<(), AudioError> {
        let track = first_audio_track(self.format.as_ref())
            .ok_or_else(|| AudioError::NoAudioTrack {
                name: self.name.clone(),
            })?
            .clone();
        self.decoder = make_decoder(&track, &self.name)?;
        self.track_id = track.id;
        Ok(())
    }

    fn corrupt(&self, detail: String) -> AudioError {
        AudioError::Corrupt {
            name: self.name.clone(),
            detail,
        }
    }
}

/// One decoded packet.
pub struct Chunk<'a> {
    pub samples: &'a [f32],
    pub rate: u32,
    pub channels: usize,
}

/// The first audio track with a codec we know, else the first audio track at all (so the user
/// hears "unsupported codec" rather than "no audio track").
fn first_audio_track(format: &dyn FormatReader) -> Option<&Track> {
    format
        .first_track_known_codec(TrackType::Audio)
        .or_else(|| format.first_track(TrackType::Audio))
}

fn make_decoder(track: &Track, name: &str) -> Result<Box<dyn AudioDecoder>, AudioError> {
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| AudioError::NoAudioTrack {
            name: name.to_string(),
        })?;
    symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|err| match err {
            SymError::Unsupported(what) => AudioError::UnsupportedCodec {
                name: name.to_string(),
                detail: format!("{}: {what}", params.codec),
            },
            other => AudioError::Corrupt {
                name: name.to_string(),
                detail: other.to_string(),
            },
        })
}

fn duration_s(track: &Track, rate: u32) -> Option<f64> {
    if let (Some(tb), Some(dur)) = (track.time_base, track.duration) {
        if let Some(time) = tb.calc_duration(dur) {
            return Some(time.as_secs_f64());
        }
    }
    match (track.num_frames, rate) {
        (Some(frames), r) if r > 0 => Some(frames as f64 / f64::from(r)),
        _ => None,
    }
}

/// The error for input that made the decoder panic.
fn decoder_panic(name: &str, panic: &str) -> AudioError {
    AudioError::Corrupt {
        name: name.to_string(),
        detail: format!("the decoder failed on this input: {panic}"),
    }
}
