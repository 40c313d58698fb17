//! Half-width (`ymm`) vectors inside the AVX-512 kernels: the AVX2 arithmetic with the
//! AVX-512VL masked loads and stores (`k` masks).
//!
//! The AVX-512 tables' tiles of at most half a vector of rows use these (see
//! `gemm::table`); before, they used AVX2's `vmaskmov` for a tile of 1–7 `f32` rows or
//! 1–3 `f64` rows. Zen 5, ours / faer in one process, medians of 5 rounds, `vmaskmov` →
//! `k` masks: `f32` 7 × 64 × 64 1.07 → 1.11 ×, 5 × 40 × 40 1.01 → 1.05 ×, 6 × 6 × 30
//! 1.26 → 1.39 ×, 7 × 20 × 9 0.71 → 0.76 × (there A's windows crossing a page, taking
//! the lane-by-lane path, cost more than the masks).

use super::{crosses_page, gather, scatter};
use crate::simd::Simd;
use std::arch::x86_64::*;

/// `f32`, 8 lanes in a `ymm` register, AVX-512VL masks.
#[derive(Clone, Copy)]
pub struct Avx512VlF32;
/// `f64`, 4 lanes in a `ymm` register, AVX-512VL masks.
#[derive(Clone, Copy)]
pub struct Avx512VlF64;

macro_rules! vl_impl {
    ($name:ident, $t:ty, $v:ty, $lanes:literal, $maskz_load:ident, $mask_store:ident,
     $loadu:ident, $storeu:ident, $avx2:ty) => {
        // SAFETY: every method is an AVX/AVX2/FMA intrinsic (delegated to the AVX2 type,
        // whose contract is this one with fewer features) or an AVX-512VL masked access,
        // which neither reads nor writes masked-off lanes; windows crossing a page go
        // through a lane array (see `crosses_page`).
        unsafe impl Simd for $name {
            type T = $t;
            type V = $v;
            type Mask = __mmask8;
            const LANES: usize = $lanes;
            #[inline(always)]
            unsafe fn zero() -> $v {
                // SAFETY: the contract is the AVX2 type's, whose features are enabled too.
                unsafe { <$avx2>::zero() }
            }
            #[inline(always)]
            unsafe fn splat(x: $t) -> $v {
                // SAFETY: as for `zero`.
                unsafe { <$avx2>::splat(x) }
            }
            #[inline(always)]
            unsafe fn load(p: *const $t) -> $v {
                // SAFETY: as for `zero`; `LANES` readable elements at `p` per the caller.
                unsafe { <$avx2>::load(p) }
            }
            #[inline(always)]
            unsafe fn store(p: *mut $t, v: $v) {
                // SAFETY: as for `zero`; `LANES` writable elements at `p` per the caller.
                unsafe { <$avx2>::store(p, v) }
            }
            #[inline(always)]
            unsafe fn mask(n: usize) -> __mmask8 {
                debug_assert!((1..=$lanes).contains(&n));
                ((1u32 << n) - 1) as __mmask8
            }
            #[inline(always)]
            unsafe fn load_masked_in_page(p: *const $t, m: __mmask8) -> $v {
                // SAFETY: AVX-512F+VL per the trait contract; only masked lanes are read.
                unsafe { $maskz_load(m, p) }
            }
            #[inline(always)]
            unsafe fn store_masked_in_page(p: *mut $t, v: $v, m: __mmask8) {
                // SAFETY: AVX-512F+VL per the trait contract; only masked lanes are written.
                unsafe { $mask_store(p, m, v) }
            }
            #[inline(always)]
            unsafe fn load_masked(p: *const $t, m: __mmask8) -> $v {
                if crosses_page(p, $lanes * size_of::<$t>()) {
                    // SAFETY: the masked lanes are readable (the caller's contract).
                    return unsafe { $loadu(gather::<$t, $lanes>(p, u32::from(m)).as_ptr()) };
                }
                // SAFETY: AVX-512F+VL per the trait contract; only masked lanes are read.
                unsafe { $maskz_load(m, p) }
            }
            #[inline(always)]
            unsafe fn store_masked(p: *mut $t, v: $v, m: __mmask8) {
                if crosses_page(p, $lanes * size_of::<$t>()) {
                    let mut buf = [0 as $t; $lanes];
                    // SAFETY: the masked lanes are writable (the caller's contract).
                    return unsafe {
                        $storeu(buf.as_mut_ptr(), v);
                        scatter(p, &buf, u32::from(m))
                    };
                }
                // SAFETY: AVX-512F+VL per the trait contract; only masked lanes are written.
                unsafe { $mask_store(p, m, v) }
            }
            #[inline(always)]
            unsafe fn fma(a: $v, b: $v, c: $v) -> $v {
                // SAFETY: as for `zero`.
                unsafe { <$avx2>::fma(a, b, c) }
            }
            #[inline(always)]
            unsafe fn mul(a: $v, b: $v) -> $v {
                // SAFETY: as for `zero`.
                unsafe { <$avx2>::mul(a, b) }
            }
            #[inline(always)]
            unsafe fn add(a: $v, b: $v) -> $v {
                // SAFETY: as for `zero`.
                unsafe { <$avx2>::add(a, b) }
            }
            #[inline(always)]
            unsafe fn reduce_sum(v: $v) -> $t {
                // SAFETY: as for `zero`.
                unsafe { <$avx2>::reduce_sum(v) }
            }
            #[inline(always)]
            fn fma_scalar(a: $t, b: $t, c: $t) -> $t {
                <$avx2>::fma_scalar(a, b, c)
            }
        }
    };
}

vl_impl!(
    Avx512VlF32,
    f32,
    __m256,
    8,
    _mm256_maskz_loadu_ps,
    _mm256_mask_storeu_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    super::Avx2F32
);
vl_impl!(
    Avx512VlF64,
    f64,
    __m256d,
    4,
    _mm256_maskz_loadu_pd,
    _mm256_mask_storeu_pd,
    _mm256_loadu_pd,
    _mm256_storeu_pd,
    super::Avx2F64
);
