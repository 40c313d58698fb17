//! The elementwise suite (`bench/benches/elementwise.rs`) as tables: one row per element
//! type, op and size with the elements/s of ours, std and wide, ours / std, ours / wide
//! and, for sizes whose traffic does not fit in the L3 cache, ours in GB/s and as a
//! percentage of the machine's measured bandwidth.
//!
//! Group ids are `ew_<type>_<op>_<t1|tall>`, function ids `ours` / `std` / `wide`, values
//! `n=<elements>`, throughput `Elements(n)`. Bytes moved per call are counted here from
//! the op ([`streams`]), as STREAM does: every array read or written once is one stream
//! of `n · size_of::<T>()` bytes. Like STREAM's, the count leaves out write-allocate
//! reads (a store to a line not in cache reads it first, unless it is non-temporal), and
//! so does the STREAM-add bandwidth it is compared with (3 streams counted, 4 moved): the
//! in-place ops (axpy, scale), which have no such reads, can exceed 100% (up to 4/3).

use serde::Serialize;

use super::criterion::{Measurement, Throughput};
use super::{GeoMean, OURS, Threads, geomean};
use crate::Result;
use crate::limits::Limits;

/// Prefix of the elementwise suite's group ids.
pub const PREFIX: &str = "ew_";
/// The implementations every row needs, in column order.
pub const IMPLS: [&str; 3] = [OURS, "std", "wide"];

/// Streams one element of `op` moves: unary out-of-place ops read x and write y (2),
/// binary ops read a and b and write c (3), axpy reads x and y and writes y (3), scale
/// reads and writes x (2), sum reads x (1), dot reads x and y (2). The backward fusions
/// read the gradient and the forward value and write the result (3); the row ops on a
/// matrix: softmax and log_softmax read x and write y (2), their backward versions read g
/// and y and write the result (3), sum_rows and sum_cols read x (1; their outputs, one
/// element per row or column, are left out). The reductions max, min, argmax, norm2 and
/// logsumexp read x (1): the count is of what the op needs, not of how often an
/// implementation reads it (argmax and logsumexp may take two passes). `None` for an op
/// this table does not know.
pub fn streams(op: &str) -> Option<u64> {
    Some(match op {
        "exp" | "ln" | "tanh" | "sigmoid" | "relu" => 2,
        "sin" | "cos" | "softplus" | "gelu" | "sqrt" | "recip" | "abs" | "neg" | "square" | "powi"
        | "powf" => 2,
        "add" | "mul" | "axpy" => 3,
        "sub" | "div" | "maximum" | "minimum" | "atan2" | "pow" => 3,
        "tanh_bwd" | "sigmoid_bwd" | "relu_bwd" => 3,
        "scale" | "dot" => 2,
        "softmax" | "log_softmax" => 2,
        "softmax_bwd" | "log_softmax_bwd" => 3,
        "sum" => 1,
        "max" | "min" | "argmax" | "norm2" | "logsumexp" | "sum_rows" | "sum_cols" => 1,
        _ => return None,
    })
}

/// Bytes of one element of `dtype` (`f32`, `f64`).
fn element_bytes(dtype: &str) -> Option<u64> {
    match dtype {
        "f32" => Some(4),
        "f64" => Some(8),
        _ => None,
    }
}

/// Splits a group id `ew_f32_exp_t1` into `("f32", "exp", Threads::One)`.
pub fn parse_group(group: &str) -> Option<(String, String, Threads)> {
    let rest = group.strip_prefix(PREFIX)?;
    let (rest, threads) = match rest.rsplit_once('_')? {
        (rest, "t1") => (rest, Threads::One),
        (rest, "tall") => (rest, Threads::All),
        _ => return None,
    };
    let (dtype, op) = rest.split_once('_')?;
    if dtype.is_empty() || op.is_empty() {
        return None;
    }
    Some((dtype.to_owned(), op.to_owned(), threads))
}

/// Elements of a value string `n=16384`.
fn parse_n(value: &str) -> Option<u64> {
    value.strip_prefix("n=")?.parse().ok()
}

/// One implementation's figure for one row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figure {
    /// Implementation (criterion function id).
    pub implementation: String,
    /// Throughput at the median time: elements / ns = Gelem/s.
    pub gelem_per_s: f64,
    /// Gelem/s at the ends of the median's confidence interval: `[low, high]`.
    pub gelem_per_s_ci: [f64; 2],
    /// Median time per call, ns.
    pub median_ns: f64,
    /// Confidence interval of the median time, ns.
    pub median_ns_ci: [f64; 2],
}

/// One (element type, op, size).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// Criterion group id, e.g. `ew_f32_exp_t1`.
    pub group: String,
    /// Element type.
    pub dtype: String,
    /// Op, e.g. `exp`.
    pub op: String,
    /// Elements per call.
    pub n: u64,
    /// ours, std, wide, then any other implementation in bench order.
    pub figures: Vec<Figure>,
    /// Ours / std (elements/s).
    pub ours_over_std: f64,
    /// Ours / wide (elements/s).
    pub ours_over_wide: f64,
    /// Bytes one call moves (`streams · size_of::<T>() · n`); `None` for an unknown op.
    pub bytes: Option<u64>,
    /// Whether those bytes exceed the L3 cache: then the call streams from memory and the
    /// bandwidth columns apply.
    pub in_memory: bool,
    /// Ours in GB/s (10⁹ bytes), for in-memory rows.
    pub ours_gbs: Option<f64>,
    /// Ours as a percentage of the table's bandwidth, for in-memory rows.
    pub ours_pct_of_bandwidth: Option<f64>,
}

impl Row {
    /// Gelem/s of one implementation, if measured.
    pub fn gelem_per_s(&self, implementation: &str) -> Option<f64> {
        self.figures.iter().find(|f| f.implementation == implementation).map(|f| f.gelem_per_s)
    }
}

/// Geometric means of one element type's ratios.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Element type.
    pub dtype: String,
    /// Geometric mean of ours / std over the type's rows.
    pub ours_over_std: GeoMean,
    /// Geometric mean of ours / wide over the type's rows.
    pub ours_over_wide: GeoMean,
}

/// Every elementwise result of one thread setting.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Table {
    /// Thread setting of ours.
    pub threads: Threads,
    /// The measured bandwidth (STREAM add, 3 streams) of this thread setting, GB/s.
    pub bandwidth_gbs: f64,
    /// L3 size in bytes: rows moving more are in memory.
    pub l3_bytes: u64,
    /// Rows by element type and op in bench order, then by size.
    pub rows: Vec<Row>,
    /// Per element type, in row order.
    pub summaries: Vec<Summary>,
}

/// Builds one table per thread setting (in run order) from the elementwise results.
///
/// # Errors
/// If a group id, value or throughput is malformed, or if any (type, op, size) lacks one
/// of [`IMPLS`]: a table with a missing column would compare nothing. The message names
/// every incomplete row, one per line.
pub fn tables(results: &[&Measurement], limits: &Limits) -> Result<Vec<Table>> {
    // Groups in run order; (group, n) and the results of each.
    let mut groups: Vec<&str> = Vec::new();
    let mut keys: Vec<(&str, u64, Vec<&Measurement>)> = Vec::new();
    for m in results {
        if !groups.contains(&m.group_id.as_str()) {
            groups.push(&m.group_id);
        }
        let n = m
            .value_str
            .as_deref()
            .and_then(parse_n)
            .ok_or_else(|| format!("{}: value is not n=<elements>", m.full_id))?;
        match keys.iter_mut().find(|(g, k, _)| *g == m.group_id && *k == n) {
            Some((_, _, of_key)) => of_key.push(m),
            None => keys.push((&m.group_id, n, vec![m])),
        }
    }
    keys.sort_by_key(|(g, n, _)| (groups.iter().position(|x| x == g), *n));

    let mut tables: Vec<Table> = Vec::new();
    let mut incomplete = Vec::new();
    for (group, n, of_key) in &keys {
        let (dtype, op, threads) = parse_group(group)
            .ok_or_else(|| format!("group id {group:?} is not {PREFIX}<type>_<op>_<t1|tall>"))?;
        let mut figures = Vec::new();
        let mut missing = Vec::new();
        for implementation in IMPLS {
            match of_key.iter().find(|m| m.function_id.as_deref() == Some(implementation)) {
                Some(m) => figures.push(figure(m, *n)?),
                None => missing.push(implementation),
            }
        }
        if !missing.is_empty() {
            let found: Vec<&str> = of_key.iter().filter_map(|m| m.function_id.as_deref()).collect();
            incomplete.push(format!(
                "{group} n={n}: no result for {} (found: {})",
                missing.join(", "),
                if found.is_empty() { "nothing".to_owned() } else { found.join(", ") }
            ));
            continue;
        }
        for m in of_key.iter().filter(|m| !IMPLS.contains(&m.function_id.as_deref().unwrap_or("-"))) {
            figures.push(figure(m, *n)?);
        }
        let rate = |i: usize| figures[i].gelem_per_s;
        let bytes = streams(&op).zip(element_bytes(&dtype)).map(|(s, b)| s * b * n);
        let l3 = limits.caches.l3;
        let in_memory = bytes.is_some_and(|b| b > l3);
        let bandwidth_gbs = limits.bandwidth(threads);
        let ours_gbs = bytes.filter(|_| in_memory).map(|b| b as f64 / figures[0].median_ns);
        let row = Row {
            group: (*group).to_owned(),
            dtype,
            op,
            n: *n,
            ours_over_std: rate(0) / rate(1),
            ours_over_wide: rate(0) / rate(2),
            bytes,
            in_memory,
            ours_pct_of_bandwidth: ours_gbs.map(|g| 100.0 * g / bandwidth_gbs),
            ours_gbs,
            figures,
        };
        match tables.iter_mut().find(|t| t.threads == threads) {
            Some(t) => t.rows.push(row),
            None => tables.push(Table {
                threads,
                bandwidth_gbs,
                l3_bytes: l3,
                rows: vec![row],
                summaries: Vec::new(),
            }),
        }
    }
    if !incomplete.is_empty() {
        return Err(format!(
            "elementwise table incomplete: every (type, op, n) needs {} (check the bench and any \
             --filter)\n{}",
            IMPLS.join(", "),
            incomplete.join("\n")
        )
        .into());
    }
    for t in &mut tables {
        t.summaries = summaries(&t.rows);
    }
    Ok(tables)
}

/// One measurement as a figure, checking that its throughput is the row's `n` elements.
fn figure(m: &Measurement, n: u64) -> Result<Figure> {
    match m.throughput {
        Some(Throughput::Elements(e)) if e == n => {}
        other => {
            return Err(
                format!("{}: throughput {other:?} is not Elements({n}), one per element", m.full_id).into()
            );
        }
    }
    let n = n as f64;
    let [lo, hi] = m.median_ns_ci;
    Ok(Figure {
        implementation: m.function_id.clone().unwrap_or_default(),
        gelem_per_s: n / m.median_ns,
        gelem_per_s_ci: [n / hi, n / lo],
        median_ns: m.median_ns,
        median_ns_ci: m.median_ns_ci,
    })
}

/// Geometric means of ours / std and ours / wide per element type, in row order.
fn summaries(rows: &[Row]) -> Vec<Summary> {
    let mut dtypes: Vec<&str> = Vec::new();
    for r in rows {
        if !dtypes.contains(&r.dtype.as_str()) {
            dtypes.push(&r.dtype);
        }
    }
    dtypes
        .into_iter()
        .filter_map(|d| {
            let of =
                |f: fn(&Row) -> f64| -> Vec<f64> { rows.iter().filter(|r| r.dtype == d).map(f).collect() };
            Some(Summary {
                dtype: d.to_owned(),
                ours_over_std: geomean(&of(|r| r.ours_over_std))?,
                ours_over_wide: geomean(&of(|r| r.ours_over_wide))?,
            })
        })
        .collect()
}
