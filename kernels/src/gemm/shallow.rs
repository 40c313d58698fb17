//! The shallow path: depth `k ≤ 16` with a large C (`m·n ≥ 2¹⁶`), where writing C is
//! most of the work.
//!
//! A is packed once per call into tall micro-panels (`tall_mv` vectors of rows × k, one
//! contiguous stream each), and C is walked in strips of six columns, each strip top to
//! bottom in tall tiles. Reading a column-major A in place instead puts its k columns
//! (often a multiple of 4 KiB apart, as are C's) in the same L1 sets as the C lines the
//! tile is writing, so A is refetched from L2 for every tile; twelve-column strips also
//! keep twice as many write streams open. Measured on the Zen 4 VM (f32, m·n·k =
//! 2048·2048·8 and 1024·1024·8, one process, the variants interleaved, median of 7–9
//! rounds, time against faer in the same round): 32 × 12 tiles reading A in place 1.11 ×
//! and 0.55 ×; the same tiles on packed A 1.19 ×; these tall tiles on packed A 1.55 × and
//! 1.27 × (matrixmultiply 1.41 × and 0.69 ×). Aligning C's tiles to cache lines (a peeled
//! first strip of rows) added 1–2%, within the rounds' spread, so it is not done.
//! Criterion, which runs each implementation back to back, still has the peers ahead at
//! 2048² × 8 (f32 0.84 ×, f64 0.74 × faer; 0.65 × and 0.70 × before): see ARCHITECTURE.md.

use super::buffer::{PackBuf, Slot};
use super::driver::{MIN_FMAS_PER_THREAD, SendPtr, fmas, part, run_grid, threads_for};
use super::kernel::Tile;
use super::packing::pack_a;
use super::table::Kernels;
use super::{Par, Problem};
use crate::Element;

/// Columns of C per strip (the tall tiles' widest).
const STRIP: usize = 6;

/// `C ← α·A·B + β·C` for a shallow product with a column-contiguous A.
///
/// # Safety
/// As for `driver::gemm`, plus `a.rs == 1`.
pub(super) unsafe fn shallow<T: Element>(kern: &Kernels<T>, par: Par, g: Problem<T>) {
    let Problem { m, n, k, alpha, a, b, beta, c } = g;
    let (lanes, rp) = (kern.lanes, kern.tall_mv * kern.lanes);
    let panels = m.div_ceil(rp);
    // Packed on the calling thread, then read by every thread (all need all of A).
    let mut buf = PackBuf::take(Slot::A, (panels * rp * k).max(1) * size_of::<T>());
    let packed = buf.as_mut_ptr::<T>();
    // SAFETY: A (m × k) is readable; the buffer holds panels·rp·k elements.
    unsafe { pack_a(m, k, a, rp, packed) };
    let packed = SendPtr(packed);
    // Threads take whole strips; each element's tile and sums are the same for any count.
    let t = threads_for(par, fmas(m, n, k), MIN_FMAS_PER_THREAD);
    run_grid(1, t, |_, tj| {
        let (j0, j1) = part(n, STRIP, t, tj);
        for jr in (j0..j1).step_by(STRIP) {
            let cols = STRIP.min(j1 - jr);
            for p in 0..panels {
                let ir = p * rp;
                let rows = rp.min(m - ir);
                // A partial last panel runs as direct tiles of at most MR rows over the
                // same packed panel, so every tile's last vector is its only partial one.
                let mut i = 0;
                while i < rows {
                    let (f, r) = if rows == rp {
                        (kern.tall[cols - 1], rp)
                    } else {
                        let r = kern.mr.min(rows - i);
                        (kern.direct[r.div_ceil(lanes) - 1][cols - 1], r)
                    };
                    // SAFETY: packed panel p holds rows ir..ir+rp of A (zero-padded) over k
                    // steps of rp elements; rows ir+i..ir+i+r < m and columns jr..jr+cols ≤
                    // n of B and C are inside the operands; threads own disjoint strips.
                    unsafe {
                        let tile = Tile {
                            k,
                            a: packed.get().add(p * rp * k + i).cast_const(),
                            a_ks: rp as isize,
                            b: b.at(0, jr),
                            rsb: b.rs,
                            csb: b.cs,
                            c: c.at(ir + i, jr),
                            rsc: c.rs,
                            csc: c.cs,
                            m: r,
                            n: cols,
                            alpha,
                            beta,
                            prefetch_c: false,
                        };
                        f(&tile);
                    }
                    i += r;
                }
            }
        }
    });
    drop(buf);
}
