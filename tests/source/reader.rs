//! Stdin-style sources through `spawn_reader`: raw s16le PCM and container bytes.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::sync::mpsc::{sync_channel, RecvTimeoutError};

use claimwatch::audio;
use claimwatch::source::{spawn_reader, RawFormat};
use tokio_util::sync::CancellationToken;

use super::events::{audio, downs, summary, Running};
use super::{assert_len_close, repo, FEW_MS};

fn run_reader<R: Read + Send + 'static>(reader: R, format: Option<RawFormat>) -> Running {
    let (tx, rx) = sync_channel(16);
    let token = CancellationToken::new();
    let handle = spawn_reader(reader, format, "<stdin>", tx, token.clone()).unwrap();
    Running::new(rx, token, handle)
}

/// Hands out a few bytes per read, so frames straddle reads as they do on a pipe.
struct Dribble<R>(R, usize);

impl<R: Read> Read for Dribble<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.1);
        self.0.read(&mut buf[..n])
    }
}

/// 48 kHz stereo s16le (a 440 Hz tone on the left, silence on the right), fed 7 bytes at a
/// time: 16 kHz mono out, same length in time, the tone intact at half level.
#[test]
fn raw_s16le_is_downmixed_and_resampled() {
    let frames = 48_000;
    let mut bytes = Vec::with_capacity(frames * 4);
    for i in 0..frames {
        let t = i as f64 / 48_000.0;
        let left = (0.5 * (std::f64::consts::TAU * 440.0 * t).sin() * 32_767.0) as i16;
        bytes.extend_from_slice(&left.to_le_bytes());
        bytes.extend_from_slice(&0i16.to_le_bytes());
    }
    // A trailing half frame, as a pipe cut mid-write leaves: ignored.
    bytes.extend_from_slice(&[1, 2]);
    let format = RawFormat::new(48_000, 2).unwrap();
    let mut run = run_reader(Dribble(Cursor::new(bytes), 7), Some(format));
    let events = run.run_to_end().to_vec();
    assert_eq!(summary(&events), "Up Audio Ended");
    let got = audio(&events);
    assert_len_close(got.len(), 16_000, 1, "1 s of 48 kHz");

    let middle = &got[2_000..14_000];
    let peak = middle.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(
        (peak - 0.25).abs() < 0.01,
        "peak {peak}, want 0.25 (0.5 averaged with silence)"
    );
    let rising = (1..middle.len())
        .filter(|&i| middle[i - 1] < 0.0 && middle[i] >= 0.0)
        .count();
    // 12 000 samples = 0.75 s of 440 Hz = 330 cycles.
    assert!((329..=331).contains(&rising), "{rising} cycles");
}

/// Container bytes on a pipe decode like the file (MP3, ADTS AAC, Ogg, WAV).
#[test]
fn container_bytes_decode_like_the_file() {
    for rel in [
        "samples/formats/en_greeting.mp3",
        "samples/formats/en_greeting.aac",
        "samples/formats/en_greeting.ogg",
        "tests/data/audio/speech_22k.wav",
    ] {
        let path = repo(rel);
        let want = audio::read_all(&path).unwrap();
        let mut run = run_reader(File::open(&path).unwrap(), None);
        let events = run.run_to_end().to_vec();
        assert_eq!(summary(&events), "Up Audio Ended", "{rel}");
        let got = audio(&events);
        assert_len_close(got.len(), want.len(), FEW_MS, rel);
        assert_eq!(got, want, "{rel}");
    }
}

/// Bytes that are not audio: one Down with the reason, then Ended (a pipe is not retried).
#[test]
fn garbage_on_stdin_is_down_then_ended() {
    let bytes = std::fs::read(repo("tests/data/audio/random_bytes.bin")).unwrap();
    let mut run = run_reader(Cursor::new(bytes), None);
    let events = run.run_to_end().to_vec();
    assert_eq!(summary(&events), "Down Ended");
    assert_eq!(
        downs(&events),
        ["<stdin>: not a recognised audio format (unsupported or corrupt)"]
    );
}

/// A pipe with nothing on it must not keep the source thread after shutdown.
#[test]
fn silent_stdin_stops_on_shutdown() {
    /// Like stdin with nobody typing: the read never returns.
    struct Silent;
    impl Read for Silent {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            loop {
                std::thread::park();
            }
        }
    }
    let mut run = run_reader(Silent, None);
    // The source is up and waiting on the pipe: nothing arrives and its thread keeps running.
    let quiet = run.rx.recv_timeout(std::time::Duration::from_millis(500));
    assert_eq!(quiet, Err(RecvTimeoutError::Timeout));
    assert!(
        run.is_running(),
        "the source thread ended with nothing read"
    );
    // stop() fails the test unless the thread returns within STOP_PATIENCE, although the read
    // under it never does; its sender goes with it, with nothing sent (no Down: shutdown is not
    // a failure, no Ended: the stream did not end).
    let stopped = run.stop();
    assert!(stopped.disconnected, "{stopped:?}");
    assert_eq!(summary(&stopped.late), "", "{stopped:?}");
}
