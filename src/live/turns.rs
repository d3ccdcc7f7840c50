//! Whose turn it is at the decoder. Streams share one decoder (one whisper.cpp decode already
//! uses every core), so they queue for it; the stream whose oldest undecoded audio was said
//! first goes next. Input: each waiting stream's wall-clock time of that audio. Output: one
//! [`Turn`] at a time.
//!
//! Before this, the first stream to poll after a decode took the decoder: with six streams one
//! could wait several decodes in a row while another, just served, went again, and the lag (and
//! so the alert latency) of the unlucky one grew. Oldest audio first keeps every stream's lag
//! within about one round of decodes of the others.
//!
//! Waiting never blocks: a worker keeps taking in audio while it waits, so it asks again every
//! few milliseconds ([`Waiter::try_take`]) instead of sleeping on a condition variable.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

/// The decoder's queue, shared by every stream of a server.
#[derive(Debug, Default)]
pub struct DecodeTurns {
    state: Mutex<Queue>,
}

#[derive(Debug, Default)]
struct Queue {
    busy: bool,
    next_ticket: u64,
    /// Ticket → the wall-clock time of that stream's oldest undecoded audio.
    waiting: BTreeMap<u64, SystemTime>,
}

impl Queue {
    /// The ticket that goes next: oldest audio first, then first come.
    fn first(&self) -> Option<u64> {
        self.waiting
            .iter()
            .min_by_key(|(ticket, oldest)| (**oldest, **ticket))
            .map(|(ticket, _)| *ticket)
    }
}

/// A stream's place in the queue; leaving it (drop) gives the place up.
#[derive(Debug)]
pub struct Waiter<'a> {
    turns: &'a DecodeTurns,
    ticket: u64,
}

/// The decoder, held until dropped.
#[derive(Debug)]
pub struct Turn<'a> {
    turns: &'a DecodeTurns,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<DecodeTurns>();
};

impl DecodeTurns {
    pub fn new() -> DecodeTurns {
        DecodeTurns::default()
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        // The queue is a few plain fields, consistent after every statement.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Joins the queue for work that cannot be skipped, with the wall-clock time of the oldest
    /// audio it has to decode.
    pub fn wait(&self, oldest: SystemTime) -> Waiter<'_> {
        let mut queue = self.queue();
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.waiting.insert(ticket, oldest);
        Waiter {
            turns: self,
            ticket,
        }
    }

    /// The decoder now, only if it is free and no stream waits for it: for work that may be
    /// skipped (a look at an unfinished phrase), which must never delay a stream's commit.
    pub fn spare(&self) -> Option<Turn<'_>> {
        let mut queue = self.queue();
        if queue.busy || !queue.waiting.is_empty() {
            return None;
        }
        queue.busy = true;
        Some(Turn { turns: self })
    }
}

impl<'a> Waiter<'a> {
    /// Moves this place: the stream's oldest undecoded audio changed (the lag bound dropped some).
    pub fn update(&self, oldest: SystemTime) {
        if let Some(at) = self.turns.queue().waiting.get_mut(&self.ticket) {
            *at = oldest;
        }
    }

    /// The decoder, if it is free and this stream is first in the queue.
    pub fn try_take(&self) -> Option<Turn<'a>> {
        let mut queue = self.turns.queue();
        if queue.busy || queue.first() != Some(self.ticket) {
            return None;
        }
        queue.waiting.remove(&self.ticket);
        queue.busy = true;
        Some(Turn { turns: self.turns })
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.turns.queue().waiting.remove(&self.ticket);
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.turns.queue().busy = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn oldest_audio_goes_first_then_first_come() {
        let turns = DecodeTurns::new();
        let held = turns.spare().expect("free and nobody waiting");
        let late = turns.wait(at(20));
        let old = turns.wait(at(10));
        let also_old = turns.wait(at(10));
        assert!(old.try_take().is_none(), "the decoder is busy");
        drop(held);
        assert!(late.try_take().is_none(), "newer audio waits");
        assert!(
            also_old.try_take().is_none(),
            "same age: first come goes first"
        );
        let turn = old.try_take().expect("oldest audio, first come");
        assert!(also_old.try_take().is_none(), "one turn at a time");
        drop(turn);
        let turn = also_old.try_take().expect("next oldest");
        drop(turn);
        assert!(late.try_take().is_some());
    }

    #[test]
    fn a_waiter_that_leaves_or_moves_changes_the_order() {
        let turns = DecodeTurns::new();
        let first = turns.wait(at(10));
        let second = turns.wait(at(20));
        assert!(second.try_take().is_none());
        second.update(at(5));
        assert!(first.try_take().is_none(), "the other's audio is now older");
        drop(second);
        assert!(first.try_take().is_some(), "it left the queue");
    }

    #[test]
    fn a_spare_turn_never_goes_ahead_of_a_waiter() {
        let turns = DecodeTurns::new();
        let waiter = turns.wait(at(10));
        assert!(turns.spare().is_none(), "a stream waits");
        let turn = waiter.try_take().unwrap();
        assert!(turns.spare().is_none(), "busy");
        drop(turn);
        drop(waiter);
        assert!(turns.spare().is_some());
    }
}
