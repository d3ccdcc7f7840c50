//! Live audio sources: a [`SourceSpec`] → a thread that sends [`SourceEvent`]s (16 kHz mono
//! audio in order, plus Up/Down/Gap/Ended) over a bounded channel until the source ends or the
//! shutdown token fires.
//!
//! | spec | adapter | on loss |
//! |---|---|---|
//! | `device:NAME`, `device:default` | [`device`] (cpal) | Down, rebuild with backoff, Gap of wall time lost |
//! | `-`, `-?format=s16le&rate=48000&channels=2` | [`reader`] | Down + Ended (a pipe cannot be re-read) |
//! | `http://…`, `https://…` (Icecast MP3/AAC/Ogg) | [`http`] | Down, reconnect with backoff, Gap of wall time lost |
//! | `…/x.m3u8`, `hls:URL` | [`hls`] | Down, retry with backoff; skipped segments → Gap of their duration |
//! | `file:PATH[?realtime]`, `PATH` | [`file`] | Down + Ended |
//!
//! Network sources connect only where their [`NetPolicy`] allows, redirects and playlist
//! entries included; [`policy::check_spec`] says which sources an API client may open
//! ([`policy`]).
//!
//! Stream time is audio sent + gaps, so alert times computed from it stay on the wall clock
//! across outages. Every wait inside a source thread wakes at least every 100 ms to check the
//! shutdown token, network reads included (see [`fetch`]).

mod device;
mod emit;
pub mod fetch;
mod file;
mod forward;
mod hls;
mod http;
mod pace;
pub mod playlist;
pub mod policy;
mod pump;
mod reader;
mod retry;
mod spec;

use std::io;
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;

use tokio_util::sync::CancellationToken;

pub use device::{list_devices, DeviceError, DeviceInfo};
pub use policy::NetPolicy;
pub use reader::spawn_reader;
pub use retry::{Backoff, RetryConfig, RetryConfigError};
pub use spec::{RawFormat, SourceSpec, SpecError};

use emit::{Emitter, Stopped};

/// What a source thread sends, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    /// 16 kHz mono f32 samples, in order; chunks of 100 ms (shorter at a segment's or the
    /// stream's end); and when the source had them, which dates live speech (`said_at`) even
    /// when the consumer takes the chunk much later.
    Audio(Vec<f32>, std::time::SystemTime),
    /// Connected, or (re)started producing audio.
    Up,
    /// Lost; a retry follows with backoff.
    Down { reason: String },
    /// Stream time that passed without audio (an outage), sent after `Up` and before the audio
    /// that resumes the stream.
    Gap { seconds: f64 },
    /// A finite source (file, stdin, VOD playlist) finished; no retry; the last event.
    Ended,
}

// Events cross from the source thread to the consumer.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SourceEvent>();
    assert_send_sync::<SourceSpec>();
    assert_send_sync::<RetryConfig>();
    assert_send_sync::<NetPolicy>();
};

/// Why a source's inner loop stopped: shutdown / consumer gone, or a failure worth reporting.
#[derive(Debug)]
pub enum Fail {
    Stopped,
    Error(String),
}

impl From<Stopped> for Fail {
    fn from(_: Stopped) -> Self {
        Fail::Stopped
    }
}

/// Starts `spec` on its own thread, sending to `tx` until it ends, `shutdown` fires, or the
/// receiver is dropped. HTTP and HLS sources connect only to addresses `net` allows.
///
/// Errors before any thread starts, on one line: an invalid `retry`, a file that does not exist
/// or does not decode. Live sources (device, HTTP, HLS) retry even their first connection — a
/// stream may not have started yet — and report each failure as `Down`.
pub fn spawn(
    spec: SourceSpec,
    retry: RetryConfig,
    net: NetPolicy,
    tx: SyncSender<SourceEvent>,
    shutdown: CancellationToken,
) -> io::Result<JoinHandle<()>> {
    let retry = retry
        .build()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let backoff = Backoff::new(retry);
    let name = spec.to_string();
    match spec {
        SourceSpec::File { path, realtime } => file::spawn(path, realtime, tx, shutdown),
        SourceSpec::Stdin(format) => spawn_reader(io::stdin(), format, "<stdin>", tx, shutdown),
        SourceSpec::Http(url) => spawn_live(name, tx, shutdown, move |em| {
            http::run(&url, net, backoff, em)
        }),
        SourceSpec::Hls(url) => spawn_live(name, tx, shutdown, move |em| {
            hls::run(&url, net, backoff, em)
        }),
        SourceSpec::Device(device) => spawn_live(name, tx, shutdown, move |em| {
            device::run(&device, backoff, em)
        }),
    }
}

fn spawn_live(
    name: String,
    tx: SyncSender<SourceEvent>,
    shutdown: CancellationToken,
    run: impl FnOnce(&mut Emitter) -> Result<(), Stopped> + Send + 'static,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("source {name}"))
        .spawn(move || {
            let mut em = Emitter::new(tx, shutdown);
            // Err(Stopped) is the normal way out: nothing is left to tell anyone.
            let _ = run(&mut em);
        })
}

/// Runs `work`, turning a panic into a [`Fail::Error`] that names it. A source reads what the
/// watched seller publishes: input crafted to trip a bug in a decoder must cost one session (a
/// `Down` with the reason, then the usual retry), not end the stream as if the source had
/// finished.
fn guarded<T>(work: impl FnOnce() -> Result<T, Fail>) -> Result<T, Fail> {
    crate::panic_guard::catch(work)
        .unwrap_or_else(|panic| Err(Fail::Error(format!("internal error: {panic}"))))
}

/// The reconnect loop the device and HTTP sources share: run one session; when it fails, report
/// `Down` and retry after the backoff, which starts again from its first delay once a session
/// has forwarded audio. `session` returns why it ended; `Fail::Stopped` ends the loop.
fn reconnect(
    mut backoff: Backoff,
    em: &mut Emitter,
    mut session: impl FnMut(&mut Emitter, &mut u64) -> Fail,
) -> Result<(), Stopped> {
    loop {
        let mut forwarded = 0;
        let reason = match guarded(|| Err::<(), Fail>(session(em, &mut forwarded))) {
            Ok(()) | Err(Fail::Stopped) => return Err(Stopped),
            Err(Fail::Error(reason)) => reason,
        };
        if em.cancelled() {
            return Err(Stopped);
        }
        if forwarded > 0 {
            backoff.reset();
        }
        em.down(reason)?;
        em.sleep(backoff.next_delay())?;
    }
}

/// Ends a finite source: `Ended`, after a `Down` with the reason if it failed.
fn finish(em: &mut Emitter, result: Result<(), Fail>) {
    let _ = match result {
        Ok(()) => em.ended(),
        Err(Fail::Stopped) => return,
        Err(Fail::Error(_)) if em.cancelled() => return,
        Err(Fail::Error(reason)) => em.down(reason).and_then(|()| em.ended()),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_session_is_a_failed_session() {
        assert!(matches!(guarded(|| Ok::<u8, Fail>(3)), Ok(3)));
        assert!(matches!(
            guarded(|| Err::<u8, Fail>(Fail::Stopped)),
            Err(Fail::Stopped)
        ));
        match guarded(|| -> Result<u8, Fail> { panic!("crafted input") }) {
            Err(Fail::Error(reason)) => assert_eq!(reason, "internal error: crafted input"),
            other => panic!("{:?}", other.is_ok()),
        }
    }
}
