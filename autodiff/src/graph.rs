//! Graph nodes: what an op records so the reverse sweep can run its VJP rule.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use kernels::Element;

use crate::Tensor;
use crate::op::Op;

/// An op's inputs, inline for the common one- and two-input ops (no allocation).
pub(crate) enum Inputs<T: Element> {
    One([Tensor<T>; 1]),
    Two([Tensor<T>; 2]),
    Many(Vec<Tensor<T>>),
}

impl<T: Element> Inputs<T> {
    pub(crate) fn new(x: &[&Tensor<T>]) -> Self {
        match x {
            [a] => Inputs::One([(*a).clone()]),
            [a, b] => Inputs::Two([(*a).clone(), (*b).clone()]),
            _ => Inputs::Many(x.iter().map(|t| (*t).clone()).collect()),
        }
    }

    pub(crate) fn as_slice(&self) -> &[Tensor<T>] {
        match self {
            Inputs::One(a) => a,
            Inputs::Two(a) => a,
            Inputs::Many(v) => v,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [Tensor<T>] {
        match self {
            Inputs::One(a) => a,
            Inputs::Two(a) => a,
            Inputs::Many(v) => v,
        }
    }
}

impl<T: Element> Clone for Inputs<T> {
    fn clone(&self) -> Self {
        match self {
            Inputs::One(a) => Inputs::One(a.clone()),
            Inputs::Two(a) => Inputs::Two(a.clone()),
            Inputs::Many(v) => Inputs::Many(v.clone()),
        }
    }
}

/// What an op node keeps for its backward rule: its inputs (with their nodes and tangents)
/// and its output's values and tangents (not its node: the sweep supplies that, so a node
/// never owns itself). Taken, and so freed, when the sweep has used it, unless the sweep
/// retains the graph.
pub(crate) struct Saved<T: Element> {
    pub(crate) inputs: Inputs<T>,
    pub(crate) out: Tensor<T>,
}

impl<T: Element> Clone for Saved<T> {
    fn clone(&self) -> Self {
        Saved { inputs: self.inputs.clone(), out: self.out.clone() }
    }
}

/// Graph nodes alive in this process: made by [`Node::leaf`] and [`Node::with_op`], counted
/// down by `Node`'s drop.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// How many reverse-mode graph nodes (leaves and recorded ops, of every thread and both
/// precisions) are alive in this process: what a leak check across training iterations
/// watches. A graph's nodes live while a tensor of it does (or its gradient sweep has not
/// released them); a loop that frees each iteration's graph returns to the same count.
///
/// ```
/// use autodiff::{Tensor, live_nodes};
/// let before = live_nodes();
/// let x = Tensor::scalar(2.0f64).requires_grad();
/// let y = &x * &x;
/// assert!(live_nodes() >= before + 2); // x's leaf and y's op (other threads may add more)
/// drop((x, y));
/// ```
pub fn live_nodes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// A node of a reverse-mode graph: a leaf (made by `requires_grad` or a transform), or the
/// output of op `O` on tracked inputs. One allocation holds the node and its op; graphs
/// use the unsized `Node<T>` (`O = dyn Op<T>`).
pub(crate) struct Node<T: Element, O: ?Sized = dyn Op<T>> {
    pub(crate) leaf: bool,
    /// A leaf's accumulated gradient (`Tensor::backward`); unused by op nodes.
    pub(crate) grad: Mutex<Option<Tensor<T>>>,
    /// An op node's saved values; `None` for a leaf or once swept.
    pub(crate) saved: Mutex<Option<Saved<T>>>,
    pub(crate) op: O,
}

/// The op of a leaf (never run: the sweep stops at leaves).
#[derive(Clone, Copy)]
struct Leaf;
impl<T: Element> Op<T> for Leaf {
    fn name(&self) -> &str {
        "leaf"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        x[0].plain()
    }
    fn vjp(&self, _: &[Tensor<T>], _: &Tensor<T>, _: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        Vec::new()
    }
}

impl<T: Element> Node<T> {
    pub(crate) fn leaf() -> Arc<Self> {
        LIVE.fetch_add(1, Ordering::Relaxed);
        Arc::new(Node { leaf: true, grad: Mutex::new(None), saved: Mutex::new(None), op: Leaf })
    }

    pub(crate) fn with_op<O: Op<T>>(op: O, saved: Saved<T>) -> Arc<Self> {
        LIVE.fetch_add(1, Ordering::Relaxed);
        Arc::new(Node { leaf: false, grad: Mutex::new(None), saved: Mutex::new(Some(saved)), op })
    }

    /// Calls `f` on the nodes of the saved inputs; returns whether this is an op node
    /// already swept (its saved values gone, so it shows no children).
    pub(crate) fn for_each_child(&self, mut f: impl FnMut(&Arc<Node<T>>)) -> bool {
        match lock(&self.saved).as_ref() {
            Some(s) => {
                s.inputs.as_slice().iter().filter_map(|t| t.node.as_ref()).for_each(&mut f);
                false
            }
            None => !self.leaf,
        }
    }
}

impl<T: Element, O: ?Sized> Node<T, O> {
    /// Moves the nodes of the saved inputs onto `stack` (for an iterative drop).
    fn take_parents(&mut self, stack: &mut Vec<Arc<Node<T>>>) {
        if let Some(mut s) = self.saved.get_mut().unwrap_or_else(PoisonError::into_inner).take() {
            stack.extend(s.inputs.as_mut_slice().iter_mut().filter_map(|t| t.node.take()));
        }
    }
}

impl<T: Element, O: ?Sized> Drop for Node<T, O> {
    /// Frees a chain of nodes without recursion: a graph of 10⁶ sequential ops would
    /// otherwise overflow the stack through nested `Arc` drops. A node this one holds the
    /// last reference to is emptied first, so its own drop finds nothing to follow.
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
        let mut stack = Vec::new();
        self.take_parents(&mut stack);
        while let Some(mut n) = stack.pop() {
            if let Some(inner) = Arc::get_mut(&mut n) {
                inner.take_parents(&mut stack);
            }
        }
    }
}

pub(crate) fn lock<X>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
