//! The GEMM driver: special cases, orientation, path choice, the BLIS loops and threads.
//!
//! Path choice depends on the shape and layout only (never on the thread count), and K is
//! never split across threads, so every element of C is computed by the same sequence of
//! operations for any `Par`: results are bitwise identical across thread counts.

use super::blocking::Blocking;
use super::dot::try_dot;
use super::gemv::{COL_CHUNK_MAX_BYTES, Gemv};
use super::kernel::PF_STEPS;
use super::kernel::{Tile, TileFn};
use super::packed::packed;
use super::packing::Strided;
use super::shallow::shallow;
use super::table::{Kernels, kernels_for};
use super::{Config, Par, Path, Problem, StridedMut};
use crate::{CacheSizes, Element};
use rayon::prelude::*;

/// Problems with `m·n·k` at most this take the direct path (no packing): the operands
/// then sit in L2 (256³ f32 is 3 × 256 KiB) and a k-deep B column panel in L1, so packing
/// buys no locality and its copy is not amortised. Measured on Zen 5 (GFLOP/s, direct vs
/// packed): f32 n = 256: 260 vs 249; f64 n = 256: 125 vs 117; f64 n = 512: 111 vs 117.
/// So do products with m ≤ 2·MR at any size: each element of B is then read at most twice,
/// and copying B costs more than it saves (259 vs 221 f32 at m, n, k = 64, 256, 784).
const DIRECT_MAX_MNK: usize = 256 * 256 * 256;
/// Products of at most this many multiply-adds with a depth too shallow for the dot form
/// go straight to the direct tiles (see [`gemm`]): a C of at most 2¹⁶ elements, far from
/// the shallow path's `SHALLOW_MIN_MN`, and far too little work for a second thread.
const SHORTCUT_MAX_FMAS: usize = 1 << 16;
const _: () = assert!(SHORTCUT_MAX_FMAS < SHALLOW_MIN_MN && SHORTCUT_MAX_FMAS <= MIN_VECTOR_FMAS_PER_THREAD);
/// Depths at most this take the direct path at any m, n (the shallow path once C reaches
/// `SHALLOW_MIN_MN`): a `k`-deep A micro-panel (`MR × k`) stays in L1 across a whole row
/// of tiles, and C's traffic dominates.
const TINY_K: usize = 16;
/// Shallow products (`k ≤ TINY_K`) whose C has at least this many elements (1 MiB of f32,
/// a Zen 4 core's L2) take the shallow path: C's traffic dominates, and packing A once
/// (`m·k` elements) is cheap next to it. (Measured at 1024² and 2048²; smaller C stays on
/// the direct path, as tuned before.)
const SHALLOW_MIN_MN: usize = 1 << 18;
/// Minimum vector multiply-adds per thread before a second thread is used: 2¹⁷ (2²¹
/// scalar FMAs of f32 on AVX-512, 2²⁰ of f64: about 8 µs on one core either way), as
/// [`min_fmas_per_thread`] counts them. Waking a rayon worker and joining costs several
/// µs and varies. Measured at n = 128 (criterion, Zen 5, two threads against one): f32
/// (2²¹ FMAs in all, 18 µs) 0.82×, f64 (2²¹, 36 µs) 1.28×; on Zen 4 f32 had ranged from
/// 1.14× (a tight loop) to 0.84× (criterion). So f32 takes a second thread from n ≈ 160,
/// f64 from n = 128.
const MIN_VECTOR_FMAS_PER_THREAD: usize = 1 << 17;

/// Minimum scalar multiply-adds per thread for a kernel table of `lanes`-wide vectors
/// (see [`MIN_VECTOR_FMAS_PER_THREAD`]).
pub(super) fn min_fmas_per_thread<T>(kern: &Kernels<T>) -> usize {
    MIN_VECTOR_FMAS_PER_THREAD * kern.lanes
}
/// Minimum elements of A per thread for the memory-bound matrix-vector paths.
const MIN_GEMV_ELEMS_PER_THREAD: usize = 1 << 17;

/// `C ← α·A·B + β·C` on raw strided operands with BLAS semantics.
///
/// # Safety
/// A (`m × k`), B (`k × n`) and C (`m × n`) are valid for their strides; C's elements are
/// distinct addresses that overlap neither A nor B; nothing else accesses C meanwhile.
pub(crate) unsafe fn gemm<T: Element>(cfg: &Config, g: Problem<T>) {
    let Problem { m, n, k, alpha, a, b, beta, c } = g;
    if m == 0 || n == 0 {
        return;
    }
    if alpha == T::ZERO || k == 0 {
        // BLAS: A and B are not read; C ← β·C, and β = 0 writes zeros without reading.
        // SAFETY: C valid per the contract.
        unsafe { scale(m, n, beta, c) };
        return;
    }
    let kern = kernels_for::<T>(cfg.isa);
    if cfg.path == Path::Auto
        && m > 1
        && n > 1
        && k < 2 * kern.lanes
        && m.saturating_mul(n).saturating_mul(k) <= SHORTCUT_MAX_FMAS
        && (n > TALL_MAX_N || m < 2 * kern.mr)
        && a.rs == 1
        && c.rs == 1
    {
        // The direct tiles, the path the chain below picks for this shape and layout (no
        // orientation swap with unit-stride C rows, k too shallow for the dot form, too
        // wide or short for the tall path, too small for the shallow one and for a second
        // thread), reached without its tests: they took a fifth of an 8 × 8 × 8
        // product's time (Zen 5, ours / faer in one process, two runs: 0.90 → 1.10–1.13
        // f32, 0.97 → 1.12–1.17 f64). First for a single tile; widened to several,
        // f32 9³ went 0.66–0.73 → 0.83–0.84, 16³ 1.30–1.41 → 1.47–1.50, f64 9³ 1.07 →
        // 1.19.
        // SAFETY: as for the direct arm below.
        unsafe { direct_block(kern, &g, (0, m), (0, n)) };
        return;
    }
    // Orient so that C's rows are (closer to) unit stride: Cᵀ = Bᵀ·Aᵀ.
    let swap = c.rs != 1 && (c.cs == 1 || c.cs.unsigned_abs() < c.rs.unsigned_abs());
    let (m, n, a, b, c) = if swap { (n, m, b.t(), a.t(), c.t()) } else { (m, n, a, b, c) };
    let g = Problem { m, n, a, b, c, ..g };
    let par = cfg.par;
    let auto = cfg.path == Path::Auto;
    let small = fmas(m, n, k) <= DIRECT_MAX_MNK || k <= TINY_K;
    // SAFETY: (all arms) the operands satisfy this function's contract, which is what each
    // path requires; the orientation swap maps a valid problem to a valid problem.
    unsafe {
        if auto && n == 1 {
            gemv(kern, par, m, k, alpha, a, b.ptr, b.rs, beta, c.ptr, c.rs);
        } else if auto && m == 1 {
            gemv(kern, par, n, k, alpha, b.t(), a.ptr, a.cs, beta, c.ptr, c.cs);
        } else if auto && k >= 2 * kern.lanes && try_dot(kern, par, g) {
            // Done: a skinny product as blocks of dot products. (`try_dot` needs k to fill
            // two vectors; tested here first, so tiny products skip the call.)
        } else if auto && a.rs == 1 && n <= TALL_MAX_N && m >= 2 * kern.mr {
            tall(kern, par, g);
        } else if auto && a.rs == 1 && k <= TINY_K && m.saturating_mul(n) >= SHALLOW_MIN_MN {
            shallow(kern, par, g);
        } else if a.rs == 1 && (cfg.path == Path::Direct || auto && (small || m <= 2 * kern.mr)) {
            direct(kern, par, &g);
        } else {
            let elem = size_of::<T>();
            let blocking = cfg
                .blocking
                .unwrap_or_else(|| Blocking::for_caches(CacheSizes::detected(), kern.mr, kern.nr, elem));
            packed(kern, par, blocking, g);
        }
    }
}

/// `C ← β·C`; β = 0 writes zeros without reading C, β = 1 touches nothing.
///
/// # Safety
/// C (`m × n`) is valid for writes (and reads unless β = 0).
unsafe fn scale<T: Element>(m: usize, n: usize, beta: T, c: StridedMut<T>) {
    if beta == T::ONE {
        return;
    }
    for j in 0..n {
        for i in 0..m {
            // SAFETY: (i, j) is inside C.
            unsafe {
                let p = c.at(i, j);
                *p = if beta == T::ZERO { T::ZERO } else { beta * *p };
            }
        }
    }
}

/// Multiply-adds of an `m × n × k` product, saturating: zero-stride views can describe
/// products whose count overflows `usize` (they only ever compare against thresholds).
pub(super) fn fmas(m: usize, n: usize, k: usize) -> usize {
    m.saturating_mul(n).saturating_mul(k)
}

/// Threads worth using for `work` units when each thread needs `min_per_thread`.
#[inline]
pub(super) fn threads_for(par: Par, work: usize, min_per_thread: usize) -> usize {
    if work < 2 * min_per_thread {
        // Too little work for two threads: skip even asking rayon for its pool size.
        return 1;
    }
    par.threads().min(work / min_per_thread).max(1)
}

/// Splits `t` threads into a `tm × tn` grid over an `m × n` C cut into `mr × nr` tiles,
/// choosing the factorisation whose busiest thread owns the fewest elements of C (ties:
/// more row splits). Counted in elements, not tiles: a short last tile is less work, so
/// m = 64 on 48-row tiles splits columns (64 × n/2 each) rather than rows (48 and 16
/// rows), which measured 0.86 × one thread for 64 × 256 × 784 on two (f32, Zen 4).
pub(super) fn grid(t: usize, (m, mr): (usize, usize), (n, nr): (usize, usize)) -> (usize, usize) {
    let mut best = (1, t, usize::MAX);
    for tm in 1..=t {
        if t.is_multiple_of(tm) {
            let tn = t / tm;
            // The first part of each dimension is the largest (see `part`).
            let rows = part(m, mr, tm, 0);
            let cols = part(n, nr, tn, 0);
            let load = (rows.1 - rows.0).saturating_mul(cols.1 - cols.0);
            if load <= best.2 {
                best = (tm, tn, load);
            }
        }
    }
    (best.0, best.1)
}

/// Runs `task(ti, tj)` for every cell of a `tm × tn` grid, in parallel when there is more
/// than one cell, inside the caller's rayon pool.
pub(super) fn run_grid(tm: usize, tn: usize, task: impl Fn(usize, usize) + Sync) {
    if tm * tn == 1 {
        task(0, 0);
    } else {
        (0..tm * tn).into_par_iter().for_each(|t| task(t / tn, t % tn));
    }
}

/// The range of `units` (each `unit` wide, the last possibly short) owned by part `i` of
/// `parts`, in elements, for a dimension of `len` elements.
pub(super) fn part(len: usize, unit: usize, parts: usize, i: usize) -> (usize, usize) {
    let per = len.div_ceil(unit).div_ceil(parts) * unit;
    ((i * per).min(len), ((i + 1) * per).min(len))
}

/// Matrix-vector product `y ← α·A·x + β·y`, A `m × k`.
///
/// # Safety
/// A, x (`k` elements at stride `incx`) and y (`m` at stride `incy`) are valid; y is
/// exclusive and overlaps neither.
#[allow(clippy::too_many_arguments)]
unsafe fn gemv<T: Element>(
    kern: &Kernels<T>,
    par: Par,
    m: usize,
    k: usize,
    alpha: T,
    a: Strided<T>,
    x: *const T,
    incx: isize,
    beta: T,
    y: *mut T,
    incy: isize,
) {
    let contiguous_x;
    let (x, incx) = if a.rs == 1 {
        let x = Strided { ptr: x, rs: incx, cs: 0 };
        let y = StridedMut { ptr: y, rs: incy, cs: 0 };
        // SAFETY: the caller's contract, as a product with one column.
        return unsafe { cols_form(kern, par, (m, 1, k), alpha, a, x, beta, y) };
    } else if a.cs == 1 {
        if incx == 1 {
            (x, 1)
        } else {
            // SAFETY: x has k elements at stride incx.
            contiguous_x = (0..k).map(|p| unsafe { *x.offset(p as isize * incx) }).collect::<Vec<_>>();
            (contiguous_x.as_ptr(), 1)
        }
    } else {
        // Neither stride is unit: copy A column-major (one strided pass, the same reads
        // the product itself would make) and run the columns kernel on the copy.
        let copy: Vec<T> = (0..k)
            .flat_map(|p| (0..m).map(move |i| (i, p)))
            // SAFETY: (i, p) inside A.
            .map(|(i, p)| unsafe { *a.at(i, p) })
            .collect();
        let a = Strided { ptr: copy.as_ptr(), rs: 1, cs: m as isize };
        // SAFETY: the copy is a valid column-major A; the rest per the contract.
        return unsafe { gemv(kern, par, m, k, alpha, a, x, incx, beta, y, incy) };
    };
    // The rows form; threads split the rows.
    let t = threads_for(par, fmas(m, 1, k), MIN_GEMV_ELEMS_PER_THREAD);
    let (xs, ys) = (SendPtr(x.cast_mut()), SendPtr(y));
    run_grid(t, 1, |ti, _| {
        let (i0, i1) = part(m, kern.lanes, t, ti);
        if i0 == i1 {
            return;
        }
        // SAFETY: row i0 < m is inside A.
        let rows = unsafe { a.at(i0, 0) };
        let g = Gemv {
            m: i1 - i0,
            k,
            a: Strided { ptr: rows, ..a },
            x: xs.get(),
            incx,
            // SAFETY: i0 < m: inside y.
            y: unsafe { ys.get().offset(i0 as isize * incy) },
            incy,
            alpha,
            beta,
            n: 1,
            xcs: 0,
            ycs: 0,
            chunk: 0,
            prefetch: false,
        };
        // SAFETY: the rows form matches A's unit column stride and contiguous x; threads
        // own disjoint row ranges of y.
        unsafe { (kern.gemv_rows)(&g) };
    });
}

/// The columns form (`gemv_cols`): `C ← α·A·B + β·C` for `n ≤ 6` columns of B and C, A
/// read in address order (see `gemv.rs`); threads split the rows.
///
/// # Safety
/// As for [`gemm`], plus `a.rs == 1` and `1 ≤ n ≤ 6`.
#[allow(clippy::too_many_arguments)]
unsafe fn cols_form<T: Element>(
    kern: &Kernels<T>,
    par: Par,
    (m, n, k): (usize, usize, usize),
    alpha: T,
    a: Strided<T>,
    b: Strided<T>,
    beta: T,
    c: StridedMut<T>,
) {
    let t = threads_for(par, fmas(m, 1, k), MIN_GEMV_ELEMS_PER_THREAD);
    // The chunk of partial sums: two thirds of L1d (the rest holds the runs of A in
    // flight), at most the buffer, split between the columns; A beyond twice the L2
    // comes from the L3 or memory, where prefetching its runs pays (see `gemv_cols`).
    let caches = CacheSizes::detected();
    let chunk_bytes = (caches.l1d * 2 / 3).clamp(4 << 10, COL_CHUNK_MAX_BYTES);
    let chunk = (chunk_bytes / n / size_of::<T>()) / kern.lanes * kern.lanes;
    let prefetch = m.saturating_mul(k).saturating_mul(size_of::<T>()) > 2 * caches.l2;
    let x = SendPtr(b.ptr.cast_mut());
    run_grid(t, 1, |ti, _| {
        let (i0, i1) = part(m, kern.lanes, t, ti);
        if i0 == i1 {
            return;
        }
        let g = Gemv {
            m: i1 - i0,
            k,
            // SAFETY: row i0 < m is inside A and C.
            a: Strided { ptr: unsafe { a.at(i0, 0) }, ..a },
            x: x.get(),
            incx: b.rs,
            // SAFETY: as above.
            y: unsafe { c.at(i0, 0) },
            incy: c.rs,
            alpha,
            beta,
            n,
            xcs: b.cs,
            ycs: c.cs,
            chunk,
            prefetch,
        };
        // SAFETY: A's rows are unit stride; the chunk of `n` columns fits the kernel's
        // buffer; threads own disjoint row ranges of C.
        unsafe { kern.gemv_cols[n - 1](&g) };
    });
}

/// A raw pointer that may cross to worker threads; each use site states why that is sound.
#[derive(Clone, Copy)]
pub(super) struct SendPtr<T>(pub(super) *mut T);
// SAFETY: used only for operands whose validity and exclusivity for the whole call is the
// caller's contract, with threads writing disjoint ranges.
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SendPtr<T> {}
impl<T> SendPtr<T> {
    pub(super) fn get(self) -> *mut T {
        self.0
    }
}

/// Widest C handled by the tall path (the tall tile table's extent).
const TALL_MAX_N: usize = 6;
/// Widest C for which the tall path streams A in address order (the columns form of
/// `gemv.rs`) instead of running tall tiles, once A outgrows four L1d's. With two
/// columns a tile's k-step is too short to hide a new page per column; from three the
/// tiles' register accumulators win back what the form's partial-sum traffic costs.
/// Measured on Zen 5 (ours / faer, one process, median of 7 rounds, tiles → form): n = 2
/// at m × k = 512 × 512, 2304 × 1024, 4608 × 768: f32 0.96 / 0.75 / 0.65 → 1.12 / 0.77 /
/// 0.93 ×, f64 0.80 / 0.85 / 0.67 → 1.35 / 1.20 / 1.30 ×; 200 × 300 f32 0.92 → 0.98, f64
/// 0.98 → 1.07 ×; but 64 × 64 f64 (A in L1) 0.96 → 0.59 ×. At n = 3 the form won for f64
/// (2304 × 1024 0.81 → 0.89 ×) and lost for f32 (1.10 → 0.84 ×). Wider products stream
/// too once A outgrows three quarters of the L3, so that it comes from memory on every
/// call: there the tiles' page-per-k-step walk defeats the prefetchers, while with A in
/// the L3 they win by far. Zen 5 (L3 32 MiB; ours / faer, one process, medians of 5
/// rounds; tiles → form), A from 25 to 67 MiB: f32 9216 × 6 × 768 0.86 → 1.05 ×, 9216 ×
/// 5 × 768 0.92 → 1.06 ×, 8192 × 4 × 1024 0.71 → 0.84 ×, 8192 × 3 × 768 0.98 → 1.01 ×;
/// f64 9216 × 6 × 768 0.86 → 1.00 ×, 9216 × 5 × 768 0.91 → 1.10 ×, 8192 × 4 × 1024
/// 0.70 → 0.98 ×, 8192 × 3 × 768 0.89 → 1.12 ×, 4608 × 3 × 1024 0.80 → 0.97 ×; at 27 MiB
/// f64 4608 × 6 × 768 1.13 → 1.18 ×, 4608 × 4 × 768 0.99 → 0.91 ×. With A in the L3 the
/// form loses: f32 4608 × 6 × 768 (13.5 MiB) 1.29 → 0.73 ×, 2304 × 6 × 768 1.42 → 0.87 ×.
const STREAM_MAX_N: usize = 2;

/// The tall path, for few columns (n ≤ 6) and a column-contiguous A: direct tiles of
/// `skinny_mv[n - 1]` vectors of rows down A, each reading its rows over the whole depth
/// once (or the columns form: for n ≤ [`STREAM_MAX_N`] past four L1d's, and for any n
/// once A outgrows three quarters of the L3; see there). With A column-major and far
/// between columns, every k-step of a tile lands on a new page; taller tiles touch each
/// page for more bytes. Measured on Zen 5 at m, n, k = 2304, 6, 768 (GFLOP/s, tall vs
/// 2-vector direct tiles): f64 96 vs 66, f32 245 vs 200. On AVX-512 the narrower the
/// tile, the taller it goes (8 vectors up to 2 columns, 7 at 3, 6 at 4, 4 at 5–6: what
/// the 32 registers hold beside one broadcast; 8 × 3 needed 33 and LLVM spilled and
/// shuffled accumulators every k-step: f64 64 × 3 × 64 0.91 → 1.09 × faer, 200 × 3 × 300
/// 0.89 → 1.02 × with 7, and at the large shapes below f32 0.89 / 1.06 / 0.92 ×, f64
/// 0.97 / 1.20 / 0.92 ×, against the 8-vector figures that follow); against 4 vectors
/// at every width (Zen 5, ours / faer in one process, medians of 7 rounds; m, k = 2304,
/// 1024, 512, 512 and 4608, 768): f32 n = 3 0.74 /
/// 0.97 / – → 0.92 / 1.00 / 0.93 ×, n = 4 1.24 / 0.96 / 0.58 → 1.03 / 0.96 / 1.20 ×
/// (GFLOP/s 186 / 211 / 118 → 225 / 215 / 203, faer moving); f64 n = 3 0.67 / 0.62 / – →
/// 0.80 / 1.10 / 0.83 ×, n = 4 0.83 / 0.76 / 0.64 → 1.07 / 0.91 / 1.02 ×.
/// Prefetching A 8 k-steps ahead (Zen 4, one process, medians of 9 rounds against faer,
/// 2026-11-29), at 2304 × 6 × 768 with A in the caches from the previous call: f64 0.71 →
/// 1.47 ×, f32 1.08 → 1.67 × (16 and 8 steps alike, 32 worse); with A flushed to memory
/// first, 1.11–1.15 × either way. At 512 × 3 × 300 f64 (A 1.2 MiB, about the L2) it cost
/// a third (0.96 → 0.65 ×), hence the threshold of twice the L2.
///
/// # Safety
/// As for [`gemm`], plus `a.rs == 1` and `n <= TALL_MAX_N`.
unsafe fn tall<T: Element>(kern: &Kernels<T>, par: Par, g: Problem<T>) {
    let Problem { m, n, k, .. } = g;
    let a_bytes = m.saturating_mul(k).saturating_mul(size_of::<T>());
    let caches = CacheSizes::detected();
    if a_bytes > 4 * caches.l1d && (n <= STREAM_MAX_N || a_bytes > caches.l3 / 4 * 3) {
        let Problem { alpha, a, b, beta, c, .. } = g;
        // SAFETY: the caller's contract; `a.rs == 1`.
        return unsafe { cols_form(kern, par, (m, n, k), alpha, a, b, beta, c) };
    }
    let rows_per = kern.skinny_mv[n - 1] * kern.lanes;
    let t = threads_for(par, fmas(m, n, k), min_fmas_per_thread(kern));
    // An A beyond twice the L2 comes from the L3 or memory, one page per k-step: the tiles
    // then prefetch its rows PF_STEPS steps ahead. (Smaller, it is in L2, and the extra
    // instructions cost: see the measurements above.)
    let prefetch = k > PF_STEPS as usize && a_bytes > 2 * caches.l2;
    run_grid(t, 1, |ti, _| {
        let (i0, i1) = part(m, rows_per, t, ti);
        let mut ir = i0;
        while ir < i1 {
            let tiles = if prefetch { kern.skinny_pf } else { kern.skinny };
            let left = i1 - ir;
            let (f, rows) = if left > rows_per && left < 2 * rows_per && max_rows(kern, n) >= rows_per {
                // The last two tiles share the rows evenly, in whole vectors, as in
                // `direct_block`: not a full tile and a sliver too short for the latency
                // (where direct tiles reach the tall tiles' height: AVX-512). 200 × 4 × 200
                // f32 ran its last 8 rows as a tile of 4 accumulators, 12% of the call.
                let rows = half_rows(left, rows_per, kern.lanes);
                (direct_tile(kern, rows, n), rows)
            } else {
                tall_or_direct(kern, (tiles, rows_per), left, n)
            };
            // SAFETY: rows ir..ir+rows < m of A and C and all n ≤ 6 columns of B and C are
            // inside the operands; threads own disjoint row ranges of C.
            unsafe { f(&in_place_tile(&g, (ir, 0), (rows, n))) };
            ir += rows;
        }
    });
}

/// The tile for the next rows of a walk down `left ≥ 1` remaining rows and `cols ≤ 6`
/// columns, and how many rows it covers: a whole tall tile, then the remainder in ordinary
/// direct tiles (at most MR rows each), so every tile's last vector is its only partial one.
/// `tall` is the row of tall tiles to take them from (`kern.tall`, `kern.skinny` or a
/// variant) with the rows each covers.
pub(super) fn tall_or_direct<T>(
    kern: &Kernels<T>,
    (tall, rows_per): (&[TileFn<T>], usize),
    left: usize,
    cols: usize,
) -> (TileFn<T>, usize) {
    if left >= rows_per {
        (tall[cols - 1], rows_per)
    } else {
        let rows = left.min(max_rows(kern, cols));
        (direct_tile(kern, rows, cols), rows)
    }
}

/// The first of the last two tiles of a walk with `left` rows to go (`max < left <
/// 2·max`), which share them evenly: half, rounded up to whole vectors (`lanes` a power of
/// two), at most `max`.
#[inline(always)]
fn half_rows(left: usize, max: usize, lanes: usize) -> usize {
    ((left.div_ceil(2) + lanes - 1) & !(lanes - 1)).min(max)
}

/// Most rows one direct tile of `cols` columns covers: MR, or for at most `TALL_MAX_N`
/// columns the tall path's tile height where [`Kernels::narrow`] fills the heights in
/// between (five and six columns: the tall tiles are one vector taller than MR).
#[inline(always)]
pub(super) fn max_rows<T>(kern: &Kernels<T>, cols: usize) -> usize {
    if cols <= TALL_MAX_N && !kern.narrow.is_empty() {
        kern.skinny_mv[cols - 1] * kern.lanes
    } else {
        kern.mr
    }
}

/// The direct tile of `rows` (`1..=max_rows(kern, cols)`) × `cols` columns: the fewest
/// vectors of rows that hold them (a half-width vector where the path has one).
#[inline(always)]
pub(super) fn direct_tile<T>(kern: &Kernels<T>, rows: usize, cols: usize) -> TileFn<T> {
    // Shifts, not divisions: `lanes` is a power of two, and this serves products of a few
    // hundred FMAs (n = 8), where divisions by run-time values showed in the profile.
    let shift = kern.lanes.trailing_zeros();
    let (mv, direct_mv) = (((rows - 1) >> shift) + 1, kern.mr >> shift);
    match &kern.half {
        Some(half) if rows <= kern.lanes / 2 => half[cols - 1],
        _ if mv <= direct_mv => kern.direct[mv - 1][cols - 1],
        _ if mv == kern.skinny_mv[cols - 1] => kern.skinny[cols - 1],
        _ => kern.narrow[mv - direct_mv - 1][cols - 1],
    }
}

/// The direct path: tiles read A (column-contiguous) and B in place.
///
/// # Safety
/// As for [`gemm`], plus `a.rs == 1`.
unsafe fn direct<T: Element>(kern: &Kernels<T>, par: Par, g: &Problem<T>) {
    let Problem { m, n, k, .. } = *g;
    let (mr, nr) = (kern.mr, kern.nr);
    let t = threads_for(par, fmas(m, n, k), min_fmas_per_thread(kern));
    if t == 1 {
        // Small problems: no partitioning arithmetic, and no closure between the call and
        // the tiles (a closure reads every captured value through memory, ≈ 10 ns of an
        // 8 × 8 × 8 product).
        // SAFETY: the whole of C, per this function's contract.
        unsafe { direct_block(kern, g, (0, m), (0, n)) };
    } else {
        let (tm, tn) = grid(t, (m, mr), (n, nr));
        run_grid(tm, tn, |ti, tj| {
            // SAFETY: threads own disjoint blocks of C (`part` covers each index once).
            unsafe { direct_block(kern, g, part(m, mr, tm, ti), part(n, nr, tn, tj)) }
        });
    }
}

/// The direct path's tiles over rows `i0..i1` and columns `j0..j1` of C.
///
/// # Safety
/// As for [`direct`]; the ranges lie inside C, and no other thread writes that block.
#[inline(always)]
unsafe fn direct_block<T: Element>(
    kern: &Kernels<T>,
    g: &Problem<T>,
    (i0, i1): (usize, usize),
    (j0, j1): (usize, usize),
) {
    let (nr, lanes) = (kern.nr, kern.lanes);
    // Plain loops: this path serves products of a few hundred FMAs (n = 8), where the
    // divisions of `step_by` by run-time values showed in the call's profile.
    let mut jr = j0;
    while jr < j1 {
        let cols = nr.min(j1 - jr);
        let max = max_rows(kern, cols);
        let mut ir = i0;
        while ir < i1 {
            // The last two tiles of a column share their rows evenly (in whole vectors):
            // 64 rows of f32 as 32 + 32 rather than 48 + 16, whose one-vector tile has
            // too few accumulators to hide the FMA latency. Measured on Zen 5 (ours /
            // faer in one process): f32 n = 64 0.944 → 0.992, f64 n = 32 0.987 → 1.058,
            // f64 n = 56 1.034 → 1.106, f32 n = 112 1.071 → 1.106.
            let left = i1 - ir;
            let rows = if left > max && left < 2 * max { half_rows(left, max, lanes) } else { max.min(left) };
            let f = direct_tile(kern, rows, cols);
            // SAFETY: the tile covers rows ir..ir+rows < m and columns jr..jr+cols < n,
            // and the kernel (mv = ceil(rows/lanes), N = cols) reads and writes only those.
            unsafe { f(&in_place_tile(g, (ir, jr), (rows, cols))) };
            ir += rows;
        }
        jr += cols;
    }
}

/// The tile of `rows × cols` at `(i, j)` of C reading A and B in place (the direct and
/// tall paths). The views are read through `g`, field by field: copying them out whole
/// made LLVM move their stride pairs as 16-byte loads of two 8-byte stores just made (a
/// store-forwarding stall, ≈ 5% of an 8 × 8 × 8 product in profiles).
///
/// # Safety
/// `(i, j)` and the `rows × cols` block from it lie inside C (so row `i` of A and column
/// `j` of B exist).
#[inline(always)]
unsafe fn in_place_tile<T: Element>(
    g: &Problem<T>,
    (i, j): (usize, usize),
    (rows, cols): (usize, usize),
) -> Tile<T> {
    // SAFETY: (i, 0), (0, j) and (i, j) are inside A, B and C per the contract.
    unsafe {
        Tile {
            k: g.k,
            a: g.a.at(i, 0),
            a_ks: g.a.cs,
            b: g.b.at(0, j),
            rsb: g.b.rs,
            csb: g.b.cs,
            c: g.c.at(i, j),
            rsc: g.c.rs,
            csc: g.c.cs,
            m: rows,
            n: cols,
            alpha: g.alpha,
            beta: g.beta,
            prefetch_c: false,
            a_pack: std::ptr::null_mut(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Par, fmas, grid, part, threads_for};

    #[test]
    fn grid_prefers_balanced_splits() {
        // 2 threads, 1 row tile, 10 column tiles: split columns (5 each) not rows (10).
        assert_eq!(grid(2, (4, 4), (40, 4)), (1, 2));
        // 4 threads on 8 × 8 whole tiles: 4×1, 2×2 and 1×4 all give 16 tiles each; ties
        // go to row splits (each thread then packs only its rows of A).
        assert_eq!(grid(4, (32, 4), (32, 4)), (4, 1));
        // 4 threads on 2 × 8 tiles: 4×1 leaves 8 tiles on a thread, 2×2 and 1×4 give 4.
        assert_eq!(grid(4, (8, 4), (32, 4)), (2, 2));
        assert_eq!(grid(1, (5, 1), (5, 1)), (1, 1));
        // 64 rows on 48-row tiles: a row split gives one thread 48 of them (48 · 256
        // elements), a column split 64 · 128 each.
        assert_eq!(grid(2, (64, 48), (256, 8)), (1, 2));
    }

    #[test]
    fn parts_cover_exactly_once() {
        for len in [0, 1, 7, 32, 33, 100] {
            for parts in 1..5 {
                let mut next = 0;
                for i in 0..parts {
                    let (a, b) = part(len, 8, parts, i);
                    assert!(a == next || a == b, "len {len} parts {parts}: gap at {i}");
                    assert!(a % 8 == 0 || a == len);
                    next = next.max(b);
                }
                assert_eq!(next, len);
            }
        }
    }

    #[test]
    fn work_count_saturates() {
        assert_eq!(fmas(3, 4, 5), 60);
        assert_eq!(fmas(usize::MAX / 2, 3, 1), usize::MAX);
        assert_eq!(fmas(1 << 40, 1 << 40, 0), 0);
    }

    #[test]
    fn threads_gated_by_work() {
        assert_eq!(threads_for(Par::Threads(8), 10, 100), 1);
        assert_eq!(threads_for(Par::Threads(8), 250, 100), 2);
        assert_eq!(threads_for(Par::Threads(2), 1 << 30, 100), 2);
        assert_eq!(threads_for(Par::Seq, 1 << 30, 100), 1);
    }
}
