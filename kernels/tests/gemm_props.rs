//! Property tests: random m, n, k in 0..=300, random layouts (row-, column-major, padded,
//! neither-unit, negative and zero strides), every kernel path and algorithm, thread
//! counts, α and β (including the BLAS special values). Integer-valued inputs make the
//! comparison with the reference exact. `PROPTEST_CASES` scales the run.

mod common;

use common::{Layout, Operand, check, miri_or};
use kernels::{Blocking, Config, Isa, Par, Path};
use proptest::prelude::*;

fn layout(write: bool) -> impl Strategy<Value = Layout> {
    let n = if write { Layout::WRITE.len() } else { Layout::READ.len() };
    (0..n).prop_map(move |i| if write { Layout::WRITE[i] } else { Layout::READ[i] })
}

fn config() -> impl Strategy<Value = Config> {
    let isas = Isa::available();
    (
        0..isas.len(),
        prop_oneof![Just(Path::Auto), Just(Path::Direct), Just(Path::Packed)],
        prop_oneof![Just(Par::Seq), Just(Par::Threads(2)), Just(Par::Threads(3))],
        prop::option::of((1usize..80, 1usize..40, 1usize..80)),
    )
        .prop_map(move |(i, path, par, blk)| Config {
            isa: isas[i],
            par,
            path,
            blocking: blk.map(|(mc, kc, nc)| Blocking { mc, kc, nc }),
        })
}

/// (m, n, k) and the integer entries of A (m·k), B (k·n) and C (m·n), row by row.
type Problem = ((usize, usize, usize), Vec<i8>, Vec<i8>, Vec<i8>);

/// Dimensions first, then data of that shape (the proptest book's `prop_flat_map` idiom).
fn problem() -> impl Strategy<Value = Problem> {
    (0usize..=miri_or(300, 24), 0usize..=miri_or(300, 24), 0usize..=miri_or(300, 24)).prop_flat_map(
        |(m, n, k)| {
            let v = |len| prop::collection::vec(-3i8..=3, len);
            (Just((m, n, k)), v(m * k), v(k * n), v(m * n))
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: miri_or(48, 4) as u32, ..ProptestConfig::default() })]

    #[test]
    fn gemm_matches_reference(
        ((m, n, k), av, bv, cv) in problem(),
        la in layout(false), lb in layout(false), lc in layout(true),
        cfg in config(),
        ab in prop_oneof![Just((1.0, 0.0)), Just((0.0, 2.0)), Just((-2.0, 1.0)), Just((0.5, -1.0))],
        double in any::<bool>(),
    ) {
        let (alpha, beta) = ab;
        let at = |v: &[i8], cols: usize, i: usize, j: usize| v[i * cols + j] as f64;
        if double {
            let a = Operand::<f64>::new(m, k, la, |i, j| at(&av, k, i, j));
            let b = Operand::<f64>::new(k, n, lb, |i, j| at(&bv, n, i, j));
            let mut c = Operand::<f64>::new(m, n, lc, |i, j| if beta == 0.0 { f64::NAN } else { at(&cv, n, i, j) });
            check(&cfg, alpha, &a, &b, beta, &mut c, true, "proptest f64");
        } else {
            let a = Operand::<f32>::new(m, k, la, |i, j| at(&av, k, i, j));
            let b = Operand::<f32>::new(k, n, lb, |i, j| at(&bv, n, i, j));
            let mut c = Operand::<f32>::new(m, n, lc, |i, j| if beta == 0.0 { f64::NAN } else { at(&cv, n, i, j) });
            check(&cfg, alpha, &a, &b, beta, &mut c, true, "proptest f32");
        }
    }
}
