//! The packed path: BLIS's five loops for problems too large to read in place.
//!
//! B is always packed, one `KC × NC` panel at a time, into `NR`-column micro-panels. Its
//! packed layout follows its source so packing is a plain copy: column-major sources
//! keep each column's `KC` elements contiguous (`csb = KC`), others are laid out k-major
//! (`NR` elements per k-step, zero-padded) for the fixed-stride packed kernel. A is packed
//! into `MR`-row micro-panels, except that a column-contiguous A feeding only a few
//! columns of C is read in place, block by block (its columns are already what a packed
//! panel holds, and a copy would not be amortised).

use super::blocking::Blocking;
use super::buffer::{PackBuf, Slot};
use super::driver::{MIN_FMAS_PER_THREAD, fmas, grid, part, run_grid, threads_for};
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
    let t = threads_for(par, fmas(m, n, k), MIN_FMAS_PER_THREAD);
    if t == 1 {
        // SAFETY: the caller's contract.
        return unsafe { sequential(kern, blocking, g) };
    }
    let (tm, tn) = grid(t, m.div_ceil(mr), n.div_ceil(nr));
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
    let mut bbuf = PackBuf::take(Slot::B, kc * nc.next_multiple_of(nr) * elem);
    let bpack = bbuf.as_mut_ptr::<T>();
    let mut abuf = (!a_in_place).then(|| PackBuf::take(Slot::A, kc * mc * elem));
    // LOOP 5: split n into NC panels.
    for jc in (0..n).step_by(nc) {
        let ncur = nc.min(n - jc);
        let panels = ncur.div_ceil(nr);
        // LOOP 4: split k into KC panels.
        for pc in (0..k).step_by(kc) {
            let kcur = kc.min(k - pc);
            // Micro-panel jp starts at jp·NR·kcur; within it B(p, j) is at p·rsb + j·csb.
            let (rsb, csb) = if b_columns { (1, kcur as isize) } else { (nr as isize, 1) };
            // SAFETY: rows pc..pc+kcur and columns jc..jc+ncur are inside B; the buffer
            // holds kc·NC ≥ kcur·panels·NR elements.
            unsafe {
                if b_columns {
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
                // packed micro-panel i / MR at offset p·MR + i % MR.
                let (ablock, a_ks) = match abuf.as_mut() {
                    // SAFETY: (ic, pc) is inside A.
                    None => (unsafe { a.at(ic, pc) }, a.cs),
                    Some(buf) => {
                        let dst = buf.as_mut_ptr::<T>();
                        // SAFETY: rows ic..ic+mcur and columns pc..pc+kcur are inside A;
                        // the buffer holds mc·kc ≥ ceil(mcur/MR)·MR·kcur elements.
                        unsafe { pack_a(mcur, kcur, Strided { ptr: a.at(ic, pc), ..a }, mr, dst) };
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
                        unsafe {
                            let tile = Tile {
                                k: kcur,
                                a: ablock.add(a_off),
                                a_ks,
                                b: bpack.add(jp * nr * kcur),
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
                            };
                            f(&tile);
                        }
                    }
                }
            }
        }
    }
}
