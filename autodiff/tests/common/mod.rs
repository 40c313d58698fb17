//! Shared test helpers: a seeded generator, random tensors, a tolerance check.
#![allow(dead_code)] // each test binary uses a different subset

use autodiff::Tensor;

pub mod cases;

/// f64 machine epsilon (2⁻⁵²): one ulp of a number in [1, 2), so a result within `n` ulps
/// of the exact value is within `n·EPS` of it relatively.
pub const EPS: f64 = f64::EPSILON;

/// SplitMix64 (Steele, Lea, Flood 2014): seeded, so every run draws the same numbers.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi) (53 random bits).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }

    /// Uniform integer in lo..=hi.
    pub fn int(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// A tensor of `shape` with independent values uniform in [lo, hi).
    pub fn tensor(&mut self, shape: &[usize], lo: f64, hi: f64) -> Tensor<f64> {
        let n = shape.iter().product();
        Tensor::from_vec((0..n).map(|_| self.uniform(lo, hi)).collect(), shape)
    }
}

/// Shorthand for `Tensor::from_vec(data.to_vec(), shape)`.
pub fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(data.to_vec(), shape)
}

/// Asserts `|aᵢ − bᵢ| ≤ atol + rtol·|bᵢ|` for every i (`b` is the reference; equal values,
/// infinities included, and NaN against NaN pass). On failure names the worst index.
#[track_caller]
pub fn close(a: &[f64], b: &[f64], rtol: f64, atol: f64) {
    assert_eq!(a.len(), b.len(), "close: lengths differ ({} vs {})", a.len(), b.len());
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        if x == y || (x.is_nan() && y.is_nan()) {
            continue;
        }
        let excess = (x - y).abs() / (atol + rtol * y.abs());
        // NaN (a NaN on one side or inf − inf) counts as the worst possible.
        let excess = if excess.is_nan() { f64::INFINITY } else { excess };
        if excess > 1.0 && worst.is_none_or(|(_, w)| excess > w) {
            worst = Some((i, excess));
        }
    }
    if let Some((i, e)) = worst {
        panic!(
            "close: worst at index {i}: got {:e}, want {:e} (|diff| = {:e}, {e:.3}× the tolerance \
             atol {atol:e} + rtol {rtol:e}·|want|)\n got: {a:?}\nwant: {b:?}",
            a[i],
            b[i],
            (a[i] - b[i]).abs()
        );
    }
}

#[path = "../../../kernels/tests/panics/mod.rs"]
mod panics;
#[allow(unused_imports)] // each test binary uses a different subset
pub use panics::{has_all, panic_msg};

/// Resident memory in bytes, from /proc/self/statm (Linux), `None` elsewhere.
pub fn rss_bytes() -> Option<u64> {
    let pages: u64 =
        std::fs::read_to_string("/proc/self/statm").ok()?.split_whitespace().nth(1)?.parse().ok()?;
    // The page size: the first mapping's KernelPageSize in smaps (4 KiB if absent).
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let kib = smaps
        .lines()
        .find_map(|l| {
            l.strip_prefix("KernelPageSize:")?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
        .unwrap_or(4);
    Some(pages * kib * 1024)
}
