//! The functional transforms, named as JAX names them: `grad`, `value_and_grad`, `vjp`,
//! `jvp`, each with a `_many` variant over several inputs. `f` is an ordinary closure; the
//! transforms nest (`grad` of `grad`, `jvp` of `grad`, …) to any order.

use std::sync::Arc;

use kernels::Element;

use crate::Tensor;
use crate::backward::fill_zeros;
use crate::engine::{Sweep, apply, sweep};
use crate::mode::{self, Level};
use crate::noderef::NodeRef;
use crate::op::Op;
use crate::tensor::DualPart;
use crate::window::Window;

/// The identity, recorded: gives a tracked input a node of its own, so a transform can ask
/// for the gradient with respect to exactly this use of it (d/dx x = 1).
#[derive(Clone)]
struct Alias;
impl<T: Element> Op<T> for Alias {
    fn name(&self) -> &str {
        "alias"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        x[0].plain()
    }
    fn vjp(&self, _: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        vec![Some(g.clone())]
    }
    fn jvp(&self, _: &[Tensor<T>], _: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        t[0].clone()
    }
    fn jvp_batch(
        &self,
        _: &[Tensor<T>],
        _: &Tensor<T>,
        t: &[Option<Tensor<T>>],
        _: usize,
    ) -> Option<Tensor<T>> {
        t[0].clone()
    }
    fn vjp_batch(&self, _: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>, _: usize) -> Vec<Option<Tensor<T>>> {
        vec![Some(g.clone())]
    }
}

/// Fresh nodes for the inputs of a reverse transform: a leaf for an untracked input, an
/// alias of a tracked one (so an enclosing graph still sees through it).
pub(crate) fn track<T: Element>(xs: &[Tensor<T>]) -> (Vec<Tensor<T>>, Vec<NodeRef<T>>) {
    mode::set_recording(true, || {
        let xt: Vec<Tensor<T>> =
            xs.iter().map(|x| if x.is_tracked() { apply(Alias, &[x]) } else { x.requires_grad() }).collect();
        let nodes = xt.iter().map(|t| t.node.clone().expect("tracked by construction")).collect();
        (xt, nodes)
    })
}

/// The value of `f` at `x` and its gradient ∇f(x), shaped like `x`.
///
/// # Panics
/// If `f` returns more than one element (use [`vjp`]).
///
/// ```
/// use autodiff::{value_and_grad, Tensor};
/// // f(x) = Σ sin(x)·x,  ∂f/∂xᵢ = cos(xᵢ)·xᵢ + sin(xᵢ)
/// let x = Tensor::from_vec(vec![0.0f64, 1.0], &[2]);
/// let (y, g) = value_and_grad(|x: &Tensor<f64>| (&x.sin() * x).sum(), &x);
/// assert_eq!(y.item(), 1f64.sin());
/// assert_eq!(g.to_vec(), [0.0, 1f64.cos() + 1f64.sin()]);
/// ```
#[track_caller]
pub fn value_and_grad<T: Element>(
    f: impl Fn(&Tensor<T>) -> Tensor<T>,
    x: &Tensor<T>,
) -> (Tensor<T>, Tensor<T>) {
    let (y, mut g) = value_and_grad_many(|xs| f(&xs[0]), std::slice::from_ref(x));
    (y, g.remove(0))
}

/// ∇f(x), shaped like `x`.
///
/// # Panics
/// If `f` returns more than one element.
///
/// ```
/// use autodiff::{grad, Tensor};
/// // f(x) = x³: f' = 3x², f'' = 6x, and grad nests.
/// let cube = |x: &Tensor<f64>| &(x * x) * x;
/// let x = Tensor::scalar(2.0);
/// assert_eq!(grad(cube, &x).item(), 12.0);
/// assert_eq!(grad(|x: &Tensor<f64>| grad(cube, x), &x).item(), 12.0);
/// ```
#[track_caller]
pub fn grad<T: Element>(f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>) -> Tensor<T> {
    value_and_grad(f, x).1
}

/// [`value_and_grad`] over several inputs: the gradient with respect to each.
///
/// ```
/// use autodiff::{value_and_grad_many, Tensor};
/// // f(a, b) = Σ a·b: ∂f/∂a = b, ∂f/∂b = a
/// let (a, b) = (Tensor::from_vec(vec![1.0f32, 2.0], &[2]), Tensor::from_vec(vec![3.0, 4.0], &[2]));
/// let (y, g) = value_and_grad_many(|v| (&v[0] * &v[1]).sum(), &[a, b]);
/// assert_eq!((y.item(), g[0].to_vec(), g[1].to_vec()), (11.0, vec![3.0, 4.0], vec![1.0, 2.0]));
/// ```
#[track_caller]
pub fn value_and_grad_many<T: Element>(
    f: impl Fn(&[Tensor<T>]) -> Tensor<T>,
    xs: &[Tensor<T>],
) -> (Tensor<T>, Vec<Tensor<T>>) {
    let (xt, targets) = track(xs);
    let y = mode::set_recording(true, || f(&xt));
    assert!(
        y.numel() == 1,
        "grad: f must return one element, but it returned shape {:?}; use vjp with a cotangent",
        y.shape()
    );
    let shapes: Vec<&[usize]> = xs.iter().map(|x| x.shape()).collect();
    let Some(node) = y.node.clone() else {
        return (y, fill_zeros(vec![None; xs.len()], &shapes));
    };
    let seed = Tensor::full(y.shape(), T::ONE);
    let (g, recorded) =
        sweep(&[(node, seed)], Some(&targets), Sweep { create_graph: None, retain_graph: None, batch: None });
    // Unless an enclosing graph will differentiate the value, it leaves without its node.
    let y = if recorded { y } else { Tensor { node: None, ..y } };
    (y, fill_zeros(g, &shapes))
}

/// [`grad`] over several inputs.
///
/// ```
/// use autodiff::{grad_many, Tensor};
/// // f(x, y) = x²y: (2xy, x²)
/// let g = grad_many(|v| &(&v[0] * &v[0]) * &v[1], &[Tensor::scalar(3.0f64), Tensor::scalar(2.0)]);
/// assert_eq!((g[0].item(), g[1].item()), (12.0, 9.0));
/// ```
#[track_caller]
pub fn grad_many<T: Element>(f: impl Fn(&[Tensor<T>]) -> Tensor<T>, xs: &[Tensor<T>]) -> Vec<Tensor<T>> {
    value_and_grad_many(f, xs).1
}

/// A pullback: maps a cotangent of `f`'s output to the cotangent(s) of its input(s).
pub type Pullback<T, R> = Box<dyn Fn(&Tensor<T>) -> R>;

/// `y = f(x)` and its pullback `u ↦ uᵀ·∂f/∂x` (a cotangent shaped like `y` to one shaped
/// like `x`). The pullback may be called any number of times.
///
/// # Panics
/// The pullback panics if the cotangent's shape differs from `y`'s.
///
/// ```
/// use autodiff::{vjp, Tensor};
/// // f(x) = 2x (elementwise): the pullback is u ↦ 2u
/// let (y, pullback) = vjp(|x: &Tensor<f64>| x * 2.0, &Tensor::from_vec(vec![1.0, 2.0], &[2]));
/// assert_eq!(y.to_vec(), [2.0, 4.0]);
/// assert_eq!(pullback(&Tensor::from_vec(vec![1.0, -1.0], &[2])).to_vec(), [2.0, -2.0]);
/// ```
#[track_caller]
pub fn vjp<T: Element>(
    f: impl Fn(&Tensor<T>) -> Tensor<T>,
    x: &Tensor<T>,
) -> (Tensor<T>, Pullback<T, Tensor<T>>) {
    let (y, pb) = vjp_many(|xs| f(&xs[0]), std::slice::from_ref(x));
    (y, Box::new(move |u: &Tensor<T>| pb(u).remove(0)))
}

/// [`vjp`] over several inputs: the pullback returns one cotangent per input.
///
/// ```
/// use autodiff::{vjp_many, Tensor};
/// // f(a, b) = a·b (elementwise): the pullback is u ↦ (u·b, u·a)
/// let (a, b) = (Tensor::from_vec(vec![1.0f64, 2.0], &[2]), Tensor::from_vec(vec![3.0, 5.0], &[2]));
/// let (_, pullback) = vjp_many(|v| &v[0] * &v[1], &[a, b]);
/// let g = pullback(&Tensor::ones(&[2]));
/// assert_eq!((g[0].to_vec(), g[1].to_vec()), (vec![3.0, 5.0], vec![1.0, 2.0]));
/// ```
#[track_caller]
pub fn vjp_many<T: Element>(
    f: impl Fn(&[Tensor<T>]) -> Tensor<T>,
    xs: &[Tensor<T>],
) -> (Tensor<T>, Pullback<T, Vec<Tensor<T>>>) {
    let (xt, targets) = track(xs);
    let y = mode::set_recording(true, || f(&xt));
    let shapes: Vec<Vec<usize>> = xs.iter().map(|x| x.shape().to_vec()).collect();
    let (node, y_shape) = (y.node.clone(), y.shape.clone());
    let pullback = move |u: &Tensor<T>| {
        assert!(
            u.shape == y_shape,
            "vjp: the cotangent has shape {:?} but f's output has shape {:?}",
            u.shape(),
            &*y_shape
        );
        let refs: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
        let Some(node) = &node else { return fill_zeros(vec![None; refs.len()], &refs) };
        let opts = Sweep { create_graph: None, retain_graph: Some(true), batch: None };
        fill_zeros(sweep(&[(node.clone(), u.clone())], Some(&targets), opts).0, &refs)
    };
    (y, Box::new(pullback))
}

/// `y = f(x)` and the directional derivative `∂f/∂x · v` (forward mode: `x` becomes the
/// dual tensor `x + ε·v` and every op propagates the tangent).
///
/// # Panics
/// If `v`'s shape differs from `x`'s.
///
/// ```
/// use autodiff::{jvp, Tensor};
/// // f(x) = exp(x): ∂f·v = exp(x)·v
/// let (y, dy) = jvp(|x: &Tensor<f64>| x.exp(), &Tensor::scalar(0.0), &Tensor::scalar(3.0));
/// assert_eq!((y.item(), dy.item()), (1.0, 3.0));
/// ```
#[track_caller]
pub fn jvp<T: Element>(
    f: impl Fn(&Tensor<T>) -> Tensor<T>,
    x: &Tensor<T>,
    v: &Tensor<T>,
) -> (Tensor<T>, Tensor<T>) {
    jvp_many(|xs| f(&xs[0]), std::slice::from_ref(x), std::slice::from_ref(v))
}

/// [`jvp`] over several inputs, each with its tangent: `Σᵢ ∂f/∂xᵢ · vᵢ`.
///
/// # Panics
/// If the counts differ or a tangent's shape differs from its input's.
///
/// ```
/// use autodiff::{jvp_many, Tensor};
/// // f(a, b) = a·b: ∂f·(u, w) = u·b + a·w = 1·5 + 2·1
/// let (_, dy) = jvp_many(|v| &v[0] * &v[1], &[Tensor::scalar(2.0f64), Tensor::scalar(5.0)],
///                        &[Tensor::scalar(1.0), Tensor::scalar(1.0)]);
/// assert_eq!(dy.item(), 7.0);
/// ```
#[track_caller]
pub fn jvp_many<T: Element>(
    f: impl Fn(&[Tensor<T>]) -> Tensor<T>,
    xs: &[Tensor<T>],
    vs: &[Tensor<T>],
) -> (Tensor<T>, Tensor<T>) {
    assert!(xs.len() == vs.len(), "jvp: {} inputs but {} tangents", xs.len(), vs.len());
    for (i, (x, v)) in xs.iter().zip(vs).enumerate() {
        assert!(
            x.shape == v.shape,
            "jvp: tangent {i} has shape {:?} but input {i} has shape {:?}",
            v.shape(),
            x.shape()
        );
    }
    let guard = mode::push_level();
    let duals: Vec<Tensor<T>> =
        xs.iter().zip(vs).map(|(x, v)| make_dual(x, v.clone(), guard.0, None)).collect();
    unpack(&f(&duals), guard.0, None)
}

/// `x + ε·v` at `level` (`batch`: `v` stacks that many tangents along a leading axis).
pub(crate) fn make_dual<T: Element>(
    x: &Tensor<T>,
    v: Tensor<T>,
    level: Level,
    batch: Option<usize>,
) -> Tensor<T> {
    make_dual_windowed(x, v, level, batch, None)
}

/// [`make_dual`] with a compact batched tangent `v` at `window` (see `crate::window`).
pub(crate) fn make_dual_windowed<T: Element>(
    x: &Tensor<T>,
    v: Tensor<T>,
    level: Level,
    batch: Option<usize>,
    window: Option<Window>,
) -> Tensor<T> {
    let d = DualPart { level, tangent: v, lower: x.dual.clone(), primal_node: x.node.clone(), batch, window };
    Tensor { dual: Some(Arc::new(d)), ..x.clone() }
}

/// Splits `y` into its primal and its tangent at `level` (zeros, `[batch] ++ y.shape` when
/// batched, if `y` does not depend on the level's inputs).
///
/// # Panics
/// If `y` carries a level not open on this thread (a dual of an inner, ended transform
/// escaped, or a dual from another thread's transform).
pub(crate) fn unpack<T: Element>(
    y: &Tensor<T>,
    level: Level,
    batch: Option<usize>,
) -> (Tensor<T>, Tensor<T>) {
    let (primal, t, window) = unpack_compact(y, level, batch);
    (primal, crate::window::dense(t, window))
}

/// [`unpack`] leaving a compact batched tangent compact, with its window.
pub(crate) fn unpack_compact<T: Element>(
    y: &Tensor<T>,
    level: Level,
    batch: Option<usize>,
) -> (Tensor<T>, Tensor<T>, Option<Window>) {
    match &y.dual {
        Some(d) if d.level == level => {
            let primal = Tensor {
                shape: y.shape.clone(),
                data: y.data.clone(),
                node: d.primal_node.clone(),
                dual: d.lower.clone(),
            };
            (primal, d.tangent.clone(), d.window)
        }
        Some(d) if !mode::level_active(d.level) => {
            panic!(
                "jvp: f returned a dual tensor of forward-mode level {}, which is not open on this \
                 thread: an inner jvp's dual that escaped it, or another thread's; detach() it first",
                d.level
            )
        }
        _ => {
            // f does not depend on x: the tangent is zero.
            let shape: Vec<usize> = batch.into_iter().chain(y.shape().iter().copied()).collect();
            (y.clone(), Tensor::zeros(&shape), None)
        }
    }
}
