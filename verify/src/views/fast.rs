//! Fast mode: random projections `vᵀJu`, one reverse sweep, one forward sweep and one
//! directional difference each.

use autodiff::{Element, Tensor, jvp_many, vjp_many};

use super::{Ctx, Part, Rng, abs_dot, dot, flat, outside, unflatten, within};
use crate::fd::{Dir, confirm, derivative, kink_probe};
use crate::panics::catch;
use crate::report::{Comparison, Entry, Kink, Location};

pub(super) fn fast<T: Element>(ctx: &Ctx<T>, probes: usize, part: &mut Part) {
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
