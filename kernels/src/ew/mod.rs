//! Elementwise, fused and reduction kernels on slices of `f32` or `f64`.
//!
//! - [`map`]/[`map_inplace`]: unary ops ([`Unary`]); [`zip`], [`zip_inplace`],
//!   [`zip_scalar`], [`scalar_zip`]: binary ops ([`Binary`]).
//! - Fused: [`axpy`], [`scale`], and the backward fusions [`tanh_backward`],
//!   [`sigmoid_backward`], [`relu_backward`], [`softmax_backward_rows`],
//!   [`log_softmax_backward_rows`].
//! - Reductions: [`sum`], [`dot`], [`max`], [`min`], [`argmax`], [`norm2`], [`logsumexp`];
//!   on row-major matrices [`sum_rows`], [`sum_cols`], [`softmax_rows`], [`log_softmax_rows`].
//!
//! Every function runs on the instruction set and threads of [`Exec::current`]; long slices
//! are split across the caller's rayon pool above a per-op threshold, and results do not
//! depend on the number of threads (reductions combine fixed-size blocks in a fixed order).
//! Length mismatches panic with a message naming the lengths.
//!
//! # Accuracy
//! Maximum error in ulps (units in the last place of the result's format). Each cell is
//! "measured / enforced": measured by `kernels/tests/ew_accuracy.rs` over 10⁷ inputs per
//! function and path (atan2 and pow: 2.5·10⁶ pairs): every special value, 5·10⁶ random bit patterns
//! (the whole finite range, all binades alike) and 5·10⁶ uniform draws over the range
//! where the function is not trivially 0, ±1 or ±inf; f32 against f64 evaluations, f64
//! against double-double ones (~2⁻¹⁰⁰ relative). The test enforces the second number. The
//! last column is the exhaustive sweep's maximum over every f32 input (`cargo xtask
//! ulp-sweep`, not run in CI). The AVX2 and AVX-512 paths are bit-identical (tested), so
//! one column covers both; the portable path has no FMA (`fma` is a multiply then an add),
//! which costs accuracy in the polynomial and reduction steps; exact residuals use
//! Dekker's product there.
//!
//! | function | f32, AVX | f32, portable | f64, AVX | f64, portable | f32, all 2³² (AVX / portable) |
//! | --- | --- | --- | --- | --- | --- |
//! | exp | 0.92 / 1 | 1.16 / 1.5 | 1.00 / 1 | 1.20 / 1.5 | 0.96 / 1.25 |
//! | ln | 0.84 / 1 | 0.84 / 1 | 0.81 / 1 | 0.81 / 1 | 0.86 / 0.86 |
//! | tanh | 1.20 / 1.5 | 1.34 / 1.5 | 1.37 / 2 | 1.31 / 2 | 1.27 / 1.38 |
//! | sigmoid | 1.43 / 1.5 | 1.57 / 2 | 1.96 / 2.5 | 2.10 / 2.5 | 1.48 / 1.73 |
//! | sin | 2.38 / 2.5 | 2.38 / 2.5 | 2.03 / 2.5 | 2.03 / 2.5 | 2.45 / 2.45 |
//! | cos | 2.29 / 2.5 | 2.29 / 2.5 | 2.35 / 2.5 | 2.35 / 2.5 | 2.37 / 2.37 |
//! | softplus | 2.65 / 3 | 2.77 / 3 | 2.62 / 3 | 2.69 / 3 | 2.81 / 2.81 |
//! | gelu | 0.50 / 1 | 0.50 / 1 | 2.95 / 3.5 | 2.92 / 3.5 | 0.50 / 0.50 |
//! | atan2 | 2.02 / 2.5 | 2.05 / 2.5 | 2.09 / 2.5 | 2.09 / 2.5 | — |
//! | pow, powf | 0.50 / 1 | 0.50 / 1 | `std` | `std` | — |
//!
//! How: exp reduces by ln 2 (Cody–Waite) to a Taylor polynomial and scales exactly; ln
//! uses the atanh series of the mantissa; tanh a fitted odd polynomial below 1 (f32) /
//! 0.625 (f64) and 1 − 2/(e^{2|x|} + 1) above; sigmoid one exp and, in f32, a
//! Newton-corrected quotient (f64 keeps the plain division: ≤ 2.5 ulp at half the
//! latency); sin/cos reduce by π/2 in four exact parts (|x| ≤ 6000 for f32, 10⁶ for f64;
//! larger arguments are computed by `std`, lane by lane). f32 GELU and f32 pow are
//! evaluated in f64: GELU's negative tail multiplies the relative error of its argument
//! 2u by |2u| (up to ~100 in f32 and ~745 in f64 before the result underflows), and pow's
//! result error is |y·ln x| times that of ln x; the f64 GELU forms its argument in double
//! length instead. f64 pow needs y·ln x to ~2⁻⁶³, more than the vector ln gives, so it is
//! `std`'s `powf` lane by lane (glibc's pow is correctly rounded in practice). Polynomials
//! are evaluated by Estrin's scheme (short dependency chains: the loops are latency-bound),
//! except exp's two leading terms. The exhaustive f32 sweep (`cargo xtask ulp-sweep`, all
//! 2³² inputs) results are in `ARCHITECTURE.md`.
//!
//! sqrt, recip, abs, neg, square, relu, the binary arithmetic ops, max and min are
//! correctly rounded (single IEEE operations). `powi` matches `std`'s `powi` bit for bit.
//! f64 `pow`/`powf` use `std`'s `powf` lane by lane.
//!
//! Special values follow `std`: NaN in gives NaN out, ±0 and ±inf as the `std` function,
//! and the overflow/underflow thresholds are those of the exact function.
//!
//! Sums and dots are compensated (Sum2/Dot2): as accurate as if computed in twice the
//! working precision, then rounded: |error| ≤ ε·|s| + γ²ₙ·Σ|xᵢ| with γₙ = nε/(1 − nε).
//! Reductions over NaN-holding slices give NaN (`max`, `min`, `argmax` included: argmax
//! points at the first NaN).
//!
//! ```
//! use kernels::ew::{self, Unary};
//! let x = [0.0f64, 1.0, 2.0];
//! let mut y = [0.0; 3];
//! ew::map(Unary::Exp, &x, &mut y);
//! assert!((y[1] - std::f64::consts::E).abs() < 1e-15);
//! assert_eq!(ew::sum(&y), y[0] + y[1] + y[2]);
//! ```

pub(crate) mod consts;
pub(crate) mod dispatch;
mod exec;
mod kernels;
mod matrix;
pub(crate) mod ops;
mod reduce;
mod rows;
pub(crate) mod vmath;

pub use exec::Exec;
pub use kernels::{
    argmax, axpy, dot, logsumexp, map, map_inplace, max, min, norm2, relu_backward, scalar_zip, scale,
    sigmoid_backward, sum, tanh_backward, zip, zip_inplace, zip_scalar,
};
pub use matrix::{
    log_softmax_backward_rows, log_softmax_rows, softmax_backward_rows, softmax_rows, sum_cols, sum_rows,
};

/// A unary elementwise op.
///
/// Conventions: `Relu(x) = x` for x > 0, `+0` otherwise (NaN stays NaN); `Gelu` is the
/// tanh form ½x(1 + tanh(√(2/π)(x + 0.044715x³))); `Softplus(x) = ln(1 + eˣ)`;
/// `Powf(y)` converts `y` to the element type first.
///
/// ```
/// use kernels::ew::{map, Unary};
/// let mut y = [0.0f32; 3];
/// map(Unary::Relu, &[-1.0, 0.0, 2.0], &mut y);
/// assert_eq!(y, [0.0, 0.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unary {
    /// eˣ.
    Exp,
    /// Natural logarithm.
    Ln,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic function 1/(1 + e⁻ˣ).
    Sigmoid,
    /// max(x, 0).
    Relu,
    /// Square root.
    Sqrt,
    /// |x|.
    Abs,
    /// −x.
    Neg,
    /// 1/x.
    Recip,
    /// x².
    Square,
    /// Sine.
    Sin,
    /// Cosine.
    Cos,
    /// ln(1 + eˣ).
    Softplus,
    /// GELU, tanh form.
    Gelu,
    /// xⁿ for an integer n.
    Powi(i32),
    /// xʸ for a fixed real y.
    Powf(f64),
}

/// A binary elementwise op.
///
/// `Max`/`Min` follow `f32::max`/`f32::min`: a NaN operand yields the other operand.
/// `Atan2(a, b)` is `a.atan2(b)`; `Pow(a, b)` is `a.powf(b)`.
///
/// ```
/// use kernels::ew::{zip, Binary};
/// let mut y = [0.0f64; 2];
/// zip(Binary::Sub, &[5.0, 1.0], &[2.0, 3.0], &mut y);
/// assert_eq!(y, [3.0, -2.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary {
    /// a + b.
    Add,
    /// a − b.
    Sub,
    /// a · b.
    Mul,
    /// a / b.
    Div,
    /// The larger (NaN-ignoring, as `std`).
    Max,
    /// The smaller (NaN-ignoring, as `std`).
    Min,
    /// atan2(a, b), the angle of the point (b, a).
    Atan2,
    /// aᵇ.
    Pow,
}
