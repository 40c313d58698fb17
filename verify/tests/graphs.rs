//! Random expression graphs (depth ≤ 6, the whole op set) through every view: the checker
//! must pass every correct graph (no false alarms) in full and fast mode, in f64 and in f32
//! against f64 finite differences, and at second order. `VERIFY_CASES=N` (or
//! `cargo xtask verify --cases N`) runs a longer soak.

mod common;

use autodiff::Tensor;
use common::{Graph, cases, graph, graph2};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use verify::{Checker, Mode};

fn config(default: u32) -> Config {
    // Rejections (points too close to a kink) are redrawn; a well-conditioned draw is the
    // common case, so the cap is generous rather than tight.
    Config {
        cases: cases(default),
        max_global_rejects: cases(default).saturating_mul(100),
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(common::seed()),
        ..Config::default()
    }
}

fn f(g: &Graph) -> impl Fn(&[Tensor<f64>]) -> Tensor<f64> + '_ {
    move |xs| g.expr.eval(xs, None)
}

proptest! {
    #![proptest_config(config(192))]

    /// Full Jacobians: jacrev = jacfwd = finite differences, entry by entry, with the
    /// structural checks.
    #[test]
    fn full_jacobians_agree(g in graph(6)) {
        let r = Checker::new().mode(Mode::Full).localize(false).check_jacobian_many(f(&g), &g.inputs);
        prop_assert!(r.passed(), "{r}\n{:?}", g.expr);
    }

    /// Projections: ⟨Ju, v⟩ (forward) = ⟨u, Jᵀv⟩ (reverse) = vᵀ·(finite differences along u).
    #[test]
    fn projections_agree(g in graph(6), seed in any::<u64>()) {
        let r = Checker::new().mode(Mode::Fast { probes: 3 }).seed(seed).localize(false).check_jacobian_many(f(&g), &g.inputs);
        prop_assert!(r.passed(), "{r}\n{:?}", g.expr);
    }

    /// f32 rules against f64 finite differences of the same graph.
    #[test]
    fn f32_rules_agree_with_f64_differences(g in graph(6)) {
        let r = Checker::new().localize(false).check_jacobian_in_f64(&g, &g.inputs::<f32>());
        prop_assert!(r.passed(), "{r}\n{:?}", g.expr);
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// Hessians of the summed graph in x0: symmetric, fwd-over-rev = rev-over-rev = finite
    /// differences of the gradient.
    #[test]
    fn hessians_agree(g in graph2(6)) {
        let rest = g.inputs[1..].to_vec();
        let scalar = |x: &Tensor<f64>| {
            let mut xs = vec![x.clone()];
            xs.extend(rest.iter().cloned());
            g.expr.eval(&xs, None).sum()
        };
        let r = Checker::new().localize(false).check_hessian(scalar, &g.inputs[0]);
        prop_assert!(r.passed(), "{r}\n{:?}", g.expr);
    }
}
