//! The backward passes of tanh, sigmoid and relu as single fused kernels, each itself a
//! differentiable op (so the backward sweep stays one kernel per op and can still be
//! differentiated again). All three take the cotangent `g` and one tensor of the same
//! shape.

use kernels::Element;
use kernels::ew;

use super::build;
use crate::Tensor;
use crate::engine::apply;
use crate::op::Op;

#[derive(Clone, Copy)]
enum Kind {
    /// b(g, y) = g·(1 − y²): ∂b/∂g = 1 − y², ∂b/∂y = −2gy.
    Tanh,
    /// b(g, y) = g·y(1 − y): ∂b/∂g = y(1 − y), ∂b/∂y = g(1 − 2y).
    Sigmoid,
    /// b(g, x) = g·\[x > 0\]: ∂b/∂g = \[x > 0\], ∂b/∂x = 0 (almost everywhere).
    Relu,
}

#[derive(Clone, Copy)]
struct Backward(Kind);

/// Whether `op` is one of these fused backward ops (elementwise, so row-local).
pub(super) fn is_backward(op: &dyn std::any::Any) -> bool {
    op.is::<Backward>()
}

impl Backward {
    /// `s·∂b/∂v` (the partial in the second operand), `None` where it is zero.
    fn second<T: Element>(self, g: &Tensor<T>, v: &Tensor<T>, s: &Tensor<T>) -> Option<Tensor<T>> {
        let c = T::from_f64;
        match self.0 {
            Kind::Tanh => Some(s * &(&(g * v) * c(-2.0))),
            Kind::Sigmoid => Some(s * &(g * &(&(v * c(-2.0)) + T::ONE))),
            Kind::Relu => None,
        }
    }
}

impl<T: Element> Op<T> for Backward {
    fn name(&self) -> &str {
        match self.0 {
            Kind::Tanh => "tanh_backward",
            Kind::Sigmoid => "sigmoid_backward",
            Kind::Relu => "relu_backward",
        }
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let (g, v) = (x[0].data(), x[1].data());
        build(x[0].shape.clone(), g.len(), |out| match self.0 {
            Kind::Tanh => ew::tanh_backward(g, v, out),
            Kind::Sigmoid => ew::sigmoid_backward(g, v, out),
            Kind::Relu => ew::relu_backward(g, v, out),
        })
    }
    fn vjp(&self, x: &[Tensor<T>], _: &Tensor<T>, s: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        // b is linear in g: ∂b/∂g·s = b(s, v).
        vec![Some(apply(*self, &[s, &x[1]])), self.second(&x[0], &x[1], s)]
    }
    fn jvp(&self, x: &[Tensor<T>], _: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        let dg = t[0].as_ref().map(|t| apply(*self, &[t, &x[1]]));
        let dv = t[1].as_ref().and_then(|t| self.second(&x[0], &x[1], t));
        super::sum_some([dg, dv]).or_else(|| Some(Tensor::zeros(x[0].shape())))
    }
    fn jvp_batch(
        &self,
        x: &[Tensor<T>],
        _: &Tensor<T>,
        t: &[Option<Tensor<T>>],
        b: usize,
    ) -> Option<Tensor<T>> {
        let dg = t[0].as_ref().map(|t| t * &dg_factor(self.0, &x[1]));
        let dv = t[1].as_ref().and_then(|t| self.second(&x[0], &x[1], t));
        super::sum_some([dg, dv]).or_else(|| Some(Tensor::zeros(&super::batched(b, x[0].shape()))))
    }
    fn vjp_batch(&self, x: &[Tensor<T>], _: &Tensor<T>, s: &Tensor<T>, _: usize) -> Vec<Option<Tensor<T>>> {
        vec![Some(s * &dg_factor(self.0, &x[1])), self.second(&x[0], &x[1], s)]
    }
}

/// `∂b/∂g` as a tensor shaped like `v` (b is linear in g): for the batched rules, where
/// the cotangent has a leading batch axis the fused kernels cannot broadcast over.
fn dg_factor<T: Element>(kind: Kind, v: &Tensor<T>) -> Tensor<T> {
    let one_minus = |t: Tensor<T>| &(-&t) + T::ONE;
    match kind {
        Kind::Tanh => one_minus(v.square()),
        Kind::Sigmoid => v * &one_minus(v.clone()),
        Kind::Relu => relu_mask(v),
    }
}

/// `[x > 0]` as a constant (its derivative is zero almost everywhere), as the fused
/// kernel's mask.
pub(crate) fn relu_mask<T: Element>(x: &Tensor<T>) -> Tensor<T> {
    let m = x.data().iter().map(|&v| if v > T::ZERO { T::ONE } else { T::ZERO });
    Tensor::from_vec(m.collect(), x.shape())
}

#[track_caller]
fn checked<T: Element>(kind: Kind, g: &Tensor<T>, v: &Tensor<T>) -> Tensor<T> {
    assert!(
        g.shape == v.shape,
        "{}: the cotangent has shape {:?} but the other operand has shape {:?}",
        <Backward as Op<T>>::name(&Backward(kind)),
        g.shape(),
        v.shape()
    );
    apply(Backward(kind), &[g, v])
}

/// `g·(1 − y²)` from tanh's output `y`.
pub(crate) fn tanh_backward<T: Element>(g: &Tensor<T>, y: &Tensor<T>) -> Tensor<T> {
    checked(Kind::Tanh, g, y)
}

/// `g·y·(1 − y)` from sigmoid's output `y`.
pub(crate) fn sigmoid_backward<T: Element>(g: &Tensor<T>, y: &Tensor<T>) -> Tensor<T> {
    checked(Kind::Sigmoid, g, y)
}

/// `g·[x > 0]` from relu's input `x`.
pub(crate) fn relu_backward<T: Element>(g: &Tensor<T>, x: &Tensor<T>) -> Tensor<T> {
    checked(Kind::Relu, g, x)
}
