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
//! Further ops, without targets: the maps `sin`, `cos`, `softplus`, `gelu`, `sqrt`,
//! `recip`, `abs`, `neg`, `square`, `powi` (x³), `powf` (x^2.5); the binary ops `sub`,
//! `div`, `maximum`, `minimum` (elementwise max / min), `atan2`, `pow`; the backward
//! fusions `tanh_bwd`, `sigmoid_bwd`, `relu_bwd`; the reductions `max`, `min`, `argmax`,
//! `norm2`, `logsumexp`; and on a row-major matrix of 256 columns (64 rows at 16 Ki,
//! 131 072 at 32 Mi) `softmax`, `log_softmax`, `softmax_bwd`, `log_softmax_bwd`,
//! `sum_rows`, `sum_cols`. std's softplus is `x.max(0) + (-|x|).exp().ln_1p()`; wide uses
//! its own `sin_cos`, `atan2`, `powf_simd`, `ln_1p`, else composes from its `exp`, `ln`,
//! `tanh` and `sqrt` (divisions are real divisions, never wide's approximate `recip`).
//! These run only with `NUMCORE_BENCH_FULL=1` (`cargo xtask bench --full`), at both sizes:
//! at 16 Ki on a short budget (about a minute for all of them), at 32 Mi several minutes
//! more.
//!
//! `NUMCORE_BENCH_THREADS` (`1`, the default, or `all`) sets the threads of ours (the
//! others always run on one); `cargo xtask bench` runs this suite with `1` only.
//! `NUMCORE_BENCH_QUICK=1` keeps 16 Ki elements and the ops exp, add and sum (a smoke run,
//! none of the further ops). Without either, the ops with targets run at both sizes (the
//! default of `cargo xtask bench`); `NUMCORE_BENCH_FULL=1` adds the further ops.
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
/// Columns of the row-major matrix the row ops (softmax…, sum_rows, sum_cols) run on.
const COLS: usize = 256;

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
    Sin,
    Cos,
    Softplus,
    Gelu,
    Sqrt,
    Recip,
    Abs,
    Neg,
    Square,
    Powi,
    Powf,
    Sub,
    Div,
    Maximum,
    Minimum,
    Atan2,
    Pow,
    TanhBwd,
    SigmoidBwd,
    ReluBwd,
    Max,
    Min,
    Argmax,
    Norm2,
    Logsumexp,
    Softmax,
    LogSoftmax,
    SoftmaxBwd,
    LogSoftmaxBwd,
    SumRows,
    SumCols,
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
    /// The ops with targets: both sizes, criterion's full budget.
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
    /// The further ops: only with `NUMCORE_BENCH_FULL=1`, on a short budget at 16 Ki.
    const EXTRA: [Op; 31] = [
        Op::Sin,
        Op::Cos,
        Op::Softplus,
        Op::Gelu,
        Op::Sqrt,
        Op::Recip,
        Op::Abs,
        Op::Neg,
        Op::Square,
        Op::Powi,
        Op::Powf,
        Op::Sub,
        Op::Div,
        Op::Maximum,
        Op::Minimum,
        Op::Atan2,
        Op::Pow,
        Op::TanhBwd,
        Op::SigmoidBwd,
        Op::ReluBwd,
        Op::Max,
        Op::Min,
        Op::Argmax,
        Op::Norm2,
        Op::Logsumexp,
        Op::Softmax,
        Op::LogSoftmax,
        Op::SoftmaxBwd,
        Op::LogSoftmaxBwd,
        Op::SumRows,
        Op::SumCols,
    ];

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
            Op::Sin => "sin",
            Op::Cos => "cos",
            Op::Softplus => "softplus",
            Op::Gelu => "gelu",
            Op::Sqrt => "sqrt",
            Op::Recip => "recip",
            Op::Abs => "abs",
            Op::Neg => "neg",
            Op::Square => "square",
            Op::Powi => "powi",
            Op::Powf => "powf",
            Op::Sub => "sub",
            Op::Div => "div",
            Op::Maximum => "maximum",
            Op::Minimum => "minimum",
            Op::Atan2 => "atan2",
            Op::Pow => "pow",
            Op::TanhBwd => "tanh_bwd",
            Op::SigmoidBwd => "sigmoid_bwd",
            Op::ReluBwd => "relu_bwd",
            Op::Max => "max",
            Op::Min => "min",
            Op::Argmax => "argmax",
            Op::Norm2 => "norm2",
            Op::Logsumexp => "logsumexp",
            Op::Softmax => "softmax",
            Op::LogSoftmax => "log_softmax",
            Op::SoftmaxBwd => "softmax_bwd",
            Op::LogSoftmaxBwd => "log_softmax_bwd",
            Op::SumRows => "sum_rows",
            Op::SumCols => "sum_cols",
        }
    }

    /// Input ranges of the first and second operand: where the function is defined and
    /// does not simply saturate (backward ops: the gradient, then the forward value).
    fn domains(self) -> (Domain, Domain) {
        let same = |d| (d, d);
        match self {
            Op::Exp | Op::Sigmoid => same(Domain::Uniform(-10.0, 10.0)),
            Op::Ln => same(Domain::LogUniform(1e-3, 1e3)),
            Op::Tanh => same(Domain::Uniform(-5.0, 5.0)),
            Op::Sin | Op::Cos | Op::Softplus | Op::Logsumexp | Op::Softmax | Op::LogSoftmax => {
                same(Domain::Uniform(-10.0, 10.0))
            }
            Op::Gelu => same(Domain::Uniform(-5.0, 5.0)),
            Op::Sqrt | Op::Recip => same(Domain::LogUniform(1e-3, 1e3)),
            Op::Powi | Op::Powf => same(Domain::LogUniform(1e-2, 1e2)),
            Op::Div => (Domain::Uniform(-1.0, 1.0), Domain::LogUniform(0.1, 10.0)),
            Op::Pow => (Domain::LogUniform(0.1, 10.0), Domain::Uniform(-3.0, 3.0)),
            Op::SigmoidBwd => (Domain::Uniform(-1.0, 1.0), Domain::Uniform(0.0, 1.0)),
            // Probabilities of a 256-wide softmax row (they sum to about 1), log-probabilities.
            Op::SoftmaxBwd => (Domain::Uniform(-1.0, 1.0), Domain::Uniform(0.0, 2.0 / COLS as f64)),
            Op::LogSoftmaxBwd => (Domain::Uniform(-1.0, 1.0), Domain::Uniform(-8.0, -5.0)),
            _ => same(Domain::Uniform(-1.0, 1.0)),
        }
    }

    /// The `kernels::ew` unary op, for the maps.
    fn unary(self) -> Option<Unary> {
        Some(match self {
            Op::Exp => Unary::Exp,
            Op::Ln => Unary::Ln,
            Op::Tanh => Unary::Tanh,
            Op::Sigmoid => Unary::Sigmoid,
            Op::Relu => Unary::Relu,
            Op::Sin => Unary::Sin,
            Op::Cos => Unary::Cos,
            Op::Softplus => Unary::Softplus,
            Op::Gelu => Unary::Gelu,
            Op::Sqrt => Unary::Sqrt,
            Op::Recip => Unary::Recip,
            Op::Abs => Unary::Abs,
            Op::Neg => Unary::Neg,
            Op::Square => Unary::Square,
            Op::Powi => Unary::Powi(3),
            Op::Powf => Unary::Powf(2.5),
            _ => return None,
        })
    }

    /// The `kernels::ew` binary op, for the zips.
    fn binary(self) -> Option<Binary> {
        Some(match self {
            Op::Add => Binary::Add,
            Op::Mul => Binary::Mul,
            Op::Sub => Binary::Sub,
            Op::Div => Binary::Div,
            Op::Maximum => Binary::Max,
            Op::Minimum => Binary::Min,
            Op::Atan2 => Binary::Atan2,
            Op::Pow => Binary::Pow,
            _ => return None,
        })
    }

    /// Whether the op reduces the whole slice to one value (its return value).
    fn scalar(self) -> bool {
        matches!(self, Op::Sum | Op::Dot | Op::Max | Op::Min | Op::Argmax | Op::Norm2 | Op::Logsumexp)
    }

    /// Whether the op works on the rows of a matrix.
    fn rows(self) -> bool {
        matches!(
            self,
            Op::Softmax | Op::LogSoftmax | Op::SoftmaxBwd | Op::LogSoftmaxBwd | Op::SumRows | Op::SumCols
        )
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

/// Buffers of one size: `x` the first operand (scale's in-out, the backward ops'
/// gradient), `y` the second (axpy's in-out, the backward ops' forward value), `out` the
/// result of the out-of-place ops (sum_rows and sum_cols fill only its first rows or
/// cols elements); `cols` the columns of the row ops' matrix.
struct Bufs<T> {
    x: Vec<T>,
    y: Vec<T>,
    out: Vec<T>,
    cols: usize,
}

/// One implementation: runs `op` once on `bufs` with `alpha`, returns the reduction's
/// result (argmax's index as a float; zero for the other ops).
type Impl<T> = fn(Op, T, &mut Bufs<T>) -> T;

/// Element types the bench runs, with the scalar and `wide` implementations.
trait Elem: kernels::Element {
    /// The plain scalar loop.
    const STD: Impl<Self>;
    /// The `wide` version.
    const WIDE: Impl<Self>;
}

/// An index as an element (exact: the bench's indices are below 2²⁴).
fn index<T: kernels::Element>(i: usize) -> T {
    T::from_f64(i as f64)
}

/// `kernels::ew`, on the settings of the enclosing [`Exec::run`].
fn ours<T: Elem>(op: Op, alpha: T, b: &mut Bufs<T>) -> T {
    let Bufs { x, y, out, cols } = b;
    let cols = *cols;
    let rows = x.len() / cols;
    if let Some(u) = op.unary() {
        ew::map(u, black_box(x), out);
        return T::ZERO;
    }
    if let Some(f) = op.binary() {
        ew::zip(f, black_box(x), black_box(y), out);
        return T::ZERO;
    }
    match op {
        Op::Axpy => ew::axpy(alpha, black_box(x), y),
        Op::Scale => ew::scale(alpha, black_box(x)),
        Op::TanhBwd => ew::tanh_backward(black_box(x), black_box(y), out),
        Op::SigmoidBwd => ew::sigmoid_backward(black_box(x), black_box(y), out),
        Op::ReluBwd => ew::relu_backward(black_box(x), black_box(y), out),
        Op::Softmax => ew::softmax_rows(black_box(x), cols, out),
        Op::LogSoftmax => ew::log_softmax_rows(black_box(x), cols, out),
        Op::SoftmaxBwd => ew::softmax_backward_rows(black_box(x), black_box(y), cols, out),
        Op::LogSoftmaxBwd => ew::log_softmax_backward_rows(black_box(x), black_box(y), cols, out),
        Op::SumRows => ew::sum_rows(black_box(x), cols, &mut out[..rows]),
        Op::SumCols => ew::sum_cols(black_box(x), cols, &mut out[..cols]),
        Op::Sum => return ew::sum(black_box(x)),
        Op::Dot => return ew::dot(black_box(x), black_box(y)),
        Op::Max => return ew::max(black_box(x)),
        Op::Min => return ew::min(black_box(x)),
        Op::Argmax => return index(ew::argmax(black_box(x)).expect("a non-empty slice")),
        Op::Norm2 => return ew::norm2(black_box(x)),
        Op::Logsumexp => return ew::logsumexp(black_box(x)),
        _ => unreachable!("{op:?} is a map or a zip"),
    }
    T::ZERO
}

#[path = "elementwise/impls.rs"]
mod impls;

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

/// Runs every implementation of `op` once on the same inputs and panics unless they
/// agree: a wrong `std` or `wide` version would make the comparison meaningless. The
/// inputs are 16 Ki + 3 elements, a tail that fills no vector, so the tail loops are
/// checked too; the row ops run on 65 rows of 259 columns, for the same reason.
///
/// Maps must agree to 1000 ε relative (absolute below 1): the implementations round
/// differently (ours and wide are a few ulps from exact, std's libm closer), an indexing
/// error is far off. The row ops (softmax…) are held to the same bound: their inner sums
/// of 259 terms of one sign or small weights stay well within it. Sums (sum, dot,
/// sum_rows, sum_cols), whose plain versions carry rounding errors up to n·ε·Σ|terms|,
/// must agree to that bound; norm2 and logsumexp to n·ε relative (absolute below 1);
/// max, min and argmax exactly.
fn check<T: Elem>(op: Op) {
    let (n, cols) = if op.rows() { (65 * 259, 259) } else { (SMALL + 3, COLS) };
    let rows = n / cols;
    let eps = T::EPSILON.to_f64();
    let alpha = T::from_f64(op.alpha(true));
    let (dx, dy) = op.domains();
    let (mut x, mut y) = (vec![T::ZERO; n], vec![T::ZERO; n]);
    fill(&mut x, dx, 1);
    fill(&mut y, dy, 2);
    let abs_sum = |v: &mut dyn Iterator<Item = f64>| -> f64 { v.map(f64::abs).sum() };
    // The error bound of each result of the sums.
    let sum_bound: Vec<f64> = match op {
        Op::Sum => vec![n as f64 * eps * abs_sum(&mut x.iter().map(|x| x.to_f64()))],
        Op::Dot => {
            vec![n as f64 * eps * abs_sum(&mut x.iter().zip(&y).map(|(x, y)| x.to_f64() * y.to_f64()))]
        }
        Op::SumRows => x
            .chunks_exact(cols)
            .map(|r| cols as f64 * eps * abs_sum(&mut r.iter().map(|x| x.to_f64())))
            .collect(),
        Op::SumCols => (0..cols)
            .map(|c| rows as f64 * eps * abs_sum(&mut x[c..].iter().step_by(cols).map(|x| x.to_f64())))
            .collect(),
        _ => Vec::new(),
    };
    let mut results: Vec<(&str, Vec<T>)> = Vec::new();
    for (name, run) in impls::<T>() {
        let mut b = Bufs { x: x.clone(), y: y.clone(), out: vec![T::ZERO; n], cols };
        let r = run(op, alpha, &mut b);
        let data = match op {
            Op::Axpy => b.y,
            Op::Scale => b.x,
            Op::SumRows => b.out[..rows].to_vec(),
            Op::SumCols => b.out[..cols].to_vec(),
            _ if op.scalar() => vec![r],
            _ => b.out,
        };
        results.push((name, data));
    }
    let (ours, others) = results.split_first().expect("three implementations");
    for (name, data) in others {
        for (i, (&a, &b)) in ours.1.iter().zip(data).enumerate() {
            let (a, b) = (a.to_f64(), b.to_f64());
            let tol = match op {
                Op::Sum | Op::Dot | Op::SumRows | Op::SumCols => sum_bound[i],
                Op::Max | Op::Min | Op::Argmax => 0.0,
                Op::Norm2 | Op::Logsumexp => n as f64 * eps * a.abs().max(1.0),
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
    let (dx, dy) = op.domains();
    for (name, run) in impls::<T>() {
        group.bench_function(BenchmarkId::new(name, format!("n={n}")), |b| {
            if !filled {
                fill(&mut bufs.x, dx, 1);
                fill(&mut bufs.y, dy, 2);
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

/// Runs the suite for `T`: `quick` keeps [`Op::QUICK`] at 16 Ki; otherwise the ops with
/// targets ([`Op::ALL`]) at both sizes, and if `full` the further ops ([`Op::EXTRA`]) too.
fn bench_type<T: Elem>(c: &mut Criterion, tag: &str, quick: bool, full: bool) {
    let sizes: &[usize] = if quick { &[SMALL] } else { &[SMALL, LARGE] };
    let ops: Vec<Op> = match (quick, full) {
        (true, _) => Op::QUICK.to_vec(),
        (false, false) => Op::ALL.to_vec(),
        (false, true) => Op::ALL.iter().chain(&Op::EXTRA).copied().collect(),
    };
    // Zero-filled by the allocator: the pages are first touched by a fill (see
    // `bench_size`), never in a timed call.
    let mut bufs: Vec<Bufs<T>> = sizes
        .iter()
        .map(|&n| Bufs { x: vec![T::ZERO; n], y: vec![T::ZERO; n], out: vec![T::ZERO; n], cols: COLS })
        .collect();
    for op in ops {
        let extra = Op::EXTRA.contains(&op);
        check::<T>(op);
        let mut group = c.benchmark_group(format!("ew_{}_{}_{tag}", T::NAME, op.name()));
        if extra {
            // 31 ops × 2 types × 3 implementations at 16 Ki: about 0.33 s each with
            // criterion's analysis keeps them to about a minute in all (one call takes 1 to
            // 500 µs, so even ten flat samples hold hundreds of calls).
            group
                .sample_size(10)
                .sampling_mode(SamplingMode::Flat)
                .warm_up_time(Duration::from_millis(50))
                .measurement_time(Duration::from_millis(200));
        }
        for b in &mut bufs {
            if b.x.len() > SMALL {
                // One call on 32 Mi elements takes 5 to 500 ms: ten samples of flat
                // sampling bound each benchmark to about a second (or ten calls) with
                // `full`, to about 0.6 s by default (the buffers are already faulted in
                // and filled, so a short warm-up suffices).
                let (warm, measure) = if full { (300, 700) } else { (100, 500) };
                group
                    .sample_size(10)
                    .sampling_mode(SamplingMode::Flat)
                    .warm_up_time(Duration::from_millis(warm))
                    .measurement_time(Duration::from_millis(measure));
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
    let full = std::env::var("NUMCORE_BENCH_FULL").is_ok_and(|v| v == "1");
    // The in-cache size: criterion's own budget, which a quick run's command line may
    // shorten further; the in-memory size and the further ops set their own (see
    // `bench_type`).
    let (warm, measure) = if quick { (0.1, 0.3) } else { (0.2, 0.5) };
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs_f64(warm))
        .measurement_time(Duration::from_secs_f64(measure))
        .sample_size(if quick { 10 } else { 20 })
        .configure_from_args();
    Exec { isa: Isa::selected(), par }.run(|| {
        bench_type::<f32>(&mut c, tag, quick, full);
        bench_type::<f64>(&mut c, tag, quick, full);
    });
    c.final_summary();
}
