//! The public row-wise functions on row-major matrices: softmax and log-softmax, their
//! backward passes, row and column sums.

use super::dispatch::{Entries, Kernel, Paths};
use super::exec::{Exec, SendPtr, for_chunks};
use super::kernels::{CHEAP_MIN, HEAVY_MIN, run, same_len};
use super::reduce::{finish, sum2};
use super::rows::{add_rows, softmax_bwd_row, softmax_row};
use crate::Element;
use crate::simd::widen::Widen;

/// Checks a row-major matrix of `cols` columns and returns its row count.
#[track_caller]
fn rows_of(what: &str, len: usize, cols: usize) -> usize {
    assert!(cols > 0 || len == 0, "kernels::ew::{what}: cols is 0 but the matrix has {len} elements");
    assert!(
        cols == 0 || len.is_multiple_of(cols),
        "kernels::ew::{what}: {len} elements is not a whole number of rows of {cols} columns"
    );
    len.checked_div(cols).unwrap_or(0)
}

/// Runs `f(row_start, row_end)` over the rows, threaded by total work.
fn over_rows(rows: usize, cols: usize, heavy: bool, f: impl Fn(usize, usize) + Sync) {
    let min = if heavy { HEAVY_MIN } else { CHEAP_MIN };
    let exec = Exec::current();
    for_chunks(exec.par, rows, min.div_ceil(cols.max(1)), 1, |s, e| exec.run(|| f(s, e)));
}

/// A row kernel over `rows` consecutive rows (one dispatch for all of them: a dispatch
/// per row cost more than a short row's work).
pub struct RowK<T> {
    /// Which row body (`SOFTMAX`, …).
    op: u8,
    a: *const T,
    b: *const T,
    y: *mut T,
    cols: usize,
    rows: usize,
    /// Elements between consecutive rows' outputs (`cols`, or 1 for row sums).
    y_stride: usize,
}
const SOFTMAX: u8 = 0;
const LOG_SOFTMAX: u8 = 1;
const SOFTMAX_BWD: u8 = 2;
const LOG_SOFTMAX_BWD: u8 = 3;
const ROW_SUM: u8 = 4;
impl<T: Paths + Element> Kernel<T> for RowK<T> {
    type Out = ();
    fn entries() -> &'static Entries<Self, Self::Out> {
        T::row_k()
    }
    #[inline(always)]
    unsafe fn run<S: Widen<T = T>>(self) {
        let n = self.cols;
        for r in 0..self.rows {
            // SAFETY: `rows` rows of `cols` elements in each buffer, outputs `y_stride`
            // apart (built by `rows_apply`).
            unsafe {
                let (a, b, y) = (self.a.add(r * n), self.b.add(r * n), self.y.add(r * self.y_stride));
                match self.op {
                    SOFTMAX => softmax_row::<S, false>(a, y, n),
                    LOG_SOFTMAX => softmax_row::<S, true>(a, y, n),
                    SOFTMAX_BWD => softmax_bwd_row::<S, false>(a, b, y, n),
                    LOG_SOFTMAX_BWD => softmax_bwd_row::<S, true>(a, b, y, n),
                    _ => {
                        let (hi, lo) = sum2::<S>(a, n);
                        *y = finish(hi, lo);
                    }
                }
            }
        }
    }
}

/// Applies a row kernel to every row; `y` advances by `y_stride` per row.
fn rows_apply<T: Element, const OP: u8>(
    a: &[T],
    b: Option<&[T]>,
    y: *mut T,
    cols: usize,
    rows: usize,
    y_stride: usize,
) {
    let (ap, bp, yp) =
        (SendPtr(a.as_ptr() as *mut T), SendPtr(b.map_or(a.as_ptr(), |b| b.as_ptr()) as *mut T), SendPtr(y));
    over_rows(rows, cols, OP != ROW_SUM, |s, e| {
        // (Offsets: `s < e ≤ rows`, so rows s..e lie inside their buffers.)
        let k = RowK {
            op: OP,
            a: ap.get().wrapping_add(s * cols),
            b: bp.get().wrapping_add(s * cols),
            y: yp.get().wrapping_add(s * y_stride),
            cols,
            rows: e - s,
            y_stride,
        };
        run::<T, _>(k);
    });
}

/// Row-wise softmax of a row-major matrix with `cols` columns: each row of `out` is
/// exp(x − max) / Σ exp(x − max) (a row holding NaN gives NaN).
///
/// # Panics
/// If the lengths differ or are not a whole number of rows.
///
/// ```
/// let mut y = [0.0f32; 4];
/// kernels::ew::softmax_rows(&[0.0, 0.0, 1.0, 1.0], 2, &mut y);
/// assert_eq!(y, [0.5; 4]);
/// ```
#[track_caller]
pub fn softmax_rows<T: Element>(x: &[T], cols: usize, out: &mut [T]) {
    same_len("softmax_rows", ("x", x.len()), ("out", out.len()));
    let rows = rows_of("softmax_rows", x.len(), cols);
    rows_apply::<T, SOFTMAX>(x, None, out.as_mut_ptr(), cols, rows, cols);
}

/// Row-wise log-softmax: each row of `out` is x − max − ln Σ exp(x − max).
///
/// # Panics
/// As [`softmax_rows`].
///
/// ```
/// let mut y = [0.0f64; 2];
/// kernels::ew::log_softmax_rows(&[3.0, 3.0], 2, &mut y);
/// assert!((y[0] + 2f64.ln()).abs() < 1e-15);
/// ```
#[track_caller]
pub fn log_softmax_rows<T: Element>(x: &[T], cols: usize, out: &mut [T]) {
    same_len("log_softmax_rows", ("x", x.len()), ("out", out.len()));
    let rows = rows_of("log_softmax_rows", x.len(), cols);
    rows_apply::<T, LOG_SOFTMAX>(x, None, out.as_mut_ptr(), cols, rows, cols);
}

/// Backward of [`softmax_rows`] from its output y: each row of `out` is y ⊙ (g − ⟨g, y⟩).
///
/// # Panics
/// As [`softmax_rows`], for `g`, `y` and `out`.
///
/// ```
/// let mut d = [0.0f32; 2];
/// kernels::ew::softmax_backward_rows(&[1.0, 1.0], &[0.5, 0.5], 2, &mut d);
/// assert_eq!(d, [0.0, 0.0]); // a constant shift of the logits changes nothing
/// ```
#[track_caller]
pub fn softmax_backward_rows<T: Element>(g: &[T], y: &[T], cols: usize, out: &mut [T]) {
    same_len("softmax_backward_rows", ("g", g.len()), ("y", y.len()));
    same_len("softmax_backward_rows", ("g", g.len()), ("out", out.len()));
    let rows = rows_of("softmax_backward_rows", g.len(), cols);
    rows_apply::<T, SOFTMAX_BWD>(g, Some(y), out.as_mut_ptr(), cols, rows, cols);
}

/// Backward of [`log_softmax_rows`] from its output y: each row of `out` is g − exp(y)·Σg.
///
/// # Panics
/// As [`softmax_backward_rows`].
///
/// ```
/// let half = 0.5f64.ln();
/// let mut d = [0.0f64; 2];
/// kernels::ew::log_softmax_backward_rows(&[1.0, 0.0], &[half, half], 2, &mut d);
/// assert!((d[0] - 0.5).abs() < 1e-15 && (d[1] + 0.5).abs() < 1e-15);
/// ```
#[track_caller]
pub fn log_softmax_backward_rows<T: Element>(g: &[T], y: &[T], cols: usize, out: &mut [T]) {
    same_len("log_softmax_backward_rows", ("g", g.len()), ("y", y.len()));
    same_len("log_softmax_backward_rows", ("g", g.len()), ("out", out.len()));
    let rows = rows_of("log_softmax_backward_rows", g.len(), cols);
    rows_apply::<T, LOG_SOFTMAX_BWD>(g, Some(y), out.as_mut_ptr(), cols, rows, cols);
}

/// Row sums of a row-major matrix with `cols` columns (compensated, as [`sum`](super::sum)).
///
/// # Panics
/// If `x` is not a whole number of rows or `out` does not have one element per row.
///
/// ```
/// let mut s = [0.0f32; 2];
/// kernels::ew::sum_rows(&[1.0, 2.0, 3.0, 4.0], 2, &mut s);
/// assert_eq!(s, [3.0, 7.0]);
/// ```
#[track_caller]
pub fn sum_rows<T: Element>(x: &[T], cols: usize, out: &mut [T]) {
    let rows = rows_of("sum_rows", x.len(), cols);
    same_len("sum_rows", ("out", out.len()), ("the row count of x", rows));
    rows_apply::<T, ROW_SUM>(x, None, out.as_mut_ptr(), cols, rows, 1);
}

/// Adds `rows` rows (`stride` apart) of an `n`-column band into compensated column sums.
pub struct ColK<T> {
    x: *const T,
    s: *mut T,
    c: *mut T,
    n: usize,
    rows: usize,
    stride: usize,
}
impl<T: Paths + Element> Kernel<T> for ColK<T> {
    type Out = ();
    fn entries() -> &'static Entries<Self, Self::Out> {
        T::col_k()
    }
    #[inline(always)]
    unsafe fn run<S: Widen<T = T>>(self) {
        // SAFETY: `rows` rows of `n` elements `stride` apart in `x`, `n` in `s` and `c`, all
        // disjoint (built by `sum_cols`).
        unsafe { add_rows::<S>(self.x, self.stride, self.rows, self.s, self.c, self.n) }
    }
}

/// Column sums of a row-major matrix with `cols` columns (each compensated, as [`sum`](super::sum)).
///
/// # Panics
/// If `x` is not a whole number of rows or `out.len() != cols`.
///
/// ```
/// let mut s = [0.0f64; 2];
/// kernels::ew::sum_cols(&[1.0, 2.0, 3.0, 4.0], 2, &mut s);
/// assert_eq!(s, [4.0, 6.0]);
/// ```
#[track_caller]
pub fn sum_cols<T: Element>(x: &[T], cols: usize, out: &mut [T]) {
    let rows = rows_of("sum_cols", x.len(), cols);
    same_len("sum_cols", ("out", out.len()), ("cols", cols));
    out.fill(T::ZERO);
    let mut comp = vec![T::ZERO; cols];
    let (xp, sp, cp) = (SendPtr(x.as_ptr() as *mut T), SendPtr(out.as_mut_ptr()), SendPtr(comp.as_mut_ptr()));
    let exec = Exec::current();
    // Threads split the columns (each thread owns a band of out/comp for all rows).
    for_chunks(exec.par, cols, CHEAP_MIN.div_ceil(rows.max(1)), 64, |s, e| {
        // (Offsets: `s < e ≤ cols`.)
        let k = ColK {
            x: xp.get().wrapping_add(s),
            s: sp.get().wrapping_add(s),
            c: cp.get().wrapping_add(s),
            n: e - s,
            rows,
            stride: cols,
        };
        exec.run(|| run::<T, _>(k))
    });
    for (o, c) in out.iter_mut().zip(comp) {
        *o = finish(*o, c);
    }
}
