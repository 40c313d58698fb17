//! Reusable, 64-byte-aligned packing buffers, one pair per thread.
//!
//! A buffer is taken out of its thread-local slot for the duration of one use and put
//! back afterwards. If rayon runs another GEMM on this thread while the first waits (work
//! stealing), the nested call finds the slot empty and allocates its own: no aliasing, no
//! `RefCell` panics. In steady state no call allocates.

use std::cell::Cell;
use std::thread::LocalKey;

/// One cache line of storage; the buffer's unit, so its start is 64-byte aligned.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

thread_local! {
    static A_SLOT: Cell<Vec<Line>> = const { Cell::new(Vec::new()) };
    static B_SLOT: Cell<Vec<Line>> = const { Cell::new(Vec::new()) };
}

/// Which thread-local slot a buffer comes from.
#[derive(Clone, Copy)]
pub(crate) enum Slot {
    /// The packed A block (per worker).
    A,
    /// The packed B panel (per calling thread).
    B,
}

/// A packing buffer on loan from its thread's slot; returned on drop.
pub(crate) struct PackBuf {
    lines: Vec<Line>,
    slot: &'static LocalKey<Cell<Vec<Line>>>,
}

impl PackBuf {
    /// Borrows a buffer of at least `bytes` bytes from `slot`.
    pub fn take(slot: Slot, bytes: usize) -> PackBuf {
        let slot = match slot {
            Slot::A => &A_SLOT,
            Slot::B => &B_SLOT,
        };
        let mut lines = slot.take();
        let need = bytes.div_ceil(64);
        if lines.len() < need {
            lines = vec![Line([0; 64]); need];
        }
        PackBuf { lines, slot }
    }

    /// The buffer's start as a `T` pointer (64-byte aligned, so aligned for f32/f64).
    pub fn as_mut_ptr<T>(&mut self) -> *mut T {
        self.lines.as_mut_ptr().cast()
    }
}

impl Drop for PackBuf {
    fn drop(&mut self) {
        let lines = std::mem::take(&mut self.lines);
        // Keep the larger of this buffer and whatever a nested call left in the slot.
        let other = self.slot.take();
        self.slot.set(if other.len() > lines.len() { other } else { lines });
    }
}
