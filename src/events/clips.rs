//! Evidence clips: the audio around each live alert, kept beside the event log in
//! `DATA_DIR/clips/<alert id>.wav` (16 kHz mono, 16-bit PCM), so a reviewer hears what was said.
//!
//! Input: an alert id (`STREAM-EVENTID`) and its samples. Output: a WAV file written whole or not
//! at all (a temporary file renamed into place, so a crash never leaves half a clip under the
//! alert's name), read back as bytes for `GET /alerts/{id}/clip`. Clips follow the log's
//! retention: when old segments go, the clips of the alerts they held go too.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::audio::SAMPLE_RATE;

/// The directory of clips inside a data directory.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("clips")
}

/// Where the clip of `alert_id` lives, or `None` for a string that is not an alert id (so no
/// request can name a path outside the clip directory).
pub fn path(clips_dir: &Path, alert_id: &str) -> Option<PathBuf> {
    event_id(alert_id)?;
    Some(clips_dir.join(format!("{alert_id}.wav")))
}

/// The event id of an alert id `STREAM-EVENTID` whose stream part is a valid stream id.
fn event_id(alert_id: &str) -> Option<u64> {
    let (stream, id) = alert_id.rsplit_once('-')?;
    super::check_stream_id(stream).ok()?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

/// Writes `samples` (16 kHz mono, −1..1) as the clip of `alert_id`.
pub fn write(clips_dir: &Path, alert_id: &str, samples: &[f32]) -> std::io::Result<()> {
    let target = path(clips_dir, alert_id).ok_or_else(|| {
        std::io::Error::new(
            ErrorKind::InvalidInput,
            format!("{alert_id:?} is not an alert id"),
        )
    })?;
    std::fs::create_dir_all(clips_dir)?;
    let partial = clips_dir.join(format!(".{alert_id}.wav.partial"));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let as_io = |e: hound::Error| match e {
        hound::Error::IoError(e) => e,
        other => std::io::Error::other(other.to_string()),
    };
    let mut writer = hound::WavWriter::create(&partial, spec).map_err(as_io)?;
    for &x in samples {
        let x = if x.is_finite() {
            x.clamp(-1.0, 1.0)
        } else {
            0.0
        };
        writer
            .write_sample((x * i16::MAX as f32).round() as i16)
            .map_err(as_io)?;
    }
    writer.finalize().map_err(as_io)?;
    std::fs::rename(&partial, &target)
}

/// The clip of `alert_id` as WAV bytes; `None` if there is none (not an alert id, not written
/// yet, or retained away).
pub fn read(clips_dir: &Path, alert_id: &str) -> std::io::Result<Option<Vec<u8>>> {
    let Some(path) = path(clips_dir, alert_id) else {
        return Ok(None);
    };
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Deletes the clips of alerts whose event id is below `first_kept_id` (their log segment was
/// deleted by retention), and partial files left by a crash. Returns how many clips went.
pub fn prune(clips_dir: &Path, first_kept_id: u64) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(clips_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut deleted = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let old = match name.strip_suffix(".wav") {
            Some(alert_id) if !name.starts_with('.') => {
                event_id(alert_id).is_some_and(|id| id < first_kept_id)
            }
            _ => name.ends_with(".wav.partial"),
        };
        if old {
            std::fs::remove_file(entry.path())?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_alert_ids_name_a_clip() {
        // (alert id, event id)
        let cases = [
            ("shop-1-42", Some(42)),
            ("shop_1-7", Some(7)),
            ("shop-", None),
            ("-7", None),
            ("shop-7a", None),
            ("../etc/passwd-1", None),
            ("a/b-1", None),
            ("shop-+1", None),
            ("shop", None),
        ];
        for (alert_id, want) in cases {
            assert_eq!(event_id(alert_id), want, "{alert_id:?}");
            assert_eq!(path(Path::new("c"), alert_id).is_some(), want.is_some());
        }
    }

    #[test]
    fn a_clip_reads_back_as_the_wav_written_and_old_ones_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let clips = dir.path().join("clips");
        let samples: Vec<f32> = (0..1600).map(|i| (i as f32 / 1600.0) - 0.5).collect();
        write(&clips, "shop-5", &samples).unwrap();
        write(&clips, "shop-9", &samples).unwrap();
        std::fs::write(clips.join(".shop-11.wav.partial"), b"x").unwrap();
        let bytes = read(&clips, "shop-5").unwrap().expect("written");
        let reader = hound::WavReader::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(reader.spec().sample_rate, SAMPLE_RATE);
        assert_eq!(reader.spec().channels, 1);
        assert_eq!(reader.duration() as usize, samples.len());
        assert_eq!(read(&clips, "shop-6").unwrap(), None);
        assert_eq!(read(&clips, "../x-1").unwrap(), None);
        assert_eq!(prune(&clips, 9).unwrap(), 2);
        assert_eq!(read(&clips, "shop-5").unwrap(), None);
        assert!(read(&clips, "shop-9").unwrap().is_some());
    }
}
