//! The three views of one Jacobian (reverse mode, forward mode, finite differences), in
//! full or projected, and their comparison.

use std::cell::Cell;

use autodiff::{Element, Tensor, no_grad, trace_many, vjp_many};

use crate::fd::{Evaluator, FdSettings};
use crate::panics::catch;
use crate::report::{Comparison, Kink, Location, Structural};
use crate::settings::{Checker, FULL_RETRY_LIMIT, Mode};

mod fast;
mod full;
mod structural;

use fast::fast;
use full::full;
use structural::structural;

/// A function of several tensors, as the checks take it.
pub(crate) type Func<'a, T> = &'a dyn Fn(&[Tensor<T>]) -> Tensor<T>;
/// A function of the flattened point, for the finite differences.
pub(crate) type FlatFn<'a> = &'a dyn Fn(&[f64]) -> Result<Vec<f64>, String>;

/// What to check and what to call the views.
pub(crate) struct Spec<'a, T: Element> {
    /// Prefix of the comparisons' names ("" or "Hessian: ").
    pub(crate) group: &'a str,
    /// Names of the reverse, forward and finite-difference views.
    pub(crate) views: [&'a str; 3],
    pub(crate) f: Func<'a, T>,
    /// The function for the finite differences in f64, when the rules' precision is lower
    /// and an f64 version exists; else they evaluate `f`.
    pub(crate) f64_version: Option<FlatFn<'a>>,
    pub(crate) xs: &'a [Tensor<T>],
}

/// What one run found.
#[derive(Default)]
pub(crate) struct Part {
    pub(crate) mode: Option<Mode>,
    pub(crate) comparisons: Vec<Comparison>,
    pub(crate) structural: Vec<Structural>,
    pub(crate) kinks: Vec<Kink>,
    pub(crate) notes: Vec<String>,
    pub(crate) fd_evals: usize,
    /// The forward view's full Jacobian (rows: output entries), when computed.
    pub(crate) forward_matrix: Option<Vec<f64>>,
    /// The analytic views' measured rounding noise per entry (zeros when not measured).
    pub(crate) forward_noise: Option<Vec<f64>>,
}

pub(crate) fn flat<T: Element>(t: &Tensor<T>) -> Vec<f64> {
    t.data().iter().map(|v| v.to_f64()).collect()
}

/// Splits a flattened point into tensors of `shapes`.
pub(crate) fn unflatten<T: Element>(z: &[f64], shapes: &[Vec<usize>]) -> Vec<Tensor<T>> {
    let mut at = 0;
    shapes
        .iter()
        .map(|s| {
            let n: usize = s.iter().product();
            let t = Tensor::from_vec(z[at..at + n].iter().map(|&v| T::from_f64(v)).collect(), s);
            at += n;
            t
        })
        .collect()
}

/// The multi-index of flat index `i` in row-major `shape`.
pub(crate) fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (d, &n) in shape.iter().enumerate().rev() {
        idx[d] = i % n;
        i /= n;
    }
    idx
}

/// The smallest positive normal number of `T`.
pub(crate) fn min_normal<T: Element>() -> f64 {
    if T::EPSILON.to_f64() > 1e-10 { f64::from(f32::MIN_POSITIVE) } else { f64::MIN_POSITIVE }
}

fn round_to<T: Element>(v: f64) -> f64 {
    T::from_f64(v).to_f64()
}

/// SplitMix64 (Steele, Lea, Flood 2014): the seeded signs of the probes.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// `n` independent ±1.
    pub(crate) fn signs(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| if self.next() >> 63 == 0 { 1.0 } else { -1.0 }).collect()
    }
}

/// The shared context of one run.
struct Ctx<'a, T: Element> {
    spec: &'a Spec<'a, T>,
    /// The comparisons' group (the spec's, or its full retry).
    group: String,
    ck: &'a Checker,
    ev: Evaluator<'a>,
    fd: FdSettings,
    x0: Vec<f64>,
    shapes: Vec<Vec<usize>>,
    out_shape: Vec<usize>,
    f0: Vec<f64>,
    rtol: f64,
    eps: f64,
    /// The smallest normal number of the rules' precision: below it values underflow and
    /// keep no relative accuracy.
    tiny: f64,
    /// The largest magnitude among the values f computes (traced), and its output.
    magnitude: f64,
}

impl<T: Element> Ctx<'_, T> {
    fn m(&self) -> usize {
        self.f0.len()
    }
    fn n(&self) -> usize {
        self.x0.len()
    }
    /// Input number and multi-index of flat input entry `j`.
    fn input_of(&self, mut j: usize) -> (usize, Vec<usize>) {
        for (i, s) in self.shapes.iter().enumerate() {
            let n: usize = s.iter().product();
            if j < n {
                return (i, unravel(j, s));
            }
            j -= n;
        }
        unreachable!("flat input index beyond the inputs")
    }
    fn entry_at(&self, k: usize, j: usize) -> Location {
        let (input, at) = self.input_of(j);
        Location::Entry { out: unravel(k, &self.out_shape), input, at }
    }
    /// The natural size of entry (k, j) when rounding is all there is: the largest value the
    /// function computes on the way (its inputs, outputs and every intermediate) over the
    /// coordinate's scale `max(|x_j|, floor)` (the size the finite differences divide by).
    fn natural(&self, _k: usize, j: usize) -> f64 {
        self.magnitude / self.x0[j].abs().max(self.fd.floor)
    }
    /// The tolerance of an entry (see `Tolerance`): `noise` is the measured rounding noise
    /// of the analytic views there (0 until a mismatch calls for it).
    fn tol(&self, expected: f64, scale: f64, fd_err: f64, noise: f64) -> f64 {
        let t = self.ck.tol;
        self.rtol * expected.abs() + t.arith * (self.eps * scale + self.tiny) + t.kappa * (fd_err + noise)
    }

    /// The inputs moved by `shift·64·ε·max(|xⱼ|, floor)`: a shift that changes the rounding
    /// of every operation but moves a derivative by only ~64ε of its own scale.
    fn shifted(&self, shift: f64) -> Vec<Tensor<T>> {
        let z: Vec<f64> =
            self.x0.iter().map(|x| x + shift * 64.0 * self.eps * x.abs().max(self.fd.floor)).collect();
        unflatten(&z, &self.shapes)
    }
}

/// Runs the views of `spec` in the checker's mode (full, or fast with a full retry on a
/// failure) and compares them.
pub(crate) fn run<T: Element>(spec: &Spec<T>, ck: &Checker) -> Part {
    let shapes: Vec<Vec<usize>> = spec.xs.iter().map(|x| x.shape().to_vec()).collect();
    let x0: Vec<f64> = spec.xs.iter().flat_map(flat).collect();
    let f = spec.f;
    let own = |z: &[f64]| -> Result<Vec<f64>, String> {
        let ins: Vec<Tensor<T>> = unflatten(z, &shapes);
        catch(|| no_grad(|| f(&ins))).map(|y| flat(&y))
    };
    let (flat_f, round, eps): (FlatFn, fn(f64) -> f64, f64) = match spec.f64_version {
        Some(g) => (g, |v| v, f64::EPSILON),
        None => (&own, round_to::<T>, T::EPSILON.to_f64()),
    };
    let mut part = Part::default();
    let y = match catch(|| no_grad(|| f(spec.xs))) {
        Ok(y) => y,
        Err(e) => {
            part.structural.push(Structural { name: "f runs at the point".into(), passed: false, detail: e });
            return part;
        }
    };
    let f0 = match flat_f(&x0) {
        Ok(v) if v.len() == y.numel() => v,
        Ok(v) => {
            let detail = format!("the f64 version returns {} entries where f returns {}", v.len(), y.numel());
            part.structural.push(Structural { name: "f64 version matches f".into(), passed: false, detail });
            return part;
        }
        Err(e) => {
            part.structural.push(Structural {
                name: "f64 version runs at the point".into(),
                passed: false,
                detail: e,
            });
            return part;
        }
    };
    let big = magnitude(f, spec.xs);
    let mut ctx = Ctx {
        spec,
        group: spec.group.to_string(),
        ck,
        ev: Evaluator { f: flat_f, round, eps, magnitude: big, evals: Cell::new(0) },
        fd: ck.fd.unwrap_or_else(|| FdSettings::for_eps(eps)),
        x0,
        shapes: shapes.clone(),
        out_shape: y.shape().to_vec(),
        f0,
        rtol: ck.tol.rtol.unwrap_or_else(|| T::EPSILON.to_f64().sqrt()),
        eps: T::EPSILON.to_f64(),
        tiny: min_normal::<T>(),
        magnitude: big,
    };
    let mode = ck.resolve(ctx.n());
    part.mode = Some(mode);
    if ctx.n() == 0 || ctx.m() == 0 {
        part.notes.push(format!("nothing to compare: {} input entries, {} output entries", ctx.n(), ctx.m()));
    }
    // A value that is not finite at the point makes every comparison moot: say so first.
    let bad = ctx.f0.iter().position(|v| !v.is_finite());
    part.structural.push(Structural {
        name: format!("{}value is finite at the point", spec.group),
        passed: bad.is_none(),
        detail: bad.map_or_else(String::new, |k| {
            let input_bad = ctx.x0.iter().position(|v| !v.is_finite());
            format!(
                "output entry {:?} is {}{}",
                unravel(k, &ctx.out_shape),
                ctx.f0[k],
                input_bad.map_or_else(String::new, |j| format!(" (input entry {j} is {})", ctx.x0[j]))
            )
        }),
    });
    structural(&ctx, &y, &mut part);
    match mode {
        Mode::Fast { probes } => {
            fast(&ctx, probes, &mut part);
            if part.comparisons.iter().any(|c| !c.passed()) {
                if ctx.n() <= FULL_RETRY_LIMIT {
                    part.notes.push("a fast-mode comparison failed: the full Jacobians follow".into());
                    ctx.group = format!("{}full retry: ", spec.group);
                    full(&ctx, &mut part);
                } else {
                    part.notes.push(format!(
                        "a fast-mode comparison failed; {} input entries exceed the full retry limit of {FULL_RETRY_LIMIT}",
                        ctx.n()
                    ));
                }
            }
        }
        _ => full(&ctx, &mut part),
    }
    part.fd_evals = ctx.ev.evals.get();
    part
}

/// The largest finite magnitude among `f`'s inputs, output and the values of every op it
/// records, forward and backward: rounding errors are relative to these, whatever the
/// result's size. The backward values come from tracing one pullback (of a cotangent of
/// ones), whose ops are the ones a derivative of `f` runs.
pub(crate) fn magnitude<T: Element>(f: Func<T>, xs: &[Tensor<T>]) -> f64 {
    let big = |t: &Tensor<T>| {
        t.data().iter().map(|v| v.to_f64().abs()).filter(|v| v.is_finite()).fold(0.0, f64::max)
    };
    let mut m = xs.iter().map(big).fold(0.0, f64::max);
    let pulled = |xs: &[Tensor<T>]| {
        let (y, pb) = vjp_many(f, xs);
        let gs = pb(&Tensor::ones(y.shape()));
        let flat: Vec<Tensor<T>> = std::iter::once(y.reshape(&[y.numel()]))
            .chain(gs.iter().map(|g| g.reshape(&[g.numel()])))
            .collect();
        Tensor::concat(&flat, 0)
    };
    let traced = catch(|| trace_many(pulled, xs)).or_else(|_| catch(|| trace_many(f, xs)));
    if let Ok((y, ops)) = traced {
        m = ops
            .iter()
            .flat_map(|o| o.inputs().iter().chain([o.output()]))
            .map(big)
            .fold(m.max(big(&y)), f64::max);
    }
    m
}

/// Whether `a` and `b` differ by more than `tol` (NaN counts as more).
pub(super) fn outside(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs().partial_cmp(&tol).is_none_or(|o| o == std::cmp::Ordering::Greater)
}

/// Whether `v` lies between the one-sided slopes, give or take `tol`.
pub(super) fn within(v: f64, (a, b): (f64, f64), tol: f64) -> bool {
    v >= a.min(b) - tol && v <= a.max(b) + tol
}

pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub(super) fn abs_dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x * y).abs()).sum()
}
