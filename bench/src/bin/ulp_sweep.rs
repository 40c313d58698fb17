//! The exhaustive f32 sweep: every one of the 2³² bit patterns through each f32 unary
//! kernel, against an f64 evaluation of the function (accurate to ~2⁻²⁹ f32 ulp). Prints
//! one line per function (max ulp error, where, how many results are not correctly
//! rounded, NaN mismatches) and writes them as JSON to the path given by `--out`.
//!
//! Run through `cargo xtask ulp-sweep` (minutes per function on 2 cores, so not in CI);
//! `--functions exp,ln` picks functions, `--isa avx2` a path.

#[path = "../../../kernels/tests/support/dd.rs"]
mod dd;

use kernels::Isa;
use kernels::ew::{self, Exec, Unary};
use rayon::prelude::*;
use std::time::Instant;

fn sigmoid(x: f64) -> f64 {
    if x < 0.0 { x.exp() / (1.0 + x.exp()) } else { 1.0 / (1.0 + (-x).exp()) }
}
fn softplus(x: f64) -> f64 {
    if x.is_nan() { x } else { x.max(0.0) + (-x.abs()).exp().ln_1p() }
}
fn gelu(x: f64) -> f64 {
    if x == f64::NEG_INFINITY {
        return -0.0;
    }
    x / (1.0 + (-x * (1.5957691216057308 + 0.07135481627260025 * x * x)).exp())
}

/// A function's name, its op, and its f64 reference.
type Function = (&'static str, Unary, fn(f64) -> f64);

/// The functions the sweep knows.
const FUNCTIONS: [Function; 10] = [
    ("exp", Unary::Exp, f64::exp),
    ("ln", Unary::Ln, f64::ln),
    ("tanh", Unary::Tanh, f64::tanh),
    ("sigmoid", Unary::Sigmoid, sigmoid),
    ("sin", Unary::Sin, f64::sin),
    ("cos", Unary::Cos, f64::cos),
    ("softplus", Unary::Softplus, softplus),
    ("gelu", Unary::Gelu, gelu),
    ("sqrt", Unary::Sqrt, f64::sqrt),
    ("recip", Unary::Recip, |x| 1.0 / x),
];

/// Result over a range of bit patterns.
#[derive(Clone, Copy, Default)]
struct Stats {
    max_ulp: f64,
    worst_bits: u32,
    /// Results more than half an ulp off (not correctly rounded).
    over_half: u64,
    /// NaN where the reference is not NaN, or the reverse.
    nan_mismatch: u64,
}

impl Stats {
    fn merge(self, o: Stats) -> Stats {
        let (max_ulp, worst_bits) = if o.max_ulp > self.max_ulp {
            (o.max_ulp, o.worst_bits)
        } else {
            (self.max_ulp, self.worst_bits)
        };
        Stats {
            max_ulp,
            worst_bits,
            over_half: self.over_half + o.over_half,
            nan_mismatch: self.nan_mismatch + o.nan_mismatch,
        }
    }
}

fn sweep(isa: Isa, op: Unary, reference: fn(f64) -> f64) -> Stats {
    const CHUNK: u64 = 1 << 20;
    (0..(1u64 << 32) / CHUNK)
        .into_par_iter()
        .map(|c| {
            let x: Vec<f32> = (c * CHUNK..(c + 1) * CHUNK).map(|b| f32::from_bits(b as u32)).collect();
            let mut y = vec![0.0f32; x.len()];
            Exec { isa, par: kernels::Par::Seq }.run(|| ew::map(op, &x, &mut y));
            let mut s = Stats::default();
            for (&xi, &yi) in x.iter().zip(&y) {
                let want = reference(xi as f64);
                if want.is_nan() != yi.is_nan() {
                    s.nan_mismatch += 1;
                    continue;
                }
                let e = dd::ulp_err_f32(yi, want);
                if e > 0.5 {
                    s.over_half += 1;
                }
                if e > s.max_ulp {
                    s.max_ulp = e;
                    s.worst_bits = xi.to_bits();
                }
            }
            s
        })
        .reduce(Stats::default, Stats::merge)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let isa = opt("--isa")
        .map(|s| s.parse::<Isa>().unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(Isa::selected);
    let wanted = opt("--functions");
    let mut lines = Vec::new();
    for (name, op, reference) in FUNCTIONS {
        if wanted.as_ref().is_some_and(|w| !w.split(',').any(|f| f.trim() == name)) {
            continue;
        }
        let t = Instant::now();
        let s = sweep(isa, op, reference);
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{name:>9} ({isa}): max {:.3} ulp at {:e} (0x{:08x}); {} of 2^32 results beyond 0.5 ulp; \
             {} NaN mismatches; {secs:.0} s",
            s.max_ulp,
            f32::from_bits(s.worst_bits),
            s.worst_bits,
            s.over_half,
            s.nan_mismatch
        );
        lines.push(serde_json::json!({
            "function": name, "isa": isa.name(), "max_ulp": s.max_ulp,
            "worst_input": f32::from_bits(s.worst_bits), "worst_bits": format!("0x{:08x}", s.worst_bits),
            "not_correctly_rounded": s.over_half, "nan_mismatches": s.nan_mismatch, "seconds": secs,
        }));
    }
    if let Some(out) = opt("--out") {
        std::fs::write(&out, serde_json::to_string_pretty(&lines).expect("json"))
            .expect("write the sweep result");
        println!("wrote {out}");
    }
}
