//! The operations the slice kernels need beyond [`Simd`]: division, square root,
//! comparisons with lane masks, sign manipulation and exponent arithmetic.
//!
//! The elementary functions in `ew::vmath` are written once over this trait. Where an
//! instruction set has a native form (AVX-512's `vscalefps`, mask registers) the impl uses
//! it, but every method is specified to give bit-identical results on every path that has
//! FMA, so the AVX2 and AVX-512 paths agree bit for bit (tested).

use super::Simd;
use super::portable::{PortableF32, PortableF64};
use wide::{f32x8, f64x4, u32x8, u64x4};

/// Lane-wise math on one instruction set and element type.
///
/// # Safety
/// As for [`Simd`]: methods may use the instruction set's intrinsics, so they must only be
/// called where it is enabled. Implementations must follow each method's specification
/// exactly (results are compared bit for bit across paths).
pub unsafe trait Math: Simd {
    /// A per-lane predicate.
    type M: Copy;
    /// `a − b`.
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    /// `a / b`, correctly rounded.
    unsafe fn div(a: Self::V, b: Self::V) -> Self::V;
    /// `√a`, correctly rounded.
    unsafe fn sqrt(a: Self::V) -> Self::V;
    /// `if a > b { a } else { b }`: `b` when either is NaN (the x86 `max` rule).
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V;
    /// `if a < b { a } else { b }`: `b` when either is NaN (the x86 `min` rule).
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V;
    /// `|a|` (clears the sign bit, NaN included).
    unsafe fn abs(a: Self::V) -> Self::V;
    /// `−a` (flips the sign bit).
    unsafe fn neg(a: Self::V) -> Self::V;
    /// `|mag|` with the sign bit of `sign`.
    unsafe fn copysign(mag: Self::V, sign: Self::V) -> Self::V;
    /// `a < b` (false if either is NaN).
    unsafe fn lt(a: Self::V, b: Self::V) -> Self::M;
    /// `a <= b` (false if either is NaN).
    unsafe fn le(a: Self::V, b: Self::V) -> Self::M;
    /// `a == b` (false if either is NaN).
    unsafe fn eq(a: Self::V, b: Self::V) -> Self::M;
    /// `a` is NaN.
    unsafe fn is_nan(a: Self::V) -> Self::M;
    /// Both predicates.
    unsafe fn and(a: Self::M, b: Self::M) -> Self::M;
    /// Either predicate.
    unsafe fn or(a: Self::M, b: Self::M) -> Self::M;
    /// Whether any lane's predicate holds.
    unsafe fn any(m: Self::M) -> bool;
    /// `if m { a } else { b }` lane-wise.
    unsafe fn select(m: Self::M, a: Self::V, b: Self::V) -> Self::V;
    /// `p · 2ⁿ` for integral `n` with `|n| ≤ 2·(MAX_EXP + MANTISSA_DIGITS)` and `p` within a
    /// factor 2 of 1: exact when the result is normal, rounded once when it is subnormal,
    /// `±inf` past the range.
    unsafe fn ldexp(p: Self::V, n: Self::V) -> Self::V;
    /// `2ᵏ` for integral `k` in the normal exponent range.
    unsafe fn pow2i(k: Self::V) -> Self::V;
    /// For positive, normal, finite `x`: `(m, e)` with `x = m · 2ᵉ`, `m ∈ [1, 2)`, `e` integral.
    unsafe fn frexp(x: Self::V) -> (Self::V, Self::V);
    /// Largest lane (lanes are compared with [`Math::max`] in a fixed order).
    unsafe fn reduce_max(v: Self::V) -> Self::T;
    /// Smallest lane (lanes are compared with [`Math::min`] in a fixed order).
    unsafe fn reduce_min(v: Self::V) -> Self::T;
    /// `(p, e)` with `p = fl(a·b)` and `p + e = a·b` exactly (barring over/underflow).
    unsafe fn two_prod(a: Self::V, b: Self::V) -> (Self::V, Self::V);
    /// The lanes as an array (first `LANES` entries of 16 used).
    unsafe fn to_lanes(v: Self::V) -> [Self::T; 16];
    /// A vector from the first `LANES` entries of an array.
    unsafe fn from_lanes(a: &[Self::T; 16]) -> Self::V;
}

/// Orders earlier non-temporal stores before later stores (`sfence`; SSE, baseline on
/// x86-64; nothing elsewhere, nor under Miri, which lacks `sfence` and runs only the
/// portable path, whose "non-temporal" stores are plain ones).
#[inline(always)]
pub(crate) fn stream_fence() {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: `sfence` is SSE (baseline on x86-64) and has no memory operands.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}

/// `c − a·b` (fused where the path fuses [`Simd::fma`]).
#[inline(always)]
pub(crate) unsafe fn fnma<S: Math>(a: S::V, b: S::V, c: S::V) -> S::V {
    // SAFETY: the caller runs with `S`'s instruction set enabled.
    unsafe { S::fma(S::neg(a), b, c) }
}

/// `p · 2ⁿ` in two exact power-of-two steps, rounding at most once (the portable and AVX2
/// form of [`Math::ldexp`]).
#[inline(always)]
pub(crate) unsafe fn ldexp_two_steps<S: Math>(p: S::V, n: S::V) -> S::V {
    // SAFETY: the caller runs with `S`'s instruction set enabled.
    unsafe {
        // n1 = ⌊n/2⌋ via the round-to-nearest magic below on n/2 − 1/4 (n/2 is exact).
        let half = S::mul(n, S::splat(<S::T as crate::Element>::from_f64(0.5)));
        let n1 = crate::ew::vmath::round_int::<S>(S::sub(
            half,
            S::splat(<S::T as crate::Element>::from_f64(0.25)),
        ));
        let n2 = S::sub(n, n1);
        S::mul(S::mul(p, S::pow2i(n1)), S::pow2i(n2))
    }
}

macro_rules! portable_math {
    ($name:ident, $v:ty, $t:ty, $u:ty, $lanes:literal, $mant:literal, $bias:literal, $sign:literal,
     $magic_exp:literal) => {
        // SAFETY: plain `wide` code with no instruction-set requirement; each method follows
        // its specification (the magic-number exponent tricks are exact for the stated ranges).
        unsafe impl Math for $name {
            type M = $v;
            #[inline(always)]
            unsafe fn sub(a: $v, b: $v) -> $v {
                a - b
            }
            #[inline(always)]
            unsafe fn div(a: $v, b: $v) -> $v {
                a / b
            }
            #[inline(always)]
            unsafe fn sqrt(a: $v) -> $v {
                a.sqrt()
            }
            #[inline(always)]
            unsafe fn max(a: $v, b: $v) -> $v {
                b.simd_lt(a).select(a, b)
            }
            #[inline(always)]
            unsafe fn min(a: $v, b: $v) -> $v {
                a.simd_lt(b).select(a, b)
            }
            #[inline(always)]
            unsafe fn abs(a: $v) -> $v {
                bytemuck::cast::<$u, $v>(bytemuck::cast::<$v, $u>(a) & <$u>::splat(!$sign))
            }
            #[inline(always)]
            unsafe fn neg(a: $v) -> $v {
                bytemuck::cast::<$u, $v>(bytemuck::cast::<$v, $u>(a) ^ <$u>::splat($sign))
            }
            #[inline(always)]
            unsafe fn copysign(mag: $v, sign: $v) -> $v {
                let m = bytemuck::cast::<$v, $u>(mag) & <$u>::splat(!$sign);
                let s = bytemuck::cast::<$v, $u>(sign) & <$u>::splat($sign);
                bytemuck::cast::<$u, $v>(m | s)
            }
            #[inline(always)]
            unsafe fn lt(a: $v, b: $v) -> $v {
                a.simd_lt(b)
            }
            #[inline(always)]
            unsafe fn le(a: $v, b: $v) -> $v {
                a.simd_lt(b) | a.simd_eq(b)
            }
            #[inline(always)]
            unsafe fn eq(a: $v, b: $v) -> $v {
                a.simd_eq(b)
            }
            #[inline(always)]
            unsafe fn is_nan(a: $v) -> $v {
                a.is_nan()
            }
            #[inline(always)]
            unsafe fn and(a: $v, b: $v) -> $v {
                a & b
            }
            #[inline(always)]
            unsafe fn or(a: $v, b: $v) -> $v {
                a | b
            }
            #[inline(always)]
            unsafe fn any(m: $v) -> bool {
                m.any()
            }
            #[inline(always)]
            unsafe fn select(m: $v, a: $v, b: $v) -> $v {
                m.select(a, b)
            }
            #[inline(always)]
            unsafe fn ldexp(p: $v, n: $v) -> $v {
                // SAFETY: portable code.
                unsafe { ldexp_two_steps::<Self>(p, n) }
            }
            #[inline(always)]
            unsafe fn pow2i(k: $v) -> $v {
                // k + 2^MANT + BIAS has k + BIAS in its low bits; shifting them into the
                // exponent field pushes the magic's own exponent out of the word.
                let b = bytemuck::cast::<$v, $u>(k + <$v>::splat($magic_exp + $bias as $t));
                bytemuck::cast::<$u, $v>(b << $mant)
            }
            #[inline(always)]
            unsafe fn frexp(x: $v) -> ($v, $v) {
                let b = bytemuck::cast::<$v, $u>(x);
                let one_bits = bytemuck::cast::<$v, $u>(<$v>::splat(1.0));
                let mant_mask = <$u>::splat((1 << $mant) - 1);
                let m = bytemuck::cast::<$u, $v>((b & mant_mask) | one_bits);
                // The biased exponent, placed in the mantissa of 2^MANT, read as a float.
                let magic = bytemuck::cast::<$v, $u>(<$v>::splat($magic_exp));
                let e =
                    bytemuck::cast::<$u, $v>((b >> $mant) | magic) - <$v>::splat($magic_exp + $bias as $t);
                (m, e)
            }
            #[inline(always)]
            unsafe fn reduce_max(v: $v) -> $t {
                let a = v.to_array();
                let mut r = <$v>::splat(a[0]);
                for &x in &a[1..] {
                    // SAFETY: portable code.
                    r = unsafe { Self::max(r, <$v>::splat(x)) };
                }
                r.to_array()[0]
            }
            #[inline(always)]
            unsafe fn reduce_min(v: $v) -> $t {
                let a = v.to_array();
                let mut r = <$v>::splat(a[0]);
                for &x in &a[1..] {
                    // SAFETY: portable code.
                    r = unsafe { Self::min(r, <$v>::splat(x)) };
                }
                r.to_array()[0]
            }
            #[inline(always)]
            unsafe fn two_prod(a: $v, b: $v) -> ($v, $v) {
                // Dekker's product with Veltkamp's split (no FMA on this path).
                let split = |x: $v| {
                    let c = <$v>::splat(((1u64 << (($mant + 2) / 2)) + 1) as $t) * x;
                    let hi = c - (c - x);
                    (hi, x - hi)
                };
                let p = a * b;
                let (ah, al) = split(a);
                let (bh, bl) = split(b);
                let e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
                (p, e)
            }
            #[inline(always)]
            unsafe fn to_lanes(v: $v) -> [$t; 16] {
                let mut out = [0.0; 16];
                out[..$lanes].copy_from_slice(&v.to_array());
                out
            }
            #[inline(always)]
            unsafe fn from_lanes(a: &[$t; 16]) -> $v {
                let mut l = [0.0; $lanes];
                l.copy_from_slice(&a[..$lanes]);
                <$v>::from(l)
            }
        }
    };
}

portable_math!(PortableF32, f32x8, f32, u32x8, 8, 23, 127, 0x8000_0000, 8388608.0);
portable_math!(PortableF64, f64x4, f64, u64x4, 4, 52, 1023, 0x8000_0000_0000_0000, 4503599627370496.0);
