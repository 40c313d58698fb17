//! The soak: 10⁵ training steps of a small classifier, rotating through the functional API
//! (`value_and_grad_many`), the imperative one (`requires_grad`, `backward`, `grad`,
//! `zero_grad`) and the fused step (`sgd_step`), with resident memory flat after warm-up and no graph node surviving an
//! iteration. The only test in this binary, so the process's RSS is this loop's alone.
//! `AUTODIFF_SOAK_STEPS` changes the count (default 10⁵, about 15 s optimised).

mod common;

use autodiff::{Tensor, live_nodes, sgd_step, value_and_grad_many};
use common::{Rng, rss_bytes};

fn loss(p: &[Tensor<f64>], x: &Tensor<f64>, labels: &[usize]) -> Tensor<f64> {
    (&x.matmul(&p[0]) + &p[1]).tanh().matmul(&p[2]).softmax_cross_entropy(labels)
}

#[test]
fn hundred_thousand_steps_hold_memory_and_graph_flat() {
    let steps: usize =
        std::env::var("AUTODIFF_SOAK_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let warmup = (steps / 10).max(1);
    let mut rng = Rng::new(17);
    let x = rng.tensor(&[16, 8], -1.0, 1.0);
    let labels: Vec<usize> = (0..16).map(|i| i % 4).collect();
    let mut p: Vec<Tensor<f64>> =
        [&[8, 16][..], &[16], &[16, 4]].iter().map(|s| rng.tensor(s, -0.5, 0.5)).collect();
    // The parameters are plain tensors between steps: no graph node belongs to them.
    let idle = live_nodes();
    let step = |i: usize, p: &mut Vec<Tensor<f64>>| -> f64 {
        if i % 3 == 2 {
            sgd_step(|p| loss(p, &x, &labels), p, 0.1).item()
        } else if i.is_multiple_of(3) {
            let (l, g) = value_and_grad_many(|p| loss(p, &x, &labels), p);
            for (p, g) in p.iter_mut().zip(&g) {
                p.axpy_(-0.1, g);
            }
            l.item()
        } else {
            let leaves: Vec<Tensor<f64>> = p.iter().map(|q| q.requires_grad()).collect();
            let l = loss(&leaves, &x, &labels);
            l.backward();
            for (p, leaf) in p.iter_mut().zip(&leaves) {
                p.axpy_(-0.1, &leaf.grad().expect("every parameter reaches the loss"));
                leaf.zero_grad();
            }
            l.item()
        }
    };
    let first = step(0, &mut p);
    for i in 1..warmup {
        step(i, &mut p);
    }
    let before = rss_bytes();
    let mut last = first;
    for i in warmup..steps {
        last = step(i, &mut p);
        // Every node of an iteration (the leaves, each op's node and saved values) is gone
        // once its tensors are: the count is back where it started, every step. (This
        // binary runs no other test, so no other thread makes nodes meanwhile.)
        assert_eq!(live_nodes(), idle, "graph nodes outlived step {i}");
    }
    assert!(last < first, "training should reduce the loss ({first} → {last})");
    let Some(before) = before else {
        eprintln!("soak: /proc/self/statm is unavailable; RSS not checked");
        return;
    };
    let after = rss_bytes().unwrap();
    // A step's working set is a few dozen tensors of ≤ 16×16 f64 (≤ 2 KiB each) and their
    // nodes, freed at its end. Leaking one 2 KiB buffer (or one node with its saved
    // inputs, ≥ 1 KiB) per step would add ≥ 0.9·steps KiB (≥ 88 MiB at 10⁵ steps); the
    // allocator's own fluctuation stays far below 2 MiB. Fewer steps (the env knob) scale
    // the detectable leak down with them, so the bound is min(2 MiB, 0.45 KiB per step).
    let growth = after.saturating_sub(before);
    let bound = (2u64 << 20).min(460 * (steps - warmup) as u64);
    eprintln!("soak: {steps} steps, RSS {before} → {after} bytes, loss {first:.4} → {last:.4}");
    assert!(growth < bound, "RSS grew by {growth} bytes over {} steps (bound {bound})", steps - warmup);
}
