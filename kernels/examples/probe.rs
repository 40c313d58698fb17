use kernels::*;
use std::time::Instant;
fn run(cfg: &Config, m: usize, n: usize, k: usize) -> f64 {
    let a = vec![1.0f32; m * k];
    let b = vec![1.0f32; k * n];
    let mut c = vec![0.0f32; m * n];
    let mut best = f64::MAX;
    for _ in 0..7 {
        let reps = (2e9 / (2.0 * (m * n * k) as f64)).ceil() as usize;
        let t = Instant::now();
        for _ in 0..reps {
            gemm_with(cfg, 1.0, MatRef::col_major(&a, m, k), MatRef::col_major(&b, k, n), 0.0, MatMut::col_major(&mut c, m, n)).unwrap();
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    2.0 * (m * n * k) as f64 / best / 1e9
}
fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|s| s.parse().unwrap()).collect();
    let (m, n, k) = (args[0], args[1], args[2]);
    let par = if std::env::var("T2").is_ok() { Par::All } else { Par::Seq };
    for path in [Path::Auto] {
        let mut cfg = Config { par, path, ..Config::default() };
        if args.len() > 5 { cfg.blocking = Some(Blocking { mc: args[3], kc: args[4], nc: args[5] }); }
        println!("{path:?}: {:.1} GFLOP/s", run(&cfg, m, n, k));
    }
}
