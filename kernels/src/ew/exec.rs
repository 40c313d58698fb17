//! Where a slice kernel runs: the instruction set and the threads ([`Exec`]), and the
//! splitting of long slices across the caller's rayon pool.

use crate::{Isa, Par};
use rayon::prelude::*;
use std::cell::Cell;

/// The execution settings of the slice kernels: instruction set and threads.
///
/// The free functions of [`crate::ew`] run with [`Exec::current`]: the settings of the
/// innermost [`Exec::run`] on this thread, else [`Exec::default`] (the selected
/// instruction set, all threads of the current rayon pool).
///
/// ```
/// use kernels::ew::{self, Exec, Unary};
/// use kernels::{Isa, Par};
/// let x = [0.0f32, 1.0];
/// let mut y = [0.0f32; 2];
/// Exec { isa: Isa::Portable, par: Par::Seq }.run(|| ew::map(Unary::Exp, &x, &mut y));
/// assert_eq!(y[0], 1.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exec {
    /// Instruction set; must be available on the host.
    pub isa: Isa,
    /// Threads for long slices (work is split only above a per-op threshold).
    pub par: Par,
}

impl Default for Exec {
    fn default() -> Self {
        Exec { isa: Isa::selected(), par: Par::All }
    }
}

thread_local! {
    static CURRENT: Cell<Option<Exec>> = const { Cell::new(None) };
}

impl Exec {
    /// The settings in force on this thread.
    ///
    /// ```
    /// assert_eq!(kernels::ew::Exec::current(), kernels::ew::Exec::default());
    /// ```
    pub fn current() -> Exec {
        CURRENT.with(|c| c.get()).unwrap_or_default()
    }

    /// Runs `f` with these settings in force on this thread (restored afterwards, also on
    /// panic).
    ///
    /// # Panics
    /// If the instruction set is not available on this host.
    ///
    /// ```
    /// use kernels::ew::Exec;
    /// use kernels::{Isa, Par};
    /// let e = Exec { isa: Isa::Portable, par: Par::Seq };
    /// assert_eq!(e.run(Exec::current), e);
    /// ```
    #[track_caller]
    pub fn run<R>(self, f: impl FnOnce() -> R) -> R {
        assert!(
            self.isa.is_available(),
            "Exec::run: the {} path is not available on this host (available: {:?})",
            self.isa,
            Isa::available()
        );
        struct Restore(Option<Exec>);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.with(|c| c.set(self.0));
            }
        }
        let _restore = Restore(CURRENT.with(|c| c.replace(Some(self))));
        f()
    }
}

/// A pointer that may cross to rayon workers; each worker touches a disjoint range.
pub(crate) struct SendPtr<T>(pub *mut T);
impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}
impl<T> SendPtr<T> {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}
// SAFETY: only used to hand disjoint sub-ranges of one buffer to scoped workers.
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SendPtr<T> {}

/// Calls `f(start, end)` over `0..n` in chunks: one chunk unless every thread would get at
/// least `min_per_thread` units, then one chunk per thread (chunk starts rounded to
/// multiples of `align`), in the caller's rayon pool.
pub(crate) fn for_chunks(
    par: Par,
    n: usize,
    min_per_thread: usize,
    align: usize,
    f: impl Fn(usize, usize) + Sync,
) {
    let threads = if n < 2 * min_per_thread { 1 } else { par.threads().min(n / min_per_thread) };
    if threads <= 1 {
        if n > 0 {
            f(0, n);
        }
        return;
    }
    let chunk = n.div_ceil(threads).next_multiple_of(align.max(1));
    (0..threads).into_par_iter().for_each(|t| {
        let start = (t * chunk).min(n);
        let end = (start + chunk).min(n);
        if start < end {
            f(start, end);
        }
    });
}
