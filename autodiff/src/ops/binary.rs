//! Elementwise binary ops with numpy broadcasting, and the arithmetic operators.
//!
//! For y = f(a, b) the partials are diagonal after broadcasting, so each op states
//! `s·∂f/∂a` and `s·∂f/∂b` once ([`Fun::partial`]): the VJP sums them down to each input's
//! shape, the JVP adds the tangents' contributions.

use std::ops::{Add, Div, Mul, Sub};

use kernels::Element;
use kernels::ew::{self, Binary};

use super::{batched, batched_aligned, build, expand};
use crate::Tensor;
use crate::buffer::{Data, INLINE};
use crate::engine::apply;
use crate::mode;
use crate::op::Op;
use crate::shape::{self, Shape};

#[derive(Clone, Copy, Debug)]
pub(crate) enum Fun {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    Atan2,
    Pow,
}

impl Fun {
    fn kernel(self) -> Binary {
        match self {
            Fun::Add => Binary::Add,
            Fun::Sub => Binary::Sub,
            Fun::Mul => Binary::Mul,
            Fun::Div => Binary::Div,
            Fun::Max => Binary::Max,
            Fun::Min => Binary::Min,
            Fun::Atan2 => Binary::Atan2,
            Fun::Pow => Binary::Pow,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Fun::Add => "add",
            Fun::Sub => "sub",
            Fun::Mul => "mul",
            Fun::Div => "div",
            Fun::Max => "maximum",
            Fun::Min => "minimum",
            Fun::Atan2 => "atan2",
            Fun::Pow => "pow",
        }
    }

    /// `s·∂y/∂a` (`wrt_b == false`) or `s·∂y/∂b`, with differentiable ops; `s` is shaped like
    /// the output or like the operand it is the tangent of. Factors are formed before `s`
    /// is multiplied in (see `unary::Fun::scale`).
    fn partial<T: Element>(
        self,
        a: &Tensor<T>,
        b: &Tensor<T>,
        y: &Tensor<T>,
        s: &Tensor<T>,
        wrt_b: bool,
    ) -> Tensor<T> {
        match (self, wrt_b) {
            // ∂(a + b) = (1, 1)
            (Fun::Add, _) | (Fun::Sub, false) => s.clone(),
            // ∂(a − b)/∂b = −1
            (Fun::Sub, true) => -s,
            // ∂(ab) = (b, a)
            (Fun::Mul, false) => s * b,
            (Fun::Mul, true) => s * a,
            // ∂(a/b) = (1/b, −a/b² = −y/b)
            (Fun::Div, false) => s / b,
            (Fun::Div, true) => s * &(-&(y / b)),
            // ∂max(a, b) = ([a > b], [b > a]), ties split ½–½; minimum mirrors it.
            (Fun::Max | Fun::Min, _) => s * &select_weight(self, a, b, wrt_b),
            // atan2(a, b) = angle of (b, a): ∂ = (b, −a)/(a² + b²)
            (Fun::Atan2, false) => s * &(b / &(&a.square() + &b.square())),
            (Fun::Atan2, true) => s * &(-&(a / &(&a.square() + &b.square()))),
            // ∂aᵇ = (b·aᵇ⁻¹, aᵇ·ln a)
            (Fun::Pow, false) => s * &(b * &a.pow(&(b - T::ONE))),
            (Fun::Pow, true) => s * &(y * &a.ln()),
        }
    }
}

/// The share of the cotangent max/min passes to `b` (`wrt_b`) or `a`: 1 to the selected
/// operand, ½ each on a tie, a constant in the broadcast shape. NaN follows `std`'s
/// NaN-ignoring max/min: the other operand is selected.
fn select_weight<T: Element>(f: Fun, a: &Tensor<T>, b: &Tensor<T>, wrt_b: bool) -> Tensor<T> {
    let out = shape::broadcast(f.name(), a.shape(), b.shape());
    let (av, bv) = (expand(a.data(), a.shape(), &out), expand(b.data(), b.shape(), &out));
    let half = T::from_f64(0.5);
    let w = av.iter().zip(&bv).map(|(&x, &y)| {
        let (x, y) = if wrt_b { (y, x) } else { (x, y) };
        let wins = if matches!(f, Fun::Max) { x > y } else { x < y };
        if wins || y.to_f64().is_nan() {
            T::ONE
        } else if x == y {
            half
        } else {
            T::ZERO
        }
    });
    Tensor::from_vec(w.collect(), &out)
}

/// The product rule `ta·b + a·tb` in one pass, for operands of one shape and tangents of
/// that shape (`batch: None`) or `[batch] ++ shape`: the composed form writes and reads
/// back two products as large as the tangents before adding them, and forward mode over a
/// gradient is mostly such products (each `x²` of the gradient's sweep is one). The sums
/// are the composition's bit for bit: the same two rounded products, added in the same
/// order (Rust does not contract `x·y + z` into a fused multiply-add). `None` (compose
/// instead) unless all four tensors are plain values (no tangent of another level, no
/// graph being recorded) and NaN checking is off, so that the result carries nothing the
/// composition would have added and every check still names its op.
fn product_rule<T: Element>(
    a: &Tensor<T>,
    b: &Tensor<T>,
    ta: &Tensor<T>,
    tb: &Tensor<T>,
    batch: Option<usize>,
) -> Option<Tensor<T>> {
    let all = [a, b, ta, tb];
    let recording = mode::recording();
    if all.iter().any(|t| t.is_dual() || recording && t.is_tracked()) || mode::checking() {
        return None;
    }
    let tangent_shape = |t: &Tensor<T>| match batch {
        None => t.shape() == a.shape(),
        Some(b) => t.shape().split_first() == Some((&b, a.shape())),
    };
    let w = a.numel();
    if a.shape != b.shape || !tangent_shape(ta) || !tangent_shape(tb) || w == 0 {
        return None;
    }
    let (av, bv) = (a.data(), b.data());
    Some(build(ta.shape.clone(), ta.numel(), |o| {
        let rows = o.chunks_exact_mut(w).zip(ta.data().chunks_exact(w)).zip(tb.data().chunks_exact(w));
        for ((o, x), y) in rows {
            for i in 0..w {
                o[i] = x[i] * bv[i] + av[i] * y[i];
            }
        }
    }))
}

#[derive(Clone, Copy)]
pub(crate) struct BinaryOp(pub(crate) Fun);

impl BinaryOp {
    /// Arithmetic on at most four elements (equal shapes, or one side a single element)
    /// without the kernel's dispatch: for scalars that is most of the op's cost. Each
    /// result is one IEEE operation, exactly as the kernel computes it.
    fn tiny<T: Element>(self, a: &Tensor<T>, b: &Tensor<T>) -> Option<Tensor<T>> {
        let n = a.numel().max(b.numel());
        if n > INLINE
            || a.numel() == 0
            || b.numel() == 0
            || !matches!(self.0, Fun::Add | Fun::Sub | Fun::Mul | Fun::Div)
        {
            return None;
        }
        let shape = if a.shape == b.shape || b.numel() == 1 && a.ndim() >= b.ndim() {
            a.shape.clone()
        } else if a.numel() == 1 && b.ndim() >= a.ndim() {
            b.shape.clone()
        } else {
            return None;
        };
        let (av, bv) = (a.data(), b.data());
        let pick = |v: &[T], i: usize| if v.len() == 1 { v[0] } else { v[i] };
        // Computed into an array and placed whole: written through a slice of the result,
        // the values were read back by wider loads when the tensor moved, a store-forwarding
        // stall that cost a quarter of a scalar op's forward on the Zen 4 VM.
        let mut o = [T::ZERO; INLINE];
        for (i, o) in o.iter_mut().enumerate().take(n) {
            let (x, y) = (pick(av, i), pick(bv, i));
            *o = match self.0 {
                Fun::Add => x + y,
                Fun::Sub => x - y,
                Fun::Mul => x * y,
                _ => x / y,
            };
        }
        Some(Tensor { shape, data: Data::inline(n, o), node: None, dual: None })
    }

    /// The VJP rule of the four arithmetic ops on at most [`INLINE`] elements, all four
    /// tensors of one shape, element by element ([`TinyVjp::at`]): the composed rule
    /// ([`cotangents`](Self::cotangents)) runs one or two further ops through `apply`,
    /// which for a scalar is most of the sweep's cost. `None` (compose instead) while
    /// recording (the rule must record), on tangents, or with NaN checking on (each
    /// composed op is checked).
    pub(crate) fn tiny_cotangents<'a, T: Element>(
        self,
        a: &'a Tensor<T>,
        b: &'a Tensor<T>,
        y: &'a Tensor<T>,
        g: &'a Tensor<T>,
    ) -> Option<TinyVjp<'a, T>> {
        let n = g.numel();
        let plain = |t: &Tensor<T>| !t.is_dual() && t.numel() == n && t.shape == g.shape;
        if n > INLINE
            || !matches!(self.0, Fun::Add | Fun::Sub | Fun::Mul | Fun::Div)
            || g.is_tracked()
            || ![a, b, y, g].into_iter().all(plain)
            || mode::recording()
            || mode::checking()
        {
            return None;
        }
        Some(TinyVjp { fun: self.0, len: n, a: a.data(), b: b.data(), y: y.data(), g: g.data() })
    }

    /// The VJP rule, its two cotangents by value (the sweep's path: no `Vec`).
    pub(crate) fn cotangents<T: Element>(
        self,
        x: &[Tensor<T>],
        y: &Tensor<T>,
        g: &Tensor<T>,
    ) -> [Option<Tensor<T>>; 2] {
        let (a, b) = (&x[0], &x[1]);
        let ga = a.is_tracked().then(|| self.0.partial(a, b, y, g, false).into_sum_to(a.shape()));
        let gb = b.is_tracked().then(|| self.0.partial(a, b, y, g, true).into_sum_to(b.shape()));
        [ga, gb]
    }
}

/// The cotangents of a tiny arithmetic op (see [`BinaryOp::tiny_cotangents`]), computed
/// element by element where the sweep stores them: made as arrays and returned, they were
/// read back right after being written (a store-forwarding stall).
pub(crate) struct TinyVjp<'a, T: Element> {
    fun: Fun,
    /// The elements of each operand, the output, the cotangent and each result.
    pub(crate) len: usize,
    a: &'a [T],
    b: &'a [T],
    y: &'a [T],
    g: &'a [T],
}

impl<T: Element> TinyVjp<'_, T> {
    /// Element `i` of the cotangent of input `k` (0: `a`, 1: `b`): the composed rule's,
    /// bit for bit, by the same IEEE operations on the same operands in the same order
    /// (`g`, `−g`, `g·b`, `g·a`, `g/b`, `g·(−(y/b))`).
    #[inline]
    pub(crate) fn at(&self, k: usize, i: usize) -> T {
        let s = self.g[i];
        match (self.fun, k) {
            (Fun::Add, _) | (Fun::Sub, 0) => s,
            (Fun::Sub, _) => -s,
            (Fun::Mul, 0) => s * self.b[i],
            (Fun::Mul, _) => s * self.a[i],
            (_, 0) => s / self.b[i],
            _ => s * -(self.y[i] / self.b[i]),
        }
    }
}

/// `true` when `small` (rank ≤ `big`'s) is `big`'s trailing axes with leading ones: then a
/// broadcast is a loop over rows of `big` against `small` whole.
fn row_broadcast(small: &[usize], big: &[usize]) -> bool {
    let lead = big.len() - small.len();
    let first = small.iter().position(|&d| d != 1).unwrap_or(small.len());
    small[first..] == big[lead + first..]
}

impl<T: Element> Op<T> for BinaryOp {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let (a, b, k) = (x[0], x[1], self.0.kernel());
        if let Some(t) = self.tiny(a, b) {
            return t;
        }
        if a.shape == b.shape {
            return build(a.shape.clone(), a.numel(), |o| ew::zip(k, a.data(), b.data(), o));
        }
        let out: Shape = shape::broadcast(self.0.name(), a.shape(), b.shape()).into();
        let n = shape::numel(&out);
        if *out == *a.shape() && b.numel() == 1 {
            return build(out, n, |o| ew::zip_scalar(k, a.data(), b.data()[0], o));
        }
        if *out == *b.shape() && a.numel() == 1 {
            return build(out, n, |o| ew::scalar_zip(k, a.data()[0], b.data(), o));
        }
        if n > 0 && *out == *a.shape() && row_broadcast(b.shape(), a.shape()) {
            let w = b.numel();
            return build(out, n, |o| {
                for (ar, orow) in a.data().chunks_exact(w).zip(o.chunks_exact_mut(w)) {
                    ew::zip(k, ar, b.data(), orow);
                }
            });
        }
        if n > 0 && *out == *b.shape() && row_broadcast(a.shape(), b.shape()) {
            let w = a.numel();
            return build(out, n, |o| {
                for (br, orow) in b.data().chunks_exact(w).zip(o.chunks_exact_mut(w)) {
                    ew::zip(k, a.data(), br, orow);
                }
            });
        }
        let (av, bv) = (expand(a.data(), a.shape(), &out), expand(b.data(), b.shape(), &out));
        build(out, n, |o| ew::zip(k, &av, &bv, o))
    }
    fn vjp(&self, x: &[Tensor<T>], y: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        Vec::from(self.cotangents(x, y, g))
    }
    fn jvp(&self, x: &[Tensor<T>], y: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        let (a, b) = (&x[0], &x[1]);
        if let (Fun::Mul, Some(ta), Some(tb)) = (self.0, &t[0], &t[1])
            && let Some(p) = product_rule(a, b, ta, tb, None)
        {
            return Some(p);
        }
        if let (Fun::Sub, Some(ta), Some(tb)) = (self.0, &t[0], &t[1]) {
            // One subtraction rather than a negation and an addition.
            return Some(&ta.broadcast_to(y.shape()) - &tb.broadcast_to(y.shape()));
        }
        let da = t[0].as_ref().map(|t| self.0.partial(a, b, y, t, false).broadcast_to(y.shape()));
        let db = t[1].as_ref().map(|t| self.0.partial(a, b, y, t, true).broadcast_to(y.shape()));
        super::sum_some([da, db])
    }
    fn jvp_batch(
        &self,
        x: &[Tensor<T>],
        y: &Tensor<T>,
        t: &[Option<Tensor<T>>],
        n: usize,
    ) -> Option<Tensor<T>> {
        let (a, b, rank) = (&x[0], &x[1], y.ndim());
        let out = batched(n, y.shape());
        let part = |t: &Tensor<T>, x: &Tensor<T>, wrt_b: bool| {
            // Each tangent aligned to the output's rank, so its batch axis leads.
            let t = t.reshape(&batched_aligned(n, x.shape(), rank));
            self.0.partial(a, b, y, &t, wrt_b).broadcast_to(&out)
        };
        if let (Fun::Mul, Some(ta), Some(tb)) = (self.0, &t[0], &t[1])
            && let Some(p) = product_rule(a, b, ta, tb, Some(n))
        {
            return Some(p);
        }
        if let (Fun::Sub, Some(ta), Some(tb)) = (self.0, &t[0], &t[1]) {
            let align = |t: &Tensor<T>, x: &Tensor<T>| {
                t.reshape(&batched_aligned(n, x.shape(), rank)).broadcast_to(&out)
            };
            return Some(&align(ta, a) - &align(tb, b));
        }
        let da = t[0].as_ref().map(|t| part(t, a, false));
        let db = t[1].as_ref().map(|t| part(t, b, true));
        super::sum_some([da, db])
    }
    fn vjp_batch(&self, x: &[Tensor<T>], y: &Tensor<T>, g: &Tensor<T>, n: usize) -> Vec<Option<Tensor<T>>> {
        let (a, b, rank) = (&x[0], &x[1], y.ndim());
        let out = batched(n, y.shape());
        let part = |x: &Tensor<T>, wrt_b: bool| {
            let p = self.0.partial(a, b, y, g, wrt_b).broadcast_to(&out);
            p.sum_to(&batched_aligned(n, x.shape(), rank)).reshape(&batched(n, x.shape()))
        };
        vec![a.is_tracked().then(|| part(a, false)), b.is_tracked().then(|| part(b, true))]
    }
}

#[track_caller]
pub(crate) fn binary<T: Element>(f: Fun, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
    apply(BinaryOp(f), &[a, b])
}

impl<T: Element> Tensor<T> {
    /// max(a, b) elementwise, broadcasting. Derivative: the cotangent goes to the larger
    /// operand; on a tie each gets half.
    ///
    /// ```
    /// use autodiff::{grad_many, Tensor};
    /// let g = grad_many(|v| v[0].maximum(&v[1]), &[Tensor::scalar(1.0f64), Tensor::scalar(1.0)]);
    /// assert_eq!((g[0].item(), g[1].item()), (0.5, 0.5));
    /// ```
    #[track_caller]
    pub fn maximum(&self, other: &Tensor<T>) -> Tensor<T> {
        binary(Fun::Max, self, other)
    }

    /// min(a, b) elementwise, broadcasting. Derivative as [`maximum`](Tensor::maximum).
    ///
    /// ```
    /// let a = autodiff::Tensor::from_vec(vec![1.0f32, 5.0], &[2]);
    /// assert_eq!(a.minimum(&autodiff::Tensor::scalar(2.0)).to_vec(), [1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn minimum(&self, other: &Tensor<T>) -> Tensor<T> {
        binary(Fun::Min, self, other)
    }

    /// atan2(self, x): the angle of the point (x, self), broadcasting. Derivative
    /// (x, −self)/(self² + x²).
    ///
    /// ```
    /// let y = autodiff::Tensor::scalar(1.0f64);
    /// assert_eq!(y.atan2(&autodiff::Tensor::scalar(1.0)).item(), std::f64::consts::FRAC_PI_4);
    /// ```
    #[track_caller]
    pub fn atan2(&self, x: &Tensor<T>) -> Tensor<T> {
        binary(Fun::Atan2, self, x)
    }

    /// selfᵉ elementwise with a tensor exponent, broadcasting. Derivative
    /// (e·selfᵉ⁻¹, selfᵉ·ln self).
    ///
    /// ```
    /// let b = autodiff::Tensor::scalar(2.0f64);
    /// assert_eq!(b.pow(&autodiff::Tensor::scalar(10.0)).item(), 1024.0);
    /// ```
    #[track_caller]
    pub fn pow(&self, e: &Tensor<T>) -> Tensor<T> {
        binary(Fun::Pow, self, e)
    }
}

macro_rules! operator {
    ($tr:ident, $m:ident, $fun:ident) => {
        impl<T: Element> $tr<&Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $m(self, rhs: &Tensor<T>) -> Tensor<T> {
                binary(Fun::$fun, self, rhs)
            }
        }
        impl<T: Element> $tr<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $m(self, rhs: Tensor<T>) -> Tensor<T> {
                binary(Fun::$fun, &self, &rhs)
            }
        }
        impl<T: Element> $tr<&Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $m(self, rhs: &Tensor<T>) -> Tensor<T> {
                binary(Fun::$fun, &self, rhs)
            }
        }
        impl<T: Element> $tr<Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $m(self, rhs: Tensor<T>) -> Tensor<T> {
                binary(Fun::$fun, self, &rhs)
            }
        }
        impl<T: Element> $tr<T> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $m(self, rhs: T) -> Tensor<T> {
                binary(Fun::$fun, self, &Tensor::scalar(rhs))
            }
        }
        impl<T: Element> $tr<T> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $m(self, rhs: T) -> Tensor<T> {
                binary(Fun::$fun, &self, &Tensor::scalar(rhs))
            }
        }
        operator!(@scalar_lhs $tr, $m, $fun, f32);
        operator!(@scalar_lhs $tr, $m, $fun, f64);
    };
    (@scalar_lhs $tr:ident, $m:ident, $fun:ident, $t:ty) => {
        impl $tr<&Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            #[track_caller]
            fn $m(self, rhs: &Tensor<$t>) -> Tensor<$t> {
                binary(Fun::$fun, &Tensor::scalar(self), rhs)
            }
        }
        impl $tr<Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            #[track_caller]
            fn $m(self, rhs: Tensor<$t>) -> Tensor<$t> {
                binary(Fun::$fun, &Tensor::scalar(self), &rhs)
            }
        }
    };
}

operator!(Add, add, Add);
operator!(Sub, sub, Sub);
operator!(Mul, mul, Mul);
operator!(Div, div, Div);

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct tiny-tensor rule against the composed one (`partial` then `sum_to`, which
    /// the rule replaces), bit for bit, for each arithmetic op, each tiny shape, and each
    /// pattern of tracked inputs; the composed rule is the one every other test checks
    /// against derivatives. Divisors are kept in [0.5, 2) so no quotient is infinite.
    #[test]
    fn tiny_cotangents_are_the_composed_rules_bit_for_bit() {
        let funs = [Fun::Add, Fun::Sub, Fun::Mul, Fun::Div];
        let shapes: [&[usize]; 4] = [&[], &[3], &[2, 2], &[1, 4]];
        let mut seed = 1;
        for f in funs {
            for shape in shapes {
                for tracked in [(true, false), (false, true), (true, true)] {
                    seed += 3;
                    let a = Tensor::<f64>::rand_uniform(shape, -2.0, 2.0, seed);
                    let b = Tensor::<f64>::rand_uniform(shape, 0.5, 2.0, seed + 1);
                    let g = Tensor::<f64>::rand_uniform(shape, -3.0, 3.0, seed + 2);
                    let y = BinaryOp(f).forward(&[&a, &b]);
                    let a = if tracked.0 { a.requires_grad() } else { a };
                    let b = if tracked.1 { b.requires_grad() } else { b };
                    let tiny = crate::no_grad(|| BinaryOp(f).tiny_cotangents(&a, &b, &y, &g))
                        .expect("tiny, plain and not recording: the direct rule applies");
                    let direct = [&a, &b].map(|x| x.is_tracked());
                    let direct = [0, 1].map(|k| {
                        direct[k].then(|| {
                            let values = (0..tiny.len).map(|i| tiny.at(k, i)).collect();
                            Tensor::from_vec(values, [a.shape(), b.shape()][k])
                        })
                    });
                    let composed = crate::no_grad(|| {
                        [(&a, false), (&b, true)].map(|(x, wrt_b)| {
                            x.is_tracked().then(|| f.partial(&a, &b, &y, &g, wrt_b).into_sum_to(x.shape()))
                        })
                    });
                    for (d, c) in direct.iter().zip(&composed) {
                        let bits = |t: &Option<Tensor<f64>>| {
                            t.as_ref().map(|t| {
                                (
                                    t.shape().to_vec(),
                                    t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                                )
                            })
                        };
                        assert_eq!(bits(d), bits(c), "{f:?} on shape {shape:?}, tracked {tracked:?}");
                    }
                }
            }
        }
    }
}
