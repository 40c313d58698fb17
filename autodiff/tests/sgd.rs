//! `sgd_step`: the fused gradient-descent step against `value_and_grad_many` + `axpy_`.

mod common;

use autodiff::{Tensor, sgd_step, value_and_grad_many};
use common::{EPS, Rng, panic_msg};

const LABELS: [usize; 6] = [2, 0, 1, 2, 1, 0];

/// A two-layer classifier's loss: `p = [W₁, b₁, W₂, b₂]`.
fn mlp(p: &[Tensor<f64>], x: &Tensor<f64>) -> Tensor<f64> {
    let h = (&x.matmul(&p[0]) + &p[1]).tanh();
    (&h.matmul(&p[2]) + &p[3]).softmax_cross_entropy(&LABELS)
}

/// `|a|ᵀ·|d|` for row-major `a` (`k × m`) and `d` (`k × n`).
fn abs_tn(a: &Tensor<f64>, d: &Tensor<f64>) -> Vec<f64> {
    let (k, m, n) = (a.shape()[0], a.shape()[1], d.shape()[1]);
    let (a, d) = (a.data(), d.data());
    let mut out = vec![0.0; m * n];
    for p in 0..k {
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] += (a[p * m + i] * d[p * n + j]).abs();
            }
        }
    }
    out
}

#[test]
fn the_step_is_value_and_grad_then_axpy_up_to_the_products_rounding() {
    let mut rng = Rng::new(11);
    let x = rng.tensor(&[6, 5], -1.0, 1.0);
    let params = vec![
        rng.tensor(&[5, 7], -1.0, 1.0),
        rng.tensor(&[7], -1.0, 1.0),
        rng.tensor(&[7, 3], -1.0, 1.0),
        rng.tensor(&[3], -1.0, 1.0),
    ];
    let lr = 0.3;
    let (want_loss, grads) = value_and_grad_many(|p| mlp(p, &x), &params);
    let mut want = params.clone();
    for (w, g) in want.iter_mut().zip(&grads) {
        w.axpy_(-lr, g);
    }
    let mut got = params.clone();
    let loss = sgd_step(|p| mlp(p, &x), &mut got, lr);
    assert_eq!(loss.item(), want_loss.item());
    assert!(!loss.is_tracked());
    // The biases take the same gradient and the same axpy: bitwise equal.
    assert_eq!(got[1].to_vec(), want[1].to_vec());
    assert_eq!(got[3].to_vec(), want[3].to_vec());
    // A weight's fused update W + (−lr)·(Aᵀ·Δ) (A the layer's input, Δ the cotangent of its
    // output, k = 6 rows) and the reference W − lr·G, G = Aᵀ·Δ, each sum k products in some
    // order: each differs from the exact Aᵀ·Δ by at most k·ε·(|A|ᵀ|Δ|) (ε = 2⁻⁵², twice the
    // unit roundoff, covering fused and separate multiply-adds), so by 2k·ε·lr·(|A|ᵀ|Δ|)
    // from each other; the scaling and the final addition round each result once more,
    // ≤ ε·(|W| + lr·|G|) apiece. Δ for each layer comes from the same ops in both runs; it
    // is recomputed here through the public API (the cotangents of the pre-activations).
    let z1 = &x.matmul(&params[0]) + &params[1];
    let h = z1.tanh();
    let z2 = &h.matmul(&params[2]) + &params[3];
    let d2 = autodiff::grad(|z| z.softmax_cross_entropy(&LABELS), &z2);
    let d1 =
        autodiff::grad(|z| (&z.tanh().matmul(&params[2]) + &params[3]).softmax_cross_entropy(&LABELS), &z1);
    for (i, a, d) in [(0, &x, &d1), (2, &h, &d2)] {
        let bound = abs_tn(a, d);
        let (g, w0, w) = (grads[i].to_vec(), params[i].to_vec(), want[i].to_vec());
        for (e, (&v, &r)) in got[i].to_vec().iter().zip(&w).enumerate() {
            let tol = 2.0 * 6.0 * EPS * lr * bound[e] + 2.0 * EPS * (w0[e].abs() + lr * g[e].abs());
            assert!((v - r).abs() <= tol, "W{}[{e}]: {v} vs {r} (tolerance {tol:e})", i / 2 + 1);
        }
        assert_ne!(got[i].to_vec(), w0, "W{} moved", i / 2 + 1);
    }
}

#[test]
fn a_linear_loss_steps_exactly() {
    // f(W) = Σ (X·W) ⊙ C, so ∂f/∂W = Xᵀ·C; with small integers and lr = ½ every value is
    // exact in f64, and the step must give W − ½·Xᵀ·C to the bit (computed here by loops).
    let ints = |n: usize, s: usize| (0..n).map(|i| ((i * s + 2) % 9) as f64 - 4.0).collect::<Vec<_>>();
    let (b, k, n) = (4, 3, 5);
    let (xv, cv, wv) = (ints(b * k, 5), ints(b * n, 7), ints(k * n, 4));
    let (x, c) = (Tensor::from_vec(xv.clone(), &[b, k]), Tensor::from_vec(cv.clone(), &[b, n]));
    let mut p = [Tensor::from_vec(wv.clone(), &[k, n])];
    let loss = sgd_step(|p| (&x.matmul(&p[0]) * &c).sum(), &mut p, 0.5);
    let mut want = wv.clone();
    let mut f = 0.0;
    for r in 0..b {
        for i in 0..k {
            for j in 0..n {
                want[i * n + j] -= 0.5 * xv[r * k + i] * cv[r * n + j];
                f += xv[r * k + i] * wv[i * n + j] * cv[r * n + j];
            }
        }
    }
    assert_eq!(loss.item(), f);
    assert_eq!(p[0].to_vec(), want);
}

#[test]
fn a_kept_clone_keeps_the_old_values_and_unused_parameters_stay() {
    let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    let w = Tensor::from_vec(vec![1.0, -1.0, 0.5, 2.0], &[2, 2]);
    let unused = Tensor::from_vec(vec![7.0, 8.0], &[2]);
    let kept = w.clone();
    let mut p = [w, unused.clone()];
    sgd_step(|p| x.matmul(&p[0]).sum(), &mut p, 1.0);
    // ∂/∂W Σ X·W = Xᵀ·1 = column sums of X per row of W: [4, 4, 6, 6].
    assert_eq!(p[0].to_vec(), [-3.0, -5.0, -5.5, -4.0]);
    assert_eq!(kept.to_vec(), [1.0, -1.0, 0.5, 2.0], "the caller's clone is not written");
    assert_eq!(p[1].to_vec(), unused.to_vec());
    // A loss that depends on no parameter moves none.
    let loss = sgd_step(|_| x.sum(), &mut p, 1.0);
    assert_eq!((loss.item(), p[1].to_vec()), (10.0, unused.to_vec()));
}

#[test]
fn tracked_parameters_and_non_scalar_losses_are_refused() {
    let x = Tensor::from_vec(vec![1.0f64, 2.0], &[1, 2]);
    let mut tracked = [Tensor::<f64>::ones(&[2, 1]).requires_grad()];
    let msg = panic_msg(|| {
        sgd_step(|p| x.matmul(&p[0]).sum(), &mut tracked, 0.1);
    });
    assert!(msg.contains("sgd_step: parameter 0 (shape [2, 1]) is tracked or dual"), "{msg}");
    let mut p = [Tensor::<f64>::ones(&[2, 1])];
    let msg = panic_msg(|| {
        sgd_step(|p| p[0].clone(), &mut p, 0.1);
    });
    assert!(msg.contains("f must return one element, but it returned shape [2, 1]"), "{msg}");
}
