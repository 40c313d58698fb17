//! Tracing: the ops a function records, each one re-runnable on new inputs. This is how
//! `verify` pins a wrong derivative on one op: it checks every traced op on its own.

use kernels::Element;

use crate::Tensor;
use crate::engine::apply;
use crate::mode::set_recording;
use crate::noderef::NodeRef;
use crate::op::Op;
use crate::topo::op_nodes;

/// One op as a function recorded it: its name, the values it saw, and the op itself, which
/// [`apply`](TracedOp::apply) runs again (with its rules) on new inputs.
///
/// ```
/// use autodiff::{trace, Tensor};
/// let x = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
/// let (y, ops) = trace(|x| (x * x).sin().sum(), &x);
/// let names: Vec<&str> = ops.iter().map(|o| o.name()).collect();
/// assert_eq!(names, ["mul", "sin", "sum_to"]); // `sum()` is `sum_to` the empty shape
/// assert_eq!(ops[1].inputs()[0].to_vec(), [1.0, 4.0]);
/// // The traced `sin`, run again on other values:
/// assert_eq!(ops[1].apply(&[Tensor::scalar(0.0)]).item(), 0.0);
/// assert_eq!(y.item(), 1f64.sin() + 4f64.sin());
/// ```
pub struct TracedOp<T: Element> {
    node: NodeRef<T>,
    inputs: Vec<Tensor<T>>,
    output: Tensor<T>,
}

impl<T: Element> TracedOp<T> {
    /// The op's name (as errors and reports give it).
    pub fn name(&self) -> &str {
        self.node.op.name()
    }

    /// The input values the op saw (plain tensors: no graph, no tangent), in order. Inputs
    /// that were constants of the trace (not depending on its arguments) are included.
    pub fn inputs(&self) -> &[Tensor<T>] {
        &self.inputs
    }

    /// The output value the op produced (plain).
    pub fn output(&self) -> &Tensor<T> {
        &self.output
    }

    /// Runs the same op (same parameters, same rules) on `inputs`, recording and carrying
    /// tangents like any op, so every mode differentiates it.
    ///
    /// # Panics
    /// If `inputs` has a different count from [`inputs`](TracedOp::inputs), or shapes the op
    /// rejects (with the op's own message).
    #[track_caller]
    pub fn apply(&self, inputs: &[Tensor<T>]) -> Tensor<T> {
        assert!(
            inputs.len() == self.inputs.len(),
            "TracedOp::apply: `{}` takes {} inputs, {} given",
            self.name(),
            self.inputs.len(),
            inputs.len()
        );
        let refs: Vec<&Tensor<T>> = inputs.iter().collect();
        apply(Replay(self.node.clone()), &refs)
    }
}

/// [`trace_many`] for a function of one tensor.
///
/// ```
/// use autodiff::{trace, Tensor};
/// let (_, ops) = trace(|x: &Tensor<f32>| x.exp() * 2.0, &Tensor::scalar(1.0));
/// assert_eq!(ops.len(), 2); // exp, then the scaling
/// ```
pub fn trace<T: Element>(
    f: impl Fn(&Tensor<T>) -> Tensor<T>,
    x: &Tensor<T>,
) -> (Tensor<T>, Vec<TracedOp<T>>) {
    trace_many(|xs: &[Tensor<T>]| f(&xs[0]), std::slice::from_ref(x))
}

/// Runs `f` on `xs` (as fresh graph leaves, recording even under [`no_grad`](crate::no_grad))
/// and returns its value and the ops that depend on `xs`, in an order where every op comes
/// after the ops that produce its inputs. Ops on constants alone are not recorded, so they
/// are absent; an `f` whose output does not depend on `xs` traces no op.
///
/// ```
/// use autodiff::{trace_many, Tensor};
/// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
/// let (_, ops) = trace_many(|x| x[0].matmul(&x[1]).sum(), &[a.clone(), a]);
/// assert_eq!(ops[0].name(), "matmul");
/// assert_eq!(ops[0].inputs().len(), 2);
/// ```
pub fn trace_many<T: Element>(
    f: impl Fn(&[Tensor<T>]) -> Tensor<T>,
    xs: &[Tensor<T>],
) -> (Tensor<T>, Vec<TracedOp<T>>) {
    let leaves: Vec<Tensor<T>> = xs.iter().map(|x| x.detach().requires_grad()).collect();
    let y = set_recording(true, || f(&leaves));
    let ops = match &y.node {
        Some(root) if !root.leaf => op_nodes(root)
            .into_iter()
            .map(|node| {
                let (inputs, output) = {
                    let s = node.saved(true).expect("a freshly traced graph has not been swept");
                    (s.inputs.as_slice().iter().map(Tensor::plain).collect(), s.out.plain())
                };
                TracedOp { node, inputs, output }
            })
            .collect(),
        _ => Vec::new(),
    };
    (y.plain(), ops)
}

/// A traced node's op, run again: every call goes to the op the node holds.
#[derive(Clone)]
struct Replay<T: Element>(NodeRef<T>);

impl<T: Element> Op<T> for Replay<T> {
    fn name(&self) -> &str {
        self.0.op.name()
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        self.0.op.forward(inputs)
    }
    fn vjp(&self, inputs: &[Tensor<T>], out: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        self.0.op.vjp(inputs, out, g)
    }
    fn jvp(
        &self,
        inputs: &[Tensor<T>],
        out: &Tensor<T>,
        tangents: &[Option<Tensor<T>>],
    ) -> Option<Tensor<T>> {
        self.0.op.jvp(inputs, out, tangents)
    }
    fn jvp_batch(
        &self,
        inputs: &[Tensor<T>],
        out: &Tensor<T>,
        tangents: &[Option<Tensor<T>>],
        batch: usize,
    ) -> Option<Tensor<T>> {
        self.0.op.jvp_batch(inputs, out, tangents, batch)
    }
    fn vjp_batch(
        &self,
        inputs: &[Tensor<T>],
        out: &Tensor<T>,
        g: &Tensor<T>,
        batch: usize,
    ) -> Vec<Option<Tensor<T>>> {
        self.0.op.vjp_batch(inputs, out, g, batch)
    }
}
