//! Reading criterion's machine-readable output, never its text.
//!
//! Criterion 0.8 writes, for every benchmark, `<home>/<group>/<function>/<value>/new/`
//! with `benchmark.json` (the id and its throughput) and `estimates.json` (point
//! estimates with bootstrap confidence intervals, in nanoseconds per iteration). The
//! directory names are sanitised ids (`/`, `:`, `?`… become `_`, long names are cut and
//! clashes get a `_2` suffix), so the tree is walked and the ids are read from the JSON.
//!
//! Results written before this run started are stale (an earlier run, maybe of other
//! code) and never presented; an expected benchmark without a fresh result is an error.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::Result;

/// The work of one iteration, as criterion's `Throughput` serialises it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Throughput {
    /// Bits per iteration.
    Bits(u64),
    /// Bytes per iteration.
    Bytes(u64),
    /// Bytes per iteration, reported in decimal units.
    BytesDecimal(u64),
    /// Elements per iteration; the GEMM benches count FLOP this way.
    Elements(u64),
    /// Both; elements are the primary figure.
    ElementsAndBytes {
        /// Elements per iteration.
        elements: u64,
        /// Bytes per iteration.
        bytes: u64,
    },
}

/// `benchmark.json`: the benchmark's identity.
#[derive(Debug, Deserialize)]
struct BenchmarkFile {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    throughput: Option<Throughput>,
    full_id: String,
}

/// The part of `estimates.json` the report uses.
#[derive(Debug, Deserialize)]
struct EstimatesFile {
    median: Estimate,
}

/// One statistic with its confidence interval.
#[derive(Debug, Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: ConfidenceInterval,
}

/// Bootstrap confidence interval of a statistic.
#[derive(Debug, Deserialize)]
struct ConfidenceInterval {
    lower_bound: f64,
    upper_bound: f64,
}

/// One benchmark's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measurement {
    /// Criterion's full id, `group/function/value`.
    pub full_id: String,
    /// Benchmark group, e.g. `gemm_f32_t1`.
    pub group_id: String,
    /// Implementation, e.g. `ours`.
    pub function_id: Option<String>,
    /// Parameter, e.g. `n=256`.
    pub value_str: Option<String>,
    /// Work per iteration.
    pub throughput: Option<Throughput>,
    /// Median time per iteration, ns.
    pub median_ns: f64,
    /// Confidence interval of the median, ns: `[lower, upper]`.
    pub median_ns_ci: [f64; 2],
}

/// A result on disk and when it was written.
struct Found {
    measurement: Measurement,
    /// The older of the two files' modification times.
    written: SystemTime,
    /// The `new/` directory holding it.
    dir: PathBuf,
}

/// Reads one `new/` directory.
fn read_result(dir: &Path) -> Result<Found> {
    let read = |name: &str| -> Result<(String, SystemTime)> {
        let path = dir.join(name);
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let written = fs::metadata(&path)?.modified()?;
        Ok((text, written))
    };
    let parse_err = |name: &str, e: serde_json::Error| format!("{}: {e}", dir.join(name).display());
    let (bench_text, bench_written) = read("benchmark.json")?;
    let (est_text, est_written) = read("estimates.json")?;
    let b: BenchmarkFile = serde_json::from_str(&bench_text).map_err(|e| parse_err("benchmark.json", e))?;
    let e: EstimatesFile = serde_json::from_str(&est_text).map_err(|e| parse_err("estimates.json", e))?;
    let ci = e.median.confidence_interval;
    Ok(Found {
        measurement: Measurement {
            full_id: b.full_id,
            group_id: b.group_id,
            function_id: b.function_id,
            value_str: b.value_str,
            throughput: b.throughput,
            median_ns: e.median.point_estimate,
            median_ns_ci: [ci.lower_bound, ci.upper_bound],
        },
        written: bench_written.min(est_written),
        dir: dir.to_path_buf(),
    })
}

/// Every result under `home`: each directory named `leaf` (`new` for the latest results,
/// a baseline's name for a saved baseline) holding a `benchmark.json`.
fn walk(home: &Path, leaf: &str, out: &mut Vec<Found>) -> Result<()> {
    let entries = fs::read_dir(home).map_err(|e| format!("{}: {e}", home.display()))?;
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let path = entry.path();
        if entry.file_name() == leaf && path.join("benchmark.json").is_file() {
            out.push(read_result(&path)?);
        } else if entry.file_name() != "report" {
            walk(&path, leaf, out)?;
        }
    }
    Ok(())
}

/// The results of the benchmarks named in `expected` (criterion full ids), in that
/// order, from files under `home` written at or after `since`.
///
/// # Errors
/// If a result cannot be read, or if any expected benchmark has no result written since
/// `since`; the message names every such benchmark, one per line.
pub fn collect(home: &Path, since: SystemTime, expected: &[String]) -> Result<Vec<Measurement>> {
    let mut found = Vec::new();
    if home.is_dir() {
        walk(home, "new", &mut found)?;
    }
    let mut fresh: HashMap<&str, &Found> = HashMap::new();
    let mut stale: HashMap<&str, &Found> = HashMap::new();
    for f in &found {
        let map = if f.written >= since { &mut fresh } else { &mut stale };
        let slot = map.entry(f.measurement.full_id.as_str()).or_insert(f);
        if f.written > slot.written {
            *slot = f;
        }
    }
    let mut missing = Vec::new();
    let mut out = Vec::with_capacity(expected.len());
    for id in expected {
        match (fresh.get(id.as_str()), stale.get(id.as_str())) {
            (Some(f), _) => out.push(f.measurement.clone()),
            (None, Some(old)) => missing.push(format!(
                "criterion output for {id} missing: {} is from an earlier run",
                old.dir.display()
            )),
            (None, None) => {
                missing.push(format!("criterion output for {id} missing (nothing under {})", home.display()))
            }
        }
    }
    if missing.is_empty() { Ok(out) } else { Err(missing.join("\n").into()) }
}

/// Directory names criterion itself uses beside a benchmark's baselines: never a
/// baseline name (`base` is criterion's default baseline, the previous run, and is
/// allowed).
pub const RESERVED_BASELINES: [&str; 3] = ["new", "change", "report"];

/// Whether `name` can be a criterion baseline this tool reads back: one plain directory
/// name, not one of [`RESERVED_BASELINES`].
pub fn valid_baseline_name(name: &str) -> bool {
    !name.is_empty()
        && !RESERVED_BASELINES.contains(&name)
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
}

/// The results saved under the baseline `name` (criterion's `--save-baseline NAME`:
/// `<group>/<function>/<value>/<name>/`) of the benchmarks named in `expected`, in that
/// order. A baseline is old by design, so no freshness is required.
///
/// # Errors
/// If a baseline result cannot be read, or if any expected benchmark has none; the
/// message names every such benchmark, one per line.
pub fn collect_baseline(home: &Path, name: &str, expected: &[String]) -> Result<Vec<Measurement>> {
    let mut found = Vec::new();
    if home.is_dir() {
        walk(home, name, &mut found)?;
    }
    let mut by_id: HashMap<&str, &Found> = HashMap::new();
    for f in &found {
        let slot = by_id.entry(f.measurement.full_id.as_str()).or_insert(f);
        if f.written > slot.written {
            *slot = f;
        }
    }
    let mut missing = Vec::new();
    let mut out = Vec::with_capacity(expected.len());
    for id in expected {
        match by_id.get(id.as_str()) {
            Some(f) => out.push(f.measurement.clone()),
            None => missing.push(id.as_str()),
        }
    }
    if missing.is_empty() {
        return Ok(out);
    }
    Err(format!(
        "baseline {name:?} lacks {} of the {} benchmarks this run measures (save it with `cargo \
         xtask bench --save-baseline {name}` over the same suites, flags and filter; baselines live \
         under {}):\n{}",
        missing.len(),
        expected.len(),
        home.display(),
        missing.join("\n")
    )
    .into())
}

/// The benchmark ids in the output of a criterion bench run with `--list`
/// (lines `<id>: benchmark`), in registration order.
pub fn parse_list(stdout: &str) -> Vec<String> {
    stdout.lines().filter_map(|l| l.strip_suffix(": benchmark")).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// The recorded criterion tree (see `tests/fixtures/README.md`).
    fn fixture_home() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/criterion")
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_benchmark_and_estimates() {
        let got = collect(&fixture_home(), UNIX_EPOCH, &ids(&["gemm_f32_t1/ours/n=64"])).unwrap();
        assert_eq!(got.len(), 1);
        let m = &got[0];
        assert_eq!(m.group_id, "gemm_f32_t1");
        assert_eq!(m.function_id.as_deref(), Some("ours"));
        assert_eq!(m.value_str.as_deref(), Some("n=64"));
        // 2·m·n·k = 2·64³ = 524 288 FLOP.
        assert_eq!(m.throughput, Some(Throughput::Elements(524_288)));
        // The fixture's median: 5 242.88 ns, CI [5 200, 5 300].
        assert_eq!(m.median_ns, 5242.88);
        assert_eq!(m.median_ns_ci, [5200.0, 5300.0]);
    }

    #[test]
    fn ids_come_from_json_not_directory_names() {
        // The non-square shape's directory is `m=6,n=2304,k=768` but a sanitising
        // criterion could name it otherwise; the id is read from benchmark.json.
        let id = "gemm_f32_t1/faer/m=6,n=2304,k=768";
        let got = collect(&fixture_home(), UNIX_EPOCH, &ids(&[id])).unwrap();
        assert_eq!(got[0].full_id, id);
    }

    #[test]
    fn keeps_the_expected_order() {
        let want = ids(&["gemm_f32_t1/faer/n=256", "gemm_f32_t1/ours/n=64"]);
        let got = collect(&fixture_home(), UNIX_EPOCH, &want).unwrap();
        let got: Vec<_> = got.iter().map(|m| m.full_id.clone()).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn missing_benchmark_is_a_clear_error() {
        let want = ids(&["gemm_f32_t1/ours/n=64", "gemm_f32_t1/ours/n=4096"]);
        let err = collect(&fixture_home(), UNIX_EPOCH, &want).unwrap_err().to_string();
        assert!(err.starts_with("criterion output for gemm_f32_t1/ours/n=4096 missing"), "{err}");
        assert!(!err.contains("n=64 "), "{err}");
    }

    #[test]
    fn stale_results_are_never_used() {
        // Copy one result, date it an hour before `since`: it must be reported as stale.
        let dir = std::env::temp_dir().join(format!("xtask-stale-{}", std::process::id()));
        let new = dir.join("gemm_f32_t1/ours/n=64/new");
        fs::create_dir_all(&new).unwrap();
        let since = SystemTime::now();
        for name in ["benchmark.json", "estimates.json"] {
            let src = fixture_home().join("gemm_f32_t1/ours/n=64/new").join(name);
            fs::copy(&src, new.join(name)).unwrap();
            let f = fs::File::options().write(true).open(new.join(name)).unwrap();
            f.set_modified(since - Duration::from_secs(3600)).unwrap();
        }
        let err = collect(&dir, since, &ids(&["gemm_f32_t1/ours/n=64"])).unwrap_err();
        fs::remove_dir_all(&dir).unwrap();
        let err = err.to_string();
        assert!(err.starts_with("criterion output for gemm_f32_t1/ours/n=64 missing"), "{err}");
        assert!(err.contains("earlier run"), "{err}");
    }

    #[test]
    fn parses_list_output() {
        let out = "gemm_f32_t1/ours/n=16: benchmark\n\
                   gemm_f32_t1/faer/m=6,n=2304,k=768: benchmark\n\
                   \n\
                   unrelated line\n";
        assert_eq!(parse_list(out), ids(&["gemm_f32_t1/ours/n=16", "gemm_f32_t1/faer/m=6,n=2304,k=768"]));
    }
}
