//! The engine: graph nodes, `apply` (forward values, tangents, recording) and the reverse
//! sweep.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use kernels::Element;

use crate::buffer::{Data, INLINE};
use crate::graph::{Few, Node};
use crate::mode::{self, Level, checking, recording};
use crate::noderef::NodeRef;
use crate::op::Op;
use crate::sgd::Sink;
use crate::shape::{self, Shape};
use crate::tensor::{DualPart, Tensor};
use crate::topo::{NONE, topo};

/// The highest forward-mode level among `inputs`.
///
/// # Panics
/// If an input carries a level that is not open on this thread (a dual tensor escaped its
/// `jvp`, or came from a `jvp` on another thread).
#[track_caller]
fn top_level<T: Element>(op: &dyn Op<T>, inputs: &[&Tensor<T>]) -> Option<Level> {
    let mut top = None;
    for t in inputs {
        if let Some(d) = &t.dual {
            assert!(
                mode::level_active(d.level),
                "`{}`: an input is a dual tensor of forward-mode level {}, which is not open on \
                 this thread: it has ended (a tangent-carrying tensor escaped the jvp that created \
                 it) or belongs to a jvp on another thread; detach() it first",
                op.name(),
                d.level
            );
            top = top.max(Some(d.level));
        }
    }
    top
}

/// Applies `op` to `inputs`: the values by `op.forward`, the tangents by `op.jvp` (level by
/// level, highest first), and a graph node when recording and an input is tracked.
#[track_caller]
pub(crate) fn apply<T: Element, O: Op<T> + Clone>(op: O, inputs: &[&Tensor<T>]) -> Tensor<T> {
    // The forward's result goes straight into `value` (built in a block and moved out of
    // it, a tiny tensor's bytes were read back right after being written: a
    // store-forwarding stall worth a sixth of a scalar op's forward on the Zen 4 VM).
    let level = top_level(&op, inputs);
    let mut value = match level {
        None => op.forward(inputs),
        Some(level) => dual_eval(&op, inputs, level),
    };
    if level.is_none() {
        debug_assert!(value.node.is_none() && value.dual.is_none());
        if checking() {
            check_value(op.name(), inputs, &value);
        }
    }
    if recording() && inputs.iter().any(|t| t.node.is_some()) {
        value.node = Some(Node::with_op(op, inputs, &value));
    }
    value
}

/// The value of `op` on inputs whose highest level is `level`: the op on the primals (which
/// may carry lower levels) plus the JVP rule's tangent at `level`.
#[track_caller]
fn dual_eval<T: Element, O: Op<T> + Clone>(op: &O, inputs: &[&Tensor<T>], level: Level) -> Tensor<T> {
    let mut primals = Vec::with_capacity(inputs.len());
    let mut tangents = Vec::with_capacity(inputs.len());
    let mut batch = None;
    for t in inputs {
        match &t.dual {
            Some(d) if d.level == level => {
                primals.push(Tensor {
                    shape: t.shape.clone(),
                    data: t.data.clone(),
                    node: d.primal_node.clone(),
                    dual: d.lower.clone(),
                });
                tangents.push(Some(d.tangent.clone()));
                batch = batch.or(d.batch);
            }
            _ => {
                primals.push((*t).clone());
                tangents.push(None);
            }
        }
    }
    let refs: Vec<&Tensor<T>> = primals.iter().collect();
    let out = apply(op.clone(), &refs);
    let (tangent, window) = match batch {
        None => (op.jvp(&primals, &out, &tangents), None),
        Some(b) => {
            let window_of =
                |t: &&Tensor<T>| t.dual.as_ref().filter(|d| d.level == level).and_then(|d| d.window);
            if inputs.iter().any(|t| window_of(t).is_some()) {
                let windows: Vec<_> = inputs.iter().map(window_of).collect();
                crate::window::jvp_batch(op, &primals, &out, tangents, &windows, b)
            } else {
                (op.jvp_batch(&primals, &out, &tangents, b), None)
            }
        }
    };
    let tangent = tangent
        .unwrap_or_else(|| panic!("`{}` has no JVP rule, so forward mode cannot pass through it", op.name()));
    let mut expected: Vec<usize> = batch.into_iter().chain(out.shape().iter().copied()).collect();
    if let Some(w) = window {
        // A compact tangent holds the window's rows of axis 0 only.
        expected[1] = w.len;
    }
    assert!(
        tangent.shape() == expected,
        "`{}`: the JVP rule returned a tangent of shape {:?} where {:?} was due",
        op.name(),
        tangent.shape(),
        expected
    );
    let dual = DualPart { level, tangent, lower: out.dual, primal_node: out.node, batch, window };
    Tensor { shape: out.shape, data: out.data, node: None, dual: Some(Arc::new(dual)) }
}

fn finite<T: Element>(t: &Tensor<T>) -> bool {
    t.data().iter().all(|v| v.to_f64().is_finite())
}

#[track_caller]
fn check_value<T: Element>(name: &str, inputs: &[&Tensor<T>], out: &Tensor<T>) {
    if !finite(out) && inputs.iter().all(|t| finite(t)) {
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        panic!(
            "check_numerics: `{name}` produced NaN or inf in its value from finite inputs of shapes {shapes:?}"
        );
    }
}

/// An op's saved inputs with their graph nodes, as its rules see them (a rule tells tracked
/// inputs from constants, and a recorded rule connects to the graph through them). Each
/// node is lent from the op's parents for the length of the rule, not cloned: a bitwise
/// copy of the parent's `NodeRef` that owns no reference count (two atomic updates per input
/// saved, of a tiny op's few dozen nanoseconds), forgotten when this drops, on unwinding
/// too. A rule that keeps a node clones it, which counts.
/// (The inputs are borrowed, not moved: a tiny op's saved inputs are two 96-byte tensors,
/// and moving them costs a `memcpy` call.)
struct Lent<'a, 'b, T: Element>(&'b mut Few<Tensor<T>>, PhantomData<&'a NodeRef<T>>);

impl<'a, 'b, T: Element> Lent<'a, 'b, T> {
    /// Lends every input its node, except input `skip`, which the rule then sees as a
    /// constant (its cotangent goes straight into a parameter: see `crate::sgd`).
    fn new(inputs: &'b mut Few<Tensor<T>>, parents: &'a [Option<NodeRef<T>>], skip: Option<usize>) -> Self {
        for (j, (x, p)) in inputs.as_mut_slice().iter_mut().zip(parents).enumerate() {
            debug_assert!(x.node.is_none(), "saved inputs hold no nodes");
            if skip == Some(j) {
                continue;
            }
            // SAFETY: `p` is borrowed for `'a`, which outlives `self`, so the copy points
            // to a live node as long as it exists; `drop` forgets it (never drops it), so
            // the count it does not own is never released.
            x.node = p.as_ref().map(|p| unsafe { std::ptr::read(p) });
        }
        Lent(inputs, PhantomData)
    }
}

impl<T: Element> Drop for Lent<'_, '_, T> {
    fn drop(&mut self) {
        for x in self.0.as_mut_slice() {
            std::mem::forget(x.node.take());
        }
    }
}

/// Options of a reverse sweep.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sweep {
    /// Record the sweep's ops, so the gradients are themselves differentiable. `None`:
    /// exactly when recording is on and the graph reaches tracked tensors other than the
    /// targets (the function closes over, or its inputs come from, an enclosing graph:
    /// nested `grad`), since only then can anything differentiate the result.
    pub(crate) create_graph: Option<bool>,
    /// Keep the saved values, so the graph can be swept again. `None`: as `create_graph`
    /// (an enclosing sweep will pass through the same nodes).
    pub(crate) retain_graph: Option<bool>,
    /// `Some(b)`: every cotangent holds `b` cotangents stacked along a leading axis
    /// (`jacrev`), and the rules run batched.
    pub(crate) batch: Option<usize>,
}

/// Adds a gradient contribution into `slot`: in place when the accumulated buffer is plain
/// and unshared (the common first-order case), else by a (recorded, under `create_graph`)
/// addition.
fn accumulate<T: Element>(slot: &mut Option<Tensor<T>>, g: Tensor<T>) {
    match slot {
        None => *slot = Some(g),
        Some(a) => {
            let plain = |t: &Tensor<T>| t.node.is_none() && t.dual.is_none();
            if a.shape == g.shape
                && plain(a)
                && plain(&g)
                && let Some(buf) = a.data.get_mut()
            {
                kernels::ew::zip_inplace(kernels::ew::Binary::Add, buf, g.data());
            } else {
                *a = &*a + &g;
            }
        }
    }
}

/// [`accumulate`] of a plain tensor of `shape` holding `value(i)` at each of its `len`
/// (at most [`INLINE`]) elements: added in place (the same `a + g` per element), or
/// written where it stays (a tiny tensor made first and moved into the slot was read back
/// right after being written: a store-forwarding stall).
fn accumulate_with<T: Element>(
    slot: &mut Option<Tensor<T>>,
    shape: &Shape,
    len: usize,
    value: impl Fn(usize) -> T,
) {
    debug_assert!(len <= INLINE && len == shape::numel(shape));
    let fresh = slot.is_none();
    if fresh {
        *slot = Some(Tensor {
            shape: shape.clone(),
            data: Data::Inline(len as u8, [T::ZERO; INLINE]),
            node: None,
            dual: None,
        });
    }
    let a = slot.as_mut().expect("filled above");
    if a.node.is_none()
        && a.dual.is_none()
        && a.shape == *shape
        && let Some(buf) = a.data.get_mut()
    {
        for (i, a) in buf.iter_mut().enumerate() {
            *a = if fresh { value(i) } else { *a + value(i) };
        }
    } else {
        let mut values = [T::ZERO; INLINE];
        for (i, v) in values.iter_mut().enumerate().take(len) {
            *v = value(i);
        }
        accumulate(
            slot,
            Tensor { shape: shape.clone(), data: Data::inline(len, values), node: None, dual: None },
        );
    }
}

/// Runs a reverse sweep from `roots`, each with its seed (a cotangent shaped like it).
///
/// With `targets`, returns their gradients (`None` where no path leads from a target to a
/// root) and touches no node that leads to no target. Without, accumulates into the
/// gradient slot of every leaf reached and returns no gradients. Also returns whether the
/// sweep recorded (`create_graph`, resolved).
#[track_caller]
pub(crate) fn sweep<T: Element>(
    roots: &[(NodeRef<T>, Tensor<T>)],
    targets: Option<&[NodeRef<T>]>,
    opts: Sweep,
) -> (Vec<Option<Tensor<T>>>, bool) {
    sweep_into(roots, targets, opts, None)
}

/// [`sweep`], adding the gradients of the targets into `sink`'s parameters where an op's
/// rule can write them there itself (no gradient is returned for those): a target reached
/// by one edge only, from an op [`crate::ops::fusable`] for it. First-order sweeps only.
#[track_caller]
pub(crate) fn sweep_into<T: Element>(
    roots: &[(NodeRef<T>, Tensor<T>)],
    targets: Option<&[NodeRef<T>]>,
    opts: Sweep,
    mut sink: Option<&mut Sink<'_, T>>,
) -> (Vec<Option<Tensor<T>>>, bool) {
    let root_refs: Vec<&NodeRef<T>> = roots.iter().map(|r| &r.0).collect();
    let topo = topo(&root_refs, targets);
    let mut results = vec![None; targets.map_or(0, <[_]>::len)];
    let create_graph = opts.create_graph.unwrap_or_else(|| recording() && topo.needed.iter().any(|n| !n));
    let retain_graph = opts.retain_graph.unwrap_or(create_graph);
    let check = checking();
    // How many edges reach each node (a target reached once has one contribution).
    let mut indeg = vec![0u32; if sink.is_some() { topo.order.len() } else { 0 }];
    if sink.is_some() {
        assert!(!create_graph && opts.batch.is_none(), "a parameter sink takes first-order sweeps only");
        for &e in &topo.edges {
            indeg[e as usize] += 1;
        }
    }
    mode::set_recording(create_graph, || {
        let mut grads: Vec<Option<Tensor<T>>> = vec![None; topo.order.len()];
        for ((_, seed), &at) in roots.iter().zip(&topo.roots) {
            accumulate(&mut grads[at as usize], seed.clone());
        }
        for (i, n) in topo.order.iter().enumerate().rev() {
            if !topo.needed[i] {
                continue;
            }
            let Some(g) = grads[i].take() else { continue };
            if topo.target[i] != NONE {
                results[topo.target[i] as usize] = Some(g.clone());
            }
            if n.leaf {
                if targets.is_none() {
                    n.with_grad(|slot| {
                        *slot = Some(match slot.take() {
                            None => g,
                            Some(a) => &a + &g,
                        })
                    });
                }
                continue;
            }
            // Used where they lie unless retained (a move of a tiny op's 300 bytes is a
            // `memcpy` call).
            // Named only for a message (a call through the op's vtable).
            let name = || n.op.name();
            let Some(mut saved) = n.saved(retain_graph) else {
                panic!(
                    "backward: the graph through `{}` was already swept and its saved values freed; \
                     sweep it again only if the first sweep retained the graph",
                    name()
                )
            };
            let s = &mut *saved;
            let parents = n.parents.as_slice();
            let out = &mut s.out;
            if create_graph {
                // The recorded rule connects to the graph through the output too.
                out.node = Some((*n).clone());
            }
            let out = &*out;
            // An input whose gradient the op writes into a parameter itself: (input, target).
            let fuse = match &sink {
                Some(_) if !check => {
                    let mut edge = topo.start[i] as usize;
                    parents.iter().enumerate().find_map(|(j, p)| {
                        p.as_ref()?;
                        let child = topo.edges[edge] as usize;
                        edge += 1;
                        let t = topo.target[child];
                        let op: &dyn Any = &n.op;
                        (t != NONE && indeg[child] == 1 && crate::ops::fusable(op, j, s.inputs.as_slice()))
                            .then_some((j, t as usize))
                    })
                }
                _ => None,
            };
            let lent = Lent::new(&mut s.inputs, parents, fuse.map(|f| f.0));
            let inputs = lent.0.as_slice();
            let direct = match (fuse, opts.batch) {
                (None, None) => crate::ops::tiny_vjp(&n.op, inputs, out, &g),
                _ => None,
            };
            if let Some(tiny) = direct {
                // A tiny arithmetic op's cotangents, accumulated element by element: no
                // cotangent tensor is made to be moved into place.
                let mut edge = topo.start[i] as usize;
                for (k, (x, p)) in inputs.iter().zip(parents).enumerate() {
                    if p.is_none() {
                        continue;
                    }
                    let child = topo.edges[edge] as usize;
                    edge += 1;
                    if topo.needed[child] {
                        accumulate_with(&mut grads[child], &x.shape, tiny.len, |e| tiny.at(k, e));
                    }
                }
                continue;
            }
            // The rule's own ops are not checked one by one: a NaN they produce is reported
            // below as this op's gradient, which is what the user needs to know.
            let rule = || match opts.batch {
                None => crate::ops::vjp(&n.op, inputs, out, &g),
                Some(b) => Few::Many(n.op.vjp_batch(inputs, out, &g, b)),
            };
            let mut gs = if check { mode::set_checking(false, rule) } else { rule() };
            let gs = gs.as_mut_slice();
            assert!(
                gs.len() == inputs.len(),
                "`{}`: the VJP rule returned {} cotangents for {} inputs",
                name(),
                gs.len(),
                inputs.len()
            );
            let mut edge = topo.start[i] as usize;
            for (k, ((x, gx), p)) in
                inputs.iter().zip(gs.iter_mut().map(Option::take)).zip(parents).enumerate()
            {
                if p.is_none() {
                    continue;
                }
                let child = topo.edges[edge] as usize;
                edge += 1;
                let Some(gx) = gx else { continue };
                if !topo.needed[child] {
                    continue;
                }
                let due = match opts.batch {
                    None => gx.shape == x.shape,
                    Some(b) => gx.shape().split_first() == Some((&b, x.shape())),
                };
                assert!(
                    due,
                    "`{}`: the VJP rule returned a cotangent of shape {:?} for input {k} of shape {:?}{}",
                    name(),
                    gx.shape(),
                    x.shape(),
                    opts.batch.map_or(String::new(), |b| format!(" (batch of {b})"))
                );
                if check && !finite(&gx) && finite(&g) && inputs.iter().all(finite) {
                    panic!(
                        "check_numerics: `{}` produced NaN or inf in the gradient of its input {k} \
                         (shape {:?}) from a finite cotangent and finite inputs",
                        name(),
                        x.shape()
                    );
                }
                accumulate(&mut grads[child], gx);
            }
            // The other input of a fused product, which its update reads.
            let fused = fuse.map(|(j, t)| (j, t, inputs[1 - j].plain()));
            drop(lent);
            // Freed here, once the rule has run (not when the next op's values arrive), and
            // before a fused update writes the parameter they may share a buffer with.
            drop(saved);
            if let (Some((j, t, other)), Some(sink)) = (fused, sink.as_deref_mut()) {
                sink.update(&n.op, j, t, &other, &g);
            }
        }
    });
    (results, create_graph)
}
