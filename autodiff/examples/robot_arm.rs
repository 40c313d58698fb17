//! A 3-link planar arm: forward kinematics written once as a tensor function, its Jacobian
//! by forward and by reverse mode, and damped least-squares inverse kinematics driving the
//! hand to a target to 1e-9.
//!
//! Joint angles θ ∈ ℝ³, link lengths l; link i points at the cumulative angle
//! φᵢ = θ₀ + … + θᵢ, so the hand is at p(θ) = (Σ lᵢ cos φᵢ, Σ lᵢ sin φᵢ). The damped
//! least-squares step (Wampler 1986; Nakamura & Hanafusa 1986) is
//! Δθ = Jᵀ(J·Jᵀ + λ²I)⁻¹·(target − p), which stays bounded near singular poses.
//!
//! Run: `cargo run --release -p autodiff --example robot_arm`.

use autodiff::{Tensor, jacfwd, jacrev};

const LENGTHS: [f64; 3] = [1.0, 0.8, 0.5];
/// Damping λ: large enough to tame near-singular poses, small enough not to slow the
/// final, well-conditioned iterations much.
const LAMBDA: f64 = 1e-2;
const TOLERANCE: f64 = 1e-9;

/// p(θ): the hand's position, shape [2].
fn hand(theta: &Tensor<f64>) -> Tensor<f64> {
    // φ = L·θ with L lower-triangular ones: cumulative angles.
    let cumulative = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0], &[3, 3]);
    let phi = cumulative.matmul(&theta.reshape(&[3, 1])).reshape(&[3]);
    let l = Tensor::from_vec(LENGTHS.to_vec(), &[3]);
    Tensor::stack(&[(&l * &phi.cos()).sum(), (&l * &phi.sin()).sum()], 0)
}

/// Solves the 2×2 system (a b; b d)·x = r (symmetric positive definite).
fn solve2(a: f64, b: f64, d: f64, r: [f64; 2]) -> [f64; 2] {
    let det = a * d - b * b;
    [(d * r[0] - b * r[1]) / det, (a * r[1] - b * r[0]) / det]
}

fn main() {
    let target = [1.2, 0.9];
    let mut theta = Tensor::from_vec(vec![0.3, 0.4, 0.5], &[3]);

    // The Jacobian both ways at the start: forward mode (3 inputs) and reverse (2 outputs).
    let (jf, jr) = (jacfwd(hand, &theta), jacrev(hand, &theta));
    let gap = jf.to_vec().iter().zip(jr.to_vec()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    println!("J(θ₀) = {:?} (2×3), |jacfwd − jacrev|∞ = {gap:.1e}", jf.to_vec());
    assert!(gap <= 1e-15, "jacfwd and jacrev disagree by {gap}");

    for iter in 0..100 {
        let p = hand(&theta).to_vec();
        let e = [target[0] - p[0], target[1] - p[1]];
        let err = e[0].hypot(e[1]);
        println!("iteration {iter:2}: |target − p| = {err:.3e}");
        if err < TOLERANCE {
            println!("reached the target: θ = {:?}", theta.to_vec());
            return;
        }
        let j = jacfwd(hand, &theta).to_vec(); // row-major 2×3
        let (r0, r1) = (&j[..3], &j[3..]);
        let dot = |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(a, b)| a * b).sum::<f64>();
        let lam2 = LAMBDA * LAMBDA;
        let y = solve2(dot(r0, r0) + lam2, dot(r0, r1), dot(r1, r1) + lam2, e);
        let step: Vec<f64> = (0..3).map(|k| r0[k] * y[0] + r1[k] * y[1]).collect();
        theta = &theta + &Tensor::from_vec(step, &[3]);
    }
    panic!("inverse kinematics did not reach {TOLERANCE} in 100 iterations");
}
