//! The three views of one Jacobian (reverse mode, forward mode, finite differences), in
//! full or projected, and their comparison.

use std::cell::Cell;

use autodiff::{Element, Tensor, jacfwd_many, jacrev_many, jvp_many, no_grad, trace_many, vjp_many};

use crate::fd::{Derivative, Dir, Evaluator, FdSettings, Slopes, confirm, derivative, kink_probe};
use crate::panics::catch;
use crate::report::{Comparison, Entry, Kink, Location, Structural};
use crate::settings::{Checker, FULL_RETRY_LIMIT, Mode};

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

/// Jacobian blocks (one per input, `out ++ in_i`) as one row-major `m × n` matrix.
fn join_blocks<T: Element>(blocks: &[Tensor<T>], m: usize, sizes: &[usize]) -> Vec<f64> {
    let n: usize = sizes.iter().sum();
    let mut j = vec![0.0; m * n];
    let mut off = 0;
    for (b, &ni) in blocks.iter().zip(sizes) {
        let d = b.data();
        for k in 0..m {
            for c in 0..ni {
                j[k * n + off + c] = d[k * ni + c].to_f64();
            }
        }
        off += ni;
    }
    j
}

fn full<T: Element>(ctx: &Ctx<T>, part: &mut Part) {
    let (m, n, f, xs) = (ctx.m(), ctx.n(), ctx.spec.f, ctx.spec.xs);
    let sizes: Vec<usize> = ctx.shapes.iter().map(|s| s.iter().product()).collect();
    let [rv, fv, dv] = ctx.spec.views;
    let rev = catch(|| jacrev_many(f, xs)).map(|b| join_blocks(&b, m, &sizes));
    let fwd = catch(|| jacfwd_many(f, xs)).map(|b| join_blocks(&b, m, &sizes));
    let mut cols: Result<Vec<Derivative>, String> =
        (0..n).map(|j| derivative(&ctx.ev, &ctx.x0, Dir::Axis(j), &ctx.fd)).collect();
    // The atol scale of row k: its largest entry over the views that ran.
    let mut scale = vec![0.0f64; m];
    for mat in [&rev, &fwd].into_iter().flatten() {
        for k in 0..m {
            scale[k] = mat[k * n..(k + 1) * n].iter().fold(scale[k], |s, v| s.max(v.abs()));
        }
    }
    if let Ok(cols) = &cols {
        for c in cols {
            for (s, v) in scale.iter_mut().zip(&c.value) {
                *s = s.max(v.abs());
            }
        }
    }
    // A column that disagrees with an analytic view gets a second tableau first.
    if let Ok(cols) = &mut cols {
        for (j, col) in cols.iter_mut().enumerate() {
            let off = |mat: &Vec<f64>| {
                (0..m).any(|k| {
                    let tol = ctx.tol(col.value[k], scale[k] + ctx.natural(k, j), col.err[k], 0.0);
                    outside(mat[k * n + j], col.value[k], tol)
                })
            };
            if [&rev, &fwd].into_iter().flatten().any(off) {
                *col = confirm(&ctx.ev, &ctx.x0, Dir::Axis(j), &ctx.fd, col);
            }
        }
    }
    // Entries that still disagree: measure the analytic views' rounding noise.
    let noise = match &cols {
        Ok(cols) if mismatch(ctx, &rev, &fwd, cols, &scale) => full_noise(ctx, &rev, &fwd),
        _ => vec![0.0; m * n],
    };
    part.forward_noise = Some(noise.clone());
    let group = ctx.group.as_str();
    let fd_vs = |name: &str, got: &Result<Vec<f64>, String>, part: &mut Part| {
        let cmp = Comparison::new(group, name, dv);
        let (got, cols) = match (got, &cols) {
            (Err(e), _) => return cmp.with_error(format!("{name}: {e}")),
            (_, Err(e)) => return cmp.with_error(format!("{dv}: {e}")),
            (Ok(g), Ok(c)) => (g, c),
        };
        let mut entries = Vec::with_capacity(m * n);
        let (mut kinks, mut uncertain) = (0, 0);
        let mut probes: Vec<Option<Vec<Slopes>>> = vec![None; n];
        for (j, col) in cols.iter().enumerate() {
            for k in 0..m {
                let s = scale[k] + ctx.natural(k, j);
                let e = Entry::new(
                    ctx.entry_at(k, j),
                    col.value[k],
                    got[k * n + j],
                    ctx.tol(col.value[k], s, col.err[k], noise[k * n + j]),
                    Some((col.err[k], col.h0)),
                );
                // Agreement only within the differences' own uncertainty: a kink, or an
                // entry the differences cannot resolve (counted in the report).
                let loose = e.abs_err > ctx.tol(col.value[k], s, 0.0, noise[k * n + j]);
                if !e.ok() || loose {
                    let probe = probes[j].get_or_insert_with(|| {
                        kink_probe(&ctx.ev, &ctx.x0, Dir::Axis(j), &ctx.fd, &ctx.f0).unwrap_or_default()
                    });
                    if let Some(Some(sl)) = probe.get(k).copied()
                        && within(e.got, sl, e.tol)
                    {
                        part.kinks.push(Kink { comparison: cmp.name(), entry: e, slopes: sl });
                        kinks += 1;
                        continue;
                    }
                    uncertain += usize::from(e.ok());
                }
                entries.push(e);
            }
        }
        cmp.with_entries(entries, kinks).with_uncertain(uncertain)
    };
    let c1 = fd_vs(rv, &rev, part);
    let c2 = fd_vs(fv, &fwd, part);
    let mut c3 = Comparison::new(group, rv, fv);
    c3 = match (&rev, &fwd) {
        (Ok(r), Ok(w)) => {
            let entries = (0..m * n)
                .map(|i| {
                    let (k, j) = (i / n, i % n);
                    let tol =
                        ctx.tol(w[i].abs().max(r[i].abs()), scale[k] + ctx.natural(k, j), 0.0, noise[i]);
                    Entry::new(ctx.entry_at(k, j), w[i], r[i], tol, None)
                })
                .collect();
            c3.with_entries(entries, 0)
        }
        (Err(e), _) => c3.with_error(format!("{rv}: {e}")),
        (_, Err(e)) => c3.with_error(format!("{fv}: {e}")),
    };
    part.comparisons.extend([c1, c2, c3]);
    part.forward_matrix = fwd.ok();
}

/// Whether any entry of the analytic views disagrees with the finite differences or with
/// each other, before the noise is measured.
fn mismatch<T: Element>(
    ctx: &Ctx<T>,
    rev: &Result<Vec<f64>, String>,
    fwd: &Result<Vec<f64>, String>,
    cols: &[Derivative],
    scale: &[f64],
) -> bool {
    let n = ctx.n();
    let views: Vec<&Vec<f64>> = [rev, fwd].into_iter().flatten().collect();
    (0..ctx.m() * n).any(|i| {
        let (k, j) = (i / n, i % n);
        let s = scale[k] + ctx.natural(k, j);
        let fd = (cols[j].value[k], cols[j].err[k]);
        let off = |a: f64, b: f64, e: f64| outside(a, b, ctx.tol(b.abs().min(a.abs()), s, e, 0.0));
        views.iter().any(|v| off(v[i], fd.0, fd.1))
            || (views.len() == 2 && off(views[0][i], views[1][i], 0.0))
    })
}

/// The rounding noise of the analytic Jacobians, entry by entry: how much each view's entry
/// moves when the inputs are shifted by 64ε and 128ε of their scale (which moves the exact
/// derivative by a negligible amount but every rounding by a random one). Each side (up,
/// down) keeps its larger move, and the noise is the smaller side: a kink right at the
/// point moves the derivative on one side only, and that jump is not rounding.
fn full_noise<T: Element>(
    ctx: &Ctx<T>,
    rev: &Result<Vec<f64>, String>,
    fwd: &Result<Vec<f64>, String>,
) -> Vec<f64> {
    let (m, n, f) = (ctx.m(), ctx.n(), ctx.spec.f);
    let sizes: Vec<usize> = ctx.shapes.iter().map(|s| s.iter().product()).collect();
    let mut sides = [vec![0.0f64; m * n], vec![0.0f64; m * n]];
    for (side, shifts) in [[1.0, 2.0], [-1.0, -2.0]].into_iter().enumerate() {
        for shift in shifts {
            let xs = ctx.shifted(shift);
            let moved = [
                (rev, catch(|| jacrev_many(f, &xs)).map(|b| join_blocks(&b, m, &sizes))),
                (fwd, catch(|| jacfwd_many(f, &xs)).map(|b| join_blocks(&b, m, &sizes))),
            ];
            for (at, moved) in moved {
                if let (Ok(a), Ok(b)) = (at, moved) {
                    for i in 0..m * n {
                        sides[side][i] = sides[side][i].max((a[i] - b[i]).abs());
                    }
                }
            }
        }
    }
    sides[0].iter().zip(&sides[1]).map(|(a, b)| a.min(*b)).collect()
}

/// Whether `a` and `b` differ by more than `tol` (NaN counts as more).
fn outside(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs().partial_cmp(&tol).is_none_or(|o| o == std::cmp::Ordering::Greater)
}

/// Whether `v` lies between the one-sided slopes, give or take `tol`.
fn within(v: f64, (a, b): (f64, f64), tol: f64) -> bool {
    v >= a.min(b) - tol && v <= a.max(b) + tol
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn abs_dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x * y).abs()).sum()
}

fn fast<T: Element>(ctx: &Ctx<T>, probes: usize, part: &mut Part) {
    let (f, xs) = (ctx.spec.f, ctx.spec.xs);
    let [rv, fv, dv] = ctx.spec.views;
    let group = ctx.group.as_str();
    let mut rng = Rng::new(ctx.ck.seed);
    let inv_scales: f64 = ctx.x0.iter().map(|x| 1.0 / x.abs().max(ctx.fd.floor)).sum();
    let (mut e_rf, mut e_ff, mut e_rv) = (Vec::new(), Vec::new(), Vec::new());
    let mut errors: [Option<String>; 3] = [None, None, None];
    let (mut kinks, mut uncertain) = ([0usize; 2], [0usize; 2]);
    for p in 0..probes {
        let (u, v) = (rng.signs(ctx.n()), rng.signs(ctx.m()));
        let ut: Vec<Tensor<T>> = unflatten(&u, &ctx.shapes);
        let vt: Tensor<T> = unflatten(&v, std::slice::from_ref(&ctx.out_shape)).remove(0);
        let z = catch(|| vjp_many(f, xs).1(&vt)).map(|g| g.iter().flat_map(flat).collect::<Vec<f64>>());
        let w = catch(|| jvp_many(f, xs, &ut).1).map(|t| flat(&t));
        let mut d = derivative(&ctx.ev, &ctx.x0, Dir::Along(&u), &ctx.fd);
        // The atol scale: the magnitudes the two projections add up, plus the natural size
        // of the entries summed, m·M·Σⱼ 1/max(|xⱼ|, floor) (M the largest magnitude).
        let scale = z.as_ref().map_or(0.0, |z| abs_dot(z, &u))
            + w.as_ref().map_or(0.0, |w| abs_dot(w, &v))
            + ctx.magnitude * v.len() as f64 * inv_scales;
        let (r, q) = (z.as_ref().map(|z| dot(z, &u)), w.as_ref().map(|w| dot(w, &v)));
        let off = |a: &Result<f64, &String>, b: f64, err: f64, noise: f64| {
            a.as_ref().is_ok_and(|a| outside(*a, b, ctx.tol(a.abs().min(b.abs()), scale, err, noise)))
        };
        if let Ok(d) = &mut d {
            // A probe that disagrees with an analytic view gets a second tableau first.
            let s0 = dot(&d.value, &v);
            if off(&r, s0, abs_dot(&d.err, &v), 0.0) || off(&q, s0, abs_dot(&d.err, &v), 0.0) {
                *d = confirm(&ctx.ev, &ctx.x0, Dir::Along(&u), &ctx.fd, d);
            }
        }
        // Still off: measure the analytic projections' rounding noise (see `full_noise`).
        let fd_now = d.as_ref().ok().map(|d| (dot(&d.value, &v), abs_dot(&d.err, &v)));
        let disagree = fd_now.is_some_and(|(s0, e0)| off(&r, s0, e0, 0.0) || off(&q, s0, e0, 0.0))
            || q.as_ref().is_ok_and(|q| off(&r, *q, 0.0, 0.0));
        let mut noise = 0.0f64;
        if disagree {
            let mut sides = [0.0f64; 2];
            for (side, shifts) in [[1.0, 2.0], [-1.0, -2.0]].into_iter().enumerate() {
                for shift in shifts {
                    let xs2 = ctx.shifted(shift);
                    let r2 = catch(|| vjp_many(f, &xs2).1(&vt))
                        .map(|g| dot(&g.iter().flat_map(flat).collect::<Vec<f64>>(), &u));
                    let q2 = catch(|| jvp_many(f, &xs2, &ut).1).map(|t| dot(&flat(&t), &v));
                    for (a, b) in [(&r, r2), (&q, q2)] {
                        if let (Ok(a), Ok(b)) = (a, b) {
                            sides[side] = sides[side].max((a - b).abs());
                        }
                    }
                }
            }
            noise = sides[0].min(sides[1]);
        }
        if let Ok(d) = &d {
            let s = dot(&d.value, &v);
            // Extrapolation error, plus the bend of the direction by rounding each coordinate
            // of x ± h·u (≤ one ulp of xⱼ between the two points): ≤ Σⱼ |(Jᵀv)ⱼ|·ulp(xⱼ)/2h.
            let bend = z.as_ref().map_or(0.0, |z| {
                z.iter().zip(&ctx.x0).map(|(zj, xj)| zj.abs() * ctx.ev.eps * xj.abs()).sum::<f64>()
                    / (2.0 * d.h_min)
            });
            let err = abs_dot(&d.err, &v) + bend;
            for (i, got) in [(0, &r), (1, &q)] {
                let Ok(got) = got else { continue };
                let e =
                    Entry::new(Location::Probe(p), s, *got, ctx.tol(s, scale, err, noise), Some((err, d.h0)));
                let loose = e.abs_err > ctx.tol(s, scale, 0.0, noise);
                if (!e.ok() || loose) && probe_kink(ctx, &u, &v, &e) {
                    let name = Comparison::new(group, [rv, fv][i], dv).name();
                    let sl = probe_slopes(ctx, &u, &v).unwrap_or((f64::NAN, f64::NAN));
                    part.kinks.push(Kink { comparison: name, entry: e, slopes: sl });
                    kinks[i] += 1;
                    continue;
                }
                uncertain[i] += usize::from(loose && e.ok());
                [&mut e_rf, &mut e_ff][i].push(e);
            }
        }
        if let (Ok(r), Ok(q)) = (&r, &q) {
            e_rv.push(Entry::new(
                Location::Probe(p),
                *q,
                *r,
                ctx.tol(q.abs().max(r.abs()), scale, 0.0, noise),
                None,
            ));
        }
        for (slot, res) in errors.iter_mut().zip([z.err(), w.err(), d.err()]) {
            if slot.is_none() {
                *slot = res;
            }
        }
    }
    let [ez, ew, ed] = errors;
    let finish = |view: &str, reference: &str, entries: Vec<Entry>, k: usize, errs: [&Option<String>; 2]| {
        let c = Comparison::new(group, view, reference);
        match errs {
            [Some(e), _] => c.with_error(format!("{view}: {e}")),
            [_, Some(e)] => c.with_error(format!("{reference}: {e}")),
            _ => c.with_entries(entries, k),
        }
    };
    part.comparisons.push(finish(rv, dv, e_rf, kinks[0], [&ez, &ed]).with_uncertain(uncertain[0]));
    part.comparisons.push(finish(fv, dv, e_ff, kinks[1], [&ew, &ed]).with_uncertain(uncertain[1]));
    part.comparisons.push(finish(rv, fv, e_rv, 0, [&ez, &ew]));
}

/// One-sided slopes of `vᵀf` along `u`, if some output entry has a kink within the step.
fn probe_slopes<T: Element>(ctx: &Ctx<T>, u: &[f64], v: &[f64]) -> Option<(f64, f64)> {
    let probe = kink_probe(&ctx.ev, &ctx.x0, Dir::Along(u), &ctx.fd, &ctx.f0).ok()?;
    if probe.iter().all(Option::is_none) {
        return None;
    }
    // Entries without a kink contribute their central slope to both sides.
    let d = derivative(&ctx.ev, &ctx.x0, Dir::Along(u), &ctx.fd).ok()?;
    let (mut up, mut down) = (0.0, 0.0);
    for (k, p) in probe.iter().enumerate() {
        let (a, b) = p.unwrap_or((d.value[k], d.value[k]));
        up += v[k] * a;
        down += v[k] * b;
    }
    Some((up, down))
}

fn probe_kink<T: Element>(ctx: &Ctx<T>, u: &[f64], v: &[f64], e: &Entry) -> bool {
    probe_slopes(ctx, u, v).is_some_and(|sl| within(e.got, sl, e.tol))
}

/// Structural checks on one seeded probe: determinism, primal consistency, zero in zero
/// out, shapes.
fn structural<T: Element>(ctx: &Ctx<T>, y: &Tensor<T>, part: &mut Part) {
    let (f, xs) = (ctx.spec.f, ctx.spec.xs);
    let group = ctx.group.as_str();
    let mut rng = Rng::new(ctx.ck.seed ^ 0x57_5275_6374);
    let (u, v) = (rng.signs(ctx.n()), rng.signs(ctx.m()));
    let ut: Vec<Tensor<T>> = unflatten(&u, &ctx.shapes);
    let vt: Tensor<T> = unflatten(&v, std::slice::from_ref(&ctx.out_shape)).remove(0);
    let zeros_in: Vec<Tensor<T>> = ctx.shapes.iter().map(|s| Tensor::zeros(s)).collect();
    let mut add = |name: &str, r: Result<Option<String>, String>| {
        let (passed, detail) = match r {
            Ok(None) => (true, String::new()),
            Ok(Some(d)) => (false, d),
            Err(e) => (false, format!("panicked: {e}")),
        };
        part.structural.push(Structural { name: format!("{group}{name}"), passed, detail });
    };
    let same = |a: &Tensor<T>, b: &Tensor<T>, what: &str| {
        (a.shape() != b.shape()
            || a.data().iter().zip(b.data()).any(|(p, q)| p.to_f64().to_bits() != q.to_f64().to_bits()))
        .then(|| format!("{what}: {:?} vs {:?}", first_diff(a, b), a.shape()))
    };
    add("value is deterministic", catch(|| same(&no_grad(|| f(xs)), y, "two evaluations differ")));
    let rev = catch(|| {
        let (yr, pb) = vjp_many(f, xs);
        (yr, pb(&vt), pb(&Tensor::zeros(&ctx.out_shape)))
    });
    let rev2 = catch(|| vjp_many(f, xs).1(&vt));
    let fwd = catch(|| jvp_many(f, xs, &ut));
    let fwd2 = catch(|| jvp_many(f, xs, &ut).1);
    let fwd0 = catch(|| jvp_many(f, xs, &zeros_in).1);
    add(
        "reverse mode's value equals the value",
        rev.as_ref().map(|(yr, _, _)| same(yr, y, "the values differ")).map_err(Clone::clone),
    );
    add(
        "forward mode's value equals the value",
        fwd.as_ref().map(|(yf, _)| same(yf, y, "the values differ")).map_err(Clone::clone),
    );
    add(
        "gradient shapes match the inputs",
        rev.as_ref()
            .map(|(_, g, _)| {
                let got: Vec<&[usize]> = g.iter().map(|t| t.shape()).collect();
                let want: Vec<&[usize]> = ctx.shapes.iter().map(Vec::as_slice).collect();
                (got != want).then(|| format!("cotangent shapes {got:?} for inputs of shapes {want:?}"))
            })
            .map_err(Clone::clone),
    );
    add(
        "tangent shape matches the output",
        fwd.as_ref()
            .map(|(_, t)| {
                (t.shape() != ctx.out_shape.as_slice()).then(|| {
                    format!("tangent of shape {:?} for an output of shape {:?}", t.shape(), ctx.out_shape)
                })
            })
            .map_err(Clone::clone),
    );
    add(
        "zero cotangent gives zero gradient",
        rev.as_ref()
            .map(|(_, _, g0)| nonzero(g0).map(|(i, v)| format!("input {i} gets {v:e}")))
            .map_err(Clone::clone),
    );
    add(
        "zero tangent gives zero derivative",
        fwd0.map(|t| nonzero(std::slice::from_ref(&t)).map(|(_, v)| format!("tangent entry {v:e}"))),
    );
    add(
        "re-running reverse mode gives identical gradients",
        match (&rev, rev2) {
            (Ok((_, g, _)), Ok(g2)) => {
                Ok(g.iter().zip(&g2).find_map(|(a, b)| same(a, b, "two sweeps differ")))
            }
            (Err(e), _) => Err(e.clone()),
            (_, Err(e)) => Err(e),
        },
    );
    add(
        "re-running forward mode gives identical tangents",
        match (&fwd, fwd2) {
            (Ok((_, t)), Ok(t2)) => Ok(same(t, &t2, "two sweeps differ")),
            (Err(e), _) => Err(e.clone()),
            (_, Err(e)) => Err(e),
        },
    );
}

fn first_diff<T: Element>(a: &Tensor<T>, b: &Tensor<T>) -> Option<(usize, f64, f64)> {
    a.data()
        .iter()
        .zip(b.data())
        .enumerate()
        .find(|(_, (p, q))| p.to_f64().to_bits() != q.to_f64().to_bits())
        .map(|(i, (p, q))| (i, p.to_f64(), q.to_f64()))
}

/// The first input holding a non-zero (or NaN) entry, and that entry.
fn nonzero<T: Element>(ts: &[Tensor<T>]) -> Option<(usize, f64)> {
    ts.iter()
        .enumerate()
        .find_map(|(i, t)| t.data().iter().map(|v| v.to_f64()).find(|v| *v != 0.0).map(|v| (i, v)))
}
