//! The op contract: one forward, one VJP rule, one JVP rule, in one place.

use std::any::Any;

use kernels::Element;

use crate::Tensor;

/// A differentiable operation: the built-in ops implement it, and so can users (custom ops,
/// run with [`Tensor::apply_op`]).
///
/// - `forward` computes the output's values from the inputs' values. It must read values
///   only: graphs and tangents are the engine's business.
/// - `vjp` maps a cotangent `g` (shaped like the output) to one cotangent per input,
///   `gᵢ = (∂out/∂inputᵢ)ᵀ·g`, shaped like that input (`None`: the output does not depend on
///   it). Write it with differentiable tensor ops: when the engine records the backward
///   sweep (`create_graph`, nested [`grad`](crate::grad)) or runs it on dual tensors
///   (forward-over-reverse), the rule itself is differentiated.
/// - `jvp` maps input tangents (`None`: zero) to the output tangent,
///   `Σᵢ (∂out/∂inputᵢ)·tᵢ`, also with differentiable ops. Optional: an op without one cannot
///   be used under forward mode (the engine says so by name).
///
/// `inputs` and `out` passed to the rules carry their graph nodes and tangents, so rules
/// compose with every mode.
///
/// ```
/// use autodiff::{grad, Op, Tensor};
/// /// y = x³, dy/dx = 3x².
/// #[derive(Clone)]
/// struct Cube;
/// impl Op<f64> for Cube {
///     fn name(&self) -> &str { "cube" }
///     fn forward(&self, x: &[&Tensor<f64>]) -> Tensor<f64> {
///         let v = x[0].data().iter().map(|v| v * v * v).collect();
///         Tensor::from_vec(v, x[0].shape())
///     }
///     fn vjp(&self, x: &[Tensor<f64>], _out: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
///         vec![Some(g * &(&x[0] * &x[0]) * 3.0)]
///     }
///     fn jvp(&self, x: &[Tensor<f64>], _out: &Tensor<f64>, t: &[Option<Tensor<f64>>]) -> Option<Tensor<f64>> {
///         t[0].as_ref().map(|t| t * &(&x[0] * &x[0]) * 3.0)
///     }
/// }
/// let g = grad(|x: &Tensor<f64>| x.apply_op(Cube, &[]).sum(), &Tensor::scalar(2.0));
/// assert_eq!(g.item(), 12.0); // 3·2²
/// ```
pub trait Op<T: Element>: Any + Send + Sync {
    /// The name errors and the numerics check report.
    fn name(&self) -> &str;
    /// The output's values.
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T>;
    /// Cotangents of the inputs from the output's cotangent `g`.
    fn vjp(&self, inputs: &[Tensor<T>], out: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>>;
    /// The output's tangent from the inputs' tangents; `None` if the op has no JVP rule.
    fn jvp(
        &self,
        inputs: &[Tensor<T>],
        out: &Tensor<T>,
        tangents: &[Option<Tensor<T>>],
    ) -> Option<Tensor<T>> {
        let _ = (inputs, out, tangents);
        None
    }
    /// [`jvp`](Op::jvp) for `batch` tangents at once, stacked along a new leading axis
    /// (each tangent `[batch] ++ input.shape`, the result `[batch] ++ out.shape`), as
    /// `jacfwd` pushes them. The default runs `jvp` once per batch entry and stacks the
    /// results; ops override it with one batched computation.
    fn jvp_batch(
        &self,
        inputs: &[Tensor<T>],
        out: &Tensor<T>,
        tangents: &[Option<Tensor<T>>],
        batch: usize,
    ) -> Option<Tensor<T>> {
        jvp_by_rows(self, inputs, out, tangents, batch)
    }
    /// [`vjp`](Op::vjp) for `batch` cotangents at once, stacked along a new leading axis
    /// (`g` is `[batch] ++ out.shape`, each result `[batch] ++ input.shape`), as `jacrev`
    /// pushes them. The default runs `vjp` once per batch entry and stacks the results.
    fn vjp_batch(
        &self,
        inputs: &[Tensor<T>],
        out: &Tensor<T>,
        g: &Tensor<T>,
        batch: usize,
    ) -> Vec<Option<Tensor<T>>> {
        vjp_by_rows(self, inputs, out, g, batch)
    }
}

/// [`Op::jvp_batch`] by one [`Op::jvp`] per batch entry, stacked (the default, and the
/// fallback of built-in ops for cases they do not batch).
pub(crate) fn jvp_by_rows<T: Element, O: Op<T> + ?Sized>(
    op: &O,
    inputs: &[Tensor<T>],
    out: &Tensor<T>,
    tangents: &[Option<Tensor<T>>],
    batch: usize,
) -> Option<Tensor<T>> {
    if batch == 0 {
        // An empty batch (`jacfwd` at a zero-size input): nothing to stack, but an op
        // without a JVP rule must still say so, so the rule runs once on zero tangents.
        let zeros: Vec<Option<Tensor<T>>> =
            tangents.iter().zip(inputs).map(|(t, x)| t.as_ref().map(|_| Tensor::zeros(x.shape()))).collect();
        op.jvp(inputs, out, &zeros)?;
        return Some(Tensor::zeros(&crate::ops::batched(0, out.shape())));
    }
    let rows = (0..batch)
        .map(|b| {
            let tb: Vec<Option<Tensor<T>>> =
                tangents.iter().map(|t| t.as_ref().map(|t| t.select(0, b))).collect();
            op.jvp(inputs, out, &tb)
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Tensor::stack(&rows, 0))
}

/// [`Op::vjp_batch`] by one [`Op::vjp`] per batch entry, stacked per input.
pub(crate) fn vjp_by_rows<T: Element, O: Op<T> + ?Sized>(
    op: &O,
    inputs: &[Tensor<T>],
    out: &Tensor<T>,
    g: &Tensor<T>,
    batch: usize,
) -> Vec<Option<Tensor<T>>> {
    let rows: Vec<Vec<Option<Tensor<T>>>> = (0..batch)
        .map(|b| {
            let r = op.vjp(inputs, out, &g.select(0, b));
            // As the unbatched sweep checks: a missing entry must not read as "no
            // dependency" (zeros), nor an extra one be dropped.
            assert!(
                r.len() == inputs.len(),
                "`{}`: the VJP rule returned {} cotangents for {} inputs",
                op.name(),
                r.len(),
                inputs.len()
            );
            r
        })
        .collect();
    (0..inputs.len())
        .map(|i| {
            if rows.iter().all(|r| r.get(i).is_none_or(Option::is_none)) {
                return None;
            }
            let parts: Vec<Tensor<T>> = rows
                .iter()
                .map(|r| r.get(i).cloned().flatten().unwrap_or_else(|| Tensor::zeros(inputs[i].shape())))
                .collect();
            Some(Tensor::stack(&parts, 0))
        })
        .collect()
}

/// A user op as the engine runs it: `forward` sees plain values (no node, no tangent) and
/// runs without recording, whatever the user's forward does inside.
#[derive(Clone)]
struct Custom<O>(O);

impl<T: Element, O: Op<T> + Clone> Op<T> for Custom<O> {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let plain: Vec<Tensor<T>> = inputs.iter().map(|t| t.plain()).collect();
        let refs: Vec<&Tensor<T>> = plain.iter().collect();
        crate::no_grad(|| self.0.forward(&refs)).plain()
    }
    fn vjp(&self, inputs: &[Tensor<T>], out: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        self.0.vjp(inputs, out, g)
    }
    fn jvp(
        &self,
        inputs: &[Tensor<T>],
        out: &Tensor<T>,
        tangents: &[Option<Tensor<T>>],
    ) -> Option<Tensor<T>> {
        self.0.jvp(inputs, out, tangents)
    }
    fn jvp_batch(
        &self,
        inputs: &[Tensor<T>],
        out: &Tensor<T>,
        tangents: &[Option<Tensor<T>>],
        batch: usize,
    ) -> Option<Tensor<T>> {
        self.0.jvp_batch(inputs, out, tangents, batch)
    }
    fn vjp_batch(
        &self,
        inputs: &[Tensor<T>],
        out: &Tensor<T>,
        g: &Tensor<T>,
        batch: usize,
    ) -> Vec<Option<Tensor<T>>> {
        self.0.vjp_batch(inputs, out, g, batch)
    }
}

impl<T: Element> Tensor<T> {
    /// Applies a user op to `self` followed by `others` (see [`Op`]): the result records a
    /// graph node and propagates tangents like any built-in op. The engine checks the
    /// rules' output counts and shapes and names the op when they are wrong.
    ///
    /// ```
    /// use autodiff::{Op, Tensor};
    /// /// y = a − b (two inputs).
    /// #[derive(Clone)]
    /// struct Diff;
    /// impl Op<f32> for Diff {
    ///     fn name(&self) -> &str { "diff" }
    ///     fn forward(&self, x: &[&Tensor<f32>]) -> Tensor<f32> { x[0] - x[1] }
    ///     fn vjp(&self, _: &[Tensor<f32>], _: &Tensor<f32>, g: &Tensor<f32>) -> Vec<Option<Tensor<f32>>> {
    ///         vec![Some(g.clone()), Some(-g)]
    ///     }
    /// }
    /// let (a, b) = (Tensor::scalar(5.0f32), Tensor::scalar(3.0));
    /// assert_eq!(a.apply_op(Diff, &[&b]).item(), 2.0);
    /// ```
    #[track_caller]
    pub fn apply_op<O: Op<T> + Clone>(&self, op: O, others: &[&Tensor<T>]) -> Tensor<T> {
        let mut inputs = Vec::with_capacity(1 + others.len());
        inputs.push(self);
        inputs.extend_from_slice(others);
        crate::engine::apply(Custom(op), &inputs)
    }
}
