//! Row bodies of the matrix reductions (softmax, log-softmax, their backward passes, column
//! sums), generic over the vector type. A row is `n` contiguous elements.

use super::consts::Real;
use super::ops::{Param, code, zip};
use super::reduce::{dot2, extreme, finish, sum2};
use super::vmath;
use crate::Element;
use crate::simd::math::fnma;
use crate::simd::widen::Widen;

/// The row's maximum, NaN if it holds a NaN.
#[inline(always)]
unsafe fn row_max<S: Widen>(x: *const S::T, n: usize) -> S::T
where
    S::T: Real,
{
    // SAFETY: forwarded contract (`x` readable for `n ≥ 1` elements).
    let (m, nan) = unsafe { extreme::<S, true>(x, n) };
    if nan { S::T::NAN } else { m }
}

/// `y = exp(x − m)`, returning Σy (plain vector sums: all terms are in [0, 1]).
#[inline(always)]
unsafe fn exp_shift<S: Widen>(x: *const S::T, y: *mut S::T, n: usize, m: S::T) -> S::T
where
    S::T: Real,
{
    let l = S::LANES;
    // SAFETY: accesses below `n`; masked tail (its zero lanes are not stored or summed).
    unsafe {
        let mv = S::splat(m);
        let mut acc = S::zero();
        let mut i = 0;
        while i + l <= n {
            let e = vmath::exp::<S>(S::sub(S::load(x.add(i)), mv));
            S::store(y.add(i), e);
            acc = S::add(acc, e);
            i += l;
        }
        let mut s = S::reduce_sum(acc);
        if i < n {
            let k = S::mask(n - i);
            let e = vmath::exp::<S>(S::sub(S::load_masked(x.add(i), k), mv));
            S::store_masked(y.add(i), e, k);
            let lanes = S::to_lanes(e);
            for &v in &lanes[..n - i] {
                s = s + v;
            }
        }
        s
    }
}

/// Softmax (`LOG = false`) or log-softmax of one row: m = max, e = exp(x − m), then
/// e / Σe or x − m − ln Σe.
///
/// # Safety
/// `S`'s instruction set enabled; `x` readable and `y` writable for `n ≥ 1` elements, not
/// overlapping unless equal.
#[inline(always)]
pub(crate) unsafe fn softmax_row<S: Widen, const LOG: bool>(x: *const S::T, y: *mut S::T, n: usize)
where
    S::T: Real,
{
    // SAFETY: forwarded contract; the scalar operands point at a local.
    unsafe {
        let m = row_max::<S>(x, n);
        let p = Param { n: 0, s: S::T::ZERO };
        if LOG {
            // Σe goes to a scratch pass: y receives e first, then is overwritten.
            let s = exp_shift::<S>(x, y, n, m);
            let shift = S::T::from_f64(m.to_f64() + s.to_f64().ln());
            zip::<S, { code::SUB }, false, true, false>(x, &shift, y, n, p);
        } else {
            let s = exp_shift::<S>(x, y, n, m);
            let inv = S::T::ONE / s;
            zip::<S, { code::MUL }, false, true, false>(y, &inv, y, n, p);
        }
    }
}

/// Backward of softmax (`LOG = false`: dx = y ⊙ (g − ⟨g, y⟩)) or of log-softmax (dx = g −
/// exp(y)·Σg), for one row, from the forward output `y`.
///
/// # Safety
/// `S`'s instruction set enabled; `g`, `y` readable and `dx` writable for `n` elements;
/// `dx` may equal `g` but must not otherwise overlap.
#[inline(always)]
pub(crate) unsafe fn softmax_bwd_row<S: Widen, const LOG: bool>(
    g: *const S::T,
    y: *const S::T,
    dx: *mut S::T,
    n: usize,
) where
    S::T: Real,
{
    let l = S::LANES;
    // SAFETY: accesses below `n`, masked tail.
    unsafe {
        let (hi, lo) = if LOG { sum2::<S>(g, n) } else { dot2::<S>(g, y, n) };
        let d = S::splat(finish(hi, lo));
        let mut i = 0;
        while i + l <= n {
            S::store(dx.add(i), bwd_v::<S, LOG>(S::load(g.add(i)), S::load(y.add(i)), d));
            i += l;
        }
        if i < n {
            let k = S::mask(n - i);
            S::store_masked(
                dx.add(i),
                bwd_v::<S, LOG>(S::load_masked(g.add(i), k), S::load_masked(y.add(i), k), d),
                k,
            );
        }
    }
}

/// One vector of [`softmax_bwd_row`].
#[inline(always)]
unsafe fn bwd_v<S: Widen, const LOG: bool>(g: S::V, y: S::V, d: S::V) -> S::V
where
    S::T: Real,
{
    // SAFETY: the caller runs with `S`'s instruction set enabled.
    unsafe { if LOG { fnma::<S>(vmath::exp::<S>(y), d, g) } else { S::mul(y, S::sub(g, d)) } }
}

/// Adds `rows` rows of `x` (`stride` elements apart) into the compensated column sums
/// `(s, c)` (TwoSum per element). Rows go in blocks of 8: each vector of `s`, `c` is loaded
/// and stored once per block, and the block's rows (8 × a row) stay in L1 across it.
///
/// # Safety
/// `S`'s instruction set enabled; `x` readable for `rows` rows of `n` elements `stride`
/// apart, and `s`, `c` writable for `n` elements, all disjoint.
#[inline(always)]
pub(crate) unsafe fn add_rows<S: Widen>(
    x: *const S::T,
    stride: usize,
    rows: usize,
    s: *mut S::T,
    c: *mut S::T,
    n: usize,
) {
    const BLOCK: usize = 8;
    let l = S::LANES;
    // SAFETY: accesses below `n` in each row (masked tail), rows below `rows`.
    unsafe {
        let mut r0 = 0;
        while r0 < rows {
            let rb = (rows - r0).min(BLOCK);
            // Whole vectors, then the masked tail (a masked access checks whether its
            // window crosses a page: kept out of the main loop).
            let mut i = 0;
            while i + l <= n {
                add_rows_step::<S>(x, stride, r0..r0 + rb, s, c, i, None);
                i += l;
            }
            if i < n {
                add_rows_step::<S>(x, stride, r0..r0 + rb, s, c, i, Some(S::mask(n - i)));
            }
            r0 += rb;
        }
    }
}

/// One vector of columns `i..` of [`add_rows`] over rows `rows`: whole (`mask` `None`) or
/// the masked tail.
///
/// # Safety
/// As [`add_rows`], for the vector at `i` (or its masked lanes).
#[inline(always)]
unsafe fn add_rows_step<S: Widen>(
    x: *const S::T,
    stride: usize,
    rows: std::ops::Range<usize>,
    s: *mut S::T,
    c: *mut S::T,
    i: usize,
    mask: Option<S::Mask>,
) {
    // SAFETY: per the contract; masked accesses touch only the selected lanes.
    unsafe {
        let load = |p: *const S::T| match mask {
            None => S::load(p),
            Some(k) => S::load_masked(p, k),
        };
        let (mut sv, mut cv) = (load(s.add(i)), load(c.add(i)));
        for r in rows {
            let xv = load(x.add(r * stride + i));
            let t = S::add(sv, xv);
            let bb = S::sub(t, sv);
            cv = S::add(cv, S::add(S::sub(sv, S::sub(t, bb)), S::sub(xv, bb)));
            sv = t;
        }
        match mask {
            None => {
                S::store(s.add(i), sv);
                S::store(c.add(i), cv);
            }
            Some(k) => {
                S::store_masked(s.add(i), sv, k);
                S::store_masked(c.add(i), cv, k);
            }
        }
    }
}
