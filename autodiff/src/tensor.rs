//! `Tensor<T>`: shape + shared buffer, and optionally a graph node and tangents.

use std::fmt;
use std::sync::Arc;

use kernels::Element;

use crate::buffer::{Buffer, Data};
use crate::noderef::NodeRef;
use crate::shape::{self, Shape};

/// A tangent of one forward-mode level: the tensor is `primal + ε_level · tangent`, where the
/// primal is the same tensor with the rest of the chain (`lower`, levels below `level`).
pub(crate) struct DualPart<T: Element> {
    pub(crate) level: crate::mode::Level,
    pub(crate) tangent: Tensor<T>,
    pub(crate) lower: Option<Arc<DualPart<T>>>,
    /// The graph node of the primal part (the tensor's own node belongs to the whole dual
    /// value: its rules see the tangents, which forward-over-reverse needs; the primal's
    /// node sees none, which reverse-over-forward needs once the level has ended).
    pub(crate) primal_node: Option<NodeRef<T>>,
    /// `Some(b)`: `tangent` holds `b` tangents stacked along a leading axis (`jacfwd`).
    pub(crate) batch: Option<usize>,
    /// Batched only: `Some(w)`: `tangent` is compact, zero outside rows `w` of the
    /// primal's axis 0, which it holds alone (see `crate::window`).
    pub(crate) window: Option<crate::window::Window>,
}

/// An n-dimensional, row-major, contiguous array of `f32` or `f64`.
///
/// Cloning is cheap (reference counts): the buffer is shared and never mutated in place
/// while shared. Besides its values a tensor may carry
/// - a node of a reverse-mode graph (it is *tracked*: made by [`Tensor::requires_grad`], by
///   the functional transforms such as [`grad`](crate::grad), or computed from tracked
///   tensors while recording is on), and
/// - tangents (it is a *dual* tensor, `primal + ε·tangent`, inside [`jvp`](crate::jvp)).
///
/// Every op propagates both, so one closure serves every mode.
///
/// ```
/// use autodiff::Tensor;
/// let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
/// let y = (&x * &x).sum();
/// assert_eq!(y.item(), 30.0);
/// assert_eq!(x.shape(), &[2, 2]);
/// ```
pub struct Tensor<T: Element> {
    pub(crate) shape: Shape,
    pub(crate) data: Data<T>,
    pub(crate) node: Option<NodeRef<T>>,
    pub(crate) dual: Option<Arc<DualPart<T>>>,
}

impl<T: Element> Clone for Tensor<T> {
    fn clone(&self) -> Self {
        Tensor {
            shape: self.shape.clone(),
            data: self.data.clone(),
            node: self.node.clone(),
            dual: self.dual.clone(),
        }
    }
}

impl<T: Element> Tensor<T> {
    /// A plain tensor (no node, no tangent). `data.len()` must equal the shape's product.
    pub(crate) fn raw(data: Vec<T>, shape: Shape) -> Self {
        debug_assert_eq!(data.len(), shape::numel(&shape));
        Tensor { shape, data: Buffer::from(data).into(), node: None, dual: None }
    }

    /// Same values and shape, without node or tangents.
    pub(crate) fn plain(&self) -> Self {
        Tensor { shape: self.shape.clone(), data: self.data.clone(), node: None, dual: None }
    }

    /// Same values and tangents, without the graph node.
    pub(crate) fn untracked(&self) -> Self {
        Tensor { shape: self.shape.clone(), data: self.data.clone(), node: None, dual: self.dual.clone() }
    }

    /// A tensor holding `data` in row-major order.
    ///
    /// # Panics
    /// If `data.len()` differs from the product of `shape` (the message names both), or the
    /// product overflows.
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]);
    /// assert_eq!(t.to_vec(), [1.0, 2.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Self {
        let n = shape::numel(shape);
        assert!(
            data.len() == n,
            "Tensor::from_vec: {} values do not fill shape {:?} ({} elements)",
            data.len(),
            shape,
            n
        );
        Tensor::raw(data, shape.into())
    }

    /// A 0-dimensional tensor.
    ///
    /// ```
    /// let s = autodiff::Tensor::scalar(2.5f64);
    /// assert_eq!((s.shape(), s.item()), (&[][..], 2.5));
    /// ```
    pub fn scalar(v: T) -> Self {
        Tensor::raw(vec![v], Shape::from([]))
    }

    /// A tensor of `shape` filled with `v`.
    ///
    /// # Panics
    /// If the element count overflows `usize` or its bytes `isize::MAX` (named).
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::full(&[2], 7.0f32).to_vec(), [7.0, 7.0]);
    /// ```
    #[track_caller]
    pub fn full(shape: &[usize], v: T) -> Self {
        let n = shape::numel(shape);
        crate::buffer::check_len::<T>(n);
        Tensor::raw(vec![v; n], shape.into())
    }

    /// Zeros.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::<f64>::zeros(&[3]).to_vec(), [0.0; 3]);
    /// ```
    #[track_caller]
    pub fn zeros(shape: &[usize]) -> Self {
        Tensor::full(shape, T::ZERO)
    }

    /// Ones.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::<f32>::ones(&[1, 2]).to_vec(), [1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn ones(shape: &[usize]) -> Self {
        Tensor::full(shape, T::ONE)
    }

    /// Independent uniform draws from `[lo, hi)`, from a seeded generator (SplitMix64):
    /// the same seed gives the same tensor on every machine.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let a = Tensor::<f64>::rand_uniform(&[100], -1.0, 1.0, 7);
    /// assert_eq!(a.to_vec(), Tensor::<f64>::rand_uniform(&[100], -1.0, 1.0, 7).to_vec());
    /// assert!(a.to_vec().iter().all(|v| (-1.0..1.0).contains(v)));
    /// ```
    #[track_caller]
    pub fn rand_uniform(shape: &[usize], lo: f64, hi: f64, seed: u64) -> Self {
        let mut g = SplitMix(seed);
        let n = shape::numel(shape);
        crate::buffer::check_len::<T>(n);
        let data = (0..n).map(|_| T::from_f64(lo + (hi - lo) * g.unit())).collect();
        Tensor::raw(data, shape.into())
    }

    /// Independent standard normal draws (Box–Muller on a seeded SplitMix64 generator).
    ///
    /// ```
    /// let z = autodiff::Tensor::<f64>::randn(&[10_000], 1);
    /// let mean = z.mean().item();
    /// assert!(mean.abs() < 0.05); // 5 standard errors of a 10⁴-sample mean
    /// ```
    #[track_caller]
    pub fn randn(shape: &[usize], seed: u64) -> Self {
        let mut g = SplitMix(seed);
        let n = shape::numel(shape);
        crate::buffer::check_len::<T>(n);
        let data = (0..n)
            .map(|_| {
                // 1 − u ∈ (0, 1], so the logarithm is finite.
                let (u, v) = (1.0 - g.unit(), g.unit());
                T::from_f64((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos())
            })
            .collect();
        Tensor::raw(data, shape.into())
    }

    /// The dimensions.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of dimensions.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::<f32>::zeros(&[2, 3]).ndim(), 2);
    /// ```
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::<f32>::zeros(&[2, 3]).numel(), 6);
    /// ```
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The values, row-major.
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
    /// assert_eq!(t.data(), &[1.0, 2.0]);
    /// ```
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// The values, row-major, copied.
    pub fn to_vec(&self) -> Vec<T> {
        self.data.to_vec()
    }

    /// The value of a one-element tensor (any shape whose product is 1).
    ///
    /// # Panics
    /// If the tensor does not hold exactly one element.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::from_vec(vec![3.0f32], &[1, 1]).item(), 3.0);
    /// ```
    #[track_caller]
    pub fn item(&self) -> T {
        assert!(self.numel() == 1, "Tensor::item: the tensor has shape {:?}, not one element", self.shape());
        self.data[0]
    }

    /// Whether the tensor is part of a reverse-mode graph.
    ///
    /// ```
    /// let x = autodiff::Tensor::scalar(1.0f64);
    /// assert!(!x.is_tracked() && x.requires_grad().is_tracked());
    /// ```
    pub fn is_tracked(&self) -> bool {
        self.node.is_some()
    }

    /// Whether the tensor carries a forward-mode tangent (inside [`jvp`](crate::jvp)).
    pub fn is_dual(&self) -> bool {
        self.dual.is_some()
    }

    /// The same values cut off from the graph and from any tangent: a constant.
    ///
    /// ```
    /// use autodiff::{grad, Tensor};
    /// // d/dx [x · detach(x)] = detach(x): the detached factor is a constant.
    /// let g = grad(|x: &Tensor<f64>| (x * &x.detach()).sum(), &Tensor::scalar(3.0));
    /// assert_eq!(g.item(), 3.0);
    /// ```
    pub fn detach(&self) -> Self {
        self.plain()
    }

    /// Copy-on-write access to the values of an untracked, non-dual tensor: the buffer is
    /// copied first if it is shared. For in-place updates such as an SGD step.
    ///
    /// # Panics
    /// If the tensor is tracked or dual (changing it would falsify the recorded graph).
    ///
    /// ```
    /// let mut w = autodiff::Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
    /// for v in w.data_mut() { *v *= 2.0; }
    /// assert_eq!(w.to_vec(), [2.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn data_mut(&mut self) -> &mut [T] {
        assert!(
            self.node.is_none() && self.dual.is_none(),
            "Tensor::data_mut: the tensor is tracked or dual; detach() it before changing it in place"
        );
        self.data.make_mut()
    }

    /// `self ← self + α·x` in place (copy-on-write, as [`Tensor::data_mut`]), e.g. an SGD
    /// step `w.axpy_(-lr, &g)`.
    ///
    /// # Panics
    /// If the shapes differ, or as [`Tensor::data_mut`].
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let mut w = Tensor::from_vec(vec![1.0f64, 1.0], &[2]);
    /// w.axpy_(-0.5, &Tensor::from_vec(vec![2.0, 4.0], &[2]));
    /// assert_eq!(w.to_vec(), [0.0, -1.0]);
    /// ```
    #[track_caller]
    pub fn axpy_(&mut self, alpha: T, x: &Tensor<T>) {
        assert!(self.shape == x.shape, "Tensor::axpy_: shapes {:?} and {:?} differ", self.shape(), x.shape());
        kernels::ew::axpy(alpha, x.data(), self.data_mut());
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, well-distributed seeded generator.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 53 random bits.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

impl<T: Element> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor<{}>{:?}", T::NAME, self.shape())?;
        if self.is_tracked() {
            write!(f, " tracked")?;
        }
        if let Some(d) = &self.dual {
            write!(f, " dual(level {})", d.level)?;
        }
        const SHOWN: usize = 8;
        write!(f, " {:?}", &self.data[..self.numel().min(SHOWN)])?;
        if self.numel() > SHOWN {
            write!(f, " … ({} more)", self.numel() - SHOWN)?;
        }
        Ok(())
    }
}
