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
//! anywhere else is corruption and opening fails with `path:line: reason`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::event::{Event, EventKind};

/// Name of the log inside the data directory.
pub const LOG_FILE: &str = "events.jsonl";

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
}

impl EventLog {
    /// Opens (creating `data_dir` and the log if needed) and reads back the log.
    pub fn open(data_dir: &Path) -> Result<Recovered, LogError> {
        let path = data_dir.join(LOG_FILE);
        let io = |source| LogError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(|source| LogError::Io {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;

        // Everything after the last newline is a torn write.
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let truncated = (bytes.len() - whole) as u64;
        if truncated > 0 {
            eprintln!(
                "claimwatch: warning: {}: cut off a torn last line ({truncated} bytes) left by an interrupted write",
                path.display()
            );
            file.set_len(whole as u64).map_err(io)?;
            file.sync_data().map_err(io)?;
        }

        let events = parse_lines(&path, &bytes[..whole])?;
        let next_id = events.last().map_or(1, |e| e.id + 1);
        file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok(Recovered {
            log: EventLog {
                file,
                path,
                len: whole as u64,
                unsynced: 0,
            },
            events,
            next_id,
            truncated,
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

/// Parses whole lines; blank lines are skipped, ids must increase.
fn parse_lines(path: &Path, bytes: &[u8]) -> Result<Vec<Event>, LogError> {
    let bad = |line: usize, message: String| LogError::BadLine {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut events: Vec<Event> = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let number = i + 1;
        let text = std::str::from_utf8(raw).map_err(|e| bad(number, format!("not UTF-8: {e}")))?;
        if text.trim().is_empty() {
            continue;
        }
        let event = Event::from_log_line(text).map_err(|e| bad(number, e.to_string()))?;
        if let Some(last) = events.last() {
            if event.id <= last.id {
                return Err(bad(
                    number,
                    format!("event id {} does not follow id {}", event.id, last.id),
                ));
            }
        }
        events.push(event);
    }
    Ok(events)
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
    fn a_bad_line_before_the_end_names_file_and_line() {
        // (content, line number in the error, words in the error)
        let good1 = event(1, true).to_log_line();
        let good2 = event(2, false).to_log_line();
        let cases = [
            (format!("{good1}\nnot json\n{good2}\n"), 2, "expected"),
            (format!("{good2}\n{good1}\n"), 2, "does not follow"),
            (format!("{good1}\n{good1}\n"), 2, "does not follow"),
            (format!("\n{good1}\n{{\"id\":2}}\n"), 3, "missing field"),
        ];
        for (content, line, words) in cases {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(LOG_FILE), &content).unwrap();
            let err = EventLog::open(dir.path()).unwrap_err().to_string();
            let want = format!("{}:{line}: ", dir.path().join(LOG_FILE).display());
            assert!(err.starts_with(&want), "{err}");
            assert!(err.contains(words), "{err}");
        }
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
