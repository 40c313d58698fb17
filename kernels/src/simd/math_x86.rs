//! AVX2+FMA and AVX-512F implementations of [`Math`]: each method is a few intrinsics,
//! sound only inside functions compiled with the matching `#[target_feature]` (the trait's
//! contract). Bit operations go through the integer domain so only AVX-512F is needed.

use super::Simd;
use super::math::{Math, ldexp_two_steps};
use super::x86::{Avx2F32, Avx2F64, Avx512F32, Avx512F64};
use std::arch::x86_64::*;

/// AVX-512F: predicates are mask registers; `vscalef`/`vgetexp`/`vgetmant` do the exponent work.
macro_rules! avx512_math {
    ($name:ident, $t:ty, $v:ty, $m:ty, $sign:expr, $mant:literal, $magic:expr,
     $sub:ident, $div:ident, $sqrt:ident, $max:ident, $min:ident, $cmp:ident, $blend:ident,
     $scalef:ident, $getmant:ident, $getexp:ident, $rmax:ident, $rmin:ident, $mul:ident,
     $fmsub:ident, $add:ident, $set1:ident, $seti:ident, $slli:ident, $c2i:ident, $i2c:ident,
     $storeu:ident, $loadu:ident) => {
        // SAFETY: every method is an AVX-512F intrinsic (the trait contract guarantees the
        // feature); `vscalef`, `vgetexp` and `vgetmant` implement `ldexp`/`frexp` exactly as
        // specified for the stated input ranges, and `vfmsub` gives the exact product error.
        unsafe impl Math for $name {
            type M = $m;
            #[inline(always)]
            unsafe fn sub(a: $v, b: $v) -> $v {
                // SAFETY: AVX-512F per the trait contract (likewise in every method below).
                unsafe { $sub(a, b) }
            }
            #[inline(always)]
            unsafe fn div(a: $v, b: $v) -> $v {
                // SAFETY: as above.
                unsafe { $div(a, b) }
            }
            #[inline(always)]
            unsafe fn sqrt(a: $v) -> $v {
                // SAFETY: as above.
                unsafe { $sqrt(a) }
            }
            #[inline(always)]
            unsafe fn max(a: $v, b: $v) -> $v {
                // SAFETY: as above. `vmax` returns the second operand on NaN, as specified.
                unsafe { $max(a, b) }
            }
            #[inline(always)]
            unsafe fn min(a: $v, b: $v) -> $v {
                // SAFETY: as above.
                unsafe { $min(a, b) }
            }
            #[inline(always)]
            unsafe fn abs(a: $v) -> $v {
                // SAFETY: as above.
                unsafe { $i2c(_mm512_and_si512($c2i(a), $seti(!$sign))) }
            }
            #[inline(always)]
            unsafe fn neg(a: $v) -> $v {
                // SAFETY: as above.
                unsafe { $i2c(_mm512_xor_si512($c2i(a), $seti($sign))) }
            }
            #[inline(always)]
            unsafe fn copysign(mag: $v, sign: $v) -> $v {
                // SAFETY: as above.
                unsafe {
                    let m = _mm512_and_si512($c2i(mag), $seti(!$sign));
                    let s = _mm512_and_si512($c2i(sign), $seti($sign));
                    $i2c(_mm512_or_si512(m, s))
                }
            }
            #[inline(always)]
            unsafe fn lt(a: $v, b: $v) -> $m {
                // SAFETY: as above.
                unsafe { $cmp::<_CMP_LT_OQ>(a, b) }
            }
            #[inline(always)]
            unsafe fn le(a: $v, b: $v) -> $m {
                // SAFETY: as above.
                unsafe { $cmp::<_CMP_LE_OQ>(a, b) }
            }
            #[inline(always)]
            unsafe fn eq(a: $v, b: $v) -> $m {
                // SAFETY: as above.
                unsafe { $cmp::<_CMP_EQ_OQ>(a, b) }
            }
            #[inline(always)]
            unsafe fn is_nan(a: $v) -> $m {
                // SAFETY: as above.
                unsafe { $cmp::<_CMP_UNORD_Q>(a, a) }
            }
            #[inline(always)]
            unsafe fn and(a: $m, b: $m) -> $m {
                a & b
            }
            #[inline(always)]
            unsafe fn or(a: $m, b: $m) -> $m {
                a | b
            }
            #[inline(always)]
            unsafe fn any(m: $m) -> bool {
                m != 0
            }
            #[inline(always)]
            unsafe fn select(m: $m, a: $v, b: $v) -> $v {
                // SAFETY: as above. `mask_blend(k, x, y)` takes `y` where `k` is set.
                unsafe { $blend(m, b, a) }
            }
            #[inline(always)]
            unsafe fn ldexp(p: $v, n: $v) -> $v {
                // SAFETY: as above. `vscalef` computes p·2^⌊n⌋ with one rounding, which is
                // what `ldexp_two_steps` gives for integral n (both exact, or one rounding).
                unsafe { $scalef(p, n) }
            }
            #[inline(always)]
            unsafe fn pow2i(k: $v) -> $v {
                // SAFETY: as above. The magic-number construction of the portable path.
                unsafe { $i2c($slli::<$mant>($c2i($add(k, $set1($magic))))) }
            }
            #[inline(always)]
            unsafe fn frexp(x: $v) -> ($v, $v) {
                // SAFETY: as above. For positive normal x, `vgetmant` (interval [1, 2)) and
                // `vgetexp` (⌊log2 x⌋) are the mantissa and the exponent.
                unsafe { ($getmant::<_MM_MANT_NORM_1_2, _MM_MANT_SIGN_SRC>(x), $getexp(x)) }
            }
            #[inline(always)]
            unsafe fn reduce_max(v: $v) -> $t {
                // SAFETY: as above.
                unsafe { $rmax(v) }
            }
            #[inline(always)]
            unsafe fn reduce_min(v: $v) -> $t {
                // SAFETY: as above.
                unsafe { $rmin(v) }
            }
            #[inline(always)]
            unsafe fn two_prod(a: $v, b: $v) -> ($v, $v) {
                // SAFETY: as above.
                unsafe {
                    let p = $mul(a, b);
                    (p, $fmsub(a, b, p))
                }
            }
            #[inline(always)]
            unsafe fn to_lanes(v: $v) -> [$t; 16] {
                let mut out = [0.0; 16];
                // SAFETY: as above; `out` holds at least `LANES` elements.
                unsafe { $storeu(out.as_mut_ptr(), v) };
                out
            }
            #[inline(always)]
            unsafe fn from_lanes(a: &[$t; 16]) -> $v {
                // SAFETY: as above; `a` holds at least `LANES` elements.
                unsafe { $loadu(a.as_ptr()) }
            }
        }
    };
}

/// AVX2+FMA: predicates are all-ones lanes; exponents via integer shifts and magic numbers.
macro_rules! avx2_math {
    ($name:ident, $t:ty, $v:ty, $sign:expr, $mant:literal, $bias:literal, $magic:expr,
     $sub:ident, $div:ident, $sqrt:ident, $max:ident, $min:ident, $cmp:ident, $blendv:ident,
     $and:ident, $or:ident, $movemask:ident, $mul:ident, $fmsub:ident, $add:ident, $set1:ident,
     $seti:ident, $slli:ident, $srli:ident, $c2i:ident, $i2c:ident, $storeu:ident, $loadu:ident) => {
        // SAFETY: every method is an AVX/AVX2/FMA intrinsic (the trait contract guarantees
        // the features); the magic-number exponent tricks are exact for the stated ranges.
        unsafe impl Math for $name {
            type M = $v;
            #[inline(always)]
            unsafe fn sub(a: $v, b: $v) -> $v {
                // SAFETY: AVX2+FMA per the trait contract (likewise in every method below).
                unsafe { $sub(a, b) }
            }
            #[inline(always)]
            unsafe fn div(a: $v, b: $v) -> $v {
                // SAFETY: as above.
                unsafe { $div(a, b) }
            }
            #[inline(always)]
            unsafe fn sqrt(a: $v) -> $v {
                // SAFETY: as above.
                unsafe { $sqrt(a) }
            }
            #[inline(always)]
            unsafe fn max(a: $v, b: $v) -> $v {
                // SAFETY: as above. `vmax` returns the second operand on NaN, as specified.
                unsafe { $max(a, b) }
            }
            #[inline(always)]
            unsafe fn min(a: $v, b: $v) -> $v {
                // SAFETY: as above.
                unsafe { $min(a, b) }
            }
            #[inline(always)]
            unsafe fn abs(a: $v) -> $v {
                // SAFETY: as above.
                unsafe { $and(a, $i2c($seti(!$sign))) }
            }
            #[inline(always)]
            unsafe fn neg(a: $v) -> $v {
                // SAFETY: as above.
                unsafe { $i2c(_mm256_xor_si256($c2i(a), $seti($sign))) }
            }
            #[inline(always)]
            unsafe fn copysign(mag: $v, sign: $v) -> $v {
                // SAFETY: as above.
                unsafe { $or($and(mag, $i2c($seti(!$sign))), $and(sign, $i2c($seti($sign)))) }
            }
            #[inline(always)]
            unsafe fn lt(a: $v, b: $v) -> $v {
                // SAFETY: as above.
                unsafe { $cmp::<_CMP_LT_OQ>(a, b) }
            }
            #[inline(always)]
            unsafe fn le(a: $v, b: $v) -> $v {
                // SAFETY: as above.
                unsafe { $cmp::<_CMP_LE_OQ>(a, b) }
            }
            #[inline(always)]
            unsafe fn eq(a: $v, b: $v) -> $v {
                // SAFETY: as above.
                unsafe { $cmp::<_CMP_EQ_OQ>(a, b) }
            }
            #[inline(always)]
            unsafe fn is_nan(a: $v) -> $v {
                // SAFETY: as above.
                unsafe { $cmp::<_CMP_UNORD_Q>(a, a) }
            }
            #[inline(always)]
            unsafe fn and(a: $v, b: $v) -> $v {
                // SAFETY: as above.
                unsafe { $and(a, b) }
            }
            #[inline(always)]
            unsafe fn or(a: $v, b: $v) -> $v {
                // SAFETY: as above.
                unsafe { $or(a, b) }
            }
            #[inline(always)]
            unsafe fn any(m: $v) -> bool {
                // SAFETY: as above.
                unsafe { $movemask(m) != 0 }
            }
            #[inline(always)]
            unsafe fn select(m: $v, a: $v, b: $v) -> $v {
                // SAFETY: as above. `blendv(x, y, m)` takes `y` where `m`'s sign bit is set.
                unsafe { $blendv(b, a, m) }
            }
            #[inline(always)]
            unsafe fn ldexp(p: $v, n: $v) -> $v {
                // SAFETY: as above.
                unsafe { ldexp_two_steps::<Self>(p, n) }
            }
            #[inline(always)]
            unsafe fn pow2i(k: $v) -> $v {
                // SAFETY: as above. k + 2^MANT + BIAS holds k + BIAS in its low bits; the
                // shift moves them into the exponent field and the magic's exponent out.
                unsafe { $i2c($slli::<$mant>($c2i($add(k, $set1($magic + $bias as $t))))) }
            }
            #[inline(always)]
            unsafe fn frexp(x: $v) -> ($v, $v) {
                // SAFETY: as above. Mantissa bits under the exponent of 1.0; the biased
                // exponent placed in the mantissa of 2^MANT and read back as a float.
                unsafe {
                    let b = $c2i(x);
                    let mant = _mm256_and_si256(b, $seti((1 << $mant) - 1));
                    let m = $i2c(_mm256_or_si256(mant, $c2i($set1(1.0))));
                    let biased = _mm256_or_si256($srli::<$mant>(b), $c2i($set1($magic)));
                    (m, $sub($i2c(biased), $set1($magic + $bias as $t)))
                }
            }
            #[inline(always)]
            unsafe fn reduce_max(v: $v) -> $t {
                // SAFETY: as above; the lanes are compared as vectors, in order.
                unsafe {
                    let l = Self::to_lanes(v);
                    let mut r = $set1(l[0]);
                    for &x in &l[1..Self::LANES] {
                        r = $max(r, $set1(x));
                    }
                    Self::to_lanes(r)[0]
                }
            }
            #[inline(always)]
            unsafe fn reduce_min(v: $v) -> $t {
                // SAFETY: as above; the lanes are compared as vectors, in order.
                unsafe {
                    let l = Self::to_lanes(v);
                    let mut r = $set1(l[0]);
                    for &x in &l[1..Self::LANES] {
                        r = $min(r, $set1(x));
                    }
                    Self::to_lanes(r)[0]
                }
            }
            #[inline(always)]
            unsafe fn two_prod(a: $v, b: $v) -> ($v, $v) {
                // SAFETY: as above.
                unsafe {
                    let p = $mul(a, b);
                    (p, $fmsub(a, b, p))
                }
            }
            #[inline(always)]
            unsafe fn to_lanes(v: $v) -> [$t; 16] {
                let mut out = [0.0; 16];
                // SAFETY: as above; `out` holds at least `LANES` elements.
                unsafe { $storeu(out.as_mut_ptr(), v) };
                out
            }
            #[inline(always)]
            unsafe fn from_lanes(a: &[$t; 16]) -> $v {
                // SAFETY: as above; `a` holds at least `LANES` elements.
                unsafe { $loadu(a.as_ptr()) }
            }
        }
    };
}

avx512_math!(
    Avx512F32,
    f32,
    __m512,
    __mmask16,
    0x8000_0000u32 as i32,
    23,
    8388608.0 + 127.0,
    _mm512_sub_ps,
    _mm512_div_ps,
    _mm512_sqrt_ps,
    _mm512_max_ps,
    _mm512_min_ps,
    _mm512_cmp_ps_mask,
    _mm512_mask_blend_ps,
    _mm512_scalef_ps,
    _mm512_getmant_ps,
    _mm512_getexp_ps,
    _mm512_reduce_max_ps,
    _mm512_reduce_min_ps,
    _mm512_mul_ps,
    _mm512_fmsub_ps,
    _mm512_add_ps,
    _mm512_set1_ps,
    _mm512_set1_epi32,
    _mm512_slli_epi32,
    _mm512_castps_si512,
    _mm512_castsi512_ps,
    _mm512_storeu_ps,
    _mm512_loadu_ps
);
avx512_math!(
    Avx512F64,
    f64,
    __m512d,
    __mmask8,
    0x8000_0000_0000_0000u64 as i64,
    52,
    4503599627370496.0 + 1023.0,
    _mm512_sub_pd,
    _mm512_div_pd,
    _mm512_sqrt_pd,
    _mm512_max_pd,
    _mm512_min_pd,
    _mm512_cmp_pd_mask,
    _mm512_mask_blend_pd,
    _mm512_scalef_pd,
    _mm512_getmant_pd,
    _mm512_getexp_pd,
    _mm512_reduce_max_pd,
    _mm512_reduce_min_pd,
    _mm512_mul_pd,
    _mm512_fmsub_pd,
    _mm512_add_pd,
    _mm512_set1_pd,
    _mm512_set1_epi64,
    _mm512_slli_epi64,
    _mm512_castpd_si512,
    _mm512_castsi512_pd,
    _mm512_storeu_pd,
    _mm512_loadu_pd
);
avx2_math!(
    Avx2F32,
    f32,
    __m256,
    0x8000_0000u32 as i32,
    23,
    127,
    8388608.0,
    _mm256_sub_ps,
    _mm256_div_ps,
    _mm256_sqrt_ps,
    _mm256_max_ps,
    _mm256_min_ps,
    _mm256_cmp_ps,
    _mm256_blendv_ps,
    _mm256_and_ps,
    _mm256_or_ps,
    _mm256_movemask_ps,
    _mm256_mul_ps,
    _mm256_fmsub_ps,
    _mm256_add_ps,
    _mm256_set1_ps,
    _mm256_set1_epi32,
    _mm256_slli_epi32,
    _mm256_srli_epi32,
    _mm256_castps_si256,
    _mm256_castsi256_ps,
    _mm256_storeu_ps,
    _mm256_loadu_ps
);
avx2_math!(
    Avx2F64,
    f64,
    __m256d,
    0x8000_0000_0000_0000u64 as i64,
    52,
    1023,
    4503599627370496.0,
    _mm256_sub_pd,
    _mm256_div_pd,
    _mm256_sqrt_pd,
    _mm256_max_pd,
    _mm256_min_pd,
    _mm256_cmp_pd,
    _mm256_blendv_pd,
    _mm256_and_pd,
    _mm256_or_pd,
    _mm256_movemask_pd,
    _mm256_mul_pd,
    _mm256_fmsub_pd,
    _mm256_add_pd,
    _mm256_set1_pd,
    _mm256_set1_epi64x,
    _mm256_slli_epi64,
    _mm256_srli_epi64,
    _mm256_castpd_si256,
    _mm256_castsi256_pd,
    _mm256_storeu_pd,
    _mm256_loadu_pd
);
