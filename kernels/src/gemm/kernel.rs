//! The micro-kernel contract: one register-blocked `MR × NR` tile of C.
//!
//! A tile kernel computes `C[tile] ← α·A[rows, 0..k]·B[0..k, cols] + β·C[tile]` with the
//! whole `MV·LANES × N` accumulator block held in registers. A is read one k-step at a time
//! as `MV` vectors of rows (unit stride within a step, `a_ks` between steps); B one
//! element at a time, broadcast. Two flavours share this body:
//! - **packed**: B is a k-major packed micro-panel (`NR` elements per k-step, compile-time
//!   stride) and A a full or zero-padded panel, so every load is a full vector;
//! - **direct**: B at any run-time strides and A with a masked load for a partial last
//!   vector. It reads the caller's matrices in place (the direct and tall paths) and
//!   also column-panel packed B with in-place or packed A (the packed path).
//!
//! Writing the tile back is shared: vector (masked at the edge) when C's rows are unit
//! stride, otherwise element by element with the same rounding (`fma_scalar`), so a
//! given element of C is computed bit-identically whatever the tile shape around it.

use crate::Element;
use crate::simd::{Simd, crosses_page};

/// Everything one tile needs. Pointers are element pointers; strides are in elements.
///
/// `repr(C)`, with each source view's strides apart: built from `Strided` views whose
/// fields were just stored one by one, a layout mirroring theirs let LLVM copy
/// `(rs, cs)` pairs as one 16-byte load, which cannot be forwarded from two 8-byte
/// stores (a store-forwarding stall: ≈ 10% of an 8 × 8 × 8 product in profiles).
#[repr(C)]
pub(crate) struct Tile<T> {
    /// Depth of the product.
    pub k: usize,
    /// `A(i, p)` is at `a + i + p·a_ks` (rows unit stride).
    pub a: *const T,
    /// `B(p, j)` is at `b + p·rsb + j·csb`.
    pub b: *const T,
    /// `C(i, j)` is at `c + i·rsc + j·csc`.
    pub c: *mut T,
    /// Stride between consecutive k-steps of A.
    pub a_ks: isize,
    /// B's stride between k-steps (the packed panel: `NR`).
    pub rsb: isize,
    /// C's row stride.
    pub rsc: isize,
    /// B's stride between columns (ignored by the packed flavour, where it is 1).
    pub csb: isize,
    /// C's column stride.
    pub csc: isize,
    /// Valid rows of the tile, `1..=MV·LANES` (direct flavour: more than `(MV-1)·LANES`).
    pub m: usize,
    /// Valid columns of the tile, `1..=N`.
    pub n: usize,
    /// Scale of the product.
    pub alpha: T,
    /// Scale of C; exactly zero means C is written without being read.
    pub beta: T,
    /// Tiles packing A as they go (`PACK_A`): step p's `MV` vectors of A are also stored
    /// at `a_pack + p·MV·LANES`, building the packed micro-panel later tiles read. Null
    /// (and unused) for every other tile.
    pub a_pack: *mut T,
    /// Prefetch C's tile before the k loop. Pays when C is read (β ≠ 0) and large (the
    /// packed path); measured to cost 7–15% on small or write-only (β = 0) tiles.
    pub prefetch_c: bool,
}

/// A tile kernel instantiated for one instruction set and shape.
pub(crate) type TileFn<T> = unsafe fn(&Tile<T>);

/// Computes one tile. `NT`: non-temporal stores of C (see [`store`]); `PF`: A's rows
/// prefetched ahead in k (see [`k_loop`]); `PACK_A`: A read in place and copied into the
/// packed micro-panel at `t.a_pack` on the way (see [`k_loop`]).
///
/// # Safety
/// `S`'s instruction set is enabled (the [`Simd`] contract). Every `A(i, p)` for
/// `i < MV·LANES` (packed) or `i < t.m` (direct), `p < t.k`, every `B(p, j)` for
/// `j < N` (packed) or `j < t.n` (direct), and every `C(i, j)` for `i < t.m`, `j < t.n`
/// is in bounds; C's tile does not overlap A or B and has no two elements at one address.
/// With `PACK_A`: the tile is full (`t.m == MV·LANES`, A's rows all readable) and
/// `t.a_pack` has room for `t.k·MV·LANES` elements overlapping none of A, B and C.
#[inline(always)]
pub(crate) unsafe fn tile<
    S: Simd,
    const MV: usize,
    const N: usize,
    const PACKED: bool,
    const NT: bool,
    const PF: bool,
    const PACK_A: bool,
>(
    t: &Tile<S::T>,
) {
    let lanes = S::LANES;
    debug_assert!(t.m >= 1 && t.m <= MV * lanes && t.n >= 1 && t.n <= N);
    debug_assert!(PACKED || t.m > (MV - 1) * lanes);
    debug_assert!(!PACK_A || t.m == MV * lanes && !t.a_pack.is_null());
    // SAFETY: the caller enables S's instruction set and keeps every access in bounds, as
    // documented above; the masked last-vector load reads only rows below `t.m`.
    unsafe {
        // Start fetching C's tile now: its lines arrive while the k loop runs, instead of
        // stalling the write-back (C's columns may each sit on a different page).
        for j in 0..if t.prefetch_c { t.n } else { 0 } {
            let col = t.c.wrapping_offset(j as isize * t.csc);
            for i in (0..t.m).step_by(64 / size_of::<S::T>()) {
                S::prefetch(col.wrapping_offset(i as isize * t.rsc));
            }
            S::prefetch(col.wrapping_offset((t.m - 1) as isize * t.rsc));
        }
        // Full tiles load every vector whole; only a partial last vector needs the masked
        // load (whose page-crossing guard would otherwise sit in every tile's k loop).
        if PACKED || PACK_A || t.m == MV * lanes {
            let acc = k_loop::<S, MV, N, PACKED, true, PF, PACK_A>(t);
            store::<S, MV, N, NT>(&acc, t);
        } else {
            let acc = k_loop::<S, MV, N, PACKED, false, PF, false>(t);
            store::<S, MV, N, NT>(&acc, t);
        }
    }
}

/// k-steps ahead that `PF` tiles prefetch A's rows (see `driver::tall`).
pub(crate) const PF_STEPS: isize = 8;

/// The tile's k loop: the `MV·LANES × N` accumulators of `A[rows, 0..k]·B[0..k, cols]`.
/// `FULL`: every row of the tile is valid, so the last vector loads whole. `PF`: each step
/// also prefetches the tile's rows of A [`PF_STEPS`] steps ahead, for an A read in place
/// whose k-steps lie on different pages (the hardware prefetchers do not follow them).
/// `PACK_A`: each step's A vectors are also stored to `t.a_pack`, so the copy that packs
/// A runs inside the FMA-bound loop (its loads and stores use ports the FMAs leave idle)
/// instead of in a separate pass bound by the latency of A's source lines.
///
/// # Safety
/// As for [`tile`]; with `FULL`, `t.m == MV·LANES`.
#[inline(always)]
unsafe fn k_loop<
    S: Simd,
    const MV: usize,
    const N: usize,
    const PACKED: bool,
    const FULL: bool,
    const PF: bool,
    const PACK_A: bool,
>(
    t: &Tile<S::T>,
) -> [[S::V; MV]; N] {
    let lanes = S::LANES;
    // SAFETY: as for `tile`: S's instruction set is enabled, every A, B element read is in
    // bounds, and the masked last-vector load reads only rows below `t.m`.
    unsafe {
        let mut acc = [[S::zero(); MV]; N];
        let last = S::mask(if PACKED || FULL { lanes } else { t.m - (MV - 1) * lanes });
        for p in 0..t.k as isize {
            // Step p's operands, formed from the base each step (the compiler strength-reduces
            // it to an increment): never a pointer past the storage, as a running pointer
            // advanced after the last step would be (undefined for `offset`; found by Miri).
            let (a, b) = (t.a.offset(p * t.a_ks), t.b.offset(p * t.rsb));
            if PF {
                // Wrapping arithmetic: past the last step the address leaves A, and a
                // prefetch of any address neither faults nor changes memory.
                let ahead = a.wrapping_offset(PF_STEPS * t.a_ks);
                for v in 0..MV {
                    S::prefetch(ahead.wrapping_add(v * lanes));
                }
            }
            let mut av = [S::zero(); MV];
            for (v, slot) in av.iter_mut().enumerate() {
                *slot = if PACKED || FULL || v + 1 < MV {
                    S::load(a.add(v * lanes))
                } else {
                    S::load_masked(a.add(v * lanes), last)
                };
            }
            if PACK_A {
                let dst = t.a_pack.add(p as usize * MV * lanes);
                for (v, &x) in av.iter().enumerate() {
                    S::store(dst.add(v * lanes), x);
                }
            }
            for (j, col) in acc.iter_mut().enumerate() {
                let bj = if PACKED { *b.add(j) } else { *b.offset(j as isize * t.csb) };
                let bv = S::splat(bj);
                for (v, x) in col.iter_mut().enumerate() {
                    *x = S::fma(av[v], bv, *x);
                }
            }
        }
        acc
    }
}

/// Writes `α·acc + β·C` into the valid part of the tile. With `NT` and β = 0, full
/// vectors at vector-aligned addresses are stored non-temporally (no read for ownership
/// of C's lines: for a C larger than the last-level cache, see `shallow.rs`); the caller
/// issues `stream_fence` before handing C on.
///
/// # Safety
/// As for [`tile`]: S's instruction set is enabled and C's valid tile is in bounds.
#[inline(always)]
unsafe fn store<S: Simd, const MV: usize, const N: usize, const NT: bool>(
    acc: &[[S::V; MV]; N],
    t: &Tile<S::T>,
) {
    let lanes = S::LANES;
    const {
        let packed = size_of::<S::V>() == S::LANES * size_of::<S::T>();
        assert!(packed, "a vector type with padding: `store_strided` reads the tile by element");
    };
    let beta_zero = t.beta == S::T::ZERO;
    // SAFETY: per this function's contract; rows at or past `t.m` and columns at or past
    // `t.n` are never touched (masked stores at the row edge, loop bounds at the column edge).
    unsafe {
        if t.rsc == 1 {
            // β and "every row valid" are hoisted out of the loops, whose bounds are then
            // compile-time constants: the loops unroll and the accumulators stay in
            // registers (a run-time-shaped loop spilled them all to the stack and back,
            // with a β test per vector).
            match (beta_zero, t.m == MV * lanes) {
                (true, true) => store_cols::<S, MV, N, NT, true, true>(acc, t),
                (false, true) => store_cols::<S, MV, N, NT, false, true>(acc, t),
                // A partial last vector: its windows (one per column) are tested for page
                // crossings all at once, so the masked stores need no test of their own
                // and the unrolled write-back stays small. (With the test and its slow
                // path in every masked store, LLVM kept the write-back a loop over the
                // tile in memory: 19 × 19 × 19 f64, three partial tiles, ran at 0.88 ×
                // faer.) A crossing window, rare, takes the element-wise write-back.
                (b0, false) => {
                    let last = t.c.wrapping_add((t.m - 1) / lanes * lanes);
                    let vbytes = lanes * size_of::<S::T>();
                    let mut cross = false;
                    for j in 0..N {
                        let p = last.wrapping_offset(j as isize * t.csc);
                        cross |= j < t.n && crosses_page(p, vbytes);
                    }
                    if cross {
                        let copy = *acc;
                        store_strided::<S>(copy.as_ptr().cast(), MV * lanes, t);
                    } else if b0 {
                        store_cols::<S, MV, N, NT, true, false>(acc, t);
                    } else {
                        store_cols::<S, MV, N, NT, false, false>(acc, t);
                    }
                }
            }
        } else {
            // Off the hot path, in a function of its own, on a copy made here: any use
            // of the tile in memory within this function (a buffer, a loop with run-time
            // bounds) made LLVM spill every accumulator to the stack after the k loop,
            // for the unit-stride branch too (8 × 8 × 8 f64 on Zen 5: 35 → 38 GFLOP/s
            // without the spill, 16 × 16 × 16: 81 → 91).
            let copy = *acc;
            store_strided::<S>(copy.as_ptr().cast(), MV * lanes, t);
        }
    }
}

/// The write-back of [`store`] element by element (C's rows not unit stride, or a partial
/// window crossing a page), rounding as the vector branch does: `α·x`, then `β·c + α·x`
/// through `fma_scalar`, which rounds as one lane of `S::fma`. Not inlined, and outside
/// the kernels' `#[target_feature]` functions (the scalar FMA becomes a call there).
///
/// # Safety
/// `acc` holds the tile column-major with `col_len` elements per column (the layout of
/// `[[S::V; MV]; N]`); C's valid tile is in bounds as for [`tile`].
#[inline(never)]
unsafe fn store_strided<S: Simd>(acc: *const S::T, col_len: usize, t: &Tile<S::T>) {
    let beta_zero = t.beta == S::T::ZERO;
    for j in 0..t.n {
        // SAFETY: column j < t.n of C's tile and of the accumulators, rows below t.m.
        unsafe {
            let cj = t.c.offset(j as isize * t.csc);
            for i in 0..t.m {
                let p = cj.offset(i as isize * t.rsc);
                let r = t.alpha * *acc.add(j * col_len + i);
                *p = if beta_zero { r } else { S::fma_scalar(t.beta, *p, r) };
            }
        }
    }
}

/// The unit-row-stride write-back of [`store`]: `BETA0` is `t.beta == 0` (C not read),
/// `FULL_M` is `t.m == MV·LANES` (no masked vector). Masked vectors use the untested
/// in-page accessors: without `FULL_M`, callers check that no column's partial window
/// crosses a page (else correct but slow: see [`crosses_page`]).
///
/// # Safety
/// As for [`store`], with `t.rsc == 1` and the two flags true of `t`.
#[inline(always)]
unsafe fn store_cols<
    S: Simd,
    const MV: usize,
    const N: usize,
    const NT: bool,
    const BETA0: bool,
    const FULL_M: bool,
>(
    acc: &[[S::V; MV]; N],
    t: &Tile<S::T>,
) {
    let lanes = S::LANES;
    let vbytes = lanes * size_of::<S::T>();
    // SAFETY: per the contract: columns below `t.n`, rows below `t.m` (masked at the edge).
    unsafe {
        let alpha = S::splat(t.alpha);
        let beta = S::splat(t.beta);
        for (j, col) in acc.iter().enumerate() {
            if j == t.n {
                break;
            }
            let cj = t.c.offset(j as isize * t.csc);
            for (v, &x) in col.iter().enumerate() {
                let row0 = v * lanes;
                if !FULL_M && row0 >= t.m {
                    break;
                }
                let p = cj.add(row0);
                let r = S::mul(alpha, x);
                if FULL_M || t.m - row0 >= lanes {
                    if NT && BETA0 && (p as usize).is_multiple_of(vbytes) {
                        S::store_stream(p, r);
                    } else {
                        S::store(p, if BETA0 { r } else { S::fma(beta, S::load(p), r) });
                    }
                } else {
                    // No window here crosses a page (tested by `store`).
                    let mk = S::mask(t.m - row0);
                    let out = if BETA0 { r } else { S::fma(beta, S::load_masked_in_page(p, mk), r) };
                    S::store_masked_in_page(p, out, mk);
                }
            }
        }
    }
}
