//! Every op under test, as `Case`s: input shapes and value ranges kept away from kinks and
//! singularities. Shared by `modes.rs` (the modes agree) and `jacobians.rs` (the Jacobians
//! agree).

use autodiff::Tensor;

use super::Rng;

/// A function of several tensors, boxed.
pub type F = Box<dyn Fn(&[Tensor<f64>]) -> Tensor<f64>>;

/// One op under test: its inputs' shapes and value ranges (away from kinks and
/// singularities), and the function.
pub struct Case {
    pub name: String,
    pub inputs: Vec<(Vec<usize>, f64, f64)>,
    pub f: F,
}

/// A `Case` from borrowed shapes.
pub fn case(
    name: &str,
    inputs: &[(&[usize], f64, f64)],
    f: impl Fn(&[Tensor<f64>]) -> Tensor<f64> + 'static,
) -> Case {
    let inputs = inputs.iter().map(|(s, lo, hi)| (s.to_vec(), *lo, *hi)).collect();
    Case { name: name.to_string(), inputs, f: Box::new(f) }
}

/// Every op, on shapes drawn from `rng`; binary ops against every broadcasting partner.
pub fn cases(rng: &mut Rng) -> Vec<Case> {
    let (r, c, k, b) = (rng.int(1, 4), rng.int(1, 4), rng.int(1, 4), rng.int(1, 3));
    let s = [r, c];
    let mut v = vec![];
    type U = fn(&Tensor<f64>) -> Tensor<f64>;
    let unary: [(&str, f64, f64, U); 22] = [
        ("neg", -2.0, 2.0, |x| -x),
        ("exp", -2.0, 2.0, |x| x.exp()),
        ("ln", 0.5, 3.0, |x| x.ln()),
        ("sqrt", 0.5, 3.0, |x| x.sqrt()),
        ("powi3", -2.0, 2.0, |x| x.powi(3)),
        ("powi-2", 0.5, 2.0, |x| x.powi(-2)),
        ("powi0", -2.0, 2.0, |x| x.powi(0)),
        ("powf", 0.5, 3.0, |x| x.powf(2.5)),
        ("sin", -3.0, 3.0, |x| x.sin()),
        ("cos", -3.0, 3.0, |x| x.cos()),
        ("tanh", -2.0, 2.0, |x| x.tanh()),
        ("sigmoid", -3.0, 3.0, |x| x.sigmoid()),
        ("relu", -2.0, 2.0, |x| x.relu()),
        ("abs", -2.0, 2.0, |x| x.abs()),
        ("softplus", -3.0, 3.0, |x| x.softplus()),
        ("square", -2.0, 2.0, |x| x.square()),
        ("recip", 0.5, 3.0, |x| x.recip()),
        ("mul_scalar", -2.0, 2.0, |x| x * 3.0),
        ("scalar_sub", -2.0, 2.0, |x| 2.0 - x),
        ("scalar_div", 0.5, 2.0, |x| 4.0 / x),
        ("transpose", -2.0, 2.0, |x| x.t()),
        ("sum", -2.0, 2.0, |x| x.sum()),
    ];
    for (name, lo, hi, f) in unary {
        v.push(case(name, &[(&s, lo, hi)], move |x| f(&x[0])));
    }
    type B = fn(&Tensor<f64>, &Tensor<f64>) -> Tensor<f64>;
    type Range = (f64, f64);
    let binary: [(&str, Range, Range, B); 8] = [
        ("add", (-2.0, 2.0), (-2.0, 2.0), |a, b| a + b),
        ("sub", (-2.0, 2.0), (-2.0, 2.0), |a, b| a - b),
        ("mul", (-2.0, 2.0), (-2.0, 2.0), |a, b| a * b),
        ("div", (-2.0, 2.0), (0.5, 2.0), |a, b| a / b),
        ("maximum", (-2.0, 2.0), (-2.0, 2.0), |a, b| a.maximum(b)),
        ("minimum", (-2.0, 2.0), (-2.0, 2.0), |a, b| a.minimum(b)),
        ("atan2", (-2.0, 2.0), (0.5, 2.0), |a, b| a.atan2(b)),
        ("pow", (0.5, 2.0), (-2.0, 2.0), |a, b| a.pow(b)),
    ];
    let partners: [&[usize]; 6] = [&[r, c], &[c], &[r, 1], &[1, c], &[], &[1]];
    for (name, ra, rb, f) in binary {
        for p in partners {
            v.push(case(name, &[(&s, ra.0, ra.1), (p, rb.0, rb.1)], move |x| f(&x[0], &x[1])));
            v.push(case(name, &[(p, ra.0, ra.1), (&s, rb.0, rb.1)], move |x| f(&x[0], &x[1])));
        }
    }
    let w = (-2.0, 2.0);
    let mut add = |name: &str, shapes: &[&[usize]], f: fn(&[Tensor<f64>]) -> Tensor<f64>| {
        let inputs: Vec<(&[usize], f64, f64)> = shapes.iter().map(|s| (*s, w.0, w.1)).collect();
        v.push(case(name, &inputs, f));
    };
    add("matmul", &[&[r, k], &[k, c]], |x| x[0].matmul(&x[1]));
    add("matmul_batched", &[&[b, r, k], &[b, k, c]], |x| x[0].matmul(&x[1]));
    add("matmul_3d_2d", &[&[b, r, k], &[k, c]], |x| x[0].matmul(&x[1]));
    // At least 5 rows: the transpose's tiles of 4 rows and a remainder.
    add("transpose_tall", &[&[r + 4, c]], |x| x[0].t());
    add("reshape", &[&[r, c]], |x| x[0].reshape(&[x[0].numel()]));
    add("broadcast_to", &[&[c]], |x| x[0].broadcast_to(&[3, x[0].numel()]));
    add("broadcast_to_3d", &[&[r, 1]], |x| x[0].broadcast_to(&[2, x[0].shape()[0], 3]));
    add("sum_to", &[&[b, r, c]], |x| x[0].sum_to(&[x[0].shape()[1], 1]));
    add("slice", &[&[r, c + 2]], |x| x[0].slice(1, 1..x[0].shape()[1] - 1));
    add("select", &[&[r, c]], |x| x[0].select(0, x[0].shape()[0] - 1));
    add("concat0", &[&[r, c], &[k, c]], |x| Tensor::concat(x, 0));
    add("concat1", &[&[r, c], &[r, k]], |x| Tensor::concat(x, 1));
    add("stack", &[&[r, c], &[r, c]], |x| Tensor::stack(x, 1));
    add("mean", &[&[r, c]], |x| x[0].mean());
    add("sum_axis", &[&[r, c]], |x| x[0].sum_axis(0, false));
    add("mean_axis", &[&[r, c]], |x| x[0].mean_axis(1, true));
    add("max_axis", &[&[r, c]], |x| x[0].max_axis(1, false));
    // Not the last axis: the max's strided path (outer and inner > 1, lanes of length ≥ 2).
    add("max_axis_3d", &[&[2, r + 1, c + 1]], |x| x[0].max_axis(1, true));
    add("max_axis0", &[&[r + 1, c + 1]], |x| x[0].max_axis(0, false));
    add("logsumexp", &[&[r, c]], |x| x[0].logsumexp(1, false));
    add("softmax", &[&[r, c]], |x| x[0].softmax(1));
    add("softmax0", &[&[r, c]], |x| x[0].softmax(0));
    add("log_softmax", &[&[r, c]], |x| x[0].log_softmax(1));
    add("log_softmax0", &[&[r, c]], |x| x[0].log_softmax(0));
    add("mse_loss", &[&[r, c], &[r, c]], |x| x[0].mse_loss(&x[1]));
    add("softmax_cross_entropy", &[&[r, c]], |x| {
        let labels: Vec<usize> = (0..x[0].shape()[0]).map(|i| i % x[0].shape()[1]).collect();
        x[0].softmax_cross_entropy(&labels)
    });
    v.push(case("prod", &[(&s, 0.5, 1.5)], |x| x[0].prod()));
    v
}
