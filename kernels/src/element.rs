//! The element types the kernels serve: `f32` and `f64`.

use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Neg, Sub};

mod sealed {
    /// Sealing, and the element-wise kernels' per-type constants and vector paths.
    pub trait Sealed: crate::ew::dispatch::Paths {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element type the kernels support (`f32` or `f64`). Sealed.
///
/// ```
/// fn zero<T: kernels::Element>() -> T { T::ZERO }
/// assert_eq!(zero::<f64>(), 0.0);
/// ```
pub trait Element:
    sealed::Sealed
    + Copy
    + Default
    + Debug
    + PartialEq
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// Machine epsilon: the gap between 1 and the next representable value.
    const EPSILON: Self;
    /// Name for messages and benchmark labels (`"f32"`, `"f64"`).
    const NAME: &'static str;
    /// Lossless widening to `f64`.
    fn to_f64(self) -> f64;
    /// Rounding conversion from `f64`.
    fn from_f64(x: f64) -> Self;
}

impl Element for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const EPSILON: Self = f32::EPSILON;
    const NAME: &'static str = "f32";
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(x: f64) -> Self {
        x as f32
    }
}

impl Element for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const EPSILON: Self = f64::EPSILON;
    const NAME: &'static str = "f64";
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(x: f64) -> Self {
        x
    }
}
