//! The checks users call: each runs the views, compares them, and traces a failure to an op.

use autodiff::{Element, Op, Tensor, grad, hvp, no_grad, trace_many, vjp_many};

use crate::panics::catch;
use crate::report::{Comparison, Culprit, Entry, Location, Report};
use crate::settings::{Checker, Mode};
use crate::views::{FlatFn, Part, Rng, Spec, flat, magnitude, run, unflatten, unravel};

const FIRST: [&str; 3] = ["reverse", "forward", "finite differences"];
const HESSIAN: [&str; 3] = ["rev-over-rev", "fwd-over-rev", "finite differences of the gradient"];
const GRADGRAD: [&str; 3] = ["reverse over reverse", "forward over reverse", "finite differences of the VJP"];

/// A function generic over the element type, so an `f32` function can be checked against
/// finite differences of its `f64` twin (see [`Checker::check_jacobian_in_f64`]).
///
/// ```
/// use autodiff::{Element, Tensor};
/// use verify::{Checker, Function};
/// struct SoftplusSum;
/// impl Function for SoftplusSum {
///     fn eval<T: Element>(&self, xs: &[Tensor<T>]) -> Tensor<T> { xs[0].softplus().sum() }
/// }
/// let x = Tensor::from_vec(vec![0.3f32, -1.2, 2.0], &[3]);
/// Checker::new().check_jacobian_in_f64(&SoftplusSum, &[x]).assert_passed();
/// ```
pub trait Function {
    /// The function's value.
    fn eval<T: Element>(&self, xs: &[Tensor<T>]) -> Tensor<T>;
}

/// Panics unless `f(x)` has one element (for the gradient checks).
#[track_caller]
fn require_scalar<T: Element>(what: &str, f: &dyn Fn(&[Tensor<T>]) -> Tensor<T>, xs: &[Tensor<T>]) {
    if let Ok(y) = catch(|| no_grad(|| f(xs))) {
        assert!(
            y.numel() == 1,
            "{what}: f must return one element, it returned shape {:?}; use check_jacobian for vector outputs",
            y.shape()
        );
    }
}

impl Checker {
    fn assemble<T: Element>(&self, subject: String, fd_in_f64: bool, parts: Vec<Part>) -> Report {
        let mut r = Report {
            subject,
            precision: (T::NAME, if fd_in_f64 { "f64" } else { T::NAME }),
            mode: parts.iter().find_map(|p| p.mode).unwrap_or(Mode::Full),
            comparisons: Vec::new(),
            structural: Vec::new(),
            kinks: Vec::new(),
            culprit: None,
            rtol: self.tol.rtol.unwrap_or_else(|| T::EPSILON.to_f64().sqrt()),
            fd_evals: 0,
            notes: Vec::new(),
        };
        for p in parts {
            r.comparisons.extend(p.comparisons);
            r.structural.extend(p.structural);
            r.kinks.extend(p.kinks);
            r.notes.extend(p.notes);
            r.fd_evals += p.fd_evals;
        }
        r
    }

    fn spec<'a, T: Element>(
        group: &'a str,
        views: [&'a str; 3],
        f: &'a dyn Fn(&[Tensor<T>]) -> Tensor<T>,
        xs: &'a [Tensor<T>],
    ) -> Spec<'a, T> {
        Spec { group, views, f, f64_version: None, xs }
    }

    /// Checks the Jacobian of `f` at `xs` (every input): reverse mode, forward mode and
    /// finite differences, compared pairwise, plus the structural checks; a failure is
    /// traced to the first op whose own rules fail.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// use verify::Checker;
    /// let (a, b) = (Tensor::<f64>::randn(&[3, 4], 1), Tensor::randn(&[4, 2], 2));
    /// let r = Checker::new().check_jacobian_many(|x| x[0].matmul(&x[1]).tanh(), &[a, b]);
    /// assert!(r.passed(), "{r}");
    /// ```
    pub fn check_jacobian_many<T: Element>(
        &self,
        f: impl Fn(&[Tensor<T>]) -> Tensor<T>,
        xs: &[Tensor<T>],
    ) -> Report {
        let part = run(&Self::spec("", FIRST, &f, xs), self);
        let mut r = self.assemble::<T>("check_jacobian".into(), false, vec![part]);
        self.blame(&mut r, &f, xs, false);
        r
    }

    /// [`check_jacobian_many`](Checker::check_jacobian_many) for a function of one tensor.
    pub fn check_jacobian<T: Element>(&self, f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>) -> Report {
        self.check_jacobian_many(|xs: &[Tensor<T>]| f(&xs[0]), std::slice::from_ref(x))
            .named("check_jacobian")
    }

    /// Checks the gradient of a scalar `f` at `xs`.
    ///
    /// # Panics
    /// If `f(xs)` has more than one element (use the Jacobian checks).
    #[track_caller]
    pub fn check_grad_many<T: Element>(
        &self,
        f: impl Fn(&[Tensor<T>]) -> Tensor<T>,
        xs: &[Tensor<T>],
    ) -> Report {
        require_scalar("check_grad", &f, xs);
        self.check_jacobian_many(f, xs).named("check_grad")
    }

    /// Checks the gradient of a scalar `f` at `x`.
    ///
    /// # Panics
    /// If `f(x)` has more than one element.
    #[track_caller]
    pub fn check_grad<T: Element>(&self, f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>) -> Report {
        self.check_grad_many(|xs: &[Tensor<T>]| f(&xs[0]), std::slice::from_ref(x))
    }

    /// Checks the Hessian of a scalar `f` at `x`: the gradient first (three views), then
    /// the Hessian as reverse-over-reverse, forward-over-reverse and finite differences of
    /// the gradient, and its symmetry.
    ///
    /// # Panics
    /// If `f(x)` has more than one element.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// // Extended Rosenbrock in 4 dimensions.
    /// let rosen = |x: &Tensor<f64>| {
    ///     let (a, b) = (x.slice(0, 0..3), x.slice(0, 1..4));
    ///     ((&b - &a.square()).square() * 100.0 + (1.0 - &a).square()).sum()
    /// };
    /// let r = verify::check_hessian(rosen, &Tensor::from_vec(vec![-1.2, 1.0, 0.5, 0.3], &[4]));
    /// assert!(r.passed(), "{r}");
    /// ```
    #[track_caller]
    pub fn check_hessian<T: Element>(&self, f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>) -> Report {
        let f1 = |xs: &[Tensor<T>]| f(&xs[0]);
        let xs = std::slice::from_ref(x);
        require_scalar("check_hessian", &f1, xs);
        let g = |xs: &[Tensor<T>]| grad(&f, &xs[0]);
        let first = run(&Self::spec("gradient: ", FIRST, &f1, xs), self);
        let second = run(&Self::spec("Hessian: ", HESSIAN, &g, xs), self);
        let sym = self.symmetry(&f, x, &second);
        let mut r = self.assemble::<T>("check_hessian".into(), false, vec![first, second]);
        r.comparisons.push(sym);
        let first_ok = r.comparisons.iter().filter(|c| c.group == "gradient: ").all(Comparison::passed);
        self.blame(&mut r, &f1, xs, first_ok);
        r
    }

    /// `H = Hᵀ`: entry pairs of the forward-over-reverse matrix (full mode), or `vᵀ(Hu)`
    /// against `uᵀ(Hv)` on seeded probes (fast mode). Tolerance as between analytic views,
    /// the natural sizes from the gradient's computation.
    fn symmetry<T: Element>(
        &self,
        f: &dyn Fn(&Tensor<T>) -> Tensor<T>,
        x: &Tensor<T>,
        second: &Part,
    ) -> Comparison {
        let c = Comparison::new("Hessian: ", "fwd-over-rev", "its transpose");
        let rtol = self.tol.rtol.unwrap_or_else(|| T::EPSILON.to_f64().sqrt());
        let arith = self.tol.arith * T::EPSILON.to_f64();
        let n = x.numel();
        // The largest magnitude the gradient's computation meets (see `Tolerance`).
        let big = magnitude(&|xs: &[Tensor<T>]| grad(f, &xs[0]), std::slice::from_ref(x));
        let floor = self.fd.unwrap_or_else(|| crate::FdSettings::for_eps(T::EPSILON.to_f64())).floor;
        let s: Vec<f64> = flat(x).iter().map(|v| v.abs().max(floor)).collect();
        if let Some(h) = &second.forward_matrix {
            let row_max: Vec<f64> =
                (0..n).map(|i| h[i * n..(i + 1) * n].iter().fold(0.0f64, |m, v| m.max(v.abs()))).collect();
            let mut entries = Vec::new();
            for i in 0..n {
                for j in i + 1..n {
                    let (a, b) = (h[i * n + j], h[j * n + i]);
                    let loc =
                        Location::Entry { out: unravel(i, x.shape()), input: 0, at: unravel(j, x.shape()) };
                    let scale = row_max[i] + row_max[j] + big * (1.0 / s[j] + 1.0 / s[i]);
                    let noise = second.forward_noise.as_ref().map_or(0.0, |z| z[i * n + j] + z[j * n + i]);
                    let tol = rtol * a.abs().max(b.abs()) + arith * scale + self.tol.kappa * noise;
                    entries.push(Entry::new(loc, b, a, tol, None));
                }
            }
            return c.with_entries(entries, 0);
        }
        let probes = match second.mode {
            Some(Mode::Fast { probes }) => probes,
            _ => 4,
        };
        let inv: f64 = s.iter().map(|v| 1.0 / v).sum();
        let mut rng = Rng::new(self.seed ^ 0x5947);
        let mut entries = Vec::new();
        for p in 0..probes {
            let (u, v) = (rng.signs(n), rng.signs(n));
            let sh = [x.shape().to_vec()];
            let (ut, vt): (Tensor<T>, Tensor<T>) =
                (unflatten(&u, &sh).remove(0), unflatten(&v, &sh).remove(0));
            match catch(|| (flat(&hvp(f, x, &ut)), flat(&hvp(f, x, &vt)))) {
                Ok((hu, hv)) => {
                    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
                    let adot =
                        |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| (p * q).abs()).sum::<f64>();
                    let (a, b) = (dot(&hu, &v), dot(&hv, &u));
                    let scale = adot(&hu, &v) + adot(&hv, &u) + 2.0 * big * n as f64 * inv;
                    entries.push(Entry::new(
                        Location::Probe(p),
                        b,
                        a,
                        rtol * a.abs().max(b.abs()) + arith * scale,
                        None,
                    ));
                }
                Err(e) => return c.with_error(format!("hvp: {e}")),
            }
        }
        c.with_entries(entries, 0)
    }

    /// Checks the derivatives of the reverse rules themselves (PyTorch's gradgradcheck): the
    /// first-order check of `f`, then the Jacobian of `(x, v) ↦ vᵀ·∂f/∂x` (the pullback with
    /// a seeded cotangent `v` of ±1) in x and v, by reverse over reverse, forward over
    /// reverse and finite differences of the pullback.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let r = verify::check_gradgrad(|x: &Tensor<f64>| x.sin() * x.exp(), &Tensor::randn(&[3], 4));
    /// assert!(r.passed(), "{r}");
    /// ```
    pub fn check_gradgrad<T: Element>(&self, f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>) -> Report {
        self.check_gradgrad_many(|xs: &[Tensor<T>]| f(&xs[0]), std::slice::from_ref(x))
    }

    /// [`check_gradgrad`](Checker::check_gradgrad) over several inputs: the pullback's
    /// cotangents, flattened and joined, are differentiated in all inputs and in `v`.
    pub fn check_gradgrad_many<T: Element>(
        &self,
        f: impl Fn(&[Tensor<T>]) -> Tensor<T>,
        xs: &[Tensor<T>],
    ) -> Report {
        let first = run(&Self::spec("", FIRST, &f, xs), self);
        let Ok(y) = catch(|| no_grad(|| f(xs))) else {
            return self.assemble::<T>("check_gradgrad".into(), false, vec![first]);
        };
        let v: Tensor<T> =
            unflatten(&Rng::new(self.seed ^ 0x6767).signs(y.numel()), &[y.shape().to_vec()]).remove(0);
        let n = xs.len();
        let pull = |z: &[Tensor<T>]| {
            let gs = vjp_many(&f, &z[..n]).1(&z[n]);
            let flat: Vec<Tensor<T>> = gs.iter().map(|g| g.reshape(&[g.numel()])).collect();
            Tensor::concat(&flat, 0)
        };
        let mut xv = xs.to_vec();
        xv.push(v);
        let second = run(&Self::spec("second order: ", GRADGRAD, &pull, &xv), self);
        let mut r = self.assemble::<T>("check_gradgrad".into(), false, vec![first, second]);
        let first_ok = r.comparisons.iter().filter(|c| c.group.is_empty()).all(Comparison::passed);
        self.blame(&mut r, &f, xs, first_ok);
        r
    }

    /// Checks a custom op's rules at `inputs`: its Jacobian in every input by reverse mode
    /// (the batched `vjp_batch`, as `jacrev` runs it), forward mode (`jvp_batch`) and
    /// finite differences of `forward`; and, on seeded projections, the single `vjp` and
    /// `jvp` too.
    ///
    /// ```
    /// use autodiff::{Op, Tensor};
    /// /// y = x³.
    /// #[derive(Clone)]
    /// struct Cube;
    /// impl Op<f64> for Cube {
    ///     fn name(&self) -> &str { "cube" }
    ///     fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
    ///         Tensor::from_vec(x[0].data().iter().map(|v| v * v * v).collect(), x[0].shape())
    ///     }
    ///     fn vjp(&self, x: &[Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
    ///         vec![Some(g * &x[0].square() * 3.0)]
    ///     }
    ///     fn jvp(&self, x: &[Tensor<f64>], _: &Tensor<f64>, t: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
    ///         t[0].as_ref().map(|t| t * &x[0].square() * 3.0)
    ///     }
    /// }
    /// let r = verify::check_custom_op(Cube, &[Tensor::randn(&[2, 3], 9)]);
    /// assert!(r.passed(), "{r}");
    /// ```
    ///
    /// # Panics
    /// If `inputs` is empty (an op applies to at least one tensor).
    #[track_caller]
    pub fn check_custom_op<T: Element, O: Op<T> + Clone>(&self, op: O, inputs: &[Tensor<T>]) -> Report {
        let name = op.name().to_string();
        assert!(
            !inputs.is_empty(),
            "check_custom_op `{name}`: no inputs (an op applies to at least one tensor)"
        );
        let f = |xs: &[Tensor<T>]| {
            let rest: Vec<&Tensor<T>> = xs[1..].iter().collect();
            xs[0].apply_op(op.clone(), &rest)
        };
        let mut parts = vec![run(&Self::spec("", FIRST, &f, inputs), self)];
        if parts[0].mode == Some(Mode::Full) {
            let single = self.clone().mode(Mode::Fast { probes: 2 });
            parts.push(run(&Self::spec("unbatched vjp/jvp: ", FIRST, &f, inputs), &single));
        }
        self.assemble::<T>(format!("check_custom_op `{name}`"), false, parts)
    }

    /// Checks an `f32` function's rules against finite differences of its `f64` twin (the
    /// same [`Function`] evaluated in f64), so the reference is not limited by f32 rounding.
    /// The rules are held to f32's tolerances.
    pub fn check_jacobian_in_f64<F: Function>(&self, f: &F, xs: &[Tensor<f32>]) -> Report {
        let shapes: Vec<Vec<usize>> = xs.iter().map(|x| x.shape().to_vec()).collect();
        let f64_version = |z: &[f64]| -> Result<Vec<f64>, String> {
            let ins: Vec<Tensor<f64>> = unflatten(z, &shapes);
            catch(|| no_grad(|| f.eval(&ins))).map(|y| flat(&y))
        };
        let g = |xs: &[Tensor<f32>]| f.eval(xs);
        let spec = Spec { group: "", views: FIRST, f: &g, f64_version: Some(&f64_version as FlatFn), xs };
        let part = run(&spec, self);
        let mut r = self.assemble::<f32>("check_jacobian_in_f64".into(), true, vec![part]);
        self.blame(&mut r, &g, xs, false);
        r
    }

    /// When `r` failed (and tracing is on): traces `f` and checks each recorded op at the
    /// values it saw, first order or (`second`) with [`check_gradgrad`](Checker::check_gradgrad)'s
    /// second-order views; the first op that fails is the culprit.
    fn blame<T: Element>(
        &self,
        r: &mut Report,
        f: &dyn Fn(&[Tensor<T>]) -> Tensor<T>,
        xs: &[Tensor<T>],
        second: bool,
    ) {
        if r.passed() || !self.localize {
            return;
        }
        let Ok((_, ops)) = catch(|| trace_many(f, xs)) else { return };
        // Each op in automatic mode: in full (entries named) unless its inputs are large.
        let local = self.clone().localize(false).mode(Mode::Auto);
        for (index, op) in ops.iter().enumerate() {
            let g = |ins: &[Tensor<T>]| op.apply(ins);
            let rep = if second {
                local.check_gradgrad_many(g, op.inputs())
            } else {
                local.check_jacobian_many(g, op.inputs())
            };
            if !rep.passed() {
                r.culprit = Some(Culprit {
                    index,
                    of: ops.len(),
                    name: op.name().to_string(),
                    input_shapes: op.inputs().iter().map(|t| t.shape().to_vec()).collect(),
                    report: Box::new(rep.named(&format!("op `{}`", op.name()))),
                });
                return;
            }
        }
        r.notes.push(format!("no single op of the {} recorded fails its own check", ops.len()));
    }
}

impl Report {
    fn named(mut self, subject: &str) -> Self {
        self.subject = subject.to_string();
        self
    }
}
