//! GEMM against the naive reference on fuzzer-chosen problems: m, n, k, layouts (negative,
//! zero, padded and neither-unit strides), α and β (including the BLAS special values),
//! instruction set, algorithm, blocking, thread count, precision, and the raw or safe door.
//! Inputs are small integers, so the comparison is exact (see kernels/tests/common); C's
//! stride gaps start as NaN and must stay untouched, and β = 0 must overwrite NaN in C.
#![no_main]

#[path = "../../kernels/tests/common/mod.rs"]
mod common;

use common::{Layout, Operand, reference};
use kernels::{Blocking, Config, Element, Isa, Par, Path};
use libfuzzer_sys::fuzz_target;

mod bytes;
use bytes::Bytes;

fn layout(bytes: &mut Bytes, write: bool) -> Layout {
    let pad = 1 + bytes.next() as usize % 7;
    let all = [
        Layout::RowMajor,
        Layout::ColMajor,
        Layout::PaddedRows(pad),
        Layout::PaddedCols(pad),
        Layout::Strided,
        Layout::NegRows,
        Layout::NegCols,
        Layout::ZeroRows,
    ];
    // C is written, so it may not repeat elements (no zero stride).
    bytes.pick(if write { &all[..7] } else { &all })
}

fn run<T: Element>(bytes: &mut Bytes, cfg: Config, raw: bool) {
    // Up to 48 in each dimension: past every micro-tile (≤ 32×16) and, with the tiny
    // blockings below, across many MC/KC/NC blocks; large enough for partial panels.
    let (m, n, k) = (bytes.next() as usize % 49, bytes.next() as usize % 49, bytes.next() as usize % 49);
    let (la, lb, lc) = (layout(bytes, false), layout(bytes, false), layout(bytes, true));
    let specials = [(1.0, 0.0), (0.0, 1.0), (0.0, 0.0), (-2.0, 1.0), (0.5, -1.0), (1.0, 1.0)];
    let (alpha, beta) = bytes.pick(&specials);
    let mut val = || bytes.next() as f64 % 7.0 - 3.0;
    let mut a = Operand::<T>::new(m, k, la, |_, _| val());
    let mut b = Operand::<T>::new(k, n, lb, |_, _| val());
    let mut c = Operand::<T>::new(m, n, lc, |_, _| if beta == 0.0 { f64::NAN } else { val() });
    // The expected result, from finite A and B (β = 0 ignores C's NaN: BLAS).
    let (want, _) = reference(alpha, &a, &b, beta, &c);
    if alpha == 0.0 {
        // α = 0 must not read A or B: NaN there would show in C.
        a.buf.fill(T::from_f64(f64::NAN));
        b.buf.fill(T::from_f64(f64::NAN));
    }
    let gaps = c.gaps();
    if raw {
        raw_door(alpha, &a, &b, beta, &mut c);
    } else {
        kernels::gemm_with(&cfg, T::from_f64(alpha), a.view(), b.view(), T::from_f64(beta), c.view_mut())
            .unwrap();
    }
    for i in 0..m {
        for j in 0..n {
            // Integer inputs: every partial sum is an integer below 2²⁴, exact in f32 and f64.
            assert_eq!(
                c.get(i, j),
                want[i * n + j],
                "C[{i},{j}]: m={m} n={n} k={k} α={alpha} β={beta} raw={raw} {cfg:?}"
            );
        }
    }
    assert!(gaps.iter().all(|&g| c.buf[g].to_f64().is_nan()), "C's gaps were written: {cfg:?} raw={raw}");
}

/// The matrixmultiply-compatible door (it runs with the default configuration).
fn raw_door<T: Element>(alpha: f64, a: &Operand<T>, b: &Operand<T>, beta: f64, c: &mut Operand<T>) {
    let (m, n, k) = (a.rows, b.cols, a.cols);
    let (pa, pb) = (a.buf.as_ptr().wrapping_add(a.offset), b.buf.as_ptr().wrapping_add(b.offset));
    let pc = c.buf.as_mut_ptr().wrapping_add(c.offset);
    // SAFETY: each operand's buffer holds every element its dimensions and strides reach
    // from the offset (Operand::new sizes it so); C's elements are distinct (no zero
    // stride for C) and C's buffer is separate from A's and B's; T is f32 or f64, checked
    // by TypeId before each cast.
    unsafe {
        if let (Some(pa), Some(pb), Some(pc)) =
            (cast::<T, f32>(pa), cast::<T, f32>(pb), cast_mut::<T, f32>(pc))
        {
            kernels::sgemm(
                m,
                k,
                n,
                alpha as f32,
                pa,
                a.rs,
                a.cs,
                pb,
                b.rs,
                b.cs,
                beta as f32,
                pc,
                c.rs,
                c.cs,
            );
        } else if let (Some(pa), Some(pb), Some(pc)) =
            (cast::<T, f64>(pa), cast::<T, f64>(pb), cast_mut::<T, f64>(pc))
        {
            kernels::dgemm(m, k, n, alpha, pa, a.rs, a.cs, pb, b.rs, b.cs, beta, pc, c.rs, c.cs);
        }
    }
}

fn cast<T: 'static, U: 'static>(p: *const T) -> Option<*const U> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<U>()).then_some(p as *const U)
}

fn cast_mut<T: 'static, U: 'static>(p: *mut T) -> Option<*mut U> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<U>()).then_some(p as *mut U)
}

fuzz_target!(|data: &[u8]| {
    let mut bytes = Bytes(data);
    let isas = Isa::available();
    let isa = bytes.pick(&isas);
    let path = bytes.pick(&[Path::Auto, Path::Direct, Path::Packed]);
    let par = bytes.pick(&[Par::Seq, Par::Threads(2), Par::Threads(3), Par::All]);
    let tiny = Blocking {
        mc: 1 + bytes.next() as usize % 24,
        kc: 1 + bytes.next() as usize % 24,
        nc: 1 + bytes.next() as usize % 24,
    };
    let blocking = bytes.pick(&[None, Some(tiny)]);
    let cfg = Config { isa, par, path, blocking };
    let flags = bytes.next();
    let raw = flags & 2 != 0;
    if flags & 1 == 0 {
        run::<f32>(&mut bytes, cfg, raw);
    } else {
        run::<f64>(&mut bytes, cfg, raw);
    }
});
