//! GEMM: `C ← α·A·B + β·C` for f32 and f64 with arbitrary strides.
//!
//! Two doors lead to the same driver:
//! - the safe [`gemm`] / [`try_gemm`] on validated [`MatRef`] / [`MatMut`] views;
//! - the raw [`sgemm`] / [`dgemm`], drop-ins for matrixmultiply 0.3's functions.
//!
//! Semantics are BLAS's, exactly: β = 0 never reads C (NaN in C does not leak), α = 0
//! never reads A or B, k = 0 gives `C ← β·C`, and m = 0 or n = 0 touches nothing.
//!
//! The algorithm (see `ARCHITECTURE.md`): BLIS's five loops with packing and register-
//! blocked micro-kernels for large problems; a direct path reading the operands in place
//! for small or shallow (`k ≤ 16`) ones; matrix-vector kernels for `m = 1` or `n = 1`.

mod blocking;
mod buffer;
mod dot;
mod driver;
mod gemv;
mod kernel;
mod mat;
mod packed;
mod packing;
mod raw;
mod shallow;
mod table;

pub use blocking::Blocking;
pub use mat::{LayoutError, MatMut, MatRef};
pub use raw::{dgemm, sgemm};

use crate::{Element, Isa};
use packing::Strided;
use std::fmt;

/// How many threads a call may use. Threads come from the caller's rayon pool (the global
/// pool outside one); a call inside a rayon task neither deadlocks nor spawns extra threads.
/// Whatever is asked, a problem only gets as many threads as it has work for (2¹⁷ vector
/// multiply-adds each: 4 MFLOP of f32 or 2 MFLOP of f64 on AVX-512), and the result is
/// bitwise identical for every choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Par {
    /// One thread: the caller's.
    Seq,
    /// At most this many threads (0 is treated as 1).
    Threads(usize),
    /// As many threads as the current rayon pool has.
    #[default]
    All,
}

impl Par {
    /// The thread count this choice allows, in the current rayon pool.
    ///
    /// ```
    /// use kernels::Par;
    /// assert_eq!(Par::Seq.threads(), 1);
    /// assert_eq!(Par::Threads(0).threads(), 1);
    /// assert!(Par::All.threads() >= 1);
    /// ```
    pub fn threads(self) -> usize {
        match self {
            Par::Seq => 1,
            Par::Threads(n) => n.max(1),
            Par::All => rayon::current_num_threads(),
        }
    }
}

/// Why a GEMM call was refused. The message names the shapes involved.
///
/// ```
/// use kernels::GemmError;
/// let e = GemmError::ShapeMismatch { a: (2, 3), b: (4, 5), c: (2, 5) };
/// assert_eq!(e.to_string(),
///            "gemm shape mismatch: A is 2×3, B is 4×5, C is 2×5 (need A m×k, B k×n, C m×n)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GemmError {
    /// Inner or outer dimensions disagree.
    ShapeMismatch {
        /// Rows × columns of A.
        a: (usize, usize),
        /// Rows × columns of B.
        b: (usize, usize),
        /// Rows × columns of C.
        c: (usize, usize),
    },
    /// The forced kernel path is not supported on this host.
    IsaUnavailable(Isa),
}

impl fmt::Display for GemmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GemmError::ShapeMismatch { a, b, c } => write!(
                f,
                "gemm shape mismatch: A is {}×{}, B is {}×{}, C is {}×{} (need A m×k, B k×n, \
                 C m×n)",
                a.0, a.1, b.0, b.1, c.0, c.1
            ),
            GemmError::IsaUnavailable(isa) => {
                write!(f, "the {isa} kernel path is not supported by this host")
            }
        }
    }
}

impl std::error::Error for GemmError {}

/// Which algorithm a call uses. [`Path::Auto`] is what [`gemm`] does; the others exist so
/// tests and benchmarks can reach every branch on small inputs.
///
/// ```
/// use kernels::{gemm_with, Config, MatMut, MatRef, Path};
/// let (a, b) = ([1.0f64, 2.0, 3.0, 4.0], [5.0f64, 6.0, 7.0, 8.0]);
/// let mut results = Vec::new();
/// for path in [Path::Auto, Path::Direct, Path::Packed] {
///     let mut c = [0.0f64; 4];
///     let cfg = Config { path, ..Config::default() };
///     gemm_with(&cfg, 1.0, MatRef::col_major(&a, 2, 2), MatRef::col_major(&b, 2, 2),
///               0.0, MatMut::col_major(&mut c, 2, 2)).unwrap();
///     results.push(c);
/// }
/// // Every algorithm computes the same product: [[1, 3], [2, 4]]·[[5, 7], [6, 8]].
/// assert!(results.iter().all(|c| *c == [23.0, 34.0, 31.0, 46.0]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Path {
    /// Matrix-vector kernels for m = 1 or n = 1, the direct path for small or shallow
    /// problems (when A's rows are unit stride after orientation), else packed.
    #[default]
    Auto,
    /// The direct (unpacked) tiles whenever A's layout allows, else packed.
    Direct,
    /// The packed BLIS loops for every shape.
    Packed,
}

/// Every knob of one GEMM call. `Config::default()` is what [`gemm`] uses.
///
/// ```
/// use kernels::{Blocking, Config, Isa, Par, Path};
/// let cfg = Config { par: Par::Seq, path: Path::Packed,
///                    blocking: Some(Blocking { mc: 8, kc: 4, nc: 8 }), ..Config::default() };
/// assert_eq!(cfg.isa, Isa::selected());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Kernel path (default: [`Isa::selected`]).
    pub isa: Isa,
    /// Threads (default: [`Par::All`]).
    pub par: Par,
    /// Algorithm (default: [`Path::Auto`]).
    pub path: Path,
    /// Block sizes for the packed path (default: derived from the detected caches).
    /// Rounded up to whole micro-panels.
    pub blocking: Option<Blocking>,
}

impl Default for Config {
    fn default() -> Self {
        Config { isa: Isa::selected(), par: Par::All, path: Path::Auto, blocking: None }
    }
}

/// One GEMM problem as the driver sees it: `C ← α·A·B + β·C` with A `m × k`, B `k × n`,
/// C `m × n`, each a strided view.
///
/// `repr(C)`, with α and β apart: reordered, two `f32` scalars stored one by one sat side
/// by side and were read back as one 8-byte load, which cannot be forwarded from two
/// 4-byte stores (a store-forwarding stall: a fifth of an 8 × 8 × 8 `f32` product's
/// profile sat on that load; gone with this layout).
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub(crate) struct Problem<T> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub alpha: T,
    pub a: Strided<T>,
    pub b: Strided<T>,
    pub beta: T,
    pub c: StridedMut<T>,
}

/// A strided mutable matrix for the driver: `(i, j)` at `ptr + i·rs + j·cs`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StridedMut<T> {
    pub ptr: *mut T,
    pub rs: isize,
    pub cs: isize,
}

// SAFETY: the driver hands a `StridedMut` to worker threads only while the caller's
// exclusive borrow (or the raw door's contract) keeps C alive and untouched by others, and
// the threads write disjoint tiles.
unsafe impl<T: Send> Send for StridedMut<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for StridedMut<T> {}

impl<T> StridedMut<T> {
    fn t(self) -> Self {
        StridedMut { ptr: self.ptr, rs: self.cs, cs: self.rs }
    }

    /// Pointer to element `(i, j)`.
    ///
    /// # Safety
    /// `(i, j)` lies inside the matrix.
    #[inline(always)]
    pub(crate) unsafe fn at(self, i: usize, j: usize) -> *mut T {
        // SAFETY: in bounds per the caller.
        unsafe { self.ptr.offset(i as isize * self.rs + j as isize * self.cs) }
    }
}

/// `C ← α·A·B + β·C` on the detected (or [`crate::ISA_ENV`]-forced) kernel path.
///
/// ```
/// use kernels::{gemm, MatMut, MatRef, Par};
/// let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]] row-major
/// let b = [5.0, 6.0, 7.0, 8.0]; // [[5, 6], [7, 8]]
/// let mut c = [1.0; 4];
/// gemm(1.0, MatRef::row_major(&a, 2, 2), MatRef::row_major(&b, 2, 2),
///      0.5, MatMut::row_major(&mut c, 2, 2), Par::Seq);
/// // [[1·5 + 2·7, 1·6 + 2·8], [3·5 + 4·7, 3·6 + 4·8]] + 0.5
/// assert_eq!(c, [19.5, 22.5, 43.5, 50.5]);
/// ```
///
/// # Panics
/// If the shapes disagree (the message names all three), or a forced path is unavailable.
#[track_caller]
pub fn gemm<T: Element>(alpha: T, a: MatRef<'_, T>, b: MatRef<'_, T>, beta: T, c: MatMut<'_, T>, par: Par) {
    try_gemm(alpha, a, b, beta, c, par).unwrap_or_else(|e| panic!("{e}"));
}

/// Like [`gemm`], returning the shape error instead of panicking.
///
/// ```
/// use kernels::{try_gemm, GemmError, MatMut, MatRef, Par};
/// let x = [0.0f64; 6];
/// let mut y = [0.0f64; 4];
/// let err = try_gemm(1.0, MatRef::row_major(&x, 2, 3), MatRef::row_major(&x, 2, 3),
///                    0.0, MatMut::row_major(&mut y, 2, 2), Par::Seq).unwrap_err();
/// assert!(matches!(err, GemmError::ShapeMismatch { .. }));
/// ```
///
/// # Errors
/// [`GemmError::ShapeMismatch`] if A is not m×k, B k×n and C m×n for one (m, n, k).
pub fn try_gemm<T: Element>(
    alpha: T,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    beta: T,
    c: MatMut<'_, T>,
    par: Par,
) -> Result<(), GemmError> {
    gemm_with(&Config { par, ..Config::default() }, alpha, a, b, beta, c)
}

/// Like [`try_gemm`] with every knob explicit: kernel path, threads, algorithm, blocking.
///
/// ```
/// use kernels::{gemm_with, Config, Isa, MatMut, MatRef, Par};
/// let (a, b, mut c) = ([2.0f32], [3.0f32], [0.0f32]);
/// for isa in Isa::available() {
///     let cfg = Config { isa, par: Par::Seq, ..Config::default() };
///     gemm_with(&cfg, 1.0, MatRef::row_major(&a, 1, 1), MatRef::row_major(&b, 1, 1),
///               0.0, MatMut::row_major(&mut c, 1, 1)).unwrap();
///     assert_eq!(c[0], 6.0);
/// }
/// ```
///
/// # Errors
/// [`GemmError::ShapeMismatch`] as for [`try_gemm`]; [`GemmError::IsaUnavailable`] if the
/// host cannot run `cfg.isa`.
pub fn gemm_with<T: Element>(
    cfg: &Config,
    alpha: T,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    beta: T,
    mut c: MatMut<'_, T>,
) -> Result<(), GemmError> {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    if b.rows() != k || c.rows() != m || c.cols() != n {
        return Err(GemmError::ShapeMismatch {
            a: (a.rows(), a.cols()),
            b: (b.rows(), b.cols()),
            c: (c.rows(), c.cols()),
        });
    }
    if !cfg.isa.is_available() {
        return Err(GemmError::IsaUnavailable(cfg.isa));
    }
    let view = |v: &MatRef<'_, T>| Strided { ptr: v.origin(), rs: v.strides().0, cs: v.strides().1 };
    let (a, b) = (view(&a), view(&b));
    let (rsc, csc) = c.strides();
    let c = StridedMut { ptr: c.origin_mut(), rs: rsc, cs: csc };
    // SAFETY: the views were validated on construction (every element in bounds, C without
    // self-overlap); C is borrowed mutably, so it overlaps neither A nor B, and nothing else
    // touches it during the call.
    unsafe { driver::gemm(cfg, Problem { m, n, k, alpha, a, b, beta, c }) };
    Ok(())
}
