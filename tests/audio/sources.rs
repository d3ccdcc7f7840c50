//! `AudioStream::from_source` over seekable and non-seekable readers, and `read` chunking.

use std::fs::File;
use std::io::Cursor;

use claimwatch::audio::{self, AudioStream, ReadOnlySource};

use super::fixture;

fn drain(stream: &mut AudioStream, max: usize) -> Vec<f32> {
    let mut all = Vec::new();
    let mut chunk = Vec::new();
    loop {
        let n = stream.read(&mut chunk, max).unwrap();
        assert_eq!(n, chunk.len());
        assert!(n <= max, "read returned {n} > max {max}");
        if n == 0 {
            break;
        }
        all.extend_from_slice(&chunk);
    }
    // End of stream is sticky.
    assert_eq!(stream.read(&mut chunk, max).unwrap(), 0);
    all
}

/// Stdin and HTTP bodies cannot seek; the formats a live stream would carry must still decode,
/// with no extension hint, to the same samples as the file.
#[test]
fn non_seekable_sources_decode_like_files() {
    for file in [
        "mp3_44k.mp3",
        "aac_48k.aac",
        "ogg_stereo_44k.ogg",
        "flac_96k.flac",
        "wav_s16_16k.wav",
    ] {
        let want = audio::read_all(&fixture(file)).unwrap();
        let reader = ReadOnlySource::new(File::open(fixture(file)).unwrap());
        let mut stream = AudioStream::from_source(Box::new(reader), None, "<stdin>").unwrap();
        assert_eq!(drain(&mut stream, 1000), want, "{file}");
    }
}

#[test]
fn in_memory_cursor_source() {
    let bytes = std::fs::read(fixture("m4a_44k.m4a")).unwrap();
    let mut stream =
        AudioStream::from_source(Box::new(Cursor::new(bytes)), Some("m4a"), "mem").unwrap();
    assert_eq!(stream.source_rate(), 44_100);
    assert_eq!(
        drain(&mut stream, 4096),
        audio::read_all(&fixture("m4a_44k.m4a")).unwrap()
    );
}

/// Errors from non-file sources carry the caller's label.
#[test]
fn source_errors_use_the_given_name() {
    let junk = ReadOnlySource::new(Cursor::new(vec![7u8; 3000]));
    let err = AudioStream::from_source(Box::new(junk), None, "<stdin>")
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "<stdin>: not a recognised audio format (unsupported or corrupt)"
    );
}

/// Chunk size must not change the samples: the resampler state carries across reads.
#[test]
fn chunk_size_does_not_change_output() {
    let path = fixture("ogg_stereo_44k.ogg");
    let whole = audio::read_all(&path).unwrap();
    for max in [1, 7, 160, 16_000, 1 << 20] {
        let mut stream = audio::open(&path).unwrap();
        assert_eq!(drain(&mut stream, max), whole, "max = {max}");
    }
}
