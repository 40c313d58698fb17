//! Jacobians and Hessians: where forward and reverse mode each win, and what a Hessian
//! costs against its Hessian-vector products and against finite differences.
//!
//! **Crossover** (`jac_crossover_t1`): f: ℝⁿ → ℝᵐ, a two-layer tanh network
//! f(x) = W₂·tanh(W₁x + b₁) + b₂ with 64 hidden units, f64, for (n, m) in (1, 256),
//! (16, 256), (64, 64), (256, 16), (256, 1): functions `jacfwd` and `jacrev` (default chunk),
//! plus the references the targets compare with: `jvp` (one directional derivative) at
//! (1, 256) and `value_and_grad` of f's single output at (256, 1).
//!
//! **Hessians** (`jac_hessian_t1`): the extended Rosenbrock function and a small MLP loss
//! as a function of its flattened weights (8 → 10 (tanh) → 2 for n = 100 weights,
//! 16 → 50 (tanh) → 4 for n = 1 000; 32 fixed samples, softmax cross-entropy), f64:
//! functions `hessian` (forward-over-reverse, default chunk), `hessian_rev`
//! (reverse-over-reverse), `hvp` (one Hessian-vector
//! product), `value_and_grad` and `fd_hessian` (the Hessian as n central differences of the
//! gradient, 2n gradient evaluations, step ∛ε·max(1, |xᵢ|)); values `<function>,n=<n>`.
//! And `hvp` / `value_and_grad` of the engine bench's MLP loss (784 → 256 (tanh) → 10, batch
//! 64, f32) with respect to all 203 530 of its parameters as one flat vector
//! (`mlp784,n=203530`).
//!
//! `NUMCORE_BENCH_QUICK=1` keeps the two ends of the crossover and n = 100.

use std::hint::black_box;
use std::time::Duration;

use autodiff::{Element, Tensor, hessian, hessian_rev, hvp, jacfwd, jacrev, jvp, value_and_grad};
use bench::SmallMlp;
use criterion::{BenchmarkId, Criterion};

const HIDDEN: usize = 64;

/// The two-layer tanh network ℝⁿ → ℝᵐ with seeded weights.
struct Net {
    w1: Tensor<f64>,
    b1: Tensor<f64>,
    w2: Tensor<f64>,
    b2: Tensor<f64>,
}

impl Net {
    fn new(n: usize, m: usize) -> Net {
        let s1 = 1.0 / (n as f64).sqrt();
        let s2 = 1.0 / (HIDDEN as f64).sqrt();
        Net {
            w1: Tensor::rand_uniform(&[HIDDEN, n], -s1, s1, 11),
            b1: Tensor::rand_uniform(&[HIDDEN, 1], -0.1, 0.1, 12),
            w2: Tensor::rand_uniform(&[m, HIDDEN], -s2, s2, 13),
            b2: Tensor::rand_uniform(&[m, 1], -0.1, 0.1, 14),
        }
    }

    fn f(&self, x: &Tensor<f64>) -> Tensor<f64> {
        let n = x.numel();
        let h = (&self.w1.matmul(&x.reshape(&[n, 1])) + &self.b1).tanh();
        (&self.w2.matmul(&h) + &self.b2).reshape(&[self.b2.numel()])
    }
}

fn bench_crossover(c: &mut Criterion, quick: bool) {
    let mut g = c.benchmark_group("jac_crossover_t1");
    let all = [(1, 256), (16, 256), (64, 64), (256, 16), (256, 1)];
    for (n, m) in all.into_iter().filter(|&(n, m)| !quick || n == 1 || m == 1) {
        let net = Net::new(n, m);
        let f = |x: &Tensor<f64>| net.f(x);
        let x = Tensor::rand_uniform(&[n], -1.0, 1.0, 15);
        let label = format!("n={n},m={m}");
        g.bench_function(BenchmarkId::new("jacfwd", &label), |b| b.iter(|| jacfwd(f, black_box(&x))));
        g.bench_function(BenchmarkId::new("jacrev", &label), |b| b.iter(|| jacrev(f, black_box(&x))));
        if n == 1 {
            let v = Tensor::ones(&[n]);
            g.bench_function(BenchmarkId::new("jvp", &label), |b| b.iter(|| jvp(f, black_box(&x), &v)));
        }
        if m == 1 {
            let scalar = |x: &Tensor<f64>| net.f(x).sum();
            g.bench_function(BenchmarkId::new("value_and_grad", &label), |b| {
                b.iter(|| value_and_grad(scalar, black_box(&x)))
            });
        }
    }
    g.finish();
}

fn rosenbrock(x: &Tensor<f64>) -> Tensor<f64> {
    let pairs = x.reshape(&[x.numel() / 2, 2]);
    let (a, b) = (pairs.select(1, 0), pairs.select(1, 1));
    (&(&(&b - &a.square()).square() * 100.0) + &(1.0 - &a).square()).sum()
}

/// The Hessian by central differences of the gradient: column j is
/// (∇f(x + hⱼeⱼ) − ∇f(x − hⱼeⱼ)) / 2hⱼ, with hⱼ = ∛ε·max(1, |xⱼ|) made exact.
fn fd_hessian(f: impl Fn(&Tensor<f64>) -> Tensor<f64> + Copy, x: &Tensor<f64>) -> Vec<f64> {
    let n = x.numel();
    let mut h = vec![0.0; n * n];
    for j in 0..n {
        let xj = x.data()[j];
        let step = {
            let s = f64::EPSILON.cbrt() * xj.abs().max(1.0);
            (xj + s) - xj
        };
        let at = |d: f64| {
            let mut v = x.to_vec();
            v[j] += d;
            value_and_grad(f, &Tensor::from_vec(v, x.shape())).1.to_vec()
        };
        let (gp, gm) = (at(step), at(-step));
        for i in 0..n {
            h[i * n + j] = (gp[i] - gm[i]) / (2.0 * step);
        }
    }
    h
}

/// A scalar function of a vector, as the Hessian cases are passed around.
type Scalar<'a> = dyn Fn(&Tensor<f64>) -> Tensor<f64> + 'a;

fn bench_hessians(c: &mut Criterion, quick: bool) {
    let mut g = c.benchmark_group("jac_hessian_t1");
    g.sampling_mode(criterion::SamplingMode::Flat);
    let sizes: &[usize] = if quick { &[100] } else { &[100, 1000] };
    for &n in sizes {
        let mlp = if n == 100 { SmallMlp::new(8, 10, 2) } else { SmallMlp::new(16, 50, 4) };
        assert_eq!(mlp.weights(), n);
        let rosen_x = Tensor::from_vec((0..n).map(|i| if i % 2 == 0 { -1.2 } else { 1.0 }).collect(), &[n]);
        let mlp_x = Tensor::rand_uniform(&[n], -0.5, 0.5, 22);
        let mlp_loss = |w: &Tensor<f64>| mlp.loss(w);
        let cases: [(&str, &Scalar, &Tensor<f64>); 2] =
            [("rosenbrock", &rosenbrock, &rosen_x), ("mlp", &mlp_loss, &mlp_x)];
        for (name, f, x) in cases {
            let label = format!("{name},n={n}");
            let v = Tensor::rand_uniform(&[n], -1.0, 1.0, 23);
            g.bench_function(BenchmarkId::new("hessian", &label), |b| b.iter(|| hessian(f, black_box(x))));
            g.bench_function(BenchmarkId::new("hessian_rev", &label), |b| {
                b.iter(|| hessian_rev(f, black_box(x)))
            });
            g.bench_function(BenchmarkId::new("hvp", &label), |b| b.iter(|| hvp(f, black_box(x), &v)));
            g.bench_function(BenchmarkId::new("value_and_grad", &label), |b| {
                b.iter(|| value_and_grad(f, black_box(x)))
            });
            g.bench_function(BenchmarkId::new("fd_hessian", &label), |b| {
                b.iter(|| fd_hessian(f, black_box(x)))
            });
        }
    }
    bench_big_mlp_hvp(&mut g);
    g.finish();
}

/// hvp and value_and_grad of the engine bench's MLP loss over all its parameters, flat.
fn bench_big_mlp_hvp(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    const IN: usize = 784;
    const H: usize = 256;
    const OUT: usize = 10;
    let sizes = [IN * H, H, H * OUT, OUT];
    let total: usize = sizes.iter().sum();
    let x = Tensor::<f32>::rand_uniform(&[64, IN], 0.0, 1.0, 3);
    let labels: Vec<usize> = (0..64).map(|i| (i * 7 + 3) % OUT).collect();
    let loss = |w: &Tensor<f32>| {
        let mut at = 0;
        let mut part = |len: usize, shape: &[usize]| {
            at += len;
            w.slice(0, at - len..at).reshape(shape)
        };
        let (w1, b1, w2, b2) =
            (part(sizes[0], &[IN, H]), part(H, &[H]), part(sizes[2], &[H, OUT]), part(OUT, &[OUT]));
        let h = (&x.matmul(&w1) + &b1).tanh();
        (&h.matmul(&w2) + &b2).softmax_cross_entropy(&labels)
    };
    let w = &Tensor::<f32>::rand_uniform(&[total], -1.0, 1.0, 4) * <f32 as Element>::from_f64(0.05);
    let v = Tensor::<f32>::rand_uniform(&[total], -1.0, 1.0, 5);
    let label = format!("mlp784,n={total}");
    g.bench_function(BenchmarkId::new("hvp", &label), |b| b.iter(|| hvp(loss, black_box(&w), &v)));
    g.bench_function(BenchmarkId::new("value_and_grad", &label), |b| {
        b.iter(|| value_and_grad(loss, black_box(&w)))
    });
}

fn main() {
    let quick = std::env::var("NUMCORE_BENCH_QUICK").is_ok_and(|v| v == "1");
    let (warm, measure) = if quick { (0.1, 0.3) } else { (0.3, 1.0) };
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs_f64(warm))
        .measurement_time(Duration::from_secs_f64(measure))
        .sample_size(10)
        .configure_from_args();
    // One thread: the comparisons are between modes, not thread counts.
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .expect("the global rayon pool is unused so far");
    bench_crossover(&mut c, quick);
    bench_hessians(&mut c, quick);
    c.final_summary();
}
