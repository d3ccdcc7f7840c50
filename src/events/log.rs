//! The durable event log: segment files `DATA_DIR/events/<first id>.jsonl` (see [`segments`]),
//! one [`Event`] per line, append-only, a new segment past [`LogConfig::segment_bytes`] or
//! [`LogConfig::segment_age`], whole old segments deleted under [`LogConfig::retain`].
//!
//! Input: events to append. Output on open: every stored event, streamed to a callback one at a
//! time (never the whole log in memory), and the next id.
//!
//! Durability: an alert or a review is fsynced before [`EventLog::append`] returns, so an alert
//! a client or webhook has seen, or a review a client was answered for, survives a crash or
//! power loss. Transcript and status lines are written to the
//! OS at once (a process crash keeps them) but fsynced in batches, every [`SYNC_EVERY`] lines or
//! with the next alert: losing the last few of those to a power cut is acceptable, an fsync per
//! transcript segment is not worth the disk wear.
//!
//! Ids are never reused, even for those batched lines a power cut loses after a client saw them:
//! ids are reserved ahead in blocks of [`RESERVE_BLOCK`] (the reservation fsynced before an id
//! past it is handed out), a clean close gives the unused rest back, and an open that finds a
//! reservation past the last written id skips to it and records the skipped range in
//! [`segments::GAPS_FILE`].
//!
//! Recovery: a crash mid-write leaves a last line without its newline. That line was never
//! acknowledged (its fsync had not returned), so it is cut off with a warning on stderr. A bad line
//! anywhere else (unreadable, or an id that does not follow the one before) is corruption: it is
//! moved, with its file, line number and the reason, to [`QUARANTINE_FILE`], the segment is
//! rewritten without it, a warning names both files, and the server starts. No id is reused: the
//! next id is past the highest one any line, good or quarantined, carried.
//!
//! Upgrade: the single `DATA_DIR/events.jsonl` of older versions is moved into the segment
//! directory as its first segment (one rename; nothing is rewritten or lost).
//!
//! One process per data directory: [`LOCK_FILE`] is locked exclusively while the log is open, so
//! a second `serve` on the same directory fails at once instead of writing duplicate ids.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::event::Event;
use super::retention::{self, LogConfig, SegmentInfo};
use super::segments::{self, Gap, Lines, LEGACY_FILE, SEGMENT_DIR};

/// Where bad lines go (see the module docs), in the data directory.
pub const QUARANTINE_FILE: &str = "events.quarantine.jsonl";

/// Held locked by the process that has the log open.
pub const LOCK_FILE: &str = "claimwatch.lock";

/// Non-alert lines written between two fsyncs at most.
pub const SYNC_EVERY: usize = 64;

/// Ids reserved per write of the reserved-id file.
pub const RESERVE_BLOCK: u64 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    // The reason is the source, not part of this message: `{:#}` chains print it once.
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("a {kind} event's {field} is not a finite number; not recorded")]
    NonFinite {
        kind: &'static str,
        field: &'static str,
    },
    #[error("{path}: another claimwatch process is using this data directory")]
    InUse { path: PathBuf },
    #[error("{path}:{line}: {message}")]
    BadLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: every event id up to {max} is used; start a new data directory", max = u64::MAX)]
    IdsExhausted { path: PathBuf },
}

fn io_at(at: &Path) -> impl FnOnce(std::io::Error) -> LogError {
    let path = at.to_path_buf();
    move |source| LogError::Io { path, source }
}

/// An open log, positioned at the end of its newest segment.
#[derive(Debug)]
pub struct EventLog {
    config: LogConfig,
    seg_dir: PathBuf,
    /// The newest segment, open for appending.
    file: File,
    path: PathBuf,
    /// When the newest segment was started (for [`LogConfig::segment_age`]).
    started: SystemTime,
    /// Bytes of whole lines in the newest segment: where the next line starts.
    len: u64,
    unsynced: usize,
    /// Ids below this may have been handed out (see the module docs).
    reserved: u64,
    /// One more than the last id appended or found at open.
    next_id: u64,
    /// Open for as long as the log is: closing it releases the directory's lock.
    _lock: File,
}

/// What [`EventLog::open`] found.
#[derive(Debug)]
pub struct Recovered {
    pub log: EventLog,
    /// One more than the last id stored or reserved (1 for a new log).
    pub next_id: u64,
    /// Bytes of a torn last line that were cut off (0 normally).
    pub truncated: u64,
    /// Bad lines moved to the quarantine file (0 normally).
    pub quarantined: usize,
    /// Ids skipped because an unclean stop may have handed them out unwritten.
    pub skipped: u64,
}

/// Takes the directory's lock (see the module docs).
fn lock(data_dir: &Path) -> Result<File, LogError> {
    let lock_path = data_dir.join(LOCK_FILE);
    let lock = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(io_at(&lock_path))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(LogError::InUse {
            path: data_dir.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(LogError::Io {
            path: lock_path,
            source,
        }),
    }
}

/// Moves the single-file log of older versions into the segment directory, named by the first id
/// it holds (a rename: atomic, nothing rewritten).
fn migrate_legacy(data_dir: &Path, seg_dir: &Path) -> Result<(), LogError> {
    let legacy = data_dir.join(LEGACY_FILE);
    if !legacy.exists() {
        return Ok(());
    }
    let mut first = None;
    let mut lines = Lines::open(&legacy).map_err(io_at(&legacy))?;
    while let Some(line) = lines.next_line().map_err(io_at(&legacy))? {
        if let Some(id) = segments::id_of(&line.bytes) {
            first = Some(id);
            break;
        }
    }
    // A file with no readable id: named 0 so it sorts first; its lines are quarantined below.
    let target = seg_dir.join(segments::file_name(first.unwrap_or(0)));
    if target.exists() {
        return Err(LogError::Io {
            path: legacy,
            source: std::io::Error::other(format!(
                "cannot move it to {}: that segment exists",
                target.display()
            )),
        });
    }
    std::fs::rename(&legacy, &target).map_err(io_at(&legacy))?;
    segments::sync_dir(seg_dir);
    segments::sync_dir(data_dir);
    eprintln!(
        "claimwatch: note: moved {} to {} (the log is now kept in segments)",
        legacy.display(),
        target.display()
    );
    Ok(())
}

/// A line the log could not keep.
#[derive(Debug, Clone, PartialEq)]
struct BadLine {
    /// 1-based line number in the segment as it was.
    line: usize,
    reason: String,
    text: String,
}

/// What reading one segment found.
struct SegmentScan {
    bad: Vec<BadLine>,
    /// Bytes of whole lines.
    whole: u64,
    /// Bytes after the last newline.
    torn: u64,
}

/// Streams one segment's good events to `on_event`, checking each id follows `last_id`.
fn scan_segment(
    path: &Path,
    last_id: &mut u64,
    highest_id: &mut u64,
    on_event: &mut dyn FnMut(Event),
) -> Result<SegmentScan, LogError> {
    let mut scan = SegmentScan {
        bad: Vec::new(),
        whole: 0,
        torn: 0,
    };
    let mut lines = Lines::open(path).map_err(io_at(path))?;
    while let Some(line) = lines.next_line().map_err(io_at(path))? {
        if !line.complete {
            scan.torn = line.bytes.len() as u64;
            break;
        }
        scan.whole += line.bytes.len() as u64 + 1;
        let text = String::from_utf8_lossy(&line.bytes);
        if text.trim().is_empty() {
            continue;
        }
        // Whatever else is wrong with it, an id a line carries is never handed out again.
        *highest_id = (*highest_id).max(segments::id_of(&line.bytes).unwrap_or(0));
        let event = match std::str::from_utf8(&line.bytes) {
            Err(e) => Err(format!("not UTF-8: {e}")),
            Ok(text) => Event::from_log_line(text).map_err(|e| e.to_string()),
        };
        let reason = match event {
            Err(reason) => reason,
            Ok(event) if event.id <= *last_id => {
                format!("event id {} does not follow id {}", event.id, last_id)
            }
            Ok(event) => {
                *last_id = event.id;
                on_event(event);
                continue;
            }
        };
        scan.bad.push(BadLine {
            line: line.number,
            reason,
            text: text.into_owned(),
        });
    }
    Ok(scan)
}

impl EventLog {
    /// Opens (creating `data_dir` and the log if needed), takes the directory's lock, migrates an
    /// old single-file log, and reads back every segment, passing each stored event to
    /// `on_event` in id order and repairing as the module docs say.
    pub fn open(
        data_dir: &Path,
        config: LogConfig,
        mut on_event: impl FnMut(Event),
    ) -> Result<Recovered, LogError> {
        std::fs::create_dir_all(data_dir).map_err(io_at(data_dir))?;
        let lock = lock(data_dir)?;
        let seg_dir = data_dir.join(SEGMENT_DIR);
        std::fs::create_dir_all(&seg_dir).map_err(io_at(&seg_dir))?;
        migrate_legacy(data_dir, &seg_dir)?;

        let list = segments::list(&seg_dir).map_err(io_at(&seg_dir))?;
        let (mut last_id, mut highest_id) = (0u64, 0u64);
        let (mut truncated, mut quarantined) = (0u64, 0usize);
        let mut newest_len = 0;
        for (i, segment) in list.iter().enumerate() {
            let path = &segment.path;
            let scan = scan_segment(path, &mut last_id, &mut highest_id, &mut on_event)?;
            let mut bad = scan.bad;
            let is_newest = i + 1 == list.len();
            if scan.torn > 0 && is_newest {
                eprintln!(
                    "claimwatch: warning: {}: cut off a torn last line ({} bytes) left by an interrupted write",
                    path.display(),
                    scan.torn
                );
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(io_at(path))?;
                file.set_len(scan.whole).map_err(io_at(path))?;
                file.sync_data().map_err(io_at(path))?;
                truncated += scan.torn;
            } else if scan.torn > 0 {
                // Rotation only follows a whole line: an older segment's torn end is damage.
                let text = last_bytes(path, scan.whole)?;
                bad.push(BadLine {
                    line: count_lines(path)?,
                    reason: "no newline at the end of an older segment".into(),
                    text,
                });
            }
            let mut len = scan.whole;
            if !bad.is_empty() {
                quarantine(data_dir, path, &bad)?;
                len = rewrite_without(path, &bad)?;
                quarantined += bad.len();
                eprintln!(
                    "claimwatch: warning: {}: moved {} bad line(s) to {} (first: line {}: {}); the segment was rewritten without them",
                    path.display(),
                    bad.len(),
                    data_dir.join(QUARANTINE_FILE).display(),
                    bad[0].line,
                    bad[0].reason
                );
            }
            if is_newest {
                newest_len = len;
            }
        }

        let stored_next = highest_id.max(last_id).saturating_add(1);
        let reserved = segments::read_reserved(&seg_dir);
        let mut next_id = stored_next.max(reserved);
        // A skip recorded by an earlier open (nothing written since) is not a new one.
        let known = segments::read_gaps(&seg_dir)
            .iter()
            .any(|g| g.from <= stored_next && g.to >= next_id - 1);
        let skipped = if known { 0 } else { next_id - stored_next };
        if skipped > 0 {
            let gap = Gap {
                from: stored_next,
                to: next_id - 1,
                reason: "unclean stop: ids reserved but not written".into(),
            };
            segments::record_gap(&seg_dir, &gap).map_err(io_at(&seg_dir))?;
            eprintln!(
                "claimwatch: warning: {}: the last stop was not clean; ids {} to {} are skipped so none a client may have seen is reused",
                seg_dir.display(),
                gap.from,
                gap.to
            );
        }
        next_id = next_id.max(1);

        let (path, len, started) = match list.last() {
            Some(newest) => {
                let meta = std::fs::metadata(&newest.path).map_err(io_at(&newest.path))?;
                let started = meta
                    .created()
                    .or_else(|_| meta.modified())
                    .unwrap_or_else(|_| SystemTime::now());
                (newest.path.clone(), newest_len, started)
            }
            None => (
                seg_dir.join(segments::file_name(next_id)),
                0,
                SystemTime::now(),
            ),
        };
        let file = segments::open_append(&path).map_err(io_at(&path))?;
        segments::sync_dir(&seg_dir);
        let mut log = EventLog {
            config,
            seg_dir,
            file,
            path,
            started,
            len,
            unsynced: 0,
            reserved,
            next_id,
            _lock: lock,
        };
        log.apply_retention()?;
        Ok(Recovered {
            log,
            next_id,
            truncated,
            quarantined,
            skipped,
        })
    }

    /// The segment being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory of the segment files.
    pub fn segment_dir(&self) -> &Path {
        &self.seg_dir
    }

    /// Appends one event; fsyncs when it is an alert or a review (see the module docs). On failure the file
    /// is cut back to its last whole line, so a later append does not extend a broken line.
    pub fn append(&mut self, event: &Event) -> Result<(), LogError> {
        if event.id == u64::MAX {
            return Err(LogError::IdsExhausted {
                path: self.seg_dir.clone(),
            });
        }
        if event.id >= self.reserved {
            let upto = event.id.saturating_add(RESERVE_BLOCK);
            segments::write_reserved(&self.seg_dir, upto).map_err(io_at(&self.seg_dir))?;
            self.reserved = upto;
        }
        if self.len > 0 && self.due_for_rotation() {
            self.rotate(event.id)?;
        }
        let mut line = event.to_log_line();
        line.push('\n');
        let result = self.file.write_all(line.as_bytes()).and_then(|()| {
            self.unsynced += 1;
            if event.kind().is_durable() || self.unsynced >= SYNC_EVERY {
                self.file.sync_data()?;
                self.unsynced = 0;
            }
            Ok(())
        });
        match result {
            Ok(()) => {
                self.len += line.len() as u64;
                self.next_id = self.next_id.max(event.id + 1);
                Ok(())
            }
            Err(source) => {
                let _ = self.file.set_len(self.len);
                Err(LogError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }

    fn due_for_rotation(&self) -> bool {
        let age = SystemTime::now()
            .duration_since(self.started)
            .unwrap_or_default();
        self.len >= self.config.segment_bytes || age >= self.config.segment_age
    }

    /// Closes the current segment (durably) and starts one named `first_id`.
    fn rotate(&mut self, first_id: u64) -> Result<(), LogError> {
        self.sync()?;
        let path = self.seg_dir.join(segments::file_name(first_id));
        let file = segments::open_append(&path).map_err(io_at(&path))?;
        segments::sync_dir(&self.seg_dir);
        self.file = file;
        self.path = path;
        self.len = 0;
        self.started = SystemTime::now();
        self.apply_retention()
    }

    /// Deletes whole old segments as [`LogConfig::retain`] says; never the one being written.
    fn apply_retention(&mut self) -> Result<(), LogError> {
        let list = segments::list(&self.seg_dir).map_err(io_at(&self.seg_dir))?;
        let mut infos = Vec::with_capacity(list.len());
        for segment in &list {
            let meta = std::fs::metadata(&segment.path).map_err(io_at(&segment.path))?;
            infos.push(SegmentInfo {
                bytes: meta.len(),
                modified: meta.modified().unwrap_or_else(|_| SystemTime::now()),
            });
        }
        let n = retention::to_delete(&infos, self.config.retain, SystemTime::now());
        let mut first_kept = None;
        for segment in list.iter().take(n) {
            if segment.path == self.path {
                break;
            }
            first_kept = list
                .iter()
                .find(|s| s.first_id > segment.first_id)
                .map(|s| s.first_id);
            std::fs::remove_file(&segment.path).map_err(io_at(&segment.path))?;
            eprintln!(
                "claimwatch: note: deleted {} (--retain)",
                segment.path.display()
            );
        }
        if n > 0 {
            segments::sync_dir(&self.seg_dir);
        }
        // The evidence of alerts no longer in the log goes with them.
        if let (Some(first_kept), Some(data_dir)) = (first_kept, self.seg_dir.parent()) {
            let clips_dir = super::clips::dir(data_dir);
            match super::clips::prune(&clips_dir, first_kept) {
                Ok(0) => {}
                Ok(n) => eprintln!(
                    "claimwatch: note: deleted {n} evidence clips of deleted log segments (--retain)"
                ),
                Err(e) => eprintln!(
                    "claimwatch: warning: pruning {}: {e}",
                    clips_dir.display()
                ),
            }
        }
        Ok(())
    }

    /// Forces batched lines to disk (on shutdown).
    pub fn sync(&mut self) -> Result<(), LogError> {
        self.file.sync_data().map_err(io_at(&self.path))?;
        self.unsynced = 0;
        Ok(())
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        // A clean close: every id handed out is on disk, so the unused reservation goes back and
        // the next open continues without a gap.
        if self.file.sync_data().is_ok() && self.reserved > self.next_id {
            let _ = segments::write_reserved(&self.seg_dir, self.next_id);
        }
    }
}

/// The bytes of `path` after `from` (a torn end), as text for the quarantine file.
fn last_bytes(path: &Path, from: u64) -> Result<String, LogError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = File::open(path).map_err(io_at(path))?;
    file.seek(SeekFrom::Start(from)).map_err(io_at(path))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io_at(path))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn count_lines(path: &Path) -> Result<usize, LogError> {
    let mut lines = Lines::open(path).map_err(io_at(path))?;
    let mut n = 0;
    while lines.next_line().map_err(io_at(path))?.is_some() {
        n += 1;
    }
    Ok(n)
}

/// Appends `bad` (lines of `segment`) to the quarantine file and makes it durable before the
/// segment loses them.
fn quarantine(data_dir: &Path, segment: &Path, bad: &[BadLine]) -> Result<(), LogError> {
    let path = data_dir.join(QUARANTINE_FILE);
    let mut out = OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(io_at(&path))?;
    let mut text = String::new();
    for line in bad {
        let record = serde_json::json!({
            "file": segment.file_name().map(|n| n.to_string_lossy()),
            "line": line.line,
            "reason": line.reason,
            "text": line.text,
        });
        text.push_str(&record.to_string());
        text.push('\n');
    }
    out.write_all(text.as_bytes()).map_err(io_at(&path))?;
    out.sync_all().map_err(io_at(&path))
}

/// Replaces `path` with its whole lines minus those numbered in `bad`, streamed through a
/// temporary file and renamed over it (a crash leaves the old file or the new one). Returns the
/// new length.
fn rewrite_without(path: &Path, bad: &[BadLine]) -> Result<u64, LogError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_at(path))?;
    let mut out = std::io::BufWriter::new(tmp);
    let mut lines = Lines::open(path).map_err(io_at(path))?;
    let mut len = 0;
    while let Some(line) = lines.next_line().map_err(io_at(path))? {
        if !line.complete || bad.iter().any(|b| b.line == line.number) {
            continue;
        }
        out.write_all(&line.bytes).map_err(io_at(path))?;
        out.write_all(b"\n").map_err(io_at(path))?;
        len += line.bytes.len() as u64 + 1;
    }
    let tmp = out.into_inner().map_err(|e| io_at(path)(e.into_error()))?;
    tmp.as_file().sync_all().map_err(io_at(path))?;
    tmp.persist(path).map_err(|e| io_at(path)(e.error))?;
    segments::sync_dir(dir);
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::event::tests::sample_alert;
    use crate::events::event::EventBody;
    use crate::events::retention;
    use crate::transcribe::Segment;

    fn event(id: u64, alert: bool) -> Event {
        Event {
            id,
            stream: "s".into(),
            at: "2026-11-27T00:00:00.000Z".into(),
            body: if alert {
                EventBody::Alert(sample_alert())
            } else {
                EventBody::Transcript(Segment::new(1.0, 2.0, format!("line {id}")))
            },
        }
    }

    /// Opens the log in `dir` with `config`, collecting what it streams back.
    fn open_with(dir: &Path, config: LogConfig) -> (Recovered, Vec<Event>) {
        let mut events = Vec::new();
        let recovered = EventLog::open(dir, config, |e| events.push(e)).unwrap();
        (recovered, events)
    }

    fn open(dir: &Path) -> (Recovered, Vec<Event>) {
        open_with(dir, LogConfig::default())
    }

    fn write_log(dir: &Path, events: &[Event]) -> PathBuf {
        let mut log = open(dir).0.log;
        for e in events {
            log.append(e).unwrap();
        }
        log.path().to_path_buf()
    }

    #[test]
    fn a_new_log_starts_at_id_one_and_reads_back_what_was_appended() {
        let dir = tempfile::tempdir().unwrap();
        let (fresh, events) = open(dir.path());
        assert!(events.is_empty());
        assert_eq!(fresh.next_id, 1);
        drop(fresh);
        let written: Vec<Event> = (1..=5).map(|id| event(id, id % 2 == 0)).collect();
        write_log(dir.path(), &written);
        let (back, events) = open(dir.path());
        assert_eq!(events, written);
        assert_eq!((back.next_id, back.truncated, back.skipped), (6, 0, 0));
    }

    #[test]
    fn a_torn_last_line_is_cut_off_and_appending_continues() {
        // (bytes of the torn tail)
        let tails: [&[u8]; 3] = [b"{\"id\":3,\"str", b"{", b"\xe6\x97"];
        for tail in tails {
            let dir = tempfile::tempdir().unwrap();
            let path = write_log(dir.path(), &[event(1, true), event(2, false)]);
            let mut file = OpenOptions::new().append(true).open(&path).unwrap();
            file.write_all(tail).unwrap();
            drop(file);

            let (mut back, events) = open(dir.path());
            assert_eq!(events.len(), 2);
            assert_eq!((back.next_id, back.truncated), (3, tail.len() as u64));
            back.log.append(&event(3, true)).unwrap();
            drop(back);
            let (again, events) = open(dir.path());
            let ids: Vec<u64> = events.iter().map(|e| e.id).collect();
            assert_eq!(ids, [1, 2, 3]);
            assert_eq!(again.truncated, 0);
        }
    }

    #[test]
    fn a_bad_line_is_quarantined_and_the_log_opens() {
        let good1 = event(1, true).to_log_line();
        let good2 = event(2, false).to_log_line();
        let good5 = event(5, false).to_log_line();
        // (content, ids kept, bad line numbers, words in the first reason, next id)
        let cases = [
            (
                format!("{good1}\nnot json\n{good2}\n"),
                vec![1, 2],
                vec![2],
                "expected",
                3,
            ),
            (
                format!("{good2}\n{good1}\n"),
                vec![2],
                vec![2],
                "does not follow",
                3,
            ),
            (
                format!("{good1}\n{good1}\n"),
                vec![1],
                vec![2],
                "does not follow",
                2,
            ),
            (
                format!("\n{good1}\n{{\"id\":9}}\n"),
                vec![1],
                vec![3],
                "missing field",
                10,
            ),
            (
                format!("{good1}\n[]\n{good5}\n"),
                vec![1, 5],
                vec![2],
                "invalid length",
                6,
            ),
        ];
        for (content, kept, bad, words, next) in cases {
            let dir = tempfile::tempdir().unwrap();
            // Written as an old single-file log: this also covers the move into segments.
            std::fs::write(dir.path().join(LEGACY_FILE), &content).unwrap();
            let (back, events) = open(dir.path());
            assert!(!dir.path().join(LEGACY_FILE).exists());
            let ids: Vec<u64> = events.iter().map(|e| e.id).collect();
            assert_eq!(ids, kept, "{content}");
            assert_eq!(back.quarantined, bad.len(), "{content}");
            assert_eq!(back.next_id, next, "{content}");
            let quarantined = std::fs::read_to_string(dir.path().join(QUARANTINE_FILE)).unwrap();
            let first: serde_json::Value =
                serde_json::from_str(quarantined.lines().next().unwrap()).unwrap();
            assert_eq!(first["line"], bad[0], "{quarantined}");
            assert!(
                first["reason"].as_str().unwrap().contains(words),
                "{quarantined}"
            );
            // The log was rewritten without the bad lines: the next open finds nothing to do,
            // and what is appended follows on.
            let mut log = back.log;
            log.append(&event(next, true)).unwrap();
            drop(log);
            let (again, events) = open(dir.path());
            assert_eq!(again.quarantined, 0, "{content}");
            assert_eq!(events.last().unwrap().id, next);
        }
    }

    #[test]
    fn a_second_process_on_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = open(dir.path()).0;
        let err = EventLog::open(dir.path(), LogConfig::default(), drop).unwrap_err();
        assert!(matches!(err, LogError::InUse { .. }), "{err}");
        assert!(
            err.to_string().contains("another claimwatch process"),
            "{err}"
        );
        drop(first);
        EventLog::open(dir.path(), LogConfig::default(), drop).expect("the lock goes with the log");
    }

    #[test]
    fn an_unwritable_data_dir_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, "x").unwrap();
        let err = anyhow::Error::from(
            EventLog::open(&file.join("sub"), LogConfig::default(), drop).unwrap_err(),
        );
        // One line as `main` prints it: the path, then the reason once.
        let line = format!("{err:#}");
        assert!(line.contains("plain-file"), "{line}");
        assert_eq!(line.matches("os error").count(), 1, "{line}");
    }

    #[test]
    fn segments_rotate_by_size_and_a_reopen_reads_them_all_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 600,
            ..LogConfig::default()
        };
        let mut log = open_with(dir.path(), config).0.log;
        let written: Vec<Event> = (1..=20).map(|id| event(id, id % 3 == 0)).collect();
        for e in &written {
            log.append(e).unwrap();
        }
        drop(log);
        let list = segments::list(&dir.path().join(SEGMENT_DIR)).unwrap();
        assert!(list.len() >= 3, "{list:?}");
        assert_eq!(list[0].first_id, 1);
        let (back, events) = open_with(dir.path(), config);
        assert_eq!(events, written);
        assert_eq!((back.next_id, back.skipped), (21, 0));
    }

    #[test]
    fn retention_deletes_old_segments_but_never_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 300,
            retain: retention::Retain::Bytes(1),
            ..LogConfig::default()
        };
        let mut log = open_with(dir.path(), config).0.log;
        // The evidence clips of the first and of the last event.
        let clips = super::super::clips::dir(dir.path());
        for id in [1, 20] {
            super::super::clips::write(&clips, &format!("shop-{id}"), &[0.1; 160]).unwrap();
        }
        for id in 1..=20 {
            log.append(&event(id, false)).unwrap();
        }
        let list = segments::list(&dir.path().join(SEGMENT_DIR)).unwrap();
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0].path, log.path());
        // Clips go with their alerts' segments.
        let kept = |id| {
            super::super::clips::read(&clips, &format!("shop-{id}"))
                .unwrap()
                .is_some()
        };
        assert!(!kept(1) && kept(20));
        drop(log);
        let (back, events) = open_with(dir.path(), config);
        assert_eq!(events.last().unwrap().id, 20);
        assert_eq!(back.next_id, 21);
    }

    #[test]
    fn an_unclean_stop_skips_the_reserved_ids_and_records_the_gap() {
        let dir = tempfile::tempdir().unwrap();
        write_log(dir.path(), &[event(1, false)]);
        // What a power cut leaves: the reservation made before id 1 was handed out, never given
        // back by a clean close (batched lines after id 1 may have reached clients, then been
        // lost).
        let seg_dir = dir.path().join(SEGMENT_DIR);
        segments::write_reserved(&seg_dir, 1 + RESERVE_BLOCK).unwrap();
        let (back, _) = open(dir.path());
        assert_eq!(back.next_id, 1 + RESERVE_BLOCK);
        assert_eq!(back.skipped, RESERVE_BLOCK - 1);
        let gaps = segments::read_gaps(&seg_dir);
        assert_eq!((gaps[0].from, gaps[0].to), (2, RESERVE_BLOCK));
        // A clean close gives the rest back: no second skip.
        drop(back);
        assert_eq!(open(dir.path()).0.skipped, 0);
    }

    #[test]
    fn the_last_id_is_refused_rather_than_wrapped() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path()).0.log;
        let err = log.append(&event(u64::MAX, true)).unwrap_err();
        assert!(matches!(err, LogError::IdsExhausted { .. }), "{err}");
    }
}
