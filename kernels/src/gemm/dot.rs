//! Skinny products as blocks of dot products.
//!
//! When one side of C is tiny (a handful of rows or columns) and the large operand is
//! contiguous along k, the broadcast kernels would waste most of each vector on the tiny
//! side. Here lanes run along k instead: `D[r, s] = Σ_p P(r, p)·Q(s, p)` with
//! `P(r, p) = p_ptr[r·ldp + p]` (the large operand, streamed once) and
//! `Q(s, p) = q_ptr[s·ldq + p]` (the small one, resident in L1). A tile of `R × S` vector
//! accumulators costs `R + S` loads per `R·S` FMAs; each accumulator is summed across
//! lanes at the end. Every `D[r, s]` is computed by the same operation sequence whatever
//! tile or thread holds it.

use super::buffer::{PackBuf, Slot};
use super::driver::{MIN_FMAS_PER_THREAD, SendPtr, fmas, part, run_grid, threads_for};
use super::table::Kernels;
use super::{Par, Problem};
use crate::Element;
use crate::simd::Simd;

/// Rows of P per tile. Two rows × up to six of Q is 12 accumulators: measured on Zen 5,
/// 3 × 6 and 4 × 6 made LLVM spill accumulators inside the loop and ran 25–35% slower.
pub(crate) const DOT_R: usize = 2;
/// Largest copy of the small operand, in elements (16 Mi: 64 MiB of f32), the dot path
/// makes; beyond it the product goes to the other paths.
const DOT_MAX_COPY: usize = 1 << 24;
/// Largest S (rows of Q per tile) a kernel exists for.
pub(crate) const DOT_MAX_S: usize = 6;

/// One `R × S` tile of dot products, written to `out(r, s) = out + r·rs_out + s·cs_out`.
pub(crate) struct Dot<T> {
    /// Length of every dot product.
    pub k: usize,
    /// First row of P.
    pub p: *const T,
    /// Stride between rows of P.
    pub ldp: isize,
    /// Valid rows of P in this tile, `1..=DOT_R`.
    pub rows: usize,
    /// First row of Q.
    pub q: *const T,
    /// Stride between rows of Q.
    pub ldq: isize,
    /// Output element (0, 0).
    pub out: *mut T,
    /// Output stride along r.
    pub rs_out: isize,
    /// Output stride along s.
    pub cs_out: isize,
    /// Scale of the product.
    pub alpha: T,
    /// Scale of the old output; exactly zero means it is not read.
    pub beta: T,
}

/// A dot tile instantiated for one instruction set and S.
pub(crate) type DotFn<T> = unsafe fn(&Dot<T>);

/// Computes one tile.
///
/// # Safety
/// S's instruction set is enabled; `P(r, p)` for `r < rows`, `Q(s, p)` for `s < SS` and
/// `p < k` are readable; `out(r, s)` for `r < rows`, `s < SS` are writable, distinct and
/// disjoint from P and Q.
#[inline(always)]
pub(crate) unsafe fn dot_tile<S: Simd, const SS: usize>(d: &Dot<S::T>) {
    let lanes = S::LANES;
    debug_assert!(d.rows >= 1 && d.rows <= DOT_R);
    // SAFETY: per the contract; rows past `d.rows` alias the last valid row (read, never
    // stored), and the k tail uses masked loads that read only elements below k.
    unsafe {
        let mut prow = [d.p; DOT_R];
        for (r, p) in prow.iter_mut().enumerate() {
            *p = d.p.offset(r.min(d.rows - 1) as isize * d.ldp);
        }
        let mut qrow = [d.q; SS];
        for (s, q) in qrow.iter_mut().enumerate() {
            *q = d.q.offset(s as isize * d.ldq);
        }
        // acc[s][r]: iterated, never indexed by a counter, so LLVM keeps it in registers.
        let mut acc = [[S::zero(); DOT_R]; SS];
        // Whole vectors along k, then one masked step for the tail (a masked load checks
        // whether its window crosses a page: kept out of the main loop).
        let whole = d.k / lanes * lanes;
        let mut p = 0;
        while p < whole {
            step::<S, SS>(&mut acc, &prow, &qrow, p, None);
            p += lanes;
        }
        if p < d.k {
            step::<S, SS>(&mut acc, &prow, &qrow, p, Some(S::mask(d.k - p)));
        }
        // Reduce every accumulator (a fixed trip count keeps `acc` in registers), then
        // store the valid rows.
        let mut sums = [[S::T::ZERO; DOT_R]; SS];
        for (out, col) in sums.iter_mut().zip(&acc) {
            for (o, &x) in out.iter_mut().zip(col) {
                *o = S::reduce_sum(x);
            }
        }
        for (s, col) in sums.iter().enumerate() {
            for (r, &x) in col.iter().enumerate().take(d.rows) {
                let o = d.out.offset(r as isize * d.rs_out + s as isize * d.cs_out);
                let v = d.alpha * x;
                *o = if d.beta == S::T::ZERO { v } else { S::fma_scalar(d.beta, *o, v) };
            }
        }
    }
}

/// One k-step of a dot tile: P's `DOT_R` vectors at `p` stay in registers while Q's rows
/// stream through one at a time (`DOT_R·SS` accumulators + `DOT_R + 1` live vectors).
/// `mask`: the k tail, loaded masked; `None`, whole vectors.
///
/// # Safety
/// As for [`dot_tile`]: the `lanes` (or masked) elements from `p` of every row are readable.
#[inline(always)]
unsafe fn step<S: Simd, const SS: usize>(
    acc: &mut [[S::V; DOT_R]; SS],
    prow: &[*const S::T; DOT_R],
    qrow: &[*const S::T; SS],
    p: usize,
    mask: Option<S::Mask>,
) {
    // SAFETY: per the contract; a masked load reads only the selected (in-range) elements.
    unsafe {
        // A local closure, not a shared `Simd` helper doing the same: the helper measured
        // 10% slower here (f64, m, n, k = 6, 2304, 768: 75–79 vs 85–87 GFLOP/s).
        let load = |x: *const S::T| match mask {
            None => S::load(x),
            Some(m) => S::load_masked(x, m),
        };
        let mut pv = [S::zero(); DOT_R];
        for (v, &pr) in pv.iter_mut().zip(prow) {
            *v = load(pr.add(p));
        }
        for (col, &qr) in acc.iter_mut().zip(qrow) {
            let qv = load(qr.add(p));
            for (x, &pvr) in col.iter_mut().zip(&pv) {
                *x = S::fma(pvr, qv, *x);
            }
        }
    }
}

/// Whether the dot formulation suits a product whose small side is `small` and depth `k`:
/// the small side must leave most of a vector idle in the broadcast kernels (at most half
/// its lanes) and k must fill at least two vectors.
#[inline]
pub(crate) fn suits(small: usize, k: usize, lanes: usize) -> bool {
    small <= (lanes / 2).max(DOT_MAX_S) && k >= 2 * lanes
}

/// Runs the dot tiles over `P` rows `0..np` and all `ns` rows of Q, S at most
/// [`DOT_MAX_S`] at a time.
///
/// # Safety
/// As for [`dot_tile`], for the whole `np × ns` output.
pub(crate) unsafe fn dot_block<T: Element>(table: &[DotFn<T>], np: usize, ns: usize, base: &Dot<T>) {
    for s0 in (0..ns).step_by(DOT_MAX_S) {
        let ss = DOT_MAX_S.min(ns - s0);
        for r0 in (0..np).step_by(DOT_R) {
            // SAFETY: rows r0.. of P, rows s0..s0+ss of Q and the matching output block
            // lie inside the operands per the contract.
            unsafe {
                let d = Dot {
                    p: base.p.offset(r0 as isize * base.ldp),
                    rows: DOT_R.min(np - r0),
                    q: base.q.offset(s0 as isize * base.ldq),
                    out: base.out.offset(r0 as isize * base.rs_out + s0 as isize * base.cs_out),
                    ..*base
                };
                table[ss - 1](&d);
            }
        }
    }
}

/// The dot path for a skinny `m × n` product, if its shape and layout suit: either
/// `n` is small and A's rows are contiguous, or `m` is small and B's columns are. The small
/// operand is copied contiguous when it is not already. Returns false (doing nothing) when
/// the path does not apply.
///
/// # Safety
/// As for `driver::gemm`.
pub(crate) unsafe fn try_dot<T: Element>(kern: &Kernels<T>, par: Par, g: Problem<T>) -> bool {
    let Problem { m, n, k, alpha, a, b, beta, c } = g;
    let lanes = kern.lanes;
    // (P, Q, np, ns, out strides along P's rows and Q's rows)
    let (p, q, np, ns, rs_out, cs_out) = if suits(n, k, lanes) && a.cs == 1 {
        // D[i, j] = A(i, :)·B(:, j) = C(i, j).
        (a, b.t(), m, n, c.rs, c.cs)
    } else if suits(m, k, lanes) && b.rs == 1 {
        // D[j, i] = B(:, j)·A(i, :) = C(i, j).
        (b.t(), a, n, m, c.cs, c.rs)
    } else {
        return false;
    };
    // Q must have contiguous rows: copy the small operand (ns × k) when it does not —
    // unless that copy would be huge (zero strides can make k enormous); other paths
    // then serve, with buffers bounded by the blocking.
    if q.cs != 1 && ns.saturating_mul(k) > DOT_MAX_COPY {
        return false;
    }
    let mut copy = (q.cs != 1).then(|| PackBuf::take(Slot::A, ns * k * size_of::<T>()));
    let (q_ptr, ldq) = match copy.as_mut() {
        None => (q.ptr, q.rs),
        Some(buf) => {
            let dst = buf.as_mut_ptr::<T>();
            for s in 0..ns {
                for pp in 0..k {
                    // SAFETY: (s, pp) is inside Q (ns × k); dst holds ns·k elements.
                    unsafe { *dst.add(s * k + pp) = *q.at(s, pp) };
                }
            }
            (dst.cast_const(), k as isize)
        }
    };
    let t = threads_for(par, fmas(m, n, k), MIN_FMAS_PER_THREAD);
    let (pp, qp, out) = (SendPtr(p.ptr.cast_mut()), SendPtr(q_ptr.cast_mut()), SendPtr(c.ptr));
    run_grid(t, 1, |ti, _| {
        let (r0, r1) = part(np, DOT_R, t, ti);
        if r0 == r1 {
            return;
        }
        let base = Dot {
            k,
            // SAFETY: row r0 < np of P and the output row r0 lie inside their operands.
            p: unsafe { pp.get().cast_const().offset(r0 as isize * p.rs) },
            ldp: p.rs,
            rows: 0,
            q: qp.get().cast_const(),
            ldq,
            // SAFETY: as above.
            out: unsafe { out.get().offset(r0 as isize * rs_out) },
            rs_out,
            cs_out,
            alpha,
            beta,
        };
        // SAFETY: P's rows r0..r1 and all of Q are contiguous along k (checked or copied);
        // the output rows r0..r1 are this thread's alone.
        unsafe { dot_block(kern.dot, r1 - r0, ns, &base) };
    });
    true
}
