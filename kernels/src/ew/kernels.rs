//! The public slice functions: argument checks, thread splitting, dispatch.

use super::dispatch::{Entries, Kernel, Paths, dispatch};
use super::exec::{Exec, SendPtr, for_chunks};
use super::ops::{Param, code, map as map_loop, zip as zip_loop};
use super::reduce::{blue, dot2, extreme, find_first, finish, sum_exp, sum2, two_sum_s};
use super::{Binary, Unary};
use crate::Element;
use crate::simd::widen::Widen;

/// Per-thread minimum for memory-bound ops. Measured on the 2-core Zen 5 VM (one call of
/// `add`, `relu`, `sum` with 1 and 2 threads at 2¹²–2²² elements): waking a rayon worker
/// costs ≈ 10–20 µs there, and one core already draws most of the memory bandwidth, so a
/// second thread won nothing below ~2²¹ elements and ≤ 15% at 2²².
pub(super) const CHEAP_MIN: usize = 1 << 20;
/// Per-thread minimum for transcendental ops (≈ 0.1–0.25 ns per element on one core):
/// two threads broke even at 2¹⁷ elements (exp) and won 20–40% from 2¹⁹.
pub(super) const HEAVY_MIN: usize = 1 << 16;
/// Reduction block: partial results per block, combined in block order, so results do not
/// depend on the thread count.
const BLOCK: usize = 1 << 14;

#[track_caller]
pub(super) fn same_len(what: &str, a: (&str, usize), b: (&str, usize)) {
    assert!(a.1 == b.1, "kernels::ew::{what}: {} has {} elements but {} has {}", a.0, a.1, b.0, b.1);
}

/// Runs a kernel on the current instruction set.
pub(super) fn run<T: Paths, K: Kernel<T>>(k: K) -> K::Out {
    // SAFETY: `Exec::current` holds an available ISA (`Exec::run` checks; the default is
    // `Isa::selected`), and each kernel's pointers come from slices of checked lengths.
    unsafe { dispatch::<T, K>(Exec::current().isa, k) }
}

/// A kernel invocation (see `dispatch.rs`).
pub struct MapK<T> {
    op: Unary,
    x: *const T,
    y: *mut T,
    n: usize,
    /// Non-temporal stores (see [`streams`]).
    nt: bool,
}

impl<T: Paths + Element> Kernel<T> for MapK<T> {
    type Out = ();
    fn entries() -> &'static Entries<Self, Self::Out> {
        T::map_k()
    }
    #[inline(always)]
    unsafe fn run<S: Widen<T = T>>(self) {
        // SAFETY: `x`/`y` valid for `n` elements, equal or disjoint (built by `map`).
        unsafe { if self.nt { map_op::<S, true>(self) } else { map_op::<S, false>(self) } }
    }
}

/// The `map` loop of `k.op`.
///
/// # Safety
/// As [`map_loop`], for `k`'s pointers.
#[inline(always)]
unsafe fn map_op<S: Widen, const NT: bool>(k: MapK<S::T>)
where
    S::T: Paths + Element,
{
    use code::*;
    let (x, y, n) = (k.x, k.y, k.n);
    let p = Param { n: 0, s: S::T::ZERO };
    // SAFETY: forwarded.
    unsafe {
        match k.op {
            Unary::Exp => map_loop::<S, EXP, NT>(x, y, n, p),
            Unary::Ln => map_loop::<S, LN, NT>(x, y, n, p),
            Unary::Tanh => map_loop::<S, TANH, NT>(x, y, n, p),
            Unary::Sigmoid => map_loop::<S, SIGMOID, NT>(x, y, n, p),
            Unary::Relu => map_loop::<S, RELU, NT>(x, y, n, p),
            Unary::Sqrt => map_loop::<S, SQRT, NT>(x, y, n, p),
            Unary::Abs => map_loop::<S, ABS, NT>(x, y, n, p),
            Unary::Neg => map_loop::<S, NEG, NT>(x, y, n, p),
            Unary::Recip => map_loop::<S, RECIP, NT>(x, y, n, p),
            Unary::Square => map_loop::<S, SQUARE, NT>(x, y, n, p),
            Unary::Sin => map_loop::<S, SIN, NT>(x, y, n, p),
            Unary::Cos => map_loop::<S, COS, NT>(x, y, n, p),
            Unary::Softplus => map_loop::<S, SOFTPLUS, NT>(x, y, n, p),
            Unary::Gelu => map_loop::<S, GELU, NT>(x, y, n, p),
            Unary::Powi(e) => map_loop::<S, POWI, NT>(x, y, n, Param { n: e, s: S::T::ZERO }),
            Unary::Powf(e) => zip_loop::<S, POW, false, true, NT>(x, &S::T::from_f64(e), y, n, p),
        }
    }
}

/// Whether an out-of-place output of `n` elements should be written with non-temporal
/// stores: when it cannot stay in the last-level cache anyway. Then a store needs no read
/// for ownership, cutting an out-of-place op's memory traffic by a quarter (binary) or a
/// third (unary). In-place outputs were just read, so they gain nothing.
fn streams<T>(n: usize, in_place: bool) -> bool {
    !in_place && n.saturating_mul(std::mem::size_of::<T>()) >= crate::CacheSizes::detected().l3.max(1 << 20)
}

fn heavy(op: Unary) -> bool {
    !matches!(op, Unary::Relu | Unary::Abs | Unary::Neg | Unary::Square | Unary::Sqrt | Unary::Recip)
}

fn map_raw<T: Element>(op: Unary, x: *const T, y: *mut T, n: usize) {
    let min = if heavy(op) { HEAVY_MIN } else { CHEAP_MIN };
    let nt = streams::<T>(n, std::ptr::eq(x, y));
    let (x, y) = (SendPtr(x as *mut T), SendPtr(y));
    let exec = Exec::current();
    for_chunks(exec.par, n, min, 64, |s, e| {
        // SAFETY (pointer offsets): `s < e ≤ n`, within both buffers.
        let k = MapK { op, x: x.get().wrapping_add(s), y: y.get().wrapping_add(s), n: e - s, nt };
        exec.run(|| run::<T, _>(k));
    });
}

/// `out[i] = op(x[i])`.
///
/// # Panics
/// If the lengths differ.
///
/// ```
/// use kernels::ew::{map, Unary};
/// let mut y = [0.0f32; 2];
/// map(Unary::Sqrt, &[4.0, 9.0], &mut y);
/// assert_eq!(y, [2.0, 3.0]);
/// ```
#[track_caller]
pub fn map<T: Element>(op: Unary, x: &[T], out: &mut [T]) {
    same_len("map", ("x", x.len()), ("out", out.len()));
    map_raw(op, x.as_ptr(), out.as_mut_ptr(), x.len());
}

/// `x[i] = op(x[i])`.
///
/// ```
/// use kernels::ew::{map_inplace, Unary};
/// let mut x = [1.0f64, -2.0];
/// map_inplace(Unary::Abs, &mut x);
/// assert_eq!(x, [1.0, 2.0]);
/// ```
pub fn map_inplace<T: Element>(op: Unary, x: &mut [T]) {
    // One pointer for both roles: a shared pointer taken before `as_mut_ptr` would be
    // invalidated by its unique reborrow (Stacked Borrows; found by Miri).
    let p = x.as_mut_ptr();
    map_raw(op, p, p, x.len());
}

/// A kernel invocation (see `dispatch.rs`).
pub struct ZipK<T> {
    op: u8,
    a: *const T,
    b: *const T,
    y: *mut T,
    n: usize,
    /// Which side is a broadcast scalar: 0 none, 1 `a`, 2 `b`.
    scalar: u8,
    p: Param<T>,
    /// Non-temporal stores (see [`streams`]).
    nt: bool,
}

/// Expands to the `zip` loop for each op code × scalar side (× store kind `$nt`).
macro_rules! zip_codes {
    ($s:ty, $nt:literal, $k:expr, [$($c:ident),*]) => {{
        let k = $k;
        match (k.op, k.scalar) {
            $( (code::$c, 0) => zip_loop::<$s, { code::$c }, false, false, $nt>(k.a, k.b, k.y, k.n, k.p),
               (code::$c, 1) => zip_loop::<$s, { code::$c }, true, false, $nt>(k.a, k.b, k.y, k.n, k.p),
               (code::$c, _) => zip_loop::<$s, { code::$c }, false, true, $nt>(k.a, k.b, k.y, k.n, k.p), )*
            (op, _) => unreachable!("unknown binary op code {op}"),
        }
    }};
}

impl<T: Paths + Element> Kernel<T> for ZipK<T> {
    type Out = ();
    fn entries() -> &'static Entries<Self, Self::Out> {
        T::zip_k()
    }
    #[inline(always)]
    unsafe fn run<S: Widen<T = T>>(self) {
        // SAFETY: operands valid for `n` elements (or one, if scalar), output equal to a
        // non-scalar operand or disjoint (built by the public functions).
        unsafe {
            if self.nt {
                // Out-of-place outputs only, and the fused backward ops are out of place.
                zip_codes!(S, true, self, [ADD, SUB, MUL, DIV, MAX, MIN, TANH_BWD, SIGMOID_BWD, RELU_BWD])
            } else {
                zip_codes!(
                    S,
                    false,
                    self,
                    [ADD, SUB, MUL, DIV, MAX, MIN, ATAN2, POW, AXPY, TANH_BWD, SIGMOID_BWD, RELU_BWD]
                )
            }
        }
    }
}

fn binary_code(op: Binary) -> u8 {
    match op {
        Binary::Add => code::ADD,
        Binary::Sub => code::SUB,
        Binary::Mul => code::MUL,
        Binary::Div => code::DIV,
        Binary::Max => code::MAX,
        Binary::Min => code::MIN,
        Binary::Atan2 => code::ATAN2,
        Binary::Pow => code::POW,
    }
}

/// Splits and runs a binary kernel; `scalar` as in [`ZipK`].
fn zip_raw<T: Element>(op: u8, a: *const T, b: *const T, y: *mut T, n: usize, scalar: u8, s: T) {
    let heavy = matches!(op, code::ATAN2 | code::POW);
    let min = if heavy { HEAVY_MIN } else { CHEAP_MIN };
    // The compute-bound ops gain nothing from streaming (and are not instantiated so).
    let nt = !heavy && streams::<T>(n, std::ptr::eq(a, y) || std::ptr::eq(b, y));
    let (a, b, y) = (SendPtr(a as *mut T), SendPtr(b as *mut T), SendPtr(y));
    let exec = Exec::current();
    for_chunks(exec.par, n, min, 64, |st, e| {
        // SAFETY (pointer offsets): `st < e ≤ n`; a scalar operand is not offset.
        let off = |p: SendPtr<T>, is_scalar: bool| if is_scalar { p.get() } else { p.get().wrapping_add(st) };
        let k = ZipK {
            op,
            a: off(a, scalar == 1),
            b: off(b, scalar == 2),
            y: off(y, false),
            n: e - st,
            scalar,
            p: Param { n: 0, s },
            nt,
        };
        exec.run(|| run::<T, _>(k));
    });
}

/// `out[i] = op(a[i], b[i])`.
///
/// # Panics
/// If the lengths differ.
///
/// ```
/// use kernels::ew::{zip, Binary};
/// let mut y = [0.0f32; 2];
/// zip(Binary::Max, &[1.0, f32::NAN], &[2.0, 3.0], &mut y);
/// assert_eq!(y, [2.0, 3.0]);
/// ```
#[track_caller]
pub fn zip<T: Element>(op: Binary, a: &[T], b: &[T], out: &mut [T]) {
    same_len("zip", ("a", a.len()), ("b", b.len()));
    same_len("zip", ("a", a.len()), ("out", out.len()));
    zip_raw(binary_code(op), a.as_ptr(), b.as_ptr(), out.as_mut_ptr(), a.len(), 0, T::ZERO);
}

/// `a[i] = op(a[i], b[i])`.
///
/// # Panics
/// If the lengths differ.
///
/// ```
/// use kernels::ew::{zip_inplace, Binary};
/// let mut a = [1.0f64, 2.0];
/// zip_inplace(Binary::Mul, &mut a, &[3.0, 4.0]);
/// assert_eq!(a, [3.0, 8.0]);
/// ```
#[track_caller]
pub fn zip_inplace<T: Element>(op: Binary, a: &mut [T], b: &[T]) {
    same_len("zip_inplace", ("a", a.len()), ("b", b.len()));
    let p = a.as_mut_ptr(); // one pointer for both roles (see `map_inplace`)
    zip_raw(binary_code(op), p, b.as_ptr(), p, a.len(), 0, T::ZERO);
}

/// `out[i] = op(a[i], s)`.
///
/// # Panics
/// If the lengths differ.
///
/// ```
/// use kernels::ew::{zip_scalar, Binary};
/// let mut y = [0.0f32; 2];
/// zip_scalar(Binary::Pow, &[2.0, 3.0], 2.0, &mut y);
/// assert_eq!(y, [4.0, 9.0]);
/// ```
#[track_caller]
pub fn zip_scalar<T: Element>(op: Binary, a: &[T], s: T, out: &mut [T]) {
    same_len("zip_scalar", ("a", a.len()), ("out", out.len()));
    zip_raw(binary_code(op), a.as_ptr(), &s, out.as_mut_ptr(), a.len(), 2, T::ZERO);
}

/// `out[i] = op(s, b[i])`.
///
/// # Panics
/// If the lengths differ.
///
/// ```
/// use kernels::ew::{scalar_zip, Binary};
/// let mut y = [0.0f64; 2];
/// scalar_zip(Binary::Div, 1.0, &[2.0, 4.0], &mut y);
/// assert_eq!(y, [0.5, 0.25]);
/// ```
#[track_caller]
pub fn scalar_zip<T: Element>(op: Binary, s: T, b: &[T], out: &mut [T]) {
    same_len("scalar_zip", ("b", b.len()), ("out", out.len()));
    zip_raw(binary_code(op), &s, b.as_ptr(), out.as_mut_ptr(), b.len(), 1, T::ZERO);
}

/// `y ← α·x + y` (one fused multiply-add per element where the path has FMA).
///
/// # Panics
/// If the lengths differ.
///
/// ```
/// let mut y = [1.0f32, 1.0];
/// kernels::ew::axpy(2.0, &[1.0, 2.0], &mut y);
/// assert_eq!(y, [3.0, 5.0]);
/// ```
#[track_caller]
pub fn axpy<T: Element>(alpha: T, x: &[T], y: &mut [T]) {
    same_len("axpy", ("x", x.len()), ("y", y.len()));
    let p = y.as_mut_ptr(); // one pointer for both roles (see `map_inplace`)
    zip_raw(code::AXPY, x.as_ptr(), p, p, x.len(), 0, alpha);
}

/// `x ← α·x`.
///
/// ```
/// let mut x = [1.0f64, -2.0];
/// kernels::ew::scale(3.0, &mut x);
/// assert_eq!(x, [3.0, -6.0]);
/// ```
pub fn scale<T: Element>(alpha: T, x: &mut [T]) {
    let p = x.as_mut_ptr(); // one pointer for both roles (see `map_inplace`)
    zip_raw(code::MUL, p, &alpha, p, x.len(), 2, T::ZERO);
}

macro_rules! backward_fn {
    ($(#[$doc:meta])* $name:ident, $code:ident, $second:literal) => {
        $(#[$doc])*
        ///
        /// # Panics
        /// If the lengths differ.
        #[track_caller]
        pub fn $name<T: Element>(g: &[T], v: &[T], out: &mut [T]) {
            same_len(stringify!($name), ("g", g.len()), ($second, v.len()));
            same_len(stringify!($name), ("g", g.len()), ("out", out.len()));
            zip_raw(code::$code, g.as_ptr(), v.as_ptr(), out.as_mut_ptr(), g.len(), 0, T::ZERO);
        }
    };
}

backward_fn!(
    /// tanh's backward from its output: `out = g·(1 − y²)` (`v` is y = tanh x).
    ///
    /// ```
    /// let mut d = [0.0f32];
    /// kernels::ew::tanh_backward(&[2.0], &[0.5], &mut d);
    /// assert_eq!(d, [1.5]);
    /// ```
    tanh_backward, TANH_BWD, "y"
);
backward_fn!(
    /// sigmoid's backward from its output: `out = g·y·(1 − y)` (`v` is y = σ(x)).
    ///
    /// ```
    /// let mut d = [0.0f64];
    /// kernels::ew::sigmoid_backward(&[4.0], &[0.5], &mut d);
    /// assert_eq!(d, [1.0]);
    /// ```
    sigmoid_backward, SIGMOID_BWD, "y"
);
backward_fn!(
    /// relu's backward from its input: `out = g` where x > 0, else 0 (relu'(0) = 0).
    ///
    /// ```
    /// let mut d = [0.0f32; 3];
    /// kernels::ew::relu_backward(&[1.0, 1.0, 1.0], &[-1.0, 0.0, 2.0], &mut d);
    /// assert_eq!(d, [0.0, 0.0, 1.0]);
    /// ```
    relu_backward, RELU_BWD, "x"
);

/// Per-block partial results of a reduction over `x` (and `y`), in block order.
fn blocks<R: Send + Default + Clone>(n: usize, f: impl Fn(usize, usize) -> R + Sync) -> Vec<R> {
    let nb = n.div_ceil(BLOCK);
    let mut out = vec![R::default(); nb];
    let o = SendPtr(out.as_mut_ptr());
    let exec = Exec::current();
    for_chunks(exec.par, nb, CHEAP_MIN / BLOCK, 1, |s, e| {
        for b in s..e {
            let r = exec.run(|| f(b * BLOCK, ((b + 1) * BLOCK).min(n)));
            // SAFETY: `b < nb`, and each block index is written by exactly one worker.
            unsafe { *o.get().add(b) = r };
        }
    });
    out
}

/// A kernel invocation (see `dispatch.rs`).
pub struct Sum2K<T> {
    x: *const T,
    y: *const T,
    n: usize,
}
impl<T: Paths + Element> Kernel<T> for Sum2K<T> {
    type Out = (T, T);
    fn entries() -> &'static Entries<Self, Self::Out> {
        T::sum2_k()
    }
    #[inline(always)]
    unsafe fn run<S: Widen<T = T>>(self) -> (T, T) {
        // SAFETY: valid for `n` elements (a `y` of null means a plain sum).
        unsafe {
            if self.y.is_null() { sum2::<S>(self.x, self.n) } else { dot2::<S>(self.x, self.y, self.n) }
        }
    }
}

fn compensated<T: Element>(x: *const T, y: *const T, n: usize) -> T {
    let (xp, yp) = (SendPtr(x as *mut T), SendPtr(y as *mut T));
    let parts = blocks::<(T, T)>(n, |s, e| {
        // SAFETY (offsets): `s < e ≤ n`; a null `y` stays null.
        let y = if yp.get().is_null() { yp.get() } else { yp.get().wrapping_add(s) };
        run::<T, _>(Sum2K { x: xp.get().wrapping_add(s), y, n: e - s })
    });
    let (mut hi, mut lo) = (T::ZERO, T::ZERO);
    for (h, l) in parts {
        let (s, e) = two_sum_s(hi, h);
        hi = s;
        lo = lo + (e + l);
    }
    finish(hi, lo)
}

/// Σxᵢ, compensated (error bound in the module docs); 0 for an empty slice.
///
/// ```
/// // Plain summation would lose the 1.0 entirely.
/// assert_eq!(kernels::ew::sum(&[1e16f64, 1.0, -1e16]), 1.0);
/// ```
pub fn sum<T: Element>(x: &[T]) -> T {
    compensated(x.as_ptr(), std::ptr::null(), x.len())
}

/// Σxᵢyᵢ, compensated (error bound in the module docs).
///
/// # Panics
/// If the lengths differ.
///
/// ```
/// assert_eq!(kernels::ew::dot(&[1.0f32, 2.0], &[3.0, 4.0]), 11.0);
/// ```
#[track_caller]
pub fn dot<T: Element>(x: &[T], y: &[T]) -> T {
    same_len("dot", ("x", x.len()), ("y", y.len()));
    compensated(x.as_ptr(), y.as_ptr(), x.len())
}

/// A kernel invocation (see `dispatch.rs`).
pub struct ExtremeK<T> {
    x: *const T,
    n: usize,
    /// The maximum (else the minimum).
    max: bool,
}
impl<T: Paths + Element> Kernel<T> for ExtremeK<T> {
    type Out = (T, bool);
    fn entries() -> &'static Entries<Self, Self::Out> {
        T::extreme_k()
    }
    #[inline(always)]
    unsafe fn run<S: Widen<T = T>>(self) -> (T, bool) {
        // SAFETY: valid for `n ≥ 1` elements.
        unsafe {
            if self.max { extreme::<S, true>(self.x, self.n) } else { extreme::<S, false>(self.x, self.n) }
        }
    }
}

fn extreme_of<T: Element, const MAX: bool>(x: &[T]) -> T {
    let xp = SendPtr(x.as_ptr() as *mut T);
    let parts = blocks::<Option<(T, bool)>>(x.len(), |s, e| {
        // SAFETY (offset): `s < e ≤ n`.
        Some(run::<T, _>(ExtremeK { x: xp.get().wrapping_add(s), n: e - s, max: MAX }))
    });
    let init = if MAX { T::from_f64(f64::NEG_INFINITY) } else { T::from_f64(f64::INFINITY) };
    let mut best = init;
    for (v, nan) in parts.into_iter().flatten() {
        if nan {
            return T::from_f64(f64::NAN);
        }
        if (MAX && v > best) || (!MAX && v < best) {
            best = v;
        }
    }
    best
}

/// The largest element; NaN if any element is NaN; −inf for an empty slice.
///
/// ```
/// assert_eq!(kernels::ew::max(&[1.0f32, 3.0, 2.0]), 3.0);
/// assert!(kernels::ew::max(&[1.0f64, f64::NAN]).is_nan());
/// ```
pub fn max<T: Element>(x: &[T]) -> T {
    extreme_of::<T, true>(x)
}

/// The smallest element; NaN if any element is NaN; +inf for an empty slice.
///
/// ```
/// assert_eq!(kernels::ew::min(&[1.0f32, -3.0, 2.0]), -3.0);
/// ```
pub fn min<T: Element>(x: &[T]) -> T {
    extreme_of::<T, false>(x)
}

/// A kernel invocation (see `dispatch.rs`).
pub struct FindK<T> {
    x: *const T,
    n: usize,
    v: T,
}
impl<T: Paths + Element> Kernel<T> for FindK<T> {
    type Out = Option<usize>;
    fn entries() -> &'static Entries<Self, Self::Out> {
        T::find_k()
    }
    #[inline(always)]
    unsafe fn run<S: Widen<T = T>>(self) -> Option<usize> {
        // SAFETY: valid for `n` elements.
        unsafe { find_first::<S>(self.x, self.n, self.v) }
    }
}

/// Index of the first largest element (of the first NaN, if any); `None` if empty.
///
/// ```
/// assert_eq!(kernels::ew::argmax(&[1.0f32, 3.0, 3.0]), Some(1));
/// assert_eq!(kernels::ew::argmax::<f64>(&[]), None);
/// ```
pub fn argmax<T: Element>(x: &[T]) -> Option<usize> {
    if x.is_empty() {
        return None;
    }
    let m = max(x);
    run::<T, _>(FindK { x: x.as_ptr(), n: x.len(), v: m })
}

/// A kernel invocation (see `dispatch.rs`).
pub struct BlueK<T> {
    x: *const T,
    n: usize,
    t: [T; 4],
}
impl<T: Paths + Element> Kernel<T> for BlueK<T> {
    type Out = [T; 3];
    fn entries() -> &'static Entries<Self, Self::Out> {
        T::blue_k()
    }
    #[inline(always)]
    unsafe fn run<S: Widen<T = T>>(self) -> [T; 3] {
        // SAFETY: valid for `n` elements.
        unsafe { blue::<S>(self.x, self.n, self.t) }
    }
}

/// The Euclidean norm √Σxᵢ², without overflow or underflow in the squares (Blue's scaled
/// accumulators); NaN if any element is NaN, +inf if any is infinite.
///
/// ```
/// assert_eq!(kernels::ew::norm2(&[3e30f32, 4e30]), 5e30);
/// assert_eq!(kernels::ew::norm2(&[3e-30f32, 4e-30]), 5e-30);
/// ```
pub fn norm2<T: Element>(x: &[T]) -> T {
    // Blue's constants for a binary format with p digits and exponents [emin, emax]
    // (Anderson 2017): t_small = 2^⌈(emin−1)/2⌉, t_big = 2^⌊(emax−p+1)/2⌋,
    // s_small = 2^−⌊(emin−p)/2⌋, s_big = 2^−⌈(emax+p−1)/2⌉.
    let (p, emin, emax) = if T::NAME == "f32" { (24, -125, 128) } else { (53, -1021, 1024) };
    let pow2 = |e: i32| T::from_f64(2f64.powi(e));
    let t = [
        pow2((emin - 1) / 2),
        pow2((emax - p + 1) / 2),
        pow2(-((emin - p) as f64 / 2.0).floor() as i32),
        pow2(-((emax + p - 1) as f64 / 2.0).ceil() as i32),
    ];
    let xp = SendPtr(x.as_ptr() as *mut T);
    let parts = blocks::<[T; 3]>(x.len(), |s, e| {
        // SAFETY (offset): `s < e ≤ n`.
        run::<T, _>(BlueK { x: xp.get().wrapping_add(s), n: e - s, t })
    });
    let (mut big, mut mid, mut small) = (0.0f64, 0.0f64, 0.0f64);
    if parts.iter().any(|a| a.iter().any(|v| v.to_f64().is_nan())) {
        return T::from_f64(f64::NAN);
    }
    for [b, m, s] in parts {
        big += b.to_f64();
        mid += m.to_f64();
        small += s.to_f64();
    }
    let [_, _, s_small, s_big] = t.map(|v| v.to_f64());
    // Combine as Blue/Anderson: the big sum dominates, else mid with small, else small.
    let r = if big > 0.0 {
        (big + mid * s_big * s_big).sqrt() / s_big
    } else if small > 0.0 && mid > 0.0 {
        let (a, b) = (mid.sqrt(), small.sqrt() / s_small);
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        hi * (1.0 + (lo / hi) * (lo / hi)).sqrt()
    } else if small > 0.0 {
        small.sqrt() / s_small
    } else {
        mid.sqrt()
    };
    T::from_f64(r)
}

/// A kernel invocation (see `dispatch.rs`).
pub struct SumExpK<T> {
    x: *const T,
    n: usize,
    m: T,
}
impl<T: Paths + Element> Kernel<T> for SumExpK<T> {
    type Out = T;
    fn entries() -> &'static Entries<Self, Self::Out> {
        T::sum_exp_k()
    }
    #[inline(always)]
    unsafe fn run<S: Widen<T = T>>(self) -> T {
        // SAFETY: valid for `n` elements.
        unsafe { sum_exp::<S>(self.x, self.n, self.m) }
    }
}

/// ln Σ exp(xᵢ), computed as m + ln Σ exp(xᵢ − m) with m the maximum (no overflow);
/// −inf for an empty slice or all −inf, +inf if some xᵢ = +inf, NaN if any is NaN.
///
/// ```
/// let l = kernels::ew::logsumexp(&[1000.0f64, 1000.0]);
/// assert!((l - (1000.0 + 2f64.ln())).abs() < 1e-12);
/// ```
pub fn logsumexp<T: Element>(x: &[T]) -> T {
    let m = max(x);
    let mf = m.to_f64();
    if mf.is_nan() || mf.is_infinite() {
        return m;
    }
    let xp = SendPtr(x.as_ptr() as *mut T);
    let parts = blocks::<T>(x.len(), |s, e| {
        // SAFETY (offset): `s < e ≤ n`.
        run::<T, _>(SumExpK { x: xp.get().wrapping_add(s), n: e - s, m })
    });
    let s: f64 = parts.iter().map(|v| v.to_f64()).sum();
    T::from_f64(mf + s.ln())
}
