//! Block sizes of the five BLIS loops, derived from the detected cache sizes.
//!
//! | constant | loop it cuts | what must fit |
//! | --- | --- | --- |
//! | `NR` | LOOP 2: n into micro-panels | a register tile (per kernel, `table.rs`) |
//! | `MR` | LOOP 1: m into micro-panels | a register tile (per kernel, `table.rs`) |
//! | `KC` | LOOP 4: k into panels | one B micro-panel (`KC × NR`) in three quarters of L1d (f32) or all of it (f64), at most 512 deep |
//! | `MC` | LOOP 3: m into blocks | the packed A block (`MC × KC`) in half of L2 |
//! | `NC` | LOOP 5: n into panels | the packed B panel (`KC × NC`) in a quarter of L3 |

use crate::cache::CacheSizes;

/// Block sizes for one kernel shape and element size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocking {
    /// Rows of the packed A block (multiple of `MR`).
    pub mc: usize,
    /// Depth of a packed panel.
    pub kc: usize,
    /// Columns of the packed B panel (multiple of `NR`).
    pub nc: usize,
}

impl Blocking {
    /// Derives block sizes for an `mr × nr` kernel on `elem`-byte elements.
    ///
    /// ```
    /// use kernels::{Blocking, CacheSizes};
    /// let c = CacheSizes { l1d: 48 << 10, l2: 1 << 20, l3: 32 << 20 };
    /// let b = Blocking::for_caches(c, 32, 12, 4);
    /// assert_eq!((b.kc, b.mc % 32, b.nc % 12), (512, 0, 0));
    /// // A 32 KiB L1d: f32's 512-deep panel (24 KiB) fits in three quarters of it, f64's
    /// // 512-deep one (48 KiB) would not, so f64 goes as deep as L1d holds (32768 / 96).
    /// let c = CacheSizes { l1d: 32 << 10, ..c };
    /// assert_eq!(Blocking::for_caches(c, 32, 12, 4).kc, 512);
    /// assert_eq!(Blocking::for_caches(c, 16, 12, 8).kc, 336);
    /// ```
    pub fn for_caches(c: CacheSizes, mr: usize, nr: usize, elem: usize) -> Blocking {
        // KC: the B micro-panel (`KC × NR`) in three quarters of L1d for f32, all of it for
        // f64, capped at 512; at least 64 deep so the tile's write-back (MR·NR loads and
        // stores of C) stays small next to its KC·MR·NR FMAs. On Zen 5 and the Intel Xeon
        // (L1d 48 KiB) this is 512 for both types: for f64 on Zen 5 (ours / faer, two
        // criterion runs of one build) KC = 256 gave 0.92–0.95 at n = 512 / 1024 against
        // 0.95–1.00 at 512 (the C tiles written back half as often); f32 at 1024 was ±1%
        // of 512. On Zen 4 (L1d 32 KiB; ours / faer interleaved in one process, median of
        // 5–7 rounds) f32 at KC = 512 gave 0.956–0.966 at n = 512 and 1024 against
        // 0.931–0.933 at 336 (half of L1d), while f64 at 512 (a 48 KiB panel, past L1d)
        // lost: 0.89–0.91 at n = 512–2048 against 0.92–0.97 at 336 (both with the 12-column
        // tiles used then; the 8-column AVX-512 tiles since make f64's panel 512 deep
        // there, exactly L1d, and the packed path reads a column-major B in place).
        let share = if elem == 4 { c.l1d * 3 / 4 } else { c.l1d };
        let kc = (share / (nr * elem)).clamp(64, 512) / 8 * 8;
        // MC: packed A block in half of L2.
        let mc = ((c.l2 / 2 / (kc * elem)) / mr).max(1) * mr;
        // NC: packed B panel in a quarter of the shared L3, capped so the buffer stays
        // modest; at least one micro-panel.
        let nc = ((c.l3 / 4 / (kc * elem)) / nr).clamp(1, 8192 / nr) * nr;
        Blocking { mc, kc, nc }
    }
}
