//! The count of live graph nodes ([`live_nodes`](crate::live_nodes)), sharded per thread:
//! making or dropping a node updates its thread's shard with a plain load and store, where
//! one process-wide counter took a locked instruction each time (≈ 10 ns apiece on the
//! Intel Xeon VMs, twice per node of a tiny op's few hundred).

use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The registry, locked (a thread that panicked holding it left it consistent: every
/// update is one push, retain or addition).
fn lock(m: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The shards of the threads that have one, and the net count of threads that have ended.
struct Registry {
    shards: Vec<Arc<AtomicIsize>>,
    retired: isize,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { shards: Vec::new(), retired: 0 });

/// A thread's shard: nodes made on this thread minus nodes dropped on it (either may be
/// larger: a graph can be built on one thread and freed on another).
struct Shard(Arc<AtomicIsize>);

impl Shard {
    fn new() -> Self {
        let s = Arc::new(AtomicIsize::new(0));
        lock(&REGISTRY).shards.push(s.clone());
        Shard(s)
    }
}

impl Drop for Shard {
    /// At thread exit the shard's count moves to `retired`, in one step under the lock
    /// that [`live`] reads under.
    fn drop(&mut self) {
        let mut r = lock(&REGISTRY);
        r.shards.retain(|s| !Arc::ptr_eq(s, &self.0));
        r.retired += self.0.load(Relaxed);
    }
}

thread_local! {
    static SHARD: Shard = Shard::new();
}

/// Counts `delta` nodes made (positive) or dropped (negative) on this thread.
pub(crate) fn add(delta: isize) {
    let counted = SHARD.try_with(|s| {
        // Only this thread writes its shard, so a plain read-modify-write loses nothing;
        // the atomic type lets other threads read it.
        s.0.store(s.0.load(Relaxed) + delta, Relaxed);
    });
    if counted.is_err() {
        // The thread is ending and its shard has been retired already.
        lock(&REGISTRY).retired += delta;
    }
}

/// Nodes alive in the process: the retired count plus every shard (a shard read while its
/// thread updates it gives the value before or after; a sum taken while a node moves
/// between threads may be off by the nodes in flight, never below zero).
pub(crate) fn live() -> usize {
    let r = lock(&REGISTRY);
    let n = r.retired + r.shards.iter().map(|s| s.load(Relaxed)).sum::<isize>();
    n.max(0) as usize
}
