//! Ulp accuracy of the transcendental kernels, measured over 10⁷ inputs per function and
//! element type: every special value, 5·10⁶ random bit patterns (all finite values, so all
//! binades equally) and 5·10⁶ uniform draws over the range where the function is not
//! trivially 0, ±1 or ±inf. The bounds enforced here are the table in `kernels::ew`'s docs.
//!
//! References: f32 results against f64 evaluations (f64 `std` functions are accurate to
//! ~1 f64 ulp = 2⁻²⁹ f32 ulp, negligible); f64 results against double-double evaluations
//! (`support::dd`, ~2⁻¹⁰⁰ relative). The FMA paths (AVX2, AVX-512) are bit-identical
//! (`ew.rs` tests it), so the widest available one is measured, and the portable path (no
//! FMA) on the same inputs. Set `NUMCORE_ULP_INPUTS` to change the count.
#![cfg(not(miri))] // 10⁷ inputs per function: far too many for Miri's interpreter

mod common;
mod support;

use common::Rng;
use kernels::ew::{self, Binary, Exec, Unary};
use kernels::{Element, Isa, Par};
use support::dd::{self, Dd};

fn count() -> usize {
    std::env::var("NUMCORE_ULP_INPUTS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000_000)
}

/// The paths to measure: the portable one and the widest FMA path.
fn paths() -> Vec<Isa> {
    let mut v = vec![Isa::Portable];
    if let Some(&fma) = Isa::available().iter().rfind(|i| **i != Isa::Portable) {
        v.push(fma);
    }
    v
}

fn specials<T: Element>() -> Vec<T> {
    let mut v: Vec<f64> = vec![0.0, 1.0, 0.5, 2.0, 1e-300, 1e300, f64::INFINITY, f64::MAX, f64::MIN_POSITIVE];
    v.extend([f32::MAX as f64, f32::MIN_POSITIVE as f64, f32::from_bits(1) as f64, f64::from_bits(1)]);
    v.extend([88.72283, 88.72284, 103.97, 709.78, 709.79, 745.13, 6000.0, 1e6]);
    let neg: Vec<f64> = v.iter().map(|x| -x).collect();
    v.extend(neg);
    v.into_iter().map(T::from_f64).filter(|x| x.to_f64().is_finite()).collect()
}

/// Specials, then half random finite bit patterns, half uniform on `range`.
fn inputs<T: Element>(n: usize, seed: u64, range: (f64, f64)) -> Vec<T> {
    let mut r = Rng(seed);
    let mut v = specials::<T>();
    while v.len() < n / 2 {
        let x = if T::NAME == "f32" {
            f32::from_bits(r.next_u64() as u32) as f64
        } else {
            f64::from_bits(r.next_u64())
        };
        if x.is_finite() {
            v.push(T::from_f64(x));
        }
    }
    while v.len() < n {
        v.push(T::from_f64(r.uniform(range.0, range.1)));
    }
    v
}

/// Max ulp error of `got` over the inputs, and the input where it occurs.
fn worst(errs: impl Iterator<Item = (f64, f64)>) -> (f64, f64) {
    errs.fold((0.0, 0.0), |w, e| if e.0 > w.0 || e.0.is_nan() { e } else { w })
}

/// Unary functions: op, uniform range, f32 reference, f64 reference, bounds
/// [f32 FMA, f32 portable, f64 FMA, f64 portable].
type Case = (Unary, (f64, f64), fn(f64) -> f64, fn(f64) -> Dd, [f64; 4]);

fn cases() -> Vec<Case> {
    fn gelu64(x: f64) -> f64 {
        x / (1.0 + (-x * (1.5957691216057308 + 0.07135481627260025 * x * x)).exp())
    }
    fn sigmoid64(x: f64) -> f64 {
        if x < 0.0 { x.exp() / (1.0 + x.exp()) } else { 1.0 / (1.0 + (-x).exp()) }
    }
    fn softplus64(x: f64) -> f64 {
        x.max(0.0) + (-x.abs()).exp().ln_1p()
    }
    vec![
        (Unary::Exp, (-746.0, 710.0), f64::exp, dd::exp, [1.0, 1.5, 1.0, 1.5]),
        (Unary::Ln, (0.0, 10.0), f64::ln, dd::ln, [1.0, 1.0, 1.0, 1.0]),
        (Unary::Tanh, (-10.0, 10.0), f64::tanh, dd::tanh, [1.5, 1.5, 2.0, 2.0]),
        (Unary::Sigmoid, (-750.0, 40.0), sigmoid64, dd::sigmoid, [1.5, 2.0, 2.5, 2.5]),
        (Unary::Sin, (-7000.0, 7000.0), f64::sin, dd::sin, [2.5, 2.5, 2.5, 2.5]),
        (Unary::Cos, (-7000.0, 7000.0), f64::cos, dd::cos, [2.5, 2.5, 2.5, 2.5]),
        (Unary::Softplus, (-750.0, 40.0), softplus64, dd::softplus, [3.0, 3.0, 3.0, 3.0]),
        (Unary::Gelu, (-40.0, 10.0), gelu64, dd::gelu, [1.0, 1.0, 3.5, 3.5]),
    ]
}

fn eval<T: Element>(isa: Isa, op: Unary, x: &[T]) -> Vec<T> {
    let mut y = vec![T::ZERO; x.len()];
    Exec { isa, par: Par::All }.run(|| ew::map(op, x, &mut y));
    y
}

/// Max ulp error per path of `op` over `x`: the reference `want` is evaluated once per
/// input (in parallel chunks), then every path's result is scored against it by `err`.
fn measure<T: Element, W: Send>(
    op: Unary,
    x: &[T],
    want: impl Fn(T) -> W + Sync,
    err: impl Fn(T, &W) -> f64,
) -> Vec<(Isa, f64, f64)> {
    use rayon::prelude::*;
    let mut worst_by_path: Vec<(Isa, f64, f64)> = paths().into_iter().map(|isa| (isa, 0.0, 0.0)).collect();
    for chunk in x.chunks(1 << 20) {
        let wants: Vec<W> = chunk.par_iter().map(|&x| want(x)).collect();
        for w in worst_by_path.iter_mut() {
            let y = eval(w.0, op, chunk);
            let (e, at) = worst(y.iter().zip(&wants).zip(chunk).map(|((&g, r), &x)| (err(g, r), x.to_f64())));
            if e > w.1 || e.is_nan() {
                (w.1, w.2) = (e, at);
            }
        }
    }
    worst_by_path
}

#[test]
fn f32_unary_ulp_bounds() {
    for (op, range, r32, _, bounds) in cases() {
        let x = inputs::<f32>(count(), 1, range);
        for (isa, e, at) in measure(op, &x, |x| r32(x as f64), |g, &w| dd::ulp_err_f32(g, w)) {
            let bound = bounds[if isa == Isa::Portable { 1 } else { 0 }];
            println!("f32 {op:?} {isa}: max {e:.3} ulp at {at:e} over {} inputs (bound {bound})", x.len());
            assert!(e <= bound, "f32 {op:?} on {isa}: {e} ulp at x = {at:e} exceeds {bound}");
        }
    }
}

/// A double-double reference, or (`Err`) the `std` value a lane must equal bit for bit.
type Want64 = Result<Dd, f64>;

#[test]
fn f64_unary_ulp_bounds() {
    for (op, range, _, r64, bounds) in cases() {
        let x = inputs::<f64>(count(), 2, range);
        // Beyond dd's trigonometric domain the kernels hand sin/cos lanes to `std`
        // (|x| > 10⁶): there the check is bit equality with `std`.
        let want = |x: f64| -> Want64 {
            match op {
                Unary::Sin if x.abs() > dd::TRIG_MAX => Err(x.sin()),
                Unary::Cos if x.abs() > dd::TRIG_MAX => Err(x.cos()),
                _ => Ok(r64(x)),
            }
        };
        let err = |g: f64, w: &Want64| match w {
            Ok(d) => dd::ulp_err_f64(g, *d),
            Err(s) if s.to_bits() == g.to_bits() => 0.0,
            Err(_) => f64::INFINITY,
        };
        for (isa, e, at) in measure(op, &x, want, err) {
            let bound = bounds[if isa == Isa::Portable { 3 } else { 2 }];
            println!("f64 {op:?} {isa}: max {e:.3} ulp at {at:e} over {} inputs (bound {bound})", x.len());
            assert!(e <= bound, "f64 {op:?} on {isa}: {e} ulp at x = {at:e} exceeds {bound}");
        }
    }
}

/// atan2 and pow, over pairs: f32 against f64 `std`, f64 atan2 against double-double (f64
/// pow is `std`'s `powf` lane by lane, checked bit for bit).
#[test]
fn binary_ulp_bounds() {
    for isa in paths() {
        let n = count() / 4;
        let a = inputs::<f32>(n, 3, (-50.0, 50.0));
        let b = inputs::<f32>(n, 4, (-50.0, 50.0));
        let mut y = vec![0.0f32; n];
        Exec { isa, par: Par::All }.run(|| ew::zip(Binary::Atan2, &a, &b, &mut y));
        let (e, _) = worst((0..n).map(|i| (dd::ulp_err_f32(y[i], (a[i] as f64).atan2(b[i] as f64)), 0.0)));
        // z = y/x, (z − 1)/(z + 1) and the octant offsets each round once: ≤ 2.5 measured.
        let atan2_bound = 2.5;
        println!("f32 atan2 {isa}: max {e:.3} ulp over {n} pairs");
        assert!(e <= atan2_bound, "f32 atan2 on {isa}: {e} ulp");
        // pow on positive bases with exponents keeping most results finite.
        let base: Vec<f32> = a.iter().map(|x| x.abs()).collect();
        let ex = inputs::<f32>(n, 5, (-20.0, 20.0));
        Exec { isa, par: Par::All }.run(|| ew::zip(Binary::Pow, &base, &ex, &mut y));
        let (e, _) = worst((0..n).map(|i| (dd::ulp_err_f32(y[i], (base[i] as f64).powf(ex[i] as f64)), 0.0)));
        println!("f32 pow {isa}: max {e:.3} ulp over {n} pairs");
        assert!(e <= 1.0, "f32 pow on {isa}: {e} ulp");

        let a = inputs::<f64>(n, 6, (-50.0, 50.0));
        let b = inputs::<f64>(n, 7, (-50.0, 50.0));
        let mut y = vec![0.0f64; n];
        Exec { isa, par: Par::All }.run(|| ew::zip(Binary::Atan2, &a, &b, &mut y));
        // atan2(±0, ±0) is `std`'s by construction (the special-case lanes); dd::atan2 excludes it.
        let err = |i: usize| {
            if a[i] == 0.0 && b[i] == 0.0 { 0.0 } else { dd::ulp_err_f64(y[i], dd::atan2(a[i], b[i])) }
        };
        let (e, _) = worst((0..n).map(|i| (err(i), 0.0)));
        println!("f64 atan2 {isa}: max {e:.3} ulp over {n} pairs");
        assert!(e <= atan2_bound, "f64 atan2 on {isa}: {e} ulp");
        let base: Vec<f64> = a.iter().map(|x| x.abs()).collect();
        Exec { isa, par: Par::All }.run(|| ew::zip(Binary::Pow, &base, &b, &mut y));
        assert!((0..n).all(|i| y[i].to_bits() == base[i].powf(b[i]).to_bits()), "f64 pow is std's");
    }
}
