//! Tensor buffers, with a per-thread cache of large ones.
//!
//! A training step allocates the same large buffers (activations, gradients) every
//! iteration. Fresh large allocations come from the OS as untouched pages, and the first
//! write to each page faults: measured on the 2-core VM this doubled the weight-gradient
//! GEMM of the batch-256 MLP (1.4 ms instead of 0.85 ms) and made a 256×512×10 product
//! 10× slower than its arithmetic. So a dropped buffer of at least [`MIN_BYTES`] goes to
//! a cache on the dropping thread, keyed by element type and length, and the next buffer
//! of that length on that thread reuses it (as PyTorch's caching allocator does). The
//! cache holds at most [`PER_LEN`] buffers per length and [`MAX_BYTES`] in all; beyond
//! that, buffers are freed normally.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use kernels::Element;

/// Smaller buffers are cheap to allocate fresh (the allocator's own free lists serve them).
const MIN_BYTES: usize = 64 << 10;
/// The cache's bound per thread.
const MAX_BYTES: usize = 256 << 20;
/// Buffers kept per (type, length).
const PER_LEN: usize = 8;

#[derive(Default)]
struct Cache {
    free: HashMap<(TypeId, usize), Vec<Box<dyn Any>>>,
    bytes: usize,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

fn take<T: Element>(n: usize) -> Option<Vec<T>> {
    let bytes = n * size_of::<T>();
    if bytes < MIN_BYTES {
        return None;
    }
    CACHE
        .try_with(|c| {
            let mut c = c.try_borrow_mut().ok()?;
            let v = c.free.get_mut(&(TypeId::of::<T>(), n))?.pop()?;
            c.bytes -= bytes;
            v.downcast::<Vec<T>>().ok().map(|b| *b)
        })
        .ok()
        .flatten()
}

fn give<T: Element>(v: Vec<T>) {
    let bytes = v.len() * size_of::<T>();
    if bytes < MIN_BYTES {
        return;
    }
    // During thread teardown or a reentrant borrow the buffer is simply freed.
    let _ = CACHE.try_with(|c| {
        if let Ok(mut c) = c.try_borrow_mut()
            && c.bytes + bytes <= MAX_BYTES
        {
            let list = c.free.entry((TypeId::of::<T>(), v.len())).or_default();
            if list.len() < PER_LEN {
                list.push(Box::new(v));
                c.bytes += bytes;
            }
        }
    });
}

/// Tensors of at most this many elements keep them inline (no allocation besides the
/// `Arc`): scalars and tiny vectors are the bulk of a graph's bookkeeping-bound ops.
pub(crate) const INLINE: usize = 4;

/// A tensor's values: inline when tiny, else a `Vec` that returns to the cache when dropped.
pub(crate) enum Buffer<T: Element> {
    Inline(usize, [T; INLINE]),
    Heap(Vec<T>),
}

/// Panics, naming the count, if `n` elements of `T` cannot be one allocation (more than
/// `isize::MAX` bytes): otherwise the byte count would overflow in the cache's
/// bookkeeping or surface as the allocator's bare "capacity overflow". (A count that fits
/// the address space but not the machine is the allocator's to refuse: it aborts.)
#[track_caller]
pub(crate) fn check_len<T: Element>(n: usize) {
    assert!(
        n <= isize::MAX as usize / size_of::<T>(),
        "a tensor of {n} {} elements needs more than isize::MAX bytes",
        T::NAME
    );
}

impl<T: Element> Buffer<T> {
    /// `n` elements, all to be overwritten by the caller (a reused buffer holds stale
    /// values: initialised, but meaningless).
    ///
    /// # Panics
    /// As [`check_len`].
    #[track_caller]
    pub(crate) fn for_overwrite(n: usize) -> Self {
        check_len::<T>(n);
        if n <= INLINE {
            return Buffer::Inline(n, [T::ZERO; INLINE]);
        }
        Buffer::Heap(take(n).unwrap_or_else(|| vec![T::ZERO; n]))
    }

    /// `n` zeros.
    pub(crate) fn zeroed(n: usize) -> Self {
        let mut b = Buffer::for_overwrite(n);
        if let Buffer::Heap(v) = &mut b {
            v.fill(T::ZERO);
        }
        b
    }
}

impl<T: Element> From<Vec<T>> for Buffer<T> {
    fn from(v: Vec<T>) -> Self {
        if v.len() <= INLINE {
            let mut a = [T::ZERO; INLINE];
            a[..v.len()].copy_from_slice(&v);
            return Buffer::Inline(v.len(), a);
        }
        Buffer::Heap(v)
    }
}

impl<T: Element> Clone for Buffer<T> {
    fn clone(&self) -> Self {
        let mut b = Buffer::for_overwrite(self.len());
        b.copy_from_slice(self);
        b
    }
}

impl<T: Element> Drop for Buffer<T> {
    fn drop(&mut self) {
        if let Buffer::Heap(v) = self {
            give(std::mem::take(v));
        }
    }
}

impl<T: Element> Deref for Buffer<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Buffer::Inline(n, a) => &a[..*n],
            Buffer::Heap(v) => v,
        }
    }
}

impl<T: Element> DerefMut for Buffer<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Buffer::Inline(n, a) => &mut a[..*n],
            Buffer::Heap(v) => v,
        }
    }
}

/// A tensor's values as the tensor holds them: tiny buffers by value (cloning copies a
/// few words: no shared counter, no allocation), larger ones shared behind an `Arc`.
///
/// Scalars and tiny vectors are the bulk of a bookkeeping-bound graph, and each of their
/// ops clones its inputs and output into the graph node; an atomic reference-count update
/// costs ≈ 10 ns on the Intel Xeon VMs (measured: an `Arc` clone and drop 16–19 ns), as
/// much as the arithmetic of the op many times over.
#[derive(Clone)]
pub(crate) enum Data<T: Element> {
    Inline(u8, [T; INLINE]),
    Shared(Arc<Buffer<T>>),
}

impl<T: Element> From<Buffer<T>> for Data<T> {
    fn from(b: Buffer<T>) -> Self {
        match b {
            Buffer::Inline(n, a) => Data::Inline(n as u8, a),
            heap => Data::Shared(Arc::new(heap)),
        }
    }
}

impl<T: Element> Data<T> {
    /// Zeros held inline, for `n` elements few enough (`None` otherwise). Filled in place
    /// through [`get_mut`](Data::get_mut), a tiny tensor's values are written where they
    /// stay: written into a [`Buffer`] and moved into a `Data`, they are read back by wider
    /// loads than wrote them, which the CPU cannot forward from its store buffer (a stall
    /// measured at a third of a scalar op's forward on the Zen 4 VM).
    pub(crate) fn inline_zeros(n: usize) -> Option<Self> {
        (n <= INLINE).then(|| Data::Inline(n as u8, [T::ZERO; INLINE]))
    }

    /// The first `n` (at most [`INLINE`]) of `values`, held inline: for values computed in
    /// registers, which then go straight to where they stay.
    pub(crate) fn inline(n: usize, values: [T; INLINE]) -> Self {
        assert!(n <= INLINE, "{n} values do not fit inline");
        Data::Inline(n as u8, values)
    }

    /// The values to write into, when no other tensor shares them.
    pub(crate) fn get_mut(&mut self) -> Option<&mut [T]> {
        match self {
            Data::Inline(n, a) => Some(&mut a[..*n as usize]),
            Data::Shared(b) => Arc::get_mut(b).map(|b| &mut b[..]),
        }
    }

    /// The values to write into, copied first if another tensor shares them.
    pub(crate) fn make_mut(&mut self) -> &mut [T] {
        match self {
            Data::Inline(n, a) => &mut a[..*n as usize],
            Data::Shared(b) => &mut Arc::make_mut(b)[..],
        }
    }
}

impl<T: Element> Deref for Data<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        match self {
            Data::Inline(n, a) => &a[..*n as usize],
            Data::Shared(b) => b,
        }
    }
}
