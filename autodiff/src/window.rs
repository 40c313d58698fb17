//! Windowed batched tangents: the structural zeros of `jacfwd`'s basis vectors, kept.
//!
//! A chunk of basis vectors `e_start..e_{start+c}` is zero outside a few rows of the input
//! (its axis 0), and elementwise ops, slices along other axes and reshapes keep it so: in
//! the forward-over-reverse Hessian of a function coupling nearby elements only (the
//! extended Rosenbrock function, a discretised energy), every batched tangent of the
//! gradient's computation is zero outside a window of a few rows. Such a tangent is stored
//! compact, `[c, w] ++ shape[1..]` for the window's `w` rows, with its [`Window`] in the
//! dual part, and the ops that allow it ([`Rows`]) run their batched JVP rules on those
//! rows only. Any other op, and the transform's result, sees the tangent made dense (zeros
//! around the window, by the differentiable `pad`), so the values are those of dense
//! tangents, up to the order of the additions in sums over the rows.

use std::any::Any;
use std::ops::Range;

use kernels::Element;

use crate::Tensor;
use crate::op::Op;
use crate::ops::{Rows, pad, rows_rule};

/// Where a compact batched tangent sits: its axis 1 holds rows `start..start + len` of the
/// primal's axis 0 (`full` rows); all other rows are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) start: usize,
    pub(crate) len: usize,
    pub(crate) full: usize,
}

/// Windows wider than this share of the rows are made dense: slicing the primals to the
/// window would then cost about as much as the rows it saves.
const DENSE_SHARE: f64 = 0.5;

/// The dense tangent `[c] ++ primal shape` of compact `t` at `w`.
pub(crate) fn densify<T: Element>(t: &Tensor<T>, w: Window) -> Tensor<T> {
    pad(t, 1, w.start, w.full)
}

/// `t` as a dense tangent: made dense if it is compact at `w`, else itself.
pub(crate) fn dense<T: Element>(t: Tensor<T>, w: Option<Window>) -> Tensor<T> {
    match w {
        Some(w) => densify(&t, w),
        None => t,
    }
}

/// `t` (compact at `w`) widened to rows `lo..hi` ⊇ `w`'s (unless `w` is empty).
fn widen<T: Element>(t: Tensor<T>, w: Window, lo: usize, hi: usize) -> Tensor<T> {
    if (w.start, w.len) == (lo, hi - lo) {
        t
    } else if w.len == 0 {
        // An empty window (zero everywhere) may lie anywhere: just zeros.
        pad(&t, 1, 0, hi - lo)
    } else {
        pad(&t, 1, w.start - lo, hi - lo)
    }
}

/// [`Op::jvp_batch`] of `op` on tangents that may be compact (`windows[i]` for tangent i),
/// and the window of the result (`None`: dense).
pub(crate) fn jvp_batch<T: Element, O: Op<T>>(
    op: &O,
    primals: &[Tensor<T>],
    out: &Tensor<T>,
    tangents: Vec<Option<Tensor<T>>>,
    windows: &[Option<Window>],
    b: usize,
) -> (Option<Tensor<T>>, Option<Window>) {
    if windows.iter().all(Option::is_none) {
        return (op.jvp_batch(primals, out, &tangents, b), None);
    }
    match rows_rule(op as &dyn Any, primals) {
        Rows::Local => {
            if let Some(r) = local(op, primals, out, &tangents, windows, b) {
                return r;
            }
        }
        // The rule sums the rows: those outside the window add zeros.
        Rows::Collapse => return (op.jvp_batch(primals, out, &tangents, b), None),
        Rows::Reshape => {
            if let (Some(t), Some(w)) = (&tangents[0], windows[0])
                && let Some(r) = reshape(t, w, &primals[0], out)
            {
                return r;
            }
        }
        Rows::Slice(r) => {
            if let (Some(t), Some(w)) = (&tangents[0], windows[0]) {
                return slice_rows(t, w, r);
            }
        }
        Rows::Pad { start, len } => {
            if let (Some(t), Some(w)) = (&tangents[0], windows[0]) {
                return (Some(t.clone()), Some(Window { start: w.start + start, len: w.len, full: len }));
            }
        }
        Rows::Dense => {}
    }
    let dense: Vec<Option<Tensor<T>>> =
        tangents.into_iter().zip(windows).map(|(t, w)| t.map(|t| dense(t, *w))).collect();
    (op.jvp_batch(primals, out, &dense, b), None)
}

/// A [`Rows::Local`] op on the union of its tangents' windows: `None` (run it dense) if a
/// tangent is dense or belongs to an input broadcast along the output's axis 0, or the
/// union is too wide to gain.
fn local<T: Element, O: Op<T>>(
    op: &O,
    primals: &[Tensor<T>],
    out: &Tensor<T>,
    tangents: &[Option<Tensor<T>>],
    windows: &[Option<Window>],
    b: usize,
) -> Option<(Option<Tensor<T>>, Option<Window>)> {
    let rows = *out.shape().first()?;
    // Row-aligned: the input's axis 0 is the output's (numpy aligns trailing axes, so
    // an input of lower rank, or with 1 there, is broadcast along it).
    let aligned = |x: &Tensor<T>| x.ndim() == out.ndim() && x.shape()[0] == rows;
    let (mut lo, mut hi) = (usize::MAX, 0);
    for ((x, t), w) in primals.iter().zip(tangents).zip(windows) {
        if t.is_some() {
            let w = (*w)?;
            if !aligned(x) || w.full != rows {
                return None;
            }
            if w.len > 0 {
                (lo, hi) = (lo.min(w.start), hi.max(w.start + w.len));
            }
        }
    }
    if hi <= lo || (hi - lo) as f64 > DENSE_SHARE * rows as f64 {
        return None;
    }
    let ts: Vec<Option<Tensor<T>>> = tangents
        .iter()
        .zip(windows)
        .map(|(t, w)| t.clone().map(|t| widen(t, w.expect("every tangent is windowed"), lo, hi)))
        .collect();
    let xs: Vec<Tensor<T>> =
        primals.iter().map(|x| if aligned(x) { x.slice(0, lo..hi) } else { x.clone() }).collect();
    let t = op.jvp_batch(&xs, &out.slice(0, lo..hi), &ts, b);
    Some((t, Some(Window { start: lo, len: hi - lo, full: rows })))
}

/// Rows `r` of compact `t` (window `w`): the window's part within them, placed relative
/// to them (possibly empty: a tangent of no rows, zero everywhere).
fn slice_rows<T: Element>(t: &Tensor<T>, w: Window, r: Range<usize>) -> (Option<Tensor<T>>, Option<Window>) {
    let (lo, hi) = (w.start.max(r.start), (w.start + w.len).min(r.end));
    let (lo, hi, cut) = if lo >= hi {
        (r.start, r.start, t.slice(1, 0..0))
    } else if (lo, hi) == (w.start, w.start + w.len) {
        (lo, hi, t.clone())
    } else {
        (lo, hi, t.slice(1, lo - w.start..hi - w.start))
    };
    // A window covering the whole slice is a dense tangent already.
    let window = (hi - lo < r.len()).then_some(Window { start: lo - r.start, len: hi - lo, full: r.len() });
    (Some(cut), window)
}

/// A reshape of compact `t` (window `w` of input `x`'s rows) into `out`'s shape: the
/// window's elements are a run of the flat order, which covers a run of `out`'s rows once
/// widened to whole rows. `None` (dense) where the shapes have no rows.
fn reshape<T: Element>(
    t: &Tensor<T>,
    w: Window,
    x: &Tensor<T>,
    out: &Tensor<T>,
) -> Option<(Option<Tensor<T>>, Option<Window>)> {
    let (rows_in, rows_out) = (*x.shape().first()?, *out.shape().first()?);
    let (c, len) = (t.shape()[0], w.len);
    if rows_in == 0 || rows_out == 0 || x.numel() == 0 || out.numel() == 0 {
        return None;
    }
    let (r_in, r_out) = (x.numel() / rows_in, out.numel() / rows_out);
    if len == 0 {
        // No rows: no elements, in any shape.
        let shape: Vec<usize> = [c, 0].into_iter().chain(out.shape()[1..].iter().copied()).collect();
        return Some((Some(Tensor::zeros(&shape)), Some(Window { start: 0, len: 0, full: rows_out })));
    }
    let (flat_lo, flat_hi) = (w.start * r_in, (w.start + len) * r_in);
    let (lo, hi) = (flat_lo / r_out, flat_hi.div_ceil(r_out));
    let flat = t.reshape(&[c, len * r_in]);
    let flat = if (lo * r_out, hi * r_out) == (flat_lo, flat_hi) {
        flat
    } else {
        pad(&flat, 1, flat_lo - lo * r_out, (hi - lo) * r_out)
    };
    let shape: Vec<usize> = [c, hi - lo].into_iter().chain(out.shape()[1..].iter().copied()).collect();
    let t = flat.reshape(&shape);
    // A window covering every row is a dense tangent already.
    let window = (hi - lo < rows_out).then_some(Window { start: lo, len: hi - lo, full: rows_out });
    Some((Some(t), window))
}

#[cfg(test)]
mod tests {
    use super::Window;
    use crate::Tensor;
    use crate::functional::{make_dual_windowed, unpack};
    use crate::mode;

    fn window_of(t: &Tensor<f64>) -> Option<Window> {
        t.dual.as_ref().and_then(|d| d.window)
    }

    /// `x ∈ ℝ¹⁰` with `x_i = 0.3 + 0.1·i`.
    fn point() -> Tensor<f64> {
        Tensor::from_vec((0..10).map(|i| 0.3 + 0.1 * i as f64).collect(), &[10])
    }

    /// The compact basis vectors `e_start, e_{start+1}` of ℝ¹⁰ (rows `start..start + 2`).
    fn pair_basis(start: usize) -> (Tensor<f64>, Window) {
        (Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2]), Window { start, len: 2, full: 10 })
    }

    /// The dense tangents `[2, 10]` whose row k is `d_k` at column `start + k`, zero elsewhere.
    fn diagonal(start: usize, d: [f64; 2]) -> Vec<f64> {
        let mut v = vec![0.0; 20];
        v[start] = d[0];
        v[10 + start + 1] = d[1];
        v
    }

    /// Elementwise ops keep the window, a reshape moves it onto the new rows, a slice along
    /// axis 1 keeps it, a full sum collapses it and a matmul makes it dense; each unpacked
    /// tangent equals the hand-derived one.
    #[test]
    fn windows_follow_rows_through_the_ops_and_unpack_to_the_dense_tangents() {
        let x = point();
        let xs = x.to_vec();
        let guard = mode::push_level();
        let (v, w) = pair_basis(2);
        let xd = make_dual_windowed(&x, v, guard.0, Some(2), Some(w));
        // y = sin(x²): dy_j/dx_j = 2x_j·cos(x_j²), so tangent k is that at j = 2 + k. The
        // engine forms 2x as x·1 + x·1 (exact) and multiplies by its cos (a few ulp from
        // std's), hence 1e-15 relative.
        let y = (&xd * &xd).sin();
        assert_eq!(window_of(&y), Some(w));
        let d = |j: usize| 2.0 * xs[j] * (xs[j] * xs[j]).cos();
        let want = diagonal(2, [d(2), d(3)]);
        for (got, want) in unpack(&y, guard.0, Some(2)).1.to_vec().iter().zip(&want) {
            assert!((got - want).abs() <= 1e-15 * want.abs(), "{got} vs {want}");
        }
        // Elements 2, 3 are row 1 of the [5, 2] pairs; its second column is element 3.
        let pairs = y.reshape(&[5, 2]);
        assert_eq!(window_of(&pairs), Some(Window { start: 1, len: 1, full: 5 }));
        let second = pairs.select(1, 1);
        assert_eq!(window_of(&second), Some(Window { start: 1, len: 1, full: 5 }));
        // Σ_i y_{2i+1}: ∂/∂x_2 = 0, ∂/∂x_3 = d(3), as a dense batch of two scalars.
        let total = second.sum();
        assert_eq!(window_of(&total), None);
        let t = unpack(&total, guard.0, Some(2)).1;
        assert_eq!(t.shape(), &[2]);
        assert_eq!(t.to_vec()[0], 0.0);
        assert!((t.to_vec()[1] - d(3)).abs() <= 1e-15 * d(3).abs());
        // A row-mixing op sees the dense tangent: A·x with A = [1, …, 1] sums the tangents.
        let ones = Tensor::ones(&[1, 10]);
        let m = ones.matmul(&xd.reshape(&[10, 1]));
        assert_eq!(window_of(&m), None);
        assert_eq!(unpack(&m, guard.0, Some(2)).1.to_vec(), [1.0, 1.0]);
    }

    /// Two tangents with different windows meet in a product: the result's window is their
    /// union, each widened with zeros; the product rule then gives `ta·b + a·tb` there.
    #[test]
    fn a_binary_op_widens_both_windows_to_their_union() {
        let x = point();
        let xs = x.to_vec();
        let guard = mode::push_level();
        let (va, wa) = pair_basis(1);
        let (vb, wb) = pair_basis(4);
        let a = make_dual_windowed(&x, va, guard.0, Some(2), Some(wa));
        let b = make_dual_windowed(&x.sin(), vb, guard.0, Some(2), Some(wb));
        let p = &a * &b;
        assert_eq!(window_of(&p), Some(Window { start: 1, len: 5, full: 10 }));
        // Tangent k: ∂(a·b) = e_{1+k}·sin(x) + x·e_{4+k}: sin(x_{1+k}) at column 1 + k and
        // x_{4+k} at column 4 + k, each one rounded product of a 1.
        // (sin by the same kernel as b's values; adding the widened zeros is exact).
        let got = unpack(&p, guard.0, Some(2)).1.to_vec();
        let sin = x.sin().to_vec();
        let mut want = vec![0.0; 20];
        for k in 0..2 {
            want[10 * k + 1 + k] = sin[1 + k];
            want[10 * k + 4 + k] = xs[4 + k];
        }
        assert_eq!(got, want);
    }

    /// A window over more than half the rows is not worth slicing for: the op runs dense.
    /// A reshape whose window starts inside a row of the new shape widens it to whole rows.
    #[test]
    fn wide_windows_go_dense_and_reshapes_widen_to_whole_rows() {
        let x = point();
        let guard = mode::push_level();
        let v = Tensor::from_vec((0..6 * 6).map(|i| if i % 7 == 0 { 1.0 } else { 0.0 }).collect(), &[6, 6]);
        let wide = make_dual_windowed(&x, v, guard.0, Some(6), Some(Window { start: 0, len: 6, full: 10 }));
        assert_eq!(window_of(&wide.exp()), None);
        let (v, _) = pair_basis(3);
        let xd = make_dual_windowed(&x, v, guard.0, Some(2), Some(Window { start: 3, len: 2, full: 10 }));
        // Elements 3, 4 lie in rows 1 and 2 of [5, 2] (elements 2..6).
        let r = xd.reshape(&[5, 2]);
        assert_eq!(window_of(&r), Some(Window { start: 1, len: 2, full: 5 }));
        assert_eq!(unpack(&r, guard.0, Some(2)).1.to_vec(), diagonal(3, [1.0, 1.0]));
    }

    /// Slices along axis 0 cut the window and move it (to an empty one where they miss
    /// it), an empty window widens to zeros in a binary op, and a pad along axis 0 moves
    /// the window back.
    #[test]
    fn slices_and_pads_along_rows_move_the_window() {
        let x = point();
        let guard = mode::push_level();
        let (v, w) = pair_basis(3);
        let xd = make_dual_windowed(&x, v, guard.0, Some(2), Some(w));
        let tangent = |t: &Tensor<f64>| unpack(t, guard.0, Some(2)).1.to_vec();
        // Rows 4..9 keep element 4 (tangent 1, e₄) as their row 0; e₃ is zero there.
        let s = xd.slice(0, 4..9);
        assert_eq!(window_of(&s), Some(Window { start: 0, len: 1, full: 5 }));
        assert_eq!(tangent(&s), [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        let miss = xd.slice(0, 6..10);
        assert_eq!(window_of(&miss), Some(Window { start: 0, len: 0, full: 4 }));
        assert_eq!(tangent(&miss), [0.0; 8]);
        // Rows 2..6 hold elements 3, 4 as rows 1, 2; the empty window adds zeros.
        let sum = &miss + &xd.slice(0, 2..6);
        assert_eq!(window_of(&sum), Some(Window { start: 1, len: 2, full: 4 }));
        assert_eq!(tangent(&sum), [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        let back = crate::ops::pad(&s, 0, 4, 10);
        assert_eq!(window_of(&back), Some(Window { start: 4, len: 1, full: 10 }));
        assert_eq!(tangent(&back), diagonal(3, [0.0, 1.0]));
    }
}
