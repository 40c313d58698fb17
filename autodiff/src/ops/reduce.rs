//! Reductions and the softmax family. Sums are `sum_to` (whose VJP is `broadcast_to`);
//! `max_axis`, `prod`, `softmax` and `log_softmax` are ops of their own; `logsumexp` and
//! the means are compositions.

use kernels::Element;
use kernels::ew;

use super::{batched, batched_aligned, build};
use crate::Tensor;
use crate::engine::apply;
use crate::op::Op;
use crate::shape;

/// Max along `axis` (kept as length 1). Derivative: the cotangent goes to the maximal
/// entries, split equally among ties; a constant weight `w = [x = max]/count`.
#[derive(Clone, Copy)]
struct MaxAxis {
    axis: usize,
}

impl MaxAxis {
    /// The tie-splitting weights (a constant of `x`'s shape; NaN where the max is NaN).
    fn weights<T: Element>(self, x: &Tensor<T>, m: &Tensor<T>) -> Tensor<T> {
        let (outer, len, inner) = shape::split(x.shape(), self.axis);
        let (xv, mv) = (x.data(), m.data());
        let mut w = vec![T::ZERO; xv.len()];
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| (o * len + k) * inner + i;
                let mx = mv[o * inner + i];
                let count = (0..len).filter(|&k| xv[at(k)] == mx).count();
                // No entry equals a NaN max: the weights are then NaN (0/0), as is the max.
                let share = T::ONE / T::from_f64(count as f64);
                for k in 0..len {
                    w[at(k)] = if xv[at(k)] == mx { share } else { share * T::ZERO };
                }
            }
        }
        Tensor::from_vec(w, x.shape())
    }
}

impl<T: Element> Op<T> for MaxAxis {
    fn name(&self) -> &str {
        "max_axis"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let (outer, len, inner) = shape::split(x[0].shape(), self.axis);
        let out = shape::reduced(x[0].shape(), self.axis, true);
        let xv = x[0].data();
        build(out.into(), outer * inner, |o| {
            if inner == 1 {
                for (r, dst) in o.iter_mut().enumerate() {
                    *dst = ew::max(&xv[r * len..(r + 1) * len]);
                }
                return;
            }
            for b in 0..outer {
                let dst = &mut o[b * inner..(b + 1) * inner];
                dst.copy_from_slice(&xv[b * len * inner..b * len * inner + inner]);
                for k in 1..len {
                    let row = &xv[(b * len + k) * inner..(b * len + k + 1) * inner];
                    // NaN propagates (as `ew::max`): once NaN, stays NaN.
                    for (d, &v) in dst.iter_mut().zip(row) {
                        if v > *d || v.to_f64().is_nan() {
                            *d = if d.to_f64().is_nan() { *d } else { v };
                        }
                    }
                }
            }
        })
    }
    fn vjp(&self, x: &[Tensor<T>], m: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        vec![Some(&g.broadcast_to(x[0].shape()) * &self.weights(&x[0], m))]
    }
    fn jvp(&self, x: &[Tensor<T>], m: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        t[0].as_ref().map(|t| (t * &self.weights(&x[0], m)).sum_to(m.shape()))
    }
    fn jvp_batch(
        &self,
        x: &[Tensor<T>],
        m: &Tensor<T>,
        t: &[Option<Tensor<T>>],
        n: usize,
    ) -> Option<Tensor<T>> {
        t[0].as_ref().map(|t| (t * &self.weights(&x[0], m)).sum_to(&batched(n, m.shape())))
    }
    fn vjp_batch(&self, x: &[Tensor<T>], m: &Tensor<T>, g: &Tensor<T>, n: usize) -> Vec<Option<Tensor<T>>> {
        vec![Some(&g.broadcast_to(&batched(n, x[0].shape())) * &self.weights(&x[0], m))]
    }
}

/// Π of all elements. VJP: `g·Πⱼ≠ᵢ xⱼ` by [`PartialProd`]`(0)` (exact with zeros among the
/// factors).
#[derive(Clone, Copy)]
struct Prod;

/// The derivatives of `prod`, to any order. `PartialProd(r)` takes `x` and `r` vectors
/// `v₁ … v_r` of `x`'s shape (all flattened) and gives, for each element `i`,
///
/// `Qᵢ = Σ vₗ₁[j₁]⋯v_r[j_r] · Πₘ∉{i, j₁ … j_r} xₘ` over distinct `j₁ … j_r`, all ≠ `i`:
///
/// the (r + 1)-th derivative tensor of `Π x` contracted with `v₁ … v_r` (that tensor is
/// `Πₘ∉S xₘ` at a set `S` of distinct indices, 0 where an index repeats). `r = 0` is the
/// exclusive product `Πⱼ≠ᵢ xⱼ`. `Q` is symmetric in the roles of `i` and the `j`s, so its
/// rules are its own: the cotangent `g` of `Q` gives `x` the cotangent
/// `PartialProd(r + 1)(x, v…, g)` and `vₗ` the cotangent `PartialProd(r)(x, v… with vₗ → g)`;
/// the JVP is the same sums with the tangents in `g`'s place.
///
/// Computed without division (so zeros are exact), in `O(n·3ʳ)`: `Qᵢ` is the coefficient
/// of `ε₁⋯ε_r` in `Πₘ≠ᵢ (xₘ + Σₗ εₗ·vₗ[m])`, with the `εₗ` multilinear (`εₗ² = 0`), from
/// prefix and suffix products of those polynomials.
#[derive(Clone, Copy)]
struct PartialProd(usize);

impl PartialProd {
    /// `Q` for `x` and `v` (`r` slices of `x`'s length).
    fn eval<T: Element>(x: &[T], v: &[&[T]]) -> Vec<T> {
        let (n, masks) = (x.len(), 1usize << v.len());
        // A polynomial in the εs: the coefficient of each subset (bit l: εₗ).
        let factor = |m: usize| {
            let mut p = vec![T::ZERO; masks];
            p[0] = x[m];
            for (l, vl) in v.iter().enumerate() {
                p[1 << l] = vl[m];
            }
            p
        };
        // a·b, keeping only products of disjoint subsets (εₗ² = 0).
        let mul = |a: &[T], b: &[T]| {
            let mut c = vec![T::ZERO; masks];
            for (sa, &av) in a.iter().enumerate() {
                let mut sb = (masks - 1) & !sa;
                loop {
                    c[sa | sb] = c[sa | sb] + av * b[sb];
                    if sb == 0 {
                        break;
                    }
                    sb = (sb - 1) & !sa;
                }
            }
            c
        };
        let one = |_| {
            let mut p = vec![T::ZERO; masks];
            p[0] = T::ONE;
            p
        };
        // prefix[i] = Πₘ<ᵢ, filled right to left into the output with the suffix.
        let mut prefix = Vec::with_capacity(n);
        let mut acc = one(());
        for m in 0..n {
            prefix.push(acc.clone());
            acc = mul(&acc, &factor(m));
        }
        let full = masks - 1;
        let mut out = vec![T::ZERO; n];
        let mut suffix = one(());
        for i in (0..n).rev() {
            let p = &prefix[i];
            // The ε₁⋯ε_r coefficient of prefix · suffix.
            out[i] = (0..masks).fold(T::ZERO, |s, a| s + p[a] * suffix[full & !a]);
            suffix = mul(&suffix, &factor(i));
        }
        out
    }

    /// `PartialProd(r)` of `x` and `v`, as an op.
    fn of<T: Element>(x: &Tensor<T>, v: &[&Tensor<T>]) -> Tensor<T> {
        let inputs: Vec<&Tensor<T>> = std::iter::once(x).chain(v.iter().copied()).collect();
        apply(PartialProd(v.len()), &inputs)
    }

    /// The contribution of an input's tangent or cotangent `s` (input `k`): `x` gains an
    /// index, a `vₗ` is replaced.
    fn through<T: Element>(x: &[Tensor<T>], k: usize, s: &Tensor<T>) -> Tensor<T> {
        let v: Vec<&Tensor<T>> = x[1..].iter().collect();
        if k == 0 {
            let more: Vec<&Tensor<T>> = v.into_iter().chain(std::iter::once(s)).collect();
            PartialProd::of(&x[0], &more)
        } else {
            let swapped: Vec<&Tensor<T>> =
                v.iter().enumerate().map(|(l, vl)| if l + 1 == k { s } else { vl }).collect();
            PartialProd::of(&x[0], &swapped)
        }
    }
}

impl<T: Element> Op<T> for Prod {
    fn name(&self) -> &str {
        "prod"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        Tensor::scalar(x[0].data().iter().fold(T::ONE, |a, &b| a * b))
    }
    fn vjp(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        vec![Some(g * &PartialProd::of(&x[0], &[]))]
    }
    fn jvp(&self, x: &[Tensor<T>], _: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        t[0].as_ref().map(|t| (t * &PartialProd::of(&x[0], &[])).sum())
    }
    fn jvp_batch(
        &self,
        x: &[Tensor<T>],
        _: &Tensor<T>,
        t: &[Option<Tensor<T>>],
        n: usize,
    ) -> Option<Tensor<T>> {
        t[0].as_ref()
            .map(|t| (t * &PartialProd::of(&x[0], &[])).reshape(&[n, x[0].numel()]).sum_axis(1, false))
    }
    fn vjp_batch(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>, n: usize) -> Vec<Option<Tensor<T>>> {
        let g = g.reshape(&batched_aligned(n, &[], x[0].ndim()));
        vec![Some(&g * &PartialProd::of(&x[0], &[]))]
    }
}

impl<T: Element> Op<T> for PartialProd {
    fn name(&self) -> &str {
        "prod_partial"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let v: Vec<&[T]> = x[1..=self.0].iter().map(|t| t.data()).collect();
        Tensor::from_vec(PartialProd::eval(x[0].data(), &v), x[0].shape())
    }
    fn vjp(&self, x: &[Tensor<T>], _: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        (0..x.len()).map(|k| x[k].is_tracked().then(|| PartialProd::through(x, k, g))).collect()
    }
    fn jvp(&self, x: &[Tensor<T>], _: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        super::sum_some(t.iter().enumerate().map(|(k, t)| t.as_ref().map(|t| PartialProd::through(x, k, t))))
    }
}

/// Softmax (`log: false`) or log-softmax along the last axis, by the kernels' row
/// functions. With y the output:
/// - softmax: VJP `y·(g − Σ g·y)`, JVP `y·(t − Σ t·y)`;
/// - log-softmax: VJP `g − eʸ·Σg`, JVP `t − Σ eʸ·t` (sums over the axis, kept).
#[derive(Clone, Copy)]
struct Softmax {
    log: bool,
}

impl<T: Element> Op<T> for Softmax {
    fn name(&self) -> &str {
        if self.log { "log_softmax" } else { "softmax" }
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let cols = *x[0].shape().last().expect("checked rank ≥ 1");
        build(x[0].shape.clone(), x[0].numel(), |o| {
            if o.is_empty() {
            } else if self.log {
                ew::log_softmax_rows(x[0].data(), cols, o)
            } else {
                ew::softmax_rows(x[0].data(), cols, o)
            }
        })
    }
    fn vjp(&self, _: &[Tensor<T>], y: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        vec![Some(self.rule(y, g, true))]
    }
    fn jvp(&self, _: &[Tensor<T>], y: &Tensor<T>, t: &[Option<Tensor<T>>]) -> Option<Tensor<T>> {
        t[0].as_ref().map(|t| self.rule(y, t, false))
    }
    // The rules reduce over the last axis only and broadcast `y`: batches pass as they are.
    fn jvp_batch(
        &self,
        _: &[Tensor<T>],
        y: &Tensor<T>,
        t: &[Option<Tensor<T>>],
        _: usize,
    ) -> Option<Tensor<T>> {
        t[0].as_ref().map(|t| self.rule(y, t, false))
    }
    fn vjp_batch(&self, _: &[Tensor<T>], y: &Tensor<T>, g: &Tensor<T>, _: usize) -> Vec<Option<Tensor<T>>> {
        vec![Some(self.rule(y, g, true))]
    }
}

impl Softmax {
    /// The VJP (`vjp: true`) or JVP of the lane map. Softmax's Jacobian `diag(y) − y·yᵀ` is
    /// symmetric, so both are `y·(s − Σ s·y)`; log-softmax's `J = I − 1·pᵀ` gives
    /// `Jᵀg = g − p·Σg` and `J·t = t − Σ p·t`.
    fn rule<T: Element>(self, y: &Tensor<T>, s: &Tensor<T>, vjp: bool) -> Tensor<T> {
        let last = s.ndim() - 1;
        if !self.log {
            return y * &(s - &(s * y).sum_axis(last, true));
        }
        let p = y.exp();
        if vjp { s - &(&p * &s.sum_axis(last, true)) } else { s - &(&p * s).sum_axis(last, true) }
    }
}

impl<T: Element> Tensor<T> {
    /// Σ of all elements, a 0-d tensor (compensated summation). Derivative: ones.
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).sum().item(), 6.0);
    /// ```
    #[track_caller]
    pub fn sum(&self) -> Tensor<T> {
        self.sum_to(&[]).reshape(&[])
    }

    /// The mean of all elements (NaN for an empty tensor).
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::from_vec(vec![1.0f64, 2.0], &[2]).mean().item(), 1.5);
    /// ```
    #[track_caller]
    pub fn mean(&self) -> Tensor<T> {
        &self.sum() * (T::ONE / T::from_f64(self.numel() as f64))
    }

    /// Σ along `axis`, keeping it as length 1 or dropping it.
    ///
    /// # Panics
    /// If `axis` is out of range.
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.sum_axis(0, false).to_vec(), [4.0, 6.0]);
    /// assert_eq!(t.sum_axis(1, true).shape(), &[2, 1]);
    /// ```
    #[track_caller]
    pub fn sum_axis(&self, axis: usize, keepdim: bool) -> Tensor<T> {
        let axis = shape::axis("sum_axis", axis, self.shape());
        let kept = self.sum_to(&shape::reduced(self.shape(), axis, true));
        if keepdim { kept } else { kept.reshape(&shape::reduced(self.shape(), axis, false)) }
    }

    /// The mean along `axis`.
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.mean_axis(1, false).to_vec(), [1.5, 3.5]);
    /// ```
    #[track_caller]
    pub fn mean_axis(&self, axis: usize, keepdim: bool) -> Tensor<T> {
        let n = self.shape()[shape::axis("mean_axis", axis, self.shape())];
        &self.sum_axis(axis, keepdim) * (T::ONE / T::from_f64(n as f64))
    }

    /// The maximum along `axis` (NaN if the lane holds one). Derivative: to the maximal
    /// entries, split equally among ties.
    ///
    /// # Panics
    /// If `axis` is out of range or has length 0.
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![1.0f64, 5.0, 3.0, 2.0], &[2, 2]);
    /// assert_eq!(t.max_axis(1, false).to_vec(), [5.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn max_axis(&self, axis: usize, keepdim: bool) -> Tensor<T> {
        let axis = shape::axis("max_axis", axis, self.shape());
        assert!(self.shape()[axis] > 0, "max_axis: axis {axis} of shape {:?} is empty", self.shape());
        let kept = apply(MaxAxis { axis }, &[self]);
        if keepdim { kept } else { kept.reshape(&shape::reduced(self.shape(), axis, false)) }
    }

    /// Π of all elements, a 0-d tensor. Derivative: `Πⱼ≠ᵢ xⱼ`, exact with zero factors
    /// (derivatives of every order too: the k-th is `Πₘ∉S xₘ` at distinct indices `S`, 0
    /// where an index repeats; no division).
    ///
    /// ```
    /// assert_eq!(autodiff::Tensor::from_vec(vec![2.0f64, 3.0, 4.0], &[3]).prod().item(), 24.0);
    /// ```
    #[track_caller]
    pub fn prod(&self) -> Tensor<T> {
        apply(Prod, &[self])
    }

    /// `ln Σ exp` along `axis` (kept as length 1 or dropped), stable for large entries.
    /// Derivative: softmax along the axis.
    ///
    /// # Panics
    /// If `axis` is out of range or has length 0 (named as `logsumexp`).
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![1000.0f64, 1000.0], &[2]);
    /// assert_eq!(t.logsumexp(0, false).item(), 1000.0 + 2f64.ln());
    /// ```
    #[track_caller]
    pub fn logsumexp(&self, axis: usize, keepdim: bool) -> Tensor<T> {
        let axis = shape::axis("logsumexp", axis, self.shape());
        assert!(self.shape()[axis] > 0, "logsumexp: axis {axis} of shape {:?} is empty", self.shape());
        // m + ln Σ exp(x − m) with m the (detached) max: the value does not depend on m,
        // so treating it as a constant leaves every derivative exact. A non-finite max
        // (±inf or NaN) is replaced by 0 so that x − m stays meaningful.
        let m = self.max_axis(axis, true).detach();
        let m = Tensor::from_vec(
            m.data().iter().map(|&v| if v.to_f64().is_finite() { v } else { T::ZERO }).collect(),
            m.shape(),
        );
        let kept = &(self - &m).exp().sum_axis(axis, true).ln() + &m;
        if keepdim { kept } else { kept.reshape(&shape::reduced(self.shape(), axis, false)) }
    }

    /// Softmax along `axis`. Derivative: `J = diag(y) − y·yᵀ` per lane. An empty tensor
    /// gives an empty result (on any axis, an empty one included).
    ///
    /// # Panics
    /// If `axis` is out of range.
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![0.0f64, 0.0], &[1, 2]);
    /// assert_eq!(t.softmax(1).to_vec(), [0.5, 0.5]);
    /// ```
    #[track_caller]
    pub fn softmax(&self, axis: usize) -> Tensor<T> {
        let axis = shape::axis("softmax", axis, self.shape());
        // An empty tensor has no lanes: the last-axis op handles it (the composition below
        // would take the max of an empty axis).
        if axis + 1 == self.ndim() || self.numel() == 0 {
            apply(Softmax { log: false }, &[self])
        } else {
            (self - &self.logsumexp(axis, true)).exp()
        }
    }

    /// log-softmax along `axis`. Derivative: `J = I − 1·pᵀ` per lane, p = softmax. An
    /// empty tensor gives an empty result.
    ///
    /// # Panics
    /// If `axis` is out of range.
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![0.0f64, 0.0], &[2]);
    /// assert_eq!(t.log_softmax(0).to_vec(), [-(2f64.ln()); 2]);
    /// ```
    #[track_caller]
    pub fn log_softmax(&self, axis: usize) -> Tensor<T> {
        let axis = shape::axis("log_softmax", axis, self.shape());
        if axis + 1 == self.ndim() || self.numel() == 0 {
            apply(Softmax { log: true }, &[self])
        } else {
            self - &self.logsumexp(axis, true)
        }
    }
}

#[cfg(test)]
mod partial_prod_tests {
    use super::PartialProd;

    /// `Qᵢ` by its definition: the sum over distinct `j₁ … j_r`, all ≠ `i`, of
    /// `v₁[j₁]⋯v_r[j_r] · Πₘ∉{i, j…} xₘ`, by enumerating index tuples.
    fn brute(x: &[f64], v: &[&[f64]]) -> Vec<f64> {
        let n = x.len();
        let mut out = vec![0.0; n];
        let mut js = vec![0usize; v.len()];
        for (i, o) in out.iter_mut().enumerate() {
            let total = n.pow(v.len() as u32);
            for code in 0..total {
                let mut c = code;
                for j in js.iter_mut() {
                    *j = c % n;
                    c /= n;
                }
                let mut seen = vec![i];
                let mut distinct = true;
                for &j in &js {
                    distinct &= !seen.contains(&j);
                    seen.push(j);
                }
                if !distinct {
                    continue;
                }
                let vs: f64 = js.iter().zip(v).map(|(&j, vl)| vl[j]).product();
                let xs: f64 = (0..n).filter(|m| !seen.contains(m)).map(|m| x[m]).product();
                *o += vs * xs;
            }
        }
        out
    }

    /// Against the definition for r = 0 … 3 on small integers (zeros and repeats included),
    /// where every sum and product is an exactly representable integer: equal exactly.
    #[test]
    fn partial_products_match_their_definition() {
        let x = [2.0, 0.0, -1.0, 3.0, 1.0];
        let vs = [[1.0, 2.0, 0.0, -1.0, 3.0], [0.0, 1.0, 1.0, 2.0, -2.0], [3.0, -1.0, 2.0, 0.0, 1.0]];
        for r in 0..=3 {
            let v: Vec<&[f64]> = vs[..r].iter().map(|v| &v[..]).collect();
            assert_eq!(PartialProd::eval(&x, &v), brute(&x, &v), "r = {r}");
        }
    }
}
