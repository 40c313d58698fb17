//! The result of a check: what was compared, where it disagreed, and by how much.

use std::fmt;

use crate::settings::Mode;

/// Where an entry sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// Entry `∂out[out] / ∂input_{input}[at]` of a Jacobian (multi-indices).
    Entry {
        /// The output's multi-index.
        out: Vec<usize>,
        /// Which input.
        input: usize,
        /// The input entry's multi-index.
        at: Vec<usize>,
    },
    /// Random projection number `probe` (fast mode: `vᵀJu`).
    Probe(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Entry { out, input, at } => write!(f, "∂out{out:?}/∂x{input}{at:?}"),
            Location::Probe(p) => write!(f, "probe {p} (vᵀJu)"),
        }
    }
}

/// One compared value.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Where.
    pub location: Location,
    /// The reference view's value (finite differences, when they take part).
    pub expected: f64,
    /// The checked view's value.
    pub got: f64,
    /// `|got − expected|`.
    pub abs_err: f64,
    /// `abs_err / |expected|` (infinite when `expected` is 0 and `got` is not).
    pub rel_err: f64,
    /// The tolerance this entry was held to.
    pub tol: f64,
    /// The finite differences' error estimate and first step (when they take part).
    pub fd: Option<(f64, f64)>,
}

impl Entry {
    pub(crate) fn new(location: Location, expected: f64, got: f64, tol: f64, fd: Option<(f64, f64)>) -> Self {
        let abs_err = if expected == got { 0.0 } else { (got - expected).abs() };
        let rel_err = if abs_err == 0.0 { 0.0 } else { abs_err / expected.abs() };
        Entry { location, expected, got, abs_err, rel_err, tol, fd }
    }

    /// Whether the entry is within its tolerance (NaN never is, unless both are NaN).
    pub fn ok(&self) -> bool {
        self.abs_err <= self.tol || (self.expected.is_nan() && self.got.is_nan())
    }

    /// How many tolerances off (≤ 1 passes).
    pub fn excess(&self) -> f64 {
        if self.abs_err.is_nan() && !self.ok() {
            return f64::INFINITY;
        }
        self.abs_err / self.tol.max(f64::MIN_POSITIVE)
    }
}

/// One comparison of two views (e.g. reverse mode against finite differences).
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// What is differentiated ("" for the function itself, "Hessian: ", …).
    pub group: String,
    /// The view checked ("reverse", "forward", "fwd-over-rev", …).
    pub view: String,
    /// The view it is checked against.
    pub reference: String,
    /// Entries compared.
    pub checked: usize,
    /// Entries outside tolerance (kinks excluded).
    pub failed: usize,
    /// Entries that agree only within the finite differences' own error estimate (no kink
    /// found): the differences could not resolve them, so they confirm less.
    pub uncertain: usize,
    /// Largest absolute error over the entries.
    pub max_abs: f64,
    /// Largest relative error.
    pub max_rel: f64,
    /// The worst entries (by multiples of their tolerance), worst first, at most 5.
    pub worst: Vec<Entry>,
    /// Why a view could not be computed (a panic in a rule, a non-finite function), if so.
    pub error: Option<String>,
}

impl Comparison {
    /// Whether every entry agreed and both views were computed.
    pub fn passed(&self) -> bool {
        self.failed == 0 && self.error.is_none()
    }

    /// "group view vs reference".
    pub fn name(&self) -> String {
        format!("{}{} vs {}", self.group, self.view, self.reference)
    }

    /// Whether `view` is one of the two compared.
    pub fn involves(&self, view: &str) -> bool {
        self.view == view || self.reference == view
    }

    pub(crate) fn new(group: &str, view: &str, reference: &str) -> Self {
        Comparison {
            group: group.to_string(),
            view: view.to_string(),
            reference: reference.to_string(),
            checked: 0,
            failed: 0,
            uncertain: 0,
            max_abs: 0.0,
            max_rel: 0.0,
            worst: Vec::new(),
            error: None,
        }
    }

    /// Fills the counts from `entries` (the kinks already taken out of the failures).
    pub(crate) fn with_entries(mut self, entries: Vec<Entry>, kinks: usize) -> Self {
        self.checked = entries.len() + kinks;
        self.failed = entries.iter().filter(|e| !e.ok()).count();
        self.max_abs = entries.iter().map(|e| e.abs_err).fold(0.0, f64::max);
        self.max_rel = entries.iter().map(|e| e.rel_err).fold(0.0, f64::max);
        let mut worst = entries;
        worst.sort_by(|a, b| b.excess().total_cmp(&a.excess()));
        worst.truncate(5);
        self.worst = worst;
        self
    }

    pub(crate) fn with_uncertain(mut self, uncertain: usize) -> Self {
        self.uncertain = uncertain;
        self
    }

    pub(crate) fn with_error(mut self, error: String) -> Self {
        (self.max_abs, self.max_rel) = (f64::NAN, f64::NAN);
        self.error = Some(error);
        self
    }
}

/// A structural property (zero in, zero out; determinism; shapes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Structural {
    /// What was checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What was seen when it did not.
    pub detail: String,
}

/// An entry that disagreed within a step of a kink: the function is not differentiable
/// there along the step, so the disagreement is not a wrong rule. `slopes` are the one-sided
/// finite differences (right, left) the analytic value was found between.
#[derive(Clone, Debug, PartialEq)]
pub struct Kink {
    /// The comparison's name.
    pub comparison: String,
    /// The entry.
    pub entry: Entry,
    /// One-sided slopes (right, left).
    pub slopes: (f64, f64),
}

/// The op a failure was traced to: the first op of the function, in recording order, whose
/// own check fails at the values it saw.
#[derive(Clone, Debug)]
pub struct Culprit {
    /// Position among the recorded ops.
    pub index: usize,
    /// How many ops were recorded.
    pub of: usize,
    /// The op's name.
    pub name: String,
    /// Its inputs' shapes.
    pub input_shapes: Vec<Vec<usize>>,
    /// The op's own check.
    pub report: Box<Report>,
}

/// What a check found. `Display` renders it as text; [`passed`](Report::passed) is the
/// verdict.
#[derive(Clone, Debug)]
pub struct Report {
    /// What was checked ("check_grad", "check_custom_op `cube`", …).
    pub subject: String,
    /// Precision the rules ran in, and the finite differences' precision.
    pub precision: (&'static str, &'static str),
    /// The mode that ran.
    pub mode: Mode,
    /// Comparisons of views, in the order run.
    pub comparisons: Vec<Comparison>,
    /// Structural checks.
    pub structural: Vec<Structural>,
    /// Disagreements explained by kinks (not failures).
    pub kinks: Vec<Kink>,
    /// The op a failure was traced to, if any was found.
    pub culprit: Option<Culprit>,
    /// The relative tolerance used.
    pub rtol: f64,
    /// Function evaluations the finite differences made.
    pub fd_evals: usize,
    /// Notes (a full-mode retry that could not run, …).
    pub notes: Vec<String>,
}

impl Report {
    /// Whether every comparison and structural check passed.
    pub fn passed(&self) -> bool {
        self.comparisons.iter().all(Comparison::passed) && self.structural.iter().all(|s| s.passed)
    }

    /// The comparisons that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Comparison> {
        self.comparisons.iter().filter(|c| !c.passed())
    }

    /// The worst failing entry over all comparisons (by multiples of its tolerance),
    /// preferring Jacobian entries to projections (a fast check's full retry names them).
    pub fn worst(&self) -> Option<&Entry> {
        let failing = || self.failures().flat_map(|c| c.worst.iter().filter(|e| !e.ok()));
        let by_excess = |a: &&Entry, b: &&Entry| a.excess().total_cmp(&b.excess());
        failing()
            .filter(|e| matches!(e.location, Location::Entry { .. }))
            .max_by(by_excess)
            .or_else(|| failing().max_by(by_excess))
    }

    /// Panics with the rendered report unless it passed (the assertion helpers call this).
    #[track_caller]
    pub fn assert_passed(&self) {
        assert!(self.passed(), "{self}");
    }

    /// The comparison `"{group}{view} vs {reference}"`, if it ran.
    pub fn find(&self, group: &str, view: &str, reference: &str) -> Option<&Comparison> {
        self.comparisons.iter().find(|c| c.group == group && c.view == view && c.reference == reference)
    }

    /// Which view is wrong, for each group of three views where two agree and the third
    /// disagrees with both.
    pub fn verdict(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut groups: Vec<&str> = self.comparisons.iter().map(|c| c.group.as_str()).collect();
        groups.dedup();
        for g in groups {
            let cs: Vec<&Comparison> = self.comparisons.iter().filter(|c| c.group == g).collect();
            let mut views: Vec<&str> =
                cs.iter().flat_map(|c| [c.view.as_str(), c.reference.as_str()]).collect();
            views.sort_unstable();
            views.dedup();
            if cs.len() != 3 || views.len() != 3 {
                continue;
            }
            for v in &views {
                let (with, without): (Vec<&&Comparison>, Vec<&&Comparison>) =
                    cs.iter().partition(|c| c.involves(v));
                if with.iter().all(|c| !c.passed()) && without.iter().all(|c| c.passed()) {
                    let why = if v.contains("finite") {
                        "the forward values are wrong, f is not differentiable there, or too ill-conditioned for the steps"
                    } else {
                        "its rules are wrong"
                    };
                    out.push(format!("{g}{v} disagrees with the other two views, which agree: {why}"));
                }
            }
        }
        out
    }
}

fn sci(v: f64) -> String {
    if v == 0.0 { "0".into() } else { format!("{v:.3e}") }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed() { "PASSED" } else { "FAILED" };
        let mode = match self.mode {
            Mode::Fast { probes } => format!("fast, {probes} probes"),
            _ => "full".to_string(),
        };
        writeln!(
            f,
            "{}: {verdict} ({mode}; rules in {}, finite differences in {}, rtol {:.1e}, {} evaluations)",
            self.subject, self.precision.0, self.precision.1, self.rtol, self.fd_evals
        )?;
        for c in &self.comparisons {
            let status = if c.passed() { "ok  " } else { "FAIL" };
            match &c.error {
                Some(e) => writeln!(f, "  {status} {}: could not run: {e}", c.name())?,
                None => writeln!(
                    f,
                    "  {status} {}: {}/{} entries outside tolerance, max abs err {}, max rel err {}",
                    c.name(),
                    c.failed,
                    c.checked,
                    sci(c.max_abs),
                    sci(c.max_rel)
                )?,
            }
            if c.uncertain > 0 {
                writeln!(
                    f,
                    "       {} entries agree only within the finite differences' error estimate",
                    c.uncertain
                )?;
            }
            if !c.passed() {
                for e in c.worst.iter().filter(|e| !e.ok()) {
                    write!(
                        f,
                        "       {}: expected {:.12e}, got {:.12e}, abs err {}, rel err {}, tol {}",
                        e.location,
                        e.expected,
                        e.got,
                        sci(e.abs_err),
                        sci(e.rel_err),
                        sci(e.tol)
                    )?;
                    if let Some((err, h)) = e.fd {
                        write!(f, " (fd err est {}, step {})", sci(err), sci(h))?;
                    }
                    writeln!(f)?;
                }
            }
        }
        for s in &self.structural {
            let status = if s.passed { "ok  " } else { "FAIL" };
            write!(f, "  {status} {}", s.name)?;
            if !s.passed {
                write!(f, ": {}", s.detail)?;
            }
            writeln!(f)?;
        }
        for k in &self.kinks {
            writeln!(
                f,
                "  kink {} at {}: {:.6e} lies between the one-sided slopes {:.6e} and {:.6e}; not differentiable within the step",
                k.comparison, k.entry.location, k.entry.got, k.slopes.0, k.slopes.1
            )?;
        }
        for v in self.verdict() {
            writeln!(f, "  verdict: {v}")?;
        }
        for n in &self.notes {
            writeln!(f, "  note: {n}")?;
        }
        if let Some(c) = &self.culprit {
            writeln!(
                f,
                "  culprit: op #{} of {} recorded, `{}` on inputs of shapes {:?}; its own check:",
                c.index, c.of, c.name, c.input_shapes
            )?;
            for line in c.report.to_string().lines() {
                writeln!(f, "    {line}")?;
            }
        }
        Ok(())
    }
}
