//! A stream's comment feed (`"comments": SOURCE` in `POST /streams`): JSON lines, one comment
//! each (`{"id", "user", "text", "at"?, "from_seller"?}`), read from a file, standard input
//! (`-`) or an HTTP(S) URL whose body never ends, into the stream's [`CommentDesk`].
//!
//! Lines are handed over in batches of what has arrived (up to [`BATCH`]), so a busy chat costs
//! one sync per batch and a quiet one is checked line by line as it comes. A bad line is
//! reported with its line number and skipped; the feed goes on. An HTTP feed that ends or
//! fails is opened again after a pause that doubles up to 30 s, until the stream is detached.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use url::Url;

use super::comments::{check_batch, CommentDesk};
use crate::comments::Comment;
use crate::source::fetch::Fetcher;
use crate::source::policy::{NetPolicy, Refused};
use crate::source::Fail;

/// Lines handed to the desk at once, at most.
pub const BATCH: usize = 256;
/// Bytes of one line, at most (a comment's text is at most 4 KiB; a longer line is not a feed).
const MAX_LINE: usize = 64 * 1024;
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Where a stream's comments come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSpec {
    Stdin,
    File(PathBuf),
    /// `http://` or `https://`: a long-lived response, one comment per line.
    Http(String),
}

impl FromStr for FeedSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<FeedSpec, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("comment feed: empty (use a file path, - or an http(s) URL)".into());
        }
        if s == "-" {
            return Ok(FeedSpec::Stdin);
        }
        if s.starts_with("http://") || s.starts_with("https://") {
            Url::parse(s).map_err(|e| format!("comment feed {s:?}: {e}"))?;
            return Ok(FeedSpec::Http(s.to_string()));
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(format!(
                "comment feed {s:?}: {scheme}:// is not a feed (use a file path, - or an http(s) URL)"
            ));
        }
        Ok(FeedSpec::File(PathBuf::from(
            s.strip_prefix("file:").unwrap_or(s),
        )))
    }
}

impl fmt::Display for FeedSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedSpec::Stdin => f.write_str("-"),
            FeedSpec::File(path) => write!(f, "{}", path.display()),
            FeedSpec::Http(url) => f.write_str(url),
        }
    }
}

impl FeedSpec {
    /// The source policy, as for audio: files and stdin only when local sources are allowed;
    /// a URL whose host is an address literal only where `net` allows (host names are checked
    /// when the feed connects).
    pub fn check(&self, allow_local: bool, net: &NetPolicy) -> Result<(), Refused> {
        match self {
            FeedSpec::Stdin | FeedSpec::File(_) if !allow_local => Err(Refused::new(format!(
                "comment feed {self}: file and stdin feeds are open to API clients only with \
                 --allow-local-sources"
            ))),
            FeedSpec::Stdin | FeedSpec::File(_) => Ok(()),
            FeedSpec::Http(url) => {
                let url = Url::parse(url).map_err(|e| Refused::new(format!("{url}: {e}")))?;
                net.check_url(&url)
            }
        }
    }
}

/// Starts the thread that reads `spec` into `desk` until the feed ends (file, stdin) or
/// `cancel` fires.
pub fn spawn(
    spec: FeedSpec,
    desk: Arc<CommentDesk>,
    net: NetPolicy,
    cancel: CancellationToken,
    stream: String,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("comments-{stream}"))
        .spawn(move || {
            let feed = Feed {
                desk,
                cancel,
                stream,
            };
            feed.run(spec, net)
        })
}

struct Feed {
    desk: Arc<CommentDesk>,
    cancel: CancellationToken,
    stream: String,
}

impl Feed {
    fn run(&self, spec: FeedSpec, net: NetPolicy) {
        match spec {
            FeedSpec::Stdin => self.read(io::stdin().lock(), "-"),
            FeedSpec::File(path) => match std::fs::File::open(&path) {
                Ok(file) => self.read(file, &path.display().to_string()),
                Err(e) => self.say(&format!("cannot open {}: {e}", path.display())),
            },
            FeedSpec::Http(url) => self.follow(&url, net),
        }
    }

    fn follow(&self, url: &str, net: NetPolicy) {
        let fetcher = match Fetcher::new(self.cancel.clone(), net) {
            Ok(f) => f,
            Err(e) => return self.say(&e),
        };
        let mut pause = RETRY_FIRST;
        while !self.cancel.is_cancelled() {
            match fetcher.open(url) {
                Ok(opened) => {
                    pause = RETRY_FIRST;
                    self.read(opened.body, url);
                    if !self.cancel.is_cancelled() {
                        self.say(&format!("{url}: the feed ended; opening it again"));
                    }
                }
                Err(Fail::Error(e)) => self.say(&e),
                Err(Fail::Stopped) => break,
            }
            let slept = self.cancel_aware_sleep(pause);
            pause = (pause * 2).min(RETRY_MAX);
            if !slept {
                break;
            }
        }
    }

    /// Sleeps `d` unless cancelled first; `false` when cancelled.
    fn cancel_aware_sleep(&self, d: Duration) -> bool {
        let step = Duration::from_millis(100);
        let mut left = d;
        while !left.is_zero() {
            if self.cancel.is_cancelled() {
                return false;
            }
            let nap = left.min(step);
            std::thread::sleep(nap);
            left -= nap;
        }
        !self.cancel.is_cancelled()
    }

    /// Reads lines until the end, a read error or the cancel; hands each batch to the desk.
    fn read(&self, source: impl Read, name: &str) {
        let mut reader = BufReader::new(source);
        let mut batch = Vec::new();
        let mut lineno = 0usize;
        let mut line = Vec::new();
        loop {
            if self.cancel.is_cancelled() {
                return;
            }
            line.clear();
            let read = (&mut reader)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut line);
            match read {
                Ok(0) => break,
                Ok(_) => {
                    lineno += 1;
                    if let Some(comment) = self.parse(&line, name, lineno) {
                        batch.push(comment);
                    }
                }
                Err(e) => {
                    self.say(&format!("{name}: {e}"));
                    break;
                }
            }
            // Nothing more already read: check what there is rather than wait for more.
            let due = batch.len() >= BATCH || (reader.buffer().is_empty() && !batch.is_empty());
            if due && !self.hand_over(std::mem::take(&mut batch)) {
                return;
            }
        }
        if !batch.is_empty() {
            self.hand_over(batch);
        }
    }

    /// One line as a comment, or `None` (said, with `name:line`) when it is not one.
    fn parse(&self, line: &[u8], name: &str, lineno: usize) -> Option<Comment> {
        if line.len() > MAX_LINE {
            self.say(&format!(
                "{name}:{lineno}: a line over {MAX_LINE} bytes; skipped"
            ));
            return None;
        }
        let text = match std::str::from_utf8(line) {
            Ok(t) => t.trim(),
            Err(_) => {
                self.say(&format!("{name}:{lineno}: not UTF-8; skipped"));
                return None;
            }
        };
        if text.is_empty() {
            return None;
        }
        let comment: Comment = match serde_json::from_str(text) {
            Ok(c) => c,
            Err(e) => {
                self.say(&format!("{name}:{lineno}: {e}; skipped"));
                return None;
            }
        };
        if let Err(e) = check_batch(std::slice::from_ref(&comment)) {
            let e = e.strip_prefix("comment 0").unwrap_or(&e);
            self.say(&format!("{name}:{lineno}: comment{e}; skipped"));
            return None;
        }
        Some(comment)
    }

    /// `false` when the bus refused it (the feed stops: nothing could be recorded).
    fn hand_over(&self, batch: Vec<Comment>) -> bool {
        match self.desk.take(batch) {
            Ok(_) => true,
            Err(e) => {
                self.say(&format!("cannot record comments: {e}"));
                false
            }
        }
    }

    fn say(&self, what: &str) {
        eprintln!("claimwatch: stream {} comments: {what}", self.stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_specs() {
        // (text, parsed)
        let cases: [(&str, Result<FeedSpec, &str>); 7] = [
            ("-", Ok(FeedSpec::Stdin)),
            ("chat.jsonl", Ok(FeedSpec::File("chat.jsonl".into()))),
            (
                "file:/tmp/c.jsonl",
                Ok(FeedSpec::File("/tmp/c.jsonl".into())),
            ),
            (
                "https://chat.example/feed?x=1",
                Ok(FeedSpec::Http("https://chat.example/feed?x=1".into())),
            ),
            ("", Err("empty")),
            ("ftp://x/y", Err("ftp:// is not a feed")),
            ("http://", Err("comment feed")),
        ];
        for (text, expected) in cases {
            match (text.parse::<FeedSpec>(), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{text}"),
                (Err(got), Err(part)) => assert!(got.contains(part), "{text}: {got}"),
                (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn local_feeds_need_the_operator_s_leave() {
        let net = NetPolicy::public_only();
        assert!(FeedSpec::Stdin.check(false, &net).is_err());
        assert!(FeedSpec::File("x".into()).check(true, &net).is_ok());
        let private = FeedSpec::Http("http://127.0.0.1:9/feed".into());
        assert!(private.check(true, &net).is_err());
        assert!(private.check(true, &NetPolicy::any_address()).is_ok());
    }
}
