//! A careful double-double ("dd") reference for elementary functions, used by the tests to measure the
//! ULP error of the f64/f32 SIMD kernels.
//!
//! Every function returns `hi + lo` (normalised: `|lo| ≤ ulp(hi)/2`) with a relative error of about
//! 2^-103 (2^-94 at worst in the deep tails of `pow` and `gelu`; see each function), so `to_f64()` is
//! the correctly rounded result except for values within that distance of a rounding midpoint. Checked
//! against mpmath (320 bits) on ~2.5·10^5 inputs incl. edge cases: worst relative errors exp 2^-105,
//! ln 2^-103.6, tanh 2^-103.6, sigmoid 2^-104.9, softplus 2^-104, gelu 2^-94.8, sin/cos 2^-104.5,
//! atan2 2^-104.7, pow 2^-94.8, and `to_f64()` was correctly rounded on every one.
//!
//! Tiny results are limited by the format: below 2^-960 `hi` is rounded correctly and `lo` holds the
//! residual only to the 2^-1074 grid; below 2^-1021 `lo` is 0. There the reference is exact only to
//! ±2^-1075 absolute, so a ULP error measured in the lowest binade or among subnormals can be off by up
//! to 0.5 (e.g. a result 0.503 ulp away measures 1.0).
//!
//! Arithmetic: the double-word algorithms of Joldes, Muller & Popescu, "Tight and rigorous error bounds
//! for basic building blocks of double-word arithmetic" (ACM TOMS 2017): `+` is AccurateDWPlusDW
//! (relative error ≤ 3u², u = 2^-53, even under cancellation), `*` is DWTimesDW3 (≤ 4u²), `* f64` is
//! DWTimesFP3 (≤ 2u²), `+ f64` is DWPlusFP (≤ 2u²), `/` is three-digit long division (≈ 3u²).
//! Constants were computed with mpmath 1.3 at 400 bits: `hi = float(v)`, `lo = float(v - hi)`.
#![allow(dead_code)]

use std::f64::consts::{self as c, FRAC_2_PI, LOG2_E};
use std::ops::{Add, Div, Mul, Neg, Sub};

/// An unevaluated sum `hi + lo` of two doubles with `|lo| ≤ ulp(hi)/2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dd {
    /// The leading double: the value rounded to f64 (up to ties).
    pub hi: f64,
    /// The trailing double.
    pub lo: f64,
}

const fn dd(hi: f64, lo: f64) -> Dd {
    Dd { hi, lo }
}

impl Dd {
    /// The exact value `hi`.
    pub fn new(hi: f64) -> Dd {
        Dd { hi, lo: 0.0 }
    }
    /// `hi + lo` rounded to f64.
    pub fn to_f64(self) -> f64 {
        self.hi + self.lo
    }
    /// Multiplication by a power of two `p` (exact unless it over/underflows).
    pub fn scale(self, p: f64) -> Dd {
        Dd { hi: self.hi * p, lo: self.lo * p }
    }
}

/// `a + b` exactly as a dd (Knuth's TwoSum, no precondition).
pub fn two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    let bb = s - a;
    Dd { hi: s, lo: (a - (s - bb)) + (b - bb) }
}

/// `a + b` exactly as a dd, provided `|a| ≥ |b|` or `a == 0` (Dekker's FastTwoSum).
pub fn fast_two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    Dd { hi: s, lo: b - (s - a) }
}

/// `a · b` exactly as a dd (barring over/underflow), the error term from a fused multiply-add.
pub fn two_prod(a: f64, b: f64) -> Dd {
    let p = a * b;
    Dd { hi: p, lo: a.mul_add(b, -p) }
}

impl Neg for Dd {
    type Output = Dd;
    fn neg(self) -> Dd {
        Dd { hi: -self.hi, lo: -self.lo }
    }
}

impl Add for Dd {
    type Output = Dd;
    /// AccurateDWPlusDW: relative error ≤ 3u² + 13u³ whatever the cancellation.
    fn add(self, b: Dd) -> Dd {
        let s = two_sum(self.hi, b.hi);
        let t = two_sum(self.lo, b.lo);
        let v = fast_two_sum(s.hi, s.lo + t.hi);
        fast_two_sum(v.hi, t.lo + v.lo)
    }
}

impl Sub for Dd {
    type Output = Dd;
    fn sub(self, b: Dd) -> Dd {
        self + -b
    }
}

impl Add<f64> for Dd {
    type Output = Dd;
    /// DWPlusFP: relative error ≤ 2u².
    fn add(self, b: f64) -> Dd {
        let s = two_sum(self.hi, b);
        fast_two_sum(s.hi, self.lo + s.lo)
    }
}

impl Mul for Dd {
    type Output = Dd;
    /// DWTimesDW3: relative error ≤ 4u².
    fn mul(self, b: Dd) -> Dd {
        let c = two_prod(self.hi, b.hi);
        let t = self.hi.mul_add(b.lo, self.lo * b.lo);
        let t = self.lo.mul_add(b.hi, t);
        fast_two_sum(c.hi, c.lo + t)
    }
}

impl Mul<f64> for Dd {
    type Output = Dd;
    /// DWTimesFP3: relative error ≤ 2u².
    fn mul(self, b: f64) -> Dd {
        let c = two_prod(self.hi, b);
        fast_two_sum(c.hi, self.lo.mul_add(b, c.lo))
    }
}

impl Div for Dd {
    type Output = Dd;
    /// Long division with three quotient digits q1 + q2 + q3, each from the current remainder.
    fn div(self, b: Dd) -> Dd {
        let q1 = self.hi / b.hi;
        let r = self - b * q1;
        let q2 = r.hi / b.hi;
        let r = r - b * q2;
        let q3 = r.hi / b.hi;
        fast_two_sum(q1, q2) + q3
    }
}

// ---------------------------------------------------------------------------------------------------
// Constants (mpmath, 400 bits; hi = float(v), lo = float(v - hi) unless said otherwise; where hi is a
// std constant, std's value is that same correctly rounded double).

/// ln 2 as three doubles (mpmath `log(2)` split greedily), so n·ln2 is exact to 2^-150 for |n| < 2^11.
const LN2: [f64; 3] = [c::LN_2, 2.3190468138462996e-17, 5.707708438416212e-34];
/// π as a dd (mpmath `pi`).
const PI: Dd = dd(c::PI, 1.2246467991473532e-16);
/// π/2 as a dd (mpmath `pi/2`; exactly PI/2).
const PI_2: Dd = dd(c::FRAC_PI_2, 6.123233995736766e-17);
/// e as a dd (mpmath `e`), for tests.
const E: Dd = dd(c::E, 1.4456468917292502e-16);
/// π/2 in five parts for Cody–Waite reduction: P1 = π/2 truncated to 25 significant bits, P2 = the rest
/// truncated to 24 bits (so k·P1 and k·P2 are exact for |k| < 2^26), then three greedy doubles of the
/// remainder; |π/2 − ΣPi| ≈ 2.8e-66 (mpmath).
#[rustfmt::skip]
const PIO2: [f64; 5] = [
    1.5707963109016418, 1.5893254712295857e-8, 6.123233995736766e-17,
    -1.4973849048591698e-33, 5.562271104316826e-50,
];
/// The largest |x| accepted by `sin` and `cos`: 2^26.
pub const TRIG_MAX: f64 = 67108864.0;
/// Taylor coefficients 1/m! of expm1, m = 1..=8 as dd (mpmath `1/factorial(m)`).
#[rustfmt::skip]
const EXP_HEAD: [Dd; 8] = [
    dd(1.0, 0.0), dd(0.5, 0.0),
    dd(0.16666666666666666, 9.25185853854297e-18), dd(0.041666666666666664, 2.3129646346357427e-18),
    dd(0.008333333333333333, 1.1564823173178714e-19), dd(0.001388888888888889, -5.300543954373577e-20),
    dd(0.0001984126984126984, 1.7209558293420705e-22), dd(2.48015873015873e-5, 2.1511947866775882e-23),
];
/// 1/m!, m = 9..=13, as f64 (their terms are < 2^-62 of the sum, so f64 coefficients suffice).
#[rustfmt::skip]
const EXP_TAIL: [f64; 5] = [
    2.7557319223985893e-6, 2.755731922398589e-7, 2.505210838544172e-8,
    2.08767569878681e-9, 1.6059043836821613e-10,
];
/// sin(r)/r = Σ (−1)^j z^j/(2j+1)!, z = r², j = 0..=8 as dd (mpmath `(-1)**j/factorial(2j+1)`).
#[rustfmt::skip]
const SIN_HEAD: [Dd; 9] = [
    dd(1.0, 0.0), dd(-0.16666666666666666, -9.25185853854297e-18),
    dd(0.008333333333333333, 1.1564823173178714e-19), dd(-0.0001984126984126984, -1.7209558293420705e-22),
    dd(2.7557319223985893e-6, -1.858393274046472e-22), dd(-2.505210838544172e-8, 1.448814070935912e-24),
    dd(1.6059043836821613e-10, 1.2585294588752098e-26), dd(-7.647163731819816e-13, -7.03872877733453e-30),
    dd(2.8114572543455206e-15, 1.6508842730861433e-31),
];
/// j = 9..=13 as f64 (terms < 2^-63 of the sum for |r| ≤ 0.8).
#[rustfmt::skip]
const SIN_TAIL: [f64; 5] = [
    -8.22063524662433e-18, 1.9572941063391263e-20, -3.868170170630684e-23,
    6.446950284384474e-26, -9.183689863795546e-29,
];
/// cos(r) = Σ (−1)^j z^j/(2j)!, j = 0..=8 as dd (mpmath `(-1)**j/factorial(2j)`).
#[rustfmt::skip]
const COS_HEAD: [Dd; 9] = [
    dd(1.0, 0.0), dd(-0.5, 0.0),
    dd(0.041666666666666664, 2.3129646346357427e-18), dd(-0.001388888888888889, 5.300543954373577e-20),
    dd(2.48015873015873e-5, 2.1511947866775882e-23), dd(-2.755731922398589e-7, -2.3767714622250297e-23),
    dd(2.08767569878681e-9, -1.20734505911326e-25), dd(-1.1470745597729725e-11, -2.0655512752830745e-28),
    dd(4.779477332387385e-14, 4.399205485834081e-31),
];
/// j = 9..=13 as f64 (terms < 2^-58 of the sum for |r| ≤ 0.8).
#[rustfmt::skip]
const COS_TAIL: [f64; 5] = [
    -1.5619206968586225e-16, 4.110317623312165e-19, -8.896791392450574e-22,
    1.6117375710961184e-24, -2.4795962632247976e-27,
];
/// ln(1+t)/t = Σ (−1)^j t^j/(j+1): j = 0..=2 as dd (1/3 from mpmath), j = 3..=5 as f64 (t < 2^-20).
const LN1P_HEAD: [Dd; 3] = [dd(1.0, 0.0), dd(-0.5, 0.0), dd(0.3333333333333333, 1.850371707708594e-17)];
/// (the f64 coefficients: correctly rounded by IEEE division)
const LN1P_TAIL: [f64; 3] = [-0.25, 0.2, -1.0 / 6.0];
/// The GELU cubic coefficient 0.044715 (exact decimal; mpmath `mpf('0.044715')` split).
const GELU_A: Dd = dd(0.044715, 2.1960211427085595e-18);
/// 2·sqrt(2/π) = sqrt(8/π) (mpmath `sqrt(8/pi)`), so that 2u = sqrt(8/π)·(x + 0.044715·x³).
const SQRT_8_PI: Dd = dd(1.5957691216057308, -9.96930880911092e-17);
/// The NaN result.
const NAN: Dd = dd(f64::NAN, f64::NAN);

// ---------------------------------------------------------------------------------------------------
// Helpers.

/// 2^k as f64 for −1022 ≤ k ≤ 1023 (built from the exponent bits).
fn pow2(k: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&k));
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// v·2^n for any n, in steps of at most 2^±1000 (exact while the result is normal).
fn scale2(mut v: f64, mut n: i32) -> f64 {
    while n > 1000 {
        v *= pow2(1000);
        n -= 1000;
    }
    while n < -1000 {
        v *= pow2(-1000);
        n += 1000;
    }
    v * pow2(n)
}

/// floor(log2 |v|) for finite nonzero v (subnormals included).
fn exponent(v: f64) -> i32 {
    let b = ((v.to_bits() >> 52) & 0x7ff) as i32;
    if b == 0 { exponent(v * pow2(54)) - 54 } else { b - 1023 }
}

/// d·2^n. Where the result is ≥ 2^-960 both words are scaled exactly; below that, hi + lo is rounded
/// once, correctly (ties to even), onto the f64 grid and lo is the residual rounded to the 2^-1074 grid
/// (never to a false tie ±ulp(hi)/2), so it is 0 for results below 2^-1021 and the dd is then only
/// accurate to ±2^-1075 absolute. On overflow hi = ±inf, lo = 0. Assumes d.hi is normal (as every
/// caller's is).
fn ldexp_dd(d: Dd, n: i32) -> Dd {
    if d.hi == 0.0 || !d.hi.is_finite() {
        return d;
    }
    let e = exponent(d.hi) + n;
    if e >= -960 {
        let hi = scale2(d.hi, n);
        return if hi.is_infinite() { Dd::new(hi) } else { Dd { hi, lo: scale2(d.lo, n) } };
    }
    if e <= -1076 {
        // |d·2^n| < 2^(e+1) ≤ 2^-1075: rounds to zero.
        return Dd::new(0.0_f64.copysign(d.hi));
    }
    // Work before scaling, where everything is exact: g = one step 2^q of the result's grid, k = hi
    // rounded to a multiple of g (hi − k·g is exact), corrected once by the residual t including lo.
    let q = (e - 52).max(-1074);
    let g = scale2(1.0, q - n);
    let mut k = (d.hi / g).round_ties_even();
    let mut t = (d.hi - k * g) + d.lo;
    let odd = k % 2.0 != 0.0;
    if t > 0.5 * g || (t == 0.5 * g && odd) {
        k += 1.0;
        t -= g;
    } else if t < -0.5 * g || (t == -0.5 * g && odd) {
        k -= 1.0;
        t += g;
    }
    // lo: the residual rounded to the nearest 2^-1074 step, unless that would make a false tie ±g/2.
    let unit = scale2(1.0, -1074 - n);
    let mut lo_units = (t / unit).round_ties_even();
    if (lo_units * unit).abs() == 0.5 * g && t.abs() != 0.5 * g {
        lo_units -= lo_units.signum();
    }
    Dd { hi: scale2(k, q), lo: scale2(lo_units, -1074) }
}

/// Σ c_i z^i with the low-order coefficients `head` in dd and the high-order `tail` (continuing the
/// powers) in f64; Horner's rule, the tail in plain f64 on z.hi, then the head in dd.
fn horner(z: Dd, head: &[Dd], tail: &[f64]) -> Dd {
    let mut t = 0.0_f64;
    for &c in tail.iter().rev() {
        t = t.mul_add(z.hi, c);
    }
    let mut p = Dd::new(t);
    for &c in head.iter().rev() {
        p = c + z * p;
    }
    p
}

// ---------------------------------------------------------------------------------------------------
// exp and ln.

/// expm1(r) for |r| ≤ 0.36, accurate relative to the result (≈ 2^-102) even for tiny r: s = r/16,
/// expm1(s) by Taylor to s^13/13! (truncation < 2^-107), then four times p ← p·(p + 2) = (1+p)² − 1.
fn expm1_red(r: Dd) -> Dd {
    let s = r.scale(1.0 / 16.0);
    let mut p = s * horner(s, &EXP_HEAD, &EXP_TAIL);
    for _ in 0..4 {
        p = p * (p + 2.0);
    }
    p
}

/// e^x = m·2^n with m ∈ [0.7, 1.42] as a dd, for |x.hi| ≲ 800: n = round(x/ln2), r = x − n·ln2 with
/// ln2 in three parts (n·L1 and n·L2 exact by two_prod), then m = 1 + expm1(r).
fn exp_parts(x: Dd) -> (Dd, i32) {
    let n = (x.hi * LOG2_E).round();
    let r = x - two_prod(n, LN2[0]) - two_prod(n, LN2[1]) - Dd::new(n * LN2[2]);
    (expm1_red(r) + 1.0, n as i32)
}

/// e^x for a dd argument: relative error ≈ 2^-102 plus |x|·(relative error of x) (the argument's own
/// error, inherent). Overflows to +inf; results below 2^-1022 are rounded correctly to subnormals.
pub fn exp_dd(x: Dd) -> Dd {
    if x.hi.is_nan() {
        return NAN;
    }
    if x.hi > 710.0 {
        return Dd::new(f64::INFINITY);
    }
    if x.hi < -746.0 {
        return Dd::new(0.0);
    }
    let (m, n) = exp_parts(x);
    ldexp_dd(m, n)
}

/// e^x for all x (relative error ≈ 2^-102 where the result is normal).
pub fn exp(x: f64) -> Dd {
    exp_dd(Dd::new(x))
}

/// expm1 for a moderate dd argument (|a| ≤ 1): the reduced series near 0, e^a − 1 otherwise (where at
/// most 2 bits cancel).
fn expm1_dd(a: Dd) -> Dd {
    if a.hi.abs() <= 0.36 { expm1_red(a) } else { exp_dd(a) + -1.0 }
}

/// ln m for m ∈ [√½, √2]: y0 = m.ln(), then one Newton step for e^y = m written without cancellation:
/// c = m·e^-y0 − 1 = (m−1) + E + (m−1)·E with E = expm1(−y0) and m−1 exact (Sterbenz), and
/// ln m = y0 + ln(1+c) = y0 + c − c²/2 (|c| ≲ 2^-52|y0|, so the rest is < 2^-150).
fn ln_near1(m: f64) -> Dd {
    let y0 = m.ln();
    let em1 = expm1_red(Dd::new(-y0));
    let d = m - 1.0;
    let c = (em1 + d) + em1 * d;
    Dd::new(y0) + (c + -0.5 * c.hi * c.hi)
}

/// ln x for x > 0 (subnormals included): x = m·2^e with m ∈ [√½, √2], ln x = e·ln2 + ln m, e·ln2 from
/// the three-part ln2. Relative error ≈ 2^-101. ln 0 = −inf, ln(x < 0) = NaN, ln(+inf) = +inf.
pub fn ln(x: f64) -> Dd {
    if x.is_nan() || x < 0.0 {
        return NAN;
    }
    if x == 0.0 || x == f64::INFINITY {
        return Dd::new(if x == 0.0 { f64::NEG_INFINITY } else { x });
    }
    let (m, e) = split_exp(x);
    let l = ln_near1(m);
    if e == 0.0 {
        return l;
    }
    two_prod(e, LN2[0]) + two_prod(e, LN2[1]) + (Dd::new(e * LN2[2]) + l)
}

/// ln(1 + t) for a dd t ∈ [0, 1]: the series for t < 2^-20 (truncation < 2^-120), else one Newton step
/// as in `ln_near1`: c = (1+t)·e^-y0 − 1 = E + t + t·E with E = expm1(−y0), y0 = ln_1p(t.hi).
fn ln1p_dd(t: Dd) -> Dd {
    if t.hi < 9.5367431640625e-7 {
        return t * horner(t, &LN1P_HEAD, &LN1P_TAIL);
    }
    let y0 = t.hi.ln_1p();
    let em1 = expm1_dd(Dd::new(-y0));
    let c = (em1 + t) + t * em1;
    Dd::new(y0) + (c + -0.5 * c.hi * c.hi)
}

// ---------------------------------------------------------------------------------------------------
// Functions built on exp and ln.

/// tanh x for all x: odd Taylor series x − x³/3 + 2x⁵/15 for |x| < 2^-30 (correction < 2^-60·|x|,
/// computed in f64), −E/(2 + E) with E = expm1(−2|x|) for |x| < 0.18 (no cancellation), else
/// (1 − e)/(1 + e) with e = e^-2|x| ≤ 0.7. Relative error ≈ 2^-101.
pub fn tanh(x: f64) -> Dd {
    let ax = x.abs();
    if ax < 9.313225746154785e-10 {
        let x2 = x * x;
        return two_sum(x, x * x2 * x2.mul_add(2.0 / 15.0, -1.0 / 3.0));
    }
    let t = if ax < 0.18 {
        let em1 = expm1_red(Dd::new(-2.0 * ax));
        -em1 / (em1 + 2.0)
    } else {
        let e = exp(-2.0 * ax);
        (-e + 1.0) / (e + 1.0)
    };
    if x < 0.0 { -t } else { t }
}

/// 1/(1 + e^-x) for all x. For x < 0 it is computed as m/(1 + e^x)·2^n with e^x = m·2^n, so the
/// result is accurate (relative ≈ 2^-101) down to the subnormal range, where it is correctly rounded.
pub fn sigmoid(x: f64) -> Dd {
    if x.is_nan() {
        return NAN;
    }
    if x >= 0.0 {
        return Dd::new(1.0) / (exp(-x) + 1.0);
    }
    if x < -746.0 {
        return Dd::new(0.0);
    }
    let (m, n) = exp_parts(Dd::new(x));
    ldexp_dd(m / (ldexp_dd(m, n) + 1.0), n)
}

/// ln(1 + e^x) for all x: x + ln1p(e^-x) for x > 0; ln1p(e^x) for −40 ≤ x ≤ 0; below −40 (e^x < 2^-57)
/// m·(1 − t/2)·2^n with e^x = m·2^n = t (dropped t²/3 < 2^-114), so the tail is accurate into the
/// subnormals. Relative error ≈ 2^-101.
pub fn softplus(x: f64) -> Dd {
    if x.is_nan() || x == f64::INFINITY {
        return Dd::new(x);
    }
    if x > 0.0 {
        return Dd::new(x) + ln1p_dd(exp(-x));
    }
    if x >= -40.0 {
        return ln1p_dd(exp(x));
    }
    if x < -746.0 {
        return Dd::new(0.0);
    }
    let (m, n) = exp_parts(Dd::new(x));
    let t = scale2(m.hi, n);
    ldexp_dd(m * two_sum(1.0, -0.5 * t), n)
}

/// The tanh-form GELU 0.5·x·(1 + tanh u), u = sqrt(2/π)·(x + 0.044715·x³), with the exact decimal
/// 0.044715 and exact sqrt(2/π), through the identity 0.5·x·(1 + tanh u) = x/(1 + e^-2u). For x < 0 it
/// is x·m/(1 + e^2u)·2^n with e^2u = m·2^n, accurate into the subnormal tail. Relative error
/// ≈ 2^-101 + |2u|·2^-104 (the error of the dd 2u, amplified by the tail's conditioning); so at worst
/// (|2u| ≈ 745) about 2^-94.
pub fn gelu(x: f64) -> Dd {
    if x == 0.0 || x.is_nan() || x > 64.0 {
        // Above 64, e^-2u < e^-18000: the result is x to far below 2^-1074 relative.
        return Dd::new(x);
    }
    if x < -64.0 {
        return Dd::new(-0.0);
    }
    let u2 = (two_prod(x, x) * x * GELU_A + x) * SQRT_8_PI;
    if x > 0.0 {
        return Dd::new(x) / (exp_dd(-u2) + 1.0);
    }
    if u2.hi < -800.0 {
        // |x|·e^2u < 2^6·2^-1154: rounds to −0.
        return Dd::new(-0.0);
    }
    let (m, n) = exp_parts(u2);
    ldexp_dd(m * x / (ldexp_dd(m, n) + 1.0), n)
}

/// m ∈ [√½, √2] and e with x = m·2^e, for finite x > 0 (subnormals included).
fn split_exp(x: f64) -> (f64, f64) {
    let e = exponent(x);
    let m = scale2(x, -e);
    if m > c::SQRT_2 { (0.5 * m, f64::from(e + 1)) } else { (m, f64::from(e)) }
}

/// x^y for x > 0 and finite y. With x = m·2^e and y·e = N + f exactly (two_prod; N an integer,
/// |f| ≤ ½): x^y = 2^N · e^(y·ln m + f·ln2), so only y·ln m carries a relative error that the
/// exponential amplifies. Relative error ≈ 2^-103 + |y·ln m|·2^-104: ≈ 2^-103 for moderate y, about
/// 2^-95 at worst (x near 1 and |y·ln x| near 700). x ≤ 0 or NaN gives NaN; x = +inf as `f64::powf`.
pub fn pow(x: f64, y: f64) -> Dd {
    if x.is_nan() || y.is_nan() || x <= 0.0 {
        return NAN;
    }
    if y == 0.0 || x == 1.0 {
        return Dd::new(1.0);
    }
    if x == f64::INFINITY {
        return Dd::new(if y > 0.0 { x } else { 0.0 });
    }
    let (m, e) = split_exp(x);
    let lm = ln_near1(m);
    // y·ln x to ~2^-50: decides overflow and underflow (|y·e| ≤ 2157 past this point).
    let t = y * e.mul_add(LN2[0], lm.hi);
    if t > 710.0 {
        return Dd::new(f64::INFINITY);
    }
    if t < -746.0 {
        return Dd::new(0.0);
    }
    let ye = two_prod(y, e);
    let n = ye.hi.round();
    let f = two_sum(ye.hi - n, ye.lo);
    let (m2, n2) = exp_parts(lm * y + f * dd(LN2[0], LN2[1]));
    ldexp_dd(m2, n2 + n as i32)
}

// ---------------------------------------------------------------------------------------------------
// Trigonometric functions.

/// sin r for |r| ≤ 0.8: r·Σ (−1)^j r^2j/(2j+1)! to j = 13 (truncation < 2^-112).
fn sin_k(r: Dd) -> Dd {
    r * horner(r * r, &SIN_HEAD, &SIN_TAIL)
}

/// cos r for |r| ≤ 0.8: Σ (−1)^j r^2j/(2j)! to j = 13 (truncation < 2^-107; cos r ≥ 0.69).
fn cos_k(r: Dd) -> Dd {
    horner(r * r, &COS_HEAD, &COS_TAIL)
}

/// r = x − k·π/2 (|r| ≤ π/4 + tiny) and k mod 4, for |x| ≤ 2^26. k·P1 and k·P2 are exact and x − k·P1
/// is exact (Sterbenz); then two_sum and exact two_prod terms, summed in dd, whose partial sums already
/// have r's magnitude (|k·P4| < 2^-83). This relies on the fact (checked by enumerating every k < 2^26·2/π
/// in exact integer arithmetic) that no double |x| ≤ 2^26 lies closer than 2^-60.49 to a multiple of π/2
/// (the closest is near 29·π/2), so r's relative error stays ≈ 2^-103.
fn reduce_pio2(x: f64) -> (Dd, i64) {
    let k = (x * FRAC_2_PI).round();
    let a = x - k * PIO2[0];
    let r = two_sum(a, -k * PIO2[1]) - two_prod(k, PIO2[2]) - two_prod(k, PIO2[3]) - Dd::new(k * PIO2[4]);
    (r, (k as i64) & 3)
}

/// sin x for |x| ≤ 2^26 (`TRIG_MAX`; panics beyond, NaN for NaN). Relative error ≈ 2^-102, including
/// near multiples of π (see `reduce_pio2`).
pub fn sin(x: f64) -> Dd {
    if x == 0.0 || x.is_nan() {
        return Dd::new(x);
    }
    assert!(x.abs() <= TRIG_MAX, "dd::sin({x}): outside the reference domain |x| <= 2^26");
    let (r, q) = reduce_pio2(x);
    match q {
        0 => sin_k(r),
        1 => cos_k(r),
        2 => -sin_k(r),
        _ => -cos_k(r),
    }
}

/// cos x for |x| ≤ 2^26 (`TRIG_MAX`; panics beyond, NaN for NaN). Relative error ≈ 2^-102.
pub fn cos(x: f64) -> Dd {
    if x.is_nan() {
        return NAN;
    }
    assert!(x.abs() <= TRIG_MAX, "dd::cos({x}): outside the reference domain |x| <= 2^26");
    let (r, q) = reduce_pio2(x);
    match q {
        0 => cos_k(r),
        1 => -sin_k(r),
        2 => -cos_k(r),
        _ => sin_k(r),
    }
}

/// atan z for a dd z ∈ (0, 1]. Tiny z: z − z³/3 + z⁵/5. Otherwise y0 = atan(z.hi) and one exact-form
/// correction: atan z = y0 + atan w, w = (z·cos y0 − sin y0)/(cos y0 + z·sin y0) = tan(atan z − y0),
/// |w| ≲ 2^-52 so atan w = w to 2^-156.
fn atan01(z: Dd) -> Dd {
    if z.hi < 9.313225746154785e-10 {
        let z2 = z.hi * z.hi;
        return z + z.hi * z2 * z2.mul_add(0.2, -1.0 / 3.0);
    }
    let y0 = Dd::new(z.hi.atan());
    let (s, c) = (sin_k(y0), cos_k(y0));
    y0 + (z * c - s) / (c + z * s)
}

/// a/b (0 < a ≤ b finite) as a dd: the quotient of the mantissas in [1, 2), then scaled by the exponent
/// difference, so subnormal operands lose nothing and a subnormal ratio is rounded correctly.
fn ratio(a: f64, b: f64) -> Dd {
    let (ea, eb) = (exponent(a), exponent(b));
    ldexp_dd(Dd::new(scale2(a, -ea)) / Dd::new(scale2(b, -eb)), ea - eb)
}

/// atan2(y, x) with the quadrant and signed-zero rules of `f64::atan2` (infinities too): atan of the
/// dd ratio min/max ∈ [0, 1], then π/2 − a if |y| > |x|, π − a if x is negative, and y's sign.
/// Relative error ≈ 2^-102.
pub fn atan2(y: f64, x: f64) -> Dd {
    if x.is_nan() || y.is_nan() {
        return NAN;
    }
    let (mut ax, mut ay) = (x.abs(), y.abs());
    if ax.is_infinite() || ay.is_infinite() {
        // An infinite operand dominates any finite one; two infinities behave like 1 and 1.
        (ax, ay) = (f64::from(u8::from(ax.is_infinite())), f64::from(u8::from(ay.is_infinite())));
    }
    let a = if ay == 0.0 {
        Dd::new(0.0)
    } else if ax == 0.0 {
        PI_2
    } else if ay <= ax {
        atan01(ratio(ay, ax))
    } else {
        PI_2 - atan01(ratio(ax, ay))
    };
    let a = if x.is_sign_negative() { PI - a } else { a };
    if y.is_sign_negative() { -a } else { a }
}

// ---------------------------------------------------------------------------------------------------
// ULP error measurement.

/// The error of `got` in units in the last place of f64 at the magnitude of `want` (absolute value).
///
/// The ulp is that of the binade holding the exact value hi + lo (so just below a power of two it is
/// the smaller one), 2^-1074 in the subnormal range. `got − want` is formed in dd, so e.g. a correctly
/// rounded result with a half-ulp tie measures 0.5. Infinities: `got` equal to `want` rounded (same
/// infinity) → 0; otherwise an infinite `got` or `want.hi` counts as ±2^1024 (with ulp 2^971). NaN in
/// either → +inf, unless both are NaN → 0.
pub fn ulp_err_f64(got: f64, want: Dd) -> f64 {
    if got.is_nan() || want.hi.is_nan() {
        return if got.is_nan() && want.hi.is_nan() { 0.0 } else { f64::INFINITY };
    }
    if got.is_infinite() && got == want.to_f64() {
        return 0.0;
    }
    // ±2^1024 as the (unnormalised) dd ±(MAX + 2^971), on which arithmetic stays finite.
    let fin = |v: Dd| if v.hi.is_infinite() { dd(f64::MAX, pow2(971)).scale(v.hi.signum()) } else { v };
    let w = fin(want);
    let d = fin(Dd::new(got)) - w;
    let a = w.hi.abs();
    let ulp_exp = if a < f64::MIN_POSITIVE {
        -1074
    } else {
        let e = exponent(a);
        // hi is a power of two and lo pulls the value below it: the binade below.
        let below = a.to_bits() & ((1u64 << 52) - 1) == 0 && w.lo != 0.0 && (w.lo < 0.0) != (w.hi < 0.0);
        (e - 52 - i32::from(below)).max(-1074)
    };
    // NaN here means got − want overflowed (opposite huge values): infinitely wrong.
    let err = scale2(d.to_f64().abs(), -ulp_exp);
    if err.is_nan() { f64::INFINITY } else { err }
}

/// The error of the f32 result `got` in f32 ulps at the magnitude of the f64 reference `want`
/// (absolute value): ulp 2^(e−23) for 2^e ≤ |want| < 2^(e+1), 2^-149 below 2^-126, 2^104 from 2^127 up.
/// `got` infinite and equal to `want` rounded to f32 → 0; otherwise an infinite `got` counts as ±2^128.
/// NaN rules as in `ulp_err_f64`.
pub fn ulp_err_f32(got: f32, want: f64) -> f64 {
    if got.is_nan() || want.is_nan() {
        return if got.is_nan() && want.is_nan() { 0.0 } else { f64::INFINITY };
    }
    if got.is_infinite() && got == want as f32 {
        return 0.0;
    }
    let g = if got.is_infinite() { pow2(128).copysign(got as f64) } else { got as f64 };
    let a = want.abs();
    let ulp_exp = if a < pow2(-126) { -149 } else { exponent(a).min(127) - 23 };
    // NaN here means want is infinite and got is not: infinitely wrong.
    let err = scale2(two_sum(g, -want).to_f64().abs(), -ulp_exp);
    if err.is_nan() { f64::INFINITY } else { err }
}

// ---------------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// |a − b| / |b| as log2 (−inf if equal), b ≠ 0.
    fn rel_log2(a: Dd, b: Dd) -> f64 {
        let d = a - b;
        (d.to_f64() / b.to_f64()).abs().log2()
    }

    #[test]
    fn known_values() {
        // Values from mpmath at 400 bits, split as the constants above.
        assert!(rel_log2(exp(1.0), E) < -100.0);
        assert!(rel_log2(ln(2.0), dd(LN2[0], LN2[1])) < -100.0);
        assert!(rel_log2(atan2(1.0, 1.0), PI_2.scale(0.5)) < -100.0);
        assert!(rel_log2(atan2(-0.0, -1.0), -PI) < -100.0);
        // sin(π/6 rounded to f64) = 0.5 + 4.64e-17.
        assert!(rel_log2(sin(std::f64::consts::FRAC_PI_6), dd(0.5, 4.6422502234037016e-17)) < -100.0);
        // cos(29π/2 rounded to f64), the hardest case of the reduction for |x| ≤ 2^26: −6.19e-19.
        let want = dd(-6.189806365883577e-19, 5.558005016244944e-36);
        assert!(rel_log2(cos(45.553093477052), want) < -100.0);
        assert!(rel_log2(sin(45.553093477052), dd(1.0, -1.915685142356643e-37)) < -100.0);
        assert!(rel_log2(gelu(1.0), dd(0.8411919906082767, 5.2962387671902353e-17)) < -100.0);
        // exp(-740) = 84.78…·2^-1074 is subnormal: correctly rounded to 85·2^-1074.
        assert_eq!(exp(-740.0), Dd::new(85.0 * f64::from_bits(1)));
        assert_eq!(exp(710.0).hi, f64::INFINITY);
    }

    #[test]
    fn identities() {
        let mut s = 0x1234_5678_9abc_def0_u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..200 {
            let x = (next() - 0.5) * 40.0;
            let p = x.abs() + 1e-3;
            assert!(rel_log2(exp_dd(ln(p)), Dd::new(p)) < -98.0, "exp(ln {p})");
            let (sn, cs) = (sin(x), cos(x));
            assert!(rel_log2(sn * sn + cs * cs, Dd::new(1.0)) < -100.0, "sin²+cos² at {x}");
            assert!(rel_log2(pow(p, 2.0), two_prod(p, p)) < -100.0, "pow({p}, 2)");
            assert!(rel_log2(pow(p, -1.5) * pow(p, 1.5), Dd::new(1.0)) < -100.0, "pow({p}, ±1.5)");
            if x.abs() > 0.01 {
                // Both sides are ≈ ln 2 near 0, so the difference loses log2(1/|x|) bits.
                assert!(rel_log2(softplus(x) - softplus(-x), Dd::new(x)) < -95.0, "softplus at {x}");
            }
            if x.abs() > 0.5 {
                let t = sigmoid(2.0 * x) * 2.0 + -1.0;
                assert!(rel_log2(t, tanh(x)) < -98.0, "tanh/sigmoid at {x}");
            }
        }
    }

    #[test]
    fn ulp_err() {
        let one = Dd::new(1.0);
        assert_eq!(ulp_err_f64(1.0, one), 0.0);
        assert_eq!(ulp_err_f64(1.0 + f64::EPSILON, one), 1.0);
        assert_eq!(ulp_err_f64(1.0, dd(1.0, f64::EPSILON / 2.0)), 0.5);
        // Just below 1 the ulp is 2^-53.
        assert_eq!(ulp_err_f64(1.0, dd(1.0, -f64::EPSILON / 4.0)), 0.5);
        assert_eq!(ulp_err_f64(1.0 - f64::EPSILON / 2.0, one), 0.5);
        let tiny = f64::from_bits(1);
        assert_eq!(ulp_err_f64(3.0 * tiny, Dd::new(5.0 * tiny)), 2.0);
        assert_eq!(ulp_err_f64(f64::INFINITY, Dd::new(f64::INFINITY)), 0.0);
        assert_eq!(ulp_err_f64(f64::INFINITY, Dd::new(f64::MAX)), 1.0);
        assert_eq!(ulp_err_f64(f64::MAX, Dd::new(f64::INFINITY)), 1.0);
        assert_eq!(ulp_err_f64(f64::NAN, NAN), 0.0);
        assert_eq!(ulp_err_f64(1.0, NAN), f64::INFINITY);
        assert_eq!(ulp_err_f64(-f64::INFINITY, Dd::new(f64::INFINITY)), f64::INFINITY);
        assert_eq!(ulp_err_f32(1.0, 1.0), 0.0);
        assert_eq!(ulp_err_f32(1.0 + f32::EPSILON, 1.0), 1.0);
        assert_eq!(ulp_err_f32(1.0, 1.0 + f64::from(f32::EPSILON) / 2.0), 0.5);
        assert_eq!(ulp_err_f32(f32::from_bits(3), 5.0 * f64::from(f32::from_bits(1))), 2.0);
        assert_eq!(ulp_err_f32(f32::INFINITY, 1e39), 0.0);
        assert_eq!(ulp_err_f32(f32::INFINITY, f64::from(f32::MAX)), 1.0);
        assert_eq!(ulp_err_f32(f32::MAX, f64::INFINITY), f64::INFINITY);
    }
}
