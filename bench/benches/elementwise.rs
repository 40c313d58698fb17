//! Elementwise throughput: `kernels::ew` vs a plain scalar loop vs the `wide` crate, f32
//! and f64, on 16 Ki elements (in cache) and 32 Mi elements (in memory), throughput in
//! elements per call.
//!
//! - `ours`: `kernels::ew` on the instruction set `kernels::Isa::selected()` picks.
//! - `std`: a plain scalar loop over the slices with `std`'s functions (`x.exp()`,
//!   `1 / (1 + (-x).exp())`, `x.max(0)`, `iter().sum()`…), as a user would write it.
//! - `wide`: the same op on `wide` vectors (`f32x8` / `f64x4`, wide's own `exp`, `ln`,
//!   `tanh`), scalar tail. The bench is compiled without target flags, so wide runs its
//!   SSE2 code: the comparison is against portable SIMD without runtime dispatch.
//!
//! Ops: `exp`, `ln`, `tanh`, `sigmoid` (transcendental); `add`, `mul`, `axpy` (y ← αx + y),
//! `scale` (x ← αx), `relu` (memory-bound); `sum`, `dot` (reductions; ours is compensated,
//! the others are not). The in-place ops alternate α (axpy ±½, scale 2 and ½) so the data
//! stay bounded and normal however many iterations criterion runs.
//!
//! `NUMCORE_BENCH_THREADS` (`1`, the default, or `all`) sets the threads of ours (the
//! others always run on one); `cargo xtask bench` runs this suite with `1` only.
//! `NUMCORE_BENCH_QUICK=1` keeps 16 Ki elements and the ops exp, add and sum (a smoke run).
//!
//! Groups `ew_{f32,f64}_{op}_{t1,tall}` (the thread suffix as in `gemm.rs`, so the two
//! settings never overwrite each other's results), functions `ours` / `std` / `wide`,
//! parameters `n=…` (elements).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, measurement::WallTime};
use kernels::ew::{self, Binary, Exec, Unary};
use kernels::{Isa, Par};

/// 16 Ki elements: 64 or 128 KiB per operand, cache-resident.
const SMALL: usize = 16 << 10;
/// 32 Mi elements: 128 or 256 MiB per operand, far beyond any cache.
const LARGE: usize = 32 << 20;

/// The benchmarked operations, in run order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Exp,
    Ln,
    Tanh,
    Sigmoid,
    Add,
    Mul,
    Axpy,
    Scale,
    Relu,
    Sum,
    Dot,
}

/// Where an op's inputs are drawn from.
#[derive(Clone, Copy, Debug)]
enum Domain {
    /// Uniform in `[lo, hi)`.
    Uniform(f64, f64),
    /// Log-uniform in `[lo, hi)` (both positive): every magnitude equally often.
    LogUniform(f64, f64),
}

impl Op {
    const ALL: [Op; 11] = [
        Op::Exp,
        Op::Ln,
        Op::Tanh,
        Op::Sigmoid,
        Op::Add,
        Op::Mul,
        Op::Axpy,
        Op::Scale,
        Op::Relu,
        Op::Sum,
        Op::Dot,
    ];
    /// The ops of a quick run: one per class.
    const QUICK: [Op; 3] = [Op::Exp, Op::Add, Op::Sum];

    /// Name in the group id; `xtask` derives the bytes moved per element from it.
    fn name(self) -> &'static str {
        match self {
            Op::Exp => "exp",
            Op::Ln => "ln",
            Op::Tanh => "tanh",
            Op::Sigmoid => "sigmoid",
            Op::Add => "add",
            Op::Mul => "mul",
            Op::Axpy => "axpy",
            Op::Scale => "scale",
            Op::Relu => "relu",
            Op::Sum => "sum",
            Op::Dot => "dot",
        }
    }

    /// Input range: where the function is defined and does not simply saturate.
    fn domain(self) -> Domain {
        match self {
            Op::Exp | Op::Sigmoid => Domain::Uniform(-10.0, 10.0),
            Op::Ln => Domain::LogUniform(1e-3, 1e3),
            Op::Tanh => Domain::Uniform(-5.0, 5.0),
            _ => Domain::Uniform(-1.0, 1.0),
        }
    }

    /// The `kernels::ew` unary op, for the maps.
    fn unary(self) -> Option<Unary> {
        match self {
            Op::Exp => Some(Unary::Exp),
            Op::Ln => Some(Unary::Ln),
            Op::Tanh => Some(Unary::Tanh),
            Op::Sigmoid => Some(Unary::Sigmoid),
            Op::Relu => Some(Unary::Relu),
            _ => None,
        }
    }

    /// α of iteration parity `odd` for the in-place ops: exact powers of two whose effects
    /// cancel over two iterations, so repeated calls neither overflow nor go subnormal.
    fn alpha(self, odd: bool) -> f64 {
        match (self, odd) {
            (Op::Axpy, false) => 0.5,
            (Op::Axpy, true) => -0.5,
            (_, false) => 2.0,
            (_, true) => 0.5,
        }
    }
}

/// Buffers of one size: `x` the first operand (scale's in-out), `y` the second (axpy's
/// in-out), `out` the result of the out-of-place ops.
struct Bufs<T> {
    x: Vec<T>,
    y: Vec<T>,
    out: Vec<T>,
}

/// One implementation: runs `op` once on `bufs` with `alpha`, returns the reduction's
/// result (zero for the other ops).
type Impl<T> = fn(Op, T, &mut Bufs<T>) -> T;

/// Element types the bench runs, with the scalar and `wide` implementations.
trait Elem: kernels::Element {
    /// The plain scalar loop.
    const STD: Impl<Self>;
    /// The `wide` version.
    const WIDE: Impl<Self>;
}

/// `kernels::ew`, on the settings of the enclosing [`Exec::run`].
fn ours<T: Elem>(op: Op, alpha: T, b: &mut Bufs<T>) -> T {
    let Bufs { x, y, out } = b;
    match op {
        Op::Exp | Op::Ln | Op::Tanh | Op::Sigmoid | Op::Relu => {
            ew::map(op.unary().expect("a unary op"), black_box(x), out)
        }
        Op::Add => ew::zip(Binary::Add, black_box(x), black_box(y), out),
        Op::Mul => ew::zip(Binary::Mul, black_box(x), black_box(y), out),
        Op::Axpy => ew::axpy(alpha, black_box(x), y),
        Op::Scale => ew::scale(alpha, black_box(x)),
        Op::Sum => return ew::sum(black_box(x)),
        Op::Dot => return ew::dot(black_box(x), black_box(y)),
    }
    T::ZERO
}

/// Generates module `$m` with the `std` and `wide` implementations for `$t`, whose `wide`
/// vector is `$v` of `$lanes` lanes, and implements [`Elem`] with them.
macro_rules! impls {
    ($m:ident, $t:ident, $v:ident, $lanes:literal) => {
        mod $m {
            use super::{Bufs, Op};
            use std::hint::black_box;
            use wide::$v as V;

            type T = $t;
            const LANES: usize = $lanes;

            /// `out[i] = f(x[i])`.
            fn std_map(x: &[T], out: &mut [T], f: impl Fn(T) -> T) {
                for (y, &x) in out.iter_mut().zip(x) {
                    *y = f(x);
                }
            }

            /// `out[i] = f(a[i], b[i])`.
            fn std_zip(a: &[T], b: &[T], out: &mut [T], f: impl Fn(T, T) -> T) {
                for ((y, &a), &b) in out.iter_mut().zip(a).zip(b) {
                    *y = f(a, b);
                }
            }

            /// The plain scalar loops.
            pub fn std(op: Op, alpha: T, b: &mut Bufs<T>) -> T {
                let Bufs { x, y, out } = b;
                let (x, y) = (black_box(x), black_box(y));
                match op {
                    Op::Exp => std_map(x, out, |x| x.exp()),
                    Op::Ln => std_map(x, out, |x| x.ln()),
                    Op::Tanh => std_map(x, out, |x| x.tanh()),
                    Op::Sigmoid => std_map(x, out, |x| 1.0 / (1.0 + (-x).exp())),
                    Op::Relu => std_map(x, out, |x| x.max(0.0)),
                    Op::Add => std_zip(x, y, out, |a, b| a + b),
                    Op::Mul => std_zip(x, y, out, |a, b| a * b),
                    Op::Axpy => {
                        for (y, &x) in y.iter_mut().zip(x.iter()) {
                            *y += alpha * x;
                        }
                    }
                    Op::Scale => {
                        for x in x.iter_mut() {
                            *x *= alpha;
                        }
                    }
                    Op::Sum => return x.iter().sum(),
                    Op::Dot => return x.iter().zip(y.iter()).map(|(a, b)| a * b).sum(),
                }
                0.0
            }

            /// Loads one full chunk.
            #[inline(always)]
            fn load(s: &[T]) -> V {
                V::new(s.try_into().expect("a full chunk"))
            }

            /// Stores one full chunk.
            #[inline(always)]
            fn store(v: V, s: &mut [T]) {
                s.copy_from_slice(&v.to_array());
            }

            /// `out[i] = f(x[i])` on vectors, `g` on the tail.
            #[inline(always)]
            fn wide_map(x: &[T], out: &mut [T], f: impl Fn(V) -> V, g: impl Fn(T) -> T) {
                let n = out.len() / LANES * LANES;
                let (x, xt) = x.split_at(n);
                let (out, yt) = out.split_at_mut(n);
                for (x, y) in x.chunks_exact(LANES).zip(out.chunks_exact_mut(LANES)) {
                    store(f(load(x)), y);
                }
                std_map(xt, yt, g);
            }

            /// `out[i] = f(a[i], b[i])` on vectors, `g` on the tail.
            #[inline(always)]
            fn wide_zip(a: &[T], b: &[T], out: &mut [T], f: impl Fn(V, V) -> V, g: impl Fn(T, T) -> T) {
                let n = out.len() / LANES * LANES;
                let (a, at) = a.split_at(n);
                let (b, bt) = b.split_at(n);
                let (out, ot) = out.split_at_mut(n);
                let chunks = a.chunks_exact(LANES).zip(b.chunks_exact(LANES));
                for ((a, b), y) in chunks.zip(out.chunks_exact_mut(LANES)) {
                    store(f(load(a), load(b)), y);
                }
                std_zip(at, bt, ot, g);
            }

            /// The same ops on `wide` vectors.
            pub fn wide(op: Op, alpha: T, b: &mut Bufs<T>) -> T {
                let Bufs { x, y, out } = b;
                let (x, y) = (black_box(x), black_box(y));
                let (one, zero, va) = (V::splat(1.0), V::splat(0.0), V::splat(alpha));
                match op {
                    Op::Exp => wide_map(x, out, |v| v.exp(), |x| x.exp()),
                    Op::Ln => wide_map(x, out, |v| v.ln(), |x| x.ln()),
                    Op::Tanh => wide_map(x, out, |v| v.tanh(), |x| x.tanh()),
                    Op::Sigmoid => {
                        wide_map(x, out, |v| one / (one + (zero - v).exp()), |x| 1.0 / (1.0 + (-x).exp()))
                    }
                    Op::Relu => wide_map(x, out, |v| v.max(zero), |x| x.max(0.0)),
                    Op::Add => wide_zip(x, y, out, |a, b| a + b, |a, b| a + b),
                    Op::Mul => wide_zip(x, y, out, |a, b| a * b, |a, b| a * b),
                    Op::Axpy => {
                        let n = x.len() / LANES * LANES;
                        for (x, y) in x[..n].chunks_exact(LANES).zip(y[..n].chunks_exact_mut(LANES)) {
                            store(va * load(x) + load(y), y);
                        }
                        for (y, &x) in y[n..].iter_mut().zip(&x[n..]) {
                            *y += alpha * x;
                        }
                    }
                    Op::Scale => {
                        let mut chunks = x.chunks_exact_mut(LANES);
                        for x in &mut chunks {
                            store(va * load(x), x);
                        }
                        for x in chunks.into_remainder() {
                            *x *= alpha;
                        }
                    }
                    Op::Sum => {
                        let chunks = x.chunks_exact(LANES);
                        let tail: T = chunks.remainder().iter().sum();
                        let mut acc = zero;
                        for x in chunks {
                            acc += load(x);
                        }
                        return acc.reduce_add() + tail;
                    }
                    Op::Dot => {
                        let n = x.len() / LANES * LANES;
                        let mut acc = zero;
                        for (a, b) in x[..n].chunks_exact(LANES).zip(y[..n].chunks_exact(LANES)) {
                            acc += load(a) * load(b);
                        }
                        let tail: T = x[n..].iter().zip(&y[n..]).map(|(a, b)| a * b).sum();
                        return acc.reduce_add() + tail;
                    }
                }
                0.0
            }
        }

        impl Elem for $t {
            const STD: Impl<$t> = $m::std;
            const WIDE: Impl<$t> = $m::wide;
        }
    };
}
impls!(impls_f32, f32, f32x8, 8);
impls!(impls_f64, f64, f64x4, 4);

/// Fills `v` with deterministic values from `domain`.
fn fill<T: kernels::Element>(v: &mut [T], domain: Domain, seed: u64) {
    let mut s = seed;
    for x in v {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let u = (s >> 11) as f64 / (1u64 << 53) as f64;
        *x = T::from_f64(match domain {
            Domain::Uniform(lo, hi) => lo + u * (hi - lo),
            Domain::LogUniform(lo, hi) => (lo.ln() + u * (hi / lo).ln()).exp(),
        });
    }
}

/// The implementations, by function id.
fn impls<T: Elem>() -> [(&'static str, Impl<T>); 3] {
    [("ours", ours::<T>), ("std", T::STD), ("wide", T::WIDE)]
}

/// Runs every implementation of `op` once on the same `n` inputs and panics unless they
/// agree: a wrong `std` or `wide` version would make the comparison meaningless. `n` is
/// chosen with a tail that fills no vector, so the tail loops are checked too.
///
/// Maps must agree to 1000 ε relative (absolute below 1): the implementations round
/// differently (ours and wide are a few ulps from exact, std's libm closer), an indexing
/// error is far off. Reductions, whose plain sums carry rounding errors up to
/// n·ε·Σ|terms|, must agree to that bound.
fn check<T: Elem>(op: Op, n: usize) {
    let eps = T::EPSILON.to_f64();
    let alpha = T::from_f64(op.alpha(true));
    let mut results: Vec<(&str, Vec<T>)> = Vec::new();
    let mut magnitude = 0.0;
    for (name, run) in impls::<T>() {
        let mut b = Bufs { x: vec![T::ZERO; n], y: vec![T::ZERO; n], out: vec![T::ZERO; n] };
        fill(&mut b.x, op.domain(), 1);
        fill(&mut b.y, op.domain(), 2);
        magnitude = match op {
            Op::Sum => b.x.iter().map(|x| x.to_f64().abs()).sum(),
            Op::Dot => b.x.iter().zip(&b.y).map(|(x, y)| (x.to_f64() * y.to_f64()).abs()).sum(),
            _ => 0.0,
        };
        let r = run(op, alpha, &mut b);
        let data = match op {
            Op::Axpy => b.y,
            Op::Scale => b.x,
            Op::Sum | Op::Dot => vec![r],
            _ => b.out,
        };
        results.push((name, data));
    }
    let (ours, others) = results.split_first().expect("three implementations");
    for (name, data) in others {
        for (i, (&a, &b)) in ours.1.iter().zip(data).enumerate() {
            let (a, b) = (a.to_f64(), b.to_f64());
            let tol = match op {
                Op::Sum | Op::Dot => n as f64 * eps * magnitude,
                _ => 1e3 * eps * a.abs().max(1.0),
            };
            assert!(
                (a - b).abs() <= tol,
                "{} {}: {name} disagrees with ours at element {i}: {b} vs {a}",
                T::NAME,
                op.name()
            );
        }
    }
}

/// Registers `ours`, `std` and `wide` of `op` on `bufs` (filled here) in `group`.
fn bench_size<T: Elem>(group: &mut BenchmarkGroup<'_, WallTime>, op: Op, bufs: &mut Bufs<T>) {
    let n = bufs.x.len();
    group.throughput(Throughput::Elements(n as u64));
    // The inputs are filled once per op and size, on the first call of the first routine
    // that runs (criterion calls a routine once per sample), so that `--list` and
    // filtered-out benchmarks touch no memory. The implementations then share them: the
    // in-place ops change them, but only by a factor 2 (scale) or by ±x/2 (axpy).
    let mut filled = false;
    for (name, run) in impls::<T>() {
        group.bench_function(BenchmarkId::new(name, format!("n={n}")), |b| {
            if !filled {
                fill(&mut bufs.x, op.domain(), 1);
                fill(&mut bufs.y, op.domain(), 2);
                // Faults `out` in: its pages are fresh from the allocator.
                bufs.out.fill(T::ONE);
                filled = true;
            }
            let mut odd = false;
            b.iter(|| {
                odd = !odd;
                black_box(run(op, T::from_f64(op.alpha(odd)), bufs))
            })
        });
    }
}

fn bench_type<T: Elem>(c: &mut Criterion, tag: &str, quick: bool) {
    let sizes: &[usize] = if quick { &[SMALL] } else { &[SMALL, LARGE] };
    let ops: &[Op] = if quick { &Op::QUICK } else { &Op::ALL };
    // Zero-filled by the allocator: the pages are first touched by a fill (see
    // `bench_size`), never in a timed call.
    let mut bufs: Vec<Bufs<T>> = sizes
        .iter()
        .map(|&n| Bufs { x: vec![T::ZERO; n], y: vec![T::ZERO; n], out: vec![T::ZERO; n] })
        .collect();
    for &op in ops {
        check::<T>(op, SMALL + 3);
        let mut group = c.benchmark_group(format!("ew_{}_{}_{tag}", T::NAME, op.name()));
        for b in &mut bufs {
            if b.x.len() > SMALL {
                // One call on 32 Mi elements takes 5 to 500 ms: ten samples of flat
                // sampling bound each benchmark to about a second (or ten calls).
                group
                    .sample_size(10)
                    .sampling_mode(SamplingMode::Flat)
                    .warm_up_time(Duration::from_millis(300))
                    .measurement_time(Duration::from_millis(700));
            }
            bench_size(&mut group, op, b);
        }
        group.finish();
    }
}

fn main() {
    let setting = std::env::var("NUMCORE_BENCH_THREADS").unwrap_or_else(|_| "1".into());
    let (par, tag) = match setting.as_str() {
        "1" => (Par::Seq, "t1"),
        "all" => (Par::All, "tall"),
        other => panic!("NUMCORE_BENCH_THREADS must be 1 or all, not {other:?}"),
    };
    let quick = std::env::var("NUMCORE_BENCH_QUICK").is_ok_and(|v| v == "1");
    // The in-cache size: criterion's own budget, which a quick run's command line may
    // shorten further; the in-memory size sets its own (see `bench_type`).
    let (warm, measure) = if quick { (0.1, 0.3) } else { (0.2, 0.5) };
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs_f64(warm))
        .measurement_time(Duration::from_secs_f64(measure))
        .sample_size(if quick { 10 } else { 20 })
        .configure_from_args();
    Exec { isa: Isa::selected(), par }.run(|| {
        bench_type::<f32>(&mut c, tag, quick);
        bench_type::<f64>(&mut c, tag, quick);
    });
    c.final_summary();
}
