//! `limits`: measures this machine's own limits and prints them as one JSON object.
//!
//! - **FMA peak** per core and for all cores, f32 and f64, in GFLOP/s: [`CHAINS`]
//!   independent chains of fused multiply-adds over whole vector registers, so the FMA
//!   pipes never wait on a latency. Each FMA counts 2 FLOP per lane. Every vector path the
//!   host runs (AVX-512F, AVX2+FMA) is measured and the best kept; hosts with neither run
//!   scalar `mul_add` chains.
//! - **Memory bandwidth**, one thread and all threads, in GB/s (10⁹ bytes): the STREAM
//!   "add" kernel `c[i] = a[i] + b[i]` on f32 arrays far larger than the caches, counting
//!   3 streams (2 reads + 1 write) as STREAM does, i.e. `3 · len · 4` bytes per pass.
//!
//! Every figure is the best of several timed repetitions (the machines are shared and
//! noisy; the best run is the one least disturbed). `cargo xtask bench` runs this binary
//! and reports GEMM throughput as a fraction of these limits.
//!
//! ```text
//! cargo run --release -p bench --bin limits -- [--quick] [--threads N]
//! ```
//!
//! `--quick` shortens every measurement (16 MiB arrays, one repetition) for smoke tests;
//! `--threads N` sets the thread count of the all-cores figures (default: every CPU).

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use serde_json::json;

/// Independent FMA accumulator chains per thread.
///
/// An FMA has a latency of 4 cycles on current x86 cores and two of them issue per cycle,
/// so at least 8 chains are needed to keep both pipes busy; 12 leaves slack and still fits
/// the 16 `ymm` registers of AVX2 next to the two constant operands.
const CHAINS: usize = 12;

/// Multiplier of every FMA: `acc ← acc·MUL + ADD` converges to `ADD / (1 − MUL) = 1`, so
/// the accumulators stay finite and normal however long the loop runs.
const MUL: f64 = 0.999_999;
/// Addend of every FMA (see [`MUL`]).
const ADD: f64 = 0.000_001;

/// How long and how often each figure is measured.
#[derive(Clone, Copy, Debug)]
struct Plan {
    /// Target duration of one timed FMA run.
    fma_time: Duration,
    /// Timed repetitions per figure; the best is reported.
    reps: usize,
    /// Bytes of each of the three bandwidth arrays.
    array_bytes: usize,
    /// Threads of the all-cores figures.
    threads: usize,
    /// Whether `--quick` shortened the plan (reported, so nobody quotes a quick figure).
    quick: bool,
}

impl Plan {
    /// Parses `--quick` and `--threads N`; exits with a usage message on anything else.
    fn from_args() -> Plan {
        let mut quick = false;
        let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => quick = true,
                "--threads" => {
                    threads = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .filter(|&n| n > 0)
                        .unwrap_or_else(|| usage("--threads needs a positive integer"));
                }
                other => usage(&format!("unknown argument {other:?}")),
            }
        }
        if quick {
            Plan { fma_time: Duration::from_millis(50), reps: 1, array_bytes: 16 << 20, threads, quick }
        } else {
            Plan { fma_time: Duration::from_millis(200), reps: 5, array_bytes: 128 << 20, threads, quick }
        }
    }
}

/// Prints `message` and the usage line, then exits with status 2.
fn usage(message: &str) -> ! {
    eprintln!("limits: {message}\nusage: limits [--quick] [--threads N]");
    std::process::exit(2)
}

/// One FMA-chain kernel: `run(iters)` executes `iters · CHAINS` vector FMAs of `lanes`
/// lanes each.
#[derive(Clone, Copy)]
struct FmaKernel {
    /// Name of the instruction set, as `kernels::Isa` spells it.
    isa: &'static str,
    /// Lanes per vector register for this element type.
    lanes: usize,
    /// The timed loop.
    run: fn(u64),
}

impl FmaKernel {
    /// FLOP executed by `run(iters)`: 2 per lane per FMA.
    fn flop(&self, iters: u64) -> f64 {
        2.0 * (CHAINS * self.lanes) as f64 * iters as f64
    }
}

/// Scalar fallback: `CHAINS` chains of `mul_add` on one element type.
macro_rules! scalar_chains {
    ($name:ident, $t:ty) => {
        /// Portable FMA chains (one lane each), for hosts without a vector path.
        fn $name(iters: u64) {
            let (mul, add) = (black_box(MUL as $t), black_box(ADD as $t));
            let mut acc = [black_box(0.0 as $t); CHAINS];
            for _ in 0..iters {
                for x in acc.iter_mut() {
                    *x = x.mul_add(mul, add);
                }
            }
            black_box(acc);
        }
    };
}
scalar_chains!(scalar_f32, f32);
scalar_chains!(scalar_f64, f64);

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! AVX2+FMA and AVX-512F FMA chains, one module per instruction set and element type.
    //!
    //! Each intrinsic is wrapped in an `#[inline(always)] unsafe fn` (as `kernels::simd`
    //! does), so the code reads the same whether or not the compiler treats intrinsics as
    //! safe inside `#[target_feature]` functions (Rust ≥ 1.87 does, older compilers do not).

    /// Whether the host runs AVX2 and FMA.
    pub(super) fn has_avx2_fma() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    /// Whether the host runs AVX-512F.
    pub(super) fn has_avx512f() -> bool {
        is_x86_feature_detected!("avx512f")
    }

    /// Generates module `$name` whose safe `run(iters)` checks the host for `$feature`
    /// and runs `iters` rounds of `CHAINS` independent `$fmadd` chains.
    macro_rules! fma_chains {
        ($name:ident, $feature:literal, $detect:path, $t:ty, $v:ident, $set1:ident,
         $fmadd:ident) => {
            #[doc = concat!("FMA chains with `", stringify!($fmadd), "` (", $feature, ").")]
            pub(super) mod $name {
                use crate::{ADD, CHAINS, MUL};
                use std::arch::x86_64::$v;
                use std::hint::black_box;

                /// Broadcasts `x` to every lane.
                ///
                /// # Safety
                /// The host must support the instruction set of the intrinsic.
                #[inline(always)]
                unsafe fn set1(x: $t) -> $v {
                    // SAFETY: per this function's contract the instruction set is available.
                    unsafe { std::arch::x86_64::$set1(x) }
                }

                /// `a·b + c` lane-wise, rounded once.
                ///
                /// # Safety
                /// The host must support the instruction set of the intrinsic.
                #[inline(always)]
                unsafe fn fmadd(a: $v, b: $v, c: $v) -> $v {
                    // SAFETY: per this function's contract the instruction set is available.
                    unsafe { std::arch::x86_64::$fmadd(a, b, c) }
                }

                /// `iters` rounds of `CHAINS` independent vector FMAs.
                ///
                /// # Safety
                /// The host must support the features named in `target_feature`.
                #[target_feature(enable = $feature)]
                unsafe fn chains(iters: u64) {
                    // SAFETY: this function runs with the features enabled (its contract).
                    let mul = unsafe { set1(black_box(MUL as $t)) };
                    // SAFETY: as above.
                    let add = unsafe { set1(black_box(ADD as $t)) };
                    // SAFETY: as above.
                    let mut acc = [unsafe { set1(black_box(0.0)) }; CHAINS];
                    for _ in 0..iters {
                        for x in acc.iter_mut() {
                            // SAFETY: as above.
                            *x = unsafe { fmadd(*x, mul, add) };
                        }
                    }
                    black_box(acc);
                }

                /// Safe entry point: panics unless the host supports the instruction set.
                pub(crate) fn run(iters: u64) {
                    assert!($detect(), concat!("host lacks ", $feature));
                    // SAFETY: the assertion above checked that the host has the features.
                    unsafe { chains(iters) }
                }
            }
        };
    }

    fma_chains!(avx2_f32, "avx2,fma", super::has_avx2_fma, f32, __m256, _mm256_set1_ps, _mm256_fmadd_ps);
    fma_chains!(avx2_f64, "avx2,fma", super::has_avx2_fma, f64, __m256d, _mm256_set1_pd, _mm256_fmadd_pd);
    fma_chains!(avx512_f32, "avx512f", super::has_avx512f, f32, __m512, _mm512_set1_ps, _mm512_fmadd_ps);
    fma_chains!(avx512_f64, "avx512f", super::has_avx512f, f64, __m512d, _mm512_set1_pd, _mm512_fmadd_pd);
}

/// The FMA kernels this host runs for one element type (`bytes` = 4 or 8), widest last.
fn fma_kernels(bytes: usize) -> Vec<FmaKernel> {
    let mut out = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        let lanes = |vector_bytes: usize| vector_bytes / bytes;
        let pick = |f32_run: fn(u64), f64_run: fn(u64)| if bytes == 4 { f32_run } else { f64_run };
        if x86::has_avx2_fma() {
            out.push(FmaKernel {
                isa: "avx2",
                lanes: lanes(32),
                run: pick(x86::avx2_f32::run, x86::avx2_f64::run),
            });
        }
        if x86::has_avx512f() {
            out.push(FmaKernel {
                isa: "avx512",
                lanes: lanes(64),
                run: pick(x86::avx512_f32::run, x86::avx512_f64::run),
            });
        }
    }
    if out.is_empty() {
        let run = if bytes == 4 { scalar_f32 } else { scalar_f64 };
        out.push(FmaKernel { isa: "portable", lanes: 1, run });
    }
    out
}

/// Iterations of `kernel` that take about `target` on one thread.
fn calibrate(kernel: FmaKernel, target: Duration) -> u64 {
    let mut iters = 1 << 14;
    loop {
        let start = Instant::now();
        (kernel.run)(iters);
        let elapsed = start.elapsed();
        if elapsed >= target / 8 || iters >= 1 << 40 {
            let scale = target.as_secs_f64() / elapsed.as_secs_f64().max(1e-9);
            return ((iters as f64 * scale) as u64).max(1);
        }
        iters *= 4;
    }
}

/// Runs `work(item)` for every item, each on its own thread, all released together;
/// returns the wall time from the first thread's start to the last thread's finish.
///
/// Each thread reads the clock itself: a coordinating thread that read it could be
/// descheduled while the workers run (they may occupy every CPU) and time nothing.
fn timed_on_threads<T: Send>(items: Vec<T>, work: impl Fn(T) + Sync) -> Duration {
    if items.len() == 1 {
        let item = items.into_iter().next().expect("one item");
        let start = Instant::now();
        work(item);
        return start.elapsed();
    }
    let barrier = Barrier::new(items.len());
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = items
            .into_iter()
            .map(|item| {
                let (barrier, work) = (&barrier, &work);
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    work(item);
                    (start, Instant::now())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("measurement thread panicked")).collect()
    });
    let first = spans.iter().map(|s| s.0).min().expect("at least two threads");
    let last = spans.iter().map(|s| s.1).max().expect("at least two threads");
    last - first
}

/// Best GFLOP/s of `kernel` over `reps` runs of `iters` on `threads` threads at once.
fn fma_gflops(kernel: FmaKernel, iters: u64, threads: usize, reps: usize) -> f64 {
    (kernel.run)(iters / 8); // warm-up: clocks up, code paged in
    let best = (0..reps)
        .map(|_| timed_on_threads(vec![(); threads], |()| (kernel.run)(iters)))
        .min()
        .expect("at least one repetition");
    threads as f64 * kernel.flop(iters) / best.as_secs_f64() / 1e9
}

/// FMA peak of one element type: `(best isa, one thread, all threads)`.
fn fma_peak(bytes: usize, plan: Plan) -> (&'static str, f64, f64) {
    let mut best: Option<(FmaKernel, u64, f64)> = None;
    for kernel in fma_kernels(bytes) {
        eprintln!("limits: f{} FMA peak, {}, 1 thread", bytes * 8, kernel.isa);
        let iters = calibrate(kernel, plan.fma_time);
        let gflops = fma_gflops(kernel, iters, 1, plan.reps);
        eprintln!("limits:   {gflops:.1} GFLOP/s");
        if best.is_none_or(|(_, _, g)| gflops > g) {
            best = Some((kernel, iters, gflops));
        }
    }
    let (kernel, iters, one) = best.expect("the portable kernel always exists");
    eprintln!("limits: f{} FMA peak, {}, {} threads", bytes * 8, kernel.isa, plan.threads);
    let all = fma_gflops(kernel, iters, plan.threads, plan.reps);
    eprintln!("limits:   {all:.1} GFLOP/s");
    (kernel.isa, one, all)
}

/// STREAM "add" `c = a + b`, split into one contiguous part per thread: the best GB/s
/// of `passes` passes (the first also warms up: page tables, clocks).
fn bandwidth_gbs(a: &[f32], b: &[f32], c: &mut [f32], threads: usize, passes: usize) -> f64 {
    let part = a.len().div_ceil(threads);
    let bytes = (3 * a.len() * size_of::<f32>()) as f64;
    let mut best = Duration::MAX;
    for _ in 0..passes {
        let parts: Vec<_> = a.chunks(part).zip(b.chunks(part)).zip(c.chunks_mut(part)).collect();
        let elapsed = timed_on_threads(parts, |((a, b), c)| {
            let (a, b) = (black_box(a), black_box(b));
            for ((z, x), y) in c.iter_mut().zip(a).zip(b) {
                *z = x + y;
            }
            black_box(c);
        });
        best = best.min(elapsed);
    }
    bytes / best.as_secs_f64() / 1e9
}

/// Memory bandwidth `(one thread, all threads)` in GB/s.
fn bandwidth(plan: Plan) -> (f64, f64) {
    let len = plan.array_bytes / size_of::<f32>();
    // Written element by element so every page is touched (faulted in) before timing.
    let a: Vec<f32> = (0..len).map(|i| (i % 1024) as f32).collect();
    let b: Vec<f32> = (0..len).map(|i| (i % 512) as f32).collect();
    let mut c = vec![0.0f32; len];
    c.iter_mut().for_each(|x| *x = black_box(1.0));
    let mib = plan.array_bytes >> 20;
    eprintln!("limits: bandwidth, c = a + b on 3 × {mib} MiB, 1 thread");
    let one = bandwidth_gbs(&a, &b, &mut c, 1, plan.reps + 1);
    eprintln!("limits: bandwidth, c = a + b on 3 × {mib} MiB, {} threads", plan.threads);
    let all = bandwidth_gbs(&a, &b, &mut c, plan.threads, plan.reps + 1);
    (one, all)
}

/// The CPU model from `/proc/cpuinfo`, or `"unknown"`.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Rounds to 2 decimals for printing; the measurements are not more precise than that.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn main() {
    let plan = Plan::from_args();
    let (isa32, f32_one, f32_all) = fma_peak(4, plan);
    let (isa64, f64_one, f64_all) = fma_peak(8, plan);
    let (bw_one, bw_all) = bandwidth(plan);
    let caches = kernels::CacheSizes::detected();
    let report = json!({
        "cpu": cpu_model(),
        "threads": plan.threads,
        "isa": kernels::Isa::selected().name(),
        "quick": plan.quick,
        "fma_peak_gflops": {
            "f32": { "1": round2(f32_one), "all": round2(f32_all), "isa": isa32 },
            "f64": { "1": round2(f64_one), "all": round2(f64_all), "isa": isa64 },
        },
        "bandwidth_gbs": { "1": round2(bw_one), "all": round2(bw_all) },
        "caches": { "l1d": caches.l1d, "l2": caches.l2, "l3": caches.l3 },
    });
    println!("{report}");
}
