//! Stdin-style source: any byte reader → `Audio` events, then `Ended` at EOF.
//!
//! Two input forms: a container symphonia can probe without seeking (WAV, MP3, ADTS AAC, Ogg,
//! FLAC — what `ffmpeg … -f wav -` or `curl … |` produce), or headerless s16le PCM with a
//! [`RawFormat`] (what `arecord -t raw` or `ffmpeg -f s16le` produce), downmixed and resampled
//! with the audio stage's [`Resampler`]. Reads go through [`pump`](super::pump) so a silent
//! stdin never blocks shutdown.

use std::io::{self, Read};
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;

use tokio_util::sync::CancellationToken;

use crate::audio::{AudioStream, ReadOnlySource, Resampler};

use super::emit::Emitter;
use super::forward::forward;
use super::pump::{pump, PumpReader};
use super::{finish, Fail, RawFormat, SourceEvent};

/// Frames per raw read: 100 ms at 48 kHz.
const RAW_FRAMES: usize = 4_800;

/// Runs a stdin-style source over any reader (`std::io::stdin()`, a pipe, a `Cursor` in tests).
/// `name` labels errors (`<stdin>`). Decode errors arrive as `Down` then `Ended`: a byte stream
/// cannot be re-read, so there is no retry.
pub fn spawn_reader<R: Read + Send + 'static>(
    reader: R,
    format: Option<RawFormat>,
    name: &str,
    tx: SyncSender<SourceEvent>,
    shutdown: CancellationToken,
) -> io::Result<JoinHandle<()>> {
    let input = pump(reader, name, shutdown.clone())?;
    let name = name.to_string();
    std::thread::Builder::new()
        .name(format!("source {name}"))
        .spawn(move || {
            let mut em = Emitter::new(tx, shutdown);
            let result = super::guarded(|| match format {
                Some(format) => raw(input, format, &name, &mut em),
                None => container(input, &name, &mut em),
            });
            finish(&mut em, result);
        })
}

fn container(input: PumpReader, name: &str, em: &mut Emitter) -> Result<(), Fail> {
    let source = Box::new(ReadOnlySource::new(input));
    let mut stream = match AudioStream::from_source(source, None, name) {
        Ok(stream) => stream,
        Err(_) if em.cancelled() => return Err(Fail::Stopped),
        Err(err) => return Err(Fail::Error(err.to_string())),
    };
    let (mut up_sent, mut forwarded) = (false, 0);
    forward(&mut stream, em, None, &mut up_sent, &mut forwarded)
}

fn raw(mut input: PumpReader, format: RawFormat, name: &str, em: &mut Emitter) -> Result<(), Fail> {
    let channels = usize::from(format.channels);
    let frame = format.frame_bytes();
    let mut resampler =
        Resampler::new(format.rate, channels).map_err(|e| Fail::Error(format!("{name}: {e}")))?;
    let mut bytes = vec![0u8; RAW_FRAMES * frame];
    // Bytes of a frame split across two reads.
    let mut held = 0;
    let mut interleaved = Vec::with_capacity(RAW_FRAMES * channels);
    let mut out = Vec::new();
    let mut up_sent = false;
    loop {
        let n = match input.read(&mut bytes[held..]) {
            Ok(n) => n,
            Err(_) if em.cancelled() => return Err(Fail::Stopped),
            Err(e) => return Err(Fail::Error(format!("{name}: {e}"))),
        };
        let end = n == 0;
        let filled = held + n;
        let whole = filled / frame * frame;
        interleaved.clear();
        interleaved.extend(
            bytes[..whole]
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0),
        );
        bytes.copy_within(whole..filled, 0);
        held = filled - whole;
        out.clear();
        let step = if end {
            // A trailing partial frame cannot be placed in time: dropped.
            resampler.flush(&mut out)
        } else {
            resampler.process(&interleaved, &mut out)
        };
        step.map_err(|e| Fail::Error(format!("{name}: {e}")))?;
        if !out.is_empty() && !up_sent {
            em.up()?;
            up_sent = true;
        }
        em.audio(&out)?;
        if end {
            em.flush()?;
            return Ok(());
        }
    }
}
