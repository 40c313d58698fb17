//! The shallow path: depth `k ≤ 16` with a large C (`m·n ≥ 2¹⁸`), where writing C is
//! most of the work.
//!
//! A is packed once per call (in chunks of 4096 rows) into tall micro-panels (`tall_mv`
//! vectors of rows × k, one contiguous stream each), and C is walked in strips of six
//! columns, each strip top to bottom in tall tiles. Reading a column-major A in place
//! instead puts its k columns (often a multiple of 4 KiB apart, as are C's) in the same L1
//! sets as the C lines the tile is writing, so A is refetched from L2 for every tile;
//! twelve-column strips also keep twice as many write streams open. Measured on the Zen 4 VM (f32, m·n·k =
//! 2048·2048·8 and 1024·1024·8, one process, the variants interleaved, median of 7–9
//! rounds, time against faer in the same round): 32 × 12 tiles reading A in place 1.11 ×
//! and 0.55 ×; the same tiles on packed A 1.19 ×; these tall tiles on packed A 1.55 × and
//! 1.27 × (matrixmultiply 1.41 × and 0.69 ×). Aligning C's tiles to cache lines (a peeled
//! first strip of rows) added 0–5% with normal stores, within the rounds' spread (measured
//! twice, C at 0, 16 and 32 bytes into a line), so rows are peeled only for the
//! non-temporal stores below, which need aligned addresses.
//!
//! When C is only written (β = 0) and is at least the last-level cache's size, the full
//! tall tiles store it non-temporally (`vmovntp*`), as the elementwise kernels do for
//! large outputs: a line is then written without first being read for ownership. Rows
//! are peeled so the tiles start on cache lines; the fence before the join publishes C.
//! Measured (same harness, f64 2048² × 8, C = 32 MiB): 0.75–0.84 × faer without, 1.03–1.19 ×
//! with; f32 at 4096 × 2048 × 8 (also 32 MiB) unchanged (0.99–1.05 ×) and f32 at 2048²
//! (16 MiB, under the L3) 4–10% slower when forced, hence the threshold.

use super::buffer::{PackBuf, Slot};
use super::driver::{SendPtr, fmas, min_fmas_per_thread, part, run_grid, tall_or_direct, threads_for};
use super::kernel::Tile;
use super::packing::{Strided, pack_a};
use super::table::Kernels;
use super::{Par, Problem};
use crate::Element;
use crate::simd::math::stream_fence;

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
    // A C larger than the last-level cache that is only written (β = 0) is stored
    // non-temporally: its lines are not read for ownership first.
    let bytes = g.m.saturating_mul(g.n).saturating_mul(size_of::<T>());
    let nt = g.beta == T::ZERO && g.c.rs == 1 && bytes >= crate::CacheSizes::detected().l3.max(1 << 20);
    // SAFETY: forwarded contract; `nt` only with β = 0 and unit-stride rows of C.
    unsafe { shallow_with(kern, par, g, nt) }
}

/// [`shallow`], storing C's full tall tiles non-temporally when `nt`. The first `h` rows
/// are then peeled so that the tall tiles start on a cache line (in every column when C's
/// column stride is a whole number of lines).
///
/// # Safety
/// As for [`shallow`], and `nt` only with `β = 0` and `c.rs == 1`.
unsafe fn shallow_with<T: Element>(kern: &Kernels<T>, par: Par, g: Problem<T>, nt: bool) {
    let Problem { m, n, k, alpha, a, b, beta, c } = g;
    let rp = kern.tall_mv * kern.lanes;
    let esz = size_of::<T>();
    let addr = c.ptr as usize;
    let line_gap = (64 - addr % 64) % 64 / esz;
    // (Kept below m, so the chunk loop below, which runs the peel, runs at least once.)
    let h = if nt && addr.is_multiple_of(esz) && line_gap < m { line_gap } else { 0 };
    // A is packed CHUNK_ROWS rows at a time (one chunk for m ≤ CHUNK_ROWS), so the buffer
    // stays at most CHUNK_ROWS·16 elements whatever m is.
    let mut buf = PackBuf::take(Slot::A, CHUNK_ROWS.min(m - h).div_ceil(rp) * rp * k * size_of::<T>());
    let packed = SendPtr(buf.as_mut_ptr::<T>());
    // Threads take whole strips; each element's tile and sums are the same for any count.
    let t = threads_for(par, fmas(m, n, k), min_fmas_per_thread(kern));
    let tall = if nt { kern.tall_nt } else { kern.tall };
    // The tile of `rows` × `cols` with A, B and C's corners at `a_tile`, `bj` and `cij`.
    let tile = |a_tile: *const T, a_ks: isize, rows: usize, bj: *const T, cij: *mut T, cols: usize| Tile {
        k,
        a: a_tile,
        a_ks,
        b: bj,
        rsb: b.rs,
        csb: b.cs,
        c: cij,
        rsc: c.rs,
        csc: c.cs,
        m: rows,
        n: cols,
        alpha,
        beta,
        prefetch_c: false,
        a_pack: std::ptr::null_mut(),
    };
    for i0 in (h..m).step_by(CHUNK_ROWS) {
        let mc = CHUNK_ROWS.min(m - i0);
        // Packed on the calling thread, then read by every thread (all need all of it).
        // SAFETY: rows i0..i0+mc of A (m × k) are readable; the buffer holds
        // ceil(min(CHUNK_ROWS, m - h)/rp)·rp·k ≥ ceil(mc/rp)·rp·k elements.
        unsafe { pack_a(mc, k, Strided { ptr: a.at(i0, 0), ..a }, rp, packed.get()) };
        run_grid(1, t, |_, tj| {
            let (j0, j1) = part(n, STRIP, t, tj);
            for jr in (j0..j1).step_by(STRIP) {
                let cols = STRIP.min(j1 - jr);
                if i0 == h && h > 0 {
                    // The peeled rows, reading A in place (a.rs = 1).
                    let (f, _) = tall_or_direct(kern, (kern.tall, rp), h, cols);
                    // SAFETY: rows 0..h ≤ m of A (in place, unit row stride, k columns at
                    // a.cs), and columns jr..jr+cols ≤ n of B and C are inside the operands;
                    // threads own disjoint strips.
                    unsafe { f(&tile(a.at(0, 0), a.cs, h, b.at(0, jr), c.at(0, jr), cols)) };
                }
                // Down the chunk: tall tiles, the last partial panel in direct tiles,
                // all over the packed panels (panel ir / rp, row ir % rp within it).
                let mut ir = 0;
                while ir < mc {
                    let (f, rows) = tall_or_direct(kern, (tall, rp), mc - ir, cols);
                    let a_tile = packed.get().wrapping_add(ir / rp * rp * k + ir % rp).cast_const();
                    // SAFETY: packed panel ir / rp holds rows i0 + ir - ir % rp onwards of A
                    // (zero-padded) over k steps of rp elements; rows i0+ir..i0+ir+rows ≤ m
                    // and columns jr..jr+cols ≤ n of B and C are inside the operands;
                    // threads own disjoint strips.
                    unsafe { f(&tile(a_tile, rp as isize, rows, b.at(0, jr), c.at(i0 + ir, jr), cols)) };
                    ir += rows;
                }
            }
            if nt {
                // The non-temporal stores are ordered before the join hands C back.
                stream_fence();
            }
        });
    }
    drop(buf);
}

#[cfg(test)]
mod tests {
    use super::super::StridedMut;
    use super::*;
    use crate::Isa;
    use crate::gemm::table::kernels_for;

    /// The streamed walk (forced on, whatever the cache size) against a plain triple loop,
    /// for every kernel path the host has. Integer-valued operands in -4..=4 with k ≤ 16
    /// keep every sum below 2⁹, exact in f32 and f64, so the comparison is equality. C sits
    /// at every element offset within a cache line, with column strides that are and are
    /// not whole lines, so the peeled rows, the aligned tall tiles and the unaligned
    /// fallback all run; the gaps between columns hold NaN and must stay NaN.
    fn check<T: Element>() {
        let line = 64 / size_of::<T>();
        for isa in Isa::available() {
            let kern = kernels_for::<T>(isa);
            // Under Miri (the portable path only: 8 or 4 lanes, tall panels of 16 or 8 rows)
            // smaller shapes and three offsets still reach the peel, tall tiles and tail.
            let shapes: &[(usize, usize, usize, usize)] = if cfg!(miri) {
                &[(70, 7, 5, 0), (70, 3, 3, 3), (3, 8, 2, 0)]
            } else {
                &[(300, 13, 5, 0), (300, 13, 5, 3), (150, 7, 16, 1), (20, 9, 1, 0), (3, 8, 2, 0)]
            };
            let offsets: Vec<usize> = if cfg!(miri) { vec![0, 1, line - 1] } else { (0..line).collect() };
            for &(m, n, k, pad) in shapes {
                let ldc = if pad == 0 { m.next_multiple_of(line) } else { m + pad };
                let a: Vec<T> = (0..m * k).map(|i| T::from_f64(((i * 7) % 9) as f64 - 4.0)).collect();
                let b: Vec<T> = (0..k * n).map(|i| T::from_f64(((i * 5) % 9) as f64 - 4.0)).collect();
                for &off in &offsets {
                    for threads in [1, 2] {
                        let mut buf = vec![T::from_f64(f64::NAN); off + ldc * n + line];
                        // Where the buffer starts within a line varies by allocation: the
                        // offset walks C's start over every position in its line.
                        let base = (buf.as_ptr() as usize / size_of::<T>()).wrapping_neg() % line;
                        let c0 = base + off;
                        // SAFETY: c0 + ldc·n ≤ buf.len() (base, off < line).
                        let c_ptr = unsafe { buf.as_mut_ptr().add(c0) };
                        let g = Problem {
                            m,
                            n,
                            k,
                            alpha: T::from_f64(2.0),
                            a: Strided { ptr: a.as_ptr(), rs: 1, cs: m as isize },
                            b: Strided { ptr: b.as_ptr(), rs: 1, cs: k as isize },
                            beta: T::ZERO,
                            c: StridedMut { ptr: c_ptr, rs: 1, cs: ldc as isize },
                        };
                        // SAFETY: the operands above are in bounds for m × k, k × n and
                        // m × n (column stride ldc ≥ m); β = 0 and C's rows unit stride.
                        unsafe { shallow_with(kern, Par::Threads(threads), g, true) };
                        for (idx, &x) in buf.iter().enumerate() {
                            let (j, i) = ((idx.wrapping_sub(c0)) / ldc, (idx.wrapping_sub(c0)) % ldc);
                            if idx < c0 || j >= n || i >= m {
                                assert!(
                                    x.to_f64().is_nan(),
                                    "{isa} {m}×{n}×{k}: element {idx} outside C written"
                                );
                                continue;
                            }
                            let want: f64 =
                                (0..k).map(|p| a[i + p * m].to_f64() * b[p + j * k].to_f64()).sum();
                            assert_eq!(
                                x.to_f64(),
                                2.0 * want,
                                "{isa} {m}×{n}×{k} off {off} ldc {ldc}: C({i}, {j})"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn streamed_stores_match_the_reference_f32() {
        check::<f32>();
    }

    #[test]
    fn streamed_stores_match_the_reference_f64() {
        check::<f64>();
    }
}
