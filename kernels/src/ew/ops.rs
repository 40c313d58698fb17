//! The elementwise loops: one vector op per element code, applied over slices with a
//! masked tail (no scalar epilogue, no out-of-bounds access).

use super::consts::Real;
use super::vmath;
use crate::Element;
use crate::simd::math::{Math, fnma, stream_fence};
use crate::simd::widen::Widen;

/// Op codes (const generic parameters, so each loop is compiled for one op).
pub(crate) mod code {
    pub const EXP: u8 = 0;
    pub const LN: u8 = 1;
    pub const TANH: u8 = 2;
    pub const SIGMOID: u8 = 3;
    pub const RELU: u8 = 4;
    pub const SQRT: u8 = 5;
    pub const ABS: u8 = 6;
    pub const NEG: u8 = 7;
    pub const RECIP: u8 = 8;
    pub const SQUARE: u8 = 9;
    pub const SIN: u8 = 10;
    pub const COS: u8 = 11;
    pub const SOFTPLUS: u8 = 12;
    pub const GELU: u8 = 13;
    pub const POWI: u8 = 14;
    pub const ADD: u8 = 20;
    pub const SUB: u8 = 21;
    pub const MUL: u8 = 22;
    pub const DIV: u8 = 23;
    pub const MAX: u8 = 24;
    pub const MIN: u8 = 25;
    pub const ATAN2: u8 = 26;
    pub const POW: u8 = 27;
    /// `p·a + b`.
    pub const AXPY: u8 = 30;
    /// `a·(1 − b²)`: tanh's backward from the output b.
    pub const TANH_BWD: u8 = 31;
    /// `a·b·(1 − b)`: sigmoid's backward from the output b.
    pub const SIGMOID_BWD: u8 = 32;
    /// `a` where `b > 0`, else 0: relu's backward from the input b.
    pub const RELU_BWD: u8 = 33;
}

/// The scalar parameters an op may take (powi's exponent, axpy's α).
#[derive(Clone, Copy)]
pub(crate) struct Param<T> {
    pub n: i32,
    pub s: T,
}

/// One vector of a unary op.
#[inline(always)]
pub(crate) unsafe fn unary_v<S: Widen, const OP: u8>(x: S::V, p: Param<S::T>) -> S::V
where
    S::T: Real,
{
    use code::*;
    // SAFETY: the caller runs with `S`'s instruction set enabled.
    unsafe {
        let zero = S::zero();
        match OP {
            EXP => vmath::exp::<S>(x),
            LN => vmath::ln::<S>(x),
            TANH => vmath::tanh::<S>(x),
            SIGMOID => vmath::sigmoid::<S>(x),
            RELU => S::select(S::is_nan(x), x, S::select(S::lt(zero, x), x, zero)),
            SQRT => S::sqrt(x),
            ABS => S::abs(x),
            NEG => S::neg(x),
            RECIP => S::div(S::splat(S::T::ONE), x),
            SQUARE => S::mul(x, x),
            SIN => vmath::sincos::<S, false>(x),
            COS => vmath::sincos::<S, true>(x),
            SOFTPLUS => vmath::softplus::<S>(x),
            GELU if S::T::MANT == 23 => {
                // f32 GELU in f64: the tail amplifies the argument's rounding by |2u| (up
                // to ~100), which plain f32 arithmetic cannot absorb within a few ulps.
                let (lo, hi) = S::widen(x);
                S::narrow(vmath::gelu::<S::W>(lo), vmath::gelu::<S::W>(hi))
            }
            GELU => vmath::gelu::<S>(x),
            POWI => vmath::powi::<S>(x, p.n),
            _ => unreachable!("unknown unary op code {OP}"),
        }
    }
}

/// One vector of a binary op.
#[inline(always)]
pub(crate) unsafe fn binary_v<S: Widen, const OP: u8>(a: S::V, b: S::V, p: Param<S::T>) -> S::V
where
    S::T: Real,
{
    use code::*;
    // SAFETY: the caller runs with `S`'s instruction set enabled.
    unsafe {
        let one = S::splat(S::T::ONE);
        match OP {
            ADD => S::add(a, b),
            SUB => S::sub(a, b),
            MUL => S::mul(a, b),
            DIV => S::div(a, b),
            // std's max/min: a NaN operand yields the other operand.
            MAX => S::select(S::is_nan(b), a, S::max(a, b)),
            MIN => S::select(S::is_nan(b), a, S::min(a, b)),
            ATAN2 => vmath::atan2::<S>(a, b),
            POW => pow_v::<S>(a, b),
            AXPY => S::fma(S::splat(p.s), a, b),
            TANH_BWD => S::mul(a, fnma::<S>(b, b, one)),
            SIGMOID_BWD => S::mul(S::mul(a, b), S::sub(one, b)),
            RELU_BWD => S::select(S::lt(S::zero(), b), a, S::zero()),
            _ => unreachable!("unknown binary op code {OP}"),
        }
    }
}

/// xʸ. f32: exp(y·ln x) evaluated in f64 (exact enough that only the final rounding
/// matters) for x > 0 finite and y finite nonzero; every other lane, and every f64 lane,
/// is `std`'s `powf` (f64 needs y·ln x to ~2⁻⁶³, beyond the vector ln).
#[inline(always)]
unsafe fn pow_v<S: Widen>(x: S::V, y: S::V) -> S::V
where
    S::T: Real,
{
    // SAFETY: the caller runs with `S`'s instruction set enabled.
    unsafe {
        let mut r = x;
        if S::T::MANT == 23 {
            let (xl, xh) = S::widen(x);
            let (yl, yh) = S::widen(y);
            r = S::narrow(pow_pos::<S::W>(xl, yl), pow_pos::<S::W>(xh, yh));
            // The vector result holds unless a lane has x ≤ 0, x or y non-finite, or y = 0.
            let (zero, inf) = (S::zero(), S::splat(S::T::INF));
            let bad_x = S::or(S::le(x, zero), S::or(S::eq(x, inf), S::is_nan(x)));
            let bad_y = S::or(S::eq(y, zero), S::or(S::eq(S::abs(y), inf), S::is_nan(y)));
            if !S::any(S::or(bad_x, bad_y)) {
                return r;
            }
        }
        let (xs, ys, mut rs) = (S::to_lanes(x), S::to_lanes(y), S::to_lanes(r));
        for i in 0..S::LANES {
            let (xi, yi): (f64, f64) = (xs[i].into(), ys[i].into());
            if S::T::MANT != 23 || !(xi > 0.0 && xi.is_finite() && yi.is_finite() && yi != 0.0) {
                rs[i] = xs[i].pow_std(ys[i]);
            }
        }
        S::from_lanes(&rs)
    }
}

/// exp(y·ln x) for x > 0.
#[inline(always)]
unsafe fn pow_pos<W: Math>(x: W::V, y: W::V) -> W::V
where
    W::T: Real,
{
    // SAFETY: the caller runs with `W`'s instruction set enabled.
    unsafe { vmath::exp::<W>(W::mul(y, vmath::ln::<W>(x))) }
}

/// A full vector at `p + i`, or the splatted scalar `s`.
#[inline(always)]
unsafe fn load_or<S: Math, const SCALAR: bool>(p: *const S::T, i: usize, s: S::V) -> S::V {
    // SAFETY: the caller guarantees `LANES` readable elements at `p + i` when not scalar.
    if SCALAR { s } else { unsafe { S::load(p.add(i)) } }
}

/// Stores a vector, non-temporally when `NT` (then `p` is vector-aligned: see [`align_head`]).
#[inline(always)]
unsafe fn put<S: Math, const NT: bool>(p: *mut S::T, v: S::V) {
    // SAFETY: forwarded: `LANES` writable elements at `p`, aligned when `NT`.
    unsafe { if NT { S::store_stream(p, v) } else { S::store(p, v) } }
}

/// Elements before `y` reaches a vector-size boundary (≤ n), for non-temporal stores.
#[inline(always)]
fn align_head<S: Math>(y: *mut S::T, n: usize) -> usize {
    let size = std::mem::size_of::<S::T>();
    let vbytes = S::LANES * size;
    let mis = (y as usize) % vbytes;
    if mis == 0 { 0 } else { ((vbytes - mis) / size).min(n) }
}

/// `y[i] = op(x[i])` for `i < n`; `x == y` is allowed (in place). With `NT`, full vectors
/// of `y` are stored non-temporally (for outputs larger than the last-level cache: no read
/// for ownership, a third less traffic), after a masked head that aligns `y`.
///
/// # Safety
/// `S`'s instruction set enabled; `x` readable and `y` writable for `n` elements; the two
/// ranges either coincide or do not overlap.
#[inline(always)]
pub(crate) unsafe fn map<S: Widen, const OP: u8, const NT: bool>(
    x: *const S::T,
    y: *mut S::T,
    n: usize,
    p: Param<S::T>,
) where
    S::T: Real,
{
    let l = S::LANES;
    let mut i = 0;
    // SAFETY: every access is below `n` (full vectors while i + l ≤ n, then a mask); the
    // head makes `y + i` vector-aligned for the non-temporal stores.
    unsafe {
        if NT {
            i = align_head::<S>(y, n);
            if i > 0 {
                let m = S::mask(i);
                S::store_masked(y, unary_v::<S, OP>(S::load_masked(x, m), p), m);
            }
        }
        while i + 4 * l <= n {
            let a = S::load(x.add(i));
            let b = S::load(x.add(i + l));
            let c = S::load(x.add(i + 2 * l));
            let d = S::load(x.add(i + 3 * l));
            put::<S, NT>(y.add(i), unary_v::<S, OP>(a, p));
            put::<S, NT>(y.add(i + l), unary_v::<S, OP>(b, p));
            put::<S, NT>(y.add(i + 2 * l), unary_v::<S, OP>(c, p));
            put::<S, NT>(y.add(i + 3 * l), unary_v::<S, OP>(d, p));
            i += 4 * l;
        }
        while i + l <= n {
            put::<S, NT>(y.add(i), unary_v::<S, OP>(S::load(x.add(i)), p));
            i += l;
        }
        if i < n {
            let m = S::mask(n - i);
            S::store_masked(y.add(i), unary_v::<S, OP>(S::load_masked(x.add(i), m), p), m);
        }
        if NT {
            stream_fence();
        }
    }
}

/// `y[i] = op(a[i], b[i])`, where a side marked scalar (`AS`/`BS`) reads its element 0 for
/// every i. Output may coincide with a non-scalar input. `NT` as in [`map`].
///
/// # Safety
/// As [`map`], for each non-scalar operand; a scalar operand needs one readable element.
#[inline(always)]
pub(crate) unsafe fn zip<S: Widen, const OP: u8, const AS: bool, const BS: bool, const NT: bool>(
    a: *const S::T,
    b: *const S::T,
    y: *mut S::T,
    n: usize,
    p: Param<S::T>,
) where
    S::T: Real,
{
    let l = S::LANES;
    // SAFETY: as in `map`; scalar operands are read once, at index 0.
    unsafe {
        let sa = if AS { S::splat(*a) } else { S::zero() };
        let sb = if BS { S::splat(*b) } else { S::zero() };
        let mut i = 0;
        if NT {
            i = align_head::<S>(y, n);
        }
        if i > 0 {
            zip_part::<S, OP, AS, BS>(a, b, y, 0, i, (sa, sb), p);
        }
        while i + l <= n {
            let v = binary_v::<S, OP>(load_or::<S, AS>(a, i, sa), load_or::<S, BS>(b, i, sb), p);
            put::<S, NT>(y.add(i), v);
            i += l;
        }
        if i < n {
            zip_part::<S, OP, AS, BS>(a, b, y, i, n - i, (sa, sb), p);
        }
        if NT {
            stream_fence();
        }
    }
}

/// `k` (1 ≤ k ≤ LANES) elements of [`zip`] from `i`, masked.
#[inline(always)]
unsafe fn zip_part<S: Widen, const OP: u8, const AS: bool, const BS: bool>(
    a: *const S::T,
    b: *const S::T,
    y: *mut S::T,
    i: usize,
    k: usize,
    (sa, sb): (S::V, S::V),
    p: Param<S::T>,
) where
    S::T: Real,
{
    // SAFETY: the caller guarantees `k` valid elements from `i` in each non-scalar operand.
    unsafe {
        let m = S::mask(k);
        let va = if AS { sa } else { S::load_masked(a.add(i), m) };
        let vb = if BS { sb } else { S::load_masked(b.add(i), m) };
        S::store_masked(y.add(i), binary_v::<S, OP>(va, vb, p), m);
    }
}
