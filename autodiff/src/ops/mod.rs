//! The built-in ops. Each op is one type implementing [`Op`]: its forward (a
//! kernel call), its VJP rule and its JVP rule side by side, the derivative stated in its
//! doc comment. The public methods on [`Tensor`] that apply them live next to
//! them.

use std::any::Any;

use kernels::Element;

use crate::Tensor;
use crate::buffer::{Buffer, Data};
use crate::graph::Few;
use crate::op::Op;
use crate::shape::Shape;

mod binary;
mod broadcast;
mod fused;
mod linalg;
mod loss;
mod reduce;
mod shape_ops;
mod unary;

pub(crate) use broadcast::expand;
pub(crate) use linalg::{fusable, transpose_into, update_into};
pub(crate) use shape_ops::pad;

/// The VJP rule of `op` ([`Op::vjp`]), its cotangents inline for the built-in ops tiny-tensor
/// graphs are mostly made of: `Op::vjp` returns a `Vec`, one allocation and free per op,
/// a tenth of such an op's bookkeeping.
pub(crate) fn vjp<T: Element>(
    op: &dyn Op<T>,
    inputs: &[Tensor<T>],
    out: &Tensor<T>,
    g: &Tensor<T>,
) -> Few<Option<Tensor<T>>> {
    let any = op as &dyn Any;
    if let Some(b) = any.downcast_ref::<binary::BinaryOp>() {
        Few::Two(b.cotangents(inputs, out, g))
    } else if let Some(u) = any.downcast_ref::<unary::UnaryOp>() {
        Few::One([Some(u.0.scale(&inputs[0], out, g))])
    } else {
        Few::Many(op.vjp(inputs, out, g))
    }
}

/// [`vjp`] of the arithmetic ops (`+ − × ÷`) on tiny tensors of one shape, element by
/// element; `None` where the rule must run as ops (see `binary::BinaryOp::tiny_cotangents`).
pub(crate) fn tiny_vjp<'a, T: Element>(
    op: &dyn Op<T>,
    inputs: &'a [Tensor<T>],
    out: &'a Tensor<T>,
    g: &'a Tensor<T>,
) -> Option<binary::TinyVjp<'a, T>> {
    let b = (op as &dyn Any).downcast_ref::<binary::BinaryOp>()?;
    b.tiny_cotangents(&inputs[0], &inputs[1], out, g)
}

/// A plain tensor of `shape` (`n` elements) from a kernel that writes every element.
pub(crate) fn build<T: Element>(shape: Shape, n: usize, fill: impl FnOnce(&mut [T])) -> Tensor<T> {
    if let Some(data) = Data::inline_zeros(n) {
        let mut t = Tensor { shape, data, node: None, dual: None };
        fill(t.data.get_mut().expect("inline values are never shared"));
        return t;
    }
    let mut data = Buffer::for_overwrite(n);
    fill(&mut data);
    Tensor { shape, data: data.into(), node: None, dual: None }
}

/// As [`build`], for a kernel that writes only some elements: the rest are zero.
pub(crate) fn build_zeroed<T: Element>(shape: Shape, n: usize, fill: impl FnOnce(&mut [T])) -> Tensor<T> {
    let mut data = Buffer::zeroed(n);
    fill(&mut data);
    Tensor { shape, data: data.into(), node: None, dual: None }
}

/// Sums contributions that may be absent; `None` if all are.
pub(crate) fn sum_some<T: Element>(terms: impl IntoIterator<Item = Option<Tensor<T>>>) -> Option<Tensor<T>> {
    terms.into_iter().flatten().reduce(|a, b| &a + &b)
}

/// `[batch] ++ shape`: a batch of tensors of `shape` stacked along a leading axis.
pub(crate) fn batched(batch: usize, shape: &[usize]) -> Vec<usize> {
    std::iter::once(batch).chain(shape.iter().copied()).collect()
}

/// `[batch] ++ [1; rank − len] ++ shape`: a batched `shape` aligned to `rank` axes, so it
/// broadcasts (numpy aligns trailing axes) against batched tensors of that rank.
pub(crate) fn batched_aligned(batch: usize, shape: &[usize], rank: usize) -> Vec<usize> {
    let pad = rank.saturating_sub(shape.len());
    std::iter::once(batch).chain(std::iter::repeat_n(1, pad)).chain(shape.iter().copied()).collect()
}

/// How an op's batched JVP rule can run on tangents that are zero outside a window of rows
/// (the primal's axis 0; see `crate::window`).
pub(crate) enum Rows {
    /// Output row i depends only on row i of the inputs whose axis 0 is the output's (and
    /// on the other inputs whole), and the rule holds on any run of rows: it may run on the
    /// window's rows of every row-aligned input and of the output.
    Local,
    /// The rule sums the tangent over axis 0 (and maybe others) and reads no primal shape
    /// but its rank: rows outside the window add nothing, so it may run on the window's
    /// rows of the tangent alone; the result is dense.
    Collapse,
    /// A reshape: the window maps onto the output's rows.
    Reshape,
    /// A slice of these rows along axis 0: the window, cut to them, moves with them.
    Slice(std::ops::Range<usize>),
    /// A pad along axis 0 placing the input at row `start` of `len`: the window moves too.
    Pad { start: usize, len: usize },
    /// None of these: the tangents are made dense first.
    Dense,
}

/// The [`Rows`] rule of `op` applied to `inputs`. Only built-in ops are listed: a user's
/// op (or any op not listed) sees dense tangents.
pub(crate) fn rows_rule<T: Element>(op: &dyn Any, inputs: &[Tensor<T>]) -> Rows {
    if op.is::<unary::UnaryOp>() || op.is::<binary::BinaryOp>() || fused::is_backward(op) {
        return Rows::Local;
    }
    shape_ops::rows_rule(op).or_else(|| broadcast::rows_rule(op, inputs)).unwrap_or(Rows::Dense)
}
