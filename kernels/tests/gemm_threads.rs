//! Threads: bitwise-identical results for every thread count and pool, calls from inside
//! rayon tasks, and concurrent calls from many OS threads.

mod common;

use common::{Layout, Operand, Rng, check, miri_or, reference};
use kernels::{Config, Element, Isa, Par, Path};

/// Shapes large enough that the work gate grants all 7 threads (≥ 2²¹ multiply-adds, or
/// 2¹⁷ matrix elements for matrix-vector, per thread), on every algorithm: direct
/// (260·250·240 ≈ 15.6 M ≥ 7·2²¹ ≈ 14.7 M), packed (301·297·250 ≈ 22.3 M > 256³), wide and
/// tall matrix-vector and the two-column streamed tall path (more rows than one chunk of
/// the columns form's partial sums on one thread, fewer on several), and the shallow path
/// (2000·1000·8 = 16 M).
const SHAPES: [(usize, usize, usize); 6] =
    [(260, 250, 240), (301, 297, 250), (1, 3000, 900), (9001, 1, 300), (6000, 2, 300), (2000, 1000, 8)];

fn run<T: Element>(cfg: &Config, (m, n, k): (usize, usize, usize), seed: u64) -> Vec<T> {
    let mut rng = Rng(seed);
    let a = Operand::<T>::new(m, k, Layout::ColMajor, |_, _| rng.unit());
    let b = Operand::<T>::new(k, n, Layout::RowMajor, |_, _| rng.unit());
    let mut c = Operand::<T>::new(m, n, Layout::ColMajor, |_, _| rng.unit());
    kernels::gemm_with(cfg, T::from_f64(0.5), a.view(), b.view(), T::from_f64(-1.5), c.view_mut()).unwrap();
    c.buf
}

fn bitwise_across_threads<T: Element>() {
    for isa in Isa::available() {
        for (s, &shape) in SHAPES.iter().enumerate() {
            let seq = run::<T>(&Config { isa, par: Par::Seq, ..Config::default() }, shape, s as u64);
            for threads in [2, 3, 7] {
                let cfg = Config { isa, par: Par::Threads(threads), ..Config::default() };
                // A dedicated pool of `threads` workers, so the split really is that wide
                // even on a 2-core machine; and the global pool, for the default case.
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let pooled = pool.install(|| run::<T>(&cfg, shape, s as u64));
                let global = run::<T>(&cfg, shape, s as u64);
                for (name, got) in [("pool", pooled), ("global", global)] {
                    let same =
                        seq.iter().zip(&got).all(|(x, y)| x.to_f64().to_bits() == y.to_f64().to_bits());
                    assert!(same, "{isa} {shape:?}: {threads} threads ({name}) differ from one thread");
                }
            }
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "threads engage only above 2²¹ multiply-adds per thread")]
fn bitwise_identical_across_thread_counts_f32() {
    bitwise_across_threads::<f32>();
}

#[test]
#[cfg_attr(miri, ignore = "threads engage only above 2²¹ multiply-adds per thread")]
fn bitwise_identical_across_thread_counts_f64() {
    bitwise_across_threads::<f64>();
}

/// GEMM called from inside rayon tasks (nested parallelism) neither deadlocks nor errs.
#[test]
fn nested_inside_rayon_tasks() {
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    pool.install(|| {
        (0..6u64).into_par_iter().for_each(|seed| {
            let mut rng = Rng(seed);
            let (m, n, k) = (miri_or(130, 13), miri_or(140, 14), miri_or(150, 15));
            let a = Operand::<f64>::new(m, k, Layout::RowMajor, |_, _| rng.small_int());
            let b = Operand::<f64>::new(k, n, Layout::ColMajor, |_, _| rng.small_int());
            let mut c = Operand::<f64>::new(m, n, Layout::ColMajor, |_, _| f64::NAN);
            let cfg = Config { par: Par::All, ..Config::default() };
            check(&cfg, 1.0, &a, &b, 0.0, &mut c, true, "nested");
        });
    });
}

/// Eight OS threads call GEMM at once on different problems; each checks its own result.
#[test]
fn concurrent_calls_from_os_threads() {
    std::thread::scope(|s| {
        for id in 0..8u64 {
            s.spawn(move || {
                let mut rng = Rng(100 + id);
                for round in 0..miri_or(4, 1) {
                    let m = miri_or(40, 4) + 13 * id as usize + round;
                    let (n, k) = (miri_or(90, 40) - 5 * id as usize, miri_or(70, 7) + 9 * round);
                    let a = Operand::<f32>::new(m, k, Layout::READ[id as usize], |_, _| rng.small_int());
                    let b = Operand::<f32>::new(k, n, Layout::READ[(id as usize + 2) % 8], |_, _| {
                        rng.small_int()
                    });
                    let mut c = Operand::<f32>::new(m, n, Layout::WRITE[id as usize % 7], |_, _| 1.0);
                    let path = [Path::Auto, Path::Packed, Path::Direct][round % 3];
                    let cfg = Config { path, ..Config::default() };
                    check(&cfg, 2.0, &a, &b, -1.0, &mut c, true, "concurrent");
                }
            });
        }
    });
}

/// The reference helper itself: a hand-computed 2×2 case, so a broken reference cannot
/// make every other test vacuous. A = [[1, 2], [3, 4]], B = [[5, 6], [7, 8]], C = 1:
/// 2·A·B − C = 2·[[19, 22], [43, 50]] − 1 = [[37, 43], [85, 99]].
#[test]
fn reference_is_right() {
    let a = Operand::<f64>::new(2, 2, Layout::RowMajor, |i, j| (2 * i + j + 1) as f64);
    let b = Operand::<f64>::new(2, 2, Layout::ColMajor, |i, j| (2 * i + j + 5) as f64);
    let c = Operand::<f64>::new(2, 2, Layout::RowMajor, |_, _| 1.0);
    assert_eq!(reference(2.0, &a, &b, -1.0, &c).0, vec![37.0, 43.0, 85.0, 99.0]);
}
