//! Reverse mode on tensors: leaves, `backward`, and `gradients` (PyTorch's
//! `autograd.grad`). The functional transforms in [`crate::functional`] build on these.

use kernels::Element;

use crate::Tensor;
use crate::engine::{Sweep, sweep};
use crate::graph::Node;
use crate::noderef::NodeRef;

impl<T: Element> Tensor<T> {
    /// The same values as a new leaf of a graph: ops on it record, and
    /// [`backward`](Tensor::backward) accumulates into its [`grad`](Tensor::grad).
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let w = Tensor::from_vec(vec![1.0f64, 2.0], &[2]).requires_grad();
    /// (&w * &w).sum().backward(); // d/dw Σw² = 2w
    /// assert_eq!(w.grad().unwrap().to_vec(), [2.0, 4.0]);
    /// ```
    pub fn requires_grad(&self) -> Tensor<T> {
        Tensor {
            shape: self.shape.clone(),
            data: self.data.clone(),
            node: Some(Node::leaf()),
            dual: self.dual.clone(),
        }
    }

    /// The gradient [`backward`](Tensor::backward) accumulated into this leaf (`None` before
    /// any, or for a tensor that is not a leaf).
    pub fn grad(&self) -> Option<Tensor<T>> {
        let node = self.node.as_deref().filter(|n| n.leaf)?;
        node.with_grad(|g| g.clone()).flatten()
    }

    /// Clears the accumulated gradient of this leaf.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let w = Tensor::scalar(3.0f32).requires_grad();
    /// (&w * 2.0).backward();
    /// (&w * 2.0).backward(); // gradients accumulate: 2 + 2
    /// assert_eq!(w.grad().unwrap().item(), 4.0);
    /// w.zero_grad();
    /// assert!(w.grad().is_none());
    /// ```
    pub fn zero_grad(&self) {
        if let Some(node) = self.node.as_deref().filter(|n| n.leaf) {
            node.with_grad(|g| *g = None);
        }
    }

    /// Reverse sweep from this one-element tensor (seed 1): adds ∂self/∂leaf into the
    /// [`grad`](Tensor::grad) of every leaf it depends on. Gradients accumulate across calls
    /// until [`zero_grad`](Tensor::zero_grad), as in PyTorch. The sweep frees each node's
    /// saved values as soon as it has used them, so a second sweep over the same graph
    /// panics; use [`gradients`] with `retain_graph` to sweep twice.
    ///
    /// # Panics
    /// If the tensor has more than one element (use [`backward_with`](Tensor::backward_with))
    /// or is not tracked.
    #[track_caller]
    pub fn backward(&self) {
        assert!(
            self.numel() == 1,
            "backward: the output has shape {:?}; pass a cotangent of that shape to backward_with, \
             or reduce the output to one element first",
            self.shape()
        );
        self.backward_with(&Tensor::full(self.shape(), T::ONE));
    }

    /// Reverse sweep seeded with the cotangent `seed` (shaped like `self`): adds
    /// `(∂self/∂leaf)ᵀ·seed` into every leaf's gradient.
    ///
    /// # Panics
    /// If the shapes differ or `self` is not tracked.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f64, 2.0], &[2]).requires_grad();
    /// let y = &x * 3.0;
    /// y.backward_with(&Tensor::from_vec(vec![1.0, 10.0], &[2]));
    /// assert_eq!(x.grad().unwrap().to_vec(), [3.0, 30.0]);
    /// ```
    #[track_caller]
    pub fn backward_with(&self, seed: &Tensor<T>) {
        let node = root_node("backward", self, seed);
        sweep(
            &[(node, seed.clone())],
            None,
            Sweep { create_graph: Some(false), retain_graph: Some(false), batch: None },
        );
    }
}

#[track_caller]
fn root_node<T: Element>(what: &str, y: &Tensor<T>, seed: &Tensor<T>) -> NodeRef<T> {
    assert!(
        seed.shape == y.shape,
        "{what}: the cotangent has shape {:?} but the output has shape {:?}",
        seed.shape(),
        y.shape()
    );
    y.node.clone().unwrap_or_else(|| {
        panic!(
            "{what}: the output is not tracked: it depends on no tensor that requires grad, or was \
             computed under no_grad"
        )
    })
}

/// `(∂outputs/∂inputs)ᵀ·seeds`, returned rather than accumulated (PyTorch's
/// `autograd.grad`). `seeds: None` seeds each output (which must then hold one element)
/// with 1. An input the outputs do not depend on gets zeros. Nothing outside the paths
/// from the inputs to the outputs is touched.
///
/// `create_graph` records the sweep, so the gradients can be differentiated again; the
/// graph is then also retained. `retain_graph` keeps the saved values for another sweep.
///
/// # Panics
/// If an input is not tracked, a seed's shape differs from its output's, or an output
/// without a seed has more than one element.
///
/// ```
/// use autodiff::{gradients, Tensor};
/// let x = Tensor::scalar(3.0f64).requires_grad();
/// let y = &(&x * &x) * &x; // x³
/// let dy = gradients(&[y], None, &[&x], true, false).remove(0); // 3x² = 27
/// let d2y = gradients(&[dy.clone()], None, &[&x], false, false).remove(0); // 6x = 18
/// assert_eq!((dy.item(), d2y.item()), (27.0, 18.0));
/// ```
#[track_caller]
pub fn gradients<T: Element>(
    outputs: &[Tensor<T>],
    seeds: Option<&[Tensor<T>]>,
    inputs: &[&Tensor<T>],
    create_graph: bool,
    retain_graph: bool,
) -> Vec<Tensor<T>> {
    let roots = roots("gradients", outputs, seeds);
    let targets: Vec<NodeRef<T>> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            x.node
                .clone()
                .unwrap_or_else(|| panic!("gradients: input {i} (shape {:?}) is not tracked", x.shape()))
        })
        .collect();
    let opts = Sweep {
        create_graph: Some(create_graph),
        retain_graph: Some(retain_graph || create_graph),
        batch: None,
    };
    let shapes: Vec<&[usize]> = inputs.iter().map(|x| x.shape()).collect();
    fill_zeros(sweep(&roots, Some(&targets), opts).0, &shapes)
}

/// Pairs each tracked output's node with its seed (untracked outputs contribute nothing).
#[track_caller]
pub(crate) fn roots<T: Element>(
    what: &str,
    outputs: &[Tensor<T>],
    seeds: Option<&[Tensor<T>]>,
) -> Vec<(NodeRef<T>, Tensor<T>)> {
    if let Some(s) = seeds {
        assert!(s.len() == outputs.len(), "{what}: {} cotangents for {} outputs", s.len(), outputs.len());
    }
    outputs
        .iter()
        .enumerate()
        .filter_map(|(i, y)| {
            let seed = match seeds {
                Some(s) => s[i].clone(),
                None => {
                    assert!(
                        y.numel() == 1,
                        "{what}: output {i} has shape {:?}; pass a cotangent of that shape, or reduce \
                         the output to one element first",
                        y.shape()
                    );
                    Tensor::full(y.shape(), T::ONE)
                }
            };
            assert!(
                seed.shape == y.shape,
                "{what}: the cotangent of output {i} has shape {:?} but the output has shape {:?}",
                seed.shape(),
                y.shape()
            );
            y.node.clone().map(|n| (n, seed))
        })
        .collect()
}

/// Zeros (shaped like the input) where no path led to an input.
pub(crate) fn fill_zeros<T: Element>(grads: Vec<Option<Tensor<T>>>, shapes: &[&[usize]]) -> Vec<Tensor<T>> {
    grads.into_iter().zip(shapes).map(|(g, s)| g.unwrap_or_else(|| Tensor::zeros(s))).collect()
}
