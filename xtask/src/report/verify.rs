//! The gradient-checking suite (`bench/benches/verify.rs`) as one table: per case (the
//! MLP loss at n weights) the median time of `verify::check_grad` in fast mode (4 probes)
//! and in full mode, of a plain central-difference gradient (`central_fd`, 2n
//! evaluations) and of one `value_and_grad`, with check_grad_fast / central_fd,
//! check_grad_full / central_fd and check_grad_fast / value_and_grad (time ratios: below
//! 1× the check is the cheaper one).
//!
//! Group id `verify_check_grad_t1`; values `mlp,n=…`. A case lacking one of [`FUNCTIONS`]
//! (a `--filter`, or a bench that changed) keeps its row, with the lacking times and every
//! ratio that needs them empty, and is named in [`Table::missing`], which the renderers
//! print: the table is never passed off as complete. Results of the suite it has no column
//! for are listed in [`Table::untabulated`], also printed.

use serde::Serialize;

use super::criterion::Measurement;

/// Prefix of the suite's group ids.
pub const PREFIX: &str = "verify_";
/// The suite's one group.
pub const GROUP: &str = "verify_check_grad_t1";
/// The functions every case should have, in column order.
pub const FUNCTIONS: [&str; 4] = ["check_grad_fast", "check_grad_full", "central_fd", "value_and_grad"];

/// One case (value) of the suite.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// Criterion's value string, e.g. `mlp,n=100`.
    pub case: String,
    /// Median ns of `check_grad` in fast mode (4 probes).
    pub check_grad_fast_ns: Option<f64>,
    /// Median ns of `check_grad` in full mode (every coordinate).
    pub check_grad_full_ns: Option<f64>,
    /// Median ns of the plain central-difference gradient.
    pub central_fd_ns: Option<f64>,
    /// Median ns of one `value_and_grad`.
    pub value_and_grad_ns: Option<f64>,
    /// check_grad_fast / central_fd.
    pub fast_over_fd: Option<f64>,
    /// check_grad_full / central_fd.
    pub full_over_fd: Option<f64>,
    /// check_grad_fast / value_and_grad.
    pub fast_over_grad: Option<f64>,
}

/// The suite's table.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Table {
    /// One row per case, in bench order.
    pub rows: Vec<Row>,
    /// One line per case lacking a function of [`FUNCTIONS`]: `mlp,n=1000: no result for
    /// central_fd`. Empty when the table is complete.
    pub missing: Vec<String>,
    /// Full ids of the suite's results the table has no place for (another `verify_…`
    /// group, or a function not in [`FUNCTIONS`]): a bench that grew beyond the table.
    pub untabulated: Vec<String>,
}

impl Table {
    /// Whether every row has every function.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Builds the table from the suite's measurements; those it has no column for are listed
/// in [`Table::untabulated`].
pub fn table(results: &[&Measurement]) -> Table {
    let tabulated =
        |m: &Measurement| m.group_id == GROUP && FUNCTIONS.contains(&m.function_id.as_deref().unwrap_or("-"));
    let (of_group, others): (Vec<&Measurement>, Vec<&Measurement>) =
        results.iter().copied().partition(|m| tabulated(m));
    let mut cases: Vec<&str> = Vec::new();
    for m in &of_group {
        let v = m.value_str.as_deref().unwrap_or("-");
        if !cases.contains(&v) {
            cases.push(v);
        }
    }
    let mut table =
        Table { untabulated: others.iter().map(|m| m.full_id.clone()).collect(), ..Table::default() };
    for case in cases {
        let [fast, full, fd, grad] = FUNCTIONS.map(|f| {
            of_group
                .iter()
                .find(|m| {
                    m.function_id.as_deref() == Some(f) && m.value_str.as_deref().unwrap_or("-") == case
                })
                .map(|m| m.median_ns)
        });
        let lacking: Vec<&str> = FUNCTIONS
            .iter()
            .zip([fast, full, fd, grad])
            .filter(|(_, t)| t.is_none())
            .map(|(f, _)| *f)
            .collect();
        if !lacking.is_empty() {
            table.missing.push(format!("{case}: no result for {}", lacking.join(", ")));
        }
        let over = |a: Option<f64>, b: Option<f64>| Some(a? / b?);
        table.rows.push(Row {
            case: case.to_owned(),
            check_grad_fast_ns: fast,
            check_grad_full_ns: full,
            central_fd_ns: fd,
            value_and_grad_ns: grad,
            fast_over_fd: over(fast, fd),
            full_over_fd: over(full, fd),
            fast_over_grad: over(fast, grad),
        });
    }
    table
}
