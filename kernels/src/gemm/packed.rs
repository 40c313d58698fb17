//! The packed path: BLIS's five loops for problems too large to read in place.
//!
//! B is always packed, one `KC × NC` panel at a time, into `NR`-column micro-panels. Its
//! packed layout follows its source so packing is a plain copy: column-major sources
//! keep each column's `KC` elements contiguous (`csb = KC`), others are laid out k-major
//! (`NR` elements per k-step, zero-padded) for the fixed-stride packed kernel. A is packed
//! into `MR`-row micro-panels when its rows are not unit stride or its columns lie far
//! apart; otherwise it is read in place, block by block (its columns are already what a
//! packed panel holds).

use super::blocking::Blocking;
use super::buffer::{PackBuf, Slot};
use super::driver::{MIN_FMAS_PER_THREAD, SendPtr, grid, part, run_grid, threads_for};
use super::kernel::Tile;
use super::packing::{Strided, pack_a, pack_b};
use super::table::Kernels;
use super::StridedMut;
use crate::Element;

/// Largest distance between A's columns, in bytes, at which A is still read in place: at
/// 2 KiB a 4 KiB page holds two k-steps of a micro-panel, so a `KC`-deep walk stays within
/// the L1 TLB's reach.
const A_IN_PLACE_MAX_COLUMN_BYTES: usize = 2048;

/// The packed path.
///
/// # Safety
/// A (`m × k`), B (`k × n`) and C (`m × n`) are valid for their strides; C's elements are
/// distinct addresses that overlap neither A nor B; nothing else accesses C meanwhile.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn packed<T: Element>(
    kern: &Kernels<T>,
    threads: usize,
    blocking: Blocking,
    (m, n, k): (usize, usize, usize),
    alpha: T,
    a: Strided<T>,
    b: Strided<T>,
    beta: T,
    c: StridedMut<T>,
) {
    let (mr, nr, lanes) = (kern.mr, kern.nr, kern.lanes);
    let elem = size_of::<T>();
    // Round caller-supplied sizes to whole micro-panels.
    let (mc, kc) = (blocking.mc.next_multiple_of(mr).max(mr), blocking.kc.max(1));
    let nc = blocking.nc.next_multiple_of(nr).max(nr);
    let t = threads_for(threads, m * n * k, MIN_FMAS_PER_THREAD);
    let b_columns = b.rs == 1;
    // A column-contiguous A is read in place unless its columns are far apart (then each
    // k-step of a micro-panel touches a new page: TLB misses) and it is reused across
    // enough columns of C to amortise a copy.
    let a_in_place = a.rs == 1 && (a.cs.unsigned_abs() * elem <= A_IN_PLACE_MAX_COLUMN_BYTES || n <= 4 * nr);
    let mut bbuf = PackBuf::take(Slot::B, kc * nc.next_multiple_of(nr) * elem);
    let bpack = SendPtr(bbuf.as_mut_ptr::<T>());
    // LOOP 5: split n into NC panels.
    for jc in (0..n).step_by(nc) {
        let ncur = nc.min(n - jc);
        let panels = ncur.div_ceil(nr);
        let (tm, tn) = grid(t, m.div_ceil(mr), panels);
        // LOOP 4: split k into KC panels (never across threads).
        for pc in (0..k).step_by(kc) {
            let kcur = kc.min(k - pc);
            // Micro-panel jp starts at jp·NR·kcur; within it B(p, j) is at p·rsb + j·csb.
            let (rsb, csb) = if b_columns { (1, kcur as isize) } else { (nr as isize, 1) };
            run_grid(t.min(panels), 1, |ti, _| {
                let (p0, p1) = part(panels, 1, t.min(panels), ti);
                let (j0, j1) = (p0 * nr, (p1 * nr).min(ncur));
                if j0 >= j1 {
                    return;
                }
                // SAFETY: rows pc..pc+kcur and columns jc+j0..jc+j1 are inside B; panels
                // p0..p1 lie inside the buffer (kc·NC elements) and are disjoint between
                // threads.
                unsafe {
                    let dst = bpack.get().add(p0 * nr * kcur);
                    if b_columns {
                        for j in j0..j1 {
                            let src = b.at(pc, jc + j);
                            std::ptr::copy_nonoverlapping(src, dst.add((j - j0) * kcur), kcur);
                        }
                    } else {
                        pack_b(kcur, j1 - j0, Strided { ptr: b.at(pc, jc + j0), ..b }, nr, dst);
                    }
                }
            });
            let beta = if pc == 0 { beta } else { T::ONE };
            run_grid(tm, tn, |ti, tj| {
                let (i0, i1) = part(m, mr, tm, ti);
                let (p0, p1) = part(panels, 1, tn, tj);
                if i0 == i1 || p0 == p1 {
                    return;
                }
                let mut abuf = (!a_in_place).then(|| PackBuf::take(Slot::A, kcur * mc * elem));
                // LOOP 3: split this thread's rows into MC blocks.
                for ic in (i0..i1).step_by(mc) {
                    let mcur = mc.min(i1 - ic);
                    // A(ic + i, pc + p) is at ablock + i + p·a_ks (in place), or in the
                    // packed micro-panel i / MR at offset p·MR + i % MR.
                    // SAFETY: (ic, pc) is inside A.
                    let (ablock, a_ks) = match abuf.as_mut() {
                        None => (unsafe { a.at(ic, pc) }, a.cs),
                        Some(buf) => {
                            let dst = buf.as_mut_ptr::<T>();
                            // SAFETY: rows ic..ic+mcur and columns pc..pc+kcur are inside
                            // A; the buffer holds mc·kcur ≥ ceil(mcur/MR)·MR·kcur elements.
                            unsafe { pack_a(mcur, kcur, Strided { ptr: a.at(ic, pc), ..a }, mr, dst) };
                            (dst.cast_const(), mr as isize)
                        }
                    };
                    // LOOP 2: NR micro-panels of B; LOOP 1: MR micro-panels of A.
                    for jp in p0..p1 {
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
                            // SAFETY: the A panel holds `rows` valid rows (padded to MR
                            // when packed) over kcur steps; the B micro-panel holds kcur
                            // steps of `cols` columns (zero-padded to NR when k-major); C's
                            // tile at (ic+ir, jc+jr) of rows × cols is inside C and owned by
                            // this thread alone.
                            unsafe {
                                let tile = Tile {
                                    k: kcur,
                                    a: ablock.add(a_off),
                                    a_ks,
                                    b: bpack.get().add(jp * nr * kcur),
                                    rsb,
                                    csb,
                                    c: c.at(ic + ir, jc + jr),
                                    rsc: c.rs,
                                    csc: c.cs,
                                    m: rows,
                                    n: cols,
                                    alpha,
                                    beta,
                                };
                                f(&tile);
                            }
                        }
                    }
                }
            });
        }
    }
}
