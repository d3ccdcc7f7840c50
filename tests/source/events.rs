//! Running a source in a test: spawn it, collect its events until a condition holds, stop it.

use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use claimwatch::source::policy::AddrClass;
use claimwatch::source::{self, NetPolicy, RetryConfig, SourceEvent, SourceSpec};
use tokio_util::sync::CancellationToken;

use super::bounded::join_within;

/// A generous bound so a broken source fails the test instead of hanging it; never a speed test.
const PATIENCE: Duration = Duration::from_secs(60);
/// How long a source thread may take to return once shutdown fires. Its waits wake every 100 ms
/// to check the token (src/source/mod.rs); 10 s allows for a loaded machine.
pub const STOP_PATIENCE: Duration = Duration::from_secs(10);

pub struct Running {
    pub rx: Receiver<SourceEvent>,
    pub token: CancellationToken,
    pub handle: Option<JoinHandle<()>>,
    pub events: Vec<SourceEvent>,
}

/// What [`Running::stop`] saw.
#[derive(Debug)]
pub struct Stopped {
    /// Events the thread sent that [`Running::until`] had not collected.
    pub late: Vec<SourceEvent>,
    /// Whether the channel reported its sender gone after the drain: the thread dropped it, so
    /// nothing of the source is left sending.
    pub disconnected: bool,
}

/// Fast retries keep reconnection tests short.
pub fn fast_retry() -> RetryConfig {
    RetryConfig {
        initial_s: 0.05,
        max_s: 0.2,
    }
}

/// Starts `spec` allowed to reach loopback, where the test servers are, and public addresses.
pub fn start(spec: &str) -> Running {
    start_with(spec, NetPolicy::allowing(&[AddrClass::Loopback]))
}

pub fn start_with(spec: &str, net: NetPolicy) -> Running {
    let spec: SourceSpec = spec.parse().unwrap();
    let (tx, rx) = sync_channel(16);
    let token = CancellationToken::new();
    let handle = source::spawn(spec, fast_retry(), net, tx, token.clone()).unwrap();
    Running::new(rx, token, handle)
}

impl Running {
    pub fn new(
        rx: Receiver<SourceEvent>,
        token: CancellationToken,
        handle: JoinHandle<()>,
    ) -> Self {
        Self {
            rx,
            token,
            handle: Some(handle),
            events: Vec::new(),
        }
    }

    /// Collects events until `done(&events)` or the source's channel closes.
    pub fn until(&mut self, done: impl Fn(&[SourceEvent]) -> bool) -> &[SourceEvent] {
        let deadline = Instant::now() + PATIENCE;
        while !done(&self.events) {
            match self.rx.recv_timeout(Duration::from_millis(200)) {
                Ok(event) => self.events.push(event),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => assert!(
                    Instant::now() < deadline,
                    "source stalled; events so far: {}",
                    summary(&self.events)
                ),
            }
        }
        &self.events
    }

    /// Collects everything up to the source's end (its thread exits after `Ended`).
    pub fn run_to_end(&mut self) -> &[SourceEvent] {
        self.until(|e| matches!(e.last(), Some(SourceEvent::Ended)));
        let stopped = self.stop();
        // `Ended` is the last event: nothing may follow it, and the thread has let go of the
        // channel.
        assert!(
            stopped.late.is_empty() && stopped.disconnected,
            "after {}: {stopped:?}",
            summary(&self.events)
        );
        &self.events
    }

    /// Whether the source thread is still running (not returned yet).
    pub fn is_running(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Cancels and joins: a source thread must notice shutdown however it is blocked. Fails the
    /// test if the thread has not returned within [`STOP_PATIENCE`] (a plain `join` would hang
    /// the test run) or panicked. Then drains what the thread sent meanwhile.
    pub fn stop(&mut self) -> Stopped {
        self.token.cancel();
        if let Some(handle) = self.handle.take() {
            join_within(handle, STOP_PATIENCE, "the source thread, after shutdown,");
        }
        let mut late = Vec::new();
        let disconnected = loop {
            match self.rx.try_recv() {
                Ok(event) => late.push(event),
                Err(TryRecvError::Empty) => break false,
                Err(TryRecvError::Disconnected) => break true,
            }
        };
        Stopped { late, disconnected }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

pub fn audio(events: &[SourceEvent]) -> Vec<f32> {
    events
        .iter()
        .filter_map(|e| match e {
            SourceEvent::Audio(a, _) => Some(a.as_slice()),
            _ => None,
        })
        .flatten()
        .copied()
        .collect()
}

/// The event sequence with runs of audio folded: `Up Audio Down Up Gap Audio Ended`.
pub fn summary(events: &[SourceEvent]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for e in events {
        let word = match e {
            SourceEvent::Audio(..) => "Audio",
            SourceEvent::Up => "Up",
            SourceEvent::Down { .. } => "Down",
            SourceEvent::Gap { .. } => "Gap",
            SourceEvent::Ended => "Ended",
        };
        if !(word == "Audio" && out.last() == Some(&"Audio")) {
            out.push(word);
        }
    }
    out.join(" ")
}

pub fn downs(events: &[SourceEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            SourceEvent::Down { reason } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

pub fn gaps(events: &[SourceEvent]) -> Vec<f64> {
    events
        .iter()
        .filter_map(|e| match e {
            SourceEvent::Gap { seconds } => Some(*seconds),
            _ => None,
        })
        .collect()
}
