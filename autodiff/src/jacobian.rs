//! Jacobians and Hessians: `jacfwd`, `jacrev`, `hessian`, `hvp`, `vhp`.
//!
//! Both Jacobians batch over basis vectors: `jacfwd` pushes a chunk of tangents through one
//! forward pass (a dual tensor whose tangent has a leading batch axis; every op's
//! `jvp_batch` rule), `jacrev` a chunk of cotangents through one backward sweep (`vjp_batch`),
//! on the graph recorded once. `chunk` bounds the batch, so memory stays at `chunk` times
//! one tangent per intermediate. The Jacobian of `f: shape_in → shape_out` has shape
//! `shape_out ++ shape_in`.
//!
//! A chunk of basis vectors is zero outside a few rows of the input; `jacfwd` and `hessian`
//! keep such tangents compact through the ops that allow it (see `crate::window`), so
//! functions coupling nearby elements only cost far less than their dense Jacobian passes.

use kernels::Element;

use crate::Tensor;
use crate::backward::fill_zeros;
use crate::engine::{Sweep, sweep};
use crate::functional::{
    grad, grad_many, jvp, jvp_many, make_dual_windowed, track, unpack_compact, vjp, vjp_many,
};
use crate::mode;
use crate::window::Window;

/// Basis vectors per pass when no chunk is given: enough to keep the batched kernels busy,
/// few enough that 64 tangents of every intermediate fit in memory for typical sizes.
pub const DEFAULT_CHUNK: usize = 64;

/// Rows `start..start + c` of the identity on the elements of `shape`, as a batched tangent
/// `[c] ++ shape`: compact when they lie within fewer than all of `shape`'s rows (axis 0),
/// with that [`Window`].
fn compact_basis<T: Element>(start: usize, c: usize, shape: &[usize]) -> (Tensor<T>, Option<Window>) {
    basis_in(start, c, shape, true)
}

/// [`compact_basis`] always dense (`jacrev`'s cotangents).
fn basis<T: Element>(start: usize, c: usize, shape: &[usize]) -> Tensor<T> {
    basis_in(start, c, shape, false).0
}

/// The basis rows of [`compact_basis`] (compact only if `compact`).
fn basis_in<T: Element>(
    start: usize,
    c: usize,
    shape: &[usize],
    compact: bool,
) -> (Tensor<T>, Option<Window>) {
    let n: usize = shape.iter().product();
    // Elements per row of axis 0 (all of them for a 0-d shape).
    let row = shape.first().map_or(n, |&rows| n.checked_div(rows).unwrap_or(0));
    let window = match shape.first() {
        Some(&rows) if compact && row > 0 && c > 0 => {
            let (lo, hi) = (start / row, (start + c).div_ceil(row));
            (hi - lo < rows).then_some(Window { start: lo, len: hi - lo, full: rows })
        }
        _ => None,
    };
    // The tangent's shape, its elements per basis vector, and the first element's index.
    let (full, m, offset): (Vec<usize>, usize, usize) = match window {
        Some(w) => {
            ([c, w.len].into_iter().chain(shape[1..].iter().copied()).collect(), w.len * row, w.start * row)
        }
        None => (std::iter::once(c).chain(shape.iter().copied()).collect(), n, 0),
    };
    // From the buffer cache: the previous pass's basis is reused, not fresh pages.
    let t = crate::ops::build_zeroed(full.into(), c * m, |v| {
        for i in 0..c {
            v[i * m + start - offset + i] = T::ONE;
        }
    });
    (t, window)
}

/// `[n, ...out]` rows (one per input element) to the Jacobian `out ++ in`.
fn rows_to_jacobian<T: Element>(rows: &Tensor<T>, out: &[usize], input: &[usize]) -> Tensor<T> {
    let (n, m) = (input.iter().product::<usize>(), out.iter().product::<usize>());
    let shape: Vec<usize> = out.iter().chain(input).copied().collect();
    rows.reshape(&[n, m]).t().reshape(&shape)
}

#[track_caller]
fn same_shape<T: Element>(what: &str, x: &Tensor<T>, v: &Tensor<T>) {
    assert!(x.shape() == v.shape(), "{what}: v has shape {:?} but x has shape {:?}", v.shape(), x.shape());
}

#[track_caller]
fn check_chunk(chunk: usize) {
    assert!(chunk > 0, "jacobian: the chunk size must be at least 1");
}

/// The Jacobian of `f` at `x` by forward mode, `chunk` basis vectors per pass: `⌈n/chunk⌉`
/// forward passes for `n` inputs. Cheapest when inputs are few.
///
/// # Panics
/// If `chunk == 0`.
///
/// ```
/// use autodiff::{jacfwd_chunked, Tensor};
/// // f(x) = x ⊙ x: J = diag(2x)
/// let j = jacfwd_chunked(|x: &Tensor<f64>| x * x, &Tensor::from_vec(vec![1.0, 3.0], &[2]), 1);
/// assert_eq!((j.shape(), j.to_vec()), (&[2, 2][..], vec![2.0, 0.0, 0.0, 6.0]));
/// ```
#[track_caller]
pub fn jacfwd_chunked<T: Element>(
    f: impl Fn(&Tensor<T>) -> Tensor<T>,
    x: &Tensor<T>,
    chunk: usize,
) -> Tensor<T> {
    // Each plain chunk `[c, m]` is written transposed straight into its columns of the
    // `[m, n]` Jacobian (no concatenated copy, no separate transpose).
    let n = x.numel();
    forward_passes(
        f,
        x,
        chunk,
        |out| out.iter().chain(x.shape()).copied().collect(),
        |jac, start, t, window| {
            let t = crate::window::dense(t.clone(), window);
            let (c, m) = (t.shape()[0], t.numel() / t.shape()[0].max(1));
            if c > 0 && m > 0 {
                crate::ops::transpose_into(t.data(), c, m, &mut jac[start..], n);
            }
        },
    )
}

/// The forward passes of a Jacobian by forward mode, `chunk` basis vectors each: pass
/// `[start, start + c)` gives the `[c, ...out]` block whose row `k` is `∂f/∂x_{start+k}`.
/// Plain blocks are handed to `place` with the Jacobian's buffer (of `shape(out)`, f's
/// output shape `out`) as they come — compact, with their window of `out`'s rows, where
/// they have one — so each block's memory is reused by the next pass; if the blocks carry
/// a graph or tangents (nested transforms), they are made dense and joined with
/// differentiable ops into the `out ++ in` Jacobian instead.
#[track_caller]
fn forward_passes<T: Element>(
    f: impl Fn(&Tensor<T>) -> Tensor<T>,
    x: &Tensor<T>,
    chunk: usize,
    shape: impl FnOnce(&[usize]) -> Vec<usize>,
    mut place: impl FnMut(&mut [T], usize, &Tensor<T>, Option<Window>),
) -> Tensor<T> {
    check_chunk(chunk);
    let n = x.numel();
    let pass = |start: usize| {
        let c = chunk.min(n - start);
        let guard = mode::push_level();
        let (v, window) = compact_basis(start, c, x.shape());
        let xd = make_dual_windowed(x, v, guard.0, Some(c), window);
        let (y, t, window) = unpack_compact(&f(&xd), guard.0, Some(c));
        drop(guard);
        (y.shape().to_vec(), t, window)
    };
    let (out, first, first_window) = pass(0);
    if first.is_tracked() || first.is_dual() {
        let mut rows = vec![crate::window::dense(first, first_window)];
        let mut start = rows[0].shape()[0];
        while start < n {
            let (_, t, w) = pass(start);
            start += t.shape()[0];
            rows.push(crate::window::dense(t, w));
        }
        return rows_to_jacobian(&Tensor::concat(&rows, 0), &out, x.shape());
    }
    let m: usize = out.iter().product();
    crate::ops::build(shape(&out).into(), m * n, |jac| {
        let mut start = first.shape()[0];
        place(jac, 0, &first, first_window);
        drop(first);
        while start < n {
            let (_, t, window) = pass(start);
            assert!(
                !t.is_tracked() && !t.is_dual(),
                "jacfwd: f's passes differ in whether they record a graph"
            );
            place(jac, start, &t, window);
            start += t.shape()[0];
        }
    })
}

/// [`jacfwd_chunked`] with [`DEFAULT_CHUNK`].
///
/// ```
/// use autodiff::{jacfwd, Tensor};
/// // f(x) = [x₀x₁, sin x₀]: J = [[x₁, x₀], [cos x₀, 0]]
/// let f = |x: &Tensor<f64>| Tensor::stack(&[&x.select(0, 0) * &x.select(0, 1), x.select(0, 0).sin()], 0);
/// let j = jacfwd(f, &Tensor::from_vec(vec![0.0, 2.0], &[2]));
/// assert_eq!(j.to_vec(), [2.0, 0.0, 1.0, 0.0]);
/// ```
#[track_caller]
pub fn jacfwd<T: Element>(f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>) -> Tensor<T> {
    jacfwd_chunked(f, x, DEFAULT_CHUNK)
}

/// The Jacobian of `f` at `x` by reverse mode: one recorded forward pass, then `⌈m/chunk⌉`
/// batched backward sweeps for `m` outputs. Cheapest when outputs are few.
///
/// # Panics
/// If `chunk == 0`.
///
/// ```
/// use autodiff::{jacrev_chunked, Tensor};
/// // f(x) = A·x: J = A
/// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
/// let f = |x: &Tensor<f64>| a.matmul(&x.reshape(&[2, 1])).reshape(&[3]);
/// let j = jacrev_chunked(f, &Tensor::from_vec(vec![0.5, -1.0], &[2]), 2);
/// assert_eq!(j.to_vec(), a.to_vec());
/// ```
#[track_caller]
pub fn jacrev_chunked<T: Element>(
    f: impl Fn(&Tensor<T>) -> Tensor<T>,
    x: &Tensor<T>,
    chunk: usize,
) -> Tensor<T> {
    check_chunk(chunk);
    let (xt, targets) = track(std::slice::from_ref(x));
    let y = mode::set_recording(true, || f(&xt[0]));
    let m = y.numel();
    let mut rows = Vec::new();
    let mut start = 0;
    while start < m {
        let c = chunk.min(m - start);
        let g = match &y.node {
            None => None,
            Some(node) => {
                let opts = Sweep { create_graph: None, retain_graph: Some(true), batch: Some(c) };
                sweep(&[(node.clone(), basis(start, c, y.shape()))], Some(&targets), opts).0.remove(0)
            }
        };
        let shape: Vec<usize> = std::iter::once(c).chain(x.shape().iter().copied()).collect();
        rows.push(fill_zeros(vec![g], &[&shape]).remove(0));
        start += c;
    }
    if rows.is_empty() {
        let shape: Vec<usize> = y.shape().iter().chain(x.shape()).copied().collect();
        return Tensor::zeros(&shape);
    }
    // Rows are [m, ...in]: already the Jacobian's layout, out ++ in.
    let shape: Vec<usize> = y.shape().iter().chain(x.shape()).copied().collect();
    Tensor::concat(&rows, 0).reshape(&shape)
}

/// [`jacrev_chunked`] with [`DEFAULT_CHUNK`].
///
/// ```
/// use autodiff::{jacfwd, jacrev, Tensor};
/// let f = |x: &Tensor<f64>| x.exp().matmul(&x.reshape(&[3, 1])).tanh();
/// let x = Tensor::from_vec(vec![0.1, -0.2, 0.3], &[1, 3]);
/// let (a, b) = (jacfwd(f, &x), jacrev(f, &x));
/// assert_eq!(a.shape(), &[1, 1, 1, 3]);
/// for (u, v) in a.to_vec().iter().zip(b.to_vec()) {
///     assert!((u - v).abs() <= 1e-15 * u.abs().max(1.0));
/// }
/// ```
#[track_caller]
pub fn jacrev<T: Element>(f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>) -> Tensor<T> {
    jacrev_chunked(f, x, DEFAULT_CHUNK)
}

/// The Hessian of a one-element `f` at `x` (shape `x.shape ++ x.shape`), forward-over-reverse:
/// [`jacfwd`] of [`grad`], laid out by symmetry: forward pass j gives `∂(∇f)/∂xⱼ`, which
/// is stored as row j (for a twice continuously differentiable f, H's row j; the passes
/// then fill whole rows and need no transpose).
///
/// ```
/// use autodiff::{hessian, Tensor};
/// // f(x) = x₀²x₁: H = [[2x₁, 2x₀], [2x₀, 0]]
/// let f = |x: &Tensor<f64>| (&x.select(0, 0).square() * &x.select(0, 1)).sum();
/// let h = hessian(f, &Tensor::from_vec(vec![3.0, 5.0], &[2]));
/// assert_eq!(h.to_vec(), [10.0, 6.0, 6.0, 0.0]);
/// ```
#[track_caller]
pub fn hessian<T: Element>(f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>) -> Tensor<T> {
    // Pass j's `∂(∇f)/∂xⱼ` is column j of the Jacobian of ∇f and, H being symmetric, row
    // j of H: each pass is a run of whole rows, copied in place (writing the 8 MB Hessian
    // of n = 1 000 transposed instead was a fifth of the time).
    let n = x.numel();
    let shape = |_: &[usize]| x.shape().iter().chain(x.shape()).copied().collect();
    forward_passes(
        |x: &Tensor<T>| grad(&f, x),
        x,
        DEFAULT_CHUNK,
        shape,
        |h, start, t, window| {
            let c = t.shape()[0];
            let rows = &mut h[start * n..(start + c) * n];
            match window {
                None => rows.copy_from_slice(t.data()),
                // Compact rows: each Hessian row is zero outside the window's elements
                // (all of it for an empty window).
                Some(w) => {
                    let run = t.numel().checked_div(c).unwrap_or(0);
                    let at = w.start * (n / w.full);
                    for (k, row) in rows.chunks_exact_mut(n.max(1)).enumerate() {
                        row[..at].fill(T::ZERO);
                        row[at..at + run].copy_from_slice(&t.data()[k * run..(k + 1) * run]);
                        row[at + run..].fill(T::ZERO);
                    }
                }
            }
        },
    )
}

/// The Hessian reverse-over-reverse: [`jacrev`] of [`grad`] (the gradient's sweep recorded,
/// then swept again with batched cotangents). Equal to [`hessian`] to rounding.
///
/// ```
/// use autodiff::{hessian, hessian_rev, Tensor};
/// let f = |x: &Tensor<f64>| x.sin().prod();
/// let x = Tensor::from_vec(vec![0.3, 0.7, 1.1], &[3]);
/// for (a, b) in hessian(f, &x).to_vec().iter().zip(hessian_rev(f, &x).to_vec()) {
///     assert!((a - b).abs() <= 1e-15);
/// }
/// ```
#[track_caller]
pub fn hessian_rev<T: Element>(f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>) -> Tensor<T> {
    jacrev(|x: &Tensor<T>| grad(&f, x), x)
}

/// The Hessian-vector product `H·v` of a one-element `f` at `x`, forward-over-reverse: one
/// gradient evaluation on dual tensors (a small constant times a gradient's cost).
///
/// # Panics
/// If `v`'s shape differs from `x`'s.
///
/// ```
/// use autodiff::{hvp, Tensor};
/// // f(x) = Σ x³: H = diag(6x), H·v = 6x ⊙ v
/// let hv = hvp(|x: &Tensor<f64>| x.powi(3).sum(), &Tensor::from_vec(vec![1.0, 2.0], &[2]),
///              &Tensor::from_vec(vec![1.0, -1.0], &[2]));
/// assert_eq!(hv.to_vec(), [6.0, -12.0]);
/// ```
#[track_caller]
pub fn hvp<T: Element>(f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>, v: &Tensor<T>) -> Tensor<T> {
    same_shape("hvp", x, v);
    jvp(|x: &Tensor<T>| grad(&f, x), x, v).1
}

/// The vector-Hessian product `vᵀ·H` of a one-element `f` at `x`, reverse-over-reverse
/// (the pullback of the gradient). Equal to [`hvp`] for the symmetric H of a twice
/// continuously differentiable f.
///
/// # Panics
/// If `v`'s shape differs from `x`'s.
///
/// ```
/// use autodiff::{vhp, Tensor};
/// let vh = vhp(|x: &Tensor<f64>| x.powi(3).sum(), &Tensor::from_vec(vec![1.0, 2.0], &[2]),
///              &Tensor::from_vec(vec![1.0, -1.0], &[2]));
/// assert_eq!(vh.to_vec(), [6.0, -12.0]);
/// ```
#[track_caller]
pub fn vhp<T: Element>(f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>, v: &Tensor<T>) -> Tensor<T> {
    same_shape("vhp", x, v);
    let (_, pullback) = vjp(|x: &Tensor<T>| grad(&f, x), x);
    pullback(v)
}

/// [`jacfwd`] over several inputs: one Jacobian per input (`out ++ inputᵢ.shape`), each by
/// batched forward passes with tangents on that input only.
///
/// ```
/// use autodiff::{jacfwd_many, Tensor};
/// // f(a, b) = a ⊙ b: ∂/∂a = diag(b), ∂/∂b = diag(a)
/// let (a, b) = (Tensor::from_vec(vec![1.0f64, 2.0], &[2]), Tensor::from_vec(vec![3.0, 4.0], &[2]));
/// let j = jacfwd_many(|v| &v[0] * &v[1], &[a, b]);
/// assert_eq!((j[0].to_vec(), j[1].to_vec()), (vec![3.0, 0.0, 0.0, 4.0], vec![1.0, 0.0, 0.0, 2.0]));
/// ```
#[track_caller]
pub fn jacfwd_many<T: Element>(f: impl Fn(&[Tensor<T>]) -> Tensor<T>, xs: &[Tensor<T>]) -> Vec<Tensor<T>> {
    (0..xs.len())
        .map(|i| {
            jacfwd(
                |xi: &Tensor<T>| {
                    let mut args = xs.to_vec();
                    args[i] = xi.clone();
                    f(&args)
                },
                &xs[i],
            )
        })
        .collect()
}

/// [`jacrev`] over several inputs: one Jacobian per input, from one recorded forward pass
/// and batched sweeps to all inputs at once.
///
/// ```
/// use autodiff::{jacrev_many, Tensor};
/// let (a, b) = (Tensor::from_vec(vec![1.0f64, 2.0], &[2]), Tensor::from_vec(vec![3.0, 4.0], &[2]));
/// let j = jacrev_many(|v| &v[0] * &v[1], &[a, b]);
/// assert_eq!((j[0].to_vec(), j[1].to_vec()), (vec![3.0, 0.0, 0.0, 4.0], vec![1.0, 0.0, 0.0, 2.0]));
/// ```
#[track_caller]
pub fn jacrev_many<T: Element>(f: impl Fn(&[Tensor<T>]) -> Tensor<T>, xs: &[Tensor<T>]) -> Vec<Tensor<T>> {
    let (xt, targets) = track(xs);
    let y = mode::set_recording(true, || f(&xt));
    let m = y.numel();
    let mut rows: Vec<Vec<Tensor<T>>> = vec![Vec::new(); xs.len()];
    let mut start = 0;
    while start < m {
        let c = DEFAULT_CHUNK.min(m - start);
        let shapes: Vec<Vec<usize>> =
            xs.iter().map(|x| std::iter::once(c).chain(x.shape().iter().copied()).collect()).collect();
        let refs: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
        let gs = match &y.node {
            None => vec![None; xs.len()],
            Some(node) => {
                let opts = Sweep { create_graph: None, retain_graph: Some(true), batch: Some(c) };
                sweep(&[(node.clone(), basis(start, c, y.shape()))], Some(&targets), opts).0
            }
        };
        for (r, g) in rows.iter_mut().zip(fill_zeros(gs, &refs)) {
            r.push(g);
        }
        start += c;
    }
    xs.iter()
        .zip(rows)
        .map(|(x, r)| {
            let shape: Vec<usize> = y.shape().iter().chain(x.shape()).copied().collect();
            if r.is_empty() { Tensor::zeros(&shape) } else { Tensor::concat(&r, 0).reshape(&shape) }
        })
        .collect()
}

/// The gradients of `f` with respect to every input, flattened and joined into one vector.
fn joined_grads<T: Element>(f: &impl Fn(&[Tensor<T>]) -> Tensor<T>, xs: &[Tensor<T>]) -> Tensor<T> {
    let parts: Vec<Tensor<T>> = grad_many(f, xs).iter().map(|g| g.reshape(&[g.numel()])).collect();
    Tensor::concat(&parts, 0)
}

/// Splits a joined vector (or the leading axis of `[Σnᵢ] ++ rest`) back into one tensor per
/// input, shaped `inputᵢ.shape ++ rest`.
fn split_joined<T: Element>(joined: &Tensor<T>, xs: &[Tensor<T>]) -> Vec<Tensor<T>> {
    let rest = &joined.shape()[1..];
    let mut at = 0;
    xs.iter()
        .map(|x| {
            let n = x.numel();
            at += n;
            let shape: Vec<usize> = x.shape().iter().chain(rest).copied().collect();
            joined.slice(0, at - n..at).reshape(&shape)
        })
        .collect()
}

/// [`hessian`] over several inputs: the blocks `H[i][j] = ∂²f/∂xᵢ∂xⱼ`, each shaped
/// `xᵢ.shape ++ xⱼ.shape`, forward-over-reverse (one batched [`jacfwd`] of all the
/// gradients per input j).
///
/// ```
/// use autodiff::{hessian_many, Tensor};
/// // f(a, b) = a²b: H = [[2b, 2a], [2a, 0]]
/// let h = hessian_many(|v| (&v[0].square() * &v[1]).sum(), &[Tensor::scalar(3.0f64), Tensor::scalar(5.0)]);
/// assert_eq!([h[0][0].item(), h[0][1].item(), h[1][0].item(), h[1][1].item()], [10.0, 6.0, 6.0, 0.0]);
/// ```
#[track_caller]
pub fn hessian_many<T: Element>(
    f: impl Fn(&[Tensor<T>]) -> Tensor<T>,
    xs: &[Tensor<T>],
) -> Vec<Vec<Tensor<T>>> {
    let columns: Vec<Vec<Tensor<T>>> = (0..xs.len())
        .map(|j| {
            let jac = jacfwd(
                |xj: &Tensor<T>| {
                    let mut args = xs.to_vec();
                    args[j] = xj.clone();
                    joined_grads(&f, &args)
                },
                &xs[j],
            );
            split_joined(&jac, xs)
        })
        .collect();
    // columns[j][i] is H[i][j].
    (0..xs.len()).map(|i| (0..xs.len()).map(|j| columns[j][i].clone()).collect()).collect()
}

/// [`hvp`] over several inputs: `(H·v)ᵢ = Σⱼ ∂²f/∂xᵢ∂xⱼ · vⱼ`, one per input, from one
/// gradient evaluation on dual tensors.
///
/// # Panics
/// If the counts differ or a `vᵢ`'s shape differs from its input's.
///
/// ```
/// use autodiff::{hvp_many, Tensor};
/// // f(a, b) = a²b, H = [[2b, 2a], [2a, 0]] at (3, 5); H·(1, 1) = (16, 6)
/// let hv = hvp_many(|v| (&v[0].square() * &v[1]).sum(), &[Tensor::scalar(3.0f64), Tensor::scalar(5.0)],
///                   &[Tensor::scalar(1.0), Tensor::scalar(1.0)]);
/// assert_eq!((hv[0].item(), hv[1].item()), (16.0, 6.0));
/// ```
#[track_caller]
pub fn hvp_many<T: Element>(
    f: impl Fn(&[Tensor<T>]) -> Tensor<T>,
    xs: &[Tensor<T>],
    vs: &[Tensor<T>],
) -> Vec<Tensor<T>> {
    let (_, joined) = jvp_many(|args| joined_grads(&f, args), xs, vs);
    split_joined(&joined, xs)
}

/// [`vhp`] over several inputs: `(vᵀH)ⱼ = Σᵢ vᵢ · ∂²f/∂xᵢ∂xⱼ`, reverse-over-reverse.
///
/// # Panics
/// If the counts differ or a `vᵢ`'s shape differs from its input's.
///
/// ```
/// use autodiff::{vhp_many, Tensor};
/// let vh = vhp_many(|v| (&v[0].square() * &v[1]).sum(), &[Tensor::scalar(3.0f64), Tensor::scalar(5.0)],
///                   &[Tensor::scalar(1.0), Tensor::scalar(1.0)]);
/// assert_eq!((vh[0].item(), vh[1].item()), (16.0, 6.0));
/// ```
#[track_caller]
pub fn vhp_many<T: Element>(
    f: impl Fn(&[Tensor<T>]) -> Tensor<T>,
    xs: &[Tensor<T>],
    vs: &[Tensor<T>],
) -> Vec<Tensor<T>> {
    assert!(xs.len() == vs.len(), "vhp: {} inputs but {} vectors", xs.len(), vs.len());
    for (i, (x, v)) in xs.iter().zip(vs).enumerate() {
        assert!(
            x.shape() == v.shape(),
            "vhp: vector {i} has shape {:?} but input {i} has shape {:?}",
            v.shape(),
            x.shape()
        );
    }
    let (_, pullback) = vjp_many(|args| joined_grads(&f, args), xs);
    let joined: Vec<Tensor<T>> = vs.iter().map(|v| v.reshape(&[v.numel()])).collect();
    pullback(&Tensor::concat(&joined, 0))
}
