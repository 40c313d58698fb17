//! Packing: copying blocks of A and B into the contiguous, zero-padded layouts the packed
//! micro-kernel streams through.
//!
//! - A block `mc × kc` → `ceil(mc / MR)` micro-panels, each `kc` steps of `MR` rows
//!   (`panel[p·MR + i] = A(i, p)`), rows past `mc` zero.
//! - B block `kc × nc` → `ceil(nc / NR)` micro-panels, each `kc` steps of `NR` columns
//!   (`panel[p·NR + j] = B(p, j)`), columns past `nc` zero.
//!
//! Zero padding lets the kernel always run full vectors; the padded rows and columns of the
//! accumulator are never stored. Any strides work (negative and zero included); the loop
//! order follows whichever source stride is unit so reads stream.

use crate::Element;

/// A strided read-only matrix: `(i, j)` at `ptr + i·rs + j·cs`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Strided<T> {
    pub ptr: *const T,
    pub rs: isize,
    pub cs: isize,
}

// SAFETY: `Strided` is a read-only view handed to worker threads while the caller's borrow
// (or raw-door contract) keeps the data alive and unmodified for the whole call.
unsafe impl<T: Sync> Send for Strided<T> {}
// SAFETY: as above; only reads go through it.
unsafe impl<T: Sync> Sync for Strided<T> {}

impl<T> Strided<T> {
    /// The same data seen transposed.
    pub fn t(self) -> Self {
        Strided { ptr: self.ptr, rs: self.cs, cs: self.rs }
    }

    /// Pointer to element `(i, j)`.
    ///
    /// # Safety
    /// `(i, j)` lies inside the matrix the view was made from.
    #[inline(always)]
    pub unsafe fn at(self, i: usize, j: usize) -> *const T {
        // SAFETY: in bounds per the caller; offsets of in-bounds elements fit in isize.
        unsafe { self.ptr.offset(i as isize * self.rs + j as isize * self.cs) }
    }
}

/// Packs `A[0..mc, 0..kc]` of `a` into `dst` as `MR`-row micro-panels.
///
/// # Safety
/// Every `A(i, p)`, `i < mc`, `p < kc` is readable; `dst` has room for
/// `ceil(mc / mr) · mr · kc` elements and does not overlap A.
#[inline(always)]
pub(crate) unsafe fn pack_a<T: Element>(mc: usize, kc: usize, a: Strided<T>, mr: usize, dst: *mut T) {
    for (panel, i0) in (0..mc).step_by(mr).enumerate() {
        let rows = mr.min(mc - i0);
        // SAFETY: the panel starts inside `dst`'s `ceil(mc/mr)·mr·kc` elements.
        let out = unsafe { dst.add(panel * mr * kc) };
        // SAFETY: every read is an `A(i0 + i, p)` with `i < rows`, `p < kc`; every write is
        // `out[p·mr + i]` with `i < mr`, `p < kc`: both in bounds per the contract.
        unsafe {
            if a.rs == 1 && rows == mr && matches!(mr, 16 | 24 | 32 | 48) {
                // Full panels of the common heights: fixed-size copies compile to a few
                // vector moves instead of a `memcpy` call per k-step.
                for p in 0..kc {
                    let (src, o) = (a.at(i0, p), out.add(p * mr));
                    match mr {
                        16 => copy_fixed::<T, 16>(src, o),
                        24 => copy_fixed::<T, 24>(src, o),
                        32 => copy_fixed::<T, 32>(src, o),
                        _ => copy_fixed::<T, 48>(src, o),
                    }
                }
            } else if a.rs == 1 {
                for p in 0..kc {
                    let src = a.at(i0, p);
                    let o = out.add(p * mr);
                    std::ptr::copy_nonoverlapping(src, o, rows);
                    for i in rows..mr {
                        *o.add(i) = T::ZERO;
                    }
                }
            } else {
                for i in 0..mr {
                    if i < rows {
                        for p in 0..kc {
                            *out.add(p * mr + i) = *a.at(i0 + i, p);
                        }
                    } else {
                        for p in 0..kc {
                            *out.add(p * mr + i) = T::ZERO;
                        }
                    }
                }
            }
        }
    }
}

/// Copies `N` elements from `src` to `dst` as one fixed-size value.
///
/// # Safety
/// `src` is readable and `dst` writable for `N` elements; they do not overlap.
#[inline(always)]
unsafe fn copy_fixed<T: Copy, const N: usize>(src: *const T, dst: *mut T) {
    // SAFETY: per the contract; unaligned accesses are allowed by `*_unaligned`.
    unsafe { dst.cast::<[T; N]>().write_unaligned(src.cast::<[T; N]>().read_unaligned()) }
}

/// Packs `B[0..kc, 0..nc]` of `b` into `dst` as `NR`-column micro-panels.
///
/// # Safety
/// Every `B(p, j)`, `p < kc`, `j < nc` is readable; `dst` has room for
/// `ceil(nc / nr) · nr · kc` elements and does not overlap B.
#[inline(always)]
pub(crate) unsafe fn pack_b<T: Element>(kc: usize, nc: usize, b: Strided<T>, nr: usize, dst: *mut T) {
    // Packing B's columns is packing Bᵀ's rows: the same layout with roles swapped.
    // SAFETY: Bᵀ(j, p) = B(p, j), so the contract carries over unchanged.
    unsafe { pack_a(nc, kc, b.t(), nr, dst) }
}
