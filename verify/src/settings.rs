//! What a check does: full or projected, its tolerances, its seed.

use crate::fd::FdSettings;

/// Full Jacobian or random projections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Full when the inputs hold at most [`AUTO_FULL_LIMIT`] entries, else fast with 4
    /// probes.
    Auto,
    /// Every entry of the Jacobian, by every view (one finite-difference derivative per
    /// input entry).
    Full,
    /// `probes` projections `vᵀJu` with seeded random signs `u`, `v` (±1): one reverse
    /// sweep, one forward sweep and one directional finite difference each. On a failure
    /// the check runs again in full mode (inputs of at most [`FULL_RETRY_LIMIT`] entries) to
    /// name the entries.
    Fast {
        /// Number of (u, v) pairs.
        probes: usize,
    },
}

/// [`Mode::Auto`] checks every entry up to this many input entries.
pub const AUTO_FULL_LIMIT: usize = 128;
/// A failed fast check is redone in full, to name entries, up to this many input entries.
pub const FULL_RETRY_LIMIT: usize = 4096;

/// How far two views may differ. An entry passes when
///
/// `|got − expected| ≤ rtol·|expected| + atol + kappa·fd_err`
///
/// - `rtol` is the accuracy demanded of a derivative rule. Default `√ε` of the precision
///   the rules ran in (1.5·10⁻⁸ in f64, 3.5·10⁻⁴ in f32): far above the rounding of a
///   correct rule (a few ε times the condition of the function), far below the error of a
///   rule that is wrong by a visible amount.
/// - `atol` covers entries much smaller than the terms they are computed from, whose
///   rounding error is set by those terms: `2¹⁰·ε·(scale)`, room for 1024 roundings of the
///   scale's size. The scale of entry `∂fₖ/∂xⱼ` is the largest entry of its row plus its
///   natural size `M / max(|xⱼ|, floor)`, where `M` is the largest magnitude among the
///   values f computes (inputs, output and every intermediate, traced): rounding errors are
///   relative to those, so this covers rows that are zero up to rounding (the softmax of a
///   single entry) and results that cancel. In fast mode the scale is the sum of the
///   magnitudes the projection adds up plus the natural sizes of the entries it sums. The same multiple of the precision's
///   smallest normal number is added, for values that underflow.
/// - `kappa·fd_err` is the finite differences' own uncertainty: their error estimate
///   (Ridders' tableau) times `kappa` = 2, as the estimate is the larger of two distances
///   and usually exceeds the true error. A comparison of two analytic views has no such
///   term.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Relative tolerance; `None` takes `√ε` of the rules' precision.
    pub rtol: Option<f64>,
    /// Multiple of `ε·scale` allowed as an absolute error (default 1024).
    pub arith: f64,
    /// Multiple of the finite differences' error estimate allowed (default 2).
    pub kappa: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance { rtol: None, arith: 1024.0, kappa: 2.0 }
    }
}

/// A configured checker: the free functions ([`check_grad`](crate::check_grad) and the
/// rest) use `Checker::default()`.
///
/// ```
/// use autodiff::Tensor;
/// use verify::{Checker, Mode};
/// let x = Tensor::<f64>::randn(&[300], 7);
/// let report = Checker::new().mode(Mode::Fast { probes: 8 }).seed(42).check_grad(|x| x.tanh().sum(), &x);
/// assert!(report.passed(), "{report}");
/// ```
#[derive(Clone, Debug)]
pub struct Checker {
    pub(crate) mode: Mode,
    pub(crate) seed: u64,
    pub(crate) tol: Tolerance,
    pub(crate) fd: Option<FdSettings>,
    pub(crate) localize: bool,
}

impl Default for Checker {
    fn default() -> Self {
        Checker { mode: Mode::Auto, seed: 0x5eed, tol: Tolerance::default(), fd: None, localize: true }
    }
}

/// Panics unless `v` ≥ 0 (so not NaN), naming the setting.
#[track_caller]
fn non_negative(what: &str, field: &str, v: f64) {
    assert!(v >= 0.0, "{what}: {field} must be ≥ 0 (not NaN), got {v}");
}

impl Checker {
    /// The default checker: [`Mode::Auto`], seed `0x5eed`, default tolerances and steps,
    /// failures traced to the op that causes them.
    pub fn new() -> Self {
        Self::default()
    }

    /// Full, fast or automatic.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The seed of the random directions (fast mode) and cotangents (`check_gradgrad`).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The tolerances (see [`Tolerance`]).
    ///
    /// # Panics
    /// If `rtol`, `arith` or `kappa` is negative or NaN (a tolerance that fails or passes
    /// every entry whatever the rules do); the message names the field.
    #[track_caller]
    pub fn tolerance(mut self, tol: Tolerance) -> Self {
        if let Some(r) = tol.rtol {
            non_negative("Checker::tolerance", "rtol", r);
        }
        non_negative("Checker::tolerance", "arith", tol.arith);
        non_negative("Checker::tolerance", "kappa", tol.kappa);
        self.tol = tol;
        self
    }

    /// Sets only the relative tolerance.
    ///
    /// # Panics
    /// If `rtol` is negative or NaN.
    #[track_caller]
    pub fn rtol(mut self, rtol: f64) -> Self {
        non_negative("Checker::rtol", "the relative tolerance", rtol);
        self.tol.rtol = Some(rtol);
        self
    }

    /// The finite differences' steps (default [`FdSettings::for_eps`] of their precision).
    ///
    /// # Panics
    /// If `rel_step` or `floor` is not positive and finite (a zero step divides by zero,
    /// NaN or inf steps give no differences at all), or `max_levels` is below 2 (one level
    /// has no extrapolation, hence no error estimate: every difference would be "within
    /// its own error" and the comparisons with it would pass whatever the rules do).
    #[track_caller]
    pub fn fd(mut self, fd: FdSettings) -> Self {
        for (field, v) in [("rel_step", fd.rel_step), ("floor", fd.floor)] {
            assert!(v > 0.0 && v.is_finite(), "Checker::fd: {field} must be positive and finite, got {v}");
        }
        assert!(
            fd.max_levels >= 2,
            "Checker::fd: max_levels must be at least 2 (one extrapolation), got {}",
            fd.max_levels
        );
        self.fd = Some(fd);
        self
    }

    /// Whether a failure is traced to the first op whose own rules fail (default on).
    pub fn localize(mut self, on: bool) -> Self {
        self.localize = on;
        self
    }

    /// The mode a check of `inputs` input entries runs in.
    pub(crate) fn resolve(&self, inputs: usize) -> Mode {
        match self.mode {
            Mode::Auto if inputs <= AUTO_FULL_LIMIT => Mode::Full,
            Mode::Auto => Mode::Fast { probes: 4 },
            Mode::Fast { probes } => Mode::Fast { probes: probes.max(1) },
            m => m,
        }
    }
}
