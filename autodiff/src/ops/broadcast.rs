//! numpy broadcasting and its adjoint: `broadcast_to` copies along new or unit axes,
//! `sum_to` sums them away. Each is the other's VJP.

use kernels::Element;
use kernels::ew;

use super::{Rows, batched, batched_aligned};
use crate::Tensor;
use crate::engine::apply;
use crate::op::Op;
use crate::shape::{self, Shape};

/// `from`'s shape left-padded with ones to `rank` axes.
fn aligned(from: &[usize], rank: usize) -> Vec<usize> {
    let mut s = vec![1; rank - from.len()];
    s.extend_from_slice(from);
    s
}

/// The values of `x` (shape `from`) broadcast to shape `to` (which it must broadcast to).
#[track_caller]
pub(crate) fn expand<T: Element>(x: &[T], from: &[usize], to: &[usize]) -> Vec<T> {
    let n = shape::numel(to);
    crate::buffer::check_len::<T>(n);
    let from = aligned(from, to.len());
    let mut out = Vec::with_capacity(n);
    // Recursion over axes; the innermost run that matches is copied as one slice.
    fn go<T: Element>(x: &[T], from: &[usize], to: &[usize], out: &mut Vec<T>) {
        match (from.first(), to.first()) {
            (None, _) => out.push(x[0]),
            (Some(&f), Some(&t)) => {
                if from == to {
                    out.extend_from_slice(&x[..shape::numel(from)]);
                    return;
                }
                let inner = shape::numel(&from[1..]);
                for i in 0..t {
                    let src = if f == 1 { 0 } else { i * inner };
                    go(&x[src..], &from[1..], &to[1..], out);
                }
            }
            (Some(_), None) => unreachable!("aligned shapes have equal rank"),
        }
    }
    if n > 0 {
        go(x, &from, to, &mut out);
    }
    debug_assert_eq!(out.len(), n);
    out
}

/// Σ over `axis` of a contiguous array of `shape`, keeping the axis (as length 1).
pub(crate) fn sum_axis_values<T: Element>(x: &[T], shape: &[usize], axis: usize) -> Vec<T> {
    let (outer, len, inner) = shape::split(shape, axis);
    // Over an empty axis the result can be far larger than `x` (the sum of [n, 0] is n zeros).
    crate::buffer::check_len::<T>(outer * inner);
    let mut out = vec![T::ZERO; outer * inner];
    if outer * inner == 0 {
        return out;
    }
    if len == 0 {
        return out;
    }
    if inner == 1 {
        ew::sum_rows(x, len, &mut out);
    } else {
        for (o, dst) in out.chunks_exact_mut(inner).enumerate() {
            ew::sum_cols(&x[o * len * inner..(o + 1) * len * inner], inner, dst);
        }
    }
    out
}

/// The values of `x` (shape `from`) summed down to shape `to` (which broadcasts to `from`).
fn reduce_to<T: Element>(x: &[T], from: &[usize], to: &[usize]) -> Vec<T> {
    if shape::numel(to) == 1 {
        return vec![ew::sum(x)];
    }
    let target = aligned(to, from.len());
    let mut cur_shape = from.to_vec();
    let mut cur: Option<Vec<T>> = None;
    for axis in 0..from.len() {
        if target[axis] == 1 && cur_shape[axis] != 1 {
            let v = sum_axis_values(cur.as_deref().unwrap_or(x), &cur_shape, axis);
            cur_shape[axis] = 1;
            cur = Some(v);
        }
    }
    cur.unwrap_or_else(|| x.to_vec())
}

/// Broadcast to a fixed shape. VJP: `sum_to` the input's shape; JVP: broadcast the tangent.
#[derive(Clone)]
struct BroadcastTo(Shape);

impl<T: Element> Op<T> for BroadcastTo {
    fn name(&self) -> &str {
        "broadcast_to"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let v = expand(x[0].data(), x[0].shape(), &self.0);
        Tensor::raw(v, self.0.clone())
    }
    fn vjp(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        vec![Some(g.sum_to(x[0].shape()))]
    }
    fn jvp(&self, _: &[Tensor<T>], _: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        t[0].as_ref().map(|t| t.broadcast_to(&self.0))
    }
    fn jvp_batch(
        &self,
        x: &[Tensor<T>],
        _: &Tensor<T>,
        t: &[Option<Tensor<T>>],
        n: usize,
    ) -> Option<Tensor<T>> {
        let aligned = batched_aligned(n, x[0].shape(), self.0.len());
        t[0].as_ref().map(|t| t.reshape(&aligned).broadcast_to(&batched(n, &self.0)))
    }
    fn vjp_batch(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>, n: usize) -> Vec<Option<Tensor<T>>> {
        let aligned = batched_aligned(n, x[0].shape(), self.0.len());
        vec![Some(g.sum_to(&aligned).reshape(&batched(n, x[0].shape())))]
    }
}

/// Sum down to a fixed shape. VJP: broadcast back; JVP: `sum_to` the tangent.
#[derive(Clone)]
struct SumTo(Shape);

/// [`Rows::Collapse`] for a [`SumTo`] that sums over the input's axis 0 (its batched JVP
/// reads only the input's rank); `None` otherwise.
pub(super) fn rows_rule<T: Element>(op: &dyn std::any::Any, x: &[Tensor<T>]) -> Option<Rows> {
    let target = &op.downcast_ref::<SumTo>()?.0;
    let rank = x.first()?.ndim();
    // The target aligned to the input's rank (trailing axes): axis 0 is 1 or absent.
    let sums_rows = target.len() < rank || target.first() == Some(&1);
    (rank > 0 && sums_rows).then_some(Rows::Collapse)
}

impl<T: Element> Op<T> for SumTo {
    fn name(&self) -> &str {
        "sum_to"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        Tensor::raw(reduce_to(x[0].data(), x[0].shape(), &self.0), self.0.clone())
    }
    fn vjp(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        vec![Some(g.broadcast_to(x[0].shape()))]
    }
    fn jvp(&self, _: &[Tensor<T>], _: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        t[0].as_ref().map(|t| t.sum_to(&self.0))
    }
    fn jvp_batch(
        &self,
        x: &[Tensor<T>],
        _: &Tensor<T>,
        t: &[Option<Tensor<T>>],
        n: usize,
    ) -> Option<Tensor<T>> {
        let aligned = batched_aligned(n, &self.0, x[0].ndim());
        t[0].as_ref().map(|t| t.sum_to(&aligned).reshape(&batched(n, &self.0)))
    }
    fn vjp_batch(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>, n: usize) -> Vec<Option<Tensor<T>>> {
        let aligned = batched_aligned(n, &self.0, x[0].ndim());
        vec![Some(g.reshape(&aligned).broadcast_to(&batched(n, x[0].shape())))]
    }
}

impl<T: Element> Tensor<T> {
    /// The tensor broadcast to `shape` (numpy rules: trailing axes aligned, each input axis
    /// equal to the target's or 1). Returns `self` unchanged when the shapes are equal.
    /// Derivative: the VJP sums over the broadcast axes.
    ///
    /// # Panics
    /// If the shape does not broadcast to `shape` (the message names both).
    ///
    /// ```
    /// let b = autodiff::Tensor::from_vec(vec![1.0f32, 2.0], &[2]).broadcast_to(&[2, 2]);
    /// assert_eq!(b.to_vec(), [1.0, 2.0, 1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Tensor<T> {
        if shape::same(self.shape(), shape) {
            return self.clone();
        }
        assert!(
            shape::broadcasts_to(self.shape(), shape),
            "broadcast_to: shape {:?} does not broadcast to {:?}",
            self.shape(),
            shape
        );
        apply(BroadcastTo(shape.into()), &[self])
    }

    /// The tensor summed down to `shape`, the adjoint of [`broadcast_to`](Tensor::broadcast_to):
    /// sums over the leading axes `shape` lacks and over the axes where `shape` has 1.
    ///
    /// # Panics
    /// If `shape` does not broadcast to the tensor's shape.
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.sum_to(&[2]).to_vec(), [4.0, 6.0]);
    /// assert_eq!(t.sum_to(&[2, 1]).to_vec(), [3.0, 7.0]);
    /// ```
    #[track_caller]
    pub fn sum_to(&self, shape: &[usize]) -> Tensor<T> {
        if shape::same(self.shape(), shape) {
            return self.clone();
        }
        assert!(
            shape::broadcasts_to(shape, self.shape()),
            "sum_to: shape {:?} does not broadcast to the tensor's shape {:?}",
            shape,
            self.shape()
        );
        apply(SumTo(shape.into()), &[self])
    }

    /// [`sum_to`](Tensor::sum_to) of a tensor the caller gives up: returned as it is when
    /// already of `shape` (no clone and drop of its references).
    pub(crate) fn into_sum_to(self, shape: &[usize]) -> Tensor<T> {
        if shape::same(self.shape(), shape) { self } else { self.sum_to(shape) }
    }
}
