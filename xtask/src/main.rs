//! Project automation, run as `cargo xtask <command>` (the alias lives in
//! `.cargo/config.toml`), in the style of matklad's cargo-xtask: plain Rust instead of
//! shell scripts, one module per subcommand, `$CARGO` spawned for every build.
//!
//! - `cargo xtask bench [SUITE] [--quick | --full] [--filter REGEX] [--threads N]
//!   [--save-baseline NAME | --baseline NAME]` measures the machine's limits, runs the
//!   criterion suites (`gemm`, `elementwise`, `autodiff`, `jacobian`, `verify`), prints one
//!   table per GEMM benchmark group (ours vs each peer vs the FMA peak), one elementwise
//!   table (ours vs std vs wide vs the memory bandwidth), one autodiff table per thread
//!   setting (the MLP vs its hand-written floor vs the FMA peak, and the per-op overhead),
//!   the jacobian tables (forward/reverse crossover, Hessian costs), the gradient-checking
//!   table (`verify::check_grad` vs a plain central-difference gradient) and, against a
//!   saved criterion baseline, a regression table; writes
//!   `target/bench-report/report.{json,md}` and SVG plots. See [`mod@bench`].
//! - `cargo xtask verify [--cases N] [--seed S]` soaks the `verify` crate's random
//!   expression-graph suite: `cargo test --release -p verify --test graphs` with
//!   `VERIFY_CASES=N` (default 10 000: seconds on 2 cores once built, about a minute and a
//!   half with a cold release build) and `VERIFY_SEED=S` (default 0). See [`verify`].
//! - `cargo xtask ulp-sweep [--functions exp,ln] [--isa NAME]` runs all 2³² f32 inputs
//!   through the f32 unary kernels against f64 references. See [`ulp_sweep`].

mod bench;
mod limits;
mod report;
mod ulp_sweep;
mod verify;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use clap::{Parser, Subcommand};

/// Errors are reported to the user as text; nothing matches on them.
type Error = Box<dyn std::error::Error + Send + Sync>;
/// Result with the crate's [`Error`].
type Result<T, E = Error> = std::result::Result<T, E>;

/// Command line of `cargo xtask`.
#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Project automation for the numcore workspace"
)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Cmd,
}

/// The subcommands, one module each.
#[derive(Subcommand, Debug)]
enum Cmd {
    /// Measure the machine's limits, run the benchmarks and report ours vs peers vs peak.
    Bench(bench::BenchArgs),
    /// Run every f32 input (all 2^32) through the f32 unary kernels and report the max ulp
    /// error against f64 references (minutes per function; not part of CI).
    UlpSweep(ulp_sweep::SweepArgs),
    /// Soak the random expression-graph suite of the verify crate: `cargo test --release -p
    /// verify --test graphs` with VERIFY_CASES=N and VERIFY_SEED=S (10 000 cases per
    /// property: seconds on 2 cores, after a release build of about a minute).
    Verify(verify::VerifyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Bench(args) => bench::run(&args),
        Cmd::UlpSweep(args) => ulp_sweep::run(&args),
        Cmd::Verify(args) => verify::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// A `cargo` command (the `$CARGO` that runs us, so toolchain overrides carry over),
/// started in the workspace root.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(project_root());
    cmd
}

/// Runs `cmd` with stderr passed through (cargo's progress) and returns its stdout.
fn stdout_of(cmd: &mut Command) -> Result<String> {
    let output = cmd.stderr(Stdio::inherit()).output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{cmd:?} failed ({})", output.status).into());
    }
    String::from_utf8(output.stdout).map_err(|e| format!("{cmd:?} printed non-UTF-8: {e}").into())
}

/// Runs `cmd` with all output passed through, failing unless it succeeds.
fn run_passthrough(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{cmd:?} failed ({status})").into()) }
}

/// The cargo target directory, as `cargo metadata` reports it (it honours
/// `CARGO_TARGET_DIR` and `build.target-dir`).
fn target_dir() -> Result<PathBuf> {
    #[derive(serde::Deserialize)]
    struct Metadata {
        target_directory: PathBuf,
    }
    let json = stdout_of(cargo().args(["metadata", "--format-version", "1", "--no-deps"]))?;
    let meta: Metadata = serde_json::from_str(&json).map_err(|e| format!("cargo metadata: {e}"))?;
    Ok(meta.target_directory)
}

/// The short hash of `HEAD`, if this is a git checkout with git installed.
fn git_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(project_root())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let hash = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !hash.is_empty()).then_some(hash)
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
