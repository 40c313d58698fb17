use kernels::*;
use std::hint::black_box;
use std::time::Instant;
fn main() {
    let n: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let secs: f64 = std::env::args().nth(2).map(|s| s.parse().unwrap()).unwrap_or(1.0);
    let a = vec![1.0f32; n * n];
    let b = vec![1.0f32; n * n];
    let mut c = vec![0.0f32; n * n];
    let cfg = Config { par: Par::Seq, ..Config::default() };
    let t = Instant::now();
    let mut iters = 0u64;
    while t.elapsed().as_secs_f64() < secs {
        for _ in 0..1000 {
            gemm_with(&cfg, 1.0, MatRef::col_major(black_box(&a), n, n), MatRef::col_major(black_box(&b), n, n), 0.0, MatMut::col_major(&mut c, n, n)).unwrap();
        }
        iters += 1000;
    }
    let ns = t.elapsed().as_secs_f64() * 1e9 / iters as f64;
    println!("n={n}: {ns:.1} ns/call, {:.1} GFLOP/s", 2.0 * (n * n * n) as f64 / ns);
}
