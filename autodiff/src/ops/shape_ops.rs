//! Shape ops: reshape (shares the buffer), slice and its adjoint pad, select, concat, stack.

use std::ops::Range;

use kernels::Element;

use super::{Rows, batched, build};
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

/// The tensor placed at `start..` along `axis` of zeros with `len` there (differentiable):
/// a windowed tangent made dense, or widened to a larger window.
pub(crate) fn pad<T: Element>(t: &Tensor<T>, axis: usize, start: usize, len: usize) -> Tensor<T> {
    debug_assert!(start + t.shape()[axis] <= len);
    apply(Pad { axis, start, len }, &[t])
}

/// [`Rows`] of the shape ops: a reshape maps windows, slices and pads move them along axis
/// 0 and are row-local along the others; `None` for other ops.
pub(super) fn rows_rule(op: &dyn std::any::Any) -> Option<Rows> {
    if op.is::<Reshape>() {
        return Some(Rows::Reshape);
    }
    if let Some(s) = op.downcast_ref::<Slice>() {
        return Some(if s.axis > 0 { Rows::Local } else { Rows::Slice(s.range.clone()) });
    }
    let p = op.downcast_ref::<Pad>()?;
    Some(if p.axis > 0 { Rows::Local } else { Rows::Pad { start: p.start, len: p.len } })
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
    if len == 1 {
        // One element per run (`select` of a column): a `memcpy` call per element would
        // cost more than the copy itself. Runs of 2 (the halves of pairs) get a loop with
        // the strides fixed, which the compiler turns into vector shuffles.
        match (src_run, dst_run) {
            (1, 2) => return one_per_run::<T, 1, 2>(src, src_off, dst, dst_off),
            (2, 1) => return one_per_run::<T, 2, 1>(src, src_off, dst, dst_off),
            _ => {}
        }
        for (s, d) in src.chunks_exact(src_run).zip(dst.chunks_exact_mut(dst_run)) {
            d[dst_off] = s[src_off];
        }
    } else {
        for (s, d) in src.chunks_exact(src_run).zip(dst.chunks_exact_mut(dst_run)) {
            d[dst_off..dst_off + len].copy_from_slice(&s[src_off..src_off + len]);
        }
    }
}

/// [`copy_runs`] of one element per run, the run lengths constants.
fn one_per_run<T: Copy, const S: usize, const D: usize>(src: &[T], so: usize, dst: &mut [T], d_o: usize) {
    for (s, d) in src.chunks_exact(S).zip(dst.chunks_exact_mut(D)) {
        d[d_o] = s[so];
    }
}

/// Pads runs of `len` elements of `src` to runs of `run` in `dst`, `before` zeros ahead of
/// each and the rest after: every element written once. (Zeroing all of `dst` first, then
/// copying, wrote the copied part twice; a per-element choice between zero and copy did
/// not vectorize and was slower still.)
fn pad_runs<T: Element>(src: &[T], len: usize, dst: &mut [T], run: usize, before: usize) {
    if len == 0 {
        dst.fill(T::ZERO);
        return;
    }
    if len == 1 && run == 2 {
        // A select's gradient on pairs: interleave with zeros.
        for (s, d) in src.iter().zip(dst.chunks_exact_mut(2)) {
            let d: &mut [T; 2] = d.try_into().expect("pairs");
            *d = if before == 0 { [*s, T::ZERO] } else { [T::ZERO, *s] };
        }
        return;
    }
    if run - len < 16 {
        // Short gaps: zero the whole run (one call) and copy, rather than two short calls.
        dst.fill(T::ZERO);
        copy_runs(src, len, 0, dst, run, before, len);
        return;
    }
    for (s, d) in src.chunks_exact(len).zip(dst.chunks_exact_mut(run)) {
        let (head, rest) = d.split_at_mut(before);
        let (mid, tail) = rest.split_at_mut(len);
        head.fill(T::ZERO);
        mid.copy_from_slice(s);
        tail.fill(T::ZERO);
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
        build(out.into(), outer * self.len * inner, |o| {
            pad_runs(x[0].data(), w * inner, o, self.len * inner, self.start * inner)
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

#[cfg(test)]
mod tests {
    use super::{copy_runs, pad_runs};

    #[test]
    fn pad_runs_writes_every_element_once_in_each_layout() {
        // Each case takes a different branch: empty runs, pairs (either half), short gaps,
        // long gaps. The expected output is built index by index: element k of source run
        // o lands at o·run + before + k, everything else is zero; the output starts full
        // of 7s so a skipped element shows.
        for (len, run, before) in [(0, 3, 0), (1, 2, 0), (1, 2, 1), (2, 5, 1), (3, 40, 30), (3, 40, 0)] {
            let outer = 4;
            let src: Vec<f64> = (0..outer * len).map(|v| v as f64 + 1.0).collect();
            let mut dst = vec![7.0; outer * run];
            pad_runs(&src, len, &mut dst, run, before);
            let mut want = vec![0.0; outer * run];
            for o in 0..outer {
                for k in 0..len {
                    want[o * run + before + k] = src[o * len + k];
                }
            }
            assert_eq!(dst, want, "len {len}, run {run}, before {before}");
        }
    }

    #[test]
    fn copy_runs_of_one_element_with_fixed_and_general_strides() {
        // (src_run, src_off, dst_run, dst_off): the pair halves the fixed-stride loops
        // take, and a general stride. Untouched destination elements keep their -1.
        for (sr, so, dr, d_o) in [(2, 0, 1, 0), (2, 1, 1, 0), (1, 0, 2, 1), (3, 2, 4, 1)] {
            let outer = 5;
            let src: Vec<f64> = (0..outer * sr).map(|v| v as f64).collect();
            let mut dst = vec![-1.0; outer * dr];
            copy_runs(&src, sr, so, &mut dst, dr, d_o, 1);
            let mut want = vec![-1.0; outer * dr];
            for o in 0..outer {
                want[o * dr + d_o] = src[o * sr + so];
            }
            assert_eq!(dst, want, "runs {sr} -> {dr}, offsets {so} -> {d_o}");
        }
    }
}
