//! Shared test helpers: a seeded generator, and for the GEMM tests strided operands with
//! NaN-filled gaps and a naive reference that reads operands through the same strides.
#![allow(dead_code)]

use kernels::{Config, Element, MatMut, MatRef};

/// `full` normally, `miri` under Miri: the interpreter runs some 10⁴ times slower, so the
/// suites shrink to sizes that still cross every micro-tile, block and tail edge.
pub const fn miri_or(full: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { full }
}

/// A tiny deterministic generator (SplitMix64), so tests need no RNG crate and are seeded.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
    /// Uniform in [-1, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
    /// A small integer in -3..=3: products and sums of these stay exact in f32 for k ≤ 300
    /// (|Σ| ≤ 300 · 9 · |α| < 2²⁴).
    pub fn small_int(&mut self) -> f64 {
        self.range(0, 6) as f64 - 3.0
    }
}

/// How an operand is laid out in its buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    RowMajor,
    ColMajor,
    /// Row-major with `p` unused elements after each row.
    PaddedRows(usize),
    /// Column-major with `p` unused elements after each column.
    PaddedCols(usize),
    /// Neither stride unit: rs = 2, cs = 2·rows + 1.
    Strided,
    /// Column-major with rows in reverse order (negative row stride).
    NegRows,
    /// Row-major with columns in reverse order (negative column stride).
    NegCols,
    /// Every row the same (zero row stride); only valid for read-only operands.
    ZeroRows,
}

impl Layout {
    pub const READ: [Layout; 8] = [
        Layout::RowMajor,
        Layout::ColMajor,
        Layout::PaddedRows(3),
        Layout::PaddedCols(5),
        Layout::Strided,
        Layout::NegRows,
        Layout::NegCols,
        Layout::ZeroRows,
    ];
    pub const WRITE: [Layout; 7] = [
        Layout::RowMajor,
        Layout::ColMajor,
        Layout::PaddedRows(3),
        Layout::PaddedCols(5),
        Layout::Strided,
        Layout::NegRows,
        Layout::NegCols,
    ];

    fn strides(self, rows: usize, cols: usize) -> (isize, isize) {
        let (r, c) = (rows as isize, cols as isize);
        match self {
            Layout::RowMajor => (c, 1),
            Layout::ColMajor => (1, r),
            Layout::PaddedRows(p) => (c + p as isize, 1),
            Layout::PaddedCols(p) => (1, r + p as isize),
            Layout::Strided => (2, 2 * r + 1),
            Layout::NegRows => (-1, r),
            Layout::NegCols => (c, -1),
            Layout::ZeroRows => (0, 1),
        }
    }
}

/// An operand: its buffer (gaps filled with NaN), the offset of element (0, 0), strides.
pub struct Operand<T> {
    pub buf: Vec<T>,
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
    pub rs: isize,
    pub cs: isize,
}

impl<T: Element> Operand<T> {
    /// Builds a `rows × cols` operand, element (i, j) = `fill(i, j)`, gaps NaN.
    pub fn new(rows: usize, cols: usize, layout: Layout, mut fill: impl FnMut(usize, usize) -> f64) -> Self {
        let (rs, cs) = layout.strides(rows, cols);
        let (mut lo, mut hi) = (0isize, 0isize);
        if rows > 0 && cols > 0 {
            for (d, s) in [(rows, rs), (cols, cs)] {
                let reach = (d as isize - 1) * s;
                lo += reach.min(0);
                hi += reach.max(0);
            }
        }
        let offset = (-lo) as usize;
        let len = if rows == 0 || cols == 0 { 0 } else { (hi - lo + 1) as usize };
        let mut op = Operand { buf: vec![T::from_f64(f64::NAN); len], offset, rows, cols, rs, cs };
        for i in 0..rows {
            for j in 0..cols {
                let idx = op.index(i, j);
                op.buf[idx] = T::from_f64(fill(i, j));
            }
        }
        op
    }

    pub fn index(&self, i: usize, j: usize) -> usize {
        (self.offset as isize + i as isize * self.rs + j as isize * self.cs) as usize
    }

    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.buf[self.index(i, j)].to_f64()
    }

    pub fn view(&self) -> MatRef<'_, T> {
        MatRef::try_with_offset(&self.buf, self.offset, self.rows, self.cols, self.rs, self.cs).unwrap()
    }

    pub fn view_mut(&mut self) -> MatMut<'_, T> {
        MatMut::try_with_offset(&mut self.buf, self.offset, self.rows, self.cols, self.rs, self.cs).unwrap()
    }

    /// Indices of the buffer that belong to no element.
    pub fn gaps(&self) -> Vec<usize> {
        let mut used = vec![false; self.buf.len()];
        for i in 0..self.rows {
            for j in 0..self.cols {
                used[self.index(i, j)] = true;
            }
        }
        (0..self.buf.len()).filter(|&x| !used[x]).collect()
    }
}

/// `α·A·B + β·C` in f64, reading A, B and the old C through their strides; β = 0 ignores
/// the old C entirely (BLAS). Also returns `|α|·|A||B| + |β|·|C|` per element, the scale
/// of the rounding-error bound.
pub fn reference<T: Element>(
    alpha: f64,
    a: &Operand<T>,
    b: &Operand<T>,
    beta: f64,
    c: &Operand<T>,
) -> (Vec<f64>, Vec<f64>) {
    let (m, n, k) = (a.rows, b.cols, a.cols);
    let mut out = vec![0.0; m * n];
    let mut scale = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let (mut s, mut s_abs) = (0.0, 0.0);
            for p in 0..k {
                s += a.get(i, p) * b.get(p, j);
                s_abs += (a.get(i, p) * b.get(p, j)).abs();
            }
            let old = if beta == 0.0 { 0.0 } else { c.get(i, j) };
            out[i * n + j] = alpha * s + beta * old;
            scale[i * n + j] = alpha.abs() * s_abs + beta.abs() * old.abs();
        }
    }
    (out, scale)
}

/// Runs one GEMM with `cfg` and checks it against the reference: exactly when `exact`,
/// else within the rounding bound; and checks C's gaps are still NaN.
#[allow(clippy::too_many_arguments)]
pub fn check<T: Element>(
    cfg: &Config,
    alpha: f64,
    a: &Operand<T>,
    b: &Operand<T>,
    beta: f64,
    c: &mut Operand<T>,
    exact: bool,
    what: &str,
) {
    let (want, scale) = reference(alpha, a, b, beta, c);
    let gaps = c.gaps();
    kernels::gemm_with(cfg, T::from_f64(alpha), a.view(), b.view(), T::from_f64(beta), c.view_mut()).unwrap();
    let (m, n, k) = (a.rows, b.cols, a.cols);
    // Error bound: each dot product of length k accumulated in T (FMA or not, in any
    // blocking) has |error| ≤ k·u·Σ|a||b| (u = ε/2, Higham's γ_k to first order); scaling by
    // α and adding β·C add two more roundings of the result: (k + 2)·u·scale. The f64
    // reference carries the same bound in f64, so 2·(k + 2)·ε_T·scale covers both with
    // margin for the second-order terms.
    let eps = T::EPSILON.to_f64();
    for i in 0..m {
        for j in 0..n {
            let got = c.get(i, j);
            let w = want[i * n + j];
            let tol = if exact { 0.0 } else { 2.0 * (k as f64 + 2.0) * eps * scale[i * n + j] };
            assert!(
                (got - w).abs() <= tol,
                "{what}: C[{i},{j}] = {got}, expected {w} (tolerance {tol:e}) for m={m} n={n} k={k} \
                 α={alpha} β={beta} cfg={cfg:?}"
            );
        }
    }
    for g in gaps {
        assert!(c.buf[g].to_f64().is_nan(), "{what}: gap {g} of C was written (m={m} n={n} k={k})");
    }
}
