//! Bad input to every public entry point of `kernels`: one test per row of the "Bad input"
//! table in `ARCHITECTURE.md`. Errors must name the problem (the offending shapes, strides,
//! lengths); NaN and inf must give the IEEE (or documented BLAS) result; zero sizes the
//! documented result. Nothing here may be undefined behaviour, hang or answer silently
//! wrong.

use kernels::ew::{self, Binary, Exec, Unary};
use kernels::{Config, Element, GemmError, Isa, LayoutError, MatMut, MatRef, Par, Path};

mod panics;
use panics::{has_all, panic_msg as panic_message};

/// Every (ISA, algorithm) this host runs, one thread: each path must agree on bad input.
fn configs() -> Vec<Config> {
    let mut out = Vec::new();
    for isa in Isa::available() {
        for path in [Path::Auto, Path::Direct, Path::Packed] {
            out.push(Config { isa, par: Par::Seq, path, blocking: None });
        }
    }
    out
}

fn on<R>(isa: Isa, f: impl FnOnce() -> R) -> R {
    Exec { isa, par: Par::Seq }.run(f)
}

// ---------------------------------------------------------------------------------------
// The raw door: sgemm / dgemm. It checks nothing (its `# Safety` section puts bounds,
// aliasing and exclusivity on the caller); what it does guarantee is BLAS's short cuts,
// which decide which pointers it may touch at all.
// ---------------------------------------------------------------------------------------

/// m = 0 or n = 0 touches nothing, so even null pointers and dimensions whose products
/// overflow (usize::MAX × anything) are a valid call; k = 0 or α = 0 reads neither A nor B
/// (null here) and only scales C, whatever k is, so a k of usize::MAX returns at once.
#[test]
fn raw_door_zero_and_huge_dimensions_touch_only_what_blas_allows() {
    let null32 = std::ptr::null::<f32>();
    let null64 = std::ptr::null::<f64>();
    // SAFETY: m = 0 or n = 0: the contract reads and writes no element, so no pointer is
    // dereferenced (the driver returns before looking at them).
    unsafe {
        kernels::sgemm(0, 7, 5, 1.0, null32, 7, 1, null32, 5, 1, 1.0, std::ptr::null_mut(), 5, 1);
        kernels::sgemm(
            usize::MAX,
            usize::MAX,
            0,
            1.0,
            null32,
            1,
            1,
            null32,
            1,
            1,
            0.0,
            std::ptr::null_mut(),
            1,
            1,
        );
        kernels::dgemm(
            0,
            usize::MAX,
            usize::MAX,
            1.0,
            null64,
            1,
            1,
            null64,
            1,
            1,
            0.0,
            std::ptr::null_mut(),
            1,
            1,
        );
    }
    // k = 0: C ← β·C = −3·[1, 2, 3, 4] exactly (a product by a small integer is exact).
    let mut c = [1.0f64, 2.0, 3.0, 4.0];
    // SAFETY: C is a valid 2×2 row-major matrix; k = 0 reads neither A nor B.
    unsafe { kernels::dgemm(2, 0, 2, 1.0, null64, 0, 0, null64, 0, 0, -3.0, c.as_mut_ptr(), 2, 1) };
    assert_eq!(c, [-3.0, -6.0, -9.0, -12.0]);
    // α = 0 with k = usize::MAX: A and B are not read, C ← 0.5·C exactly; no loop over k.
    let mut c = [2.0f32, -4.0];
    // SAFETY: C is a valid 2×1 column; α = 0 reads neither A nor B.
    unsafe { kernels::sgemm(2, usize::MAX, 1, 0.0, null32, 0, 0, null32, 0, 0, 0.5, c.as_mut_ptr(), 1, 1) };
    assert_eq!(c, [1.0, -2.0]);
    // β = 0 never reads C: NaN there is overwritten, α = 0 gives exact zeros.
    let mut c = [f64::NAN; 3];
    // SAFETY: C is a valid 1×3 row; α = 0 reads neither A nor B; β = 0 does not read C.
    unsafe { kernels::dgemm(1, 4, 3, 0.0, null64, 0, 0, null64, 0, 0, 0.0, c.as_mut_ptr(), 3, 1) };
    assert_eq!(c, [0.0; 3]);
}

// ---------------------------------------------------------------------------------------
// MatRef / MatMut constructors.
// ---------------------------------------------------------------------------------------

/// A view reaching past the slice (or before its start, with a negative stride or an
/// offset) is an `OutOfBounds` error whose text names shape, strides, offset and length;
/// the panicking constructors say the same.
#[test]
fn views_out_of_bounds_are_named() {
    let data = [0.0f64; 5];
    // Last element of a 2×3 row-major view: 0 + 1·3 + 2·1 = 5, one past a length-5 slice.
    let err = MatRef::try_with_offset(&data, 0, 2, 3, 3, 1).unwrap_err();
    assert_eq!(err, LayoutError::OutOfBounds { shape: (2, 3), strides: (3, 1), offset: 0, len: 5 });
    assert_eq!(
        err.to_string(),
        "a 2×3 view with strides (rs=3, cs=1) starting at offset 0 does not fit in a slice of length 5"
    );
    // Negative row stride from offset 0: element (1, 0) would be at index −3.
    let err = MatRef::try_with_offset(&data, 0, 2, 2, -3, 1).unwrap_err();
    has_all(&err.to_string(), &["2×2", "rs=-3, cs=1", "offset 0", "length 5"]);
    // An offset at the end: element (0, 0) at index 5.
    let err = MatRef::try_with_offset(&data, 5, 1, 1, 1, 1).unwrap_err();
    has_all(&err.to_string(), &["1×1", "offset 5", "length 5"]);
    // The panicking doors: new, row_major, col_major, for both view types.
    let m = panic_message(|| {
        MatRef::row_major(&data, 2, 3);
    });
    has_all(&m, &["2×3 view with strides (rs=3, cs=1)", "slice of length 5"]);
    let m = panic_message(|| {
        MatRef::col_major(&data, 3, 2);
    });
    has_all(&m, &["3×2 view with strides (rs=1, cs=3)", "slice of length 5"]);
    let m = panic_message(|| {
        MatMut::row_major(&mut [0.0f32; 5], 2, 3);
    });
    has_all(&m, &["2×3 view", "slice of length 5"]);
    let m = panic_message(|| {
        MatMut::new(&mut [0.0f32; 5], 2, 3, -3, -1);
    });
    // `new` puts the lowest address at 0: offset 1·3 + 2·1 = 5, the highest index 5.
    has_all(&m, &["2×3 view with strides (rs=-3, cs=-1)", "offset 5", "slice of length 5"]);
    let err = MatMut::try_with_offset(&mut [0.0f64; 4], 0, 2, 2, 2, 2).unwrap_err();
    assert!(matches!(err, LayoutError::OutOfBounds { len: 4, .. }), "{err}");
}

/// Strides whose reach overflows `isize` are refused (checked arithmetic), never wrapped
/// into a small index: (rows − 1)·rs + (cols − 1)·cs must be computable.
#[test]
fn views_with_strides_overflowing_isize_are_refused() {
    let data = [0.0f64; 10];
    // isize::MAX + 1 (the column step) overflows.
    let err = MatRef::try_with_offset(&data, 0, 2, 2, isize::MAX, 1).unwrap_err();
    has_all(&err.to_string(), &["2×2", &format!("rs={}", isize::MAX), "length 10"]);
    // 2·(isize::MAX/2 + 1) overflows in the multiplication itself.
    let big = isize::MAX / 2 + 1;
    let err = MatRef::try_with_offset(&data, 0, 3, 1, big, 1).unwrap_err();
    has_all(&err.to_string(), &["3×1", &format!("rs={big}")]);
    // isize::MIN − 1 (negative reach below the minimum).
    let err = MatRef::try_with_offset(&data, 0, 2, 2, isize::MIN, -1).unwrap_err();
    assert!(matches!(err, LayoutError::OutOfBounds { .. }), "{err}");
    // `new` with a negative huge stride: its natural offset saturates, still refused.
    let m = panic_message(|| {
        MatRef::new(&data, 3, 1, isize::MIN, 1);
    });
    has_all(&m, &[&format!("rs={}", isize::MIN), "slice of length 10"]);
    // An offset beyond isize::MAX cannot be an index either.
    let err = MatRef::try_with_offset(&data, usize::MAX, 1, 1, 1, 1).unwrap_err();
    has_all(&err.to_string(), &[&format!("offset {}", usize::MAX)]);
    // The dense constructors refuse a dimension that cannot be a stride, by name, rather
    // than wrapping it to a negative stride.
    let huge = isize::MAX as usize + 1;
    let m = panic_message(|| {
        MatRef::row_major(&data, 2, huge);
    });
    has_all(&m, &["MatRef::row_major", &format!("2×{huge}"), "overflows isize"]);
    let m = panic_message(|| {
        MatMut::col_major(&mut [0.0f32; 4], huge, 2);
    });
    has_all(&m, &["MatMut::col_major", &format!("{huge}×2"), "overflows isize"]);
}

/// rows·cols overflowing usize: the footprint cannot be computed, so the view is refused
/// (an unchecked product would wrap to a small number and accept it).
#[test]
fn views_whose_element_count_overflows_are_refused() {
    let data = [0.0f32; 16];
    // (usize::MAX − 1)·2 overflows before any comparison with the length.
    let err = MatRef::try_with_offset(&data, 0, usize::MAX, 2, 2, 1).unwrap_err();
    has_all(&err.to_string(), &[&format!("{}×2", usize::MAX), "length 16"]);
    // 2³²·2³² = 2⁶⁴ wraps to 0 in unchecked arithmetic; (2³² − 1)·2³² exceeds isize::MAX.
    let d = 1usize << 32;
    let m = panic_message(|| {
        MatRef::row_major(&data, d, d);
    });
    has_all(&m, &[&format!("{d}×{d} view"), "slice of length 16"]);
    let m = panic_message(|| {
        MatMut::col_major(&mut [0.0f64; 16], d, d);
    });
    has_all(&m, &[&format!("{d}×{d} view"), "slice of length 16"]);
}

/// An empty slice holds no element: any non-empty view of it is out of bounds, named.
#[test]
fn views_of_an_empty_slice_with_nonzero_dimensions_are_refused() {
    let empty: [f64; 0] = [];
    let m = panic_message(|| {
        MatRef::row_major(&empty, 2, 3);
    });
    has_all(&m, &["2×3 view", "slice of length 0"]);
    let err = MatRef::try_with_offset(&empty, 0, 1, 1, 1, 1).unwrap_err();
    assert_eq!(err, LayoutError::OutOfBounds { shape: (1, 1), strides: (1, 1), offset: 0, len: 0 });
    let err = MatMut::try_with_offset(&mut [0.0f32; 0], 0, 1, 1, 0, 0).unwrap_err();
    assert!(matches!(err, LayoutError::OutOfBounds { len: 0, .. }), "{err}");
}

/// A view with a zero dimension holds no element, so it fits any slice (an empty one
/// included) with any strides and offset; GEMM on it follows BLAS: m = 0 or n = 0 touches
/// nothing, k = 0 gives C ← β·C.
#[test]
fn views_with_zero_dimensions_over_empty_slices_are_empty() {
    let empty: [f64; 0] = [];
    let a = MatRef::row_major(&empty, 0, 3);
    assert_eq!((a.rows(), a.cols()), (0, 3));
    let a = MatRef::try_with_offset(&empty, 0, 4, 0, isize::MAX, isize::MIN).unwrap();
    assert_eq!((a.rows(), a.cols()), (4, 0));
    let mut none: [f64; 0] = [];
    assert!(MatMut::try_with_offset(&mut none, 9, 0, 0, 0, 0).is_ok());
    for cfg in configs() {
        // m = 0: A 0×3, B 3×2 (NaN: must not be read), C 0×2 over an empty slice.
        let b = [f64::NAN; 6];
        let mut c: [f64; 0] = [];
        kernels::gemm_with(
            &cfg,
            1.0,
            MatRef::row_major(&empty, 0, 3),
            MatRef::row_major(&b, 3, 2),
            0.0,
            MatMut::row_major(&mut c, 0, 2),
        )
        .unwrap();
        // k = 0 over empty A and B: C ← β·C = 2·[1, −1, 3] exactly.
        let mut c = [1.0f64, -1.0, 3.0];
        kernels::gemm_with(
            &cfg,
            1.0,
            MatRef::row_major(&empty, 3, 0),
            MatRef::row_major(&empty, 0, 1),
            2.0,
            MatMut::row_major(&mut c, 3, 1),
        )
        .unwrap();
        assert_eq!(c, [2.0, -2.0, 6.0], "{cfg:?}");
        // k = 0, β = 0: zeros written over NaN without reading it.
        let mut c = [f32::NAN; 4];
        kernels::gemm_with(
            &cfg,
            1.0,
            MatRef::row_major(&[0.0f32; 0], 2, 0),
            MatRef::row_major(&[0.0f32; 0], 0, 2),
            0.0,
            MatMut::col_major(&mut c, 2, 2),
        )
        .unwrap();
        assert_eq!(c, [0.0; 4], "{cfg:?}");
    }
}

/// A mutable view whose elements may share addresses is refused (`SelfOverlap`), naming
/// shape and strides; read-only views may repeat elements (zero strides broadcast).
#[test]
fn self_overlapping_mutable_views_are_refused() {
    // 2×2 with both strides 1: (0, 1) and (1, 0) are both index 1.
    let err = MatMut::try_with_offset(&mut [0.0f64; 4], 0, 2, 2, 1, 1).unwrap_err();
    assert_eq!(err, LayoutError::SelfOverlap { shape: (2, 2), strides: (1, 1) });
    has_all(&err.to_string(), &["mutable 2×2 view with strides (rs=1, cs=1)", "alias"]);
    // A zero stride on a dimension longer than 1: every row is the same memory.
    let err = MatMut::try_with_offset(&mut [0.0f64; 4], 0, 3, 2, 0, 1).unwrap_err();
    has_all(&err.to_string(), &["3×2", "rs=0, cs=1", "no zero stride"]);
    // Rows 2 apart but 3 elements long: row 1 starts inside row 0.
    let m = panic_message(|| {
        MatMut::new(&mut [0.0f32; 8], 3, 3, 2, 1);
    });
    has_all(&m, &["mutable 3×3 view with strides (rs=2, cs=1)", "alias"]);
    // The test is sufficient, not necessary (documented on `SelfOverlap`): strides (2, 3)
    // on 3×3 reach 2i + 3j ∈ {0, 2, 3, 4, 5, 6, 7, 8, 10}, all distinct, yet the rows'
    // extent 2·2 = 4 exceeds the column step 3, so the view is refused as "may alias".
    let err = MatMut::try_with_offset(&mut [0.0f64; 11], 0, 3, 3, 2, 3).unwrap_err();
    has_all(&err.to_string(), &["3×3", "rs=2, cs=3", "may alias"]);
    // The same strides are fine read-only, and a zero stride on a length-1 dimension is
    // fine for a mutable view.
    assert!(MatRef::try_with_offset(&[0.0f32; 8], 0, 3, 3, 2, 1).is_ok());
    assert!(MatMut::try_with_offset(&mut [0.0f32; 5], 0, 1, 5, 0, 1).is_ok());
    // gemm's C is a `MatMut` borrowed mutably, so it can overlap neither A nor B: the
    // borrow checker refuses `gemm(.., MatRef::row_major(&c, ..), .., MatMut::row_major(&mut c, ..))`
    // at compile time; the raw door leaves that to its `# Safety` contract.
}

// ---------------------------------------------------------------------------------------
// gemm / try_gemm / gemm_with.
// ---------------------------------------------------------------------------------------

/// A shape mismatch (inner dimension, C's rows, C's columns) is a `ShapeMismatch` error
/// naming all three shapes; `gemm` panics with the same text; nothing is written to C.
#[test]
fn gemm_shape_mismatches_name_all_three_shapes() {
    let a = [1.0f64; 6];
    let b = [1.0f64; 12];
    // Inner: A 2×3, B 4×3 (k 3 vs 4); C's rows: 3×3 for m = 2; C's columns: 2×2 for n = 3.
    type Dims = (usize, usize);
    let cases: [(Dims, Dims, Dims); 3] =
        [((2, 3), (4, 3), (2, 3)), ((2, 3), (3, 3), (3, 3)), ((2, 3), (3, 3), (2, 2))];
    for (sa, sb, sc) in cases {
        let mut c = vec![7.0f64; sc.0 * sc.1];
        let err = kernels::try_gemm(
            1.0,
            MatRef::row_major(&a, sa.0, sa.1),
            MatRef::row_major(&b[..sb.0 * sb.1], sb.0, sb.1),
            0.0,
            MatMut::row_major(&mut c, sc.0, sc.1),
            Par::Seq,
        )
        .unwrap_err();
        assert_eq!(err, GemmError::ShapeMismatch { a: sa, b: sb, c: sc });
        let want = format!(
            "gemm shape mismatch: A is {}×{}, B is {}×{}, C is {}×{} (need A m×k, B k×n, C m×n)",
            sa.0, sa.1, sb.0, sb.1, sc.0, sc.1
        );
        assert_eq!(err.to_string(), want);
        assert!(c.iter().all(|&v| v == 7.0), "C was written before the check");
        let m = panic_message(|| {
            let mut c = vec![0.0f64; sc.0 * sc.1];
            kernels::gemm(
                1.0,
                MatRef::row_major(&a, sa.0, sa.1),
                MatRef::row_major(&b[..sb.0 * sb.1], sb.0, sb.1),
                0.0,
                MatMut::row_major(&mut c, sc.0, sc.1),
                Par::Seq,
            );
        });
        assert_eq!(m, want);
    }
}

/// NaN and inf in the operands follow IEEE arithmetic (and BLAS's short cuts), on every
/// kernel path and algorithm:
/// - a NaN in A(0, 0) makes row 0 of C NaN (NaN·b + … = NaN), the other rows exact;
/// - inf·0 = NaN (no skipping of zero factors): A(0, 0) = inf against B(0, 0) = 0 gives
///   C(0, 0) = NaN, against B(0, 1) = 1 gives C(0, 1) = inf + finite = inf;
/// - α = NaN (not 0, so the product is computed) gives NaN everywhere: NaN·x = NaN;
/// - β = NaN with β ≠ 0 reads C: C ← α·A·B + NaN·C = NaN;
/// - α = 0 does not read A (BLAS, not IEEE: 0·inf would be NaN): C ← β·C exactly;
/// - β = 0 does not read C: NaN in C never leaks.
#[test]
fn gemm_nan_and_inf_follow_ieee_and_blas() {
    // A 3×4 (k = 4 reaches the direct and packed tiles as well as the gemv kernels for the
    // 1-column products), small integers, so finite results are exact.
    let (m, k, n) = (3, 4, 2);
    let a0: Vec<f64> = (0..m * k).map(|i| (i % 5) as f64 - 2.0).collect();
    let b0: Vec<f64> = vec![0.0, 1.0, 1.0, 2.0, -1.0, 1.0, 2.0, 0.0]; // B(0, 0) = 0, B(0, 1) = 1
    let exact = |a: &[f64], i: usize, j: usize| (0..k).map(|p| a[i * k + p] * b0[p * n + j]).sum::<f64>();
    for cfg in configs() {
        let run = |a: &[f64], alpha: f64, beta: f64, c: &mut [f64]| {
            kernels::gemm_with(
                &cfg,
                alpha,
                MatRef::row_major(a, m, k),
                MatRef::row_major(&b0, k, n),
                beta,
                MatMut::row_major(c, m, n),
            )
            .unwrap();
        };
        // NaN in A(0, 0); β = 0 over a C full of NaN.
        let mut a = a0.clone();
        a[0] = f64::NAN;
        let mut c = vec![f64::NAN; m * n];
        run(&a, 1.0, 0.0, &mut c);
        assert!(c[0].is_nan() && c[1].is_nan(), "{cfg:?}: row 0 must be NaN: {c:?}");
        for i in 1..m {
            for j in 0..n {
                assert_eq!(c[i * n + j], exact(&a0, i, j), "{cfg:?} ({i}, {j}): β = 0 must not read C");
            }
        }
        // inf in A(0, 0): inf·0 = NaN in column 0, inf·1 + finite = +inf in column 1.
        let mut a = a0.clone();
        a[0] = f64::INFINITY;
        let mut c = vec![0.0; m * n];
        run(&a, 1.0, 0.0, &mut c);
        assert!(c[0].is_nan(), "{cfg:?}: inf·0 must be NaN, got {}", c[0]);
        assert_eq!(c[1], f64::INFINITY, "{cfg:?}");
        assert_eq!(c[2], exact(&a0, 1, 0), "{cfg:?}");
        // α = NaN: every entry NaN.
        let mut c = vec![0.0; m * n];
        run(&a0, f64::NAN, 0.0, &mut c);
        assert!(c.iter().all(|v| v.is_nan()), "{cfg:?}: α = NaN: {c:?}");
        // β = NaN reads C: NaN everywhere.
        let mut c = vec![1.0; m * n];
        run(&a0, 1.0, f64::NAN, &mut c);
        assert!(c.iter().all(|v| v.is_nan()), "{cfg:?}: β = NaN: {c:?}");
        // α = 0 with inf in A: C ← 3·C exactly, A unread.
        let mut c: Vec<f64> = (0..m * n).map(|i| i as f64).collect();
        run(&a, 0.0, 3.0, &mut c);
        assert!(c.iter().enumerate().all(|(i, &v)| v == 3.0 * i as f64), "{cfg:?}: α = 0: {c:?}");
    }
}

/// Dimensions far beyond memory are legal for read-only operands with zero strides (one
/// element repeated) up to 2⁶³ (the largest extent whose reach (d − 1)·s is an `isize`), so
/// the work m·n·k is the caller's choice, and internal counts must not overflow: the
/// thread and path heuristics saturate. α = 0 short-cuts a product with k = 2⁶³ (m·n·k =
/// 6·2⁶³ overflows usize); a k of 3·10⁵ over single elements is computed exactly
/// (Σ 1·1 = k, exact in f64 below 2⁵³).
#[test]
fn gemm_huge_dimensions_through_zero_strides() {
    let one = [1.0f64];
    let huge = 1usize << 63;
    let huge_k = MatRef::new(&one, 2, huge, 0, 0);
    let huge_b = MatRef::new(&one, huge, 3, 0, 0);
    let mut c = [1.0f64; 6];
    kernels::gemm(0.0, huge_k, huge_b, -1.0, MatMut::row_major(&mut c, 2, 3), Par::All);
    assert_eq!(c, [-1.0; 6]);
    // One more than 2⁶³ cannot be described: its reach overflows isize, named.
    let m = panic_message(|| {
        MatRef::new(&one, 2, usize::MAX, 0, 0);
    });
    has_all(&m, &[&format!("2×{} view with strides (rs=0, cs=0)", usize::MAX), "slice of length 1"]);
    let k = if cfg!(miri) { 3_000 } else { 300_000 }; // (Miri interprets: fewer steps)
    let a = MatRef::new(&one, 2, k, 0, 0);
    let b = MatRef::new(&one, k, 3, 0, 0);
    let mut c = [f64::NAN; 6];
    kernels::gemm(1.0, a, b, 0.0, MatMut::row_major(&mut c, 2, 3), Par::All);
    assert_eq!(c, [k as f64; 6]);
}

// ---------------------------------------------------------------------------------------
// kernels::ew.
// ---------------------------------------------------------------------------------------

/// Every slice function with more than one slice checks the lengths first and panics with
/// `kernels::ew::<fn>: <a> has <n> elements but <b> has <m>`; nothing is written.
#[test]
fn ew_length_mismatches_are_named() {
    let x = [1.0f64; 3];
    let mut out2 = [0.0f64; 2];
    type Case<'a> = (&'a str, Box<dyn FnOnce() + 'a>, [&'a str; 2]);
    let cases: Vec<Case> = vec![
        ("map", Box::new(|| ew::map(Unary::Exp, &[1.0f32; 3], &mut [0.0; 2])), ["x has 3", "out has 2"]),
        ("zip", Box::new(|| ew::zip(Binary::Add, &x, &[1.0; 4], &mut [0.0; 3])), ["a has 3", "b has 4"]),
        ("zip", Box::new(|| ew::zip(Binary::Mul, &x, &x, &mut [0.0; 5])), ["a has 3", "out has 5"]),
        (
            "zip_inplace",
            Box::new(|| ew::zip_inplace(Binary::Sub, &mut [0.0f32; 2], &[1.0; 3])),
            ["a has 2", "b has 3"],
        ),
        (
            "zip_scalar",
            Box::new(|| ew::zip_scalar(Binary::Div, &x, 2.0, &mut [0.0; 1])),
            ["a has 3", "out has 1"],
        ),
        (
            "scalar_zip",
            Box::new(|| ew::scalar_zip(Binary::Pow, 2.0, &x, &mut [0.0; 4])),
            ["b has 3", "out has 4"],
        ),
        ("axpy", Box::new(|| ew::axpy(2.0, &x, &mut [0.0; 2])), ["x has 3", "y has 2"]),
        (
            "dot",
            Box::new(|| {
                let _ = ew::dot(&[1.0f32; 3], &[1.0; 2]);
            }),
            ["x has 3", "y has 2"],
        ),
        (
            "tanh_backward",
            Box::new(|| ew::tanh_backward(&x, &[0.0; 2], &mut [0.0; 3])),
            ["g has 3", "y has 2"],
        ),
        (
            "sigmoid_backward",
            Box::new(|| ew::sigmoid_backward(&x, &x, &mut [0.0; 2])),
            ["g has 3", "out has 2"],
        ),
        (
            "relu_backward",
            Box::new(|| ew::relu_backward(&x, &[0.0; 4], &mut [0.0; 3])),
            ["g has 3", "x has 4"],
        ),
        ("softmax_rows", Box::new(|| ew::softmax_rows(&x, 3, &mut [0.0; 6])), ["x has 3", "out has 6"]),
        (
            "log_softmax_rows",
            Box::new(|| ew::log_softmax_rows(&x, 3, &mut [0.0; 2])),
            ["x has 3", "out has 2"],
        ),
        (
            "softmax_backward_rows",
            Box::new(|| ew::softmax_backward_rows(&x, &[0.0; 6], 3, &mut [0.0; 3])),
            ["g has 3", "y has 6"],
        ),
        (
            "log_softmax_backward_rows",
            Box::new(|| ew::log_softmax_backward_rows(&x, &x, 3, &mut [0.0; 1])),
            ["g has 3", "out has 1"],
        ),
        (
            "sum_rows",
            Box::new(|| ew::sum_rows(&[1.0f64; 6], 3, &mut out2[..1])),
            ["out has 1", "the row count of x has 2"],
        ),
        ("sum_cols", Box::new(|| ew::sum_cols(&[1.0f64; 6], 3, &mut [0.0; 2])), ["out has 2", "cols has 3"]),
    ];
    for (name, f, fragments) in cases {
        let m = panic_message(f);
        has_all(&m, &[&format!("kernels::ew::{name}:"), fragments[0], fragments[1]]);
    }
    // A matrix that is not a whole number of rows, and zero columns with elements.
    let m = panic_message(|| ew::softmax_rows(&[1.0f32; 7], 2, &mut [0.0; 7]));
    has_all(&m, &["kernels::ew::softmax_rows", "7 elements is not a whole number of rows of 2 columns"]);
    let m = panic_message(|| ew::sum_rows(&[1.0f64; 4], 0, &mut []));
    has_all(&m, &["kernels::ew::sum_rows", "cols is 0 but the matrix has 4 elements"]);
    let m = panic_message(|| ew::log_softmax_backward_rows(&[1.0f64; 4], &[1.0; 4], 0, &mut [0.0; 4]));
    has_all(&m, &["cols is 0 but the matrix has 4 elements"]);
    // The output was not touched by the refused sum_rows above.
    assert_eq!(out2, [0.0; 2]);
}

/// Empty slices are valid everywhere and give the empty result, or the reduction's
/// identity: Σ∅ = 0, Σ∅·∅ = 0, max ∅ = −inf, min ∅ = +inf, argmax ∅ = None, ‖∅‖ = 0,
/// ln Σ∅ exp = ln 0 = −inf; row functions on zero rows write nothing; the column sums of
/// zero rows are 0 (written over whatever `out` held).
#[test]
fn ew_empty_slices_give_identities() {
    fn check<T: Element>() {
        let e: [T; 0] = [];
        let nan = T::from_f64(f64::NAN);
        for isa in Isa::available() {
            on(isa, || {
                let mut out: [T; 0] = [];
                ew::map(Unary::Ln, &e, &mut out);
                ew::map_inplace(Unary::Exp, &mut out);
                ew::zip(Binary::Atan2, &e, &e, &mut out);
                ew::zip_inplace(Binary::Add, &mut out, &e);
                ew::zip_scalar(Binary::Mul, &e, T::ONE, &mut out);
                ew::scalar_zip(Binary::Div, T::ONE, &e, &mut out);
                ew::axpy(T::ONE, &e, &mut out);
                ew::scale(T::ONE, &mut out);
                ew::tanh_backward(&e, &e, &mut out);
                ew::sigmoid_backward(&e, &e, &mut out);
                ew::relu_backward(&e, &e, &mut out);
                assert_eq!(ew::sum(&e), T::ZERO);
                assert_eq!(ew::dot(&e, &e), T::ZERO);
                assert_eq!(ew::max(&e).to_f64(), f64::NEG_INFINITY);
                assert_eq!(ew::min(&e).to_f64(), f64::INFINITY);
                assert_eq!(ew::argmax(&e), None);
                assert_eq!(ew::norm2(&e), T::ZERO);
                assert_eq!(ew::logsumexp(&e).to_f64(), f64::NEG_INFINITY);
                for cols in [0, 3] {
                    ew::softmax_rows(&e, cols, &mut out);
                    ew::log_softmax_rows(&e, cols, &mut out);
                    ew::softmax_backward_rows(&e, &e, cols, &mut out);
                    ew::log_softmax_backward_rows(&e, &e, cols, &mut out);
                    ew::sum_rows(&e, cols, &mut out);
                }
                let mut cs = [nan; 3];
                ew::sum_cols(&e, 3, &mut cs);
                assert_eq!(cs, [T::ZERO; 3], "{isa}: column sums of zero rows");
            });
        }
    }
    check::<f32>();
    check::<f64>();
}

/// NaN and inf through the slice functions, as IEEE arithmetic on the documented formulas
/// (elementwise special values against `std` are `ew.rs::special_values_follow_std`; sums
/// `ew.rs::non_finite_sums_follow_ieee`; max/min/argmax `ew.rs::max_min_argmax`):
/// - binary ops: NaN + 1 = NaN, inf − inf = NaN, 1/0 = inf, 0/0 = NaN, max(NaN, 1) = 1
///   (NaN-ignoring, as `f64::max`);
/// - axpy: y + 2·inf = inf, y + 0·inf = NaN (0·inf);
/// - logsumexp: m + ln Σ exp(x − m) with m = max: m = +inf returns +inf, a NaN returns NaN,
///   all −inf returns −inf (m itself);
/// - softmax of a row holding +inf: exp(inf − inf) = exp(NaN) = NaN, so the row sum and
///   every entry are NaN; a row of all −inf: x − m = −inf − (−inf) = NaN, all NaN; a row
///   [−inf, 0]: m = 0, exp = [0, 1], softmax [0, 1] and log-softmax [−inf, 0] (exact);
///   other rows are unaffected.
/// - norm2: +inf if an entry is ±inf, NaN if one is NaN (NaN wins over inf).
#[test]
fn ew_nan_and_inf_follow_ieee() {
    fn check<T: Element>() {
        let f = T::from_f64;
        let (nan, inf) = (f(f64::NAN), f(f64::INFINITY));
        let is_nan = |v: T| v.to_f64().is_nan();
        for isa in Isa::available() {
            on(isa, || {
                let mut y = [T::ZERO; 4];
                ew::zip(Binary::Add, &[nan, inf, f(1.0), T::ZERO], &[f(1.0), -inf, T::ZERO, T::ZERO], &mut y);
                assert!(is_nan(y[0]) && is_nan(y[1]) && y[2] == f(1.0) && y[3] == T::ZERO, "{isa}");
                ew::zip(Binary::Div, &[f(1.0), T::ZERO, -f(1.0), f(4.0)], &[T::ZERO; 4], &mut y);
                assert!(y[0] == inf && is_nan(y[1]) && y[2] == -inf && y[3] == inf, "{isa}");
                ew::zip(Binary::Max, &[nan, f(2.0), nan, -inf], &[f(1.0), nan, nan, inf], &mut y);
                assert!(y[0] == f(1.0) && y[1] == f(2.0) && is_nan(y[2]) && y[3] == inf, "{isa}");
                let mut y = [f(1.0), f(1.0)];
                ew::axpy(f(2.0), &[inf, f(1.0)], &mut y);
                assert_eq!(y, [inf, f(3.0)], "{isa}");
                let mut y = [f(1.0)];
                ew::axpy(T::ZERO, &[inf], &mut y);
                assert!(is_nan(y[0]), "{isa}: 0·inf");
                assert_eq!(ew::logsumexp(&[inf, f(1.0)]), inf, "{isa}");
                assert!(is_nan(ew::logsumexp(&[f(1.0), nan, inf])), "{isa}");
                assert_eq!(ew::logsumexp(&[-inf, -inf]), -inf, "{isa}");
                // Rows: [inf, 1] | [−inf, −inf] | [−inf, 0] | [0, 0].
                let x = [inf, f(1.0), -inf, -inf, -inf, T::ZERO, T::ZERO, T::ZERO];
                let mut sm = [T::ZERO; 8];
                ew::softmax_rows(&x, 2, &mut sm);
                assert!(sm[..4].iter().all(|&v| is_nan(v)), "{isa}: {:?}", sm.map(|v| v.to_f64()));
                assert_eq!(&sm[4..], &[T::ZERO, f(1.0), f(0.5), f(0.5)], "{isa}");
                let mut lsm = [T::ZERO; 8];
                ew::log_softmax_rows(&x, 2, &mut lsm);
                assert!(lsm[..4].iter().all(|&v| is_nan(v)), "{isa}");
                assert_eq!(lsm[4], -inf, "{isa}");
                assert_eq!(lsm[5], T::ZERO, "{isa}");
                assert_eq!(ew::norm2(&[f(1.0), -inf]), inf, "{isa}");
                assert!(is_nan(ew::norm2(&[inf, nan])), "{isa}");
            });
        }
    }
    check::<f32>();
    check::<f64>();
}

/// Overlapping output is not expressible through the slice API: `out: &mut [T]` cannot
/// alias an input `&[T]` in safe Rust (the borrow checker refuses
/// `ew::map(op, &v, &mut v)` at compile time). In-place use goes through `map_inplace`,
/// `zip_inplace`, `axpy`, `scale`, and gives the out-of-place result bit for bit — also
/// for NaN and inf inputs.
#[test]
fn ew_in_place_forms_equal_out_of_place_on_special_values() {
    let x = [f64::NAN, f64::INFINITY, -0.0, 2.5, f64::NEG_INFINITY, 1e308];
    let b = [1.0, f64::INFINITY, 0.0, -2.0, f64::NAN, 10.0];
    // NaN's sign and payload are unspecified (Rust and IEEE 754 leave them open; Miri
    // randomises them), so every NaN compares as one canonical pattern.
    let bits =
        |v: &[f64]| v.iter().map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() }).collect::<Vec<_>>();
    for isa in Isa::available() {
        on(isa, || {
            for op in [Unary::Exp, Unary::Sqrt, Unary::Recip, Unary::Tanh, Unary::Square] {
                let mut out = [0.0; 6];
                ew::map(op, &x, &mut out);
                let mut inplace = x;
                ew::map_inplace(op, &mut inplace);
                assert_eq!(bits(&inplace), bits(&out), "{isa} {op:?}");
            }
            for op in [Binary::Add, Binary::Mul, Binary::Div, Binary::Min] {
                let mut out = [0.0; 6];
                ew::zip(op, &x, &b, &mut out);
                let mut inplace = x;
                ew::zip_inplace(op, &mut inplace, &b);
                assert_eq!(bits(&inplace), bits(&out), "{isa} {op:?}");
            }
        });
    }
}
