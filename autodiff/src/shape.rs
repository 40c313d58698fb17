//! Shapes: element counts, numpy broadcasting, axis arithmetic.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Ranks up to this are stored inline: cloning a shape then touches no shared counter.
const INLINE: usize = 4;

/// A tensor's dimensions: inline up to rank 4, shared beyond.
#[derive(Clone)]
pub(crate) enum Shape {
    Inline(usize, [usize; INLINE]),
    Shared(Arc<[usize]>),
}

impl From<&[usize]> for Shape {
    fn from(s: &[usize]) -> Self {
        if s.len() <= INLINE {
            let mut a = [0; INLINE];
            a[..s.len()].copy_from_slice(s);
            Shape::Inline(s.len(), a)
        } else {
            Shape::Shared(s.into())
        }
    }
}

impl From<Vec<usize>> for Shape {
    fn from(s: Vec<usize>) -> Self {
        Shape::from(s.as_slice())
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(s: [usize; N]) -> Self {
        Shape::from(&s[..])
    }
}

impl Deref for Shape {
    type Target = [usize];
    #[inline]
    fn deref(&self) -> &[usize] {
        match self {
            Shape::Inline(n, a) => &a[..*n],
            Shape::Shared(s) => s,
        }
    }
}

/// `a == b` for shapes, without the `memcmp` call a slice comparison makes (shapes are a
/// few elements; the call costs more than the comparison on tiny-tensor graphs).
#[inline]
pub(crate) fn same(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

impl PartialEq for Shape {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            // Unused inline slots are zero (`From`), so whole arrays compare as the slices
            // do, without a `memcmp` call.
            (Shape::Inline(n, a), Shape::Inline(m, b)) => n == m && a == b,
            _ => **self == **other,
        }
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The product of the dimensions.
///
/// # Panics
/// If the product of the nonzero dimensions overflows `usize` (numpy's rule): a zero does
/// not excuse the others, so the verdict does not depend on the order of the dimensions,
/// and every partial product of a valid shape (as the ops form around an axis) fits.
#[track_caller]
pub(crate) fn numel(shape: &[usize]) -> usize {
    let nonzero =
        shape.iter().filter(|&&d| d != 0).try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or_else(|| {
            panic!(
                "shape {shape:?}: the element count (the product of the nonzero dimensions) overflows usize"
            )
        });
    if shape.contains(&0) { 0 } else { nonzero }
}

/// The numpy broadcast of two shapes: aligned at the trailing axis, each pair of
/// dimensions equal or one of them 1.
///
/// # Panics
/// If the shapes do not broadcast (the message names both and the op).
#[track_caller]
pub(crate) fn broadcast(op: &str, a: &[usize], b: &[usize]) -> Vec<usize> {
    let n = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() >= n { s[i + s.len() - n] } else { 1 };
    (0..n)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            (x, y) => panic!(
                "{op}: shapes {a:?} and {b:?} do not broadcast (axis {i} of the aligned shapes: {x} vs {y})"
            ),
        })
        .collect()
}

/// Whether `from` broadcasts to `to` (numpy rules, `to` fixed).
pub(crate) fn broadcasts_to(from: &[usize], to: &[usize]) -> bool {
    from.len() <= to.len() && from.iter().rev().zip(to.iter().rev()).all(|(&f, &t)| f == t || f == 1)
}

/// Checks an axis against a rank.
///
/// # Panics
/// If `axis >= rank`, naming the op and the shape.
#[track_caller]
pub(crate) fn axis(op: &str, axis: usize, shape: &[usize]) -> usize {
    assert!(
        axis < shape.len(),
        "{op}: axis {axis} is out of range for shape {shape:?} ({} axes)",
        shape.len()
    );
    axis
}

/// `(outer, len, inner)`: the shape seen as a 3-d block around `axis`.
pub(crate) fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (numel(&shape[..axis]), shape[axis], numel(&shape[axis + 1..]))
}

/// The shape with `axis` set to 1 (keepdim) or removed.
pub(crate) fn reduced(shape: &[usize], axis: usize, keepdim: bool) -> Vec<usize> {
    let mut s = shape.to_vec();
    if keepdim {
        s[axis] = 1;
    } else {
        s.remove(axis);
    }
    s
}

/// The shape with a 1 inserted at `axis`.
pub(crate) fn unsqueezed(shape: &[usize], axis: usize) -> Vec<usize> {
    let mut s = shape.to_vec();
    s.insert(axis, 1);
    s
}
