//! Runs a kernel body on the chosen instruction set: the body is generic over the vector
//! type and `#[inline(always)]`, and is instantiated inside one `#[target_feature]`
//! function per path, so it compiles to that path's instructions in a baseline build.

use super::Unary;
use super::consts::Real;
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

    // The seam: each public slice function's body past its argument checks, for this
    // element type. The impls (`seam!`) are concrete, so their SIMD code compiles once,
    // here; a crate calling the generic public functions instantiates only the checks and
    // the call. (Generic all the way down, every test binary of the workspace compiled its
    // own copy of every kernel for every path: 60–100 s each.)
    /// `map_raw` (kernels.rs).
    fn ew_map(op: Unary, x: *const Self, y: *mut Self, n: usize);
    /// `zip_raw` (kernels.rs).
    #[allow(clippy::too_many_arguments)]
    fn ew_zip(op: u8, a: *const Self, b: *const Self, y: *mut Self, n: usize, scalar: u8, s: Self);
    /// `compensated` (kernels.rs).
    fn ew_compensated(x: *const Self, y: *const Self, n: usize) -> Self;
    /// `extreme_of` (kernels.rs).
    fn ew_extreme(x: &[Self], max: bool) -> Self;
    /// `argmax_of` (kernels.rs).
    fn ew_argmax(x: &[Self]) -> Option<usize>;
    /// `norm2_of` (kernels.rs).
    fn ew_norm2(x: &[Self]) -> Self;
    /// `logsumexp_of` (kernels.rs).
    fn ew_logsumexp(x: &[Self]) -> Self;
    /// `rows_apply` (matrix.rs), `op` one of its row kernels.
    fn ew_rows(op: u8, a: &[Self], b: Option<&[Self]>, y: *mut Self, shape: (usize, usize), y_stride: usize);
    /// `sum_cols_of` (matrix.rs).
    fn ew_sum_cols(x: &[Self], cols: usize, rows: usize, out: &mut [Self]);
}

/// The seam's methods for one element type (see [`Paths`]). Not inlined, so that they
/// are compiled in this crate, not in the caller's.
macro_rules! seam {
    ($t:ty) => {
        #[inline(never)]
        fn ew_map(op: Unary, x: *const $t, y: *mut $t, n: usize) {
            super::kernels::map_raw::<$t>(op, x, y, n)
        }
        #[inline(never)]
        fn ew_zip(op: u8, a: *const $t, b: *const $t, y: *mut $t, n: usize, scalar: u8, s: $t) {
            super::kernels::zip_raw::<$t>(op, a, b, y, n, scalar, s)
        }
        #[inline(never)]
        fn ew_compensated(x: *const $t, y: *const $t, n: usize) -> $t {
            super::kernels::compensated::<$t>(x, y, n)
        }
        #[inline(never)]
        fn ew_extreme(x: &[$t], max: bool) -> $t {
            if max {
                super::kernels::extreme_of::<$t, true>(x)
            } else {
                super::kernels::extreme_of::<$t, false>(x)
            }
        }
        #[inline(never)]
        fn ew_argmax(x: &[$t]) -> Option<usize> {
            super::kernels::argmax_of::<$t>(x)
        }
        #[inline(never)]
        fn ew_norm2(x: &[$t]) -> $t {
            super::kernels::norm2_of::<$t>(x)
        }
        #[inline(never)]
        fn ew_logsumexp(x: &[$t]) -> $t {
            super::kernels::logsumexp_of::<$t>(x)
        }
        #[inline(never)]
        fn ew_rows(op: u8, a: &[$t], b: Option<&[$t]>, y: *mut $t, shape: (usize, usize), y_stride: usize) {
            super::matrix::rows_apply::<$t>(op, a, b, y, shape, y_stride)
        }
        #[inline(never)]
        fn ew_sum_cols(x: &[$t], cols: usize, rows: usize, out: &mut [$t]) {
            super::matrix::sum_cols_of::<$t>(x, cols, rows, out)
        }
    };
}

impl Paths for f32 {
    type Portable = PortableF32;
    #[cfg(target_arch = "x86_64")]
    type Avx2 = Avx2F32;
    #[cfg(target_arch = "x86_64")]
    type Avx512 = Avx512F32;
    seam!(f32);
}

impl Paths for f64 {
    type Portable = PortableF64;
    #[cfg(target_arch = "x86_64")]
    type Avx2 = Avx2F64;
    #[cfg(target_arch = "x86_64")]
    type Avx512 = Avx512F64;
    seam!(f64);
}

/// A kernel invocation: its arguments (pointers, lengths) and a body generic over the path.
pub(crate) trait Kernel<T: Paths> {
    /// What the body returns.
    type Out;
    /// Runs the body with vector type `S`.
    ///
    /// # Safety
    /// `S`'s instruction set must be enabled, and the arguments must meet the kernel's own
    /// documented contract (valid pointers and lengths).
    unsafe fn run<S: Widen<T = T>>(self) -> Self::Out;
}

/// Runs `k` on `isa`.
///
/// # Safety
/// `isa` must be available on this host (checked by the public entry points through
/// [`Isa::selected`] or an explicit availability check), and `k`'s contract must hold.
#[inline]
pub(crate) unsafe fn dispatch<T: Paths, K: Kernel<T>>(isa: Isa, k: K) -> K::Out {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn avx512<T: Paths, K: Kernel<T>>(k: K) -> K::Out {
            // SAFETY: the feature is enabled here; `k`'s contract is the caller's.
            unsafe { k.run::<T::Avx512>() }
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2<T: Paths, K: Kernel<T>>(k: K) -> K::Out {
            // SAFETY: as above.
            unsafe { k.run::<T::Avx2>() }
        }
        match isa {
            // SAFETY: the caller checked that the host has the path.
            Isa::Avx512 => return unsafe { avx512::<T, K>(k) },
            // SAFETY: as above.
            Isa::Avx2Fma => return unsafe { avx2::<T, K>(k) },
            Isa::Portable => {}
        }
    }
    let _ = isa;
    // SAFETY: the portable path needs no instruction set; `k`'s contract is the caller's.
    unsafe { k.run::<T::Portable>() }
}
