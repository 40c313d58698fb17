//! Jacobians and Hessians: `jacfwd` (batched tangents, every op's `jvp_batch`) against
//! `jacrev` (batched cotangents, `vjp_batch`) and the unbatched `jvp`/`vjp`, over every op,
//! compositions, several inputs, edge cases and nestings; `hessian`, `hessian_rev`, `hvp`
//! and `vhp` against each other, forward-over-forward, and closed forms.
//!
//! Tolerances. Every first-order entry here is a short sum of products of O(1) values
//! (inputs in [−3, 3], derivatives ≤ 16), and the modes evaluate the same rules in
//! different orders, so they differ by a few ulps of the largest entry (measured: ≤ 1.1ε).
//! `RTOL` = 1e-12 (≈ 4500ε) of `max(max|J|, 1)` is ample slack yet catches a wrong or
//! misplaced batched rule, which errs by O(|J|). The floor 1 keeps a near-zero Jacobian
//! (relu on negatives) from demanding more than the O(1)-sized terms' rounding allows.
//! Second-order results chain two rules' worth of such rounding (measured: ≤ 3ε of the
//! largest entry, ≤ 71ε of Σ|terms| in modes.rs for the same nestings): `RTOL2` = 1e-11.

mod common;

use autodiff::{
    DEFAULT_CHUNK, Op, Tensor, grad, hessian, hessian_many, hessian_rev, hvp, hvp_many, jacfwd,
    jacfwd_chunked, jacfwd_many, jacrev, jacrev_chunked, jacrev_many, jvp, vhp, vhp_many, vjp,
};
use common::cases::cases;
use common::{EPS, Rng, panic_msg, t};

type Tf = Tensor<f64>;
type Fn1<'a> = &'a dyn Fn(&Tf) -> Tf;
type Plain = fn(&Tf) -> Tf;

/// First-order agreement of two modes (see the module comment).
const RTOL: f64 = 1e-12;
/// Second-order agreement.
const RTOL2: f64 = 1e-11;

fn maxabs(x: &Tf) -> f64 {
    x.data().iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Asserts equal shapes and `|aᵢ − bᵢ| ≤ rtol·max(max|a|, max|b|, 1)`.
#[track_caller]
fn agree(what: &str, a: &Tf, b: &Tf, rtol: f64) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes");
    let tol = rtol * maxabs(a).max(maxabs(b)).max(1.0);
    let diffs = a.data().iter().zip(b.data()).map(|(x, y)| (x - y).abs()).enumerate();
    let (i, d) = diffs.fold((0, 0.0), |w, (i, d)| if d > w.1 || d.is_nan() { (i, d) } else { w });
    assert!(d <= tol, "{what}: entry {i}: {} vs {} (|diff| {d:e} > tol {tol:e})", a.data()[i], b.data()[i]);
}

/// Basis vector `j` shaped like `shape`.
fn unit(j: usize, shape: &[usize]) -> Tf {
    let mut v = vec![0.0; shape.iter().product()];
    v[j] = 1.0;
    Tensor::from_vec(v, shape)
}

/// `diag(d)`, `[n, n]`.
fn diag(d: &[f64]) -> Tf {
    let n = d.len();
    Tensor::from_vec(
        (0..n * n).map(|k| if k % (n + 1) == 0 { d[k / (n + 1)] } else { 0.0 }).collect(),
        &[n, n],
    )
}

/// The Jacobian (`out ++ in`) column by column with the unbatched `jvp`, and row by row
/// with the unbatched `vjp`.
fn jac_unbatched(f: Fn1, x: &Tf) -> (Tf, Tf) {
    let y = f(x);
    let (n, m) = (x.numel(), y.numel());
    let shape: Vec<usize> = y.shape().iter().chain(x.shape()).copied().collect();
    let (mut cols, mut rows) = (vec![0.0; m * n], vec![0.0; m * n]);
    for j in 0..n {
        for (k, v) in jvp(f, x, &unit(j, x.shape())).1.data().iter().enumerate() {
            cols[k * n + j] = *v;
        }
    }
    let pullback = vjp(f, x).1;
    for k in 0..m {
        rows[k * n..(k + 1) * n].copy_from_slice(pullback(&unit(k, y.shape())).data());
    }
    (Tensor::from_vec(cols, &shape), Tensor::from_vec(rows, &shape))
}

/// jacfwd and jacrev with chunks 1 (batches of one), 3 (partial last chunks) and the
/// default (whole chunks), the unbatched columns and rows: all equal to `RTOL`. Returns
/// the Jacobian by columns.
#[track_caller]
fn check_modes(what: &str, f: Fn1, x: &Tf) -> Tf {
    let (cols, rows) = jac_unbatched(f, x);
    agree(&format!("{what}: jvp columns vs vjp rows"), &cols, &rows, RTOL);
    for chunk in [1, 3, DEFAULT_CHUNK] {
        let (fwd, rev) = (jacfwd_chunked(f, x, chunk), jacrev_chunked(f, x, chunk));
        agree(&format!("{what}: jacfwd (chunk {chunk}) vs jvp columns"), &fwd, &cols, RTOL);
        agree(&format!("{what}: jacrev (chunk {chunk}) vs vjp rows"), &rev, &rows, RTOL);
        agree(&format!("{what}: jacfwd vs jacrev (chunk {chunk})"), &fwd, &rev, RTOL);
    }
    cols
}

/// Input `i` of a case as the variable, the others fixed.
fn partial(f: &dyn Fn(&[Tf]) -> Tf, xs: &[Tf], i: usize, x: &Tf) -> Tf {
    let mut args = xs.to_vec();
    args[i] = x.clone();
    f(&args)
}

/// Every case of the op list on inputs drawn from `seed`: `(name, inputs, f)` to `body`,
/// then each input `i` as the variable.
fn each_op(seed: u64, mut body: impl FnMut(&str, &mut Rng, &[Tf], usize, Fn1)) -> usize {
    let mut rng = Rng::new(seed);
    let mut count = 0;
    for c in cases(&mut rng) {
        let xs: Vec<Tf> = c.inputs.iter().map(|(s, lo, hi)| rng.tensor(s, *lo, *hi)).collect();
        let shapes: Vec<&[usize]> = xs.iter().map(|x| x.shape()).collect();
        for i in 0..xs.len() {
            let name = format!("{} on {shapes:?} wrt {i} (seed {seed})", c.name);
            body(&name, &mut rng, &xs, i, &|x| partial(&*c.f, &xs, i, x));
            count += 1;
        }
    }
    count
}

#[test]
fn jacfwd_equals_jacrev_on_every_op() {
    // Every op (binary ops against every broadcasting partner), each input in turn, over 4
    // seeds: batched forward = batched reverse = unbatched columns = unbatched rows.
    let count: usize =
        (0..4).map(|s| each_op(1000 + s, |name, _, xs, i, f| _ = check_modes(name, f, &xs[i]))).sum();
    assert!(count > 4 * 200, "{count} cases");
}

#[test]
fn compositions() {
    let mut rng = Rng::new(7);
    // A two-layer tanh network R⁵ → R³: f(x) = W₂ᵀ·tanh(W₁ᵀx + b) (row-vector form).
    let (w1, b1, w2) =
        (rng.tensor(&[5, 6], -1.0, 1.0), rng.tensor(&[6], -1.0, 1.0), rng.tensor(&[6, 3], -1.0, 1.0));
    let net = |x: &Tf| {
        let rows = if x.ndim() == 1 { x.reshape(&[1, 5]) } else { x.clone() };
        let y = (&rows.matmul(&w1) + &b1).tanh().matmul(&w2);
        if x.ndim() == 1 { y.reshape(&[3]) } else { y }
    };
    let x = rng.tensor(&[5], -1.0, 1.0);
    let j = check_modes("mlp", &net, &x);
    // Closed form: J[k, j] = Σₕ W₂[h, k]·(1 − aₕ²)·W₁[j, h], a = tanh(W₁ᵀx + b): 6 products
    // of factors ≤ 1 (Σ|terms| ≤ 6), ≤ 12 roundings each side plus tanh's 2 ulps: 1e-13
    // (450ε) of 1 covers it.
    let a = (&x.reshape(&[1, 5]).matmul(&w1) + &b1).tanh();
    let (w1v, w2v, av) = (w1.data(), w2.data(), a.data());
    let want = (0..15).map(|kj| {
        let (k, j) = (kj / 5, kj % 5);
        (0..6).map(|h| w2v[h * 3 + k] * (1.0 - av[h] * av[h]) * w1v[j * 6 + h]).sum()
    });
    agree("mlp closed form", &j, &Tensor::from_vec(want.collect(), &[3, 5]), 1e-13);
    // On a batch [14, 5] → [14, 3] (bias broadcast over rows): 70 inputs, so the default
    // chunk runs a whole chunk of 64 and a partial one of 6.
    check_modes("mlp batch", &net, &rng.tensor(&[14, 5], -1.0, 1.0));
    // 81 inputs and 81 outputs: both directions take two default chunks.
    check_modes("softmax 9×9", &|x| x.softmax(0).sin(), &rng.tensor(&[9, 9], -2.0, 2.0));

    let (x, x3) = (rng.tensor(&[3, 4], -2.0, 2.0), rng.tensor(&[2, 3, 4], -2.0, 2.0));
    let fs: [(&str, &Tf, Plain); 14] = [
        ("softmax0", &x, |x| x.softmax(0)),
        ("softmax1", &x, |x| x.softmax(1)),
        ("softmax3d1", &x3, |x| x.softmax(1)),
        ("log_softmax0", &x, |x| x.log_softmax(0)),
        ("log_softmax1", &x, |x| (&x.log_softmax(1) * &x.softmax(1)).sum_axis(1, false)),
        ("log_softmax3d2", &x3, |x| x.log_softmax(2).exp()),
        ("logsumexp0", &x, |x| x.logsumexp(0, false)),
        ("logsumexp1k", &x, |x| x.logsumexp(1, true).square()),
        ("logsumexp3d1", &x3, |x| x.logsumexp(1, false)),
        ("max_axis", &x, |x| &x.max_axis(0, false).exp() * &x.max_axis(1, true).sum()),
        ("max_axis3d", &x3, |x| x.max_axis(1, true).tanh()),
        ("prod", &x, |x| Tensor::stack(&[x.prod(), x.exp().prod(), x.select(0, 1).prod()], 0)),
        ("shape pipeline", &x, |x| {
            // concat, stack, slice, select, transpose, reshape and broadcasting together.
            let (p, q) = (x.slice(0, 0..1), x.slice(0, 1..3));
            let s = Tensor::stack(&[x.select(1, 0), x.select(1, 3).cos()], 0); // [2, 3]
            let c =
                Tensor::concat(&[&p * &q.select(0, 1), q.sin(), s.t().slice(0, 0..2).reshape(&[1, 4])], 0);
            let j = Tensor::stack(&[c.slice(1, 1..4), c.slice(1, 0..3).square()], 2); // [4, 3, 2]
            &j + &x.select(0, 2).slice(0, 1..3).reshape(&[1, 1, 2])
        }),
        ("matmul chain", &x3, |x| {
            let m = x.matmul(&x.select(0, 0).t().reshape(&[4, 3])); // [2, 3, 3]
            m.matmul(&x.slice(0, 1..2).reshape(&[1, 3, 4]).broadcast_to(&[2, 3, 4])).sigmoid()
        }),
    ];
    for (name, x, f) in fs {
        check_modes(name, &f, x);
    }
}

// ---- Hessians ----

/// hessian = hessian_rev = forward-over-forward (which never runs a VJP rule, so it
/// catches an error that fwd-over-rev and rev-over-rev share), all symmetric, hvp = H·v
/// and vhp = vᵀH, to `rtol`. Returns the Hessian, `[n, n]`.
#[track_caller]
fn check_hessian(what: &str, f: Fn1, x: &Tf, v: &Tf, rtol: f64) -> Tf {
    let n = x.numel();
    let shape: Vec<usize> = x.shape().iter().chain(x.shape()).copied().collect();
    let hs = [hessian(f, x), hessian_rev(f, x), jacfwd(|x| jacfwd(f, x), x)];
    for (h, name) in hs.iter().zip(["hessian", "hessian_rev", "fwd∘fwd"]) {
        assert_eq!(h.shape(), shape, "{what}: {name} shape");
        agree(&format!("{what}: {name} vs hessian"), h, &hs[0], rtol);
        let h = h.reshape(&[n, n]);
        agree(&format!("{what}: {name} symmetric"), &h, &h.t(), rtol);
    }
    // H·v by hand: n products summed, within n·ε of Σⱼ|Hᵢⱼvⱼ| on either side; `rtol` of
    // the largest such sum (floor 1) bounds both.
    let h = hs[0].reshape(&[n, n]);
    for (name, got, tr) in [("hvp", hvp(f, x, v), false), ("vhp", vhp(f, x, v), true)] {
        assert_eq!(got.shape(), x.shape(), "{what}: {name} shape");
        let at =
            |i: usize, j: usize| if tr { h.data()[j * n + i] } else { h.data()[i * n + j] } * v.data()[j];
        let mag = (0..n).map(|i| (0..n).map(|j| at(i, j).abs()).sum::<f64>()).fold(1.0, f64::max);
        for (i, g) in got.data().iter().enumerate() {
            let w: f64 = (0..n).map(|j| at(i, j)).sum();
            assert!((g - w).abs() <= rtol * mag, "{what}: {name}[{i}] = {g}, by H: {w}");
        }
    }
    h
}

#[test]
fn hessians_on_every_op() {
    // f(x) = Σ w ⊙ sin(op(x)), w fixed and random. The sin makes f nonlinear in op's output,
    // so the gradient's sweep carries x-dependent cotangents through op's VJP rule and the
    // Hessians differentiate that rule, batched (for Σ w ⊙ op(x), a linear op's rule would
    // never see a tangent). Second order: RTOL2.
    for seed in 0..2 {
        each_op(2000 + seed, |name, rng, xs, i, g| {
            let w = rng.tensor(g(&xs[i]).shape(), -1.0, 1.0);
            let v = rng.tensor(xs[i].shape(), -1.0, 1.0);
            check_hessian(name, &|x| (&g(x).sin() * &w).sum(), &xs[i], &v, RTOL2);
        });
    }
}

/// The extended Rosenbrock function Σᵢ₌₀ⁿ⁻² [100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²].
fn rosenbrock(x: &Tf) -> Tf {
    let n = x.numel();
    let (head, tail) = (x.slice(0, 0..n - 1), x.slice(0, 1..n));
    &(&(&tail - &head.square()).square() * 100.0).sum() + &(1.0 - &head).square().sum()
}

/// Entry (i, j) of its Hessian, and the Σ|terms| it sums. ∂f/∂xᵢ = −400xᵢ(xᵢ₊₁ − xᵢ²)
/// − 2(1 − xᵢ) [i < n−1] + 200(xᵢ − xᵢ₋₁²) [i > 0], so H is tridiagonal:
/// Hᵢᵢ = (1200xᵢ² − 400xᵢ₊₁ + 2)[i < n−1] + 200[i > 0], Hᵢ,ᵢ₊₁ = Hᵢ₊₁,ᵢ = −400xᵢ.
fn rosenbrock_h(x: &[f64], i: usize, j: usize) -> (f64, f64) {
    let last = i + 1 == x.len();
    let terms = match i.abs_diff(j) {
        0 if last => vec![200.0],
        0 => vec![1200.0 * x[i] * x[i], -400.0 * x[i + 1], 2.0, if i > 0 { 200.0 } else { 0.0 }],
        1 => vec![-400.0 * x[i.min(j)]],
        _ => vec![],
    };
    (terms.iter().sum(), terms.iter().map(|t| t.abs()).sum())
}

#[test]
fn rosenbrock_hessian_closed_form() {
    // n = 4 at dyadic points (multiples of ¼ below 4): every intermediate is a multiple of
    // 2⁻⁸ below 2¹⁶, exactly representable, so all three Hessians are exact.
    let (x, v) = (t(&[0.5, -1.25, 1.5, 0.75], &[4]), t(&[1.0, -0.5, 0.25, 2.0], &[4]));
    let h = check_hessian("rosenbrock 4", &rosenbrock, &x, &v, 0.0);
    assert_eq!(h.to_vec(), (0..16).map(|k| rosenbrock_h(x.data(), k / 4, k % 4).0).collect::<Vec<_>>());
    // n = 10 and 150 at random points: each entry is ≤ 3 products and sums of terms up to
    // ~3500, in a different order by the engine: ≤ 8 roundings of Σ|terms| on each side, so
    // 16ε of Σ|terms| per entry (the zeros are exact: no term reaches them). At n = 150 the
    // forward passes (64, 64 and 22 basis vectors) carry compact tangents: windows of rows,
    // moved by the two slices along axis 0 and by their pads in the gradient.
    let mut rng = Rng::new(11);
    for n in [10, 150] {
        let (x, v) = (rng.tensor(&[n], -1.5, 1.5), rng.tensor(&[n], -1.0, 1.0));
        let h = check_hessian(&format!("rosenbrock {n}"), &rosenbrock, &x, &v, RTOL);
        for (k, g) in h.data().iter().enumerate() {
            let (w, mag) = rosenbrock_h(x.data(), k / n, k % n);
            assert!((g - w).abs() <= 16.0 * EPS * mag, "n = {n}, entry ({}, {}): {g} vs {w}", k / n, k % n);
        }
    }
}

#[test]
fn hessians_of_functions_of_some_rows_only() {
    // f(x) = Σ_{i<10} xᵢ² + Σ_{i≥10} xᵢ over 200 inputs: H = diag(2, …, 2, 0, …, 0), exact.
    // The passes beyond row 10 see the slice x[..10] miss their window (an empty compact
    // tangent, padded back into the gradient) and the linear part carry no tangent; a
    // matrix form g(x) = Σ (x₁₀ₓ₂₀[..2])³ reaches the same rows through a reshape.
    let mut rng = Rng::new(17);
    let x = rng.tensor(&[200], -1.0, 1.0);
    let f = |x: &Tf| &x.slice(0, 0..10).square().sum() + &x.slice(0, 10..200).sum();
    let h = hessian(f, &x);
    let want: Vec<f64> =
        (0..200 * 200).map(|k| if k / 200 == k % 200 && k / 200 < 10 { 2.0 } else { 0.0 }).collect();
    assert_eq!(h.to_vec(), want);
    assert_eq!(hessian_rev(f, &x).to_vec(), want);
    // g: rows 0..2 of x as [100, 2] are x₀..x₃; ∂²(x³)/∂x² = 6x, one rounding of 6·x.
    let g = |x: &Tf| x.reshape(&[100, 2]).slice(0, 0..2).powi(3).sum();
    let h = hessian(g, &x);
    for (k, got) in h.data().iter().enumerate() {
        let (i, j) = (k / 200, k % 200);
        let want = if i == j && i < 4 { 6.0 * x.data()[i] } else { 0.0 };
        assert!((got - want).abs() <= EPS * want.abs(), "H[{i}, {j}] = {got}, want {want}");
    }
}

#[test]
fn quadratic_form_hessian() {
    // f(x) = xᵀAx: H = A + Aᵀ. The engine's entries are A's entries times basis ones and
    // zeros (exact) added in pairs: one rounding of the same two numbers as the
    // reference's, so within 1 ulp of |Aᵢⱼ| + |Aⱼᵢ| (2ε relatively).
    let mut rng = Rng::new(5);
    let a = rng.tensor(&[6, 6], -2.0, 2.0);
    let f = |x: &Tf| x.reshape(&[1, 6]).matmul(&a).matmul(&x.reshape(&[6, 1])).sum();
    let h = check_hessian("xᵀAx", &f, &rng.tensor(&[6], -1.0, 1.0), &rng.tensor(&[6], -1.0, 1.0), RTOL);
    let av = a.data();
    for (k, got) in h.data().iter().enumerate() {
        let (x, y) = (av[k], av[(k % 6) * 6 + k / 6]);
        assert!((got - (x + y)).abs() <= 2.0 * EPS * (x.abs() + y.abs()), "H[{k}] = {got}, want {}", x + y);
    }
}

#[test]
fn jacfwd_many_equals_jacrev_many() {
    // f(a [3, 4], b [4], s []) = (tanh(a ⊙ b) + b²·s)·C, C a constant [4, 2]: b and s
    // broadcast against a. Each per-input Jacobian batched both ways, and one input at a
    // time (jacfwd/jacrev of the partial function): RTOL.
    let mut rng = Rng::new(3);
    let c = rng.tensor(&[4, 2], -1.0, 1.0);
    let f = |v: &[Tf]| (&(&v[0] * &v[1]).tanh() + &(&v[1].square() * &v[2])).matmul(&c);
    let xs = [rng.tensor(&[3, 4], -1.5, 1.5), rng.tensor(&[4], -1.5, 1.5), Tensor::scalar(0.7)];
    let (fwd, rev) = (jacfwd_many(f, &xs), jacrev_many(f, &xs));
    assert_eq!((fwd.len(), rev.len()), (3, 3));
    for i in 0..3 {
        let want: Vec<usize> = [3, 2].iter().chain(xs[i].shape()).copied().collect();
        assert_eq!(fwd[i].shape(), want, "input {i}");
        agree(&format!("input {i}: jacfwd_many vs jacrev_many"), &fwd[i], &rev[i], RTOL);
        let one = check_modes(&format!("input {i} alone"), &|x| partial(&f, &xs, i, x), &xs[i]);
        agree(&format!("input {i}: jacfwd_many vs jacfwd"), &fwd[i], &one, RTOL);
    }
    // 80 outputs, so jacrev_many sweeps two chunks (64 + 16).
    let big = |v: &[Tf]| Tensor::concat(&[f(v), (&v[0].slice(0, 0..3) * &v[2]).exp().reshape(&[6, 2])], 0);
    let xs = [rng.tensor(&[34, 4], -1.0, 1.0), xs[1].clone(), xs[2].clone()];
    for (i, (a, b)) in jacfwd_many(big, &xs).iter().zip(jacrev_many(big, &xs)).enumerate() {
        assert_eq!(a.shape()[..2], [40, 2]);
        agree(&format!("80 outputs, input {i}: jacfwd_many vs jacrev_many"), a, &b, RTOL);
    }
}

// ---- edge cases ----

/// y = a ⊙ stop_gradient(b) with `vjp` and (if `.0`) `jvp` only: its batched rules are the
/// defaults. No cotangent (`None`) and no tangent for b; none for a either when the
/// output's cotangent is zero.
#[derive(Clone)]
struct TimesConst(bool);
impl Op<f64> for TimesConst {
    fn name(&self) -> &str {
        "times_const"
    }
    fn forward(&self, x: &[&Tf]) -> Tf {
        x[0] * x[1]
    }
    fn vjp(&self, x: &[Tf], _: &Tf, g: &Tf) -> Vec<Option<Tf>> {
        vec![g.data().iter().any(|&v| v != 0.0).then(|| g * &x[1].detach()), None]
    }
    fn jvp(&self, x: &[Tf], out: &Tf, t: &[Option<Tf>]) -> Option<Tf> {
        let zero = || Tensor::zeros(out.shape());
        self.0.then(|| t[0].as_ref().map_or_else(zero, |t| t * &x[1].detach()))
    }
}

#[test]
fn custom_ops_under_jacobians() {
    // TimesConst's batched rules are the defaults, one entry at a time. At dyadic a, b, concatenated with sin a: J_a = [diag(b); diag(cos a)], J_b = 0,
    // exact both ways (cos a by the same kernel), for every chunk size. Half the batch's
    // cotangents reach the op as zeros and get None, half get Some: the default vjp_batch
    // must zero-fill the former; b gets None from every entry, so no cotangent at all.
    let (a, b) = (t(&[0.5, -1.5, 2.0, 0.25, -0.75], &[5]), t(&[2.0, -3.0, 0.5, 1.0, 4.0], &[5]));
    let f = |v: &[Tf]| Tensor::concat(&[v[0].apply_op(TimesConst(true), &[&v[1]]), v[0].sin()], 0);
    let want = Tensor::concat(&[diag(b.data()), diag(&a.cos().to_vec())], 0).to_vec();
    let xs = [a.clone(), b.clone()];
    for j in [jacfwd_many(f, &xs), jacrev_many(f, &xs)] {
        assert_eq!((j[0].to_vec(), j[1].to_vec()), (want.clone(), vec![0.0; 50]));
    }
    let fa = |x: &Tf| f(&[x.clone(), b.clone()]);
    for chunk in [1, 3, DEFAULT_CHUNK] {
        assert_eq!(jacfwd_chunked(fa, &a, chunk).to_vec(), want, "jacfwd, chunk {chunk}");
        assert_eq!(jacrev_chunked(fa, &a, chunk).to_vec(), want, "jacrev, chunk {chunk}");
    }
    // Composed with built-ins (their batched rules feed the default ones): RTOL.
    check_modes("custom composed", &|x| (&fa(x).reshape(&[2, 5]).softmax(1) * x).tanh(), &a);
    // No JVP rule: jacfwd refuses by name; jacrev works (J = diag(b)).
    let rev_only = |x: &Tf| x.apply_op(TimesConst(false), &[&b]);
    let msg = panic_msg(|| jacfwd(rev_only, &a));
    assert!(msg.contains("`times_const`") && msg.contains("JVP"), "{msg}");
    assert_eq!(jacrev(rev_only, &a).to_vec(), diag(b.data()).to_vec());
}

#[test]
fn edge_cases() {
    let (x, c) = (t(&[0.3, -1.2, 2.0], &[3]), t(&[1.0, 2.0], &[2]));
    // Output independent of x (a constant; a detached x): zeros of shape out ++ in.
    let (konst, detached) = (|_: &Tf| c.clone(), |x: &Tf| x.detach().slice(0, 0..2).exp());
    for f in [&konst as Fn1, &detached] {
        for j in [jacfwd(f, &x), jacrev(f, &x), jacfwd_chunked(f, &x, 2), jacrev_chunked(f, &x, 1)] {
            assert_eq!((j.shape(), j.to_vec()), (&[2, 3][..], vec![0.0; 6]));
        }
    }
    // The identity: f's output is x's own dual (jacfwd) or node (jacrev). J = I.
    for j in [jacfwd(|x| x.clone(), &x), jacrev(|x| x.clone(), &x), jacrev_chunked(|x| x.clone(), &x, 2)] {
        assert_eq!(j.to_vec(), diag(&[1.0; 3]).to_vec());
    }
    // No input elements, no output elements: empty Jacobians of shape out ++ in.
    let e = Tensor::<f64>::zeros(&[2, 0]);
    let (sum_c, sin, none) = (|x: &Tf| &x.exp().sum() + &c, |x: &Tf| x.sin(), |x: &Tf| x.slice(0, 1..1));
    for (f, x, shape) in
        [(&sum_c as Fn1, &e, &[2, 2, 0][..]), (&sin, &e, &[2, 0, 2, 0]), (&none, &x, &[0, 3])]
    {
        for j in [jacfwd(f, x), jacrev(f, x), jacfwd_chunked(f, x, 1), jacrev_chunked(f, x, 1)] {
            assert_eq!(j.shape(), shape);
        }
    }
    // A 0-d output: the Jacobian is the gradient (shape [] ++ in); a [1] output, the
    // gradient with a leading 1. The batched rules differ from grad's (the composed tanh
    // rule, not the fused kernel): RTOL.
    let m = t(&[0.5, -1.0, 1.5, 2.0, -0.5, 0.25], &[2, 3]);
    let f = |x: &Tf| (&x.tanh() * &x.sin()).sum();
    let g = grad(f, &m);
    for (j, want) in [
        (jacrev(f, &m), &g),
        (jacfwd(f, &m), &g),
        (jacrev(|x| f(x).reshape(&[1]), &m), &g.reshape(&[1, 2, 3])),
    ] {
        agree("one-element output", &j, want, RTOL);
    }
    // A 0-d x: J shaped out ++ [].
    let s = Tensor::scalar(0.7);
    assert_eq!(check_modes("0-d x", &|x| Tensor::stack(&[x * x, x.sin()], 0), &s).shape(), &[2]);
    assert_eq!(check_modes("0-d to 0-d", &|x| (x * x).exp(), &s).shape(), &[] as &[usize]);
    // Ties, at the documented conventions (exact: weights ½ and 1). x = [[1, 3, 3],
    // [1, 5, 0]]: row maxima (row 0 ties, max_axis splits equally), then the elementwise
    // maximum of the rows (column 0 ties, ½–½).
    let m2 = t(&[1.0, 3.0, 3.0, 1.0, 5.0, 0.0], &[2, 3]);
    let tie = |x: &Tf| Tensor::concat(&[x.max_axis(1, false), x.select(0, 0).maximum(&x.select(0, 1))], 0);
    let mut want = vec![0.0; 5 * 6];
    want[..12].copy_from_slice(&[0.0, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    for (k, w) in [[0.5, 0.5], [0.0, 1.0], [1.0, 0.0]].iter().enumerate() {
        (want[(2 + k) * 6 + k], want[(2 + k) * 6 + 3 + k]) = (w[0], w[1]);
    }
    assert_eq!(jacfwd(tie, &m2).to_vec(), want);
    assert_eq!(jacrev_chunked(tie, &m2, 2).to_vec(), want);
    // f linear in x through relu: the fused relu backward gets a tangent on x only, and
    // the Hessians are exactly 0; Σ relu(x)² has H = diag(2·[x > 0]).
    let w = t(&[1.0, -2.0, 0.5], &[3]);
    let (lin, sq) = (|x: &Tf| (&x.relu() * &w).sum(), |x: &Tf| x.relu().square().sum());
    for (f, want) in [(&lin as Fn1, diag(&[0.0; 3])), (&sq, diag(&[2.0, 0.0, 2.0]))] {
        assert_eq!((hessian(f, &x).to_vec(), hessian_rev(f, &x).to_vec()), (want.to_vec(), want.to_vec()));
    }
    // chunk = 0 is refused with a clear message.
    for msg in
        [panic_msg(|| jacfwd_chunked(|x| x.exp(), &x, 0)), panic_msg(|| jacrev_chunked(|x| x.exp(), &x, 0))]
    {
        assert!(msg.contains("chunk size must be at least 1"), "{msg}");
    }
}

// ---- nesting ----

#[test]
fn nested_jacobians() {
    // f = (x₀²x₁, x₁ sin x₂, e^{x₀x₂}): D[k, i, j] = ∂²fₖ/∂xᵢ∂xⱼ by the four nestings of
    // jacfwd and jacrev (chunk 2 inside and out: partial chunks nest too), against
    //   H₀ = [[2x₁, 2x₀, 0], [2x₀, 0, 0], 0], H₁ = [0, [0, 0, cos x₂], [0, cos x₂, −x₁ sin x₂]],
    //   H₂ = e^{x₀x₂}·[[x₂², 0, 1 + x₀x₂], 0, [1 + x₀x₂, 0, x₀²]].
    // Each entry is ≤ 3 roundings and one std or kernel function (≤ 2.5 ulps) on either
    // side: 8ε of max(max|D|, 1).
    let f = |x: &Tf| {
        let (a, b, c) = (x.select(0, 0), x.select(0, 1), x.select(0, 2));
        Tensor::stack(&[&a.square() * &b, &b * &c.sin(), (&a * &c).exp()], 0)
    };
    let (x0, x1, x2) = (0.7f64, -1.3f64, 0.4f64);
    let (x, e, (s2, c2)) = (t(&[x0, x1, x2], &[3]), (x0 * x2).exp(), x2.sin_cos());
    #[rustfmt::skip]
    let want = t(&[
        2.0 * x1, 2.0 * x0, 0.0, 2.0 * x0, 0.0, 0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0, c2, 0.0, c2, -x1 * s2,
        e * x2 * x2, 0.0, e * (1.0 + x0 * x2), 0.0, 0.0, 0.0, e * (1.0 + x0 * x2), 0.0, e * x0 * x0,
    ], &[3, 3, 3]);
    let nestings = [
        ("fwd∘rev", jacfwd_chunked(|x| jacrev_chunked(f, x, 2), &x, 2)),
        ("rev∘fwd", jacrev_chunked(|x| jacfwd_chunked(f, x, 2), &x, 2)),
        ("fwd∘fwd", jacfwd_chunked(|x| jacfwd(f, x), &x, 2)),
        ("rev∘rev", jacrev(|x| jacrev_chunked(f, x, 2), &x)),
    ];
    for (name, d) in &nestings {
        agree(&format!("{name} vs closed form"), d, &want, 8.0 * EPS);
    }
    // A richer R⁴ → R³ (matmul, tanh, softmax, broadcasting): the nestings agree, each
    // D[k] is symmetric (RTOL2).
    let mut rng = Rng::new(9);
    let w = rng.tensor(&[4, 3], -1.0, 1.0);
    let g = |x: &Tf| {
        let h = x.reshape(&[1, 4]).matmul(&w).tanh();
        (&h.softmax(1) * &(&h + &x.slice(0, 1..4).reshape(&[1, 3]).square())).reshape(&[3])
    };
    let x = rng.tensor(&[4], -1.0, 1.0);
    let ds = [
        jacfwd_chunked(|x| jacrev_chunked(g, x, 2), &x, 3),
        jacrev_chunked(|x| jacfwd_chunked(g, x, 3), &x, 2),
        jacfwd(|x| jacfwd(g, x), &x),
        jacrev(|x| jacrev(g, x), &x),
    ];
    for (k, d) in ds.iter().enumerate() {
        assert_eq!(d.shape(), &[3, 4, 4]);
        agree(&format!("nesting {k} vs fwd∘rev"), d, &ds[0], RTOL2);
        for o in 0..3 {
            agree(&format!("nesting {k}: D[{o}] symmetric"), &d.select(0, o), &d.select(0, o).t(), RTOL2);
        }
    }
    // Batched inside unbatched and back: each gives D·v (contracted on the last axis).
    let v = rng.tensor(&[4], -1.0, 1.0);
    let dv = ds[0].reshape(&[12, 4]).matmul(&v.reshape(&[4, 1])).reshape(&[3, 4]);
    agree("jvp∘jacrev", &jvp(|x| jacrev(g, x), &x, &v).1, &dv, RTOL2);
    agree("jvp∘jacfwd", &jvp(|x| jacfwd_chunked(g, x, 3), &x, &v).1, &dv, RTOL2);
    agree("jacfwd∘jvp", &jacfwd(|x| jvp(g, x, &v).1, &x), &dv, RTOL2);
    agree("jacrev∘jvp", &jacrev(|x| jvp(g, x, &v).1, &x), &dv, RTOL2);
    // Perturbation confusion: the inner Jacobian must not pick up the outer perturbation.
    // d/dx [x · Σ ∂(x + y)/∂y] = d/dx [2x] = 2I; d/dx [x · Σ ∂(x ⊙ y)/∂y] = d/dx [x · Σx] =
    // (Σx)·I + x·1ᵀ = [[−0.5, 0.5], [−1.5, −2.5]] at x = (0.5, −1.5). Exact.
    let (x, y0) = (t(&[0.5, -1.5], &[2]), t(&[1.0, 2.0], &[2]));
    let add_f = |x: &Tf| x * &jacfwd(|y| x + y, &y0).sum();
    let add_r = |x: &Tf| x * &jacrev(|y| x + y, &y0).sum();
    let mul_f = |x: &Tf| x * &jacfwd(|y| x * y, &y0).sum();
    let mul_r = |x: &Tf| x * &jacrev(|y| x * y, &y0).sum();
    let (two, mixed) = ([2.0, 0.0, 0.0, 2.0], [-0.5, 0.5, -1.5, -2.5]);
    for (f, want) in [(&add_f as Fn1, two), (&add_r, two), (&mul_f, mixed), (&mul_r, mixed)] {
        assert_eq!((jacfwd(f, &x).to_vec(), jacrev(f, &x).to_vec()), (want.to_vec(), want.to_vec()));
    }
}

#[test]
fn nested_jacobians_on_every_op() {
    // g = sin ∘ op (the sin makes the inner Jacobian depend on x even for linear ops, so
    // the outer transform differentiates op's batched rules, batched): the four nestings
    // agree (RTOL2).
    each_op(3000, |name, _, xs, i, f| {
        let g = |x: &Tf| f(x).sin();
        let x = &xs[i];
        let base = jacfwd_chunked(|x| jacrev_chunked(g, x, 3), x, 3);
        let others = [
            ("rev∘fwd", jacrev(|x| jacfwd(g, x), x)),
            ("fwd∘fwd", jacfwd_chunked(|x| jacfwd(g, x), x, 3)),
            ("rev∘rev", jacrev_chunked(|x| jacrev(g, x), x, 3)),
        ];
        for (nest, d) in &others {
            agree(&format!("{name}: {nest} vs fwd∘rev"), d, &base, RTOL2);
        }
    });
}

/// The multi-input Hessians equal the single-input Hessian of the same function of the
/// joined inputs, block by block: f(a, b) = Σ w ⊙ sin(a·bᵀ) + Σ a³ with a [3], b [2]
/// (broadcast product), so every block is non-zero and H_ab = H_baᵀ. The joined Hessian
/// evaluates the same rules on the same values, so blocks agree to RTOL2 (module comment).
#[test]
fn multi_input_hessians() {
    let mut rng = Rng::new(41);
    let w = rng.tensor(&[3, 2], -1.0, 1.0);
    let f = |v: &[Tf]| {
        let outer = &v[0].reshape(&[3, 1]) * &v[1].reshape(&[1, 2]);
        &(&w * &outer.sin()).sum() + &v[0].powi(3).sum()
    };
    let (a, b) = (rng.tensor(&[3], -1.0, 1.0), rng.tensor(&[2], -1.0, 1.0));
    let joined = Tensor::concat(&[a.clone(), b.clone()], 0);
    let g = |x: &Tf| f(&[x.slice(0, 0..3), x.slice(0, 3..5)]);
    let h = hessian(g, &joined);
    let blocks = hessian_many(f, &[a.clone(), b.clone()]);
    let (ranges, shapes) = ([0..3, 3..5], [3usize, 2]);
    for i in 0..2 {
        for j in 0..2 {
            let expect = h.slice(0, ranges[i].clone()).slice(1, ranges[j].clone());
            assert_eq!(blocks[i][j].shape(), &[shapes[i], shapes[j]]);
            agree(&format!("H[{i}][{j}]"), &blocks[i][j], &expect, RTOL2);
        }
    }
    // H·v and vᵀ·H of the joined problem, split back per input.
    let (va, vb) = (rng.tensor(&[3], -1.0, 1.0), rng.tensor(&[2], -1.0, 1.0));
    let v = Tensor::concat(&[va.clone(), vb.clone()], 0);
    let hv = hvp(g, &joined, &v);
    let vh = vhp(g, &joined, &v);
    let hv_many = hvp_many(f, &[a.clone(), b.clone()], &[va.clone(), vb.clone()]);
    let vh_many = vhp_many(f, &[a, b], &[va, vb]);
    for (i, r) in ranges.iter().enumerate() {
        agree(&format!("(H·v)[{i}]"), &hv_many[i], &hv.slice(0, r.clone()), RTOL2);
        agree(&format!("(vᵀH)[{i}]"), &vh_many[i], &vh.slice(0, r.clone()), RTOL2);
    }
    let msg =
        panic_msg(|| vhp_many(f, &[t(&[1.0, 2.0, 3.0], &[3]), t(&[1.0, 2.0], &[2])], &[t(&[1.0], &[1])]));
    assert!(msg.contains("2 inputs but 1 vectors"), "{msg}");
    let x = t(&[1.0, 2.0], &[2]);
    let msg = panic_msg(|| hvp(|x: &Tf| x.sum(), &x, &t(&[1.0], &[1])));
    assert!(msg.contains("hvp: v has shape [1] but x has shape [2]"), "{msg}");
    let msg = panic_msg(|| vhp(|x: &Tf| x.sum(), &x, &t(&[1.0], &[1])));
    assert!(msg.contains("vhp: v has shape [1] but x has shape [2]"), "{msg}");
}
