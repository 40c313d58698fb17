//! GEMM against a naive reference: exact on integer inputs, within a derived rounding
//! bound on random floats, for every kernel path, algorithm, layout and edge size.

mod common;

use common::{Layout, Operand, Rng, check, miri_or};
use kernels::{Blocking, Config, Element, Isa, Par, Path};

/// Small blocking so inputs of a few dozen elements cross every block boundary of the
/// packed loops (several MC, KC and NC blocks, partial micro-panels in every loop).
const TINY: Blocking = Blocking { mc: 1, kc: 5, nc: 1 };

/// Every (ISA, algorithm) combination the host can run, with tiny blocking for Packed.
fn configs() -> Vec<Config> {
    let mut out = Vec::new();
    for isa in Isa::available() {
        for (path, blocking) in [(Path::Auto, None), (Path::Direct, None), (Path::Packed, Some(TINY))] {
            out.push(Config { isa, par: Par::Seq, path, blocking });
        }
    }
    out
}

fn exact_case<T: Element>(
    rng: &mut Rng,
    cfg: &Config,
    (m, n, k): (usize, usize, usize),
    layouts: [Layout; 3],
) {
    let a = Operand::<T>::new(m, k, layouts[0], |_, _| rng.small_int());
    let b = Operand::<T>::new(k, n, layouts[1], |_, _| rng.small_int());
    for (alpha, beta) in [(1.0, 0.0), (2.0, -1.0), (-0.5, 1.0)] {
        // β = 0: C starts as NaN, which must not leak into the result.
        let mut c = Operand::<T>::new(m, n, layouts[2], |_, _| if beta == 0.0 { f64::NAN } else { 2.0 });
        check(cfg, alpha, &a, &b, beta, &mut c, true, "exact");
    }
}

fn sizes_small(rng: &mut Rng, count: usize) -> Vec<(usize, usize, usize)> {
    (0..count).map(|_| (rng.range(0, 20), rng.range(0, 20), rng.range(0, 20))).collect()
}

fn exact_suite<T: Element>() {
    let mut rng = Rng(0x5EED_0001);
    for cfg in configs() {
        for (idx, shape) in sizes_small(&mut rng, miri_or(120, 10)).into_iter().enumerate() {
            let pick = |x: usize| Layout::READ[(idx * 7 + x) % Layout::READ.len()];
            let c = Layout::WRITE[(idx * 5) % Layout::WRITE.len()];
            exact_case::<T>(&mut rng, &cfg, shape, [pick(0), pick(3), c]);
        }
    }
}

#[test]
fn exact_small_f32() {
    exact_suite::<f32>();
}

#[test]
fn exact_small_f64() {
    exact_suite::<f64>();
}

/// Sizes around powers of two and block boundaries, every path, integer inputs.
fn exact_edges<T: Element>() {
    let mut rng = Rng(0x5EED_0002);
    let shapes = if cfg!(miri) {
        // Past the largest micro-tile (32×16) in both directions, with partial tiles.
        vec![(33, 17, 9), (1, 35, 20), (34, 1, 12), (17, 33, 1)]
    } else {
        vec![(127, 129, 128), (257, 255, 33), (1, 257, 255), (255, 1, 129), (129, 128, 1), (3, 256, 300)]
    };
    for isa in Isa::available() {
        for path in [Path::Auto, Path::Packed] {
            let cfg = Config { isa, par: Par::Seq, path, blocking: None };
            for (i, &shape) in shapes.iter().enumerate() {
                let layouts = [Layout::READ[i % 8], Layout::READ[(i + 3) % 8], Layout::WRITE[i % 7]];
                exact_case::<T>(&mut rng, &cfg, shape, layouts);
            }
        }
    }
}

#[test]
fn exact_edges_f32() {
    exact_edges::<f32>();
}

#[test]
fn exact_edges_f64() {
    exact_edges::<f64>();
}

/// Random floats in [-1, 1): within the derived rounding bound, deep enough (k up to 700)
/// that the packed path's default blocking splits k (KC ≤ 512).
fn random_suite<T: Element>() {
    let mut rng = Rng(0x5EED_0003);
    let shapes = if cfg!(miri) {
        vec![(9, 17, 30), (20, 3, 25)]
    } else {
        vec![(33, 65, 700), (100, 3, 600), (64, 64, 64), (65, 63, 17), (200, 150, 90)]
    };
    for (isa, path) in Isa::available().into_iter().flat_map(|i| [(i, Path::Auto), (i, Path::Packed)]) {
        let cfg = Config { isa, par: Par::Seq, path, ..Config::default() };
        for (i, &(m, n, k)) in shapes.iter().enumerate() {
            let a = Operand::<T>::new(m, k, Layout::READ[i % 8], |_, _| rng.unit());
            let b = Operand::<T>::new(k, n, Layout::READ[(i + 1) % 8], |_, _| rng.unit());
            let mut c = Operand::<T>::new(m, n, Layout::WRITE[i % 7], |_, _| rng.unit());
            check(&cfg, 0.75, &a, &b, 1.25, &mut c, false, "random");
        }
    }
}

#[test]
fn random_f32() {
    random_suite::<f32>();
}

#[test]
fn random_f64() {
    random_suite::<f64>();
}

/// BLAS semantics: α = 0 reads neither A nor B (NaN there must not matter), k = 0 scales
/// C by β, β = 0 overwrites NaN in C, m = 0 / n = 0 touch nothing.
#[test]
fn blas_semantics() {
    for isa in Isa::available() {
        let cfg = Config { isa, ..Config::default() };
        let nan_a = Operand::<f64>::new(4, 3, Layout::ColMajor, |_, _| f64::NAN);
        let nan_b = Operand::<f64>::new(3, 5, Layout::RowMajor, |_, _| f64::NAN);
        // α = 0, β = 2: C ← 2·C exactly, A and B (all NaN) unread.
        let mut c = Operand::<f64>::new(4, 5, Layout::PaddedCols(2), |i, j| (i * 5 + j) as f64);
        kernels::gemm_with(&cfg, 0.0, nan_a.view(), nan_b.view(), 2.0, c.view_mut()).unwrap();
        for i in 0..4 {
            for j in 0..5 {
                assert_eq!(c.get(i, j), 2.0 * (i * 5 + j) as f64, "{isa}: α = 0 must give 2·C");
            }
        }
        assert!(c.gaps().iter().all(|&g| c.buf[g].is_nan()));
        // α = 0, β = 0: C ← 0 even though C held NaN.
        let mut c = Operand::<f64>::new(4, 5, Layout::RowMajor, |_, _| f64::NAN);
        kernels::gemm_with(&cfg, 0.0, nan_a.view(), nan_b.view(), 0.0, c.view_mut()).unwrap();
        assert!(c.buf.iter().all(|&x| x == 0.0), "{isa}: α = β = 0 must zero C");
        // k = 0: C ← β·C.
        let a0 = Operand::<f32>::new(3, 0, Layout::RowMajor, |_, _| 0.0);
        let b0 = Operand::<f32>::new(0, 2, Layout::RowMajor, |_, _| 0.0);
        let mut c = Operand::<f32>::new(3, 2, Layout::ColMajor, |i, j| (i + j) as f64);
        kernels::gemm_with(&cfg, 1.0, a0.view(), b0.view(), -3.0, c.view_mut()).unwrap();
        for i in 0..3 {
            for j in 0..2 {
                assert_eq!(c.get(i, j), -3.0 * (i + j) as f64);
            }
        }
        // m = 0 and n = 0: nothing is touched (the NaN inputs would show).
        let a = Operand::<f32>::new(0, 4, Layout::RowMajor, |_, _| f64::NAN);
        let b = Operand::<f32>::new(4, 3, Layout::RowMajor, |_, _| f64::NAN);
        let mut c = Operand::<f32>::new(0, 3, Layout::RowMajor, |_, _| 0.0);
        kernels::gemm_with(&cfg, 1.0, a.view(), b.view(), 1.0, c.view_mut()).unwrap();
    }
}

/// Shape mismatches are errors that name all three shapes; the panicking door says so too.
#[test]
fn shape_errors_name_the_shapes() {
    let x = vec![0.0f32; 12];
    let mut y = vec![0.0f32; 12];
    let err = kernels::try_gemm(
        1.0,
        kernels::MatRef::row_major(&x, 3, 4),
        kernels::MatRef::row_major(&x, 3, 4),
        0.0,
        kernels::MatMut::row_major(&mut y, 3, 4),
        Par::Seq,
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("A is 3×4") && msg.contains("B is 3×4") && msg.contains("C is 3×4"), "{msg}");
    let panic = std::panic::catch_unwind(|| {
        let mut y = vec![0.0f32; 12];
        kernels::gemm(
            1.0,
            kernels::MatRef::row_major(&x, 3, 4),
            kernels::MatRef::row_major(&x, 4, 3),
            0.0,
            kernels::MatMut::row_major(&mut y, 4, 3),
            Par::Seq,
        );
    })
    .unwrap_err();
    let text = panic.downcast_ref::<String>().unwrap();
    assert!(text.contains("C is 4×3"), "{text}");
}

/// Views refuse out-of-bounds and aliasing layouts with messages naming shape and strides.
#[test]
fn view_errors_name_the_layout() {
    let data = [0.0f64; 10];
    let err = kernels::MatRef::try_with_offset(&data, 0, 3, 4, 4, 1).unwrap_err();
    assert!(err.to_string().contains("3×4 view with strides (rs=4, cs=1)"), "{err}");
    let err = kernels::MatRef::try_with_offset(&data, 0, 2, 2, isize::MAX, 1).unwrap_err();
    assert!(matches!(err, kernels::LayoutError::OutOfBounds { .. }));
    let mut buf = [0.0f64; 10];
    let err = kernels::MatMut::try_with_offset(&mut buf, 0, 3, 3, 1, 2).unwrap_err();
    assert!(matches!(err, kernels::LayoutError::SelfOverlap { .. }), "{err}");
}

/// The raw door agrees with the safe door, including negative and zero strides.
#[test]
fn raw_door_matches_reference() {
    let mut rng = Rng(0x5EED_0004);
    let (m, n, k) = (37, 29, 41);
    let a = Operand::<f32>::new(m, k, Layout::NegRows, |_, _| rng.small_int());
    let b = Operand::<f32>::new(k, n, Layout::ZeroRows, |_, _| rng.small_int());
    let mut c = Operand::<f32>::new(m, n, Layout::PaddedRows(2), |_, _| 1.0);
    let (want, _) = common::reference(2.0, &a, &b, -1.0, &c);
    // SAFETY: the operands were built for exactly these dimensions and strides; C's
    // elements are distinct and separate from A's and B's buffers.
    unsafe {
        kernels::sgemm(
            m,
            k,
            n,
            2.0,
            a.buf.as_ptr().add(a.offset),
            a.rs,
            a.cs,
            b.buf.as_ptr().add(b.offset),
            b.rs,
            b.cs,
            -1.0,
            c.buf.as_mut_ptr().add(c.offset),
            c.rs,
            c.cs,
        );
    }
    for i in 0..m {
        for j in 0..n {
            assert_eq!(c.get(i, j), want[i * n + j]);
        }
    }
}

/// Skinny shapes (2–8 rows or columns) reach the dot-product path (deep k, contiguous
/// large operand; in several depth passes for the deepest) and the tall path (≤ 6 columns, column-major A, several tall tiles plus
/// a remainder) on every kernel path, with every operand layout: exact on integer inputs.
fn skinny<T: Element>() {
    let mut rng = Rng(0x5EED_0005);
    let shapes: &[(usize, usize, usize)] = if cfg!(miri) {
        &[(3, 40, 20), (40, 5, 17), (8, 20, 10)]
    } else {
        &[
            (3, 200, 77),
            (200, 5, 65),
            (8, 90, 40),
            (6, 50, 33),
            (2, 300, 64),
            (33, 4, 100),
            (300, 6, 50),
            (517, 2, 33),
            // The tall path's widest tiles (AVX-512: 7 vectors of rows at 3 columns, 6 at 4)
            // and a remainder of ordinary direct tiles.
            (300, 3, 70),
            (260, 4, 90),
            // Deep enough that six rows of the small operand outgrow three quarters of any
            // L1d up to 64 KiB (f32: 24 B · 2100 > 48 KiB): depth passes. Sums stay exact:
            // 2100 products of magnitude ≤ 9 stay far below 2²⁴.
            (6, 40, 2100),
        ]
    };
    for isa in Isa::available() {
        let cfg = Config { isa, par: Par::Seq, ..Config::default() };
        for &shape in shapes {
            for (i, &la) in Layout::READ.iter().enumerate() {
                let layouts = [la, Layout::READ[(i + 1) % 8], Layout::WRITE[i % 7]];
                exact_case::<T>(&mut rng, &cfg, shape, layouts);
            }
        }
    }
}

/// Every tile height of one to six columns: the direct path's narrow tiles (up to the
/// tall path's height, 8 vectors on AVX-512) and the tall path's remainders and evenly
/// split last tiles, alone (n ≤ 6) and as the last strip beside full-width tiles
/// (n = 9..14); exact on integers.
fn narrow_heights<T: Element>() {
    let mut rng = Rng(0x5EED_0009);
    let (rows, cols): (Vec<usize>, Vec<usize>) = if cfg!(miri) {
        (vec![1, 40, 70], vec![2, 4, 11])
    } else {
        ((1..=260).collect(), (1..=6).chain(9..=14).collect())
    };
    for isa in Isa::available() {
        let cfg = Config { isa, par: Par::Seq, ..Config::default() };
        for (i, &m) in rows.iter().enumerate() {
            for (j, &n) in cols.iter().enumerate() {
                // A column-major (what the direct and tall paths read in place); B and C vary.
                let layouts = [Layout::ColMajor, Layout::READ[(i + j) % 8], Layout::WRITE[(i + j) % 7]];
                exact_case::<T>(&mut rng, &cfg, (m, n, 7), layouts);
            }
        }
    }
}

#[test]
fn narrow_heights_f32() {
    narrow_heights::<f32>();
}

#[test]
fn narrow_heights_f64() {
    narrow_heights::<f64>();
}

#[test]
fn skinny_f32() {
    skinny::<f32>();
}

#[test]
fn skinny_f64() {
    skinny::<f64>();
}

/// Column-major A feeding more than four B micro-panels is packed (not read in place) on
/// the packed path, through the fixed-size panel copies for full panels and the general
/// copy for the last, partial one: 520 rows (520 = 16·32 + 8), 70 columns of C.
#[test]
fn packed_path_packs_far_apart_columns() {
    let mut rng = Rng(0x5EED_0006);
    for isa in Isa::available() {
        let cfg = Config { isa, par: Par::Seq, path: Path::Packed, ..Config::default() };
        for la in [Layout::ColMajor, Layout::PaddedCols(3)] {
            // (Under Miri, fewer columns and a shallower k: the row count is the point.)
            let (n, k) = (miri_or(70, 3), miri_or(40, 2));
            exact_case::<f32>(&mut rng, &cfg, (520, n, k), [la, Layout::ColMajor, Layout::ColMajor]);
            exact_case::<f64>(&mut rng, &cfg, (300, n, k), [la, Layout::RowMajor, Layout::PaddedCols(1)]);
        }
    }
}

/// Shallow products with a large C (k ≤ 16, m·n ≥ 2¹⁸) take the shallow path when A is
/// column-contiguous after orientation (packed tall panels, six-column strips, a partial
/// last panel and strip, more rows than one packed chunk of 4096): exact on integer
/// inputs, every kernel path, with layouts that reach it and layouts that do not.
#[test]
fn shallow_products_with_a_large_c() {
    let mut rng = Rng(0x5EED_0007);
    // (Under Miri, a C too small for the path: the layouts' plumbing is what runs.)
    let shapes: &[(usize, usize, usize)] = if cfg!(miri) {
        &[(40, 9, 3)]
    } else {
        &[(530, 500, 8), (517, 515, 1), (600, 443, 16), (4200, 64, 3)]
    };
    for isa in Isa::available() {
        let cfg = Config { isa, par: Par::Seq, ..Config::default() };
        for &shape in shapes {
            for (i, &la) in [Layout::ColMajor, Layout::PaddedCols(3), Layout::RowMajor].iter().enumerate() {
                let lc = [Layout::ColMajor, Layout::RowMajor, Layout::PaddedCols(1)][i];
                exact_case::<f32>(&mut rng, &cfg, shape, [la, Layout::RowMajor, lc]);
                exact_case::<f64>(&mut rng, &cfg, shape, [la, Layout::ColMajor, lc]);
            }
        }
    }
}

/// Tall products (n ≤ 6) whose A exceeds twice any L2 we know of (4 MiB, hosts here
/// report 1–2 MiB) take the tall tiles that prefetch A ahead; every column count 2..=6
/// (n = 1 is matrix-vector) and a partial last panel, exact on integer inputs, every
/// kernel path.
#[test]
fn tall_products_with_a_large_a() {
    if cfg!(miri) {
        // Millions of FMAs: far too slow under Miri.
        return;
    }
    let mut rng = Rng(0x5EED_0008);
    for isa in Isa::available() {
        let cfg = Config { isa, par: Par::Seq, ..Config::default() };
        for n in 2..=6 {
            // A: 4099 × 520 f32 and 4099 × 260 f64, 8.1 MiB each.
            let col = [Layout::ColMajor, Layout::ColMajor, Layout::ColMajor];
            exact_case::<f32>(&mut rng, &cfg, (4099, n, 520), col);
            exact_case::<f64>(
                &mut rng,
                &cfg,
                (4099, n, 260),
                [Layout::ColMajor, Layout::RowMajor, Layout::ColMajor],
            );
        }
    }
}

/// Column-major products with one or two columns (matrix-vector, and the tall path's
/// streamed form) whose rows outnumber the columns form's chunk of partial sums (at most
/// 32 KiB split between the columns: 8192 / 4096 f32 rows, 4096 / 2048 f64 rows), with a
/// partial last vector and a last pass narrower than eight columns (k ≢ 0 mod 8), both
/// with A beyond twice any L2 we know of (software prefetches on) and with A small enough
/// for none: exact on integer inputs, every kernel path, B and C contiguous and strided.
#[test]
fn column_streams_with_many_rows() {
    if cfg!(miri) {
        // Millions of FMAs: far too slow under Miri.
        return;
    }
    let mut rng = Rng(0x5EED_0009);
    for isa in Isa::available() {
        let cfg = Config { isa, par: Par::Seq, ..Config::default() };
        for layouts in [
            [Layout::ColMajor, Layout::ColMajor, Layout::ColMajor],
            [Layout::PaddedCols(3), Layout::Strided, Layout::Strided],
        ] {
            for n in [1, 2] {
                // A: 9001 × 300 f32 (10.3 MiB) and 4099 × 300 f64 (9.4 MiB); then 45 columns.
                exact_case::<f32>(&mut rng, &cfg, (9001, n, 300), layouts);
                exact_case::<f64>(&mut rng, &cfg, (4099, n, 300), layouts);
                exact_case::<f32>(&mut rng, &cfg, (9001, n, 45), layouts);
                exact_case::<f64>(&mut rng, &cfg, (8197, n, 45), layouts);
            }
        }
    }
}

/// Tall products of 3–6 columns whose A (25 MiB) exceeds three quarters of an L3 of up to
/// 33 MiB (this project's hosts report 32) take the columns form, not tall tiles (A then
/// comes from memory on every call): exact on integer inputs, every kernel path, with a
/// partial last vector and a k tail. Hosts with a larger L3 run the tall tiles here.
#[test]
fn wide_columns_form_with_an_a_beyond_the_l3() {
    if cfg!(miri) {
        // Tens of millions of FMAs: far too slow under Miri.
        return;
    }
    let mut rng = Rng(0x5EED_000A);
    for isa in Isa::available() {
        let cfg = Config { isa, par: Par::Seq, ..Config::default() };
        for n in [3, 6] {
            let col = [Layout::ColMajor, Layout::RowMajor, Layout::ColMajor];
            exact_case::<f32>(&mut rng, &cfg, (8203, n, 801), col);
            exact_case::<f64>(&mut rng, &cfg, (4101, n, 801), col);
        }
    }
}
