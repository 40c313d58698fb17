//! Full mode: every entry of the Jacobian by every view.

use autodiff::{Element, Tensor, jacfwd_many, jacrev_many};

use super::{Ctx, Part, outside, within};
use crate::fd::{Derivative, Dir, Slopes, confirm, derivative, kink_probe};
use crate::panics::catch;
use crate::report::{Comparison, Entry, Kink};

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

pub(super) fn full<T: Element>(ctx: &Ctx<T>, part: &mut Part) {
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
