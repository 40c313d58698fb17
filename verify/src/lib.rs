//! Gradient checking users can trust: every derivative seen three independent ways —
//! reverse mode (the VJP rules), forward mode (the JVP rules on dual tensors) and finite
//! differences (central, exact steps, Ridders–Richardson extrapolation) — and compared
//! pairwise, entry by entry or on random projections.
//!
//! ```
//! use autodiff::Tensor;
//! // f(x) = Σ softplus(x)·x
//! let x = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3]);
//! let report = verify::check_grad(|x: &Tensor<f64>| (x.softplus() * x).sum(), &x);
//! assert!(report.passed(), "{report}");
//! // Or, in a test:
//! verify::assert_grad!(|x: &Tensor<f64>| (x.softplus() * x).sum(), &x);
//! ```
//!
//! # What a check does
//! - **Views.** Full mode computes the Jacobian by `jacrev`, by `jacfwd` and column by
//!   column by finite differences. Fast mode ([`Mode::Fast`]) compares `vᵀJu` for seeded
//!   random sign vectors `u`, `v`: one reverse sweep, one forward sweep and one directional
//!   difference per probe; a failure reruns in full to name the entries.
//! - **Finite differences** are central, with a first step `2⁻⁷·max(|xⱼ|, 2⁻³)` (f64)
//!   halved level by level, each step made exact (the distance actually between the two
//!   points is divided by), and extrapolated to zero step by Ridders' method, which also
//!   estimates its own error. On smooth f64 functions they reach about 10⁻¹² relative. They
//!   run in f64 where the function allows ([`Checker::check_jacobian_in_f64`]).
//! - **Tolerances** follow an error model ([`Tolerance`]): a relative `√ε` of the rules'
//!   precision, an absolute `2¹⁰·ε·(row scale)` for entries much smaller than their row,
//!   and twice the finite differences' error estimate.
//! - **Kinks.** An entry that disagrees where a kink lies within the step (the second
//!   difference does not shrink with the step, and the analytic value lies between the
//!   one-sided slopes) is reported as a [`Kink`], not as a wrong rule.
//! - **Structure.** Zero cotangent gives zero gradient, zero tangent zero derivative,
//!   reruns are bitwise identical, shapes match, every mode sees the same value.
//! - **Blame.** When a check fails, the function is traced and each recorded op is checked
//!   at the values it saw; the first op that fails is named ([`Culprit`]).
//!
//! Panics inside a check (a rule returning a wrong shape, say) become failed comparisons
//! that quote the message; see [`Report`].

mod check;
mod fd;
mod panics;
mod report;
mod settings;
mod views;

use autodiff::{Element, Op, Tensor};

pub use check::Function;
pub use fd::FdSettings;
pub use report::{Comparison, Culprit, Entry, Kink, Location, Report, Structural};
pub use settings::{AUTO_FULL_LIMIT, Checker, FULL_RETRY_LIMIT, Mode, Tolerance};

/// The README's Rust examples (the kernels', the engine's and the checker's), compiled and
/// run as doctests so they cannot rot; here because this crate sees all three.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// [`Checker::check_grad`] with the default checker.
///
/// # Panics
/// If `f(x)` has more than one element.
#[track_caller]
pub fn check_grad<T: Element>(f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>) -> Report {
    Checker::default().check_grad(f, x)
}

/// [`Checker::check_grad_many`] with the default checker.
///
/// ```
/// use autodiff::Tensor;
/// let (w, x) = (Tensor::<f64>::randn(&[3, 2], 1), Tensor::randn(&[4, 3], 2));
/// let r = verify::check_grad_many(|v| v[1].matmul(&v[0]).tanh().sum(), &[w, x]);
/// assert!(r.passed(), "{r}");
/// ```
#[track_caller]
pub fn check_grad_many<T: Element>(f: impl Fn(&[Tensor<T>]) -> Tensor<T>, xs: &[Tensor<T>]) -> Report {
    Checker::default().check_grad_many(f, xs)
}

/// [`Checker::check_jacobian`] with the default checker.
///
/// ```
/// use autodiff::Tensor;
/// let r = verify::check_jacobian(|x: &Tensor<f64>| x.softmax(1), &Tensor::randn(&[2, 3], 5));
/// assert!(r.passed(), "{r}");
/// ```
pub fn check_jacobian<T: Element>(f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>) -> Report {
    Checker::default().check_jacobian(f, x)
}

/// [`Checker::check_jacobian_many`] with the default checker.
pub fn check_jacobian_many<T: Element>(f: impl Fn(&[Tensor<T>]) -> Tensor<T>, xs: &[Tensor<T>]) -> Report {
    Checker::default().check_jacobian_many(f, xs)
}

/// [`Checker::check_hessian`] with the default checker.
///
/// # Panics
/// If `f(x)` has more than one element.
#[track_caller]
pub fn check_hessian<T: Element>(f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>) -> Report {
    Checker::default().check_hessian(f, x)
}

/// [`Checker::check_gradgrad`] with the default checker.
pub fn check_gradgrad<T: Element>(f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>) -> Report {
    Checker::default().check_gradgrad(f, x)
}

/// [`Checker::check_custom_op`] with the default checker.
///
/// # Panics
/// If `inputs` is empty.
#[track_caller]
pub fn check_custom_op<T: Element, O: Op<T> + Clone>(op: O, inputs: &[Tensor<T>]) -> Report {
    Checker::default().check_custom_op(op, inputs)
}

/// Asserts that [`check_grad`] passes, panicking with the rendered report otherwise.
///
/// ```
/// use autodiff::Tensor;
/// verify::assert_grad!(|x: &Tensor<f64>| x.exp().sum(), &Tensor::randn(&[4], 1));
/// ```
#[macro_export]
macro_rules! assert_grad {
    ($f:expr, $x:expr $(,)?) => {
        $crate::check_grad($f, $x).assert_passed()
    };
}

/// Asserts that [`check_jacobian`] passes.
///
/// ```
/// use autodiff::Tensor;
/// verify::assert_jacobian!(|x: &Tensor<f64>| x.tanh(), &Tensor::randn(&[4], 1));
/// ```
#[macro_export]
macro_rules! assert_jacobian {
    ($f:expr, $x:expr $(,)?) => {
        $crate::check_jacobian($f, $x).assert_passed()
    };
}

/// Asserts that [`check_hessian`] passes.
///
/// ```
/// use autodiff::Tensor;
/// verify::assert_hessian!(|x: &Tensor<f64>| x.sin().prod(), &Tensor::randn(&[3], 1));
/// ```
#[macro_export]
macro_rules! assert_hessian {
    ($f:expr, $x:expr $(,)?) => {
        $crate::check_hessian($f, $x).assert_passed()
    };
}

/// Asserts that [`check_custom_op`] passes.
///
/// ```
/// use autodiff::{Op, Tensor};
/// #[derive(Clone)]
/// struct Twice;
/// impl Op<f64> for Twice {
///     fn name(&self) -> &str { "twice" }
///     fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> { x[0] * 2.0 }
///     fn vjp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
///         vec![Some(g * 2.0)]
///     }
///     fn jvp(&self, _: &[Tensor<f64>], _: &Tensor<f64>, t: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
///         t[0].as_ref().map(|t| t * 2.0)
///     }
/// }
/// verify::assert_custom_op!(Twice, &[Tensor::randn(&[3], 1)]);
/// ```
#[macro_export]
macro_rules! assert_custom_op {
    ($op:expr, $inputs:expr $(,)?) => {
        $crate::check_custom_op($op, $inputs).assert_passed()
    };
}
