//! Elementwise unary ops. The Jacobian of an elementwise op is diagonal, so its VJP and JVP
//! are the same map, `s ↦ s·f′(x)`; each op states f′ once, in [`Fun::scale`].

use kernels::Element;
use kernels::ew::{self, Unary};

use super::build;
use crate::Tensor;
use crate::engine::apply;
use crate::op::Op;

/// Which function.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Fun {
    Neg,
    Exp,
    Ln,
    Sqrt,
    Sin,
    Cos,
    Tanh,
    Sigmoid,
    Relu,
    Abs,
    Softplus,
    Square,
    Recip,
    Powi(i32),
    Powf(f64),
}

impl Fun {
    fn kernel(self) -> Unary {
        match self {
            Fun::Neg => Unary::Neg,
            Fun::Exp => Unary::Exp,
            Fun::Ln => Unary::Ln,
            Fun::Sqrt => Unary::Sqrt,
            Fun::Sin => Unary::Sin,
            Fun::Cos => Unary::Cos,
            Fun::Tanh => Unary::Tanh,
            Fun::Sigmoid => Unary::Sigmoid,
            Fun::Relu => Unary::Relu,
            Fun::Abs => Unary::Abs,
            Fun::Softplus => Unary::Softplus,
            Fun::Square => Unary::Square,
            Fun::Recip => Unary::Recip,
            Fun::Powi(n) => Unary::Powi(n),
            Fun::Powf(p) => Unary::Powf(p),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Fun::Neg => "neg",
            Fun::Exp => "exp",
            Fun::Ln => "ln",
            Fun::Sqrt => "sqrt",
            Fun::Sin => "sin",
            Fun::Cos => "cos",
            Fun::Tanh => "tanh",
            Fun::Sigmoid => "sigmoid",
            Fun::Relu => "relu",
            Fun::Abs => "abs",
            Fun::Softplus => "softplus",
            Fun::Square => "square",
            Fun::Recip => "recip",
            Fun::Powi(_) => "powi",
            Fun::Powf(_) => "powf",
        }
    }

    /// `s·f′(x)` (`y = f(x)`), with differentiable ops. The factor f′(x) is formed first
    /// and `s` multiplied once: under `jacfwd`/`jacrev`, `s` carries a batch and x, y do
    /// not, so that order does one batched operation instead of two or three.
    pub(crate) fn scale<T: Element>(self, x: &Tensor<T>, y: &Tensor<T>, s: &Tensor<T>) -> Tensor<T> {
        let c = |v: f64| T::from_f64(v);
        match self {
            // d(−x) = −1
            Fun::Neg => -s,
            // d eˣ = eˣ = y
            Fun::Exp => s * y,
            // d ln x = 1/x
            Fun::Ln => s / x,
            // d √x = 1/(2√x) = 1/(2y); +inf at x = 0 (the one-sided limit)
            Fun::Sqrt => s / &(y * c(2.0)),
            // d sin x = cos x
            Fun::Sin => s * &x.cos(),
            // d cos x = −sin x
            Fun::Cos => s * &(-&x.sin()),
            // d tanh x = 1 − tanh² x = 1 − y² (fused)
            Fun::Tanh => super::fused::tanh_backward(s, y),
            // d σ(x) = σ(1 − σ) = y(1 − y) (fused)
            Fun::Sigmoid => super::fused::sigmoid_backward(s, y),
            // d relu x = [x > 0]; relu′(0) = 0 by convention (fused)
            Fun::Relu => super::fused::relu_backward(s, x),
            // d |x| = sign x; abs′(0) = 0 by convention. sign is piecewise constant, so a
            // constant here is exact for every order (away from 0).
            Fun::Abs => s * &sign(x),
            // d ln(1 + eˣ) = σ(x)
            Fun::Softplus => s * &x.sigmoid(),
            // d x² = 2x
            Fun::Square => scaled(s, c(2.0), x.clone()),
            // d (1/x) = −1/x² = −y²
            Fun::Recip => s * &(-&y.square()),
            // d xⁿ = n·xⁿ⁻¹ (0 for n = 0)
            Fun::Powi(0) => s * T::ZERO,
            Fun::Powi(n) => scaled(s, c(n as f64), x.powi(n - 1)),
            // d xᵖ = p·xᵖ⁻¹
            Fun::Powf(p) => scaled(s, c(p), x.powf(p - 1.0)),
        }
    }
}

impl Fun {
    /// [`Fun::scale`] for a cotangent or tangent with a leading batch axis: the same
    /// products, broadcasting; the fused backward kernels (which want equal shapes) are
    /// replaced by their compositions.
    fn scale_batched<T: Element>(self, x: &Tensor<T>, y: &Tensor<T>, s: &Tensor<T>) -> Tensor<T> {
        let one_minus = |v: Tensor<T>| &(-&v) + T::ONE;
        match self {
            Fun::Tanh => s * &one_minus(y.square()),
            Fun::Sigmoid => s * &(y * &one_minus(y.clone())),
            Fun::Relu => s * &super::fused::relu_mask(x),
            _ => self.scale(x, y, s),
        }
    }
}

/// `s·c·h` with the constant `c` folded into the cheaper of `s` and `h` (by [`weight`]):
/// a batched tangent or a dual operand costs far more per op than a plain primal.
fn scaled<T: Element>(s: &Tensor<T>, c: T, h: Tensor<T>) -> Tensor<T> {
    if weight(s) > weight(&h) { s * &(&h * c) } else { &(s * c) * &h }
}

/// Elements an op on `t` touches: its own and, level by level, its tangents'.
fn weight<T: Element>(t: &Tensor<T>) -> usize {
    let mut n = t.numel();
    let mut d = t.dual.as_deref();
    while let Some(part) = d {
        n += weight(&part.tangent);
        d = part.lower.as_deref();
    }
    n
}

/// sign(x) ∈ {−1, 0, +1} (NaN stays NaN), a constant.
fn sign<T: Element>(x: &Tensor<T>) -> Tensor<T> {
    let v = x.data().iter().map(|&v| {
        if v > T::ZERO {
            T::ONE
        } else if v < T::ZERO {
            -T::ONE
        } else {
            v * T::ZERO
        }
    });
    Tensor::from_vec(v.collect(), x.shape())
}

#[derive(Clone, Copy)]
pub(crate) struct UnaryOp(pub(crate) Fun);

impl<T: Element> Op<T> for UnaryOp {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        build(x[0].shape.clone(), x[0].numel(), |out| ew::map(self.0.kernel(), x[0].data(), out))
    }
    fn vjp(&self, x: &[Tensor<T>], y: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        vec![Some(self.0.scale(&x[0], y, g))]
    }
    fn jvp(&self, x: &[Tensor<T>], y: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        t[0].as_ref().map(|t| self.0.scale(&x[0], y, t))
    }
    fn jvp_batch(
        &self,
        x: &[Tensor<T>],
        y: &Tensor<T>,
        t: &[Option<Tensor<T>>],
        _: usize,
    ) -> Option<Tensor<T>> {
        t[0].as_ref().map(|t| self.0.scale_batched(&x[0], y, t))
    }
    fn vjp_batch(&self, x: &[Tensor<T>], y: &Tensor<T>, g: &Tensor<T>, _: usize) -> Vec<Option<Tensor<T>>> {
        vec![Some(self.0.scale_batched(&x[0], y, g))]
    }
}

macro_rules! unary_methods {
    ($($(#[$doc:meta])* $name:ident => $fun:ident;)*) => {
        impl<T: Element> Tensor<T> {
            $(
                $(#[$doc])*
                #[track_caller]
                pub fn $name(&self) -> Tensor<T> {
                    apply(UnaryOp(Fun::$fun), &[self])
                }
            )*
        }
    };
}

unary_methods! {
    /// eˣ, elementwise. Derivative eˣ.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::scalar(0.0f64).exp().item(), 1.0);
    /// ```
    exp => Exp;
    /// ln x, elementwise. Derivative 1/x.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::scalar(1.0f64).ln().item(), 0.0);
    /// ```
    ln => Ln;
    /// √x, elementwise. Derivative 1/(2√x), +inf at 0.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::scalar(9.0f32).sqrt().item(), 3.0);
    /// ```
    sqrt => Sqrt;
    /// sin x. Derivative cos x.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::scalar(0.0f64).sin().item(), 0.0);
    /// ```
    sin => Sin;
    /// cos x. Derivative −sin x.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::scalar(0.0f64).cos().item(), 1.0);
    /// ```
    cos => Cos;
    /// tanh x. Derivative 1 − tanh² x.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::scalar(0.0f32).tanh().item(), 0.0);
    /// ```
    tanh => Tanh;
    /// The logistic function σ(x) = 1/(1 + e⁻ˣ). Derivative σ(1 − σ).
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::scalar(0.0f32).sigmoid().item(), 0.5);
    /// ```
    sigmoid => Sigmoid;
    /// max(x, 0). Derivative \[x > 0\]; relu′(0) = 0.
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![-1.0f32, 2.0], &[2]);
    /// assert_eq!(t.relu().to_vec(), [0.0, 2.0]);
    /// ```
    relu => Relu;
    /// |x|. Derivative sign x; abs′(0) = 0.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::scalar(-2.0f64).abs().item(), 2.0);
    /// ```
    abs => Abs;
    /// ln(1 + eˣ). Derivative σ(x).
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::scalar(0.0f64).softplus().item(), 2f64.ln());
    /// ```
    softplus => Softplus;
    /// x². Derivative 2x.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::scalar(-3.0f64).square().item(), 9.0);
    /// ```
    square => Square;
    /// 1/x. Derivative −1/x².
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::scalar(4.0f64).recip().item(), 0.25);
    /// ```
    recip => Recip;
}

impl<T: Element> Tensor<T> {
    /// xⁿ for an integer n. Derivative n·xⁿ⁻¹.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::scalar(2.0f64).powi(3).item(), 8.0);
    /// ```
    #[track_caller]
    pub fn powi(&self, n: i32) -> Tensor<T> {
        apply(UnaryOp(Fun::Powi(n)), &[self])
    }

    /// xᵖ for a real p (NaN for x < 0 unless p is an integer, as `powf`). Derivative
    /// p·xᵖ⁻¹.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::scalar(4.0f64).powf(0.5).item(), 2.0);
    /// ```
    #[track_caller]
    pub fn powf(&self, p: f64) -> Tensor<T> {
        apply(UnaryOp(Fun::Powf(p)), &[self])
    }
}

impl<T: Element> std::ops::Neg for &Tensor<T> {
    type Output = Tensor<T>;
    /// −x. Derivative −1.
    fn neg(self) -> Tensor<T> {
        apply(UnaryOp(Fun::Neg), &[self])
    }
}

impl<T: Element> std::ops::Neg for Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        -&self
    }
}
