//! Shared helpers for the benchmarks.

use autodiff::Tensor;

/// A small MLP's loss as a function of its flat weight vector: `input → hidden (tanh) →
/// classes`, softmax cross-entropy over 32 fixed seeded samples, f64 (the Hessian and
/// gradient-checking benches' test function).
///
/// ```
/// let mlp = bench::SmallMlp::new(8, 10, 2);
/// assert_eq!(mlp.weights(), 100);
/// let loss = mlp.loss(&autodiff::Tensor::zeros(&[100]));
/// assert!((loss.item() - 2f64.ln()).abs() < 1e-12); // zero weights: uniform over 2 classes
/// ```
pub struct SmallMlp {
    input: usize,
    hidden: usize,
    classes: usize,
    x: Tensor<f64>,
    labels: Vec<usize>,
}

impl SmallMlp {
    /// The network's shape; samples uniform in [−1, 1] (seed 21), labels `i mod classes`.
    pub fn new(input: usize, hidden: usize, classes: usize) -> SmallMlp {
        let labels = (0..32).map(|i| i % classes).collect();
        SmallMlp { input, hidden, classes, x: Tensor::rand_uniform(&[32, input], -1.0, 1.0, 21), labels }
    }

    /// Number of weights (no biases): `input·hidden + hidden·classes`.
    pub fn weights(&self) -> usize {
        self.input * self.hidden + self.hidden * self.classes
    }

    /// The loss at the flat weights `w` (first layer row-major, then the second).
    pub fn loss(&self, w: &Tensor<f64>) -> Tensor<f64> {
        let k = self.input * self.hidden;
        let w1 = w.slice(0, 0..k).reshape(&[self.input, self.hidden]);
        let w2 = w.slice(0, k..w.numel()).reshape(&[self.hidden, self.classes]);
        self.x.matmul(&w1).tanh().matmul(&w2).softmax_cross_entropy(&self.labels)
    }
}
