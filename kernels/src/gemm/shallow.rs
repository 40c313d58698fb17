//! The shallow path: depth `k ≤ 16` with a large C (`m·n ≥ 2¹⁸`), where writing C is
//! most of the work.
//!
//! A is packed once per call (in chunks of 4096 rows) into tall micro-panels (`tall_mv`
//! vectors of rows × k, one contiguous stream each), and C is walked in strips of six
//! columns, each strip top to bottom in tall tiles. Reading a column-major A in place
//! instead puts its k columns (often a multiple of 4 KiB apart, as are C's) in the same L1
//! sets as the C lines the tile is writing, so A is refetched from L2 for every tile; twelve-column strips also
//! keep twice as many write streams open. Measured on the Zen 4 VM (f32, m·n·k =
//! 2048·2048·8 and 1024·1024·8, one process, the variants interleaved, median of 7–9
//! rounds, time against faer in the same round): 32 × 12 tiles reading A in place 1.11 ×
//! and 0.55 ×; the same tiles on packed A 1.19 ×; these tall tiles on packed A 1.55 × and
//! 1.27 × (matrixmultiply 1.41 × and 0.69 ×). Aligning C's tiles to cache lines (a peeled
//! first strip of rows) added 1–2%, within the rounds' spread, so it is not done.
//! Criterion (`cargo xtask bench gemm`, one run) at 2048² × 8: f32 0.96 × the best peer,
//! f64 0.81 × (0.65 × and 0.70 × before): see ARCHITECTURE.md.

use super::buffer::{PackBuf, Slot};
use super::driver::{MIN_FMAS_PER_THREAD, SendPtr, fmas, part, run_grid, tall_or_direct, threads_for};
use super::kernel::Tile;
use super::packing::{Strided, pack_a};
use super::table::Kernels;
use super::{Par, Problem};
use crate::Element;

/// Columns of C per strip (the tall tiles' widest).
const STRIP: usize = 6;
/// Rows of A packed at a time (a multiple of every tall panel height): 256 KiB of f32 at
/// k = 16, and one chunk for the measured shapes (m ≤ 2048).
const CHUNK_ROWS: usize = 4096;

/// `C ← α·A·B + β·C` for a shallow product with a column-contiguous A.
///
/// # Safety
/// As for `driver::gemm`, plus `a.rs == 1`.
pub(super) unsafe fn shallow<T: Element>(kern: &Kernels<T>, par: Par, g: Problem<T>) {
    let Problem { m, n, k, alpha, a, b, beta, c } = g;
    let rp = kern.tall_mv * kern.lanes;
    // A is packed CHUNK_ROWS rows at a time (one chunk for m ≤ CHUNK_ROWS), so the buffer
    // stays at most CHUNK_ROWS·16 elements whatever m is.
    let mut buf = PackBuf::take(Slot::A, CHUNK_ROWS.min(m).div_ceil(rp) * rp * k * size_of::<T>());
    let packed = SendPtr(buf.as_mut_ptr::<T>());
    // Threads take whole strips; each element's tile and sums are the same for any count.
    let t = threads_for(par, fmas(m, n, k), MIN_FMAS_PER_THREAD);
    for i0 in (0..m).step_by(CHUNK_ROWS) {
        let mc = CHUNK_ROWS.min(m - i0);
        // Packed on the calling thread, then read by every thread (all need all of it).
        // SAFETY: rows i0..i0+mc of A (m × k) are readable; the buffer holds
        // ceil(min(CHUNK_ROWS, m)/rp)·rp·k ≥ ceil(mc/rp)·rp·k elements.
        unsafe { pack_a(mc, k, Strided { ptr: a.at(i0, 0), ..a }, rp, packed.get()) };
        run_grid(1, t, |_, tj| {
            let (j0, j1) = part(n, STRIP, t, tj);
            for jr in (j0..j1).step_by(STRIP) {
                let cols = STRIP.min(j1 - jr);
                // Down the chunk: tall tiles, the last partial panel in direct tiles,
                // all over the packed panels (panel ir / rp, row ir % rp within it).
                let mut ir = 0;
                while ir < mc {
                    let (f, rows) = tall_or_direct(kern, mc - ir, cols);
                    // SAFETY: packed panel ir / rp holds rows i0 + ir - ir % rp onwards of A
                    // (zero-padded) over k steps of rp elements; rows i0+ir..i0+ir+rows ≤ m
                    // and columns jr..jr+cols ≤ n of B and C are inside the operands;
                    // threads own disjoint strips.
                    unsafe {
                        let tile = Tile {
                            k,
                            a: packed.get().add(ir / rp * rp * k + ir % rp).cast_const(),
                            a_ks: rp as isize,
                            b: b.at(0, jr),
                            rsb: b.rs,
                            csb: b.cs,
                            c: c.at(i0 + ir, jr),
                            rsc: c.rs,
                            csc: c.cs,
                            m: rows,
                            n: cols,
                            alpha,
                            beta,
                            prefetch_c: false,
                        };
                        f(&tile);
                    }
                    ir += rows;
                }
            }
        });
    }
    drop(buf);
}
