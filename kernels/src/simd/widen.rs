//! Lane-wise conversion between an `f32` vector and two `f64` vectors of the same path, for
//! the `f32` functions evaluated in `f64` (GELU and `pow`, whose arguments amplify rounding).
//! `f64` types implement it trivially (`W = Self`) so generic code can name it.

use super::math::Math;
use super::portable::{PortableF32, PortableF64};
#[cfg(target_arch = "x86_64")]
use super::x86::{Avx2F32, Avx2F64, Avx512F32, Avx512F64};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;
use wide::{f32x8, f64x4};

/// Widening to, and narrowing from, the `f64` vectors of the same instruction set.
///
/// # Safety
/// As for [`Math`]: call only with the instruction set enabled. `widen` must be exact and
/// `narrow` must round each lane once (to nearest), keeping lane order: lanes `0..LANES/2`
/// of `Self` are the first `f64` vector's, the rest the second's (for `f64` types both
/// halves are the vector itself and `narrow` returns its first argument).
pub unsafe trait Widen: Math {
    /// The `f64` path.
    type W: Math<T = f64>;
    /// The lanes as `f64`, low half then high half.
    unsafe fn widen(v: Self::V) -> (<Self::W as super::Simd>::V, <Self::W as super::Simd>::V);
    /// Rounds two `f64` vectors back into one vector.
    unsafe fn narrow(lo: <Self::W as super::Simd>::V, hi: <Self::W as super::Simd>::V) -> Self::V;
}

macro_rules! identity_widen {
    ($name:ident) => {
        // SAFETY: the identity conversion is exact and keeps lanes in place.
        unsafe impl Widen for $name {
            type W = $name;
            #[inline(always)]
            unsafe fn widen(v: Self::V) -> (Self::V, Self::V) {
                (v, v)
            }
            #[inline(always)]
            unsafe fn narrow(lo: Self::V, _hi: Self::V) -> Self::V {
                lo
            }
        }
    };
}
identity_widen!(PortableF64);
#[cfg(target_arch = "x86_64")]
identity_widen!(Avx2F64);
#[cfg(target_arch = "x86_64")]
identity_widen!(Avx512F64);

// SAFETY: `as` conversions are exact (widen) and round to nearest (narrow), lane by lane.
unsafe impl Widen for PortableF32 {
    type W = PortableF64;
    #[inline(always)]
    unsafe fn widen(v: f32x8) -> (f64x4, f64x4) {
        let a = v.to_array().map(|x| x as f64);
        (f64x4::from([a[0], a[1], a[2], a[3]]), f64x4::from([a[4], a[5], a[6], a[7]]))
    }
    #[inline(always)]
    unsafe fn narrow(lo: f64x4, hi: f64x4) -> f32x8 {
        let (l, h) = (lo.to_array(), hi.to_array());
        f32x8::from([l[0], l[1], l[2], l[3], h[0], h[1], h[2], h[3]].map(|x| x as f32))
    }
}

#[cfg(target_arch = "x86_64")]
// SAFETY: `vcvtps2pd` is exact and `vcvtpd2ps` rounds to nearest (the default MXCSR mode);
// the 128-bit halves are taken and put back in order.
unsafe impl Widen for Avx2F32 {
    type W = Avx2F64;
    #[inline(always)]
    unsafe fn widen(v: __m256) -> (__m256d, __m256d) {
        // SAFETY: AVX per the trait contract.
        unsafe {
            (_mm256_cvtps_pd(_mm256_castps256_ps128(v)), _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v)))
        }
    }
    #[inline(always)]
    unsafe fn narrow(lo: __m256d, hi: __m256d) -> __m256 {
        // SAFETY: AVX per the trait contract.
        unsafe { _mm256_set_m128(_mm256_cvtpd_ps(hi), _mm256_cvtpd_ps(lo)) }
    }
}

#[cfg(target_arch = "x86_64")]
// SAFETY: as for AVX2, with the 512-bit forms; the halves move as 256-bit `f64x4` blocks,
// which needs only AVX-512F.
unsafe impl Widen for Avx512F32 {
    type W = Avx512F64;
    #[inline(always)]
    unsafe fn widen(v: __m512) -> (__m512d, __m512d) {
        // SAFETY: AVX-512F per the trait contract.
        unsafe {
            let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
            (_mm512_cvtps_pd(_mm512_castps512_ps256(v)), _mm512_cvtps_pd(hi))
        }
    }
    #[inline(always)]
    unsafe fn narrow(lo: __m512d, hi: __m512d) -> __m512 {
        // SAFETY: AVX-512F per the trait contract.
        unsafe {
            let (l, h) = (_mm256_castps_pd(_mm512_cvtpd_ps(lo)), _mm256_castps_pd(_mm512_cvtpd_ps(hi)));
            _mm512_castpd_ps(_mm512_insertf64x4::<1>(_mm512_castpd256_pd512(l), h))
        }
    }
}
