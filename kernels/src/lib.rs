//! Cache-blocked, runtime-dispatched SIMD kernels for f32 and f64.
//!
//! - [`gemm()`] (safe, on validated [`MatRef`]/[`MatMut`] views) and [`sgemm`]/[`dgemm`]
//!   (raw pointers, drop-in for matrixmultiply 0.3): `C ← α·A·B + β·C` with arbitrary
//!   strides, BLAS semantics, threads from the caller's rayon pool ([`Par`]).
//! - The instruction set is chosen at run time, once ([`Isa::selected`]): AVX-512F+VL,
//!   AVX2+FMA, or a portable path on `wide`. No `RUSTFLAGS` are needed; the environment
//!   variable [`ISA_ENV`] forces a path.
//!
//! ```
//! use kernels::{gemm, MatMut, MatRef, Par};
//! let (m, k, n) = (3, 4, 2);
//! let a: Vec<f64> = (0..m * k).map(|x| x as f64).collect();
//! let b: Vec<f64> = (0..k * n).map(|x| x as f64).collect();
//! let mut c = vec![0.0; m * n];
//! gemm(1.0, MatRef::row_major(&a, m, k), MatRef::row_major(&b, k, n),
//!      0.0, MatMut::row_major(&mut c, m, n), Par::All);
//! // c[0][0] = Σ_p a[0][p]·b[p][0] = 0·0 + 1·2 + 2·4 + 3·6 = 28
//! assert_eq!(c[0], 28.0);
//! ```

mod cache;
mod element;
pub mod ew;
pub mod gemm;
mod isa;
mod simd;

pub use cache::CacheSizes;
pub use element::Element;
pub use gemm::{
    Blocking, Config, GemmError, LayoutError, MatMut, MatRef, Par, Path, dgemm, gemm, gemm_with, sgemm,
    try_gemm,
};
pub use isa::{ISA_ENV, Isa};
