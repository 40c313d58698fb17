//! Shape ops: reshape (shares the buffer), slice and its adjoint pad, select, concat, stack.

use std::ops::Range;

use kernels::Element;

use super::{batched, build, build_zeroed};
use crate::Tensor;
use crate::engine::apply;
use crate::op::Op;
use crate::shape::{self, Shape};

/// A new shape over the same buffer (no copy). VJP and JVP: reshape back / alike.
#[derive(Clone)]
struct Reshape(Shape);

impl<T: Element> Op<T> for Reshape {
    fn name(&self) -> &str {
        "reshape"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        Tensor { shape: self.0.clone(), data: x[0].data.clone(), node: None, dual: None }
    }
    fn vjp(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        vec![Some(g.reshape(x[0].shape()))]
    }
    fn jvp(&self, _: &[Tensor<T>], _: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        t[0].as_ref().map(|t| t.reshape(&self.0))
    }
    fn jvp_batch(
        &self,
        _: &[Tensor<T>],
        _: &Tensor<T>,
        t: &[Option<Tensor<T>>],
        n: usize,
    ) -> Option<Tensor<T>> {
        t[0].as_ref().map(|t| t.reshape(&batched(n, &self.0)))
    }
    fn vjp_batch(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>, n: usize) -> Vec<Option<Tensor<T>>> {
        vec![Some(g.reshape(&batched(n, x[0].shape())))]
    }
}

/// Elements `range` of `axis`. VJP: [`Pad`] back into zeros; JVP: slice the tangent.
#[derive(Clone)]
struct Slice {
    axis: usize,
    range: Range<usize>,
}

/// The adjoint of [`Slice`]: places the input at `start..` along `axis` of a zero tensor
/// with `len` there. VJP: slice; JVP: pad.
#[derive(Clone)]
struct Pad {
    axis: usize,
    start: usize,
    len: usize,
}

/// Copies `(outer, inner)` blocks: `src` holds `outer` runs of `src_run`, `dst` `outer` runs
/// of `dst_run`; run `o` of `src` (from element `src_off`) goes to run `o` of `dst` (from
/// `dst_off`), `len` elements each.
fn copy_runs<T: Copy>(
    src: &[T],
    src_run: usize,
    src_off: usize,
    dst: &mut [T],
    dst_run: usize,
    dst_off: usize,
    len: usize,
) {
    if len == 0 {
        return;
    }
    let runs = src.chunks_exact(src_run).zip(dst.chunks_exact_mut(dst_run));
    if len == 1 {
        // One element per run (`select` of a column): a `memcpy` call per element would
        // cost more than the copy itself.
        for (s, d) in runs {
            d[dst_off] = s[src_off];
        }
    } else {
        for (s, d) in runs {
            d[dst_off..dst_off + len].copy_from_slice(&s[src_off..src_off + len]);
        }
    }
}

impl<T: Element> Op<T> for Slice {
    fn name(&self) -> &str {
        "slice"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let (outer, len, inner) = shape::split(x[0].shape(), self.axis);
        let w = self.range.len();
        let mut out: Vec<usize> = x[0].shape().to_vec();
        out[self.axis] = w;
        build(out.into(), outer * w * inner, |o| {
            copy_runs(x[0].data(), len * inner, self.range.start * inner, o, w * inner, 0, w * inner)
        })
    }
    fn vjp(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        let len = x[0].shape()[self.axis];
        vec![Some(apply(Pad { axis: self.axis, start: self.range.start, len }, &[g]))]
    }
    fn jvp(&self, _: &[Tensor<T>], _: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        t[0].as_ref().map(|t| t.slice(self.axis, self.range.clone()))
    }
    fn jvp_batch(
        &self,
        _: &[Tensor<T>],
        _: &Tensor<T>,
        t: &[Option<Tensor<T>>],
        _: usize,
    ) -> Option<Tensor<T>> {
        t[0].as_ref().map(|t| t.slice(self.axis + 1, self.range.clone()))
    }
    fn vjp_batch(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>, _: usize) -> Vec<Option<Tensor<T>>> {
        let len = x[0].shape()[self.axis];
        vec![Some(apply(Pad { axis: self.axis + 1, start: self.range.start, len }, &[g]))]
    }
}

impl<T: Element> Op<T> for Pad {
    fn name(&self) -> &str {
        "pad"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let (outer, w, inner) = shape::split(x[0].shape(), self.axis);
        let mut out: Vec<usize> = x[0].shape().to_vec();
        out[self.axis] = self.len;
        build_zeroed(out.into(), outer * self.len * inner, |o| {
            copy_runs(x[0].data(), w * inner, 0, o, self.len * inner, self.start * inner, w * inner)
        })
    }
    fn vjp(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        let w = x[0].shape()[self.axis];
        vec![Some(g.slice(self.axis, self.start..self.start + w))]
    }
    fn jvp(&self, _: &[Tensor<T>], _: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        t[0].as_ref().map(|t| apply(self.clone(), &[t]))
    }
    fn jvp_batch(
        &self,
        _: &[Tensor<T>],
        _: &Tensor<T>,
        t: &[Option<Tensor<T>>],
        _: usize,
    ) -> Option<Tensor<T>> {
        t[0].as_ref().map(|t| apply(Pad { axis: self.axis + 1, ..self.clone() }, &[t]))
    }
    fn vjp_batch(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>, _: usize) -> Vec<Option<Tensor<T>>> {
        let w = x[0].shape()[self.axis];
        vec![Some(g.slice(self.axis + 1, self.start..self.start + w))]
    }
}

/// Joins along `axis`. VJP: the matching slices of the cotangent; JVP: concat the tangents
/// (zeros for inputs without one).
#[derive(Clone)]
struct Concat {
    axis: usize,
}

impl<T: Element> Op<T> for Concat {
    fn name(&self) -> &str {
        "concat"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let mut out: Vec<usize> = x[0].shape().to_vec();
        out[self.axis] = x.iter().map(|t| t.shape()[self.axis]).sum();
        let (outer, total, inner) = shape::split(&out, self.axis);
        build(out.into(), outer * total * inner, |o| {
            let mut at = 0;
            for t in x {
                let w = t.shape()[self.axis];
                copy_runs(t.data(), w * inner, 0, o, total * inner, at * inner, w * inner);
                at += w;
            }
        })
    }
    fn vjp(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        let mut at = 0;
        x.iter()
            .map(|t| {
                let w = t.shape()[self.axis];
                at += w;
                t.is_tracked().then(|| g.slice(self.axis, at - w..at))
            })
            .collect()
    }
    fn jvp(&self, x: &[Tensor<T>], _: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        let parts: Vec<Tensor<T>> =
            x.iter().zip(t).map(|(x, t)| t.clone().unwrap_or_else(|| Tensor::zeros(x.shape()))).collect();
        Some(Tensor::concat(&parts, self.axis))
    }
    fn jvp_batch(
        &self,
        x: &[Tensor<T>],
        _: &Tensor<T>,
        t: &[Option<Tensor<T>>],
        n: usize,
    ) -> Option<Tensor<T>> {
        let parts: Vec<Tensor<T>> = x
            .iter()
            .zip(t)
            .map(|(x, t)| t.clone().unwrap_or_else(|| Tensor::zeros(&batched(n, x.shape()))))
            .collect();
        Some(Tensor::concat(&parts, self.axis + 1))
    }
    fn vjp_batch(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>, _: usize) -> Vec<Option<Tensor<T>>> {
        let mut at = 0;
        x.iter()
            .map(|t| {
                let w = t.shape()[self.axis];
                at += w;
                t.is_tracked().then(|| g.slice(self.axis + 1, at - w..at))
            })
            .collect()
    }
}

impl<T: Element> Tensor<T> {
    /// The same values in a new shape with the same element count (no copy).
    ///
    /// # Panics
    /// If the element counts differ (the message names both shapes).
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[4]).reshape(&[2, 2]);
    /// assert_eq!(t.shape(), &[2, 2]);
    /// ```
    #[track_caller]
    pub fn reshape(&self, shape: &[usize]) -> Tensor<T> {
        assert!(
            shape::numel(shape) == self.numel(),
            "reshape: shape {:?} ({} elements) cannot become {:?} ({} elements)",
            self.shape(),
            self.numel(),
            shape,
            shape::numel(shape)
        );
        if shape::same(self.shape(), shape) {
            return self.clone();
        }
        apply(Reshape(shape.into()), &[self])
    }

    /// Elements `range` along `axis` (a copy). Derivative: the cotangent is placed back into
    /// zeros.
    ///
    /// # Panics
    /// If `axis` is out of range or `range` is not within `0..shape[axis]`.
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// assert_eq!(t.slice(1, 1..3).to_vec(), [2.0, 3.0, 5.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn slice(&self, axis: usize, range: Range<usize>) -> Tensor<T> {
        let axis = shape::axis("slice", axis, self.shape());
        assert!(
            range.start <= range.end && range.end <= self.shape()[axis],
            "slice: range {range:?} is outside 0..{} on axis {axis} of shape {:?}",
            self.shape()[axis],
            self.shape()
        );
        apply(Slice { axis, range }, &[self])
    }

    /// Element `index` along `axis`, dropping the axis.
    ///
    /// # Panics
    /// If `axis` or `index` is out of range.
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!((t.select(0, 1).shape(), t.select(0, 1).to_vec()), (&[2][..], vec![3.0, 4.0]));
    /// ```
    #[track_caller]
    pub fn select(&self, axis: usize, index: usize) -> Tensor<T> {
        let axis = shape::axis("select", axis, self.shape());
        assert!(
            index < self.shape()[axis],
            "select: index {index} is out of range for axis {axis} of shape {:?}",
            self.shape()
        );
        self.slice(axis, index..index + 1).reshape(&shape::reduced(self.shape(), axis, false))
    }

    /// Joins tensors along an existing `axis`; all other axes must agree.
    ///
    /// # Panics
    /// If `parts` is empty, the ranks differ, `axis` is out of range, another axis
    /// disagrees (the message names the shapes), or the joined length overflows `usize`
    /// (only empty tensors can have such lengths).
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0], &[1, 2]);
    /// let b = Tensor::from_vec(vec![3.0f32, 4.0], &[1, 2]);
    /// assert_eq!(Tensor::concat(&[a, b], 0).shape(), &[2, 2]);
    /// ```
    #[track_caller]
    pub fn concat(parts: &[Tensor<T>], axis: usize) -> Tensor<T> {
        assert!(!parts.is_empty(), "concat: no tensors to join");
        let first = parts[0].shape();
        let axis = shape::axis("concat", axis, first);
        for p in parts {
            let ok = p.ndim() == first.len()
                && p.shape().iter().zip(first).enumerate().all(|(i, (a, b))| i == axis || a == b);
            assert!(ok, "concat: shapes {:?} and {:?} differ outside axis {axis}", first, p.shape());
        }
        let joined = parts.iter().try_fold(0usize, |n, p| n.checked_add(p.shape()[axis]));
        assert!(joined.is_some(), "concat: the joined length of axis {axis} overflows usize");
        let refs: Vec<&Tensor<T>> = parts.iter().collect();
        apply(Concat { axis }, &refs)
    }

    /// Joins equally shaped tensors along a new `axis` (0 ≤ axis ≤ rank).
    ///
    /// # Panics
    /// If `parts` is empty, the shapes differ, or `axis > rank`.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
    /// let s = Tensor::stack(&[a.clone(), a], 1);
    /// assert_eq!((s.shape(), s.to_vec()), (&[2, 2][..], vec![1.0, 1.0, 2.0, 2.0]));
    /// ```
    #[track_caller]
    pub fn stack(parts: &[Tensor<T>], axis: usize) -> Tensor<T> {
        assert!(!parts.is_empty(), "stack: no tensors to join");
        let first = parts[0].shape();
        assert!(
            axis <= first.len(),
            "stack: axis {axis} is out of range for shape {first:?} (new axis ≤ {})",
            first.len()
        );
        for p in parts {
            assert!(p.shape() == first, "stack: shapes {:?} and {:?} differ", first, p.shape());
        }
        let new = shape::unsqueezed(first, axis);
        let parts: Vec<Tensor<T>> = parts.iter().map(|p| p.reshape(&new)).collect();
        Tensor::concat(&parts, axis)
    }
}
