//! The autodiff engine on an MLP and on tiny tensors.
//!
//! **MLP** 784 → H (tanh) → 10, softmax cross-entropy over integer labels, f32: `b64`
//! (batch 64, H = 256) and `b256` (batch 256, H = 512). Tasks:
//! - `forward`: the loss, untracked;
//! - `value_and_grad`: the loss and its gradient with respect to the four parameters;
//! - `sgd_step`: the loss and `w ← w − η·∇w` for each parameter, in place: ours is
//!   `autodiff::sgd_step`, which writes each weight matrix's gradient product straight into
//!   the weights (`W ← W − η·Aᵀ·Δ`, one β = 1 GEMM), and `manual` does the same.
//!
//! Implementations: `ours` (the engine, as a user writes it) and `manual`: the same
//! computation hand-written on the kernels (GEMM reading transposes through strides, the
//! fused tanh backward, softmax rows, column sums for the bias gradients) into
//! preallocated buffers, the floor an engine built on these kernels can approach. The
//! throughput counts matrix-product FLOPs only: forward 2B(784H + 10H), gradient
//! additionally 2B(784H + 10H) for the weight gradients and 2B·10H for the hidden
//! cotangent (no gradient flows to the input), so criterion's elements/s is FLOP/s of
//! matrix work.
//!
//! **Overhead**: a chain of 100 ops on 1-element f64 tensors (alternately `* c` and `+ c`),
//! throughput 100 elements = ops, so the report reads ns per op: `record_backward` (ours:
//! forward with recording, then the backward sweep), `forward` (ours, no_grad) and `plain`
//! (the same arithmetic on `f64`s, the floor).
//!
//! `NUMCORE_BENCH_THREADS` (`1`, the default, or `all`) runs everything inside a one-thread
//! rayon pool (the global pool, sized to one) or
//! the default global pool. Groups `ad_{mlp_b64,mlp_b256}_{task}_{t1,tall}` and
//! `ad_overhead_{t1,tall}`.

use std::hint::black_box;
use std::time::Duration;

use autodiff::{Tensor, no_grad, sgd_step, value_and_grad_many};
use criterion::{BenchmarkId, Criterion, Throughput};
use kernels::{MatMut, MatRef, Par, ew, gemm};

const IN: usize = 784;
const OUT: usize = 10;
const LR: f32 = 0.01;

/// One MLP configuration: its parameters (W1, b1, W2, b2), a batch and labels.
struct Mlp {
    batch: usize,
    hidden: usize,
    params: Vec<Tensor<f32>>,
    x: Tensor<f32>,
    labels: Vec<usize>,
}

impl Mlp {
    fn new(batch: usize, hidden: usize) -> Self {
        // Glorot-scaled uniform weights, seeded.
        let s1 = (6.0 / (IN + hidden) as f64).sqrt();
        let s2 = (6.0 / (hidden + OUT) as f64).sqrt();
        let params = vec![
            Tensor::rand_uniform(&[IN, hidden], -s1, s1, 1),
            Tensor::zeros(&[hidden]),
            Tensor::rand_uniform(&[hidden, OUT], -s2, s2, 2),
            Tensor::zeros(&[OUT]),
        ];
        let x = Tensor::rand_uniform(&[batch, IN], 0.0, 1.0, 3);
        let labels = (0..batch).map(|i| (i * 7 + 3) % OUT).collect();
        Mlp { batch, hidden, params, x, labels }
    }

    /// Matrix FLOPs of the forward pass and of a gradient evaluation.
    fn flops(&self) -> (u64, u64) {
        let (b, h) = (self.batch as u64, self.hidden as u64);
        let fwd = 2 * b * (IN as u64 * h + h * OUT as u64);
        (fwd, 2 * fwd + 2 * b * h * OUT as u64)
    }
}

/// The loss of the MLP, as a user writes it.
fn loss(p: &[Tensor<f32>], x: &Tensor<f32>, labels: &[usize]) -> Tensor<f32> {
    let h = (&x.matmul(&p[0]) + &p[1]).tanh();
    (&h.matmul(&p[2]) + &p[3]).softmax_cross_entropy(labels)
}

/// The hand-written forward and backward on the kernels, with preallocated buffers.
struct Manual {
    h: Vec<f32>,
    logits: Vec<f32>,
    dlogits: Vec<f32>,
    dh: Vec<f32>,
    dpre: Vec<f32>,
    grads: Vec<Vec<f32>>,
}

impl Manual {
    fn new(m: &Mlp) -> Self {
        let (b, h) = (m.batch, m.hidden);
        Manual {
            h: vec![0.0; b * h],
            logits: vec![0.0; b * OUT],
            dlogits: vec![0.0; b * OUT],
            dh: vec![0.0; b * h],
            dpre: vec![0.0; b * h],
            grads: m.params.iter().map(|p| vec![0.0; p.numel()]).collect(),
        }
    }

    fn forward(&mut self, m: &Mlp, p: &[Tensor<f32>]) -> f32 {
        let (b, h) = (m.batch, m.hidden);
        let mm = |a: MatRef<'_, f32>, w: MatRef<'_, f32>, bias: &[f32], out: &mut [f32], n: usize| {
            for row in out.chunks_exact_mut(n) {
                row.copy_from_slice(bias);
            }
            gemm(1.0, a, w, 1.0, MatMut::row_major(out, b, n), Par::All);
        };
        mm(
            MatRef::row_major(m.x.data(), b, IN),
            MatRef::row_major(p[0].data(), IN, h),
            p[1].data(),
            &mut self.h,
            h,
        );
        ew::map_inplace(ew::Unary::Tanh, &mut self.h);
        mm(
            MatRef::row_major(&self.h, b, h),
            MatRef::row_major(p[2].data(), h, OUT),
            p[3].data(),
            &mut self.logits,
            OUT,
        );
        ew::log_softmax_rows(&self.logits, OUT, &mut self.dlogits);
        -m.labels.iter().enumerate().map(|(i, &l)| self.dlogits[i * OUT + l]).sum::<f32>() / b as f32
    }

    /// The loss, leaving the logits' cotangent in `dlogits`.
    fn forward_and_dlogits(&mut self, m: &Mlp, p: &[Tensor<f32>]) -> f32 {
        let loss = self.forward(m, p);
        // dlogits = (softmax − onehot)/B; dlogits holds log-softmax here.
        ew::map_inplace(ew::Unary::Exp, &mut self.dlogits);
        for (i, &l) in m.labels.iter().enumerate() {
            self.dlogits[i * OUT + l] -= 1.0;
        }
        ew::scale(1.0 / m.batch as f32, &mut self.dlogits);
        loss
    }

    fn value_and_grad(&mut self, m: &Mlp, p: &[Tensor<f32>]) -> f32 {
        let (b, h) = (m.batch, m.hidden);
        let loss = self.forward_and_dlogits(m, p);
        let [g0, g1, g2, g3] = &mut self.grads[..] else { unreachable!() };
        let dl = MatRef::row_major(&self.dlogits, b, OUT);
        // dW2 = hᵀ·dlogits, db2 = Σ_rows dlogits, dh = dlogits·W2ᵀ ⊙ (1 − h²)
        gemm(1.0, MatRef::col_major(&self.h, h, b), dl, 0.0, MatMut::row_major(g2, h, OUT), Par::All);
        ew::sum_cols(&self.dlogits, OUT, g3);
        let w2t = MatRef::col_major(p[2].data(), OUT, h);
        gemm(1.0, dl, w2t, 0.0, MatMut::row_major(&mut self.dh, b, h), Par::All);
        ew::tanh_backward(&self.dh, &self.h, &mut self.dpre);
        // dW1 = xᵀ·dpre, db1 = Σ_rows dpre (dpre: the cotangent before tanh)
        let dpre = MatRef::row_major(&self.dpre, b, h);
        gemm(1.0, MatRef::col_major(m.x.data(), IN, b), dpre, 0.0, MatMut::row_major(g0, IN, h), Par::All);
        ew::sum_cols(&self.dpre, h, g1);
        loss
    }

    /// One SGD step, the weights' updates fused into their gradient products
    /// (`W ← W − lr·Aᵀ·Δ`, β = 1), the biases' gradients formed and applied.
    fn sgd_step(&mut self, m: &Mlp, p: &mut [Tensor<f32>]) -> f32 {
        let (b, h) = (m.batch, m.hidden);
        let loss = self.forward_and_dlogits(m, p);
        let dl = MatRef::row_major(&self.dlogits, b, OUT);
        // dh reads W₂ before its update.
        let w2t = MatRef::col_major(p[2].data(), OUT, h);
        gemm(1.0, dl, w2t, 0.0, MatMut::row_major(&mut self.dh, b, h), Par::All);
        let ht = MatRef::col_major(&self.h, h, b);
        gemm(-LR, ht, dl, 1.0, MatMut::row_major(p[2].data_mut(), h, OUT), Par::All);
        ew::sum_cols(&self.dlogits, OUT, &mut self.grads[3]);
        ew::axpy(-LR, &self.grads[3], p[3].data_mut());
        ew::tanh_backward(&self.dh, &self.h, &mut self.dpre);
        let dpre = MatRef::row_major(&self.dpre, b, h);
        let xt = MatRef::col_major(m.x.data(), IN, b);
        gemm(-LR, xt, dpre, 1.0, MatMut::row_major(p[0].data_mut(), IN, h), Par::All);
        ew::sum_cols(&self.dpre, h, &mut self.grads[1]);
        ew::axpy(-LR, &self.grads[1], p[1].data_mut());
        loss
    }
}

fn bench_mlp(c: &mut Criterion, tag: &str, quick: bool) {
    let configs: &[(&str, usize, usize)] =
        if quick { &[("b64", 64, 256)] } else { &[("b64", 64, 256), ("b256", 256, 512)] };
    for &(name, batch, hidden) in configs {
        let mut m = Mlp::new(batch, hidden);
        let (fwd, grad) = m.flops();
        let mut manual = Manual::new(&m);

        let mut g = c.benchmark_group(format!("ad_mlp_{name}_forward_{tag}"));
        g.throughput(Throughput::Elements(fwd));
        g.bench_function(BenchmarkId::new("ours", name), |bn| {
            bn.iter(|| no_grad(|| loss(black_box(&m.params), &m.x, &m.labels)))
        });
        g.bench_function(BenchmarkId::new("manual", name), |bn| {
            bn.iter(|| manual.forward(&m, black_box(&m.params)))
        });
        g.finish();

        let mut g = c.benchmark_group(format!("ad_mlp_{name}_value_and_grad_{tag}"));
        g.throughput(Throughput::Elements(grad));
        g.bench_function(BenchmarkId::new("ours", name), |bn| {
            bn.iter(|| value_and_grad_many(|p| loss(p, &m.x, &m.labels), black_box(&m.params)))
        });
        g.bench_function(BenchmarkId::new("manual", name), |bn| {
            bn.iter(|| manual.value_and_grad(&m, black_box(&m.params)))
        });
        g.finish();

        let mut g = c.benchmark_group(format!("ad_mlp_{name}_sgd_step_{tag}"));
        g.throughput(Throughput::Elements(grad));
        g.bench_function(BenchmarkId::new("ours", name), |bn| {
            bn.iter(|| sgd_step(|p| loss(p, &m.x, &m.labels), &mut m.params, LR))
        });
        let mut params = m.params.clone();
        g.bench_function(BenchmarkId::new("manual", name), |bn| bn.iter(|| manual.sgd_step(&m, &mut params)));
        g.finish();
    }
}

/// Ops in the overhead chain.
const CHAIN: usize = 100;

fn bench_overhead(c: &mut Criterion, tag: &str) {
    let mut g = c.benchmark_group(format!("ad_overhead_{tag}"));
    g.throughput(Throughput::Elements(CHAIN as u64));
    let chain = |x: &Tensor<f64>| {
        let (m, a) = (Tensor::scalar(1.000_001f64), Tensor::scalar(1e-7f64));
        let mut y = x.clone();
        for i in 0..CHAIN {
            y = if i % 2 == 0 { &y * &m } else { &y + &a };
        }
        y
    };
    let x = Tensor::scalar(0.5f64);
    let label = format!("chain={CHAIN}");
    g.bench_function(BenchmarkId::new("record_backward", &label), |bn| {
        bn.iter(|| autodiff::grad(chain, black_box(&x)))
    });
    g.bench_function(BenchmarkId::new("forward", &label), |bn| bn.iter(|| no_grad(|| chain(black_box(&x)))));
    g.bench_function(BenchmarkId::new("plain", &label), |bn| {
        bn.iter(|| {
            let (m, a) = (black_box(1.000_001f64), black_box(1e-7f64));
            let mut y = black_box(0.5f64);
            for i in 0..CHAIN {
                y = if i % 2 == 0 { y * m } else { y + a };
            }
            y
        })
    });
    g.finish();
}

fn main() {
    let setting = std::env::var("NUMCORE_BENCH_THREADS").unwrap_or_else(|_| "1".into());
    let (tag, threads) = match setting.as_str() {
        "1" => ("t1", Some(1)),
        "all" => ("tall", None),
        other => panic!("NUMCORE_BENCH_THREADS must be 1 or all, not {other:?}"),
    };
    let quick = std::env::var("NUMCORE_BENCH_QUICK").is_ok_and(|v| v == "1");
    // 15 benchmarks per thread setting at 1.5 s each: about 25 s, twice in `cargo xtask bench`.
    let (warm, measure) = if quick { (0.1, 0.3) } else { (0.5, 1.0) };
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs_f64(warm))
        .measurement_time(Duration::from_secs_f64(measure))
        .sample_size(if quick { 10 } else { 30 })
        .configure_from_args();
    if let Some(n) = threads {
        // Criterion is not `Send`, so the benches cannot run inside a pool's `install`; the
        // global pool, sized before first use, sets the threads of every kernel call.
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .expect("the global rayon pool is unused so far");
    }
    bench_mlp(&mut c, tag, quick);
    bench_overhead(&mut c, tag);
    c.final_summary();
}
