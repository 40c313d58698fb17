//! A stochastic-gradient step that writes weight gradients straight into the weights.
//!
//! A training step computes `∇W = Xᵀ·δ` for each weight matrix and then `W ← W − lr·∇W`:
//! one pass over the gradient to write it and another over both to apply it. Where a
//! weight's whole gradient is one matrix product (a weight used by one `matmul`, the
//! usual layer), [`sgd_step`] runs that product as `W ← W − lr·Xᵀ·δ`, one GEMM with β = 1
//! into the weight itself (the optimizer step fused into the backward pass). Every other
//! parameter gets its gradient and an `axpy`, as [`Tensor::axpy_`] would.

use std::any::Any;

use kernels::Element;

use crate::Tensor;
use crate::engine::{Sweep, sweep_into};
use crate::functional::track;
use crate::mode;

/// Where a sweep adds the gradients of its targets itself: parameter `t` of `params` is
/// target `t`, updated by `−lr` times its gradient.
pub(crate) struct Sink<'a, T: Element> {
    lr: T,
    params: &'a mut [Tensor<T>],
    /// Which parameters a fused product has updated.
    fused: Vec<bool>,
}

impl<T: Element> Sink<'_, T> {
    /// `params[t] ← params[t] − lr·gⱼ`, `gⱼ` the cotangent of input `j` of `op`, a product
    /// [`crate::ops::fusable`] for it, whose other input is `other` and output cotangent
    /// `g`. Copy-on-write: if the parameter's values are shared (the caller kept a clone),
    /// they are copied first and the clone keeps the old values.
    pub(crate) fn update(&mut self, op: &dyn Any, j: usize, t: usize, other: &Tensor<T>, g: &Tensor<T>) {
        let dest = self.params[t].data.make_mut();
        crate::ops::update_into(op, j, other, g, T::ZERO - self.lr, dest);
        self.fused[t] = true;
    }
}

/// One step of gradient descent on `f`: every parameter `p` becomes `p − lr·∂f/∂p`, in
/// place; returns `f`'s value before the step.
///
/// The result is that of [`value_and_grad_many`](crate::value_and_grad_many) followed by
/// [`Tensor::axpy_`] on each parameter, up to rounding: a parameter used by a single 2-d
/// `matmul` and nothing else (a layer's weights) is updated by that product's gradient
/// GEMM itself, as `W ← W − lr·Xᵀ·δ` with β = 1, so its gradient is never stored and the
/// weights are read and written once instead of three times. Parameters whose values
/// another tensor shares are copied first (copy-on-write), as with
/// [`Tensor::data_mut`].
///
/// # Panics
/// If `f` returns more than one element, or a parameter is tracked or dual (the update is
/// in place, outside any graph: [`detach`](Tensor::detach) it first).
///
/// ```
/// use autodiff::{sgd_step, Tensor};
/// // f(w, b) = Σ (x·w + b)²  with x = [[1, 2]]: ∂f/∂w = 2·xᵀ·r, ∂f/∂b = 2·r, r = x·w + b.
/// let x = Tensor::from_vec(vec![1.0f64, 2.0], &[1, 2]);
/// let mut p = [Tensor::from_vec(vec![1.0, 0.0], &[2, 1]), Tensor::from_vec(vec![1.0], &[1])];
/// let loss = sgd_step(|p| (&x.matmul(&p[0]) + &p[1]).powi(2).sum(), &mut p, 0.25);
/// // r = 2, loss = 4; w ← w − ¼·2·xᵀ·2 = [1, 0] − [1, 2]; b ← 1 − ¼·4 = 0.
/// assert_eq!(loss.item(), 4.0);
/// assert_eq!((p[0].to_vec(), p[1].to_vec()), (vec![0.0, -2.0], vec![0.0]));
/// ```
#[track_caller]
pub fn sgd_step<T: Element>(
    f: impl Fn(&[Tensor<T>]) -> Tensor<T>,
    params: &mut [Tensor<T>],
    lr: T,
) -> Tensor<T> {
    step(f, params, lr).0
}

/// [`sgd_step`], also saying which parameters a fused product updated.
#[track_caller]
fn step<T: Element>(
    f: impl Fn(&[Tensor<T>]) -> Tensor<T>,
    params: &mut [Tensor<T>],
    lr: T,
) -> (Tensor<T>, Vec<bool>) {
    for (i, p) in params.iter().enumerate() {
        assert!(
            !p.is_tracked() && p.dual.is_none(),
            "sgd_step: parameter {i} (shape {:?}) is tracked or dual; the step updates it in place, \
             outside any graph: detach() it first",
            p.shape()
        );
    }
    let (xt, targets) = track(params);
    let y = mode::set_recording(true, || f(&xt));
    // The graph keeps what it needs; these clones would make every parameter look shared.
    drop(xt);
    assert!(y.numel() == 1, "sgd_step: f must return one element, but it returned shape {:?}", y.shape());
    let Some(node) = y.node.clone() else { return (y, vec![false; params.len()]) };
    let seed = Tensor::full(y.shape(), T::ONE);
    let mut sink = Sink { lr, params, fused: vec![false; targets.len()] };
    let opts = Sweep { create_graph: Some(false), retain_graph: Some(false), batch: None };
    let (grads, _) = sweep_into(&[(node, seed)], Some(&targets), opts, Some(&mut sink));
    let Sink { params, fused, .. } = sink;
    for ((p, g), &fused) in params.iter_mut().zip(grads).zip(&fused) {
        debug_assert!(!(fused && g.is_some()), "a fused parameter gets no gradient");
        if let Some(g) = g {
            p.axpy_(T::ZERO - lr, &g);
        }
    }
    (Tensor { node: None, ..y }, fused)
}

#[cfg(test)]
mod tests {
    use super::step;
    use crate::Tensor;

    /// A two-layer network's loss on a fixed batch: `p = [W₁, b₁, W₂, b₂]`.
    fn mlp(p: &[Tensor<f64>], x: &Tensor<f64>) -> Tensor<f64> {
        let h = (&x.matmul(&p[0]) + &p[1]).tanh();
        (&h.matmul(&p[2]) + &p[3]).softmax_cross_entropy(&[2, 0, 1, 2, 1])
    }

    #[test]
    fn layer_weights_take_the_fused_update_and_nothing_else_does() {
        let x = Tensor::rand_uniform(&[5, 4], -1.0, 1.0, 1);
        let mut p = vec![
            Tensor::rand_uniform(&[4, 6], -1.0, 1.0, 2),
            Tensor::rand_uniform(&[6], -1.0, 1.0, 3),
            Tensor::rand_uniform(&[6, 3], -1.0, 1.0, 4),
            Tensor::rand_uniform(&[3], -1.0, 1.0, 5),
        ];
        // Each weight matrix is used by one 2-d matmul; the biases by broadcasting adds.
        assert_eq!(step(|p| mlp(p, &x), &mut p, 0.1).1, [true, false, true, false]);
        // W₁ also read a second time (tied into the output layer): two contributions, so
        // its gradient is formed and applied as usual; W₂ unused, b₂ still an add.
        let tied = |p: &[Tensor<f64>]| {
            let h = (&x.matmul(&p[0]) + &p[1]).tanh();
            (&h.matmul(&p[0].t().matmul(&p[0])) + &p[1]).sum()
        };
        assert_eq!(step(tied, &mut p, 0.1).1, [false, false, false, false]);
    }
}
