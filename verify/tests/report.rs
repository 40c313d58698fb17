//! The report's contract: kinks named as kinks, structural failures, panics quoted, misuse
//! rejected with a clear message, f32 checked against f64, and the rendered text.

use std::sync::atomic::{AtomicUsize, Ordering};

use autodiff::{Element, Op, Tensor};
use verify::{Checker, Function, Mode, check_grad, check_jacobian};

#[test]
fn a_point_on_a_kink_is_a_kink_not_a_wrong_rule() {
    // |x| at exactly 0: the rule gives abs'(0) = 0, central differences give 0, but the
    // one-sided slopes are ±1. relu(x) at 0: the rule gives 0, differences ½.
    let x = Tensor::from_vec(vec![0.0, 1.5], &[2]);
    let r = check_grad(|x: &Tensor<f64>| x.relu().sum(), &x);
    assert!(r.passed(), "{r}");
    assert_eq!(r.kinks.len(), 2, "reverse and forward each meet the kink at entry 0:\n{r}");
    assert!(r.to_string().contains("kink"), "{r}");
    // A smooth function is not confused for a kinked one, whatever its curvature.
    let r = check_grad(|x: &Tensor<f64>| (x * 30.0).sin().sum(), &x);
    assert!(r.passed() && r.kinks.is_empty(), "{r}");
}

#[test]
fn a_rule_wrong_only_near_a_kink_is_still_caught_away_from_it() {
    // A relu whose VJP passes the gradient through on both sides (a leaky bug).
    #[derive(Clone)]
    struct Leaky;
    impl Op<f64> for Leaky {
        fn name(&self) -> &str {
            "leaky"
        }
        fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
            x[0].relu()
        }
        fn vjp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
            vec![Some(g.clone())]
        }
    }
    let r = verify::check_custom_op(Leaky, &[Tensor::from_vec(vec![-0.7, 0.4], &[2])]);
    assert!(!r.passed() && r.kinks.is_empty(), "{r}");
    // Leaky has no JVP rule: the forward view reports it rather than crashing.
    let fwd = r.find("", "forward", "finite differences").unwrap();
    assert!(fwd.error.as_deref().is_some_and(|e| e.contains("no JVP rule")), "{r}");
}

#[test]
fn structural_checks_catch_nondeterminism_and_nonzero_from_zero() {
    // A function that changes between calls.
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let drift = |x: &Tensor<f64>| {
        let n = CALLS.fetch_add(1, Ordering::Relaxed) as f64;
        (x * (1.0 + 1e-3 * n)).sum()
    };
    let r = check_grad(drift, &Tensor::from_vec(vec![1.0, 2.0], &[2]));
    assert!(!r.passed());
    let s = r.structural.iter().find(|s| s.name == "value is deterministic").unwrap();
    assert!(!s.passed, "{r}");
    // A VJP that adds a constant: zero in, non-zero out.
    #[derive(Clone)]
    struct Offset;
    impl Op<f64> for Offset {
        fn name(&self) -> &str {
            "offset"
        }
        fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
            x[0] * 2.0
        }
        fn vjp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
            vec![Some(g * 2.0 + 1e-3)]
        }
        fn jvp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, t: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
            t[0].as_ref().map(|t| t * 2.0)
        }
    }
    let r = verify::check_custom_op(Offset, &[Tensor::from_vec(vec![1.0, -1.0], &[2])]);
    let s = r.structural.iter().find(|s| s.name == "zero cotangent gives zero gradient").unwrap();
    assert!(!s.passed && s.detail.contains("1e-3"), "{r}");
}

#[test]
fn a_function_that_panics_is_reported_not_propagated() {
    let r = check_jacobian(
        |x: &Tensor<f64>| {
            assert!(x.data()[0] < 1.5, "x₀ out of range");
            x.exp()
        },
        &Tensor::from_vec(vec![1.49], &[1]),
    );
    // f works at the point but not at x + h for the first steps: the differences shrink
    // their steps or report f's message; nothing unwinds out of the check.
    let text = r.to_string();
    assert!(r.passed() || text.contains("x₀ out of range") || text.contains("not finite"), "{r}");
    let r = check_jacobian(|_: &Tensor<f64>| -> Tensor<f64> { panic!("boom") }, &Tensor::scalar(1.0));
    assert!(!r.passed() && r.to_string().contains("boom"), "{r}");
}

#[test]
#[should_panic(expected = "check_grad: f must return one element, it returned shape [3]")]
fn check_grad_rejects_a_vector_output() {
    check_grad(|x: &Tensor<f64>| x.exp(), &Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]));
}

/// softplus(x)·x summed, in any precision.
struct SoftplusDot;
impl Function for SoftplusDot {
    fn eval<T: Element>(&self, xs: &[Tensor<T>]) -> Tensor<T> {
        (xs[0].softplus() * &xs[0]).sum()
    }
}

#[test]
fn f32_rules_are_checked_against_f64_differences() {
    let x = Tensor::from_vec(vec![0.3f32, -1.7, 2.2, 0.05], &[4]);
    let r = Checker::new().check_jacobian_in_f64(&SoftplusDot, std::slice::from_ref(&x));
    assert!(r.passed(), "{r}");
    assert_eq!(r.precision, ("f32", "f64"));
    // The same f32 closure checked in f32 alone also passes, with its own (looser) steps.
    let r = check_grad(|x: &Tensor<f32>| (x.softplus() * x).sum(), &x);
    assert!(r.passed(), "{r}");
    assert_eq!(r.precision, ("f32", "f32"));
}

#[test]
fn the_rendered_report_names_what_failed_and_where() {
    #[derive(Clone)]
    struct Half;
    impl Op<f64> for Half {
        fn name(&self) -> &str {
            "half"
        }
        fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
            x[0] * 0.5
        }
        fn vjp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
            vec![Some(g * 0.25)] // should be 0.5
        }
        fn jvp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, t: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
            t[0].as_ref().map(|t| t * 0.5)
        }
    }
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]);
    let r =
        Checker::new().mode(Mode::Full).check_grad(|x: &Tensor<f64>| x.exp().apply_op(Half, &[]).sum(), &x);
    let text = r.to_string();
    for needle in [
        "check_grad: FAILED",
        "FAIL reverse vs finite differences",
        "ok   forward vs finite differences",
        "∂out[]/∂x0[2]",
        "rel err 5.000e-1",
        "verdict: reverse disagrees",
        "culprit: op #1 of 3 recorded, `half`",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    // The worst entry: ∂/∂x₂ (largest gradient, exp(3)/2 expected, exp(3)/4 got).
    let w = r.worst().unwrap();
    let e3 = 3f64.exp();
    assert!((w.expected - e3 / 2.0).abs() < 1e-9 * e3 && (w.got - e3 / 4.0).abs() < 1e-12 * e3, "{r}");
}

#[test]
fn bad_input_is_named_not_hidden() {
    // A value that is NaN at the point (ln of a negative entry): a named structural failure.
    let r = check_grad(|x: &Tensor<f64>| x.ln().sum(), &Tensor::from_vec(vec![-1.0, 2.0], &[2]));
    let s = r.structural.iter().find(|s| s.name == "value is finite at the point").unwrap();
    assert!(!s.passed && s.detail.contains("NaN"), "{r}");
    // A NaN input is named as the cause.
    let r = check_grad(|x: &Tensor<f64>| x.exp().sum(), &Tensor::from_vec(vec![1.0, f64::NAN], &[2]));
    let s = r.structural.iter().find(|s| s.name == "value is finite at the point").unwrap();
    assert!(!s.passed && s.detail.contains("input entry 1 is NaN"), "{r}");
    // Zero-size input: nothing to compare, said so; passes.
    let r = check_grad(|x: &Tensor<f64>| x.sum(), &Tensor::zeros(&[0]));
    assert!(r.passed() && r.notes.iter().any(|n| n.contains("nothing to compare")), "{r}");
    // Inputs that carry a graph or a tangent are checked as their values.
    let tracked = Tensor::from_vec(vec![1.0, 2.0], &[2]).requires_grad();
    assert!(check_grad(|x: &Tensor<f64>| x.exp().sum(), &tracked).passed());
    let (dual, _) = autodiff::jvp(|x: &Tensor<f64>| x.exp(), &Tensor::scalar(1.0), &Tensor::scalar(1.0));
    assert!(check_grad(|x: &Tensor<f64>| x.exp().sum(), &dual).passed());
}
