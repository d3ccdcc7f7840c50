//! The sending side of a source thread: events → the consumer's channel, with the bookkeeping
//! every source shares (100 ms audio chunks, Up/Gap ordering, quiet stop on shutdown).
//!
//! Every wait here (a full channel, a backoff sleep) wakes at least every [`TICK`] to check the
//! shutdown token, so a source thread ends within about 100 ms of cancellation.

use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::SourceEvent;

/// Longest a source thread blocks without looking at the shutdown token.
pub const TICK: Duration = Duration::from_millis(100);

/// Samples per `Audio` event: 100 ms at 16 kHz.
pub const CHUNK: usize = 1_600;

/// The consumer is gone or shutdown was requested: the source thread should return quietly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

/// Sends one source's events in order and remembers what the stream looks like so far.
pub struct Emitter {
    tx: SyncSender<SourceEvent>,
    shutdown: CancellationToken,
    /// 16 kHz samples sent since the source started.
    sent: u64,
    /// Set by [`down`](Self::down); cleared when audio flows again.
    is_down: bool,
    /// Audio is held until a full chunk is ready, so consumers see ~100 ms events.
    pending: Vec<f32>,
    /// When the last audio went out: a live source's outage is measured from here.
    last_audio: Option<Instant>,
}

impl Emitter {
    pub fn new(tx: SyncSender<SourceEvent>, shutdown: CancellationToken) -> Self {
        Self {
            tx,
            shutdown,
            sent: 0,
            is_down: false,
            pending: Vec::with_capacity(CHUNK),
            last_audio: None,
        }
    }

    pub fn cancelled(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    pub fn token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// 16 kHz samples sent so far (held-back samples not counted).
    pub fn sent_samples(&self) -> u64 {
        self.sent
    }

    /// Queues audio; whole 100 ms chunks go out at once, the rest waits for more or for
    /// [`flush`](Self::flush).
    pub fn audio(&mut self, samples: &[f32]) -> Result<(), Stopped> {
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (CHUNK - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == CHUNK {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Sends whatever audio is held back (end of a segment, before a Down, at the end).
    pub fn flush(&mut self) -> Result<(), Stopped> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK));
        self.sent += chunk.len() as u64;
        self.last_audio = Some(Instant::now());
        self.send(SourceEvent::Audio(chunk, std::time::SystemTime::now()))
    }

    /// Audio starts (or starts again): `Up`, and after an outage the `Gap` of wall time lost
    /// since the last audio, so later stream times stay on the wall clock.
    pub fn up(&mut self) -> Result<(), Stopped> {
        let was_down = std::mem::take(&mut self.is_down);
        self.send(SourceEvent::Up)?;
        if was_down {
            if let Some(last) = self.last_audio {
                self.gap(last.elapsed().as_secs_f64())?;
            }
        }
        Ok(())
    }

    /// `Up` without the wall-clock gap, for sources whose own timeline says what was lost (HLS
    /// media sequence numbers).
    pub fn up_quiet(&mut self) -> Result<(), Stopped> {
        self.is_down = false;
        self.send(SourceEvent::Up)
    }

    /// Stream time that passed without audio, known from the source itself (HLS sequence gaps).
    pub fn gap(&mut self, seconds: f64) -> Result<(), Stopped> {
        if seconds > 0.0 {
            self.send(SourceEvent::Gap { seconds })?;
        }
        Ok(())
    }

    /// The source was lost; logs the reason too, because a retry loop is otherwise silent.
    pub fn down(&mut self, reason: String) -> Result<(), Stopped> {
        self.flush()?;
        self.is_down = true;
        eprintln!("claimwatch: source down: {reason}");
        self.send(SourceEvent::Down { reason })
    }

    /// A finite source is done: the last event.
    pub fn ended(&mut self) -> Result<(), Stopped> {
        self.flush()?;
        self.send(SourceEvent::Ended)
    }

    /// Sleeps `duration` in [`TICK`] steps; `Err(Stopped)` as soon as shutdown is requested.
    pub fn sleep(&self, duration: Duration) -> Result<(), Stopped> {
        let until = Instant::now() + duration;
        loop {
            if self.cancelled() {
                return Err(Stopped);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(TICK));
        }
    }

    /// Blocks while the consumer's channel is full (back-pressure), but never past shutdown.
    fn send(&self, mut event: SourceEvent) -> Result<(), Stopped> {
        loop {
            if self.cancelled() {
                return Err(Stopped);
            }
            match self.tx.try_send(event) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(Stopped),
                Err(TrySendError::Full(back)) => {
                    event = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::sync_channel;

    use super::*;

    fn drain(rx: &std::sync::mpsc::Receiver<SourceEvent>) -> Vec<String> {
        rx.try_iter()
            .map(|e| match e {
                SourceEvent::Audio(a, _) => format!("audio {}", a.len()),
                SourceEvent::Gap { .. } => "gap".to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn chunks_audio_and_puts_gap_after_up() {
        let (tx, rx) = sync_channel(64);
        let mut em = Emitter::new(tx, CancellationToken::new());
        em.up().unwrap();
        em.audio(&vec![0.0; 4_000]).unwrap();
        em.down("reset by peer".into()).unwrap();
        em.up().unwrap();
        em.audio(&[0.0; 10]).unwrap();
        em.ended().unwrap();
        assert_eq!(
            drain(&rx),
            [
                "Up",
                "audio 1600",
                "audio 1600",
                "audio 800",
                "Down { reason: \"reset by peer\" }",
                "Up",
                "gap",
                "audio 10",
                "Ended"
            ]
        );
        assert_eq!(em.sent_samples(), 4_010);
    }

    #[test]
    fn stops_when_receiver_is_gone_or_cancelled() {
        let (tx, rx) = sync_channel(1);
        drop(rx);
        let mut em = Emitter::new(tx, CancellationToken::new());
        assert_eq!(em.up(), Err(Stopped));

        // A full channel nobody reads must not hold the thread past shutdown.
        let (tx, _rx) = sync_channel(1);
        let token = CancellationToken::new();
        let mut em = Emitter::new(tx, token.clone());
        em.up().unwrap();
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            token.cancel();
        });
        assert_eq!(em.up(), Err(Stopped));
        assert_eq!(em.sleep(Duration::from_secs(3600)), Err(Stopped));
        canceller.join().unwrap();
    }
}
