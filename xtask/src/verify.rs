//! `cargo xtask verify [--cases N] [--seed S]`: the long soak of the random
//! expression-graph suite of the `verify` crate.
//!
//! Runs `cargo test --release -p verify --test graphs` with `VERIFY_CASES=N` (default
//! 10 000) and `VERIFY_SEED=S` (default 0), which `verify/tests/graphs.rs` reads: every
//! property (full Jacobians, projections, f32 rules against f64 differences, Hessians)
//! then draws N random graphs from proptest seed S instead of its few hundred by default.
//! cargo's and the tests' output is passed through; a failing property (or build) fails the
//! command, naming the settings that reproduce it. On the 2-core dev box 10 000 cases per
//! property run in under ten seconds once built (6.4 s measured); the first run's release
//! build of `verify` and its dependencies adds a bit over a minute, so a cold soak takes
//! about a minute and a half.

use std::process::Command;

use clap::Args;

use crate::{Result, cargo, run_passthrough};

/// Environment variable: cases per property of the graph suite.
pub const CASES_ENV: &str = "VERIFY_CASES";
/// Environment variable: the proptest seed of the graph suite.
pub const SEED_ENV: &str = "VERIFY_SEED";

/// Arguments of `cargo xtask verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Random graphs per property (10 000: seconds on 2 cores, after a one-minute build).
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub cases: u32,
    /// Proptest seed: another seed draws other graphs.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
}

/// `VERIFY_CASES=N VERIFY_SEED=S cargo test --release -p verify --test graphs`.
fn command(args: &VerifyArgs) -> Command {
    let mut cmd = cargo();
    cmd.args(["test", "--release", "-p", "verify", "--test", "graphs"]);
    cmd.env(CASES_ENV, args.cases.to_string()).env(SEED_ENV, args.seed.to_string());
    cmd
}

/// `cargo xtask verify`.
pub fn run(args: &VerifyArgs) -> Result<()> {
    let (cases, seed) = (args.cases, args.seed);
    eprintln!(
        "xtask: soaking the random expression-graph suite: {cases} cases per property, seed {seed} \
         ({CASES_ENV}={cases} {SEED_ENV}={seed} cargo test --release -p verify --test graphs)"
    );
    run_passthrough(&mut command(args)).map_err(|e| {
        format!(
            "the random expression-graph soak failed ({CASES_ENV}={cases} {SEED_ENV}={seed}): see \
             cargo's output above (a failing property prints its minimal graph); rerun with \
             `cargo xtask verify --cases {cases} --seed {seed}`\n({e})"
        )
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cli;
    use clap::Parser;
    use std::ffi::OsStr;

    fn parse(argv: &[&str]) -> Result<VerifyArgs, clap::Error> {
        let cli = Cli::try_parse_from(["cargo xtask", "verify"].iter().chain(argv))?;
        match cli.command {
            crate::Cmd::Verify(a) => Ok(a),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn defaults_are_ten_thousand_cases_and_seed_zero() {
        let a = parse(&[]).unwrap();
        assert_eq!((a.cases, a.seed), (10_000, 0));
        let a = parse(&["--cases", "200", "--seed", "7"]).unwrap();
        assert_eq!((a.cases, a.seed), (200, 7));
        assert!(parse(&["--cases", "0"]).is_err());
    }

    #[test]
    fn runs_the_graph_suite_in_release_with_the_settings() {
        let cmd = command(&VerifyArgs { cases: 200, seed: 7 });
        let argv: Vec<_> = cmd.get_args().collect();
        assert_eq!(argv, ["test", "--release", "-p", "verify", "--test", "graphs"]);
        let env = |key: &str| cmd.get_envs().find(|(k, _)| *k == key).and_then(|(_, v)| v);
        assert_eq!(env(CASES_ENV), Some(OsStr::new("200")));
        assert_eq!(env(SEED_ENV), Some(OsStr::new("7")));
    }
}
