//! AVX2+FMA and AVX-512F implementations of [`Simd`].
//!
//! Each method is one or two intrinsics (the masked accesses also test whether their window
//! crosses a page: see [`super::crosses_page`]). They are only sound inside functions compiled
//! with the matching `#[target_feature]` (the trait's safety contract), which is where the
//! kernel tables in `gemm::table` instantiate them.

use super::{Simd, crosses_page};
use std::arch::x86_64::*;

/// The lanes of `p` selected by `bits` (bit `i` for lane `i`), others zero.
///
/// # Safety
/// Every selected lane is readable.
#[inline(always)]
unsafe fn gather<T: Copy + Default, const L: usize>(p: *const T, bits: u32) -> [T; L] {
    let mut buf = [T::default(); L];
    for (i, slot) in buf.iter_mut().enumerate() {
        if bits >> i & 1 != 0 {
            // SAFETY: lane i is selected, so readable per the contract.
            *slot = unsafe { *p.add(i) };
        }
    }
    buf
}

/// Writes the lanes of `buf` selected by `bits` to `p`.
///
/// # Safety
/// Every selected lane is writable.
#[inline(always)]
unsafe fn scatter<T: Copy, const L: usize>(p: *mut T, buf: &[T; L], bits: u32) {
    for (i, &v) in buf.iter().enumerate() {
        if bits >> i & 1 != 0 {
            // SAFETY: lane i is selected, so writable per the contract.
            unsafe { *p.add(i) = v };
        }
    }
}

/// AVX2+FMA `f32`: 8 lanes in a `ymm` register.
#[derive(Clone, Copy)]
pub struct Avx2F32;
/// AVX2+FMA `f64`: 4 lanes in a `ymm` register.
#[derive(Clone, Copy)]
pub struct Avx2F64;
/// AVX-512F `f32`: 16 lanes in a `zmm` register.
#[derive(Clone, Copy)]
pub struct Avx512F32;
/// AVX-512F `f64`: 8 lanes in a `zmm` register.
#[derive(Clone, Copy)]
pub struct Avx512F64;

/// Implements the methods whose intrinsics differ only by name.
macro_rules! common {
    ($t:ty, $v:ty, $zero:ident, $set1:ident, $loadu:ident, $storeu:ident, $fmadd:ident,
     $mul:ident, $add:ident) => {
        #[inline(always)]
        unsafe fn zero() -> $v {
            // SAFETY: the trait contract: called only with this instruction set enabled.
            unsafe { $zero() }
        }
        #[inline(always)]
        unsafe fn splat(x: $t) -> $v {
            // SAFETY: the trait contract: called only with this instruction set enabled.
            unsafe { $set1(x) }
        }
        #[inline(always)]
        unsafe fn load(p: *const $t) -> $v {
            // SAFETY: instruction set per the trait contract; `LANES` readable elements at
            // `p` per the caller.
            unsafe { $loadu(p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut $t, v: $v) {
            // SAFETY: instruction set per the trait contract; `LANES` writable elements at
            // `p` per the caller.
            unsafe { $storeu(p, v) }
        }
        #[inline(always)]
        unsafe fn fma(a: $v, b: $v, c: $v) -> $v {
            // SAFETY: the trait contract: called only with this instruction set enabled.
            unsafe { $fmadd(a, b, c) }
        }
        #[inline(always)]
        unsafe fn mul(a: $v, b: $v) -> $v {
            // SAFETY: the trait contract: called only with this instruction set enabled.
            unsafe { $mul(a, b) }
        }
        #[inline(always)]
        unsafe fn add(a: $v, b: $v) -> $v {
            // SAFETY: the trait contract: called only with this instruction set enabled.
            unsafe { $add(a, b) }
        }
        #[inline(always)]
        fn fma_scalar(a: $t, b: $t, c: $t) -> $t {
            // Inside an FMA-enabled kernel this is one `vfmadd`, the same rounding as a lane.
            a.mul_add(b, c)
        }
    };
}

// SAFETY: every method is an AVX/AVX2/FMA intrinsic; masked accessors use `vmaskmov`,
// which neither reads nor writes masked-off lanes (and does not fault on them).
unsafe impl Simd for Avx2F32 {
    type T = f32;
    type V = __m256;
    type Mask = __m256i;
    const LANES: usize = 8;
    common!(
        f32,
        __m256,
        _mm256_setzero_ps,
        _mm256_set1_ps,
        _mm256_loadu_ps,
        _mm256_storeu_ps,
        _mm256_fmadd_ps,
        _mm256_mul_ps,
        _mm256_add_ps
    );
    #[inline(always)]
    unsafe fn store_stream(p: *mut f32, v: __m256) {
        // SAFETY: AVX per the trait contract; the caller guarantees alignment and
        // `LANES` writable elements.
        unsafe { _mm256_stream_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn mask(n: usize) -> __m256i {
        // SAFETY: AVX2 per the trait contract. Lane i is all-ones iff i < n.
        unsafe { _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)) }
    }
    #[inline(always)]
    unsafe fn load_masked_in_page(p: *const f32, m: __m256i) -> __m256 {
        // SAFETY: AVX per the trait contract; only masked lanes are read.
        unsafe { _mm256_maskload_ps(p, m) }
    }
    #[inline(always)]
    unsafe fn store_masked_in_page(p: *mut f32, v: __m256, m: __m256i) {
        // SAFETY: AVX per the trait contract; only masked lanes are written.
        unsafe { _mm256_maskstore_ps(p, m, v) }
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const f32, m: __m256i) -> __m256 {
        if crosses_page(p, 32) {
            // SAFETY: the masked lanes are readable (the caller's contract); the array is 8 lanes.
            return unsafe {
                _mm256_loadu_ps(
                    gather::<f32, 8>(p, _mm256_movemask_ps(_mm256_castsi256_ps(m)) as u32).as_ptr(),
                )
            };
        }
        // SAFETY: AVX per the trait contract; only masked lanes are read.
        unsafe { _mm256_maskload_ps(p, m) }
    }
    #[inline(always)]
    unsafe fn store_masked(p: *mut f32, v: __m256, m: __m256i) {
        if crosses_page(p, 32) {
            let mut buf = [0f32; 8];
            // SAFETY: the masked lanes are writable (the caller's contract); the array is 8 lanes.
            return unsafe {
                _mm256_storeu_ps(buf.as_mut_ptr(), v);
                scatter(p, &buf, _mm256_movemask_ps(_mm256_castsi256_ps(m)) as u32)
            };
        }
        // SAFETY: AVX per the trait contract; only masked lanes are written.
        unsafe { _mm256_maskstore_ps(p, m, v) }
    }
    #[inline(always)]
    unsafe fn reduce_sum(v: __m256) -> f32 {
        // SAFETY: AVX per the trait contract.
        unsafe {
            let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
            _mm_cvtss_f32(s)
        }
    }
}

// SAFETY: as for `Avx2F32`, with the 64-bit forms of the same instructions.
unsafe impl Simd for Avx2F64 {
    type T = f64;
    type V = __m256d;
    type Mask = __m256i;
    const LANES: usize = 4;
    common!(
        f64,
        __m256d,
        _mm256_setzero_pd,
        _mm256_set1_pd,
        _mm256_loadu_pd,
        _mm256_storeu_pd,
        _mm256_fmadd_pd,
        _mm256_mul_pd,
        _mm256_add_pd
    );
    #[inline(always)]
    unsafe fn store_stream(p: *mut f64, v: __m256d) {
        // SAFETY: AVX per the trait contract; the caller guarantees alignment and
        // `LANES` writable elements.
        unsafe { _mm256_stream_pd(p, v) }
    }
    #[inline(always)]
    unsafe fn mask(n: usize) -> __m256i {
        // SAFETY: AVX2 per the trait contract. Lane i is all-ones iff i < n.
        unsafe { _mm256_cmpgt_epi64(_mm256_set1_epi64x(n as i64), _mm256_setr_epi64x(0, 1, 2, 3)) }
    }
    #[inline(always)]
    unsafe fn load_masked_in_page(p: *const f64, m: __m256i) -> __m256d {
        // SAFETY: AVX per the trait contract; only masked lanes are read.
        unsafe { _mm256_maskload_pd(p, m) }
    }
    #[inline(always)]
    unsafe fn store_masked_in_page(p: *mut f64, v: __m256d, m: __m256i) {
        // SAFETY: AVX per the trait contract; only masked lanes are written.
        unsafe { _mm256_maskstore_pd(p, m, v) }
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const f64, m: __m256i) -> __m256d {
        if crosses_page(p, 32) {
            // SAFETY: the masked lanes are readable (the caller's contract); the array is 4 lanes.
            return unsafe {
                _mm256_loadu_pd(
                    gather::<f64, 4>(p, _mm256_movemask_pd(_mm256_castsi256_pd(m)) as u32).as_ptr(),
                )
            };
        }
        // SAFETY: AVX per the trait contract; only masked lanes are read.
        unsafe { _mm256_maskload_pd(p, m) }
    }
    #[inline(always)]
    unsafe fn store_masked(p: *mut f64, v: __m256d, m: __m256i) {
        if crosses_page(p, 32) {
            let mut buf = [0f64; 4];
            // SAFETY: the masked lanes are writable (the caller's contract); the array is 4 lanes.
            return unsafe {
                _mm256_storeu_pd(buf.as_mut_ptr(), v);
                scatter(p, &buf, _mm256_movemask_pd(_mm256_castsi256_pd(m)) as u32)
            };
        }
        // SAFETY: AVX per the trait contract; only masked lanes are written.
        unsafe { _mm256_maskstore_pd(p, m, v) }
    }
    #[inline(always)]
    unsafe fn reduce_sum(v: __m256d) -> f64 {
        // SAFETY: AVX per the trait contract.
        unsafe {
            let s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
            _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)))
        }
    }
}

// SAFETY: every method is an AVX-512F intrinsic; masked accessors use mask registers, which
// suppress both the access and any fault on masked-off lanes.
unsafe impl Simd for Avx512F32 {
    type T = f32;
    type V = __m512;
    type Mask = __mmask16;
    const LANES: usize = 16;
    common!(
        f32,
        __m512,
        _mm512_setzero_ps,
        _mm512_set1_ps,
        _mm512_loadu_ps,
        _mm512_storeu_ps,
        _mm512_fmadd_ps,
        _mm512_mul_ps,
        _mm512_add_ps
    );
    #[inline(always)]
    unsafe fn store_stream(p: *mut f32, v: __m512) {
        // SAFETY: AVX-512F per the trait contract; the caller guarantees alignment and
        // `LANES` writable elements.
        unsafe { _mm512_stream_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn mask(n: usize) -> __mmask16 {
        debug_assert!((1..=16).contains(&n));
        ((1u32 << n) - 1) as __mmask16
    }
    #[inline(always)]
    unsafe fn load_masked_in_page(p: *const f32, m: __mmask16) -> __m512 {
        // SAFETY: AVX-512F per the trait contract; only masked lanes are read.
        unsafe { _mm512_maskz_loadu_ps(m, p) }
    }
    #[inline(always)]
    unsafe fn store_masked_in_page(p: *mut f32, v: __m512, m: __mmask16) {
        // SAFETY: AVX-512F per the trait contract; only masked lanes are written.
        unsafe { _mm512_mask_storeu_ps(p, m, v) }
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const f32, m: __mmask16) -> __m512 {
        if crosses_page(p, 64) {
            // SAFETY: the masked lanes are readable (the caller's contract); the array is 16 lanes.
            return unsafe { _mm512_loadu_ps(gather::<f32, 16>(p, u32::from(m)).as_ptr()) };
        }
        // SAFETY: AVX-512F per the trait contract; only masked lanes are read.
        unsafe { _mm512_maskz_loadu_ps(m, p) }
    }
    #[inline(always)]
    unsafe fn store_masked(p: *mut f32, v: __m512, m: __mmask16) {
        if crosses_page(p, 64) {
            let mut buf = [0f32; 16];
            // SAFETY: the masked lanes are writable (the caller's contract); the array is 16 lanes.
            return unsafe {
                _mm512_storeu_ps(buf.as_mut_ptr(), v);
                scatter(p, &buf, u32::from(m))
            };
        }
        // SAFETY: AVX-512F per the trait contract; only masked lanes are written.
        unsafe { _mm512_mask_storeu_ps(p, m, v) }
    }
    #[inline(always)]
    unsafe fn reduce_sum(v: __m512) -> f32 {
        // SAFETY: AVX-512F per the trait contract.
        unsafe { _mm512_reduce_add_ps(v) }
    }
}

// SAFETY: as for `Avx512F32`, with the 64-bit forms of the same instructions.
unsafe impl Simd for Avx512F64 {
    type T = f64;
    type V = __m512d;
    type Mask = __mmask8;
    const LANES: usize = 8;
    common!(
        f64,
        __m512d,
        _mm512_setzero_pd,
        _mm512_set1_pd,
        _mm512_loadu_pd,
        _mm512_storeu_pd,
        _mm512_fmadd_pd,
        _mm512_mul_pd,
        _mm512_add_pd
    );
    #[inline(always)]
    unsafe fn store_stream(p: *mut f64, v: __m512d) {
        // SAFETY: AVX-512F per the trait contract; the caller guarantees alignment and
        // `LANES` writable elements.
        unsafe { _mm512_stream_pd(p, v) }
    }
    #[inline(always)]
    unsafe fn mask(n: usize) -> __mmask8 {
        debug_assert!((1..=8).contains(&n));
        ((1u32 << n) - 1) as __mmask8
    }
    #[inline(always)]
    unsafe fn load_masked_in_page(p: *const f64, m: __mmask8) -> __m512d {
        // SAFETY: AVX-512F per the trait contract; only masked lanes are read.
        unsafe { _mm512_maskz_loadu_pd(m, p) }
    }
    #[inline(always)]
    unsafe fn store_masked_in_page(p: *mut f64, v: __m512d, m: __mmask8) {
        // SAFETY: AVX-512F per the trait contract; only masked lanes are written.
        unsafe { _mm512_mask_storeu_pd(p, m, v) }
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const f64, m: __mmask8) -> __m512d {
        if crosses_page(p, 64) {
            // SAFETY: the masked lanes are readable (the caller's contract); the array is 8 lanes.
            return unsafe { _mm512_loadu_pd(gather::<f64, 8>(p, u32::from(m)).as_ptr()) };
        }
        // SAFETY: AVX-512F per the trait contract; only masked lanes are read.
        unsafe { _mm512_maskz_loadu_pd(m, p) }
    }
    #[inline(always)]
    unsafe fn store_masked(p: *mut f64, v: __m512d, m: __mmask8) {
        if crosses_page(p, 64) {
            let mut buf = [0f64; 8];
            // SAFETY: the masked lanes are writable (the caller's contract); the array is 8 lanes.
            return unsafe {
                _mm512_storeu_pd(buf.as_mut_ptr(), v);
                scatter(p, &buf, u32::from(m))
            };
        }
        // SAFETY: AVX-512F per the trait contract; only masked lanes are written.
        unsafe { _mm512_mask_storeu_pd(p, m, v) }
    }
    #[inline(always)]
    unsafe fn reduce_sum(v: __m512d) -> f64 {
        // SAFETY: AVX-512F per the trait contract.
        unsafe { _mm512_reduce_add_pd(v) }
    }
}

mod vl;
pub use vl::{Avx512VlF32, Avx512VlF64};
