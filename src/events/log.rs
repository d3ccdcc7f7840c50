//! The durable event log: `DATA_DIR/events.jsonl`, one [`Event`] per line, append-only.
//!
//! Input: events to append. Output on open: every event stored so far and the next id.
//!
//! Durability: an alert is fsynced before [`EventLog::append`] returns, so an alert a client or
//! webhook has seen survives a crash or power loss. Transcript and status lines are written to the
//! OS at once (a process crash keeps them) but fsynced in batches, every [`SYNC_EVERY`] lines or
//! with the next alert: losing the last few of those to a power cut is acceptable, an fsync per
//! transcript segment is not worth the disk wear.
//!
//! Recovery: a crash mid-write leaves a last line without its newline. That line was never
//! acknowledged (its fsync had not returned), so it is cut off with a warning on stderr. A bad line
//! anywhere else (unreadable, or an id that does not follow the one before) is corruption: it is
//! moved, with its line number and the reason, to [`QUARANTINE_FILE`] beside the log, the log is
//! rewritten without it, a warning names both files, and the server starts. No id is reused: the
//! next id is past the highest one any line, good or quarantined, carried.
//!
//! One process per data directory: [`LOCK_FILE`] is locked exclusively while the log is open, so
//! a second `serve` on the same directory fails at once instead of writing duplicate ids.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::event::{Event, EventKind};

/// Name of the log inside the data directory.
pub const LOG_FILE: &str = "events.jsonl";

/// Where bad lines go (see the module docs).
pub const QUARANTINE_FILE: &str = "events.quarantine.jsonl";

/// Held locked by the process that has the log open.
pub const LOCK_FILE: &str = "claimwatch.lock";

/// Non-alert lines written between two fsyncs at most.
pub const SYNC_EVERY: usize = 64;

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
}

/// An open log, positioned at its end.
#[derive(Debug)]
pub struct EventLog {
    file: File,
    /// Open for as long as the log is: closing it releases the directory's lock.
    _lock: File,
    path: PathBuf,
    /// Bytes of whole lines in the file: where the next line starts.
    len: u64,
    unsynced: usize,
}

/// What [`EventLog::open`] found.
#[derive(Debug)]
pub struct Recovered {
    pub log: EventLog,
    /// Every stored event, in id order.
    pub events: Vec<Event>,
    /// One more than the last stored id (1 for a new log).
    pub next_id: u64,
    /// Bytes of a torn last line that were cut off (0 normally).
    pub truncated: u64,
    /// Bad lines moved to the quarantine file (0 normally).
    pub quarantined: usize,
}

impl EventLog {
    /// Opens (creating `data_dir` and the log if needed), takes the directory's lock, and reads
    /// back the log, repairing it as the module docs say.
    pub fn open(data_dir: &Path) -> Result<Recovered, LogError> {
        let path = data_dir.join(LOG_FILE);
        let io_at = |at: &Path| {
            let at = at.to_path_buf();
            move |source| LogError::Io { path: at, source }
        };
        std::fs::create_dir_all(data_dir).map_err(io_at(data_dir))?;
        let lock_path = data_dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io_at(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LogError::InUse {
                    path: data_dir.to_path_buf(),
                })
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(LogError::Io {
                    path: lock_path,
                    source,
                })
            }
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_at(&path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_at(&path))?;

        // Everything after the last newline is a torn write.
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let truncated = (bytes.len() - whole) as u64;
        if truncated > 0 {
            eprintln!(
                "claimwatch: warning: {}: cut off a torn last line ({truncated} bytes) left by an interrupted write",
                path.display()
            );
            file.set_len(whole as u64).map_err(io_at(&path))?;
            file.sync_data().map_err(io_at(&path))?;
        }

        let parsed = parse_lines(&bytes[..whole]);
        let mut len = whole as u64;
        if !parsed.bad.is_empty() {
            quarantine(data_dir, &parsed.bad)?;
            len = rewrite(&path, &parsed.events)?;
            file = OpenOptions::new()
                .read(true)
                .append(true)
                .open(&path)
                .map_err(io_at(&path))?;
            let first = &parsed.bad[0];
            eprintln!(
                "claimwatch: warning: {}: moved {} bad line(s) to {} (first: line {}: {}); the log was rewritten without them",
                path.display(),
                parsed.bad.len(),
                data_dir.join(QUARANTINE_FILE).display(),
                first.line,
                first.reason
            );
        }
        let next_id = parsed.highest_id.map_or(1, |id| id.saturating_add(1));
        file.seek(SeekFrom::End(0)).map_err(io_at(&path))?;
        Ok(Recovered {
            log: EventLog {
                file,
                _lock: lock,
                path,
                len,
                unsynced: 0,
            },
            events: parsed.events,
            next_id,
            truncated,
            quarantined: parsed.bad.len(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event; fsyncs when it is an alert (see the module docs). On failure the file
    /// is cut back to its last whole line, so a later append does not extend a broken line.
    pub fn append(&mut self, event: &Event) -> Result<(), LogError> {
        let mut line = event.to_log_line();
        line.push('\n');
        let result = self.file.write_all(line.as_bytes()).and_then(|()| {
            self.unsynced += 1;
            if event.kind() == EventKind::Alert || self.unsynced >= SYNC_EVERY {
                self.file.sync_data()?;
                self.unsynced = 0;
            }
            Ok(())
        });
        match result {
            Ok(()) => {
                self.len += line.len() as u64;
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

    /// Forces batched lines to disk (on shutdown).
    pub fn sync(&mut self) -> Result<(), LogError> {
        self.file.sync_data().map_err(|source| LogError::Io {
            path: self.path.clone(),
            source,
        })?;
        self.unsynced = 0;
        Ok(())
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        if self.unsynced > 0 {
            let _ = self.file.sync_data();
        }
    }
}

/// A line the log could not keep.
#[derive(Debug, Clone, PartialEq)]
struct BadLine {
    /// 1-based line number in the log as it was.
    line: usize,
    reason: String,
    text: String,
}

struct Parsed {
    events: Vec<Event>,
    bad: Vec<BadLine>,
    /// The highest id any line carried, readable or not.
    highest_id: Option<u64>,
}

/// Parses whole lines; blank lines are skipped; a line that does not parse, or whose id does not
/// follow the last good one, is bad.
fn parse_lines(bytes: &[u8]) -> Parsed {
    let mut parsed = Parsed {
        events: Vec::new(),
        bad: Vec::new(),
        highest_id: None,
    };
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let text = String::from_utf8_lossy(raw);
        if text.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| BadLine {
            line: i + 1,
            reason,
            text: text.clone().into_owned(),
        };
        // Whatever else is wrong with it, an id a line carries is never handed out again.
        let seen_id = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("id").and_then(serde_json::Value::as_u64));
        parsed.highest_id = parsed.highest_id.max(seen_id);
        let event = match std::str::from_utf8(raw) {
            Err(e) => Err(format!("not UTF-8: {e}")),
            Ok(text) => Event::from_log_line(text).map_err(|e| e.to_string()),
        };
        match (event, parsed.events.last()) {
            (Err(reason), _) => parsed.bad.push(bad(reason)),
            (Ok(event), Some(last)) if event.id <= last.id => parsed.bad.push(bad(format!(
                "event id {} does not follow id {}",
                event.id, last.id
            ))),
            (Ok(event), _) => parsed.events.push(event),
        }
    }
    parsed
}

/// Appends `bad` to the quarantine file and makes it durable before the log loses them.
fn quarantine(data_dir: &Path, bad: &[BadLine]) -> Result<(), LogError> {
    let path = data_dir.join(QUARANTINE_FILE);
    let io = |source| LogError::Io {
        path: path.clone(),
        source,
    };
    let mut out = OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(io)?;
    let mut text = String::new();
    for line in bad {
        let record = serde_json::json!({
            "line": line.line,
            "reason": line.reason,
            "text": line.text,
        });
        text.push_str(&record.to_string());
        text.push('\n');
    }
    out.write_all(text.as_bytes()).map_err(io)?;
    out.sync_all().map_err(io)
}

/// Replaces the log with `events`, atomically (a crash leaves the old file or the new one).
/// Returns the new length.
fn rewrite(path: &Path, events: &[Event]) -> Result<u64, LogError> {
    let io = |source| LogError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    let mut text = String::new();
    for event in events {
        text.push_str(&event.to_log_line());
        text.push('\n');
    }
    tmp.write_all(text.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(text.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::event::tests::sample_alert;
    use crate::events::event::EventBody;
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

    fn write_log(dir: &Path, events: &[Event]) -> PathBuf {
        let mut log = EventLog::open(dir).unwrap().log;
        for e in events {
            log.append(e).unwrap();
        }
        log.path().to_path_buf()
    }

    #[test]
    fn a_new_log_starts_at_id_one_and_reads_back_what_was_appended() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = EventLog::open(dir.path()).unwrap();
        assert!(fresh.events.is_empty());
        assert_eq!(fresh.next_id, 1);
        drop(fresh);
        let written: Vec<Event> = (1..=5).map(|id| event(id, id % 2 == 0)).collect();
        write_log(dir.path(), &written);
        let back = EventLog::open(dir.path()).unwrap();
        assert_eq!(back.events, written);
        assert_eq!((back.next_id, back.truncated), (6, 0));
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

            let mut back = EventLog::open(dir.path()).unwrap();
            assert_eq!(back.events.len(), 2);
            assert_eq!((back.next_id, back.truncated), (3, tail.len() as u64));
            back.log.append(&event(3, true)).unwrap();
            drop(back);
            let again = EventLog::open(dir.path()).unwrap();
            let ids: Vec<u64> = again.events.iter().map(|e| e.id).collect();
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
            std::fs::write(dir.path().join(LOG_FILE), &content).unwrap();
            let back = EventLog::open(dir.path()).unwrap();
            let ids: Vec<u64> = back.events.iter().map(|e| e.id).collect();
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
            let again = EventLog::open(dir.path()).unwrap();
            assert_eq!(again.quarantined, 0, "{content}");
            assert_eq!(again.events.last().unwrap().id, next);
        }
    }

    #[test]
    fn a_second_process_on_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = EventLog::open(dir.path()).unwrap();
        let err = EventLog::open(dir.path()).unwrap_err();
        assert!(matches!(err, LogError::InUse { .. }), "{err}");
        assert!(
            err.to_string().contains("another claimwatch process"),
            "{err}"
        );
        drop(first);
        EventLog::open(dir.path()).expect("the lock goes with the log");
    }

    #[test]
    fn an_unwritable_data_dir_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, "x").unwrap();
        let err = anyhow::Error::from(EventLog::open(&file.join("sub")).unwrap_err());
        // One line as `main` prints it: the path, then the reason once.
        let line = format!("{err:#}");
        assert!(line.contains("plain-file"), "{line}");
        assert_eq!(line.matches("os error").count(), 1, "{line}");
    }
}
