//! Every op of autodiff through all three views, first and second order, on shapes drawn
//! from several seeds (the op list is autodiff's own test list, so a new op is checked here
//! as soon as it is tested there).

#[path = "../../autodiff/tests/common/mod.rs"]
mod adcommon;

use adcommon::Rng;
use adcommon::cases::cases;
use autodiff::Tensor;
use verify::{Checker, Mode};

fn inputs(rng: &mut Rng, spec: &[(Vec<usize>, f64, f64)]) -> Vec<Tensor<f64>> {
    spec.iter().map(|(s, lo, hi)| rng.tensor(s, *lo, *hi)).collect()
}

#[test]
fn every_op_passes_all_three_views_in_full() {
    for seed in 0..4 {
        let mut rng = Rng::new(seed);
        for case in cases(&mut rng) {
            let xs = inputs(&mut rng, &case.inputs);
            let r = Checker::new().mode(Mode::Full).check_jacobian_many(&case.f, &xs);
            assert!(r.passed(), "{} (seed {seed}):\n{r}", case.name);
        }
    }
}

#[test]
fn every_op_passes_projections() {
    let mut rng = Rng::new(11);
    for case in cases(&mut rng) {
        let xs = inputs(&mut rng, &case.inputs);
        let r = Checker::new().mode(Mode::Fast { probes: 4 }).seed(3).check_jacobian_many(&case.f, &xs);
        assert!(r.passed(), "{}:\n{r}", case.name);
    }
}

#[test]
fn every_op_passes_second_order() {
    for seed in 0..2 {
        let mut rng = Rng::new(100 + seed);
        for case in cases(&mut rng) {
            let xs = inputs(&mut rng, &case.inputs);
            let r = Checker::new().check_gradgrad_many(&case.f, &xs);
            assert!(r.passed(), "{} (seed {seed}):\n{r}", case.name);
        }
    }
}
