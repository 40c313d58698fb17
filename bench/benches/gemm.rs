//! GEMM throughput: ours vs faer 0.24 vs matrixmultiply 0.3, f32 and f64, column-major
//! operands, `C ← A·B` (β = 0), throughput in FLOP (2·m·n·k per call).
//!
//! One process measures one thread setting, chosen by `NUMCORE_BENCH_THREADS` (`1`, the
//! default, or `all`), because matrixmultiply reads its thread count (`MATMUL_NUM_THREADS`)
//! once per process; `cargo xtask bench` runs both. `NUMCORE_BENCH_QUICK=1` keeps n ≤ 256
//! and shortens measurement (a smoke run).
//!
//! Groups `gemm_{f32,f64}_{t1,tall}`, functions `ours` / `faer` / `matrixmultiply`,
//! parameters `n=…` (square) or `m=…,n=…,k=…`.

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use std::hint::black_box;
use std::time::Duration;

/// Square sizes.
const SQUARE: [usize; 9] = [8, 16, 32, 64, 128, 256, 512, 1024, 2048];
/// Non-square (m, n, k): skinny, matrix-vector-like, shallow and an MLP layer.
const SHAPES: [(usize, usize, usize); 5] =
    [(6, 2304, 768), (2304, 6, 768), (1, 4096, 1024), (2048, 2048, 8), (64, 256, 784)];

/// Element types the bench runs, with each library's entry point.
trait Elem: kernels::Element + faer::traits::ComplexField + Copy {
    /// matrixmultiply's `sgemm`/`dgemm` on column-major operands.
    fn mm(m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self]);
}

/// Implements [`Elem`] with matrixmultiply's entry point for the type.
macro_rules! elem {
    ($t:ty, $gemm:path) => {
        impl Elem for $t {
            fn mm(m: usize, k: usize, n: usize, a: &[$t], b: &[$t], c: &mut [$t]) {
                let (am, ak) = (m as isize, k as isize);
                // SAFETY: a, b, c are column-major m×k, k×n, m×n buffers of exactly that size.
                unsafe {
                    $gemm(m, k, n, 1.0, a.as_ptr(), 1, am, b.as_ptr(), 1, ak, 0.0, c.as_mut_ptr(), 1, am)
                }
            }
        }
    };
}
elem!(f32, matrixmultiply::sgemm);
elem!(f64, matrixmultiply::dgemm);

/// Deterministic values in [-1, 1).
fn fill<T: kernels::Element>(len: usize, seed: u64) -> Vec<T> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            T::from_f64((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)
        })
        .collect()
}

fn bench_type<T: Elem>(c: &mut Criterion, all_threads: bool, quick: bool) {
    let tag = if all_threads { "tall" } else { "t1" };
    let mut group = c.benchmark_group(format!("gemm_{}_{tag}", T::NAME));
    let (ours_par, faer_par) = if all_threads {
        (kernels::Par::All, faer::Par::rayon(0))
    } else {
        (kernels::Par::Seq, faer::Par::Seq)
    };
    let square = SQUARE.iter().filter(|&&n| !quick || n <= 256).map(|&n| ((n, n, n), format!("n={n}")));
    let shapes = SHAPES.iter().map(|&(m, n, k)| ((m, n, k), format!("m={m},n={n},k={k}")));
    for ((m, n, k), label) in square.chain(shapes) {
        let flop = 2 * m * n * k;
        group.throughput(Throughput::Elements(flop as u64));
        // Large products take tens of milliseconds: flat sampling keeps their budget sane.
        group.sampling_mode(if flop > 1 << 28 { SamplingMode::Flat } else { SamplingMode::Auto });
        let a: Vec<T> = fill(m * k, 1);
        let b: Vec<T> = fill(k * n, 2);
        let mut out = vec![T::ZERO; m * n];
        let cfg = kernels::Config { par: ours_par, ..kernels::Config::default() };
        group.bench_function(BenchmarkId::new("ours", &label), |bench| {
            bench.iter(|| {
                let av = kernels::MatRef::col_major(black_box(&a), m, k);
                let bv = kernels::MatRef::col_major(black_box(&b), k, n);
                let cv = kernels::MatMut::col_major(&mut out, m, n);
                kernels::gemm_with(&cfg, T::ONE, av, bv, T::ZERO, cv).unwrap();
            })
        });
        let fa = faer::Mat::<T>::from_fn(m, k, |i, j| a[i + j * m]);
        let fb = faer::Mat::<T>::from_fn(k, n, |i, j| b[i + j * k]);
        let mut fc = faer::Mat::<T>::zeros(m, n);
        group.bench_function(BenchmarkId::new("faer", &label), |bench| {
            bench.iter(|| {
                faer::linalg::matmul::matmul(
                    fc.as_mut(),
                    faer::Accum::Replace,
                    black_box(fa.as_ref()),
                    black_box(fb.as_ref()),
                    T::ONE,
                    faer_par,
                )
            })
        });
        group.bench_function(BenchmarkId::new("matrixmultiply", &label), |bench| {
            bench.iter(|| T::mm(m, k, n, black_box(&a), black_box(&b), &mut out))
        });
    }
    group.finish();
}

fn main() {
    let setting = std::env::var("NUMCORE_BENCH_THREADS").unwrap_or_else(|_| "1".into());
    let all_threads = match setting.as_str() {
        "1" => false,
        "all" => true,
        other => panic!("NUMCORE_BENCH_THREADS must be 1 or all, not {other:?}"),
    };
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        let n = if all_threads { rayon::current_num_threads() } else { 1 };
        // SAFETY: at the top of main, before any other thread of this process exists.
        unsafe { std::env::set_var("MATMUL_NUM_THREADS", n.to_string()) };
    }
    let quick = std::env::var("NUMCORE_BENCH_QUICK").is_ok_and(|v| v == "1");
    let (warm, measure) = if quick { (0.1, 0.3) } else { (0.5, 1.5) };
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs_f64(warm))
        .measurement_time(Duration::from_secs_f64(measure))
        .sample_size(if quick { 10 } else { 20 })
        .configure_from_args();
    bench_type::<f32>(&mut c, all_threads, quick);
    bench_type::<f64>(&mut c, all_threads, quick);
    c.final_summary();
}
