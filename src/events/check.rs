//! Offline verification of a data directory's log (`claimwatch log check`): reads every segment
//! line by line, changes nothing, takes no lock (so it also runs beside a live server, which may
//! be appending to the newest segment meanwhile).
//!
//! Input: a data directory. Output: a [`Report`]: counts for the summary, and every problem as
//! file:line: what. A problem is a line that does not parse, an id that does not follow the one
//! before (across segments too), a gap in the ids that neither the gaps record (ids skipped after
//! an unclean stop) nor the quarantine file (bad lines moved out at a start) explains, or a torn
//! last line. Ids before the oldest segment are not a problem: retention deletes from the front.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::event::Event;
use super::log::QUARANTINE_FILE;
use super::segments::{self, Lines, GAPS_FILE, LEGACY_FILE, SEGMENT_DIR};

/// One thing wrong with the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    /// 1-based; 0 when it concerns the whole file.
    pub line: usize,
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.what)
    }
}

/// What [`check`] found.
#[derive(Debug, Default)]
pub struct Report {
    /// Files read, the old single file included.
    pub files: usize,
    pub bytes: u64,
    pub events: u64,
    /// Events by kind.
    pub kinds: BTreeMap<&'static str, u64>,
    pub streams: usize,
    pub first_id: Option<u64>,
    pub last_id: Option<u64>,
    /// An old single-file `events.jsonl` not yet moved into segments (done at the next start).
    pub legacy: bool,
    /// Lines in the quarantine file.
    pub quarantined: usize,
    /// Id ranges missing but explained (skipped after an unclean stop, or quarantined).
    pub explained_gaps: usize,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads the log in `data_dir`. `Err` only when the directory or a file cannot be read at all.
pub fn check(data_dir: &Path) -> std::io::Result<Report> {
    if !data_dir.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "not a directory",
        ));
    }
    let seg_dir = data_dir.join(SEGMENT_DIR);
    let mut files: Vec<PathBuf> = Vec::new();
    let legacy = data_dir.join(LEGACY_FILE);
    let mut report = Report {
        legacy: legacy.is_file(),
        ..Report::default()
    };
    if report.legacy {
        files.push(legacy);
    }
    let segments = segments::list(&seg_dir)?;
    files.extend(segments.iter().map(|s| s.path.clone()));

    let explained = Explained::read(data_dir, &seg_dir, &mut report);
    let mut streams = std::collections::HashSet::new();
    let mut last: Option<u64> = None;
    for (i, path) in files.iter().enumerate() {
        let named = segments
            .iter()
            .find(|s| &s.path == path)
            .map(|s| s.first_id);
        report.files += 1;
        report.bytes += std::fs::metadata(path)?.len();
        let mut lines = Lines::open(path)?;
        let mut first_in_file = true;
        while let Some(line) = lines.next_line()? {
            let problem = |what: String| Problem {
                path: path.clone(),
                line: line.number,
                what,
            };
            if !line.complete {
                let what = if i + 1 == files.len() {
                    "torn last line (no newline; an interrupted write, cut off at the next start)"
                } else {
                    "no newline at the end of an older segment"
                };
                report
                    .problems
                    .push(problem(format!("{what}, {} bytes", line.bytes.len())));
                break;
            }
            if line.bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let event = std::str::from_utf8(&line.bytes)
                .map_err(|e| format!("not UTF-8: {e}"))
                .and_then(|t| Event::from_log_line(t).map_err(|e| e.to_string()));
            let event = match event {
                Ok(event) => event,
                Err(reason) => {
                    report
                        .problems
                        .push(problem(format!("unreadable: {reason}")));
                    continue;
                }
            };
            if first_in_file {
                first_in_file = false;
                if named.is_some_and(|n| event.id < n) {
                    report.problems.push(problem(format!(
                        "event id {} is below the segment's name",
                        event.id
                    )));
                }
            }
            match last {
                Some(prev) if event.id <= prev => {
                    report.problems.push(problem(format!(
                        "event id {} does not follow id {prev}",
                        event.id
                    )));
                    continue;
                }
                Some(prev) if event.id > prev + 1 => {
                    let (from, to) = (prev + 1, event.id - 1);
                    if explained.covers(from, to) {
                        report.explained_gaps += 1;
                    } else {
                        let what = if from == to {
                            format!("event id {from} is missing (after id {prev})")
                        } else {
                            format!("event ids {from} to {to} are missing (after id {prev})")
                        };
                        report.problems.push(problem(what));
                    }
                }
                _ => {}
            }
            last = Some(event.id);
            report.first_id.get_or_insert(event.id);
            report.last_id = Some(event.id);
            report.events += 1;
            let kind = event.kind().as_str();
            *report.kinds.entry(kind).or_default() += 1;
            if !streams.contains(&event.stream) {
                streams.insert(event.stream);
            }
        }
    }
    report.streams = streams.len();
    Ok(report)
}

/// Ids whose absence is accounted for.
struct Explained {
    ranges: Vec<(u64, u64)>,
    ids: std::collections::BTreeSet<u64>,
}

impl Explained {
    fn read(data_dir: &Path, seg_dir: &Path, report: &mut Report) -> Explained {
        let mut explained = Explained {
            ranges: Vec::new(),
            ids: Default::default(),
        };
        let gaps_path = seg_dir.join(GAPS_FILE);
        if let Ok(text) = std::fs::read_to_string(&gaps_path) {
            for (i, line) in text.lines().enumerate() {
                match serde_json::from_str::<segments::Gap>(line) {
                    Ok(gap) => explained.ranges.push((gap.from, gap.to)),
                    Err(e) => report.problems.push(Problem {
                        path: gaps_path.clone(),
                        line: i + 1,
                        what: format!("unreadable: {e}"),
                    }),
                }
            }
        }
        let quarantine = data_dir.join(QUARANTINE_FILE);
        if let Ok(text) = std::fs::read_to_string(&quarantine) {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                report.quarantined += 1;
                let carried = serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("text")?.as_str().map(str::to_string))
                    .and_then(|t| segments::id_of(t.as_bytes()));
                explained.ids.extend(carried);
            }
        }
        explained
    }

    /// Whether every id in `from..=to` is explained.
    fn covers(&self, from: u64, to: u64) -> bool {
        let mut at = from;
        while at <= to {
            let next = if self.ids.contains(&at) {
                at
            } else {
                match self.ranges.iter().find(|(a, b)| *a <= at && at <= *b) {
                    Some(&(_, b)) => b,
                    None => return false,
                }
            };
            // A record may reach u64::MAX: stop there rather than overflow.
            match next.checked_add(1) {
                Some(n) if next < to => at = n,
                _ => return true,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::event::tests::sample_alert;
    use crate::events::event::EventBody;
    use crate::transcribe::Segment;

    fn line(id: u64) -> String {
        let body = if id.is_multiple_of(2) {
            EventBody::Alert(sample_alert())
        } else {
            EventBody::Transcript(Segment::new(0.0, 1.0, "x"))
        };
        Event {
            id,
            stream: "s".into(),
            at: "2026-11-27T00:00:00.000Z".into(),
            body,
        }
        .to_log_line()
    }

    fn lines(ids: &[u64]) -> String {
        ids.iter().map(|&id| line(id) + "\n").collect()
    }

    #[test]
    fn problems_are_found_and_explained_gaps_are_not_problems() {
        let seg = |id: u64| format!("{SEGMENT_DIR}/{}", segments::file_name(id));
        let gap = r#"{"from":4,"to":9,"reason":"unclean stop"}"#.to_string() + "\n";
        let quarantined = format!(
            "{}\n",
            serde_json::json!({"file": "x", "line": 2, "reason": "r", "text": line(3)})
        );
        // (files to write, expected problems as "file name:line: words")
        // (file name, content) and (file name, line, words)
        type Files = Vec<(String, String)>;
        type Wanted = Vec<(&'static str, usize, &'static str)>;
        let cases: Vec<(Files, Wanted)> = vec![
            (
                vec![(seg(1), lines(&[1, 2, 3])), (seg(4), lines(&[4, 5]))],
                vec![],
            ),
            (
                vec![(seg(1), format!("{}\nnot json\n{}\n", line(1), line(2)))],
                vec![("00000000000000000001.jsonl", 2, "unreadable")],
            ),
            (
                vec![(seg(1), lines(&[1, 2])), (seg(3), lines(&[2, 3]))],
                vec![
                    ("00000000000000000003.jsonl", 1, "below the segment's name"),
                    ("00000000000000000003.jsonl", 1, "does not follow id 2"),
                ],
            ),
            (
                vec![(seg(1), lines(&[1, 2, 5]))],
                vec![("00000000000000000001.jsonl", 3, "ids 3 to 4 are missing")],
            ),
            (
                vec![
                    (seg(1), lines(&[1, 2, 10])),
                    (format!("{SEGMENT_DIR}/{GAPS_FILE}"), gap.clone()),
                ],
                vec![("00000000000000000001.jsonl", 3, "ids 3 to 9 are missing")],
            ),
            (
                vec![
                    (seg(1), lines(&[1, 2, 10])),
                    (format!("{SEGMENT_DIR}/{GAPS_FILE}"), gap),
                    (QUARANTINE_FILE.to_string(), quarantined),
                ],
                vec![],
            ),
            (
                vec![(seg(1), lines(&[1]) + "{\"id\":2,")],
                vec![("00000000000000000001.jsonl", 2, "torn last line")],
            ),
            (
                vec![
                    (LEGACY_FILE.to_string(), lines(&[1, 2])),
                    (seg(3), lines(&[3])),
                ],
                vec![],
            ),
        ];
        for (files, want) in cases {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir(dir.path().join(SEGMENT_DIR)).unwrap();
            for (name, text) in &files {
                std::fs::write(dir.path().join(name), text).unwrap();
            }
            let report = check(dir.path()).unwrap();
            let got: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
            assert_eq!(got.len(), want.len(), "{files:?}: {got:#?}");
            for (problem, (file, line, words)) in report.problems.iter().zip(&want) {
                assert!(problem.path.ends_with(file), "{problem}");
                assert_eq!(problem.line, *line, "{problem}");
                assert!(problem.what.contains(words), "{problem}");
            }
            assert_eq!(report.is_sound(), want.is_empty());
        }
    }

    #[test]
    fn which_gaps_are_explained() {
        let explained = Explained {
            ranges: vec![(10, 20), (30, u64::MAX)],
            ids: [5, 21, 22].into_iter().collect(),
        };
        // (from, to, explained)
        let cases = [
            (5, 5, true),
            (6, 6, false),
            (10, 22, true),
            (10, 23, false),
            (12, 15, true),
            (30, u64::MAX, true),
            (29, 31, false),
        ];
        for (from, to, want) in cases {
            assert_eq!(explained.covers(from, to), want, "{from}..={to}");
        }
    }

    #[test]
    fn a_missing_directory_is_an_error_not_a_report() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check(&dir.path().join("nope")).is_err());
    }
}
