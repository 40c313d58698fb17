//! Newton's method with the exact Hessian against gradient descent on the extended
//! Rosenbrock function, n = 10 and n = 100: iterations and time to ‖∇f‖ < 1e-10, side by
//! side.
//!
//! f(x) = Σᵢ 100(x₂ᵢ₊₁ − x₂ᵢ²)² + (1 − x₂ᵢ)², i < n/2 (Moré, Garbow & Hillstrom 1981),
//! minimum 0 at x = 1, started from the standard point (−1.2, 1, −1.2, 1, …).
//! Both methods use the same Armijo backtracking line search; Newton's direction solves
//! H·d = −∇f (Cholesky; steepest descent when H is not positive definite), gradient
//! descent's is −∇f. Gradient descent is capped at 200 000 iterations.
//!
//! Run: `cargo run --release -p autodiff --example newton`.

use std::time::Instant;

use autodiff::{Tensor, hessian, value_and_grad};

const GOAL: f64 = 1e-10;
const GD_CAP: usize = 200_000;

fn rosenbrock(x: &Tensor<f64>) -> Tensor<f64> {
    let pairs = x.reshape(&[x.numel() / 2, 2]);
    let (a, b) = (pairs.select(1, 0), pairs.select(1, 1));
    (&(&(&b - &a.square()).square() * 100.0) + &(1.0 - &a).square()).sum()
}

/// Cholesky solve of H·d = r; `None` if H is not (numerically) positive definite.
fn cholesky_solve(h: &[f64], r: &[f64]) -> Option<Vec<f64>> {
    let n = r.len();
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let d = h[i * n + i] - s;
                if d <= 0.0 {
                    return None;
                }
                l[i * n + i] = d.sqrt();
            } else {
                l[i * n + j] = (h[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (r[i] - (0..i).map(|k| l[i * n + k] * y[k]).sum::<f64>()) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[k * n + i] * x[k]).sum::<f64>()) / l[i * n + i];
    }
    Some(x)
}

/// Armijo backtracking from step 1: the largest 2⁻ᵏ with f(x + t·d) ≤ f(x) + 10⁻⁴·t·∇f·d.
fn line_search(x: &Tensor<f64>, f0: f64, g: &[f64], d: &[f64]) -> Tensor<f64> {
    let slope: f64 = g.iter().zip(d).map(|(a, b)| a * b).sum();
    let dir = Tensor::from_vec(d.to_vec(), x.shape());
    let mut t = 1.0;
    for _ in 0..60 {
        let next = x + &(&dir * t);
        if rosenbrock(&next).item() <= f0 + 1e-4 * t * slope {
            return next;
        }
        t *= 0.5;
    }
    x + &(&dir * t)
}

struct Run {
    iterations: usize,
    seconds: f64,
    grad_norm: f64,
}

fn minimise(n: usize, newton: bool) -> Run {
    let start = Instant::now();
    let mut x = Tensor::from_vec((0..n).map(|i| if i % 2 == 0 { -1.2 } else { 1.0 }).collect(), &[n]);
    let cap = if newton { 200 } else { GD_CAP };
    for it in 0..cap {
        let (f, g) = value_and_grad(rosenbrock, &x);
        let g = g.to_vec();
        let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm < GOAL {
            return Run { iterations: it, seconds: start.elapsed().as_secs_f64(), grad_norm: norm };
        }
        let neg: Vec<f64> = g.iter().map(|v| -v).collect();
        let d =
            if newton { cholesky_solve(hessian(rosenbrock, &x).data(), &neg).unwrap_or(neg) } else { neg };
        x = line_search(&x, f.item(), &g, &d);
    }
    let g = value_and_grad(rosenbrock, &x).1.to_vec();
    Run {
        iterations: cap,
        seconds: start.elapsed().as_secs_f64(),
        grad_norm: g.iter().map(|v| v * v).sum::<f64>().sqrt(),
    }
}

fn main() {
    println!("extended Rosenbrock, start (−1.2, 1, …), goal ‖∇f‖ < {GOAL:e}");
    println!("{:>5} | {:>28} | {:>40}", "n", "Newton (exact Hessian)", "gradient descent");
    for n in [10, 100] {
        let nt = minimise(n, true);
        assert!(nt.grad_norm < GOAL, "Newton did not converge for n = {n}: ‖∇f‖ = {}", nt.grad_norm);
        let gd = minimise(n, false);
        let gd_note = if gd.grad_norm < GOAL {
            String::new()
        } else {
            format!(" (cap; ‖∇f‖ = {:.1e})", gd.grad_norm)
        };
        println!(
            "{n:>5} | {:>6} iterations {:>9.2} ms | {:>7} iterations {:>9.1} ms{gd_note}",
            nt.iterations,
            nt.seconds * 1e3,
            gd.iterations,
            gd.seconds * 1e3
        );
    }
}
