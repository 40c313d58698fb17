//! Reduction bodies over one block (or one row), generic over the vector type.
//!
//! Sums and dots are compensated: every addition is an error-free TwoSum (Knuth) and every
//! product an error-free TwoProduct, with the errors summed separately — Ogita, Rump and
//! Oishi's Sum2/Dot2 (SIAM J. Sci. Comput. 26(6), 2005). The result is as accurate as if
//! computed in twice the working precision and then rounded:
//! |result − exact| ≤ ε·|exact| + γ²ₙ·Σ|xᵢ| (sum) or γ²ₙ·Σ|xᵢyᵢ| (dot), γₙ = nε/(1 − nε).

use super::consts::Real;
use super::vmath;
use crate::Element;
use crate::simd::math::Math;

/// Vector accumulators per reduction (independent chains hide the add latency).
const ACC: usize = 4;

/// Knuth's TwoSum: `(s, e)` with `s = fl(a + b)` and `s + e = a + b` exactly.
#[inline(always)]
unsafe fn two_sum<S: Math>(a: S::V, b: S::V) -> (S::V, S::V) {
    // SAFETY: the caller runs with `S`'s instruction set enabled.
    unsafe {
        let s = S::add(a, b);
        let bb = S::sub(s, a);
        (s, S::add(S::sub(a, S::sub(s, bb)), S::sub(b, bb)))
    }
}

/// Scalar TwoSum.
#[inline(always)]
pub(crate) fn two_sum_s<T: Element>(a: T, b: T) -> (T, T) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// hi + lo, or hi alone when it is ±inf or NaN (then the error terms are NaN from inf − inf,
/// and the plain sum hi already carries IEEE's answer: overflow, inf, or NaN).
#[inline(always)]
pub(crate) fn finish<T: Element>(hi: T, lo: T) -> T {
    if hi.to_f64().is_finite() { hi + lo } else { hi }
}

/// Folds vector (sum, error) pairs into one scalar pair, lane by lane, in a fixed order.
#[inline(always)]
unsafe fn fold_pairs<S: Math>(s: [S::V; ACC], c: [S::V; ACC]) -> (S::T, S::T) {
    let (mut hi, mut lo) = (S::T::ZERO, S::T::ZERO);
    for j in 0..ACC {
        // SAFETY: the caller runs with `S`'s instruction set enabled.
        let (sl, cl) = unsafe { (S::to_lanes(s[j]), S::to_lanes(c[j])) };
        for i in 0..S::LANES {
            let (h, e) = two_sum_s(hi, sl[i]);
            hi = h;
            lo = lo + (e + cl[i]);
        }
    }
    (hi, lo)
}

/// Sum2 of `x[..n]`: `(hi, lo)` with the exact sum ≈ hi + lo (see the module docs).
///
/// # Safety
/// `S`'s instruction set enabled; `x` readable for `n` elements.
#[inline(always)]
pub(crate) unsafe fn sum2<S: Math>(x: *const S::T, n: usize) -> (S::T, S::T) {
    let l = S::LANES;
    // SAFETY: loads stay below `n` (full vectors, then one masked vector, zero-filled).
    unsafe {
        let mut s = [S::zero(); ACC];
        let mut c = [S::zero(); ACC];
        let mut i = 0;
        while i + ACC * l <= n {
            for j in 0..ACC {
                // One read stream alone keeps too few misses in flight: ask 4 KiB ahead.
                S::prefetch(x.wrapping_add(i + j * l + 4096 / std::mem::size_of::<S::T>()));
                let (t, e) = two_sum::<S>(s[j], S::load(x.add(i + j * l)));
                s[j] = t;
                c[j] = S::add(c[j], e);
            }
            i += ACC * l;
        }
        while i < n {
            let v = if i + l <= n { S::load(x.add(i)) } else { S::load_masked(x.add(i), S::mask(n - i)) };
            let (t, e) = two_sum::<S>(s[0], v);
            s[0] = t;
            c[0] = S::add(c[0], e);
            i += l;
        }
        fold_pairs::<S>(s, c)
    }
}

/// Dot2 of `x[..n]` and `y[..n]`: `(hi, lo)` (see the module docs).
///
/// # Safety
/// As [`sum2`], for both operands.
#[inline(always)]
pub(crate) unsafe fn dot2<S: Math>(x: *const S::T, y: *const S::T, n: usize) -> (S::T, S::T) {
    let l = S::LANES;
    // SAFETY: as in `sum2`.
    unsafe {
        let mut s = [S::zero(); ACC];
        let mut c = [S::zero(); ACC];
        let mut i = 0;
        while i + ACC * l <= n {
            for j in 0..ACC {
                let ahead = i + j * l + 4096 / std::mem::size_of::<S::T>();
                S::prefetch(x.wrapping_add(ahead));
                S::prefetch(y.wrapping_add(ahead));
                let (p, ep) = S::two_prod(S::load(x.add(i + j * l)), S::load(y.add(i + j * l)));
                let (t, e) = two_sum::<S>(s[j], p);
                s[j] = t;
                c[j] = S::add(c[j], S::add(e, ep));
            }
            i += ACC * l;
        }
        while i < n {
            let (a, b) = if i + l <= n {
                (S::load(x.add(i)), S::load(y.add(i)))
            } else {
                let m = S::mask(n - i);
                (S::load_masked(x.add(i), m), S::load_masked(y.add(i), m))
            };
            let (p, ep) = S::two_prod(a, b);
            let (t, e) = two_sum::<S>(s[0], p);
            s[0] = t;
            c[0] = S::add(c[0], S::add(e, ep));
            i += l;
        }
        fold_pairs::<S>(s, c)
    }
}

/// Largest (`MAX`) or smallest element of `x[..n]`, `n ≥ 1`, and whether a NaN was seen.
///
/// # Safety
/// As [`sum2`].
#[inline(always)]
pub(crate) unsafe fn extreme<S: Math, const MAX: bool>(x: *const S::T, n: usize) -> (S::T, bool) {
    let l = S::LANES;
    // SAFETY: full-vector loads stay below `n`; the tail is read element by element.
    unsafe {
        let first = S::splat(*x);
        let mut acc = [first; ACC];
        let mut nan = S::is_nan(first);
        let mut i = 0;
        while i + ACC * l <= n {
            for a in acc.iter_mut() {
                let v = S::load(x.add(i));
                nan = S::or(nan, S::is_nan(v));
                *a = if MAX { S::max(*a, v) } else { S::min(*a, v) };
                i += l;
            }
        }
        let mut r = acc[0];
        for &a in &acc[1..] {
            r = if MAX { S::max(r, a) } else { S::min(r, a) };
        }
        let mut best = if MAX { S::reduce_max(r) } else { S::reduce_min(r) };
        let mut any_nan = S::any(nan);
        for k in i..n {
            let v = *x.add(k);
            any_nan |= v.to_f64().is_nan();
            if (MAX && v > best) || (!MAX && v < best) {
                best = v;
            }
        }
        (best, any_nan)
    }
}

/// Index of the first element equal to `v` (NaN matches NaN), if any.
///
/// # Safety
/// As [`sum2`].
#[inline(always)]
pub(crate) unsafe fn find_first<S: Math>(x: *const S::T, n: usize, v: S::T) -> Option<usize> {
    let l = S::LANES;
    let is_nan = v.to_f64().is_nan();
    // SAFETY: full-vector loads stay below `n`; the tail is read element by element.
    unsafe {
        let target = S::splat(v);
        let mut i = 0;
        while i + l <= n {
            let w = S::load(x.add(i));
            let hit = if is_nan { S::is_nan(w) } else { S::eq(w, target) };
            if S::any(hit) {
                break;
            }
            i += l;
        }
        (i..n).find(|&k| {
            let e = *x.add(k);
            if is_nan { e.to_f64().is_nan() } else { e == v }
        })
    }
}

/// Blue's scaled sums of squares of `x[..n]`: `[big, mid, small]` accumulators, where
/// |x| > `t_big` is scaled by `s_big`, |x| < `t_small` by `s_small` (Blue, ACM TOMS 4(1),
/// 1978; thresholds as in Anderson, ACM TOMS 44(1), 2017), so no square over- or underflows.
///
/// # Safety
/// As [`sum2`].
#[inline(always)]
pub(crate) unsafe fn blue<S: Math>(x: *const S::T, n: usize, t: [S::T; 4]) -> [S::T; 3] {
    let l = S::LANES;
    let [t_small, t_big, s_small, s_big] = t;
    // SAFETY: as in `sum2` (masked tail lanes are zero and add nothing).
    unsafe {
        let (ts, tb, ss, sb) = (S::splat(t_small), S::splat(t_big), S::splat(s_small), S::splat(s_big));
        let zero = S::zero();
        let mut acc = [[zero; 3]; 2];
        let mut i = 0;
        while i < n {
            let v = if i + l <= n { S::load(x.add(i)) } else { S::load_masked(x.add(i), S::mask(n - i)) };
            let a = S::abs(v);
            let big = S::lt(tb, a);
            let small = S::lt(a, ts);
            let k = (i / l) % 2;
            let yb = S::mul(a, sb);
            let ys = S::mul(a, ss);
            acc[k][0] = S::fma(S::select(big, yb, zero), S::select(big, yb, zero), acc[k][0]);
            let mid = S::select(S::or(big, small), zero, a);
            acc[k][1] = S::fma(mid, mid, acc[k][1]);
            acc[k][2] = S::fma(S::select(small, ys, zero), S::select(small, ys, zero), acc[k][2]);
            i += l;
        }
        let mut out = [S::T::ZERO; 3];
        for (j, o) in out.iter_mut().enumerate() {
            *o = S::reduce_sum(S::add(acc[0][j], acc[1][j]));
        }
        out
    }
}

/// Σ exp(x − m) over `x[..n]`.
///
/// # Safety
/// As [`sum2`].
#[inline(always)]
pub(crate) unsafe fn sum_exp<S: Math>(x: *const S::T, n: usize, m: S::T) -> S::T
where
    S::T: Real,
{
    let l = S::LANES;
    // SAFETY: as in `sum2`; masked tail lanes are set to −inf, whose exp adds 0.
    unsafe {
        let mv = S::splat(m);
        let mut acc = [S::zero(); 2];
        let mut i = 0;
        while i < n {
            let v = if i + l <= n {
                S::load(x.add(i))
            } else {
                let k = S::mask(n - i);
                let pad = S::to_lanes(S::splat(-S::T::INF));
                let mut lanes = S::to_lanes(S::load_masked(x.add(i), k));
                lanes[n - i..S::LANES].copy_from_slice(&pad[n - i..S::LANES]);
                S::from_lanes(&lanes)
            };
            let k = (i / l) % 2;
            acc[k] = S::add(acc[k], vmath::exp::<S>(S::sub(v, mv)));
            i += l;
        }
        S::reduce_sum(S::add(acc[0], acc[1]))
    }
}
