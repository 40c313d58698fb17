//! `NodeRef`: a counted, shared reference to a graph node, as `Arc` but without the weak
//! count.
//!
//! Graph nodes are never referenced weakly, and `Arc` pays for its weak count when a node
//! is freed: a second atomic decrement, and a compare-exchange to test uniqueness (the
//! iterative drop tests every node it frees). Each such locked instruction costs ≈ 10 ns on
//! the Intel Xeon VMs (see ARCHITECTURE.md), as much as a tiny op's arithmetic many times
//! over. With one strong count, freeing is one decrement and uniqueness one load. The
//! memory orderings are `Arc`'s: increments relaxed (a new reference is made from an
//! existing one, which keeps the node alive), the decrement releases the holder's writes,
//! and whoever frees the node (or gets it exclusively) first acquires everyone's.

use std::alloc::Layout;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering, fence};

use kernels::Element;

use crate::graph::Node;
use crate::op::Op;

/// The allocation behind a [`NodeRef`]: the count and the node (with its op, unsized in
/// graphs: `O = dyn Op<T>`).
struct Counted<T: Element, O: ?Sized = dyn Op<T>> {
    count: AtomicUsize,
    node: Node<T, O>,
}

/// A counted reference to a graph node: cloning it shares the node, the last one dropped
/// frees it.
pub(crate) struct NodeRef<T: Element> {
    ptr: NonNull<Counted<T>>,
    /// Owns a `Counted<T>` (for the drop check), shared across threads like an `Arc`.
    _owns: PhantomData<Counted<T>>,
}

// SAFETY: a `NodeRef` hands out only `&Node` (shared) across threads, and `&mut Node` only
// to the holder of the sole reference (`get_mut`), as `Arc` does; so it may cross and be
// shared between threads exactly when the node may be both sent and shared.
unsafe impl<T: Element> Send for NodeRef<T> where Node<T>: Send + Sync {}
// SAFETY: as for `Send`.
unsafe impl<T: Element> Sync for NodeRef<T> where Node<T>: Send + Sync {}

/// More references than this is a leak of references (as `Arc` bounds its count).
const MAX_REFS: usize = isize::MAX as usize;

impl<T: Element> NodeRef<T> {
    /// A new node, with one reference (this one).
    pub(crate) fn new<O: Op<T>>(make: impl FnOnce() -> Node<T, O>) -> Self {
        let block = crate::pool::alloc(Layout::new::<Counted<T, O>>()).cast::<Counted<T, O>>();
        // SAFETY: the block is fresh, sized and aligned for a `Counted<T, O>`.
        unsafe { block.as_ptr().write(Counted { count: AtomicUsize::new(1), node: make() }) };
        let ptr: NonNull<Counted<T>> = block;
        NodeRef { ptr, _owns: PhantomData }
    }

    /// The node's address: equal for references to the same node.
    pub(crate) fn addr(&self) -> usize {
        self.ptr.as_ptr() as *const () as usize
    }

    /// Whether this is the node's only reference (at the moment of asking: another
    /// thread holding one may clone it meanwhile).
    pub(crate) fn is_unique(&self) -> bool {
        self.counted().count.load(Ordering::Relaxed) == 1
    }

    /// The node, mutably, if this is its only reference.
    pub(crate) fn get_mut(&mut self) -> Option<&mut Node<T>> {
        // The acquire pairs with the release decrements of dropped references, so their
        // holders' writes to the node happen before ours.
        if self.counted().count.load(Ordering::Acquire) != 1 {
            return None;
        }
        // SAFETY: the count is 1 and this reference is it: no other reference exists (and
        // none can be made except by cloning this one, which `&mut self` excludes), so the
        // node is ours alone for the borrow's length; the pointer is live (we hold it).
        Some(unsafe { &mut (*self.ptr.as_ptr()).node })
    }

    fn counted(&self) -> &Counted<T> {
        // SAFETY: the allocation lives while any reference does, and this one does.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: Element> Clone for NodeRef<T> {
    fn clone(&self) -> Self {
        let old = self.counted().count.fetch_add(1, Ordering::Relaxed);
        if old > MAX_REFS {
            // Unreachable without leaking references by the billions; abort as `Arc` does
            // rather than let the count wrap and free a node still in use.
            std::process::abort();
        }
        NodeRef { ptr: self.ptr, _owns: PhantomData }
    }
}

impl<T: Element> Deref for NodeRef<T> {
    type Target = Node<T>;
    fn deref(&self) -> &Node<T> {
        &self.counted().node
    }
}

impl<T: Element> Drop for NodeRef<T> {
    fn drop(&mut self) {
        if self.counted().count.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // The last reference: acquire every other holder's writes before freeing.
        fence(Ordering::Acquire);
        let layout = Layout::for_value(self.counted());
        // SAFETY: the count reached 0 by this decrement, so no other reference exists and
        // none can be made: the node is dropped once, and its block (from `pool::alloc`
        // with the layout of its type, which `for_value` gives back) freed once.
        unsafe {
            std::ptr::drop_in_place(self.ptr.as_ptr());
            crate::pool::free(self.ptr.cast(), layout);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    /// Clones share the node (one address), the count follows clones and drops, and
    /// `get_mut` is granted exactly to a sole reference.
    #[test]
    fn counts_clones_and_grants_exclusive_access_only_when_alone() {
        let mut a = Node::<f64>::leaf();
        assert!(a.get_mut().is_some());
        let b = a.clone();
        assert_eq!(a.addr(), b.addr());
        assert_eq!(a.counted().count.load(Ordering::Relaxed), 2);
        assert!(a.get_mut().is_none());
        drop(b);
        assert!(a.get_mut().is_some());
        // A node of another graph has another address.
        assert_ne!(a.addr(), Node::<f64>::leaf().addr());
    }

    /// Threads cloning and dropping references to shared nodes concurrently leave the
    /// counts exact: afterwards the one reference kept is the only one.
    #[test]
    fn threads_sharing_nodes_free_them_once() {
        let x = Tensor::scalar(1.0f64).requires_grad();
        let y = &x * &x;
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        let z = &y + &x;
                        drop(z.clone());
                    }
                });
            }
        });
        let node = y.node.clone().expect("y is tracked");
        drop(y);
        // `node` is now the op's only reference: the others were dropped by the threads.
        let mut node = node;
        assert!(node.get_mut().is_some());
    }
}
