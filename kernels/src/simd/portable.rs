//! The portable path: `wide` vectors compiled for the baseline target.
//!
//! `wide` chooses its instructions when it is compiled, so in a default build this is
//! SSE2 code. FMA is not assumed: `fma` is an unfused multiply then add, and
//! `fma_scalar` matches it, so every tile shape rounds identically.

use super::Simd;
use wide::{f32x8, f64x4};

/// Portable `f32`: 8 lanes.
#[derive(Clone, Copy)]
pub struct PortableF32;
/// Portable `f64`: 4 lanes.
#[derive(Clone, Copy)]
pub struct PortableF64;

macro_rules! portable_impl {
    ($name:ident, $t:ty, $v:ty, $lanes:literal) => {
        // SAFETY: no instruction-set requirement; the masked accessors below touch only the
        // first `n` elements, and `fma_scalar` is the same unfused `a*b + c` as `fma`.
        unsafe impl Simd for $name {
            type T = $t;
            type V = $v;
            type Mask = usize;
            const LANES: usize = $lanes;

            #[inline(always)]
            unsafe fn zero() -> $v {
                <$v>::ZERO
            }
            #[inline(always)]
            unsafe fn splat(x: $t) -> $v {
                <$v>::splat(x)
            }
            #[inline(always)]
            unsafe fn load(p: *const $t) -> $v {
                // SAFETY: the caller guarantees `LANES` readable elements at `p`.
                <$v>::from(unsafe { p.cast::<[$t; $lanes]>().read_unaligned() })
            }
            #[inline(always)]
            unsafe fn store(p: *mut $t, v: $v) {
                // SAFETY: the caller guarantees `LANES` writable elements at `p`.
                unsafe { p.cast::<[$t; $lanes]>().write_unaligned(v.to_array()) }
            }
            #[inline(always)]
            unsafe fn mask(n: usize) -> usize {
                n
            }
            #[inline(always)]
            unsafe fn load_masked(p: *const $t, n: usize) -> $v {
                if n == $lanes {
                    // SAFETY: a full mask means `LANES` readable elements.
                    return unsafe { Self::load(p) };
                }
                let mut buf = [0.0; $lanes];
                // SAFETY: the caller guarantees `n` readable elements at `p`.
                unsafe { std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n) };
                <$v>::from(buf)
            }
            #[inline(always)]
            unsafe fn store_masked(p: *mut $t, v: $v, n: usize) {
                let buf = v.to_array();
                // SAFETY: the caller guarantees `n` writable elements at `p`.
                unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), p, n) };
            }
            #[inline(always)]
            unsafe fn fma(a: $v, b: $v, c: $v) -> $v {
                a * b + c
            }
            #[inline(always)]
            unsafe fn mul(a: $v, b: $v) -> $v {
                a * b
            }
            #[inline(always)]
            unsafe fn add(a: $v, b: $v) -> $v {
                a + b
            }
            #[inline(always)]
            unsafe fn reduce_sum(v: $v) -> $t {
                v.to_array().iter().fold(0.0, |s, &x| s + x)
            }
            #[inline(always)]
            fn fma_scalar(a: $t, b: $t, c: $t) -> $t {
                a * b + c
            }
        }
    };
}

portable_impl!(PortableF32, f32, f32x8, 8);
portable_impl!(PortableF64, f64, f64x4, 4);
