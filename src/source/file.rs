//! File source: a path → its audio as `Audio` events, as fast as it decodes or paced to real time
//! (`file:PATH?realtime`, to replay a recording as if it were live), then `Ended`.
//!
//! The file is opened and its first packet decoded before the thread starts, so a missing or
//! undecodable file is an error from `spawn`, on one line.

use std::io;
use std::path::PathBuf;
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::audio::{self, AudioError};

use super::emit::Emitter;
use super::forward::forward;
use super::{finish, SourceEvent};

pub fn spawn(
    path: PathBuf,
    realtime: bool,
    tx: SyncSender<SourceEvent>,
    shutdown: CancellationToken,
) -> io::Result<JoinHandle<()>> {
    let mut stream = audio::open(&path).map_err(to_io)?;
    std::thread::Builder::new()
        .name(format!("source file:{}", path.display()))
        .spawn(move || {
            let mut em = Emitter::new(tx, shutdown);
            let start = Instant::now();
            let (mut up_sent, mut forwarded) = (false, 0);
            let result = super::guarded(|| {
                forward(
                    &mut stream,
                    &mut em,
                    realtime.then_some(start),
                    &mut up_sent,
                    &mut forwarded,
                )
            });
            finish(&mut em, result);
        })
}

/// Keeps the OS error kind (NotFound, PermissionDenied) for callers that branch on it; the
/// message is the audio stage's one line, which names the file.
pub fn to_io(err: AudioError) -> io::Error {
    let kind = match &err {
        AudioError::Io { error, .. } => error.kind(),
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, err.to_string())
}
