//! The jacobian suite (`bench/benches/jacobian.rs`) as two tables:
//!
//! - crossover: per (n, m) the time of `jacfwd` and `jacrev`, which wins and by how much,
//!   and where measured the time of one `jvp` (n = 1) or one `value_and_grad` (m = 1) with
//!   the matching Jacobian's ratio to it;
//! - Hessians: per function and size the time of `hessian`, `hvp`, `value_and_grad` and
//!   `fd_hessian`, with hessian / hvp, fd_hessian / hessian and hvp / value_and_grad.
//!
//! Group ids `jac_crossover_t1` and `jac_hessian_t1`; values `n=…,m=…` and `<function>,n=…`.

use serde::Serialize;

use super::criterion::Measurement;

/// Prefix of the suite's group ids.
pub const PREFIX: &str = "jac_";

/// One (n, m) of the crossover.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CrossRow {
    /// `n=…,m=…`.
    pub shape: String,
    /// Median ns of `jacfwd`, if measured.
    pub jacfwd_ns: Option<f64>,
    /// Median ns of `jacrev`, if measured.
    pub jacrev_ns: Option<f64>,
    /// The slower mode's time over the faster's, and which is faster.
    pub winner: Option<(String, f64)>,
    /// One `jvp` (n = 1) or one `value_and_grad` (m = 1): its name and ns.
    pub reference: Option<(String, f64)>,
    /// The Jacobian in the cheap mode over the reference.
    pub over_reference: Option<f64>,
}

/// One function and size of the Hessian table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HessRow {
    /// `<function>,n=…`.
    pub case: String,
    /// Median ns of `hessian` (forward-over-reverse).
    pub hessian_ns: Option<f64>,
    /// Median ns of `hessian_rev` (reverse-over-reverse).
    pub hessian_rev_ns: Option<f64>,
    /// Median ns of one `hvp`.
    pub hvp_ns: Option<f64>,
    /// Median ns of one `value_and_grad`.
    pub value_and_grad_ns: Option<f64>,
    /// Median ns of the central-difference Hessian (2n gradients).
    pub fd_hessian_ns: Option<f64>,
}

impl HessRow {
    /// hessian / hvp.
    pub fn hessian_over_hvp(&self) -> Option<f64> {
        Some(self.hessian_ns? / self.hvp_ns?)
    }
    /// fd_hessian / hessian: how much faster the exact Hessian is.
    pub fn fd_over_hessian(&self) -> Option<f64> {
        Some(self.fd_hessian_ns? / self.hessian_ns?)
    }
    /// fd_hessian / hessian_rev.
    pub fn fd_over_hessian_rev(&self) -> Option<f64> {
        Some(self.fd_hessian_ns? / self.hessian_rev_ns?)
    }
    /// hvp / value_and_grad.
    pub fn hvp_over_grad(&self) -> Option<f64> {
        Some(self.hvp_ns? / self.value_and_grad_ns?)
    }
}

/// Both tables.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Tables {
    /// The crossover rows, in bench order.
    pub crossover: Vec<CrossRow>,
    /// The Hessian rows, in bench order.
    pub hessians: Vec<HessRow>,
}

fn values_in_order<'a>(results: &[&'a Measurement], group: &str) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for m in results.iter().filter(|m| m.group_id == group) {
        let v = m.value_str.as_deref().unwrap_or("-");
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn time(results: &[&Measurement], group: &str, function: &str, value: &str) -> Option<f64> {
    results
        .iter()
        .find(|m| {
            m.group_id == group
                && m.function_id.as_deref() == Some(function)
                && m.value_str.as_deref() == Some(value)
        })
        .map(|m| m.median_ns)
}

/// Builds the tables from the suite's measurements (any thread suffix: the bench pins one
/// thread).
pub fn tables(results: &[&Measurement]) -> Tables {
    let cross = "jac_crossover_t1";
    let crossover = values_in_order(results, cross)
        .into_iter()
        .map(|v| {
            let (f, r) = (time(results, cross, "jacfwd", v), time(results, cross, "jacrev", v));
            let winner = f.zip(r).map(|(f, r)| {
                if f <= r { ("jacfwd".to_owned(), r / f) } else { ("jacrev".to_owned(), f / r) }
            });
            let reference = ["jvp", "value_and_grad"]
                .into_iter()
                .find_map(|name| time(results, cross, name, v).map(|t| (name.to_owned(), t)));
            let over_reference = reference.as_ref().and_then(|(name, t)| {
                let jac = if name == "jvp" { f } else { r };
                jac.map(|j| j / t)
            });
            CrossRow { shape: v.to_owned(), jacfwd_ns: f, jacrev_ns: r, winner, reference, over_reference }
        })
        .collect();
    let hess = "jac_hessian_t1";
    let hessians = values_in_order(results, hess)
        .into_iter()
        .map(|v| HessRow {
            case: v.to_owned(),
            hessian_ns: time(results, hess, "hessian", v),
            hessian_rev_ns: time(results, hess, "hessian_rev", v),
            hvp_ns: time(results, hess, "hvp", v),
            value_and_grad_ns: time(results, hess, "value_and_grad", v),
            fd_hessian_ns: time(results, hess, "fd_hessian", v),
        })
        .collect();
    Tables { crossover, hessians }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(group: &str, function: &str, value: &str, ns: f64) -> Measurement {
        Measurement {
            full_id: format!("{group}/{function}/{value}"),
            group_id: group.to_owned(),
            function_id: Some(function.to_owned()),
            value_str: Some(value.to_owned()),
            throughput: None,
            median_ns: ns,
            median_ns_ci: [ns, ns],
        }
    }

    #[test]
    fn crossover_winner_and_reference() {
        let rs = [
            m("jac_crossover_t1", "jacfwd", "n=1,m=256", 6.0),
            m("jac_crossover_t1", "jacrev", "n=1,m=256", 600.0),
            m("jac_crossover_t1", "jvp", "n=1,m=256", 5.0),
            m("jac_crossover_t1", "jacfwd", "n=256,m=1", 500.0),
            m("jac_crossover_t1", "jacrev", "n=256,m=1", 8.0),
            m("jac_crossover_t1", "value_and_grad", "n=256,m=1", 7.0),
        ];
        let refs: Vec<&Measurement> = rs.iter().collect();
        let t = tables(&refs);
        assert_eq!(t.crossover.len(), 2);
        // n = 1: forward wins 600/6 = 100×; jacfwd / jvp = 6/5.
        assert_eq!(t.crossover[0].winner, Some(("jacfwd".to_owned(), 100.0)));
        assert_eq!(t.crossover[0].over_reference, Some(6.0 / 5.0));
        // m = 1: reverse wins 500/8; jacrev / value_and_grad = 8/7.
        assert_eq!(t.crossover[1].winner, Some(("jacrev".to_owned(), 62.5)));
        assert_eq!(t.crossover[1].over_reference, Some(8.0 / 7.0));
    }

    #[test]
    fn hessian_ratios() {
        let rs = [
            m("jac_hessian_t1", "hessian", "rosenbrock,n=1000", 4.0e6),
            m("jac_hessian_t1", "hessian_rev", "rosenbrock,n=1000", 2.0e6),
            m("jac_hessian_t1", "hvp", "rosenbrock,n=1000", 2.0e4),
            m("jac_hessian_t1", "value_and_grad", "rosenbrock,n=1000", 1.0e4),
            m("jac_hessian_t1", "fd_hessian", "rosenbrock,n=1000", 2.0e7),
            m("jac_hessian_t1", "hvp", "mlp784,n=203530", 8.0e5),
        ];
        let refs: Vec<&Measurement> = rs.iter().collect();
        let t = tables(&refs);
        let r = &t.hessians[0];
        assert_eq!(
            (r.hessian_over_hvp(), r.fd_over_hessian(), r.hvp_over_grad()),
            (Some(200.0), Some(5.0), Some(2.0))
        );
        // A row with only some functions measured gives only the ratios it can.
        assert_eq!((t.hessians[1].hvp_over_grad(), t.hessians[1].fd_over_hessian()), (None, None));
    }
}
