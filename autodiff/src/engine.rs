//! The engine: graph nodes, `apply` (forward values, tangents, recording) and the reverse
//! sweep.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use kernels::Element;

use crate::mode::{self, checking, recording};
use crate::op::Op;
use crate::tensor::{DualPart, Tensor};

/// What an op node keeps for its backward rule: its inputs (with their nodes and tangents)
/// and its output's values and tangents. Taken (freed) when the sweep has used it, unless
/// the sweep retains the graph.
pub(crate) struct Saved<T: Element> {
    inputs: Vec<Tensor<T>>,
    out: Tensor<T>,
}

/// A node of a reverse-mode graph.
pub(crate) enum Node<T: Element> {
    /// A tensor made trackable by `requires_grad` (or by a functional transform), with the
    /// gradient `backward` accumulates into it.
    Leaf { grad: Mutex<Option<Tensor<T>>> },
    /// The output of an op on tracked inputs.
    Op { op: Box<dyn Op<T>>, saved: Mutex<Option<Saved<T>>> },
}

impl<T: Element> Node<T> {
    pub(crate) fn leaf() -> Arc<Self> {
        Arc::new(Node::Leaf { grad: Mutex::new(None) })
    }

    /// Moves the nodes of the saved inputs onto `stack` (for an iterative drop).
    fn take_parents(&mut self, stack: &mut Vec<Arc<Node<T>>>) {
        if let Node::Op { saved, .. } = self
            && let Some(s) = saved.get_mut().unwrap_or_else(PoisonError::into_inner).take()
        {
            stack.extend(s.inputs.into_iter().filter_map(|mut t| t.node.take()));
        }
    }
}

impl<T: Element> Drop for Node<T> {
    /// Frees a chain of nodes without recursion: a graph of 10⁶ sequential ops would
    /// otherwise overflow the stack through nested `Arc` drops.
    fn drop(&mut self) {
        let mut stack = Vec::new();
        self.take_parents(&mut stack);
        while let Some(n) = stack.pop() {
            if let Some(mut inner) = Arc::into_inner(n) {
                inner.take_parents(&mut stack);
            }
        }
    }
}

fn lock<X>(m: &Mutex<X>) -> std::sync::MutexGuard<'_, X> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Leaf-gradient access for `Tensor::grad`.
pub(crate) fn leaf_grad<T: Element>(node: &Node<T>) -> Option<&Mutex<Option<Tensor<T>>>> {
    match node {
        Node::Leaf { grad } => Some(grad),
        Node::Op { .. } => None,
    }
}

/// The highest forward-mode level among `inputs`.
///
/// # Panics
/// If an input carries a level that is no longer open (a dual tensor escaped its `jvp`).
#[track_caller]
fn top_level<T: Element>(name: &str, inputs: &[&Tensor<T>]) -> Option<u32> {
    let mut top = None;
    for t in inputs {
        if let Some(d) = &t.dual {
            assert!(
                mode::level_active(d.level),
                "`{name}`: an input is a dual tensor of forward-mode level {}, which has ended \
                 (a tangent-carrying tensor escaped the jvp that created it); detach() it first",
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
    let mut value = match top_level(op.name(), inputs) {
        None => {
            let out = op.forward(inputs);
            debug_assert!(out.node.is_none() && out.dual.is_none());
            if checking() {
                check_value(op.name(), inputs, &out);
            }
            out
        }
        Some(level) => dual_eval(&op, inputs, level),
    };
    if recording() && inputs.iter().any(|t| t.node.is_some()) {
        let saved = Saved { inputs: inputs.iter().map(|t| (*t).clone()).collect(), out: value.clone() };
        value.node = Some(Arc::new(Node::Op { op: Box::new(op), saved: Mutex::new(Some(saved)) }));
    }
    value
}

/// The value of `op` on inputs whose highest level is `level`: the op on the primals (which
/// may carry lower levels) plus the JVP rule's tangent at `level`.
#[track_caller]
fn dual_eval<T: Element, O: Op<T> + Clone>(op: &O, inputs: &[&Tensor<T>], level: u32) -> Tensor<T> {
    let mut primals = Vec::with_capacity(inputs.len());
    let mut tangents = Vec::with_capacity(inputs.len());
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
            }
            _ => {
                primals.push((*t).clone());
                tangents.push(None);
            }
        }
    }
    let refs: Vec<&Tensor<T>> = primals.iter().collect();
    let out = apply(op.clone(), &refs);
    let tangent = op
        .jvp(&primals, &out, &tangents)
        .unwrap_or_else(|| panic!("`{}` has no JVP rule, so forward mode cannot pass through it", op.name()));
    assert!(
        tangent.shape == out.shape,
        "`{}`: the JVP rule returned a tangent of shape {:?} for an output of shape {:?}",
        op.name(),
        tangent.shape(),
        out.shape()
    );
    let dual = DualPart { level, tangent, lower: out.dual, primal_node: out.node };
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
}

/// A multiplicative hasher for node addresses (the std SipHash costs more than the rest of
/// a tiny op's bookkeeping).
#[derive(Default)]
struct AddrHasher(u64);
impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only usize keys are hashed")
    }
    fn write_usize(&mut self, n: usize) {
        // Fibonacci hashing: odd multiplier close to 2⁶⁴/φ; the high bits mix all others.
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(26);
    }
}
type AddrMap<V> = HashMap<usize, V, BuildHasherDefault<AddrHasher>>;

fn addr<T: Element>(n: &Arc<Node<T>>) -> usize {
    Arc::as_ptr(n) as usize
}

/// Nodes reachable from `roots`, children before parents, with whether each leads to a
/// target (`targets == None`: every node does).
fn topo<T: Element>(
    roots: &[&Arc<Node<T>>],
    targets: Option<&AddrMap<usize>>,
) -> (Vec<Arc<Node<T>>>, AddrMap<bool>) {
    enum Step<T: Element> {
        Enter(Arc<Node<T>>),
        Exit(Arc<Node<T>>),
    }
    let mut order = Vec::new();
    let mut needed: AddrMap<bool> = AddrMap::default();
    let mut stack: Vec<Step<T>> = roots.iter().map(|r| Step::Enter((*r).clone())).collect();
    let children = |n: &Node<T>, f: &mut dyn FnMut(&Arc<Node<T>>)| {
        if let Node::Op { saved, .. } = n
            && let Some(s) = lock(saved).as_ref()
        {
            s.inputs.iter().filter_map(|t| t.node.as_ref()).for_each(f);
        }
    };
    while let Some(step) = stack.pop() {
        match step {
            Step::Enter(n) => {
                if needed.contains_key(&addr(&n)) {
                    continue;
                }
                needed.insert(addr(&n), false);
                // The exit goes below the children's entries: it pops once they are done.
                stack.push(Step::Exit(n.clone()));
                children(&n, &mut |c| {
                    if !needed.contains_key(&addr(c)) {
                        stack.push(Step::Enter(c.clone()));
                    }
                });
            }
            Step::Exit(n) => {
                let mut need = targets.is_none_or(|t| t.contains_key(&addr(&n)));
                children(&n, &mut |c| need |= needed.get(&addr(c)).copied().unwrap_or(false));
                needed.insert(addr(&n), need);
                order.push(n);
            }
        }
    }
    (order, needed)
}

/// Adds a gradient contribution into `grads[key]`: in place when the accumulated buffer
/// is plain and unshared (the common first-order case), else by a (recorded, under
/// `create_graph`) addition.
fn accumulate<T: Element>(grads: &mut AddrMap<Tensor<T>>, key: usize, g: Tensor<T>) {
    use std::collections::hash_map::Entry;
    match grads.entry(key) {
        Entry::Vacant(e) => {
            e.insert(g);
        }
        Entry::Occupied(mut e) => {
            let a = e.get_mut();
            let plain = |t: &Tensor<T>| t.node.is_none() && t.dual.is_none();
            if a.shape == g.shape
                && plain(a)
                && plain(&g)
                && let Some(buf) = Arc::get_mut(&mut a.data)
            {
                kernels::ew::zip_inplace(kernels::ew::Binary::Add, buf, g.data());
            } else {
                *a = &*a + &g;
            }
        }
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
    roots: &[(Arc<Node<T>>, Tensor<T>)],
    targets: Option<&[Arc<Node<T>>]>,
    opts: Sweep,
) -> (Vec<Option<Tensor<T>>>, bool) {
    let tmap: Option<AddrMap<usize>> =
        targets.map(|ts| ts.iter().enumerate().map(|(i, n)| (addr(n), i)).collect());
    let root_refs: Vec<&Arc<Node<T>>> = roots.iter().map(|r| &r.0).collect();
    let (order, needed) = topo(&root_refs, tmap.as_ref());
    let mut results = vec![None; targets.map_or(0, <[_]>::len)];
    let create_graph = opts.create_graph.unwrap_or_else(|| recording() && needed.values().any(|n| !n));
    let retain_graph = opts.retain_graph.unwrap_or(create_graph);
    mode::set_recording(create_graph, || {
        let mut grads: AddrMap<Tensor<T>> = AddrMap::default();
        for (n, seed) in roots {
            accumulate(&mut grads, addr(n), seed.clone());
        }
        for n in order.iter().rev() {
            if !needed[&addr(n)] {
                continue;
            }
            let Some(g) = grads.remove(&addr(n)) else { continue };
            if let Some(&i) = tmap.as_ref().and_then(|t| t.get(&addr(n))) {
                results[i] = Some(g.clone());
            }
            match &**n {
                Node::Leaf { grad } => {
                    if tmap.is_none() {
                        let mut slot = lock(grad);
                        *slot = Some(match slot.take() {
                            None => g,
                            Some(a) => &a + &g,
                        });
                    }
                }
                Node::Op { op, saved } => {
                    let s = if retain_graph {
                        lock(saved).as_ref().map(|s| Saved { inputs: s.inputs.clone(), out: s.out.clone() })
                    } else {
                        lock(saved).take()
                    };
                    let s = s.unwrap_or_else(|| {
                        panic!(
                            "backward: the graph through `{}` was already swept and its saved values freed; \
                             sweep it again only if the first sweep retained the graph",
                            op.name()
                        )
                    });
                    let out = Tensor { node: Some(n.clone()), ..s.out };
                    let gs = op.vjp(&s.inputs, &out, &g);
                    assert!(
                        gs.len() == s.inputs.len(),
                        "`{}`: the VJP rule returned {} cotangents for {} inputs",
                        op.name(),
                        gs.len(),
                        s.inputs.len()
                    );
                    for (i, (x, gx)) in s.inputs.iter().zip(gs).enumerate() {
                        let (Some(xn), Some(gx)) = (&x.node, gx) else { continue };
                        if !needed[&addr(xn)] {
                            continue;
                        }
                        assert!(
                            gx.shape == x.shape,
                            "`{}`: the VJP rule returned a cotangent of shape {:?} for input {i} of shape {:?}",
                            op.name(),
                            gx.shape(),
                            x.shape()
                        );
                        if checking() && !finite(&gx) && finite(&g) && s.inputs.iter().all(finite) {
                            panic!(
                                "check_numerics: `{}` produced NaN or inf in the gradient of its input {i} \
                                 (shape {:?}) from a finite cotangent and finite inputs",
                                op.name(),
                                x.shape()
                            );
                        }
                        accumulate(&mut grads, addr(xn), gx);
                    }
                }
            }
        }
    });
    (results, create_graph)
}
