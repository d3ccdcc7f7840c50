//! Panics in code that reads hostile input, turned into errors.
//!
//! Input: a closure that calls into a library over bytes someone else chose (a decoder, a
//! container reader). Output: its result, or `Err(message)` when it panicked. A crafted file
//! that trips an overflow check in a decoder must give the one-line error every bad input gets,
//! not an exit 101 with a backtrace, and in `serve` it must cost one source session, not a
//! stream.
//!
//! [`catch`] marks the thread while the closure runs; the hook [`install_quiet_hook`] puts in
//! place (`main` does) stays silent for a panic [`catch`] is about to turn into an error, and
//! prints every other panic as the default hook would.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    static CATCHING: Cell<u32> = const { Cell::new(0) };
}

/// Runs `work`; a panic inside it becomes `Err` with the panic's message.
pub fn catch<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    CATCHING.with(|c| c.set(c.get() + 1));
    let outcome = panic::catch_unwind(AssertUnwindSafe(work));
    CATCHING.with(|c| c.set(c.get() - 1));
    outcome.map_err(|panic| message(&*panic))
}

/// The message of a caught panic payload.
pub fn message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Replaces the panic hook with one that is quiet inside [`catch`] and otherwise defers to the
/// hook that was there before.
pub fn install_quiet_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if CATCHING.with(Cell::get) == 0 {
            previous(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_nesting_is_counted() {
        assert_eq!(catch(|| 7), Ok(7));
        assert_eq!(
            catch(|| -> u8 { panic!("boom {}", 1) }),
            Err("boom 1".into())
        );
        assert_eq!(catch(|| -> u8 { panic!("static") }), Err("static".into()));
        let nested = catch(|| catch(|| -> u8 { panic!("inner") }));
        assert_eq!(nested, Ok(Err("inner".into())));
        assert_eq!(CATCHING.with(Cell::get), 0);
    }
}
