//! Bad input to every public entry point of `verify`: one test per row of the "Bad input"
//! table in `ARCHITECTURE.md`. Misuse of the API panics with a message naming it; a bad
//! function (one that panics, mismatches shapes inside, or returns non-finite values) is
//! a failed report that names the cause, never a crash of the caller and never a pass.

use autodiff::{Element, Op, Tensor};
use verify::{Checker, FdSettings, Function, Mode, Report, Tolerance};

#[path = "../../kernels/tests/panics/mod.rs"]
mod panics;
use panics::{has_all, panic_msg};

/// The named structural check of a report.
#[track_caller]
fn structural<'a>(r: &'a Report, name: &str) -> &'a verify::Structural {
    r.structural
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no structural check {name:?}:\n{r}"))
}

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(data.to_vec(), shape)
}

/// y = 2x, rules right; used where a well-behaved op is needed.
#[derive(Clone)]
struct Twice;
impl Op<f64> for Twice {
    fn name(&self) -> &str {
        "twice"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
        x[0] * 2.0
    }
    fn vjp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
        vec![Some(g * 2.0)]
    }
    fn jvp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, t: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
        t[0].as_ref().map(|t| t * 2.0)
    }
}

/// Empty input: zero-size tensors, no inputs at all, or an empty output have nothing to
/// compare; each check passes and says so in a note (a zero-size `check_grad` is
/// `report.rs::bad_input_is_named_not_hidden`). A custom op checked with no inputs at all
/// is misuse (an op has at least one), refused by name.
#[test]
fn empty_input_is_nothing_to_compare_and_says_so() {
    let nothing = |r: &Report| r.passed() && r.notes.iter().any(|n| n.contains("nothing to compare"));
    let r = verify::check_jacobian(|x: &Tensor<f64>| x.exp(), &Tensor::zeros(&[0, 3]));
    assert!(nothing(&r) && r.to_string().contains("0 input entries"), "{r}");
    let r = Checker::new().check_jacobian_many(|_: &[Tensor<f64>]| Tensor::scalar(1.0), &[]);
    assert!(nothing(&r) && r.notes.iter().any(|n| n.contains("0 input entries, 1 output entries")), "{r}");
    let r = verify::check_jacobian(|x: &Tensor<f64>| x.slice(0, 0..0), &t(&[1.0, 2.0], &[2]));
    assert!(nothing(&r) && r.notes.iter().any(|n| n.contains("2 input entries, 0 output entries")), "{r}");
    let r = verify::check_hessian(|x: &Tensor<f64>| x.square().sum(), &Tensor::zeros(&[0]));
    assert!(nothing(&r), "{r}");
    let r = verify::check_gradgrad(|x: &Tensor<f64>| x.exp(), &Tensor::zeros(&[0]));
    assert!(nothing(&r), "{r}");
    let r = verify::check_custom_op(Twice, &[Tensor::zeros(&[2, 0])]);
    assert!(nothing(&r), "{r}");
    let m = panic_msg(|| verify::check_custom_op(Twice, &[]));
    has_all(&m, &["check_custom_op", "`twice`", "no inputs"]);
}

/// Shapes that do not fit, inside f, are a failed report quoting the op's message (at the
/// point: "f runs at the point"); a gradient or Hessian check of a non-scalar f is misuse,
/// refused by name (the vector form is `report.rs::check_grad_rejects_a_vector_output`).
#[test]
fn mismatched_shapes_are_named() {
    let r =
        Checker::new().check_jacobian_many(|v| &v[0] + &v[1], &[t(&[1.0, 2.0], &[2]), t(&[1.0; 3], &[3])]);
    assert!(!r.passed(), "{r}");
    let s = structural(&r, "f runs at the point");
    assert!(!s.passed, "{r}");
    has_all(&s.detail, &["add: shapes [2] and [3] do not broadcast"]);
    has_all(&r.to_string(), &["add: shapes [2] and [3] do not broadcast"]);
    let r =
        verify::check_gradgrad(|x: &Tensor<f64>| x.matmul(&Tensor::ones(&[3, 1])), &Tensor::ones(&[2, 2]));
    assert!(!r.passed(), "{r}");
    has_all(&r.to_string(), &["matmul: shapes [2, 2] and [3, 1] do not multiply"]);
    let m = panic_msg(|| verify::check_hessian(|x: &Tensor<f64>| x.exp(), &t(&[1.0, 2.0], &[2])));
    assert_eq!(
        m,
        "check_hessian: f must return one element, it returned shape [2]; use check_jacobian for vector outputs"
    );
    let m = panic_msg(|| {
        verify::check_grad_many(|v| &v[0] * &v[1], &[t(&[1.0, 2.0], &[2]), t(&[3.0, 4.0], &[2])])
    });
    has_all(&m, &["check_grad: f must return one element, it returned shape [2]"]);
}

/// A function (or a rule) that panics is reported, with its message, by every check, and
/// nothing unwinds into the caller: at the point ("f runs at the point"), in the rules
/// only (the views that use them carry the message), or in the f32 function of
/// `check_jacobian_in_f64`. `report.rs::a_function_that_panics_is_reported_not_propagated`
/// covers `check_jacobian`.
#[test]
fn functions_that_panic_are_reported() {
    let boom = |_: &Tensor<f64>| -> Tensor<f64> { panic!("boom at the point") };
    let x = t(&[0.5, 1.5], &[2]);
    for r in [verify::check_grad(boom, &x), verify::check_hessian(boom, &x), verify::check_gradgrad(boom, &x)]
    {
        assert!(!r.passed(), "{r}");
        assert!(!structural(&r, "f runs at the point").passed, "{r}");
        has_all(&r.to_string(), &["boom at the point"]);
    }
    /// y = x whose VJP rule panics (the forward and the JVP are fine).
    #[derive(Clone)]
    struct BadVjp;
    impl Op<f64> for BadVjp {
        fn name(&self) -> &str {
            "bad_vjp"
        }
        fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
            x[0].detach()
        }
        fn vjp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, _: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
            panic!("vjp exploded")
        }
        fn jvp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, t: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
            t[0].clone()
        }
    }
    let r = verify::check_custom_op(BadVjp, std::slice::from_ref(&x));
    assert!(!r.passed(), "{r}");
    let rev = r.find("", "reverse", "finite differences").unwrap();
    assert!(rev.error.as_deref().is_some_and(|e| e.contains("vjp exploded")), "{r}");
    // The forward view does not use the VJP: it passes, so the report points at reverse.
    assert!(r.find("", "forward", "finite differences").unwrap().passed(), "{r}");
    // Inside a larger function, the culprit is named.
    let r = verify::check_grad(|x: &Tensor<f64>| x.apply_op(BadVjp, &[]).exp().sum(), &x);
    assert!(!r.passed(), "{r}");
    has_all(&r.to_string(), &["vjp exploded"]);
    assert_eq!(r.culprit.as_ref().map(|c| c.name.as_str()), Some("bad_vjp"), "{r}");
    // An f32 function that panics, checked against its f64 twin.
    struct Panicky;
    impl Function for Panicky {
        fn eval<T: Element>(&self, _: &[Tensor<T>]) -> Tensor<T> {
            panic!("no {} today", T::NAME)
        }
    }
    let r = Checker::new().check_jacobian_in_f64(&Panicky, &[Tensor::<f32>::ones(&[2])]);
    assert!(!r.passed(), "{r}");
    has_all(&r.to_string(), &["no f32 today"]);
}

/// A value that is not finite at the point fails the structural check "value is finite at
/// the point", naming the output entry and its value (and a non-finite input entry when
/// there is one: `report.rs::bad_input_is_named_not_hidden`), in every check: x·inf is inf
/// at x = 1; ln(−1) is NaN; the gradient check of a Hessian names the gradient's group.
#[test]
fn non_finite_values_are_named() {
    let r = verify::check_jacobian(|x: &Tensor<f64>| x * f64::INFINITY, &t(&[1.0, 2.0], &[2]));
    assert!(!r.passed(), "{r}");
    let s = structural(&r, "value is finite at the point");
    assert!(!s.passed, "{r}");
    has_all(&s.detail, &["output entry [0] is inf"]);
    let r = verify::check_hessian(|x: &Tensor<f64>| x.ln().sum(), &t(&[-1.0, 2.0], &[2]));
    assert!(!r.passed(), "{r}");
    let s = structural(&r, "gradient: value is finite at the point");
    has_all(&s.detail, &["output entry [] is NaN"]);
    let r = verify::check_gradgrad(|x: &Tensor<f64>| x.sqrt(), &t(&[4.0, -1.0], &[2]));
    assert!(!r.passed(), "{r}");
    has_all(&structural(&r, "value is finite at the point").detail, &["output entry [1] is NaN"]);
    // A custom op whose output overflows at the point: 2·f64::MAX = inf.
    let r = verify::check_custom_op(Twice, &[t(&[f64::MAX], &[1])]);
    assert!(!r.passed(), "{r}");
    has_all(&structural(&r, "value is finite at the point").detail, &["output entry [0] is inf"]);
}

/// The checker's own settings are validated where they are set: a tolerance or a step
/// that is negative, NaN (or, for a step, zero or infinite) would make every comparison
/// fail (or pass) for a reason that has nothing to do with the rules.
#[test]
fn invalid_settings_are_refused() {
    let m = panic_msg(|| Checker::new().rtol(f64::NAN));
    has_all(&m, &["Checker::rtol", "NaN"]);
    let m = panic_msg(|| Checker::new().rtol(-1e-8));
    has_all(&m, &["Checker::rtol", "-0.00000001"]);
    let m = panic_msg(|| Checker::new().tolerance(Tolerance { kappa: -2.0, ..Tolerance::default() }));
    has_all(&m, &["Checker::tolerance", "kappa", "-2"]);
    let m = panic_msg(|| Checker::new().tolerance(Tolerance { arith: f64::NAN, ..Tolerance::default() }));
    has_all(&m, &["Checker::tolerance", "arith", "NaN"]);
    let m =
        panic_msg(|| Checker::new().fd(FdSettings { rel_step: 0.0, ..FdSettings::for_eps(f64::EPSILON) }));
    has_all(&m, &["Checker::fd", "rel_step", "0"]);
    let m = panic_msg(|| {
        Checker::new().fd(FdSettings { floor: f64::INFINITY, ..FdSettings::for_eps(f64::EPSILON) })
    });
    has_all(&m, &["Checker::fd", "floor", "inf"]);
    // One level has no extrapolation and so no error estimate: the differences' error
    // would count as infinite and any rule would pass against them.
    for levels in [0, 1] {
        let m = panic_msg(|| {
            Checker::new().fd(FdSettings { max_levels: levels, ..FdSettings::for_eps(f64::EPSILON) })
        });
        has_all(&m, &["Checker::fd", "max_levels must be at least 2", &format!("got {levels}")]);
    }
    // Valid extremes are accepted: rtol 0 (only the absolute terms), zero probes (one runs).
    let r = Checker::new()
        .rtol(0.0)
        .mode(Mode::Fast { probes: 0 })
        .check_grad(|x| x.exp().sum(), &t(&[0.5], &[1]));
    assert!(r.passed(), "{r}");
}
