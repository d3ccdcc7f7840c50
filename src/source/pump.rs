//! A blocking reader (stdin) → a reader that never blocks past shutdown.
//!
//! `std::io::Stdin::read` cannot be interrupted, so a helper thread does the blocking reads and
//! passes the bytes over a small channel; the source thread reads from [`PumpReader`], which
//! wakes every [`TICK`](super::emit::TICK) to check the shutdown token. On shutdown the source
//! thread returns at once; the helper stays parked in `read` until the next bytes or EOF (or the
//! process exits), then sees the channel closed and ends.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::Mutex;

use tokio_util::sync::CancellationToken;

use super::emit::TICK;

/// Blocks of 64 KiB, a few in flight: ~1 s of 48 kHz stereo s16 in memory at most.
const BLOCK: usize = 64 * 1024;
const IN_FLIGHT: usize = 4;

/// The reading end: bytes in order, `Ok(0)` at EOF, an error after shutdown.
pub struct PumpReader {
    // Mutex only to make the reader `Sync`, as symphonia's `MediaSource` requires; one thread
    // ever reads, so it is never contended.
    rx: Mutex<Receiver<io::Result<Vec<u8>>>>,
    block: Vec<u8>,
    pos: usize,
    eof: bool,
    shutdown: CancellationToken,
}

/// Starts the helper thread reading `reader`.
pub fn pump<R: Read + Send + 'static>(
    mut reader: R,
    name: &str,
    shutdown: CancellationToken,
) -> io::Result<PumpReader> {
    let (tx, rx) = sync_channel(IN_FLIGHT);
    std::thread::Builder::new()
        .name(format!("pump {name}"))
        .spawn(move || loop {
            let mut block = vec![0; BLOCK];
            let result = match reader.read(&mut block) {
                Ok(n) => {
                    block.truncate(n);
                    Ok(block)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let last = !matches!(&result, Ok(b) if !b.is_empty());
            if tx.send(result).is_err() || last {
                return;
            }
        })?;
    Ok(PumpReader {
        rx: Mutex::new(rx),
        block: Vec::new(),
        pos: 0,
        eof: false,
        shutdown,
    })
}

/// The error a [`PumpReader`] returns once shutdown is requested (not `Interrupted`, which
/// `read_exact` would retry forever).
pub fn cancelled() -> io::Error {
    io::Error::other("shutting down")
}

impl Read for PumpReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.pos == self.block.len() {
            if self.eof {
                return Ok(0);
            }
            if self.shutdown.is_cancelled() {
                return Err(cancelled());
            }
            let rx = self.rx.get_mut().unwrap_or_else(|p| p.into_inner());
            match rx.recv_timeout(TICK) {
                Ok(Ok(block)) => {
                    self.eof = block.is_empty();
                    self.block = block;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.eof = true;
                    return Err(e);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.eof = true,
            }
        }
        let n = buf.len().min(self.block.len() - self.pos);
        buf[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_bytes_through_in_order() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut reader =
            pump(io::Cursor::new(data.clone()), "t", CancellationToken::new()).unwrap();
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, data);
    }

    /// A reader that never returns (stdin with nothing typed) must not hold up shutdown.
    #[test]
    fn a_blocked_reader_does_not_block_shutdown() {
        struct Never;
        impl Read for Never {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                std::thread::park();
                Ok(0)
            }
        }
        let token = CancellationToken::new();
        let mut reader = pump(Never, "never", token.clone()).unwrap();
        token.cancel();
        let err = reader.read(&mut [0; 16]).unwrap_err();
        assert_eq!(err.to_string(), "shutting down");
    }
}
