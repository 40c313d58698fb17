//! `cargo xtask bench [SUITE] [--quick] [--filter REGEX] [--threads N]`.
//!
//! 1. Measures the machine's limits: `cargo run --release -p bench --bin limits`.
//! 2. Runs each criterion suite (`cargo bench -p bench --bench <suite>`) once per thread
//!    setting it measures ([`Suite::settings`]): `NUMCORE_BENCH_THREADS=1
//!    MATMUL_NUM_THREADS=1`, then (gemm only) `NUMCORE_BENCH_THREADS=all
//!    MATMUL_NUM_THREADS=<N>` (matrixmultiply reads its thread count once per process, so
//!    one process cannot measure both). Before each run the bench is asked for its
//!    benchmark list (`-- --list`), so the report knows exactly which results this run
//!    must have produced.
//! 3. Reads criterion's JSON results written by this run, prints one table per gemm group
//!    (and the gemm thread scaling), one elementwise table and one autodiff table per
//!    thread setting, the jacobian suite's forward/reverse crossover and Hessian tables, and
//!    the gradient-checking table of the verify suite (`verify::check_grad` fast and full
//!    vs a plain central-difference gradient vs one `value_and_grad`), and writes
//!    `<target>/bench-report/report.json` and `report.md`.

use std::fs;
use std::num::NonZeroUsize;
use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use clap::{Args, ValueEnum};

use crate::limits::Limits;
use crate::report::{Report, Threads, criterion, render};
use crate::{Result, cargo, git_commit, run_passthrough, stdout_of, target_dir};

/// Environment variable choosing the thread setting a bench process registers.
pub const THREADS_ENV: &str = "NUMCORE_BENCH_THREADS";
/// Environment variable (`1`) asking the benches for a smoke-test size list.
pub const QUICK_ENV: &str = "NUMCORE_BENCH_QUICK";
/// matrixmultiply's thread count, read once per process.
pub const MATMUL_THREADS_ENV: &str = "MATMUL_NUM_THREADS";

/// Criterion flags of a `--quick` run: the same budget `bench/benches/gemm.rs` and
/// `elementwise.rs` pick under [`QUICK_ENV`], passed explicitly so that a suite which
/// ignores the variable is still short. 0.4 s per benchmark keeps the quick gemm run
/// around a minute and the quick elementwise run (18 benchmarks) under 15 seconds.
const QUICK_CRITERION_ARGS: [&str; 6] =
    ["--warm-up-time", "0.1", "--measurement-time", "0.3", "--sample-size", "10"];

/// Arguments of `cargo xtask bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Suite to run (a file in bench/benches); every suite if omitted.
    #[arg(value_enum)]
    pub suite: Option<Suite>,
    /// Smoke run: short measurements and small sizes. The figures are rough.
    #[arg(long)]
    pub quick: bool,
    /// Run only the benchmarks whose id (`group/function/value`) matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub filter: Option<String>,
    /// Threads of the all-threads run (default: every CPU); also sets RAYON_NUM_THREADS.
    #[arg(long, value_name = "N")]
    pub threads: Option<NonZeroUsize>,
}

/// The criterion suites, one per file in `bench/benches`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// `bench/benches/gemm.rs`: ours vs faer vs matrixmultiply.
    Gemm,
    /// `bench/benches/elementwise.rs`: ours vs a scalar loop vs wide, one thread.
    Elementwise,
    /// `bench/benches/autodiff.rs`: the engine on an MLP vs its hand-written floor, and
    /// the per-op overhead.
    Autodiff,
    /// `bench/benches/jacobian.rs`: jacfwd vs jacrev, Hessians vs hvp vs finite
    /// differences, one thread.
    Jacobian,
    /// `bench/benches/verify.rs`: `verify::check_grad` (fast and full) vs a plain
    /// central-difference gradient vs one `value_and_grad`, one thread.
    Verify,
}

impl Suite {
    /// Every suite, in run order.
    pub const ALL: [Suite; 5] =
        [Suite::Gemm, Suite::Elementwise, Suite::Autodiff, Suite::Jacobian, Suite::Verify];

    /// The bench target's name.
    pub fn target(self) -> &'static str {
        match self {
            Suite::Gemm => "gemm",
            Suite::Elementwise => "elementwise",
            Suite::Autodiff => "autodiff",
            Suite::Jacobian => "jacobian",
            Suite::Verify => "verify",
        }
    }

    /// The thread settings the suite is run with, in run order. Elementwise compares
    /// single-threaded loops (its peers have no threads) against the one-thread
    /// bandwidth, so it runs on one thread only; jacobian and verify compare ways of
    /// computing the same thing and pin one thread themselves.
    pub fn settings(self) -> &'static [Threads] {
        match self {
            Suite::Gemm | Suite::Autodiff => &[Threads::One, Threads::All],
            Suite::Elementwise | Suite::Jacobian | Suite::Verify => &[Threads::One],
        }
    }
}

/// One criterion process: a suite under one thread setting.
#[derive(Clone, Copy, Debug)]
struct SuiteRun {
    suite: Suite,
    threads: Threads,
    /// Threads of the all-threads setting.
    all_threads: usize,
}

impl SuiteRun {
    /// For progress lines: `gemm, 1 thread`.
    fn label(&self) -> String {
        match self.threads {
            Threads::One => format!("{}, 1 thread", self.suite.target()),
            Threads::All => format!("{}, all threads ({})", self.suite.target(), self.all_threads),
        }
    }

    /// `cargo bench -p bench --bench <suite> -- [filter] <extra>` with the environment of
    /// this thread setting and criterion's output under `criterion_home`.
    fn command(&self, args: &BenchArgs, criterion_home: &Path, extra: &[&str]) -> Command {
        let mut cmd = cargo();
        cmd.args(["bench", "-p", "bench", "--bench", self.suite.target(), "--"]);
        cmd.args(args.filter.iter()).args(extra);
        cmd.env("CRITERION_HOME", criterion_home);
        match self.threads {
            Threads::One => cmd.env(THREADS_ENV, "1").env(MATMUL_THREADS_ENV, "1"),
            Threads::All => {
                if let Some(n) = args.threads {
                    cmd.env("RAYON_NUM_THREADS", n.to_string());
                }
                cmd.env(THREADS_ENV, "all").env(MATMUL_THREADS_ENV, self.all_threads.to_string())
            }
        };
        if args.quick {
            cmd.env(QUICK_ENV, "1");
        } else {
            cmd.env_remove(QUICK_ENV);
        }
        cmd
    }
}

/// Threads of the all-threads setting: `--threads`, else every CPU.
fn all_threads(args: &BenchArgs) -> usize {
    args.threads.or_else(|| std::thread::available_parallelism().ok()).map_or(1, NonZeroUsize::get)
}

/// Runs the `limits` binary and parses what it prints.
fn measure_limits(args: &BenchArgs, threads: usize) -> Result<Limits> {
    let mut cmd = cargo();
    cmd.args(["run", "--release", "-p", "bench", "--bin", "limits", "--"]);
    cmd.args(["--threads", &threads.to_string()]);
    if args.quick {
        cmd.arg("--quick");
    }
    Limits::parse(&stdout_of(&mut cmd)?)
}

/// `cargo xtask bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    // Criterion results older than this are from earlier runs and never reported.
    let started = SystemTime::now();
    let target = target_dir()?;
    let criterion_home = target.join("criterion");
    let threads = all_threads(args);

    eprintln!("xtask: measuring the machine's limits (bench/src/bin/limits.rs)");
    let limits = measure_limits(args, threads)?;

    let suites = args.suite.map_or(Suite::ALL.to_vec(), |s| vec![s]);
    let mut expected = Vec::new();
    for suite in suites {
        for &setting in suite.settings() {
            let run = SuiteRun { suite, threads: setting, all_threads: threads };
            eprintln!("xtask: {}: listing benchmarks", run.label());
            let list = stdout_of(&mut run.command(args, &criterion_home, &["--list"]))?;
            let ids = criterion::parse_list(&list);
            if ids.is_empty() {
                eprintln!("xtask: {}: no benchmark matches; skipped", run.label());
                continue;
            }
            let plural = if ids.len() == 1 { "" } else { "s" };
            eprintln!("xtask: {}: running {} benchmark{plural}", run.label(), ids.len());
            let extra: &[&str] = if args.quick { &QUICK_CRITERION_ARGS } else { &[] };
            run_passthrough(&mut run.command(args, &criterion_home, extra))?;
            expected.extend(ids);
        }
    }
    if expected.is_empty() {
        return Err("no benchmark matches the suite and filter".into());
    }

    let results = criterion::collect(&criterion_home, started, &expected)?;
    let report = Report::build(limits, &results, git_commit(), args.quick, args.filter.clone())?;
    println!("\n{}", render::terminal(&report));

    let dir = target.join("bench-report");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (json, md) = (dir.join("report.json"), dir.join("report.md"));
    fs::write(&json, render::json(&report)?).map_err(|e| format!("{}: {e}", json.display()))?;
    fs::write(&md, render::markdown(&report)).map_err(|e| format!("{}: {e}", md.display()))?;
    eprintln!("xtask: wrote {} and {}", json.display(), md.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    fn args(quick: bool, threads: Option<usize>) -> BenchArgs {
        BenchArgs {
            suite: None,
            quick,
            filter: Some("ours".to_owned()),
            threads: threads.and_then(NonZeroUsize::new),
        }
    }

    fn env<'a>(cmd: &'a Command, key: &str) -> Option<Option<&'a OsStr>> {
        cmd.get_envs().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    #[test]
    fn one_thread_run_pins_every_library_to_one_thread() {
        let run = SuiteRun { suite: Suite::Gemm, threads: Threads::One, all_threads: 2 };
        let cmd = run.command(&args(false, None), Path::new("/t/criterion"), &["--list"]);
        let argv: Vec<_> = cmd.get_args().collect();
        assert_eq!(argv, ["bench", "-p", "bench", "--bench", "gemm", "--", "ours", "--list"]);
        assert_eq!(env(&cmd, THREADS_ENV), Some(Some(OsStr::new("1"))));
        assert_eq!(env(&cmd, MATMUL_THREADS_ENV), Some(Some(OsStr::new("1"))));
        assert_eq!(env(&cmd, "CRITERION_HOME"), Some(Some(OsStr::new("/t/criterion"))));
        // Not quick: a QUICK_ENV inherited from the caller's shell is removed.
        assert_eq!(env(&cmd, QUICK_ENV), Some(None));
        assert_eq!(env(&cmd, "RAYON_NUM_THREADS"), None);
    }

    #[test]
    fn all_threads_run_uses_the_thread_count_everywhere() {
        let a = args(true, Some(3));
        let run = SuiteRun { suite: Suite::Gemm, threads: Threads::All, all_threads: all_threads(&a) };
        let cmd = run.command(&a, Path::new("/t/criterion"), &QUICK_CRITERION_ARGS);
        assert_eq!(env(&cmd, THREADS_ENV), Some(Some(OsStr::new("all"))));
        assert_eq!(env(&cmd, MATMUL_THREADS_ENV), Some(Some(OsStr::new("3"))));
        assert_eq!(env(&cmd, "RAYON_NUM_THREADS"), Some(Some(OsStr::new("3"))));
        assert_eq!(env(&cmd, QUICK_ENV), Some(Some(OsStr::new("1"))));
        let argv: Vec<_> = cmd.get_args().skip(7).collect();
        assert_eq!(argv, QUICK_CRITERION_ARGS);
    }

    #[test]
    fn elementwise_suite_runs_its_own_target_on_one_thread() {
        assert_eq!(
            Suite::ALL,
            [Suite::Gemm, Suite::Elementwise, Suite::Autodiff, Suite::Jacobian, Suite::Verify]
        );
        assert_eq!(Suite::Elementwise.settings(), [Threads::One]);
        assert_eq!(Suite::Gemm.settings(), [Threads::One, Threads::All]);
        let run = SuiteRun { suite: Suite::Elementwise, threads: Threads::One, all_threads: 2 };
        let cmd = run.command(&args(true, None), Path::new("/t/criterion"), &["--list"]);
        let argv: Vec<_> = cmd.get_args().collect();
        assert_eq!(argv, ["bench", "-p", "bench", "--bench", "elementwise", "--", "ours", "--list"]);
        assert_eq!(env(&cmd, THREADS_ENV), Some(Some(OsStr::new("1"))));
        assert_eq!(env(&cmd, QUICK_ENV), Some(Some(OsStr::new("1"))));
    }

    #[test]
    fn suite_names_on_the_command_line() {
        assert_eq!(Suite::from_str("elementwise", false), Ok(Suite::Elementwise));
        assert_eq!(Suite::from_str("gemm", false), Ok(Suite::Gemm));
        assert_eq!(Suite::from_str("autodiff", false), Ok(Suite::Autodiff));
        assert_eq!(Suite::from_str("jacobian", false), Ok(Suite::Jacobian));
        assert_eq!(Suite::from_str("verify", false), Ok(Suite::Verify));
    }

    #[test]
    fn verify_suite_runs_its_own_target_on_one_thread() {
        assert_eq!(Suite::Verify.target(), "verify");
        assert_eq!(Suite::Verify.settings(), [Threads::One]);
        let run = SuiteRun { suite: Suite::Verify, threads: Threads::One, all_threads: 2 };
        let cmd = run.command(&args(false, None), Path::new("/t/criterion"), &["--list"]);
        let argv: Vec<_> = cmd.get_args().collect();
        assert_eq!(argv, ["bench", "-p", "bench", "--bench", "verify", "--", "ours", "--list"]);
        assert_eq!(env(&cmd, THREADS_ENV), Some(Some(OsStr::new("1"))));
        assert_eq!(env(&cmd, MATMUL_THREADS_ENV), Some(Some(OsStr::new("1"))));
    }
}
