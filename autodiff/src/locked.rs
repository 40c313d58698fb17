//! `Locked`: a value behind a one-byte spin lock, for a graph node's slot.
//!
//! A node's slot is taken once by a sweep (or cloned, when the graph is retained) and a
//! leaf's read or accumulated a few times: critical sections of a few moves, contended
//! only when two threads sweep one graph at once. `std`'s `Mutex` costs two locked
//! instructions per use (its unlock is an atomic swap, to learn whether to wake a waiter);
//! here the unlock is a plain release store, and a waiter yields its time slice instead
//! of sleeping. On the Intel Xeon VMs a locked instruction costs ≈ 10 ns, and the slot's
//! lock and unlock were 7% of a tiny op's recording and sweep (measured with perf).
//!
//! Besides short locked uses, the value can be *owned* for a long one: a sweep runs an op's
//! rule on its saved values where they lie (moving them out cost a `memcpy` call, ≈ 15 ns
//! of a tiny op on the Zen 4 VM) and then frees them. While owned, the value is out of
//! everyone else's reach: `with` returns `None` at once rather than wait, so a rule that
//! comes back to its own node (on this thread) cannot deadlock, and a sweep on another
//! thread reads the node as swept, which it is about to be.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU8, Ordering};

/// A value that one thread at a time may use, through [`Locked::with`].
/// States of a [`Locked`].
const FREE: u8 = 0;
const BUSY: u8 = 1;
const OWNED: u8 = 2;

pub(crate) struct Locked<X> {
    state: AtomicU8,
    value: UnsafeCell<X>,
}

// SAFETY: the value is only reached through `with`, which grants it to one thread at a
// time (the lock), so sharing a `Locked` between threads moves the value between them as
// sending it would: sound when `X: Send`, as for `Mutex`.
unsafe impl<X: Send> Sync for Locked<X> {}

/// Releases the lock when dropped, on unwinding too (a panicking user of the value leaves
/// it as it was left, as a poisoned `Mutex` read with `into_inner` would).
struct Unlock<'a>(&'a AtomicU8);

impl Drop for Unlock<'_> {
    fn drop(&mut self) {
        self.0.store(FREE, Ordering::Release);
    }
}

/// The value of a [`Locked`], owned until this drops.
pub(crate) struct Owned<'a, X> {
    cell: &'a Locked<X>,
    /// Frees the value for others when the guard drops.
    _unlock: Unlock<'a>,
}

impl<X> Deref for Owned<'_, X> {
    type Target = X;
    fn deref(&self) -> &X {
        // SAFETY: the state is OWNED, set by `own` for this guard alone: no one else reads
        // or writes the value until the guard's `Unlock` drops.
        unsafe { &*self.cell.value.get() }
    }
}

impl<X> DerefMut for Owned<'_, X> {
    fn deref_mut(&mut self) -> &mut X {
        // SAFETY: as for `deref`; `&mut self` makes this borrow the guard's only one.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<X> Locked<X> {
    pub(crate) fn new(value: X) -> Self {
        Locked { state: AtomicU8::new(FREE), value: UnsafeCell::new(value) }
    }

    /// Moves the state from FREE to `to`, waiting while it is BUSY; `false` (and nothing
    /// changed) if the value is owned.
    fn acquire(&self, to: u8) -> bool {
        // Acquire pairs with the release of the previous user's unlock: its writes to the
        // value happen before ours.
        loop {
            match self.state.compare_exchange_weak(FREE, to, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(OWNED) => return false,
                Err(_) => std::thread::yield_now(),
            }
        }
    }

    /// Runs `f` on the value under the lock; `None` (without waiting) while it is owned.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut X) -> R) -> Option<R> {
        if !self.acquire(BUSY) {
            return None;
        }
        let _unlock = Unlock(&self.state);
        // SAFETY: this thread moved the state from FREE to BUSY, so no other thread reads
        // or writes the value until `_unlock` stores FREE after `f` returns (or unwinds);
        // `&self` keeps the value alive for that long.
        Some(f(unsafe { &mut *self.value.get() }))
    }

    /// The value, owned until the guard drops; `None` if it is owned already.
    pub(crate) fn own(&self) -> Option<Owned<'_, X>> {
        self.acquire(OWNED).then(|| Owned { cell: self, _unlock: Unlock(&self.state) })
    }

    #[cfg(test)]
    pub(crate) fn get_mut(&mut self) -> &mut X {
        self.value.get_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::Locked;

    /// Four threads adding to one counter under the lock lose no update, and a panic
    /// inside `with` releases it.
    #[test]
    fn excludes_and_releases_on_unwinding() {
        let mut n = Locked::new(0u64);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..10_000 {
                        // A read and a write apart: without exclusion, updates are lost.
                        n.with(|v| {
                            let x = *v;
                            std::hint::black_box(());
                            *v = x + 1;
                        });
                    }
                });
            }
        });
        assert_eq!(*n.get_mut(), 40_000);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| n.with(|_| panic!("inside"))));
        assert!(r.is_err());
        assert_eq!(n.with(|v| *v), Some(40_000)); // not left locked: this would wait forever
    }

    /// An owned value is out of reach (`with` and `own` answer `None` at once, so a
    /// reentrant use cannot deadlock) until its guard drops, on unwinding too.
    #[test]
    fn owning_excludes_without_waiting() {
        let n = Locked::new(1u64);
        let mut o = n.own().expect("free");
        *o += 1;
        assert!(n.with(|v| *v).is_none());
        assert!(n.own().is_none());
        drop(o);
        assert_eq!(n.with(|v| *v), Some(2));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _o = n.own();
            panic!("inside")
        }));
        assert!(r.is_err());
        assert_eq!(n.with(|v| *v), Some(2));
    }
}
