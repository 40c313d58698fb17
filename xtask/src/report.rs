//! The benchmark report: criterion results joined with the machine's limits.
//!
//! [`criterion`] reads the results, this module turns them into one [`GroupTable`] per
//! GEMM benchmark group (GFLOP/s per implementation, ours / best peer, ours as % of the
//! FMA peak) with geometric-mean summaries and thread scaling, [`elementwise`] turns the
//! elementwise suite's groups (`ew_…`) into one table per thread setting (elements/s,
//! ours / std and ours / wide, ours as % of the memory bandwidth), and [`render`] prints
//! them (terminal tables, markdown, JSON); [`autodiff`] tabulates the engine's suite
//! (`ad_…`: the MLP against its hand-written floor, and the per-op overhead),
//! [`jacobian`] the jacobian suite (`jac_…`: the forward/reverse crossover and the
//! Hessian costs) and [`verify`] the gradient-checking suite (`verify_…`:
//! `verify::check_grad` against a plain central-difference gradient); [`plot`] draws the
//! SVG plots (GEMM GFLOP/s against n with the FMA peak, elementwise GB/s with the
//! bandwidth, the jacobian crossover) and [`regression`] compares a run with a saved
//! criterion baseline.

pub mod autodiff;
pub mod criterion;
pub mod elementwise;
pub mod jacobian;
pub mod plot;
pub mod regression;
pub mod render;
pub mod verify;

use serde::Serialize;

use crate::Result;
use crate::limits::Limits;
use criterion::{Measurement, Throughput};

/// Our implementation's function id; every other function id is a peer.
pub const OURS: &str = "ours";
/// Column order of the known implementations; unknown function ids follow them.
pub const IMPLS: [&str; 3] = [OURS, "faer", "matrixmultiply"];

/// Square sizes whose geometric mean measures large, blocked GEMM.
pub const LARGE_SQUARE: std::ops::RangeInclusive<u64> = 128..=2048;
/// Square sizes up to this are "small" (summarised with the non-square shapes).
pub const SMALL_SQUARE_MAX: u64 = 64;

/// Which thread setting a group was measured with (suffix `_t1` or `_tall`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Threads {
    /// One thread.
    #[serde(rename = "1")]
    One,
    /// Every thread of the run (`--threads N`, by default every CPU).
    #[serde(rename = "all")]
    All,
}

/// A GEMM shape, parsed from criterion's value string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `n=N`: an N×N by N×N product.
    Square(u64),
    /// `m=M,n=N,k=K`: M×K by K×N.
    General {
        /// Rows of A and C.
        m: u64,
        /// Columns of B and C.
        n: u64,
        /// The inner dimension.
        k: u64,
    },
    /// Anything else; kept, but in no summary.
    Other,
}

impl Shape {
    /// Parses `n=256` or `m=6,n=2304,k=768` (any order of the three).
    pub fn parse(value: &str) -> Shape {
        let mut dims = [None; 3];
        for part in value.split(',') {
            let Some((key, num)) = part.trim().split_once('=') else { return Shape::Other };
            let Ok(num) = num.trim().parse::<u64>() else { return Shape::Other };
            let slot = match key.trim() {
                "m" => 0,
                "n" => 1,
                "k" => 2,
                _ => return Shape::Other,
            };
            dims[slot] = Some(num);
        }
        match dims {
            [None, Some(n), None] => Shape::Square(n),
            [Some(m), Some(n), Some(k)] => Shape::General { m, n, k },
            _ => Shape::Other,
        }
    }

    /// Table order: squares by size first, then every other shape in bench order.
    fn order_key(&self) -> (u8, u64) {
        match *self {
            Shape::Square(n) => (0, n),
            _ => (1, 0),
        }
    }
}

/// One implementation's figure for one shape.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figure {
    /// Implementation (criterion function id).
    pub implementation: String,
    /// Throughput at the median time: FLOP / ns = GFLOP/s.
    pub gflops: f64,
    /// GFLOP/s at the ends of the median's confidence interval: `[low, high]`.
    pub gflops_ci: [f64; 2],
    /// Median time per iteration, ns.
    pub median_ns: f64,
    /// Confidence interval of the median time, ns.
    pub median_ns_ci: [f64; 2],
}

/// One shape of one group: every implementation's figure and how ours compares.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// Criterion's value string, e.g. `n=256`.
    pub shape: String,
    /// FLOP per iteration (`2·m·n·k`).
    pub flop: u64,
    /// Figures in column order.
    pub figures: Vec<Figure>,
    /// The fastest peer.
    pub best_peer: Option<Peer>,
    /// Ours / best peer.
    pub ours_over_best_peer: Option<f64>,
    /// Ours as a percentage of the group's FMA peak.
    pub ours_pct_of_peak: Option<f64>,
}

impl Row {
    /// GFLOP/s of one implementation, if measured.
    pub fn gflops(&self, implementation: &str) -> Option<f64> {
        self.figures.iter().find(|f| f.implementation == implementation).map(|f| f.gflops)
    }
}

/// A peer implementation and its GFLOP/s on one shape.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Peer {
    /// Function id, e.g. `faer`.
    pub implementation: String,
    /// Its GFLOP/s.
    pub gflops: f64,
}

/// Geometric mean of ours / best peer over a set of shapes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GeoMean {
    /// The geometric mean.
    pub value: f64,
    /// How many shapes it covers.
    pub shapes: usize,
}

/// One benchmark group (e.g. `gemm_f32_t1`) as a table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupTable {
    /// Criterion group id.
    pub group: String,
    /// Element type, from the group id (`f32`, `f64`).
    pub dtype: String,
    /// Thread setting, from the group id.
    pub threads: Threads,
    /// FMA peak that `ours_pct_of_peak` refers to, GFLOP/s.
    pub peak_gflops: Option<f64>,
    /// Implementations, in column order.
    pub implementations: Vec<String>,
    /// Shapes: squares by size, then the others in bench order.
    pub rows: Vec<Row>,
    /// Geometric mean of ours / best peer over squares with n in [`LARGE_SQUARE`].
    pub geomean_large_square: Option<GeoMean>,
    /// The same over squares with n ≤ [`SMALL_SQUARE_MAX`] and every non-square shape.
    pub geomean_small_and_skinny: Option<GeoMean>,
}

/// Ours on all threads / ours on one thread, per shape, for one element type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scaling {
    /// Element type.
    pub dtype: String,
    /// One ratio per shape, in the all-threads table's order.
    pub ratios: Vec<ShapeRatio>,
}

/// A ratio measured on one shape.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShapeRatio {
    /// Criterion's value string, e.g. `n=256`.
    pub shape: String,
    /// The ratio.
    pub ratio: f64,
}

/// Everything a run produced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The machine's limits.
    pub limits: Limits,
    /// `git rev-parse --short HEAD`, if available.
    pub git_commit: Option<String>,
    /// Whether the run used `--quick` (figures are then rough).
    pub quick: bool,
    /// Whether the run used `--full` (the long size lists and measurements).
    pub full: bool,
    /// The `--filter` regex, if any.
    pub filter: Option<String>,
    /// One table per GEMM group, in the order the groups ran.
    pub groups: Vec<GroupTable>,
    /// The elementwise suite: one table per thread setting, in run order.
    pub elementwise: Vec<elementwise::Table>,
    /// The autodiff suite: one table per thread setting, in run order.
    pub autodiff: Vec<autodiff::Table>,
    /// The jacobian suite: the forward/reverse crossover and the Hessian costs.
    pub jacobian: jacobian::Tables,
    /// The gradient-checking suite: check_grad vs central differences vs one gradient.
    pub verify: verify::Table,
    /// Thread scaling of ours, per element type with both thread settings measured.
    pub scaling: Vec<Scaling>,
    /// Why scaling is missing or partial, if it is.
    pub scaling_note: Option<String>,
    /// This run against a saved criterion baseline (`--baseline NAME`), if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regression: Option<regression::Table>,
}

/// Splits a group id `gemm_f32_t1` into `("f32", Threads::One)`.
pub fn parse_group(group: &str) -> Option<(String, Threads)> {
    let (rest, threads) = match group.rsplit_once('_')? {
        (rest, "t1") => (rest, Threads::One),
        (rest, "tall") => (rest, Threads::All),
        _ => return None,
    };
    let dtype = rest.rsplit_once('_').map_or(rest, |(_, d)| d);
    Some((dtype.to_owned(), threads))
}

/// FLOP per iteration of a GEMM result: criterion `Elements`, which the benches count
/// as `2·m·n·k` FLOP.
fn flop_of(m: &Measurement) -> Result<u64> {
    match m.throughput {
        Some(Throughput::Elements(n)) | Some(Throughput::ElementsAndBytes { elements: n, .. }) => Ok(n),
        other => {
            Err(format!("{}: throughput {other:?} is not Elements (FLOP), cannot compute GFLOP/s", m.full_id)
                .into())
        }
    }
}

/// Geometric mean of `values`; `None` if empty.
pub fn geomean(values: &[f64]) -> Option<GeoMean> {
    (!values.is_empty()).then(|| GeoMean {
        value: (values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp(),
        shapes: values.len(),
    })
}

impl GroupTable {
    /// Builds the table of `group` from its measurements (in bench order).
    fn build(group: &str, results: &[&Measurement], limits: &Limits) -> Result<GroupTable> {
        let (dtype, threads) = parse_group(group)
            .ok_or_else(|| format!("group id {group:?} is not <suite>_<type>_<t1|tall>"))?;
        let peak_gflops = limits.fma_peak(&dtype, threads);
        let mut implementations: Vec<String> = Vec::new();
        let mut shapes: Vec<&str> = Vec::new();
        for m in results {
            let f = m.function_id.as_deref().unwrap_or("-");
            if !implementations.iter().any(|i| i == f) {
                implementations.push(f.to_owned());
            }
            let v = m.value_str.as_deref().unwrap_or("-");
            if !shapes.contains(&v) {
                shapes.push(v);
            }
        }
        let column = |i: &str| IMPLS.iter().position(|k| *k == i).unwrap_or(IMPLS.len());
        implementations.sort_by_key(|i| column(i)); // stable: unknown ones keep bench order
        shapes.sort_by_key(|s| Shape::parse(s).order_key());

        let mut rows = Vec::with_capacity(shapes.len());
        for shape in shapes {
            let mut flop = None;
            let mut figures = Vec::new();
            for implementation in &implementations {
                let Some(m) = results.iter().find(|m| {
                    m.function_id.as_deref().unwrap_or("-") == implementation
                        && m.value_str.as_deref().unwrap_or("-") == shape
                }) else {
                    continue;
                };
                let n = flop_of(m)?;
                if flop.is_some_and(|f| f != n) {
                    return Err(format!("{}: FLOP count differs from its row's", m.full_id).into());
                }
                flop = Some(n);
                let [lo, hi] = m.median_ns_ci;
                figures.push(Figure {
                    implementation: implementation.clone(),
                    gflops: n as f64 / m.median_ns,
                    gflops_ci: [n as f64 / hi, n as f64 / lo],
                    median_ns: m.median_ns,
                    median_ns_ci: m.median_ns_ci,
                });
            }
            let best_peer = figures
                .iter()
                .filter(|f| f.implementation != OURS)
                .max_by(|a, b| a.gflops.total_cmp(&b.gflops))
                .map(|f| Peer { implementation: f.implementation.clone(), gflops: f.gflops });
            let ours = figures.iter().find(|f| f.implementation == OURS).map(|f| f.gflops);
            rows.push(Row {
                shape: shape.to_owned(),
                flop: flop.unwrap_or(0),
                ours_over_best_peer: ours.zip(best_peer.as_ref()).map(|(o, p)| o / p.gflops),
                ours_pct_of_peak: ours.zip(peak_gflops).map(|(o, p)| 100.0 * o / p),
                best_peer,
                figures,
            });
        }
        let ratios_where = |keep: fn(&Shape) -> bool| -> Vec<f64> {
            rows.iter()
                .filter(|r| keep(&Shape::parse(&r.shape)))
                .filter_map(|r| r.ours_over_best_peer)
                .collect()
        };
        let large = ratios_where(|s| matches!(s, Shape::Square(n) if LARGE_SQUARE.contains(n)));
        let small = ratios_where(|s| match s {
            Shape::Square(n) => *n <= SMALL_SQUARE_MAX,
            Shape::General { .. } => true,
            Shape::Other => false,
        });
        Ok(GroupTable {
            group: group.to_owned(),
            dtype,
            threads,
            peak_gflops,
            implementations,
            geomean_large_square: geomean(&large),
            geomean_small_and_skinny: geomean(&small),
            rows,
        })
    }
}

impl Report {
    /// Builds the report from the limits and every measurement of the run.
    ///
    /// # Errors
    /// If a group id does not name an element type and thread setting, a GEMM result's
    /// throughput is not in FLOP, or an elementwise row lacks an implementation (see
    /// [`elementwise::tables`]).
    pub fn build(
        limits: Limits,
        results: &[Measurement],
        git_commit: Option<String>,
        quick: bool,
        filter: Option<String>,
    ) -> Result<Report> {
        let (ver, results): (Vec<&Measurement>, Vec<&Measurement>) =
            results.iter().partition(|m| m.group_id.starts_with(verify::PREFIX));
        let verify = verify::table(&ver);
        let (jac, results): (Vec<&Measurement>, Vec<&Measurement>) =
            results.into_iter().partition(|m| m.group_id.starts_with(jacobian::PREFIX));
        let jacobian = jacobian::tables(&jac);
        let (ad, results): (Vec<&Measurement>, Vec<&Measurement>) =
            results.into_iter().partition(|m| m.group_id.starts_with(autodiff::PREFIX));
        let autodiff = autodiff::tables(&ad, &limits)?;
        let (ew, results): (Vec<&Measurement>, Vec<&Measurement>) =
            results.into_iter().partition(|m| m.group_id.starts_with(elementwise::PREFIX));
        let elementwise = elementwise::tables(&ew, &limits)?;
        let mut group_ids: Vec<&str> = Vec::new();
        for m in &results {
            if !group_ids.contains(&m.group_id.as_str()) {
                group_ids.push(&m.group_id);
            }
        }
        let groups = group_ids
            .iter()
            .map(|g| {
                let of_group: Vec<&Measurement> =
                    results.iter().copied().filter(|m| m.group_id == *g).collect();
                GroupTable::build(g, &of_group, &limits)
            })
            .collect::<Result<Vec<_>>>()?;
        let (scaling, scaling_note) = scaling(&groups);
        Ok(Report {
            limits,
            git_commit,
            quick,
            full: false,
            filter,
            groups,
            elementwise,
            autodiff,
            jacobian,
            verify,
            scaling,
            scaling_note,
            regression: None,
        })
    }
}

/// Ours all-threads / ours one-thread for every shape measured both ways, and a note
/// when a thread setting is missing.
fn scaling(groups: &[GroupTable]) -> (Vec<Scaling>, Option<String>) {
    let mut out = Vec::new();
    let mut lacking = Vec::new();
    for all in groups.iter().filter(|g| g.threads == Threads::All) {
        let one = groups.iter().find(|g| g.threads == Threads::One && g.dtype == all.dtype);
        let Some(one) = one else {
            lacking.push(format!("{} has no one-thread run to compare with", all.group));
            continue;
        };
        let ratios = all
            .rows
            .iter()
            .filter_map(|r| {
                let one_row = one.rows.iter().find(|o| o.shape == r.shape)?;
                let ratio = r.gflops(OURS)? / one_row.gflops(OURS)?;
                Some(ShapeRatio { shape: r.shape.clone(), ratio })
            })
            .collect();
        out.push(Scaling { dtype: all.dtype.clone(), ratios });
    }
    for one in groups.iter().filter(|g| g.threads == Threads::One) {
        if !groups.iter().any(|g| g.threads == Threads::All && g.dtype == one.dtype) {
            lacking.push(format!("{} has no all-threads run to compare with", one.group));
        }
    }
    let note = (!lacking.is_empty())
        .then(|| format!("thread scaling needs both thread settings: {}", lacking.join("; ")));
    (out, note)
}

#[cfg(test)]
mod tests;
