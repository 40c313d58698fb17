//! Concurrency under load: 16 OS threads call GEMM, the elementwise kernels and `grad` at
//! once for a bounded time, each checking every result; GEMM, the kernels and the engine
//! called from inside rayon tasks, with nested parallelism (`Par::All` inside a pool's
//! tasks, a pool inside another pool). `STRESS_SECS` sets the duration (default 2 s per
//! test; the lent 16-core machine ran it at 60 s).

#[path = "../../kernels/tests/common/mod.rs"]
mod kcommon;

use std::time::{Duration, Instant};

use autodiff::{Tensor, grad, grad_many};
use kcommon::{Layout, Operand, Rng, check};
use kernels::ew::{self, Exec, Unary};
use kernels::{Config, Isa, Par, Path};
use rayon::prelude::*;

fn budget() -> Duration {
    let secs = std::env::var("STRESS_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(2.0);
    Duration::from_secs_f64(secs)
}

/// One GEMM on integer inputs (exact, see kcommon::check), with a shape from `rng`: mostly
/// small, sometimes 160³ (4 M multiply-adds, enough for the work gate to grant threads).
fn gemm_job(rng: &mut Rng, par: Par) {
    let big = rng.range(0, 7) == 0;
    let dim = |rng: &mut Rng| if big { 160 } else { rng.range(0, 70) };
    let (m, n, k) = (dim(rng), dim(rng), dim(rng));
    let layout = |rng: &mut Rng, w: bool| {
        if w { Layout::WRITE[rng.range(0, 6)] } else { Layout::READ[rng.range(0, 7)] }
    };
    let (la, lb, lc) = (layout(rng, false), layout(rng, false), layout(rng, true));
    let a = Operand::<f64>::new(m, k, la, |_, _| rng.small_int());
    let b = Operand::<f64>::new(k, n, lb, |_, _| rng.small_int());
    let mut c = Operand::<f64>::new(m, n, lc, |_, _| rng.small_int());
    let path = [Path::Auto, Path::Direct, Path::Packed][rng.range(0, 2)];
    check(&Config { par, path, ..Config::default() }, 2.0, &a, &b, -1.0, &mut c, true, "stress gemm");
}

/// exp over a slice of random length and offset: every element bit-identical to the
/// one-element call (what the element computes cannot depend on its neighbours or the
/// thread that ran it), and an exact sum of small integers (Σ below 2⁵³: exact).
fn ew_job(rng: &mut Rng) {
    let n = rng.range(0, 40_000);
    let off = rng.range(0, 7);
    let x: Vec<f64> = (0..n + off).map(|_| rng.uniform(-20.0, 20.0)).collect();
    let mut y = vec![0.0; n];
    ew::map(Unary::Exp, &x[off..], &mut y);
    for (i, (&xi, &yi)) in x[off..].iter().zip(&y).enumerate() {
        let mut one = [0.0];
        ew::map(Unary::Exp, &[xi], &mut one);
        assert_eq!(yi.to_bits(), one[0].to_bits(), "exp[{i}] of {xi}");
    }
    let ints: Vec<f64> = (0..n).map(|_| rng.small_int()).collect();
    let want: f64 = ints.iter().sum();
    assert_eq!(ew::sum(&ints), want, "sum of {n} small integers");
}

/// The classifier loss of autodiff's tests, and its gradient computed once up front; every
/// later call must give the same bits (same ops in the same order, whatever the thread).
fn loss(p: &[Tensor<f64>], x: &Tensor<f64>, labels: &[usize]) -> Tensor<f64> {
    (&x.matmul(&p[0]) + &p[1]).tanh().matmul(&p[2]).softmax_cross_entropy(labels)
}

struct Model {
    x: Tensor<f64>,
    labels: Vec<usize>,
    p: Vec<Tensor<f64>>,
    want: Vec<Vec<f64>>,
}

impl Model {
    fn new() -> Self {
        let mut rng = Rng(41);
        let mut t = |s: &[usize]| {
            let n = s.iter().product();
            Tensor::from_vec((0..n).map(|_| rng.uniform(-1.0, 1.0)).collect(), s)
        };
        let x = t(&[32, 12]);
        let p = vec![t(&[12, 24]), t(&[24]), t(&[24, 5])];
        let labels: Vec<usize> = (0..32).map(|i| i % 5).collect();
        let want = grad_many(|p| loss(p, &x, &labels), &p).iter().map(|g| g.to_vec()).collect();
        Model { x, labels, p, want }
    }

    /// The model's gradient again (bitwise), and grad of Σx² = 2x (exact: x·x's VJP adds
    /// g·x twice, and 2x is exact in binary floating point).
    fn job(&self, rng: &mut Rng) {
        let g: Vec<Vec<f64>> =
            grad_many(|p| loss(p, &self.x, &self.labels), &self.p).iter().map(|g| g.to_vec()).collect();
        assert!(g == self.want, "the model's gradient changed between calls");
        let n = rng.range(1, 300);
        let v: Vec<f64> = (0..n).map(|_| rng.uniform(-4.0, 4.0)).collect();
        let gx = grad(|x| (x * x).sum(), &Tensor::from_vec(v.clone(), &[n]));
        assert!(gx.to_vec().iter().zip(&v).all(|(g, x)| *g == 2.0 * x), "grad of Σx² is not 2x");
    }
}

#[test]
fn sixteen_threads_hammer_gemm_ew_and_grad() {
    let model = Model::new();
    let deadline = Instant::now() + budget();
    let counts: Vec<[usize; 3]> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16u64)
            .map(|id| {
                let model = &model;
                s.spawn(move || {
                    let mut rng = Rng(1000 + id);
                    let mut done = [0usize; 3];
                    let mut round = id as usize;
                    // Every thread does each kind at least once, then goes on until the deadline.
                    while done.contains(&0) || Instant::now() < deadline {
                        match round % 3 {
                            0 => gemm_job(&mut rng, [Par::Seq, Par::All, Par::Threads(3)][(round / 3) % 3]),
                            1 => ew_job(&mut rng),
                            _ => model.job(&mut rng),
                        }
                        done[round % 3] += 1;
                        round += 1;
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a stress thread failed")).collect()
    });
    let total: usize = counts.iter().flatten().sum();
    eprintln!("stress: 16 threads, {total} checked calls (gemm, ew, grad per thread: {counts:?})");
}

#[test]
fn inside_rayon_tasks_with_nested_parallelism() {
    let model = Model::new();
    let deadline = Instant::now() + budget();
    let outer = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
    let inner = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    let mut rounds = 0u64;
    while rounds == 0 || Instant::now() < deadline {
        outer.install(|| {
            (0..12u64).into_par_iter().for_each(|t| {
                let mut rng = Rng(rounds * 100 + t);
                match t % 4 {
                    // GEMM asking for every thread of the pool it already runs in.
                    0 => gemm_job(&mut rng, Par::All),
                    // A second pool inside a task of the first.
                    1 => inner.install(|| gemm_job(&mut rng, Par::Threads(3))),
                    // The kernels splitting long slices across the enclosing pool.
                    2 => Exec { isa: Isa::selected(), par: Par::All }.run(|| ew_job(&mut rng)),
                    // The engine, whose ops call the kernels with threads.
                    _ => model.job(&mut rng),
                }
            });
        });
        rounds += 1;
    }
    eprintln!("stress: {rounds} rounds of 12 nested tasks");
}
