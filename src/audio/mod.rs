//! Audio input: any file or byte stream symphonia can demux and decode → 16 kHz mono f32, the
//! format Whisper takes, streamed in bounded memory.
//!
//! - [`decode`]: container + codec → interleaved f32 at the source rate (symphonia adapter).
//! - [`downmix`]: interleaved frames → mono by averaging channels.
//! - [`resample`]: any rate → 16 kHz, delay-compensated (rubato adapter); reusable for live capture.
//! - [`signal`]: whether the input held any audio at all (not only zeros, NaN or nothing).
//!
//! [`AudioStream`] chains them: memory stays at a few packets whatever the file length. Rates
//! outside 2–384 kHz and streams without a single sample are refused when opened; NaN and
//! infinite samples become 0 before resampling.

mod decode;
mod downmix;
mod error;
mod resample;
mod signal;

use std::fs::File;
use std::io;
use std::path::Path;

pub use decode::{MediaSource, ReadOnlySource};
pub use downmix::downmix_into;
pub use error::AudioError;
pub use resample::{expected_len, ResampleError, Resampler, MAX_RATE, MIN_RATE};

use decode::Decoder;
use signal::Signal;

/// Output sample rate: what Whisper expects.
pub const SAMPLE_RATE: u32 = 16_000;

/// A decoded, downmixed, resampled audio source; pull 16 kHz mono samples with [`read`](Self::read).
pub struct AudioStream {
    decoder: Decoder,
    resampler: Resampler,
    /// Resampled output not yet handed out; holds at most about one packet.
    ready: Vec<f32>,
    ready_pos: usize,
    finished: bool,
    signal: Signal,
}

// The transcriber moves the stream into a worker thread.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<AudioStream>();
};

/// Opens a file and streams it as 16 kHz mono f32 samples.
pub fn open(path: &Path) -> Result<AudioStream, AudioError> {
    let name = path.display().to_string();
    let io_err = |error: io::Error| AudioError::Io {
        name: name.clone(),
        error,
    };
    let file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Err(io_err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        )));
    }
    if meta.len() == 0 {
        return Err(AudioError::Empty { name });
    }
    let ext = path.extension().and_then(|e| e.to_str());
    AudioStream::from_source(Box::new(file), ext, &name)
}

/// Convenience for short files and tests: the whole file at 16 kHz mono.
pub fn read_all(path: &Path) -> Result<Vec<f32>, AudioError> {
    let mut stream = open(path)?;
    let mut all = Vec::new();
    let mut chunk = Vec::new();
    while stream.read(&mut chunk, 1 << 16)? > 0 {
        all.extend_from_slice(&chunk);
    }
    Ok(all)
}

impl AudioStream {
    /// Streams from any byte source: a `File`, a `Cursor`, or a non-seekable reader wrapped in
    /// [`ReadOnlySource`] (stdin, HTTP). `hint_extension` (e.g. `Some("mp3")`) helps probing;
    /// `name` is used in error messages.
    pub fn from_source(
        source: Box<dyn MediaSource>,
        hint_extension: Option<&str>,
        name: &str,
    ) -> Result<Self, AudioError> {
        let decoder = Decoder::new(source, hint_extension, name)?;
        // Known now, so said now: before a model loads or a live stream reports itself up.
        if !decoder.has_audio() {
            return Err(AudioError::NoAudio {
                name: name.to_string(),
                why: "the stream holds no samples".to_string(),
            });
        }
        let resampler = Resampler::new(decoder.rate(), decoder.channels())
            .map_err(|source| resample_err(name, source))?;
        Ok(Self {
            decoder,
            resampler,
            ready: Vec::new(),
            ready_pos: 0,
            finished: false,
            signal: Signal::default(),
        })
    }

    /// After the stream has been read to its end: an error if it held nothing to listen to (only
    /// NaN/infinite samples, or digital silence; see [`signal`]). Callers that judge a whole
    /// recording (`transcribe`, `audit`) ask; live sources do not, since silence there is normal.
    pub fn check_signal(&self) -> Result<(), AudioError> {
        match self.signal.missing() {
            None => Ok(()),
            Some(why) => Err(AudioError::NoAudio {
                name: self.decoder.name().to_string(),
                why,
            }),
        }
    }

    /// Samples so far that were NaN or infinite (replaced by 0 before resampling).
    pub fn nonfinite_samples(&self) -> u64 {
        self.signal.nonfinite()
    }

    /// Fills `out` (cleared first) with up to `max` samples; returns Ok(0) at end of stream.
    /// Fewer than `max` samples are returned only at the end.
    pub fn read(&mut self, out: &mut Vec<f32>, max: usize) -> Result<usize, AudioError> {
        out.clear();
        while out.len() < max {
            if self.ready_pos < self.ready.len() {
                let take = (max - out.len()).min(self.ready.len() - self.ready_pos);
                out.extend_from_slice(&self.ready[self.ready_pos..self.ready_pos + take]);
                self.ready_pos += take;
                continue;
            }
            if self.finished {
                break;
            }
            self.ready.clear();
            self.ready_pos = 0;
            if let Err(err) = self.refill() {
                // Nothing sensible can follow an error; later reads report end of stream.
                self.finished = true;
                return Err(err);
            }
        }
        Ok(out.len())
    }

    /// Decodes one packet into `ready`, or flushes the resampler at the end.
    fn refill(&mut self) -> Result<(), AudioError> {
        let name = self.decoder.name().to_string();
        let result = match self.decoder.next_chunk()? {
            Some(chunk) => {
                if chunk.rate != self.resampler.from_rate()
                    || chunk.channels != self.resampler.channels()
                {
                    // The format changed mid-stream: finish the old rate, start a new resampler.
                    self.resampler
                        .flush(&mut self.ready)
                        .map_err(|e| resample_err(&name, e))?;
                    self.resampler = Resampler::new(chunk.rate, chunk.channels)
                        .map_err(|e| resample_err(&name, e))?;
                }
                self.signal.observe(chunk.samples);
                self.resampler.process(chunk.samples, &mut self.ready)
            }
            None => {
                self.finished = true;
                self.resampler.flush(&mut self.ready)
            }
        };
        result.map_err(|e| resample_err(&name, e))
    }

    /// Duration in seconds if the container says (for a progress bar), else None.
    pub fn duration_s(&self) -> Option<f64> {
        self.decoder.duration_s()
    }

    pub fn source_rate(&self) -> u32 {
        self.decoder.rate()
    }

    pub fn source_channels(&self) -> usize {
        self.decoder.channels()
    }

    /// Packets skipped because they failed to decode (each is a few ms of audio lost).
    pub fn skipped_packets(&self) -> u64 {
        self.decoder.skipped_packets()
    }

    /// True once the stream has ended early because the input was cut off (where the format
    /// lets the reader tell; an MP3 cut at a frame boundary just looks shorter).
    pub fn truncated(&self) -> bool {
        self.decoder.truncated()
    }
}

fn resample_err(name: &str, error: ResampleError) -> AudioError {
    AudioError::Resample {
        name: name.to_string(),
        error,
    }
}
