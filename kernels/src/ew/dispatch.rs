//! Runs a kernel body on the chosen instruction set: the body is generic over the vector
//! type and `#[inline(always)]`, and is instantiated inside one `#[target_feature]`
//! function per path, so it compiles to that path's instructions in a baseline build.

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
}

impl Paths for f32 {
    type Portable = PortableF32;
    #[cfg(target_arch = "x86_64")]
    type Avx2 = Avx2F32;
    #[cfg(target_arch = "x86_64")]
    type Avx512 = Avx512F32;
}

impl Paths for f64 {
    type Portable = PortableF64;
    #[cfg(target_arch = "x86_64")]
    type Avx2 = Avx2F64;
    #[cfg(target_arch = "x86_64")]
    type Avx512 = Avx512F64;
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
