//! Matrix-vector products: the `m = 1` and `n = 1` shapes of GEMM.
//!
//! `y ← α·A·x + β·y` with A `m × k`. Packing would only add traffic to a product that
//! reads each element of A once, so these kernels stream A in place:
//! - **columns** (`rsa = 1`): `y[rows] += A[rows, p]·x[p]`, a block of rows held in
//!   registers across the whole k loop (axpy form);
//! - **rows** (`csa = 1`): `y[i] = A[i, :]·x`, four rows at a time, two vector
//!   accumulators per row (dot form), `x` contiguous.
//!
//! Every `y[i]` is computed by one fixed sequence of operations whatever block or thread
//! holds row `i`, so results do not depend on the thread count.

use super::packing::Strided;
use crate::Element;
use crate::simd::Simd;

/// Arguments of one matrix-vector product over a range of rows.
pub(crate) struct Gemv<T> {
    /// Rows of A (and length of y).
    pub m: usize,
    /// Columns of A (and length of x).
    pub k: usize,
    /// The matrix.
    pub a: Strided<T>,
    /// `x[p]` at `x + p·incx` (the rows form requires `incx = 1`).
    pub x: *const T,
    /// x's stride.
    pub incx: isize,
    /// `y[i]` at `y + i·incy`.
    pub y: *mut T,
    /// y's stride.
    pub incy: isize,
    /// Scale of the product.
    pub alpha: T,
    /// Scale of y; exactly zero means y is written without being read.
    pub beta: T,
}

/// A matrix-vector kernel instantiated for one instruction set.
pub(crate) type GemvFn<T> = unsafe fn(&Gemv<T>);

/// Rows of A per register block in the columns form (vectors).
const COL_BLOCK_VECTORS: usize = 4;
/// Rows of A per block in the rows form.
const ROW_BLOCK: usize = 4;

/// Writes `α·dot + β·y[i]` with the scalar rounding of the vector paths.
///
/// # Safety
/// `p` is a valid, exclusive element of y.
#[inline(always)]
unsafe fn finish<S: Simd>(p: *mut S::T, dot: S::T, alpha: S::T, beta: S::T) {
    let r = alpha * dot;
    // SAFETY: per the contract.
    unsafe { *p = if beta == S::T::ZERO { r } else { S::fma_scalar(beta, *p, r) } }
}

/// Columns form: requires `a.rs == 1`.
///
/// # Safety
/// S's instruction set is enabled; A, x and y are valid for the given sizes and strides;
/// y does not overlap A or x.
#[inline(always)]
pub(crate) unsafe fn gemv_cols<S: Simd>(g: &Gemv<S::T>) {
    let lanes = S::LANES;
    debug_assert_eq!(g.a.rs, 1);
    let mut i0 = 0;
    // SAFETY: every A read is `A(i, p)` with `i < m`, `p < k`: full vectors while a whole
    // block fits, masked loads for the last partial vector; every y access is `y[i]`, i < m.
    unsafe {
        while i0 < g.m {
            let rows = (g.m - i0).min(COL_BLOCK_VECTORS * lanes);
            let nv = rows.div_ceil(lanes);
            let last = S::mask(rows - (nv - 1) * lanes);
            // Only a block ending in a partial vector loads it masked (the masked load's
            // page-crossing test then runs in this block's loop alone).
            let whole = rows % lanes == 0;
            let mut acc = [S::zero(); COL_BLOCK_VECTORS];
            for p in 0..g.k {
                let xv = S::splat(*g.x.offset(p as isize * g.incx));
                let col = g.a.at(i0, p);
                for (v, x) in acc.iter_mut().enumerate().take(nv) {
                    let av = if whole || v + 1 < nv {
                        S::load(col.add(v * lanes))
                    } else {
                        S::load_masked(col.add(v * lanes), last)
                    };
                    *x = S::fma(av, xv, *x);
                }
            }
            let mut buf = [S::T::ZERO; 64];
            for (v, &x) in acc.iter().enumerate().take(nv) {
                S::store(buf.as_mut_ptr().add(v * lanes), x);
            }
            for (i, &dot) in buf.iter().enumerate().take(rows) {
                finish::<S>(g.y.offset((i0 + i) as isize * g.incy), dot, g.alpha, g.beta);
            }
            i0 += rows;
        }
    }
}

/// Rows form: requires `a.cs == 1` and `incx == 1`.
///
/// # Safety
/// As for [`gemv_cols`].
#[inline(always)]
pub(crate) unsafe fn gemv_rows<S: Simd>(g: &Gemv<S::T>) {
    let lanes = S::LANES;
    debug_assert!(g.a.cs == 1 && g.incx == 1);
    let full = g.k / (2 * lanes) * (2 * lanes);
    // SAFETY: reads `A(i, p)` and `x[p]` for `i < m`, `p < k` only (masked tail loads);
    // writes `y[i]`, `i < m`.
    unsafe {
        let mut i0 = 0;
        while i0 < g.m {
            let rows = (g.m - i0).min(ROW_BLOCK);
            let mut acc = [[S::zero(); 2]; ROW_BLOCK];
            let mut ptr = [g.a.ptr; ROW_BLOCK];
            for (r, p) in ptr.iter_mut().enumerate() {
                // Rows past `rows` alias the last valid row: read, never stored.
                *p = g.a.at(i0 + r.min(rows - 1), 0);
            }
            let mut p = 0;
            while p < full {
                let x0 = S::load(g.x.add(p));
                let x1 = S::load(g.x.add(p + lanes));
                for (acc, &row) in acc.iter_mut().zip(ptr.iter()) {
                    acc[0] = S::fma(S::load(row.add(p)), x0, acc[0]);
                    acc[1] = S::fma(S::load(row.add(p + lanes)), x1, acc[1]);
                }
                p += 2 * lanes;
            }
            // The k tail, masked. (A loop, not a closure: closures are not inlined
            // into the `#[target_feature]` context reliably.)
            while p < g.k {
                let mk = S::mask((g.k - p).min(lanes));
                let xv = S::load_masked(g.x.add(p), mk);
                for (acc, &row) in acc.iter_mut().zip(ptr.iter()) {
                    acc[0] = S::fma(S::load_masked(row.add(p), mk), xv, acc[0]);
                }
                p += lanes;
            }
            let mut sums = [S::T::ZERO; ROW_BLOCK];
            for (s, acc) in sums.iter_mut().zip(&acc) {
                *s = S::reduce_sum(S::add(acc[0], acc[1]));
            }
            for (r, &dot) in sums.iter().enumerate().take(rows) {
                finish::<S>(g.y.offset((i0 + r) as isize * g.incy), dot, g.alpha, g.beta);
            }
            i0 += rows;
        }
    }
}
