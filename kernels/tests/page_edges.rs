//! Partial vectors whose load or store window crosses a 4 KiB page boundary.
//!
//! Masked loads and stores of a short tail cover a whole vector's width; when that window
//! crosses a page the kernels take a lane-by-lane path instead (a masked access reaching
//! into an unmapped page costs a microcode assist of ≈ 400 ns on Zen 5). These tests put
//! operands at every element offset around a page boundary, so both paths run on every
//! instruction set the host has, and check the results exactly: small integers make every
//! sum and product exact in f32 and f64, so the expected values are the integer results.

use kernels::ew::{self, Binary, Exec};
use kernels::{Config, Element, Isa, MatMut, MatRef, Par, gemm_with};

/// Elements per page.
fn per_page<T>() -> usize {
    4096 / size_of::<T>()
}

/// A buffer of five pages' worth of elements (`fill` of the index) and the start of the
/// `len`-element window in it that ends `back` elements past a page boundary (with at least
/// two pages before the boundary and more than two after).
fn paged<T: Element>(len: usize, back: usize, fill: impl Fn(usize) -> f64) -> (Vec<T>, usize) {
    let n = 5 * per_page::<T>();
    let v: Vec<T> = (0..n).map(|i| T::from_f64(fill(i))).collect();
    let addr = v.as_ptr() as usize;
    let to_boundary = (4096 - addr % 4096) % 4096 / size_of::<T>();
    (v, to_boundary + 2 * per_page::<T>() + back - len)
}

/// The elements of `v` outside the window `at..at + len`.
fn outside<T>(v: &[T], at: usize, len: usize) -> impl Iterator<Item = &T> {
    v[..at].iter().chain(&v[at + len..])
}

fn ew_tails<T: Element>() {
    // Operands and output each end `back` elements past a page boundary, for tails of every
    // length below two vectors.
    for isa in Isa::available() {
        for len in 1..=33 {
            for back in 0..=17 {
                let (a, sa) = paged::<T>(len, back, |i| (i % 7) as f64);
                let (b, sb) = paged::<T>(len, back, |i| (i % 5) as f64 - 2.0);
                let (mut out, so) = paged::<T>(len, back, |_| -99.0);
                Exec { isa, par: Par::Seq }
                    .run(|| ew::zip(Binary::Add, &a[sa..sa + len], &b[sb..sb + len], &mut out[so..so + len]));
                for i in 0..len {
                    let want = a[sa + i].to_f64() + b[sb + i].to_f64();
                    assert_eq!(out[so + i].to_f64(), want, "{isa} {} len {len} back {back} at {i}", T::NAME);
                }
                // Nothing outside the output slice was written.
                assert!(outside(&out, so, len).all(|v| v.to_f64() == -99.0));
            }
        }
    }
}

#[test]
fn ew_tails_across_pages_f32() {
    ew_tails::<f32>();
}

#[test]
fn ew_tails_across_pages_f64() {
    ew_tails::<f64>();
}

fn gemm_edges<T: Element>() {
    // A (m × k), B (k × n) and C (m × n), column-major, each ending `back` elements past a
    // page boundary: the last column's partial vector straddles it. With three columns of
    // C, k = 5 takes the direct and (m = 1) row-form matrix-vector paths, k = 40 (at least
    // two vectors) the dot path for small m, whose k tail is then the partial vector; with
    // one, the column-form matrix-vector path (its chunk's partial last vector).
    for isa in Isa::available() {
        let cfg = Config { isa, par: Par::Seq, ..Config::default() };
        for n in [1, 3] {
            for k in [5, 40] {
                for m in [1, 3, 4, 7, 8, 9, 15, 17] {
                    for back in 0..=17 {
                        gemm_edge_case::<T>(&cfg, m, n, k, back);
                    }
                }
            }
        }
    }
}

fn gemm_edge_case<T: Element>(cfg: &Config, m: usize, n: usize, k: usize, back: usize) {
    let (av, sa) = paged::<T>(m * k, back, |i| (i % 5) as f64 - 2.0);
    let (bv, sb) = paged::<T>(k * n, back, |i| (i % 3) as f64 - 1.0);
    let (mut cv, sc) = paged::<T>(m * n, back, |_| f64::NAN);
    let (a, b) = (&av[sa..sa + m * k], &bv[sb..sb + k * n]);
    gemm_with(
        cfg,
        T::ONE,
        MatRef::col_major(a, m, k),
        MatRef::col_major(b, k, n),
        T::ZERO,
        MatMut::col_major(&mut cv[sc..sc + m * n], m, n),
    )
    .unwrap();
    for j in 0..n {
        for i in 0..m {
            let want: f64 = (0..k).map(|p| a[i + p * m].to_f64() * b[p + j * k].to_f64()).sum();
            let got = cv[sc + i + j * m].to_f64();
            assert_eq!(got, want, "{} {} m {m} k {k} back {back} at ({i}, {j})", cfg.isa, T::NAME);
        }
    }
    // β = 0 wrote exactly C: the NaN around it is untouched.
    assert!(outside(&cv, sc, m * n).all(|v| v.to_f64().is_nan()));
}

#[test]
fn gemm_partial_tiles_across_pages_f32() {
    gemm_edges::<f32>();
}

#[test]
fn gemm_partial_tiles_across_pages_f64() {
    gemm_edges::<f64>();
}

fn column_sums<T: Element>() {
    // sum_cols over rows × cols, the matrix ending `back` elements past a page boundary and
    // the sums written to a buffer ending there too: the column tail straddles it.
    for isa in Isa::available() {
        for (rows, cols) in [(3, 5), (9, 20), (2, 33)] {
            for back in 0..=17 {
                let (x, sx) = paged::<T>(rows * cols, back, |i| (i % 9) as f64 - 4.0);
                let (mut out, so) = paged::<T>(cols, back, |_| -99.0);
                let xs = &x[sx..sx + rows * cols];
                Exec { isa, par: Par::Seq }.run(|| ew::sum_cols(xs, cols, &mut out[so..so + cols]));
                for j in 0..cols {
                    let want: f64 = (0..rows).map(|r| xs[r * cols + j].to_f64()).sum();
                    assert_eq!(
                        out[so + j].to_f64(),
                        want,
                        "{isa} {} {rows}x{cols} back {back} col {j}",
                        T::NAME
                    );
                }
                assert!(outside(&out, so, cols).all(|v| v.to_f64() == -99.0));
            }
        }
    }
}

#[test]
fn column_sums_across_pages_f32() {
    column_sums::<f32>();
}

#[test]
fn column_sums_across_pages_f64() {
    column_sums::<f64>();
}
