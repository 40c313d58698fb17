//! Every op of autodiff through all three views, first and second order, on shapes drawn
//! from several seeds (the op list is autodiff's own test list, so a new op is checked here
//! as soon as it is tested there).

#[path = "../../autodiff/tests/common/mod.rs"]
mod adcommon;

use adcommon::Rng;
use adcommon::cases::cases;
use autodiff::Tensor;
use verify::{Checker, Mode};

fn inputs(rng: &mut Rng, spec: &[(Vec<usize>, f64, f64)]) -> Vec<Tensor<f64>> {
    spec.iter().map(|(s, lo, hi)| rng.tensor(s, *lo, *hi)).collect()
}

#[test]
fn every_op_passes_all_three_views_in_full() {
    for seed in 0..4 {
        let mut rng = Rng::new(seed);
        for case in cases(&mut rng) {
            let xs = inputs(&mut rng, &case.inputs);
            let r = Checker::new().mode(Mode::Full).check_jacobian_many(&case.f, &xs);
            assert!(r.passed(), "{} (seed {seed}):\n{r}", case.name);
        }
    }
}

#[test]
fn every_op_passes_projections() {
    let mut rng = Rng::new(11);
    for case in cases(&mut rng) {
        let xs = inputs(&mut rng, &case.inputs);
        let r = Checker::new().mode(Mode::Fast { probes: 4 }).seed(3).check_jacobian_many(&case.f, &xs);
        assert!(r.passed(), "{}:\n{r}", case.name);
    }
}

#[test]
fn every_op_passes_second_order() {
    for seed in 0..2 {
        let mut rng = Rng::new(100 + seed);
        for case in cases(&mut rng) {
            let xs = inputs(&mut rng, &case.inputs);
            let r = Checker::new().check_gradgrad_many(&case.f, &xs);
            assert!(r.passed(), "{} (seed {seed}):\n{r}", case.name);
        }
    }
}

/// Second order in projections: one reverse-over-reverse sweep per probe runs each op's
/// unbatched VJP of a VJP (e.g. the pad that slice's VJP applies), which the full checks
/// (batched sweeps) never call.
#[test]
fn every_op_passes_second_order_projections() {
    let mut rng = Rng::new(300);
    for case in cases(&mut rng) {
        let xs = inputs(&mut rng, &case.inputs);
        let r = Checker::new().mode(Mode::Fast { probes: 2 }).seed(7).check_gradgrad_many(&case.f, &xs);
        assert!(r.passed(), "{}:\n{r}", case.name);
    }
}

/// Broadcasts and a reduction over empty operands (rows of length 0, an empty side against
/// a single element): nothing to compare, but every view must run and give the right
/// (empty) shapes.
#[test]
fn empty_operands_pass() {
    type F = fn(&[Tensor<f64>]) -> Tensor<f64>;
    let cases: [(&[&[usize]], F); 6] = [
        (&[&[2, 0], &[0]], |x| &x[0] + &x[1]),
        (&[&[2, 0], &[0]], |x| &x[1] - &x[0]),
        (&[&[0], &[]], |x| &x[0] + &x[1]),
        (&[&[0], &[]], |x| &x[1] * &x[0]),
        (&[&[0, 3], &[3]], |x| &x[0] + &x[1]),
        (&[&[3, 0]], |x| x[0].sum_axis(0, false)),
    ];
    for (shapes, f) in cases {
        let xs: Vec<Tensor<f64>> = shapes.iter().map(|s| Tensor::full(s, 1.5)).collect();
        let r = Checker::new().mode(Mode::Full).check_jacobian_many(f, &xs);
        assert!(r.passed(), "{shapes:?}:\n{r}");
    }
}

/// A transpose wider than one tile (64 columns) and taller than one (4 rows): the tiles
/// after the first column tile, in projections (cheap at this size).
#[test]
fn a_wide_transpose_passes() {
    let x = Rng::new(31).tensor(&[5, 70], -2.0, 2.0);
    let r = Checker::new().mode(Mode::Fast { probes: 2 }).seed(9).check_jacobian(|x: &Tensor<f64>| x.t(), &x);
    assert!(r.passed(), "{r}");
}

/// A user op through `apply_op`: y = a·b² elementwise (two inputs), with its rules
/// (∂y/∂a = b², ∂y/∂b = 2ab), checked like the built-in ops: every view in full, in
/// projection, and second order. Its batched rules are autodiff's defaults (one rule call
/// per basis vector), so this also covers the engine's custom-op plumbing.
#[derive(Clone)]
struct AB2;

impl autodiff::Op<f64> for AB2 {
    fn name(&self) -> &str {
        "ab2"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
        let v = x[0].data().iter().zip(x[1].data()).map(|(a, b)| a * b * b).collect();
        Tensor::from_vec(v, x[0].shape())
    }
    fn vjp(&self, x: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
        vec![Some(g * &(&x[1] * &x[1])), Some(g * &(&x[0] * &x[1]) * 2.0)]
    }
    fn jvp(&self, x: &[Tensor<f64>], _: &Tensor<f64>, t: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
        let da = t[0].as_ref().map(|t| t * &(&x[1] * &x[1]));
        let db = t[1].as_ref().map(|t| t * &(&x[0] * &x[1]) * 2.0);
        Some(match (da, db) {
            (Some(a), Some(b)) => &a + &b,
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => Tensor::zeros(x[0].shape()),
        })
    }
}

#[test]
fn a_custom_op_passes_every_check() {
    let mut rng = Rng::new(21);
    let f = |x: &[Tensor<f64>]| x[0].apply_op(AB2, &[&x[1]]);
    let xs = inputs(&mut rng, &[(vec![3, 4], -2.0, 2.0), (vec![3, 4], -2.0, 2.0)]);
    for r in [
        Checker::new().mode(Mode::Full).check_jacobian_many(f, &xs),
        Checker::new().mode(Mode::Fast { probes: 4 }).seed(5).check_jacobian_many(f, &xs),
        Checker::new().check_gradgrad_many(f, &xs),
    ] {
        assert!(r.passed(), "{r}");
    }
}
