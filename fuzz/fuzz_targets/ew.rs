//! The elementwise and reduction kernels on fuzzer-chosen lengths, alignments (offsets
//! into the buffer), bit patterns (NaN, ±inf, subnormals, ±0 included), instruction sets
//! and thread settings. Checked: no access outside the slices (the sanitizer), each
//! output element depends only on its own inputs (bit-identical to a one-element call,
//! which runs the masked tail), in-place equals out-of-place, correctly rounded ops equal
//! the scalar IEEE operation, and the reductions' documented results.
#![no_main]

use kernels::Element;
use kernels::ew::{self, Binary, Exec, Unary};
use kernels::{Isa, Par};
use libfuzzer_sys::fuzz_target;

mod bytes;
use bytes::Bytes;

/// Element access the target needs beyond `Element`.
trait Float: Element {
    fn from_bytes(b: &mut Bytes) -> Self;
    fn bits(self) -> u64;
    fn nan(self) -> bool;
}

impl Float for f32 {
    fn from_bytes(b: &mut Bytes) -> Self {
        f32::from_bits(u32::from_le_bytes([b.next(), b.next(), b.next(), b.next()]))
    }
    fn bits(self) -> u64 {
        self.to_bits() as u64
    }
    fn nan(self) -> bool {
        self.is_nan()
    }
}

impl Float for f64 {
    fn from_bytes(b: &mut Bytes) -> Self {
        let lo = f32::from_bytes(b).to_bits() as u64;
        let hi = f32::from_bytes(b).to_bits() as u64;
        f64::from_bits(hi << 32 | lo)
    }
    fn bits(self) -> u64 {
        self.to_bits()
    }
    fn nan(self) -> bool {
        self.is_nan()
    }
}

/// Same bits, or both NaN (NaN payloads are not specified).
fn same<T: Float>(x: T, y: T) -> bool {
    x.bits() == y.bits() || (x.nan() && y.nan())
}

const UNARY: [Unary; 16] = [
    Unary::Exp,
    Unary::Ln,
    Unary::Tanh,
    Unary::Sigmoid,
    Unary::Relu,
    Unary::Sqrt,
    Unary::Abs,
    Unary::Neg,
    Unary::Recip,
    Unary::Square,
    Unary::Sin,
    Unary::Cos,
    Unary::Softplus,
    Unary::Gelu,
    Unary::Powi(3),
    Unary::Powf(0.5),
];

const BINARY: [Binary; 8] = [
    Binary::Add,
    Binary::Sub,
    Binary::Mul,
    Binary::Div,
    Binary::Max,
    Binary::Min,
    Binary::Atan2,
    Binary::Pow,
];

/// The correctly rounded unary ops as one IEEE operation (None for the others).
fn exact_unary<T: Float>(op: Unary, x: T) -> Option<T> {
    Some(match op {
        Unary::Sqrt => T::from_f64(x.to_f64().sqrt()), // √ of an f32 in f64 rounds to f32 exactly once (Figueroa)
        Unary::Abs => T::from_f64(x.to_f64().abs()),
        Unary::Neg => -x,
        Unary::Recip => T::ONE / x,
        Unary::Square => x * x,
        _ => return None,
    })
}

fn exact_binary<T: Float>(op: Binary, a: T, b: T) -> Option<T> {
    Some(match op {
        Binary::Add => a + b,
        Binary::Sub => a - b,
        Binary::Mul => a * b,
        Binary::Div => a / b,
        _ => return None,
    })
}

fn unary<T: Float>(bytes: &mut Bytes, x: &[T]) {
    let op = bytes.pick(&UNARY);
    let mut y = vec![T::ZERO; x.len()];
    ew::map(op, x, &mut y);
    let mut inplace = x.to_vec();
    ew::map_inplace(op, &mut inplace);
    for (i, (&xi, &yi)) in x.iter().zip(&y).enumerate() {
        let mut one = [T::ZERO];
        ew::map(op, &[xi], &mut one);
        assert!(same(yi, one[0]), "{op:?}[{i}] of {xi:?}: {yi:?} in the slice, {:?} alone", one[0]);
        assert!(same(yi, inplace[i]), "{op:?}[{i}]: in place differs");
        if let Some(want) = exact_unary(op, xi) {
            assert!(same(yi, want), "{op:?}({xi:?}) = {yi:?}, IEEE gives {want:?}");
        }
    }
}

fn binary<T: Float>(bytes: &mut Bytes, a: &[T], b: &[T]) {
    let op = bytes.pick(&BINARY);
    let s = b.first().copied().unwrap_or(T::ONE);
    let mut y = vec![T::ZERO; a.len()];
    ew::zip(op, a, b, &mut y);
    let mut ys = vec![T::ZERO; a.len()];
    ew::zip_scalar(op, a, s, &mut ys);
    let mut sy = vec![T::ZERO; a.len()];
    ew::scalar_zip(op, s, b, &mut sy);
    let mut inplace = a.to_vec();
    ew::zip_inplace(op, &mut inplace, b);
    for i in 0..a.len() {
        let mut one = [T::ZERO];
        ew::zip(op, &[a[i]], &[b[i]], &mut one);
        assert!(
            same(y[i], one[0]),
            "{op:?}[{i}]({:?}, {:?}): {:?} in the slice, {:?} alone",
            a[i],
            b[i],
            y[i],
            one[0]
        );
        assert!(same(y[i], inplace[i]), "{op:?}[{i}]: in place differs");
        ew::zip(op, &[a[i]], &[s], &mut one);
        assert!(same(ys[i], one[0]), "{op:?}[{i}] with a scalar right operand");
        ew::zip(op, &[s], &[b[i]], &mut one);
        assert!(same(sy[i], one[0]), "{op:?}[{i}] with a scalar left operand");
        if let Some(want) = exact_binary(op, a[i], b[i]) {
            assert!(same(y[i], want), "{op:?}({:?}, {:?}) = {:?}, IEEE gives {want:?}", a[i], b[i], y[i]);
        }
    }
}

fn reductions<T: Float>(x: &[T]) {
    // max/min: NaN if any NaN, else the extreme (−inf/+inf when empty); argmax: the first
    // NaN, else the first element equal to the max.
    let any_nan = x.iter().any(|v| v.nan());
    let (mut hi, mut lo) = (f64::NEG_INFINITY, f64::INFINITY);
    for v in x {
        hi = hi.max(v.to_f64());
        lo = lo.min(v.to_f64());
    }
    let (mx, mn) = (ew::max(x), ew::min(x));
    if any_nan {
        assert!(mx.nan() && mn.nan(), "max/min with a NaN");
        assert!(ew::sum(x).nan(), "sum with a NaN");
    } else {
        assert_eq!(mx.to_f64(), hi, "max");
        assert_eq!(mn.to_f64(), lo, "min");
    }
    let first =
        if any_nan { x.iter().position(|v| v.nan()) } else { x.iter().position(|v| v.to_f64() == hi) };
    assert_eq!(ew::argmax(x), first, "argmax");
    // The compensated sum's bound |s − Σ| ≤ ε|Σ| + γ²ₙ·Σ|x| (ew's docs), checked for f32
    // against an f64 sum, whose own error (≤ n·2⁻⁵³·Σ|x| < 2⁻⁴⁰·Σ|x| for n < 2¹³) is added.
    if T::NAME == "f32" && !any_nan && x.iter().all(|v| v.to_f64().is_finite()) {
        let exact: f64 = x.iter().map(|v| v.to_f64()).sum();
        let abs: f64 = x.iter().map(|v| v.to_f64().abs()).sum();
        let (eps, n) = (f32::EPSILON as f64, x.len() as f64);
        let gamma = n * eps / (1.0 - n * eps);
        let bound = eps * exact.abs() + gamma * gamma * abs + abs * 2f64.powi(-40);
        let got = ew::sum(x).to_f64();
        if exact.abs() < f32::MAX as f64 / 2.0 {
            assert!((got - exact).abs() <= bound, "sum {got} vs {exact} (bound {bound:e}, n = {n})");
        }
    }
}

fn run<T: Float>(bytes: &mut Bytes) {
    // Lengths up to 2 Ki (both below and across every vector width and unroll); offsets
    // 0–15 elements shift the slice's alignment.
    let len = (bytes.next() as usize) << 3 | bytes.next() as usize % 8;
    let (off_a, off_b) = (bytes.next() as usize % 16, bytes.next() as usize % 16);
    let mut draw = |n: usize| -> Vec<T> { (0..n).map(|_| T::from_bytes(bytes)).collect() };
    let a_buf = draw(off_a + len);
    let b_buf = draw(off_b + len);
    let (a, b) = (&a_buf[off_a..], &b_buf[off_b..]);
    match bytes.next() % 3 {
        0 => unary(bytes, a),
        1 => binary(bytes, a, b),
        _ => reductions(a),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut bytes = Bytes(data);
    let isas = Isa::available();
    let exec = Exec { isa: bytes.pick(&isas), par: bytes.pick(&[Par::Seq, Par::Threads(2), Par::All]) };
    let double = bytes.next() & 1 == 1;
    exec.run(|| if double { run::<f64>(&mut bytes) } else { run::<f32>(&mut bytes) });
});
