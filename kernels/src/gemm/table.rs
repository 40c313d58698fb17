//! Per-instruction-set kernel tables: the generic bodies of `kernel.rs` and `gemv.rs`
//! instantiated inside `#[target_feature]` functions, collected once as function pointers.
//!
//! Register tiles (`MR = MV·LANES` rows × `NR` columns of accumulators):
//!
//! | path | f32 | f64 | accumulator registers |
//! | --- | --- | --- | --- |
//! | AVX-512 | 48 × 8 | 24 × 8 | 24 of 32 `zmm` |
//! | AVX2+FMA | 16 × 6 | 8 × 6 | 12 of 16 `ymm` |
//! | portable (`wide`) | 16 × 6 | 8 × 6 | as AVX2 |
//!
//! Twelve or more independent accumulators cover the FMA latency (4 cycles) on two FMA
//! pipes. The AVX-512 tiles are three vectors tall and eight columns wide: each k-step
//! loads 3 vectors of A and broadcasts 8 elements of B (11 loads per 24 FMAs, against
//! 14 for the 32 × 12 / 16 × 12 tiles used until 2026-11-29), and eight columns let the
//! packed path read a column-major B in place (`packed.rs`). On Zen 4 the 24 × 8 f64 tile
//! alone measured 2–4% faster than 16 × 12 at n = 512–2048 and the 48 × 8 f32 tile ±1%
//! (ours / faer in one process); with B in place and A packed by the tiles, 3–6% (see
//! `packed.rs`). Direct (unpacked) tiles exist for every `MV ≤ 3` (AVX-512; 2 elsewhere)
//! and `N ≤ NR`, so small and edge problems never compute padding; the packed path uses
//! the full tile only. The AVX-512 tables also hold half-width (`ymm`) direct tiles for
//! tiles of at most `LANES / 2` rows: an 8-row f32 tile then loads whole vectors instead
//! of masked half-empty ones (8 × 8 × 8 f32, ours / faer in one process on Zen 5: 0.83 →
//! 1.04×; 8 × 16 × 8: 0.75 → 0.99×). Their partial vectors use AVX-512VL `k`-masked
//! loads and stores (`simd::x86::vl`), not AVX2's `vmaskmov`.

use super::dot::{Dot, DotFn, dot_tile};
use super::gemv::{Gemv, GemvFn, gemv_cols, gemv_rows};
use super::kernel::{Tile, TileFn, tile};
use crate::simd::Simd;
use crate::simd::portable::{PortableF32, PortableF64};
use crate::{Element, Isa};
use std::any::{Any, TypeId};

/// The kernels of one instruction set for one element type.
pub(crate) struct Kernels<T: 'static> {
    /// Elements per vector.
    pub lanes: usize,
    /// Register tile rows (`MV_MAX · lanes`).
    pub mr: usize,
    /// Register tile columns.
    pub nr: usize,
    /// Direct tiles, indexed `[mv - 1][n - 1]`; `mv` runs to `mr / lanes`, `n` to `nr`
    /// (the rest is [`no_tile`]). Held in place rather than behind slices: the tile of a
    /// small product is then one load from the table, not three dependent ones (f64 on
    /// Zen 5, ns a call through views: 4 × 4 × 4 17.5 → 16.5, 12³ 74.7 → 70.0; 8³ and
    /// 16³ unchanged within the noise).
    pub direct: TileGrid<T>,
    /// Half-width direct tiles (one vector of `lanes / 2` rows, `N = 1..=nr`), indexed
    /// `[n - 1]`, for direct tiles of at most `lanes / 2` rows; `None` where the path has
    /// none (AVX2 and portable: their vectors are already that narrow).
    pub half: Option<[TileFn<T>; MAX_NR]>,
    /// The packed full tile.
    pub packed: TileFn<T>,
    /// Full `MR × NR` tiles that pack A on the way (A read in place, rows unit stride):
    /// `[0]` for a k-major packed B, `[1]` for a column-panel B.
    pub pack_a: [TileFn<T>; 2],
    /// Tall direct tiles (`tall_mv` vectors of rows, `N = 1..=6` columns), indexed `[n - 1]`,
    /// for the shallow path's packed panels (see `shallow.rs`).
    pub tall: &'static [TileFn<T>],
    /// The tall tiles storing C non-temporally when β = 0 (see `shallow.rs`).
    pub tall_nt: &'static [TileFn<T>],
    /// Vectors of rows in a tall tile.
    pub tall_mv: usize,
    /// The tall path's tiles for `N = 1..=6` columns, indexed `[n - 1]`, each of
    /// `skinny_mv[n - 1]` vectors of rows: as many as the registers hold beside the
    /// accumulators, since more rows per k-step means fewer pages touched per byte of a
    /// column-major A (see `driver::tall`).
    pub skinny: &'static [TileFn<T>],
    /// The tall path's tiles prefetching A's rows ahead in k (an A beyond the L2).
    pub skinny_pf: &'static [TileFn<T>],
    /// Vectors of rows in each of the tall path's tiles.
    pub skinny_mv: [usize; 6],
    /// Direct tiles of one to four columns between the `direct` ones and the tall path's
    /// (`skinny`): `narrow[v][n - 1]` has `mr / lanes + 1 + v` vectors of rows, built and
    /// used up to `skinny_mv[n - 1] - 1` (AVX-512: 4 to 7 vectors at one or two columns,
    /// 4 to 6 at three, 4 and 5 at four; none elsewhere; other cells [`no_tile`]). With so few columns a `direct` tile holds
    /// at most twelve accumulators, and two or three vectors of rows leave the FMA latency
    /// exposed (64 × 2 × 64 f32 ran as two 32 × 2 tiles of four accumulators).
    /// Measured on Zen 5 (ours / faer in one process, before → after): f32 64 × 2 × 64
    /// 0.78 → 1.05, 96 × 2 × 96 0.77 → 0.91, 64 × 3 × 64 0.89 → 1.17, 100 × 3 × 100
    /// 0.93 → 1.12; f64 64 × 2 × 64 1.12 → 1.27, 32 × 2 × 32 1.39 → 1.71.
    pub narrow: &'static [[TileFn<T>; NARROW_MAX_N]],
    /// Dot-product tiles for skinny products, indexed `[S - 1]`.
    pub dot: &'static [DotFn<T>],
    /// Columns form (`rsa = 1`) of 1 (matrix-vector) to 6 columns, indexed `[n - 1]`.
    pub gemv_cols: [GemvFn<T>; 6],
    /// Matrix-vector, rows form (`csa = 1`, contiguous x).
    pub gemv_rows: GemvFn<T>,
}

/// Most columns of the [`Kernels::narrow`] tiles.
pub(crate) const NARROW_MAX_N: usize = 4;
/// Most columns of any register tile.
pub(crate) const MAX_NR: usize = 8;
/// Most vectors of rows of any register tile.
const MAX_MV: usize = 3;
/// Direct tiles by `[mv - 1][n - 1]`.
pub(crate) type TileGrid<T> = [[TileFn<T>; MAX_NR]; MAX_MV];

/// The filler of [`TileGrid`] cells past a path's tile shapes, which the driver never picks.
///
/// # Safety
/// None needed: it only panics.
unsafe fn no_tile<T>(_: &Tile<T>) {
    unreachable!("no direct tile of this shape on this kernel path")
}

/// The grid holding `rows[mv - 1][n - 1]`, padded with [`no_tile`].
const fn grid<T>(rows: &[&[TileFn<T>]]) -> TileGrid<T> {
    let mut out = [[no_tile::<T> as TileFn<T>; MAX_NR]; MAX_MV];
    let mut i = 0;
    while i < rows.len() {
        let mut j = 0;
        while j < rows[i].len() {
            out[i][j] = rows[i][j];
            j += 1;
        }
        i += 1;
    }
    out
}

/// A row of [`Kernels::narrow`]: the tiles of columns `1..=tiles.len()`, padded with
/// [`no_tile`] (the widths a row's height is never used at: the tall tiles' own or taller).
const fn narrow_row<T>(tiles: &[TileFn<T>]) -> [TileFn<T>; NARROW_MAX_N] {
    let mut out = [no_tile::<T> as TileFn<T>; NARROW_MAX_N];
    let mut j = 0;
    while j < tiles.len() {
        out[j] = tiles[j];
        j += 1;
    }
    out
}

/// One function pointer: `$body::<$S, …>` called inside a function compiled with the
/// feature string (none for the portable path).
macro_rules! feature_fn {
    ($arg:ty, $ret:ty, [$($feat:literal)?], $call:expr) => {{
        $(#[target_feature(enable = $feat)])?
        // SAFETY (of the caller's obligation): the table is only handed out for an ISA the
        // host supports (every entry point checks), and the argument's validity is the
        // caller's contract, as documented on the generic body.
        unsafe fn f(x: &$arg) {
            // SAFETY: see above.
            unsafe { $call(x) }
        }
        f as $ret
    }};
}

/// A direct or packed tile of `$mv` vectors × `$n` columns (`$nt`: non-temporal stores;
/// `$pf`: A prefetched ahead; `$pa`: A packed on the way).
macro_rules! tile_fn {
    ($S:ty, $feat:tt, $mv:literal, $n:literal, $packed:literal, $nt:literal, $pf:literal) => {
        tile_fn!($S, $feat, $mv, $n, $packed, $nt, $pf, false)
    };
    ($S:ty, $feat:tt, $mv:literal, $n:literal, $packed:literal, $nt:literal, $pf:literal, $pa:literal) => {
        feature_fn!(
            Tile<<$S as Simd>::T>,
            TileFn<<$S as Simd>::T>,
            $feat,
            tile::<$S, $mv, $n, $packed, $nt, $pf, $pa>
        )
    };
}

/// The direct tiles of `$mv` vectors for every column count in the list.
macro_rules! tile_row {
    ($S:ty, $feat:tt, $mv:literal, [$($n:literal),+], nt = $nt:literal, pf = $pf:literal) => {
        &[$(tile_fn!($S, $feat, $mv, $n, false, $nt, $pf)),+]
    };
}

/// Instantiates the kernels of one `Simd` type under one feature string: direct tiles for
/// every `mv` in the list (the last is the packed tile's height) × every column count up
/// to `nr`.
macro_rules! kernels {
    ($S:ty, $feat:tt, mv = [$($mv:literal),+], packed_mv = $pmv:literal, nr = $nr:literal,
     ns = $ns:tt, tall_mv = $tmv:literal) => {
        kernels!($S, $feat, mv = [$($mv),+], packed_mv = $pmv, nr = $nr, ns = $ns, tall_mv = $tmv,
            skinny = [($tmv, 1), ($tmv, 2), ($tmv, 3), ($tmv, 4), ($tmv, 5), ($tmv, 6)], half = None,
            narrow = [])
    };
    ($S:ty, $feat:tt, mv = [$($mv:literal),+], packed_mv = $pmv:literal, nr = $nr:literal,
     ns = $ns:tt, tall_mv = $tmv:literal, skinny = [$(($smv:literal, $sn:literal)),+],
     half = $half:expr, narrow = [$($nmv:literal: [$($nn:literal),+]),*]) => {{
        type T = <$S as Simd>::T;
        const LANES: usize = <$S as Simd>::LANES;
        Kernels::<T> {
            lanes: LANES,
            mr: $pmv * LANES,
            nr: $nr,
            direct: grid(&[$(tile_row!($S, $feat, $mv, $ns, nt = false, pf = false)),+]),
            half: $half,
            packed: tile_fn!($S, $feat, $pmv, $nr, true, false, false),
            pack_a: [
                tile_fn!($S, $feat, $pmv, $nr, true, false, true, true),
                tile_fn!($S, $feat, $pmv, $nr, false, false, true, true),
            ],
            tall: tile_row!($S, $feat, $tmv, [1, 2, 3, 4, 5, 6], nt = false, pf = false),
            tall_nt: tile_row!($S, $feat, $tmv, [1, 2, 3, 4, 5, 6], nt = true, pf = false),
            tall_mv: $tmv,
            skinny: &[$(tile_fn!($S, $feat, $smv, $sn, false, false, false)),+],
            skinny_pf: &[$(tile_fn!($S, $feat, $smv, $sn, false, false, true)),+],
            skinny_mv: [$($smv),+],
            narrow: &[$(narrow_row(&[$(tile_fn!($S, $feat, $nmv, $nn, false, false, false)),+])),*],
            dot: &[
                feature_fn!(Dot<T>, DotFn<T>, $feat, dot_tile::<$S, 1>),
                feature_fn!(Dot<T>, DotFn<T>, $feat, dot_tile::<$S, 2>),
                feature_fn!(Dot<T>, DotFn<T>, $feat, dot_tile::<$S, 3>),
                feature_fn!(Dot<T>, DotFn<T>, $feat, dot_tile::<$S, 4>),
                feature_fn!(Dot<T>, DotFn<T>, $feat, dot_tile::<$S, 5>),
                feature_fn!(Dot<T>, DotFn<T>, $feat, dot_tile::<$S, 6>),
            ],
            gemv_cols: [
                feature_fn!(Gemv<T>, GemvFn<T>, $feat, gemv_cols::<$S, 1>),
                feature_fn!(Gemv<T>, GemvFn<T>, $feat, gemv_cols::<$S, 2>),
                feature_fn!(Gemv<T>, GemvFn<T>, $feat, gemv_cols::<$S, 3>),
                feature_fn!(Gemv<T>, GemvFn<T>, $feat, gemv_cols::<$S, 4>),
                feature_fn!(Gemv<T>, GemvFn<T>, $feat, gemv_cols::<$S, 5>),
                feature_fn!(Gemv<T>, GemvFn<T>, $feat, gemv_cols::<$S, 6>),
            ],
            gemv_rows: feature_fn!(Gemv<T>, GemvFn<T>, $feat, gemv_rows::<$S>),
        }
    }};
}

static PORTABLE_F32: Kernels<f32> =
    kernels!(PortableF32, [], mv = [1, 2], packed_mv = 2, nr = 6, ns = [1, 2, 3, 4, 5, 6], tall_mv = 2);
static PORTABLE_F64: Kernels<f64> =
    kernels!(PortableF64, [], mv = [1, 2], packed_mv = 2, nr = 6, ns = [1, 2, 3, 4, 5, 6], tall_mv = 2);

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;
    use crate::simd::x86::{Avx2F32, Avx2F64, Avx512F32, Avx512F64, Avx512VlF32, Avx512VlF64};

    pub(super) static AVX2_F32: Kernels<f32> = kernels!(
        Avx2F32,
        ["avx2,fma"],
        mv = [1, 2],
        packed_mv = 2,
        nr = 6,
        ns = [1, 2, 3, 4, 5, 6],
        tall_mv = 2
    );
    pub(super) static AVX2_F64: Kernels<f64> = kernels!(
        Avx2F64,
        ["avx2,fma"],
        mv = [1, 2],
        packed_mv = 2,
        nr = 6,
        ns = [1, 2, 3, 4, 5, 6],
        tall_mv = 2
    );
    pub(super) static AVX512_F32: Kernels<f32> = kernels!(
        Avx512F32,
        ["avx512f,avx2,fma"],
        mv = [1, 2, 3],
        packed_mv = 3,
        nr = 8,
        ns = [1, 2, 3, 4, 5, 6, 7, 8],
        tall_mv = 4,
        skinny = [(8, 1), (8, 2), (7, 3), (6, 4), (4, 5), (4, 6)],
        half = Some(
            grid(&[tile_row!(
                Avx512VlF32,
                ["avx512f,avx512vl,avx2,fma"],
                1,
                [1, 2, 3, 4, 5, 6, 7, 8],
                nt = false,
                pf = false
            )])[0]
        ),
        narrow = [4: [1, 2, 3, 4], 5: [1, 2, 3, 4], 6: [1, 2, 3], 7: [1, 2]]
    );
    pub(super) static AVX512_F64: Kernels<f64> = kernels!(
        Avx512F64,
        ["avx512f,avx2,fma"],
        mv = [1, 2, 3],
        packed_mv = 3,
        nr = 8,
        ns = [1, 2, 3, 4, 5, 6, 7, 8],
        tall_mv = 4,
        skinny = [(8, 1), (8, 2), (7, 3), (6, 4), (4, 5), (4, 6)],
        half = Some(
            grid(&[tile_row!(
                Avx512VlF64,
                ["avx512f,avx512vl,avx2,fma"],
                1,
                [1, 2, 3, 4, 5, 6, 7, 8],
                nt = false,
                pf = false
            )])[0]
        ),
        narrow = [4: [1, 2, 3, 4], 5: [1, 2, 3, 4], 6: [1, 2, 3], 7: [1, 2]]
    );
}

/// The kernel table of `isa` for `T`. Callers must have checked
/// [`Isa::is_available`]: every entry point does, once, before reaching the driver.
pub(crate) fn kernels_for<T: Element>(isa: Isa) -> &'static Kernels<T> {
    debug_assert!(isa.is_available(), "the {isa} kernel path is not supported by this host");
    // `TypeId` comparisons are resolved at compile time, so this is a jump on `isa` alone.
    let f32 = TypeId::of::<T>() == TypeId::of::<f32>();
    let table: &'static dyn Any = match (f32, isa) {
        (true, Isa::Portable) => &PORTABLE_F32,
        (false, Isa::Portable) => &PORTABLE_F64,
        #[cfg(target_arch = "x86_64")]
        (true, Isa::Avx2Fma) => &x86::AVX2_F32,
        #[cfg(target_arch = "x86_64")]
        (false, Isa::Avx2Fma) => &x86::AVX2_F64,
        #[cfg(target_arch = "x86_64")]
        (true, Isa::Avx512) => &x86::AVX512_F32,
        #[cfg(target_arch = "x86_64")]
        (false, Isa::Avx512) => &x86::AVX512_F64,
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("{isa} is available only on x86-64"),
    };
    table.downcast_ref().expect("T is f32 or f64 (sealed)")
}
