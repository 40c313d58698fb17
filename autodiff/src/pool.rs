//! Graph-node memory, with a per-thread cache of freed blocks.
//!
//! A tiny op's node is one allocation of a few hundred bytes, and a training step frees
//! its graph's nodes together and allocates as many again in the next step. The system
//! allocator caches only a few blocks of each size per thread (glibc: 7), so most of those
//! went through its slower shared lists: malloc and free were a tenth of a scalar op's
//! recording on the Zen 4 VM. Here a freed block of up to [`CLASSES`]·[`GRAIN`] bytes is
//! kept on the freeing thread, by size class, up to [`KEEP_BYTES`] per class, and the
//! thread's next node of that class reuses it.

use std::alloc::Layout;
use std::cell::RefCell;
use std::ptr::NonNull;

/// Size classes step by this many bytes.
const GRAIN: usize = 64;
/// Classes cover blocks up to `CLASSES · GRAIN` bytes; larger ones bypass the cache.
const CLASSES: usize = 16;
/// Blocks are aligned to this (what the system allocator gives anyway); nodes that need
/// more bypass the cache.
const ALIGN: usize = 16;
/// At most this many bytes of free blocks per class and thread.
const KEEP_BYTES: usize = 256 << 10;

struct Pool {
    free: [Vec<NonNull<u8>>; CLASSES],
}

impl Drop for Pool {
    fn drop(&mut self) {
        for (c, list) in self.free.iter().enumerate() {
            for &p in list {
                // SAFETY: every cached block came from `std::alloc::alloc` with its class's
                // layout (`alloc` below) and is owned by the cache alone.
                unsafe { std::alloc::dealloc(p.as_ptr(), class_layout(c)) };
            }
        }
    }
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool { free: [const { Vec::new() }; CLASSES] }) };
}

/// The class of blocks that serve `layout`, if one does.
fn class(layout: Layout) -> Option<usize> {
    let fits = layout.align() <= ALIGN && layout.size() > 0 && layout.size() <= CLASSES * GRAIN;
    fits.then(|| (layout.size() - 1) / GRAIN)
}

fn class_layout(c: usize) -> Layout {
    Layout::from_size_align((c + 1) * GRAIN, ALIGN).expect("class sizes are small multiples of the alignment")
}

fn system(layout: Layout) -> NonNull<u8> {
    // SAFETY: callers pass layouts of nonzero size (a node holds at least its count).
    let p = unsafe { std::alloc::alloc(layout) };
    NonNull::new(p).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
}

/// A block fit for `layout` (nonzero size): a cached one when its class has one.
pub(crate) fn alloc(layout: Layout) -> NonNull<u8> {
    debug_assert!(layout.size() > 0);
    let Some(c) = class(layout) else { return system(layout) };
    let cached = POOL.try_with(|p| p.try_borrow_mut().ok()?.free[c].pop()).ok().flatten();
    cached.unwrap_or_else(|| system(class_layout(c)))
}

/// Returns a block to the cache, or to the system allocator when its class is full.
///
/// # Safety
/// `p` came from [`alloc`] with this `layout`, and is not used afterwards.
pub(crate) unsafe fn free(p: NonNull<u8>, layout: Layout) {
    let Some(c) = class(layout) else {
        // SAFETY: a layout without a class was allocated by `system` as it is (caller's
        // contract).
        unsafe { std::alloc::dealloc(p.as_ptr(), layout) };
        return;
    };
    let cap = KEEP_BYTES / class_layout(c).size();
    let kept = POOL.try_with(|pool| {
        let mut pool = pool.try_borrow_mut().ok()?;
        let list = &mut pool.free[c];
        (list.len() < cap).then(|| list.push(p))
    });
    if kept.ok().flatten().is_none() {
        // SAFETY: blocks of class `c` come from `system(class_layout(c))` or the cache,
        // which holds only such blocks; the caller gives this one up.
        unsafe { std::alloc::dealloc(p.as_ptr(), class_layout(c)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A freed block is handed out again for any layout of its class, and blocks outside
    /// every class round-trip through the system allocator.
    #[test]
    fn reuses_blocks_by_class() {
        let a = Layout::from_size_align(200, 8).unwrap();
        let p = alloc(a);
        // SAFETY: `p` came from `alloc(a)` and is not used again.
        unsafe { free(p, a) };
        // 200 and 250 bytes share the class of 193..=256 bytes.
        let b = Layout::from_size_align(250, 16).unwrap();
        let q = alloc(b);
        assert_eq!(p, q);
        // SAFETY: as above.
        unsafe { free(q, b) };
        for big in [Layout::from_size_align(4096, 8).unwrap(), Layout::from_size_align(64, 128).unwrap()] {
            assert_eq!(class(big), None);
            let r = alloc(big);
            assert_eq!(r.as_ptr() as usize % big.align(), 0);
            // SAFETY: as above.
            unsafe { free(r, big) };
        }
    }
}
