//! Runs a kernel body on the chosen instruction set: the body is generic over the vector
//! type and `#[inline(always)]`, and is instantiated inside one `#[target_feature]`
//! function per path, so it compiles to that path's instructions in a baseline build.
//!
//! Those instances are compiled here, once: each kernel's per-path functions sit in a
//! static table of this crate ([`Entries`]), which [`Paths`] hands out per element type,
//! and a call goes through the table. The public functions are generic over the element
//! type; had the dispatch been generic too, every crate calling them would compile its
//! own copy of every kernel on every path (dev profiles at opt-level 2 share no
//! generics): each test binary of the workspace took 60–100 s to build that way.

use super::consts::Real;
use super::kernels::{BlueK, ExtremeK, FindK, MapK, Sum2K, SumExpK, ZipK};
use super::matrix::{ColK, RowK};
use crate::Isa;
use crate::simd::portable::{PortableF32, PortableF64};
use crate::simd::widen::Widen;
#[cfg(target_arch = "x86_64")]
use crate::simd::x86::{Avx2F32, Avx2F64, Avx512F32, Avx512F64};

/// The vector types of each path for one element type.
pub trait Paths: Real {
    /// Portable (`wide`) vectors.
    type Portable: Widen<T = Self>;
    /// AVX2+FMA vectors.
    #[cfg(target_arch = "x86_64")]
    type Avx2: Widen<T = Self>;
    /// AVX-512F vectors.
    #[cfg(target_arch = "x86_64")]
    type Avx512: Widen<T = Self>;
    /// The compiled entries of each kernel for this type (see the module docs).
    fn map_k() -> &'static Entries<MapK<Self>, ()>;
    /// As above.
    fn zip_k() -> &'static Entries<ZipK<Self>, ()>;
    /// As above.
    fn sum2_k() -> &'static Entries<Sum2K<Self>, (Self, Self)>;
    /// As above.
    fn extreme_k() -> &'static Entries<ExtremeK<Self>, (Self, bool)>;
    /// As above.
    fn find_k() -> &'static Entries<FindK<Self>, Option<usize>>;
    /// As above.
    fn blue_k() -> &'static Entries<BlueK<Self>, [Self; 3]>;
    /// As above.
    fn sum_exp_k() -> &'static Entries<SumExpK<Self>, Self>;
    /// As above.
    fn row_k() -> &'static Entries<RowK<Self>, ()>;
    /// As above.
    fn col_k() -> &'static Entries<ColK<Self>, ()>;
}

/// One kernel's functions per path, indexed by [`path_index`]: portable, AVX2+FMA,
/// AVX-512 (the portable one in every slot off x86-64).
pub type Entries<K, O> = [unsafe fn(K) -> O; 3];

/// The slot of `isa` in an [`Entries`] table.
#[inline(always)]
pub(crate) fn path_index(isa: Isa) -> usize {
    match isa {
        Isa::Portable => 0,
        Isa::Avx2Fma => 1,
        Isa::Avx512 => 2,
    }
}

/// The [`Paths`] methods of one element type: each returns a static table of this crate.
macro_rules! tables {
    ($t:ty) => {
        tables!(@ $t;
            map_k: MapK => (),
            zip_k: ZipK => (),
            sum2_k: Sum2K => ($t, $t),
            extreme_k: ExtremeK => ($t, bool),
            find_k: FindK => Option<usize>,
            blue_k: BlueK => [$t; 3],
            sum_exp_k: SumExpK => $t,
            row_k: RowK => (),
            col_k: ColK => ()
        );
    };
    (@ $t:ty; $($name:ident: $k:ident => $out:ty),*) => {
        $(
            #[inline]
            fn $name() -> &'static Entries<$k<$t>, $out> {
                static TABLE: Entries<$k<$t>, $out> = entries::<$t, $k<$t>>();
                &TABLE
            }
        )*
    };
}

/// The table of kernel `K` on `T`.
const fn entries<T: Paths, K: Kernel<T>>() -> Entries<K, K::Out> {
    #[cfg(target_arch = "x86_64")]
    {
        [on_portable::<T, K>, on_avx2::<T, K>, on_avx512::<T, K>]
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        [on_portable::<T, K>, on_portable::<T, K>, on_portable::<T, K>]
    }
}

/// Kernel `K` on the portable path.
///
/// # Safety
/// `k`'s contract must hold.
unsafe fn on_portable<T: Paths, K: Kernel<T>>(k: K) -> K::Out {
    // SAFETY: the portable path needs no instruction set; `k`'s contract is the caller's.
    unsafe { k.run::<T::Portable>() }
}

/// Kernel `K` on AVX2+FMA.
///
/// # Safety
/// The host must have AVX2 and FMA, and `k`'s contract must hold.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn on_avx2<T: Paths, K: Kernel<T>>(k: K) -> K::Out {
    // SAFETY: the features are enabled here; `k`'s contract is the caller's.
    unsafe { k.run::<T::Avx2>() }
}

/// Kernel `K` on AVX-512F.
///
/// # Safety
/// The host must have AVX-512F, AVX2 and FMA, and `k`'s contract must hold.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn on_avx512<T: Paths, K: Kernel<T>>(k: K) -> K::Out {
    // SAFETY: the features are enabled here; `k`'s contract is the caller's.
    unsafe { k.run::<T::Avx512>() }
}

impl Paths for f32 {
    type Portable = PortableF32;
    #[cfg(target_arch = "x86_64")]
    type Avx2 = Avx2F32;
    #[cfg(target_arch = "x86_64")]
    type Avx512 = Avx512F32;
    tables!(f32);
}

impl Paths for f64 {
    type Portable = PortableF64;
    #[cfg(target_arch = "x86_64")]
    type Avx2 = Avx2F64;
    #[cfg(target_arch = "x86_64")]
    type Avx512 = Avx512F64;
    tables!(f64);
}

/// A kernel invocation: its arguments (pointers, lengths) and a body generic over the path.
pub(crate) trait Kernel<T: Paths>: Sized + 'static {
    /// What the body returns.
    type Out: 'static;
    /// Runs the body with vector type `S`.
    ///
    /// # Safety
    /// `S`'s instruction set must be enabled, and the arguments must meet the kernel's own
    /// documented contract (valid pointers and lengths).
    unsafe fn run<S: Widen<T = T>>(self) -> Self::Out;
    /// This kernel's compiled entries for `T` (from [`Paths`]).
    fn entries() -> &'static Entries<Self, Self::Out>;
}

/// Runs `k` on `isa`, through its table.
///
/// # Safety
/// `isa` must be available on this host (checked by the public entry points through
/// [`Isa::selected`] or an explicit availability check), and `k`'s contract must hold.
#[inline]
pub(crate) unsafe fn dispatch<T: Paths, K: Kernel<T>>(isa: Isa, k: K) -> K::Out {
    // SAFETY: the caller's contract: the entry of an available path, `k`'s contract.
    unsafe { K::entries()[path_index(isa)](k) }
}
