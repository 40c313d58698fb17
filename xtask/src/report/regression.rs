//! The regression table of a `cargo xtask bench --baseline NAME` run: per benchmark, the
//! median criterion saved under the baseline `NAME` (by an earlier `--save-baseline
//! NAME` run), this run's median, and the change of the time in percent, flagged beyond
//! ±[`THRESHOLD_PCT`].
//!
//! Criterion 0.8 keeps a named baseline beside each benchmark's latest result: a run with
//! `--save-baseline NAME` copies `<group>/<function>/<value>/new/` (its `benchmark.json`,
//! `estimates.json`…) to `<group>/<function>/<value>/NAME/` under `CRITERION_HOME`; a run
//! with `--baseline NAME` compares against that copy and leaves it alone. The baseline
//! files are read like the results ([`super::criterion::collect_baseline`]).
//!
//! The threshold: criterion's own noise threshold is ±2 %, meant for a quiet machine;
//! the medians of these benches on shared 2-core machines drift by about ±10 % between
//! runs of the same code, so only a change beyond ±10 % is flagged (criterion's own
//! "regressed / improved" lines, printed while the suites run, still use its ±2 %).

use serde::Serialize;

use super::criterion::Measurement;
use crate::Result;

/// Changes of the median time beyond this many percent, either way, are flagged.
pub const THRESHOLD_PCT: f64 = 10.0;

/// How a benchmark's median moved against the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Slower by more than the threshold: a regression.
    Slower,
    /// Faster by more than the threshold.
    Faster,
    /// Within ± the threshold: drift, as far as this machine can tell.
    Within,
}

/// One benchmark against its baseline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// Criterion's full id, `group/function/value`.
    pub id: String,
    /// The baseline's median time per iteration, ns.
    pub baseline_ns: f64,
    /// This run's median time per iteration, ns.
    pub current_ns: f64,
    /// `100 · (current / baseline − 1)`: positive is slower.
    pub change_pct: f64,
    /// Whether the change is beyond the threshold, and which way.
    pub verdict: Verdict,
}

/// Every benchmark of the run against the baseline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Table {
    /// The baseline's name.
    pub baseline: String,
    /// The threshold the verdicts use, percent.
    pub threshold_pct: f64,
    /// One row per benchmark, in run order.
    pub rows: Vec<Row>,
    /// How many rows are slower beyond the threshold.
    pub slower: usize,
    /// How many rows are faster beyond the threshold.
    pub faster: usize,
}

/// The verdict on a change of `change_pct` percent.
pub fn verdict(change_pct: f64) -> Verdict {
    if change_pct > THRESHOLD_PCT {
        Verdict::Slower
    } else if change_pct < -THRESHOLD_PCT {
        Verdict::Faster
    } else {
        Verdict::Within
    }
}

/// Compares this run's results with the baseline `name`'s, matched by full id.
///
/// # Errors
/// If a result of this run has no baseline (the caller checks this before running, so
/// it means the baseline changed meanwhile); the message names every such benchmark.
pub fn table(name: &str, baseline: &[Measurement], current: &[Measurement]) -> Result<Table> {
    let mut rows = Vec::with_capacity(current.len());
    let mut missing = Vec::new();
    for m in current {
        let Some(b) = baseline.iter().find(|b| b.full_id == m.full_id) else {
            missing.push(m.full_id.as_str());
            continue;
        };
        let change_pct = 100.0 * (m.median_ns / b.median_ns - 1.0);
        rows.push(Row {
            id: m.full_id.clone(),
            baseline_ns: b.median_ns,
            current_ns: m.median_ns,
            change_pct,
            verdict: verdict(change_pct),
        });
    }
    if !missing.is_empty() {
        return Err(format!("no baseline {name:?} for: {}", missing.join(", ")).into());
    }
    let count = |v: Verdict| rows.iter().filter(|r| r.verdict == v).count();
    Ok(Table {
        baseline: name.to_owned(),
        threshold_pct: THRESHOLD_PCT,
        slower: count(Verdict::Slower),
        faster: count(Verdict::Faster),
        rows,
    })
}

impl Table {
    /// The one-line summary: how many benchmarks moved beyond the threshold.
    pub fn summary(&self) -> String {
        format!(
            "against baseline {:?}: {} of {} benchmarks slower by more than {}%, {} faster by more \
             than {}%",
            self.baseline,
            self.slower,
            self.rows.len(),
            self.threshold_pct,
            self.faster,
            self.threshold_pct
        )
    }
}
