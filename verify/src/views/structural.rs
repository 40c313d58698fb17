//! Structural checks: determinism, the same value in every mode, zero in zero out, shapes.

use autodiff::{Element, Tensor, jvp_many, no_grad, vjp_many};

use super::{Ctx, Part, Rng, unflatten};
use crate::panics::catch;
use crate::report::Structural;

/// Structural checks on one seeded probe: determinism, primal consistency, zero in zero
/// out, shapes.
pub(super) fn structural<T: Element>(ctx: &Ctx<T>, y: &Tensor<T>, part: &mut Part) {
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
