//! `cargo xtask ulp-sweep`: the exhaustive f32 accuracy sweep (all 2³² inputs of each f32
//! unary kernel against f64 references), too slow for CI. Builds and runs
//! `bench/src/bin/ulp_sweep.rs` in release and keeps its JSON under
//! `target/bench-report/ulp-sweep.json`.

use crate::{Result, cargo, run_passthrough, target_dir};
use clap::Args;

/// Arguments of `cargo xtask ulp-sweep`.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Comma-separated functions (exp, ln, tanh, sigmoid, sin, cos, softplus, gelu, sqrt,
    /// recip); all by default.
    #[arg(long)]
    functions: Option<String>,
    /// Kernel path (avx512, avx2, portable); the selected one by default.
    #[arg(long)]
    isa: Option<String>,
}

/// Runs the sweep, printing one line per function.
pub fn run(args: &SweepArgs) -> Result<()> {
    let dir = target_dir()?.join("bench-report");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let out = dir.join("ulp-sweep.json");
    let mut cmd = cargo();
    cmd.args(["run", "--release", "-p", "bench", "--bin", "ulp_sweep", "--", "--out"]).arg(&out);
    if let Some(f) = &args.functions {
        cmd.args(["--functions", f]);
    }
    if let Some(isa) = &args.isa {
        cmd.args(["--isa", isa]);
    }
    eprintln!("xtask: sweeping all 2^32 f32 inputs (minutes per function)");
    run_passthrough(&mut cmd)
}
