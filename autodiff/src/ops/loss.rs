//! Losses, as compositions of differentiable ops (so every derivative order comes free).

use kernels::Element;

use crate::Tensor;

impl<T: Element> Tensor<T> {
    /// Mean squared error `mean((self − target)²)`. Derivative `2(self − target)/n`.
    ///
    /// # Panics
    /// If the shapes differ (no broadcasting: a mismatched target is almost always a bug).
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let p = Tensor::from_vec(vec![1.0f64, 3.0], &[2]);
    /// assert_eq!(p.mse_loss(&Tensor::from_vec(vec![0.0, 1.0], &[2])).item(), 2.5); // (1 + 4)/2
    /// ```
    #[track_caller]
    pub fn mse_loss(&self, target: &Tensor<T>) -> Tensor<T> {
        assert!(
            self.shape() == target.shape(),
            "mse_loss: prediction shape {:?} and target shape {:?} differ",
            self.shape(),
            target.shape()
        );
        (self - target).square().mean()
    }

    /// Softmax cross-entropy of `[batch, classes]` logits against integer labels, averaged
    /// over the batch: `−mean_b log_softmax(self)[b, labels[b]]`. Derivative
    /// `(softmax(self) − onehot(labels))/batch`.
    ///
    /// # Panics
    /// If the logits are not 2-d, the label count differs from the batch, or a label is not
    /// below the class count (each message names the offending value).
    ///
    /// ```
    /// use autodiff::Tensor;
    /// // Two equal logits: the loss is ln 2 whatever the label.
    /// let l = Tensor::<f64>::zeros(&[1, 2]).softmax_cross_entropy(&[1]);
    /// assert!((l.item() - 2f64.ln()).abs() < 1e-15);
    /// ```
    #[track_caller]
    pub fn softmax_cross_entropy(&self, labels: &[usize]) -> Tensor<T> {
        assert!(
            self.ndim() == 2,
            "softmax_cross_entropy: logits must be [batch, classes], got shape {:?}",
            self.shape()
        );
        let (batch, classes) = (self.shape()[0], self.shape()[1]);
        assert!(
            labels.len() == batch,
            "softmax_cross_entropy: {} labels for a batch of {batch} (logits shape {:?})",
            labels.len(),
            self.shape()
        );
        let mut onehot = vec![T::ZERO; batch * classes];
        for (b, &l) in labels.iter().enumerate() {
            assert!(
                l < classes,
                "softmax_cross_entropy: label {l} at batch index {b} is not below {classes} classes"
            );
            onehot[b * classes + l] = T::ONE;
        }
        let onehot = Tensor::from_vec(onehot, self.shape());
        &(&self.log_softmax(1) * &onehot).sum() * (-T::ONE / T::from_f64(batch as f64))
    }
}
