//! Block sizes of the five BLIS loops, derived from the detected cache sizes.
//!
//! | constant | loop it cuts | what must fit |
//! | --- | --- | --- |
//! | `NR` | LOOP 2: n into micro-panels | a register tile (per kernel, `table.rs`) |
//! | `MR` | LOOP 1: m into micro-panels | a register tile (per kernel, `table.rs`) |
//! | `KC` | LOOP 4: k into panels | one B micro-panel (`KC × NR`) of 4-byte elements in half of L1d, leaving room for the A stream (f64 keeps that depth: its panel fills L1d) |
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
    /// ```
    pub fn for_caches(c: CacheSizes, mr: usize, nr: usize, elem: usize) -> Blocking {
        // KC: a 4-byte B micro-panel in half of L1d, the same depth for f64 (whose panel
        // then fills L1d); at least 64 deep so the tile's write-back (MR·NR loads and
        // stores of C) stays small next to its KC·MR·NR FMAs. For f64 on Zen 5 (ratio to
        // faer at n = 512 / 1024 / 2048, two runs of one criterion build): KC = 256 (half
        // of L1d) 0.95 / 0.95 / 1.01 and 0.92 / 0.95 / 1.05, KC = 512 0.97 / 0.99 / 1.02
        // and 0.95 / 1.00 / 1.01: the C tiles are written back half as often.
        let kc = (c.l1d / 2 / (nr * 4)).clamp(64, 1024) / 8 * 8;
        // MC: packed A block in half of L2.
        let mc = ((c.l2 / 2 / (kc * elem)) / mr).max(1) * mr;
        // NC: packed B panel in a quarter of the shared L3, capped so the buffer stays
        // modest; at least one micro-panel.
        let nc = ((c.l3 / 4 / (kc * elem)) / nr).clamp(1, 8192 / nr) * nr;
        Blocking { mc, kc, nc }
    }
}
