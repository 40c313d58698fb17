//! Graph nodes: what an op records so the reverse sweep can run its VJP rule.

use std::ops::{Deref, DerefMut};

use kernels::Element;

use crate::Tensor;
use crate::locked::{Locked, Owned};
use crate::noderef::NodeRef;
use crate::op::Op;

/// A short list, inline for the common one and two entries (no allocation): an op's
/// inputs, or their graph nodes.
pub(crate) enum Few<X> {
    One([X; 1]),
    Two([X; 2]),
    Many(Vec<X>),
}

impl<X> Few<X> {
    pub(crate) fn as_slice(&self) -> &[X] {
        match self {
            Few::One(a) => a,
            Few::Two(a) => a,
            Few::Many(v) => v,
        }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [X] {
        match self {
            Few::One(a) => a,
            Few::Two(a) => a,
            Few::Many(v) => v,
        }
    }
}

impl<X: Clone> Clone for Few<X> {
    fn clone(&self) -> Self {
        match self {
            Few::One(a) => Few::One(a.clone()),
            Few::Two(a) => Few::Two(a.clone()),
            Few::Many(v) => Few::Many(v.clone()),
        }
    }
}

/// What an op node keeps for its backward rule: its inputs' values and tangents, and its
/// output's, all without graph nodes (the node keeps its inputs' nodes as its parents; the
/// sweep lends them to the rule, and gives the output the node itself when it records the
/// rule). Taken, and so freed, when the sweep has used it, unless the sweep retains the
/// graph.
pub(crate) struct Saved<T: Element> {
    pub(crate) inputs: Few<Tensor<T>>,
    pub(crate) out: Tensor<T>,
}

impl<T: Element> Clone for Saved<T> {
    fn clone(&self) -> Self {
        Saved { inputs: self.inputs.clone(), out: self.out.clone() }
    }
}

/// An op node's saved values as a sweep uses them: in the node (`Taken`: freed there when
/// this drops) or a copy (`Kept`: the node keeps its own, for another sweep; boxed, so that
/// moving a `SavedRef` copies a pointer, not the values).
pub(crate) enum SavedRef<'a, T: Element> {
    Taken(Owned<'a, Slot<T>>),
    Kept(Box<Saved<T>>),
}

impl<T: Element> Deref for SavedRef<'_, T> {
    type Target = Saved<T>;
    fn deref(&self) -> &Saved<T> {
        match self {
            SavedRef::Taken(o) => match &**o {
                Slot::Saved(Some(s)) => s,
                _ => unreachable!("taken only when the slot holds saved values"),
            },
            SavedRef::Kept(s) => s,
        }
    }
}

impl<T: Element> DerefMut for SavedRef<'_, T> {
    fn deref_mut(&mut self) -> &mut Saved<T> {
        match self {
            SavedRef::Taken(o) => match &mut **o {
                Slot::Saved(Some(s)) => s,
                _ => unreachable!("taken only when the slot holds saved values"),
            },
            SavedRef::Kept(s) => s,
        }
    }
}

impl<T: Element> Drop for SavedRef<'_, T> {
    fn drop(&mut self) {
        if let SavedRef::Taken(o) = self {
            // Freed in place; the guard then unlocks the slot, which reads as swept.
            **o = Slot::Saved(None);
        }
    }
}

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
    crate::census::live()
}

/// A node of a reverse-mode graph: a leaf (made by `requires_grad` or a transform), or the
/// output of op `O` on tracked inputs. One allocation holds the node and its op; graphs
/// use the unsized `Node<T>` (`O = dyn Op<T>`).
pub(crate) struct Node<T: Element, O: ?Sized = dyn Op<T>> {
    pub(crate) leaf: bool,
    /// The graph nodes of the op's inputs in input order (`None`: an untracked input);
    /// empty for a leaf. Fixed when the node is made, so a sweep walks the graph by
    /// reference, without locks or reference counts: what a parent holds lives as long as
    /// the parent.
    pub(crate) parents: Few<Option<NodeRef<T>>>,
    slot: Locked<Slot<T>>,
    pub(crate) op: O,
}

/// What a node keeps under its lock: a leaf, the gradient [`Tensor::backward`] accumulated
/// (`None` before any); an op node, its saved values (`None` once swept). One slot for
/// both keeps an op node as small as its saved values.
pub(crate) enum Slot<T: Element> {
    Grad(Option<Tensor<T>>),
    Saved(Option<Saved<T>>),
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
    pub(crate) fn leaf() -> NodeRef<T> {
        crate::census::add(1);
        NodeRef::new(|| Node {
            leaf: true,
            parents: Few::Many(Vec::new()),
            slot: Locked::new(Slot::Grad(None)),
            op: Leaf,
        })
    }

    /// The node of op `op` applied to `inputs` (some tracked), which gave `out`: keeps the
    /// inputs' nodes as parents and saves the values without them.
    pub(crate) fn with_op<O: Op<T>>(op: O, inputs: &[&Tensor<T>], out: &Tensor<T>) -> NodeRef<T> {
        crate::census::add(1);
        // More than two inputs: the lists made here, where making a `Vec` may unwind.
        let few = inputs.len() <= 2;
        let mut many_parents = (!few).then(|| inputs.iter().map(|t| t.node.clone()).collect());
        let mut many = (!few).then(|| inputs.iter().map(|t| t.untracked()).collect());
        // Made in the closure, after the block is allocated, by code that cannot unwind
        // (clones abort on overflow, as `Arc`'s do), the node is written straight into the
        // block. Made first and moved in, or by code that may unwind (whose writes into the
        // block would then be visible), it went through a `memcpy` call that read its 400
        // bytes back right after they were written (a store-forwarding stall): an eighth of
        // a scalar op's recording on the Zen 4 VM.
        NodeRef::new(|| Node {
            leaf: false,
            parents: match inputs {
                [a] => Few::One([a.node.clone()]),
                [a, b] => Few::Two([a.node.clone(), b.node.clone()]),
                _ => Few::Many(many_parents.take().unwrap_or_default()),
            },
            slot: Locked::new(Slot::Saved(Some(Saved {
                inputs: match inputs {
                    [a] => Few::One([a.untracked()]),
                    [a, b] => Few::Two([a.untracked(), b.untracked()]),
                    _ => Few::Many(many.take().unwrap_or_default()),
                },
                out: out.untracked(),
            }))),
            op,
        })
    }
}

impl<T: Element, O: ?Sized> Node<T, O> {
    /// Runs `f` on a leaf's accumulated gradient (`None` for an op node, which has none).
    pub(crate) fn with_grad<R>(&self, f: impl FnOnce(&mut Option<Tensor<T>>) -> R) -> Option<R> {
        self.slot
            .with(|s| match s {
                Slot::Grad(g) => Some(f(g)),
                Slot::Saved(_) => None,
            })
            .flatten()
    }

    /// An op node's saved values: lent where they lie, to be freed when the guard drops,
    /// or cloned (`retain`); `None` once swept (or while another sweep holds them), and for
    /// a leaf.
    pub(crate) fn saved(&self, retain: bool) -> Option<SavedRef<'_, T>> {
        if retain {
            let kept = self.slot.with(|s| match s {
                Slot::Saved(Some(s)) => Some(Box::new(s.clone())),
                _ => None,
            });
            return kept.flatten().map(SavedRef::Kept);
        }
        let owned = self.slot.own()?;
        matches!(*owned, Slot::Saved(Some(_))).then_some(SavedRef::Taken(owned))
    }

    /// Moves the parents onto `stack` (for an iterative drop).
    fn take_parents(&mut self, stack: &mut Vec<NodeRef<T>>) {
        stack.extend(self.parents.as_mut_slice().iter_mut().filter_map(Option::take));
    }
}

impl<T: Element, O: ?Sized> Drop for Node<T, O> {
    /// Frees a chain of nodes without recursion: a graph of 10⁶ sequential ops would
    /// otherwise overflow the stack through nested `NodeRef` drops. A node this one holds the
    /// last reference to is emptied first, so its own drop finds nothing to follow.
    fn drop(&mut self) {
        crate::census::add(-1);
        let mut stack = Vec::new();
        self.take_parents(&mut stack);
        while let Some(mut n) = stack.pop() {
            if let Some(inner) = n.get_mut() {
                inner.take_parents(&mut stack);
            }
        }
    }
}
