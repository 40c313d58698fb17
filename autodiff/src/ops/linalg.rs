//! Matrix products (2-d, and batched 3-d) on the kernels' GEMM, and the 2-d transpose.

use std::any::Any;

use kernels::{Element, MatMut, MatRef, Par, gemm};

use super::{batched, build};
use crate::Tensor;
use crate::engine::apply;
use crate::op::Op;
use crate::op::{jvp_by_rows, vjp_by_rows};
use crate::shape::Shape;

/// `C = op(A)·op(B)` where `op(X)` is `Xᵀ` when the flag is set (the transpose is read
/// through strides, never copied). Operands are `[m, k]`-like 2-d tensors, or 3-d with a
/// common leading batch axis. The family is closed under differentiation:
/// - VJP: `dA = G·op(B)ᵀ` (stored transposed when `ta`: `op(B)·Gᵀ`), `dB = op(A)ᵀ·G`
///   (when `tb`: `Gᵀ·op(A)`), each again one `MatMul`;
/// - JVP: `op(dA)·op(B) + op(A)·op(dB)`.
#[derive(Clone, Copy)]
struct MatMul {
    ta: bool,
    tb: bool,
}

/// `(batch, rows, cols)` of a 2-d or 3-d tensor.
fn dims<T: Element>(x: &Tensor<T>) -> (usize, usize, usize) {
    match *x.shape() {
        [r, c] => (1, r, c),
        [b, r, c] => (b, r, c),
        _ => unreachable!("checked by matmul"),
    }
}

/// The `(rows, cols)` of `op(X)` and a view of batch `i` of it.
fn view<T: Element>(x: &Tensor<T>, i: usize, t: bool) -> MatRef<'_, T> {
    let (_, r, c) = dims(x);
    let m = &x.data()[i * r * c..(i + 1) * r * c];
    if t { MatRef::col_major(m, c, r) } else { MatRef::row_major(m, r, c) }
}

impl MatMul {
    #[track_caller]
    fn out_shape<T: Element>(self, a: &Tensor<T>, b: &Tensor<T>) -> Shape {
        let (ba, ra, ca) = dims(a);
        let (bb, rb, cb) = dims(b);
        let (m, k1) = if self.ta { (ca, ra) } else { (ra, ca) };
        let (k2, n) = if self.tb { (cb, rb) } else { (rb, cb) };
        assert!(
            k1 == k2 && a.ndim() == b.ndim() && ba == bb,
            "matmul: shapes {:?}{} and {:?}{} do not multiply",
            a.shape(),
            if self.ta { "ᵀ" } else { "" },
            b.shape(),
            if self.tb { "ᵀ" } else { "" }
        );
        if a.ndim() == 3 { [ba, m, n].into() } else { [m, n].into() }
    }
}

impl<T: Element> Op<T> for MatMul {
    fn name(&self) -> &str {
        "matmul"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let (a, b) = (x[0], x[1]);
        let shape = self.out_shape(a, b);
        let (batch, m, n) =
            if shape.len() == 3 { (shape[0], shape[1], shape[2]) } else { (1, shape[0], shape[1]) };
        // Counted with the overflow check: empty operands can describe an m × n product
        // that no memory holds ([2, 0]·[0, usize::MAX]).
        let count = crate::shape::numel(&shape);
        build(shape, count, |c| {
            for i in 0..batch {
                let ci = MatMut::row_major(&mut c[i * m * n..(i + 1) * m * n], m, n);
                gemm(T::ONE, view(a, i, self.ta), view(b, i, self.tb), T::ZERO, ci, Par::All);
            }
        })
    }
    fn vjp(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        let (a, b) = (&x[0], &x[1]);
        let da =
            a.is_tracked().then(|| if self.ta { mm(b, g, self.tb, true) } else { mm(g, b, false, !self.tb) });
        let db =
            b.is_tracked().then(|| if self.tb { mm(g, a, true, self.ta) } else { mm(a, g, !self.ta, false) });
        vec![da, db]
    }
    fn jvp(&self, x: &[Tensor<T>], _: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        let da = t[0].as_ref().map(|t| mm(t, &x[1], self.ta, self.tb));
        let db = t[1].as_ref().map(|t| mm(&x[0], t, self.ta, self.tb));
        super::sum_some([da, db])
    }
    /// 2-d operands: a batch of tangents of A (untransposed) is one product
    /// `[n·m, k]·op(B)`; the tangents of B, one product each.
    fn jvp_batch(
        &self,
        x: &[Tensor<T>],
        y: &Tensor<T>,
        t: &[Option<Tensor<T>>],
        n: usize,
    ) -> Option<Tensor<T>> {
        let (a, b) = (&x[0], &x[1]);
        if a.ndim() != 2 || self.ta {
            return jvp_by_rows(self, x, y, t, n);
        }
        let (m, k) = (a.shape()[0], a.shape()[1]);
        let da = t[0]
            .as_ref()
            .map(|t| mm(&t.reshape(&[n * m, k]), b, false, self.tb).reshape(&batched(n, y.shape())));
        let db = t[1].as_ref().map(|t| {
            let rows: Vec<Tensor<T>> = (0..n).map(|i| mm(a, &t.select(0, i), false, self.tb)).collect();
            Tensor::stack(&rows, 0)
        });
        super::sum_some([da, db])
    }
    /// 2-d operands: the batch of `dA = G·op(B)ᵀ` is one product `[n·m, n′]·op(B)ᵀ`; the
    /// `dB`, one product each.
    fn vjp_batch(&self, x: &[Tensor<T>], y: &Tensor<T>, g: &Tensor<T>, n: usize) -> Vec<Option<Tensor<T>>> {
        let (a, b) = (&x[0], &x[1]);
        if a.ndim() != 2 || self.ta {
            return vjp_by_rows(self, x, y, g, n);
        }
        let (m, cols) = (y.shape()[0], y.shape()[1]);
        let da = a
            .is_tracked()
            .then(|| mm(&g.reshape(&[n * m, cols]), b, false, !self.tb).reshape(&batched(n, a.shape())));
        let db = b.is_tracked().then(|| {
            let rows: Vec<Tensor<T>> = (0..n)
                .map(|i| {
                    let gi = g.select(0, i);
                    if self.tb { mm(&gi, a, true, false) } else { mm(a, &gi, true, false) }
                })
                .collect();
            Tensor::stack(&rows, 0)
        });
        vec![da, db]
    }
}

#[track_caller]
fn mm<T: Element>(a: &Tensor<T>, b: &Tensor<T>, ta: bool, tb: bool) -> Tensor<T> {
    apply(MatMul { ta, tb }, &[a, b])
}

/// Whether the cotangent of input `j` of `op` on `inputs` is one 2-d product, which
/// [`update_into`] can add straight into a parameter.
pub(crate) fn fusable<T: Element>(op: &dyn Any, j: usize, inputs: &[Tensor<T>]) -> bool {
    op.is::<MatMul>() && j < 2 && inputs.len() == 2 && inputs.iter().all(|x| x.ndim() == 2)
}

/// `dest ← dest + α·gⱼ`, where `gⱼ` is the cotangent of input `j` of the 2-d product `op`
/// (see [`fusable`]) for the output cotangent `g`, computed by one β = 1 GEMM writing
/// `dest` directly: the same operands and orientation as the VJP rule's product, so the
/// sum differs from `dest + α·gⱼ` (the rule's result added afterwards) only in rounding.
/// `other` is the op's other input; `dest` holds input `j`'s shape, row-major.
pub(crate) fn update_into<T: Element>(
    op: &dyn Any,
    j: usize,
    other: &Tensor<T>,
    g: &Tensor<T>,
    alpha: T,
    dest: &mut [T],
) {
    let &MatMul { ta, tb } = op.downcast_ref::<MatMul>().expect("checked by fusable");
    // The rule's products (see `vjp`): dA = G·op(B)ᵀ, or op(B)·Gᵀ when `ta`; dB = op(A)ᵀ·G,
    // or Gᵀ·op(A) when `tb`.
    let (x, tx, y, ty) = match j {
        0 if ta => (other, tb, g, true),
        0 => (g, false, other, !tb),
        _ if tb => (g, true, other, ta),
        _ => (other, !ta, g, false),
    };
    let (xv, yv) = (view(x, 0, tx), view(y, 0, ty));
    let (m, n) = (xv.rows(), yv.cols());
    assert!(dest.len() == m * n, "update_into: a {m}×{n} cotangent into {} values", dest.len());
    gemm(alpha, xv, yv, T::ONE, MatMut::row_major(dest, m, n), Par::All);
}

/// Copies `src` (`rows × cols`, row-major) transposed into `dst`: element `(i, j)` goes to
/// `dst[j * ld + i]` (`ld ≥ rows`; `dst` may be a window of a wider matrix).
///
/// Blocks of up to 64 source rows, walked column by column: each destination row gets one
/// run of up to 64 consecutive elements (whole lines, written once, not revisited), and
/// the block's source lines (one per row) stay in L1 for the next columns they hold.
/// Tiles of 8 rows × 64 columns (the destination rows written 8 elements at a time) took
/// 30% longer on the `[64, 1000]` blocks of a Jacobian: each destination line was fetched
/// again for every 8 source rows, a pass over all columns having outgrown L1. Elements are stored one by
/// one; gathering 8 into a stack array and copying that made each copy's load wait on 8
/// narrower stores it could not forward from.
pub(crate) fn transpose_into<T: Copy>(src: &[T], rows: usize, cols: usize, dst: &mut [T], ld: usize) {
    const R: usize = 64;
    assert!(src.len() == rows * cols && ld >= rows, "transpose_into: {rows}x{cols} source, ld {ld}");
    if rows == 0 || cols == 0 {
        return;
    }
    assert!(dst.len() >= (cols - 1) * ld + rows, "transpose_into: destination too short");
    for i0 in (0..rows).step_by(R) {
        let i1 = (i0 + R).min(rows);
        let block = &src[i0 * cols..i1 * cols];
        for j in 0..cols {
            let out = &mut dst[j * ld + i0..j * ld + i1];
            for (k, d) in out.iter_mut().enumerate() {
                *d = block[k * cols + j];
            }
        }
    }
}

/// The 2-d transpose, copied. VJP and JVP: transpose.
#[derive(Clone, Copy)]
struct Transpose;

impl<T: Element> Op<T> for Transpose {
    fn name(&self) -> &str {
        "transpose"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let (r, c) = (x[0].shape()[0], x[0].shape()[1]);
        build([c, r].into(), r * c, |out| transpose_into(x[0].data(), r, c, out, r))
    }
    fn vjp(&self, _: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        vec![Some(g.t())]
    }
    fn jvp(&self, _: &[Tensor<T>], _: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        t[0].as_ref().map(Tensor::t)
    }
}

impl<T: Element> Tensor<T> {
    /// The matrix product. `[m, k]·[k, n] → [m, n]`; batched `[b, m, k]·[b, k, n] → [b, m, n]`;
    /// and `[b, m, k]·[k, n] → [b, m, n]` (one matrix applied to every batch entry).
    /// Derivative: `dA = G·Bᵀ`, `dB = Aᵀ·G`, computed by GEMM reading the transposes
    /// through strides.
    ///
    /// # Panics
    /// If the ranks are not as above or the inner dimensions differ (the message names both
    /// shapes).
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    /// let i = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2]);
    /// assert_eq!(a.matmul(&i).to_vec(), a.to_vec());
    /// ```
    #[track_caller]
    pub fn matmul(&self, other: &Tensor<T>) -> Tensor<T> {
        match (self.ndim(), other.ndim()) {
            (2, 2) | (3, 3) => mm(self, other, false, false),
            (3, 2) => {
                let (b, m, k) = (self.shape()[0], self.shape()[1], self.shape()[2]);
                // Checked here, so the message names the shapes as given (not the
                // flattened `[b·m, k]` the product runs on).
                assert!(
                    k == other.shape()[0],
                    "matmul: shapes {:?} and {:?} do not multiply",
                    self.shape(),
                    other.shape()
                );
                let flat = self.reshape(&[b * m, k]);
                let out = mm(&flat, other, false, false);
                out.reshape(&[b, m, other.shape()[1]])
            }
            _ => panic!(
                "matmul: shapes {:?} and {:?}: need 2-d·2-d, 3-d·3-d (batched) or 3-d·2-d",
                self.shape(),
                other.shape()
            ),
        }
    }

    /// The transpose of a 2-d tensor (a copy).
    ///
    /// # Panics
    /// If the tensor is not 2-d.
    ///
    /// ```
    /// let a = autodiff::Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[1, 3]);
    /// assert_eq!((a.transpose().shape(), a.transpose().to_vec()), (&[3, 1][..], vec![1.0, 2.0, 3.0]));
    /// ```
    #[track_caller]
    pub fn transpose(&self) -> Tensor<T> {
        assert!(self.ndim() == 2, "transpose: needs a 2-d tensor, got shape {:?}", self.shape());
        apply(Transpose, &[self])
    }

    /// Short for [`transpose`](Tensor::transpose).
    ///
    /// ```
    /// let a = autodiff::Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(a.t().to_vec(), [1.0, 3.0, 2.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn t(&self) -> Tensor<T> {
        self.transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::{MatMul, fusable, transpose_into, update_into};
    use crate::Tensor;
    use crate::op::Op;

    #[test]
    fn update_into_adds_each_rules_product_for_every_orientation() {
        // A 3×4 by 4×2 product under each transpose flag, inputs stored as the flags say.
        // Values are small integers, so every product and sum is exact in f64 and the fused
        // update must equal dest + α·(the VJP rule's cotangent) exactly, for both inputs.
        let ints = |n: usize, s: usize| (0..n).map(|i| ((i * s + 1) % 7) as f64 - 3.0).collect::<Vec<_>>();
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let a = Tensor::from_vec(ints(12, 5), if ta { &[4, 3] } else { &[3, 4] });
            let b = Tensor::from_vec(ints(8, 3), if tb { &[2, 4] } else { &[4, 2] });
            let g = Tensor::from_vec(ints(6, 2), &[3, 2]);
            let op = MatMul { ta, tb };
            let inputs = [a.requires_grad(), b.requires_grad()];
            let rule = Op::<f64>::vjp(&op, &inputs, &g, &g);
            for j in 0..2 {
                assert!(fusable(&op, j, &inputs));
                let want_g = rule[j].as_ref().expect("tracked input").to_vec();
                let mut dest = ints(want_g.len(), 4);
                let want: Vec<f64> = dest.iter().zip(&want_g).map(|(d, c)| d - 0.5 * c).collect();
                update_into(&op, j, &inputs[1 - j], &g, -0.5, &mut dest);
                assert_eq!(dest, want, "ta {ta}, tb {tb}, input {j}");
            }
        }
        // A batched (3-d) product is not one 2-d GEMM.
        let x = Tensor::<f64>::zeros(&[2, 3, 3]);
        assert!(!fusable(&MatMul { ta: false, tb: false }, 1, &[x.clone(), x]));
    }

    #[test]
    fn transpose_into_a_window_of_a_wider_matrix() {
        // Every shape around the 64-row block (full blocks, partial ones, single rows and
        // columns), written into columns 3.. of a destination with 5 spare columns: each
        // element (i, j) lands at j·ld + 3 + i, and nothing else is written.
        for rows in [1, 7, 63, 64, 65, 130] {
            for cols in [1, 7, 8, 9, 17] {
                let src: Vec<u32> = (0..rows * cols).map(|x| x as u32).collect();
                let ld = rows + 5;
                let mut dst = vec![u32::MAX; cols * ld];
                transpose_into(&src, rows, cols, &mut dst[3..], ld);
                for (at, &v) in dst.iter().enumerate() {
                    let (j, r) = (at / ld, at % ld);
                    let want = if (3..3 + rows).contains(&r) { src[(r - 3) * cols + j] } else { u32::MAX };
                    assert_eq!(v, want, "{rows}x{cols} at ({r}, {j})");
                }
            }
        }
    }
}
