//! Bad input to every public entry point of `autodiff`: one test per row of the "Bad input"
//! table in `ARCHITECTURE.md`. Misuse must panic with a message naming the op and the
//! offending shapes, axes, counts or levels; NaN and inf must give the IEEE result of the
//! documented rule; empty tensors the documented result. Never a silent wrong answer.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::slice::from_ref;

use autodiff::{
    Op, Tensor, grad, grad_many, gradients, hessian, hvp, jacfwd, jacfwd_chunked, jacrev, jacrev_chunked,
    jacrev_many, jvp, jvp_many, trace, value_and_grad, vhp_many, vjp,
};

#[path = "../../kernels/tests/panics/mod.rs"]
mod panics;
use panics::{has_all, panic_msg};

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(data.to_vec(), shape)
}

// ---- constructors ----

/// `from_vec` with a length that does not fill the shape names both; the accessors that
/// need one element or a plain tensor say why they refuse.
#[test]
fn constructors_with_a_wrong_data_length_are_named() {
    let m = panic_msg(|| Tensor::from_vec(vec![1.0f64; 5], &[2, 3]));
    assert_eq!(m, "Tensor::from_vec: 5 values do not fill shape [2, 3] (6 elements)");
    let m = panic_msg(|| Tensor::<f32>::from_vec(vec![], &[1]));
    has_all(&m, &["0 values", "shape [1]", "(1 elements)"]);
    let m = panic_msg(|| Tensor::from_vec(vec![1.0f64; 2], &[0, 4]));
    has_all(&m, &["2 values", "shape [0, 4]", "(0 elements)"]);
    let m = panic_msg(|| t(&[1.0, 2.0], &[2]).item());
    has_all(&m, &["Tensor::item", "shape [2]"]);
    let m = panic_msg(|| Tensor::<f64>::zeros(&[0]).item());
    has_all(&m, &["Tensor::item", "shape [0]"]);
    let m = panic_msg(|| t(&[1.0], &[1]).requires_grad().data_mut()[0] = 2.0);
    has_all(&m, &["Tensor::data_mut", "tracked or dual", "detach()"]);
    let m = panic_msg(|| t(&[1.0, 2.0], &[2]).axpy_(1.0, &t(&[1.0; 3], &[3])));
    has_all(&m, &["Tensor::axpy_", "[2]", "[3]"]);
}

/// A shape whose element count overflows usize is refused by name before any allocation,
/// whatever the order of its dimensions: the rule is numpy's, the product of the nonzero
/// dimensions must fit (so [usize::MAX, 2, 0] and [0, usize::MAX, 2] are refused alike,
/// while [usize::MAX, 0] is a valid empty shape). A count that fits but whose bytes exceed
/// isize::MAX (Rust's limit for one allocation) is refused by name too; a count that fits
/// the address space but not the machine is the allocator's business (it aborts).
#[test]
fn shapes_whose_element_count_overflows_are_refused() {
    let max = usize::MAX;
    for shape in [vec![max, 2], vec![1 << 32, 1 << 32], vec![max, 2, 0], vec![0, max, 2]] {
        let m = panic_msg(|| Tensor::<f64>::from_vec(vec![], &shape));
        has_all(&m, &[&format!("shape {shape:?}"), "overflows usize"]);
        let m = panic_msg(|| Tensor::<f32>::zeros(&shape));
        has_all(&m, &[&format!("shape {shape:?}"), "overflows usize"]);
    }
    let m = panic_msg(|| Tensor::<f64>::full(&[max, 3], 1.0));
    has_all(&m, &["overflows usize"]);
    let m = panic_msg(|| Tensor::<f64>::rand_uniform(&[2, max], 0.0, 1.0, 1));
    has_all(&m, &["overflows usize"]);
    let m = panic_msg(|| Tensor::<f64>::randn(&[max, max], 1));
    has_all(&m, &["overflows usize"]);
    // reshape and broadcast_to to an overflowing shape name it too.
    let m = panic_msg(|| Tensor::<f64>::zeros(&[0]).reshape(&[0, max, 2]));
    has_all(&m, &["overflows usize"]);
    let m = panic_msg(|| Tensor::scalar(1.0f64).broadcast_to(&[max, 2]));
    has_all(&m, &["overflows usize"]);
    // A product of empty operands whose result would be [2, usize::MAX].
    let m = panic_msg(|| Tensor::<f64>::zeros(&[2, 0]).matmul(&Tensor::zeros(&[0, max])));
    has_all(&m, &[&format!("shape [2, {max}]"), "overflows usize"]);
    // An empty shape with a huge dimension is valid, and empty.
    let e = Tensor::<f64>::zeros(&[max, 0]);
    assert_eq!((e.shape(), e.numel()), (&[max, 0][..], 0));
    assert_eq!(e.sum().item(), 0.0);
    // 2⁶¹ f64 elements fit a usize count but are 2⁶⁴ bytes; 2⁶² f32 alike.
    let m = panic_msg(|| Tensor::<f64>::zeros(&[1 << 61]));
    has_all(&m, &["2305843009213693952 f64 elements", "isize::MAX bytes"]);
    let m = panic_msg(|| Tensor::scalar(1.0f32).broadcast_to(&[1 << 62]));
    has_all(&m, &["4611686018427387904 f32 elements", "isize::MAX bytes"]);
    // The sum over the empty axis of [2⁶¹, 0] is 2⁶¹ zeros: the result is the problem.
    let m = panic_msg(|| Tensor::<f64>::zeros(&[1 << 61, 0]).sum_axis(1, false));
    has_all(&m, &["2305843009213693952 f64 elements", "isize::MAX bytes"]);
}

// ---- ops ----

/// Binary ops (operators, scalar operands, maximum, minimum, atan2, pow, the losses and
/// broadcast_to / sum_to) name the op and both shapes when they do not broadcast.
#[test]
fn binary_ops_with_unbroadcastable_shapes_are_named() {
    let (a, b) = (Tensor::<f64>::zeros(&[2, 3]), Tensor::<f64>::zeros(&[4]));
    type BinFn = fn(&Tensor<f64>, &Tensor<f64>) -> Tensor<f64>;
    let ops: [(&str, BinFn); 8] = [
        ("add", |a, b| a + b),
        ("sub", |a, b| a - b),
        ("mul", |a, b| a * b),
        ("div", |a, b| a / b),
        ("maximum", |a, b| a.maximum(b)),
        ("minimum", |a, b| a.minimum(b)),
        ("atan2", |a, b| a.atan2(b)),
        ("pow", |a, b| a.pow(b)),
    ];
    for (name, f) in ops {
        let m = panic_msg(|| f(&a, &b));
        assert_eq!(
            m,
            format!("{name}: shapes [2, 3] and [4] do not broadcast (axis 1 of the aligned shapes: 3 vs 4)")
        );
    }
    // Tracked and dual operands are checked the same way (the check precedes recording).
    let m = panic_msg(|| grad(|x| (x + &b).sum(), &a));
    has_all(&m, &["add: shapes [2, 3] and [4] do not broadcast"]);
    let m = panic_msg(|| jvp(|x| x * &b, &a, &a));
    has_all(&m, &["mul: shapes [2, 3] and [4] do not broadcast"]);
    // Rank-0 against anything broadcasts; [3, 1] against [1, 4] broadcasts to [3, 4].
    assert_eq!((&Tensor::<f64>::zeros(&[3, 1]) + &Tensor::zeros(&[1, 4])).shape(), &[3, 4]);
    let m = panic_msg(|| a.broadcast_to(&[3, 3]));
    assert_eq!(m, "broadcast_to: shape [2, 3] does not broadcast to [3, 3]");
    let m = panic_msg(|| a.sum_to(&[2]));
    assert_eq!(m, "sum_to: shape [2] does not broadcast to the tensor's shape [2, 3]");
    let m = panic_msg(|| a.mse_loss(&Tensor::zeros(&[3, 2])));
    has_all(&m, &["mse_loss", "[2, 3]", "[3, 2]"]);
    let m = panic_msg(|| b.softmax_cross_entropy(&[0]));
    has_all(&m, &["softmax_cross_entropy", "[batch, classes]", "[4]"]);
    let m = panic_msg(|| a.softmax_cross_entropy(&[0]));
    has_all(&m, &["1 labels for a batch of 2", "[2, 3]"]);
    let m = panic_msg(|| a.softmax_cross_entropy(&[0, 3]));
    has_all(&m, &["label 3 at batch index 1", "3 classes"]);
}

/// matmul names both shapes (as the caller wrote them, also for the 3-d·2-d form, which
/// flattens internally) when the inner dimensions or batch sizes differ, and refuses other
/// ranks; transpose needs 2-d.
#[test]
fn matmul_with_mismatched_shapes_is_named() {
    let z = |s: &[usize]| Tensor::<f64>::zeros(s);
    let m = panic_msg(|| z(&[2, 3]).matmul(&z(&[4, 5])));
    assert_eq!(m, "matmul: shapes [2, 3] and [4, 5] do not multiply");
    let m = panic_msg(|| z(&[2, 2, 3]).matmul(&z(&[3, 3, 5])));
    assert_eq!(m, "matmul: shapes [2, 2, 3] and [3, 3, 5] do not multiply");
    let m = panic_msg(|| z(&[2, 4, 3]).matmul(&z(&[4, 5])));
    assert_eq!(m, "matmul: shapes [2, 4, 3] and [4, 5] do not multiply");
    let m = panic_msg(|| z(&[3]).matmul(&z(&[3])));
    has_all(&m, &["matmul: shapes [3] and [3]", "need 2-d·2-d"]);
    let m = panic_msg(|| z(&[2, 3]).matmul(&z(&[2, 3, 4])));
    has_all(&m, &["matmul: shapes [2, 3] and [2, 3, 4]"]);
    let m = panic_msg(|| z(&[2, 3, 4]).transpose());
    has_all(&m, &["transpose: needs a 2-d tensor", "[2, 3, 4]"]);
    // The rules' products are checked as well: a tracked mismatch fails at the forward.
    let m = panic_msg(|| grad(|x| x.matmul(&z(&[2, 2])).sum(), &z(&[2, 3])));
    has_all(&m, &["matmul: shapes [2, 3] and [2, 2]"]);
}

/// reshape to a different element count names both shapes and counts.
#[test]
fn reshape_with_a_different_element_count_is_named() {
    let x = Tensor::<f64>::zeros(&[2, 3]);
    let m = panic_msg(|| x.reshape(&[4]));
    assert_eq!(m, "reshape: shape [2, 3] (6 elements) cannot become [4] (4 elements)");
    let m = panic_msg(|| x.reshape(&[0, 6]));
    has_all(&m, &["cannot become [0, 6] (0 elements)"]);
    let m = panic_msg(|| Tensor::<f64>::zeros(&[0, 3]).reshape(&[1]));
    has_all(&m, &["shape [0, 3] (0 elements) cannot become [1] (1 elements)"]);
    // Any shape of zero elements is reachable from any other.
    assert_eq!(Tensor::<f64>::zeros(&[0, 3]).reshape(&[5, 0, 2]).shape(), &[5, 0, 2]);
}

/// slice and select outside the axis name the range or index, the axis and the shape; a
/// reversed range is refused the same way; an empty range is a valid empty slice.
#[test]
fn slice_and_select_out_of_range_are_named() {
    let x = Tensor::<f64>::zeros(&[2, 3]);
    let m = panic_msg(|| x.slice(1, 2..4));
    assert_eq!(m, "slice: range 2..4 is outside 0..3 on axis 1 of shape [2, 3]");
    #[allow(clippy::reversed_empty_ranges)]
    let m = panic_msg(|| x.slice(1, 2..1));
    has_all(&m, &["range 2..1", "axis 1"]);
    let m = panic_msg(|| x.select(0, 2));
    assert_eq!(m, "select: index 2 is out of range for axis 0 of shape [2, 3]");
    let m = panic_msg(|| Tensor::<f64>::zeros(&[0]).select(0, 0));
    has_all(&m, &["select: index 0", "[0]"]);
    assert_eq!(x.slice(1, 3..3).shape(), &[2, 0]);
    // Inside a transform the check is the same (tracked and dual inputs).
    let m = panic_msg(|| grad(|x| x.slice(0, 1..3).sum(), &x));
    has_all(&m, &["slice: range 1..3 is outside 0..2 on axis 0"]);
}

/// An axis beyond the rank is named with the op and the shape, for every op that takes
/// one (stack's new axis may equal the rank, and no more).
#[test]
fn axes_out_of_range_are_named() {
    let x = Tensor::<f64>::zeros(&[2, 3]);
    type Case<'a> = (&'a str, Box<dyn Fn() -> Tensor<f64> + 'a>);
    let cases: Vec<Case> = vec![
        ("slice", Box::new(|| x.slice(2, 0..1))),
        ("select", Box::new(|| x.select(2, 0))),
        ("sum_axis", Box::new(|| x.sum_axis(2, false))),
        ("mean_axis", Box::new(|| x.mean_axis(2, true))),
        ("max_axis", Box::new(|| x.max_axis(5, false))),
        ("logsumexp", Box::new(|| x.logsumexp(2, false))),
        ("softmax", Box::new(|| x.softmax(2))),
        ("log_softmax", Box::new(|| x.log_softmax(2))),
        ("concat", Box::new(|| Tensor::concat(&[x.clone(), x.clone()], 2))),
    ];
    for (name, f) in cases {
        let m = panic_msg(f);
        assert!(m.starts_with(&format!("{name}: axis ")), "{name}: {m}");
        has_all(&m, &["is out of range for shape [2, 3] (2 axes)"]);
    }
    let m = panic_msg(|| Tensor::stack(from_ref(&x), 3));
    assert_eq!(m, "stack: axis 3 is out of range for shape [2, 3] (new axis ≤ 2)");
    let m = panic_msg(|| Tensor::scalar(1.0f64).softmax(0));
    has_all(&m, &["softmax: axis 0 is out of range for shape [] (0 axes)"]);
}

/// concat and stack refuse an empty list, differing ranks or shapes (named), and a joined
/// axis whose length overflows usize (possible with empty tensors).
#[test]
fn concat_and_stack_mismatches_are_named() {
    let z = |s: &[usize]| Tensor::<f64>::zeros(s);
    let m = panic_msg(|| Tensor::<f64>::concat(&[], 0));
    assert_eq!(m, "concat: no tensors to join");
    let m = panic_msg(|| Tensor::<f64>::stack(&[], 0));
    assert_eq!(m, "stack: no tensors to join");
    let m = panic_msg(|| Tensor::concat(&[z(&[2, 3]), z(&[2, 4]), z(&[3, 3])], 0));
    assert_eq!(m, "concat: shapes [2, 3] and [2, 4] differ outside axis 0");
    let m = panic_msg(|| Tensor::concat(&[z(&[2, 3]), z(&[2, 3, 1])], 1));
    assert_eq!(m, "concat: shapes [2, 3] and [2, 3, 1] differ outside axis 1");
    let m = panic_msg(|| Tensor::stack(&[z(&[2, 3]), z(&[3, 2])], 0));
    assert_eq!(m, "stack: shapes [2, 3] and [3, 2] differ");
    // Lengths along the joined axis may differ; that is what concat is for.
    assert_eq!(Tensor::concat(&[z(&[2, 3]), z(&[2, 0]), z(&[2, 1])], 1).shape(), &[2, 4]);
    // Two empty [0, 2⁶³] tensors: the joined axis would be 2⁶⁴.
    let half = 1usize << 63;
    let m = panic_msg(|| Tensor::concat(&[z(&[0, half]), z(&[0, half])], 1));
    has_all(&m, &["concat", "axis 1", "overflows usize"]);
}

/// Zero-size tensors flow through every op with the empty result, or the reduction's
/// identity (existing coverage of broadcasting and sums: `ops.rs::empty_tensors`):
/// - matmul with k = 0 is all zeros ([2, 0]·[0, 3] = 0₂ₓ₃), with m = 0 empty, and their
///   gradients have the operands' (possibly empty) shapes: dA = G·Bᵀ = [2, 3]·[3, 0];
/// - sum ∅ = 0, prod ∅ = 1, mean ∅ = 0·(1/0) = 0·inf = NaN (documented);
/// - softmax / log_softmax over an empty axis are empty on any axis;
/// - max_axis and logsumexp over an empty axis are refused by name (no identity is
///   useful there: the max of nothing);
/// - softmax_cross_entropy of an empty batch is NaN (a mean over nothing, as mean), with an
///   empty gradient.
#[test]
fn zero_size_tensors_give_empty_results_or_identities() {
    let z = |s: &[usize]| Tensor::<f64>::zeros(s);
    let p = z(&[2, 0]).matmul(&z(&[0, 3]));
    assert_eq!((p.shape(), p.to_vec()), (&[2, 3][..], vec![0.0; 6]));
    assert_eq!(z(&[0, 4]).matmul(&z(&[4, 3])).shape(), &[0, 3]);
    assert_eq!(z(&[3, 0, 4]).matmul(&z(&[3, 4, 2])).shape(), &[3, 0, 2]);
    let g = grad_many(|v| v[0].matmul(&v[1]).sum(), &[z(&[2, 0]), z(&[0, 3])]);
    assert_eq!((g[0].shape(), g[1].shape()), (&[2, 0][..], &[0, 3][..]));
    assert_eq!(z(&[0, 5]).sum().item(), 0.0);
    assert_eq!(z(&[0]).prod().item(), 1.0);
    assert!(z(&[0]).mean().item().is_nan());
    assert_eq!(z(&[3, 0]).sum_axis(1, false).to_vec(), [0.0; 3]);
    for axis in [0, 1] {
        assert_eq!(z(&[0, 3]).softmax(axis).shape(), &[0, 3]);
        assert_eq!(z(&[0, 3]).log_softmax(axis).shape(), &[0, 3]);
        assert_eq!(z(&[3, 0]).softmax(axis).shape(), &[3, 0]);
    }
    let g = grad(|x| x.softmax(0).sum(), &z(&[0, 3]));
    assert_eq!(g.shape(), &[0, 3]);
    let m = panic_msg(|| z(&[0, 3]).max_axis(0, false));
    assert_eq!(m, "max_axis: axis 0 of shape [0, 3] is empty");
    let m = panic_msg(|| z(&[3, 0]).logsumexp(1, true));
    assert_eq!(m, "logsumexp: axis 1 of shape [3, 0] is empty");
    let (l, g) = value_and_grad(|x| x.softmax_cross_entropy(&[]), &z(&[0, 4]));
    assert!(l.item().is_nan());
    assert_eq!(g.shape(), &[0, 4]);
    // Transforms of empty inputs: empty Jacobians, empty gradients.
    assert_eq!(jacrev(|x| x.exp(), &z(&[0])).shape(), &[0, 0]);
    assert_eq!(jacfwd(|x| x.exp(), &z(&[0])).shape(), &[0, 0]);
    assert_eq!(jacfwd(|x| x.sum(), &z(&[0])).shape(), &[0]);
    assert_eq!(hessian(|x| x.square().sum(), &z(&[0])).shape(), &[0, 0]);
    // A user op on the default batched rules: jacfwd at a zero-size input pushes an empty
    // batch of tangents (nothing to stack), jacrev an empty batch of cotangents.
    #[derive(Clone)]
    struct Twice(bool);
    impl Op<f64> for Twice {
        fn name(&self) -> &str {
            "twice"
        }
        fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
            x[0] * 2.0
        }
        fn vjp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
            vec![Some(g * 2.0)]
        }
        fn jvp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, t: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
            if self.0 { t[0].as_ref().map(|t| t * 2.0) } else { None }
        }
    }
    assert_eq!(jacfwd(|x| x.apply_op(Twice(true), &[]), &z(&[2, 0])).shape(), &[2, 0, 2, 0]);
    assert_eq!(jacrev(|x| x.apply_op(Twice(true), &[]), &z(&[0, 3])).shape(), &[0, 3, 0, 3]);
    // Without a JVP rule the empty batch still says so.
    let m = panic_msg(|| jacfwd(|x| x.apply_op(Twice(false), &[]), &z(&[0])));
    has_all(&m, &["`twice` has no JVP rule"]);
}

// ---- reverse mode ----

/// A backward from a non-scalar without a cotangent, a cotangent of the wrong shape or
/// count, an untracked output or input: each named.
#[test]
fn backward_misuse_is_named() {
    let x = t(&[1.0; 6], &[2, 3]).requires_grad();
    let y = &x * 2.0;
    let m = panic_msg(|| y.backward());
    has_all(&m, &["backward: the output has shape [2, 3]", "backward_with"]);
    let m = panic_msg(|| y.backward_with(&Tensor::ones(&[3, 2])));
    assert_eq!(m, "backward: the cotangent has shape [3, 2] but the output has shape [2, 3]");
    let m = panic_msg(|| t(&[1.0], &[1]).exp().backward());
    has_all(&m, &["backward: the output is not tracked"]);
    let m = panic_msg(|| gradients(from_ref(&y), None, &[&x], false, false));
    has_all(&m, &["gradients: output 0 has shape [2, 3]", "pass a cotangent"]);
    let m = panic_msg(|| gradients(from_ref(&y), Some(&[] as &[Tensor<f64>]), &[&x], false, false));
    assert_eq!(m, "gradients: 0 cotangents for 1 outputs");
    let m = panic_msg(|| gradients(from_ref(&y), Some(&[Tensor::ones(&[6])]), &[&x], false, false));
    has_all(&m, &["gradients: the cotangent of output 0 has shape [6]", "[2, 3]"]);
    let plain = Tensor::<f64>::zeros(&[4]);
    let m =
        panic_msg(|| gradients(from_ref(&y), Some(&[Tensor::ones(&[2, 3])]), &[&x, &plain], false, false));
    assert_eq!(m, "gradients: input 1 (shape [4]) is not tracked");
    // Under no_grad nothing records, so the output is untracked: named, not a zero.
    let m = panic_msg(|| autodiff::no_grad(|| (&x * 2.0).sum()).backward());
    has_all(&m, &["not tracked", "no_grad"]);
}

/// Documented semantics: a sweep frees the saved values it used, so a second `backward`
/// over the same graph panics naming the op where it stopped (gradients accumulated by the
/// first sweep stay as they were). A leaf has nothing to free: `backward` from a leaf
/// twice accumulates 1 + 1 = 2. `gradients(.., retain_graph = true)` and a `vjp` pullback
/// may sweep any number of times, with the same result each time.
#[test]
fn backward_twice() {
    // y = Σ x², ∂y/∂x = 2x = [2, −4] (exact).
    let x = t(&[1.0, -2.0], &[2]).requires_grad();
    let y = x.square().sum();
    y.backward();
    assert_eq!(x.grad().unwrap().to_vec(), [2.0, -4.0]);
    let m = panic_msg(|| y.backward());
    // Σ is `sum_to` the empty shape: the root op, where the second sweep stops.
    has_all(&m, &["backward: the graph through `sum_to` was already swept", "retained the graph"]);
    assert_eq!(x.grad().unwrap().to_vec(), [2.0, -4.0], "the refused sweep accumulated something");
    // A new graph over the same leaf is a new graph: it accumulates (2x + 2x).
    x.square().sum().backward();
    assert_eq!(x.grad().unwrap().to_vec(), [4.0, -8.0]);
    // A leaf swept from itself: seed 1 each time.
    let w = Tensor::scalar(3.0f64).requires_grad();
    w.backward();
    w.backward();
    assert_eq!(w.grad().unwrap().item(), 2.0);
    // Retained: three sweeps, one answer, nothing accumulated into the leaf.
    let x = t(&[0.5], &[1]).requires_grad();
    let y = x.exp().sum(); // ∂y/∂x = eˣ, the forward's own value
    let g: Vec<f64> = (0..3).map(|_| gradients(from_ref(&y), None, &[&x], false, true)[0].item()).collect();
    assert_eq!(g, [y.item(); 3]);
    assert!(x.grad().is_none());
    // A pullback: u ↦ 3u, twice.
    let (_, pb) = vjp(|x| x * 3.0, &t(&[1.0, 2.0], &[2]));
    for _ in 0..2 {
        assert_eq!(pb(&t(&[1.0, -1.0], &[2])).to_vec(), [3.0, -3.0]);
    }
    // A graph that shares a swept node with a new one: the new sweep stops there, named.
    let x = t(&[2.0], &[1]).requires_grad();
    let h = x.exp();
    h.sum().backward();
    let m = panic_msg(|| (&h * 3.0).sum().backward());
    has_all(&m, &["the graph through `exp` was already swept"]);
}

/// There is no graph object: a graph is the nodes reachable from a tensor, so tensors
/// recorded separately (different leaves, different closures, different threads) combine
/// into one graph and a sweep reaches the leaves of all of them. What cannot be mixed in
/// is a part already swept (named, as in `backward_twice`); an input the outputs do not
/// reach gets zeros from `gradients`.
#[test]
fn tensors_from_different_graphs_mixed() {
    // z = 2a + eᵇ from two separately built graphs: ∂z/∂a = 2, ∂z/∂b = eᵇ (the forward's
    // own exp value, so exact).
    let a = Tensor::scalar(1.5f64).requires_grad();
    let b = Tensor::scalar(0.25f64).requires_grad();
    let ya = &a * 2.0;
    let yb = b.exp();
    let eb = yb.item();
    (&ya + &yb).backward();
    assert_eq!((a.grad().unwrap().item(), b.grad().unwrap().item()), (2.0, eb));
    // A graph recorded on another thread joins one recorded here: ∂(c²·d)/∂c = 2cd = 12,
    // ∂/∂d = c² = 9 at c = 3, d = 2.
    let c = Tensor::scalar(3.0f64).requires_grad();
    let c2 = std::thread::scope(|s| s.spawn(|| &c * &c).join().unwrap());
    assert!(c2.is_tracked());
    let d = Tensor::scalar(2.0f64).requires_grad();
    (&c2 * &d).backward();
    assert_eq!((c.grad().unwrap().item(), d.grad().unwrap().item()), (12.0, 9.0));
    // gradients with respect to a leaf of an unrelated graph: zeros of its shape.
    let e = t(&[1.0, 2.0, 3.0], &[3]).requires_grad();
    let f = Tensor::scalar(1.0f64).requires_grad();
    let g = gradients(&[(&f * 5.0)], None, &[&f, &e], false, false);
    assert_eq!((g[0].item(), g[1].to_vec()), (5.0, vec![0.0; 3]));
    // A functional transform closing over a tensor of an outer graph differentiates only
    // its own input (the outer tensor is a constant inside): d/dx (x·o) = o = 4.
    let o = Tensor::scalar(4.0f64).requires_grad();
    assert_eq!(grad(|x| x * &o, &Tensor::scalar(7.0)).item(), 4.0);
}

/// A function whose output does not depend on its input has a zero derivative in every
/// transform (shaped as the transform's result), not an error: `grad` and `vjp` give
/// zeros like x, `jvp` a zero tangent like y, the Jacobians and Hessians zero matrices.
#[test]
fn derivatives_of_functions_not_depending_on_the_input_are_zero() {
    let x = t(&[1.0, -2.0, 3.0], &[3]);
    let konst = |_: &Tensor<f64>| Tensor::scalar(5.0);
    let (y, g) = value_and_grad(konst, &x);
    assert_eq!((y.item(), g.shape(), g.to_vec()), (5.0, &[3][..], vec![0.0; 3]));
    assert_eq!(grad(|x| x.detach().sum(), &x).to_vec(), [0.0; 3]);
    assert_eq!(grad(|x| autodiff::no_grad(|| x.sum()), &x).to_vec(), [0.0; 3]);
    let g = grad_many(|v| v[0].sum(), &[x.clone(), t(&[1.0; 4], &[2, 2])]);
    assert_eq!((g[1].shape(), g[1].to_vec()), (&[2, 2][..], vec![0.0; 4]));
    let (_, pb) = vjp(|_| Tensor::<f64>::ones(&[2]), &x);
    assert_eq!(pb(&t(&[1.0, 1.0], &[2])).to_vec(), [0.0; 3]);
    let (y, dy) = jvp(|_| Tensor::<f64>::ones(&[2, 2]), &x, &x);
    assert_eq!((y.shape(), dy.shape(), dy.to_vec()), (&[2, 2][..], &[2, 2][..], vec![0.0; 4]));
    let const2 = |_: &Tensor<f64>| Tensor::<f64>::ones(&[2]);
    assert_eq!(jacrev(const2, &x).to_vec(), [0.0; 6]);
    assert_eq!(jacfwd(const2, &x).shape(), &[2, 3]);
    assert_eq!(jacfwd(const2, &x).to_vec(), [0.0; 6]);
    assert_eq!(hessian(konst, &x).to_vec(), [0.0; 9]);
    assert_eq!(hvp(konst, &x, &x).to_vec(), [0.0; 3]);
}

/// NaN and inf flow through the derivative rules as IEEE arithmetic on the documented
/// formulas (the `check_numerics` switch turns such values into a named panic instead:
/// `modes.rs::check_numerics_names_the_op`, `..._of_a_bad_gradient`):
/// - Σx²: ∇ = 2x = [NaN, inf, −inf, 2] at x = [NaN, inf, −inf, 1];
/// - Σeˣ: ∇ = eˣ = [inf, 0, NaN] at [inf, −inf, NaN];
/// - Σ relu(x): ∇ = [x > 0] = [0, 1, 0] at [NaN, inf, −inf] (the mask of NaN is false:
///   relu′(NaN) = 0, as PyTorch);
/// - Σ√x at 0: ∇ = 1/(2√0) = +inf; a zero cotangent there gives 0·inf = NaN (documented);
/// - jvp of eˣ at NaN: eᴺᵃᴺ·1 = NaN; jvp of 2x with tangent inf: 2·inf = inf;
/// - Jacobians: a zero basis entry meeting an inf factor is 0·inf = NaN (below).
#[test]
fn nan_and_inf_through_derivatives_follow_ieee() {
    let (nan, inf) = (f64::NAN, f64::INFINITY);
    let g = grad(|x| x.square().sum(), &t(&[nan, inf, -inf, 1.0], &[4])).to_vec();
    assert!(g[0].is_nan() && g[1..] == [inf, -inf, 2.0], "{g:?}");
    let g = grad(|x| x.exp().sum(), &t(&[inf, -inf, nan], &[3])).to_vec();
    assert!(g[0] == inf && g[1] == 0.0 && g[2].is_nan(), "{g:?}");
    let g = grad(|x| x.relu().sum(), &t(&[nan, inf, -inf], &[3])).to_vec();
    assert_eq!(g, [0.0, 1.0, 0.0]);
    assert_eq!(grad(|x| x.sqrt().sum(), &t(&[0.0], &[1])).to_vec(), [inf]);
    assert!(grad(|x| (&x.sqrt() * 0.0).sum(), &t(&[0.0], &[1])).item().is_nan());
    let (y, dy) = jvp(|x| x.exp(), &t(&[nan], &[1]), &t(&[1.0], &[1]));
    assert!(y.item().is_nan() && dy.item().is_nan());
    assert_eq!(jvp(|x| x * 2.0, &t(&[1.0], &[1]), &t(&[inf], &[1])).1.item(), inf);
    // The Jacobian of x ↦ x² at [inf, 1] is diag(2x) = diag(inf, 2), but each view forms
    // it as (basis vector)·2x: jacrev's row 1 is [0, 1]·2x = [0·inf, 2] = [NaN, 2], and
    // jacfwd's column 1 is 2x·[0, 1] = [inf·0, 2]: the zero that meets the inf is NaN.
    let x = t(&[inf, 1.0], &[2]);
    let j = jacrev(|x| x.square(), &x).to_vec();
    assert!(j[0] == inf && j[1] == 0.0 && j[2].is_nan() && j[3] == 2.0, "{j:?}");
    let j = jacfwd(|x| x.square(), &x).to_vec();
    assert!(j[0] == inf && j[1].is_nan() && j[2] == 0.0 && j[3] == 2.0, "{j:?}");
}

// ---- the transforms ----

/// The transforms' own checks: a non-scalar `grad`, cotangent and tangent shapes and
/// counts, chunk sizes, Hessian-vector shapes; each names what it got.
#[test]
fn transform_misuse_is_named() {
    let x = t(&[1.0, 2.0], &[2]);
    let m = panic_msg(|| grad(|x| x.exp(), &x));
    assert_eq!(m, "grad: f must return one element, but it returned shape [2]; use vjp with a cotangent");
    let (_, pb) = vjp(|x| x.exp(), &x);
    let m = panic_msg(|| pb(&Tensor::ones(&[3])));
    assert_eq!(m, "vjp: the cotangent has shape [3] but f's output has shape [2]");
    let m = panic_msg(|| jvp(|x| x.exp(), &x, &Tensor::ones(&[2, 1])));
    assert_eq!(m, "jvp: tangent 0 has shape [2, 1] but input 0 has shape [2]");
    let m = panic_msg(|| jvp_many(|v| v[0].exp(), from_ref(&x), &[]));
    assert_eq!(m, "jvp: 1 inputs but 0 tangents");
    let m = panic_msg(|| jacfwd_chunked(|x| x.exp(), &x, 0));
    assert_eq!(m, "jacobian: the chunk size must be at least 1");
    let m = panic_msg(|| jacrev_chunked(|x| x.exp(), &x, 0));
    assert_eq!(m, "jacobian: the chunk size must be at least 1");
    let m = panic_msg(|| hvp(|x| x.square().sum(), &x, &Tensor::ones(&[3])));
    has_all(&m, &["hvp: v has shape [3] but x has shape [2]"]);
    let m = panic_msg(|| hessian(|x| x.square(), &x));
    has_all(&m, &["one element", "[2]"]);
    let m = panic_msg(|| vhp_many(|v| v[0].sum(), from_ref(&x), &[]));
    assert_eq!(m, "vhp: 1 inputs but 0 vectors");
    let (_, ops) = trace(|x| x.exp(), &x);
    let m = panic_msg(|| ops[0].apply(&[]));
    assert_eq!(m, "TracedOp::apply: `exp` takes 1 inputs, 0 given");
}

/// Forward-mode levels are not interchangeable: a dual tensor used after its `jvp` ended
/// is refused by name (`modes.rs::error_messages_name_ops_and_shapes` covers an op on it);
/// returning one from an enclosing `jvp` is refused too. A dual tensor from a `jvp`
/// running on another thread is refused (levels are numbered uniquely per process, so it
/// can never pass for a level open here, which would mix its tangent into the wrong
/// derivative). Nested levels mix correctly (`modes.rs::perturbation_confusion`).
#[test]
fn dual_tensors_from_other_jvp_calls_are_refused() {
    let one = Tensor::scalar(1.0f64);
    // An inner dual escapes, and the outer f returns it.
    let escaped = RefCell::new(None);
    let m = panic_msg(|| {
        jvp(
            |x| {
                let _ = jvp(
                    |y| {
                        *escaped.borrow_mut() = Some(y * 2.0);
                        y.clone()
                    },
                    &one,
                    &one,
                );
                let _ = x;
                escaped.borrow().clone().unwrap()
            },
            &one,
            &one,
        )
    });
    has_all(
        &m,
        &["jvp: f returned a dual tensor of forward-mode level", "not open on this thread", "escaped"],
    );
    // An op on an escaped dual names the op and the level.
    let e = escaped.into_inner().unwrap();
    let m = panic_msg(|| &e + &one);
    has_all(&m, &["`add`: an input is a dual tensor of forward-mode level", "detach()"]);
    // Another thread's dual, while that thread's jvp is still open: thread A opens its
    // jvp on x = 2 (tangent 1) and hands the dual x to thread B, which, inside a jvp in
    // y = 3 (tangent 1), computes x·y. A's tangent must not pass for B's (that would give
    // ∂/∂y = 3·1 + 2·1 = 5 instead of 2). Both threads are fresh, so each opens its first
    // level: per-thread numbering would make the two levels look alike.
    let (to_b, from_a) = std::sync::mpsc::channel::<Tensor<f64>>();
    let (to_a, from_b) = std::sync::mpsc::channel::<()>();
    let m = std::thread::scope(|s| {
        s.spawn(move || {
            jvp(
                |x| {
                    to_b.send(x.clone()).unwrap();
                    from_b.recv().unwrap();
                    x.clone()
                },
                &Tensor::scalar(2.0),
                &Tensor::scalar(1.0),
            );
        });
        let b = s.spawn(move || {
            let xa = from_a.recv().unwrap();
            let r = catch_unwind(AssertUnwindSafe(|| {
                jvp(|y| &xa * y, &Tensor::scalar(3.0), &Tensor::scalar(1.0)).1.item()
            }));
            to_a.send(()).unwrap();
            r.map_err(|e| e.downcast_ref::<String>().cloned().unwrap_or_default())
        });
        b.join().unwrap()
    });
    match m {
        Ok(dy) => panic!("another thread's dual was mixed in: dy = {dy}"),
        Err(m) => has_all(&m, &["`mul`", "not open on this thread", "another thread"]),
    }
}

/// User ops whose rules return the wrong number or shape of (co)tangents are refused
/// naming the op, in single and batched (jacrev / jacfwd) sweeps alike, rather than
/// having the missing entries read as "no dependency".
#[test]
fn custom_op_rules_with_wrong_outputs_are_named() {
    /// y = a + b whose VJP returns only a's cotangent, and whose JVP has the wrong shape.
    #[derive(Clone)]
    struct Broken;
    impl Op<f64> for Broken {
        fn name(&self) -> &str {
            "broken"
        }
        fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
            x[0] + x[1]
        }
        fn vjp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
            vec![Some(g.clone())]
        }
        fn jvp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, _: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
            Some(Tensor::zeros(&[7]))
        }
    }
    /// y = 2x whose VJP returns a cotangent of the wrong shape.
    #[derive(Clone)]
    struct Misshapen;
    impl Op<f64> for Misshapen {
        fn name(&self) -> &str {
            "misshapen"
        }
        fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
            x[0] * 2.0
        }
        fn vjp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
            vec![Some(g.sum())]
        }
    }
    let xs = [t(&[1.0, 2.0], &[2]), t(&[3.0, 4.0], &[2])];
    let f = |v: &[Tensor<f64>]| v[0].apply_op(Broken, &[&v[1]]);
    let m = panic_msg(|| grad_many(|v| f(v).sum(), &xs));
    assert_eq!(m, "`broken`: the VJP rule returned 1 cotangents for 2 inputs");
    let m = panic_msg(|| jacrev_many(f, &xs));
    assert_eq!(m, "`broken`: the VJP rule returned 1 cotangents for 2 inputs");
    let m = panic_msg(|| jvp(|x| x.apply_op(Broken, &[x]), &xs[0], &xs[1]));
    assert_eq!(m, "`broken`: the JVP rule returned a tangent of shape [7] where [2] was due");
    let m = panic_msg(|| jacfwd(|x| x.apply_op(Broken, &[x]), &xs[0]));
    has_all(&m, &["`broken`", "where [2, 2] was due"]);
    let g = |x: &Tensor<f64>| x.apply_op(Misshapen, &[]);
    let m = panic_msg(|| grad(|x| g(x).sum(), &xs[0]));
    assert_eq!(m, "`misshapen`: the VJP rule returned a cotangent of shape [] for input 0 of shape [2]");
    let m = panic_msg(|| jacrev(g, &xs[0]));
    has_all(&m, &["`misshapen`", "for input 0 of shape [2] (batch of 2)"]);
}
