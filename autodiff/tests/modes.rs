//! The modes and their nestings, the PyTorch-style API, switches, errors, custom ops, and
//! the engine's limits (deep graphs, memory, threads).

mod common;

use std::cell::RefCell;
use std::slice::from_ref;

use autodiff::{
    Op, Tensor, check_numerics, enable_grad, grad, grad_many, gradients, hessian, hvp, jvp, jvp_many,
    no_grad, value_and_grad, vjp_many,
};
use common::cases::cases;
use common::{EPS, Rng, close, panic_msg, t};

/// `(Σ aᵢbᵢ, Σ |aᵢbᵢ|)`.
fn dot(a: &Tensor<f64>, b: &Tensor<f64>) -> (f64, f64) {
    assert_eq!(a.shape(), b.shape());
    a.data().iter().zip(b.data()).fold((0.0, 0.0), |(s, m), (x, y)| (s + x * y, m + (x * y).abs()))
}

#[test]
fn forward_and_reverse_agree_on_every_op() {
    // ⟨u, J·v⟩ by `jvp` must equal ⟨Jᵀ·u, v⟩ by `vjp`: the JVP and VJP rules are exact
    // transposes of each other. Both sides are the same handful of correctly rounded or
    // few-ulp f64 operations per term (no inner sum longer than 4 + a few), so each side is
    // within ~100ε of the exact value relative to Σ|terms| (measured: ≤ 5ε over 300 seeds);
    // 1e-12 (≈ 4500ε) of Σ|terms| is ample slack yet catches any wrong rule (a rule off by
    // a relative 10⁻⁶ was caught).
    let mut count = 0;
    for seed in 0..6 {
        let mut rng = Rng::new(seed);
        for c in cases(&mut rng) {
            let xs: Vec<Tensor<f64>> = c.inputs.iter().map(|(s, lo, hi)| rng.tensor(s, *lo, *hi)).collect();
            let vs: Vec<Tensor<f64>> = c.inputs.iter().map(|(s, ..)| rng.tensor(s, -1.0, 1.0)).collect();
            let (y, jv) = jvp_many(&*c.f, &xs, &vs);
            let (y2, pullback) = vjp_many(&*c.f, &xs);
            assert_eq!(y.data(), y2.data(), "{}: the primal under jvp differs", c.name);
            assert_eq!(jv.shape(), y.shape(), "{}: the tangent's shape", c.name);
            let u = rng.tensor(y.shape(), -1.0, 1.0);
            let (fwd, fmag) = dot(&u, &jv);
            let (mut rev, mut rmag) = (0.0, 0.0);
            for (g, v) in pullback(&u).iter().zip(&vs) {
                let (s, m) = dot(g, v);
                (rev, rmag) = (rev + s, rmag + m);
            }
            let shapes: Vec<&Vec<usize>> = c.inputs.iter().map(|i| &i.0).collect();
            assert!(
                (fwd - rev).abs() <= 1e-12 * (fmag + rmag),
                "{} on {shapes:?} (seed {seed}): <u, Jv> = {fwd:e} but <J'u, v> = {rev:e}",
                c.name
            );
            count += 1;
        }
    }
    assert!(count > 6 * 100, "{count} cases");
}

#[test]
fn second_order_nestings_agree_on_every_op() {
    // For f = Σ op(xs)·w (w fixed), zᵀHv three ways: ⟨z, forward-over-reverse(v)⟩,
    // ⟨reverse-over-reverse(z), v⟩ (= vᵀHz: H is symmetric), ⟨z, reverse-over-forward(v)⟩.
    // This differentiates every VJP and JVP rule once more, in both modes. Each side chains
    // two rules' worth of few-ulp operations (measured: ≤ 71ε over 100 seeds, in softmax's
    // cancelling sums); 1e-11 (≈ 45000ε) of Σ|terms| is ample.
    for seed in 0..3 {
        let mut rng = Rng::new(100 + seed);
        for c in cases(&mut rng) {
            let xs: Vec<Tensor<f64>> = c.inputs.iter().map(|(s, lo, hi)| rng.tensor(s, *lo, *hi)).collect();
            let draw = |rng: &mut Rng| -> Vec<Tensor<f64>> {
                xs.iter().map(|x| rng.tensor(x.shape(), -1.0, 1.0)).collect()
            };
            let (v, z) = (draw(&mut rng), draw(&mut rng));
            let w = rng.tensor((c.f)(&xs).shape(), -1.0, 1.0);
            let f = |xs: &[Tensor<f64>]| ((c.f)(xs) * &w).sum();
            let for_ = flat(&[jvp_many(|xs| flat(&grad_many(f, xs)), &xs, &v).1]);
            let zdot = |g: Vec<Tensor<f64>>| {
                g.iter().zip(&z).map(|(g, z)| (g * z).sum()).reduce(|a, b| a + b).unwrap()
            };
            let ror = flat(&grad_many(|xs| zdot(grad_many(f, xs)), &xs));
            let rof = flat(&grad_many(|xs| jvp_many(f, xs, &v).1, &xs));
            let (a, am) = dot(&flat(&z), &for_);
            let (b, bm) = dot(&ror, &flat(&v));
            let (d, dm) = dot(&flat(&z), &rof);
            let tol = 1e-11 * (am + bm + dm);
            assert!(
                (a - b).abs() <= tol && (a - d).abs() <= tol,
                "{} (seed {seed}): zᵀHv = {a:e} (fwd-rev), {b:e} (rev-rev), {d:e} (rev-fwd)",
                c.name
            );
        }
    }
}

#[test]
fn third_order_every_nesting() {
    // (Σx⁴)‴ along (1, 1, 1) per coordinate: 24x, by all eight nestings of grad and jvp.
    // Small dyadic points: every step is exact.
    let x = t(&[0.5, -1.0, 2.0], &[3]);
    let one = Tensor::ones(&[3]);
    let want: Vec<f64> = x.data().iter().map(|x| 24.0 * x).collect();
    let f = |x: &Tensor<f64>| x.powi(4).sum();
    let (g, j) = (|x: &Tensor<f64>| grad(f, x), |x: &Tensor<f64>| jvp(f, x, &one).1);
    let got = [
        grad(|x| grad(|x| g(x).sum(), x).sum(), &x),
        grad(|x| grad(|x| j(x), x).sum(), &x),
        grad(|x| jvp(g, x, &one).1.sum(), &x),
        grad(|x| jvp(|x| j(x), x, &one).1, &x),
        jvp(|x| grad(|x| g(x).sum(), x), &x, &one).1,
        jvp(|x| grad(j, x), &x, &one).1,
        jvp(|x| jvp(g, x, &one).1, &x, &one).1,
        jvp(|x| jvp(|x| jvp(|x| x.powi(4), x, &one).1, x, &one).1, &x, &one).1,
    ];
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.to_vec(), want, "nesting {i}");
    }
}

// ---- higher orders ----

/// f″ of an elementwise f, by reverse-over-reverse: ∇Σf = f′ elementwise, ∇Σf′ = f″.
fn d2(f: impl Fn(&Tensor<f64>) -> Tensor<f64> + Copy, x: &Tensor<f64>) -> Tensor<f64> {
    grad(|x| grad(|x| f(x).sum(), x).sum(), x)
}

#[test]
fn second_derivatives() {
    // Each f″ goes through ≤ ~8 roundings of few-ulp ops on both sides: 16ε. tanh's rule
    // forms 1 − y², condition 2y²/(1 − y²) ≤ 2.8 for |x| ≤ 1, so 32ε there.
    let xs = [-1.0, -0.3, 0.4, 1.0];
    let x = t(&xs, &[4]);
    let want = |f: fn(f64) -> f64| xs.iter().map(|&v| f(v)).collect::<Vec<f64>>();
    // f = x³: f″ = 6x.
    close(d2(|x| &(x * x) * x, &x).data(), &want(|x| 6.0 * x), 16.0 * EPS, 0.0);
    // f = sin x: f″ = −sin x.
    close(d2(|x| x.sin(), &x).data(), &want(|x| -x.sin()), 16.0 * EPS, 0.0);
    // f = e^{2x}: f″ = 4e^{2x}.
    close(d2(|x| (x * 2.0).exp(), &x).data(), &want(|x| 4.0 * (2.0 * x).exp()), 16.0 * EPS, 0.0);
    // f = tanh x: f″ = −2 tanh x (1 − tanh² x) = −2 tanh x / cosh² x.
    let tanh2 = |x: f64| -2.0 * x.tanh() / (x.cosh() * x.cosh());
    close(d2(|x| x.tanh(), &x).data(), &want(tanh2), 32.0 * EPS, 0.0);
    // f = sigmoid: f″ = σ(1 − σ)(1 − 2σ).
    let sig2 = |x: f64| {
        let s = 1.0 / (1.0 + (-x).exp());
        s * (1.0 - s) * (1.0 - 2.0 * s)
    };
    close(d2(|x| x.sigmoid(), &x).data(), &want(sig2), 64.0 * EPS, 1e-16);
}

#[test]
fn mixed_partials_by_nested_grad_many() {
    // f(x, y) = x²y + sin(xy): f_xx = 2y − y² sin(xy), f_xy = f_yx = 2x + cos(xy) − xy sin(xy),
    // f_yy = −x² sin(xy). A few roundings of few-ulp ops, with |terms| ≤ 3: 16ε·3 absolute.
    let f = |v: &[Tensor<f64>]| &(&(&v[0] * &v[0]) * &v[1]) + &(&v[0] * &v[1]).sin();
    let (x, y) = (0.7f64, -1.3f64);
    let p = [Tensor::scalar(x), Tensor::scalar(y)];
    let row_x = grad_many(|v| grad_many(f, v).remove(0), &p);
    let row_y = grad_many(|v| grad_many(f, v).remove(1), &p);
    let (s, c) = ((x * y).sin(), (x * y).cos());
    let fxy = 2.0 * x + c - x * y * s;
    close(&[row_x[0].item(), row_x[1].item()], &[2.0 * y - y * y * s, fxy], 0.0, 48.0 * EPS);
    close(&[row_y[0].item(), row_y[1].item()], &[fxy, -x * x * s], 0.0, 48.0 * EPS);
}

#[test]
fn prod_second_derivative_exact_with_zeros() {
    // ∂²Πx/∂xᵢ∂xⱼ = Πₖ∉{i,j} xₖ (i ≠ j), 0 on the diagonal; H·1 for [2, 3, 4] is
    // [4 + 3, 4 + 2, 3 + 2], and with a zero factor [2, 0, 4]: [4 + 0, 4 + 2, 0 + 2]. Exact.
    let hv = |x: &[f64]| grad(|x| grad(|x| x.prod(), x).sum(), &t(x, &[3])).to_vec();
    assert_eq!(hv(&[2.0, 3.0, 4.0]), [7.0, 6.0, 5.0]);
    assert_eq!(hv(&[2.0, 0.0, 4.0]), [4.0, 6.0, 2.0]);
}

/// f(x) = Σᵢ xᵢ² xᵢ₊₁ and its closed-form Hessian-vector product:
/// (Hv)ⱼ = 2xⱼ₊₁vⱼ + 2xⱼvⱼ₊₁ (j < n−1) + 2xⱼ₋₁vⱼ₋₁ (j > 0), with the sum of the terms'
/// magnitudes per entry.
fn chain_f(x: &Tensor<f64>) -> Tensor<f64> {
    let n = x.shape()[0];
    (&x.slice(0, 0..n - 1).square() * &x.slice(0, 1..n)).sum()
}
fn chain_hv(x: &[f64], v: &[f64]) -> (Vec<f64>, f64) {
    let n = x.len();
    let terms = |j: usize| {
        let fwd = if j + 1 < n { [2.0 * x[j + 1] * v[j], 2.0 * x[j] * v[j + 1]] } else { [0.0; 2] };
        [fwd[0], fwd[1], if j > 0 { 2.0 * x[j - 1] * v[j - 1] } else { 0.0 }]
    };
    let mag = (0..n).map(|j| terms(j).iter().map(|t| t.abs()).sum()).fold(0.0, f64::max);
    ((0..n).map(|j| terms(j).iter().sum()).collect(), mag)
}

#[test]
fn hessian_vector_products_three_ways() {
    // forward-over-reverse, reverse-over-reverse and reverse-over-forward all give H·v.
    // Each entry is ≤ 3 products summed, on both sides: 8ε of the largest Σ|terms|.
    let mut rng = Rng::new(42);
    let (x, v) = (rng.tensor(&[6], -1.0, 1.0), rng.tensor(&[6], -1.0, 1.0));
    let (want, mag) = chain_hv(x.data(), v.data());
    let for_ = jvp(|x| grad(chain_f, x), &x, &v).1;
    let ror = grad(|x| (&grad(chain_f, x) * &v).sum(), &x);
    let rof = grad(|x| jvp(chain_f, x, &v).1, &x);
    for hv in [&for_, &ror, &rof] {
        close(hv.data(), &want, 0.0, 8.0 * EPS * mag);
    }
    // forward-over-forward: the second directional derivative wᵀHv.
    let w = rng.tensor(&[6], -1.0, 1.0);
    let whv = jvp(|x| jvp(chain_f, x, &v).1, &x, &w).1.item();
    let (want2, mag2) = dot(&w, &t(&want, &[6]));
    close(&[whv], &[want2], 0.0, 32.0 * EPS * mag2.max(mag));
}

#[test]
fn fused_product_rule_is_the_composition_bit_for_bit() {
    // The forward-mode product rule on plain tensors runs as one fused pass; under
    // check_numerics it is composed from a multiply, a multiply and an add. Both round the
    // same two products and add them in the same order, so hvp and jacfwd of a gradient
    // full of products (x₀x₁x₂-style terms) must agree exactly, batched and not.
    let f = |x: &Tensor<f64>| (&(&x.sin() * &x.cos()) * &x.exp()).sum();
    let mut rng = Rng::new(7);
    let (x, v) = (rng.tensor(&[9], -1.0, 1.0), rng.tensor(&[9], -1.0, 1.0));
    let fused = (hvp(f, &x, &v), hessian(f, &x));
    let composed = check_numerics(|| (hvp(f, &x, &v), hessian(f, &x)));
    assert_eq!(fused.0.to_vec(), composed.0.to_vec());
    assert_eq!(fused.1.to_vec(), composed.1.to_vec());
}

/// A two-layer classifier's loss: softmax_cross_entropy(tanh(X·W1 + b1)·W2).
fn mlp_loss(p: &[Tensor<f64>], x: &Tensor<f64>, labels: &[usize]) -> Tensor<f64> {
    (&x.matmul(&p[0]) + &p[1]).tanh().matmul(&p[2]).softmax_cross_entropy(labels)
}

/// All of a parameter list flattened into one vector.
fn flat(ts: &[Tensor<f64>]) -> Tensor<f64> {
    let parts: Vec<Tensor<f64>> = ts.iter().map(|t| t.reshape(&[t.numel()])).collect();
    Tensor::concat(&parts, 0)
}

#[test]
fn mlp_hessian_vector_product_modes_agree() {
    // No closed form: the three nestings evaluate the same second-order rules in different
    // orders, so they agree to rounding. Entries are sums of O(100) products of O(1) terms:
    // a few hundred ulps of the largest entry at most, so 1e-11 of it.
    let mut rng = Rng::new(7);
    let x = rng.tensor(&[6, 4], -1.0, 1.0);
    let labels = [0, 1, 2, 0, 1, 2];
    let shapes: [&[usize]; 3] = [&[4, 5], &[5], &[5, 3]];
    let p: Vec<Tensor<f64>> = shapes.iter().map(|s| rng.tensor(s, -1.0, 1.0)).collect();
    let v: Vec<Tensor<f64>> = shapes.iter().map(|s| rng.tensor(s, -1.0, 1.0)).collect();
    let f = |p: &[Tensor<f64>]| mlp_loss(p, &x, &labels);
    let for_ = jvp_many(|p| flat(&grad_many(f, p)), &p, &v).1;
    // Reverse-over-reverse: ∇ₚ Σᵢ ⟨∇ᵢf(p), vᵢ⟩ = H·v.
    let gv = |p: &[Tensor<f64>]| {
        let g = grad_many(f, p);
        g.iter().zip(&v).map(|(g, v)| (g * v).sum()).reduce(|a, b| &a + &b).unwrap()
    };
    let ror = flat(&grad_many(gv, &p));
    let rof = flat(&grad_many(|p| jvp_many(f, p, &v).1, &p));
    let scale = for_.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(scale > 1e-3, "a degenerate Hessian-vector product");
    close(ror.data(), for_.data(), 0.0, 1e-11 * scale);
    close(rof.data(), for_.data(), 0.0, 1e-11 * scale);
}

#[test]
fn perturbation_confusion() {
    // Perturbation confusion (Siskind & Pearlmutter): d/dx [x · d/dy (x + y)] = x·1 → 1; the
    // inner derivative must not pick up the outer perturbation. Forward and reverse.
    let one = Tensor::scalar(1.0);
    let y0 = Tensor::scalar(3.0);
    let fwd = jvp(|x| x * &jvp(|y| x + y, &y0, &one).1, &Tensor::scalar(2.0), &one).1;
    assert_eq!(fwd.item(), 1.0);
    let rev = grad(|x| x * &grad(|y| x + y, &y0), &Tensor::scalar(2.0));
    assert_eq!(rev.item(), 1.0);
    // d/dx [d/dy (x·y)] = d/dx x = 1, the inner result depending on the outer variable.
    assert_eq!(jvp(|x| jvp(|y| x * y, &y0, &one).1, &Tensor::scalar(2.0), &one).1.item(), 1.0);
    assert_eq!(grad(|x| grad(|y| x * y, &y0), &Tensor::scalar(2.0)).item(), 1.0);
}

// ---- the PyTorch-style API ----

#[test]
fn backward_accumulates_until_zero_grad() {
    // L = Σ w²: ∂L/∂w = 2w; two sweeps over fresh graphs accumulate 4w. Exact.
    let w = t(&[1.0, -2.0, 3.0], &[3]).requires_grad();
    assert!(w.grad().is_none());
    (&w * &w).sum().backward();
    assert_eq!(w.grad().unwrap().to_vec(), [2.0, -4.0, 6.0]);
    (&w * &w).sum().backward();
    assert_eq!(w.grad().unwrap().to_vec(), [4.0, -8.0, 12.0]);
    w.zero_grad();
    assert!(w.grad().is_none());
    // L = Σ (a·b + a) with a used twice: ∂a = b + 1, ∂b = a; a seeded non-scalar sweep.
    let (a, b) = (t(&[1.0, 2.0], &[2]).requires_grad(), t(&[3.0, -4.0], &[2]).requires_grad());
    (&(&a * &b) + &a).backward_with(&t(&[1.0, 2.0], &[2]));
    assert_eq!(a.grad().unwrap().to_vec(), [4.0, -6.0]);
    assert_eq!(b.grad().unwrap().to_vec(), [1.0, 4.0]);
    // The functional transforms accumulate nothing into leaves.
    let _ = grad(|x| (x * &a).sum(), &b);
    assert_eq!(a.grad().unwrap().to_vec(), [4.0, -6.0]);
}

#[test]
fn gradients_with_create_graph_and_retain() {
    // y = x³ at 3: y′ = 27, y″ = 18, y‴ = 6, each by `gradients` with create_graph. Exact.
    let x = Tensor::scalar(3.0).requires_grad();
    let y = &(&x * &x) * &x;
    let d1 = gradients(from_ref(&y), None, &[&x], true, false).remove(0);
    let d2 = gradients(from_ref(&d1), None, &[&x], true, false).remove(0);
    let d3 = gradients(from_ref(&d2), None, &[&x], false, false).remove(0);
    assert_eq!((d1.item(), d2.item(), d3.item()), (27.0, 18.0, 6.0));
    assert!(x.grad().is_none(), "gradients accumulates nothing");
    // Retained sweeps can repeat; then a plain backward frees the graph, and one more
    // sweep panics. z = x·eˣ: z′ = (1 + x)eˣ.
    let x = Tensor::scalar(0.5).requires_grad();
    let z = &x.exp() * &x;
    let g1 = gradients(from_ref(&z), None, &[&x], false, true).remove(0);
    let g2 = gradients(from_ref(&z), None, &[&x], false, true).remove(0);
    assert_eq!(g1.item(), g2.item());
    close(&[g1.item()], &[1.5 * 0.5f64.exp()], 4.0 * EPS, 0.0);
    z.backward();
    assert_eq!(x.grad().unwrap().item(), g1.item());
    let msg = panic_msg(|| z.backward());
    assert!(msg.contains("already swept"), "{msg}");
}

#[test]
fn gradients_over_a_freed_graph_panics() {
    // After a sweep that did not retain the graph, `gradients` over it must refuse (as
    // `backward` does), not return a zero gradient: d(x·eˣ)/dx ≠ 0.
    let x = Tensor::scalar(0.5).requires_grad();
    let z = &x.exp() * &x;
    z.backward();
    let msg = panic_msg(|| gradients(from_ref(&z), None, &[&x], false, false));
    assert!(msg.contains("already swept"), "{msg}");
}

// ---- switches ----

#[test]
fn no_grad_and_detach() {
    let x = t(&[0.5, -1.0, 2.0], &[3]);
    let w = x.requires_grad();
    assert!(!no_grad(|| &w * 3.0).is_tracked());
    assert!(no_grad(|| enable_grad(|| &w * 3.0)).is_tracked());
    // The switch is restored after a panic inside no_grad.
    let _ = panic_msg(|| no_grad(|| panic!("inside")));
    assert!((&w * 3.0).is_tracked());
    // ∇ [Σx + no_grad(Σx²)] = 1: the unrecorded part is a constant.
    let g = grad(|x| &x.sum() + &no_grad(|| x.square().sum()), &x);
    assert_eq!(g.to_vec(), [1.0; 3]);
    // d/dx [x · detach(x)] = detach(x), in reverse and in forward mode.
    assert_eq!(grad(|x| (x * &x.detach()).sum(), &x).to_vec(), x.to_vec());
    let v = t(&[1.0, 2.0, 3.0], &[3]);
    assert_eq!(jvp(|x| x * &x.detach(), &x, &v).1.to_vec(), [0.5, -2.0, 6.0]);
    assert!(!jvp(|x| x.detach(), &x, &v).1.data().iter().any(|&t| t != 0.0));
    // Forward-mode tangents still flow under no_grad: d eˣ = eˣ·v.
    let (y, dy) = jvp(|x| no_grad(|| x.exp()), &x, &v);
    let want: Vec<f64> = y.data().iter().zip(v.data()).map(|(y, v)| y * v).collect();
    assert_eq!(dy.to_vec(), want);
    // Transforms record even inside no_grad (they must, to differentiate).
    assert_eq!(no_grad(|| grad(|x| x.square().sum(), &x)).to_vec(), [1.0, -2.0, 4.0]);
}

#[test]
fn check_numerics_names_the_op() {
    // Off: NaN passes silently. On: ln(−1) is NaN from a finite input.
    assert!(t(&[-1.0], &[1]).ln().item().is_nan());
    let msg = panic_msg(|| check_numerics(|| t(&[1.0, -1.0], &[2]).ln()));
    assert!(msg.contains("`ln`") && msg.contains("NaN") && msg.contains("value"), "{msg}");
    // e¹⁰⁰⁰ = inf from a finite input.
    let msg = panic_msg(|| check_numerics(|| t(&[1000.0], &[1]).exp()));
    assert!(msg.contains("`exp`"), "{msg}");
    // A NaN already in an input is not the op's fault.
    assert!(check_numerics(|| t(&[f64::NAN], &[1]).exp()).item().is_nan());
}

#[test]
fn check_numerics_names_the_op_of_a_bad_gradient() {
    // √x at x = 0: the value 0 is finite, sqrt′(0) = +inf. The check must name sqrt and
    // say the gradient (not a value) went bad.
    let x = t(&[0.0, 1.0], &[2]);
    let msg = panic_msg(|| check_numerics(|| grad(|x| x.sqrt().sum(), &x)));
    assert!(msg.contains("`sqrt`") && msg.contains("gradient"), "{msg}");
}

#[test]
fn check_numerics_names_a_custom_op_of_a_bad_gradient() {
    // A user op whose VJP rule returns inf from finite values, built without ops.
    let msg = panic_msg(|| {
        check_numerics(|| grad(|x| x.apply_op(ReverseOnly { spike: true }, &[]).sum(), &t(&[1.0], &[1])))
    });
    assert!(msg.contains("`reverse_only`") && msg.contains("gradient"), "{msg}");
}

// ---- errors ----

#[test]
fn error_messages_name_ops_and_shapes() {
    let x = t(&[1.0; 6], &[2, 3]).requires_grad();
    let msg = panic_msg(|| (&x * 2.0).backward());
    assert!(msg.contains("backward") && msg.contains("[2, 3]"), "{msg}");
    let msg = panic_msg(|| (&x * 2.0).backward_with(&t(&[1.0; 3], &[3])));
    assert!(msg.contains("[3]") && msg.contains("[2, 3]"), "{msg}");
    let msg = panic_msg(|| t(&[1.0], &[1]).exp().backward());
    assert!(msg.contains("not tracked"), "{msg}");
    let (a, b) = (Tensor::<f64>::zeros(&[2, 3]), Tensor::<f64>::zeros(&[4]));
    let msg = panic_msg(|| &a + &b);
    assert!(msg.contains("add") && msg.contains("[2, 3]") && msg.contains("[4]"), "{msg}");
    let msg = panic_msg(|| a.matmul(&Tensor::zeros(&[4, 5])));
    assert!(msg.contains("matmul") && msg.contains("[2, 3]") && msg.contains("[4, 5]"), "{msg}");
    let msg = panic_msg(|| jvp(|x| x.exp(), &a, &b));
    assert!(msg.contains("[2, 3]") && msg.contains("[4]"), "{msg}");
    // A dual tensor smuggled out of its jvp, then used: the level has ended.
    let escaped = RefCell::new(None);
    let _ = jvp(
        |x| {
            *escaped.borrow_mut() = Some(x.exp());
            x.clone()
        },
        &a,
        &a,
    );
    let e = escaped.into_inner().unwrap();
    assert!(e.is_dual());
    let msg = panic_msg(|| e.sin());
    assert!(msg.contains("`sin`") && (msg.contains("escaped") || msg.contains("ended")), "{msg}");
    // detach() makes it usable.
    assert_eq!(e.detach().sin().shape(), &[2, 3]);
}

// ---- custom ops ----

/// y = x³: dy/dx = 3x², both rules written with differentiable ops.
#[derive(Clone)]
struct Cube;
impl Op<f64> for Cube {
    fn name(&self) -> &str {
        "cube"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
        assert!(!x[0].is_tracked() && !x[0].is_dual(), "forward sees plain values");
        Tensor::from_vec(x[0].data().iter().map(|v| v * v * v).collect(), x[0].shape())
    }
    fn vjp(&self, x: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
        vec![Some(&(g * &x[0].square()) * 3.0)]
    }
    fn jvp(&self, x: &[Tensor<f64>], _: &Tensor<f64>, t: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
        t[0].as_ref().map(|t| &(t * &x[0].square()) * 3.0)
    }
}

/// y = x without a JVP rule; with `spike`, a VJP rule that returns inf.
#[derive(Clone)]
struct ReverseOnly {
    spike: bool,
}
impl Op<f64> for ReverseOnly {
    fn name(&self) -> &str {
        "reverse_only"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
        x[0].detach()
    }
    fn vjp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
        vec![Some(if self.spike { Tensor::full(g.shape(), f64::INFINITY) } else { g.clone() })]
    }
}

#[test]
fn custom_op_in_every_mode() {
    // y = x³ at [2, −1, 0.5]: y′ = 3x² = [12, 3, 0.75], y″ = 6x = [12, −6, 3]. Exact.
    let x = t(&[2.0, -1.0, 0.5], &[3]);
    let (y, g) = value_and_grad(|x| x.apply_op(Cube, &[]).sum(), &x);
    assert_eq!((y.item(), g.to_vec()), (7.125, vec![12.0, 3.0, 0.75]));
    let v = t(&[1.0, 2.0, -1.0], &[3]);
    assert_eq!(jvp(|x| x.apply_op(Cube, &[]), &x, &v).1.to_vec(), [12.0, 6.0, -0.75]);
    assert_eq!(d2(|x| x.apply_op(Cube, &[]), &x).to_vec(), [12.0, -6.0, 3.0]);
    // Forward-over-reverse through it: H·v = 6x·v.
    let hv = jvp(|x| grad(|x| x.apply_op(Cube, &[]).sum(), x), &x, &v).1;
    assert_eq!(hv.to_vec(), [12.0, -12.0, -3.0]);
    // Reverse works without a JVP rule; forward mode refuses by name.
    assert_eq!(grad(|x| (&x.apply_op(ReverseOnly { spike: false }, &[]) * 2.0).sum(), &x).to_vec(), [2.0; 3]);
    let msg = panic_msg(|| jvp(|x| x.apply_op(ReverseOnly { spike: false }, &[]), &x, &v));
    assert!(msg.contains("`reverse_only`") && msg.contains("JVP"), "{msg}");
}

/// y = x, with a VJP rule that panics (after reading its inputs' graph state).
#[derive(Clone)]
struct Boom;
impl Op<f64> for Boom {
    fn name(&self) -> &str {
        "boom"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
        x[0].detach()
    }
    fn vjp(&self, x: &[Tensor<f64>], _: &Tensor<f64>, _: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
        assert!(x[0].is_tracked(), "the rule sees its tracked input as tracked");
        panic!("boom: the rule gave up");
    }
}

/// A rule that panics during a sweep leaves the graph whole. The sweep lends each rule its
/// inputs' nodes without counting them (`engine::Lent`), and must not release them when
/// the rule unwinds: if it did, `h`'s node would lose a reference it never had, be freed
/// when `y` drops, and the later sweeps through `h` would read freed memory (a crash or
/// garbage, not a clean error; Miri would name it). Here the sweeps after the panic give
/// the exact gradient eˣ (the forward's own exp value), retained and then freeing.
#[test]
fn a_rule_that_panics_leaves_the_graph_whole() {
    let x = t(&[0.5], &[1]).requires_grad();
    let h = x.exp();
    let y = h.apply_op(Boom, &[]).sum();
    for create_graph in [false, true] {
        let m = panic_msg(|| gradients(from_ref(&y), None, &[&x], create_graph, true));
        assert!(m.contains("boom: the rule gave up"), "{m}");
    }
    drop(y);
    let e = h.item();
    for retain in [true, false] {
        assert_eq!(gradients(&[h.sum()], None, &[&x], false, retain)[0].to_vec(), [e]);
    }
}

// ---- limits ----

/// A node reached by two paths of different lengths must be swept after both consumers:
/// r = a + b with b = 3a and a = x², where the walk meets `a` through `b` before it enters
/// it as `r`'s first input (a sweep ordered wrongly misses one path's contribution, 2x or
/// 6x). dr/dx = (1 + 3)·2x = 8x, exact in floating point for x = 1.25 (powers of two and
/// small integers). Also with `a` as the second input, and with `a` reached through a
/// longer chain (b = 3·(a·1)·1).
#[test]
fn a_node_reached_by_paths_of_different_lengths_gets_every_cotangent() {
    let x = Tensor::scalar(1.25f64);
    let first = grad(
        |x| {
            let a = x * x;
            &a + &(&a * 3.0)
        },
        &x,
    );
    let second = grad(
        |x| {
            let a = x * x;
            &(&a * 3.0) + &a
        },
        &x,
    );
    let longer = grad(
        |x| {
            let a = x * x;
            &a + &(&(&(&a * 1.0) * 3.0) * 1.0)
        },
        &x,
    );
    for g in [first, second, longer] {
        assert_eq!(g.item(), 10.0); // 8 · 1.25
    }
}

#[test]
fn deep_chain_does_not_overflow_the_stack() {
    // y = x·cᴺ (c = 1 + 10⁻⁷, N = 10⁵, one op per factor): dy/dx = cᴺ. Every step rounds
    // once (½ ulp), so the chain's product is within N·ε ≈ 2.2e−11 of cᴺ relatively → 1e−10.
    // Sweeping and dropping must be iterative: recursion 10⁵ deep overflows the 2 MiB stack
    // of a test thread.
    const N: usize = 100_000;
    let c = 1.000_000_1f64;
    let want = c.powi(N as i32);
    let chain = |x: &Tensor<f64>| (0..N).fold(x.clone(), |y, _| &y * c);
    let x = Tensor::scalar(1.5).requires_grad();
    let y = chain(&x);
    y.backward();
    close(&[y.item(), x.grad().unwrap().item()], &[1.5 * want, want], 1e-10, 0.0);
    drop(y);
    // A chain never swept, dropped whole; and the functional sweep over one.
    drop(chain(&x));
    close(&[grad(|x| chain(x), &Tensor::scalar(1.5)).item()], &[want], 1e-10, 0.0);
}

#[test]
fn threads_are_independent() {
    fn send_sync<X: Send + Sync>() {}
    send_sync::<Tensor<f64>>();
    send_sync::<Tensor<f32>>();
    // The same work on 4 threads at once and in sequence: identical bits (same ops in the
    // same order; the only per-thread state is the switches).
    let work = |seed: u64| -> Vec<Vec<f64>> {
        let mut rng = Rng::new(seed);
        let x = rng.tensor(&[6, 4], -1.0, 1.0);
        let labels = [0, 1, 2, 0, 1, 2];
        let p: Vec<Tensor<f64>> =
            [&[4, 5][..], &[5], &[5, 3]].iter().map(|s| rng.tensor(s, -1.0, 1.0)).collect();
        let v: Vec<Tensor<f64>> = p.iter().map(|q| rng.tensor(q.shape(), -1.0, 1.0)).collect();
        let f = |p: &[Tensor<f64>]| mlp_loss(p, &x, &labels);
        let mut out: Vec<Vec<f64>> = (0..50).flat_map(|_| grad_many(f, &p)).map(|g| g.to_vec()).collect();
        out.push(jvp_many(|p| flat(&grad_many(f, p)), &p, &v).1.to_vec());
        out
    };
    let seq: Vec<_> = (0..4).map(work).collect();
    let par: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4).map(|i| s.spawn(move || work(i))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(seq == par, "results differ between threads and sequence");
    // Switches are per thread: no_grad held on one thread does not stop another recording.
    let w = Tensor::scalar(2.0).requires_grad();
    let barrier = std::sync::Barrier::new(2);
    // (Nothing panics between the barriers, so a failure cannot leave the other waiting.)
    let (other, mine) = std::thread::scope(|s| {
        let h = s.spawn(|| {
            no_grad(|| {
                barrier.wait();
                let tracked = (&w * 2.0).is_tracked();
                barrier.wait();
                tracked
            })
        });
        barrier.wait();
        let tracked = (&w * 2.0).is_tracked();
        barrier.wait();
        (h.join().unwrap(), tracked)
    });
    assert!(!other && mine, "no_grad thread recorded: {other}; recording thread recorded: {mine}");
    // A leaf shared by 4 threads, each sweeping its own graph: all contributions add up.
    // ∂/∂w Σₖ k·w = 1 + 2 + 3 + 4 = 10, exact in any order.
    std::thread::scope(|s| {
        for k in 1..=4 {
            let w = &w;
            s.spawn(move || (w * f64::from(k)).backward());
        }
    });
    assert_eq!(w.grad().unwrap().item(), 10.0);
}
