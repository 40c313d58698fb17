//! Tensors and automatic differentiation on the [`kernels`]: reverse mode (a define-by-run
//! graph), forward mode (dual tensors), and every nesting of the two.
//!
//! - [`Tensor<T>`](Tensor) for `T` = `f32` or `f64`: n-d, row-major, a shared buffer.
//! - Ops, each defined once with its forward (a kernel call), VJP rule and JVP rule, both
//!   written with differentiable ops: elementwise math with numpy broadcasting
//!   (`+ − × ÷`, [`exp`](Tensor::exp), [`tanh`](Tensor::tanh), [`maximum`](Tensor::maximum),
//!   [`atan2`](Tensor::atan2), …), [`matmul`](Tensor::matmul), shape ops
//!   ([`reshape`](Tensor::reshape), [`slice`](Tensor::slice), [`concat`](Tensor::concat), …),
//!   reductions ([`sum_axis`](Tensor::sum_axis), [`logsumexp`](Tensor::logsumexp),
//!   [`softmax`](Tensor::softmax), …) and losses
//!   ([`softmax_cross_entropy`](Tensor::softmax_cross_entropy), [`mse_loss`](Tensor::mse_loss)).
//! - Transforms named as in JAX: [`grad`], [`value_and_grad`], [`vjp`], [`jvp`] (and
//!   `_many` variants over several inputs). They nest: `grad` of `grad` records the backward
//!   sweep (reverse-over-reverse), `jvp` of `grad` runs it on dual tensors
//!   (forward-over-reverse, Hessian-vector products).
//! - Jacobians and Hessians: [`jacfwd`] and [`jacrev`] batch over basis vectors (a chunk of
//!   tangents through one forward pass, a chunk of cotangents through one sweep);
//!   [`hessian`] (forward-over-reverse), [`hessian_rev`], [`hvp`], [`vhp`], each with a
//!   `_many` variant; custom ops batch through their unbatched rules unless they override
//!   [`Op::jvp_batch`] / [`Op::vjp_batch`].
//! - PyTorch-style leaves: [`Tensor::requires_grad`], [`Tensor::backward`],
//!   [`Tensor::grad`]; [`gradients`] returns instead of accumulating.
//! - [`no_grad`], [`Tensor::detach`], [`check_numerics`], and user ops ([`Op`],
//!   [`Tensor::apply_op`]).
//!
//! # Conventions at kinks
//! relu′(0) = 0; abs′(0) = 0; maximum/minimum split the cotangent ½–½ on ties, as does
//! `max_axis` among tied maxima (equally); sqrt′(0) = +inf (so a zero cotangent there
//! gives NaN, 0·inf). Derivatives are the one-sided limits elsewhere the function is
//! continuous.
//!
//! # Gradient accumulation
//! [`Tensor::backward`] adds into each leaf's gradient; repeated calls accumulate until
//! [`Tensor::zero_grad`]. The functional transforms and [`gradients`] return gradients and
//! accumulate nothing. A sweep frees each node's saved tensors once used (a second sweep
//! over the same graph panics with the op's name) unless the graph is retained; the
//! functional transforms retain it exactly when an enclosing transform will need it.
//!
//! # Errors
//! Misuse panics (with `#[track_caller]`) and the message names the op and the shapes:
//! shapes that do not broadcast, inner dimensions that differ, a backward from a
//! non-scalar without a cotangent, a dual tensor used after its `jvp` ended or on another
//! thread than its `jvp`'s (forward-mode levels are numbered process-wide, so one can
//! never pass for another), a shape whose element count overflows. The full list, with
//! the tests that hold each message, is the "Bad input" table of `ARCHITECTURE.md`.
//!
//! ```
//! use autodiff::{grad, jvp, Tensor};
//! // f(x) = Σ tanh(x)²;  ∇f = 2·tanh(x)·(1 − tanh²(x))
//! let f = |x: &Tensor<f64>| x.tanh().square().sum();
//! let x = Tensor::from_vec(vec![0.5, -1.0], &[2]);
//! let g = grad(f, &x);
//! for (gi, xi) in g.to_vec().iter().zip([0.5f64, -1.0]) {
//!     let t = xi.tanh();
//!     assert!((gi - 2.0 * t * (1.0 - t * t)).abs() < 1e-15);
//! }
//! // Hessian-vector product, forward-over-reverse: H·v = d/dε ∇f(x + εv). H is diagonal
//! // with f″(xᵢ) = 2(1 − t²)(1 − 3t²), t = tanh xᵢ; v = e₀ picks its first column. Both
//! // sides are a few roundings of O(1) terms apart: 1e-14 ≈ 45ε.
//! let (_, hv) = jvp(|x: &Tensor<f64>| grad(f, x), &x, &Tensor::from_vec(vec![1.0, 0.0], &[2]));
//! let t = 0.5f64.tanh();
//! assert!((hv.to_vec()[0] - 2.0 * (1.0 - t * t) * (1.0 - 3.0 * t * t)).abs() < 1e-14);
//! assert_eq!(hv.to_vec()[1], 0.0);
//! ```

mod backward;
mod buffer;
mod census;
mod engine;
mod functional;
mod graph;
mod jacobian;
mod locked;
mod mode;
mod noderef;
mod op;
mod ops;
mod pool;
mod sgd;
mod shape;
mod tensor;
mod topo;
mod trace;
mod window;

pub use backward::gradients;
pub use functional::{
    Pullback, grad, grad_many, jvp, jvp_many, value_and_grad, value_and_grad_many, vjp, vjp_many,
};
pub use graph::live_nodes;
pub use jacobian::{
    DEFAULT_CHUNK, hessian, hessian_many, hessian_rev, hvp, hvp_many, jacfwd, jacfwd_chunked, jacfwd_many,
    jacrev, jacrev_chunked, jacrev_many, vhp, vhp_many,
};
pub use kernels::Element;
pub use mode::{check_numerics, enable_grad, no_grad};
pub use op::Op;
pub use sgd::sgd_step;
pub use tensor::Tensor;
pub use trace::{TracedOp, trace, trace_many};
