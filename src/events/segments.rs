//! The log's files on disk: segment files `DATA_DIR/events/<first id, 20 digits>.jsonl`, read
//! line by line (never a whole file into memory), and the one-line files beside them.
//!
//! Input: a data directory. Output: its segments in id order, streamed lines with their line
//! numbers, ranges of events read back for a replay older than what memory keeps, and the
//! reserved-id and gap records that keep ids from ever being reused.
//!
//! Used by the writer ([`super::log`]), the replay path of the [hub](super::hub) and the offline
//! check ([`super::check`]); only the writer changes files.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::event::Event;

/// Directory of the segment files inside the data directory.
pub const SEGMENT_DIR: &str = "events";

/// The single log file of versions before segments; migrated into [`SEGMENT_DIR`] at open.
pub const LEGACY_FILE: &str = "events.jsonl";

/// Inside [`SEGMENT_DIR`]: an id no event has yet but one may have been handed out up to.
pub const RESERVED_FILE: &str = "reserved-id";

/// Inside [`SEGMENT_DIR`]: id ranges skipped on purpose (after an unclean stop), one JSON object
/// a line, so that `log check` can tell a gap it can explain from a lost line.
pub const GAPS_FILE: &str = "gaps.jsonl";

/// One segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The id in the file name: the first id written to it.
    pub first_id: u64,
    pub path: PathBuf,
}

/// The file name of the segment starting at `first_id`.
pub fn file_name(first_id: u64) -> String {
    format!("{first_id:020}.jsonl")
}

/// The segments in `seg_dir`, oldest first; other files are ignored. A missing directory has
/// none.
pub fn list(seg_dir: &Path) -> std::io::Result<Vec<Segment>> {
    let entries = match std::fs::read_dir(seg_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".jsonl")) else {
            continue;
        };
        if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(first_id) = stem.parse() {
                out.push(Segment {
                    first_id,
                    path: entry.path(),
                });
            }
        }
    }
    out.sort_by_key(|s| s.first_id);
    Ok(out)
}

/// One line of a file as read: its 1-based number, its bytes without the newline, and whether it
/// had one (only a torn last line lacks it).
pub struct Line {
    pub number: usize,
    pub bytes: Vec<u8>,
    pub complete: bool,
}

/// Reads a file line by line.
pub struct Lines {
    reader: BufReader<File>,
    number: usize,
    /// Bytes consumed: where the next line starts.
    offset: u64,
}

impl Lines {
    pub fn open(path: &Path) -> std::io::Result<Lines> {
        Lines::open_at(path, 0)
    }

    /// Starts at byte `offset` (the start of a line); line numbers then count from there.
    pub fn open_at(path: &Path, offset: u64) -> std::io::Result<Lines> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(Lines {
            reader: BufReader::with_capacity(64 << 10, file),
            number: 0,
            offset,
        })
    }

    /// Where the next line starts.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next line, `None` at the end of the file.
    pub fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        let mut bytes = Vec::new();
        let n = self.reader.read_until(b'\n', &mut bytes)?;
        if n == 0 {
            return Ok(None);
        }
        let complete = bytes.last() == Some(&b'\n');
        if complete {
            bytes.pop();
        }
        self.number += 1;
        self.offset += n as u64;
        Ok(Some(Line {
            number: self.number,
            bytes,
            complete,
        }))
    }
}

/// The id of a line as the writer lays it out (`{"id":N,…`) without parsing the rest, for
/// skipping lines; `None` for any other layout.
fn leading_id(bytes: &[u8]) -> Option<u64> {
    let digits = bytes.strip_prefix(b"{\"id\":")?;
    let end = digits.iter().position(|b| !b.is_ascii_digit())?;
    if digits[end] != b',' {
        return None;
    }
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

/// The id a line carries if it is JSON with a numeric `id`, however broken the rest is.
pub fn id_of(bytes: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: u64,
    }
    serde_json::from_slice::<IdOnly>(bytes).ok().map(|l| l.id)
}

/// What [`read_range`] found.
#[derive(Debug, Default)]
pub struct Range {
    pub events: Vec<Event>,
    /// Whether it stopped at `limit` (more events in the range may follow).
    pub more: bool,
    /// Ids in the range older than the oldest segment: deleted by retention.
    pub gone: Option<(u64, u64)>,
    /// With `more`: where the next read goes on, for [`read_range`]'s `resume`.
    pub resume: Option<Resume>,
}

/// Where a [`read_range`] that stopped at its limit goes on: a segment and a byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    pub first_id: u64,
    pub offset: u64,
}

/// Events with `after < id < until` from the segment files, at most `limit`, oldest first (for a
/// replay older than what memory keeps). `resume`, from the previous call whose last event was
/// `after`, saves re-reading the segment up to there. Unreadable lines are skipped: the writer
/// quarantined them at open, and a reader must not stop on one.
pub fn read_range(
    seg_dir: &Path,
    after: u64,
    until: u64,
    limit: usize,
    resume: Option<Resume>,
) -> std::io::Result<Range> {
    let mut range = Range::default();
    let segments = list(seg_dir)?;
    let want = after.saturating_add(1);
    let start = segments
        .iter()
        .rposition(|s| s.first_id <= want)
        .unwrap_or(0);
    if let Some(first) = segments.first() {
        if want < first.first_id {
            range.gone = Some((want, first.first_id.min(until) - 1));
        }
    } else if want < until {
        range.gone = Some((want, until - 1));
    }
    for segment in &segments[start.min(segments.len())..] {
        if segment.first_id >= until {
            break;
        }
        let offset = resume
            .filter(|r| r.first_id == segment.first_id)
            .map_or(0, |r| r.offset);
        let mut lines = match Lines::open_at(&segment.path, offset) {
            Ok(lines) => lines,
            // Deleted by retention since the listing: what it held is gone.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        while let Some(line) = lines.next_line()? {
            if !line.complete {
                break;
            }
            // Most lines of a long replay are before `after`: skipped without a full parse.
            if leading_id(&line.bytes).is_some_and(|id| id <= after) {
                continue;
            }
            let Ok(text) = std::str::from_utf8(&line.bytes) else {
                continue;
            };
            let Ok(event) = Event::from_log_line(text) else {
                continue;
            };
            if event.id <= after {
                continue;
            }
            if event.id >= until {
                return Ok(range);
            }
            range.events.push(event);
            if range.events.len() == limit {
                range.more = true;
                range.resume = Some(Resume {
                    first_id: segment.first_id,
                    offset: lines.offset(),
                });
                return Ok(range);
            }
        }
    }
    Ok(range)
}

/// Reads the reserved id (0 when there is none or it is unreadable: the log's own ids decide).
pub fn read_reserved(seg_dir: &Path) -> u64 {
    std::fs::read_to_string(seg_dir.join(RESERVED_FILE))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// Replaces the reserved id, durably and atomically.
pub fn write_reserved(seg_dir: &Path, id: u64) -> std::io::Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(seg_dir)?;
    writeln!(tmp, "{id}")?;
    tmp.as_file().sync_all()?;
    tmp.persist(seg_dir.join(RESERVED_FILE))
        .map_err(|e| e.error)?;
    sync_dir(seg_dir);
    Ok(())
}

/// One id range skipped on purpose.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Gap {
    pub from: u64,
    pub to: u64,
    pub reason: String,
}

/// Appends `gap` to the gaps file, durably.
pub fn record_gap(seg_dir: &Path, gap: &Gap) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(seg_dir.join(GAPS_FILE))?;
    let line = serde_json::to_string(gap).map_err(std::io::Error::other)?;
    file.write_all(format!("{line}\n").as_bytes())?;
    file.sync_all()
}

/// The recorded gaps; unreadable lines are skipped (the check reports them).
pub fn read_gaps(seg_dir: &Path) -> Vec<Gap> {
    std::fs::read_to_string(seg_dir.join(GAPS_FILE))
        .map(|t| {
            t.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Makes a rename or a new file in `dir` durable; best effort (not every platform can open a
/// directory).
pub fn sync_dir(dir: &Path) {
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

/// Opens `path` for appending, positioned at `len` (the end of its last whole line).
pub fn open_append(path: &Path) -> std::io::Result<File> {
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    file.seek(SeekFrom::End(0))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_segments(dir: &Path, ids: std::ops::RangeInclusive<u64>) {
        use crate::events::event::EventBody;
        use crate::events::{EventLog, LogConfig};
        let config = LogConfig {
            segment_bytes: 400,
            ..LogConfig::default()
        };
        let mut log = EventLog::open(dir, config, drop).unwrap().log;
        for id in ids {
            let body = EventBody::Transcript(crate::transcribe::Segment::new(0.0, 1.0, "x"));
            let stream = if id % 2 == 0 { "a" } else { "b" };
            log.append(&Event {
                id,
                stream: stream.into(),
                at: "2026-11-27T00:00:00.000Z".into(),
                body,
            })
            .unwrap();
        }
    }

    /// Reads `after < id < until` in passes of `limit`, as a replaying subscriber does.
    fn read_all(seg_dir: &Path, mut after: u64, until: u64, limit: usize) -> Vec<u64> {
        let mut ids = Vec::new();
        let mut resume = None;
        loop {
            let range = read_range(seg_dir, after, until, limit, resume).unwrap();
            ids.extend(range.events.iter().map(|e| e.id));
            if !range.more {
                return ids;
            }
            after = range.events.last().unwrap().id;
            resume = range.resume;
        }
    }

    #[test]
    fn ranges_read_in_passes_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        write_segments(dir.path(), 1..=40);
        let seg_dir = dir.path().join(SEGMENT_DIR);
        assert!(list(&seg_dir).unwrap().len() >= 4);
        // (after, until, limit)
        let cases = [
            (0, 41, 3),
            (0, 41, 100),
            (7, 30, 1),
            (12, 13, 5),
            (39, 41, 2),
        ];
        for (after, until, limit) in cases {
            assert_eq!(
                read_all(&seg_dir, after, until, limit),
                (after + 1..until).collect::<Vec<_>>(),
                "{after} {until} {limit}"
            );
        }
        // The oldest segment deleted: its ids are reported gone, the rest still read.
        let oldest = list(&seg_dir).unwrap()[0].clone();
        let second = list(&seg_dir).unwrap()[1].first_id;
        std::fs::remove_file(&oldest.path).unwrap();
        let range = read_range(&seg_dir, 0, 41, 100, None).unwrap();
        assert_eq!(range.gone, Some((1, second - 1)));
        assert_eq!(range.events[0].id, second);
    }

    #[test]
    fn leading_ids_are_read_only_from_the_writers_layout() {
        // (line, id)
        let cases: [(&[u8], Option<u64>); 6] = [
            (br#"{"id":42,"stream":"s"}"#, Some(42)),
            (br#"{"id":0,"x":1}"#, Some(0)),
            (br#"{"stream":"s","id":42}"#, None),
            (br#"{"id":42}"#, None),
            (br#"{"id":"42","x":1}"#, None),
            (br#"{"id":99999999999999999999999,"x":1}"#, None),
        ];
        for (line, want) in cases {
            assert_eq!(leading_id(line), want, "{}", String::from_utf8_lossy(line));
        }
    }
}
