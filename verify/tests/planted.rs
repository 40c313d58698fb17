//! Planted bugs: custom ops with wrong rules, each of which the user-facing checks must
//! report, naming the op and the entry; and the smallest error the checker detects.

use autodiff::{Op, Tensor};
use verify::{Checker, Location, Mode, Report, check_custom_op, check_grad};

/// y = a·exp(b) (elementwise, same shapes), with the VJP for `a` scaled by `1 + err`:
/// ∂y/∂a = exp(b), ∂y/∂b = a·exp(b).
#[derive(Clone)]
struct ScaledVjp {
    err: f64,
}

impl Op<f64> for ScaledVjp {
    fn name(&self) -> &str {
        "scaled_vjp"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
        x[0] * &x[1].exp()
    }
    fn vjp(&self, x: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
        let e = x[1].exp();
        vec![Some(g * &e * (1.0 + self.err)), Some(g * &(&x[0] * &e))]
    }
    fn jvp(&self, x: &[Tensor<f64>], _: &Tensor<f64>, t: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
        let e = x[1].exp();
        let ta = t[0].as_ref().map(|t| t * &e);
        let tb = t[1].as_ref().map(|t| t * &(&x[0] * &e));
        Some(match (ta, tb) {
            (Some(a), Some(b)) => a + b,
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => Tensor::zeros(x[0].shape()),
        })
    }
}

/// C = A·B with the VJP for A written as G·B instead of G·Bᵀ (a transposed rule): wrong
/// whenever B is not symmetric, and silent for square B (the shapes still fit).
#[derive(Clone)]
struct TransposedMatmul;

impl Op<f64> for TransposedMatmul {
    fn name(&self) -> &str {
        "transposed_matmul"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
        x[0].matmul(x[1])
    }
    fn vjp(&self, x: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
        vec![Some(g.matmul(&x[1])), Some(x[0].t().matmul(g))]
    }
    fn jvp(&self, x: &[Tensor<f64>], _: &Tensor<f64>, t: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
        let a = t[0].as_ref().map(|t| t.matmul(&x[1]));
        let b = t[1].as_ref().map(|t| x[0].matmul(t));
        a.into_iter().chain(b).reduce(|p, q| p + q)
    }
}

/// a + b with `b` broadcast along rows ([r, c] + [c]), whose VJP forgets to sum the
/// cotangent over the broadcast axis for `b`.
#[derive(Clone)]
struct NoBroadcastSum;

impl Op<f64> for NoBroadcastSum {
    fn name(&self) -> &str {
        "no_broadcast_sum"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
        x[0] + x[1]
    }
    fn vjp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
        vec![Some(g.clone()), Some(g.clone())]
    }
    fn jvp(&self, x: &[Tensor<f64>], _: &Tensor<f64>, t: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
        let shape = x[0].shape().to_vec();
        let a = t[0].clone();
        let b = t[1].as_ref().map(|t| t.broadcast_to(&shape));
        a.into_iter().chain(b).reduce(|p, q| p + q)
    }
}

/// The same op, where the VJP takes a row instead of summing: the shapes fit, the values
/// are wrong (a missing broadcast sum the engine's shape check cannot see).
#[derive(Clone)]
struct FirstRowNotSum;

impl Op<f64> for FirstRowNotSum {
    fn name(&self) -> &str {
        "first_row_not_sum"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
        x[0] + x[1]
    }
    fn vjp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
        vec![Some(g.clone()), Some(g.select(0, 0))]
    }
    fn jvp(&self, x: &[Tensor<f64>], o: &Tensor<f64>, t: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
        NoBroadcastSum.jvp(x, o, t)
    }
}

/// tanh with a sign flip in its VJP: −g·(1 − y²).
#[derive(Clone)]
struct SignFlip;

impl Op<f64> for SignFlip {
    fn name(&self) -> &str {
        "sign_flip"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
        x[0].tanh()
    }
    fn vjp(&self, _: &[Tensor<f64>], y: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
        vec![Some(-(g * &(1.0 - y.square())))]
    }
    fn jvp(&self, _: &[Tensor<f64>], y: &Tensor<f64>, t: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
        t[0].as_ref().map(|t| t * &(1.0 - y.square()))
    }
}

fn rand(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(shape, -1.0, 1.0, seed)
}

/// The report failed, its reverse view (and only that) is blamed, and the culprit is `op`
/// with a named entry.
#[track_caller]
fn caught_in_reverse(r: &Report) {
    assert!(!r.passed(), "a planted bug passed:\n{r}");
    let rf = r.find("", "reverse", "finite differences").expect("reverse vs fd ran");
    assert!(!rf.passed(), "{r}");
    let ff = r.find("", "forward", "finite differences").expect("forward vs fd ran");
    assert!(ff.passed(), "the forward rules are right:\n{r}");
}

#[track_caller]
fn culprit_is(r: &Report, op: &str) -> Location {
    let c = r.culprit.as_ref().unwrap_or_else(|| panic!("no culprit named:\n{r}"));
    assert_eq!(c.name, op, "{r}");
    let worst = c.report.worst().unwrap_or_else(|| panic!("the culprit's report names no entry:\n{r}"));
    worst.location.clone()
}

#[test]
fn relative_vjp_errors_of_1e2_1e4_1e6_are_caught_in_both_modes() {
    let (a, b) = (rand(&[3, 4], 1), rand(&[3, 4], 2));
    for err in [1e-2, 1e-4, 1e-6] {
        for mode in [Mode::Full, Mode::Fast { probes: 4 }] {
            let ck = Checker::new().mode(mode);
            let r = ck.check_custom_op(ScaledVjp { err }, &[a.clone(), b.clone()]);
            caught_in_reverse(&r);
            assert!(r.verdict().iter().any(|v| v.starts_with("reverse disagrees")), "{r}");
            // The worst entry is ∂y/∂a (input 0), where the rule is wrong.
            let worst = r.worst().unwrap();
            if let Location::Entry { input, .. } = &worst.location {
                assert_eq!(*input, 0, "{r}");
            }
            // Inside a larger function, the blame falls on the op.
            let f = |x: &Tensor<f64>| x.sin().apply_op(ScaledVjp { err }, &[&b]).tanh().sum();
            let r = ck.check_grad(f, &a);
            assert!(!r.passed(), "err {err} in {mode:?} passed:\n{r}");
            match culprit_is(&r, "scaled_vjp") {
                Location::Entry { input, .. } => assert_eq!(input, 0, "{r}"),
                Location::Probe(_) => unreachable!("small op inputs are checked in full"),
            }
        }
    }
}

#[test]
fn a_transposed_matmul_rule_is_caught() {
    let (a, b) = (rand(&[3, 3], 3), rand(&[3, 3], 4));
    let r = check_custom_op(TransposedMatmul, &[a.clone(), b.clone()]);
    caught_in_reverse(&r);
    let r = check_grad(|x: &Tensor<f64>| x.apply_op(TransposedMatmul, &[&b]).exp().sum(), &a);
    assert!(matches!(culprit_is(&r, "transposed_matmul"), Location::Entry { input: 0, .. }), "{r}");
}

#[test]
fn a_missing_broadcast_sum_is_caught_whether_the_shapes_give_it_away_or_not() {
    let (a, b) = (rand(&[3, 4], 5), rand(&[4], 6));
    // Wrong shape: the engine refuses the rule's output; the report quotes it, op named.
    let r = check_custom_op(NoBroadcastSum, &[a.clone(), b.clone()]);
    assert!(!r.passed(), "{r}");
    let rf = r.find("", "reverse", "finite differences").unwrap();
    assert!(rf.error.as_deref().is_some_and(|e| e.contains("no_broadcast_sum")), "{r}");
    // Right shape, wrong values: entry ∂y/∂b named.
    let r = check_custom_op(FirstRowNotSum, &[a.clone(), b.clone()]);
    caught_in_reverse(&r);
    assert!(matches!(r.worst().unwrap().location, Location::Entry { input: 1, .. }), "{r}");
    let r = check_grad(|x: &Tensor<f64>| a.apply_op(FirstRowNotSum, &[x]).sin().sum(), &b);
    assert!(matches!(culprit_is(&r, "first_row_not_sum"), Location::Entry { input: 1, .. }), "{r}");
}

#[test]
fn a_sign_flip_is_caught() {
    let x = rand(&[5], 7);
    let r = check_custom_op(SignFlip, std::slice::from_ref(&x));
    caught_in_reverse(&r);
    let r = check_grad(|x: &Tensor<f64>| (x * 2.0).apply_op(SignFlip, &[]).square().sum(), &x);
    culprit_is(&r, "sign_flip");
}

/// The smallest relative error in a VJP rule the checker reliably detects, measured: a rule
/// off by a relative `err` at 100 random points (shapes 2×3, values in [−1, 1]), full and
/// fast mode. Every one must be caught from `err` = 3e-8 up: √ε ≈ 1.5e-8 is the relative
/// tolerance, and the rounding and difference terms add little on top of it here, so twice
/// it is caught; at 1e-8, below the tolerance, about half are (printed, not asserted).
#[test]
fn detection_threshold() {
    for err in [1e-6, 3e-7, 1e-7, 5e-8, 3e-8, 1e-8] {
        let mut caught = [0usize; 2];
        for seed in 0..100 {
            let (a, b) = (rand(&[2, 3], 1000 + seed), rand(&[2, 3], 2000 + seed));
            for (i, mode) in [Mode::Full, Mode::Fast { probes: 4 }].into_iter().enumerate() {
                let r = Checker::new()
                    .mode(mode)
                    .seed(seed)
                    .check_custom_op(ScaledVjp { err }, &[a.clone(), b.clone()]);
                caught[i] += usize::from(!r.passed());
            }
        }
        println!(
            "relative VJP error {err:.0e}: caught {}/100 in full mode, {}/100 in fast mode",
            caught[0], caught[1]
        );
        if err >= 3e-8 {
            assert_eq!(caught, [100, 100], "relative error {err:e} slipped through");
        }
    }
}
