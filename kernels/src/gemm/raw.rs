//! The raw door: drop-in replacements for matrixmultiply 0.3's `sgemm` and `dgemm`.

use super::driver;
use super::packing::Strided;
use super::{Config, Problem, StridedMut};

macro_rules! raw_gemm {
    ($name:ident, $t:ty) => {
        #[doc = concat!("`C ← α·A·B + β·C` on raw `", stringify!($t), "` pointers, with the \
            parameter order and types of matrixmultiply 0.3's `", stringify!($name), "`.")]
        ///
        /// A is `m × k` with element `(i, p)` at `a.offset(i·rsa + p·csa)`, B is `k × n`
        /// (`rsb`, `csb`), C is `m × n` (`rsc`, `csc`); strides are in elements and may be
        /// negative, and zero for A and B. BLAS semantics: β = 0 never reads C, α = 0 never
        /// reads A or B, k = 0 gives `C ← β·C`. The detected (or [`crate::ISA_ENV`]-forced)
        /// kernel path is used, with threads from the current rayon pool when the problem
        /// is large enough ([`super::Par::All`]).
        ///
        /// # Safety
        /// Nothing is checked (raw pointers carry no length): breaking any of these is
        /// undefined behaviour. The dimensions are bounded only by them, so with zero
        /// strides A and B may describe any size and the work is m·n·k; the short cuts
        /// above decide which pointers are touched at all (m = 0 or n = 0: none).
        /// - every element of A and B reached through the dimensions and strides is
        ///   readable (none is read when `m`, `n` or `k` is 0, or when α = 0);
        /// - every element of C is readable and writable (not read when β = 0), C's
        ///   elements have distinct addresses, and C overlaps neither A nor B;
        /// - no other thread accesses C during the call.
        ///
        /// ```
        #[doc = concat!("let a = [1.0, 2.0, 3.0, 4.0 as ", stringify!($t), "];")]
        #[doc = concat!("let b = [1.0, 0.0, 0.0, 1.0 as ", stringify!($t), "];")]
        #[doc = concat!("let mut c = [0.0 as ", stringify!($t), "; 4];")]
        /// // Row-major 2×2 times the identity.
        #[doc = concat!("unsafe { kernels::", stringify!($name), "(2, 2, 2, 1.0, a.as_ptr(), 2, 1, \
            b.as_ptr(), 2, 1, 0.0, c.as_mut_ptr(), 2, 1) };")]
        /// assert_eq!(c, a);
        /// ```
        #[allow(clippy::too_many_arguments)]
        pub unsafe fn $name(
            m: usize,
            k: usize,
            n: usize,
            alpha: $t,
            a: *const $t,
            rsa: isize,
            csa: isize,
            b: *const $t,
            rsb: isize,
            csb: isize,
            beta: $t,
            c: *mut $t,
            rsc: isize,
            csc: isize,
        ) {
            let a = Strided { ptr: a, rs: rsa, cs: csa };
            let b = Strided { ptr: b, rs: rsb, cs: csb };
            let c = StridedMut { ptr: c, rs: rsc, cs: csc };
            // SAFETY: the caller's obligations above are exactly the driver's contract.
            unsafe { driver::gemm(&Config::default(), Problem { m, n, k, alpha, a, b, beta, c }) }
        }
    };
}

raw_gemm!(sgemm, f32);
raw_gemm!(dgemm, f64);
