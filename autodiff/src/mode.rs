//! Per-thread switches: graph recording (`no_grad`), the numerics check, and the stack of
//! active forward-mode levels.
//!
//! Each thread records its own graphs; tensors are `Send + Sync` and may cross threads, but
//! a switch set on one thread does not affect another. Forward-mode levels are open per
//! thread but numbered process-wide, so a dual tensor carried to another thread can never
//! pass for a level open there (its tangent would be mixed into the wrong derivative).

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};

/// A forward-mode level: unique in the process, increasing in the order levels open.
pub(crate) type Level = u64;

/// The next level to open, shared by all threads: per-thread numbering would give two
/// threads' first `jvp` the same level. 64 bits never wrap in practice (10⁹ levels a
/// second for 500 years).
static NEXT_LEVEL: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static RECORDING: Cell<bool> = const { Cell::new(true) };
    static CHECK: Cell<bool> = const { Cell::new(false) };
    static LEVELS: RefCell<Vec<Level>> = const { RefCell::new(Vec::new()) };
}

/// Whether ops on tracked tensors record graph nodes on this thread.
#[inline]
pub(crate) fn recording() -> bool {
    RECORDING.with(Cell::get)
}

/// Restores a `Cell<bool>` switch on drop (also on panic).
struct Restore(&'static std::thread::LocalKey<Cell<bool>>, bool);
impl Drop for Restore {
    fn drop(&mut self) {
        self.0.with(|c| c.set(self.1));
    }
}

fn with_switch<R>(key: &'static std::thread::LocalKey<Cell<bool>>, on: bool, f: impl FnOnce() -> R) -> R {
    let _restore = Restore(key, key.with(|c| c.replace(on)));
    f()
}

/// Runs `f` without recording: ops inside build no graph, so nothing computed there can be
/// differentiated by reverse mode (forward-mode tangents still propagate). For evaluation
/// and parameter updates.
///
/// ```
/// use autodiff::{no_grad, Tensor};
/// let w = Tensor::scalar(2.0f32).requires_grad();
/// let y = no_grad(|| &w * 3.0);
/// assert!(!y.is_tracked());
/// ```
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    with_switch(&RECORDING, false, f)
}

/// Runs `f` with recording on (undoing an enclosing [`no_grad`]).
///
/// ```
/// use autodiff::{enable_grad, no_grad, Tensor};
/// let w = Tensor::scalar(2.0f32).requires_grad();
/// assert!(no_grad(|| enable_grad(|| &w * 3.0)).is_tracked());
/// ```
pub fn enable_grad<R>(f: impl FnOnce() -> R) -> R {
    with_switch(&RECORDING, true, f)
}

pub(crate) fn set_recording<R>(on: bool, f: impl FnOnce() -> R) -> R {
    with_switch(&RECORDING, on, f)
}

/// Runs `f` with the numerics check on: every op's output and every gradient a backward
/// sweep produces is scanned, and the first op that turns finite inputs into NaN or ±inf
/// panics with its name, its input shapes and whether the value or the gradient went bad.
/// Costs one pass over each result; off by default.
///
/// ```
/// use autodiff::{check_numerics, Tensor};
/// let r = std::panic::catch_unwind(|| {
///     check_numerics(|| Tensor::from_vec(vec![1.0f64, -1.0], &[2]).ln())
/// });
/// let msg = *r.unwrap_err().downcast::<String>().unwrap();
/// assert!(msg.contains("`ln`") && msg.contains("NaN"), "{msg}");
/// ```
pub fn check_numerics<R>(f: impl FnOnce() -> R) -> R {
    with_switch(&CHECK, true, f)
}

pub(crate) fn set_checking<R>(on: bool, f: impl FnOnce() -> R) -> R {
    with_switch(&CHECK, on, f)
}

#[inline]
pub(crate) fn checking() -> bool {
    CHECK.with(Cell::get)
}

/// Pops the level pushed by [`push_level`] on drop (also on panic).
pub(crate) struct LevelGuard(pub(crate) Level);
impl Drop for LevelGuard {
    fn drop(&mut self) {
        LEVELS.with(|l| {
            let mut l = l.borrow_mut();
            debug_assert_eq!(l.last(), Some(&self.0));
            l.pop();
        });
    }
}

/// Opens a new forward-mode level, above every active one (on this thread, and above
/// every level any thread opened before).
pub(crate) fn push_level() -> LevelGuard {
    let level = NEXT_LEVEL.fetch_add(1, Ordering::Relaxed);
    assert!(level != Level::MAX, "forward-mode level counter overflow");
    LEVELS.with(|l| l.borrow_mut().push(level));
    LevelGuard(level)
}

/// Whether `level` is open on this thread.
pub(crate) fn level_active(level: Level) -> bool {
    LEVELS.with(|l| l.borrow().contains(&level))
}
