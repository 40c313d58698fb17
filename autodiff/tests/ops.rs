//! Every public op, at hand-picked points: its value and its derivative against a closed
//! form (stated in a comment next to each test).
//!
//! Tolerances. `EPS` = 2⁻⁵² bounds the relative size of one ulp. Correctly rounded
//! operations (+ − × ÷, sqrt, powi; f64 pow/powf are `std`'s) err by ≤ ½ ulp each; the vector
//! functions by the kernels' accuracy table (exp 1, ln 1, tanh 2, sigmoid 2.5, sin/cos 2.5,
//! softplus 3, atan2 2.5 ulps); the references here use `std` (≤ 1 ulp). A tolerance is the
//! sum of both sides' errors, times the condition number of any cancellation in between,
//! rounded up to a power of two. Small integers and dyadic fractions make many cases exact.

mod common;

use std::slice::from_ref;

use autodiff::{Tensor, grad, jacfwd, jacrev, jvp, jvp_many, vjp, vjp_many};
use common::{EPS, close, t};

/// The `(rtol, atol)` of exact results.
const EXACT: (f64, f64) = (0.0, 0.0);

/// The cotangent (and tangent) of an elementwise check: not all ones, so a rule that drops
/// its incoming cotangent fails; small integers and ½, so scaling by it is nearly exact.
fn seed(n: usize) -> Vec<f64> {
    (0..n).map(|i| [1.0, -2.0, 0.5, 3.0][i % 4]).collect()
}

/// An elementwise op at the points `xs`: value `f(x)`, and both the VJP of the cotangent `u`
/// and the JVP of the tangent `u`, each `u·f′(x)` (the Jacobian is diagonal).
#[track_caller]
fn unary(
    op: impl Fn(&Tensor<f64>) -> Tensor<f64>,
    xs: &[f64],
    f: impl Fn(f64) -> f64,
    df: impl Fn(f64) -> f64,
    rtol: f64,
) {
    let n = xs.len();
    let (x, u) = (t(xs, &[n]), t(&seed(n), &[n]));
    let want_y: Vec<f64> = xs.iter().map(|&v| f(v)).collect();
    let want_g: Vec<f64> = xs.iter().zip(u.data()).map(|(&v, &u)| u * df(v)).collect();
    let (y, pullback) = vjp(&op, &x);
    close(y.data(), &want_y, rtol, 0.0);
    close(pullback(&u).data(), &want_g, rtol, 0.0);
    let (y2, dy) = jvp(&op, &x, &u);
    assert_eq!(y2.data(), y.data(), "jvp's primal differs from the plain value");
    close(dy.data(), &want_g, rtol, 0.0);
}

/// An elementwise binary op on equal shapes: `f(a, b)` gives `[y, ∂y/∂a, ∂y/∂b]`. Checks the
/// value, the VJP of `u` (`u·∂a`, `u·∂b`) and the JVP of the tangents `(u, w)`
/// (`u·∂a + w·∂b`; the two terms may cancel, so that tolerance is relative to their
/// magnitudes).
#[track_caller]
fn binary(
    op: impl Fn(&Tensor<f64>, &Tensor<f64>) -> Tensor<f64>,
    a: &[f64],
    b: &[f64],
    f: impl Fn(f64, f64) -> [f64; 3],
    rtol: f64,
) {
    let n = a.len();
    let (u, w) = (seed(n), (0..n).map(|i| [0.5, 1.0, -1.5, 2.0][i % 4]).collect::<Vec<f64>>());
    let want: Vec<[f64; 3]> = a.iter().zip(b).map(|(&a, &b)| f(a, b)).collect();
    let col = |k: usize, s: &[f64]| -> Vec<f64> { want.iter().zip(s).map(|(r, s)| s * r[k]).collect() };
    let xs = [t(a, &[n]), t(b, &[n])];
    let (y, pullback) = vjp_many(|v| op(&v[0], &v[1]), &xs);
    close(y.data(), &want.iter().map(|r| r[0]).collect::<Vec<_>>(), rtol, 0.0);
    let g = pullback(&t(&u, &[n]));
    close(g[0].data(), &col(1, &u), rtol, 0.0);
    close(g[1].data(), &col(2, &u), rtol, 0.0);
    let (_, dy) = jvp_many(|v| op(&v[0], &v[1]), &xs, &[t(&u, &[n]), t(&w, &[n])]);
    let (da, db) = (col(1, &u), col(2, &w));
    for i in 0..n {
        close(&dy.data()[i..=i], &[da[i] + db[i]], 0.0, rtol * (da[i].abs() + db[i].abs()));
    }
}

/// Any op of several inputs: value (and shape) of `f(xs)`, and the pullback of the
/// cotangent `u` (shaped like the output) against `want_g`, one per input, within
/// `(rtol, atol)`.
#[track_caller]
fn check(
    f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>,
    xs: &[Tensor<f64>],
    u: &[f64],
    want_shape: &[usize],
    want_y: &[f64],
    want_g: &[&[f64]],
    (rtol, atol): (f64, f64),
) {
    let (y, pullback) = vjp_many(f, xs);
    assert_eq!(y.shape(), want_shape, "output shape");
    close(y.data(), want_y, rtol, atol);
    let g = pullback(&t(u, want_shape));
    assert_eq!(g.len(), want_g.len());
    for ((g, x), w) in g.iter().zip(xs).zip(want_g) {
        assert_eq!(g.shape(), x.shape(), "a cotangent is shaped like its input");
        close(g.data(), w, rtol, atol);
    }
}

/// `[m, k]·[k, n]` by the definition, for references.
fn naive_mm(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
        }
    }
    c
}

/// The transpose of an `[r, c]` row-major matrix.
fn naive_t(a: &[f64], r: usize, c: usize) -> Vec<f64> {
    (0..c * r).map(|i| a[(i % r) * c + i / r]).collect()
}

// ---- unary ----

#[test]
fn neg() {
    // y = −x, dy/dx = −1: exact.
    unary(|x| -x, &[-1.5, 0.0, 2.0, 3.25], |x| -x, |_| -1.0, 0.0);
    unary(|x| -x.clone(), &[4.0], |x| -x, |_| -1.0, 0.0);
}

#[test]
fn exp() {
    // y = eˣ, dy/dx = eˣ. Kernel 1 ulp + std 1 ulp, and one product: 3 ulps → 4ε.
    unary(|x| x.exp(), &[-2.0, -0.5, 0.0, 1.0, 3.0], f64::exp, f64::exp, 4.0 * EPS);
}

#[test]
fn ln() {
    // y = ln x, dy/dx = 1/x. Kernel 1 ulp + std 1 ulp; the gradient u/x is one division.
    unary(|x| x.ln(), &[0.25, 0.5, 1.0, 2.0, 10.0], f64::ln, |x| 1.0 / x, 4.0 * EPS);
}

#[test]
fn sqrt() {
    // y = √x, dy/dx = 1/(2√x). All correctly rounded: rule (u/y)·½ vs u·(½/√x), ≤ 2 ulps.
    unary(|x| x.sqrt(), &[0.25, 1.0, 2.0, 9.0], f64::sqrt, |x| 0.5 / x.sqrt(), 4.0 * EPS);
    // sqrt′(0) = +inf (the one-sided limit); a zero cotangent there gives 0·inf = NaN.
    let (y, pullback) = vjp(|x| x.sqrt(), &t(&[0.0, 0.0], &[2]));
    assert_eq!(y.to_vec(), [0.0, 0.0]);
    let g = pullback(&t(&[1.0, 0.0], &[2]));
    assert_eq!(g.data()[0], f64::INFINITY);
    assert!(g.data()[1].is_nan());
}

#[test]
fn powi() {
    // y = x³, dy/dx = 3x²; y = x⁻², dy/dx = −2x⁻³; y = x⁰ = 1, dy/dx = 0 (also at 0).
    // Dyadic points: the products are exact, and powi matches std's powi bit for bit.
    unary(|x| x.powi(3), &[-1.5, 0.5, 2.0, 3.0], |x| x * x * x, |x| 3.0 * x * x, 0.0);
    unary(|x| x.powi(-2), &[0.5, 2.0, -4.0], |x| 1.0 / (x * x), |x| -2.0 / (x * x * x), 0.0);
    unary(|x| x.powi(0), &[0.0, -3.0, 2.5], |_| 1.0, |_| 0.0, 0.0);
}

#[test]
fn powf() {
    // y = x^2.5, dy/dx = 2.5·x^1.5. std's powf on both sides; the rule's two products vs the
    // reference's two: ≤ 2 ulps → 4ε.
    unary(|x| x.powf(2.5), &[0.25, 1.0, 2.0, 4.0, 7.0], |x| x.powf(2.5), |x| 2.5 * x.powf(1.5), 4.0 * EPS);
}

#[test]
fn sin() {
    // y = sin x, dy/dx = cos x. Kernel 2.5 ulps + std 1 + the product ½: 4 → 8ε.
    unary(|x| x.sin(), &[-2.0, -0.5, 0.3, 1.0, 2.5], f64::sin, f64::cos, 8.0 * EPS);
}

#[test]
fn cos() {
    // y = cos x, dy/dx = −sin x. As sin.
    unary(|x| x.cos(), &[-2.0, -0.5, 0.3, 1.0, 2.5], f64::cos, |x| -x.sin(), 8.0 * EPS);
}

#[test]
fn tanh() {
    // y = tanh x, dy/dx = 1 − tanh² x = 1/cosh² x. The rule forms 1 − y², whose condition
    // in y is 2y²/(1 − y²) ≤ 2.8 for |x| ≤ 1: (2 + 1 ulps of y)·2.8 + 2 roundings ≈ 11 → 16ε.
    let d = |x: f64| 1.0 / (x.cosh() * x.cosh());
    unary(|x| x.tanh(), &[-1.0, -0.5, 0.0, 0.25, 0.75, 1.0], f64::tanh, d, 16.0 * EPS);
}

#[test]
fn sigmoid() {
    // y = σ(x) = 1/(1 + e⁻ˣ), dy/dx = σ(x)σ(−x). The rule forms y(1 − y), condition
    // y/(1 − y) ≤ 2.7 for |x| ≤ 1: (2.5 + 2)·2.7 + 2 ≈ 14 ulps → 16ε.
    let s = |x: f64| 1.0 / (1.0 + (-x).exp());
    unary(|x| x.sigmoid(), &[-1.0, -0.25, 0.0, 0.5, 1.0], s, |x| s(x) * s(-x), 16.0 * EPS);
}

#[test]
fn relu() {
    // y = max(x, 0), dy/dx = [x > 0]; relu′(0) = 0 by convention. Exact.
    let step = |x: f64| if x > 0.0 { 1.0 } else { 0.0 };
    unary(|x| x.relu(), &[-2.0, 0.0, 0.5, 3.0, -0.25], |x| x.max(0.0), step, 0.0);
    // The batched rules (jacrev, jacfwd) keep the convention: at [0, 1.5] the Jacobian is
    // diag(0, 1).
    let x = t(&[0.0, 1.5], &[2]);
    for j in [jacrev(|x| x.relu(), &x), jacfwd(|x| x.relu(), &x)] {
        assert_eq!(j.to_vec(), [0.0, 0.0, 0.0, 1.0]);
    }
}

#[test]
fn abs() {
    // y = |x|, dy/dx = sign x; abs′(0) = 0 by convention. Exact.
    let sign = |x: f64| if x == 0.0 { 0.0 } else { x.signum() };
    unary(|x| x.abs(), &[-2.0, 0.0, 1.5, -0.5], f64::abs, sign, 0.0);
}

#[test]
fn softplus() {
    // y = ln(1 + eˣ), dy/dx = σ(x). Kernel 3 ulps + reference ~2 (exp, ln_1p): 5 → 8ε; the
    // gradient's σ is 2.5 ulps + reference 2 + product: 5 → 8ε.
    let sp = |x: f64| x.exp().ln_1p();
    let s = |x: f64| 1.0 / (1.0 + (-x).exp());
    unary(|x| x.softplus(), &[-3.0, -1.0, 0.0, 1.0, 4.0], sp, s, 8.0 * EPS);
}

#[test]
fn square() {
    // y = x², dy/dx = 2x. Dyadic points: exact.
    unary(|x| x.square(), &[-1.5, 0.0, 0.5, 3.0], |x| x * x, |x| 2.0 * x, 0.0);
}

#[test]
fn recip() {
    // y = 1/x, dy/dx = −1/x² (the rule: −u·y²). Three roundings against two: 4ε.
    unary(|x| x.recip(), &[0.5, -2.0, 3.0, 10.0], |x| 1.0 / x, |x| -1.0 / (x * x), 4.0 * EPS);
}

// ---- binary, equal shapes ----

#[test]
fn add_sub_mul_div() {
    let (a, b) = ([1.5, -2.0, 3.0, 0.5, 7.0], [0.5, 4.0, -1.0, 2.0, 3.0]);
    // y = a + b: (∂a, ∂b) = (1, 1); y = a − b: (1, −1); y = ab: (b, a). Exact here.
    binary(|a, b| a + b, &a, &b, |a, b| [a + b, 1.0, 1.0], 0.0);
    binary(|a, b| a - b, &a, &b, |a, b| [a - b, 1.0, -1.0], 0.0);
    binary(|a, b| a * b, &a, &b, |a, b| [a * b, b, a], 0.0);
    // y = a/b: (1/b, −a/b²); the rule forms −(u·y)/b: 3 roundings against 3 → 8ε.
    binary(|a, b| a / b, &a, &b, |a, b| [a / b, 1.0 / b, -a / (b * b)], 8.0 * EPS);
    // The owned-operand forms are the same op.
    binary(|a, b| a.clone() * b.clone(), &a, &b, |a, b| [a * b, b, a], 0.0);
    binary(|a, b| a.clone() - b, &a, &b, |a, b| [a - b, 1.0, -1.0], 0.0);
    binary(|a, b| a + b.clone(), &a, &b, |a, b| [a + b, 1.0, 1.0], 0.0);
}

#[test]
fn scalar_operands() {
    let xs = [-1.5, 0.5, 2.0, 8.0];
    // x + 2 and 2 + x: d/dx = 1; x − 2: 1; 2 − x: −1; 3x and x·3: 3; x/4: ¼. Exact.
    unary(|x| x + 2.0, &xs, |x| x + 2.0, |_| 1.0, 0.0);
    unary(|x| 2.0 + x, &xs, |x| x + 2.0, |_| 1.0, 0.0);
    unary(|x| x - 2.0, &xs, |x| x - 2.0, |_| 1.0, 0.0);
    unary(|x| 2.0 - x, &xs, |x| 2.0 - x, |_| -1.0, 0.0);
    unary(|x| x * 3.0, &xs, |x| 3.0 * x, |_| 3.0, 0.0);
    unary(|x| 3.0 * x, &xs, |x| 3.0 * x, |_| 3.0, 0.0);
    unary(|x| x / 4.0, &xs, |x| x / 4.0, |_| 0.25, 0.0);
    unary(|x| x.clone() + 1.0, &xs, |x| x + 1.0, |_| 1.0, 0.0);
    unary(|x| 1.0 - x.clone(), &xs, |x| 1.0 - x, |_| -1.0, 0.0);
    // 4/x: d/dx = −4/x² (the rule: −(u·y)/x); dyadic points: exact.
    unary(|x| 4.0 / x, &xs, |x| 4.0 / x, |x| -4.0 / (x * x), 0.0);
}

#[test]
fn maximum_minimum() {
    // max(a, b): ∂ = ([a > b], [b > a]); min mirrors it; ties split ½–½. Exact.
    let (a, b) = ([1.0, 3.0, 2.0, -1.0], [2.0, 3.0, 1.0, -1.0]);
    let w = |x: f64, y: f64| {
        if x > y {
            1.0
        } else if x == y {
            0.5
        } else {
            0.0
        }
    };
    binary(|a, b| a.maximum(b), &a, &b, |a, b| [a.max(b), w(a, b), w(b, a)], 0.0);
    binary(|a, b| a.minimum(b), &a, &b, |a, b| [a.min(b), w(b, a), w(a, b)], 0.0);
}

#[test]
fn atan2() {
    // y = atan2(a, b) (the angle of (b, a)): ∂ = (b, −a)/(a² + b²). Value: kernel 2.5 ulps +
    // std 1 → 4ε; partials: 4 correctly rounded steps on each side → 8ε.
    let (a, b) = ([1.0, -1.0, 2.0, 0.5, -3.0], [1.0, 2.0, -3.0, -0.25, -1.0]);
    let f = |a: f64, b: f64| [a.atan2(b), b / (a * a + b * b), -a / (a * a + b * b)];
    binary(|a, b| a.atan2(b), &a, &b, f, 8.0 * EPS);
}

#[test]
fn pow() {
    // y = aᵇ (a > 0): ∂ = (b·aᵇ⁻¹, aᵇ·ln a). std powf on both sides; ln kernel 1 ulp +
    // std 1, and two products: ≤ 4 ulps → 8ε.
    let (a, b) = ([0.5, 2.0, 3.0, 1.5], [2.0, -1.0, 0.5, 2.5]);
    let f = |a: f64, b: f64| [a.powf(b), b * a.powf(b - 1.0), a.powf(b) * a.ln()];
    binary(|a, b| a.pow(b), &a, &b, f, 8.0 * EPS);
}

// ---- broadcasting: the VJP sums over the broadcast axes ----

#[test]
fn broadcast_add_row() {
    // y[i,j] = a[i,j] + b[j] ([2,3] + [3]): ∂a = u, ∂b[j] = Σᵢ u[i,j]. Exact.
    let a = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b = t(&[10.0, 20.0, 30.0], &[3]);
    let u = [1.0, 2.0, 3.0, -4.0, 0.5, 6.0];
    let y = [11.0, 22.0, 33.0, 14.0, 25.0, 36.0];
    check(|v| &v[0] + &v[1], &[a.clone(), b.clone()], &u, &[2, 3], &y, &[&u, &[-3.0, 2.5, 9.0]], EXACT);
    // Operands swapped: the same sums.
    check(|v| &v[1] + &v[0], &[a, b], &u, &[2, 3], &y, &[&u, &[-3.0, 2.5, 9.0]], EXACT);
}

#[test]
fn broadcast_mul_outer() {
    // y[i,j] = a[i]·b[j] ([2,1]·[1,3]): ∂a[i] = Σⱼ u[i,j]·b[j], ∂b[j] = Σᵢ u[i,j]·a[i].
    let a = t(&[2.0, 3.0], &[2, 1]);
    let b = t(&[1.0, 4.0, 5.0], &[1, 3]);
    let u = [1.0, 2.0, 3.0, -1.0, 0.5, 2.0];
    let y = [2.0, 8.0, 10.0, 3.0, 12.0, 15.0];
    // ∂a = [1 + 8 + 15, −1 + 2 + 10] = [24, 11]; ∂b = [2 − 3, 4 + 1.5, 6 + 6] = [−1, 5.5, 12].
    check(|v| &v[0] * &v[1], &[a, b], &u, &[2, 3], &y, &[&[24.0, 11.0], &[-1.0, 5.5, 12.0]], EXACT);
}

#[test]
fn broadcast_scalar_tensor() {
    // y = s − x with s 0-d, x [2,2]: ∂s = Σ u, ∂x = −u. Exact.
    let (s, x) = (Tensor::scalar(10.0), t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]));
    let (u, y) = ([1.0, -2.0, 0.5, 3.0], [9.0, 8.0, 7.0, 6.0]);
    check(|v| &v[0] - &v[1], &[s, x], &u, &[2, 2], &y, &[&[2.5], &[-1.0, 2.0, -0.5, -3.0]], EXACT);
}

// ---- linear algebra ----

#[test]
fn matmul_2d() {
    // C = AB ([2,3]·[3,2]): dA = U·Bᵀ, dB = Aᵀ·U. Small integers: exact.
    let (a, b) = ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, -1.0, 2.0, 0.0, 0.0, 3.0]);
    let u = [1.0, 2.0, -1.0, 1.0];
    let da = naive_mm(&u, &naive_t(&b, 3, 2), 2, 2, 3);
    let db = naive_mm(&naive_t(&a, 2, 3), &u, 3, 2, 2);
    assert_eq!(naive_mm(&a, &b, 2, 3, 2), [5.0, 8.0, 14.0, 14.0]); // the reference itself
    let xs = [t(&a, &[2, 3]), t(&b, &[3, 2])];
    check(|v| v[0].matmul(&v[1]), &xs, &u, &[2, 2], &naive_mm(&a, &b, 2, 3, 2), &[&da, &db], EXACT);
}

#[test]
fn matmul_batched() {
    // C[p] = A[p]·B[p] ([2,2,3]·[2,3,2]): per batch dA[p] = U[p]·B[p]ᵀ, dB[p] = A[p]ᵀ·U[p].
    let a: Vec<f64> = (1..=12).map(f64::from).collect();
    let b: Vec<f64> = (0..12).map(|i| f64::from(i % 5) - 2.0).collect();
    let u: Vec<f64> = (0..8).map(|i| f64::from(i) - 3.0).collect();
    let (mut y, mut da, mut db) = (vec![], vec![], vec![]);
    for p in 0..2 {
        let (ap, bp, up) = (&a[6 * p..6 * p + 6], &b[6 * p..6 * p + 6], &u[4 * p..4 * p + 4]);
        y.extend(naive_mm(ap, bp, 2, 3, 2));
        da.extend(naive_mm(up, &naive_t(bp, 3, 2), 2, 2, 3));
        db.extend(naive_mm(&naive_t(ap, 2, 3), up, 3, 2, 2));
    }
    let xs = [t(&a, &[2, 2, 3]), t(&b, &[2, 3, 2])];
    check(|v| v[0].matmul(&v[1]), &xs, &u, &[2, 2, 2], &y, &[&da, &db], EXACT);
}

#[test]
fn matmul_3d_by_2d() {
    // C[p] = A[p]·B ([2,2,3]·[3,2]): dA[p] = U[p]·Bᵀ, dB = Σₚ A[p]ᵀ·U[p] (B is shared).
    let a: Vec<f64> = (1..=12).map(f64::from).collect();
    let b = [1.0, -1.0, 2.0, 0.0, 0.0, 3.0];
    let u: Vec<f64> = (0..8).map(|i| f64::from(i) - 3.0).collect();
    let (mut y, mut da, mut db) = (vec![], vec![], vec![0.0; 6]);
    for p in 0..2 {
        let (ap, up) = (&a[6 * p..6 * p + 6], &u[4 * p..4 * p + 4]);
        y.extend(naive_mm(ap, &b, 2, 3, 2));
        da.extend(naive_mm(up, &naive_t(&b, 3, 2), 2, 2, 3));
        for (d, v) in db.iter_mut().zip(naive_mm(&naive_t(ap, 2, 3), up, 3, 2, 2)) {
            *d += v;
        }
    }
    let xs = [t(&a, &[2, 2, 3]), t(&b, &[3, 2])];
    check(|v| v[0].matmul(&v[1]), &xs, &u, &[2, 2, 2], &y, &[&da, &db], EXACT);
}

#[test]
fn transpose() {
    // Y = Xᵀ ([2,3] → [3,2]): dX = Uᵀ. Exact; `t` is the same op.
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let u = [1.0, -1.0, 2.0, 0.5, 3.0, 4.0];
    let (y, g) = (naive_t(&x, 2, 3), naive_t(&u, 3, 2));
    check(|v| v[0].transpose(), &[t(&x, &[2, 3])], &u, &[3, 2], &y, &[&g], EXACT);
    check(|v| v[0].t(), &[t(&x, &[2, 3])], &u, &[3, 2], &y, &[&g], EXACT);
}

// ---- shape ops ----

#[test]
fn reshape() {
    // Same values, new shape: dX = U read in the old shape. Exact.
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let u = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0];
    check(|v| v[0].reshape(&[3, 1, 2]), &[t(&x, &[2, 3])], &u, &[3, 1, 2], &x, &[&u], EXACT);
}

#[test]
fn broadcast_to() {
    // [3] → [2,3]: y[i,j] = x[j], dx[j] = Σᵢ u[i,j]; [2,1] → [2,3]: dx[i] = Σⱼ u[i,j];
    // [] → [2,2]: dx = Σ u. Exact.
    let u = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let row = t(&[7.0, 8.0, 9.0], &[3]);
    let y = [7.0, 8.0, 9.0, 7.0, 8.0, 9.0];
    check(|v| v[0].broadcast_to(&[2, 3]), &[row], &u, &[2, 3], &y, &[&[5.0, 7.0, 9.0]], EXACT);
    let col = t(&[7.0, 8.0], &[2, 1]);
    let y = [7.0, 7.0, 7.0, 8.0, 8.0, 8.0];
    check(|v| v[0].broadcast_to(&[2, 3]), &[col], &u, &[2, 3], &y, &[&[6.0, 15.0]], EXACT);
    let s = Tensor::scalar(2.0);
    check(|v| v[0].broadcast_to(&[2, 2]), &[s], &u[..4], &[2, 2], &[2.0; 4], &[&[10.0]], EXACT);
}

#[test]
fn sum_to() {
    // [2,3] → [3]: y[j] = Σᵢ x[i,j], dx[i,j] = u[j]; → [2,1]: y[i] = Σⱼ x[i,j], dx = u[i].
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let g = [1.0, -2.0, 3.0, 1.0, -2.0, 3.0];
    check(|v| v[0].sum_to(&[3]), from_ref(&x), &[1.0, -2.0, 3.0], &[3], &[5.0, 7.0, 9.0], &[&g], EXACT);
    let g = [1.5, 1.5, 1.5, -1.0, -1.0, -1.0];
    check(|v| v[0].sum_to(&[2, 1]), &[x], &[1.5, -1.0], &[2, 1], &[6.0, 15.0], &[&g], EXACT);
}

#[test]
fn slice() {
    // Columns 1..3 of a [2,4]: the cotangent is placed back into zeros. Exact.
    let x = t(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], &[2, 4]);
    let u = [1.0, 2.0, 3.0, 4.0];
    let g = [0.0, 1.0, 2.0, 0.0, 0.0, 3.0, 4.0, 0.0];
    check(|v| v[0].slice(1, 1..3), from_ref(&x), &u, &[2, 2], &[1.0, 2.0, 5.0, 6.0], &[&g], EXACT);
    // Row 1..2 along axis 0.
    let g = [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0];
    check(|v| v[0].slice(0, 1..2), &[x], &u, &[1, 4], &[4.0, 5.0, 6.0, 7.0], &[&g], EXACT);
}

#[test]
fn select() {
    // Row 1 of a [3,2] (axis dropped): dx = u in row 1, zeros elsewhere; column 0 alike.
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
    let g = [0.0, 0.0, 7.0, 8.0, 0.0, 0.0];
    check(|v| v[0].select(0, 1), from_ref(&x), &[7.0, 8.0], &[2], &[3.0, 4.0], &[&g], EXACT);
    let g = [7.0, 0.0, 8.0, 0.0, 9.0, 0.0];
    check(|v| v[0].select(1, 0), &[x], &[7.0, 8.0, 9.0], &[3], &[1.0, 3.0, 5.0], &[&g], EXACT);
}

#[test]
fn concat() {
    // Along axis 0 ([1,2] ++ [2,2]): each input gets its rows of u. Exact.
    let (a, b) = (t(&[1.0, 2.0], &[1, 2]), t(&[3.0, 4.0, 5.0, 6.0], &[2, 2]));
    let u = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    check(|v| Tensor::concat(v, 0), &[a, b], &u, &[3, 2], &y, &[&u[..2], &u[2..]], EXACT);
    // Along axis 1 ([2,1] ++ [2,2]): y = [[a0, b0, b1], [a1, b2, b3]]; each gets its columns.
    let (a, b) = (t(&[1.0, 2.0], &[2, 1]), t(&[3.0, 4.0, 5.0, 6.0], &[2, 2]));
    let y = [1.0, 3.0, 4.0, 2.0, 5.0, 6.0];
    check(|v| Tensor::concat(v, 1), &[a, b], &u, &[2, 3], &y, &[&[1.0, 4.0], &[2.0, 3.0, 5.0, 6.0]], EXACT);
}

#[test]
fn stack() {
    // Along a new axis 0: y = [a; b]; along axis 1: y[i] = [a[i], b[i]]. Each input gets its
    // slice of u.
    let xs = [t(&[1.0, 2.0], &[2]), t(&[3.0, 4.0], &[2])];
    let (u, y1) = ([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0]);
    check(|v| Tensor::stack(v, 0), &xs, &u, &[2, 2], &u, &[&[1.0, 2.0], &[3.0, 4.0]], EXACT);
    check(|v| Tensor::stack(v, 1), &xs, &u, &[2, 2], &y1, &[&[1.0, 3.0], &[2.0, 4.0]], EXACT);
}

// ---- reductions ----

#[test]
fn sum_and_mean() {
    // y = Σx: dx = u (broadcast); y = Σx/n: dx = u/n. Sum exact; the mean multiplies by the
    // rounded 1/6: two roundings → 2ε.
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    check(|v| v[0].sum(), from_ref(&x), &[2.5], &[], &[21.0], &[&[2.5; 6]], EXACT);
    check(|v| v[0].mean(), &[x], &[3.0], &[], &[3.5], &[&[0.5; 6]], (2.0 * EPS, 0.0));
}

#[test]
fn sum_axis_and_mean_axis() {
    // Σ along axis 1 of [2,3]: y[i] = Σⱼ x[i,j], dx[i,j] = u[i]; axis 0 kept: dx[i,j] = u[j];
    // the mean along axis 1 divides both by 3 (rounded ⅓: 2ε).
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let g = [1.0, 1.0, 1.0, -2.0, -2.0, -2.0];
    check(|v| v[0].sum_axis(1, false), from_ref(&x), &[1.0, -2.0], &[2], &[6.0, 15.0], &[&g], EXACT);
    let (u, g) = ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    check(|v| v[0].sum_axis(0, true), from_ref(&x), &u, &[1, 3], &[5.0, 7.0, 9.0], &[&g], EXACT);
    let g = [1.0, 1.0, 1.0, -2.0, -2.0, -2.0];
    check(|v| v[0].mean_axis(1, false), &[x], &[3.0, -6.0], &[2], &[2.0, 5.0], &[&g], (2.0 * EPS, 0.0));
}

#[test]
fn max_axis() {
    // y[i] = maxⱼ x[i,j]: the cotangent goes to the argmax. Exact.
    let x = t(&[1.0, 5.0, 2.0, 7.0, 3.0, 0.0], &[2, 3]);
    let g = [0.0, 2.0, 0.0, -1.0, 0.0, 0.0];
    check(|v| v[0].max_axis(1, false), &[x], &[2.0, -1.0], &[2], &[5.0, 7.0], &[&g], EXACT);
    // Ties split equally: [3, 1, 3] gives ½ to each 3; [2, 2, 2] gives ⅓ to each (rounded).
    let x = t(&[3.0, 1.0, 3.0, 2.0, 2.0, 2.0], &[2, 3]);
    let g = [1.0, 0.0, 1.0, 1.0, 1.0, 1.0];
    check(|v| v[0].max_axis(1, true), &[x], &[2.0, 3.0], &[2, 1], &[3.0, 2.0], &[&g], (EPS, 0.0));
    // Along axis 0 of [2,2] = [[1, 4], [3, 4]]: column 0 to row 1, column 1 split.
    let x = t(&[1.0, 4.0, 3.0, 4.0], &[2, 2]);
    check(|v| v[0].max_axis(0, false), &[x], &[1.0, 2.0], &[2], &[3.0, 4.0], &[&[0.0, 1.0, 1.0, 1.0]], EXACT);
}

#[test]
fn prod() {
    // y = Πxᵢ: ∂y/∂xᵢ = Πⱼ≠ᵢ xⱼ. [2, 3, 4]: 24, grads [12, 8, 6]·u. Exact.
    check(|v| v[0].prod(), &[t(&[2.0, 3.0, 4.0], &[3])], &[1.5], &[], &[24.0], &[&[18.0, 12.0, 9.0]], EXACT);
    // A zero factor: the gradient is the product of the others, nonzero only at the zero
    // ([2, 0, 4]: [0, 8, 0]), which a y/xᵢ formula would get wrong (0/0).
    check(|v| v[0].prod(), &[t(&[2.0, 0.0, 4.0], &[3])], &[1.0], &[], &[0.0], &[&[0.0, 8.0, 0.0]], EXACT);
    // Two zeros: every partial has a zero factor.
    check(|v| v[0].prod(), &[t(&[0.0, 3.0, 0.0], &[3])], &[1.0], &[], &[0.0], &[&[0.0; 3]], EXACT);
}

#[test]
fn prod_derivatives_of_every_order() {
    // Each reverse sweep differentiates the sum of the previous gradient. For x ∈ ℝ⁴,
    // Σᵢ ∂Πx/∂xᵢ = e₃(x) (the elementary symmetric polynomials eₖ); ∂e₃/∂xᵢ = e₂ of the
    // other three, whose sum counts each pair twice: 2·e₂(x); 2·∂e₂/∂xᵢ = 2·Σⱼ≠ᵢ xⱼ, whose
    // sum is 6·Σx; then 6 everywhere. At [1, 2, 3, 0]: e₃ gradient [6, 3, 2, 11], third
    // [10, 8, 6, 12], fourth [6; 4]. All products of small integers: exact.
    let x = t(&[1.0, 2.0, 3.0, 0.0], &[4]);
    let g1 = |x: &Tensor<f64>| grad(|x| x.prod(), x).sum();
    let g2 = |x: &Tensor<f64>| grad(g1, x).sum();
    let g3 = |x: &Tensor<f64>| grad(g2, x).sum();
    assert_eq!(grad(g1, &x).to_vec(), [6.0, 3.0, 2.0, 11.0]);
    assert_eq!(grad(g2, &x).to_vec(), [10.0, 8.0, 6.0, 12.0]);
    assert_eq!(grad(g3, &x).to_vec(), [6.0; 4]);
    // Forward over reverse through the same rules: the third-order gradient is
    // hᵢ = 2·Σⱼ≠ᵢ xⱼ, so its JVP along e₀ is ∂hᵢ/∂x₀ = [0, 2, 2, 2].
    let e0 = t(&[1.0, 0.0, 0.0, 0.0], &[4]);
    assert_eq!(jvp(|x| grad(g2, x), &x, &e0).1.to_vec(), [0.0, 2.0, 2.0, 2.0]);
}

/// Softmax of a row by the definition.
fn softmax_row(x: &[f64]) -> Vec<f64> {
    let z: f64 = x.iter().map(|v| v.exp()).sum();
    x.iter().map(|v| v.exp() / z).collect()
}

#[test]
fn logsumexp() {
    // y[i] = ln Σⱼ exp x[i,j], dx[i,j] = u[i]·softmax(x[i])[j]. Exp (1 ulp each), a sum
    // (no cancellation), ln (1 ulp), a max added back, on both sides: ≤ 8 ulps → 8ε.
    let x: [f64; 6] = [0.5, -1.0, 2.0, 0.0, 0.0, 1.0];
    let u = [1.0, -2.0];
    let (mut y, mut g) = (vec![], vec![]);
    for (r, &ur) in x.chunks(3).zip(&u) {
        y.push(r.iter().map(|v| v.exp()).sum::<f64>().ln());
        g.extend(softmax_row(r).iter().map(|p| ur * p));
    }
    check(|v| v[0].logsumexp(1, false), &[t(&x, &[2, 3])], &u, &[2], &y, &[&g], (8.0 * EPS, 0.0));
    // Stable for large entries: ln(e¹⁰⁰⁰ + e¹⁰⁰⁰) = 1000 + ln 2, gradient ½ each.
    let (big, y) = (t(&[1000.0, 1000.0], &[2]), [1000.0 + 2f64.ln()]);
    check(|v| v[0].logsumexp(0, true), &[big], &[1.0], &[1], &y, &[&[0.5, 0.5]], (EPS, 0.0));
}

#[test]
fn softmax() {
    // y = softmax(x) per row; VJP: y ⊙ (u − ⟨u, y⟩). The difference u − ⟨u, y⟩ may cancel,
    // so besides 16ε relative (exp 1 ulp + sums + divisions on both sides) allow 16ε·max|u|
    // absolute (every term it is formed from is bounded by max|u|, and y ≤ 1).
    let x: [f64; 6] = [0.5, -1.0, 2.0, 0.0, 0.0, 1.0];
    let u = [1.0, -2.0, 0.5, 3.0, 1.0, -1.0];
    let (mut y, mut g) = (vec![], vec![]);
    for (r, ur) in x.chunks(3).zip(u.chunks(3)) {
        let p = softmax_row(r);
        let dot: f64 = p.iter().zip(ur).map(|(p, u)| p * u).sum();
        g.extend(p.iter().zip(ur).map(|(p, u)| p * (u - dot)));
        y.extend(p);
    }
    check(|v| v[0].softmax(1), &[t(&x, &[2, 3])], &u, &[2, 3], &y, &[&g], (16.0 * EPS, 48.0 * EPS));
    // Along axis 0 of the transposed input (the composite path): the transposed results.
    let (xt, ut) = (naive_t(&x, 2, 3), naive_t(&u, 2, 3));
    let (yt, gt) = (naive_t(&y, 2, 3), naive_t(&g, 2, 3));
    check(|v| v[0].softmax(0), &[t(&xt, &[3, 2])], &ut, &[3, 2], &yt, &[&gt], (16.0 * EPS, 48.0 * EPS));
}

#[test]
fn log_softmax() {
    // y = x − logsumexp(x) per row; VJP: u − softmax(x)·Σu. Tolerances as softmax's (the
    // value's subtraction may cancel too: 16ε absolute on terms of size ≤ 3).
    let x: [f64; 6] = [0.5, -1.0, 2.0, 0.0, 0.0, 1.0];
    let u = [1.0, -2.0, 0.5, 3.0, 1.0, -1.0];
    let (mut y, mut g) = (vec![], vec![]);
    for (r, ur) in x.chunks(3).zip(u.chunks(3)) {
        let lse = r.iter().map(|v| v.exp()).sum::<f64>().ln();
        let su: f64 = ur.iter().sum();
        y.extend(r.iter().map(|v| v - lse));
        g.extend(softmax_row(r).iter().zip(ur).map(|(p, u)| u - p * su));
    }
    check(|v| v[0].log_softmax(1), &[t(&x, &[2, 3])], &u, &[2, 3], &y, &[&g], (16.0 * EPS, 48.0 * EPS));
    let (xt, ut) = (naive_t(&x, 2, 3), naive_t(&u, 2, 3));
    let (yt, gt) = (naive_t(&y, 2, 3), naive_t(&g, 2, 3));
    check(|v| v[0].log_softmax(0), &[t(&xt, &[3, 2])], &ut, &[3, 2], &yt, &[&gt], (16.0 * EPS, 48.0 * EPS));
}

// ---- losses ----

#[test]
fn mse_loss() {
    // L = mean((p − q)²) = (1 + 4 + 9)/3 = 14/3; ∂p = 2(p − q)/n·u = −∂q. Roundings of the
    // mean's ⅓ and the rule's products: ≤ 3 → 4ε.
    let (p, q) = (t(&[1.0, 3.0, -2.0], &[3]), t(&[0.0, 1.0, 1.0], &[3]));
    let gp: Vec<f64> = [1.0, 2.0, -3.0].iter().map(|d| 1.5 * 2.0 * d / 3.0).collect();
    let gq: Vec<f64> = gp.iter().map(|g| -g).collect();
    check(|v| v[0].mse_loss(&v[1]), &[p, q], &[1.5], &[], &[14.0 / 3.0], &[&gp, &gq], (4.0 * EPS, 0.0));
}

#[test]
fn softmax_cross_entropy() {
    // L = −(1/B)·Σ_b log_softmax(x_b)[label_b]; ∂x = (softmax(x) − onehot)/B·u. As
    // log_softmax's tolerances (a softmax entry minus one may cancel).
    let x: [f64; 6] = [0.5, -1.0, 2.0, 0.0, 0.0, 1.0];
    let labels = [2, 0];
    let mut loss = 0.0;
    let mut g = vec![];
    for (r, &l) in x.chunks(3).zip(&labels) {
        let p = softmax_row(r);
        loss -= p[l].ln() / 2.0;
        g.extend(p.iter().enumerate().map(|(j, p)| 0.5 * (p - f64::from(u8::from(j == l))) / 2.0));
    }
    let f = |v: &[Tensor<f64>]| v[0].softmax_cross_entropy(&labels);
    check(f, &[t(&x, &[2, 3])], &[0.5], &[], &[loss], &[&g], (16.0 * EPS, 16.0 * EPS));
}

// ---- edge cases ----

#[test]
fn empty_tensors() {
    // Broadcasting against an empty axis gives an empty result (numpy): [0] + [] → [0],
    // [] · [0] → [0], [0, 3] + [3] → [0, 3]. The gradients are empty, or Σ over nothing = 0.
    let (e, s) = (Tensor::<f64>::zeros(&[0]), Tensor::scalar(2.0));
    check(|v| &v[0] + &v[1], &[e.clone(), s.clone()], &[], &[0], &[], &[&[], &[0.0]], EXACT);
    check(|v| &v[1] * &v[0], &[e.clone(), s], &[], &[0], &[], &[&[], &[0.0]], EXACT);
    let xs = [Tensor::zeros(&[0, 3]), t(&[1.0, 2.0, 3.0], &[3])];
    check(|v| &v[0] + &v[1], &xs, &[], &[0, 3], &[], &[&[], &[0.0; 3]], EXACT);
    check(|v| v[0].sum(), &[e], &[1.0], &[], &[0.0], &[&[]], EXACT);
    // Rows of length 0: [2, 0] + [0] and [0] + [2, 0] are [2, 0] (no row to loop over, on
    // either side), and Σ along axis 0 of [3, 0] is the empty [0].
    let xs = [Tensor::zeros(&[2, 0]), Tensor::zeros(&[0])];
    check(|v| &v[0] + &v[1], &xs, &[], &[2, 0], &[], &[&[], &[]], EXACT);
    check(|v| &v[1] - &v[0], &xs, &[], &[2, 0], &[], &[&[], &[]], EXACT);
    check(|v| v[0].sum_axis(0, false), &[Tensor::zeros(&[3, 0])], &[], &[0], &[], &[&[]], EXACT);
}

#[test]
fn recycled_buffers_are_fully_overwritten() {
    // Large dropped buffers are reused with stale contents, so every op must write every
    // element: a product with k = 0 is all zeros and one with k = 3 all 3s (β = 0: C is
    // not read), and a slice's gradient is zero outside it, even after a NaN buffer of the
    // same length was dropped on this thread.
    let nan = || drop(Tensor::full(&[100, 100], f64::NAN));
    nan();
    let p = Tensor::<f64>::zeros(&[100, 0]).matmul(&Tensor::zeros(&[0, 100]));
    assert!(p.data().iter().all(|&v| v == 0.0));
    nan();
    let p = Tensor::<f64>::ones(&[100, 3]).matmul(&Tensor::ones(&[3, 100]));
    assert!(p.data().iter().all(|&v| v == 3.0));
    nan();
    let g = grad(|x| x.slice(1, 0..1).sum(), &Tensor::zeros(&[100, 100]));
    assert_eq!(g.data().iter().sum::<f64>(), 100.0);
}

#[test]
fn f32_smoke() {
    // The same rules in f32: ∇ Σ tanh(x)² = 2 tanh x (1 − tanh² x), and through a matmul
    // ∇_A Σ (A·B) = 1·Bᵀ (row sums of B, exact here). The tanh kernel (1.5 ulps), its square,
    // 1 − y² (condition ≤ 2.8 for |x| ≤ 1) and products: ≤ 12 f32 ulps → 16·2⁻²³ relative.
    let xs = [0.5f32, -1.0, 0.25];
    let g = grad(|x| x.tanh().square().sum(), &Tensor::from_vec(xs.to_vec(), &[3]));
    for (&g, &x) in g.data().iter().zip(&xs) {
        let t = f64::from(x).tanh();
        let want = 2.0 * t * (1.0 - t * t);
        assert!((f64::from(g) - want).abs() <= 16.0 * f64::from(f32::EPSILON) * want.abs(), "{g} vs {want}");
    }
    let b = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let ga = grad(|a| a.matmul(&b).sum(), &Tensor::<f32>::ones(&[2, 2]));
    assert_eq!(ga.to_vec(), [6.0, 15.0, 6.0, 15.0]);
}
