//! The order a reverse sweep visits a graph in: the nodes reachable from its roots,
//! children before parents, and which of them lead to its targets.
//!
//! A tiny op's sweep spends a good part of its time here (measured: ≈ 30 ns of a 260 ns
//! scalar op on the Zen 4 VM, before the buffers were reused), so the walk's buffers are
//! kept per thread between sweeps instead of allocated (and regrown) each time.

use std::cell::Cell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Deref;

use kernels::Element;

use crate::noderef::NodeRef;

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
        // Fibonacci hashing: odd multiplier close to 2⁶⁴/φ; the rotation brings the mixed
        // high bits down to where the table indexes.
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(26);
    }
}
type AddrMap<V> = HashMap<usize, V, BuildHasherDefault<AddrHasher>>;

/// No target; a node not yet entered.
pub(crate) const NONE: u32 = u32::MAX;
/// A node entered but not yet exited.
const OPEN: u32 = u32::MAX - 1;

/// A step of the depth-first walk.
enum Step {
    Enter(u32),
    Exit(u32),
}

/// What a [`Topo`] says about its nodes, by position in its order, and the walk's own
/// buffers: all of them reused by the thread's next sweep.
#[derive(Default)]
pub(crate) struct Bufs {
    /// Whether node `i` leads to a target (all do when there are no targets).
    pub(crate) needed: Vec<bool>,
    /// Which target node `i` is ([`NONE`]: none).
    pub(crate) target: Vec<u32>,
    /// The positions of node `i`'s tracked inputs, in input order:
    /// `edges[start[i]..start[i + 1]]`.
    pub(crate) edges: Vec<u32>,
    pub(crate) start: Vec<u32>,
    /// The position of each root.
    pub(crate) roots: Vec<u32>,
    /// The walk's: each node's discovery number by address; by discovery number, its
    /// children's numbers (`kids[from..to]`, set when it is entered) and its position
    /// ([`NONE`] before it is entered, [`OPEN`] until it exits); the steps to take; the
    /// nodes in post-order.
    ids: AddrMap<u32>,
    span: Vec<(u32, u32)>,
    pos: Vec<u32>,
    kids: Vec<u32>,
    stack: Vec<Step>,
    post: Vec<u32>,
}

/// Buffers grown past this many entries are freed after their sweep, not kept: a one-off
/// huge graph should not pin its walk's memory for the thread's life.
const KEEP_MAX: usize = 1 << 16;

thread_local! {
    static SPARE: Cell<Option<Box<Bufs>>> = const { Cell::new(None) };
}

impl Bufs {
    /// The thread's spare buffers, emptied (fresh ones if a sweep on this thread holds
    /// them: a rule that sweeps).
    fn take() -> Box<Bufs> {
        SPARE.try_with(Cell::take).ok().flatten().unwrap_or_default()
    }

    /// Empties the buffers and keeps them for the thread's next sweep, unless too large.
    fn give_back(mut self: Box<Self>) {
        if self.ids.capacity() > KEEP_MAX || self.kids.capacity() > KEEP_MAX {
            return;
        }
        let b = &mut *self;
        b.needed.clear();
        b.target.clear();
        b.edges.clear();
        b.start.clear();
        b.roots.clear();
        b.ids.clear();
        b.span.clear();
        b.pos.clear();
        b.kids.clear();
        b.stack.clear();
        b.post.clear();
        // During thread teardown the buffers are simply freed.
        let _ = SPARE.try_with(|s| s.set(Some(self)));
    }

    /// The number of `n`, numbered now (and listed in `nodes`) if it is new.
    fn see<'a, T: Element>(&mut self, nodes: &mut Vec<&'a NodeRef<T>>, n: &'a NodeRef<T>) -> u32 {
        match self.ids.entry(n.addr()) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                e.insert(nodes.len() as u32);
                self.number(nodes, n)
            }
        }
    }

    /// [`see`](Bufs::see) for `n` reached through a parent list: a node whose reference
    /// count is 1 is new without a lookup, and is not entered in the map. Every edge of a
    /// graph is a counted reference (a parent list's entry), and while the sweep holds the
    /// graph none of them can be dropped, so a count of 1 says this edge is the only one
    /// into `n`: no other path reaches it, and it is no root or target (whose references
    /// the sweep holds, counted, too). Most nodes of a forward pass are used once, and the
    /// lookup was most of the walk's cost per node.
    fn see_parent<'a, T: Element>(&mut self, nodes: &mut Vec<&'a NodeRef<T>>, n: &'a NodeRef<T>) -> u32 {
        if n.is_unique() { self.number(nodes, n) } else { self.see(nodes, n) }
    }

    fn number<'a, T: Element>(&mut self, nodes: &mut Vec<&'a NodeRef<T>>, n: &'a NodeRef<T>) -> u32 {
        let id = nodes.len() as u32;
        nodes.push(n);
        self.span.push((0, 0));
        self.pos.push(NONE);
        id
    }
}

/// The part of a graph a sweep visits, in topological order, by reference: each node is
/// kept alive by the roots or by its consumers' parent lists, which a sweep never changes.
/// Reads as its [`Bufs`] (`needed`, `target`, `edges`, `start`, `roots`).
pub(crate) struct Topo<'a, T: Element> {
    /// Nodes reachable from the roots, children before parents.
    pub(crate) order: Vec<&'a NodeRef<T>>,
    bufs: Option<Box<Bufs>>,
}

impl<T: Element> Deref for Topo<'_, T> {
    type Target = Bufs;
    fn deref(&self) -> &Bufs {
        self.bufs.as_deref().expect("a topo's buffers are returned only when it drops")
    }
}

impl<T: Element> Drop for Topo<'_, T> {
    fn drop(&mut self) {
        if let Some(b) = self.bufs.take() {
            b.give_back();
        }
    }
}

/// Orders the nodes reachable from `roots` (and marks those leading to `targets`) in two
/// passes: a depth-first walk that numbers each node when first seen (one hash lookup per
/// edge, none per node) and lists its children's numbers, then a pass in post-order that
/// renumbers everything by position.
pub(crate) fn topo<'a, T: Element>(roots: &[&'a NodeRef<T>], targets: Option<&[NodeRef<T>]>) -> Topo<'a, T> {
    let mut b = Bufs::take();
    let mut nodes: Vec<&'a NodeRef<T>> = Vec::with_capacity(b.pos.capacity().max(16));
    let mut root_ids = std::mem::take(&mut b.roots);
    for r in roots {
        let id = b.see(&mut nodes, r);
        root_ids.push(id);
        b.stack.push(Step::Enter(id));
    }
    while let Some(step) = b.stack.pop() {
        match step {
            Step::Enter(id) => {
                if b.pos[id as usize] != NONE {
                    continue; // entered from another consumer (or root) meanwhile
                }
                b.pos[id as usize] = OPEN;
                // The exit goes below the children's entries: it pops once they are done.
                b.stack.push(Step::Exit(id));
                let from = b.kids.len() as u32;
                let node: &'a NodeRef<T> = nodes[id as usize];
                for c in node.parents.as_slice().iter().flatten() {
                    let cid = b.see_parent(&mut nodes, c);
                    b.kids.push(cid);
                    // A child seen before but not yet entered is entered from here (its
                    // earlier entry, lower on the stack, is then skipped): it must exit
                    // before this node does.
                    if b.pos[cid as usize] == NONE {
                        b.stack.push(Step::Enter(cid));
                    }
                }
                b.span[id as usize] = (from, b.kids.len() as u32);
            }
            Step::Exit(id) => {
                b.pos[id as usize] = b.post.len() as u32;
                b.post.push(id);
            }
        }
    }
    let n = b.post.len();
    b.target.resize(n, NONE);
    for (j, t) in targets.unwrap_or(&[]).iter().enumerate() {
        if let Some(&id) = b.ids.get(&t.addr()) {
            let at = b.pos[id as usize] as usize;
            b.target[at] = j as u32;
        }
    }
    let mut order = Vec::with_capacity(n);
    b.start.push(0);
    let Bufs { needed, target, edges, start, pos, span, kids, post, .. } = &mut *b;
    for (at, &id) in post.iter().enumerate() {
        let mut need = targets.is_none() || target[at] != NONE;
        let (from, to) = span[id as usize];
        for &k in &kids[from as usize..to as usize] {
            // Children exit before their parents: their positions are set and smaller.
            let k = pos[k as usize];
            debug_assert!((k as usize) < at, "children exit before their consumers");
            need |= needed[k as usize];
            edges.push(k);
        }
        start.push(edges.len() as u32);
        needed.push(need);
        order.push(nodes[id as usize]);
    }
    b.roots = root_ids.iter().map(|&id| b.pos[id as usize]).collect();
    root_ids.clear();
    Topo { order, bufs: Some(b) }
}

/// The op nodes reachable from `root`, inputs before the ops that use them (leaves
/// dropped): the order the forward pass recorded them in, up to ties.
pub(crate) fn op_nodes<T: Element>(root: &NodeRef<T>) -> Vec<NodeRef<T>> {
    topo(&[root], None).order.iter().filter(|n| !n.leaf).map(|&n| n.clone()).collect()
}
