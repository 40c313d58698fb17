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

/// Whether a `bytes`-wide access at `p` crosses a 4 KiB page boundary.
///
/// Masked loads and stores must not fault on their masked-off lanes, and the hardware
/// keeps that promise with a microcode assist when those lanes reach into a page that is
/// not mapped: measured on Zen 5, ≈ 400 ns per access (an 8 × 8 × 4 f32 product whose A or
/// C ended at the end of an `mmap`ed allocation took 465 ns instead of 46). So an access
/// whose window crosses a page goes through a small array instead — rare (a window is at
/// most 64 bytes: under 1.6% of addresses), cheap to test, and never an assist. The slow
/// path is inlined: as a `#[cold]` call inside a kernel's loop it made the compiler keep
/// the accumulators in memory (skinny dot-tile products ran 3.5× slower). Where a tile
/// stores several masked vectors, it tests them all first and then uses the untested
/// [`Simd::store_masked_in_page`] (see `gemm::kernel::store`).
#[inline(always)]
pub(crate) fn crosses_page<T>(p: *const T, bytes: usize) -> bool {
    (p as usize & 4095) + bytes > 4096
}

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
    /// As [`Simd::load_masked`], for a window (`LANES` elements from `p`) that does not
    /// cross a 4 KiB page: no page test and no slow path (see [`crosses_page`]), so
    /// it stays small inside unrolled loops. Correct for any window, only slow on one
    /// that crosses a page into an unmapped one.
    #[inline(always)]
    unsafe fn load_masked_in_page(p: *const Self::T, m: Self::Mask) -> Self::V {
        // SAFETY: the caller's contract is `load_masked`'s.
        unsafe { Self::load_masked(p, m) }
    }
    /// As [`Simd::store_masked`], for a window that does not cross a page (see
    /// [`Simd::load_masked_in_page`]).
    #[inline(always)]
    unsafe fn store_masked_in_page(p: *mut Self::T, v: Self::V, m: Self::Mask) {
        // SAFETY: the caller's contract is `store_masked`'s.
        unsafe { Self::store_masked(p, v, m) }
    }
    /// Stores a vector with a non-temporal hint (bypassing the caches, so a store to an
    /// uncached line needs no read for ownership). `p` must be aligned to the vector's
    /// size. Followed by [`math::stream_fence`] before the data is handed to another
    /// thread. By default (the portable path, the half-width AVX-512 vectors) a plain store.
    #[inline(always)]
    unsafe fn store_stream(p: *mut Self::T, v: Self::V) {
        // SAFETY: forwarded: `LANES` writable elements at `p`.
        unsafe { Self::store(p, v) }
    }
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
