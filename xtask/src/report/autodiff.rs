//! The autodiff suite (`bench/benches/autodiff.rs`) as tables, one per thread setting:
//!
//! - the MLP: per configuration (`b64`, `b256`) and task (`forward`, `value_and_grad`,
//!   `sgd_step`) the time of ours and of the hand-written `manual` floor, ours / manual
//!   (speed), ours in GFLOP/s of matrix work (the bench's `Elements` throughput) and as a
//!   percentage of the f32 FMA peak of that thread setting; and per configuration ours'
//!   value_and_grad / forward time ratio;
//! - the per-op overhead: ns per op of each function of `ad_overhead_<t1|tall>`
//!   (time / ops, the bench's `Elements` throughput counting ops).
//!
//! Group ids: `ad_mlp_<config>_<task>_<t1|tall>` (functions `ours` / `manual`, value the
//! config) and `ad_overhead_<t1|tall>`.

use serde::Serialize;

use super::criterion::{Measurement, Throughput};
use super::{OURS, Threads};
use crate::Result;
use crate::limits::Limits;

/// Prefix of the autodiff suite's group ids.
pub const PREFIX: &str = "ad_";
/// The hand-written implementation every MLP row is compared with.
pub const MANUAL: &str = "manual";
/// MLP tasks, in table order.
pub const TASKS: [&str; 3] = ["forward", "value_and_grad", "sgd_step"];

/// One (configuration, task) of the MLP.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MlpRow {
    /// `b64` or `b256`.
    pub config: String,
    /// One of [`TASKS`].
    pub task: String,
    /// Matrix FLOP per iteration.
    pub flop: u64,
    /// Ours, median ns per iteration.
    pub ours_ns: f64,
    /// The hand-written floor, median ns per iteration.
    pub manual_ns: f64,
    /// Ours' speed relative to manual: manual time / ours time (≤ 1 means slower).
    pub ours_over_manual: f64,
    /// Ours in GFLOP/s of matrix work.
    pub ours_gflops: f64,
    /// Ours as a percentage of the f32 FMA peak of the thread setting.
    pub ours_pct_of_peak: Option<f64>,
}

/// ns per op of one overhead implementation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Overhead {
    /// Function id: `record_backward`, `forward`, `plain`.
    pub implementation: String,
    /// Median ns per op.
    pub ns_per_op: f64,
}

/// One thread setting's results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Table {
    /// Thread setting.
    pub threads: Threads,
    /// f32 FMA peak of the setting, GFLOP/s.
    pub peak_gflops: Option<f64>,
    /// MLP rows: configurations in run order, tasks in [`TASKS`] order.
    pub mlp: Vec<MlpRow>,
    /// Ours' value_and_grad time / forward time, per configuration.
    pub grad_over_forward: Vec<(String, f64)>,
    /// The overhead chain.
    pub overhead: Vec<Overhead>,
}

/// What a group id names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Group {
    /// `ad_mlp_<config>_<task>_<threads>`.
    Mlp { config: String, task: String, threads: Threads },
    /// `ad_overhead_<threads>`.
    Overhead(Threads),
}

/// Parses an autodiff group id.
pub fn parse_group(group: &str) -> Option<Group> {
    let rest = group.strip_prefix(PREFIX)?;
    let (rest, threads) = match rest.rsplit_once('_')? {
        (rest, "t1") => (rest, Threads::One),
        (rest, "tall") => (rest, Threads::All),
        _ => return None,
    };
    if rest == "overhead" {
        return Some(Group::Overhead(threads));
    }
    let (config, task) = rest.strip_prefix("mlp_")?.split_once('_')?;
    TASKS.contains(&task).then(|| Group::Mlp { config: config.to_owned(), task: task.to_owned(), threads })
}

fn elements(m: &Measurement) -> Result<u64> {
    match m.throughput {
        Some(Throughput::Elements(n)) if n > 0 => Ok(n),
        other => Err(format!("{}: throughput {other:?} is not a positive Elements count", m.full_id).into()),
    }
}

/// Builds one table per thread setting present, in run order.
///
/// # Errors
/// If a group id is not one of the suite's, an MLP row lacks `ours` or `manual`, or a
/// throughput is not a positive element count.
pub fn tables(results: &[&Measurement], limits: &Limits) -> Result<Vec<Table>> {
    let mut out: Vec<Table> = Vec::new();
    for m in results {
        let group = parse_group(&m.group_id)
            .ok_or_else(|| format!("group id {:?} is not an autodiff group", m.group_id))?;
        let threads = match &group {
            Group::Mlp { threads, .. } | Group::Overhead(threads) => *threads,
        };
        if !out.iter().any(|t| t.threads == threads) {
            out.push(Table {
                threads,
                peak_gflops: limits.fma_peak("f32", threads),
                mlp: Vec::new(),
                grad_over_forward: Vec::new(),
                overhead: Vec::new(),
            });
        }
        let table = out.iter_mut().find(|t| t.threads == threads).expect("just added");
        match group {
            Group::Overhead(_) => {
                let ops = elements(m)?;
                table.overhead.push(Overhead {
                    implementation: m.function_id.clone().unwrap_or_default(),
                    ns_per_op: m.median_ns / ops as f64,
                });
            }
            Group::Mlp { config, task, .. } => {
                if table.mlp.iter().any(|r| r.config == config && r.task == task) {
                    continue;
                }
                let find = |f: &str| {
                    results
                        .iter()
                        .find(|r| r.group_id == m.group_id && r.function_id.as_deref() == Some(f))
                        .ok_or_else(|| format!("{}: no `{f}` result for this MLP row", m.group_id))
                };
                let (ours, manual) = (find(OURS)?, find(MANUAL)?);
                let flop = elements(ours)?;
                let ours_gflops = flop as f64 / ours.median_ns;
                table.mlp.push(MlpRow {
                    config,
                    task,
                    flop,
                    ours_ns: ours.median_ns,
                    manual_ns: manual.median_ns,
                    ours_over_manual: manual.median_ns / ours.median_ns,
                    ours_gflops,
                    ours_pct_of_peak: table.peak_gflops.map(|p| 100.0 * ours_gflops / p),
                });
            }
        }
    }
    for t in &mut out {
        let task_rank = |task: &str| TASKS.iter().position(|k| *k == task).unwrap_or(TASKS.len());
        let mut configs: Vec<String> = Vec::new();
        for r in &t.mlp {
            if !configs.contains(&r.config) {
                configs.push(r.config.clone());
            }
        }
        t.mlp.sort_by_key(|r| (configs.iter().position(|c| *c == r.config), task_rank(&r.task)));
        for c in &configs {
            let time =
                |task: &str| t.mlp.iter().find(|r| r.config == *c && r.task == task).map(|r| r.ours_ns);
            if let (Some(f), Some(g)) = (time("forward"), time("value_and_grad")) {
                t.grad_over_forward.push((c.clone(), g / f));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(group: &str, function: &str, value: &str, elements: u64, median_ns: f64) -> Measurement {
        Measurement {
            full_id: format!("{group}/{function}/{value}"),
            group_id: group.to_owned(),
            function_id: Some(function.to_owned()),
            value_str: Some(value.to_owned()),
            throughput: Some(Throughput::Elements(elements)),
            median_ns,
            median_ns_ci: [median_ns * 0.99, median_ns * 1.01],
        }
    }

    fn limits() -> Limits {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/limits.json");
        Limits::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn parses_group_ids() {
        assert_eq!(
            parse_group("ad_mlp_b64_value_and_grad_t1"),
            Some(Group::Mlp { config: "b64".into(), task: "value_and_grad".into(), threads: Threads::One })
        );
        assert_eq!(parse_group("ad_overhead_tall"), Some(Group::Overhead(Threads::All)));
        assert_eq!(parse_group("ad_mlp_b64_backward_t1"), None);
        assert_eq!(parse_group("ew_f32_exp_t1"), None);
    }

    #[test]
    fn mlp_rows_ratios_and_percent_of_peak() {
        // Fixture peak f32, 1 thread: 271.28 GFLOP/s. 52 MFLOP in 260 µs = 200 GFLOP/s,
        // 73.7% of it; manual at 240 µs gives ours / manual = 240/260.
        let rs = [
            m("ad_mlp_b64_value_and_grad_t1", "ours", "b64", 52_000_000, 260_000.0),
            m("ad_mlp_b64_value_and_grad_t1", "manual", "b64", 52_000_000, 240_000.0),
            m("ad_mlp_b64_forward_t1", "ours", "b64", 26_000_000, 120_000.0),
            m("ad_mlp_b64_forward_t1", "manual", "b64", 26_000_000, 110_000.0),
            m("ad_overhead_t1", "record_backward", "chain=100", 100, 35_000.0),
        ];
        let refs: Vec<&Measurement> = rs.iter().collect();
        let t = tables(&refs, &limits()).unwrap();
        assert_eq!(t.len(), 1);
        let t = &t[0];
        // Tasks in TASKS order although value_and_grad ran first.
        assert_eq!(t.mlp.iter().map(|r| r.task.as_str()).collect::<Vec<_>>(), ["forward", "value_and_grad"]);
        let vg = &t.mlp[1];
        assert!((vg.ours_gflops - 200.0).abs() < 1e-12);
        assert!((vg.ours_pct_of_peak.unwrap() - 100.0 * 200.0 / 271.28).abs() < 1e-9);
        assert!((vg.ours_over_manual - 240.0 / 260.0).abs() < 1e-15);
        assert_eq!(t.grad_over_forward, [("b64".to_owned(), 260.0 / 120.0)]);
        assert_eq!(t.overhead, [Overhead { implementation: "record_backward".into(), ns_per_op: 350.0 }]);
    }

    #[test]
    fn a_row_without_its_manual_floor_is_an_error() {
        let rs = [m("ad_mlp_b64_forward_t1", "ours", "b64", 1, 1.0)];
        let refs: Vec<&Measurement> = rs.iter().collect();
        let e = tables(&refs, &limits()).unwrap_err().to_string();
        assert!(e.contains("no `manual` result"), "{e}");
    }
}
