//! Per-instruction-set kernel tables: the generic bodies of `kernel.rs` and `gemv.rs`
//! instantiated inside `#[target_feature]` functions, collected once as function pointers.
//!
//! Register tiles (`MR = MV·LANES` rows × `NR` columns of accumulators):
//!
//! | path | f32 | f64 | accumulator registers |
//! | --- | --- | --- | --- |
//! | AVX-512 | 32 × 12 | 16 × 12 | 24 of 32 `zmm` |
//! | AVX2+FMA | 16 × 6 | 8 × 6 | 12 of 16 `ymm` |
//! | portable (`wide`) | 16 × 6 | 8 × 6 | as AVX2 |
//!
//! Twelve or more independent accumulators cover the FMA latency (4 cycles) on two FMA
//! pipes. Direct (unpacked) tiles exist for every `MV ≤ 2` and `N ≤ NR`, so small and edge
//! problems never compute padding; the packed path uses the full tile only.

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
    /// Direct tiles, indexed `[mv - 1][n - 1]`.
    pub direct: [&'static [TileFn<T>]; 2],
    /// The packed full tile.
    pub packed: TileFn<T>,
    /// Tall direct tiles (`tall_mv` vectors of rows, `N = 1..=6` columns), indexed `[n - 1]`,
    /// for products with few columns: more rows per k-step means fewer pages touched
    /// per byte of a column-major A (see `driver::tall`).
    pub tall: &'static [TileFn<T>],
    /// Vectors of rows in a tall tile.
    pub tall_mv: usize,
    /// Dot-product tiles for skinny products, indexed `[S - 1]`.
    pub dot: &'static [DotFn<T>],
    /// Matrix-vector, columns form (`rsa = 1`).
    pub gemv_cols: GemvFn<T>,
    /// Matrix-vector, rows form (`csa = 1`, contiguous x).
    pub gemv_rows: GemvFn<T>,
}

/// Instantiates the kernels of one `Simd` type under one feature string.
macro_rules! kernels {
    ($S:ty, [$($feat:literal)?], nr = $nr:literal, [$($n:literal),+], tall_mv = $tmv:literal) => {{
        type T = <$S as Simd>::T;
        macro_rules! one {
            ($mv:literal, $nn:literal, $packed:literal) => {{
                $(#[target_feature(enable = $feat)])?
                // SAFETY (of the caller's obligation): the table is only handed out for an
                // ISA the host supports (every entry point checks), and `Tile` validity is the
                // caller's contract, as documented on `kernel::tile`.
                unsafe fn f(t: &Tile<T>) {
                    // SAFETY: see above.
                    unsafe { tile::<$S, $mv, $nn, $packed>(t) }
                }
                f as TileFn<T>
            }};
        }
        macro_rules! dot {
            ($ss:literal) => {{
                $(#[target_feature(enable = $feat)])?
                // SAFETY (of the caller's obligation): as for the tiles above.
                unsafe fn f(d: &Dot<T>) {
                    // SAFETY: see above.
                    unsafe { dot_tile::<$S, $ss>(d) }
                }
                f as DotFn<T>
            }};
        }
        $(#[target_feature(enable = $feat)])?
        unsafe fn gc(g: &Gemv<T>) {
            // SAFETY: feature enabled by this function; arguments per the caller.
            unsafe { gemv_cols::<$S>(g) }
        }
        $(#[target_feature(enable = $feat)])?
        unsafe fn gr(g: &Gemv<T>) {
            // SAFETY: feature enabled by this function; arguments per the caller.
            unsafe { gemv_rows::<$S>(g) }
        }
        const LANES: usize = <$S as Simd>::LANES;
        Kernels::<T> {
            lanes: LANES,
            mr: 2 * LANES,
            nr: $nr,
            direct: [&[$(one!(1, $n, false)),+], &[$(one!(2, $n, false)),+]],
            packed: one!(2, $nr, true),
            tall: &[
                one!($tmv, 1, false),
                one!($tmv, 2, false),
                one!($tmv, 3, false),
                one!($tmv, 4, false),
                one!($tmv, 5, false),
                one!($tmv, 6, false),
            ],
            tall_mv: $tmv,
            dot: &[dot!(1), dot!(2), dot!(3), dot!(4), dot!(5), dot!(6)],
            gemv_cols: gc as GemvFn<T>,
            gemv_rows: gr as GemvFn<T>,
        }
    }};
}

static PORTABLE_F32: Kernels<f32> = kernels!(PortableF32, [], nr = 6, [1, 2, 3, 4, 5, 6], tall_mv = 2);
static PORTABLE_F64: Kernels<f64> = kernels!(PortableF64, [], nr = 6, [1, 2, 3, 4, 5, 6], tall_mv = 2);

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;
    use crate::simd::x86::{Avx2F32, Avx2F64, Avx512F32, Avx512F64};

    pub(super) static AVX2_F32: Kernels<f32> =
        kernels!(Avx2F32, ["avx2,fma"], nr = 6, [1, 2, 3, 4, 5, 6], tall_mv = 2);
    pub(super) static AVX2_F64: Kernels<f64> =
        kernels!(Avx2F64, ["avx2,fma"], nr = 6, [1, 2, 3, 4, 5, 6], tall_mv = 2);
    pub(super) static AVX512_F32: Kernels<f32> = kernels!(
        Avx512F32,
        ["avx512f,avx2,fma"],
        nr = 12,
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        tall_mv = 4
    );
    pub(super) static AVX512_F64: Kernels<f64> = kernels!(
        Avx512F64,
        ["avx512f,avx2,fma"],
        nr = 12,
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        tall_mv = 4
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
