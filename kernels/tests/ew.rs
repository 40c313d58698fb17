//! Behaviour of the slice kernels: special values as `std`, paths agreeing, tails and
//! in-place use, fused ops, reductions against exact sums, rows, thread independence,
//! and the errors for bad lengths. (Ulp accuracy over 10⁷ inputs: `ew_accuracy.rs`.)

mod common;

use common::{Rng, miri_or};
use kernels::ew::{self, Binary, Exec, Unary};
use kernels::{Element, Isa, Par};

/// A reference binary op in f64.
type Ref2 = fn(f64, f64) -> f64;
/// A backward fusion and its defining formula.
type Fused<T> = (fn(&[T], &[T], &mut [T]), Ref2);

fn on<R>(isa: Isa, f: impl FnOnce() -> R) -> R {
    Exec { isa, par: Par::Seq }.run(f)
}

const UNARY: [Unary; 16] = [
    Unary::Exp,
    Unary::Ln,
    Unary::Tanh,
    Unary::Sigmoid,
    Unary::Relu,
    Unary::Sqrt,
    Unary::Abs,
    Unary::Neg,
    Unary::Recip,
    Unary::Square,
    Unary::Sin,
    Unary::Cos,
    Unary::Softplus,
    Unary::Gelu,
    Unary::Powi(-3),
    Unary::Powf(2.5),
];

/// The `std` (or defining-formula) value of a unary op, in f64.
fn reference(op: Unary, x: f64) -> f64 {
    match op {
        Unary::Exp => x.exp(),
        Unary::Ln => x.ln(),
        Unary::Tanh => x.tanh(),
        Unary::Sigmoid if x < 0.0 => x.exp() / (1.0 + x.exp()),
        Unary::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Unary::Relu => {
            if x > 0.0 || x.is_nan() {
                x
            } else {
                0.0
            }
        }
        Unary::Sqrt => x.sqrt(),
        Unary::Abs => x.abs(),
        Unary::Neg => -x,
        Unary::Recip => 1.0 / x,
        Unary::Square => x * x,
        Unary::Sin => x.sin(),
        Unary::Cos => x.cos(),
        Unary::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p() + if x.is_nan() { x } else { 0.0 },
        Unary::Gelu => {
            if x == f64::NEG_INFINITY {
                -0.0
            } else {
                x / (1.0 + (-x * (1.5957691216057308 + 0.07135481627260025 * x * x)).exp())
            }
        }
        Unary::Powi(n) => x.powi(n),
        Unary::Powf(y) => x.powf(y),
    }
}

fn specials<T: Element>() -> Vec<f64> {
    let (tiny, max, minpos) = if T::NAME == "f32" {
        (f32::from_bits(1) as f64, f32::MAX as f64, f32::MIN_POSITIVE as f64)
    } else {
        (f64::from_bits(1), f64::MAX, f64::MIN_POSITIVE)
    };
    let mut v =
        vec![f64::NAN, f64::INFINITY, 0.0, 1.0, 0.5, 2.0, 88.72, 88.73, 103.9, 104.0, 709.7, 709.8, 745.2];
    v.extend([tiny, minpos, max, minpos * 0.5, 1e-30, 1e30, 6000.5, 1e6 + 0.5, 1e7, 3.0e38]);
    let neg: Vec<f64> = v.iter().map(|x| -x).collect();
    v.extend(neg);
    v.into_iter().map(|x| T::from_f64(x).to_f64()).collect()
}

/// Where `std` gives NaN, ±inf or ±0 the kernel must give exactly that (sign included);
/// finite nonzero results are only checked loosely here (4 ulps; the tight bounds are in
/// `ew_accuracy.rs`).
fn check_specials<T: Element>() {
    let xs: Vec<T> = specials::<T>().into_iter().map(T::from_f64).collect();
    for isa in Isa::available() {
        for op in UNARY {
            let mut y = vec![T::ZERO; xs.len()];
            on(isa, || ew::map(op, &xs, &mut y));
            for (&x, &g) in xs.iter().zip(&y) {
                let want = T::from_f64(reference(op, x.to_f64())).to_f64();
                let got = g.to_f64();
                let ctx = format!("{isa} {} {op:?}({:e}) = {got:e}, want {want:e}", T::NAME, x.to_f64());
                if want.is_nan() {
                    assert!(got.is_nan(), "{ctx}");
                } else if want.is_infinite() || want == 0.0 {
                    assert_eq!(got.to_bits(), want.to_bits(), "{ctx}");
                } else {
                    let ulp = (want.abs() * T::EPSILON.to_f64()).max(T::from_f64(f64::MIN_POSITIVE).to_f64());
                    assert!((got - want).abs() <= 4.0 * ulp.max(f64::MIN_POSITIVE), "{ctx}");
                }
            }
        }
    }
}

#[test]
fn special_values_follow_std() {
    check_specials::<f32>();
    check_specials::<f64>();
}

fn random<T: Element>(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<T> {
    let mut r = Rng(seed);
    (0..n).map(|_| T::from_f64(r.uniform(lo, hi))).collect()
}

/// Bit patterns, with every NaN as one canonical pattern: NaN's sign and payload are
/// unspecified (Rust and IEEE 754 leave them open; Miri randomises them).
fn bits<T: Element>(v: &[T]) -> Vec<u64> {
    v.iter().map(|&x| key(x)).collect()
}

/// One value's bit pattern, every NaN as the same one (see [`bits`]).
fn key<T: Element>(x: T) -> u64 {
    if x.to_f64().is_nan() { u64::MAX } else { x.to_f64().to_bits() }
}

/// AVX2 and AVX-512 evaluate the same operations in the same order, so every op must agree
/// bit for bit (what lets the accuracy test measure one of them).
fn check_paths_agree<T: Element>() {
    if !(Isa::Avx2Fma.is_available() && Isa::Avx512.is_available()) {
        return;
    }
    let x = random::<T>(50_001, 7, -30.0, 30.0);
    let b = random::<T>(50_001, 8, 0.1, 5.0);
    for op in UNARY {
        let mut y2 = vec![T::ZERO; x.len()];
        let mut y5 = vec![T::ZERO; x.len()];
        on(Isa::Avx2Fma, || ew::map(op, &x, &mut y2));
        on(Isa::Avx512, || ew::map(op, &x, &mut y5));
        assert_eq!(bits(&y2), bits(&y5), "{} {op:?}", T::NAME);
    }
    for op in [Binary::Atan2, Binary::Pow, Binary::Max, Binary::Div] {
        let mut y2 = vec![T::ZERO; x.len()];
        let mut y5 = vec![T::ZERO; x.len()];
        on(Isa::Avx2Fma, || ew::zip(op, &b, &x, &mut y2));
        on(Isa::Avx512, || ew::zip(op, &b, &x, &mut y5));
        assert_eq!(bits(&y2), bits(&y5), "{} {op:?}", T::NAME);
    }
}

#[test]
fn avx2_and_avx512_agree_bitwise() {
    check_paths_agree::<f32>();
    check_paths_agree::<f64>();
}

/// Each element's result depends only on its value: any length (masked tails), any offset,
/// and in place, give the values of one long out-of-place call.
fn check_tails<T: Element>() {
    let x = random::<T>(200, 3, -4.0, 4.0);
    for isa in Isa::available() {
        for op in UNARY {
            let mut full = vec![T::ZERO; x.len()];
            on(isa, || ew::map(op, &x, &mut full));
            for (start, len) in [(0, 0), (0, 1), (1, 7), (3, 17), (5, 33), (0, 64), (9, 71), (100, 100)] {
                let mut part = vec![T::ZERO; len];
                on(isa, || ew::map(op, &x[start..start + len], &mut part));
                assert_eq!(bits(&part), bits(&full[start..start + len]), "{isa} {op:?} {start}+{len}");
                let mut inplace = x[start..start + len].to_vec();
                on(isa, || ew::map_inplace(op, &mut inplace));
                assert_eq!(bits(&inplace), bits(&part), "{isa} {op:?} in place");
            }
        }
    }
}

#[test]
fn tails_offsets_and_in_place() {
    check_tails::<f32>();
    check_tails::<f64>();
}

/// The IEEE binary ops are single correctly rounded operations: bit-equal to `std`, in
/// every form (slice-slice, slice-scalar, scalar-slice, in place).
fn check_binary<T: Element>() {
    let mut a = random::<T>(301, 11, -100.0, 100.0);
    let b = random::<T>(301, 12, -100.0, 100.0);
    a[5] = T::from_f64(f64::NAN);
    let ops: [(Binary, Ref2); 6] = [
        (Binary::Add, |a, b| a + b),
        (Binary::Sub, |a, b| a - b),
        (Binary::Mul, |a, b| a * b),
        (Binary::Div, |a, b| a / b),
        (Binary::Max, f64::max),
        (Binary::Min, f64::min),
    ];
    // In f64 the operation rounds once to f64, then to T: for f32 operands, the f64 result of
    // +, −, ×, ÷ is exact or rounds to a double that rounds to the same f32 (p ≥ 2·24 + 2).
    let want = |f: Ref2, x: T, y: T| key(T::from_f64(f(x.to_f64(), y.to_f64())));
    for isa in Isa::available() {
        for (op, f) in ops {
            let mut y = vec![T::ZERO; a.len()];
            on(isa, || ew::zip(op, &a, &b, &mut y));
            for i in 0..a.len() {
                assert_eq!(key(y[i]), want(f, a[i], b[i]), "{isa} {op:?} at {i}");
            }
            let s = b[3];
            on(isa, || ew::zip_scalar(op, &a, s, &mut y));
            assert!((0..a.len()).all(|i| key(y[i]) == want(f, a[i], s)), "{isa} {op:?} scalar");
            on(isa, || ew::scalar_zip(op, s, &a, &mut y));
            assert!((0..a.len()).all(|i| key(y[i]) == want(f, s, a[i])), "{isa} {op:?} scalar left");
            let mut inplace = a.clone();
            on(isa, || ew::zip_inplace(op, &mut inplace, &b));
            assert!((0..a.len()).all(|i| key(inplace[i]) == want(f, a[i], b[i])), "{isa} {op:?}");
        }
    }
}

#[test]
fn binary_ops_are_exact() {
    check_binary::<f32>();
    check_binary::<f64>();
}

/// axpy is one FMA on FMA paths (bit-equal to `mul_add`), a·x + y rounded twice on the
/// portable path; the backward fusions are within the rounding of their few operations:
/// at most 4 roundings, each ≤ ε/2 relative, with 1 − y² ≥ 0.19 for |y| ≤ 0.9 amplifying the
/// product's rounding by y²/(1 − y²) ≤ 4.3 → ≤ (4 + 4.3)·ε/2 < 5ε.
fn check_fused<T: Element>() {
    let x = random::<T>(257, 21, -2.0, 2.0);
    let y0 = random::<T>(257, 22, -0.9, 0.9);
    let g = random::<T>(257, 23, -3.0, 3.0);
    let eps = T::EPSILON.to_f64();
    for isa in Isa::available() {
        let mut y = y0.clone();
        on(isa, || ew::axpy(T::from_f64(1.5), &x, &mut y));
        for i in 0..x.len() {
            let (a, xi, yi) = (1.5, x[i].to_f64(), y0[i].to_f64());
            let want = if isa == Isa::Portable {
                T::from_f64(T::from_f64(a * xi).to_f64() + yi)
            } else {
                T::from_f64(a.mul_add(xi, yi)) // exact in f64 for f32 inputs, then one rounding
            };
            if T::NAME == "f32" || isa == Isa::Portable {
                assert_eq!(y[i], want, "{isa} axpy at {i}");
            } else {
                assert_eq!(y[i].to_f64(), 1.5f64.mul_add(xi, yi), "{isa} axpy at {i}");
            }
        }
        let mut s = x.clone();
        on(isa, || ew::scale(T::from_f64(-0.75), &mut s));
        assert!((0..x.len()).all(|i| s[i] == T::from_f64(-0.75) * x[i]));
        let mut d = vec![T::ZERO; x.len()];
        let fused: [Fused<T>; 3] = [
            (ew::tanh_backward::<T>, |g, y| g * (1.0 - y * y)),
            (ew::sigmoid_backward::<T>, |g, y| g * y * (1.0 - y)),
            (ew::relu_backward::<T>, |g, x| if x > 0.0 { g } else { 0.0 }),
        ];
        for (f, r) in fused {
            on(isa, || f(&g, &y0, &mut d));
            for i in 0..x.len() {
                let want = r(g[i].to_f64(), y0[i].to_f64());
                assert!((d[i].to_f64() - want).abs() <= 5.0 * eps * want.abs(), "{isa} fused at {i}");
            }
        }
    }
}

#[test]
fn fused_ops() {
    check_fused::<f32>();
    check_fused::<f64>();
}

/// Integers scaled by powers of two: their exact sum and dot are computable in i128.
fn exact_inputs<T: Element>(n: usize, seed: u64, small: bool) -> (Vec<T>, Vec<i128>, i32) {
    let mut r = Rng(seed);
    // `small` keeps |products| < 2⁹² so n of them sum in i128.
    let (bound, shift) = match (T::NAME == "f32", small) {
        (true, false) => (1i64 << 23, 10),
        (false, false) => (1i64 << 52, 20),
        (true, true) => (1i64 << 11, 5),
        (false, true) => (1i64 << 26, 10),
    };
    let mut xs = Vec::with_capacity(n);
    let mut ints = Vec::with_capacity(n);
    for i in 0..n {
        let e = (r.next_u64() % (2 * shift as u64 + 1)) as i32 - shift;
        // Every 100th element is large and cancelled later: an ill-conditioned sum.
        let m = if i % 100 == 0 { bound } else { r.range(0, 2 * bound as usize) as i64 - bound };
        let m = if i % 200 == 100 { -bound } else { m };
        xs.push(T::from_f64(m as f64 * 2f64.powi(e)));
        ints.push((m as i128) << (e + shift));
    }
    (xs, ints, shift)
}

/// Sum2's bound |s − exact| ≤ ε|exact| + γ²ₙΣ|x| (module docs of `kernels::ew`), with
/// ε = u = EPSILON/2 (unit roundoff) and γₙ = nu/(1 − nu).
fn sum2_bound<T: Element>(exact: f64, abs_sum: f64, n: usize) -> f64 {
    let u = T::EPSILON.to_f64() / 2.0;
    let g = n as f64 * u / (1.0 - n as f64 * u);
    // Plus the f64 rounding of the i128 reference itself (≤ 2⁻⁵³ relative).
    u * exact.abs() + g * g * abs_sum + exact.abs() * f64::EPSILON / 2.0
}

fn check_sums<T: Element>() {
    // (Under Miri the 10⁵ case is left out: the compensated sums' block edges are at 16 Ki.)
    for n in [0usize, 1, 15, 1000, miri_or(100_003, 17_000)] {
        let (x, xi, shift) = exact_inputs::<T>(n, 31 + n as u64, false);
        let exact_sum = xi.iter().sum::<i128>() as f64 / 2f64.powi(shift);
        let abs_sum: f64 = x.iter().map(|v| v.to_f64().abs()).sum();
        let (a, ai, shift) = exact_inputs::<T>(n, 77 + n as u64, true);
        let (y, yi, _) = exact_inputs::<T>(n, 78 + n as u64, true);
        let exact_dot = ai.iter().zip(&yi).map(|(a, b)| a * b).sum::<i128>() as f64 / 2f64.powi(2 * shift);
        let abs_dot: f64 = a.iter().zip(&y).map(|(a, b)| (a.to_f64() * b.to_f64()).abs()).sum();
        for isa in Isa::available() {
            let s = on(isa, || ew::sum(&x)).to_f64();
            assert!(
                (s - exact_sum).abs() <= sum2_bound::<T>(exact_sum, abs_sum, n),
                "{isa} sum n={n}: {s} vs {exact_sum}"
            );
            let d = on(isa, || ew::dot(&a, &y)).to_f64();
            assert!((d - exact_dot).abs() <= sum2_bound::<T>(exact_dot, abs_dot, 2 * n), "{isa} dot n={n}");
        }
    }
}

/// Non-finite sums follow IEEE (the plain sum's answer), not the NaN of the error terms.
fn check_nonfinite_sums<T: Element>() {
    let (inf, nan, max) = (T::from_f64(f64::INFINITY), T::from_f64(f64::NAN), T::from_f64(f64::MAX));
    let one = T::ONE;
    for isa in Isa::available() {
        assert_eq!(on(isa, || ew::sum(&[one, inf, one])).to_f64(), f64::INFINITY, "{isa}");
        assert!(on(isa, || ew::sum(&[inf, -inf])).to_f64().is_nan(), "{isa}");
        assert!(on(isa, || ew::sum(&[one, nan])).to_f64().is_nan(), "{isa}");
        assert_eq!(on(isa, || ew::sum(&[max, max])).to_f64(), f64::INFINITY, "{isa}: overflow");
        assert_eq!(
            on(isa, || ew::dot(&[inf, one], &[T::from_f64(2.0), one])).to_f64(),
            f64::INFINITY,
            "{isa}"
        );
        let mut rs = [T::ZERO; 2];
        on(isa, || ew::sum_rows(&[inf, one, one, one], 2, &mut rs));
        assert_eq!((rs[0].to_f64(), rs[1].to_f64()), (f64::INFINITY, 2.0), "{isa}");
        let mut cs = [T::ZERO; 2];
        on(isa, || ew::sum_cols(&[inf, one, one, one], 2, &mut cs));
        assert_eq!((cs[0].to_f64(), cs[1].to_f64()), (f64::INFINITY, 2.0), "{isa}");
    }
}

#[test]
fn non_finite_sums_follow_ieee() {
    check_nonfinite_sums::<f32>();
    check_nonfinite_sums::<f64>();
}

#[test]
fn sum_and_dot_meet_the_compensated_bound() {
    check_sums::<f32>();
    check_sums::<f64>();
}

fn check_extremes<T: Element>() {
    let mut x = random::<T>(10_007, 41, -1e3, 1e3);
    x[7777] = T::from_f64(5e3);
    x[8888] = T::from_f64(-5e3);
    x[9999] = T::from_f64(5e3);
    for isa in Isa::available() {
        assert_eq!(on(isa, || ew::max(&x)), T::from_f64(5e3));
        assert_eq!(on(isa, || ew::min(&x)), T::from_f64(-5e3));
        assert_eq!(on(isa, || ew::argmax(&x)), Some(7777), "first of the tied maxima");
        let mut with_nan = x.clone();
        with_nan[3] = T::from_f64(f64::NAN);
        with_nan[10_000] = T::from_f64(f64::NAN);
        assert!(on(isa, || ew::max(&with_nan)).to_f64().is_nan());
        assert!(on(isa, || ew::min(&with_nan)).to_f64().is_nan());
        assert_eq!(on(isa, || ew::argmax(&with_nan)), Some(3));
        assert_eq!(on(isa, || ew::max::<T>(&[])).to_f64(), f64::NEG_INFINITY);
        assert_eq!(on(isa, || ew::argmax::<T>(&[])), None);
    }
}

#[test]
fn max_min_argmax() {
    check_extremes::<f32>();
    check_extremes::<f64>();
}

/// norm2 against the f64 norm of the same values, then scaled by exact powers of two into
/// the overflow and underflow ranges: norm2(2ᵏx) = 2ᵏ·norm2(x) exactly in exact arithmetic,
/// and the kernel's scaled accumulators keep its relative error (n·u per block lane sum,
/// 16 Ki / 64 lanes ⇒ ≤ 256u, plus the block combination and the square root: 300u).
fn check_norm<T: Element>() {
    let x = random::<T>(miri_or(50_000, 2_000), 51, -1.0, 1.0);
    let want: f64 = x.iter().map(|v| v.to_f64() * v.to_f64()).sum::<f64>().sqrt();
    let tol = 300.0 * T::EPSILON.to_f64() / 2.0;
    let big = if T::NAME == "f32" { 100 } else { 1000 };
    for isa in Isa::available() {
        for k in [0, big, -big - 20] {
            let s = 2f64.powi(k);
            let xs: Vec<T> = x.iter().map(|v| T::from_f64(v.to_f64() * s)).collect();
            let got = on(isa, || ew::norm2(&xs)).to_f64() / s;
            assert!((got - want).abs() <= tol * want, "{isa} norm2 scaled 2^{k}: {got} vs {want}");
        }
        let inf = [T::ONE, T::from_f64(f64::INFINITY)];
        assert_eq!(on(isa, || ew::norm2(&inf)).to_f64(), f64::INFINITY);
        assert!(on(isa, || ew::norm2(&[T::ONE, T::from_f64(f64::NAN)])).to_f64().is_nan());
        assert_eq!(on(isa, || ew::norm2::<T>(&[])), T::ZERO);
    }
}

#[test]
fn norm2_neither_overflows_nor_underflows() {
    check_norm::<f32>();
    check_norm::<f64>();
}

/// logsumexp and the row ops against f64 evaluations of their definitions. Tolerances:
/// each output is a few exps and one sum away from the inputs: the exp bound (1 ulp), the
/// sum's n·u relative error on positive terms, and the final rounding → (n + 8)·u relative
/// to the magnitudes involved.
fn check_rows<T: Element>() {
    let (rows, cols) = (37, 129);
    let x = random::<T>(rows * cols, 61, -20.0, 20.0);
    let g = random::<T>(rows * cols, 62, -1.0, 1.0);
    let u = T::EPSILON.to_f64() / 2.0;
    let tol = (cols as f64 + 8.0) * u;
    for isa in Isa::available() {
        let mut sm = vec![T::ZERO; x.len()];
        let mut lsm = vec![T::ZERO; x.len()];
        on(isa, || ew::softmax_rows(&x, cols, &mut sm));
        on(isa, || ew::log_softmax_rows(&x, cols, &mut lsm));
        let mut dsm = vec![T::ZERO; x.len()];
        let mut dlsm = vec![T::ZERO; x.len()];
        on(isa, || ew::softmax_backward_rows(&g, &sm, cols, &mut dsm));
        on(isa, || ew::log_softmax_backward_rows(&g, &lsm, cols, &mut dlsm));
        for r in 0..rows {
            let row: Vec<f64> = x[r * cols..(r + 1) * cols].iter().map(|v| v.to_f64()).collect();
            let gr: Vec<f64> = g[r * cols..(r + 1) * cols].iter().map(|v| v.to_f64()).collect();
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = row.iter().map(|v| (v - m).exp()).sum();
            let lse = m + z.ln();
            let lse_got = on(isa, || ew::logsumexp(&x[r * cols..(r + 1) * cols])).to_f64();
            assert!((lse_got - lse).abs() <= tol * lse.abs().max(1.0), "{isa} logsumexp row {r}");
            let p: Vec<f64> = row.iter().map(|v| (v - m).exp() / z).collect();
            let gp: f64 = gr.iter().zip(&p).map(|(a, b)| a * b).sum();
            let gs: f64 = gr.iter().sum();
            for j in 0..cols {
                let i = r * cols + j;
                assert!((sm[i].to_f64() - p[j]).abs() <= tol * p[j], "{isa} softmax {r},{j}");
                assert!(
                    (lsm[i].to_f64() - (row[j] - lse)).abs() <= tol * (row[j] - lse).abs().max(1.0),
                    "{isa} lsm"
                );
                let want = p[j] * (gr[j] - gp);
                assert!((dsm[i].to_f64() - want).abs() <= tol * p[j] * (gr[j].abs() + 1.0), "{isa} dsoftmax");
                let want = gr[j] - p[j] * gs;
                assert!(
                    (dlsm[i].to_f64() - want).abs() <= tol * (gr[j].abs() + p[j] * gs.abs() + 1.0),
                    "{isa} dlsm"
                );
            }
        }
        // Row and column sums: exact integer inputs, so the compensated sums are exact.
        let ints: Vec<T> =
            (0..rows * cols).map(|i| T::from_f64(((i * 7919) % 1001) as f64 - 500.0)).collect();
        let mut rs = vec![T::ZERO; rows];
        let mut cs = vec![T::ZERO; cols];
        on(isa, || ew::sum_rows(&ints, cols, &mut rs));
        on(isa, || ew::sum_cols(&ints, cols, &mut cs));
        for r in 0..rows {
            assert_eq!(
                rs[r].to_f64(),
                ints[r * cols..(r + 1) * cols].iter().map(|v| v.to_f64()).sum::<f64>()
            );
        }
        for c in 0..cols {
            assert_eq!(cs[c].to_f64(), (0..rows).map(|r| ints[r * cols + c].to_f64()).sum::<f64>());
        }
    }
}

#[test]
fn rows_and_logsumexp() {
    check_rows::<f32>();
    check_rows::<f64>();
}

/// Results do not depend on the thread count: elementwise ops are per element, and the
/// reductions combine fixed 16 Ki blocks in block order.
#[test]
#[cfg_attr(miri, ignore = "5 M elements: too large for the interpreter")]
fn thread_count_does_not_change_results() {
    // Above the threading thresholds of every op involved (2²⁰ per thread for the cheap ones).
    let n = 5 * (1 << 20) + 17;
    let x = random::<f32>(n, 71, -5.0, 5.0);
    let y = random::<f32>(n, 72, -5.0, 5.0);
    let isa = Isa::selected();
    let run = |par| {
        Exec { isa, par }.run(|| {
            let mut e = vec![0.0f32; n];
            ew::map(Unary::Tanh, &x, &mut e);
            let mut z = vec![0.0f32; n];
            ew::zip(Binary::Mul, &x, &y, &mut z);
            (e, z, ew::sum(&x), ew::dot(&x, &y), ew::norm2(&x), ew::logsumexp(&x))
        })
    };
    let seq = run(Par::Seq);
    for t in [2, 3] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap();
        let par = pool.install(|| run(Par::All));
        assert_eq!(bits(&seq.0), bits(&par.0));
        assert_eq!(bits(&seq.1), bits(&par.1));
        assert_eq!((seq.2, seq.3, seq.4, seq.5), (par.2, par.3, par.4, par.5), "{t} threads");
    }
}

/// Outputs larger than the last-level cache are written with non-temporal stores after an
/// aligning head: same values as the cached path, whatever the output's alignment.
#[test]
#[cfg_attr(miri, ignore = "needs an output larger than the last-level cache")]
fn streamed_outputs_match() {
    let n = (kernels::CacheSizes::detected().l3.max(1 << 20) / 4) + 1000;
    let x = random::<f32>(n + 1, 81, -3.0, 3.0);
    let y = random::<f32>(n + 1, 82, -3.0, 3.0);
    for isa in Isa::available() {
        for off in [0, 1] {
            let mut big = vec![0.0f32; n + 1];
            on(isa, || ew::map(Unary::Relu, &x[..n], &mut big[off..off + n]));
            let mut add = vec![0.0f32; n + 1];
            on(isa, || ew::zip(Binary::Add, &x[..n], &y[1..], &mut add[off..off + n]));
            let mut sp = vec![0.0f32; n + 1];
            on(isa, || ew::map(Unary::Tanh, &x[..n], &mut sp[off..off + n]));
            // Reference: the same ops in cache-sized pieces (no streaming).
            for start in (0..n).step_by(1 << 16) {
                let end = (start + (1 << 16)).min(n);
                let mut r = vec![0.0f32; end - start];
                on(isa, || ew::map(Unary::Relu, &x[start..end], &mut r));
                assert_eq!(bits(&r), bits(&big[off + start..off + end]), "{isa} relu at {start}");
                on(isa, || ew::zip(Binary::Add, &x[start..end], &y[1 + start..1 + end], &mut r));
                assert_eq!(bits(&r), bits(&add[off + start..off + end]), "{isa} add at {start}");
                on(isa, || ew::map(Unary::Tanh, &x[start..end], &mut r));
                assert_eq!(bits(&r), bits(&sp[off + start..off + end]), "{isa} tanh at {start}");
            }
        }
    }
}

fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let err = std::panic::catch_unwind(f).expect_err("should panic");
    err.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn bad_lengths_are_named() {
    let m = panic_message(|| ew::map(Unary::Exp, &[1.0f32; 3], &mut [0.0; 2]));
    assert!(m.contains("map") && m.contains("x has 3") && m.contains("out has 2"), "{m}");
    let m = panic_message(|| ew::zip(Binary::Add, &[1.0f64; 3], &[1.0; 4], &mut [0.0; 3]));
    assert!(m.contains("a has 3") && m.contains("b has 4"), "{m}");
    let m = panic_message(|| {
        ew::dot(&[1.0f32; 3], &[1.0; 2]);
    });
    assert!(m.contains("dot") && m.contains("y has 2"), "{m}");
    let m = panic_message(|| ew::softmax_rows(&[1.0f32; 7], 2, &mut [0.0; 7]));
    assert!(m.contains("7 elements is not a whole number of rows of 2 columns"), "{m}");
    let m = panic_message(|| ew::sum_cols(&[1.0f64; 6], 3, &mut [0.0; 2]));
    assert!(m.contains("out has 2") && m.contains("cols has 3"), "{m}");
}
