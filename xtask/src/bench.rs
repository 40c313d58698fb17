//! `cargo xtask bench [SUITE] [--quick | --full] [--filter REGEX] [--threads N]
//! [--save-baseline NAME | --baseline NAME]`.
//!
//! 1. Builds the `limits` binary and every bench target of the run in one cargo call
//!    (`cargo build --profile bench -p bench --bin limits --bench <suite>…`, so cargo
//!    compiles them side by side: on 2 cores this saves about two minutes over building
//!    each bench when it is first run).
//! 2. Asks each criterion suite under each thread setting it measures
//!    ([`Suite::settings`]) for its benchmark list (`-- --list`), so the report knows
//!    exactly which results this run must produce and the progress lines can count them.
//!    With `--baseline NAME`, checks here, before measuring anything, that every one of
//!    them has a saved baseline. Then measures the machine's limits: `cargo run --profile
//!    bench -p bench --bin limits`.
//! 3. Runs each suite once per thread setting: `NUMCORE_BENCH_THREADS=1
//!    MATMUL_NUM_THREADS=1`, then (gemm and autodiff) `NUMCORE_BENCH_THREADS=all
//!    MATMUL_NUM_THREADS=<N>` (matrixmultiply reads its thread count once per process, so
//!    one process cannot measure both), with the budget of the run ([`Budget`]). Progress:
//!    a line per suite run (`suite run 3/7`, the benchmarks it covers out of the total, the
//!    time so far) and every criterion result line prefixed with its count (`[37/412]`).
//! 4. Reads criterion's JSON results written by this run, prints one table per gemm group
//!    (and the gemm thread scaling), one elementwise table and one autodiff table per
//!    thread setting, the jacobian suite's forward/reverse crossover and Hessian tables, the
//!    gradient-checking table of the verify suite and, with `--baseline`, the regression
//!    table; writes `<target>/bench-report/report.json`, `report.md` and the SVG plots
//!    ([`crate::report::plot`]) it links.

use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::num::NonZeroUsize;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use clap::{Args, ValueEnum};

use crate::limits::Limits;
use crate::report::{Report, Threads, criterion, plot, regression, render};
use crate::{Result, cargo, git_commit, run_passthrough, stdout_of, target_dir};

/// Environment variable choosing the thread setting a bench process registers.
pub const THREADS_ENV: &str = "NUMCORE_BENCH_THREADS";
/// Environment variable (`1`) asking the benches for a smoke-test size list.
pub const QUICK_ENV: &str = "NUMCORE_BENCH_QUICK";
/// Environment variable (`1`) asking the benches for their long size lists (`--full`).
pub const FULL_ENV: &str = "NUMCORE_BENCH_FULL";
/// matrixmultiply's thread count, read once per process.
pub const MATMUL_THREADS_ENV: &str = "MATMUL_NUM_THREADS";

/// Criterion flags of a `--quick` run: the same budget the benches pick under
/// [`QUICK_ENV`], passed explicitly so that a suite which ignores the variable is still
/// short. 0.4 s per benchmark keeps the quick gemm run around a minute and the quick
/// elementwise run (18 benchmarks) under 15 seconds.
const QUICK_CRITERION_ARGS: [&str; 6] =
    ["--warm-up-time", "0.1", "--measurement-time", "0.3", "--sample-size", "10"];

/// Criterion flags of the default run, which must finish within ten minutes on 2 cores
/// including the build: 0.15 s of warm-up (criterion doubles the iterations until it
/// passes, so up to 0.3 s) and 15 samples in 0.5 s per benchmark, about 0.8 s each with
/// criterion's analysis. Measured on the 2-core dev box: the 372 benchmarks of the
/// default run take about 5½ minutes (with the benches' own, longer budgets, which
/// `--full` keeps, about 11½; with criterion's defaults, 3 s + 5 s, about an hour).
/// Against a `--full` run, the medians of `gemm_f64_t1` moved by 1.8 % (median over its
/// 42 benchmarks), as much as between two `--full` runs (1.8 %); with 0.1 s + 0.4 s and
/// 10 samples they moved by 4.9 %. Groups that set their own budget (the 32 Mi
/// elementwise rows, and with `--full` the further elementwise ops) keep it.
const DEFAULT_CRITERION_ARGS: [&str; 6] =
    ["--warm-up-time", "0.15", "--measurement-time", "0.5", "--sample-size", "15"];

/// Arguments of `cargo xtask bench`.
#[derive(Args, Debug, Default)]
pub struct BenchArgs {
    /// Suite to run (a file in bench/benches); every suite if omitted.
    #[arg(value_enum)]
    pub suite: Option<Suite>,
    /// Smoke run: short measurements and small sizes. The figures are rough.
    #[arg(long, conflicts_with = "full")]
    pub quick: bool,
    /// The long run: every bench's own (longer) measurement budget and its long size
    /// lists (NUMCORE_BENCH_FULL=1: the further elementwise ops at 32 Mi elements too).
    #[arg(long)]
    pub full: bool,
    /// Run only the benchmarks whose id (`group/function/value`) matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub filter: Option<String>,
    /// Threads of the all-threads run (default: every CPU); also sets RAYON_NUM_THREADS.
    #[arg(long, value_name = "N")]
    pub threads: Option<NonZeroUsize>,
    /// Save this run's results as criterion baseline NAME (criterion's --save-baseline).
    #[arg(long, value_name = "NAME", conflicts_with = "baseline")]
    pub save_baseline: Option<String>,
    /// Compare this run with criterion baseline NAME and report every benchmark's change,
    /// flagged beyond ±10 % (criterion's --baseline; NAME must cover every benchmark).
    #[arg(long, value_name = "NAME")]
    pub baseline: Option<String>,
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

/// The measurement budget of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// `--quick`: [`QUICK_ENV`] and [`QUICK_CRITERION_ARGS`].
    Quick,
    /// No flag: the benches' default size lists with [`DEFAULT_CRITERION_ARGS`], within
    /// ten minutes on 2 cores including the build.
    Default,
    /// `--full`: [`FULL_ENV`] (the further elementwise ops, at both sizes) and each bench's
    /// own, longer measurement budget.
    Full,
}

impl Budget {
    /// The budget `args` ask for.
    pub fn of(args: &BenchArgs) -> Budget {
        match (args.quick, args.full) {
            (true, _) => Budget::Quick,
            (false, true) => Budget::Full,
            (false, false) => Budget::Default,
        }
    }

    /// The criterion flags of a measuring run.
    fn criterion_args(self) -> &'static [&'static str] {
        match self {
            Budget::Quick => &QUICK_CRITERION_ARGS,
            Budget::Default => &DEFAULT_CRITERION_ARGS,
            Budget::Full => &[],
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
    /// this thread setting and budget, and criterion's output under `criterion_home`.
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
        // The variables of the other budgets are removed: one inherited from the
        // caller's shell must not change the run.
        let budget = Budget::of(args);
        for (var, on) in [(QUICK_ENV, budget == Budget::Quick), (FULL_ENV, budget == Budget::Full)] {
            if on {
                cmd.env(var, "1");
            } else {
                cmd.env_remove(var);
            }
        }
        cmd
    }

    /// The criterion flags of the measuring run: the budget's, then the baseline's.
    fn measure_args(args: &BenchArgs) -> Vec<&str> {
        let mut extra: Vec<&str> = Budget::of(args).criterion_args().to_vec();
        if let Some(name) = &args.save_baseline {
            extra.extend(["--save-baseline", name]);
        }
        if let Some(name) = &args.baseline {
            extra.extend(["--baseline", name]);
        }
        extra
    }
}

/// Threads of the all-threads setting: `--threads`, else every CPU.
fn all_threads(args: &BenchArgs) -> usize {
    args.threads.or_else(|| std::thread::available_parallelism().ok()).map_or(1, NonZeroUsize::get)
}

/// `cargo build --profile bench -p bench --bin limits --bench <suite>…`: everything the
/// run executes, in one cargo call so that cargo builds the targets side by side.
fn build_command(suites: &[Suite]) -> Command {
    let mut cmd = cargo();
    cmd.args(["build", "--profile", "bench", "-p", "bench", "--bin", "limits"]);
    for s in suites {
        cmd.args(["--bench", s.target()]);
    }
    cmd
}

/// Runs the `limits` binary (built by [`build_command`]) and parses what it prints.
fn measure_limits(args: &BenchArgs, threads: usize) -> Result<Limits> {
    let mut cmd = cargo();
    cmd.args(["run", "--profile", "bench", "-p", "bench", "--bin", "limits", "--"]);
    cmd.args(["--threads", &threads.to_string()]);
    if args.quick {
        cmd.arg("--quick");
    }
    Limits::parse(&stdout_of(&mut cmd)?)
}

/// `1m05s`, or `42s` under a minute.
fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 { format!("{s}s") } else { format!("{}m{:02}s", s / 60, s % 60) }
}

/// Whether a line criterion printed is the result line of one of `ids` (it starts with
/// the id, alone or followed by its `time:`): then the benchmark is done.
fn result_of<'a>(line: &str, ids: &HashSet<&'a str>) -> Option<&'a str> {
    let first = line.split_whitespace().next()?;
    ids.get(first).copied()
}

/// Runs one suite, forwarding criterion's output with every result line prefixed by its
/// count in the whole run (`[37/412] gemm_f32_t1/ours/n=8  time: […]`); `done` is the
/// count before this suite. Fails unless the process succeeds.
fn run_counting(cmd: &mut Command, ids: &[String], done: usize, total: usize) -> Result<()> {
    let mut child = cmd.stdout(Stdio::piped()).spawn().map_err(|e| format!("{cmd:?}: {e}"))?;
    let known: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut reader = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut out = std::io::stdout();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        match result_of(line, &known) {
            Some(id) if seen.insert(id) => writeln!(out, "[{}/{total}] {line}", done + seen.len())?,
            _ => writeln!(out, "{line}")?,
        }
    }
    let status = child.wait()?;
    if status.success() { Ok(()) } else { Err(format!("{cmd:?} failed ({status})").into()) }
}

/// `cargo xtask bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    for name in args.save_baseline.iter().chain(&args.baseline) {
        if !criterion::valid_baseline_name(name) {
            return Err(format!(
                "baseline name {name:?} is not a plain directory name other than {}",
                criterion::RESERVED_BASELINES.join(", ")
            )
            .into());
        }
    }
    // Criterion results older than this are from earlier runs and never reported.
    let started = SystemTime::now();
    let clock = Instant::now();
    let target = target_dir()?;
    let criterion_home = target.join("criterion");
    let threads = all_threads(args);
    let suites = args.suite.map_or(Suite::ALL.to_vec(), |s| vec![s]);
    let budget = Budget::of(args);

    eprintln!("xtask: building the limits probe and {} bench target(s) (release)", suites.len());
    run_passthrough(&mut build_command(&suites))?;

    let runs: Vec<SuiteRun> = suites
        .iter()
        .flat_map(|&suite| suite.settings().iter().map(move |&t| (suite, t)))
        .map(|(suite, setting)| SuiteRun { suite, threads: setting, all_threads: threads })
        .collect();
    let mut plan: Vec<(SuiteRun, Vec<String>)> = Vec::new();
    for run in runs {
        let list = stdout_of(&mut run.command(args, &criterion_home, &["--list"]))?;
        let ids = criterion::parse_list(&list);
        if ids.is_empty() {
            eprintln!("xtask: {}: no benchmark matches; skipped", run.label());
        } else {
            plan.push((run, ids));
        }
    }
    let expected: Vec<String> = plan.iter().flat_map(|(_, ids)| ids.iter().cloned()).collect();
    if expected.is_empty() {
        return Err("no benchmark matches the suite and filter".into());
    }
    let total = expected.len();
    // Before measuring anything: a missing baseline would make criterion fail mid-run.
    let baseline = match &args.baseline {
        Some(name) => Some((name, criterion::collect_baseline(&criterion_home, name, &expected)?)),
        None => None,
    };
    eprintln!(
        "xtask: measuring the machine's limits (bench/src/bin/limits.rs), {}",
        elapsed(clock.elapsed())
    );
    let limits = measure_limits(args, threads)?;
    let summary: Vec<String> =
        plan.iter().map(|(run, ids)| format!("{} {}", run.label(), ids.len())).collect();
    eprintln!(
        "xtask: {total} benchmarks in {} suite runs ({budget:?} budget): {}",
        plan.len(),
        summary.join("; ")
    );

    let extra = SuiteRun::measure_args(args);
    let mut done = 0;
    for (k, (run, ids)) in plan.iter().enumerate() {
        eprintln!(
            "xtask: suite run {}/{}: {}: benchmarks {}–{} of {total}; {} so far",
            k + 1,
            plan.len(),
            run.label(),
            done + 1,
            done + ids.len(),
            elapsed(clock.elapsed())
        );
        run_counting(&mut run.command(args, &criterion_home, &extra), ids, done, total)?;
        done += ids.len();
    }
    eprintln!("xtask: {total} benchmarks measured; {} so far", elapsed(clock.elapsed()));

    let results = criterion::collect(&criterion_home, started, &expected)?;
    let mut report = Report::build(limits, &results, git_commit(), args.quick, args.filter.clone())?;
    report.full = budget == Budget::Full;
    if let Some((name, base)) = baseline {
        report.regression = Some(regression::table(name, &base, &results)?);
    }
    println!("\n{}", render::terminal(&report));

    let dir = target.join("bench-report");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    remove_old_plots(&dir)?;
    let plots = plot::plots(&report);
    for p in &plots {
        let path = dir.join(&p.file);
        fs::write(&path, p.svg()?).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let (json, md) = (dir.join("report.json"), dir.join("report.md"));
    fs::write(&json, render::json(&report)?).map_err(|e| format!("{}: {e}", json.display()))?;
    fs::write(&md, render::markdown(&report)).map_err(|e| format!("{}: {e}", md.display()))?;
    let files: Vec<&str> = plots.iter().map(|p| p.file.as_str()).collect();
    eprintln!(
        "xtask: wrote {}, {} and {} plot(s) beside them ({}); {} in all",
        md.display(),
        json.display(),
        plots.len(),
        files.join(", "),
        elapsed(clock.elapsed())
    );
    Ok(())
}

/// Removes the SVG files an earlier run left in the report directory, so that none is
/// mistaken for this run's.
fn remove_old_plots(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "svg") {
            fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::ffi::OsStr;

    fn args(quick: bool, threads: Option<usize>) -> BenchArgs {
        BenchArgs {
            quick,
            filter: Some("ours".to_owned()),
            threads: threads.and_then(NonZeroUsize::new),
            ..BenchArgs::default()
        }
    }

    fn env<'a>(cmd: &'a Command, key: &str) -> Option<Option<&'a OsStr>> {
        cmd.get_envs().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// `cargo xtask bench <argv>` as parsed.
    fn parse(argv: &[&str]) -> std::result::Result<BenchArgs, clap::Error> {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            bench: BenchArgs,
        }
        Cli::try_parse_from(std::iter::once("bench").chain(argv.iter().copied())).map(|c| c.bench)
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
        // Not quick, not full: a QUICK_ENV or FULL_ENV inherited from the caller's shell
        // is removed.
        assert_eq!(env(&cmd, QUICK_ENV), Some(None));
        assert_eq!(env(&cmd, FULL_ENV), Some(None));
        assert_eq!(env(&cmd, "RAYON_NUM_THREADS"), None);
    }

    #[test]
    fn all_threads_run_uses_the_thread_count_everywhere() {
        let a = args(true, Some(3));
        let run = SuiteRun { suite: Suite::Gemm, threads: Threads::All, all_threads: all_threads(&a) };
        let cmd = run.command(&a, Path::new("/t/criterion"), &SuiteRun::measure_args(&a));
        assert_eq!(env(&cmd, THREADS_ENV), Some(Some(OsStr::new("all"))));
        assert_eq!(env(&cmd, MATMUL_THREADS_ENV), Some(Some(OsStr::new("3"))));
        assert_eq!(env(&cmd, "RAYON_NUM_THREADS"), Some(Some(OsStr::new("3"))));
        assert_eq!(env(&cmd, QUICK_ENV), Some(Some(OsStr::new("1"))));
        assert_eq!(env(&cmd, FULL_ENV), Some(None));
        let argv: Vec<_> = cmd.get_args().skip(7).collect();
        assert_eq!(argv, QUICK_CRITERION_ARGS);
    }

    #[test]
    fn budgets_set_the_variables_and_criterion_flags() {
        let default = parse(&[]).unwrap();
        assert_eq!(Budget::of(&default), Budget::Default);
        assert_eq!(SuiteRun::measure_args(&default), DEFAULT_CRITERION_ARGS);
        let full = parse(&["--full"]).unwrap();
        assert_eq!(Budget::of(&full), Budget::Full);
        // The benches' own (longer) budgets: no criterion flags.
        assert!(SuiteRun::measure_args(&full).is_empty());
        let run = SuiteRun { suite: Suite::Elementwise, threads: Threads::One, all_threads: 2 };
        let cmd = run.command(&full, Path::new("/t/criterion"), &[]);
        assert_eq!(env(&cmd, FULL_ENV), Some(Some(OsStr::new("1"))));
        assert_eq!(env(&cmd, QUICK_ENV), Some(None));
        assert_eq!(Budget::of(&parse(&["--quick"]).unwrap()), Budget::Quick);
        assert!(parse(&["--quick", "--full"]).is_err());
    }

    #[test]
    fn baselines_pass_through_to_criterion() {
        let save = parse(&["gemm", "--save-baseline", "before"]).unwrap();
        assert_eq!(save.suite, Some(Suite::Gemm));
        let mut want = DEFAULT_CRITERION_ARGS.to_vec();
        want.extend(["--save-baseline", "before"]);
        assert_eq!(SuiteRun::measure_args(&save), want);
        let cmp = parse(&["--full", "--baseline", "before"]).unwrap();
        assert_eq!(SuiteRun::measure_args(&cmp), ["--baseline", "before"]);
        assert!(parse(&["--save-baseline", "a", "--baseline", "b"]).is_err());
    }

    #[test]
    fn baseline_names_are_plain_directory_names() {
        for ok in ["before", "base", "v1.2", "main-2024"] {
            assert!(criterion::valid_baseline_name(ok), "{ok}");
        }
        for bad in ["", "new", "change", "report", "..", "a/b"] {
            assert!(!criterion::valid_baseline_name(bad), "{bad}");
        }
    }

    #[test]
    fn builds_every_target_in_one_call() {
        let cmd = build_command(&[Suite::Gemm, Suite::Verify]);
        let argv: Vec<_> = cmd.get_args().collect();
        assert_eq!(
            argv,
            [
                "build",
                "--profile",
                "bench",
                "-p",
                "bench",
                "--bin",
                "limits",
                "--bench",
                "gemm",
                "--bench",
                "verify"
            ]
        );
    }

    #[test]
    fn result_lines_are_recognised() {
        let ids = ["gemm_f32_t1/ours/n=8", "gemm_f32_t1/matrixmultiply/n=8"];
        let known: HashSet<&str> = ids.into_iter().collect();
        // Criterion puts a short id and its time on one line, a long one alone.
        assert_eq!(
            result_of("gemm_f32_t1/ours/n=8    time:   [56.083 ns 57.058 ns 58.145 ns]", &known),
            Some(ids[0])
        );
        assert_eq!(result_of("gemm_f32_t1/matrixmultiply/n=8", &known), Some(ids[1]));
        assert_eq!(result_of("Benchmarking gemm_f32_t1/ours/n=8: Analyzing", &known), None);
        assert_eq!(result_of("gemm_f32_t1/ours/n=80   time: […]", &known), None);
        assert_eq!(result_of("                        time:   [1 ns 2 ns 3 ns]", &known), None);
        assert_eq!(result_of("", &known), None);
    }

    #[test]
    fn elapsed_time_in_words() {
        assert_eq!(elapsed(Duration::from_secs(42)), "42s");
        assert_eq!(elapsed(Duration::from_secs(605)), "10m05s");
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
