//! Vector elementary functions, written once over [`Math`] for both element types.
//!
//! Every function is `#[inline(always)]` and `unsafe` only because the vector methods are:
//! callers run inside a `#[target_feature]` function of `S`'s instruction set (see
//! `ew::table`). Special values are handled with selects so the result matches `std`
//! (NaN in → NaN out, the signed zeros, the infinities, the overflow/underflow thresholds).
//! Lanes a vector algorithm does not cover (huge trigonometric arguments, the special cases
//! of `pow` and `atan2`) are recomputed with `std` after the vector pass.

use super::consts::Real;
use crate::Element;
use crate::simd::math::{Math, fnma};

#[inline(always)]
unsafe fn c<S: Math>(x: S::T) -> S::V {
    // SAFETY: the caller runs with `S`'s instruction set enabled (module contract).
    unsafe { S::splat(x) }
}

#[inline(always)]
fn t<S: Math>(x: f64) -> S::T {
    <S::T as crate::Element>::from_f64(x)
}

/// Rounds to the nearest integer, ties to even, for |x| < 2^(MANT−1) (the magic-number
/// trick: the sum's rounding discards the fraction). NaN stays NaN.
#[inline(always)]
pub(crate) unsafe fn round_int<S: Math>(x: S::V) -> S::V
where
    S::T: Real,
{
    // SAFETY: module contract.
    unsafe { S::sub(S::add(x, c::<S>(S::T::ROUND)), c::<S>(S::T::ROUND)) }
}

/// Σ coeffs\[i\]·zⁱ by Estrin's scheme: pairs c₂ᵢ + c₂ᵢ₊₁·z, then pairs of those with z²,
/// z⁴, … — a dependency chain of ⌈log₂ n⌉ FMAs instead of Horner's n − 1. The kernels are
/// latency-bound (perf shows the pipeline waiting on the polynomial), so the shorter
/// chain pays for the few extra multiplications.
#[inline(always)]
unsafe fn horner<S: Math>(z: S::V, coeffs: &[S::T]) -> S::V {
    // SAFETY: module contract.
    unsafe {
        let n = coeffs.len();
        debug_assert!((1..=16).contains(&n));
        let mut buf = [S::zero(); 8];
        let mut m = n.div_ceil(2);
        for i in 0..m {
            buf[i] = if 2 * i + 1 < n {
                S::fma(c::<S>(coeffs[2 * i + 1]), z, c::<S>(coeffs[2 * i]))
            } else {
                c::<S>(coeffs[2 * i])
            };
        }
        let mut zz = S::mul(z, z);
        while m > 1 {
            let half = m.div_ceil(2);
            for i in 0..half {
                buf[i] = if 2 * i + 1 < m { S::fma(buf[2 * i + 1], zz, buf[2 * i]) } else { buf[2 * i] };
            }
            m = half;
            if m > 1 {
                zz = S::mul(zz, zz);
            }
        }
        buf[0]
    }
}

/// eˣ: x = n·ln2 + r, |r| ≤ ln2/2 (Cody–Waite, n·LN2_HI exact), a Taylor polynomial for
/// eʳ, then the exact scaling by 2ⁿ (rounding once in the subnormal range).
#[inline(always)]
pub(crate) unsafe fn exp<S: Math>(x: S::V) -> S::V
where
    S::T: Real,
{
    // SAFETY: module contract.
    unsafe { exp_scaled::<S>(x, S::zero()) }
}

/// eˣ·2ᵏ for integral |k| ≤ 64, scaled exactly in the final step (so a result that would be
/// subnormal keeps its full precision for further arithmetic before one final rounding).
#[inline(always)]
pub(crate) unsafe fn exp_scaled<S: Math>(x: S::V, k: S::V) -> S::V
where
    S::T: Real,
{
    // SAFETY: module contract.
    unsafe {
        // The clamp keeps n in ldexp's range; max/min return x itself when x is NaN.
        let x = S::min(c::<S>(S::T::EXP_MAX), S::max(c::<S>(S::T::EXP_MIN), x));
        let n = round_int::<S>(S::mul(x, c::<S>(S::T::LOG2E)));
        let r = fnma::<S>(n, c::<S>(S::T::LN2_HI), x);
        let r = fnma::<S>(n, c::<S>(S::T::LN2_LO), r);
        // The two leading terms by Horner (they carry the rounding that matters), the tail
        // by Estrin: e^r = 1 + r·(1 + r·q(r)).
        let q = horner::<S>(r, &S::T::EXP[2..]);
        let one = c::<S>(S::T::ONE);
        S::ldexp(S::fma(S::fma(q, r, one), r, one), S::add(n, k))
    }
}

/// ln x: x = 2ᵉ·m with m ∈ [√½, √2), f = m − 1, ln(1+f) = f − (f²/2 − s·(f²/2 + R(s²)))
/// with s = f/(2+f) (an identity of the atanh series, arranged so the large terms are
/// exact), plus e·ln2 in two parts. Subnormals are scaled up first.
#[inline(always)]
pub(crate) unsafe fn ln<S: Math>(x: S::V) -> S::V
where
    S::T: Real,
{
    // SAFETY: module contract.
    unsafe {
        let zero = S::zero();
        // Subnormals (and zeros and negatives, fixed up below) take a scaled detour; the
        // common case skips it, keeping it off the latency chain.
        let sub = S::lt(x, c::<S>(S::T::MIN_POSITIVE));
        let (m, e) = if S::any(sub) {
            let (m, e) = S::frexp(S::select(sub, S::mul(x, c::<S>(S::T::SUB_SCALE)), x));
            (m, S::sub(e, S::select(sub, c::<S>(t::<S>((S::T::MANT + 1) as f64)), zero)))
        } else {
            S::frexp(x)
        };
        let big = S::lt(c::<S>(S::T::SQRT2), m);
        let m = S::select(big, S::mul(m, c::<S>(t::<S>(0.5))), m);
        let e = S::select(big, S::add(e, c::<S>(S::T::ONE)), e);
        let f = S::sub(m, c::<S>(S::T::ONE));
        let hfsq = S::mul(S::mul(c::<S>(t::<S>(0.5)), f), f);
        let s = S::div(f, S::add(c::<S>(t::<S>(2.0)), f));
        let z = S::mul(s, s);
        let r = S::mul(z, horner::<S>(z, S::T::LN));
        let inner = S::fma(s, S::add(hfsq, r), S::mul(e, c::<S>(S::T::LN2_LO)));
        let res = S::fma(e, c::<S>(S::T::LN2_HI), S::neg(S::sub(S::sub(hfsq, inner), f)));
        // ln(±0) = −inf, ln(x < 0) = NaN, ln(+inf) = +inf, NaN stays NaN (off the common path).
        let inf = c::<S>(S::T::INF);
        if !S::any(S::or(S::le(x, zero), S::or(S::eq(x, inf), S::is_nan(x)))) {
            return res;
        }
        let res = S::select(S::eq(x, zero), c::<S>(-S::T::INF), res);
        let res = S::select(S::lt(x, zero), c::<S>(S::T::NAN), res);
        let res = S::select(S::eq(x, inf), x, res);
        S::select(S::is_nan(x), x, res)
    }
}

/// ln(1 + y) for y ≥ 0: u = 1 + y, ln(u)·y/(u − 1) (u − 1 is exact, and the quotient
/// corrects the rounding of u); y itself where u rounds to 1.
#[inline(always)]
unsafe fn ln1p_pos<S: Math>(y: S::V) -> S::V
where
    S::T: Real,
{
    // SAFETY: module contract.
    unsafe {
        let one = c::<S>(S::T::ONE);
        let u = S::add(one, y);
        let d = S::sub(u, one);
        let l = S::mul(ln::<S>(u), S::div(y, d));
        S::select(S::eq(d, S::zero()), y, l)
    }
}

/// tanh x: the odd polynomial x + x³·P(x²) below `TANH_T`, 1 − 2/(e^{2|x|} + 1) above
/// (no cancellation there since tanh ≥ 0.55), with the sign of x.
#[inline(always)]
pub(crate) unsafe fn tanh<S: Math>(x: S::V) -> S::V
where
    S::T: Real,
{
    // SAFETY: module contract.
    unsafe {
        let a = S::abs(x);
        let one = c::<S>(S::T::ONE);
        let z = S::mul(a, a);
        let small = S::fma(S::mul(a, z), horner::<S>(z, S::T::TANH), a);
        let e = exp::<S>(S::add(a, a));
        let large = S::sub(one, S::div(c::<S>(t::<S>(2.0)), S::add(e, one)));
        let r = S::select(S::lt(a, c::<S>(S::T::TANH_T)), small, large);
        S::copysign(r, x)
    }
}

/// σ(x) = 1/(1 + e⁻ˣ) for x ≥ 0 and eˣ/(1 + eˣ) for x < 0, both from e = e^{−|x|}, so
/// neither tail overflows.
#[inline(always)]
pub(crate) unsafe fn sigmoid<S: Math>(x: S::V) -> S::V
where
    S::T: Real,
{
    // SAFETY: module contract.
    unsafe {
        let e = exp::<S>(S::neg(S::abs(x)));
        let num = S::select(S::lt(x, S::zero()), e, c::<S>(S::T::ONE));
        if S::T::MANT == 52 {
            // f64: one division (≤ 2 ulp measured, inside the ≤ 4 aim), half the latency of
            // the corrected quotient, which f32 needs for its ≤ 2 ulp.
            return S::div(num, S::add(c::<S>(S::T::ONE), e));
        }
        sigmoid_from::<S>(e, num)
    }
}

/// num/(1 + e) for e = e^{−|x|} ≤ 1 and num = e (x < 0) or 1, possibly both scaled by one
/// power of two. The denominator is kept exact as d + d_lo
/// (Fast2Sum, 1 ≥ e) and the quotient gets one Newton correction against it, leaving e's
/// own error and one rounding.
#[inline(always)]
unsafe fn sigmoid_from<S: Math>(e: S::V, num: S::V) -> S::V
where
    S::T: Real,
{
    // SAFETY: module contract.
    unsafe {
        let one = c::<S>(S::T::ONE);
        let d = S::add(one, e);
        let d_lo = S::add(S::sub(one, d), e);
        let r = S::div(one, d);
        let q = S::mul(num, r);
        // num − q·d is exact (a division residual is representable); `two_prod` keeps it
        // exact without FMA too, so the portable path gets the same correction.
        let (p, pe) = S::two_prod(q, d);
        let res = fnma::<S>(q, d_lo, S::sub(S::sub(num, p), pe));
        S::fma(res, r, q)
    }
}

/// softplus x = ln(1 + eˣ) = max(x, 0) + ln(1 + e^{−|x|}).
#[inline(always)]
pub(crate) unsafe fn softplus<S: Math>(x: S::V) -> S::V
where
    S::T: Real,
{
    // SAFETY: module contract.
    unsafe {
        let l = ln1p_pos::<S>(exp::<S>(S::neg(S::abs(x))));
        S::add(S::max(x, S::zero()), l)
    }
}

/// GELU, tanh form: ½x(1 + tanh u) = x·σ(2u), 2u = x·(K1 + K2·x²) (an exact identity; the
/// σ form has no cancellation in the negative tail). The tail multiplies the relative error
/// of 2u by |2u| (up to ~745 in f64 before the result underflows), so 2u is formed as a
/// double-length value w + w_lo (error-free products and sums, constants in two parts) and
/// e^{−|2u|} is corrected by the tail: e^{−|w| ∓ w_lo} ≈ e^{−|w|}·(1 ∓ w_lo).
#[inline(always)]
pub(crate) unsafe fn gelu<S: Math>(x: S::V) -> S::V
where
    S::T: Real,
{
    // SAFETY: module contract.
    unsafe {
        let [k1, k2] = S::T::GELU_K;
        let [k1l, k2l] = S::T::GELU_K_LO;
        let (zh, zl) = S::two_prod(x, x);
        let (ph, pl) = S::two_prod(c::<S>(k2), zh);
        let sh = S::add(c::<S>(k1), ph);
        let sl = S::sub(ph, S::sub(sh, c::<S>(k1))); // Fast2Sum: K1 > K2·x² ≥ 0 or swapped below
        let sl = S::select(S::lt(c::<S>(k1), ph), S::sub(c::<S>(k1), S::sub(sh, ph)), sl);
        let tl = S::add(S::add(sl, pl), S::fma(c::<S>(k2), zl, S::fma(c::<S>(k2l), zh, c::<S>(k1l))));
        let (wh, wl) = S::two_prod(x, sh);
        let wl = S::fma(x, tl, wl);
        // Everything is scaled by 2⁶⁴ until the last step, so a subnormal result rounds once.
        let k = c::<S>(t::<S>(64.0));
        let negative = S::lt(wh, S::zero());
        let es = exp_scaled::<S>(S::neg(S::abs(wh)), k);
        let es = fnma::<S>(es, S::select(negative, S::neg(wl), wl), es);
        let e = S::ldexp(es, S::neg(k));
        let num = S::select(negative, es, S::pow2i(k));
        let g = S::ldexp(S::mul(x, sigmoid_from::<S>(e, num)), S::neg(k));
        // x = ±inf: inf·1 and −inf·0; the limits are +inf and −0. Huge |x| overflows x²:
        // then σ is exactly 0 or 1 and x·σ is the limit (the selects below).
        let big = S::lt(c::<S>(S::T::GELU_BIG), S::abs(x));
        let g = S::select(big, S::select(S::lt(x, S::zero()), S::neg(S::zero()), x), g);
        S::select(S::is_nan(x), x, g)
    }
}

/// sin x (`COS = false`) or cos x: k = round(2x/π), r = x − k·π/2 in four parts (exact
/// products), then the Taylor polynomial of sin or cos by quadrant. Lanes with
/// |x| > `TRIG_LIMIT` (and inf/NaN) are recomputed with `std`.
#[inline(always)]
pub(crate) unsafe fn sincos<S: Math, const COS: bool>(x: S::V) -> S::V
where
    S::T: Real,
{
    // SAFETY: module contract.
    unsafe {
        let k = round_int::<S>(S::mul(x, c::<S>(S::T::TWO_OVER_PI)));
        let [p1, p2, p3, p4] = S::T::PIO2_PARTS;
        let r = fnma::<S>(k, c::<S>(p1), x);
        let r = fnma::<S>(k, c::<S>(p2), r);
        let r = fnma::<S>(k, c::<S>(p3), r);
        let r = fnma::<S>(k, c::<S>(p4), r);
        // q = k mod 4, from ⌊k/4⌋ = round(k/4 − 3/8) (k/4 is a multiple of 1/4: no ties).
        let k4 = round_int::<S>(S::sub(S::mul(k, c::<S>(t::<S>(0.25))), c::<S>(t::<S>(0.375))));
        let mut q = fnma::<S>(k4, c::<S>(t::<S>(4.0)), k);
        if COS {
            q = S::add(q, c::<S>(S::T::ONE));
        }
        let z = S::mul(r, r);
        let sin_r = S::fma(S::mul(r, z), horner::<S>(z, S::T::SIN), r);
        let cos_r = S::fma(z, horner::<S>(z, S::T::COS), c::<S>(S::T::ONE));
        let odd = S::or(S::eq(q, c::<S>(S::T::ONE)), S::eq(q, c::<S>(t::<S>(3.0))));
        let v = S::select(odd, cos_r, sin_r);
        // Quadrants 2 and 3 negate (cos shifts q to 1..=4, and 4 is quadrant 0).
        let neg = S::and(S::lt(c::<S>(t::<S>(1.5)), q), S::lt(q, c::<S>(t::<S>(3.5))));
        let v = S::select(neg, S::neg(v), v);
        let ax = S::abs(x);
        let v = if COS { v } else { S::select(S::lt(ax, c::<S>(S::T::TRIG_TINY)), x, v) };
        let far = S::lt(c::<S>(S::T::TRIG_LIMIT), ax);
        if S::any(S::or(far, S::is_nan(x))) {
            let (xs, mut vs) = (S::to_lanes(x), S::to_lanes(v));
            for i in 0..S::LANES {
                let xi: f64 = xs[i].into();
                if xi.is_nan() || xi.abs() > S::T::TRIG_LIMIT.into() {
                    vs[i] = if COS { xs[i].cos_std() } else { xs[i].sin_std() };
                }
            }
            return S::from_lanes(&vs);
        }
        v
    }
}

/// atan2(y, x) for finite nonzero x and y: z = min/max of |x|, |y| in [0, 1], reduced by
/// tan(π/8) to |t| ≤ tan(π/8) for the odd polynomial, then the octant's offsets (π/4, π/2,
/// π in two parts) and the sign of y. Zero, infinite and NaN lanes are recomputed with `std`.
#[inline(always)]
pub(crate) unsafe fn atan2<S: Math>(y: S::V, x: S::V) -> S::V
where
    S::T: Real,
{
    // SAFETY: module contract.
    unsafe {
        let zero = S::zero();
        let one = c::<S>(S::T::ONE);
        let (ax, ay) = (S::abs(x), S::abs(y));
        let swap = S::lt(ax, ay);
        // Scaling by ¼ near the top of the range keeps mn + mx finite (exact: both are huge).
        let sc = S::select(S::lt(c::<S>(S::T::QUARTER_MAX), S::max(ax, ay)), c::<S>(t::<S>(0.25)), one);
        let (mn, mx) = (S::mul(S::min(ax, ay), sc), S::mul(S::max(ax, ay), sc));
        // z = mn/mx; above tan(π/8) use (z − 1)/(z + 1) = (mn − mx)/(mn + mx): one division.
        let mid = S::lt(S::mul(c::<S>(S::T::TAN_PI8), mx), mn);
        let tt = S::div(S::select(mid, S::sub(mn, mx), mn), S::select(mid, S::add(mn, mx), mx));
        let tz = S::mul(tt, tt);
        let p = S::fma(S::mul(tt, tz), horner::<S>(tz, S::T::ATAN), tt);
        let [q1, q2] = S::T::PIO4;
        let a = S::select(mid, S::add(c::<S>(q1), S::add(p, c::<S>(q2))), p);
        let [h1, h2] = S::T::PIO2;
        let a = S::select(swap, S::add(S::sub(c::<S>(h1), a), c::<S>(h2)), a);
        let [pi1, pi2] = S::T::PI;
        let a = S::select(S::lt(x, zero), S::add(S::sub(c::<S>(pi1), a), c::<S>(pi2)), a);
        let a = S::copysign(a, y);
        let inf = c::<S>(S::T::INF);
        let special = S::or(
            S::or(S::eq(x, zero), S::eq(y, zero)),
            S::or(S::or(S::eq(ax, inf), S::eq(ay, inf)), S::or(S::is_nan(x), S::is_nan(y))),
        );
        if S::any(special) {
            let (ys, xs, mut vs) = (S::to_lanes(y), S::to_lanes(x), S::to_lanes(a));
            for i in 0..S::LANES {
                let (yi, xi) = (ys[i].into(), xs[i].into());
                if yi == 0.0 || xi == 0.0 || !yi.is_finite() || !xi.is_finite() {
                    vs[i] = ys[i].atan2_std(xs[i]);
                }
            }
            return S::from_lanes(&vs);
        }
        a
    }
}

/// xⁿ by binary powering, multiplying in the same order as `std`'s `powi` (compiler-rt's
/// `__powisf2`/`__powidf2`), then 1/r for negative n, so the results match `powi` bit for bit.
#[inline(always)]
pub(crate) unsafe fn powi<S: Math>(x: S::V, n: i32) -> S::V
where
    S::T: Real,
{
    // SAFETY: module contract.
    unsafe {
        let mut b = n.unsigned_abs();
        let (mut a, mut r) = (x, c::<S>(S::T::ONE));
        loop {
            if b & 1 == 1 {
                r = S::mul(r, a);
            }
            b /= 2;
            if b == 0 {
                break;
            }
            a = S::mul(a, a);
        }
        if n < 0 { S::div(c::<S>(S::T::ONE), r) } else { r }
    }
}
