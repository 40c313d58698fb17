//! Matrix-vector products (the `m = 1` and `n = 1` shapes of GEMM), and products with a
//! few columns read the same way.
//!
//! `y ← α·A·x + β·y` with A `m × k` (x and y `N ≤ 6` columns in the columns form).
//! Packing would only add traffic to a product that reads each element of A once (or
//! uses it for at most a few columns), so these kernels stream A in place:
//! - **columns** (`rsa = 1`): chunks of rows whose partial sums sit in an L1-sized stack
//!   buffer, a few columns of A added per pass, each column's rows of the chunk one
//!   contiguous run (A read in address order; see [`gemv_cols`]);
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
    /// Columns form: columns of x and y (`N` of [`gemv_cols`]; 1 for matrix-vector).
    pub n: usize,
    /// Columns form: distance between x's columns (unused when `n == 1`).
    pub xcs: isize,
    /// Columns form: distance between y's columns (unused when `n == 1`).
    pub ycs: isize,
    /// Columns form: rows per chunk of partial sums (see [`gemv_cols`]).
    pub chunk: usize,
    /// Columns form: prefetch A's runs ahead (A is beyond the L2).
    pub prefetch: bool,
}

/// A matrix-vector kernel instantiated for one instruction set.
pub(crate) type GemvFn<T> = unsafe fn(&Gemv<T>);

/// Largest chunk of partial sums in the columns form, bytes (the stack buffer's size).
pub(crate) const COL_CHUNK_MAX_BYTES: usize = 32 << 10;
/// Columns of A added per pass over a row chunk in the columns form. Measured on Zen 5
/// (one process, m × k = 2304 × 1024, 4096 × 1024, 512 × 512, f32 and f64): 8 beat 4, 6
/// and 12 by 2–10%; 16 fell to half speed where A is larger than the L3.
const COL_PASS: usize = 8;
/// How far ahead the columns form prefetches A's runs when A is beyond the L2: 8 lines.
/// Measured on Zen 5 (ratios to faer, one process): f32 4096 × 1024 0.82 → 0.97 ×, f64
/// 2304 × 1024 1.09 → 1.21 ×; with A in the L2 it cost 5–10%, hence the threshold.
const COL_PREFETCH_BYTES: usize = 512;

/// One cache line: the columns form's partial sums buffer is made of these, so it is
/// aligned for any vector.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);
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
/// `N` columns of x and y. Rows go in chunks of `g.chunk` whose partial sums (`N` columns)
/// live in a stack buffer (in L1); each pass over a chunk adds [`col_pass`]`(N)` columns
/// of A, each column's rows of the chunk read as one contiguous run. A is so read in
/// address order, a few long runs at a time, which the hardware prefetchers follow (with
/// `g.prefetch`, software prefetches run [`COL_PREFETCH_BYTES`] ahead in each run as
/// well). Blocks of rows held in registers
/// over the whole depth instead read a few lines of each column in turn: a new page every
/// column, past the prefetchers, at 0.40–0.64 × faer's speed on Zen 5 (m × k = 2304 ×
/// 1024 and 4096 × 1024, f32 and f64, one process). Each partial sum still takes its
/// products in column order from zero, so `y[i]` does not depend on the chunking, the
/// prefetching or the thread.
///
/// # Safety
/// S's instruction set is enabled; A, x and y are valid for the given sizes and strides;
/// y does not overlap A or x; `g.n == N`; `0 < N·g.chunk ≤ COL_CHUNK_MAX_BYTES /
/// size_of::<S::T>()` and `g.chunk` is a multiple of `S::LANES`.
#[inline(always)]
pub(crate) unsafe fn gemv_cols<S: Simd, const N: usize>(g: &Gemv<S::T>) {
    let lanes = S::LANES;
    let pass = col_pass(N);
    debug_assert!(g.a.rs == 1 && g.n == N);
    debug_assert!(
        g.chunk > 0 && g.chunk % lanes == 0 && N * g.chunk * size_of::<S::T>() <= COL_CHUNK_MAX_BYTES
    );
    let mut buf = [std::mem::MaybeUninit::<Line>::uninit(); COL_CHUNK_MAX_BYTES / 64];
    let sums = buf.as_mut_ptr().cast::<S::T>();
    let ahead = if g.prefetch { COL_PREFETCH_BYTES / size_of::<S::T>() } else { 0 };
    let mut i0 = 0;
    // SAFETY: every A read is `A(i, p)` with `i < m`, `p < k`: full vectors below the
    // chunk's last whole vector, a masked load for a partial last one; prefetches may
    // name any address; the partial sums are whole vectors at offsets below `N·g.chunk`
    // (inside the buffer, written before they are read); every x and y access is
    // `x[p, j]` or `y[i, j]`, `p < k`, `i < m`, `j < N`.
    unsafe {
        while i0 < g.m {
            let rows = (g.m - i0).min(g.chunk);
            let nv = rows.div_ceil(lanes);
            let whole = rows / lanes;
            for j in 0..N {
                for v in 0..nv {
                    S::store(sums.add(j * g.chunk + v * lanes), S::zero());
                }
            }
            let mut p = 0;
            while p < g.k {
                let cols = (g.k - p).min(pass);
                let mut xv = [[S::zero(); N]; COL_PASS];
                let mut col = [g.a.ptr; COL_PASS];
                for c in 0..cols {
                    for (j, x) in xv[c].iter_mut().enumerate() {
                        *x = S::splat(*g.x.offset((p + c) as isize * g.incx + j as isize * g.xcs));
                    }
                    col[c] = g.a.at(i0, p + c);
                }
                // The full pass, with and without prefetches, then a last narrower pass
                // (one loop each: the column count and the prefetch test stay out of it).
                let run = Run { sums, chunk: g.chunk, col: &col, xv: &xv, whole, ahead };
                if cols == pass && ahead > 0 {
                    add_columns::<S, N, true>(&run, pass);
                } else if cols == pass {
                    add_columns::<S, N, false>(&run, pass);
                } else {
                    add_columns::<S, N, false>(&run, cols);
                }
                if whole < nv {
                    let last = S::mask(rows - whole * lanes);
                    let mut acc = [S::zero(); N];
                    for (j, acc) in acc.iter_mut().enumerate() {
                        *acc = S::load(sums.add(j * g.chunk + whole * lanes));
                    }
                    for c in 0..cols {
                        let a = S::load_masked(col[c].add(whole * lanes), last);
                        for (acc, &x) in acc.iter_mut().zip(&xv[c]) {
                            *acc = S::fma(a, x, *acc);
                        }
                    }
                    for (j, &acc) in acc.iter().enumerate() {
                        S::store(sums.add(j * g.chunk + whole * lanes), acc);
                    }
                }
                p += cols;
            }
            for j in 0..N {
                let y = g.y.offset(j as isize * g.ycs);
                for i in 0..rows {
                    finish::<S>(
                        y.offset((i0 + i) as isize * g.incy),
                        *sums.add(j * g.chunk + i),
                        g.alpha,
                        g.beta,
                    );
                }
            }
            i0 += rows;
        }
    }
}

/// Columns of A per pass of the columns form for `n` columns of x: eight for one or two,
/// four beyond (the x values of a pass stay in registers).
pub(crate) const fn col_pass(n: usize) -> usize {
    if n <= 2 { COL_PASS } else { COL_PASS / 2 }
}

/// One pass of the columns form over a chunk: the partial sums (`N` columns of `chunk`
/// rows), the pass's columns of A and their x values, the chunk's whole vectors, and how
/// far ahead to prefetch.
struct Run<'a, S: Simd, const N: usize> {
    sums: *mut S::T,
    chunk: usize,
    col: &'a [*const S::T; COL_PASS],
    xv: &'a [[S::V; N]; COL_PASS],
    whole: usize,
    ahead: usize,
}

/// Adds `cols` columns of A times their x values to the first `whole` vectors of each
/// column of partial sums, each sum in column order; with `PF`, each run of A is
/// prefetched `ahead` elements on.
///
/// # Safety
/// S's instruction set is enabled; the sums hold `whole` vectors in each of `N` columns;
/// each `col[c]`, `c < cols ≤ COL_PASS`, starts `whole` readable vectors.
#[inline(always)]
unsafe fn add_columns<S: Simd, const N: usize, const PF: bool>(r: &Run<'_, S, N>, cols: usize) {
    let lanes = S::LANES;
    // SAFETY: per the contract; prefetches may name any address.
    unsafe {
        for v in 0..r.whole {
            let mut acc = [S::zero(); N];
            for (j, acc) in acc.iter_mut().enumerate() {
                *acc = S::load(r.sums.add(j * r.chunk + v * lanes));
            }
            for c in 0..cols {
                if PF {
                    S::prefetch(r.col[c].wrapping_add(v * lanes + r.ahead));
                }
                let a = S::load(r.col[c].add(v * lanes));
                for (acc, &x) in acc.iter_mut().zip(&r.xv[c]) {
                    *acc = S::fma(a, x, *acc);
                }
            }
            for (j, &acc) in acc.iter().enumerate() {
                S::store(r.sums.add(j * r.chunk + v * lanes), acc);
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Isa;
    use crate::gemm::table::kernels_for;

    /// The columns form for every column count 1–6 on every instruction set, with chunks
    /// of two vectors of rows (so several chunks and a partial last vector), a last pass
    /// narrower than the rest (k = 11), prefetching on and off, x read at a row stride of
    /// 2 and y written with a column stride past its rows: integer inputs, so every
    /// partial sum is exact and the result must equal `β·y + Σ` exactly (α = 1, β = 2,
    /// y = 1 before).
    #[test]
    fn columns_form_is_exact_for_every_width() {
        for isa in Isa::available() {
            let kern = kernels_for::<f64>(isa);
            let (m, k) = (5 * kern.lanes + 3, 11);
            let a: Vec<f64> = (0..m * k).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
            for n in 1..=6 {
                // x is k × n at rows 2 apart, columns 2k + 1 apart; y is m × n, columns m + 3 apart.
                let (xcs, ycs) = (2 * k + 1, m + 3);
                let x: Vec<f64> = (0..n * xcs).map(|i| ((i * 5) % 13) as f64 - 6.0).collect();
                for prefetch in [false, true] {
                    let mut y = vec![1.0f64; n * ycs];
                    let g = Gemv {
                        m,
                        k,
                        a: Strided { ptr: a.as_ptr(), rs: 1, cs: m as isize },
                        x: x.as_ptr(),
                        incx: 2,
                        y: y.as_mut_ptr(),
                        incy: 1,
                        alpha: 1.0,
                        beta: 2.0,
                        n,
                        xcs: xcs as isize,
                        ycs: ycs as isize,
                        chunk: 2 * kern.lanes,
                        prefetch,
                    };
                    // SAFETY: A is m × k column-major, x and y hold the strided k × n and
                    // m × n views, y is its own allocation; the chunk (two vectors of n
                    // ≤ 6 columns) fits the buffer; the ISA is available.
                    unsafe { kern.gemv_cols[n - 1](&g) };
                    for j in 0..n {
                        for i in 0..m {
                            let sum: f64 = (0..k).map(|p| a[i + p * m] * x[2 * p + j * xcs]).sum();
                            assert_eq!(
                                y[i + j * ycs],
                                2.0 + sum,
                                "{isa:?} n {n} prefetch {prefetch} ({i}, {j})"
                            );
                        }
                        // The gap between y's columns is untouched.
                        assert!(y[j * ycs + m..(j + 1) * ycs].iter().all(|&v| v == 1.0));
                    }
                }
            }
        }
    }
}
