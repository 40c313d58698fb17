//! The packed path: BLIS's five loops for problems too large to read in place.
//!
//! B is walked one `KC × NC` panel at a time in `NR`-column micro-panels. A column-major
//! B (each column's k-steps contiguous) is read in place by tiles of at most
//! [`B_IN_PLACE_MAX_NR`] columns; otherwise it is packed, in the layout that makes the copy
//! plain: column-major sources keep each column's `KC` elements contiguous (`csb = KC`),
//! others are laid out k-major (`NR` elements per k-step, zero-padded) for the
//! fixed-stride packed kernel. A is packed into `MR`-row micro-panels, except that a
//! column-contiguous A feeding only a few columns of C is read in place, block by block
//! (its columns are already what a packed panel holds, and a copy would not be
//! amortised). A column-contiguous A is packed by the first column of tiles of each
//! block, which read it in place and store each k-step's vectors into the packed panel
//! as they go (the `PACK_A` tiles of `kernel.rs`); the other tiles read the packed panel.
//!
//! Why fused: a separate packing pass is a copy bound by the latency of A's source lines
//! (one new line per k-step, each on a different page), with no arithmetic to overlap;
//! inside the FMA-bound tile the same loads and stores use ports the FMAs leave idle.
//! Profiles (software clock) put the separate passes at 8–10% of f32 n = 512 before
//! (A's pass 4–6%, B's copy 2–5%). Together with the 48 × 8 / 24 × 8 AVX-512 tiles,
//! measured on Zen 4 (2026-11-29, ours / faer in one process, median of 5–7 interleaved
//! rounds, one thread, before → after; n = 512, 1024, 2048 from a second run): f32
//! n = 384 / 512 / 640 / 1000 / 1024 / 1536 / 2048 0.95 / 0.95 / 0.95 / 0.97 / 0.99 /
//! 0.99 / 0.99 → 0.99 / 1.00 / 1.00 / 1.01 / 1.01 / 1.01 / 1.00; f64 0.94 / 0.92 / 0.97 /
//! 0.98 / 0.95 / 0.96 / 0.97 → 1.00 / 1.00 / 1.00 / 1.01 / 1.00 / 1.01 / 1.01; the shapes
//! (m, n, k) = 4096 × 256 × 512 and 256 × 4096 × 512 f32 0.97 / 0.83 → 1.03 / 0.91 (f64
//! 0.94 / 0.88 → 1.00 / 0.97). The fused A alone (48 × 8 tiles, B packed) gained 0–4%
//! of that; the 48 × 8 tiles alone 0–4% (f64) and ±1% (f32).

use super::blocking::Blocking;
use super::buffer::{PackBuf, Slot};
use super::driver::{fmas, grid, min_fmas_per_thread, part, run_grid, threads_for};
use super::kernel::Tile;
use super::packing::{Strided, pack_a, pack_b};
use super::table::Kernels;
use super::{Par, Problem, StridedMut};
use crate::Element;

/// Widest C, in micro-panels of B, for which a column-contiguous A is read in place: each
/// A block then serves at most this many B micro-panels, too few to amortise its copy.
/// Wider products pack A even when its columns are close: a packed micro-panel is one
/// sequential stream, an in-place one a walk at A's column stride. Measured on the Intel
/// Xeon host (one process, variants interleaved, median of 15 per-round ratios; packed vs
/// in place): f32 n = 256 and 320 (1 and 1.25 KiB between columns) 1.09× and 1.09×, f32
/// n = 512 (2 KiB) 1.06–1.3× over five runs on one and two threads, f64 n = 128 and 256
/// 1.04× and 1.05×.
/// On Zen 5 the one distance measured (4 KiB) was within ±2% either way.
const A_IN_PLACE_MAX_PANELS: usize = 4;

/// Widest tile that reads a column-major B in place. A tile's k-step touches one line of
/// each of its B columns; when B's columns lie a multiple of 4 KiB apart (n = 1024 f32,
/// 512 f64, …) those lines all fall in one set of the 8-way L1d, so a wider tile would
/// evict its own B lines every step. Eight columns (the AVX-512 tiles, 48 × 8 and 24 × 8)
/// fill the set exactly; even so, against packing B (A packed by the tiles in both; ours
/// / faer, medians of 7 interleaved rounds) in place measured f32 n = 512 / 1024 / 2048
/// 1.00 / 1.01 / 1.01 × against 0.98 / 0.99 / 0.99 ×, f64 0.98 / 1.00 / 1.00 × against
/// 0.96 / 0.98 / 0.99 ×, and at n = 1000 / 1536 1.00–1.02 × against 1.00 ×. The 6-column
/// AVX2 tiles forced on Zen 4 (before → after this change, same harness): f32 n = 512
/// 0.93 → 0.96 × faer, n = 1024 0.95 → 0.94 ×, 256 × 4096 × 512 0.89 → 0.98 ×,
/// 4096 × 256 × 512 0.95 → 0.92 ×; f64 at the same four 0.86–0.93 → 0.89–0.95 ×.
const B_IN_PLACE_MAX_NR: usize = 8;

/// The packed path. Threads split C into a grid of independent sub-products (whole
/// micro-panels each), every one running the sequential loops below with its own packing
/// buffers: one fork-join per call and no barriers, at the price of packing the shared
/// operand once per thread that needs it.
///
/// # Safety
/// A (`m × k`), B (`k × n`) and C (`m × n`) are valid for their strides; C's elements are
/// distinct addresses that overlap neither A nor B; nothing else accesses C meanwhile.
pub(crate) unsafe fn packed<T: Element>(kern: &Kernels<T>, par: Par, blocking: Blocking, g: Problem<T>) {
    let Problem { m, n, k, a, b, c, .. } = g;
    let (mr, nr) = (kern.mr, kern.nr);
    let t = threads_for(par, fmas(m, n, k), min_fmas_per_thread(kern));
    if t == 1 {
        // SAFETY: the caller's contract.
        return unsafe { sequential(kern, blocking, g) };
    }
    let (tm, tn) = grid(t, (m, mr), (n, nr));
    run_grid(tm, tn, |ti, tj| {
        let (i0, i1) = part(m, mr, tm, ti);
        let (j0, j1) = part(n, nr, tn, tj);
        if i0 == i1 || j0 == j1 {
            return;
        }
        // SAFETY: rows i0..i1 of A and C and columns j0..j1 of B and C lie inside the
        // operands; the grid cells own disjoint blocks of C.
        unsafe {
            let (a, b) = (Strided { ptr: a.at(i0, 0), ..a }, Strided { ptr: b.at(0, j0), ..b });
            let c = StridedMut { ptr: c.at(i0, j0), ..c };
            sequential(kern, blocking, Problem { m: i1 - i0, n: j1 - j0, a, b, c, ..g });
        }
    });
}

/// The five loops on the calling thread.
///
/// # Safety
/// As for [`packed`].
unsafe fn sequential<T: Element>(kern: &Kernels<T>, blocking: Blocking, g: Problem<T>) {
    let Problem { m, n, k, alpha, a, b, beta, c } = g;
    let (mr, nr, lanes) = (kern.mr, kern.nr, kern.lanes);
    let elem = size_of::<T>();
    // Round caller-supplied sizes to whole micro-panels.
    let (mc, kc) = (blocking.mc.next_multiple_of(mr).max(mr), blocking.kc.max(1));
    let nc = blocking.nc.next_multiple_of(nr).max(nr);
    let b_columns = b.rs == 1;
    // A column-contiguous A is read in place only when too few columns of C reuse it.
    let a_in_place = a.rs == 1 && n <= A_IN_PLACE_MAX_PANELS * nr;
    // Otherwise a column-contiguous A is packed by the first column of tiles that reads it.
    let a_fused = a.rs == 1 && !a_in_place;
    // A column-major B is read in place by tiles narrow enough (see `B_IN_PLACE_MAX_NR`).
    let b_in_place = b_columns && nr <= B_IN_PLACE_MAX_NR;
    let mut bbuf = (!b_in_place).then(|| PackBuf::take(Slot::B, kc * nc.next_multiple_of(nr) * elem));
    let bpack = bbuf.as_mut().map_or(std::ptr::null_mut(), |buf| buf.as_mut_ptr::<T>());
    let mut abuf = (!a_in_place).then(|| PackBuf::take(Slot::A, kc * mc * elem));
    // LOOP 5: split n into NC panels.
    for jc in (0..n).step_by(nc) {
        let ncur = nc.min(n - jc);
        let panels = ncur.div_ceil(nr);
        // LOOP 4: split k into KC panels.
        for pc in (0..k).step_by(kc) {
            let kcur = kc.min(k - pc);
            // Micro-panel jp starts at jp·NR·kcur (packed) or at B(pc, jc + jp·NR) (in
            // place); within it B(p, j) is at p·rsb + j·csb.
            let (rsb, csb) = match (b_in_place, b_columns) {
                (true, _) => (1, b.cs),
                (false, true) => (1, kcur as isize),
                (false, false) => (nr as isize, 1),
            };
            // SAFETY: rows pc..pc+kcur and columns jc..jc+ncur are inside B; the buffer
            // (when B is packed) holds kc·NC ≥ kcur·panels·NR elements.
            unsafe {
                if b_in_place {
                    // Nothing to copy: the tiles read B's columns where they are.
                } else if b_columns {
                    for j in 0..ncur {
                        std::ptr::copy_nonoverlapping(b.at(pc, jc + j), bpack.add(j * kcur), kcur);
                    }
                } else {
                    pack_b(kcur, ncur, Strided { ptr: b.at(pc, jc), ..b }, nr, bpack);
                }
            }
            let beta = if pc == 0 { beta } else { T::ONE };
            // LOOP 3: split m into MC blocks.
            for ic in (0..m).step_by(mc) {
                let mcur = mc.min(m - ic);
                // A(ic + i, pc + p) is at ablock + i + p·a_ks (in place), or in the
                // packed micro-panel i / MR at offset p·MR + i % MR. A fused block is
                // packed by the first column of tiles (below), not here.
                let (ablock, a_ks) = match abuf.as_mut() {
                    // SAFETY: (ic, pc) is inside A.
                    None => (unsafe { a.at(ic, pc) }, a.cs),
                    Some(buf) => {
                        let dst = buf.as_mut_ptr::<T>();
                        if !a_fused {
                            // SAFETY: rows ic..ic+mcur and columns pc..pc+kcur are inside
                            // A; the buffer holds mc·kc ≥ ceil(mcur/MR)·MR·kcur elements.
                            unsafe { pack_a(mcur, kcur, Strided { ptr: a.at(ic, pc), ..a }, mr, dst) };
                        }
                        (dst.cast_const(), mr as isize)
                    }
                };
                // LOOP 2: NR micro-panels of B; LOOP 1: MR micro-panels of A.
                for jp in 0..panels {
                    let jr = jp * nr;
                    let cols = nr.min(ncur - jr);
                    for ir in (0..mcur).step_by(mr) {
                        let rows = mr.min(mcur - ir);
                        // Packed A panels start at ir·kcur (MR rows per k-step); an
                        // in-place block's rows are unit stride.
                        let a_off = if a_in_place { ir } else { ir * kcur };
                        // SAFETY: (ic + ir, jc + jr) is inside C, (pc, jc + jr) inside B
                        // and the B micro-panel starts inside the packed buffer.
                        let mut tile = unsafe {
                            Tile {
                                k: kcur,
                                a: ablock.add(a_off),
                                a_ks,
                                b: if b_in_place { b.at(pc, jc + jr) } else { bpack.add(jp * nr * kcur) },
                                rsb,
                                csb,
                                c: c.at(ic + ir, jc + jr),
                                rsc: c.rs,
                                csc: c.cs,
                                m: rows,
                                n: cols,
                                alpha,
                                beta,
                                prefetch_c: beta != T::ZERO,
                                a_pack: std::ptr::null_mut(),
                            }
                        };
                        if a_fused && jp == 0 {
                            let dst = tile.a.cast_mut();
                            // SAFETY: (ic + ir, pc) is inside A.
                            let src = unsafe { a.at(ic + ir, pc) };
                            if rows == mr && cols == nr {
                                // The first column of tiles packs A's panels as it reads
                                // them in place (rows unit stride, `a.cs` between steps).
                                tile.a = src;
                                tile.a_ks = a.cs;
                                tile.a_pack = dst;
                                // SAFETY: a full tile: A's MR rows ic+ir.. over kcur steps
                                // are readable, the panel at `dst` (kcur·MR elements of the
                                // A buffer) is what it writes, and B and C are as below.
                                unsafe { kern.pack_a[usize::from(b_columns)](&tile) };
                                continue;
                            }
                            // An edge panel (or a narrow C): packed apart, zero-padded.
                            // SAFETY: rows ic+ir..ic+ir+rows and columns pc..pc+kcur are
                            // inside A; the panel's kcur·MR elements are inside the buffer.
                            unsafe { pack_a(rows, kcur, Strided { ptr: src, ..a }, mr, dst) };
                        }
                        // The fixed-stride kernel needs k-major B and full (or padded)
                        // rows; otherwise the direct kernel of the exact tile shape.
                        let f = if !b_columns && (rows == mr || !a_in_place) {
                            kern.packed
                        } else {
                            kern.direct[rows.div_ceil(lanes) - 1][cols - 1]
                        };
                        // SAFETY: the A panel holds `rows` valid rows (padded to MR when
                        // packed) over kcur steps; the B micro-panel holds kcur steps of
                        // `cols` columns (zero-padded to NR when k-major); C's tile at
                        // (ic+ir, jc+jr) of rows × cols is inside C.
                        unsafe { f(&tile) };
                    }
                }
            }
        }
    }
}
