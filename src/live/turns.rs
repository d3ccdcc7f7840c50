//! Whose turn it is at the decoder. Streams share a fixed number of decode slots (`serve
//! --decoders`, each decode with its share of the cores), so they queue for them; the stream
//! whose oldest undecoded audio was said first goes next. Input: each waiting stream's
//! wall-clock time of that audio. Output: [`Turn`]s, each holding one slot, or every slot.
//!
//! Why slots rather than one decode with every core: on 2 cores two one-thread decodes side by
//! side do more work per second than one two-thread decode, whose threads wait for each other
//! at every graph step (BENCHMARKS.md, "Parallel one-thread decodes"). But one one-thread
//! decode alone is slower than one with every core, so a stream that finds every slot free and
//! nobody waiting takes them all (its [`Turn::width`]): a lone stream decodes with every core,
//! busy streams each with their share. A wide turn is never joined by a narrow one, so the
//! cores are never oversubscribed.
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
#[derive(Debug)]
pub struct DecodeTurns {
    slots: usize,
    state: Mutex<Queue>,
}

#[derive(Debug, Default)]
struct Queue {
    /// Slots in use.
    busy: usize,
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

/// Decode slots, held until dropped.
#[derive(Debug)]
pub struct Turn<'a> {
    turns: &'a DecodeTurns,
    width: usize,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<DecodeTurns>();
};

impl DecodeTurns {
    /// A queue for `slots` decodes at once (at least one).
    pub fn new(slots: usize) -> DecodeTurns {
        DecodeTurns {
            slots: slots.max(1),
            state: Mutex::default(),
        }
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

    /// A turn now, only if a slot is free and no stream waits for one: for work that may be
    /// skipped (a look at an unfinished phrase), which must never delay a stream's commit.
    pub fn spare(&self) -> Option<Turn<'_>> {
        let mut queue = self.queue();
        if queue.busy >= self.slots || !queue.waiting.is_empty() {
            return None;
        }
        Some(self.hand_out(&mut queue))
    }

    /// Every slot if all are free and nobody else waits, else one.
    fn hand_out(&self, queue: &mut Queue) -> Turn<'_> {
        let width = if queue.busy == 0 && queue.waiting.is_empty() {
            self.slots
        } else {
            1
        };
        queue.busy += width;
        Turn { turns: self, width }
    }
}

impl<'a> Waiter<'a> {
    /// Moves this place: the stream's oldest undecoded audio changed (the lag bound dropped some).
    pub fn update(&self, oldest: SystemTime) {
        if let Some(at) = self.turns.queue().waiting.get_mut(&self.ticket) {
            *at = oldest;
        }
    }

    /// A slot, if one is free and this stream is first in the queue.
    pub fn try_take(&self) -> Option<Turn<'a>> {
        let mut queue = self.turns.queue();
        if queue.busy >= self.turns.slots || queue.first() != Some(self.ticket) {
            return None;
        }
        queue.waiting.remove(&self.ticket);
        Some(self.turns.hand_out(&mut queue))
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.turns.queue().waiting.remove(&self.ticket);
    }
}

impl Turn<'_> {
    /// Slots held: the decode may use this many slots' threads.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The share of all the slots this turn holds (1.0 with one decoder, or a wide turn).
    pub fn share(&self) -> f64 {
        self.width as f64 / self.turns.slots as f64
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut queue = self.turns.queue();
        queue.busy = queue.busy.saturating_sub(self.width);
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
        let turns = DecodeTurns::new(1);
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
        let turns = DecodeTurns::new(1);
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
        let turns = DecodeTurns::new(1);
        let waiter = turns.wait(at(10));
        assert!(turns.spare().is_none(), "a stream waits");
        let turn = waiter.try_take().unwrap();
        assert!(turns.spare().is_none(), "busy");
        drop(turn);
        drop(waiter);
        assert!(turns.spare().is_some());
    }

    #[test]
    fn two_slots_serve_the_two_oldest_and_a_lone_stream_takes_both() {
        let turns = DecodeTurns::new(2);
        let alone = turns.wait(at(5)).try_take().expect("all free");
        assert_eq!(alone.width(), 2, "nobody else waits: every slot");
        let newest = turns.wait(at(30));
        let oldest = turns.wait(at(10));
        let middle = turns.wait(at(20));
        assert!(oldest.try_take().is_none(), "a wide turn is never joined");
        drop(alone);
        assert!(newest.try_take().is_none(), "two others are older");
        let first = oldest.try_take().expect("oldest, a slot free");
        assert_eq!(first.width(), 1, "others wait: one slot");
        let second = middle.try_take().expect("next oldest, the second slot");
        assert_eq!(second.width(), 1, "one slot was busy");
        assert!(newest.try_take().is_none(), "both slots in use");
        assert!(turns.spare().is_none(), "a stream waits");
        drop(first);
        assert!(turns.spare().is_none(), "a stream still waits");
        let third = newest.try_take().expect("a slot came free");
        assert_eq!(third.width(), 1, "one slot was busy");
        drop(newest);
        drop(second);
        let look = turns.spare().expect("nobody waits, one slot free");
        assert_eq!(look.width(), 1);
        assert!(turns.spare().is_none(), "both slots in use");
        assert_eq!(look.share(), 0.5);
        drop((look, third));
        assert_eq!(
            turns.spare().map(|t| t.width()),
            Some(2),
            "idle: a look takes all"
        );
        let none = DecodeTurns::new(0);
        assert_eq!(
            none.spare().map(|t| (t.width(), t.share())),
            Some((1, 1.0)),
            "at least one slot"
        );
    }
}
