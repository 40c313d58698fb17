//! proptest strategies for the verify suites: shapes with broadcasting partners, inputs
//! kept clear of kinks and domain edges, and random expression graphs over the op set.
#![allow(dead_code)] // each test binary uses a different subset

use std::cell::Cell;

use autodiff::{Element, Tensor};
use proptest::prelude::*;
use verify::Function;

/// Elementwise ops of one argument.
#[derive(Clone, Copy, Debug)]
pub enum U {
    Neg,
    Exp,
    Ln,
    Sqrt,
    Powi,
    Powf,
    Sin,
    Cos,
    Tanh,
    Sigmoid,
    Relu,
    Abs,
    Softplus,
    Square,
    Recip,
    Scale,
}

/// Elementwise ops of two arguments (numpy broadcasting).
#[derive(Clone, Copy, Debug)]
pub enum B {
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
    Atan2,
    Pow,
}

/// Reductions and normalisations along an axis of a matrix.
#[derive(Clone, Copy, Debug)]
pub enum R {
    SumAxis,
    MeanAxis,
    MaxAxis,
    Logsumexp,
    Softmax,
    LogSoftmax,
}

/// A random expression over the inputs `x0: [r, c]`, `x1` (a broadcasting partner of
/// `x0`) and `w: [c, c]`.
#[derive(Clone, Debug)]
pub enum Expr {
    /// Input 0 or 1.
    X(usize),
    Unary(U, Box<Expr>),
    Binary(B, Box<Expr>, Box<Expr>),
    /// Along axis 0 or 1 of the (broadcast) matrix, keeping the axis.
    Reduce(R, usize, Box<Expr>),
    /// `e·w`.
    MatMulW(Box<Expr>),
    /// `(a·bᵀ)·b`: transpose and two matmuls.
    Gram(Box<Expr>, Box<Expr>),
    /// The columns rotated by one: slices joined by concat.
    Roll(Box<Expr>),
    /// `stack([a, b]).sum_axis(0)` through a reshape round trip.
    StackSum(Box<Expr>, Box<Expr>),
    /// Scalar reductions: `sum`, `mean`, `prod`, `mse_loss(a, b)`, `softmax_cross_entropy`.
    Total(usize, Box<Expr>, Box<Expr>),
}

/// The smallest distance to a kink or domain edge met while evaluating, and the largest
/// magnitude, when the evaluation watches.
pub struct Watch {
    pub margin: Cell<f64>,
    pub magnitude: Cell<f64>,
}

impl Watch {
    fn new() -> Self {
        Watch { margin: Cell::new(f64::INFINITY), magnitude: Cell::new(0.0) }
    }
    fn see<T: Element>(&self, t: &Tensor<T>) {
        let m = t.data().iter().fold(0.0f64, |m, v| m.max(v.to_f64().abs()));
        self.magnitude.set(self.magnitude.get().max(if m.is_nan() { f64::INFINITY } else { m }));
    }
    /// Records `dist` (≥ 0 is clear; NaN counts as on the edge).
    fn edge(&self, dist: f64) {
        self.margin.set(self.margin.get().min(if dist.is_nan() { f64::NEG_INFINITY } else { dist }));
    }
}

fn min_of<T: Element>(t: &Tensor<T>, f: impl Fn(f64) -> f64) -> f64 {
    t.data().iter().map(|v| f(v.to_f64())).fold(f64::INFINITY, f64::min)
}

/// How far a positive-domain argument stays above its edge: `ln`, `sqrt`, `powf`, `recip`,
/// a divisor and a power's base must stay above 0.25.
const DOMAIN: f64 = 0.25;

impl Expr {
    /// The expression's value; `watch` (when given) records margins and magnitudes.
    pub fn eval<T: Element>(&self, xs: &[Tensor<T>], watch: Option<&Watch>) -> Tensor<T> {
        let (r, c) = (xs[0].shape()[0], xs[0].shape()[1]);
        let full = |t: Tensor<T>| if t.shape() == [r, c] { t } else { t.broadcast_to(&[r, c]) };
        let k = |v: f64| T::from_f64(v);
        let edge = |d: f64| {
            if let Some(w) = watch {
                w.edge(d)
            }
        };
        let out = match self {
            Expr::X(i) => xs[*i].clone(),
            Expr::Unary(u, e) => {
                let a = e.eval(xs, watch);
                match u {
                    U::Neg => -&a,
                    U::Exp => a.exp(),
                    U::Ln => {
                        edge(min_of(&a, |v| v - DOMAIN));
                        a.ln()
                    }
                    U::Sqrt => {
                        edge(min_of(&a, |v| v - DOMAIN));
                        a.sqrt()
                    }
                    U::Powi => a.powi(3),
                    U::Powf => {
                        edge(min_of(&a, |v| v - DOMAIN));
                        a.powf(1.5)
                    }
                    U::Sin => a.sin(),
                    U::Cos => a.cos(),
                    U::Tanh => a.tanh(),
                    U::Sigmoid => a.sigmoid(),
                    U::Relu => {
                        edge(min_of(&a, f64::abs));
                        a.relu()
                    }
                    U::Abs => {
                        edge(min_of(&a, f64::abs));
                        a.abs()
                    }
                    U::Softplus => a.softplus(),
                    U::Square => a.square(),
                    U::Recip => {
                        edge(min_of(&a, |v| v - DOMAIN));
                        a.recip()
                    }
                    U::Scale => &a * k(0.5),
                }
            }
            Expr::Binary(b, l, rr) => {
                let (a, bb) = (l.eval(xs, watch), rr.eval(xs, watch));
                match b {
                    B::Add => &a + &bb,
                    B::Sub => &a - &bb,
                    B::Mul => &a * &bb,
                    B::Div => {
                        edge(min_of(&bb, |v| v - DOMAIN));
                        &a / &bb
                    }
                    B::Maximum | B::Minimum => {
                        edge(min_of(&(&a - &bb), f64::abs));
                        if matches!(b, B::Maximum) { a.maximum(&bb) } else { a.minimum(&bb) }
                    }
                    B::Atan2 => {
                        // Clear of the origin and of the branch cut (x < 0, y = 0).
                        let (ab, bf) =
                            (a.broadcast_to(&shape_of(&a, &bb)), bb.broadcast_to(&shape_of(&a, &bb)));
                        for (y, x) in ab.data().iter().zip(bf.data()) {
                            let (y, x) = (y.to_f64(), x.to_f64());
                            edge((y * y + x * x).sqrt() - DOMAIN);
                            edge(if x < 0.0 { y.abs() - DOMAIN } else { f64::INFINITY });
                        }
                        a.atan2(&bb)
                    }
                    B::Pow => {
                        edge(min_of(&a, |v| v - DOMAIN));
                        a.pow(&bb)
                    }
                }
            }
            Expr::Reduce(op, axis, e) => {
                let a = full(e.eval(xs, watch));
                match op {
                    R::SumAxis => a.sum_axis(*axis, true),
                    R::MeanAxis => a.mean_axis(*axis, true),
                    R::MaxAxis => {
                        edge(top_two_gap(&a, *axis));
                        a.max_axis(*axis, true)
                    }
                    R::Logsumexp => a.logsumexp(*axis, true),
                    R::Softmax => a.softmax(*axis),
                    R::LogSoftmax => a.log_softmax(*axis),
                }
            }
            Expr::MatMulW(e) => full(e.eval(xs, watch)).matmul(&xs[2]),
            Expr::Gram(a, b) => {
                let (a, b) = (full(a.eval(xs, watch)), full(b.eval(xs, watch)));
                a.matmul(&b.t()).matmul(&b)
            }
            Expr::Roll(e) => {
                let a = full(e.eval(xs, watch));
                if c < 2 { a } else { Tensor::concat(&[a.slice(1, 1..c), a.slice(1, 0..1)], 1) }
            }
            Expr::StackSum(a, b) => {
                let (a, b) = (full(a.eval(xs, watch)), full(b.eval(xs, watch)));
                Tensor::stack(&[a.reshape(&[r * c]), b.reshape(&[r * c])], 0)
                    .sum_axis(0, false)
                    .reshape(&[r, c])
            }
            Expr::Total(which, a, b) => {
                let x = full(a.eval(xs, watch));
                match which % 5 {
                    0 => x.sum(),
                    1 => x.mean(),
                    2 => (&x * k(0.5)).prod(),
                    3 => x.mse_loss(&full(b.eval(xs, watch))),
                    _ => {
                        let labels: Vec<usize> = (0..r).map(|i| i % c).collect();
                        x.softmax_cross_entropy(&labels)
                    }
                }
            }
        };
        if let Some(w) = watch {
            w.see(&out);
        }
        out
    }

    /// Depth of the tree.
    pub fn depth(&self) -> usize {
        match self {
            Expr::X(_) => 0,
            Expr::Unary(_, e) | Expr::Reduce(_, _, e) | Expr::MatMulW(e) | Expr::Roll(e) => 1 + e.depth(),
            Expr::Binary(_, a, b) | Expr::Gram(a, b) | Expr::StackSum(a, b) | Expr::Total(_, a, b) => {
                1 + a.depth().max(b.depth())
            }
        }
    }
}

fn shape_of<T: Element>(a: &Tensor<T>, b: &Tensor<T>) -> Vec<usize> {
    let n = a.ndim().max(b.ndim());
    let dim = |t: &Tensor<T>, i: usize| if i + t.ndim() >= n { t.shape()[i + t.ndim() - n] } else { 1 };
    (0..n).map(|i| dim(a, i).max(dim(b, i))).collect()
}

/// The smallest gap between the largest and second largest entry along `axis` (max_axis's
/// kink: where the argmax switches).
fn top_two_gap<T: Element>(a: &Tensor<T>, axis: usize) -> f64 {
    let (r, c) = (a.shape()[0], a.shape()[1]);
    let d = a.data();
    let at = |i: usize, j: usize| d[i * c + j].to_f64();
    let lines: Vec<Vec<f64>> = if axis == 0 {
        (0..c).map(|j| (0..r).map(|i| at(i, j)).collect()).collect()
    } else {
        (0..r).map(|i| (0..c).map(|j| at(i, j)).collect()).collect()
    };
    lines
        .into_iter()
        .map(|mut l| {
            l.sort_by(|p, q| q.total_cmp(p));
            if l.len() < 2 { f64::INFINITY } else { l[0] - l[1] }
        })
        .fold(f64::INFINITY, f64::min)
}

/// A random expression graph and the point to check it at.
#[derive(Clone, Debug)]
pub struct Graph {
    pub expr: Expr,
    pub inputs: Vec<Tensor<f64>>,
}

impl Function for Graph {
    fn eval<T: Element>(&self, xs: &[Tensor<T>]) -> Tensor<T> {
        self.expr.eval(xs, None)
    }
}

impl Graph {
    /// The inputs in precision `T`.
    pub fn inputs<T: Element>(&self) -> Vec<Tensor<T>> {
        self.inputs
            .iter()
            .map(|t| Tensor::from_vec(t.data().iter().map(|&v| T::from_f64(v)).collect(), t.shape()))
            .collect()
    }

    /// Whether every kink and domain edge is more than `margin` away and every value stays
    /// below `magnitude` in size.
    pub fn well_conditioned(&self, margin: f64, magnitude: f64) -> bool {
        let w = Watch::new();
        self.expr.eval(&self.inputs, Some(&w));
        w.margin.get() > margin && w.magnitude.get() < magnitude
    }
}

/// Expressions of depth ≤ `depth` over the whole op set.
pub fn expr(depth: u32) -> impl Strategy<Value = Expr> {
    use U::*;
    let unary = prop::sample::select(vec![
        Neg, Exp, Ln, Sqrt, Powi, Powf, Sin, Cos, Tanh, Sigmoid, Relu, Abs, Softplus, Square, Recip, Scale,
    ]);
    let binary =
        prop::sample::select(vec![B::Add, B::Sub, B::Mul, B::Div, B::Maximum, B::Minimum, B::Atan2, B::Pow]);
    let reduce = prop::sample::select(vec![
        R::SumAxis,
        R::MeanAxis,
        R::MaxAxis,
        R::Logsumexp,
        R::Softmax,
        R::LogSoftmax,
    ]);
    let leaf = (0..2usize).prop_map(Expr::X);
    leaf.prop_recursive(depth, 64, 2, move |inner| {
        prop_oneof![
            4 => (unary.clone(), inner.clone()).prop_map(|(u, e)| Expr::Unary(u, Box::new(e))),
            3 => (binary.clone(), inner.clone(), inner.clone())
                .prop_map(|(o, a, b)| Expr::Binary(o, Box::new(a), Box::new(b))),
            2 => (reduce.clone(), 0..2usize, inner.clone()).prop_map(|(o, ax, e)| Expr::Reduce(o, ax, Box::new(e))),
            1 => inner.clone().prop_map(|e| Expr::MatMulW(Box::new(e))),
            1 => (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Gram(Box::new(a), Box::new(b))),
            1 => inner.clone().prop_map(|e| Expr::Roll(Box::new(e))),
            1 => (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::StackSum(Box::new(a), Box::new(b))),
            1 => (0..5usize, inner.clone(), inner.clone()).prop_map(|(k, a, b)| Expr::Total(k, Box::new(a), Box::new(b))),
        ]
    })
}

/// The broadcasting partners of an `[r, c]` tensor.
pub fn partner(r: usize, c: usize, kind: usize) -> Vec<usize> {
    match kind % 5 {
        0 => vec![r, c],
        1 => vec![c],
        2 => vec![r, 1],
        3 => vec![1, c],
        _ => vec![],
    }
}

/// A graph at a seeded point: `x0: [r, c]`, a partner, `w: [c, c]`, values uniform in
/// [−2, 2] (`w` in [−1, 1]); rejected (so proptest draws again) unless every kink and
/// domain edge is more than 0.05 away (over 3 first steps of the finite differences at
/// |x| ≤ 2) and every value stays below 10³.
pub fn graph(depth: u32) -> impl Strategy<Value = Graph> {
    (expr(depth), 1..=3usize, 1..=3usize, 0..5usize, any::<u64>())
        .prop_map(|(expr, r, c, kind, seed)| {
            let inputs = vec![
                Tensor::rand_uniform(&[r, c], -2.0, 2.0, seed),
                Tensor::rand_uniform(&partner(r, c, kind), -2.0, 2.0, seed ^ 1),
                Tensor::rand_uniform(&[c, c], -1.0, 1.0, seed ^ 2),
            ];
            Graph { expr, inputs }
        })
        .prop_filter("a kink or domain edge within 0.05, or a value beyond 1e3", |g| {
            g.well_conditioned(0.05, 1e3)
        })
}

/// [`graph`] for second-order checks: values below 10², and the gradient of the summed
/// output below 10² too. A second derivative is computed through the gradient's values;
/// where those are large while the Hessian is small (saturated softmaxes of polynomial
/// inputs), its rounding error exceeds the tolerance's allowance of 2¹⁰ roundings of the
/// largest magnitude, and the point is ill-conditioned for any f64 check.
pub fn graph2(depth: u32) -> impl Strategy<Value = Graph> {
    graph(depth).prop_filter("values or the gradient beyond 1e2", |g| {
        let rest = g.inputs[1..].to_vec();
        let summed = |x: &Tensor<f64>| {
            let mut xs = vec![x.clone()];
            xs.extend(rest.iter().cloned());
            g.expr.eval(&xs, None).sum()
        };
        g.well_conditioned(0.05, 1e2)
            && autodiff::grad(summed, &g.inputs[0]).data().iter().all(|v| v.abs() < 1e2)
    })
}

/// Number of cases: `VERIFY_CASES` if set (the soak, `cargo xtask verify --cases N`), else
/// `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("VERIFY_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The proptest seed: `VERIFY_SEED` if set (a soak with other draws), else 0, so every run
/// of the suites draws the same cases.
pub fn seed() -> u64 {
    std::env::var("VERIFY_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0)
}
