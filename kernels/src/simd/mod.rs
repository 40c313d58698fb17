//! A thin vector abstraction over one instruction set and one element type.
//!
//! The micro-kernels are written once, generically over [`Simd`], and instantiated per
//! instruction set inside `#[target_feature]` functions (see `gemm::table`). Every method
//! is `#[inline(always)]`, so after inlining into such a function the intrinsics compile to
//! the enabled instructions even though the crate is built for baseline x86-64.

use crate::Element;

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

pub(crate) mod math;
#[cfg(target_arch = "x86_64")]
mod math_x86;
pub(crate) mod widen;

pub(crate) mod portable;

/// Vector operations of one instruction set on one element type.
///
/// # Safety
/// An implementation may use intrinsics of its instruction set in every method, so callers
/// must only call the methods from code that runs with that instruction set enabled: a
/// `#[target_feature]` function enabling it, reached after [`crate::Isa::is_available`]
/// returned true. Implementations must make `load_masked`/`store_masked` touch only the
/// first `n` lanes' memory, and `fma_scalar` round exactly as one lane of `fma`.
pub unsafe trait Simd: Copy + 'static {
    /// The element type.
    type T: Element;
    /// A vector of `LANES` elements.
    type V: Copy;
    /// Selects the first `n` lanes (see [`Simd::mask`]).
    type Mask: Copy;
    /// Elements per vector.
    const LANES: usize;

    /// All lanes zero.
    unsafe fn zero() -> Self::V;
    /// All lanes `x`.
    unsafe fn splat(x: Self::T) -> Self::V;
    /// Loads `LANES` elements from `p` (no alignment needed).
    unsafe fn load(p: *const Self::T) -> Self::V;
    /// Stores `LANES` elements to `p` (no alignment needed).
    unsafe fn store(p: *mut Self::T, v: Self::V);
    /// A mask selecting lanes `0..n`, for `1 <= n <= LANES`.
    unsafe fn mask(n: usize) -> Self::Mask;
    /// Loads the masked lanes, zero elsewhere; reads no memory outside the masked lanes.
    unsafe fn load_masked(p: *const Self::T, m: Self::Mask) -> Self::V;
    /// Stores the masked lanes; writes no memory outside them.
    unsafe fn store_masked(p: *mut Self::T, v: Self::V, m: Self::Mask);
    /// `a·b + c` lane-wise (fused where the instruction set has FMA).
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `a·b` lane-wise.
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// `a + b` lane-wise.
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    /// Sum of all lanes (a fixed order, so results are reproducible).
    unsafe fn reduce_sum(v: Self::V) -> Self::T;
    /// Hints that the cache line holding `p` will be accessed soon. Never faults, so `p`
    /// may be any address.
    #[inline(always)]
    fn prefetch(p: *const Self::T) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `prefetcht0` is SSE (baseline on x86-64) and cannot fault or change
        // memory, whatever the address.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = p;
    }
    /// `a·b + c` on scalars, rounded exactly as one lane of [`Simd::fma`].
    fn fma_scalar(a: Self::T, b: Self::T, c: Self::T) -> Self::T;
}
