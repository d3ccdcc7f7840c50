//! A sink's persisted position: "everything up to event id N was delivered (or was not for this
//! sink)", one small JSON file per sink in `DATA_DIR/sinks/`.
//!
//! Input: the id each handled event had. Output: the file a restart resumes from, so what a sink
//! had not delivered when the process stopped is delivered after the next start.
//!
//! Written by a rename, so it is always a whole cursor, old or new. Not fsynced: a cursor a power
//! cut rolls back only re-sends events, which the idempotency key lets a receiver drop.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Directory of the cursor files inside the data directory.
pub const CURSOR_DIR: &str = "sinks";

#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a sink cursor ({message}); delete it to start from now")]
    Bad { path: PathBuf, message: String },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    /// What the sink delivers to (a webhook's URL), to tell two sinks apart.
    target: String,
    delivered: u64,
}

/// One sink's cursor.
#[derive(Debug)]
pub struct Cursor {
    path: PathBuf,
    target: String,
    delivered: u64,
    saved: u64,
}

impl Cursor {
    /// The cursor of the sink delivering to `target`, read back from `data_dir`; a sink seen for
    /// the first time starts at `start` (the bus's last id: events from now on).
    pub fn open(data_dir: &Path, target: &str, start: u64) -> Result<Cursor, CursorError> {
        let dir = data_dir.join(CURSOR_DIR);
        let path = dir.join(file_name(target));
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CursorError::Io { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let mut cursor = Cursor {
            path: path.clone(),
            target: target.to_string(),
            delivered: start,
            saved: start,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let stored: Stored = serde_json::from_str(&text).map_err(|e| CursorError::Bad {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                if stored.target != target {
                    return Err(CursorError::Bad {
                        path,
                        message: format!("it belongs to {}", stored.target),
                    });
                }
                cursor.delivered = stored.delivered;
                cursor.saved = stored.delivered;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => cursor.write()?,
            Err(e) => return Err(io(&path)(e)),
        }
        Ok(cursor)
    }

    /// Everything up to this id is handled.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Moves the cursor to `id` in memory; [`Cursor::save`] writes it.
    pub fn advance(&mut self, id: u64) {
        self.delivered = self.delivered.max(id);
    }

    /// Ids handled since the last save.
    pub fn unsaved(&self) -> u64 {
        self.delivered - self.saved
    }

    /// Writes the cursor if it moved.
    pub fn save(&mut self) -> Result<(), CursorError> {
        if self.delivered != self.saved {
            self.write()?;
        }
        Ok(())
    }

    fn write(&mut self) -> Result<(), CursorError> {
        let io = |source| CursorError::Io {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        let stored = Stored {
            target: self.target.clone(),
            delivered: self.delivered,
        };
        let text = serde_json::to_string(&stored).map_err(|e| io(std::io::Error::other(e)))?;
        writeln!(tmp, "{text}").map_err(io)?;
        tmp.persist(&self.path).map_err(|e| io(e.error))?;
        self.saved = self.delivered;
        Ok(())
    }
}

/// A file name for `target`: its letters and digits, the rest as `_`, shortened with its length
/// when long (the target inside the file tells two apart).
fn file_name(target: &str) -> String {
    let mut name: String = target
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if name.len() > 120 {
        name.truncate(120);
        name.push_str(&format!("-{}", target.len()));
    }
    format!("{name}.cursor")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_starts_where_told_and_resumes_where_saved() {
        let dir = tempfile::tempdir().unwrap();
        let url = "http://127.0.0.1:9/hook";
        let mut cursor = Cursor::open(dir.path(), url, 7).unwrap();
        assert_eq!(cursor.delivered(), 7);
        cursor.advance(12);
        cursor.advance(10);
        assert_eq!(cursor.unsaved(), 5);
        // Not saved: a restart resumes from 7 (re-sending, never skipping).
        assert_eq!(Cursor::open(dir.path(), url, 99).unwrap().delivered(), 7);
        cursor.save().unwrap();
        assert_eq!(Cursor::open(dir.path(), url, 99).unwrap().delivered(), 12);
        // Another target has its own cursor.
        let other = Cursor::open(dir.path(), "http://127.0.0.1:9/other", 3).unwrap();
        assert_eq!(other.delivered(), 3);
    }

    #[test]
    fn a_damaged_cursor_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let url = "http://h/x";
        std::fs::create_dir(dir.path().join(CURSOR_DIR)).unwrap();
        let path = dir.path().join(CURSOR_DIR).join(file_name(url));
        // (content, words in the error)
        let cases = [
            ("garbage", "not a sink cursor"),
            (
                r#"{"target":"http://h/y","delivered":1}"#,
                "belongs to http://h/y",
            ),
        ];
        for (content, words) in cases {
            std::fs::write(&path, content).unwrap();
            let err = Cursor::open(dir.path(), url, 0).unwrap_err().to_string();
            assert!(err.contains(words) && err.contains("x.cursor"), "{err}");
        }
    }
}
