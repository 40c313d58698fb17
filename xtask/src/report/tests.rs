//! Report tests on the recorded criterion tree `tests/fixtures/criterion` (its
//! `README.md` tabulates every fixture's GFLOP/s) and the `limits.json` fixture
//! (FMA peaks f32: 271.28 on 1 thread, 294.74 on all; f64: 135.2 and 271.11).

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::criterion::{Measurement, Throughput, collect};
use super::render::{self, Style};
use super::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn limits() -> Limits {
    Limits::parse(&std::fs::read_to_string(fixtures().join("limits.json")).unwrap()).unwrap()
}

/// Expected ids in the order the gemm bench registers them (per shape: ours, faer,
/// matrixmultiply), except that the non-square shape comes first here, to check that
/// the table sorts squares by size ahead of it.
fn expected() -> Vec<String> {
    let mut ids = Vec::new();
    let mut add = |group: &str, shapes: &[&str], impls: &[&str]| {
        for s in shapes {
            for i in impls {
                ids.push(format!("{group}/{i}/{s}"));
            }
        }
    };
    let all = ["m=6,n=2304,k=768", "n=256", "n=64", "n=128"];
    add("gemm_f32_t1", &all, &IMPLS);
    add("gemm_f64_t1", &["n=64", "n=128"], &["ours", "faer"]);
    add("gemm_f32_tall", &all, &IMPLS);
    ids
}

fn report() -> Report {
    let results = collect(&fixtures().join("criterion"), UNIX_EPOCH, &expected()).unwrap();
    Report::build(limits(), &results, Some("abc1234".into()), false, None).unwrap()
}

/// `a` equals `b` to within a relative `1e-12`: the only error is the rounding of the
/// fixture's decimal medians (FLOP / GFLOP/s) and of one division.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs()
}

fn group<'a>(r: &'a Report, id: &str) -> &'a GroupTable {
    r.groups.iter().find(|g| g.group == id).unwrap()
}

fn row<'a>(g: &'a GroupTable, shape: &str) -> &'a Row {
    g.rows.iter().find(|r| r.shape == shape).unwrap()
}

#[test]
fn groups_in_run_order_and_rows_squares_first() {
    let r = report();
    let ids: Vec<_> = r.groups.iter().map(|g| g.group.as_str()).collect();
    assert_eq!(ids, ["gemm_f32_t1", "gemm_f64_t1", "gemm_f32_tall"]);
    let shapes: Vec<_> = r.groups[0].rows.iter().map(|r| r.shape.as_str()).collect();
    assert_eq!(shapes, ["n=64", "n=128", "n=256", "m=6,n=2304,k=768"]);
    assert_eq!(r.groups[0].implementations, IMPLS);
    assert_eq!(r.groups[1].implementations, ["ours", "faer"]);
}

#[test]
fn gflops_is_flop_over_median_ns() {
    let r = report();
    let g = group(&r, "gemm_f32_t1");
    let n64 = row(g, "n=64");
    // 2·64³ = 524 288 FLOP in a median 5 242.88 ns → 100 GFLOP/s.
    assert_eq!(n64.flop, 524_288);
    assert!(close(n64.gflops("ours").unwrap(), 100.0));
    // Confidence interval [5 200, 5 300] ns → [524 288 / 5 300, 524 288 / 5 200] GFLOP/s
    // = [98.922…, 100.824…]: the slower end of the time is the lower throughput.
    let ci = n64.figures[0].gflops_ci;
    assert!(close(ci[0], 524_288.0 / 5300.0) && close(ci[1], 524_288.0 / 5200.0));
    // m=6,n=2304,k=768: 2·6·2304·768 = 21 233 664 FLOP; faer's median 1 415 577.6 ns → 15.
    let skinny = row(g, "m=6,n=2304,k=768");
    assert_eq!(skinny.flop, 21_233_664);
    assert!(close(skinny.gflops("faer").unwrap(), 15.0));
}

#[test]
fn ratio_against_the_best_peer() {
    let r = report();
    let g = group(&r, "gemm_f32_t1");
    // n=128: ours 200, faer 250, matrixmultiply 100 → best peer faer, 200 / 250 = 0.8.
    let n128 = row(g, "n=128");
    assert_eq!(n128.best_peer.as_ref().unwrap().implementation, "faer");
    assert!(close(n128.ours_over_best_peer.unwrap(), 0.8));
    // n=256: ours 250, faer 200, matrixmultiply 128 → 250 / 200 = 1.25.
    assert!(close(row(g, "n=256").ours_over_best_peer.unwrap(), 1.25));
    // tall n=64: ours 90, faer 10, matrixmultiply 60 → best peer matrixmultiply, 1.5.
    let tall64 = row(group(&r, "gemm_f32_tall"), "n=64");
    assert_eq!(tall64.best_peer.as_ref().unwrap().implementation, "matrixmultiply");
    assert!(close(tall64.ours_over_best_peer.unwrap(), 1.5));
}

#[test]
fn percent_of_the_matching_peak() {
    let r = report();
    // One-thread group against the one-core f32 peak: 100 · 250 / 271.28 = 92.156…%.
    let t1 = group(&r, "gemm_f32_t1");
    assert_eq!(t1.peak_gflops, Some(271.28));
    assert!(close(row(t1, "n=256").ours_pct_of_peak.unwrap(), 100.0 * 250.0 / 271.28));
    // All-threads group against the all-cores f32 peak: 100 · 300 / 294.74 = 101.78…%.
    let tall = group(&r, "gemm_f32_tall");
    assert_eq!(tall.peak_gflops, Some(294.74));
    assert!(close(row(tall, "n=128").ours_pct_of_peak.unwrap(), 100.0 * 300.0 / 294.74));
    // f64 one thread: 100 · 60 / 135.2 = 44.37…%.
    let f64_t1 = group(&r, "gemm_f64_t1");
    assert!(close(row(f64_t1, "n=128").ours_pct_of_peak.unwrap(), 100.0 * 60.0 / 135.2));
}

#[test]
fn geometric_means_per_shape_class() {
    let r = report();
    let t1 = group(&r, "gemm_f32_t1");
    // Square 128..2048: n=128 (0.8) and n=256 (1.25) → √(0.8 · 1.25) = √1 = 1.
    let large = t1.geomean_large_square.as_ref().unwrap();
    assert_eq!(large.shapes, 2);
    assert!(close(large.value, 1.0));
    // n ≤ 64 and non-square: n=64 (100 / 80 = 1.25), m=6,n=2304,k=768 (48 / 15 = 3.2)
    // → √(1.25 · 3.2) = √4 = 2.
    let small = t1.geomean_small_and_skinny.as_ref().unwrap();
    assert_eq!(small.shapes, 2);
    assert!(close(small.value, 2.0));
    // f64: one shape each: n=128 → 60 / 48 = 1.25; n=64 → 40 / 50 = 0.8.
    let f64_t1 = group(&r, "gemm_f64_t1");
    assert!(close(f64_t1.geomean_large_square.as_ref().unwrap().value, 1.25));
    assert!(close(f64_t1.geomean_small_and_skinny.as_ref().unwrap().value, 0.8));
}

#[test]
fn geomean_of_values() {
    // √(2 · 8) = 4; ∛(1 · 3 · 9) = ∛27 = 3.
    assert!(close(geomean(&[2.0, 8.0]).unwrap().value, 4.0));
    assert!(close(geomean(&[1.0, 3.0, 9.0]).unwrap().value, 3.0));
    assert_eq!(geomean(&[]), None);
}

#[test]
fn thread_scaling_needs_both_settings() {
    let r = report();
    // f32 ours, all threads / one thread: 90/100, 300/200, 450/250, 96/48.
    assert_eq!(r.scaling.len(), 1);
    let s = &r.scaling[0];
    assert_eq!(s.dtype, "f32");
    let want = [("n=64", 0.9), ("n=128", 1.5), ("n=256", 1.8), ("m=6,n=2304,k=768", 2.0)];
    assert_eq!(s.ratios.len(), want.len());
    for (got, (shape, want)) in s.ratios.iter().zip(want) {
        assert_eq!(got.shape, shape);
        assert!(close(got.ratio, want), "{shape}: {} vs {want}", got.ratio);
    }
    // f64 ran on one thread only: said so.
    let note = r.scaling_note.as_deref().unwrap();
    assert!(note.contains("gemm_f64_t1 has no all-threads run"), "{note}");
}

#[test]
fn parses_shapes_and_groups() {
    assert_eq!(Shape::parse("n=256"), Shape::Square(256));
    assert_eq!(Shape::parse("m=6,n=2304,k=768"), Shape::General { m: 6, n: 2304, k: 768 });
    assert_eq!(Shape::parse("k=8,m=2048,n=2048"), Shape::General { m: 2048, n: 2048, k: 8 });
    assert_eq!(Shape::parse("n=big"), Shape::Other);
    assert_eq!(Shape::parse("m=6,n=6"), Shape::Other);
    assert_eq!(parse_group("gemm_f32_t1"), Some(("f32".into(), Threads::One)));
    assert_eq!(parse_group("gemm_f64_tall"), Some(("f64".into(), Threads::All)));
    assert_eq!(parse_group("gemm_f64"), None);
}

#[test]
fn throughput_in_bytes_is_refused() {
    let m = Measurement {
        full_id: "gemm_f32_t1/ours/n=8".into(),
        group_id: "gemm_f32_t1".into(),
        function_id: Some("ours".into()),
        value_str: Some("n=8".into()),
        throughput: Some(Throughput::Bytes(1024)),
        median_ns: 10.0,
        median_ns_ci: [9.0, 11.0],
    };
    let err = Report::build(limits(), &[m], None, false, None).unwrap_err().to_string();
    assert!(err.contains("not Elements (FLOP)"), "{err}");
}

#[test]
fn reads_a_real_criterion_result() {
    // Verbatim files of one real run; `base/` and `change/` beside `new/` are ignored.
    let id = "gemm_f32_t1/faer/m=6,n=2304,k=768".to_owned();
    let got = collect(&fixtures().join("criterion-real"), UNIX_EPOCH, &[id]).unwrap();
    let r = Report::build(limits(), &got, None, false, None).unwrap();
    // 21 233 664 FLOP / 433 610.806… ns (the recorded median) = 48.969… GFLOP/s.
    let g = r.groups[0].rows[0].gflops("faer").unwrap();
    assert!(close(g, 21_233_664.0 / 433_610.806_432_748_56), "{g}");
    assert!((g - 48.969).abs() < 1e-3, "{g}");
}

#[test]
fn markdown_and_terminal_show_the_same_figures() {
    let r = report();
    let md = render::markdown(&r);
    let term = render::terminal(&r);
    for text in [&md, &term] {
        // ours / best peer of gemm_f32_t1 n=128, one decimal of 100 GFLOP/s, and the
        // one-thread-only note.
        assert!(text.contains("0.80× (faer)"), "{text}");
        assert!(text.contains("100.0"), "{text}");
        assert!(text.contains("gemm_f64_t1 has no all-threads run"), "{text}");
        assert!(text.contains("commit: abc1234"), "{text}");
    }
    assert!(md.lines().any(|l| l.starts_with("| shape") && l.contains("ours % of peak")), "{md}");
    // f64 has no matrixmultiply column at all, so no placeholder is needed there.
    let f64_table = render::group_table(group(&r, "gemm_f64_t1"), Style::Markdown).to_string();
    assert!(!f64_table.contains("matrixmultiply"), "{f64_table}");
    let json: serde_json::Value = serde_json::from_str(&render::json(&r).unwrap()).unwrap();
    assert_eq!(json["groups"][0]["group"], "gemm_f32_t1");
    assert_eq!(json["limits"]["fma_peak_gflops"]["f32"]["1"], 271.28);
}

// Elementwise: the `ew_*` groups of the fixture tree (tabulated in its README), one
// thread, against the one-thread bandwidth 39.32 GB/s and the 32 MiB L3 of `limits.json`.

/// The elementwise fixture ids, in the order the bench registers them.
fn ew_expected() -> Vec<String> {
    let mut ids = Vec::new();
    for (group, n) in [("ew_f32_exp_t1", 16384), ("ew_f32_exp_t1", 33554432), ("ew_f64_add_t1", 33554432)] {
        for i in elementwise::IMPLS {
            ids.push(format!("{group}/{i}/n={n}"));
        }
    }
    ids
}

fn ew_results() -> Vec<Measurement> {
    collect(&fixtures().join("criterion"), UNIX_EPOCH, &ew_expected()).unwrap()
}

fn ew_report() -> Report {
    Report::build(limits(), &ew_results(), Some("abc1234".into()), false, None).unwrap()
}

fn ew_row<'a>(r: &'a Report, group: &str, n: u64) -> &'a elementwise::Row {
    r.elementwise[0].rows.iter().find(|row| row.group == group && row.n == n).unwrap()
}

#[test]
fn elementwise_rows_by_type_op_and_size() {
    let r = ew_report();
    assert!(r.groups.is_empty(), "no GEMM table from ew groups");
    assert_eq!(r.elementwise.len(), 1);
    let t = &r.elementwise[0];
    assert_eq!(t.threads, Threads::One);
    assert_eq!(t.bandwidth_gbs, 39.32);
    assert_eq!(t.l3_bytes, 32 << 20);
    let keys: Vec<_> = t.rows.iter().map(|r| (r.dtype.as_str(), r.op.as_str(), r.n)).collect();
    assert_eq!(keys, [("f32", "exp", 16384), ("f32", "exp", 33554432), ("f64", "add", 33554432)]);
    let impls: Vec<_> = t.rows[0].figures.iter().map(|f| f.implementation.as_str()).collect();
    assert_eq!(impls, elementwise::IMPLS);
}

#[test]
fn elementwise_rates_and_ratios() {
    let r = ew_report();
    // f32 exp, 16 Ki: 16 384 elements in 4 000 / 32 000 / 16 000 ns → 4.096, 0.512, 1.024
    // Gelem/s; ours / std = 8, ours / wide = 4.
    let small = ew_row(&r, "ew_f32_exp_t1", 16384);
    assert!(close(small.gelem_per_s("ours").unwrap(), 4.096));
    assert!(close(small.gelem_per_s("std").unwrap(), 0.512));
    assert!(close(small.gelem_per_s("wide").unwrap(), 1.024));
    assert!(close(small.ours_over_std, 8.0) && close(small.ours_over_wide, 4.0));
    // Confidence interval ±1 % of the time: [16 384 / 4 040, 16 384 / 3 960] Gelem/s.
    let ci = small.figures[0].gelem_per_s_ci;
    assert!(close(ci[0], 16384.0 / 4040.0) && close(ci[1], 16384.0 / 3960.0));
    // f64 add, 32 Mi: ours 1, std 0.8, wide 0.5 Gelem/s → 1.25 and 2.
    let add = ew_row(&r, "ew_f64_add_t1", 33554432);
    assert!(close(add.ours_over_std, 1.25) && close(add.ours_over_wide, 2.0));
}

#[test]
fn elementwise_bandwidth_only_beyond_l3() {
    let r = ew_report();
    // f32 exp, 16 Ki: 2 streams · 4 B · 16 384 = 128 KiB, within the 32 MiB L3.
    let small = ew_row(&r, "ew_f32_exp_t1", 16384);
    assert_eq!(small.bytes, Some(131_072));
    assert!(!small.in_memory);
    assert_eq!((small.ours_gbs, small.ours_pct_of_bandwidth), (None, None));
    // f32 exp, 32 Mi: 2 · 4 · 2²⁵ = 256 MiB in 16 777 216 ns → 16 GB/s = 40.69…% of 39.32.
    let exp = ew_row(&r, "ew_f32_exp_t1", 33554432);
    assert_eq!(exp.bytes, Some(268_435_456));
    assert!(exp.in_memory);
    assert!(close(exp.ours_gbs.unwrap(), 16.0));
    assert!(close(exp.ours_pct_of_bandwidth.unwrap(), 100.0 * 16.0 / 39.32));
    // f64 add, 32 Mi: 3 · 8 · 2²⁵ = 768 MiB in 33 554 432 ns → 24 GB/s = 61.04…%.
    let add = ew_row(&r, "ew_f64_add_t1", 33554432);
    assert_eq!(add.bytes, Some(805_306_368));
    assert!(close(add.ours_gbs.unwrap(), 24.0));
    assert!(close(add.ours_pct_of_bandwidth.unwrap(), 100.0 * 24.0 / 39.32));
}

#[test]
fn elementwise_summaries_per_type() {
    let r = ew_report();
    let s = &r.elementwise[0].summaries;
    assert_eq!(s.len(), 2);
    // f32: ours / std √(8 · 2) = 4 over 2 rows; ours / wide √(4 · 1) = 2.
    assert_eq!((s[0].dtype.as_str(), s[0].ours_over_std.shapes), ("f32", 2));
    assert!(close(s[0].ours_over_std.value, 4.0) && close(s[0].ours_over_wide.value, 2.0));
    // f64: the one row's 1.25 and 2.
    assert!(close(s[1].ours_over_std.value, 1.25) && close(s[1].ours_over_wide.value, 2.0));
}

#[test]
fn elementwise_missing_implementation_is_a_clear_error() {
    // Drop wide from the f32 exp 32 Mi row and std from the f64 add row: no partial table,
    // an error naming both rows and what each has.
    let results: Vec<Measurement> = ew_results()
        .into_iter()
        .filter(|m| {
            m.full_id != "ew_f32_exp_t1/wide/n=33554432" && m.full_id != "ew_f64_add_t1/std/n=33554432"
        })
        .collect();
    let err = Report::build(limits(), &results, None, false, None).unwrap_err().to_string();
    assert!(err.starts_with("elementwise table incomplete"), "{err}");
    assert!(err.contains("ew_f32_exp_t1 n=33554432: no result for wide (found: ours, std)"), "{err}");
    assert!(err.contains("ew_f64_add_t1 n=33554432: no result for std (found: ours, wide)"), "{err}");
    assert!(!err.contains("n=16384"), "{err}");
}

#[test]
fn elementwise_throughput_must_be_the_element_count() {
    let mut results = ew_results();
    results[0].throughput = Some(Throughput::Elements(2 * 16384));
    let err = Report::build(limits(), &results, None, false, None).unwrap_err().to_string();
    assert!(err.contains("ew_f32_exp_t1/ours/n=16384: throughput"), "{err}");
}

#[test]
fn elementwise_group_ids_and_streams() {
    assert_eq!(elementwise::parse_group("ew_f32_exp_t1"), Some(("f32".into(), "exp".into(), Threads::One)));
    assert_eq!(elementwise::parse_group("ew_f64_dot_tall"), Some(("f64".into(), "dot".into(), Threads::All)));
    assert_eq!(elementwise::parse_group("ew_f32_exp"), None);
    assert_eq!(elementwise::parse_group("gemm_f32_t1"), None);
    let streams: Vec<_> =
        ["exp", "ln", "tanh", "sigmoid", "relu", "add", "mul", "axpy", "scale", "sum", "dot", "erf"]
            .map(elementwise::streams)
            .to_vec();
    let two_three_one = [2, 2, 2, 2, 2, 3, 3, 3, 2, 1, 2].map(Some);
    assert_eq!(streams[..11], two_three_one);
    assert_eq!(streams[11], None);
}

#[test]
fn elementwise_streams_of_the_further_ops() {
    // Every op the bench runs beyond the targeted ones has a byte count.
    let maps = ["sin", "cos", "softplus", "gelu", "sqrt", "recip", "abs", "neg", "square", "powi", "powf"];
    for op in maps.into_iter().chain(["softmax", "log_softmax"]) {
        assert_eq!(elementwise::streams(op), Some(2), "{op}");
    }
    let binary = ["sub", "div", "maximum", "minimum", "atan2", "pow"];
    let backward = ["tanh_bwd", "sigmoid_bwd", "relu_bwd", "softmax_bwd", "log_softmax_bwd"];
    for op in binary.into_iter().chain(backward) {
        assert_eq!(elementwise::streams(op), Some(3), "{op}");
    }
    for op in ["max", "min", "argmax", "norm2", "logsumexp", "sum_rows", "sum_cols"] {
        assert_eq!(elementwise::streams(op), Some(1), "{op}");
    }
    assert_eq!(
        elementwise::parse_group("ew_f32_log_softmax_bwd_t1"),
        Some(("f32".into(), "log_softmax_bwd".into(), Threads::One))
    );
}

/// The fixture's f32 exp 16 Ki results renamed to group `group`: an op measured at the
/// small size only (the further ops by default).
fn ew_small_only(group: &str) -> Vec<Measurement> {
    ew_results()
        .into_iter()
        .filter(|m| m.group_id == "ew_f32_exp_t1" && m.value_str.as_deref() == Some("n=16384"))
        .map(|mut m| {
            m.full_id = m.full_id.replace("ew_f32_exp_t1", group);
            m.group_id = group.to_owned();
            m
        })
        .collect()
}

#[test]
fn elementwise_op_with_the_small_size_only() {
    // A further op (sin) has a 16 Ki row and no 32 Mi one, beside ops with both: a row of
    // its own, in cache, with its bytes, and no error for the absent size.
    // In bench order: the f32 ops, then the f64 ones.
    let mut results = ew_results();
    let f64_at = results.iter().position(|m| m.group_id.starts_with("ew_f64")).unwrap();
    results.splice(f64_at..f64_at, ew_small_only("ew_f32_sin_t1"));
    let r = Report::build(limits(), &results, None, false, None).unwrap();
    let t = &r.elementwise[0];
    let keys: Vec<_> = t.rows.iter().map(|r| (r.dtype.as_str(), r.op.as_str(), r.n)).collect();
    assert_eq!(
        keys,
        [("f32", "exp", 16384), ("f32", "exp", 33554432), ("f32", "sin", 16384), ("f64", "add", 33554432)]
    );
    let sin = ew_row(&r, "ew_f32_sin_t1", 16384);
    assert_eq!(sin.bytes, Some(131_072));
    assert!(!sin.in_memory && sin.ours_gbs.is_none());
    assert!(close(sin.ours_over_std, 8.0) && close(sin.ours_over_wide, 4.0));
    // The f32 summary takes in the new row: ours / std ∛(8 · 2 · 8) = 4·∛2.
    assert_eq!(t.summaries[0].ours_over_std.shapes, 3);

    // Without its wide result, only the small row of that op is reported missing.
    results.retain(|m| m.full_id != "ew_f32_sin_t1/wide/n=16384");
    let err = Report::build(limits(), &results, None, false, None).unwrap_err().to_string();
    assert!(err.contains("ew_f32_sin_t1 n=16384: no result for wide (found: ours, std)"), "{err}");
    assert!(!err.contains("n=33554432"), "{err}");
}

#[test]
fn gemm_and_elementwise_in_one_report() {
    let mut results = collect(&fixtures().join("criterion"), UNIX_EPOCH, &expected()).unwrap();
    results.extend(ew_results());
    let r = Report::build(limits(), &results, Some("abc1234".into()), false, None).unwrap();
    let ids: Vec<_> = r.groups.iter().map(|g| g.group.as_str()).collect();
    assert_eq!(ids, ["gemm_f32_t1", "gemm_f64_t1", "gemm_f32_tall"]);
    assert_eq!(r.elementwise[0].rows.len(), 3);
    let md = render::markdown(&r);
    let term = render::terminal(&r);
    for text in [&md, &term] {
        // The gemm table is still there, and the elementwise one with its figures:
        // f32 exp 16 Ki ours 4.096 Gelem/s, ours / std 8, f64 add 24 GB/s = 61.0 %.
        assert!(text.contains("0.80× (faer)"), "{text}");
        assert!(text.contains("elementwise — Gelem/s, 1 thread"), "{text}");
        assert!(text.contains("4.10") && text.contains("8.00×"), "{text}");
        assert!(text.contains("24.0") && text.contains("61.0%"), "{text}");
        assert!(text.contains("elementwise f32 (1 thread): geometric mean of ours / std: 4.00×"), "{text}");
        assert!(text.contains("no write-allocate reads"), "{text}");
    }
    assert!(md.lines().any(|l| l.starts_with("| type") && l.contains("ours % of bandwidth")), "{md}");
    let json: serde_json::Value = serde_json::from_str(&render::json(&r).unwrap()).unwrap();
    assert_eq!(json["elementwise"][0]["rows"][2]["op"], "add");
    assert_eq!(json["elementwise"][0]["rows"][2]["bytes"], 805_306_368);
}

// Gradient checking: the `verify_check_grad_t1` group of the fixture tree (tabulated in
// its README), values in the order the bench registers them.

/// The verify fixture ids, in the order the bench registers them.
fn verify_expected() -> Vec<String> {
    let mut ids = Vec::new();
    for value in ["mlp,n=100", "mlp,n=1000"] {
        for f in verify::FUNCTIONS {
            ids.push(format!("verify_check_grad_t1/{f}/{value}"));
        }
    }
    ids
}

fn verify_results() -> Vec<Measurement> {
    collect(&fixtures().join("criterion"), UNIX_EPOCH, &verify_expected()).unwrap()
}

#[test]
fn verify_rows_times_and_ratios() {
    let r = Report::build(limits(), &verify_results(), None, false, None).unwrap();
    assert!(r.groups.is_empty(), "no GEMM table from the verify group");
    let t = &r.verify;
    assert!(t.is_complete(), "{:?}", t.missing);
    let cases: Vec<_> = t.rows.iter().map(|r| r.case.as_str()).collect();
    assert_eq!(cases, ["mlp,n=100", "mlp,n=1000"]);
    // n = 100: 40 / 500 / 200 / 10 µs → fast / fd 0.2, full / fd 2.5, fast / grad 4.
    let small = &t.rows[0];
    assert_eq!(
        (small.check_grad_fast_ns, small.check_grad_full_ns, small.central_fd_ns, small.value_and_grad_ns),
        (Some(40_000.0), Some(500_000.0), Some(200_000.0), Some(10_000.0))
    );
    assert!(close(small.fast_over_fd.unwrap(), 0.2));
    assert!(close(small.full_over_fd.unwrap(), 2.5));
    assert!(close(small.fast_over_grad.unwrap(), 4.0));
    // n = 1000: 0.4 / 32 / 8 / 0.08 ms → 0.05, 4, 5.
    let large = &t.rows[1];
    assert!(close(large.fast_over_fd.unwrap(), 0.05));
    assert!(close(large.full_over_fd.unwrap(), 4.0));
    assert!(close(large.fast_over_grad.unwrap(), 5.0));
}

#[test]
fn verify_table_in_terminal_markdown_and_json() {
    let r = Report::build(limits(), &verify_results(), Some("abc1234".into()), false, None).unwrap();
    let md = render::markdown(&r);
    let term = render::terminal(&r);
    for text in [&md, &term] {
        assert!(text.contains("gradient checking — verify::check_grad"), "{text}");
        assert!(text.contains("MLP loss, f64, 1 thread"), "{text}");
        assert!(!text.contains("incomplete"), "{text}");
        // n = 1000: full mode 32 000 µs, its ratios 0.05×, 4.00×, 5.00×.
        assert!(text.contains("32000") && text.contains("0.05×") && text.contains("5.00×"), "{text}");
    }
    assert!(md.contains("\n## gradient checking — "), "{md}");
    assert!(
        md.lines().any(|l| l.starts_with("| case")
            && l.contains("fast / central_fd")
            && l.contains("full / central_fd")
            && l.contains("fast / value_and_grad")),
        "{md}"
    );
    let table = render::verify_table(&r.verify, Style::Markdown).unwrap().to_string();
    let n100 = table.lines().find(|l| l.contains("mlp,n=100 ")).unwrap();
    let cells: Vec<_> = n100.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(cells, ["mlp,n=100", "40.0", "500", "200", "10.0", "0.20×", "2.50×", "4.00×"]);
    let json: serde_json::Value = serde_json::from_str(&render::json(&r).unwrap()).unwrap();
    assert_eq!(json["verify"]["rows"][1]["case"], "mlp,n=1000");
    assert_eq!(json["verify"]["rows"][1]["central_fd_ns"], 8_000_000.0);
    assert_eq!(json["verify"]["rows"][0]["full_over_fd"], 2.5);
    assert_eq!(json["verify"]["missing"], serde_json::json!([]));
    assert_eq!(json["verify"]["untabulated"], serde_json::json!([]));
}

#[test]
fn verify_results_without_a_column_are_named() {
    // A function the table does not know and a second verify group: the table is built
    // from the rest, and the others are listed rather than dropped.
    let mut results = verify_results();
    let mut extra = results[0].clone();
    extra.function_id = Some("check_grad_auto".into());
    extra.full_id = "verify_check_grad_t1/check_grad_auto/mlp,n=100".into();
    let mut other = results[0].clone();
    other.group_id = "verify_check_hessian_t1".into();
    other.full_id = "verify_check_hessian_t1/check_grad_fast/mlp,n=100".into();
    results.extend([extra, other]);
    let r = Report::build(limits(), &results, None, false, None).unwrap();
    assert!(r.verify.is_complete());
    assert_eq!(r.verify.rows.len(), 2);
    assert!(r.groups.is_empty());
    assert_eq!(
        r.verify.untabulated,
        [
            "verify_check_grad_t1/check_grad_auto/mlp,n=100",
            "verify_check_hessian_t1/check_grad_fast/mlp,n=100"
        ]
    );
    let term = render::terminal(&r);
    assert!(
        term.contains(
            "gradient checking results not in the table (only check_grad_fast, check_grad_full, \
             central_fd, value_and_grad of verify_check_grad_t1 are): \
             verify_check_grad_t1/check_grad_auto/mlp,n=100, verify_check_hessian_t1/"
        ),
        "{term}"
    );
}

#[test]
fn verify_missing_functions_are_shown_as_missing() {
    // As under `--filter check_grad`: no central_fd at n = 1000, and no value_and_grad at
    // either size. The rows stay, with placeholders and only the ratios they can give, and
    // the table says it is incomplete and what it lacks.
    let results: Vec<Measurement> = verify_results()
        .into_iter()
        .filter(|m| {
            m.full_id != "verify_check_grad_t1/central_fd/mlp,n=1000"
                && m.function_id.as_deref() != Some("value_and_grad")
        })
        .collect();
    let r = Report::build(limits(), &results, None, false, None).unwrap();
    let t = &r.verify;
    assert!(!t.is_complete());
    assert_eq!(
        t.missing,
        ["mlp,n=100: no result for value_and_grad", "mlp,n=1000: no result for central_fd, value_and_grad"]
    );
    let (small, large) = (&t.rows[0], &t.rows[1]);
    assert!(close(small.fast_over_fd.unwrap(), 0.2) && close(small.full_over_fd.unwrap(), 2.5));
    assert_eq!((small.value_and_grad_ns, small.fast_over_grad), (None, None));
    assert_eq!((large.central_fd_ns, large.fast_over_fd, large.full_over_fd), (None, None, None));
    assert_eq!(large.check_grad_full_ns, Some(32_000_000.0));

    let table = render::verify_table(t, Style::Markdown).unwrap().to_string();
    let n1000 = table.lines().find(|l| l.contains("mlp,n=1000")).unwrap();
    let cells: Vec<_> = n1000.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(cells, ["mlp,n=1000", "400", "32000", "—", "—", "—", "—", "—"]);
    for text in [render::markdown(&r), render::terminal(&r)] {
        assert!(text.contains("1 thread — incomplete, see the summary"), "{text}");
        assert!(
            text.contains(
                "gradient checking table incomplete: every case needs check_grad_fast, check_grad_full, \
                 central_fd, value_and_grad (check the bench and any --filter): mlp,n=100: no result \
                 for value_and_grad; mlp,n=1000: no result for central_fd, value_and_grad"
            ),
            "{text}"
        );
    }
    let json: serde_json::Value = serde_json::from_str(&render::json(&r).unwrap()).unwrap();
    assert_eq!(json["verify"]["missing"][1], "mlp,n=1000: no result for central_fd, value_and_grad");
    assert_eq!(json["verify"]["rows"][1]["central_fd_ns"], serde_json::Value::Null);
}

#[test]
fn no_verify_results_no_verify_table() {
    let r = report();
    assert_eq!(r.verify, verify::Table::default());
    assert!(render::verify_table(&r.verify, Style::Terminal).is_none());
    assert!(!render::terminal(&r).contains("gradient checking"));
    assert!(!render::markdown(&r).contains("gradient checking"));
}

#[test]
fn verify_beside_the_other_suites() {
    // The verify group goes to its own table only, whatever runs beside it.
    let mut results = collect(&fixtures().join("criterion"), UNIX_EPOCH, &expected()).unwrap();
    results.extend(ew_results());
    results.extend(verify_results());
    let r = Report::build(limits(), &results, Some("abc1234".into()), false, None).unwrap();
    let ids: Vec<_> = r.groups.iter().map(|g| g.group.as_str()).collect();
    assert_eq!(ids, ["gemm_f32_t1", "gemm_f64_t1", "gemm_f32_tall"]);
    assert_eq!(r.elementwise[0].rows.len(), 3);
    assert_eq!(r.verify.rows.len(), 2);
    let term = render::terminal(&r);
    assert!(term.contains("0.80× (faer)") && term.contains("2.50×"), "{term}");
}

// Plots: drawn from the same fixture reports; a plot exists only where there is data.

fn plot_of<'a>(plots: &'a [plot::Plot], file: &str) -> Option<&'a plot::Plot> {
    plots.iter().find(|p| p.file == file)
}

/// Whether `svg` has a text element reading exactly `text` (plotters writes each on its
/// own line).
fn has_text(svg: &str, text: &str) -> bool {
    svg.contains(&format!(">\n{text}\n</text>"))
}

/// Writes `svg` under `$XTASK_PLOT_DIR` if set, to look at while changing the plots.
fn keep(file: &str, svg: &str) {
    if let Some(dir) = std::env::var_os("XTASK_PLOT_DIR") {
        std::fs::write(Path::new(&dir).join(file), svg).unwrap();
    }
}

#[test]
fn gemm_plots_one_per_group_with_square_sizes() {
    let r = report();
    let plots = plot::plots(&r);
    let files: Vec<&str> = plots.iter().map(|p| p.file.as_str()).collect();
    // No gemm_f64_tall group in the fixture: no plot for it, nor any other.
    assert_eq!(files, ["gemm_f32_t1.svg", "gemm_f64_t1.svg", "gemm_f32_tall.svg"]);
    let p = plot_of(&plots, "gemm_f32_t1.svg").unwrap();
    assert_eq!(p.section, plot::Section::Gemm);
    assert_eq!(p.x, plot::XAxis::Sizes);
    let names: Vec<&str> = p.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, IMPLS);
    // The square sizes only (the non-square shape is in the table, not on an n axis),
    // at the fixture's GFLOP/s.
    let ours: Vec<(f64, f64)> = p.series[0].points.iter().map(|&(n, g)| (n, g.round())).collect();
    assert_eq!(ours, [(64.0, 100.0), (128.0, 200.0), (256.0, 250.0)]);
    let mm: Vec<f64> = p.series[2].points.iter().map(|&(_, g)| g.round()).collect();
    assert_eq!(mm, [50.0, 100.0, 128.0]);
    // The one-thread f32 FMA peak of limits.json.
    assert_eq!(p.limit, Some(plot::Limit { label: "FMA peak 271.3 GFLOP/s".to_owned(), value: 271.28 }));
    // f64 lacks matrixmultiply in the fixture: no such series, rather than an empty one.
    let f64p = plot_of(&plots, "gemm_f64_t1.svg").unwrap();
    let names: Vec<&str> = f64p.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["ours", "faer"]);
    assert_eq!(f64p.limit.as_ref().map(|l| l.value), Some(135.2));
}

#[test]
fn gemm_plot_svg_has_the_series_and_the_peak_line() {
    let r = report();
    let plots = plot::plots(&r);
    let svg = plot_of(&plots, "gemm_f32_tall.svg").unwrap().svg().unwrap();
    keep("gemm_f32_tall.svg", &svg);
    assert!(svg.starts_with("<svg"), "{svg}");
    // The legend, the axis and the title.
    for text in ["ours", "faer", "matrixmultiply", "FMA peak 294.7 GFLOP/s", "GFLOP/s", "n"] {
        assert!(has_text(&svg, text), "{text} not in the plot");
    }
    assert!(svg.contains("f32, 2 threads"));
    // Tick labels at the measured sizes.
    for n in ["64", "128", "256"] {
        assert!(has_text(&svg, n), "{n} not in the plot");
    }
    // Three lines of data and the dashed peak: at least four polylines.
    assert!(svg.matches("<polyline").count() >= 4, "{svg}");
    let f64svg = plot_of(&plots, "gemm_f64_t1.svg").unwrap().svg().unwrap();
    assert!(!f64svg.contains("matrixmultiply"));
}

#[test]
fn no_square_size_no_gemm_plot() {
    // Only the non-square shape of gemm_f32_t1: a table, but nothing to plot against n.
    let ids: Vec<String> = IMPLS.iter().map(|i| format!("gemm_f32_t1/{i}/m=6,n=2304,k=768")).collect();
    let results = collect(&fixtures().join("criterion"), UNIX_EPOCH, &ids).unwrap();
    let r = Report::build(limits(), &results, None, false, None).unwrap();
    assert_eq!(r.groups.len(), 1);
    assert!(plot::plots(&r).is_empty());
    assert!(!render::markdown(&r).contains(".svg"));
}

#[test]
fn elementwise_plots_in_memory_with_the_bandwidth_and_in_cache_without() {
    let r = ew_report();
    let plots = plot::plots(&r);
    let files: Vec<&str> = plots.iter().map(|p| p.file.as_str()).collect();
    // f32 has both sizes; f64 only the in-memory one (the fixture has no f64 16 Ki row).
    assert_eq!(
        files,
        ["elementwise_f32_t1_memory.svg", "elementwise_f32_t1_cache.svg", "elementwise_f64_t1_memory.svg"]
    );
    let mem = plot_of(&plots, "elementwise_f32_t1_memory.svg").unwrap();
    assert_eq!(mem.x, plot::XAxis::Categories(vec!["exp".to_owned()]));
    assert!(!mem.y_log);
    // f32 exp at 32 Mi: 2 streams · 4 bytes · 2 Gelem/s = 16 GB/s for ours, 8 for std.
    let gbs: Vec<(String, f64)> =
        mem.series.iter().map(|s| (s.name.clone(), (s.points[0].1 * 1e9).round() / 1e9)).collect();
    assert_eq!(gbs, [("ours".to_owned(), 16.0), ("std".to_owned(), 8.0), ("wide".to_owned(), 16.0)]);
    assert_eq!(mem.limit.as_ref().map(|l| l.value), Some(39.32));
    let cache = plot_of(&plots, "elementwise_f32_t1_cache.svg").unwrap();
    assert!(cache.y_log && cache.limit.is_none());
    let svg = mem.svg().unwrap();
    keep("elementwise_memory.svg", &svg);
    for text in ["ours", "std", "wide", "exp", "measured bandwidth 39.3 GB/s"] {
        assert!(has_text(&svg, text), "{text} not in the plot");
    }
    let svg = cache.svg().unwrap();
    keep("elementwise_cache.svg", &svg);
    assert!(has_text(&svg, "exp") && !svg.contains("bandwidth"));
}

#[test]
fn crossover_plot_from_the_jacobian_rows() {
    let m = |f: &str, v: &str, ns: f64| Measurement {
        full_id: format!("jac_crossover_t1/{f}/{v}"),
        group_id: "jac_crossover_t1".to_owned(),
        function_id: Some(f.to_owned()),
        value_str: Some(v.to_owned()),
        throughput: None,
        median_ns: ns,
        median_ns_ci: [ns, ns],
    };
    let results = [
        m("jacfwd", "n=1,m=256", 6e3),
        m("jacrev", "n=1,m=256", 6e5),
        m("jvp", "n=1,m=256", 5e3),
        m("jacfwd", "n=256,m=1", 5e5),
        m("jacrev", "n=256,m=1", 8e3),
    ];
    let r = Report::build(limits(), &results, None, false, None).unwrap();
    let plots = plot::plots(&r);
    assert_eq!(plots.len(), 1);
    let p = &plots[0];
    assert_eq!(
        (p.file.as_str(), p.section, p.y_log),
        ("jacobian_crossover.svg", plot::Section::Jacobian, true)
    );
    assert_eq!(p.x, plot::XAxis::Categories(vec!["n=1,m=256".to_owned(), "n=256,m=1".to_owned()]));
    // µs per case; the reference only where measured.
    assert_eq!(p.series[0].points, [(0.0, 6.0), (1.0, 500.0)]);
    assert_eq!(p.series[1].points, [(0.0, 600.0), (1.0, 8.0)]);
    assert_eq!(p.series[2].points, [(0.0, 5.0)]);
    let svg = p.svg().unwrap();
    keep("jacobian_crossover.svg", &svg);
    for text in ["jacfwd", "jacrev", "n=1,m=256", "n=256,m=1", "time, µs"] {
        assert!(has_text(&svg, text), "{text} not in the plot");
    }
    // The reference alone is no crossover.
    let only_ref = Report::build(limits(), &results[2..3], None, false, None).unwrap();
    assert!(plot::plots(&only_ref).is_empty());
}

#[test]
fn markdown_links_each_plot_under_its_section() {
    let mut results = collect(&fixtures().join("criterion"), UNIX_EPOCH, &expected()).unwrap();
    results.extend(ew_results());
    let r = Report::build(limits(), &results, None, false, None).unwrap();
    let md = render::markdown(&r);
    let at = |s: &str| md.find(s).unwrap_or_else(|| panic!("{s} not in {md}"));
    assert!(at("](gemm_f32_t1.svg)") > at("## gemm_f32_tall"));
    assert!(at("](gemm_f32_tall.svg)") < at("## elementwise"));
    assert!(at("](elementwise_f64_t1_memory.svg)") > at("## elementwise"));
    assert!(at("](elementwise_f64_t1_memory.svg)") < at("## Summary"));
    assert_eq!(md.matches("![").count(), 6);
    // The terminal has no image links.
    assert!(!render::terminal(&r).contains(".svg"));
}

// Regression against a saved baseline: the `before` baseline of the fixture tree
// (tabulated in its README).

fn baseline_ids() -> Vec<String> {
    ["ours/n=64", "ours/n=128", "ours/n=256", "faer/n=64"]
        .iter()
        .map(|s| format!("gemm_f32_t1/{s}"))
        .collect()
}

#[test]
fn regression_table_against_the_saved_baseline() {
    let home = fixtures().join("criterion");
    let ids = baseline_ids();
    let base = criterion::collect_baseline(&home, "before", &ids).unwrap();
    let now = collect(&home, UNIX_EPOCH, &ids).unwrap();
    let t = regression::table("before", &base, &now).unwrap();
    let got: Vec<(&str, f64, regression::Verdict)> =
        t.rows.iter().map(|r| (r.id.as_str(), (r.change_pct * 1e9).round() / 1e9, r.verdict)).collect();
    use regression::Verdict::{Faster, Slower, Within};
    assert_eq!(
        got,
        [
            ("gemm_f32_t1/ours/n=64", 5.0, Within),
            ("gemm_f32_t1/ours/n=128", 20.0, Slower),
            ("gemm_f32_t1/ours/n=256", -20.0, Faster),
            ("gemm_f32_t1/faer/n=64", 0.0, Within),
        ]
    );
    assert_eq!((t.slower, t.faster, t.threshold_pct), (1, 1, 10.0));
    // 240 GFLOP/s of 2·128³ FLOP: 17 476.27 ns.
    assert!(close(t.rows[1].baseline_ns, 4_194_304.0 / 240.0));
    assert!(close(t.rows[1].current_ns, 4_194_304.0 / 200.0));

    let mut r = report();
    r.regression = Some(t);
    for text in [render::terminal(&r), render::markdown(&r)] {
        assert!(text.contains("against baseline \"before\""), "{text}");
        assert!(text.contains("+20.0%") && text.contains("SLOWER"), "{text}");
        assert!(text.contains("-20.0%") && text.contains("faster"), "{text}");
        assert!(text.contains("17.5 µs") && text.contains("21.0 µs"), "{text}");
        assert!(text.contains("1 of 4 benchmarks slower by more than 10%, 1 faster"), "{text}");
    }
    let json: serde_json::Value = serde_json::from_str(&render::json(&r).unwrap()).unwrap();
    assert_eq!(json["regression"]["rows"][1]["verdict"], "slower");
    assert_eq!(json["regression"]["baseline"], "before");
    // Without --baseline the JSON has no such key.
    let json: serde_json::Value = serde_json::from_str(&render::json(&report()).unwrap()).unwrap();
    assert!(json.get("regression").is_none());
}

#[test]
fn missing_baseline_is_named_before_anything_runs() {
    let home = fixtures().join("criterion");
    let mut ids = baseline_ids();
    ids.push("gemm_f32_t1/ours/m=6,n=2304,k=768".to_owned());
    let err = criterion::collect_baseline(&home, "before", &ids).unwrap_err().to_string();
    assert!(err.starts_with("baseline \"before\" lacks 1 of the 5 benchmarks"), "{err}");
    assert!(err.ends_with("\ngemm_f32_t1/ours/m=6,n=2304,k=768"), "{err}");
    assert!(err.contains("--save-baseline before"), "{err}");
    // A name nothing was saved under.
    let err = criterion::collect_baseline(&home, "nope", &baseline_ids()).unwrap_err().to_string();
    assert!(err.starts_with("baseline \"nope\" lacks 4 of the 4"), "{err}");
    // The table itself refuses a result without a baseline.
    let now = collect(&home, UNIX_EPOCH, &ids).unwrap();
    let base = criterion::collect_baseline(&home, "before", &baseline_ids()).unwrap();
    let err = regression::table("before", &base, &now).unwrap_err().to_string();
    assert!(err.contains("gemm_f32_t1/ours/m=6,n=2304,k=768"), "{err}");
}

#[test]
fn regression_threshold_is_ten_percent_either_way() {
    use regression::{Verdict, verdict};
    assert_eq!(verdict(9.99), Verdict::Within);
    assert_eq!(verdict(10.0), Verdict::Within);
    assert_eq!(verdict(10.01), Verdict::Slower);
    assert_eq!(verdict(-10.0), Verdict::Within);
    assert_eq!(verdict(-10.01), Verdict::Faster);
}

#[test]
fn baselines_are_not_results() {
    // The `before/` directories are beside `new/`: reading the results ignores them.
    let home = fixtures().join("criterion");
    let now = collect(&home, UNIX_EPOCH, &baseline_ids()).unwrap();
    assert_eq!(now[1].median_ns, 20971.52);
}
