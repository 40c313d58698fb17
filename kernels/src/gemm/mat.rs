//! Validated matrix views: the safe door's operands.
//!
//! A view is a slice plus a shape and element strides. Construction checks, with overflow-
//! checked arithmetic, that every element lies inside the slice; a mutable view also checks
//! that no two elements share an address. After that the GEMM driver may use raw pointers
//! without further checks.

use std::fmt;

/// Why a view could not be built. The message names the offending shape and strides.
///
/// ```
/// let data = [0.0f32; 5];
/// let err = kernels::MatRef::try_with_offset(&data, 0, 2, 3, 3, 1).unwrap_err();
/// assert_eq!(err.to_string(), "a 2×3 view with strides (rs=3, cs=1) starting at offset 0 \
///                              does not fit in a slice of length 5");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// Some element index falls outside the slice (or the index arithmetic overflows).
    OutOfBounds {
        /// Rows × columns of the view.
        shape: (usize, usize),
        /// Row and column strides.
        strides: (isize, isize),
        /// Index of element (0, 0) in the slice.
        offset: usize,
        /// Length of the slice.
        len: usize,
    },
    /// A mutable view whose strides may make two elements alias. The test is a sufficient
    /// condition (the smaller stride's whole extent fits inside one step of the larger, and
    /// no zero stride on a dimension longer than 1), so interleaved layouts such as a 3×3
    /// view with strides (2, 3) are refused even though their elements happen to be
    /// distinct.
    SelfOverlap {
        /// Rows × columns of the view.
        shape: (usize, usize),
        /// Row and column strides.
        strides: (isize, isize),
    },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LayoutError::OutOfBounds { shape, strides, offset, len } => write!(
                f,
                "a {}×{} view with strides (rs={}, cs={}) starting at offset {offset} does not \
                 fit in a slice of length {len}",
                shape.0, shape.1, strides.0, strides.1
            ),
            LayoutError::SelfOverlap { shape, strides } => write!(
                f,
                "a mutable {}×{} view with strides (rs={}, cs={}) may alias elements \
                 (need |small stride|·(its extent − 1) < |large stride|, and no zero stride)",
                shape.0, shape.1, strides.0, strides.1
            ),
        }
    }
}

impl std::error::Error for LayoutError {}

/// The smallest and largest slice index any element reaches, or `None` on overflow.
#[inline]
fn index_range(
    offset: usize,
    (rows, cols): (usize, usize),
    (rs, cs): (isize, isize),
) -> Option<(isize, isize)> {
    let base = isize::try_from(offset).ok()?;
    let reach = |d: usize, s: isize| -> Option<isize> { isize::try_from(d - 1).ok()?.checked_mul(s) };
    let (r, c) = (reach(rows, rs)?, reach(cols, cs)?);
    let lo = base.checked_add(r.min(0))?.checked_add(c.min(0))?;
    let hi = base.checked_add(r.max(0))?.checked_add(c.max(0))?;
    Some((lo, hi))
}

/// Checks that the view lies in `0..len`; returns the error to report otherwise.
#[inline]
fn check_bounds(
    len: usize,
    offset: usize,
    shape: (usize, usize),
    strides: (isize, isize),
) -> Result<(), LayoutError> {
    if shape.0 == 0 || shape.1 == 0 {
        return Ok(());
    }
    match index_range(offset, shape, strides) {
        Some((lo, hi)) if lo >= 0 && (hi as usize) < len => Ok(()),
        _ => Err(LayoutError::OutOfBounds { shape, strides, offset, len }),
    }
}

/// The offset that puts the lowest-addressed element at index 0 (for negative strides).
#[inline]
fn natural_offset((rows, cols): (usize, usize), (rs, cs): (isize, isize)) -> usize {
    let neg = |d: usize, s: isize| {
        if s < 0 && d > 0 { (d - 1).saturating_mul(s.unsigned_abs()) } else { 0 }
    };
    neg(rows, rs).saturating_add(neg(cols, cs))
}

/// Checks that distinct elements have distinct addresses (a sufficient condition: the
/// smaller stride's whole extent fits strictly inside one step of the larger).
#[inline]
fn check_no_overlap(shape: (usize, usize), strides: (isize, isize)) -> Result<(), LayoutError> {
    let ((r, c), (rs, cs)) = (shape, strides);
    let err = || Err(LayoutError::SelfOverlap { shape, strides });
    if r == 0 || c == 0 {
        return Ok(());
    }
    // Order the two dimensions by stride magnitude; a dimension of extent 1 never aliases.
    let (mut small, mut large) = ((r, rs.unsigned_abs()), (c, cs.unsigned_abs()));
    if small.1 > large.1 {
        std::mem::swap(&mut small, &mut large);
    }
    match (small.0 > 1, large.0 > 1) {
        (false, false) => Ok(()),
        (true, false) if small.1 > 0 => Ok(()),
        (false, true) if large.1 > 0 => Ok(()),
        (true, true) => match (small.0 - 1).checked_mul(small.1) {
            Some(extent) if small.1 > 0 && extent < large.1 => Ok(()),
            _ => err(),
        },
        _ => err(),
    }
}

/// `n` as the stride of the dense constructor `what` (row- or column-major): a dimension
/// beyond `isize::MAX` cannot be a stride (and no slice of a sized type holds that many
/// elements), so a non-empty view refuses it by name rather than wrapping it to a negative
/// stride; an empty view touches nothing and gets stride 0.
#[track_caller]
#[inline]
fn dense_stride(what: &str, (rows, cols): (usize, usize), n: usize) -> isize {
    match isize::try_from(n) {
        Ok(s) => s,
        Err(_) if rows == 0 || cols == 0 => 0,
        Err(_) => {
            panic!("{what}: a {rows}×{cols} view needs a stride of {n} elements, which overflows isize")
        }
    }
}

macro_rules! view_common {
    ($name:ident) => {
        impl<T> $name<'_, T> {
            /// Number of rows.
            pub fn rows(&self) -> usize {
                self.rows
            }
            /// Number of columns.
            pub fn cols(&self) -> usize {
                self.cols
            }
            /// Row stride and column stride, in elements.
            pub fn strides(&self) -> (isize, isize) {
                (self.rs, self.cs)
            }
        }
    };
}

/// A read-only strided matrix view: element `(i, j)` is `data[offset + i·rs + j·cs]`.
/// Strides may be negative or zero (a zero stride repeats a row or column).
///
/// ```
/// use kernels::MatRef;
/// let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let a = MatRef::row_major(&data, 2, 3);
/// assert_eq!(a.get(1, 0), 4.0);
/// // The same data read with reversed rows (negative row stride).
/// let r = MatRef::new(&data, 2, 3, -3, 1);
/// assert_eq!(r.get(0, 0), 4.0);
/// ```
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct MatRef<'a, T> {
    // `repr(C)` with the two strides apart: side by side, LLVM read them as one 16-byte
    // load, which cannot be forwarded from the two 8-byte stores that had just built the
    // view (a store-forwarding stall: ≈ 15% of an 8 × 8 × 8 f64 product through views).
    data: &'a [T],
    rows: usize,
    rs: isize,
    cols: usize,
    cs: isize,
    offset: usize,
}
view_common!(MatRef);

impl<'a, T: Copy> MatRef<'a, T> {
    /// A view with explicit offset of element (0, 0).
    ///
    /// # Errors
    /// [`LayoutError::OutOfBounds`] if any element falls outside `data`.
    #[inline]
    pub fn try_with_offset(
        data: &'a [T],
        offset: usize,
        rows: usize,
        cols: usize,
        rs: isize,
        cs: isize,
    ) -> Result<Self, LayoutError> {
        check_bounds(data.len(), offset, (rows, cols), (rs, cs))?;
        Ok(MatRef { data, offset, rows, cols, rs, cs })
    }

    /// A view whose lowest-addressed element is `data[0]` (so negative strides count back
    /// from the end of the view's footprint).
    ///
    /// # Panics
    /// If any element falls outside `data`; the message names shape, strides and length.
    #[track_caller]
    #[inline]
    pub fn new(data: &'a [T], rows: usize, cols: usize, rs: isize, cs: isize) -> Self {
        let offset = natural_offset((rows, cols), (rs, cs));
        Self::try_with_offset(data, offset, rows, cols, rs, cs).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A row-major (C-order) view: `rs = cols`, `cs = 1`.
    ///
    /// # Panics
    /// If `data` is shorter than `rows·cols` (or that product overflows), or `cols` exceeds
    /// `isize::MAX` in a non-empty view.
    #[track_caller]
    #[inline]
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, dense_stride("MatRef::row_major", (rows, cols), cols), 1)
    }

    /// A column-major (Fortran-order) view: `rs = 1`, `cs = rows`.
    ///
    /// # Panics
    /// If `data` is shorter than `rows·cols` (or that product overflows), or `rows` exceeds
    /// `isize::MAX` in a non-empty view.
    #[track_caller]
    #[inline]
    pub fn col_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, 1, dense_stride("MatRef::col_major", (rows, cols), rows))
    }

    /// Element `(i, j)`.
    ///
    /// # Panics
    /// If `(i, j)` is outside the view.
    #[track_caller]
    pub fn get(&self, i: usize, j: usize) -> T {
        assert!(
            i < self.rows && j < self.cols,
            "index ({i}, {j}) outside a {}×{} view",
            self.rows,
            self.cols
        );
        self.data[(self.offset as isize + i as isize * self.rs + j as isize * self.cs) as usize]
    }

    /// Pointer to element (0, 0), for the driver. Valid for every in-view element.
    pub(crate) fn origin(&self) -> *const T {
        self.data.as_ptr().wrapping_add(self.offset)
    }
}

/// A mutable strided matrix view; like [`MatRef`], and additionally no two elements may
/// share an address (so zero strides are rejected when that dimension exceeds 1).
///
/// ```
/// use kernels::MatMut;
/// let mut data = vec![0.0f32; 6];
/// let mut c = MatMut::col_major(&mut data, 2, 3);
/// c.set(1, 2, 7.0);
/// assert_eq!(data[5], 7.0);
/// assert!(MatMut::try_with_offset(&mut [0.0f32; 4], 0, 2, 2, 1, 1).is_err()); // aliasing
/// ```
#[derive(Debug)]
#[repr(C)]
pub struct MatMut<'a, T> {
    // `repr(C)` with the strides apart, as `MatRef`.
    data: &'a mut [T],
    rows: usize,
    rs: isize,
    cols: usize,
    cs: isize,
    offset: usize,
}
view_common!(MatMut);

impl<'a, T: Copy> MatMut<'a, T> {
    /// A mutable view with explicit offset of element (0, 0).
    ///
    /// # Errors
    /// [`LayoutError::OutOfBounds`] if an element falls outside `data`;
    /// [`LayoutError::SelfOverlap`] if two elements may share an address (see there).
    #[inline]
    pub fn try_with_offset(
        data: &'a mut [T],
        offset: usize,
        rows: usize,
        cols: usize,
        rs: isize,
        cs: isize,
    ) -> Result<Self, LayoutError> {
        check_bounds(data.len(), offset, (rows, cols), (rs, cs))?;
        check_no_overlap((rows, cols), (rs, cs))?;
        Ok(MatMut { data, offset, rows, cols, rs, cs })
    }

    /// A mutable view whose lowest-addressed element is `data[0]`.
    ///
    /// # Panics
    /// If an element falls outside `data` or two elements alias; the message names shape,
    /// strides and length.
    #[track_caller]
    #[inline]
    pub fn new(data: &'a mut [T], rows: usize, cols: usize, rs: isize, cs: isize) -> Self {
        let offset = natural_offset((rows, cols), (rs, cs));
        Self::try_with_offset(data, offset, rows, cols, rs, cs).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A row-major mutable view.
    ///
    /// # Panics
    /// As [`MatRef::row_major`].
    #[track_caller]
    #[inline]
    pub fn row_major(data: &'a mut [T], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, dense_stride("MatMut::row_major", (rows, cols), cols), 1)
    }

    /// A column-major mutable view.
    ///
    /// # Panics
    /// As [`MatRef::col_major`].
    #[track_caller]
    #[inline]
    pub fn col_major(data: &'a mut [T], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, 1, dense_stride("MatMut::col_major", (rows, cols), rows))
    }

    /// Element `(i, j)`.
    ///
    /// # Panics
    /// If `(i, j)` is outside the view.
    #[track_caller]
    pub fn get(&self, i: usize, j: usize) -> T {
        self.rb().get(i, j)
    }

    /// Sets element `(i, j)`.
    ///
    /// # Panics
    /// If `(i, j)` is outside the view.
    #[track_caller]
    pub fn set(&mut self, i: usize, j: usize, value: T) {
        assert!(
            i < self.rows && j < self.cols,
            "index ({i}, {j}) outside a {}×{} view",
            self.rows,
            self.cols
        );
        self.data[(self.offset as isize + i as isize * self.rs + j as isize * self.cs) as usize] = value;
    }

    /// A read-only view of the same elements.
    pub fn rb(&self) -> MatRef<'_, T> {
        MatRef {
            data: self.data,
            offset: self.offset,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
        }
    }

    /// A shorter-lived mutable view of the same elements (to pass to `gemm` and keep the
    /// view).
    pub fn rb_mut(&mut self) -> MatMut<'_, T> {
        MatMut {
            data: self.data,
            offset: self.offset,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
        }
    }

    /// Pointer to element (0, 0), for the driver. Valid for every in-view element.
    pub(crate) fn origin_mut(&mut self) -> *mut T {
        self.data.as_mut_ptr().wrapping_add(self.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_cover_negative_and_zero_strides() {
        assert!(check_bounds(6, 0, (2, 3), (3, 1)).is_ok());
        assert!(check_bounds(5, 0, (2, 3), (3, 1)).is_err());
        assert!(check_bounds(6, 3, (2, 3), (-3, 1)).is_ok());
        assert!(check_bounds(6, 2, (2, 3), (-3, 1)).is_err());
        assert!(check_bounds(1, 0, (4, 5), (0, 0)).is_ok());
        assert!(check_bounds(0, 0, (0, 5), (9, 9)).is_ok());
        assert!(check_bounds(10, 0, (2, 2), (isize::MAX, 1)).is_err());
        assert!(check_bounds(usize::MAX, 0, (usize::MAX, 2), (2, 1)).is_err());
    }

    #[test]
    fn overlap_detection() {
        assert!(check_no_overlap((3, 4), (1, 3)).is_ok());
        assert!(check_no_overlap((3, 4), (1, 2)).is_err());
        assert!(check_no_overlap((3, 4), (4, 1)).is_ok());
        assert!(check_no_overlap((3, 4), (-4, 1)).is_ok());
        assert!(check_no_overlap((3, 1), (0, 7)).is_err());
        assert!(check_no_overlap((1, 1), (0, 0)).is_ok());
        assert!(check_no_overlap((1, 5), (0, 1)).is_ok());
        assert!(check_no_overlap((0, 5), (1, 0)).is_ok());
    }

    #[test]
    fn natural_offset_starts_at_lowest_address() {
        assert_eq!(natural_offset((2, 3), (-3, 1)), 3);
        assert_eq!(natural_offset((2, 3), (-3, -1)), 5);
        assert_eq!(natural_offset((2, 3), (3, 1)), 0);
    }
}
