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
use super::driver::{SendPtr, fmas, min_fmas_per_thread, part, run_grid, threads_for};
use super::table::Kernels;
use super::{Par, Problem};
use crate::simd::Simd;
use crate::{CacheSizes, Element};

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
    /// Prefetch the next tile's P rows (P streams from memory, not from cache).
    pub prefetch: bool,
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
        if d.prefetch {
            // The next tile's P rows at the same depth: where a pass cut in depth chunks
            // reads next (past P's end for the last tile, which a prefetch may touch).
            let ahead = DOT_R as isize * d.ldp;
            while p < whole {
                for &pr in &prow {
                    S::prefetch(pr.wrapping_offset(ahead).wrapping_add(p));
                }
                step::<S, SS>(&mut acc, &prow, &qrow, p, None);
                p += lanes;
            }
        } else {
            while p < whole {
                step::<S, SS>(&mut acc, &prow, &qrow, p, None);
                p += lanes;
            }
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

/// Whether the direct tiles (`driver::direct`, A column-contiguous) beat the dot form for
/// `small` rows of C, `np` columns and depth `k`. The direct tiles use `small / lanes` of
/// each vector (a half-width tile where the path has one); the dot form pays a copy of A
/// (`small × k`, strided) and a lane reduction per element of C, which `np` columns and
/// `k / lanes` vectors of depth must amortise. Measured on Zen 5 (f32 and f64, m ≤ 8,
/// n = 8–128, k = 64–256, one process, ratios to faer): at `np = 8` direct won by up to
/// 2.6× except where it uses a quarter of each vector or less (f32 m = 4: dot 1.15×;
/// f64 m = 2: 1.7×); with half the lanes used (f32 m = 8, f64 m = 4) direct won up to
/// `np · k / lanes = 512` (f32 8 × 128 × 64: 1.19×) and dot beyond (f64 4 × 128 × 64:
/// 1.34×, f32 8 × 128 × 256: 1.33×); with less than half used, dot won from `np = 32`.
pub(crate) fn direct_wins(small: usize, np: usize, k: usize, lanes: usize) -> bool {
    if small * 4 <= lanes {
        return false;
    }
    np < 16 || (small * 2 >= lanes && np.saturating_mul(k / lanes) <= 512)
}

/// Runs the dot tiles over `P` rows `0..np` and all `ns` rows of Q, S at most
/// [`DOT_MAX_S`] at a time, and k in [`depth_chunk`]s so that the Q rows a pass of tiles
/// shares stay in an L1d of `l1d` bytes.
///
/// # Safety
/// As for [`dot_tile`], for the whole `np × ns` output.
pub(crate) unsafe fn dot_block<T: Element>(
    table: &[DotFn<T>],
    lanes: usize,
    l1d: usize,
    np: usize,
    ns: usize,
    base: &Dot<T>,
) {
    for s0 in (0..ns).step_by(DOT_MAX_S) {
        let ss = DOT_MAX_S.min(ns - s0);
        let chunk = depth_chunk(base.k, ss * size_of::<T>(), lanes, l1d);
        for k0 in (0..base.k).step_by(chunk) {
            let kc = chunk.min(base.k - k0);
            // Later chunks add to what the first wrote: C = (α·s₁ + β·C) + α·s₂ + …
            let beta = if k0 == 0 { base.beta } else { T::ONE };
            for r0 in (0..np).step_by(DOT_R) {
                // SAFETY: rows r0.. of P, rows s0..s0+ss of Q, columns k0..k0+kc of both
                // and the matching output block lie inside the operands per the contract.
                unsafe {
                    let d = Dot {
                        k: kc,
                        p: base.p.offset(r0 as isize * base.ldp).add(k0),
                        rows: DOT_R.min(np - r0),
                        q: base.q.offset(s0 as isize * base.ldq).add(k0),
                        out: base.out.offset(r0 as isize * base.rs_out + s0 as isize * base.cs_out),
                        beta,
                        ..*base
                    };
                    table[ss - 1](&d);
                }
            }
        }
    }
}

/// Depth of one pass of dot tiles: all of `k` when the Q rows it reads (`row_bytes` per
/// unit of depth) fit in half of L1d, else `k` cut into equal whole-vector parts that do.
/// Every tile re-reads those Q rows while P streams past once; rows that spill L1 come
/// from L2 at a load per FMA pair, and the stream of P needs the other half. Measured on
/// Zen 4 (L1d 32 KiB, f64, ours / faer in one process) with three quarters then:
/// m, n, k = 6, 2304, 384 (18 KiB of Q) 1.19 ×, 6, 1152, 768 (36 KiB) 0.93 ×. On Zen 5
/// (L1d 48 KiB, same harness) half against three quarters: f64 6 × 2304 × 768 (36 KiB of
/// Q) 0.99 → 1.23 ×, 6 × 1152 × 768 1.07 → 1.21 ×; f32 (18 KiB, one pass either way)
/// unchanged; a third of L1d was worse than half (1.00 ×, 1.17 ×).
fn depth_chunk(k: usize, row_bytes: usize, lanes: usize, l1d: usize) -> usize {
    let budget = (l1d / 2 / row_bytes).max(lanes);
    let parts = k.div_ceil(budget);
    k.div_ceil(parts).next_multiple_of(lanes)
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
    } else if suits(m, k, lanes) && b.rs == 1 && !(a.rs == 1 && direct_wins(m, n, k, lanes)) {
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
    let t = threads_for(par, fmas(m, n, k), min_fmas_per_thread(kern));
    // P is streamed once; past the share of L3 the blocking counts on, it comes from
    // memory, and the hardware prefetchers lose it at every jump between tiles and depth
    // chunks. Measured on Zen 4 (f64, ours / faer in one process, depth chunks on): with
    // P 14 MiB (m, n, k = 6, 2304, 768) 0.75–0.92 × without, 0.98–1.00 × with; with P 7 MiB
    // (6, 1152, 768) 1.09 × without, 0.99 × with (two more instructions per 12 FMAs).
    let caches = CacheSizes::detected();
    let prefetch = np.saturating_mul(k).saturating_mul(size_of::<T>()) > caches.l3 / 4;
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
            prefetch,
        };
        // SAFETY: P's rows r0..r1 and all of Q are contiguous along k (checked or copied);
        // the output rows r0..r1 are this thread's alone.
        unsafe { dot_block(kern.dot, kern.lanes, caches.l1d, r1 - r0, ns, &base) };
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Isa;
    use crate::gemm::table::kernels_for;

    /// Depth passes: whole when the Q rows fit half of L1d, else equal parts of whole
    /// vectors. (32 KiB L1d: a 16 KiB budget, 341 depths of six f64 rows at 48 bytes;
    /// 48 KiB: 512 depths.)
    #[test]
    fn depth_chunks_keep_q_in_l1() {
        assert_eq!(depth_chunk(336, 48, 8, 32 << 10), 336); // 15.75 KiB: one pass
        assert_eq!(depth_chunk(512, 48, 8, 32 << 10), 256); // 24 KiB: two passes of 12
        assert_eq!(depth_chunk(1100, 48, 8, 32 << 10), 280); // 4 passes of 275, rounded up
        assert_eq!(depth_chunk(768, 48, 8, 48 << 10), 384); // 36 KiB in 48: two passes
        assert_eq!(depth_chunk(768, 24, 16, 48 << 10), 768); // f32: 18 KiB, one pass
        // A budget under one vector still advances a vector at a time.
        assert_eq!(depth_chunk(40, 48, 8, 64), 8);
    }

    /// Depth passes and the next-tile prefetch change neither value nor operation order
    /// within a pass: integer inputs (every partial sum exact) give the exact products
    /// for S = 6 and 2 (eight Q rows), an odd row count (a one-row last tile), a k tail,
    /// passes forced by a tiny L1d, and prefetching on and off; β = 2 applies once, on
    /// the first pass (1 in the output becomes 2 plus the sum).
    #[test]
    fn passes_and_prefetch_give_exact_sums() {
        for isa in Isa::available() {
            let kern = kernels_for::<f64>(isa);
            let (np, ns, k) = (7, 8, 3 * kern.lanes + 5);
            let p: Vec<f64> = (0..np * k).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
            let q: Vec<f64> = (0..ns * k).map(|i| ((i * 5) % 13) as f64 - 6.0).collect();
            for (l1d, prefetch) in [(1 << 20, false), (1 << 20, true), (64, false), (200, true)] {
                let mut out = vec![1.0f64; np * ns];
                let base = Dot {
                    k,
                    p: p.as_ptr(),
                    ldp: k as isize,
                    rows: 0,
                    q: q.as_ptr(),
                    ldq: k as isize,
                    out: out.as_mut_ptr(),
                    rs_out: ns as isize,
                    cs_out: 1,
                    alpha: 1.0,
                    beta: 2.0,
                    prefetch,
                };
                // SAFETY: P is np × k and Q ns × k, both row-contiguous; out is np × ns
                // row-major, its own allocation; the kernel's ISA is available.
                unsafe { dot_block(kern.dot, kern.lanes, l1d, np, ns, &base) };
                for r in 0..np {
                    for s in 0..ns {
                        let want: f64 = 2.0 + (0..k).map(|i| p[r * k + i] * q[s * k + i]).sum::<f64>();
                        assert_eq!(out[r * ns + s], want, "{isa:?} l1d {l1d} prefetch {prefetch} ({r}, {s})");
                    }
                }
            }
        }
    }
}
