//! What gradient checking costs (`verify_check_grad_t1`): `verify::check_grad` in fast mode
//! (4 probes) and in full mode, against a plain central-difference gradient of the same
//! function (2n evaluations, step ∛ε·max(1, |xᵢ|) made exact: what a hand-rolled checker
//! does) and one `value_and_grad`. The function is the small MLP loss of the Hessian bench
//! as a function of its n flat weights (8 → 10 (tanh) → 2 for n = 100, 16 → 50 (tanh) → 4
//! for n = 1 000; 32 samples, softmax cross-entropy), f64, one thread. Values `mlp,n=<n>`.
//!
//! `NUMCORE_BENCH_QUICK=1` keeps n = 100.

use std::hint::black_box;
use std::time::Duration;

use autodiff::{Tensor, value_and_grad};
use bench::SmallMlp;
use criterion::{BenchmarkId, Criterion};
use verify::{Checker, Mode};

/// The gradient by central differences: `(f(x + hᵢeᵢ) − f(x − hᵢeᵢ)) / 2hᵢ`, with
/// `hᵢ = ∛ε·max(1, |xᵢ|)` made exact.
fn central_fd(f: impl Fn(&Tensor<f64>) -> Tensor<f64>, x: &Tensor<f64>) -> Vec<f64> {
    let mut v = x.to_vec();
    (0..v.len())
        .map(|j| {
            let xj = v[j];
            let h = (xj + f64::EPSILON.cbrt() * xj.abs().max(1.0)) - xj;
            v[j] = xj + h;
            let up = f(&Tensor::from_vec(v.clone(), x.shape())).item();
            v[j] = xj - h;
            let down = f(&Tensor::from_vec(v.clone(), x.shape())).item();
            v[j] = xj;
            (up - down) / (2.0 * h)
        })
        .collect()
}

fn bench_check_grad(c: &mut Criterion, quick: bool) {
    let mut g = c.benchmark_group("verify_check_grad_t1");
    let sizes: &[usize] = if quick { &[100] } else { &[100, 1000] };
    for &n in sizes {
        let mlp = if n == 100 { SmallMlp::new(8, 10, 2) } else { SmallMlp::new(16, 50, 4) };
        assert_eq!(mlp.weights(), n);
        let w = Tensor::rand_uniform(&[n], -0.5, 0.5, 22);
        let loss = |w: &Tensor<f64>| mlp.loss(w);
        let label = format!("mlp,n={n}");
        // The checks must pass here, or the timing is of a failure path.
        for mode in [Mode::Fast { probes: 4 }, Mode::Full] {
            let r = Checker::new().mode(mode).check_grad(loss, &w);
            assert!(r.passed(), "{r}");
        }
        let fast = Checker::new().mode(Mode::Fast { probes: 4 });
        g.bench_function(BenchmarkId::new("check_grad_fast", &label), |b| {
            b.iter(|| fast.check_grad(loss, black_box(&w)))
        });
        let full = Checker::new().mode(Mode::Full);
        g.bench_function(BenchmarkId::new("check_grad_full", &label), |b| {
            b.iter(|| full.check_grad(loss, black_box(&w)))
        });
        g.bench_function(BenchmarkId::new("central_fd", &label), |b| {
            b.iter(|| central_fd(loss, black_box(&w)))
        });
        g.bench_function(BenchmarkId::new("value_and_grad", &label), |b| {
            b.iter(|| value_and_grad(loss, black_box(&w)))
        });
    }
    g.finish();
}

fn main() {
    let quick = std::env::var("NUMCORE_BENCH_QUICK").is_ok_and(|v| v == "1");
    let (warm, measure) = if quick { (0.1, 0.3) } else { (0.3, 1.0) };
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs_f64(warm))
        .measurement_time(Duration::from_secs_f64(measure))
        .sample_size(10)
        .configure_from_args();
    // One thread: the comparison is between ways of checking, not thread counts.
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .expect("the global rayon pool is unused so far");
    bench_check_grad(&mut c, quick);
    c.final_summary();
}
