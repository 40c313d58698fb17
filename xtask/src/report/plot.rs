//! SVG plots of a [`Report`], drawn with plotters' SVG backend alone (no font or bitmap
//! crates: plotters estimates text extents itself and the viewer renders the text).
//!
//! - `<gemm group>.svg` (`gemm_f32_t1.svg`…): GFLOP/s against the square size n (log₂
//!   axis), one line per implementation, the group's FMA peak as a dashed line; one plot
//!   per GEMM group with at least one square size measured.
//! - `elementwise_<type>_<t1|tall>_<memory|cache>.svg`: GB/s per op (bytes counted as
//!   the table counts them, see [`super::elementwise::streams`]), one bar per
//!   implementation. The in-memory plot (traffic beyond L3) has a linear axis and the
//!   measured bandwidth of the thread setting as a dashed line; the in-cache plot, whose
//!   figures span two orders of magnitude and are bound by the cache and the arithmetic
//!   rather than by memory, has a log axis and no such line.
//! - `jacobian_crossover.svg`: the time of `jacfwd` and of `jacrev` per (n, m) in bench
//!   order (log axis), with one `jvp` (n = 1) or one `value_and_grad` (m = 1) as markers.
//!
//! A plot is made from measured figures only: a series without points is left out, and a
//! plot without any series is not made, so a filtered or `--quick` run has fewer plots,
//! never empty or misleading ones. [`plots`] extracts the data (cheap, and what the
//! markdown report links to); [`Plot::svg`] draws it.
//!
//! Both axes are drawn in a transformed linear space (log₂ n, log₁₀ of a time or rate)
//! with explicit tick positions, so one chart type serves every plot and the tick labels
//! are the original values.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Report, Shape, Threads};
use crate::Result;

/// Which section of the report a plot belongs to (the markdown links it there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The GEMM groups.
    Gemm,
    /// The elementwise tables.
    Elementwise,
    /// The jacobian crossover.
    Jacobian,
}

/// The x axis of a plot.
#[derive(Clone, Debug, PartialEq)]
pub enum XAxis {
    /// Sizes on a log₂ axis, ticks at the sizes measured.
    Sizes,
    /// Named categories at 0, 1, 2…, ticks at each.
    Categories(Vec<String>),
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// A line through the points, with a marker on each.
    Line,
    /// Markers only.
    Points,
    /// One bar per category, side by side with the other bar series.
    Bar,
}

/// One named series: `(x, y)` in data units (a size or a category index; a rate or time).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend text, e.g. `ours`.
    pub name: String,
    /// The points, in x order.
    pub points: Vec<(f64, f64)>,
    /// How it is drawn.
    pub mark: Mark,
}

/// A horizontal line at a machine limit.
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    /// Legend text, e.g. `FMA peak 271.3 GFLOP/s`.
    pub label: String,
    /// Where, in y units.
    pub value: f64,
}

/// One plot: its data and how to draw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Plot {
    /// File name in the report directory, e.g. `gemm_f32_t1.svg`.
    pub file: String,
    /// Caption, also the markdown link text.
    pub title: String,
    /// Where the markdown report links it.
    pub section: Section,
    /// The x axis.
    pub x: XAxis,
    /// x axis description.
    pub x_desc: String,
    /// y axis description.
    pub y_desc: String,
    /// Whether the y axis is logarithmic (else linear from 0).
    pub y_log: bool,
    /// The series, each with at least one point, in legend order.
    pub series: Vec<Series>,
    /// The machine limit drawn as a dashed line, if any.
    pub limit: Option<Limit>,
}

/// Every plot the report has data for, in report order.
pub fn plots(r: &Report) -> Vec<Plot> {
    let mut out: Vec<Plot> = r.groups.iter().filter_map(|g| gemm(g, r.limits.threads)).collect();
    for t in &r.elementwise {
        let mut dtypes: Vec<&str> = Vec::new();
        for row in &t.rows {
            if !dtypes.contains(&row.dtype.as_str()) {
                dtypes.push(&row.dtype);
            }
        }
        for dtype in dtypes {
            for in_memory in [true, false] {
                out.extend(elementwise(t, dtype, in_memory, r.limits.threads));
            }
        }
    }
    out.extend(crossover(&r.jacobian));
    out
}

/// A thread setting in words.
fn setting(t: Threads, threads: usize) -> String {
    match t {
        Threads::One => "1 thread".to_owned(),
        Threads::All => format!("{threads} threads"),
    }
}

/// `gemm_f32_t1` → `gemm_f32_t1`; any character unsafe in a file name becomes `_`.
fn file_stem(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

/// Keeps the series that have points.
fn nonempty(series: Vec<Series>) -> Vec<Series> {
    series.into_iter().filter(|s| !s.points.is_empty()).collect()
}

/// GFLOP/s against square n for one GEMM group; `None` without a square size.
pub fn gemm(g: &super::GroupTable, threads: usize) -> Option<Plot> {
    let series = nonempty(
        g.implementations
            .iter()
            .map(|i| Series {
                name: i.clone(),
                points: g
                    .rows
                    .iter()
                    .filter_map(|row| match Shape::parse(&row.shape) {
                        Shape::Square(n) => Some((n as f64, row.gflops(i)?)),
                        _ => None,
                    })
                    .collect(),
                mark: Mark::Line,
            })
            .collect(),
    );
    if series.is_empty() {
        return None;
    }
    Some(Plot {
        file: format!("{}.svg", file_stem(&g.group)),
        title: format!("{} — C = A·B, n×n by n×n, {}, {}", g.group, g.dtype, setting(g.threads, threads)),
        section: Section::Gemm,
        x: XAxis::Sizes,
        x_desc: "n".to_owned(),
        y_desc: "GFLOP/s".to_owned(),
        y_log: false,
        series,
        limit: g.peak_gflops.map(|p| Limit { label: format!("FMA peak {p:.1} GFLOP/s"), value: p }),
    })
}

/// GB/s per op of one element type, in memory or in cache; `None` without such rows.
pub fn elementwise(
    t: &super::elementwise::Table,
    dtype: &str,
    in_memory: bool,
    threads: usize,
) -> Option<Plot> {
    let rows: Vec<&super::elementwise::Row> =
        t.rows.iter().filter(|r| r.dtype == dtype && r.in_memory == in_memory && r.bytes.is_some()).collect();
    let sizes = rows.iter().map(|r| r.n).fold(Vec::new(), |mut v, n| {
        if !v.contains(&n) {
            v.push(n);
        }
        v
    });
    let categories: Vec<String> = rows
        .iter()
        .map(|r| if sizes.len() > 1 { format!("{} n={}", r.op, r.n) } else { r.op.clone() })
        .collect();
    let mut implementations: Vec<&str> = Vec::new();
    for f in rows.iter().flat_map(|r| &r.figures) {
        if !implementations.contains(&f.implementation.as_str()) {
            implementations.push(&f.implementation);
        }
    }
    let series = nonempty(
        implementations
            .iter()
            .map(|&i| Series {
                name: i.to_owned(),
                points: rows
                    .iter()
                    .enumerate()
                    .filter_map(|(x, r)| {
                        let f = r.figures.iter().find(|f| f.implementation == i)?;
                        Some((x as f64, r.bytes? as f64 / f.median_ns))
                    })
                    .collect(),
                mark: Mark::Bar,
            })
            .collect(),
    );
    if series.is_empty() {
        return None;
    }
    let tag = match t.threads {
        Threads::One => "t1",
        Threads::All => "tall",
    };
    let place = if in_memory { "in memory" } else { "in cache" };
    let size = match sizes.as_slice() {
        [n] => format!(", n = {}", super::render::count(*n)),
        _ => String::new(),
    };
    Some(Plot {
        file: format!(
            "elementwise_{}_{tag}_{}.svg",
            file_stem(dtype),
            if in_memory { "memory" } else { "cache" }
        ),
        title: format!("elementwise {dtype}, {place}{size}, {} — GB/s", setting(t.threads, threads)),
        section: Section::Elementwise,
        x: XAxis::Categories(categories),
        x_desc: "op".to_owned(),
        y_desc: "GB/s (arrays counted once, as STREAM does)".to_owned(),
        y_log: !in_memory,
        series,
        limit: in_memory.then(|| Limit {
            label: format!("measured bandwidth {:.1} GB/s", t.bandwidth_gbs),
            value: t.bandwidth_gbs,
        }),
    })
}

/// jacfwd and jacrev time per (n, m); `None` if neither was measured.
pub fn crossover(t: &super::jacobian::Tables) -> Option<Plot> {
    let rows = &t.crossover;
    let us = |ns: Option<f64>| ns.map(|ns| ns / 1e3);
    let points = |f: &dyn Fn(&super::jacobian::CrossRow) -> Option<f64>| -> Vec<(f64, f64)> {
        rows.iter().enumerate().filter_map(|(x, r)| Some((x as f64, f(r)?))).collect()
    };
    let series = nonempty(vec![
        Series { name: "jacfwd".to_owned(), points: points(&|r| us(r.jacfwd_ns)), mark: Mark::Line },
        Series { name: "jacrev".to_owned(), points: points(&|r| us(r.jacrev_ns)), mark: Mark::Line },
        Series {
            name: "one jvp (n = 1) / one value_and_grad (m = 1)".to_owned(),
            points: points(&|r| us(r.reference.as_ref().map(|(_, ns)| *ns))),
            mark: Mark::Points,
        },
    ]);
    if !series.iter().any(|s| s.mark == Mark::Line) {
        return None;
    }
    Some(Plot {
        file: "jacobian_crossover.svg".to_owned(),
        title: "jacobian of f: ℝⁿ → ℝᵐ (two-layer tanh network, f64, 1 thread) — forward vs reverse mode"
            .to_owned(),
        section: Section::Jacobian,
        x: XAxis::Categories(rows.iter().map(|r| r.shape.clone()).collect()),
        x_desc: "(n, m)".to_owned(),
        y_desc: "time, µs".to_owned(),
        y_log: true,
        series,
        limit: None,
    })
}

/// Series colours, in legend order (ours first): matplotlib's tab10.
const COLOURS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
];
/// Category axes with more names than this draw them rotated.
const ROTATE_BEYOND: usize = 6;
/// Colour of the limit line.
const LIMIT_COLOUR: RGBColor = RGBColor(0xd6, 0x27, 0x28);

/// A tick label: integers as such, fractions with up to three significant digits.
fn tick(v: f64) -> String {
    if v >= 1.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        let digits = (2 - v.log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.digits$}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// Ticks of a linear axis from 0 to `max`: multiples of 1, 2 or 5 × 10ᵏ, at most 9 of them.
fn linear_ticks(max: f64) -> Vec<f64> {
    let raw = max / 6.0;
    let decade = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * decade).find(|s| max / s <= 8.0).unwrap_or(decade);
    (0..).map(|i| i as f64 * step).take_while(|t| *t <= max).collect()
}

/// Ticks of a log axis over `[lo, hi]` (values, not logs): 1, 2 and 5 × 10ᵏ, or only the
/// powers of ten when that would be more than 12.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let within = |ms: &[f64]| -> Vec<f64> {
        (k0..=k1)
            .flat_map(|k| ms.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|t| *t >= lo && *t <= hi)
            .collect()
    };
    let all = within(&[1.0, 2.0, 5.0]);
    if all.len() > 12 { within(&[1.0]) } else { all }
}

/// A linear axis over `[lo, hi]` with ticks exactly at `ticks` (plotters' own key-point
/// binding has no value formatter, which the mesh needs even when given one).
struct Ticked {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let fraction = (value - self.lo) / (self.hi - self.lo);
        limit.0 + (f64::from(limit.1 - limit.0) * fraction + 1e-3).floor() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Bold points (ticks, labels, mesh lines) only, as plotters' `WithKeyPoints` does.
        if hint.weight().allow_light_points() { Vec::new() } else { self.ticks.clone() }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl Plot {
    /// The plot as an SVG document.
    ///
    /// # Errors
    /// If plotters fails to draw (it writes to a string, so this is not expected).
    pub fn svg(&self) -> Result<String> {
        let mut out = String::new();
        self.draw(&mut out).map_err(|e| format!("{}: {e}", self.file))?;
        Ok(out)
    }

    /// The y axis over the figures' range `[y_min, y_max]`, with headroom above for the
    /// legend, and the map from figures to axis units: log₁₀ on a log axis.
    fn y_axis(&self, y_min: f64, y_max: f64) -> (Ticked, fn(f64) -> f64) {
        if self.y_log {
            let (lo, hi) = (y_min / 2.0, y_max * 8.0);
            let ticks = log_ticks(lo, hi).into_iter().map(f64::log10).collect();
            (Ticked { lo: lo.log10(), hi: hi.log10(), ticks }, f64::log10)
        } else {
            let hi = y_max * 1.35;
            (Ticked { lo: 0.0, hi, ticks: linear_ticks(hi) }, |y| y)
        }
    }

    /// The x axis and the map from x values to axis units: log₂ of the sizes, ticks at
    /// each size measured; or the category index, ticks at each category.
    fn x_axis(&self) -> (Ticked, fn(f64) -> f64) {
        match &self.x {
            XAxis::Sizes => {
                let mut xs: Vec<f64> = self
                    .series
                    .iter()
                    .flat_map(|s| s.points.iter().map(|p| p.0.log2()))
                    .filter(|x| x.is_finite())
                    .collect();
                xs.sort_by(f64::total_cmp);
                xs.dedup();
                let (a, b) = (xs.first().copied().unwrap_or(0.0), xs.last().copied().unwrap_or(1.0));
                (Ticked { lo: a - 0.5, hi: b + 0.5, ticks: xs }, f64::log2)
            }
            XAxis::Categories(c) => {
                let ticks = (0..c.len()).map(|i| i as f64).collect();
                (Ticked { lo: -0.5, hi: c.len() as f64 - 0.5, ticks }, |x| x)
            }
        }
    }

    fn draw(&self, out: &mut String) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let ys: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .chain(self.limit.as_ref().map(|l| l.value))
            .filter(|y| y.is_finite() && (!self.y_log || *y > 0.0))
            .collect();
        let (y_min, y_max) = ys.iter().fold((f64::INFINITY, 0f64), |(lo, hi), y| (lo.min(*y), hi.max(*y)));
        if ys.is_empty() || y_max <= 0.0 || self.series.iter().all(|s| s.points.is_empty()) {
            return Err("no positive finite figure to plot".into());
        }
        let (y_axis, fy) = self.y_axis(y_min, y_max);
        let (x_axis, fx) = self.x_axis();
        let (y_lo, x_lo, x_hi) = (y_axis.lo, x_axis.lo, x_axis.hi);
        let unfy = |y: f64| if self.y_log { 10f64.powf(y) } else { y };
        let (width, bottom) = match &self.x {
            XAxis::Sizes => (900, 40),
            XAxis::Categories(c) => {
                let k = c.len() as u32;
                let longest = c.iter().map(|s| s.chars().count()).max().unwrap_or(1) as u32;
                let bottom = if c.len() > ROTATE_BEYOND { 40 + 9 * longest } else { 40 };
                ((200 + 44 * k).clamp(700, 1900), bottom)
            }
        };
        // Many categories: their names are drawn below, rotated, instead of as tick labels.
        let rotated = matches!(&self.x, XAxis::Categories(c) if c.len() > ROTATE_BEYOND);
        let x_label = |x: &f64| match &self.x {
            XAxis::Sizes => tick(2f64.powf(*x).round()),
            XAxis::Categories(_) if rotated => String::new(),
            XAxis::Categories(c) => c.get(x.round().max(0.0) as usize).cloned().unwrap_or_default(),
        };
        // Wide enough for the caption (plotters does not wrap it).
        let width = width.max(60 + 11 * self.title.chars().count() as u32);
        let y_label = |y: &f64| tick(unfy(*y));

        let root = SVGBackend::with_string(out, (width, 560 + bottom.saturating_sub(40))).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(bottom + 10)
            .y_label_area_size(80)
            .build_cartesian_2d(x_axis, y_axis)?;
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(self.x_desc.as_str())
            .y_desc(self.y_desc.as_str())
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .disable_x_mesh()
            .light_line_style(WHITE)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 16));
        mesh.draw()?;
        if let (true, XAxis::Categories(c)) = (rotated, &self.x) {
            // Top to bottom, starting just below the axis (plotters' own rotated tick
            // labels are centred on the tick, across the axis).
            let style = ("sans-serif", 15)
                .into_font()
                .transform(FontTransform::Rotate90)
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center));
            for (i, name) in c.iter().enumerate() {
                let (px, py) = chart.backend_coord(&(i as f64, y_lo));
                root.draw(&Text::new(name.as_str(), (px, py + 10), style.clone()))?;
            }
        }

        let bars = self.series.iter().filter(|s| s.mark == Mark::Bar).count();
        let mut bar = 0;
        for (i, s) in self.series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .filter(|p| p.1.is_finite() && (!self.y_log || p.1 > 0.0))
                .map(|&(x, y)| (fx(x), fy(y)))
                .collect();
            match s.mark {
                Mark::Line => {
                    chart.draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))?;
                    chart
                        .draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour.filled())))?
                        .label(s.name.as_str())
                        .legend(move |(x, y)| {
                            EmptyElement::at((x, y))
                                + PathElement::new(vec![(0, 0), (18, 0)], colour.stroke_width(2))
                                + Circle::new((9, 0), 3, colour.filled())
                        });
                }
                Mark::Points => {
                    chart
                        .draw_series(pts.iter().map(|&p| TriangleMarker::new(p, 6, colour.filled())))?
                        .label(s.name.as_str())
                        .legend(move |(x, y)| TriangleMarker::new((x + 9, y), 6, colour.filled()));
                }
                Mark::Bar => {
                    let w = 0.8 / bars as f64;
                    let left = -0.4 + bar as f64 * w;
                    bar += 1;
                    chart
                        .draw_series(pts.iter().map(|&(x, y)| {
                            Rectangle::new([(x + left, y_lo), (x + left + w, y)], colour.filled())
                        }))?
                        .label(s.name.as_str())
                        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], colour.filled()));
                }
            }
        }
        if let Some(l) = &self.limit {
            let y = fy(l.value);
            chart
                .draw_series(DashedLineSeries::new(
                    [(x_lo, y), (x_hi, y)],
                    8,
                    5,
                    LIMIT_COLOUR.stroke_width(2),
                ))?
                .label(l.label.as_str())
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], LIMIT_COLOUR.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .draw()?;
        root.present()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_categories_are_all_named() {
        let ops = ["exp", "ln", "tanh", "sigmoid", "add", "mul", "axpy", "scale", "relu", "sum", "dot"];
        let bars = |name: &str, scale: f64| Series {
            name: name.to_owned(),
            points: (0..ops.len()).map(|i| (i as f64, scale * (1.0 + i as f64))).collect(),
            mark: Mark::Bar,
        };
        let plot = Plot {
            file: "many.svg".to_owned(),
            title: "elementwise f64, in memory, n = 33554432, 1 thread — GB/s".to_owned(),
            section: Section::Elementwise,
            x: XAxis::Categories(ops.iter().map(|s| s.to_string()).collect()),
            x_desc: "op".to_owned(),
            y_desc: "GB/s".to_owned(),
            y_log: false,
            series: vec![bars("ours", 3.0), bars("std", 1.0), bars("wide", 2.0)],
            limit: Some(Limit { label: "measured bandwidth 39.3 GB/s".to_owned(), value: 39.32 }),
        };
        let svg = plot.svg().unwrap();
        if let Some(dir) = std::env::var_os("XTASK_PLOT_DIR") {
            std::fs::write(std::path::Path::new(&dir).join(&plot.file), &svg).unwrap();
        }
        for op in ops {
            assert!(svg.contains(&format!(">\n{op}\n</text>")), "{op} not in the plot");
        }
        // 3 bars per op, and a legend box per series.
        assert!(svg.matches("<rect").count() >= 3 * ops.len() + 3);
        assert!(svg.contains("rotate(90"));
    }

    #[test]
    fn ticks() {
        assert_eq!(tick(2048.0), "2048");
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(0.02), "0.02");
        assert_eq!(tick(0.0), "0");
        assert_eq!(linear_ticks(100.0), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(linear_ticks(366.0), [0.0, 50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 350.0]);
        assert_eq!(log_ticks(3.0, 60.0), [5.0, 10.0, 20.0, 50.0]);
        // Seven decades: the powers of ten only.
        assert_eq!(log_ticks(0.5, 2e6).len(), 7);
    }
}
