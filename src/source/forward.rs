//! A decoded [`AudioStream`] → `Audio` events, optionally paced to real time. Shared by the file,
//! stdin and HTTP sources, which differ only in where the bytes come from.

use std::time::Instant;

use crate::audio::AudioStream;

use super::emit::{Emitter, CHUNK};
use super::{pace, Fail};

/// Forwards `stream` until it ends (`Ok`) or fails (`Err`), counting samples into `forwarded`
/// so a caller can tell a connection that delivered audio from one that did not.
///
/// `Up` goes out before the first audio unless `*up_sent`; with `pace_from`, each chunk is sent
/// when its last sample is due on the wall clock, as a capture device would deliver it.
pub fn forward(
    stream: &mut AudioStream,
    em: &mut Emitter,
    pace_from: Option<Instant>,
    up_sent: &mut bool,
    forwarded: &mut u64,
) -> Result<(), Fail> {
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        if em.cancelled() {
            return Err(Fail::Stopped);
        }
        let n = match stream.read(&mut chunk, CHUNK) {
            Ok(n) => n,
            // A read cut by shutdown is not a failure worth reporting.
            Err(_) if em.cancelled() => return Err(Fail::Stopped),
            Err(err) => {
                em.flush()?;
                return Err(Fail::Error(err.to_string()));
            }
        };
        if n == 0 {
            em.flush()?;
            return Ok(());
        }
        if !*up_sent {
            em.up()?;
            *up_sent = true;
        }
        if let Some(start) = pace_from {
            em.sleep(pace::wait(em.sent_samples() + n as u64, start.elapsed()))?;
        }
        em.audio(&chunk)?;
        *forwarded += n as u64;
    }
}
