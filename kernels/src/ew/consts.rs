//! Per-type constants of the elementary functions, and the `std` scalar functions used for
//! the lanes a vector algorithm hands back (huge trigonometric arguments, `pow`'s and
//! `atan2`'s special cases).
//!
//! Derivations (`kernels/tools/coefficients.py` regenerates the fitted ones with mpmath):
//! - `EXP`: Taylor coefficients 1/k!, rounded; degree 7 (f32) / 13 (f64) makes the
//!   truncation on |r| ≤ ln2/2 below 2⁻²⁷ / 2⁻⁵⁸ relative.
//! - `LN`: the atanh series ln(1+f) = 2s + Σ 2s^(2k+1)/(2k+1), s = f/(2+f): f32 takes the
//!   series' coefficients 2/(2k+1) (4 terms for |s| ≤ (√2−1)/(√2+1)); f64 a 7-term
//!   Chebyshev fit of the same tail (the series would need 10).
//! - `SIN`, `COS`: Taylor coefficients (−1)ᵏ/(2k+1)! and (−1)ᵏ/(2k)! on |r| ≤ π/4.
//! - `TANH`, `ATAN`: Chebyshev fits (mpmath `chebyfit`) of (f(x)/x − 1)/x² in z = x² on
//!   [0, T²], T = 1 (tanh f32), 0.625 (tanh f64), tan(π/8) (atan); fit error ≤ 2⁻²⁸ /
//!   2⁻⁵⁷ relative, printed by the script.
//! - Split constants (`LN2_HI` has 16 / 42 significant bits so that n·LN2_HI is exact for
//!   every exponent n the functions meet; `PIO2` is π/2 in three 12- / 33-bit parts, exact
//!   when multiplied by k < 2¹² / 2²⁰, plus a full-precision tail).

/// The constants and scalar fallbacks of one element type.
pub trait Real: Copy + PartialOrd + Into<f64> + std::ops::Neg<Output = Self> + 'static {
    /// Explicit mantissa bits (23, 52).
    const MANT: i32;
    /// 1.5·2^MANT: adding and subtracting it rounds to the nearest integer (ties even) for
    /// |x| < 2^(MANT−1).
    const ROUND: Self;
    const INF: Self;
    const NAN: Self;
    const MIN_POSITIVE: Self;
    /// MAX / 4.
    const QUARTER_MAX: Self;
    /// 2^(MANT+1): scales the smallest subnormal into the normal range.
    const SUB_SCALE: Self;
    const LOG2E: Self;
    const LN2_HI: Self;
    const LN2_LO: Self;
    const SQRT2: Self;
    /// exp's argument clamp: beyond it the result is surely 0 or +inf.
    const EXP_MIN: Self;
    const EXP_MAX: Self;
    const EXP: &'static [Self];
    const LN: &'static [Self];
    /// Below `TANH_T` tanh uses its polynomial, above it 1 − 2/(e^{2|x|} + 1).
    const TANH_T: Self;
    const TANH: &'static [Self];
    const ATAN: &'static [Self];
    const TAN_PI8: Self;
    const PIO4: [Self; 2];
    const PIO2: [Self; 2];
    const PI: [Self; 2];
    const TWO_OVER_PI: Self;
    /// π/2 in three exact-product parts and a tail (see the module docs).
    const PIO2_PARTS: [Self; 4];
    /// Largest |x| the vector sin/cos reduce; larger arguments go to `std`.
    const TRIG_LIMIT: Self;
    /// Below this |x|, sin x rounds to x (|x|³/6 < half an ulp of x).
    const TRIG_TINY: Self;
    const SIN: &'static [Self];
    const COS: &'static [Self];
    /// 2·√(2/π) and 2·√(2/π)·0.044715: the GELU argument 2u = x·(K1 + K2·x²).
    const GELU_K: [Self; 2];
    /// Beyond this |x|, GELU is x or −0 exactly (and x² might overflow).
    const GELU_BIG: Self;
    /// The rounding errors of `GELU_K` (K − fl(K), from mpmath at 50 digits).
    const GELU_K_LO: [Self; 2];

    fn sin_std(self) -> Self;
    fn cos_std(self) -> Self;
    fn atan2_std(self, x: Self) -> Self;
    fn pow_std(self, y: Self) -> Self;
    fn powi_std(self, n: i32) -> Self;
}

impl Real for f32 {
    const MANT: i32 = 23;
    const ROUND: f32 = 12582912.0;
    const INF: f32 = f32::INFINITY;
    const NAN: f32 = f32::NAN;
    const MIN_POSITIVE: f32 = f32::MIN_POSITIVE;
    const QUARTER_MAX: f32 = f32::MAX / 4.0;
    const SUB_SCALE: f32 = 16777216.0;
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.69314575;
    const LN2_LO: f32 = 1.4286068e-6;
    const SQRT2: f32 = std::f32::consts::SQRT_2;
    // e^x < 2^-150 (rounds to 0) below −150·ln2 ≈ −103.97, and still below 2^-150 after
    // `exp_scaled`'s 2^64 below −(150 + 64)·ln2 ≈ −148.3; e^x > MAX above ≈ 88.72.
    const EXP_MIN: f32 = -150.0;
    const EXP_MAX: f32 = 89.0;
    const EXP: &'static [f32] =
        &[1.0, 1.0, 0.5, 0.16666667, 0.041666668, 0.008333334, 0.0013888889, 0.0001984127];
    const LN: &'static [f32] = &[0.6666667, 0.4, 0.2857143, 0.22222222];
    const TANH_T: f32 = 1.0;
    const TANH: &'static [f32] = &[
        -0.33333334,
        0.1333331,
        -0.053963415,
        0.02182955,
        -0.008697848,
        0.0032068035,
        -0.0009235009,
        0.00014279319,
    ];
    const ATAN: &'static [f32] =
        &[-0.33333334, 0.19999978, -0.14284152, 0.11071365, -0.08624676, 0.050481386];
    const TAN_PI8: f32 = 0.41421357;
    const PIO4: [f32; 2] = [std::f32::consts::FRAC_PI_4, -2.1855694e-08];
    const PIO2: [f32; 2] = [1.5707964, -4.371139e-08];
    const PI: [f32; 2] = [std::f32::consts::PI, -8.742278e-08];
    const TWO_OVER_PI: f32 = std::f32::consts::FRAC_2_PI;
    const PIO2_PARTS: [f32; 4] = [1.5708008, -4.4535846e-06, -8.706138e-10, 6.223372e-14];
    const TRIG_LIMIT: f32 = 6000.0;
    const TRIG_TINY: f32 = 2.4414062e-4;
    const SIN: &'static [f32] = &[-0.16666667, 0.008333334, -0.0001984127, 2.7557319e-06];
    const COS: &'static [f32] = &[-0.5, 0.041666668, -0.0013888889, 2.4801588e-05, -2.755732e-07];
    const GELU_K: [f32; 2] = [1.5957692, 0.071354814];
    const GELU_BIG: f32 = 1e9;
    const GELU_K_LO: [f32; 2] = [-4.534068e-8, 2.3988325e-9];

    fn sin_std(self) -> f32 {
        // f64's sin is accurate to ~1 f64 ulp, so rounding it gives the f32 result to 0.5 ulp.
        (self as f64).sin() as f32
    }
    fn cos_std(self) -> f32 {
        (self as f64).cos() as f32
    }
    fn atan2_std(self, x: f32) -> f32 {
        self.atan2(x)
    }
    fn pow_std(self, y: f32) -> f32 {
        self.powf(y)
    }
    fn powi_std(self, n: i32) -> f32 {
        self.powi(n)
    }
}

impl Real for f64 {
    const MANT: i32 = 52;
    const ROUND: f64 = 6755399441055744.0;
    const INF: f64 = f64::INFINITY;
    const NAN: f64 = f64::NAN;
    const MIN_POSITIVE: f64 = f64::MIN_POSITIVE;
    const QUARTER_MAX: f64 = f64::MAX / 4.0;
    const SUB_SCALE: f64 = 9007199254740992.0;
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 0.6931471805598903;
    const LN2_LO: f64 = 5.497923018708371e-14;
    const SQRT2: f64 = std::f64::consts::SQRT_2;
    // −1075·ln2 ≈ −745.13 (rounds to 0 below; −(1075 + 64)·ln2 ≈ −789.5 with `exp_scaled`'s
    // 2^64), ln(MAX) ≈ 709.78.
    const EXP_MIN: f64 = -792.0;
    const EXP_MAX: f64 = 710.0;
    const EXP: &'static [f64] = &[
        1.0,
        1.0,
        0.5,
        0.16666666666666666,
        0.041666666666666664,
        0.008333333333333333,
        0.001388888888888889,
        0.0001984126984126984,
        2.48015873015873e-05,
        2.7557319223985893e-06,
        2.755731922398589e-07,
        2.505210838544172e-08,
        2.08767569878681e-09,
        1.6059043836821613e-10,
    ];
    // Chebyshev fit (7 terms) of the atanh-series tail on z ≤ 0.0294: relative fit error
    // 4.7e-16, entering ln through z·h/2 ≤ 0.015·h: ≤ 7e-18 relative (0.06 ulp).
    const LN: &'static [f64] = &[
        0.666666666666667,
        0.39999999999899505,
        0.28571428625975487,
        0.2222221113479508,
        0.18182889125261723,
        0.15331721600556042,
        0.14616449685043406,
    ];
    const TANH_T: f64 = 0.625;
    const TANH: &'static [f64] = &[
        -0.3333333333333333,
        0.13333333333333042,
        -0.05396825396789699,
        0.021869488519008305,
        -0.008863235103240878,
        0.0035921217511549622,
        -0.0014557754120478055,
        0.0005896606577757043,
        -0.0002375906496055562,
        9.257116129556769e-05,
        -3.12011014257974e-05,
        6.485163482793113e-06,
    ];
    const ATAN: &'static [f64] = &[
        -0.3333333333333333,
        0.19999999999999804,
        -0.14285714285659828,
        0.11111111105155447,
        -0.09090908753500877,
        0.07692296375032143,
        -0.06666424885738255,
        0.05878928997834775,
        -0.05230454270650244,
        0.04551593220626549,
        -0.034570561981427744,
        0.016285756855221028,
    ];
    const TAN_PI8: f64 = 0.41421356237309503;
    const PIO4: [f64; 2] = [std::f64::consts::FRAC_PI_4, 3.061616997868383e-17];
    const PIO2: [f64; 2] = [std::f64::consts::FRAC_PI_2, 6.123233995736766e-17];
    const PI: [f64; 2] = [std::f64::consts::PI, 1.2246467991473532e-16];
    const TWO_OVER_PI: f64 = std::f64::consts::FRAC_2_PI;
    const PIO2_PARTS: [f64; 4] =
        [1.5707963267341256, 6.077100506303966e-11, 2.0222662487111665e-21, 8.4784276603689e-32];
    const TRIG_LIMIT: f64 = 1.0e6;
    const TRIG_TINY: f64 = 3.725290298461914e-9;
    const SIN: &'static [f64] = &[
        -0.16666666666666666,
        0.008333333333333333,
        -0.0001984126984126984,
        2.7557319223985893e-06,
        -2.505210838544172e-08,
        1.6059043836821613e-10,
        -7.647163731819816e-13,
        2.8114572543455206e-15,
    ];
    const COS: &'static [f64] = &[
        -0.5,
        0.041666666666666664,
        -0.001388888888888889,
        2.48015873015873e-05,
        -2.755731922398589e-07,
        2.08767569878681e-09,
        -1.1470745597729725e-11,
        4.779477332387385e-14,
    ];
    const GELU_K: [f64; 2] = [1.5957691216057308, 0.07135481627260025];
    const GELU_BIG: f64 = 1e100;
    const GELU_K_LO: [f64; 2] = [-9.96930880911092e-17, -6.175149918155315e-19];

    fn sin_std(self) -> f64 {
        self.sin()
    }
    fn cos_std(self) -> f64 {
        self.cos()
    }
    fn atan2_std(self, x: f64) -> f64 {
        self.atan2(x)
    }
    fn pow_std(self, y: f64) -> f64 {
        self.powf(y)
    }
    fn powi_std(self, n: i32) -> f64 {
        self.powi(n)
    }
}
