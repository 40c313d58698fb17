//! Rendering a [`Report`]: terminal tables, markdown and JSON.
//!
//! The terminal and markdown outputs are built from the same tables (comfy-table, with
//! a box-drawing or a markdown style) and the same summary lines, so they never disagree.
//! The markdown links the SVG plots of [`plot::plots`] (written beside it by the caller)
//! under the sections they illustrate.

use comfy_table::{CellAlignment, Table, TableStyle, presets};

use super::autodiff;
use super::elementwise::{self, IMPLS as EW_IMPLS};
use super::jacobian;
use super::plot::{self, Section};
use super::regression::{self, Verdict};
use super::verify;
use super::{GroupTable, LARGE_SQUARE, OURS, Report, SMALL_SQUARE_MAX, Scaling, Threads};
use crate::Result;

/// Output flavour of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Box-drawing characters, for a terminal.
    Terminal,
    /// GitHub-flavoured markdown.
    Markdown,
}

impl Style {
    fn table_style(self) -> TableStyle {
        match self {
            Style::Terminal => presets::UTF8_FULL_CONDENSED,
            Style::Markdown => presets::ASCII_MARKDOWN,
        }
    }
}

/// Placeholder for a figure that was not measured.
const NONE: &str = "—";

/// GFLOP/s (and GB/s) with one decimal.
fn rate(x: f64) -> String {
    format!("{x:.1}")
}

/// A ratio such as ours / best peer.
fn ratio(x: f64) -> String {
    format!("{x:.2}×")
}

/// A byte count in the largest binary unit that divides it.
fn bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

/// An element count in the largest binary unit that divides it (`16 Ki`, `32 Mi`).
pub fn count(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} Mi", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} Ki", n >> 10),
        n => n.to_string(),
    }
}

/// Gelem/s with three significant digits (scalar transcendental loops run at a few
/// hundredths of vectorised streaming ones).
fn gelem(x: f64) -> String {
    match x {
        x if x >= 100.0 => format!("{x:.0}"),
        x if x >= 10.0 => format!("{x:.1}"),
        x if x >= 1.0 => format!("{x:.2}"),
        x => format!("{x:.3}"),
    }
}

/// A thread setting in words.
fn setting(t: Threads, threads: usize) -> String {
    match t {
        Threads::One => "1 thread".to_owned(),
        Threads::All => format!("{threads} threads"),
    }
}

/// An optional figure, or the placeholder.
fn opt(x: Option<f64>, f: fn(f64) -> String) -> String {
    x.map_or_else(|| NONE.to_owned(), f)
}

/// A new table in `style` with `header`, every column but the first right-aligned.
fn new_table(style: Style, header: Vec<String>) -> Table {
    let mut table = Table::new();
    table.load_style(style.table_style()).set_header(header);
    for column in table.column_iter_mut().skip(1) {
        column.set_cell_alignment(CellAlignment::Right);
    }
    table
}

/// Title line of a group's table.
pub fn group_title(g: &GroupTable, threads: usize) -> String {
    let setting = setting(g.threads, threads);
    let peak = opt(g.peak_gflops, rate);
    format!("{} — GFLOP/s, {} {setting} (FMA peak {peak} GFLOP/s)", g.group, g.dtype)
}

/// Title line of an elementwise table.
pub fn elementwise_title(t: &elementwise::Table, threads: usize) -> String {
    format!(
        "elementwise — Gelem/s, {}; ours in GB/s where the traffic exceeds L3 ({}), as % of \
         the measured bandwidth {} GB/s",
        setting(t.threads, threads),
        bytes(t.l3_bytes),
        rate(t.bandwidth_gbs)
    )
}

/// The elementwise suite as a table: type, op, n, Gelem/s of ours, std and wide, the two
/// ratios, and for in-memory rows ours in GB/s and % of the bandwidth.
pub fn elementwise_table(t: &elementwise::Table, style: Style) -> Table {
    let mut header: Vec<String> = ["type", "op", "n"].map(String::from).to_vec();
    header.extend(EW_IMPLS.map(String::from));
    header.extend(["ours / std", "ours / wide", "ours GB/s", "ours % of bandwidth"].map(String::from));
    let mut table = new_table(style, header);
    if let Some(column) = table.column_mut(1) {
        column.set_cell_alignment(CellAlignment::Left);
    }
    for row in &t.rows {
        let mut cells = vec![row.dtype.clone(), row.op.clone(), count(row.n)];
        cells.extend(EW_IMPLS.iter().map(|i| opt(row.gelem_per_s(i), gelem)));
        cells.push(ratio(row.ours_over_std));
        cells.push(ratio(row.ours_over_wide));
        cells.push(opt(row.ours_gbs, rate));
        cells.push(opt(row.ours_pct_of_bandwidth, |p| format!("{p:.1}%")));
        table.add_row(cells);
    }
    table
}

/// One group as a table: shape, GFLOP/s per implementation, ours / best peer, % of peak.
pub fn group_table(g: &GroupTable, style: Style) -> Table {
    let mut header = vec!["shape".to_owned()];
    header.extend(g.implementations.iter().cloned());
    header.extend(["ours / best peer".to_owned(), "ours % of peak".to_owned()]);
    let mut table = new_table(style, header);
    for row in &g.rows {
        let mut cells = vec![row.shape.clone()];
        cells.extend(g.implementations.iter().map(|i| opt(row.gflops(i), rate)));
        cells.push(match (&row.best_peer, row.ours_over_best_peer) {
            (Some(peer), Some(r)) => format!("{} ({})", ratio(r), peer.implementation),
            _ => NONE.to_owned(),
        });
        cells.push(opt(row.ours_pct_of_peak, |p| format!("{p:.1}%")));
        table.add_row(cells);
    }
    table
}

/// Thread scaling of ours: one row per shape, one column per element type.
pub fn scaling_table(scaling: &[Scaling], style: Style) -> Option<Table> {
    let first = scaling.iter().find(|s| !s.ratios.is_empty())?;
    let mut header = vec!["shape".to_owned()];
    header.extend(scaling.iter().map(|s| s.dtype.clone()));
    let mut table = new_table(style, header);
    // Rows in the first type's order, then shapes only the others have.
    let mut shapes: Vec<&str> = first.ratios.iter().map(|r| r.shape.as_str()).collect();
    for r in scaling.iter().flat_map(|s| &s.ratios) {
        if !shapes.contains(&r.shape.as_str()) {
            shapes.push(&r.shape);
        }
    }
    for shape in shapes {
        let mut cells = vec![shape.to_owned()];
        for s in scaling {
            let r = s.ratios.iter().find(|r| r.shape == shape).map(|r| r.ratio);
            cells.push(opt(r, ratio));
        }
        table.add_row(cells);
    }
    Some(table)
}

/// Title line of an autodiff MLP table.
pub fn autodiff_title(t: &autodiff::Table, threads: usize) -> String {
    format!(
        "autodiff MLP 784→H (tanh)→10, softmax cross-entropy, f32 — {}; GFLOP/s count matrix \
         work only; f32 FMA peak {} GFLOP/s",
        setting(t.threads, threads),
        opt(t.peak_gflops, rate)
    )
}

/// The MLP rows: config, task, ours and manual in µs, ours / manual, GFLOP/s, % of peak.
pub fn autodiff_table(t: &autodiff::Table, style: Style) -> Table {
    let header =
        ["config", "task", "ours µs", "manual µs", "ours / manual", "ours GFLOP/s", "ours % of peak"];
    let mut table = new_table(style, header.map(String::from).to_vec());
    if let Some(column) = table.column_mut(1) {
        column.set_cell_alignment(CellAlignment::Left);
    }
    for r in &t.mlp {
        table.add_row(vec![
            r.config.clone(),
            r.task.clone(),
            format!("{:.1}", r.ours_ns / 1e3),
            format!("{:.1}", r.manual_ns / 1e3),
            ratio(r.ours_over_manual),
            rate(r.ours_gflops),
            opt(r.ours_pct_of_peak, |p| format!("{p:.1}%")),
        ]);
    }
    table
}

/// Summary lines of the autodiff tables: value_and_grad / forward and the per-op overhead.
fn autodiff_lines(r: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    for t in &r.autodiff {
        let s = setting(t.threads, r.limits.threads);
        for (config, x) in &t.grad_over_forward {
            lines.push(format!("autodiff MLP {config} ({s}): value_and_grad / forward time = {}", ratio(*x)));
        }
        if !t.overhead.is_empty() {
            let parts: Vec<String> =
                t.overhead.iter().map(|o| format!("{} {:.1} ns", o.implementation, o.ns_per_op)).collect();
            lines.push(format!("autodiff per-op overhead on 1-element tensors ({s}): {}", parts.join(", ")));
        }
    }
    lines
}

/// µs with three significant digits.
fn micros(ns: f64) -> String {
    gelem(ns / 1e3)
}

/// The forward/reverse crossover as a table; `None` if not measured.
pub fn crossover_table(t: &jacobian::Tables, style: Style) -> Option<Table> {
    if t.crossover.is_empty() {
        return None;
    }
    let header =
        ["f: ℝⁿ → ℝᵐ", "jacfwd µs", "jacrev µs", "faster", "by", "reference µs", "cheap mode / reference"];
    let mut table = new_table(style, header.map(String::from).to_vec());
    for r in &t.crossover {
        table.add_row(vec![
            r.shape.clone(),
            opt(r.jacfwd_ns, micros),
            opt(r.jacrev_ns, micros),
            r.winner.as_ref().map_or(NONE.to_owned(), |w| w.0.clone()),
            opt(r.winner.as_ref().map(|w| w.1), ratio),
            r.reference.as_ref().map_or(NONE.to_owned(), |(n, t)| format!("{n} {}", micros(*t))),
            opt(r.over_reference, ratio),
        ]);
    }
    Some(table)
}

/// The Hessian costs as a table; `None` if not measured.
pub fn hessian_table(t: &jacobian::Tables, style: Style) -> Option<Table> {
    if t.hessians.is_empty() {
        return None;
    }
    let header = [
        "function",
        "hessian µs",
        "hessian_rev µs",
        "hvp µs",
        "value_and_grad µs",
        "fd_hessian µs",
        "hessian / hvp",
        "fd / hessian",
        "fd / hessian_rev",
        "hvp / value_and_grad",
    ];
    let mut table = new_table(style, header.map(String::from).to_vec());
    for r in &t.hessians {
        table.add_row(vec![
            r.case.clone(),
            opt(r.hessian_ns, micros),
            opt(r.hessian_rev_ns, micros),
            opt(r.hvp_ns, micros),
            opt(r.value_and_grad_ns, micros),
            opt(r.fd_hessian_ns, micros),
            opt(r.hessian_over_hvp(), ratio),
            opt(r.fd_over_hessian(), ratio),
            opt(r.fd_over_hessian_rev(), ratio),
            opt(r.hvp_over_grad(), ratio),
        ]);
    }
    Some(table)
}

/// The gradient-checking costs as a table; `None` if not measured.
pub fn verify_table(t: &verify::Table, style: Style) -> Option<Table> {
    if t.rows.is_empty() {
        return None;
    }
    let header = [
        "case",
        "check_grad_fast µs",
        "check_grad_full µs",
        "central_fd µs",
        "value_and_grad µs",
        "fast / central_fd",
        "full / central_fd",
        "fast / value_and_grad",
    ];
    let mut table = new_table(style, header.map(String::from).to_vec());
    for r in &t.rows {
        table.add_row(vec![
            r.case.clone(),
            opt(r.check_grad_fast_ns, micros),
            opt(r.check_grad_full_ns, micros),
            opt(r.central_fd_ns, micros),
            opt(r.value_and_grad_ns, micros),
            opt(r.fast_over_fd, ratio),
            opt(r.full_over_fd, ratio),
            opt(r.fast_over_grad, ratio),
        ]);
    }
    Some(table)
}

/// Title line of the gradient-checking table, flagged when a case lacks a function.
pub fn verify_title(t: &verify::Table) -> String {
    let title = "gradient checking — verify::check_grad (fast: 4 random projections; full: every entry) \
                 vs a plain central-difference gradient, MLP loss, f64, 1 thread";
    if t.is_complete() { title.to_owned() } else { format!("{title} — incomplete, see the summary") }
}

/// The summary lines naming what the gradient-checking table lacks or leaves out, if
/// anything.
fn verify_lines(t: &verify::Table) -> Vec<String> {
    let mut lines = Vec::new();
    if !t.is_complete() {
        lines.push(format!(
            "gradient checking table incomplete: every case needs {} (check the bench and any \
             --filter): {}",
            verify::FUNCTIONS.join(", "),
            t.missing.join("; ")
        ));
    }
    if !t.untabulated.is_empty() {
        lines.push(format!(
            "gradient checking results not in the table (only {} of {} are): {}",
            verify::FUNCTIONS.join(", "),
            verify::GROUP,
            t.untabulated.join(", ")
        ));
    }
    lines
}

/// A time per iteration in the unit that keeps it between 1 and 1000.
fn duration(ns: f64) -> String {
    match ns {
        ns if ns >= 1e9 => format!("{} s", gelem(ns / 1e9)),
        ns if ns >= 1e6 => format!("{} ms", gelem(ns / 1e6)),
        ns if ns >= 1e3 => format!("{} µs", gelem(ns / 1e3)),
        ns => format!("{} ns", gelem(ns)),
    }
}

/// Title line of the regression table.
pub fn regression_title(t: &regression::Table) -> String {
    format!(
        "regression — this run against baseline {:?}: median time per iteration, flagged beyond \
         ±{}% (shared machines drift by about ±10%)",
        t.baseline, t.threshold_pct
    )
}

/// The regression table: benchmark, baseline and current median, change, verdict.
pub fn regression_table(t: &regression::Table, style: Style) -> Table {
    let header = ["benchmark", "baseline", "this run", "change", "flag"];
    let mut table = new_table(style, header.map(String::from).to_vec());
    for r in &t.rows {
        table.add_row(vec![
            r.id.clone(),
            duration(r.baseline_ns),
            duration(r.current_ns),
            format!("{:+.1}%", r.change_pct),
            match r.verdict {
                Verdict::Slower => "SLOWER".to_owned(),
                Verdict::Faster => "faster".to_owned(),
                Verdict::Within => String::new(),
            },
        ]);
    }
    table
}

/// Markdown image links to the plots of one section, each on its own paragraph.
fn plot_links(plots: &[plot::Plot], section: Section) -> String {
    plots.iter().filter(|p| p.section == section).map(|p| format!("\n![{}]({})\n", p.title, p.file)).collect()
}

const CROSSOVER_TITLE: &str =
    "jacobians — forward vs reverse mode on a two-layer tanh network, f64, 1 thread";
const HESSIAN_TITLE: &str = "hessians — exact (hessian: forward-over-reverse; hessian_rev: reverse-over-reverse) vs \
                             Hessian-vector products vs central differences of the gradient, 1 thread";

/// The machine and its limits, one fact per line.
pub fn machine_lines(r: &Report) -> Vec<String> {
    let l = &r.limits;
    let c = &l.caches;
    let mut lines = vec![
        format!("CPU: {} ({} threads), kernel path {}", l.cpu, l.threads, l.isa),
        format!("caches: L1d {}, L2 {}, L3 {}", bytes(c.l1d), bytes(c.l2), bytes(c.l3)),
    ];
    for (name, p) in [("f32", &l.fma_peak_gflops.f32), ("f64", &l.fma_peak_gflops.f64)] {
        let isa = p.isa.as_deref().map_or(String::new(), |i| format!(" ({i})"));
        lines.push(format!(
            "{name} FMA peak{isa}: {} GFLOP/s on 1 thread, {} on {}",
            rate(p.one),
            rate(p.all),
            l.threads
        ));
    }
    let bw = &l.bandwidth_gbs;
    lines.push(format!(
        "memory bandwidth (c = a + b, 3 streams): {} GB/s on 1 thread, {} on {}",
        rate(bw.one),
        rate(bw.all),
        l.threads
    ));
    lines.push(format!("commit: {}", r.git_commit.as_deref().unwrap_or("unknown")));
    if let Some(f) = &r.filter {
        lines.push(format!("filter: {f}"));
    }
    if r.quick || l.quick {
        lines.push("quick run: short measurements, figures are rough".to_owned());
    }
    if r.full {
        lines.push("full run: the long size lists and measurements (--full)".to_owned());
    }
    lines
}

/// Geometric-mean summary lines, one per group, plus the scaling note.
pub fn summary_lines(r: &Report) -> Vec<String> {
    let (lo, hi) = (LARGE_SQUARE.start(), LARGE_SQUARE.end());
    let mut lines = Vec::new();
    for g in &r.groups {
        let mean = |m: &Option<super::GeoMean>| {
            m.as_ref()
                .map_or_else(|| NONE.to_owned(), |m| format!("{} over {} shapes", ratio(m.value), m.shapes))
        };
        lines.push(format!(
            "{}: geometric mean of {OURS} / best peer: square n = {lo}..{hi}: {}; \
             n ≤ {SMALL_SQUARE_MAX} and non-square: {}",
            g.group,
            mean(&g.geomean_large_square),
            mean(&g.geomean_small_and_skinny),
        ));
    }
    if r.elementwise.iter().any(|t| t.rows.iter().any(|row| row.in_memory)) {
        lines.push(
            "elementwise GB/s count each array once, as STREAM does (no write-allocate reads): \
             the in-place axpy and scale have no such reads and can pass 100% of the bandwidth"
                .to_owned(),
        );
    }
    for t in &r.elementwise {
        for s in &t.summaries {
            lines.push(format!(
                "elementwise {} ({}): geometric mean of {OURS} / std: {} over {} rows; {OURS} / wide: {}",
                s.dtype,
                setting(t.threads, r.limits.threads),
                ratio(s.ours_over_std.value),
                s.ours_over_std.shapes,
                ratio(s.ours_over_wide.value),
            ));
        }
    }
    lines.extend(autodiff_lines(r));
    lines.extend(verify_lines(&r.verify));
    if let Some(note) = &r.scaling_note {
        lines.push(note.clone());
    }
    if let Some(t) = &r.regression {
        lines.push(t.summary());
    }
    lines
}

/// The whole report for a terminal.
pub fn terminal(r: &Report) -> String {
    let mut out = String::new();
    for line in machine_lines(r) {
        out += &format!("{line}\n");
    }
    for g in &r.groups {
        out += &format!("\n{}\n{}\n", group_title(g, r.limits.threads), group_table(g, Style::Terminal));
    }
    if let Some(t) = scaling_table(&r.scaling, Style::Terminal) {
        out += &format!("\nthread scaling — {OURS}, all threads / 1 thread\n{t}\n");
    }
    for t in &r.elementwise {
        let title = elementwise_title(t, r.limits.threads);
        out += &format!("\n{title}\n{}\n", elementwise_table(t, Style::Terminal));
    }
    for t in &r.autodiff {
        out +=
            &format!("\n{}\n{}\n", autodiff_title(t, r.limits.threads), autodiff_table(t, Style::Terminal));
    }
    if let Some(t) = crossover_table(&r.jacobian, Style::Terminal) {
        out += &format!("\n{CROSSOVER_TITLE}\n{t}\n");
    }
    if let Some(t) = hessian_table(&r.jacobian, Style::Terminal) {
        out += &format!("\n{HESSIAN_TITLE}\n{t}\n");
    }
    if let Some(t) = verify_table(&r.verify, Style::Terminal) {
        out += &format!("\n{}\n{t}\n", verify_title(&r.verify));
    }
    if let Some(t) = &r.regression {
        out += &format!("\n{}\n{}\n", regression_title(t), regression_table(t, Style::Terminal));
    }
    out += "\n";
    for line in summary_lines(r) {
        out += &format!("{line}\n");
    }
    out
}

/// The whole report as a markdown document, linking the plots of [`plot::plots`] by
/// file name (relative: the plots are written beside `report.md`).
pub fn markdown(r: &Report) -> String {
    let plots = plot::plots(r);
    let mut out = String::from("# Benchmark report\n\n## Machine\n\n");
    for line in machine_lines(r) {
        out += &format!("- {line}\n");
    }
    for g in &r.groups {
        out += &format!("\n## {}\n\n{}\n", group_title(g, r.limits.threads), group_table(g, Style::Markdown));
    }
    out += &plot_links(&plots, Section::Gemm);
    if let Some(t) = scaling_table(&r.scaling, Style::Markdown) {
        out += &format!("\n## Thread scaling — {OURS}, all threads / 1 thread\n\n{t}\n");
    }
    for t in &r.elementwise {
        let title = elementwise_title(t, r.limits.threads);
        out += &format!("\n## {title}\n\n{}\n", elementwise_table(t, Style::Markdown));
    }
    out += &plot_links(&plots, Section::Elementwise);
    for t in &r.autodiff {
        out += &format!(
            "\n## {}\n\n{}\n",
            autodiff_title(t, r.limits.threads),
            autodiff_table(t, Style::Markdown)
        );
    }
    if let Some(t) = crossover_table(&r.jacobian, Style::Markdown) {
        out += &format!("\n## {CROSSOVER_TITLE}\n\n{t}\n");
    }
    out += &plot_links(&plots, Section::Jacobian);
    if let Some(t) = hessian_table(&r.jacobian, Style::Markdown) {
        out += &format!("\n## {HESSIAN_TITLE}\n\n{t}\n");
    }
    if let Some(t) = verify_table(&r.verify, Style::Markdown) {
        out += &format!("\n## {}\n\n{t}\n", verify_title(&r.verify));
    }
    if let Some(t) = &r.regression {
        out += &format!("\n## {}\n\n{}\n", regression_title(t), regression_table(t, Style::Markdown));
    }
    out += "\n## Summary\n\n";
    for line in summary_lines(r) {
        out += &format!("- {line}\n");
    }
    out
}

/// The report as pretty-printed JSON.
pub fn json(r: &Report) -> Result<String> {
    Ok(serde_json::to_string_pretty(r)?)
}
